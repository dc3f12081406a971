/*
 * tests/unit/test_action_pay_type.c: ModifyDBInstancePayType (SPEC section 3) walked
 * row by row.
 *
 * Every parameter rule and state refusal answers its catalog code and status in SPEC
 * order and changes nothing; a paid change makes the instance PrePaid, expiring UsedTime
 * periods from the payment; a short payment leaves an Unpaid order (its OrderId still
 * returned) and a PostPaid instance that refuses another change until the order is
 * settled or cancelled.
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

#define ACTION "ModifyDBInstancePayType"
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
    char message_part[32];
} param_case;

#define TOKEN_65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB {"DBInstanceId", "rm-acc0001"}
#define PREPAID {"PayType", "Prepaid"}
#define MONTH {"Period", "Month"}
#define YEAR {"Period", "Year"}

ParameterizedTestParameters(pay_type, parameter_errors)
{
    static param_case cases[] = {
        {"DBInstanceId missing", {PREPAID, MONTH}, "MissingParameter", 400, "\"DBInstanceId\""},
        {"DBInstanceId empty", {{"DBInstanceId", ""}, PREPAID, MONTH}, "MissingParameter", 400,
         "\"DBInstanceId\""},
        {"PayType missing", {DB, MONTH}, "MissingParameter", 400, "\"PayType\""},
        {"PayType Postpaid", {DB, {"PayType", "Postpaid"}, MONTH}, "InvalidPayType", 400, ""},
        {"PayType PrePaid (case)", {DB, {"PayType", "PrePaid"}, MONTH}, "InvalidPayType", 400, ""},
        {"PayType prepaid", {DB, {"PayType", "prepaid"}, MONTH}, "InvalidPayType", 400, ""},
        {"PayType empty", {DB, {"PayType", ""}, MONTH}, "InvalidPayType", 400, ""},
        {"Period missing", {DB, PREPAID}, "MissingParameter", 400, "\"Period\""},
        {"Period Week", {DB, PREPAID, {"Period", "Week"}}, "InvalidPeriod", 400, ""},
        {"Period year", {DB, PREPAID, {"Period", "year"}}, "InvalidPeriod", 400, ""},
        {"Period numeric", {DB, PREPAID, {"Period", "1"}}, "InvalidPeriod", 400, ""},
        {"Period empty", {DB, PREPAID, {"Period", ""}}, "InvalidPeriod", 400, ""},
        {"Year 4", {DB, PREPAID, YEAR, {"UsedTime", "4"}}, "InvalidUsedTime", 400, ""},
        {"Year 0", {DB, PREPAID, YEAR, {"UsedTime", "0"}}, "InvalidUsedTime", 400, ""},
        {"Year 12", {DB, PREPAID, YEAR, {"UsedTime", "12"}}, "InvalidUsedTime", 400, ""},
        {"Month 10", {DB, PREPAID, MONTH, {"UsedTime", "10"}}, "InvalidUsedTime", 400, ""},
        {"Month 12", {DB, PREPAID, MONTH, {"UsedTime", "12"}}, "InvalidUsedTime", 400, ""},
        {"Month 0", {DB, PREPAID, MONTH, {"UsedTime", "0"}}, "InvalidUsedTime", 400, ""},
        {"UsedTime 01", {DB, PREPAID, MONTH, {"UsedTime", "01"}}, "InvalidUsedTime", 400, ""},
        {"UsedTime space", {DB, PREPAID, MONTH, {"UsedTime", " 1"}}, "InvalidUsedTime", 400, ""},
        {"UsedTime 1.0", {DB, PREPAID, MONTH, {"UsedTime", "1.0"}}, "InvalidUsedTime", 400, ""},
        {"UsedTime -1", {DB, PREPAID, MONTH, {"UsedTime", "-1"}}, "InvalidUsedTime", 400, ""},
        {"UsedTime empty", {DB, PREPAID, MONTH, {"UsedTime", ""}}, "InvalidUsedTime", 400, ""},
        {"UsedTime huge", {DB, PREPAID, YEAR, {"UsedTime", "18446744073709551617"}},
         "InvalidUsedTime", 400, ""},
        {"ClientToken empty", {DB, PREPAID, MONTH, {"ClientToken", ""}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"ClientToken 65 bytes", {DB, PREPAID, MONTH, {"ClientToken", TOKEN_65}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"ClientToken newline", {DB, PREPAID, MONTH, {"ClientToken", "a\nb"}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        /* Precedence: the first failing check in table order answers. */
        {"no id before bad PayType", {{"PayType", "x"}, {"Period", "x"}}, "MissingParameter",
         400, "\"DBInstanceId\""},
        {"bad PayType before missing Period", {DB, {"PayType", "Postpaid"}}, "InvalidPayType",
         400, ""},
        {"bad PayType before bad Period", {DB, {"PayType", "Postpaid"}, {"Period", "Week"}},
         "InvalidPayType", 400, ""},
        {"bad Period before bad UsedTime", {DB, PREPAID, {"Period", "Week"}, {"UsedTime", "99"}},
         "InvalidPeriod", 400, ""},
        {"bad UsedTime before bad token", {DB, PREPAID, YEAR, {"UsedTime", "4"},
                                           {"ClientToken", ""}},
         "InvalidUsedTime", 400, ""},
        {"bad token before unknown instance", {{"DBInstanceId", "rm-nope"}, PREPAID, MONTH,
                                               {"ClientToken", ""}},
         "InvalidClientToken.ValueNotSupported", 400, ""},
        {"bad UsedTime before PrePaid instance", {{"DBInstanceId", "rm-acc0002"}, PREPAID, MONTH,
                                                  {"UsedTime", "10"}},
         "InvalidUsedTime", 400, ""},
    };
    return cr_make_param_array(param_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(param_case *c, pay_type, parameter_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(ACCOUNT_MAIN, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    if (c->message_part[0] != '\0') {
        cr_expect(ne(ptr, strstr(o.message, c->message_part), NULL), "%s: message \"%s\"",
                  c->label, o.message);
    } else {
        EXPECT_STR(o.message, billord_api_code_message(o.code));
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

ParameterizedTestParameters(pay_type, state_errors)
{
    static state_case cases[] = {
        {"unknown instance", ACCOUNT_MAIN, {{"DBInstanceId", "rm-nope"}, PREPAID, MONTH},
         "InvalidDBInstanceId.NotFound", 404},
        {"another account's instance", ACCOUNT_MAIN, {{"DBInstanceId", "rm-poor0001"}, PREPAID,
                                                      MONTH},
         "InvalidDBInstanceId.NotFound", 404},
        {"main's instance seen by poor", ACCOUNT_POOR, {DB, PREPAID, MONTH},
         "InvalidDBInstanceId.NotFound", 404},
        {"main's PrePaid instance seen by poor", ACCOUNT_POOR, {{"DBInstanceId", "rm-acc0002"},
                                                                PREPAID, MONTH},
         "InvalidDBInstanceId.NotFound", 404},
        {"an ECS instance is not a DB instance", ACCOUNT_MAIN, {{"DBInstanceId", "i-acc0004"},
                                                               PREPAID, MONTH},
         "InvalidDBInstanceId.NotFound", 404},
        {"an HSS instance is not a DB instance", ACCOUNT_MAIN, {{"DBInstanceId", "sas-acc0001"},
                                                               PREPAID, MONTH},
         "InvalidDBInstanceId.NotFound", 404},
        {"already PrePaid", ACCOUNT_MAIN, {{"DBInstanceId", "rm-acc0002"}, PREPAID, YEAR},
         "IncorrectDBInstancePayType", 403},
        {"PrePaid and Locked: pay type first", ACCOUNT_MAIN, {{"DBInstanceId", "rm-acc0004"},
                                                             PREPAID, MONTH},
         "IncorrectDBInstancePayType", 403},
        {"Stopped", ACCOUNT_MAIN, {{"DBInstanceId", "rm-acc0005"}, PREPAID, MONTH},
         "IncorrectDBInstanceState", 403},
        {"phased out", ACCOUNT_MAIN, {{"DBInstanceId", "rm-acc0003"}, PREPAID, MONTH},
         "DBInstanceClass.PhasedOut", 403},
        {"phased out, a year", ACCOUNT_MAIN, {{"DBInstanceId", "rm-acc0003"}, PREPAID, YEAR,
                                              {"UsedTime", "3"}},
         "DBInstanceClass.PhasedOut", 403},
        {"no payment method", ACCOUNT_NOPAY, {{"DBInstanceId", "rm-nopay0001"}, PREPAID, MONTH},
         "InvalidPaymentMethod.Missing", 400},
        {"no payment method, a year", ACCOUNT_NOPAY, {{"DBInstanceId", "rm-nopay0001"}, PREPAID,
                                                      YEAR},
         "InvalidPaymentMethod.Missing", 400},
    };
    return cr_make_param_array(state_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(state_case *c, pay_type, state_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(c->account, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    EXPECT_STR(o.message, billord_api_code_message(o.code));
    world_expect_unchanged(&before, c->label);
}

Test(pay_type, another_accounts_instance_answers_like_a_missing_one, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome missing = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-zzz",
                                           "PayType", "Prepaid", "Period", "Month", NULL);
    billord_outcome foreign = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-acc0005",
                                           "PayType", "Prepaid", "Period", "Month", NULL);
    cr_expect(eq(int, foreign.code, missing.code));
    EXPECT_STR(foreign.message, missing.message);
    expect_code(&foreign, "InvalidDBInstanceId.NotFound", 404, "foreign");
}

/* ---- paid changes ------------------------------------------------------------------- */

typedef struct success_case {
    char label[64];
    char account[20];
    char instance[16];
    char period[8];
    char used_time[4];              /* "" to leave UsedTime out */
    int64_t amount_micros;
    int64_t coupon_micros;          /* from cp-2 (RDS/HSS coupon of main) */
    int64_t balance_micros;
    int64_t credit_micros;
    char expires_after[24];
    billord_period_unit order_unit;
    uint32_t order_period;
} success_case;

ParameterizedTestParameters(pay_type, paid)
{
    static success_case cases[] = {
        {"UsedTime defaults to 1", ACCOUNT_MAIN, "rm-acc0001", "Month", "", MICROS(150),
         MICROS(50), MICROS(100), 0, "2026-12-22T00:00:00Z", BILLORD_PERIOD_MONTH, 1},
        {"Month 1", ACCOUNT_MAIN, "rm-acc0001", "Month", "1", MICROS(150), MICROS(50), MICROS(100),
         0, "2026-12-22T00:00:00Z", BILLORD_PERIOD_MONTH, 1},
        {"Month 3", ACCOUNT_MAIN, "rm-acc0001", "Month", "3", MICROS(450), MICROS(50), MICROS(400),
         0, "2027-02-22T00:00:00Z", BILLORD_PERIOD_MONTH, 3},
        {"Month 9", ACCOUNT_MAIN, "rm-acc0001", "Month", "9", MICROS(1350), MICROS(50),
         MICROS(1300), 0, "2027-08-22T00:00:00Z", BILLORD_PERIOD_MONTH, 9},
        {"Year default", ACCOUNT_MAIN, "rm-acc0001", "Year", "", MICROS(1500), MICROS(50),
         MICROS(1450), 0, "2027-11-22T00:00:00Z", BILLORD_PERIOD_YEAR, 1},
        {"Year 2", ACCOUNT_MAIN, "rm-acc0001", "Year", "2", MICROS(3000), MICROS(50),
         MICROS(2950), 0, "2028-11-22T00:00:00Z", BILLORD_PERIOD_YEAR, 2},
        {"Year 3", ACCOUNT_MAIN, "rm-acc0001", "Year", "3", MICROS(4500), MICROS(50),
         MICROS(4450), 0, "2029-11-22T00:00:00Z", BILLORD_PERIOD_YEAR, 3},
        {"poor: balance then credit", ACCOUNT_POOR, "rm-poor0001", "Month", "1", MICROS(150), 0,
         MICROS(10), MICROS(140), "2026-12-22T00:00:00Z", BILLORD_PERIOD_MONTH, 1},
        {"poor: two months", ACCOUNT_POOR, "rm-poor0001", "Month", "2", MICROS(300), 0,
         MICROS(10), MICROS(290), "2027-01-22T00:00:00Z", BILLORD_PERIOD_MONTH, 2},
    };
    return cr_make_param_array(success_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(success_case *c, pay_type, paid, .init = setup, .fini = teardown, .timeout = 30)
{
    int64_t orders_before = harness_order_count(&h);
    billord_account account_before = harness_account(&h, c->account);
    int64_t coupon_before = harness_coupon_left(&h, ACCOUNT_MAIN, "cp-2");
    billord_instance before = harness_instance(&h, c->instance);
    cr_assert(eq(int, (int)before.charge_type, (int)BILLORD_CHARGE_POSTPAID));

    param_row rows[4] = {{"DBInstanceId", ""}, PREPAID, {"Period", ""}, {"UsedTime", ""}};
    snprintf(rows[0].value, sizeof rows[0].value, "%s", c->instance);
    snprintf(rows[2].value, sizeof rows[2].value, "%s", c->period);
    if (c->used_time[0] == '\0') {
        rows[3].name[0] = '\0';
    } else {
        snprintf(rows[3].value, sizeof rows[3].value, "%s", c->used_time);
    }
    billord_outcome o = call_rows(c->account, ACTION, rows, 4);
    expect_code(&o, "OK", 200, c->label);
    cr_assert(o.has_order_id, "%s: OrderId", c->label);
    cr_expect(eq(u64, o.order_id, LAST_SEEDED_ORDER_ID + 1));
    cr_expect(eq(i64, harness_order_count(&h), orders_before + 1));

    billord_order order;
    cr_assert(harness_order(&h, o.order_id, &order));
    EXPECT_STR(order.instance, c->instance);
    EXPECT_STR(order.account, c->account);
    cr_expect(eq(int, (int)order.kind, (int)BILLORD_ORDER_CHANGE_PAY_TYPE));
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_PAID));
    cr_expect(eq(int, (int)order.period_unit, (int)c->order_unit), "%s: unit", c->label);
    cr_expect(eq(u32, order.period_count, c->order_period), "%s: count", c->label);
    cr_expect(eq(i64, order.amount_micros, c->amount_micros), "%s: amount", c->label);
    cr_expect(eq(i64, order.coupon_paid_micros, c->coupon_micros), "%s: coupon", c->label);
    cr_expect(eq(i64, order.balance_paid_micros, c->balance_micros), "%s: balance", c->label);
    cr_expect(eq(i64, order.credit_paid_micros, c->credit_micros), "%s: credit", c->label);
    cr_expect(eq(i64, order.paid_ms, h.now_ms));

    billord_instance after = harness_instance(&h, c->instance);
    cr_expect(eq(int, (int)after.charge_type, (int)BILLORD_CHARGE_PREPAID), "%s: PrePaid",
              c->label);
    cr_expect(eq(int, (int)after.status, (int)BILLORD_STATUS_RUNNING));
    cr_expect(eq(u32, after.unpaid_order_count, 0));
    expect_time(after.expires_ms, c->expires_after, c->label);

    billord_account account_after = harness_account(&h, c->account);
    cr_expect(eq(i64, account_after.balance_micros,
                 account_before.balance_micros - c->balance_micros));
    cr_expect(eq(i64, account_after.credit_used_micros,
                 account_before.credit_used_micros + c->credit_micros));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-2"), coupon_before - c->coupon_micros));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-1"), MICROS(20)),
              "an ECS coupon never pays for RDS");
}

Test(pay_type, expiry_runs_from_the_payment_time, .init = setup, .fini = teardown, .timeout = 30)
{
    /* Jan 31 + 1 month clamps to Feb 28: the period counts from now, not from any expiry. */
    h.now_ms = HARNESS_DEMO_CLOCK_MS + 70LL * 86400000LL;     /* 2027-01-31T00:00:00Z */
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "DBInstanceId", "rm-acc0001",
                                     "PayType", "Prepaid", "Period", "Month", NULL);
    expect_code(&o, "OK", 200, "paid");
    expect_time(harness_instance(&h, "rm-acc0001").expires_ms, "2027-02-28T00:00:00Z", "clamp");
    billord_order order;
    cr_assert(harness_order(&h, o.order_id, &order));
    /* cp-2 expired on 2026-12-15: the balance pays it all. */
    cr_expect(eq(i64, order.coupon_paid_micros, 0));
    cr_expect(eq(i64, order.balance_paid_micros, MICROS(150)));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-2"), MICROS(50)));
}

Test(pay_type, a_second_change_after_paying_is_incorrect_pay_type, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "DBInstanceId", "rm-acc0001",
                                     "PayType", "Prepaid", "Period", "Month", NULL);
    expect_code(&o, "OK", 200, "first");
    world before;
    world_take(&before);
    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "DBInstanceId", "rm-acc0001", "PayType", "Prepaid",
                     "Period", "Month", NULL);
    expect_code(&o, "IncorrectDBInstancePayType", 403, "second");
    world_expect_unchanged(&before, "second");
}

/* ---- short payment: an Unpaid order --------------------------------------------------- */

static uint64_t poor_unpaid_change(void)
{
    /* 3 months = 450; poor has 10 balance + 300 credit. */
    billord_outcome o = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-poor0001",
                                     "PayType", "Prepaid", "Period", "Month", "UsedTime", "3",
                                     NULL);
    expect_code(&o, "OK", 200, "unpaid change");
    cr_assert(o.has_order_id, "a short payment still answers its OrderId");
    return o.order_id;
}

Test(pay_type, short_payment_leaves_an_unpaid_order_and_takes_nothing, .init = setup,
     .fini = teardown, .timeout = 30)
{
    world before;
    world_take(&before);
    uint64_t order_id = poor_unpaid_change();
    cr_expect(eq(u64, order_id, LAST_SEEDED_ORDER_ID + 1));
    cr_expect(eq(i64, harness_order_count(&h), before.order_count + 1));
    billord_order order;
    cr_assert(harness_order(&h, order_id, &order));
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_UNPAID));
    cr_expect(eq(int, (int)order.kind, (int)BILLORD_ORDER_CHANGE_PAY_TYPE));
    cr_expect(eq(i64, order.amount_micros, MICROS(450)));
    cr_expect(eq(i64, order.coupon_paid_micros + order.balance_paid_micros +
                          order.credit_paid_micros, 0));
    cr_expect(eq(i64, order.paid_ms, 0));
    billord_instance instance = harness_instance(&h, "rm-poor0001");
    cr_expect(eq(int, (int)instance.charge_type, (int)BILLORD_CHARGE_POSTPAID));
    cr_expect(eq(int, (int)instance.status, (int)BILLORD_STATUS_RUNNING));
    cr_expect(eq(i64, instance.expires_ms, 0));
    cr_expect(eq(u32, instance.unpaid_order_count, 1));
    billord_account account = harness_account(&h, ACCOUNT_POOR);
    cr_expect(eq(i64, account.balance_micros, MICROS(10)));
    cr_expect(eq(i64, account.credit_used_micros, 0));
}

Test(pay_type, short_payment_takes_no_coupon_either, .init = setup, .fini = teardown,
     .timeout = 30)
{
    /* Spend main down to 1020 (48 months of ECS: 4000, of which cp-1 pays 20). */
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001",
                                     "Period", "48", NULL);
    expect_code(&o, "OK", 200, "spend");
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, MICROS(1020)));
    /* A year of RDS is 1500 > 1020 + 50 (cp-2): Unpaid, and cp-2 is left whole. */
    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "DBInstanceId", "rm-acc0001", "PayType", "Prepaid",
                     "Period", "Year", NULL);
    expect_code(&o, "OK", 200, "unpaid");
    billord_order order;
    cr_assert(harness_order(&h, o.order_id, &order));
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_UNPAID));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-2"), MICROS(50)));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, MICROS(1020)));
    cr_expect(eq(int, (int)harness_instance(&h, "rm-acc0001").charge_type,
                 (int)BILLORD_CHARGE_POSTPAID));
}

Test(pay_type, unpaid_order_blocks_another_change, .init = setup, .fini = teardown, .timeout = 30)
{
    poor_unpaid_change();
    world before;
    world_take(&before);
    billord_outcome o = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-poor0001",
                                     "PayType", "Prepaid", "Period", "Month", NULL);
    expect_code(&o, "Instance.UnPaidOrder", 403, "blocked");
    world_expect_unchanged(&before, "blocked");
}

Test(pay_type, paying_short_again_is_refused_and_changes_nothing, .init = setup, .fini = teardown,
     .timeout = 30)
{
    uint64_t order_id = poor_unpaid_change();
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)order_id);
    world before;
    world_take(&before);
    billord_outcome o = harness_call(&h, ACCOUNT_POOR, "PayOrder", "OrderId", id_text, NULL);
    expect_code(&o, "InvalidAccountStatus.NotEnoughBalance", 403, "pay");
    world_expect_unchanged(&before, "pay refused");
    billord_order order;
    cr_assert(harness_order(&h, order_id, &order));
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_UNPAID));
}

Test(pay_type, cancelling_the_unpaid_order_allows_a_new_change, .init = setup, .fini = teardown,
     .timeout = 30)
{
    uint64_t order_id = poor_unpaid_change();
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)order_id);
    billord_outcome o = harness_call(&h, ACCOUNT_POOR, "CancelOrder", "OrderId", id_text, NULL);
    expect_code(&o, "OK", 200, "cancel");
    cr_expect(eq(u32, harness_instance(&h, "rm-poor0001").unpaid_order_count, 0));
    o = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-poor0001", "PayType",
                     "Prepaid", "Period", "Month", NULL);
    expect_code(&o, "OK", 200, "one month fits");
    cr_expect(eq(u64, o.order_id, order_id + 1));
    billord_instance instance = harness_instance(&h, "rm-poor0001");
    cr_expect(eq(int, (int)instance.charge_type, (int)BILLORD_CHARGE_PREPAID));
    expect_time(instance.expires_ms, "2026-12-22T00:00:00Z", "after cancel");
    billord_account account = harness_account(&h, ACCOUNT_POOR);
    cr_expect(eq(i64, account.balance_micros, 0));
    cr_expect(eq(i64, account.credit_used_micros, MICROS(140)));
}

/* ---- ClientToken -------------------------------------------------------------------- */

Test(pay_type, token_replays_an_unpaid_answer_without_a_second_order, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome first = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-poor0001",
                                         "PayType", "Prepaid", "Period", "Year", "ClientToken",
                                         "c-1", NULL);
    expect_code(&first, "OK", 200, "first");
    billord_outcome again = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-poor0001",
                                         "PayType", "Prepaid", "Period", "Year", "UsedTime", "1",
                                         "ClientToken", "c-1", NULL);
    expect_code(&again, "OK", 200, "replay (UsedTime 1 is the default)");
    cr_expect(again.idempotent_replay);
    cr_expect(eq(u64, again.order_id, first.order_id));
    cr_expect(eq(i64, harness_order_count(&h), 5));
    billord_outcome other = harness_call(&h, ACCOUNT_POOR, ACTION, "DBInstanceId", "rm-poor0001",
                                         "PayType", "Prepaid", "Period", "Month", "ClientToken",
                                         "c-1", NULL);
    expect_code(&other, "IdempotenceParamNotMatch", 400, "mismatch");
    cr_expect(ne(ptr, strstr(other.message, "Period"), NULL), "%s", other.message);
}

Test(pay_type, token_replays_a_paid_change, .init = setup, .fini = teardown, .timeout = 30)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, ACTION, "DBInstanceId", "rm-acc0001",
                                         "PayType", "Prepaid", "Period", "Month", "ClientToken",
                                         "c-2", NULL);
    expect_code(&first, "OK", 200, "first");
    int64_t balance = harness_account(&h, ACCOUNT_MAIN).balance_micros;
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, ACTION, "DBInstanceId", "rm-acc0001",
                                         "PayType", "Prepaid", "Period", "Month", "ClientToken",
                                         "c-2", NULL);
    /* The instance is PrePaid now, but the stored answer is returned, not a new check. */
    expect_code(&again, "OK", 200, "replay");
    cr_expect(again.idempotent_replay);
    cr_expect(eq(u64, again.order_id, first.order_id));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, balance));
    cr_expect(eq(i64, harness_order_count(&h), 5));
}
