/*
 * action_renew.c: RenewInstance (ECS, seed 000; SPEC section 3).
 *
 * Checks run in the SPEC's order; the first failing one answers. On success the
 * order is created Paid and the instance's expiry moves by the period from its
 * current expiry.
 */
#include <string.h>

#include <billord/timeutil.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

static bool week_period_valid(uint64_t period)
{
    return period >= 1 && period <= 4;
}

static bool month_period_valid(uint64_t period)
{
    return (period >= 1 && period <= 9) || period == 12 || period == 24 || period == 36 ||
           period == 48 || period == 60;
}

static void renew_validate(engine_request *request, billord_outcome *outcome)
{
    const billord_command *command = request->command;
    renew_args *args = &request->as.renew;
    const char *instance_id = billord__param_get(command, "InstanceId");
    if (instance_id == NULL || instance_id[0] == '\0') {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "InstanceId");
        return;
    }
    const char *unit_text = billord__param_get(command, "PeriodUnit");
    if (unit_text == NULL) {
        unit_text = "Month";
    }
    if (strcmp(unit_text, "Week") != 0 && strcmp(unit_text, "Month") != 0) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PERIOD_UNIT, NULL);
        return;
    }
    args->period_unit = unit_text[0] == 'W' ? BILLORD_PERIOD_WEEK : BILLORD_PERIOD_MONTH;
    const char *period_text = billord__param_get(command, "Period");
    if (period_text == NULL) {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "Period");
        return;
    }
    uint64_t period = 0;
    bool period_ok = billord__parse_uint(period_text, &period) &&
                     (args->period_unit == BILLORD_PERIOD_WEEK ? week_period_valid(period)
                                                               : month_period_valid(period));
    if (!period_ok) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PERIOD, NULL);
        return;
    }
    if (!billord__param_client_token(command, &request->client_token, outcome)) {
        return;
    }
    const char *region = billord__param_get(command, "RegionId");
    args->instance_id = instance_id;
    args->period = (uint32_t)period;
    billord__canonical_add(&request->canonical, "InstanceId", instance_id);
    billord__canonical_add(&request->canonical, "Period", period_text);
    billord__canonical_add(&request->canonical, "PeriodUnit", unit_text);
    billord__canonical_add(&request->canonical, "RegionId", region != NULL ? region : "");
}

/* The state checks before payment; false (with the outcome set) on the first refusal. */
static bool renew_allowed(const renew_args *args, const billord_instance *instance,
                          int64_t *out_expires_ms, billord_outcome *outcome)
{
    if (instance->charge_type != BILLORD_CHARGE_PREPAID) {
        billord__outcome_error(outcome, BILLORD_API_CHARGE_TYPE_VIOLATION, NULL);
        return false;
    }
    if (instance->locked_for_security) {
        billord__outcome_error(outcome, BILLORD_API_INSTANCE_LOCKED_FOR_SECURITY, NULL);
        return false;
    }
    if (instance->unpaid_order_count > 0) {
        billord__outcome_error(outcome, BILLORD_API_INSTANCE_UNPAID_ORDER, NULL);
        return false;
    }
    if (instance->status == BILLORD_STATUS_RELEASED || instance->product != BILLORD_PRODUCT_ECS) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_INSTANCE_STATUS, NULL);
        return false;
    }
    int64_t expires_ms = 0;
    if (billord_time_add_period(instance->expires_ms, args->period_unit, args->period,
                                &expires_ms) != BILLORD_OK ||
        (instance->has_dedicated_host && expires_ms > instance->dedicated_host_expires_ms)) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PERIOD, NULL);
        return false;
    }
    *out_expires_ms = expires_ms;
    return true;
}

static billord_err renew_apply(engine_ctx *ctx, engine_request *request, billord_outcome *outcome)
{
    const renew_args *args = &request->as.renew;
    billord_instance instance;
    billord_err err = billord__store_instance_get(ctx->store, ctx->txn, args->instance_id,
                                                  &instance);
    if (err == BILLORD_E_NOT_FOUND ||
        (err == BILLORD_OK && strcmp(instance.account, ctx->command->account) != 0)) {
        billord__outcome_error(outcome, BILLORD_API_INSTANCE_NOT_FOUND, NULL);
        return BILLORD_OK;
    }
    if (err != BILLORD_OK) {
        return err;
    }
    int64_t expires_ms = 0;
    if (!renew_allowed(args, &instance, &expires_ms, outcome)) {
        return BILLORD_OK;
    }
    billord_account account;
    err = billord__store_account_get(ctx->store, ctx->txn, instance.account, &account);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    if (!account.payment_method) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PAYMENT_METHOD_MISSING, NULL);
        return BILLORD_OK;
    }
    billord_price price;
    err = billord__store_price_get(ctx->store, ctx->txn, instance.product,
                                   instance.instance_type, &price);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    billord_order order;
    billord__order_init(ctx, request, &instance, BILLORD_ORDER_RENEW, &order);
    order.period_count = args->period;
    order.period_unit = args->period_unit;
    err = billord__price_amount(&price, args->period_unit, args->period, &order.amount_micros);
    billord_instance renewed;
    if (err == BILLORD_OK) {
        err = billord__order_effect_plan(&order, &instance, ctx->now_ms, &renewed);
    }
    if (err != BILLORD_OK) {
        return err;                         /* before any write: this command only */
    }
    BILLORD_ASSERT(renewed.expires_ms == expires_ms);
    bool paid = false;
    payment_split split;
    err = billord__payment_take(ctx, instance.account, instance.product, order.amount_micros,
                                &paid, &split);
    if (err != BILLORD_OK) {
        return err;
    }
    if (!paid) {
        /* No order exists for a renewal that could not be paid. */
        ctx->engine->next_order_id--;
        billord__outcome_error(outcome, BILLORD_API_NOT_ENOUGH_BALANCE, NULL);
        return BILLORD_OK;
    }
    billord__order_mark_paid(ctx, &order, &split);
    err = billord__store_order_put(ctx->store, ctx->txn, &order, true);
    if (err == BILLORD_OK) {
        err = billord__event_emit(ctx, "OrderCreated", &renewed, order.id, NULL);
    }
    if (err == BILLORD_OK) {
        err = billord__event_emit(ctx, "OrderPaid", &renewed, order.id, NULL);
    }
    if (err == BILLORD_OK) {
        err = billord__instance_save(ctx, &renewed);
    }
    if (err == BILLORD_OK) {
        billord__outcome_order(outcome, order.id);
    }
    return err;
}

const action_def billord__action_renew_instance = {
    .name = "RenewInstance",
    .is_read = false,
    .takes_token = true,
    .validate = renew_validate,
    .apply = renew_apply,
    .query = NULL,
};
