/*
 * test_idempotency.c: ClientToken semantics (SPEC section 4, docs/fingerprint.md).
 *
 * Method: drive the engine through the harness and observe answers, rendered bytes,
 * order counts and balances. A replay must return the first answer byte for byte and
 * change nothing; a mismatch must name the first differing parameter.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "support/harness.h"

static harness h;

static void open_demo(void)
{
    harness_open(&h, "fixtures/demo.json");
}

static void close_demo(void)
{
    harness_close(&h);
}

TestSuite(idempotency, .init = open_demo, .fini = close_demo, .timeout = 30);

static billord_outcome renew(const char *token, const char *period)
{
    return harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001", "Period",
                        period, "ClientToken", token, NULL);
}

Test(idempotency, replay_returns_identical_bytes_and_charges_once)
{
    billord_outcome first = renew("tok-1", "1");
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    cr_assert(not(first.idempotent_replay));
    int64_t orders_after_first = harness_order_count(&h);
    int64_t balance_after_first = harness_account(&h, ACCOUNT_MAIN).balance_micros;
    int64_t expiry_after_first = harness_instance(&h, "i-acc0001").expires_ms;
    char *first_body = harness_render("RenewInstance", &first);
    for (int retry = 0; retry < 3; retry++) {
        h.now_ms += 60000;
        billord_outcome again = renew("tok-1", "1");
        char *again_body = harness_render("RenewInstance", &again);
        cr_expect(eq(str, again_body, first_body));
        cr_expect(again.idempotent_replay);
        free(again_body);
    }
    free(first_body);
    cr_expect(eq(i64, harness_order_count(&h), orders_after_first));
    cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, balance_after_first));
    cr_expect(eq(i64, harness_instance(&h, "i-acc0001").expires_ms, expiry_after_first));
}

Test(idempotency, replay_keeps_first_request_id_and_order_id)
{
    billord_outcome first = renew("tok-2", "1");
    billord_outcome again = renew("tok-2", "1");
    cr_assert(eq(str, again.request_id, first.request_id));
    cr_assert(again.has_order_id);
    cr_assert(eq(u64, again.order_id, first.order_id));
}

Test(idempotency, replay_survives_a_restart)
{
    billord_outcome first = renew("tok-3", "1");
    harness_reopen(&h);
    billord_outcome again = renew("tok-3", "1");
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
}

Test(idempotency, mismatch_on_period_names_period)
{
    renew("tok-4", "1");
    int64_t orders = harness_order_count(&h);
    billord_outcome other = renew("tok-4", "2");
    cr_assert(eq(str, (char *)billord_api_code_text(other.code), "IdempotenceParamNotMatch"));
    cr_assert(eq(int, billord_api_code_status(other.code), 400));
    cr_expect(strstr(other.message, "Period.") != NULL, "message: %s", other.message);
    cr_expect(eq(i64, harness_order_count(&h), orders));
}

Test(idempotency, mismatch_on_instance_names_instance_id)
{
    renew("tok-5", "1");
    billord_outcome other = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0007", "Period", "1", "ClientToken", "tok-5", NULL);
    cr_assert(eq(int, other.code, BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH));
    cr_expect(strstr(other.message, "InstanceId.") != NULL, "message: %s", other.message);
}

Test(idempotency, mismatch_on_period_unit_names_period_unit)
{
    renew("tok-6", "1");
    billord_outcome other = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0001", "Period", "1", "PeriodUnit", "Week",
                                         "ClientToken", "tok-6", NULL);
    cr_assert(eq(int, other.code, BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH));
    cr_expect(strstr(other.message, "PeriodUnit.") != NULL, "message: %s", other.message);
}

Test(idempotency, mismatch_on_region_names_region_id)
{
    renew("tok-7", "1");
    billord_outcome other = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0001", "Period", "1", "RegionId", "cn-hangzhou",
                                         "ClientToken", "tok-7", NULL);
    cr_assert(eq(int, other.code, BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH));
    cr_expect(strstr(other.message, "RegionId.") != NULL, "message: %s", other.message);
}

Test(idempotency, mismatch_on_action_names_action)
{
    renew("tok-8", "1");
    billord_outcome other = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId",
                                         "205395023430728", "ClientToken", "tok-8", NULL);
    cr_assert(eq(int, other.code, BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH));
    cr_expect(strstr(other.message, "Action.") != NULL, "message: %s", other.message);
}

Test(idempotency, explicit_default_period_unit_equals_absent)
{
    billord_outcome first = renew("tok-9", "1");
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0001", "Period", "1", "PeriodUnit", "Month",
                                         "ClientToken", "tok-9", NULL);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
}

Test(idempotency, excluded_parameters_do_not_change_the_fingerprint)
{
    billord_outcome first = renew("tok-10", "1");
    billord_outcome again = harness_call(
        &h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001", "Period", "1", "ClientToken",
        "tok-10", "Timestamp", "2026-11-22T00:00:05Z", "SignatureNonce", "abcdef", "Format", "XML",
        "Version", "2014-05-26", "AccessKeyId", "LTAI5tDemoKey0001", "Signature", "xyz=",
        "SignatureMethod", "HMAC-SHA1", "SignatureVersion", "1.0", "OwnerId", "42",
        "ResourceOwnerAccount", "someone", NULL);
    cr_assert(eq(int, again.code, BILLORD_API_OK));
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
}

Test(idempotency, tokens_are_per_account)
{
    billord_outcome main_first = renew("shared-token", "1");
    billord_outcome poor = harness_call(&h, ACCOUNT_POOR, "RenewInstance", "InstanceId",
                                        "i-poor0001", "Period", "1", "ClientToken",
                                        "shared-token", NULL);
    cr_assert(eq(int, poor.code, BILLORD_API_OK));
    cr_assert(not(poor.idempotent_replay));
    cr_assert(ne(u64, poor.order_id, main_first.order_id));
}

Test(idempotency, tokens_are_case_sensitive)
{
    billord_outcome lower = renew("case-token", "1");
    billord_outcome upper = renew("CASE-TOKEN", "1");
    cr_assert(not(upper.idempotent_replay));
    cr_assert(ne(u64, upper.order_id, lower.order_id));
}

Test(idempotency, same_token_twice_in_one_batch_is_last_token_processing)
{
    billord_param first_params[HARNESS_PARAMS_MAX];
    billord_param second_params[HARNESS_PARAMS_MAX];
    billord_command commands[2];
    commands[0] = harness_command(&h, ACCOUNT_MAIN, "RenewInstance", first_params, "InstanceId",
                                  "i-acc0001", "Period", "1", "ClientToken", "batch-tok", NULL);
    commands[1] = harness_command(&h, ACCOUNT_MAIN, "RenewInstance", second_params, "InstanceId",
                                  "i-acc0001", "Period", "1", "ClientToken", "batch-tok", NULL);
    billord_outcome outcomes[2];
    int64_t orders = harness_order_count(&h);
    harness_batch(&h, commands, 2, outcomes);
    cr_assert(eq(int, outcomes[0].code, BILLORD_API_OK));
    cr_assert(eq(str, (char *)billord_api_code_text(outcomes[1].code), "LastTokenProcessing"));
    cr_assert(eq(int, billord_api_code_status(outcomes[1].code), 403));
    cr_assert(eq(i64, harness_order_count(&h), orders + 1));
    /* Once the batch is done, the same token replays the first answer. */
    billord_outcome later = renew("batch-tok", "1");
    cr_assert(later.idempotent_replay);
    cr_assert(eq(u64, later.order_id, outcomes[0].order_id));
}

Test(idempotency, in_flight_wins_over_mismatch_in_one_batch)
{
    billord_param first_params[HARNESS_PARAMS_MAX];
    billord_param second_params[HARNESS_PARAMS_MAX];
    billord_command commands[2];
    commands[0] = harness_command(&h, ACCOUNT_MAIN, "RenewInstance", first_params, "InstanceId",
                                  "i-acc0001", "Period", "1", "ClientToken", "batch-tok2", NULL);
    commands[1] = harness_command(&h, ACCOUNT_MAIN, "RenewInstance", second_params, "InstanceId",
                                  "i-acc0001", "Period", "3", "ClientToken", "batch-tok2", NULL);
    billord_outcome outcomes[2];
    harness_batch(&h, commands, 2, outcomes);
    cr_assert(eq(int, outcomes[1].code, BILLORD_API_LAST_TOKEN_PROCESSING));
}

Test(idempotency, business_rejection_is_memoized)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0003", "Period", "1", "ClientToken", "locked-tok",
                                         NULL);
    cr_assert(eq(int, first.code, BILLORD_API_INSTANCE_LOCKED_FOR_SECURITY));
    cr_assert(eq(i64, harness_token_count(&h), 1));
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0003", "Period", "1", "ClientToken", "locked-tok",
                                         NULL);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(str, again.request_id, first.request_id));
    cr_assert(eq(int, again.code, BILLORD_API_INSTANCE_LOCKED_FOR_SECURITY));
}

Test(idempotency, not_found_is_memoized)
{
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-missing", "Period", "1", "ClientToken", "nf-tok", NULL);
    cr_assert(eq(int, first.code, BILLORD_API_INSTANCE_NOT_FOUND));
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-missing", "Period", "1", "ClientToken", "nf-tok", NULL);
    cr_assert(again.idempotent_replay);
}

Test(idempotency, not_enough_balance_is_memoized_and_takes_nothing)
{
    int64_t balance = harness_account(&h, ACCOUNT_BROKE).balance_micros;
    billord_outcome first = harness_call(&h, ACCOUNT_BROKE, "RenewInstance", "InstanceId",
                                         "i-broke0001", "Period", "1", "ClientToken", "broke-tok",
                                         NULL);
    cr_assert(eq(int, first.code, BILLORD_API_NOT_ENOUGH_BALANCE));
    billord_outcome again = harness_call(&h, ACCOUNT_BROKE, "RenewInstance", "InstanceId",
                                         "i-broke0001", "Period", "1", "ClientToken", "broke-tok",
                                         NULL);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(i64, harness_account(&h, ACCOUNT_BROKE).balance_micros, balance));
}

Test(idempotency, validation_error_is_not_memoized)
{
    billord_outcome bad = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                       "i-acc0001", "Period", "0", "ClientToken", "val-tok", NULL);
    cr_assert(eq(int, bad.code, BILLORD_API_INVALID_PERIOD));
    cr_assert(eq(i64, harness_token_count(&h), 0));
    /* The token is still free: a correct request with it runs. */
    billord_outcome good = renew("val-tok", "1");
    cr_assert(eq(int, good.code, BILLORD_API_OK));
    cr_assert(not(good.idempotent_replay));
}

Test(idempotency, mismatch_is_not_memoized)
{
    billord_outcome first = renew("mm-tok", "1");
    renew("mm-tok", "2");
    billord_outcome again = renew("mm-tok", "1");
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
    cr_assert(eq(i64, harness_token_count(&h), 1));
}

Test(idempotency, request_without_token_runs_each_time)
{
    int64_t orders = harness_order_count(&h);
    billord_outcome first = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         "i-acc0001", "Period", "1", NULL);
    billord_outcome second = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                          "i-acc0001", "Period", "1", NULL);
    cr_assert(ne(u64, first.order_id, second.order_id));
    cr_assert(eq(i64, harness_order_count(&h), orders + 2));
    cr_assert(eq(i64, harness_token_count(&h), 0));
}

Test(idempotency, invalid_token_is_rejected_before_state)
{
    static const char *const bad_tokens[] = {
        "", "tab\there", "\x7f", "caf\xc3\xa9",
        "12345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++) {
        billord_outcome bad = renew(bad_tokens[i], "1");
        cr_expect(eq(str, (char *)billord_api_code_text(bad.code),
                     "InvalidClientToken.ValueNotSupported"),
                  "token #%zu", i);
        cr_expect(eq(int, billord_api_code_status(bad.code), 400));
    }
    cr_assert(eq(i64, harness_token_count(&h), 0));
}

Test(idempotency, longest_token_is_accepted)
{
    const char *token = "1234567890123456789012345678901234567890123456789012345678901234";
    cr_assert(eq(sz, strlen(token), 64));
    billord_outcome ok = renew(token, "1");
    cr_assert(eq(int, ok.code, BILLORD_API_OK));
    cr_assert(renew(token, "1").idempotent_replay);
}

Test(idempotency, order_keeps_its_token)
{
    billord_outcome first = renew("kept-tok", "1");
    billord_order order;
    cr_assert(harness_order(&h, first.order_id, &order));
    cr_assert(eq(str, order.client_token, "kept-tok"));
}

Test(idempotency, tokens_are_pruned_after_retention_but_orders_stay)
{
    billord_outcome first = renew("old-tok", "1");
    cr_assert(eq(i64, harness_token_count(&h), 1));
    h.now_ms += 8LL * 24 * 3600 * 1000;      /* past the 7-day default */
    renew("new-tok", "1");
    cr_assert(eq(i64, harness_token_count(&h), 1), "only the new token is kept");
    billord_order order;
    cr_assert(harness_order(&h, first.order_id, &order));
    /* After pruning, the old token runs anew (it is outside its retention). */
    billord_outcome again = renew("old-tok", "1");
    cr_assert(not(again.idempotent_replay));
}

Test(idempotency, pay_order_replay_does_not_charge_twice)
{
    billord_outcome paid = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId", "205395023430728",
                                        "ClientToken", "pay-tok", NULL);
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    int64_t balance = harness_account(&h, ACCOUNT_MAIN).balance_micros;
    billord_outcome again = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId",
                                         "205395023430728", "ClientToken", "pay-tok", NULL);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(int, again.code, BILLORD_API_OK));
    cr_assert(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, balance));
    /* Without the token, a second payment is refused by state. */
    billord_outcome fresh = harness_call(&h, ACCOUNT_MAIN, "PayOrder", "OrderId",
                                         "205395023430728", NULL);
    cr_assert(eq(int, fresh.code, BILLORD_API_INCORRECT_ORDER_STATUS));
}

Test(idempotency, pay_type_replay_returns_same_unpaid_order)
{
    billord_outcome first = harness_call(&h, ACCOUNT_POOR, "ModifyDBInstancePayType",
                                         "DBInstanceId", "rm-poor0001", "PayType", "Prepaid",
                                         "Period", "Year", "UsedTime", "3", "ClientToken", "pt-tok",
                                         NULL);
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    billord_order order;
    cr_assert(harness_order(&h, first.order_id, &order));
    cr_assert(eq(int, order.status, BILLORD_ORDER_UNPAID));
    billord_outcome again = harness_call(&h, ACCOUNT_POOR, "ModifyDBInstancePayType",
                                         "DBInstanceId", "rm-poor0001", "PayType", "Prepaid",
                                         "Period", "Year", "UsedTime", "3", "ClientToken", "pt-tok",
                                         NULL);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
}
