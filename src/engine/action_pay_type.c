/*
 * action_pay_type.c: ModifyDBInstancePayType (RDS, seed 003; SPEC section 3).
 *
 * Pay-as-you-go to subscription. The order is created in any case once the checks
 * pass; if the payment falls short it stays Unpaid (a due payment from a billing
 * change), the answer still carries its OrderId, and the instance stays PostPaid
 * until the order is paid.
 */
#include <string.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

static void pay_type_validate(engine_request *request, billord_outcome *outcome)
{
    const billord_command *command = request->command;
    pay_type_args *args = &request->as.pay_type;
    const char *instance_id = billord__param_get(command, "DBInstanceId");
    if (instance_id == NULL || instance_id[0] == '\0') {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "DBInstanceId");
        return;
    }
    const char *pay_type = billord__param_get(command, "PayType");
    if (pay_type == NULL) {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "PayType");
        return;
    }
    if (strcmp(pay_type, "Prepaid") != 0) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PAY_TYPE, NULL);
        return;
    }
    const char *period = billord__param_get(command, "Period");
    if (period == NULL) {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "Period");
        return;
    }
    if (strcmp(period, "Year") != 0 && strcmp(period, "Month") != 0) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PERIOD, NULL);
        return;
    }
    args->period_unit = period[0] == 'Y' ? BILLORD_PERIOD_YEAR : BILLORD_PERIOD_MONTH;
    const char *used_time_text = billord__param_get(command, "UsedTime");
    if (used_time_text == NULL) {
        used_time_text = "1";
    }
    uint64_t used_time = 0;
    uint64_t used_time_max = args->period_unit == BILLORD_PERIOD_YEAR ? 3 : 9;
    if (!billord__parse_uint(used_time_text, &used_time) || used_time < 1 ||
        used_time > used_time_max) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_USED_TIME, NULL);
        return;
    }
    if (!billord__param_client_token(command, &request->client_token, outcome)) {
        return;
    }
    args->instance_id = instance_id;
    args->used_time = (uint32_t)used_time;
    billord__canonical_add(&request->canonical, "DBInstanceId", instance_id);
    billord__canonical_add(&request->canonical, "PayType", pay_type);
    billord__canonical_add(&request->canonical, "Period", period);
    billord__canonical_add(&request->canonical, "UsedTime", used_time_text);
}

static bool pay_type_allowed(const billord_instance *instance, billord_outcome *outcome)
{
    if (instance->charge_type == BILLORD_CHARGE_PREPAID) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_DB_PAY_TYPE, NULL);
        return false;
    }
    if (instance->status != BILLORD_STATUS_RUNNING) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_DB_STATE, NULL);
        return false;
    }
    if (instance->unpaid_order_count > 0) {
        billord__outcome_error(outcome, BILLORD_API_INSTANCE_UNPAID_ORDER, NULL);
        return false;
    }
    return true;
}

/* Price, instance and account checks that read more state; false with the outcome set. */
static billord_err pay_type_load(engine_ctx *ctx, const billord_instance *instance,
                                 billord_price *price, bool *out_allowed,
                                 billord_outcome *outcome)
{
    *out_allowed = false;
    billord_err err = billord__store_price_get(ctx->store, ctx->txn, instance->product,
                                               instance->instance_type, price);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    if (price->phased_out) {
        billord__outcome_error(outcome, BILLORD_API_DB_CLASS_PHASED_OUT, NULL);
        return BILLORD_OK;
    }
    billord_account account;
    err = billord__store_account_get(ctx->store, ctx->txn, instance->account, &account);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    if (!account.payment_method) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PAYMENT_METHOD_MISSING, NULL);
        return BILLORD_OK;
    }
    *out_allowed = true;
    return BILLORD_OK;
}

static billord_err pay_type_apply(engine_ctx *ctx, engine_request *request,
                                  billord_outcome *outcome)
{
    const pay_type_args *args = &request->as.pay_type;
    billord_instance instance;
    billord_err err = billord__store_instance_get(ctx->store, ctx->txn, args->instance_id,
                                                  &instance);
    if (err == BILLORD_E_NOT_FOUND ||
        (err == BILLORD_OK && (strcmp(instance.account, ctx->command->account) != 0 ||
                               instance.product != BILLORD_PRODUCT_RDS))) {
        billord__outcome_error(outcome, BILLORD_API_DB_INSTANCE_NOT_FOUND, NULL);
        return BILLORD_OK;
    }
    if (err != BILLORD_OK) {
        return err;
    }
    if (!pay_type_allowed(&instance, outcome)) {
        return BILLORD_OK;
    }
    billord_price price;
    bool allowed = false;
    err = pay_type_load(ctx, &instance, &price, &allowed, outcome);
    if (err != BILLORD_OK || !allowed) {
        return err;
    }
    billord_order order;
    billord__order_init(ctx, request, &instance, BILLORD_ORDER_CHANGE_PAY_TYPE, &order);
    order.period_count = args->used_time;
    order.period_unit = args->period_unit;
    err = billord__price_amount(&price, args->period_unit, args->used_time, &order.amount_micros);
    billord_instance converted;
    if (err == BILLORD_OK) {
        err = billord__order_effect_plan(&order, &instance, ctx->now_ms, &converted);
    }
    if (err != BILLORD_OK) {
        return err;                         /* before any write: this command only */
    }
    bool paid = false;
    payment_split split = {0, 0, 0};
    err = billord__payment_take(ctx, instance.account, instance.product, order.amount_micros,
                                &paid, &split);
    if (err != BILLORD_OK) {
        return err;
    }
    if (paid) {
        billord__order_mark_paid(ctx, &order, &split);
    } else {
        /* A due payment: the instance stays PostPaid until the order is paid. */
        converted = instance;
        converted.unpaid_order_count++;
    }
    err = billord__store_order_put(ctx->store, ctx->txn, &order, true);
    if (err == BILLORD_OK) {
        err = billord__event_emit(ctx, "OrderCreated", &converted, order.id, NULL);
    }
    if (err == BILLORD_OK && paid) {
        err = billord__event_emit(ctx, "OrderPaid", &converted, order.id, NULL);
    }
    if (err == BILLORD_OK) {
        err = billord__instance_save(ctx, &converted);
    }
    if (err == BILLORD_OK) {
        billord__outcome_order(outcome, order.id);
    }
    return err;
}

const action_def billord__action_modify_pay_type = {
    .name = "ModifyDBInstancePayType",
    .is_read = false,
    .takes_token = true,
    .validate = pay_type_validate,
    .apply = pay_type_apply,
    .query = NULL,
};
