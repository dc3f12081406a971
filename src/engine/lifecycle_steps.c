/*
 * lifecycle_steps.c: what a Tick does to an instance (docs/lifecycle.md), the schedule
 * index and the outbox. Each step runs at its own due time: ctx->now_ms is set to it while
 * the step pays, records or emits, so a late tick still leaves the times the policy says.
 */
#include <stdio.h>
#include <string.h>

#include <billord/timeutil.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

billord_err billord__event_emit(engine_ctx *ctx, const char *kind, const billord_instance *instance,
                                uint64_t order_id, const char *detail)
{
    billord_event event;
    memset(&event, 0, sizeof event);
    event.seq = ctx->engine->next_event_seq++;
    snprintf(event.kind, sizeof event.kind, "%s", kind);
    memcpy(event.account, instance->account, sizeof event.account);
    memcpy(event.instance, instance->id, sizeof event.instance);
    event.at_ms = ctx->now_ms;
    event.order_id = order_id;
    snprintf(event.detail, sizeof event.detail, "%s", detail != NULL ? detail : "");
    return billord__store_event_put(ctx->store, ctx->txn, &event);
}

/* Load the instance's open AutoRenew order into *order; *out_open false when there is none. */
static billord_err open_auto_order(engine_ctx *ctx, const billord_instance *instance,
                                   billord_order *order, bool *out_open)
{
    *out_open = false;
    if (instance->auto_renew_order_id == 0) {
        return BILLORD_OK;
    }
    billord_err err = billord__store_order_get(ctx->store, ctx->txn, instance->auto_renew_order_id,
                                               order);
    if (err == BILLORD_OK && (order->status != BILLORD_ORDER_UNPAID ||
                              order->kind != BILLORD_ORDER_AUTO_RENEW)) {
        err = BILLORD_E_CORRUPT;
    }
    *out_open = err == BILLORD_OK;
    return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
}

/* Reminder windows already past when an expiry is first seen are not sent late. */
uint32_t billord__reminders_already_past(int64_t expires_ms, int64_t now_ms)
{
    uint32_t mask = 0;
    static const struct {
        uint32_t bit;
        int64_t days_before;
    } windows[] = {{BILLORD_REMINDER_7_DAYS, 7}, {BILLORD_REMINDER_3_DAYS, 3},
                   {BILLORD_REMINDER_1_DAY, 1}, {BILLORD_REMINDER_NOT_RENEWAL, 3}};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        if (expires_ms - windows[i].days_before * BILLORD_MS_PER_DAY < now_ms) {
            mask |= windows[i].bit;
        }
    }
    return mask;
}

billord_err billord__instance_save(engine_ctx *ctx, billord_instance *instance)
{
    if (instance->lifecycle_expires_ms != instance->expires_ms) {
        /* A new expiry: a new round of reminders and charges. */
        instance->lifecycle_expires_ms = instance->expires_ms;
        instance->reminders_sent_mask =
            billord__reminders_already_past(instance->expires_ms, ctx->now_ms);
        instance->auto_renew_attempted = false;
    }
    billord_order order;
    bool open = false;
    billord_err err = open_auto_order(ctx, instance, &order, &open);
    if (err != BILLORD_OK) {
        return err;
    }
    lifecycle_step step = billord__next_step(billord__policy_of(ctx->engine, instance->product),
                                             instance, open ? &order : NULL);
    int64_t due_ms = step.kind == STEP_NONE ? 0 : (step.at_ms > 0 ? step.at_ms : 1);
    if (due_ms != instance->schedule_due_ms) {
        if (instance->schedule_due_ms != 0) {
            err = billord__store_schedule_del(ctx->store, ctx->txn, instance->schedule_due_ms,
                                              instance->id);
        }
        if (err == BILLORD_OK && due_ms != 0) {
            err = billord__store_schedule_put(ctx->store, ctx->txn, due_ms, instance->id);
        }
        instance->schedule_due_ms = due_ms;
    }
    return err == BILLORD_OK ? billord__store_instance_put(ctx->store, ctx->txn, instance) : err;
}

billord_err billord__auto_order_cancel(engine_ctx *ctx, billord_instance *instance)
{
    billord_order order;
    bool open = false;
    billord_err err = open_auto_order(ctx, instance, &order, &open);
    if (err != BILLORD_OK || !open) {
        return err;
    }
    order.status = BILLORD_ORDER_CANCELLED;
    order.cancelled_ms = ctx->now_ms;
    BILLORD_ASSERT(instance->unpaid_order_count > 0);
    instance->unpaid_order_count--;
    instance->auto_renew_order_id = 0;
    err = billord__store_order_put(ctx->store, ctx->txn, &order, false);
    return err == BILLORD_OK ? billord__event_emit(ctx, "OrderCancelled", instance, order.id, NULL)
                             : err;
}

/* ---- charging ----------------------------------------------------------------------- */

static billord_err new_auto_order(engine_ctx *ctx, billord_instance *instance, billord_order *order)
{
    billord_price price;
    billord_err err = billord__store_price_get(ctx->store, ctx->txn, instance->product,
                                               instance->instance_type, &price);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    memset(order, 0, sizeof *order);
    BILLORD_ASSERT(ctx->engine->next_order_id < BILLORD_ORDER_ID_LIMIT);
    order->id = ctx->engine->next_order_id++;
    memcpy(order->account, instance->account, sizeof order->account);
    memcpy(order->instance, instance->id, sizeof order->instance);
    order->kind = BILLORD_ORDER_AUTO_RENEW;
    order->period_count = instance->auto_renew_duration;
    order->period_unit = instance->auto_renew_period_unit;
    order->status = BILLORD_ORDER_UNPAID;
    order->created_ms = ctx->now_ms;
    order->first_attempt_ms = ctx->now_ms;
    order->attempts_until_ms = instance->expires_ms;
    instance->auto_renew_attempted = true;
    err = billord__price_amount(&price, order->period_unit, order->period_count,
                                &order->amount_micros);
    return err;
}

/* One payment attempt of an AutoRenew order; the order and instance are written. */
static billord_err attempt_charge(engine_ctx *ctx, billord_instance *instance, billord_order *order,
                                  bool is_new)
{
    billord_instance renewed;
    billord_err err = billord__order_effect_plan(order, instance, ctx->now_ms, &renewed);
    if (err != BILLORD_OK) {
        return err;
    }
    order->attempt_count++;
    billord_account account;
    err = billord__store_account_get(ctx->store, ctx->txn, instance->account, &account);
    bool paid = false;
    payment_split split = {0, 0, 0};
    if (err == BILLORD_OK && account.payment_method) {
        err = billord__payment_take(ctx, instance->account, instance->product, order->amount_micros,
                                    &paid, &split);
    }
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    char detail[32];
    snprintf(detail, sizeof detail, "attempt=%u", order->attempt_count);
    if (!paid) {
        if (is_new) {
            instance->unpaid_order_count++;
            instance->auto_renew_order_id = order->id;
        }
        err = billord__store_order_put(ctx->store, ctx->txn, order, is_new);
        return err == BILLORD_OK ? billord__event_emit(ctx, "RenewalFailed", instance, order->id,
                                                       detail)
                                 : err;
    }
    billord__order_mark_paid(ctx, order, &split);
    if (!is_new) {
        BILLORD_ASSERT(renewed.unpaid_order_count > 0);
        renewed.unpaid_order_count--;
    }
    renewed.auto_renew_order_id = 0;
    *instance = renewed;
    err = billord__store_order_put(ctx->store, ctx->txn, order, is_new);
    if (err == BILLORD_OK) {
        err = billord__event_emit(ctx, "OrderPaid", instance, order->id, NULL);
    }
    return err == BILLORD_OK ? billord__event_emit(ctx, "RenewalSucceeded", instance, order->id, detail)
                             : err;
}

/* ---- one step ----------------------------------------------------------------------- */

static const char *reminder_kind(uint32_t bit, char *detail, size_t detail_bytes)
{
    int days = bit == BILLORD_REMINDER_7_DAYS ? 7 : bit == BILLORD_REMINDER_1_DAY ? 1 : 3;
    snprintf(detail, detail_bytes, "days_before=%d", days);
    return bit == BILLORD_REMINDER_NOT_RENEWAL ? "NonRenewalReminder" : "ExpiryReminder";
}

static billord_err run_step(engine_ctx *ctx, billord_instance *instance, const lifecycle_step *step,
                            billord_order *open_order, bool open)
{
    const billord_product_policy *policy = billord__policy_of(ctx->engine, instance->product);
    char detail[32];
    billord_err err = BILLORD_OK;
    switch (step->kind) {
    case STEP_REMIND:
        instance->reminders_sent_mask |= step->detail;
        return billord__event_emit(ctx, reminder_kind(step->detail, detail, sizeof detail), instance,
                                   0, detail);
    case STEP_FIRST_CHARGE:
        err = new_auto_order(ctx, instance, open_order);
        if (err == BILLORD_OK) {
            err = billord__event_emit(ctx, "OrderCreated", instance, open_order->id, NULL);
        }
        return err == BILLORD_OK ? attempt_charge(ctx, instance, open_order, true) : err;
    case STEP_RETRY:
        BILLORD_ASSERT(open);
        return attempt_charge(ctx, instance, open_order, false);
    case STEP_EXPIRE:
        err = billord__auto_order_cancel(ctx, instance);
        instance->status = policy->expired_status;
        return err == BILLORD_OK
                   ? billord__event_emit(ctx, policy->expired_status == BILLORD_STATUS_LOCKED
                                                  ? "Locked"
                                                  : "Expired",
                                         instance, 0, NULL)
                   : err;
    case STEP_FREEZE:
        instance->status = BILLORD_STATUS_FROZEN;
        return billord__event_emit(ctx, "Frozen", instance, 0, NULL);
    case STEP_RELEASE:
        instance->status = BILLORD_STATUS_RELEASED;
        return billord__event_emit(ctx, "Released", instance, 0, NULL);
    case STEP_NONE:
        break;
    }
    return BILLORD_OK;
}

/* Run every step of one instance due by tick_ms, each at its own time (at most
 * BILLORD_LIFECYCLE_STEPS_MAX of them), then save it. *out_capped: the limit was reached,
 * so steps may still be due; the instance's schedule row says when, and the next tick
 * takes them. */
static billord_err step_instance(engine_ctx *ctx, const char *instance_id, int64_t tick_ms,
                                 bool *out_capped)
{
    billord_instance instance;
    billord_err err = billord__store_instance_get(ctx->store, ctx->txn, instance_id, &instance);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    const billord_product_policy *policy = billord__policy_of(ctx->engine, instance.product);
    uint32_t round = 0;
    for (; round < BILLORD_LIFECYCLE_STEPS_MAX && err == BILLORD_OK; round++) {
        billord_order order;
        bool open = false;
        err = open_auto_order(ctx, &instance, &order, &open);
        lifecycle_step step = billord__next_step(policy, &instance, open ? &order : NULL);
        if (err != BILLORD_OK || step.kind == STEP_NONE || step.at_ms > tick_ms) {
            break;
        }
        ctx->now_ms = step.at_ms > 0 ? step.at_ms : tick_ms;
        err = run_step(ctx, &instance, &step, &order, open);
        ctx->now_ms = tick_ms;
        if (err == BILLORD_OK && instance.expires_ms != instance.lifecycle_expires_ms) {
            /* A renewal: start the new expiry's round from the step's time. */
            int64_t saved_ms = ctx->now_ms;
            ctx->now_ms = step.at_ms;
            err = billord__instance_save(ctx, &instance);
            ctx->now_ms = saved_ms;
        }
    }
    *out_capped = round == BILLORD_LIFECYCLE_STEPS_MAX;
    return err == BILLORD_OK ? billord__instance_save(ctx, &instance) : err;
}

billord_err billord__lifecycle_tick(engine_ctx *ctx, bool *out_more_due)
{
    char (*ids)[BILLORD_INSTANCE_ID_BYTES_MAX + 1] = ctx->engine->tick_ids;
    uint32_t count = 0;
    bool more = false;
    billord_err err = billord__store_schedule_due(ctx->store, ctx->txn, ctx->now_ms,
                                                  BILLORD_TICK_INSTANCES_MAX, ids, &count, &more);
    int64_t tick_ms = ctx->now_ms;
    for (uint32_t i = 0; i < count && err == BILLORD_OK; i++) {
        bool capped = false;
        err = step_instance(ctx, ids[i], tick_ms, &capped);
        more = more || capped;
    }
    ctx->now_ms = tick_ms;
    if (err == BILLORD_OK) {
        *out_more_due = more;
    }
    return err;
}

billord_err billord__lifecycle_view(engine_ctx *ctx, const billord_instance *instance,
                                    int64_t *out_next_attempt_ms, int64_t *out_lock_ms,
                                    int64_t *out_release_ms)
{
    *out_next_attempt_ms = 0;
    *out_lock_ms = 0;
    *out_release_ms = 0;
    if (instance->charge_type != BILLORD_CHARGE_PREPAID || instance->expires_ms <= 0 ||
        instance->status == BILLORD_STATUS_RELEASED) {
        return BILLORD_OK;
    }
    const billord_product_policy *policy = billord__policy_of(ctx->engine, instance->product);
    *out_lock_ms = instance->expires_ms;
    *out_release_ms = instance->expires_ms + policy->release_after_days * BILLORD_MS_PER_DAY;
    billord_order order;
    bool open = false;
    billord_err err = open_auto_order(ctx, instance, &order, &open);
    if (err != BILLORD_OK || instance->renewal_status != BILLORD_RENEWAL_AUTO ||
        (instance->status != BILLORD_STATUS_RUNNING && instance->status != BILLORD_STATUS_STOPPED)) {
        return err;
    }
    if (open) {
        *out_next_attempt_ms = billord__next_attempt_ms(policy, &order);
    } else {
        lifecycle_step step = billord__next_step(policy, instance, NULL);
        *out_next_attempt_ms = step.kind == STEP_FIRST_CHARGE ? step.at_ms : 0;
        if (step.kind != STEP_FIRST_CHARGE && !instance->auto_renew_attempted) {
            /* A reminder or nothing may come first; the charge is still planned. */
            int64_t charge_ms = billord_lifecycle_first_charge_ms(policy, instance->expires_ms,
                                                                  instance->charge_days_before);
            if (instance->auto_renew_from_ms > charge_ms) {
                charge_ms = billord_lifecycle_slot_at_or_after(policy, instance->auto_renew_from_ms);
            }
            *out_next_attempt_ms = charge_ms < instance->expires_ms ? charge_ms : 0;
        }
    }
    return BILLORD_OK;
}
