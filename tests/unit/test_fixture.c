/*
 * tests/unit/test_fixture.c: the fixture file of SPEC section 1 loads exactly
 * what it says, with its defaults; every invalid input is refused with a
 * message that begins with the JSON path at fault; a refused fixture leaves
 * nothing allocated (the suite runs under AddressSanitizer's leak checker).
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

#include "support/tempdir.h"

#define DOC_BYTES_MAX 8192u

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static int64_t time_ms(const char *text)
{
    int64_t unix_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339(text, &unix_ms), BILLORD_OK), "%s", text);
    return unix_ms;
}

static billord_err parse_text(const char *text, billord_fixture *fixture, char *error_text)
{
    return billord_fixture_parse(text, strlen(text), fixture, error_text,
                                 BILLORD_FIXTURE_ERROR_BYTES);
}

static void load_demo(billord_fixture *fixture)
{
    char path[TEMPDIR_PATH_BYTES];
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    tempdir_source_path(path, "fixtures/demo.json");
    const billord_err err = billord_fixture_parse_file(path, fixture, error_text,
                                                       sizeof(error_text));
    cr_assert(eq(int, err, BILLORD_OK), "%s", error_text);
}

static const billord_instance *find_instance(const billord_fixture *fixture, const char *id)
{
    for (size_t index = 0; index < fixture->instance_count; index++) {
        if (strcmp(fixture->instances[index].id, id) == 0) {
            return &fixture->instances[index];
        }
    }
    cr_fatal("no instance %s", id);
    return NULL;
}

static const billord_account *find_account(const billord_fixture *fixture, const char *id)
{
    for (size_t index = 0; index < fixture->account_count; index++) {
        if (strcmp(fixture->accounts[index].id, id) == 0) {
            return &fixture->accounts[index];
        }
    }
    cr_fatal("no account %s", id);
    return NULL;
}

/* Criterion's eq(str) wants non-const strings; the records under test are const. */
#define EXPECT_STR(actual, expected)                                                      \
    cr_expect(eq(int, strcmp((actual), (expected)), 0), "%s is \"%s\", expected \"%s\"", \
              #actual, (actual), (expected))

static void assert_zeroed(const billord_fixture *fixture)
{
    const billord_fixture zero = {0};
    cr_assert(eq(int, memcmp(fixture, &zero, sizeof(zero)), 0), "a failed parse zeroes the fixture");
}

/* ------------------------------------------------------------------------ */
/* The demo fixture                                                          */

Test(fixture, demo_parses_with_expected_counts)
{
    billord_fixture fixture;
    load_demo(&fixture);
    cr_expect(fixture.has_clock);
    cr_expect(eq(i64, fixture.clock_ms, time_ms("2026-11-22T00:00:00Z")));
    cr_expect(eq(sz, fixture.price_count, 5));
    cr_expect(eq(sz, fixture.account_count, 4));
    cr_expect(eq(sz, fixture.coupon_count, 3));
    cr_expect(eq(sz, fixture.instance_count, 22));
    cr_expect(eq(sz, fixture.order_count, 4));
    billord_fixture_free(&fixture);
}

Test(fixture, demo_has_every_product_and_a_phased_out_class)
{
    billord_fixture fixture;
    load_demo(&fixture);
    unsigned product_mask = 0;
    size_t phased_out_count = 0;
    for (size_t index = 0; index < fixture.price_count; index++) {
        product_mask |= BILLORD_PRODUCT_BIT(fixture.prices[index].product);
        phased_out_count += fixture.prices[index].phased_out;
    }
    cr_expect(eq(u32, product_mask, BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_ECS) |
                                        BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_RDS) |
                                        BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_HSS)));
    cr_expect(eq(sz, phased_out_count, 1));
    billord_fixture_free(&fixture);
}

Test(fixture, demo_account_is_seeded_as_written)
{
    billord_fixture fixture;
    load_demo(&fixture);
    const billord_account *account = find_account(&fixture, "1234567890123456");
    cr_expect(eq(u32, account->access_key_count, 1));
    EXPECT_STR(account->access_keys[0].id, "LTAI5tDemoKey0001");
    EXPECT_STR(account->access_keys[0].secret, "demo-secret-0001");
    cr_expect(eq(i64, account->balance_initial_micros, account->balance_micros));
    cr_expect(eq(i64, account->credit_used_micros, 0));
    cr_expect(account->credit_payment);
    cr_expect(account->payment_method);
    cr_expect(not(find_account(&fixture, "2000000000000002")->payment_method));
    const billord_account *poor = find_account(&fixture, "3000000000000003");
    cr_expect(poor->credit_payment);
    cr_expect(poor->credit_limit_micros > 0);
    cr_expect(eq(u32, poor->access_key_count, 2));
    billord_fixture_free(&fixture);
}

Test(fixture, coupons_are_flattened_with_their_account_and_product_mask)
{
    billord_fixture fixture;
    load_demo(&fixture);
    const billord_coupon *coupon = &fixture.coupons[0];
    EXPECT_STR(coupon->account, "1234567890123456");
    EXPECT_STR(coupon->id, "cp-1");
    cr_expect(eq(i64, coupon->amount_micros, 20000000));
    cr_expect(eq(i64, coupon->amount_initial_micros, 20000000));
    cr_expect(eq(i64, coupon->expires_ms, time_ms("2027-01-01T00:00:00Z")));
    cr_expect(eq(u32, coupon->product_mask, BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_ECS)));
    cr_expect(eq(u32, fixture.coupons[1].product_mask,
                 BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_RDS) |
                     BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_HSS)));
    billord_fixture_free(&fixture);
}

Test(fixture, unpaid_orders_are_counted_on_their_instance)
{
    billord_fixture fixture;
    load_demo(&fixture);
    cr_expect(eq(u32, find_instance(&fixture, "i-acc0002")->unpaid_order_count, 1));
    cr_expect(eq(u32, find_instance(&fixture, "i-acc0001")->unpaid_order_count, 0),
              "a Paid order is not open");
    cr_expect(eq(u32, find_instance(&fixture, "i-acc0005")->unpaid_order_count, 0),
              "a Cancelled order is not open");
    billord_fixture_free(&fixture);
}

Test(fixture, instance_defaults_apply_when_keys_are_absent)
{
    billord_fixture fixture;
    load_demo(&fixture);
    const billord_instance *plain = find_instance(&fixture, "i-acc0002");
    cr_expect(eq(int, plain->renewal_status, BILLORD_RENEWAL_NORMAL));
    cr_expect(eq(u32, plain->auto_renew_duration, 1));
    cr_expect(eq(int, plain->auto_renew_period_unit, BILLORD_PERIOD_MONTH));
    cr_expect(not(plain->locked_for_security));
    cr_expect(not(plain->has_dedicated_host));
    const billord_instance *not_renewing = find_instance(&fixture, "i-acc0009");
    cr_expect(eq(int, not_renewing->renewal_status, BILLORD_RENEWAL_NOT));
    cr_expect(eq(u32, not_renewing->auto_renew_duration, 1), "keys inside auto_renew default too");
    billord_fixture_free(&fixture);
}

Test(fixture, instance_fields_are_seeded_as_written)
{
    billord_fixture fixture;
    load_demo(&fixture);
    const billord_instance *postpaid = find_instance(&fixture, "i-acc0004");
    cr_expect(eq(int, postpaid->charge_type, BILLORD_CHARGE_POSTPAID));
    cr_expect(eq(i64, postpaid->expires_ms, 0), "null expires is 0");
    const billord_instance *dedicated = find_instance(&fixture, "i-acc0005");
    cr_expect(dedicated->has_dedicated_host);
    cr_expect(eq(i64, dedicated->dedicated_host_expires_ms, time_ms("2027-03-01T00:00:00Z")));
    cr_expect(find_instance(&fixture, "i-acc0003")->locked_for_security);
    cr_expect(eq(int, find_instance(&fixture, "i-acc0006")->status, BILLORD_STATUS_RELEASED));
    const billord_instance *rds = find_instance(&fixture, "rm-acc0002");
    cr_expect(eq(int, rds->product, BILLORD_PRODUCT_RDS));
    cr_expect(eq(int, rds->renewal_status, BILLORD_RENEWAL_AUTO));
    cr_expect(eq(int, rds->auto_renew_period_unit, BILLORD_PERIOD_YEAR));
    EXPECT_STR(rds->region, "cn-hangzhou");
    EXPECT_STR(rds->instance_type, "rds.mysql.s2.large");
    cr_expect(eq(int, find_instance(&fixture, "sas-acc0001")->status, BILLORD_STATUS_EXPIRED));
    billord_fixture_free(&fixture);
}

Test(fixture, orders_are_seeded_with_defaults_and_times)
{
    billord_fixture fixture;
    load_demo(&fixture);
    const billord_order *unpaid = &fixture.orders[0];
    cr_expect(eq(u64, unpaid->id, 205395023430728ULL));
    EXPECT_STR(unpaid->account, "1234567890123456");
    EXPECT_STR(unpaid->instance, "i-acc0002");
    cr_expect(eq(int, unpaid->kind, BILLORD_ORDER_RENEW));
    cr_expect(eq(int, unpaid->status, BILLORD_ORDER_UNPAID));
    cr_expect(eq(u32, unpaid->period_count, 1));
    cr_expect(eq(int, unpaid->period_unit, BILLORD_PERIOD_MONTH));
    cr_expect(eq(i64, unpaid->created_ms, time_ms("2026-11-20T00:00:00Z")));
    cr_expect(eq(i64, unpaid->paid_ms, 0));
    cr_expect(eq(i64, unpaid->cancelled_ms, 0));
    EXPECT_STR(unpaid->client_token, "");
    EXPECT_STR(unpaid->request_id, "");
    const billord_order *cancelled = &fixture.orders[2];
    cr_expect(eq(int, cancelled->status, BILLORD_ORDER_CANCELLED));
    cr_expect(eq(u32, cancelled->period_count, 2));
    cr_expect(eq(int, cancelled->period_unit, BILLORD_PERIOD_WEEK));
    cr_expect(eq(i64, cancelled->cancelled_ms, time_ms("2026-11-02T00:00:00Z")));
    cr_expect(eq(int, fixture.orders[3].kind, BILLORD_ORDER_CHANGE_PAY_TYPE));
    billord_fixture_free(&fixture);
}

/* ------------------------------------------------------------------------ */
/* Small valid documents                                                     */

Test(fixture, empty_object_is_an_empty_fixture)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text("{}", &fixture, error_text), BILLORD_OK), "%s", error_text);
    cr_expect(not(fixture.has_clock));
    cr_expect(eq(sz, fixture.price_count + fixture.account_count + fixture.coupon_count +
                         fixture.instance_count + fixture.order_count, 0));
    billord_fixture_free(&fixture);
}

Test(fixture, null_clock_means_no_clock)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text("{\"clock\": null, \"prices\": []}", &fixture, error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(not(fixture.has_clock));
    billord_fixture_free(&fixture);
}

Test(fixture, text_need_not_be_nul_terminated)
{
    const char text[] = {'{', '}', 'x', 'y', 'z'};
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, billord_fixture_parse(text, 2, &fixture, error_text, sizeof(error_text)),
                 BILLORD_OK), "%s", error_text);
    billord_fixture_free(&fixture);
}

Test(fixture, minimal_test_fixture_file_parses)
{
    char path[TEMPDIR_PATH_BYTES];
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    billord_fixture fixture;
    tempdir_source_path(path, "tests/fixtures/minimal.json");
    cr_assert(eq(int, billord_fixture_parse_file(path, &fixture, error_text, sizeof(error_text)),
                 BILLORD_OK), "%s", error_text);
    cr_expect(eq(sz, fixture.instance_count, 1));
    cr_expect(eq(int, fixture.instances[0].status, BILLORD_STATUS_STOPPED));
    cr_expect(eq(i64, fixture.prices[0].month_micros, 0), "a free class is allowed");
    cr_expect(eq(u32, fixture.accounts[0].access_key_count, 0));
    billord_fixture_free(&fixture);
}

#define X8 "xxxxxxxx"
#define X64 X8 X8 X8 X8 X8 X8 X8 X8
#define ACCOUNT_PREFIX "{\"id\": \"a1\", \"balance_micros\": 1, \"credit_limit_micros\": 0, " \
                       "\"credit_payment\": false, \"payment_method\": true, \"access_keys\": "
#define ACCESS_KEY(n) "{\"id\": \"k" #n "\", \"secret\": \"s\"}"

Test(fixture, values_at_their_limits_are_accepted)
{
    static const char text[] =
        "{\"prices\": [{\"product\": \"ecs\", \"instance_type\": \"" X64 "\", "
        "\"week_micros\": 9223372036854775807, \"month_micros\": 0, \"year_micros\": 0}],"
        " \"accounts\": [" ACCOUNT_PREFIX "[" ACCESS_KEY(1) "," ACCESS_KEY(2) "," ACCESS_KEY(3)
        "," ACCESS_KEY(4) "," ACCESS_KEY(5) "," ACCESS_KEY(6) "," ACCESS_KEY(7) ","
        ACCESS_KEY(8) "]}],"
        " \"instances\": [{\"id\": \"" X64 "\", \"account\": \"a1\", \"product\": \"ecs\","
        " \"region\": \"" X64 "\", \"instance_type\": \"" X64 "\", \"charge_type\": \"PrePaid\","
        " \"status\": \"Running\", \"expires\": \"9999-12-31T23:59:59.999Z\"}],"
        " \"orders\": [{\"id\": 9007199254740991, \"account\": \"a1\", \"instance\": \"" X64 "\","
        " \"kind\": \"Renew\", \"amount_micros\": 0, \"status\": \"Paid\","
        " \"created\": \"2026-11-20T00:00:00Z\", \"period\": 4294967295}]}";
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text(text, &fixture, error_text), BILLORD_OK), "%s", error_text);
    cr_expect(eq(u32, fixture.accounts[0].access_key_count, BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX));
    cr_expect(eq(sz, strlen(fixture.instances[0].id), BILLORD_INSTANCE_ID_BYTES_MAX));
    cr_expect(eq(u64, fixture.orders[0].id, BILLORD_ORDER_ID_LIMIT - 1));
    cr_expect(eq(u32, fixture.orders[0].period_count, UINT32_MAX));
    cr_expect(eq(i64, fixture.orders[0].paid_ms, fixture.orders[0].created_ms),
              "a Paid order without \"paid\" was paid when created");
    billord_fixture_free(&fixture);
}

/* ------------------------------------------------------------------------ */
/* Invalid documents: each error begins with its JSON path                   */

#define PRICES_OK                                                                   \
    "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1, "       \
    "\"month_micros\": 2, \"year_micros\": 3}]"
#define COUPON_OK                                                                   \
    "{\"id\": \"c1\", \"amount_micros\": 5, \"expires\": \"2027-01-01T00:00:00Z\", " \
    "\"products\": [\"ecs\"]}"
#define ACCOUNT_OK(id, key)                                                          \
    "{\"id\": \"" id "\", \"access_keys\": [{\"id\": \"" key "\", \"secret\": \"s\"}], " \
    "\"balance_micros\": 100, \"credit_limit_micros\": 0, \"credit_payment\": false, "   \
    "\"payment_method\": true, \"coupons\": [" COUPON_OK "]}"
#define ACCOUNTS_OK "[" ACCOUNT_OK("a1", "k1") "]"
#define INSTANCE_OK(id, account)                                                     \
    "{\"id\": \"" id "\", \"account\": \"" account "\", \"product\": \"ecs\", "      \
    "\"region\": \"r\", \"instance_type\": \"t1\", \"charge_type\": \"PrePaid\", "   \
    "\"status\": \"Running\", \"expires\": \"2027-01-01T00:00:00Z\""
#define INSTANCES_OK "[" INSTANCE_OK("i1", "a1") "}]"
#define ORDER_OK(id)                                                                 \
    "{\"id\": " id ", \"account\": \"a1\", \"instance\": \"i1\", \"kind\": \"Renew\", " \
    "\"amount_micros\": 2, \"status\": \"Unpaid\", \"created\": \"2026-11-20T00:00:00Z\""
#define ORDERS_OK "[" ORDER_OK("1") "}]"

/* NULL sections take the valid default; raw, when set, is the whole document. */
typedef struct bad_case {
    const char *clock;
    const char *prices;
    const char *accounts;
    const char *instances;
    const char *orders;
    const char *raw;
    const char *error_prefix;
} bad_case;

static const bad_case bad_cases[] = {
    /* document */
    {.raw = "[]", .error_prefix = "$: must be an object"},
    {.raw = "{\"colour\": 1}", .error_prefix = "$.colour: unknown key"},
    {.raw = "{\"prices\": [], \"prices\": []}", .error_prefix = "$: JSON syntax error at line 1"},
    {.raw = "{\"accounts\": [{\"balance_micros\": 99999999999999999999}]}",
     .error_prefix = "$: JSON syntax error at line 1"},
    {.clock = "\"2026-11-22\"", .error_prefix = "$.clock: not an RFC 3339 time"},
    {.clock = "1795305600000", .error_prefix = "$.clock: not an RFC 3339 time"},
    /* prices */
    {.prices = "{}", .error_prefix = "$.prices: must be an array"},
    {.prices = "[7]", .error_prefix = "$.prices[0]: must be an object"},
    {.prices = "[{\"product\": \"vpc\", \"instance_type\": \"t1\", \"week_micros\": 1, "
               "\"month_micros\": 2, \"year_micros\": 3}]",
     .error_prefix = "$.prices[0].product: unknown product \"vpc\""},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1, "
               "\"month_micros\": -2, \"year_micros\": 3}]",
     .error_prefix = "$.prices[0].month_micros: must be a non-negative integer"},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1.5, "
               "\"month_micros\": 2, \"year_micros\": 3}]",
     .error_prefix = "$.prices[0].week_micros: must be a non-negative integer"},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1, "
               "\"month_micros\": 2}]",
     .error_prefix = "$.prices[0].year_micros: missing required key"},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1, "
               "\"month_micros\": 2, \"year_micros\": 3, \"phased_out\": \"no\"}]",
     .error_prefix = "$.prices[0].phased_out: must be a boolean"},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"" X64 "x\", \"week_micros\": 1, "
               "\"month_micros\": 2, \"year_micros\": 3}]",
     .error_prefix = "$.prices[0].instance_type: must be 1 to 64 bytes"},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1, "
               "\"month_micros\": 2, \"year_micros\": 3, \"currency\": \"CNY\"}]",
     .error_prefix = "$.prices[0].currency: unknown key"},
    {.prices = "[{\"product\": \"ecs\", \"instance_type\": \"t1\", \"week_micros\": 1, "
               "\"month_micros\": 2, \"year_micros\": 3}, {\"product\": \"ecs\", "
               "\"instance_type\": \"t1\", \"week_micros\": 1, \"month_micros\": 2, "
               "\"year_micros\": 3}]",
     .error_prefix = "$.prices[1].instance_type: duplicate price"},
    /* accounts */
    {.accounts = "[{\"access_keys\": []}]", .error_prefix = "$.accounts[0].id: missing required key"},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"nickname\": \"x\"}]",
     .error_prefix = "$.accounts[0].nickname: unknown key"},
    {.accounts = "[{\"id\": \"a1\", \"access_keys\": [], \"balance_micros\": -1}]",
     .error_prefix = "$.accounts[0].balance_micros: must be a non-negative integer"},
    {.accounts = "[{\"id\": 12, \"access_keys\": []}]",
     .error_prefix = "$.accounts[0].id: must be a string"},
    {.accounts = "[{\"id\": \"" X64 "x\"}]", .error_prefix = "$.accounts[0].id: must be 1 to 64 bytes"},
    {.accounts = "[{\"id\": \"\"}]", .error_prefix = "$.accounts[0].id: must be 1 to 64 bytes"},
    {.accounts = "[{\"id\": \"a\\u0000b\"}]", .error_prefix = "$: JSON syntax error"},
    {.accounts = "[" ACCOUNT_OK("a1", "k1") ", " ACCOUNT_OK("a1", "k2") "]",
     .error_prefix = "$.accounts[1].id: duplicate account id \"a1\""},
    {.accounts = "[" ACCOUNT_OK("a1", "k1") ", " ACCOUNT_OK("a2", "k1") "]",
     .error_prefix = "$.accounts[1].access_keys[0].id: duplicate access key id \"k1\""},
    {.accounts = "[" ACCOUNT_PREFIX "[" ACCESS_KEY(1) "," ACCESS_KEY(2) "," ACCESS_KEY(3) ","
                 ACCESS_KEY(4) "," ACCESS_KEY(5) "," ACCESS_KEY(6) "," ACCESS_KEY(7) ","
                 ACCESS_KEY(8) "," ACCESS_KEY(9) "]}]",
     .error_prefix = "$.accounts[0].access_keys: at most 8 access keys"},
    {.accounts = "[" ACCOUNT_PREFIX "[{\"id\": \"k1\", \"secret\": \"" X64 X64 "x\"}]}]",
     .error_prefix = "$.accounts[0].access_keys[0].secret: must be 1 to 128 bytes"},
    {.accounts = "[" ACCOUNT_PREFIX "[{\"id\": \"k1\"}]}]",
     .error_prefix = "$.accounts[0].access_keys[0].secret: missing required key"},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"credit_payment\": \"yes\"}]",
     .error_prefix = "$: JSON syntax error"},   /* a repeated key is a jansson error */
    {.accounts = "[{\"id\": \"a1\", \"access_keys\": [], \"balance_micros\": 1, "
                 "\"credit_limit_micros\": 0, \"credit_payment\": 1}]",
     .error_prefix = "$.accounts[0].credit_payment: must be a boolean"},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": [" COUPON_OK ", {\"id\": \"c2\", "
                 "\"amount_micros\": 5, \"expires\": \"2027-02-30T00:00:00Z\", "
                 "\"products\": [\"ecs\"]}]}]",
     .error_prefix = "$.accounts[0].coupons[1].expires: not an RFC 3339 time"},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": [" COUPON_OK ", " COUPON_OK "]}]",
     .error_prefix = "$.accounts[0].coupons[1].id: duplicate coupon id \"c1\""},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": [{\"id\": \"c1\", \"amount_micros\": 5, "
                 "\"expires\": \"2027-01-01T00:00:00Z\", \"products\": [\"ecs\", \"ECS\"]}]}]",
     .error_prefix = "$.accounts[0].coupons[0].products[1]: unknown product \"ECS\""},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": [{\"id\": \"c1\", \"amount_micros\": 5, "
                 "\"expires\": \"2027-01-01T00:00:00Z\", \"products\": []}]}]",
     .error_prefix = "$.accounts[0].coupons[0].products: must name at least one product"},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": [{\"id\": \"c1\", \"amount_micros\": -5, "
                 "\"expires\": \"2027-01-01T00:00:00Z\", \"products\": [\"ecs\"]}]}]",
     .error_prefix = "$.accounts[0].coupons[0].amount_micros: must be a non-negative integer"},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": {}}]",
     .error_prefix = "$.accounts[0].coupons: must be an array"},
    {.accounts = "[{\"id\": \"a1\", \"access_keys\": [], \"balance_micros\": 9223372036854775807,"
                 " \"credit_limit_micros\": 1}]",
     .error_prefix = "$.accounts[0].credit_limit_micros: "},
    {.accounts = "[" ACCOUNT_PREFIX "[], \"coupons\": [{\"id\": \"c1\", "
                 "\"amount_micros\": 9223372036854775807, \"expires\": \"2027-01-01T00:00:00Z\", "
                 "\"products\": [\"ecs\"]}]}]",
     .error_prefix = "$.accounts[0].coupons[0].amount_micros: "},
    {.accounts = "[{\"id\": \"a1\", \"access_keys\": [], \"balance_micros\": 9223372036854775807,"
                 " \"credit_limit_micros\": 0, \"credit_payment\": false, \"payment_method\": true},"
                 " {\"id\": \"a2\", \"access_keys\": [], \"balance_micros\": 1}]",
     .error_prefix = "$.accounts[1].balance_micros: the fixture's money sum overflows int64"},
    /* instances */
    {.instances = "[" INSTANCE_OK("i1", "a9") "}]", .error_prefix = "$.instances[0].account: no account \"a9\""},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"rds\", \"region\": \"r\", "
                  "\"instance_type\": \"t1\"}]",
     .error_prefix = "$.instances[0].instance_type: no price for product rds"},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", \"region\": \"r\", "
                  "\"instance_type\": \"t2\"}]",
     .error_prefix = "$.instances[0].instance_type: no price for product ecs"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"color\": 1}]",
     .error_prefix = "$.instances[0].color: unknown key"},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", \"region\": \"r\", "
                  "\"instance_type\": \"t1\", \"charge_type\": \"prepaid\"}]",
     .error_prefix = "$.instances[0].charge_type: unknown charge type \"prepaid\""},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", \"region\": \"r\", "
                  "\"instance_type\": \"t1\", \"charge_type\": \"PrePaid\", \"status\": \"Paused\"}]",
     .error_prefix = "$.instances[0].status: unknown instance status \"Paused\""},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", \"region\": \"r\", "
                  "\"instance_type\": \"t1\", \"charge_type\": \"PrePaid\", \"status\": \"Running\"}]",
     .error_prefix = "$.instances[0].expires: missing required key"},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", \"region\": \"r\", "
                  "\"instance_type\": \"t1\", \"charge_type\": \"PrePaid\", \"status\": \"Running\", "
                  "\"expires\": null}]",
     .error_prefix = "$.instances[0].expires: not an RFC 3339 time"},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", \"region\": \"r\", "
                  "\"instance_type\": \"t1\", \"charge_type\": \"PostPaid\", \"status\": \"Running\", "
                  "\"expires\": \"2026-02-30T00:00:00Z\"}]",
     .error_prefix = "$.instances[0].expires: not an RFC 3339 time"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"dedicated_host_expires\": \"2026-1-1\"}]",
     .error_prefix = "$.instances[0].dedicated_host_expires: not an RFC 3339 time"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"locked_for_security\": \"true\"}]",
     .error_prefix = "$.instances[0].locked_for_security: must be a boolean"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": true}]",
     .error_prefix = "$.instances[0].auto_renew: must be an object"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": {\"days_before\": 2}}]",
     .error_prefix = "$.instances[0].auto_renew.days_before: is only for hss instances"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": {\"enabled\": true}}]",
     .error_prefix = "$.instances[0].auto_renew.enabled: unknown key"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": {\"duration\": 4}}]",
     .error_prefix = "$.instances[0].auto_renew.duration: must be 1, 2, 3, 6 or 12 for Month"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": {\"duration\": 6, "
                  "\"period_unit\": \"Year\"}}]",
     .error_prefix = "$.instances[0].auto_renew.duration: must be 1, 2 or 3 for Year"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": {\"period_unit\": \"Week\"}}]",
     .error_prefix = "$.instances[0].auto_renew.period_unit: must be Month or Year"},
    {.instances = "[" INSTANCE_OK("i1", "a1") ", \"auto_renew\": {\"renewal_status\": \"On\"}}]",
     .error_prefix = "$.instances[0].auto_renew.renewal_status: unknown renewal status \"On\""},
    {.instances = "[" INSTANCE_OK("i1", "a1") "}, " INSTANCE_OK("i1", "a1") "}]",
     .error_prefix = "$.instances[1].id: duplicate instance id \"i1\""},
    {.instances = "[{\"id\": \"i1\", \"account\": \"a1\", \"product\": \"ecs\", "
                  "\"region\": \"" X64 "x\"}]",
     .error_prefix = "$.instances[0].region: must be 1 to 64 bytes"},
    /* orders */
    {.orders = "[" ORDER_OK("0") "}]", .error_prefix = "$.orders[0].id: must be an integer from 1"},
    {.orders = "[" ORDER_OK("9007199254740992") "}]",
     .error_prefix = "$.orders[0].id: must be an integer from 1 to 9007199254740991"},
    {.orders = "[" ORDER_OK("\"7\"") "}]", .error_prefix = "$.orders[0].id: must be an integer"},
    {.orders = "[" ORDER_OK("1") "}, " ORDER_OK("1") "}]",
     .error_prefix = "$.orders[1].id: duplicate order id 1"},
    {.orders = "[{\"id\": 1, \"account\": \"a9\", \"instance\": \"i1\", \"kind\": \"Renew\", "
               "\"amount_micros\": 2, \"status\": \"Unpaid\", \"created\": \"2026-11-20T00:00:00Z\"}]",
     .error_prefix = "$.orders[0].account: no account \"a9\""},
    {.orders = "[{\"id\": 1, \"account\": \"a1\", \"instance\": \"i9\", \"kind\": \"Renew\", "
               "\"amount_micros\": 2, \"status\": \"Unpaid\", \"created\": \"2026-11-20T00:00:00Z\"}]",
     .error_prefix = "$.orders[0].instance: no instance \"i9\""},
    {.orders = "[{\"id\": 1, \"account\": \"a1\", \"instance\": \"i1\", \"kind\": \"Buy\"}]",
     .error_prefix = "$.orders[0].kind: unknown order kind \"Buy\""},
    {.orders = "[{\"id\": 1, \"account\": \"a1\", \"instance\": \"i1\", \"kind\": \"Renew\", "
               "\"amount_micros\": -2}]",
     .error_prefix = "$.orders[0].amount_micros: must be a non-negative integer"},
    {.orders = "[{\"id\": 1, \"account\": \"a1\", \"instance\": \"i1\", \"kind\": \"Renew\", "
               "\"amount_micros\": 2, \"status\": \"Open\"}]",
     .error_prefix = "$.orders[0].status: unknown order status \"Open\""},
    {.orders = "[" ORDER_OK("1") ", \"created\": \"yesterday\"}]",
     .error_prefix = "$: JSON syntax error"},   /* created twice */
    {.orders = "[{\"id\": 1, \"account\": \"a1\", \"instance\": \"i1\", \"kind\": \"Renew\", "
               "\"amount_micros\": 2, \"status\": \"Unpaid\", \"created\": \"yesterday\"}]",
     .error_prefix = "$.orders[0].created: not an RFC 3339 time"},
    {.orders = "[" ORDER_OK("1") ", \"period\": 0}]",
     .error_prefix = "$.orders[0].period: must be an integer from 1"},
    {.orders = "[" ORDER_OK("1") ", \"period_unit\": \"Day\"}]",
     .error_prefix = "$.orders[0].period_unit: unknown period unit \"Day\""},
    {.orders = "[" ORDER_OK("1") ", \"paid\": \"2026-11-21T00:00:00Z\"}]",
     .error_prefix = "$.orders[0].paid: does not match the order's status"},
    {.orders = "[{\"id\": 1, \"account\": \"a1\", \"instance\": \"i1\", \"kind\": \"Renew\", "
               "\"amount_micros\": 2, \"status\": \"Paid\", \"created\": \"2026-11-20T00:00:00Z\", "
               "\"paid\": \"2026-11-19T00:00:00Z\"}]",
     .error_prefix = "$.orders[0].paid: must not be before created"},
    {.orders = "[" ORDER_OK("1") ", \"refund\": 1}]", .error_prefix = "$.orders[0].refund: unknown key"},
};

#define BAD_CASE_COUNT (sizeof(bad_cases) / sizeof(bad_cases[0]))

/* Only the index crosses into the test process: Criterion copies parameters by value. */
typedef struct bad_case_index {
    size_t index;
} bad_case_index;

/* A static buffer: a failed assertion then leaks nothing for the leak checker to report. */
static char *build_document(const bad_case *row)
{
    static char text[DOC_BYTES_MAX];
    if (row->raw != NULL) {
        snprintf(text, DOC_BYTES_MAX, "%s", row->raw);
        return text;
    }
    const int length = snprintf(
        text, DOC_BYTES_MAX,
        "{\"clock\": %s, \"prices\": %s, \"accounts\": %s, \"instances\": %s, \"orders\": %s}",
        row->clock ? row->clock : "\"2026-11-22T00:00:00Z\"",
        row->prices ? row->prices : PRICES_OK, row->accounts ? row->accounts : ACCOUNTS_OK,
        row->instances ? row->instances : INSTANCES_OK, row->orders ? row->orders : ORDERS_OK);
    cr_assert(lt(int, length, (int)DOC_BYTES_MAX));
    return text;
}

ParameterizedTestParameters(fixture, invalid_input_names_its_json_path)
{
    static bad_case_index indexes[BAD_CASE_COUNT];
    for (size_t index = 0; index < BAD_CASE_COUNT; index++) {
        indexes[index].index = index;
    }
    return cr_make_param_array(bad_case_index, indexes, BAD_CASE_COUNT);
}

ParameterizedTest(bad_case_index *param, fixture, invalid_input_names_its_json_path)
{
    const bad_case *row = &bad_cases[param->index];
    char *text = build_document(row);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    const billord_err err = parse_text(text, &fixture, error_text);
    cr_assert(eq(int, err, BILLORD_E_FIXTURE), "case %zu accepted: %s", param->index, text);
    cr_assert(eq(int, strncmp(error_text, row->error_prefix, strlen(row->error_prefix)), 0),
              "case %zu\n  got      %s\n  expected %s...", param->index, error_text,
              row->error_prefix);
    cr_assert(eq(ptr, strchr(error_text, '\n'), NULL), "one line");
    assert_zeroed(&fixture);
    billord_fixture_free(&fixture);
}

/* The valid defaults of the table above must themselves be valid, or every case proves nothing. */
Test(fixture, bad_case_defaults_are_valid)
{
    const bad_case defaults = {0};
    char *text = build_document(&defaults);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text(text, &fixture, error_text), BILLORD_OK), "%s", error_text);
    cr_expect(eq(sz, fixture.order_count, 1));
    cr_expect(eq(u32, fixture.instances[0].unpaid_order_count, 1));
    billord_fixture_free(&fixture);
}

/* ------------------------------------------------------------------------ */
/* Error reporting                                                           */

Test(fixture, syntax_error_names_line_and_column)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    const char *text = "{\n  \"prices\": [\n    {\"product\": \"ecs\",}\n  ]\n}\n";
    cr_assert(eq(int, parse_text(text, &fixture, error_text), BILLORD_E_FIXTURE));
    cr_assert(not(eq(ptr, strstr(error_text, "line 3, column"), NULL)), "%s", error_text);
    assert_zeroed(&fixture);
}

Test(fixture, empty_text_is_a_syntax_error)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, billord_fixture_parse("", 0, &fixture, error_text, sizeof(error_text)),
                 BILLORD_E_FIXTURE));
    cr_assert(not(eq(ptr, strstr(error_text, "JSON syntax error"), NULL)), "%s", error_text);
}

Test(fixture, spec_example_is_refused_for_its_dangling_order)
{
    /* SPEC section 1's example seeds an order on i-acc0002 without the instance itself. */
    static const char text[] =
        "{\"clock\": \"2026-11-22T00:00:00Z\", \"prices\": " PRICES_OK ", "
        "\"accounts\": " ACCOUNTS_OK ", \"instances\": " INSTANCES_OK ", "
        "\"orders\": [{\"id\": 205395023430728, \"account\": \"a1\", \"instance\": \"i-acc0002\","
        " \"kind\": \"Renew\", \"amount_micros\": 100000000, \"status\": \"Unpaid\","
        " \"created\": \"2026-11-20T00:00:00Z\"}]}";
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text(text, &fixture, error_text), BILLORD_E_FIXTURE));
    cr_assert(eq(str, error_text, "$.orders[0].instance: no instance \"i-acc0002\""));
}

Test(fixture, control_characters_in_keys_keep_the_message_one_line)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text("{\"bad\\nkey\": 1}", &fixture, error_text), BILLORD_E_FIXTURE));
    cr_assert(eq(str, error_text, "$.bad?key: unknown key"));
}

Test(fixture, small_error_buffer_is_truncated_not_overrun)
{
    billord_fixture fixture;
    char error_text[8];
    memset(error_text, 'Z', sizeof(error_text));
    cr_assert(eq(int, billord_fixture_parse("{\"colour\": 1}", 13, &fixture, error_text,
                                            sizeof(error_text)), BILLORD_E_FIXTURE));
    cr_assert(eq(str, error_text, "$.colou"));
}

Test(fixture, oversize_text_is_refused_before_reading)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    /* The parser must reject by length alone: it never touches the bytes. */
    cr_assert(eq(int, billord_fixture_parse("{}", (size_t)BILLORD_FIXTURE_BYTES_MAX + 1,
                                            &fixture, error_text, sizeof(error_text)),
                 BILLORD_E_FIXTURE));
    cr_assert(not(eq(ptr, strstr(error_text, "larger than"), NULL)), "%s", error_text);
    assert_zeroed(&fixture);
}

Test(fixture, very_long_key_keeps_a_bounded_path)
{
    char text[2048];
    char key[1500];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    snprintf(text, sizeof(text), "{\"%s\": 1}", key);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, parse_text(text, &fixture, error_text), BILLORD_E_FIXTURE));
    cr_assert(eq(int, strncmp(error_text, "$.kkkk", 6), 0), "%s", error_text);
    cr_assert(not(eq(ptr, strstr(error_text, ": unknown key"), NULL)), "%s", error_text);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* The caller prints "<file>: <error>", so the error text itself does not repeat the file. */
Test(fixture, missing_file_is_an_io_error, .timeout = 10)
{
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, billord_fixture_parse_file("/nonexistent/billord.json", &fixture,
                                                 error_text, sizeof(error_text)),
                 BILLORD_E_IO));
    cr_assert(eq(str, error_text, "cannot read: No such file or directory"));
    assert_zeroed(&fixture);
}

typedef struct file_case {
    char relative_path[64];
    char error_prefix[96];
} file_case;

ParameterizedTestParameters(fixture, bad_file_names_json_path)
{
    static file_case cases[] = {
        {"tests/fixtures/bad_coupon_expires.json",
         "$.accounts[0].coupons[1].expires: not an RFC 3339 time"},
        {"tests/fixtures/bad_syntax.json", "$: JSON syntax error at line 4, column"},
        {"tests/fixtures/bad_order_foreign_instance.json",
         "$.orders[0].instance: instance \"i-b\" belongs to account \"b\""},
    };
    return cr_make_param_array(file_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(file_case *row, fixture, bad_file_names_json_path, .timeout = 10)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_source_path(path, row->relative_path);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, billord_fixture_parse_file(path, &fixture, error_text, sizeof(error_text)),
                 BILLORD_E_FIXTURE));
    cr_assert(eq(int, strncmp(error_text, row->error_prefix, strlen(row->error_prefix)), 0), "%s",
              error_text);
    assert_zeroed(&fixture);
}

Test(fixture, directory_is_not_a_fixture, .timeout = 10)
{
    char directory[TEMPDIR_PATH_BYTES];
    tempdir_make(directory);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    const billord_err err = billord_fixture_parse_file(directory, &fixture, error_text,
                                                       sizeof(error_text));
    tempdir_remove(directory);
    cr_assert(eq(int, err, BILLORD_E_IO), "%s", error_text);
}

Test(fixture, free_accepts_null_and_zeroed_and_is_repeatable)
{
    billord_fixture_free(NULL);
    billord_fixture fixture = {0};
    billord_fixture_free(&fixture);
    load_demo(&fixture);
    billord_fixture_free(&fixture);
    billord_fixture_free(&fixture);
    assert_zeroed(&fixture);
}
