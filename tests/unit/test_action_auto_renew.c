/*
 * tests/unit/test_action_auto_renew.c: ModifyInstanceAutoRenewAttribute and
 * DescribeInstanceAutoRenewAttribute (SPEC section 3) walked row by row.
 *
 * Every parameter rule answers its catalog code and status in SPEC order, the
 * change is all-or-nothing across the id list, an error changes nothing, and
 * RenewalStatus wins over AutoRenew. No orders, tokens or money ever move.
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

#define ACTION "ModifyInstanceAutoRenewAttribute"
#define DESCRIBE "DescribeInstanceAutoRenewAttribute"
#define ROW_PARAMS_MAX 7u

/* ---- helpers ------------------------------------------------------------------------ */

ACTION_ROWS_SUITE_HELPERS

#define EXPECT_TRUE(condition) cr_expect(eq(int, (condition) ? 1 : 0, 1), "%s", #condition)

static void expect_renewal(const char *id, billord_renewal_status status, uint32_t duration,
                           billord_period_unit unit, const char *label)
{
    billord_instance instance = harness_instance(&h, id);
    cr_expect(eq(int, (int)instance.renewal_status, (int)status), "%s: %s renewal status %s",
              label, id, billord_renewal_status_name(instance.renewal_status));
    cr_expect(eq(u32, instance.auto_renew_duration, duration), "%s: %s duration", label, id);
    cr_expect(eq(int, (int)instance.auto_renew_period_unit, (int)unit), "%s: %s unit", label, id);
}

/* ---- parameter checks, in SPEC order ------------------------------------------------ */

typedef struct param_case {
    char label[64];
    param_row params[ROW_PARAMS_MAX];
    char code[48];
    int status;
    char message_part[40];      /* a piece the message must hold ("" when any) */
} param_case;

#define ID_65 "i-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OK_IDS {"InstanceId", "i-acc0001"}, {"RegionId", "cn-hangzhou"}

ParameterizedTestParameters(modify_auto_renew, parameter_errors)
{
    static param_case cases[] = {
        {"InstanceId missing", {{"RegionId", "cn-hangzhou"}, {"AutoRenew", "true"}},
         "MissingParameter.InstanceId", 403, ""},
        {"InstanceId empty", {{"InstanceId", ""}, {"RegionId", "cn-hangzhou"}},
         "MissingParameter.InstanceId", 403, ""},
        {"empty id inside", {{"InstanceId", "i-acc0001,,i-acc0008"}, {"RegionId", "cn-hangzhou"}},
         "InvalidParameter.InvalidInstanceId", 403, "empty"},
        {"trailing comma", {{"InstanceId", "i-acc0001,"}, {"RegionId", "cn-hangzhou"}},
         "InvalidParameter.InvalidInstanceId", 403, "empty"},
        {"leading comma", {{"InstanceId", ",i-acc0001"}, {"RegionId", "cn-hangzhou"}},
         "InvalidParameter.InvalidInstanceId", 403, "empty"},
        {"only a comma", {{"InstanceId", ","}, {"RegionId", "cn-hangzhou"}},
         "InvalidParameter.InvalidInstanceId", 403, ""},
        {"repeated id", {{"InstanceId", "i-acc0001,i-acc0008,i-acc0001"},
                         {"RegionId", "cn-hangzhou"}},
         "InvalidParameter.InvalidInstanceId", 403, "i-acc0001"},
        {"id too long", {{"InstanceId", ID_65}, {"RegionId", "cn-hangzhou"}},
         "InvalidParameter.InvalidInstanceId", 403, ""},
        {"RegionId missing", {{"InstanceId", "i-acc0001"}}, "MissingParameter", 400,
         "\"RegionId\""},
        {"RegionId empty", {{"InstanceId", "i-acc0001"}, {"RegionId", ""}}, "MissingParameter",
         400, "\"RegionId\""},
        {"PeriodUnit Week", {OK_IDS, {"PeriodUnit", "Week"}},
         "InvalidPeriodUnit.ValueNotSupported", 403, ""},
        {"PeriodUnit lowercase", {OK_IDS, {"PeriodUnit", "year"}},
         "InvalidPeriodUnit.ValueNotSupported", 403, ""},
        {"PeriodUnit empty", {OK_IDS, {"PeriodUnit", ""}}, "InvalidPeriodUnit.ValueNotSupported",
         403, ""},
        {"Month 4", {OK_IDS, {"Duration", "4"}}, "InvalidParameter.Duration", 403, "4"},
        {"Month 5", {OK_IDS, {"PeriodUnit", "Month"}, {"Duration", "5"}},
         "InvalidParameter.Duration", 403, "5"},
        {"Month 7", {OK_IDS, {"Duration", "7"}}, "InvalidParameter.Duration", 403, ""},
        {"Month 0", {OK_IDS, {"Duration", "0"}}, "InvalidParameter.Duration", 403, ""},
        {"Month 24", {OK_IDS, {"Duration", "24"}}, "InvalidParameter.Duration", 403, ""},
        {"Duration 01", {OK_IDS, {"Duration", "01"}}, "InvalidParameter.Duration", 403, ""},
        {"Duration space", {OK_IDS, {"Duration", " 1"}}, "InvalidParameter.Duration", 403, ""},
        {"Duration 1.0", {OK_IDS, {"Duration", "1.0"}}, "InvalidParameter.Duration", 403, ""},
        {"Duration -1", {OK_IDS, {"Duration", "-1"}}, "InvalidParameter.Duration", 403, ""},
        {"Duration empty", {OK_IDS, {"Duration", ""}}, "InvalidParameter.Duration", 403, ""},
        {"Year 4", {OK_IDS, {"PeriodUnit", "Year"}, {"Duration", "4"}},
         "InvalidParameter.Duration", 403, ""},
        {"Year 6", {OK_IDS, {"PeriodUnit", "Year"}, {"Duration", "6"}},
         "InvalidParameter.Duration", 403, ""},
        {"Year 12", {OK_IDS, {"PeriodUnit", "Year"}, {"Duration", "12"}},
         "InvalidParameter.Duration", 403, ""},
        {"Year 0", {OK_IDS, {"PeriodUnit", "Year"}, {"Duration", "0"}},
         "InvalidParameter.Duration", 403, ""},
        {"AutoRenew yes", {OK_IDS, {"AutoRenew", "yes"}}, "InvalidParameter", 400, "\"AutoRenew\""},
        {"AutoRenew 1", {OK_IDS, {"AutoRenew", "1"}}, "InvalidParameter", 400, "\"AutoRenew\""},
        {"AutoRenew empty", {OK_IDS, {"AutoRenew", ""}}, "InvalidParameter", 400,
         "\"AutoRenew\""},
        {"AutoRenew truex", {OK_IDS, {"AutoRenew", "truex"}}, "InvalidParameter", 400,
         "\"AutoRenew\""},
        {"RenewalStatus unknown", {OK_IDS, {"RenewalStatus", "Auto"}},
         "InvalidParameter.RenewalStatus", 403, "Auto"},
        {"RenewalStatus lowercase", {OK_IDS, {"RenewalStatus", "autorenewal"}},
         "InvalidParameter.RenewalStatus", 403, ""},
        {"RenewalStatus empty", {OK_IDS, {"RenewalStatus", ""}},
         "InvalidParameter.RenewalStatus", 403, ""},
        /* Precedence: the first failing check in table order answers. */
        {"no InstanceId before no RegionId", {{"Duration", "5"}},
         "MissingParameter.InstanceId", 403, ""},
        {"bad id list before no RegionId", {{"InstanceId", "i-acc0001,,x"}, {"Duration", "5"}},
         "InvalidParameter.InvalidInstanceId", 403, ""},
        {"no RegionId before bad PeriodUnit", {{"InstanceId", "i-acc0001"},
                                               {"PeriodUnit", "Week"}},
         "MissingParameter", 400, "\"RegionId\""},
        {"bad PeriodUnit before bad Duration", {OK_IDS, {"PeriodUnit", "Week"},
                                                {"Duration", "99"}},
         "InvalidPeriodUnit.ValueNotSupported", 403, ""},
        {"bad Duration before bad AutoRenew", {OK_IDS, {"Duration", "4"}, {"AutoRenew", "yes"}},
         "InvalidParameter.Duration", 403, ""},
        {"bad AutoRenew before bad RenewalStatus", {OK_IDS, {"AutoRenew", "yes"},
                                                    {"RenewalStatus", "Bad"}},
         "InvalidParameter", 400, "\"AutoRenew\""},
        {"bad RenewalStatus before unknown id", {{"InstanceId", "i-missing"},
                                                 {"RegionId", "cn-hangzhou"},
                                                 {"RenewalStatus", "Bad"}},
         "InvalidParameter.RenewalStatus", 403, ""},
        {"bad Duration before released instance", {{"InstanceId", "i-acc0006"},
                                                   {"RegionId", "cn-hangzhou"},
                                                   {"Duration", "4"}},
         "InvalidParameter.Duration", 403, ""},
    };
    return cr_make_param_array(param_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(param_case *c, modify_auto_renew, parameter_errors, .init = setup,
                  .fini = teardown, .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(ACCOUNT_MAIN, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    if (c->message_part[0] != '\0') {
        cr_expect(ne(ptr, strstr(o.message, c->message_part), NULL), "%s: message \"%s\"",
                  c->label, o.message);
    }
    world_expect_unchanged(&before, c->label);
}

/* ---- state checks ------------------------------------------------------------------- */

typedef struct state_case {
    char label[64];
    char account[20];
    param_row params[ROW_PARAMS_MAX];
    char code[48];
    int status;
    char message_part[40];
} state_case;

#define HZ {"RegionId", "cn-hangzhou"}
#define ENABLE {"RenewalStatus", "AutoRenewal"}

ParameterizedTestParameters(modify_auto_renew, state_errors)
{
    static state_case cases[] = {
        {"unknown id", ACCOUNT_MAIN, {{"InstanceId", "i-missing"}, HZ, ENABLE},
         "InvalidParameter.InvalidInstanceId", 403, "i-missing"},
        {"another account's id", ACCOUNT_MAIN, {{"InstanceId", "i-nopay0001"}, HZ, ENABLE},
         "InvalidParameter.InvalidInstanceId", 403, "i-nopay0001"},
        {"main's id seen by poor", ACCOUNT_POOR, {{"InstanceId", "i-acc0001"}, HZ,
                                                  {"AutoRenew", "false"}},
         "InvalidParameter.InvalidInstanceId", 403, "i-acc0001"},
        {"first unknown id is named", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001,i-nope,i-acc0007"},
                                                     HZ, ENABLE},
         "InvalidParameter.InvalidInstanceId", 403, "i-nope"},
        {"first refusal wins (status before unknown)", ACCOUNT_MAIN,
         {{"InstanceId", "i-acc0001,i-acc0007,i-nope"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on Expired", ACCOUNT_MAIN, {{"InstanceId", "i-acc0007"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on Expired via AutoRenew", ACCOUNT_MAIN, {{"InstanceId", "i-acc0007"}, HZ,
                                                           {"AutoRenew", "true"}},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on Locked", ACCOUNT_MAIN, {{"InstanceId", "rm-acc0004"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on Frozen", ACCOUNT_MAIN, {{"InstanceId", "sas-acc0003"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on Released", ACCOUNT_MAIN, {{"InstanceId", "i-acc0006"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"any change on Released (code's reading)", ACCOUNT_MAIN,
         {{"InstanceId", "i-acc0006"}, HZ, {"RenewalStatus", "NotRenewal"}},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on PostPaid ECS", ACCOUNT_MAIN, {{"InstanceId", "i-acc0004"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on PostPaid RDS", ACCOUNT_MAIN, {{"InstanceId", "rm-acc0001"}, HZ,
                                                  {"AutoRenew", "TRUE"}},
         "IncorrectInstanceStatus", 403, ""},
        {"enable on Expired HSS", ACCOUNT_MAIN, {{"InstanceId", "sas-acc0001"}, HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"all or nothing: one bad of two", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001,i-acc0007"},
                                                          HZ, ENABLE},
         "IncorrectInstanceStatus", 403, ""},
        {"all or nothing: last of three bad", ACCOUNT_MAIN,
         {{"InstanceId", "i-acc0001,i-acc0009,i-acc0004"}, HZ, ENABLE, {"Duration", "6"}},
         "IncorrectInstanceStatus", 403, ""},
        {"region must match", ACCOUNT_MAIN, {{"InstanceId", "i-acc0005"}, HZ, ENABLE},
         "InvalidParameter.InvalidInstanceId", 403, "i-acc0005"},
    };
    return cr_make_param_array(state_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(state_case *c, modify_auto_renew, state_errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(c->account, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, c->code, c->status, c->label);
    if (c->message_part[0] != '\0') {
        cr_expect(ne(ptr, strstr(o.message, c->message_part), NULL), "%s: message \"%s\"",
                  c->label, o.message);
    }
    world_expect_unchanged(&before, c->label);
}

Test(modify_auto_renew, another_accounts_id_answers_like_a_missing_one, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome missing = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-zzz0001",
                                           "RegionId", "cn-hangzhou", NULL);
    billord_outcome foreign = harness_call(&h, ACCOUNT_POOR, ACTION, "InstanceId", "i-acc0001",
                                           "RegionId", "cn-hangzhou", NULL);
    cr_expect(eq(int, foreign.code, missing.code));
    /* The message names the id given; with it swapped, both texts are the same. */
    char expected[BILLORD_MESSAGE_BYTES_MAX];
    snprintf(expected, sizeof expected, "The specified InstanceId is not valid: %s.", "i-acc0001");
    EXPECT_STR(foreign.message, expected);
    snprintf(expected, sizeof expected, "The specified InstanceId is not valid: %s.", "i-zzz0001");
    EXPECT_STR(missing.message, expected);
}

/* ---- 100 ids ------------------------------------------------------------------------ */

static char *id_list(size_t count, const char *first)
{
    char *list = malloc(count * 16 + 32);
    cr_assert(ne(ptr, list, NULL));
    size_t used = (size_t)sprintf(list, "%s", first);
    for (size_t i = 1; i < count; i++) {
        used += (size_t)sprintf(list + used, ",i-x%03zu", i);
    }
    return list;
}

Test(modify_auto_renew, one_hundred_ids_pass_validation, .init = setup, .fini = teardown,
     .timeout = 30)
{
    char *list = id_list(100, "i-acc0001");
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", list, "RegionId",
                                     "cn-hangzhou", NULL);
    /* Validation passes; the state check names the first id that does not exist. */
    expect_code(&o, "InvalidParameter.InvalidInstanceId", 403, "100 ids");
    EXPECT_STR(o.message, "The specified InstanceId is not valid: i-x001.");
    free(list);
}

Test(modify_auto_renew, one_hundred_and_one_ids_are_refused, .init = setup, .fini = teardown,
     .timeout = 30)
{
    world before;
    world_take(&before);
    char *list = id_list(101, "i-acc0001");
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", list, "RegionId",
                                     "cn-hangzhou", NULL);
    expect_code(&o, "InvalidParameter.InvalidInstanceId", 403, "101 ids");
    cr_expect(ne(ptr, strstr(o.message, "100"), NULL), "%s", o.message);
    cr_expect(eq(ptr, strstr(o.message, "i-x001"), NULL), "%s", o.message);
    /* Over the limit is a parameter error: it wins over a missing RegionId. */
    o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", list, NULL);
    expect_code(&o, "InvalidParameter.InvalidInstanceId", 403, "101 ids, no region");
    world_expect_unchanged(&before, "101 ids");
    free(list);
}

/* ---- success effects ---------------------------------------------------------------- */

typedef struct success_case {
    char label[64];
    param_row params[ROW_PARAMS_MAX];
    char ids[3][16];
    billord_renewal_status renewal_status;
    uint32_t duration;
    billord_period_unit unit;
} success_case;

ParameterizedTestParameters(modify_auto_renew, success)
{
    static success_case cases[] = {
        {"AutoRenew true enables", {OK_IDS, {"AutoRenew", "true"}}, {"i-acc0001"},
         BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_MONTH},
        {"AutoRenew TRUE enables", {OK_IDS, {"AutoRenew", "TRUE"}}, {"i-acc0001"},
         BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_MONTH},
        {"AutoRenew False is Normal", {{"InstanceId", "i-acc0008"}, HZ, {"AutoRenew", "False"}},
         {"i-acc0008"}, BILLORD_RENEWAL_NORMAL, 1, BILLORD_PERIOD_MONTH},
        {"AutoRenew absent is Normal", {{"InstanceId", "i-acc0008"}, HZ}, {"i-acc0008"},
         BILLORD_RENEWAL_NORMAL, 1, BILLORD_PERIOD_MONTH},
        {"RenewalStatus wins over AutoRenew true", {OK_IDS, {"AutoRenew", "true"},
                                                    {"RenewalStatus", "NotRenewal"}},
         {"i-acc0001"}, BILLORD_RENEWAL_NOT, 1, BILLORD_PERIOD_MONTH},
        {"RenewalStatus wins over AutoRenew false", {OK_IDS, {"AutoRenew", "false"},
                                                     {"RenewalStatus", "AutoRenewal"}},
         {"i-acc0001"}, BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_MONTH},
        {"RenewalStatus Normal on Expired with AutoRenew true",
         {{"InstanceId", "i-acc0007"}, HZ, {"AutoRenew", "true"}, {"RenewalStatus", "Normal"}},
         {"i-acc0007"}, BILLORD_RENEWAL_NORMAL, 1, BILLORD_PERIOD_MONTH},
        {"Month 2", {OK_IDS, ENABLE, {"Duration", "2"}}, {"i-acc0001"}, BILLORD_RENEWAL_AUTO, 2,
         BILLORD_PERIOD_MONTH},
        {"Month 3", {OK_IDS, ENABLE, {"Duration", "3"}}, {"i-acc0001"}, BILLORD_RENEWAL_AUTO, 3,
         BILLORD_PERIOD_MONTH},
        {"Month 6", {OK_IDS, ENABLE, {"PeriodUnit", "Month"}, {"Duration", "6"}}, {"i-acc0001"},
         BILLORD_RENEWAL_AUTO, 6, BILLORD_PERIOD_MONTH},
        {"Month 12", {OK_IDS, ENABLE, {"Duration", "12"}}, {"i-acc0001"}, BILLORD_RENEWAL_AUTO,
         12, BILLORD_PERIOD_MONTH},
        {"Year default duration", {OK_IDS, ENABLE, {"PeriodUnit", "Year"}}, {"i-acc0001"},
         BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_YEAR},
        {"Year 2", {OK_IDS, ENABLE, {"PeriodUnit", "Year"}, {"Duration", "2"}}, {"i-acc0001"},
         BILLORD_RENEWAL_AUTO, 2, BILLORD_PERIOD_YEAR},
        {"Year 3", {OK_IDS, ENABLE, {"PeriodUnit", "Year"}, {"Duration", "3"}}, {"i-acc0001"},
         BILLORD_RENEWAL_AUTO, 3, BILLORD_PERIOD_YEAR},
        {"enable on Stopped", {{"InstanceId", "i-acc0009"}, HZ, ENABLE}, {"i-acc0009"},
         BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_MONTH},
        {"NotRenewal on Expired", {{"InstanceId", "i-acc0007"}, HZ,
                                   {"RenewalStatus", "NotRenewal"}},
         {"i-acc0007"}, BILLORD_RENEWAL_NOT, 1, BILLORD_PERIOD_MONTH},
        {"Normal on PostPaid", {{"InstanceId", "i-acc0004"}, HZ, {"AutoRenew", "false"}},
         {"i-acc0004"}, BILLORD_RENEWAL_NORMAL, 1, BILLORD_PERIOD_MONTH},
        {"NotRenewal on Frozen", {{"InstanceId", "sas-acc0003"}, HZ,
                                  {"RenewalStatus", "NotRenewal"}},
         {"sas-acc0003"}, BILLORD_RENEWAL_NOT, 1, BILLORD_PERIOD_MONTH},
        {"three ids at once", {{"InstanceId", "i-acc0001,i-acc0008,i-acc0009"}, HZ, ENABLE,
                               {"PeriodUnit", "Year"}, {"Duration", "2"}},
         {"i-acc0001", "i-acc0008", "i-acc0009"}, BILLORD_RENEWAL_AUTO, 2, BILLORD_PERIOD_YEAR},
        {"other region", {{"InstanceId", "i-acc0005"}, {"RegionId", "cn-shanghai"}, ENABLE},
         {"i-acc0005"}, BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_MONTH},
    };
    return cr_make_param_array(success_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(success_case *c, modify_auto_renew, success, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    world before;
    world_take(&before);
    billord_outcome o = call_rows(ACCOUNT_MAIN, ACTION, c->params, ROW_PARAMS_MAX);
    expect_code(&o, "OK", 200, c->label);
    cr_expect(not(o.has_order_id));
    EXPECT_STR(o.message, "");
    for (size_t i = 0; i < 3 && c->ids[i][0] != '\0'; i++) {
        expect_renewal(c->ids[i], c->renewal_status, c->duration, c->unit, c->label);
        billord_instance after = harness_instance(&h, c->ids[i]);
        /* Only the renewal attributes change: not expiry, status or charge type. */
        for (size_t k = 0; k < ACTION_WORLD_INSTANCES; k++) {
            if (strcmp(action_world_instance_id(k), c->ids[i]) == 0) {
                cr_expect(eq(i64, after.expires_ms, before.instances[k].expires_ms));
                cr_expect(eq(int, (int)after.status, (int)before.instances[k].status));
                cr_expect(eq(int, (int)after.charge_type, (int)before.instances[k].charge_type));
            }
        }
    }
    cr_expect(eq(i64, harness_order_count(&h), before.order_count), "%s: no order", c->label);
    cr_expect(eq(i64, harness_token_count(&h), before.token_count), "%s: no token", c->label);
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros,
                 before.accounts[0].balance_micros));
}

Test(modify_auto_renew, repeating_the_change_is_idempotent, .init = setup, .fini = teardown,
     .timeout = 30)
{
    for (int round = 0; round < 2; round++) {
        billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                         "RegionId", "cn-hangzhou", "AutoRenew", "true",
                                         "Duration", "3", "ClientToken", "ignored", NULL);
        expect_code(&o, "OK", 200, "round");
        cr_expect(not(o.idempotent_replay), "no token is taken, so nothing is replayed");
        expect_renewal("i-acc0001", BILLORD_RENEWAL_AUTO, 3, BILLORD_PERIOD_MONTH, "round");
    }
    cr_expect(eq(i64, harness_token_count(&h), 0));
}

Test(modify_auto_renew, only_listed_instances_change, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0009",
                                     "RegionId", "cn-hangzhou", "RenewalStatus", "AutoRenewal",
                                     "PeriodUnit", "Year", "Duration", "3", NULL);
    expect_code(&o, "OK", 200, "set");
    expect_renewal("i-acc0009", BILLORD_RENEWAL_AUTO, 3, BILLORD_PERIOD_YEAR, "changed");
    expect_renewal("i-acc0001", BILLORD_RENEWAL_NORMAL, 1, BILLORD_PERIOD_MONTH, "untouched");
    expect_renewal("i-acc0008", BILLORD_RENEWAL_AUTO, 1, BILLORD_PERIOD_MONTH, "untouched");
}

/* ---- DescribeInstanceAutoRenewAttribute ----------------------------------------------- */

static json_t *describe_items(const char *account, const char *ids, billord_outcome *out)
{
    json_t *fields = NULL;
    *out = harness_query(&h, account, DESCRIBE, &fields, "InstanceId", ids, "RegionId",
                         "cn-hangzhou", NULL);
    return fields;
}

static const json_t *item_at(const json_t *fields, size_t index)
{
    return json_array_get(
        json_object_get(json_object_get(fields, "InstanceRenewAttributes"), "InstanceRenewAttribute"),
        index);
}

Test(describe_auto_renew, one_instance_has_every_field, .init = setup, .fini = teardown,
     .timeout = 30)
{
    billord_outcome o;
    json_t *fields = describe_items(ACCOUNT_MAIN, "i-acc0001", &o);
    expect_code(&o, "OK", 200, "describe");
    cr_assert(ne(ptr, fields, NULL));
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "TotalCount")), 1));
    const json_t *item = item_at(fields, 0);
    cr_assert(ne(ptr, (void *)item, NULL));
    EXPECT_STR(json_string_value(json_object_get(item, "InstanceId")), "i-acc0001");
    EXPECT_TRUE(json_is_false(json_object_get(item, "AutoRenewEnabled")));
    cr_expect(eq(i64, json_integer_value(json_object_get(item, "Duration")), 1));
    EXPECT_STR(json_string_value(json_object_get(item, "PeriodUnit")), "Month");
    EXPECT_STR(json_string_value(json_object_get(item, "RenewalStatus")), "Normal");
    EXPECT_STR(json_string_value(json_object_get(item, "ExpiredTime")), "2026-12-31T16:00:00Z");
    const char *schedule[] = {"NextAutoRenewAttempt", "LockTime", "ReleaseTime"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *value = json_object_get(item, schedule[i]);
        cr_expect(ne(ptr, (void *)value, NULL), "%s present", schedule[i]);
        cr_expect(eq(int, json_is_null(value) || json_is_string(value), 1), "%s null or a time",
                  schedule[i]);
    }
    json_decref(fields);
}

Test(describe_auto_renew, reflects_a_change_and_keeps_the_list_order, .init = setup,
     .fini = teardown, .timeout = 30)
{
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, ACTION, "InstanceId", "i-acc0001",
                                     "RegionId", "cn-hangzhou", "AutoRenew", "true", "PeriodUnit",
                                     "Year", "Duration", "2", NULL);
    expect_code(&o, "OK", 200, "modify");
    json_t *fields = describe_items(ACCOUNT_MAIN, "i-acc0009,i-acc0001,i-acc0004", &o);
    expect_code(&o, "OK", 200, "describe");
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "TotalCount")), 3));
    EXPECT_STR(json_string_value(json_object_get(item_at(fields, 0), "InstanceId")), "i-acc0009");
    EXPECT_STR(json_string_value(json_object_get(item_at(fields, 0), "RenewalStatus")),
               "NotRenewal");
    const json_t *changed = item_at(fields, 1);
    EXPECT_STR(json_string_value(json_object_get(changed, "InstanceId")), "i-acc0001");
    EXPECT_TRUE(json_is_true(json_object_get(changed, "AutoRenewEnabled")));
    EXPECT_STR(json_string_value(json_object_get(changed, "RenewalStatus")), "AutoRenewal");
    EXPECT_STR(json_string_value(json_object_get(changed, "PeriodUnit")), "Year");
    cr_expect(eq(i64, json_integer_value(json_object_get(changed, "Duration")), 2));
    /* A PostPaid instance has no expiry. */
    EXPECT_TRUE(json_is_null(json_object_get(item_at(fields, 2), "ExpiredTime")));
    json_decref(fields);
}

typedef struct describe_case {
    char label[48];
    char account[20];
    param_row params[ROW_PARAMS_MAX];
    char code[48];
    int status;
} describe_case;

ParameterizedTestParameters(describe_auto_renew, errors)
{
    static describe_case cases[] = {
        {"InstanceId missing", ACCOUNT_MAIN, {HZ}, "MissingParameter.InstanceId", 403},
        {"empty id", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001,"}, HZ},
         "InvalidParameter.InvalidInstanceId", 403},
        {"repeated id", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001,i-acc0001"}, HZ},
         "InvalidParameter.InvalidInstanceId", 403},
        {"RegionId missing", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001"}}, "MissingParameter", 400},
        {"unknown id", ACCOUNT_MAIN, {{"InstanceId", "i-acc0001,i-nope"}, HZ},
         "InvalidInstanceId.NotFound", 404},
        {"another account's id", ACCOUNT_POOR, {{"InstanceId", "i-acc0001"}, HZ},
         "InvalidInstanceId.NotFound", 404},
    };
    return cr_make_param_array(describe_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(describe_case *c, describe_auto_renew, errors, .init = setup, .fini = teardown,
                  .timeout = 30)
{
    json_t *fields = NULL;
    billord_outcome o = call_rows_fields(c->account, DESCRIBE, c->params, ROW_PARAMS_MAX, &fields);
    expect_code(&o, c->code, c->status, c->label);
    cr_expect(eq(ptr, fields, NULL), "%s: no fields on an error", c->label);
    json_decref(fields);
}

Test(describe_auto_renew, expired_time_is_the_instance_expiry, .init = setup, .fini = teardown,
     .timeout = 30)
{
    /* ExpiredTime is the instance's expiry, formatted as RFC 3339. */
    billord_outcome o;
    json_t *fields = describe_items(ACCOUNT_MAIN, "i-acc0008", &o);
    int64_t parsed = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339(
                          json_string_value(json_object_get(item_at(fields, 0), "ExpiredTime")),
                          &parsed),
                 BILLORD_OK));
    expect_time(parsed, "2026-11-28T16:00:00Z", "i-acc0008");
    cr_expect(eq(i64, parsed, harness_instance(&h, "i-acc0008").expires_ms));
    json_decref(fields);
}
