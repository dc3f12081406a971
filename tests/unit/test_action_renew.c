/*
 * tests/unit/test_action_renew.c: RenewInstance (SPEC section 3) walked row by row.
 *
 * Every parameter rule and every state refusal answers its catalog code and HTTP
 * status, the first failing check in SPEC order wins, and an error changes nothing
 * (orders, tokens, balances, coupons, instances). A success creates exactly one Paid
 * order priced from the table and moves the expiry by the calendar period.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/timeutil.h>

#include "support/action_rows.h"
#include "support/harness.h"

#define ACTION "RenewInstance"
#define ROW_PARAMS_MAX 6u
#define MICROS(units) ((int64_t)(units) * 1000000LL)
#define LAST_SEEDED_ORDER_ID 205395023430728ULL

/* ---- helpers ------------------------------------------------------------------------ */

ACTION_ROWS_SUITE_HELPERS

/* ---- parameter checks, in SPEC order ------------------------------------------------ */

typedef struct param_case {
    char label[64];
    param_row params[ROW_PARAMS_MAX];
    char code[48];
    int status;
    char message_part[32];      /* a piece the message must hold ("" when any) */
} param_case;

#define TOKEN_65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

ParameterizedTestParameters(renew, parameter_errors)
{
    static param_case cases[] = {
        {"InstanceId missing", {{"Period", "1"}}, "MissingParameter", 400, "\"InstanceId\""},
        {"InstanceId empty", {{"InstanceId", ""}, {"Period", "1"}}, "MissingParameter", 400,
         "\"InstanceId\""},
        {"PeriodUnit Year", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "Year"}, {"Period", "1"}},
         "InvalidPeriodUnit.ValueNotSupported", 400, "PeriodUnit"},
        {"PeriodUnit lowercase", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "month"},
                                  {"Period", "1"}},
         "InvalidPeriodUnit.ValueNotSupported", 400, ""},
        {"PeriodUnit empty", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", ""}, {"Period", "1"}},
         "InvalidPeriodUnit.ValueNotSupported", 400, ""},
        {"PeriodUnit Day", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "Day"}, {"Period", "1"}},
         "InvalidPeriodUnit.ValueNotSupported", 400, ""},
        {"Period missing", {{"InstanceId", "i-acc0001"}}, "MissingParameter", 400, "\"Period\""},
        {"Period missing, Week", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "Week"}},
         "MissingParameter", 400, "\"Period\""},
        {"Period 01", {{"InstanceId", "i-acc0001"}, {"Period", "01"}}, "InvalidPeriod", 400, ""},
        {"Period space 1", {{"InstanceId", "i-acc0001"}, {"Period", " 1"}}, "InvalidPeriod", 400,
         ""},
        {"Period 1 space", {{"InstanceId", "i-acc0001"}, {"Period", "1 "}}, "InvalidPeriod", 400,
         ""},
        {"Period 1.0", {{"InstanceId", "i-acc0001"}, {"Period", "1.0"}}, "InvalidPeriod", 400, ""},
        {"Period -1", {{"InstanceId", "i-acc0001"}, {"Period", "-1"}}, "InvalidPeriod", 400, ""},
        {"Period +1", {{"InstanceId", "i-acc0001"}, {"Period", "+1"}}, "InvalidPeriod", 400, ""},
        {"Period empty", {{"InstanceId", "i-acc0001"}, {"Period", ""}}, "InvalidPeriod", 400, ""},
        {"Period abc", {{"InstanceId", "i-acc0001"}, {"Period", "abc"}}, "InvalidPeriod", 400, ""},
        {"Period huge", {{"InstanceId", "i-acc0001"}, {"Period", "99999999999999999999999"}},
         "InvalidPeriod", 400, ""},
        {"Month 0", {{"InstanceId", "i-acc0001"}, {"Period", "0"}}, "InvalidPeriod", 400, ""},
        {"Month 10", {{"InstanceId", "i-acc0001"}, {"Period", "10"}}, "InvalidPeriod", 400, ""},
        {"Month 11", {{"InstanceId", "i-acc0001"}, {"Period", "11"}}, "InvalidPeriod", 400, ""},
        {"Month 13", {{"InstanceId", "i-acc0001"}, {"Period", "13"}}, "InvalidPeriod", 400, ""},
        {"Month 18", {{"InstanceId", "i-acc0001"}, {"Period", "18"}}, "InvalidPeriod", 400, ""},
        {"Month 61", {{"InstanceId", "i-acc0001"}, {"Period", "61"}}, "InvalidPeriod", 400, ""},
        {"Month 72", {{"InstanceId", "i-acc0001"}, {"Period", "72"}}, "InvalidPeriod", 400, ""},
        {"Week 0", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "Week"}, {"Period", "0"}},
         "InvalidPeriod", 400, ""},
        {"Week 5", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "Week"}, {"Period", "5"}},
         "InvalidPeriod", 400, ""},
        {"Week 12", {{"InstanceId", "i-acc0001"}, {"PeriodUnit", "Week"}, {"Period", "12"}},
         "InvalidPeriod", 400, ""},
        {"ClientToken empty", {{"InstanceId", "i-acc0001"}, {"Period", "1"}, {"ClientToken", ""}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"ClientToken 65 bytes", {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                                  {"ClientToken", TOKEN_65}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"ClientToken control", {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                                 {"ClientToken", "tok\ten"}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"ClientToken not ASCII", {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                                   {"ClientToken", "t\xc3\xb6k"}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        /* Precedence: the first failing check in table order answers. */
        {"no InstanceId before bad PeriodUnit", {{"PeriodUnit", "Year"}, {"Period", "99"}},
         "MissingParameter", 400, "\"InstanceId\""},
        {"bad PeriodUnit before missing Period", {{"InstanceId", "i-acc0001"},
                                                  {"PeriodUnit", "Year"}},
         "InvalidPeriodUnit.ValueNotSupported", 400, ""},
        {"missing Period before bad token", {{"InstanceId", "i-acc0001"}, {"ClientToken", ""}},
         "MissingParameter", 400, "\"Period\""},
        {"bad Period before bad token", {{"InstanceId", "i-acc0001"}, {"Period", "10"},
                                         {"ClientToken", ""}},
         "InvalidPeriod", 400, ""},
        {"bad Period before unknown instance", {{"InstanceId", "i-missing"}, {"Period", "5"},
                                                {"PeriodUnit", "Week"}},
         "InvalidPeriod", 400, ""},
        {"bad token before locked instance", {{"InstanceId", "i-acc0003"}, {"Period", "1"},
                                              {"ClientToken", TOKEN_65}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"bad Period before released instance", {{"InstanceId", "i-acc0006"}, {"Period", "0"}},
         "InvalidPeriod", 400, ""},
    };
    return cr_make_param_array(param_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(param_case *c, renew, parameter_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(ACCOUNT_MAIN, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    cr_expect(eq(int, strcmp(o.message, billord_api_code_message(o.code)) == 0 ||
                          c->message_part[0] != '\0', 1),
              "%s: fixed message \"%s\"", c->label, o.message);
    if (c->message_part[0] != '\0') {
        cr_expect(ne(ptr, strstr(o.message, c->message_part), NULL), "%s: message \"%s\"",
                  c->label, o.message);
    }
    world_expect_unchanged(&before, c->label);
}

/* ---- state checks, in SPEC order ---------------------------------------------------- */

typedef struct state_case {
    char label[64];
    char account[20];
    param_row params[ROW_PARAMS_MAX];
    char code[48];
    int status;
} state_case;

ParameterizedTestParameters(renew, state_errors)
{
    static state_case cases[] = {
        {"unknown instance", ACCOUNT_MAIN, {{"InstanceId", "i-missing"}, {"Period", "1"}},
         "InvalidInstanceId.NotFound", 404},
        {"another account's instance", ACCOUNT_MAIN, {{"InstanceId", "i-nopay0001"},
                                                      {"Period", "1"}},
         "InvalidInstanceId.NotFound", 404},
        {"main's instance seen by poor", ACCOUNT_POOR, {{"InstanceId", "i-acc0001"},
                                                        {"Period", "1"}},
         "InvalidInstanceId.NotFound", 404},
        {"main's locked instance seen by poor", ACCOUNT_POOR, {{"InstanceId", "i-acc0003"},
                                                               {"Period", "1"}},
         "InvalidInstanceId.NotFound", 404},
        {"instance ids are case-sensitive", ACCOUNT_MAIN, {{"InstanceId", "I-ACC0001"},
                                                           {"Period", "1"}},
         "InvalidInstanceId.NotFound", 404},
        {"PostPaid ECS", ACCOUNT_MAIN, {{"InstanceId", "i-acc0004"}, {"Period", "1"}},
         "ChargeTypeViolation", 403},
        {"PostPaid RDS: charge type first", ACCOUNT_MAIN, {{"InstanceId", "rm-acc0001"},
                                                           {"Period", "1"}},
         "ChargeTypeViolation", 403},
        {"locked for security", ACCOUNT_MAIN, {{"InstanceId", "i-acc0003"}, {"Period", "1"}},
         "InstanceLockedForSecurity", 403},
        {"unpaid order", ACCOUNT_MAIN, {{"InstanceId", "i-acc0002"}, {"Period", "1"}},
         "Instance.UnPaidOrder", 403},
        {"unpaid order, week", ACCOUNT_MAIN, {{"InstanceId", "i-acc0002"}, {"PeriodUnit", "Week"},
                                              {"Period", "1"}},
         "Instance.UnPaidOrder", 403},
        {"released", ACCOUNT_MAIN, {{"InstanceId", "i-acc0006"}, {"Period", "1"}},
         "IncorrectInstanceStatus", 403},
        {"PrePaid RDS is not ECS", ACCOUNT_MAIN, {{"InstanceId", "rm-acc0002"}, {"Period", "1"}},
         "IncorrectInstanceStatus", 403},
        {"Locked RDS is not ECS", ACCOUNT_MAIN, {{"InstanceId", "rm-acc0004"}, {"Period", "1"}},
         "IncorrectInstanceStatus", 403},
        {"HSS is not ECS", ACCOUNT_MAIN, {{"InstanceId", "sas-acc0002"}, {"Period", "1"}},
         "IncorrectInstanceStatus", 403},
        {"past the dedicated host, 2 months", ACCOUNT_MAIN, {{"InstanceId", "i-acc0005"},
                                                             {"Period", "2"}},
         "InvalidPeriod", 400},
        {"past the dedicated host, 12 months", ACCOUNT_MAIN, {{"InstanceId", "i-acc0005"},
                                                              {"Period", "12"}},
         "InvalidPeriod", 400},
        {"no payment method", ACCOUNT_NOPAY, {{"InstanceId", "i-nopay0001"}, {"Period", "1"}},
         "InvalidPaymentMethod.Missing", 400},
        {"no payment method, big period", ACCOUNT_NOPAY, {{"InstanceId", "i-nopay0001"},
                                                          {"Period", "60"}},
         "InvalidPaymentMethod.Missing", 400},
        {"credit payment off", ACCOUNT_BROKE, {{"InstanceId", "i-broke0001"}, {"Period", "1"}},
         "InvalidAccountStatus.NotEnoughBalance", 403},
        {"credit payment off, a week", ACCOUNT_BROKE, {{"InstanceId", "i-broke0001"},
                                                       {"PeriodUnit", "Week"}, {"Period", "1"}},
         "InvalidAccountStatus.NotEnoughBalance", 403},
        {"balance and credit short", ACCOUNT_POOR, {{"InstanceId", "i-poor0001"},
                                                    {"Period", "4"}},
         "InvalidAccountStatus.NotEnoughBalance", 403},
        {"balance and credit short by a year", ACCOUNT_POOR, {{"InstanceId", "i-poor0001"},
                                                             {"Period", "12"}},
         "InvalidAccountStatus.NotEnoughBalance", 403},
        {"short, with a token", ACCOUNT_POOR, {{"InstanceId", "i-poor0001"}, {"Period", "9"},
                                               {"ClientToken", "poor-1"}},
         "InvalidAccountStatus.NotEnoughBalance", 403},
        {"control: 60 months are paid", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001"},
                                                              {"Period", "60"},
                                                              {"PeriodUnit", "Month"},
                                                              {"RegionId", "cn-hangzhou"}},
         "OK", 200},
    };
    return cr_make_param_array(state_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(state_case *c, renew, state_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(c->account, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    if (c->status == 200) {
        /* The control row: 60 months is 5 year prices, 5000 of 5000 + a 20 coupon. */
        cr_expect(eq(i64, harness_order_count(&h), before.order_count + 1));
        return;
    }
    EXPECT_STR(o.message, billord_api_code_message(o.code));
    bool tokened = strcmp(c->label, "short, with a token") == 0;
    if (tokened) {
        /* A business rejection is memoized: the token is stored, nothing else. */
        cr_expect(eq(i64, harness_token_count(&h), before.token_count + 1));
        before.token_count++;
    }
    world_expect_unchanged(&before, c->label);
}

Test(renew, another_accounts_instance_answers_like_a_missing_one, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome missing = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-nothing",
                                           "Period", "1", NULL);
    billord_outcome foreign = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-acc0001",
                                           "Period", "1", NULL);
    cr_expect(eq(int, foreign.code, missing.code));
    EXPECT_STR(foreign.message, missing.message);
    char *missing_body = harness_render(ACTION, &missing);
    char *foreign_body = harness_render(ACTION, &foreign);
    /* Only the RequestId differs (its 36 characters after {"RequestId":"). */
    size_t skip = strlen("{\"RequestId\":\"") + BILLORD_REQUEST_ID_BYTES;
    cr_expect(eq(str, missing_body + skip, foreign_body + skip));
    free(missing_body);
    free(foreign_body);
}

/* ---- success effects ---------------------------------------------------------------- */

typedef struct success_case {
    char label[64];
    char account[20];
    char instance[16];
    char unit[8];                   /* "" to leave PeriodUnit out */
    char period[4];
    int64_t amount_micros;
    int64_t coupon_micros;          /* from cp-1 (ECS coupons of main) */
    int64_t balance_micros;
    int64_t credit_micros;
    char expires_before[24];
    char expires_after[24];
    billord_period_unit order_unit;
    uint32_t order_period;
    billord_instance_status status_after;
} success_case;

ParameterizedTestParameters(renew, success)
{
    static success_case cases[] = {
        {"week 1", ACCOUNT_MAIN, "i-acc0001", "Week", "1", MICROS(30), MICROS(20), MICROS(10), 0,
         "2026-12-31T16:00:00Z", "2027-01-07T16:00:00Z", BILLORD_PERIOD_WEEK, 1,
         BILLORD_STATUS_RUNNING},
        {"week 4", ACCOUNT_MAIN, "i-acc0001", "Week", "4", MICROS(120), MICROS(20), MICROS(100), 0,
         "2026-12-31T16:00:00Z", "2027-01-28T16:00:00Z", BILLORD_PERIOD_WEEK, 4,
         BILLORD_STATUS_RUNNING},
        {"default unit is Month", ACCOUNT_MAIN, "i-acc0001", "", "1", MICROS(100), MICROS(20),
         MICROS(80), 0, "2026-12-31T16:00:00Z", "2027-01-31T16:00:00Z", BILLORD_PERIOD_MONTH, 1,
         BILLORD_STATUS_RUNNING},
        {"month 1", ACCOUNT_MAIN, "i-acc0001", "Month", "1", MICROS(100), MICROS(20), MICROS(80), 0,
         "2026-12-31T16:00:00Z", "2027-01-31T16:00:00Z", BILLORD_PERIOD_MONTH, 1,
         BILLORD_STATUS_RUNNING},
        {"month 2 clamps to Feb 28", ACCOUNT_MAIN, "i-acc0001", "Month", "2", MICROS(200),
         MICROS(20), MICROS(180), 0, "2026-12-31T16:00:00Z", "2027-02-28T16:00:00Z",
         BILLORD_PERIOD_MONTH, 2, BILLORD_STATUS_RUNNING},
        {"month 3", ACCOUNT_MAIN, "i-acc0001", "Month", "3", MICROS(300), MICROS(20), MICROS(280), 0,
         "2026-12-31T16:00:00Z", "2027-03-31T16:00:00Z", BILLORD_PERIOD_MONTH, 3,
         BILLORD_STATUS_RUNNING},
        {"month 9 clamps to Sep 30", ACCOUNT_MAIN, "i-acc0001", "Month", "9", MICROS(900),
         MICROS(20), MICROS(880), 0, "2026-12-31T16:00:00Z", "2027-09-30T16:00:00Z",
         BILLORD_PERIOD_MONTH, 9, BILLORD_STATUS_RUNNING},
        {"month 12 is the year price", ACCOUNT_MAIN, "i-acc0001", "Month", "12", MICROS(1000),
         MICROS(20), MICROS(980), 0, "2026-12-31T16:00:00Z", "2027-12-31T16:00:00Z",
         BILLORD_PERIOD_MONTH, 12, BILLORD_STATUS_RUNNING},
        {"month 24 is two year prices", ACCOUNT_MAIN, "i-acc0001", "Month", "24", MICROS(2000),
         MICROS(20), MICROS(1980), 0, "2026-12-31T16:00:00Z", "2028-12-31T16:00:00Z",
         BILLORD_PERIOD_MONTH, 24, BILLORD_STATUS_RUNNING},
        {"month 36", ACCOUNT_MAIN, "i-acc0001", "Month", "36", MICROS(3000), MICROS(20),
         MICROS(2980), 0, "2026-12-31T16:00:00Z", "2029-12-31T16:00:00Z", BILLORD_PERIOD_MONTH, 36,
         BILLORD_STATUS_RUNNING},
        {"month 48", ACCOUNT_MAIN, "i-acc0001", "Month", "48", MICROS(4000), MICROS(20),
         MICROS(3980), 0, "2026-12-31T16:00:00Z", "2030-12-31T16:00:00Z", BILLORD_PERIOD_MONTH, 48,
         BILLORD_STATUS_RUNNING},
        {"month 60", ACCOUNT_MAIN, "i-acc0001", "Month", "60", MICROS(5000), MICROS(20),
         MICROS(4980), 0, "2026-12-31T16:00:00Z", "2031-12-31T16:00:00Z", BILLORD_PERIOD_MONTH, 60,
         BILLORD_STATUS_RUNNING},
        {"expired returns to running", ACCOUNT_MAIN, "i-acc0007", "Month", "1", MICROS(100),
         MICROS(20), MICROS(80), 0, "2026-11-15T16:00:00Z", "2026-12-15T16:00:00Z",
         BILLORD_PERIOD_MONTH, 1, BILLORD_STATUS_RUNNING},
        {"stopped stays stopped", ACCOUNT_MAIN, "i-acc0009", "Month", "2", MICROS(200), MICROS(20),
         MICROS(180), 0, "2027-06-30T16:00:00Z", "2027-08-30T16:00:00Z", BILLORD_PERIOD_MONTH, 2,
         BILLORD_STATUS_STOPPED},
        {"auto-renewal instance", ACCOUNT_MAIN, "i-acc0008", "", "1", MICROS(100), MICROS(20),
         MICROS(80), 0, "2026-11-28T16:00:00Z", "2026-12-28T16:00:00Z", BILLORD_PERIOD_MONTH, 1,
         BILLORD_STATUS_RUNNING},
        {"dedicated host: 4 weeks fit", ACCOUNT_MAIN, "i-acc0005", "Week", "4", MICROS(240),
         MICROS(20), MICROS(220), 0, "2027-01-15T16:00:00Z", "2027-02-12T16:00:00Z",
         BILLORD_PERIOD_WEEK, 4, BILLORD_STATUS_RUNNING},
        {"dedicated host: 1 month fits", ACCOUNT_MAIN, "i-acc0005", "Month", "1", MICROS(200),
         MICROS(20), MICROS(180), 0, "2027-01-15T16:00:00Z", "2027-02-15T16:00:00Z",
         BILLORD_PERIOD_MONTH, 1, BILLORD_STATUS_RUNNING},
        {"poor: balance then credit", ACCOUNT_POOR, "i-poor0001", "Month", "1", MICROS(100), 0,
         MICROS(10), MICROS(90), "2026-12-31T16:00:00Z", "2027-01-31T16:00:00Z",
         BILLORD_PERIOD_MONTH, 1, BILLORD_STATUS_RUNNING},
        {"poor: up to the credit limit", ACCOUNT_POOR, "i-poor0001", "Month", "3", MICROS(300), 0,
         MICROS(10), MICROS(290), "2026-12-31T16:00:00Z", "2027-03-31T16:00:00Z",
         BILLORD_PERIOD_MONTH, 3, BILLORD_STATUS_RUNNING},
        {"poor: a week", ACCOUNT_POOR, "i-poor0001", "Week", "1", MICROS(30), 0, MICROS(10),
         MICROS(20), "2026-12-31T16:00:00Z", "2027-01-07T16:00:00Z", BILLORD_PERIOD_WEEK, 1,
         BILLORD_STATUS_RUNNING},
    };
    return cr_make_param_array(success_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(success_case *c, renew, success, .init = setup, .fini = teardown, .timeout = 30)
{
    int64_t orders_before = harness_order_count(&h);
    billord_account account_before = harness_account(&h, c->account);
    int64_t coupon_before = harness_coupon_left(&h, ACCOUNT_MAIN, "cp-1");
    billord_instance instance_before = harness_instance(&h, c->instance);
    expect_time(instance_before.expires_ms, c->expires_before, c->label);

    param_row rows[3] = {{"InstanceId", ""}, {"Period", ""}, {"PeriodUnit", ""}};
    snprintf(rows[0].value, sizeof rows[0].value, "%s", c->instance);
    snprintf(rows[1].value, sizeof rows[1].value, "%s", c->period);
    if (c->unit[0] == '\0') {
        rows[2].name[0] = '\0';
    } else {
        snprintf(rows[2].value, sizeof rows[2].value, "%s", c->unit);
    }
    billord_outcome o = call_rows(c->account, ACTION, rows, 3);
    expect_code(&o, "OK", 200, c->label);
    cr_assert(o.has_order_id, "%s: an OrderId", c->label);
    cr_expect(eq(u64, o.order_id, LAST_SEEDED_ORDER_ID + 1), "%s: next order id", c->label);
    cr_expect(eq(i64, harness_order_count(&h), orders_before + 1), "%s: one order", c->label);

    billord_order order;
    cr_assert(harness_order(&h, o.order_id, &order), "%s: the order exists", c->label);
    EXPECT_STR(order.account, c->account);
    EXPECT_STR(order.instance, c->instance);
    cr_expect(eq(int, (int)order.kind, (int)BILLORD_ORDER_RENEW));
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_PAID));
    cr_expect(eq(int, (int)order.period_unit, (int)c->order_unit), "%s: unit", c->label);
    cr_expect(eq(u32, order.period_count, c->order_period), "%s: period", c->label);
    cr_expect(eq(i64, order.amount_micros, c->amount_micros), "%s: amount", c->label);
    cr_expect(eq(i64, order.coupon_paid_micros, c->coupon_micros), "%s: coupon", c->label);
    cr_expect(eq(i64, order.balance_paid_micros, c->balance_micros), "%s: balance", c->label);
    cr_expect(eq(i64, order.credit_paid_micros, c->credit_micros), "%s: credit", c->label);
    cr_expect(eq(i64, order.created_ms, h.now_ms));
    cr_expect(eq(i64, order.paid_ms, h.now_ms));
    cr_expect(eq(i64, order.cancelled_ms, 0));

    billord_instance after = harness_instance(&h, c->instance);
    expect_time(after.expires_ms, c->expires_after, c->label);
    cr_expect(eq(int, (int)after.status, (int)c->status_after), "%s: status", c->label);
    cr_expect(eq(int, (int)after.charge_type, (int)BILLORD_CHARGE_PREPAID));
    cr_expect(eq(int, (int)after.renewal_status, (int)instance_before.renewal_status));

    billord_account account_after = harness_account(&h, c->account);
    cr_expect(eq(i64, account_after.balance_micros,
                 account_before.balance_micros - c->balance_micros), "%s: balance", c->label);
    cr_expect(eq(i64, account_after.credit_used_micros,
                 account_before.credit_used_micros + c->credit_micros), "%s: credit", c->label);
    cr_expect(eq(i64, account_after.balance_initial_micros, account_before.balance_initial_micros));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-1"), coupon_before - c->coupon_micros),
              "%s: coupon", c->label);
    /* Coupons of other products and expired coupons are never touched. */
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-2"), MICROS(50)));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-expired"), MICROS(90)));
}

/* ---- further rules ------------------------------------------------------------------ */

Test(renew, optional_region_and_token_are_accepted, .init = setup, .fini = teardown, .timeout = 30)
{
    char token[65];
    memset(token, 'x', 64);
    token[64] = '\0';
    token[10] = ' ';    /* a space is printable ASCII */
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001", "Period",
                                     "1", "RegionId", "cn-hangzhou", "ClientToken", token, NULL);
    expect_code(&o, "OK", 200, "64-byte token");
    billord_order order;
    cr_assert(harness_order(&h, o.order_id, &order));
    EXPECT_STR(order.client_token, token);
    cr_expect(eq(i64, harness_token_count(&h), 1));
}

Test(renew, dedicated_host_limit_is_checked_before_payment, .init = setup, .fini = teardown,
     .timeout = 30)
{
    /* 36 months at the year price (6000) is more than main has, but the host answers first. */
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0005", "Period",
                                     "36", NULL);
    expect_code(&o, "InvalidPeriod", 400, "host before money");
}

Test(renew, renewals_accumulate_from_the_current_expiry, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                         "Period", "1", NULL);
    billord_outcome second = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                          "Period", "1", NULL);
    expect_code(&first, "OK", 200, "first");
    expect_code(&second, "OK", 200, "second");
    cr_expect(second.order_id > first.order_id, "order ids increase");
    cr_expect(lt(u64, second.order_id, 1ULL << 53));
    /* 2026-12-31 + 1 month = 2027-01-31; + 1 month = 2027-02-28 (clamped). */
    expect_time(harness_instance(&h, "i-acc0001").expires_ms, "2027-02-28T16:00:00Z", "twice");
    /* cp-1 paid 20 of the first; the second comes from the balance. */
    billord_order order;
    cr_assert(harness_order(&h, second.order_id, &order));
    cr_expect(eq(i64, order.coupon_paid_micros, 0));
    cr_expect(eq(i64, order.balance_paid_micros, MICROS(100)));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, MICROS(5000 - 180)));
}

Test(renew, a_refused_payment_uses_no_order_id, .init = setup, .fini = teardown, .timeout = 30)
{
    billord_outcome refused = harness_call(&h, ACCOUNT_BROKE, ACTION, "InstanceId", "i-broke0001",
                                           "Period", "1", NULL);
    expect_code(&refused, "InvalidAccountStatus.NotEnoughBalance", 403, "broke");
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                     "Period", "1", NULL);
    expect_code(&o, "OK", 200, "main");
    cr_expect(eq(u64, o.order_id, LAST_SEEDED_ORDER_ID + 1));
}

Test(renew, poor_account_exhausts_credit_then_is_refused, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-poor0001",
                                     "Period", "3", NULL);
    expect_code(&o, "OK", 200, "300 of 310");
    billord_account account = harness_account(&h, ACCOUNT_POOR);
    cr_expect(eq(i64, account.balance_micros, 0));
    cr_expect(eq(i64, account.credit_used_micros, MICROS(290)));
    /* 10 credit left: a week (30) is refused and takes nothing. */
    world before;
    world_take(&before);
    o = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-poor0001", "PeriodUnit", "Week",
                     "Period", "1", NULL);
    expect_code(&o, "InvalidAccountStatus.NotEnoughBalance", 403, "20 short");
    world_expect_unchanged(&before, "refused");
}

Test(renew, cancelled_unpaid_order_unblocks_renewal, .init = setup, .fini = teardown, .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0002",
                                     "Period", "1", NULL);
    expect_code(&o, "Instance.UnPaidOrder", 403, "blocked");
    o = harness_call(&h, ACCOUNT_MAIN, "CancelOrder", "OrderId", "205395023430728", NULL);
    expect_code(&o, "OK", 200, "cancel");
    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0002", "Period", "1", NULL);
    expect_code(&o, "OK", 200, "renew");
    expect_time(harness_instance(&h, "i-acc0002").expires_ms, "2027-01-15T16:00:00Z", "renewed");
}

/* ---- ClientToken (SPEC section 4) --------------------------------------------------- */

Test(renew, same_token_replays_the_first_answer, .init = setup, .fini = teardown, .timeout = 30)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                         "Period", "1", "ClientToken", "t-1", NULL);
    expect_code(&first, "OK", 200, "first");
    cr_expect(not(first.idempotent_replay));
    int64_t balance = harness_account(&h, ACCOUNT_MAIN).balance_micros;
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                         "PeriodUnit", "Month", "Period", "1", "ClientToken",
                                         "t-1", NULL);
    expect_code(&again, "OK", 200, "replay");
    cr_expect(again.idempotent_replay);
    cr_expect(eq(u64, again.order_id, first.order_id));
    EXPECT_STR(again.request_id, first.request_id);
    cr_expect(eq(i64, harness_order_count(&h), 5));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, balance));
    expect_time(harness_instance(&h, "i-acc0001").expires_ms, "2027-01-31T16:00:00Z", "once");
}

Test(renew, same_token_other_parameters_is_a_mismatch_naming_the_parameter, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                         "Period", "1", "ClientToken", "t-2", NULL);
    expect_code(&first, "OK", 200, "first");
    world before;
    world_take(&before);
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                     "Period", "2", "ClientToken", "t-2", NULL);
    expect_code(&o, "IdempotenceParamNotMatch", 400, "period differs");
    cr_expect(ne(ptr, strstr(o.message, "Period"), NULL), "%s", o.message);
    /* Checked before anything about the target: a missing instance still mismatches. */
    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-missing", "Period", "1",
                     "ClientToken", "t-2", NULL);
    expect_code(&o, "IdempotenceParamNotMatch", 400, "instance differs");
    cr_expect(ne(ptr, strstr(o.message, "InstanceId"), NULL), "%s", o.message);
    world_expect_unchanged(&before, "mismatch");
}

Test(renew, tokens_are_per_account_and_case_sensitive, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome a = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                     "Period", "1", "ClientToken", "tok", NULL);
    billord_outcome b = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                     "Period", "1", "ClientToken", "TOK", NULL);
    billord_outcome c = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-poor0001",
                                     "Period", "1", "ClientToken", "tok", NULL);
    expect_code(&a, "OK", 200, "a");
    expect_code(&b, "OK", 200, "b");
    expect_code(&c, "OK", 200, "c");
    cr_expect(not(b.idempotent_replay));
    cr_expect(not(c.idempotent_replay));
    cr_expect(ne(u64, a.order_id, b.order_id));
    cr_expect(ne(u64, a.order_id, c.order_id));
    cr_expect(eq(i64, harness_order_count(&h), 7));
    cr_expect(eq(i64, harness_token_count(&h), 3));
}

Test(renew, business_rejection_is_memoized_parameter_error_is_not, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0004",
                                     "Period", "1", "ClientToken", "t-3", NULL);
    expect_code(&o, "ChargeTypeViolation", 403, "first");
    cr_expect(eq(i64, harness_token_count(&h), 1));
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0004",
                                         "Period", "1", "ClientToken", "t-3", NULL);
    expect_code(&again, "ChargeTypeViolation", 403, "replay");
    cr_expect(again.idempotent_replay);
    EXPECT_STR(again.request_id, o.request_id);

    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001", "Period", "10",
                     "ClientToken", "t-4", NULL);
    expect_code(&o, "InvalidPeriod", 400, "not memoized");
    cr_expect(eq(i64, harness_token_count(&h), 1));
    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001", "Period", "1",
                     "ClientToken", "t-4", NULL);
    expect_code(&o, "OK", 200, "token still free");
    cr_expect(not(o.idempotent_replay));
}

Test(renew, duplicate_token_in_one_batch_is_last_token_processing, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_param p1[HARNESS_PARAMS_MAX];
    billord_param p2[HARNESS_PARAMS_MAX];
    billord_command commands[2];
    commands[0] = harness_command(&h, ACCOUNT_MAIN, ACTION, p1, "InstanceId", "i-acc0001",
                                  "Period", "1", "ClientToken", "dup", NULL);
    commands[1] = harness_command(&h, ACCOUNT_MAIN, ACTION, p2, "InstanceId", "i-acc0001",
                                  "Period", "1", "ClientToken", "dup", NULL);
    billord_outcome outcomes[2];
    harness_batch(&h, commands, 2, outcomes);
    expect_code(&outcomes[0], "OK", 200, "first");
    expect_code(&outcomes[1], "LastTokenProcessing", 403, "second");
    cr_expect(eq(i64, harness_order_count(&h), 5));
}
