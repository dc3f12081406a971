/*
 * order_new.c: creating orders and applying a paid order's effect on its instance.
 *
 * Order ids come from one counter in the engine, advanced in command order, so they
 * are unique, increasing and identical under replay.
 */
#include <string.h>

#include <billord/timeutil.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

void billord__order_init(engine_ctx *ctx, const engine_request *request,
                         const billord_instance *instance, billord_order_kind kind,
                         billord_order *out_order)
{
    billord_engine *engine = ctx->engine;
    BILLORD_ASSERT(engine->next_order_id < BILLORD_ORDER_ID_LIMIT);
    memset(out_order, 0, sizeof *out_order);
    out_order->id = engine->next_order_id++;
    memcpy(out_order->account, instance->account, sizeof out_order->account);
    memcpy(out_order->instance, instance->id, sizeof out_order->instance);
    out_order->kind = kind;
    out_order->status = BILLORD_ORDER_UNPAID;
    out_order->created_ms = ctx->now_ms;
    if (request->client_token != NULL) {
        BILLORD_ASSERT(strlen(request->client_token) <= BILLORD_CLIENT_TOKEN_BYTES_MAX);
        strcpy(out_order->client_token, request->client_token);
    }
    memcpy(out_order->request_id, ctx->command->request_id, sizeof out_order->request_id);
}

void billord__order_mark_paid(const engine_ctx *ctx, billord_order *order,
                              const payment_split *split)
{
    BILLORD_ASSERT(order->status == BILLORD_ORDER_UNPAID);
    BILLORD_ASSERT(split->coupon_micros + split->balance_micros + split->credit_micros ==
                   order->amount_micros);
    order->status = BILLORD_ORDER_PAID;
    order->paid_ms = ctx->now_ms;
    order->coupon_paid_micros = split->coupon_micros;
    order->balance_paid_micros = split->balance_micros;
    order->credit_paid_micros = split->credit_micros;
}

void billord__outcome_order(billord_outcome *outcome, uint64_t order_id)
{
    billord__outcome_ok(outcome);
    outcome->has_order_id = true;
    outcome->order_id = order_id;
}

billord_err billord__order_effect_plan(const billord_order *order, const billord_instance *instance,
                                       int64_t paid_ms, billord_instance *out_instance)
{
    BILLORD_ASSERT(strcmp(order->instance, instance->id) == 0);
    billord_instance updated = *instance;
    int64_t expires_ms = 0;
    billord_err err;
    if (order->kind == BILLORD_ORDER_CHANGE_PAY_TYPE) {
        /* Pay-as-you-go becomes a subscription that runs from the payment. */
        err = billord_time_add_period(paid_ms, order->period_unit, order->period_count,
                                      &expires_ms);
        updated.charge_type = BILLORD_CHARGE_PREPAID;
    } else {
        /* A renewal counts from the current expiry, also when already expired. */
        err = billord_time_add_period(instance->expires_ms, order->period_unit,
                                      order->period_count, &expires_ms);
    }
    if (err != BILLORD_OK) {
        return err;
    }
    updated.expires_ms = expires_ms;
    if (updated.status == BILLORD_STATUS_EXPIRED || updated.status == BILLORD_STATUS_LOCKED ||
        updated.status == BILLORD_STATUS_FROZEN) {
        updated.status = BILLORD_STATUS_RUNNING;
    }
    *out_instance = updated;
    return BILLORD_OK;
}
