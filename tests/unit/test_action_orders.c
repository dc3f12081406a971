/*
 * tests/unit/test_action_orders.c: DescribeOrders, PayOrder and CancelOrder (SPEC
 * section 3, "Orders") walked row by row.
 *
 * PayOrder and CancelOrder check OrderId, then ClientToken; an order of another
 * account answers exactly like a missing one; a Paid or Cancelled order answers
 * IncorrectOrderStatus; an error changes nothing. Paying applies the order's effect
 * (renewal from the current expiry, or PostPaid -> PrePaid from the payment time);
 * cancelling charges nothing. DescribeOrders filters by instance and status and pages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/fixture.h>
#include <billord/timeutil.h>

#include "support/action_rows.h"
#include "support/harness.h"

#define ROW_PARAMS_MAX 6u
#define MICROS(units) ((int64_t)(units) * 1000000LL)
#define UNPAID_ORDER "205395023430728"      /* i-acc0002, Renew, 100, Unpaid */
#define PAID_ORDER "205395023430001"        /* i-acc0001, Renew 1 Year, Paid */
#define CANCELLED_ORDER "205395023430002"   /* i-acc0005, Renew 2 Week, Cancelled */

/* ---- helpers ------------------------------------------------------------------------ */

ACTION_ROWS_SUITE_HELPERS

#define EXPECT_TRUE(condition) cr_expect(eq(int, (condition) ? 1 : 0, 1), "%s", #condition)

static billord_order order_of(const char *id_text)
{
    billord_order order;
    cr_assert(harness_order(&h, strtoull(id_text, NULL, 10), &order), "order %s", id_text);
    return order;
}

/* ---- PayOrder / CancelOrder parameters ----------------------------------------------- */

typedef struct param_case {
    char label[48];
    char action[16];
    param_row params[ROW_PARAMS_MAX];
    char code[48];
    int status;
    char message_part[32];
} param_case;

#define PARAM_ROWS(action)                                                                     \
    {"OrderId missing", action, {{"ClientToken", "t"}}, "MissingParameter", 400,               \
     "\"OrderId\""},                                                                           \
    {"OrderId empty", action, {{"OrderId", ""}}, "MissingParameter", 400, "\"OrderId\""},      \
    {"OrderId abc", action, {{"OrderId", "abc"}}, "InvalidParameter", 400, "\"OrderId\""},     \
    {"OrderId 01", action, {{"OrderId", "0205395023430728"}}, "InvalidParameter", 400,         \
     "\"OrderId\""},                                                                           \
    {"OrderId space", action, {{"OrderId", " 205395023430728"}}, "InvalidParameter", 400, ""}, \
    {"OrderId 1.0", action, {{"OrderId", "205395023430728.0"}}, "InvalidParameter", 400, ""},  \
    {"OrderId -1", action, {{"OrderId", "-1"}}, "InvalidParameter", 400, ""},                  \
    {"OrderId 0", action, {{"OrderId", "0"}}, "InvalidParameter", 400, ""},                    \
    {"OrderId 2^53", action, {{"OrderId", "9007199254740992"}}, "InvalidParameter", 400, ""},  \
    {"OrderId too long", action, {{"OrderId", "99999999999999999999999"}}, "InvalidParameter", \
     400, ""},                                                                                 \
    {"ClientToken empty", action, {{"OrderId", UNPAID_ORDER}, {"ClientToken", ""}},            \
     "InvalidClientToken.ValueNotSupported", 400, ""},                                         \
    {"ClientToken 65", action,                                                                 \
     {{"OrderId", UNPAID_ORDER},                                                               \
      {"ClientToken", "12345678901234567890123456789012345678901234567890123456789012345"}},   \
     "InvalidClientToken.ValueNotSupported", 400, ""},                                         \
    {"bad OrderId before bad token", action, {{"OrderId", "x"}, {"ClientToken", ""}},          \
     "InvalidParameter", 400, "\"OrderId\""},                                                  \
    {"bad token before paid order", action, {{"OrderId", PAID_ORDER}, {"ClientToken", ""}},    \
     "InvalidClientToken.ValueNotSupported", 400, ""}

ParameterizedTestParameters(orders, parameter_errors)
{
    static param_case cases[] = {PARAM_ROWS("PayOrder"), PARAM_ROWS("CancelOrder")};
    return cr_make_param_array(param_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(param_case *c, orders, parameter_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(ACCOUNT_MAIN, c->action, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    if (c->message_part[0] != '\0') {
        cr_expect(ne(ptr, strstr(o.message, c->message_part), NULL), "%s %s: \"%s\"", c->action,
                  c->label, o.message);
    }
    world_expect_unchanged(&before, c->label);
    cr_expect(eq(int, (int)order_of(UNPAID_ORDER).status, (int)BILLORD_ORDER_UNPAID));
}

/* ---- PayOrder / CancelOrder refusals from state --------------------------------------- */

typedef struct state_case {
    char label[48];
    char action[16];
    char account[20];
    char order_id[24];
    char code[48];
    int status;
} state_case;

#define STATE_ROWS(action)                                                                     \
    {"unknown order", action, ACCOUNT_MAIN, "205395023439999", "InvalidOrderId.NotFound", 404}, \
    {"largest id, unknown", action, ACCOUNT_MAIN, "9007199254740991",                          \
     "InvalidOrderId.NotFound", 404},                                                          \
    {"another account's unpaid order", action, ACCOUNT_POOR, UNPAID_ORDER,                     \
     "InvalidOrderId.NotFound", 404},                                                          \
    {"another account's paid order", action, ACCOUNT_POOR, PAID_ORDER,                         \
     "InvalidOrderId.NotFound", 404},                                                          \
    {"no payment method, foreign order", action, ACCOUNT_NOPAY, UNPAID_ORDER,                  \
     "InvalidOrderId.NotFound", 404},                                                          \
    {"paid order", action, ACCOUNT_MAIN, PAID_ORDER, "IncorrectOrderStatus", 403},             \
    {"cancelled order", action, ACCOUNT_MAIN, CANCELLED_ORDER, "IncorrectOrderStatus", 403},   \
    {"paid ChangePayType order", action, ACCOUNT_MAIN, "205395023430003",                      \
     "IncorrectOrderStatus", 403}

ParameterizedTestParameters(orders, state_errors)
{
    static state_case cases[] = {STATE_ROWS("PayOrder"), STATE_ROWS("CancelOrder")};
    return cr_make_param_array(state_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(state_case *c, orders, state_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    param_row rows[1] = {{"OrderId", ""}};
    snprintf(rows[0].value, sizeof rows[0].value, "%s", c->order_id);
    billord_outcome o = call_rows(c->account, c->action, rows, 1);
    expect_code(&o, c->code, c->status, c->label);
    EXPECT_STR(o.message, billord_api_code_message(o.code));
    world_expect_unchanged(&before, c->label);
}

Test(orders, another_accounts_order_answers_like_a_missing_one, .init = setup, .fini = teardown,
     .timeout = 30)
{
    const char *actions[] = {"PayOrder", "CancelOrder"};
    for (size_t i = 0; i < 2; i++) {
        billord_outcome missing = harness_call(&h, ACCOUNT_POOR, actions[i], "OrderId",
                                               "205395023439999", NULL);
        billord_outcome foreign = harness_call(&h, ACCOUNT_POOR, actions[i], "OrderId",
                                               UNPAID_ORDER, NULL);
        cr_expect(eq(int, foreign.code, missing.code), "%s", actions[i]);
        EXPECT_STR(foreign.message, missing.message);
        char *missing_body = harness_render(actions[i], &missing);
        char *foreign_body = harness_render(actions[i], &foreign);
        size_t skip = strlen("{\"RequestId\":\"") + BILLORD_REQUEST_ID_BYTES;
        cr_expect(eq(str, missing_body + skip, foreign_body + skip));
        free(missing_body);
        free(foreign_body);
    }
}

/* ---- PayOrder and CancelOrder on the demo ------------------------------------------- */

Test(orders, pay_settles_an_unpaid_renewal, .init = setup, .fini = teardown, .timeout = 30)
{
    int64_t orders_before = harness_order_count(&h);
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId", UNPAID_ORDER, NULL);
    expect_code(&o, "OK", 200, "pay");
    cr_expect(o.has_order_id);
    cr_expect(eq(u64, o.order_id, 205395023430728ULL));
    cr_expect(eq(i64, harness_order_count(&h), orders_before), "no new order");
    billord_order order = order_of(UNPAID_ORDER);
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_PAID));
    cr_expect(eq(i64, order.paid_ms, h.now_ms));
    cr_expect(eq(i64, order.amount_micros, MICROS(100)));
    cr_expect(eq(i64, order.coupon_paid_micros, MICROS(20)));
    cr_expect(eq(i64, order.balance_paid_micros, MICROS(80)));
    cr_expect(eq(i64, order.credit_paid_micros, 0));
    billord_instance instance = harness_instance(&h, "i-acc0002");
    /* The seeded order is 1 Month: from 2026-12-15T16:00:00Z. */
    expect_time(instance.expires_ms, "2027-01-15T16:00:00Z", "renewed");
    cr_expect(eq(u32, instance.unpaid_order_count, 0));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, MICROS(4920)));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-1"), 0));
}

Test(orders, cancel_charges_nothing_and_unblocks_the_instance, .init = setup, .fini = teardown,
     .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "CancelOrder", "OrderId", UNPAID_ORDER,
                                     NULL);
    expect_code(&o, "OK", 200, "cancel");
    cr_expect(eq(u64, o.order_id, 205395023430728ULL));
    billord_order order = order_of(UNPAID_ORDER);
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_CANCELLED));
    cr_expect(eq(i64, order.cancelled_ms, h.now_ms));
    cr_expect(eq(i64, order.paid_ms, 0));
    cr_expect(eq(i64, order.coupon_paid_micros + order.balance_paid_micros +
                          order.credit_paid_micros, 0));
    billord_instance instance = harness_instance(&h, "i-acc0002");
    cr_expect(eq(u32, instance.unpaid_order_count, 0));
    cr_expect(eq(i64, instance.expires_ms, before.instances[1].expires_ms));
    cr_expect(eq(i64, harness_order_count(&h), before.order_count));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros,
                 before.accounts[0].balance_micros));
    cr_expect(eq(i64, harness_coupon_left(&h, ACCOUNT_MAIN, "cp-1"), MICROS(20)));
    o = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0002", "Period", "1",
                     NULL);
    expect_code(&o, "OK", 200, "renew after cancel");
}

typedef struct twice_case {
    char first[16];
    char second[16];
} twice_case;

ParameterizedTestParameters(orders, second_settlement_is_incorrect_order_status)
{
    static twice_case cases[] = {
        {"PayOrder", "PayOrder"},
        {"PayOrder", "CancelOrder"},
        {"CancelOrder", "CancelOrder"},
        {"CancelOrder", "PayOrder"},
    };
    return cr_make_param_array(twice_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(twice_case *c, orders, second_settlement_is_incorrect_order_status,
                  .init = setup, .fini = teardown, .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, c->first, "OrderId", UNPAID_ORDER, NULL);
    expect_code(&o, "OK", 200, c->first);
    world before;
    world_take(&before);
    o = harness_call(&h, ACCOUNT_MAIN, c->second, "OrderId", UNPAID_ORDER, NULL);
    expect_code(&o, "IncorrectOrderStatus", 403, c->second);
    world_expect_unchanged(&before, c->second);
}

Test(orders, pay_token_replays_the_first_answer, .init = setup, .fini = teardown, .timeout = 30)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId", UNPAID_ORDER,
                                         "ClientToken", "p-1", NULL);
    expect_code(&first, "OK", 200, "pay");
    world before;
    world_take(&before);
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId", UNPAID_ORDER,
                                         "ClientToken", "p-1", NULL);
    expect_code(&again, "OK", 200, "replay, not IncorrectOrderStatus");
    cr_expect(again.idempotent_replay);
    EXPECT_STR(again.request_id, first.request_id);
    cr_expect(eq(u64, again.order_id, first.order_id));
    world_expect_unchanged(&before, "replay charges nothing");
}

Test(orders, cancel_with_a_pay_token_is_a_mismatch_naming_the_action, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId", PAID_ORDER,
                                     "ClientToken", "p-2", NULL);
    expect_code(&o, "IncorrectOrderStatus", 403, "memoized refusal");
    cr_expect(eq(i64, harness_token_count(&h), 1));
    o = harness_call(&h, ACCOUNT_MAIN, "CancelOrder", "OrderId", PAID_ORDER, "ClientToken", "p-2",
                     NULL);
    expect_code(&o, "IdempotenceParamNotMatch", 400, "other action");
    cr_expect(ne(ptr, strstr(o.message, "Action"), NULL), "%s", o.message);
    o = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId", UNPAID_ORDER, "ClientToken", "p-2",
                     NULL);
    expect_code(&o, "IdempotenceParamNotMatch", 400, "other order");
    cr_expect(ne(ptr, strstr(o.message, "OrderId"), NULL), "%s", o.message);
    cr_expect(eq(int, (int)order_of(UNPAID_ORDER).status, (int)BILLORD_ORDER_UNPAID));
}

Test(orders, change_pay_type_unpaid_then_cancel_then_change, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_POOR, "ModifyDBInstancePayType", "DBInstanceId",
                                     "rm-poor0001", "PayType", "Prepaid", "Period", "Year", NULL);
    expect_code(&o, "OK", 200, "unpaid change");
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)o.order_id);
    cr_expect(eq(int, (int)order_of(id_text).status, (int)BILLORD_ORDER_UNPAID));
    o = harness_call(&h, ACCOUNT_POOR, "PayOrder", "OrderId", id_text, NULL);
    expect_code(&o, "InvalidAccountStatus.NotEnoughBalance", 403, "too poor");
    /* Main cannot touch poor's order. */
    o = harness_call(&h, ACCOUNT_MAIN, "CancelOrder", "OrderId", id_text, NULL);
    expect_code(&o, "InvalidOrderId.NotFound", 404, "foreign cancel");
    o = harness_call(&h, ACCOUNT_POOR, "CancelOrder", "OrderId", id_text, NULL);
    expect_code(&o, "OK", 200, "cancel");
    billord_instance instance = harness_instance(&h, "rm-poor0001");
    cr_expect(eq(int, (int)instance.charge_type, (int)BILLORD_CHARGE_POSTPAID));
    cr_expect(eq(u32, instance.unpaid_order_count, 0));
    billord_account account = harness_account(&h, ACCOUNT_POOR);
    cr_expect(eq(i64, account.balance_micros, MICROS(10)));
    cr_expect(eq(i64, account.credit_used_micros, 0));
}

/* ---- PayOrder on a store seeded for it ------------------------------------------------ */

static const char settle_fixture[] =
    "{\"clock\": \"2026-11-22T00:00:00Z\","
    " \"prices\": ["
    "  {\"product\": \"rds\", \"instance_type\": \"rds.x\", \"week_micros\": 10000000,"
    "   \"month_micros\": 100000000, \"year_micros\": 1000000000},"
    "  {\"product\": \"ecs\", \"instance_type\": \"ecs.x\", \"week_micros\": 10000000,"
    "   \"month_micros\": 100000000, \"year_micros\": 1000000000}],"
    " \"accounts\": ["
    "  {\"id\": \"5000000000000005\", \"access_keys\": [], \"balance_micros\": 2000000000,"
    "   \"credit_limit_micros\": 0, \"credit_payment\": true, \"payment_method\": true,"
    "   \"coupons\": ["
    "    {\"id\": \"late\", \"amount_micros\": 30000000, \"expires\": \"2027-06-01T00:00:00Z\","
    "     \"products\": [\"rds\"]},"
    "    {\"id\": \"early\", \"amount_micros\": 30000000, \"expires\": \"2027-01-01T00:00:00Z\","
    "     \"products\": [\"rds\"]},"
    "    {\"id\": \"ecs-only\", \"amount_micros\": 500000000,"
    "     \"expires\": \"2027-01-01T00:00:00Z\", \"products\": [\"ecs\"]},"
    "    {\"id\": \"gone\", \"amount_micros\": 900000000, \"expires\": \"2026-11-01T00:00:00Z\","
    "     \"products\": [\"rds\", \"ecs\"]}]},"
    "  {\"id\": \"6000000000000006\", \"access_keys\": [], \"balance_micros\": 1000000000,"
    "   \"credit_limit_micros\": 0, \"credit_payment\": false, \"payment_method\": false}],"
    " \"instances\": ["
    "  {\"id\": \"rm-pay\", \"account\": \"5000000000000005\", \"product\": \"rds\","
    "   \"region\": \"cn-hangzhou\", \"instance_type\": \"rds.x\", \"charge_type\": \"PostPaid\","
    "   \"status\": \"Running\"},"
    "  {\"id\": \"rm-pre\", \"account\": \"5000000000000005\", \"product\": \"rds\","
    "   \"region\": \"cn-hangzhou\", \"instance_type\": \"rds.x\", \"charge_type\": \"PrePaid\","
    "   \"status\": \"Running\", \"expires\": \"2027-01-01T00:00:00Z\"},"
    "  {\"id\": \"i-rel\", \"account\": \"5000000000000005\", \"product\": \"ecs\","
    "   \"region\": \"cn-hangzhou\", \"instance_type\": \"ecs.x\", \"charge_type\": \"PrePaid\","
    "   \"status\": \"Released\", \"expires\": \"2026-10-01T00:00:00Z\"},"
    "  {\"id\": \"i-exp\", \"account\": \"5000000000000005\", \"product\": \"ecs\","
    "   \"region\": \"cn-hangzhou\", \"instance_type\": \"ecs.x\", \"charge_type\": \"PrePaid\","
    "   \"status\": \"Expired\", \"expires\": \"2026-11-15T16:00:00Z\"},"
    "  {\"id\": \"rm-np\", \"account\": \"6000000000000006\", \"product\": \"rds\","
    "   \"region\": \"cn-hangzhou\", \"instance_type\": \"rds.x\", \"charge_type\": \"PostPaid\","
    "   \"status\": \"Running\"}],"
    " \"orders\": ["
    "  {\"id\": 300000000000001, \"account\": \"5000000000000005\", \"instance\": \"rm-pay\","
    "   \"kind\": \"ChangePayType\", \"period\": 1, \"period_unit\": \"Year\","
    "   \"amount_micros\": 1000000000, \"status\": \"Unpaid\", \"created\": \"2026-11-21T00:00:00Z\"},"
    "  {\"id\": 300000000000002, \"account\": \"5000000000000005\", \"instance\": \"rm-pre\","
    "   \"kind\": \"ChangePayType\", \"period\": 1, \"period_unit\": \"Month\","
    "   \"amount_micros\": 100000000, \"status\": \"Unpaid\", \"created\": \"2026-11-21T00:00:00Z\"},"
    "  {\"id\": 300000000000003, \"account\": \"5000000000000005\", \"instance\": \"i-rel\","
    "   \"kind\": \"Renew\", \"period\": 1, \"period_unit\": \"Month\","
    "   \"amount_micros\": 100000000, \"status\": \"Unpaid\", \"created\": \"2026-11-21T00:00:00Z\"},"
    "  {\"id\": 300000000000004, \"account\": \"6000000000000006\", \"instance\": \"rm-np\","
    "   \"kind\": \"ChangePayType\", \"period\": 1, \"period_unit\": \"Month\","
    "   \"amount_micros\": 100000000, \"status\": \"Unpaid\", \"created\": \"2026-11-21T00:00:00Z\"},"
    "  {\"id\": 300000000000005, \"account\": \"5000000000000005\", \"instance\": \"i-exp\","
    "   \"kind\": \"Renew\", \"period\": 2, \"period_unit\": \"Month\","
    "   \"amount_micros\": 200000000, \"status\": \"Unpaid\", \"created\": \"2026-11-21T00:00:00Z\"}]}";

#define SETTLE_ACCOUNT "5000000000000005"
#define SETTLE_NOPAY "6000000000000006"

static void setup_settle(void)
{
    harness_open(&h, NULL);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err err = billord_fixture_parse(settle_fixture, strlen(settle_fixture), &fixture,
                                            error_text, sizeof error_text);
    cr_assert(eq(int, err, BILLORD_OK), "fixture: %s", error_text);
    h.now_ms = fixture.clock_ms;
    cr_assert(eq(int, billord_engine_seed(h.engine, &fixture), BILLORD_OK));
    billord_fixture_free(&fixture);
}

Test(orders, pay_change_pay_type_makes_the_instance_prepaid_from_now, .init = setup_settle,
     .fini = teardown, .timeout = 30)
{
    billord_instance before = harness_instance(&h, "rm-pay");
    cr_assert(eq(u32, before.unpaid_order_count, 1), "the fixture counts the open order");
    billord_outcome o = harness_call(&h, SETTLE_ACCOUNT, "PayOrder", "OrderId", "300000000000001",
                                     NULL);
    expect_code(&o, "OK", 200, "pay");
    billord_instance after = harness_instance(&h, "rm-pay");
    cr_expect(eq(int, (int)after.charge_type, (int)BILLORD_CHARGE_PREPAID));
    cr_expect(eq(int, (int)after.status, (int)BILLORD_STATUS_RUNNING));
    cr_expect(eq(u32, after.unpaid_order_count, 0));
    expect_time(after.expires_ms, "2027-11-22T00:00:00Z", "a year from the payment");
    billord_order order = order_of("300000000000001");
    cr_expect(eq(int, (int)order.status, (int)BILLORD_ORDER_PAID));
    /* Waterfall: RDS coupons earliest expiry first (early, then late), then the balance. */
    cr_expect(eq(i64, order.coupon_paid_micros, MICROS(60)));
    cr_expect(eq(i64, order.balance_paid_micros, MICROS(940)));
    cr_expect(eq(i64, harness_coupon_left(&h, SETTLE_ACCOUNT, "early"), 0));
    cr_expect(eq(i64, harness_coupon_left(&h, SETTLE_ACCOUNT, "late"), 0));
    cr_expect(eq(i64, harness_coupon_left(&h, SETTLE_ACCOUNT, "ecs-only"), MICROS(500)));
    cr_expect(eq(i64, harness_coupon_left(&h, SETTLE_ACCOUNT, "gone"), MICROS(900)));
    cr_expect(eq(i64, harness_account(&h, SETTLE_ACCOUNT).balance_micros, MICROS(1060)));
}

Test(orders, pay_change_pay_type_later_counts_from_the_later_payment, .init = setup_settle,
     .fini = teardown, .timeout = 30)
{
    h.now_ms += 10LL * 86400000LL;      /* 2026-12-02 */
    billord_outcome o = harness_call(&h, SETTLE_ACCOUNT, "PayOrder", "OrderId", "300000000000001",
                                     NULL);
    expect_code(&o, "OK", 200, "pay");
    expect_time(harness_instance(&h, "rm-pay").expires_ms, "2027-12-02T00:00:00Z", "from payment");
}

Test(orders, pay_renewal_of_an_expired_instance_runs_from_its_expiry, .init = setup_settle,
     .fini = teardown, .timeout = 30)
{
    billord_outcome o = harness_call(&h, SETTLE_ACCOUNT, "PayOrder", "OrderId", "300000000000005",
                                     NULL);
    expect_code(&o, "OK", 200, "pay");
    billord_instance after = harness_instance(&h, "i-exp");
    expect_time(after.expires_ms, "2027-01-15T16:00:00Z", "2 months from 2026-11-15T16:00:00Z");
    cr_expect(eq(int, (int)after.status, (int)BILLORD_STATUS_RUNNING));
    billord_order order = order_of("300000000000005");
    cr_expect(eq(i64, order.coupon_paid_micros, MICROS(200)), "the ECS coupon pays");
    cr_expect(eq(i64, order.balance_paid_micros, 0));
    cr_expect(eq(i64, harness_coupon_left(&h, SETTLE_ACCOUNT, "ecs-only"), MICROS(300)));
}

typedef struct settle_case {
    char label[48];
    char account[20];
    char order_id[24];
    char instance[16];
    char code[48];
    int status;
} settle_case;

ParameterizedTestParameters(orders, pay_refusals_from_state)
{
    static settle_case cases[] = {
        {"no payment method", SETTLE_NOPAY, "300000000000004", "rm-np",
         "InvalidPaymentMethod.Missing", 400},
        {"renewal of a released instance", SETTLE_ACCOUNT, "300000000000003", "i-rel",
         "IncorrectInstanceStatus", 403},
        {"change of an instance already PrePaid", SETTLE_ACCOUNT, "300000000000002", "rm-pre",
         "IncorrectDBInstancePayType", 403},
        {"another account's order", SETTLE_NOPAY, "300000000000001", "rm-pay",
         "InvalidOrderId.NotFound", 404},
    };
    return cr_make_param_array(settle_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(settle_case *c, orders, pay_refusals_from_state, .init = setup_settle,
                  .fini = teardown, .timeout = 30)
{
    billord_account account_before = harness_account(&h, SETTLE_ACCOUNT);
    billord_account nopay_before = harness_account(&h, SETTLE_NOPAY);
    billord_instance instance_before = harness_instance(&h, c->instance);
    int64_t orders_before = harness_order_count(&h);
    param_row rows[1] = {{"OrderId", ""}};
    snprintf(rows[0].value, sizeof rows[0].value, "%s", c->order_id);
    billord_outcome o = call_rows(c->account, "PayOrder", rows, 1);
    expect_code(&o, c->code, c->status, c->label);
    cr_expect(eq(int, (int)order_of(c->order_id).status, (int)BILLORD_ORDER_UNPAID));
    billord_instance instance_after = harness_instance(&h, c->instance);
    cr_expect(eq(int, memcmp(&instance_after, &instance_before, sizeof instance_after), 0),
              "%s: instance unchanged", c->label);
    cr_expect(eq(i64, harness_account(&h, SETTLE_ACCOUNT).balance_micros,
                 account_before.balance_micros));
    cr_expect(eq(i64, harness_account(&h, SETTLE_NOPAY).balance_micros,
                 nopay_before.balance_micros));
    cr_expect(eq(i64, harness_coupon_left(&h, SETTLE_ACCOUNT, "early"), MICROS(30)));
    cr_expect(eq(i64, harness_order_count(&h), orders_before));
}

Test(orders, cancel_needs_no_payment_method, .init = setup_settle, .fini = teardown,
     .timeout = 30)
{
    billord_outcome o = harness_call(&h, SETTLE_NOPAY, "CancelOrder", "OrderId", "300000000000004",
                                     NULL);
    expect_code(&o, "OK", 200, "cancel");
    cr_expect(eq(int, (int)order_of("300000000000004").status, (int)BILLORD_ORDER_CANCELLED));
    cr_expect(eq(u32, harness_instance(&h, "rm-np").unpaid_order_count, 0));
    cr_expect(eq(i64, harness_account(&h, SETTLE_NOPAY).balance_micros, MICROS(1000)));
}

/* ---- DescribeOrders ------------------------------------------------------------------ */

static json_t *orders_list(const json_t *fields)
{
    return json_object_get(json_object_get(fields, "Orders"), "Order");
}

typedef struct describe_case {
    char label[48];
    char account[20];
    param_row params[ROW_PARAMS_MAX];
    int64_t total;
    int64_t page_number;
    int64_t page_size;
    char ids[4][16];                /* the page, in order */
} describe_case;

ParameterizedTestParameters(describe_orders, results)
{
    static describe_case cases[] = {
        {"all of main, defaults", ACCOUNT_MAIN, {{"", ""}}, 4, 1, 10,
         {"205395023430001", "205395023430002", "205395023430003", UNPAID_ORDER}},
        {"Status Unpaid", ACCOUNT_MAIN, {{"Status", "Unpaid"}}, 1, 1, 10, {UNPAID_ORDER}},
        {"Status Paid", ACCOUNT_MAIN, {{"Status", "Paid"}}, 2, 1, 10,
         {"205395023430001", "205395023430003"}},
        {"Status Cancelled", ACCOUNT_MAIN, {{"Status", "Cancelled"}}, 1, 1, 10,
         {"205395023430002"}},
        {"InstanceId", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001"}}, 1, 1, 10,
         {"205395023430001"}},
        {"InstanceId and Status", ACCOUNT_MAIN, {{"InstanceId", "i-acc0002"}, {"Status", "Unpaid"}},
         1, 1, 10, {UNPAID_ORDER}},
        {"InstanceId and other Status", ACCOUNT_MAIN, {{"InstanceId", "i-acc0002"},
                                                        {"Status", "Paid"}},
         0, 1, 10, {""}},
        {"instance without orders", ACCOUNT_MAIN, {{"InstanceId", "i-acc0009"}}, 0, 1, 10, {""}},
        {"unknown instance", ACCOUNT_MAIN, {{"InstanceId", "i-nope"}}, 0, 1, 10, {""}},
        {"empty InstanceId means all", ACCOUNT_MAIN, {{"InstanceId", ""}}, 4, 1, 10,
         {"205395023430001", "205395023430002", "205395023430003", UNPAID_ORDER}},
        {"page 1 of 2", ACCOUNT_MAIN, {{"PageSize", "2"}}, 4, 1, 2,
         {"205395023430001", "205395023430002"}},
        {"page 2 of 2", ACCOUNT_MAIN, {{"PageSize", "2"}, {"PageNumber", "2"}}, 4, 2, 2,
         {"205395023430003", UNPAID_ORDER}},
        {"page past the end", ACCOUNT_MAIN, {{"PageSize", "2"}, {"PageNumber", "3"}}, 4, 3, 2,
         {""}},
        {"page size 1, page 4", ACCOUNT_MAIN, {{"PageSize", "1"}, {"PageNumber", "4"}}, 4, 4, 1,
         {UNPAID_ORDER}},
        {"page size 100", ACCOUNT_MAIN, {{"PageSize", "100"}}, 4, 1, 100,
         {"205395023430001", "205395023430002", "205395023430003", UNPAID_ORDER}},
        {"paged with a filter", ACCOUNT_MAIN, {{"Status", "Paid"}, {"PageSize", "1"},
                                               {"PageNumber", "2"}},
         2, 2, 1, {"205395023430003"}},
        {"another account sees none of main's", ACCOUNT_POOR, {{"", ""}}, 0, 1, 10, {""}},
        {"another account's instance filter", ACCOUNT_POOR, {{"InstanceId", "i-acc0001"}}, 0, 1,
         10, {""}},
    };
    return cr_make_param_array(describe_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(describe_case *c, describe_orders, results, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    json_t *fields = NULL;
    billord_outcome o = call_rows_fields(c->account, "DescribeOrders", c->params, ROW_PARAMS_MAX,
                                         &fields);
    expect_code(&o, "OK", 200, c->label);
    cr_assert(ne(ptr, fields, NULL));
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "TotalCount")), c->total),
              "%s: TotalCount", c->label);
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "PageNumber")), c->page_number),
              "%s: PageNumber", c->label);
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "PageSize")), c->page_size),
              "%s: PageSize", c->label);
    const json_t *list = orders_list(fields);
    cr_assert(eq(int, json_is_array(list) ? 1 : 0, 1), "%s: Orders.Order is an array", c->label);
    size_t expected_count = 0;
    while (expected_count < 4 && c->ids[expected_count][0] != '\0') {
        expected_count++;
    }
    cr_expect(eq(sz, json_array_size(list), expected_count), "%s: page length", c->label);
    for (size_t i = 0; i < expected_count && i < json_array_size(list); i++) {
        json_int_t id = json_integer_value(json_object_get(json_array_get(list, i), "OrderId"));
        cr_expect(eq(u64, (uint64_t)id, strtoull(c->ids[i], NULL, 10)), "%s: item %zu",
                  c->label, i);
    }
    json_decref(fields);
}

Test(describe_orders, an_order_has_every_field, .init = setup, .fini = teardown, .timeout = 30)
{
    json_t *fields = NULL;
    billord_outcome o = harness_query(&h, ACCOUNT_MAIN, "DescribeOrders", &fields, "InstanceId",
                                      "i-acc0001", NULL);
    expect_code(&o, "OK", 200, "describe");
    const json_t *item = json_array_get(orders_list(fields), 0);
    cr_assert(ne(ptr, (void *)item, NULL));
    EXPECT_TRUE(json_is_integer(json_object_get(item, "OrderId")));
    EXPECT_STR(json_string_value(json_object_get(item, "InstanceId")), "i-acc0001");
    EXPECT_STR(json_string_value(json_object_get(item, "OrderType")), "Renew");
    cr_expect(eq(i64, json_integer_value(json_object_get(item, "Period")), 1));
    EXPECT_STR(json_string_value(json_object_get(item, "PeriodUnit")), "Year");
    cr_expect(eq(i64, json_integer_value(json_object_get(item, "AmountMicros")), MICROS(1000)));
    EXPECT_TRUE(json_is_integer(json_object_get(item, "CouponPaidMicros")));
    EXPECT_TRUE(json_is_integer(json_object_get(item, "BalancePaidMicros")));
    EXPECT_TRUE(json_is_integer(json_object_get(item, "CreditPaidMicros")));
    EXPECT_STR(json_string_value(json_object_get(item, "Status")), "Paid");
    EXPECT_STR(json_string_value(json_object_get(item, "CreatedTime")), "2025-12-30T02:00:00Z");
    EXPECT_STR(json_string_value(json_object_get(item, "PaidTime")), "2025-12-30T02:00:01Z");
    EXPECT_TRUE(json_is_null(json_object_get(item, "CancelledTime")));
    json_decref(fields);
}

Test(describe_orders, new_orders_show_kind_period_and_split, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome renew = harness_call(&h, ACCOUNT_POOR, "RenewInstance", "InstanceId",
                                         "i-poor0001", "PeriodUnit", "Week", "Period", "2", NULL);
    expect_code(&renew, "OK", 200, "renew");
    billord_outcome change = harness_call(&h, ACCOUNT_POOR, "ModifyDBInstancePayType",
                                          "DBInstanceId", "rm-poor0001", "PayType", "Prepaid",
                                          "Period", "Year", NULL);
    expect_code(&change, "OK", 200, "unpaid change");
    json_t *fields = NULL;
    billord_outcome o = harness_query(&h, ACCOUNT_POOR, "DescribeOrders", &fields, NULL);
    expect_code(&o, "OK", 200, "describe");
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "TotalCount")), 2));
    const json_t *first = json_array_get(orders_list(fields), 0);
    const json_t *second = json_array_get(orders_list(fields), 1);
    cr_assert(ne(ptr, (void *)second, NULL));
    cr_expect(eq(u64, (uint64_t)json_integer_value(json_object_get(first, "OrderId")),
                 renew.order_id));
    EXPECT_STR(json_string_value(json_object_get(first, "OrderType")), "Renew");
    EXPECT_STR(json_string_value(json_object_get(first, "PeriodUnit")), "Week");
    cr_expect(eq(i64, json_integer_value(json_object_get(first, "Period")), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(first, "AmountMicros")), MICROS(60)));
    cr_expect(eq(i64, json_integer_value(json_object_get(first, "CouponPaidMicros")), 0));
    cr_expect(eq(i64, json_integer_value(json_object_get(first, "BalancePaidMicros")), MICROS(10)));
    cr_expect(eq(i64, json_integer_value(json_object_get(first, "CreditPaidMicros")), MICROS(50)));
    EXPECT_STR(json_string_value(json_object_get(first, "Status")), "Paid");
    EXPECT_STR(json_string_value(json_object_get(first, "PaidTime")), "2026-11-22T00:00:00Z");
    EXPECT_STR(json_string_value(json_object_get(second, "OrderType")), "ChangePayType");
    EXPECT_STR(json_string_value(json_object_get(second, "Status")), "Unpaid");
    EXPECT_TRUE(json_is_null(json_object_get(second, "PaidTime")));
    cr_expect(eq(i64, json_integer_value(json_object_get(second, "AmountMicros")), MICROS(1500)));
    json_decref(fields);
    /* Main's view is untouched. */
    o = harness_query(&h, ACCOUNT_MAIN, "DescribeOrders", &fields, NULL);
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "TotalCount")), 4));
    json_decref(fields);
}

typedef struct describe_error_case {
    char label[48];
    param_row params[ROW_PARAMS_MAX];
    char message_part[32];
} describe_error_case;

ParameterizedTestParameters(describe_orders, parameter_errors)
{
    static describe_error_case cases[] = {
        {"Status lowercase", {{"Status", "unpaid"}}, "\"Status\""},
        {"Status unknown", {{"Status", "Refunded"}}, "\"Status\""},
        {"Status empty", {{"Status", ""}}, "\"Status\""},
        {"PageSize 101", {{"PageSize", "101"}}, "\"PageSize\""},
        {"PageSize 0", {{"PageSize", "0"}}, "\"PageSize\""},
        {"PageSize 01", {{"PageSize", "01"}}, "\"PageSize\""},
        {"PageSize empty", {{"PageSize", ""}}, "\"PageSize\""},
        {"PageSize -1", {{"PageSize", "-1"}}, "\"PageSize\""},
        {"PageNumber 0", {{"PageNumber", "0"}}, "\"PageNumber\""},
        {"PageNumber 1.0", {{"PageNumber", "1.0"}}, "\"PageNumber\""},
        {"PageNumber space", {{"PageNumber", " 1"}}, "\"PageNumber\""},
        {"Status before PageNumber", {{"PageNumber", "0"}, {"Status", "x"}}, "\"Status\""},
        {"PageNumber before PageSize", {{"PageSize", "0"}, {"PageNumber", "0"}}, "\"PageNumber\""},
    };
    return cr_make_param_array(describe_error_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(describe_error_case *c, describe_orders, parameter_errors, .init = setup,
                  .fini = teardown, .timeout = 30)
{
    json_t *fields = NULL;
    billord_outcome o = call_rows_fields(ACCOUNT_MAIN, "DescribeOrders", c->params,
                                         ROW_PARAMS_MAX, &fields);
    expect_code(&o, "InvalidParameter", 400, c->label);
    cr_expect(ne(ptr, strstr(o.message, c->message_part), NULL), "%s: \"%s\"", c->label,
              o.message);
    cr_expect(eq(ptr, fields, NULL));
    json_decref(fields);
}
