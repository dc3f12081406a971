/*
 * lifecycle.c: the subscription lifecycle (docs/lifecycle.md): policies, the schedule
 * index, outbox events and the steps a Tick runs.
 *
 * Promise: an instance's schedule row always says when its next step is due; a tick runs
 * each due step once, at its own due time, in the same transaction as the events it emits.
 */
#include <stdio.h>
#include <string.h>

#include <billord/lifecycle.h>
#include <billord/timeutil.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

/* ---- policies and slots (pure) ----------------------------------------------------- */

void billord_lifecycle_policy_default(billord_lifecycle_policy *out_policy)
{
    memset(out_policy, 0, sizeof *out_policy);
    out_policy->products[BILLORD_PRODUCT_ECS] = (billord_product_policy){
        9, 8 * 60, 8 * 60, 1, BILLORD_STATUS_EXPIRED, 0, 15};
    out_policy->products[BILLORD_PRODUCT_RDS] = (billord_product_policy){
        3, 8 * 60, 8 * 60, 1, BILLORD_STATUS_LOCKED, 0, 15};
    out_policy->products[BILLORD_PRODUCT_HSS] = (billord_product_policy){
        7, 3 * 60, 8 * 60, 1, BILLORD_STATUS_EXPIRED, 15, 30};
}

static int64_t floor_div(int64_t value, int64_t divisor)
{
    int64_t quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

int64_t billord_lifecycle_slot_on_day_of(const billord_product_policy *policy, int64_t unix_ms)
{
    int64_t offset_ms = (int64_t)policy->utc_offset_minutes * BILLORD_MS_PER_MINUTE;
    int64_t local_day = floor_div(unix_ms + offset_ms, BILLORD_MS_PER_DAY);
    return local_day * BILLORD_MS_PER_DAY +
           (int64_t)policy->charge_local_minutes * BILLORD_MS_PER_MINUTE - offset_ms;
}

int64_t billord_lifecycle_slot_at_or_after(const billord_product_policy *policy, int64_t unix_ms)
{
    int64_t slot_ms = billord_lifecycle_slot_on_day_of(policy, unix_ms);
    return slot_ms >= unix_ms ? slot_ms : slot_ms + BILLORD_MS_PER_DAY;
}

int64_t billord_lifecycle_first_charge_ms(const billord_product_policy *policy,
                                          int64_t expires_ms, uint32_t days_before)
{
    uint32_t days = days_before != 0 ? days_before : policy->charge_days_before;
    return billord_lifecycle_slot_on_day_of(policy, expires_ms) -
           (int64_t)days * BILLORD_MS_PER_DAY;
}

const billord_product_policy *billord__policy_of(const billord_engine *engine,
                                                 billord_product product)
{
    BILLORD_ASSERT(product >= BILLORD_PRODUCT_ECS && product <= BILLORD_PRODUCT_HSS);
    return &engine->policy.products[product];
}

/* ---- the next step (pure) ---------------------------------------------------------- */

static const struct {
    uint32_t bit;
    uint32_t days_before;
} reminders[] = {{BILLORD_REMINDER_7_DAYS, 7}, {BILLORD_REMINDER_3_DAYS, 3}, {BILLORD_REMINDER_1_DAY, 1}};

static bool before_expiry(const billord_instance *instance)
{
    return instance->status == BILLORD_STATUS_RUNNING || instance->status == BILLORD_STATUS_STOPPED;
}

static bool has_lifecycle(const billord_instance *instance)
{
    return instance->charge_type == BILLORD_CHARGE_PREPAID && instance->expires_ms > 0 &&
           instance->status != BILLORD_STATUS_RELEASED;
}

static void consider(lifecycle_step *best, step_kind kind, int64_t at_ms, uint32_t detail)
{
    if (best->kind == STEP_NONE || at_ms < best->at_ms) {
        *best = (lifecycle_step){kind, at_ms, detail};
    }
}

int64_t billord__next_attempt_ms(const billord_product_policy *policy, const billord_order *order)
{
    int64_t next_ms = order->first_attempt_ms + (int64_t)order->attempt_count *
                                                    policy->retry_interval_days * BILLORD_MS_PER_DAY;
    return next_ms < order->attempts_until_ms ? next_ms : 0;
}

/* When the first AutoRenew charge for the current expiry would fall (0: none before T). */
static int64_t first_charge_ms(const billord_product_policy *policy,
                               const billord_instance *instance)
{
    int64_t first_ms = billord_lifecycle_first_charge_ms(policy, instance->expires_ms,
                                                         instance->charge_days_before);
    if (instance->auto_renew_from_ms > first_ms) {
        first_ms = billord_lifecycle_slot_at_or_after(policy, instance->auto_renew_from_ms);
    }
    return first_ms < instance->expires_ms ? first_ms : 0;
}

static void consider_before_expiry(const billord_product_policy *policy,
                                   const billord_instance *instance, const billord_order *open_order,
                                   lifecycle_step *best)
{
    int64_t expires_ms = instance->expires_ms;
    for (size_t i = 0; i < sizeof reminders / sizeof reminders[0]; i++) {
        if (instance->renewal_status == BILLORD_RENEWAL_NORMAL &&
            (instance->reminders_sent_mask & reminders[i].bit) == 0) {
            consider(best, STEP_REMIND, expires_ms - reminders[i].days_before * BILLORD_MS_PER_DAY,
                     reminders[i].bit);
        }
    }
    if (instance->renewal_status == BILLORD_RENEWAL_NOT &&
        (instance->reminders_sent_mask & BILLORD_REMINDER_NOT_RENEWAL) == 0) {
        consider(best, STEP_REMIND, expires_ms - 3 * BILLORD_MS_PER_DAY, BILLORD_REMINDER_NOT_RENEWAL);
    }
    if (open_order != NULL) {
        int64_t retry_ms = billord__next_attempt_ms(policy, open_order);
        if (retry_ms != 0) {
            consider(best, STEP_RETRY, retry_ms, 0);
        }
    } else if (instance->renewal_status == BILLORD_RENEWAL_AUTO && !instance->auto_renew_attempted) {
        int64_t charge_ms = first_charge_ms(policy, instance);
        if (charge_ms != 0) {
            consider(best, STEP_FIRST_CHARGE, charge_ms, 0);
        }
    }
    consider(best, STEP_EXPIRE, expires_ms, 0);
}

lifecycle_step billord__next_step(const billord_product_policy *policy,
                                  const billord_instance *instance, const billord_order *open_order)
{
    lifecycle_step best = {STEP_NONE, 0, 0};
    if (!has_lifecycle(instance)) {
        return best;
    }
    int64_t expires_ms = instance->expires_ms;
    if (before_expiry(instance)) {
        consider_before_expiry(policy, instance, open_order, &best);
        return best;
    }
    if (instance->status == BILLORD_STATUS_EXPIRED && policy->frozen_after_days > 0) {
        consider(&best, STEP_FREEZE, expires_ms + policy->frozen_after_days * BILLORD_MS_PER_DAY, 0);
    }
    consider(&best, STEP_RELEASE, expires_ms + policy->release_after_days * BILLORD_MS_PER_DAY, 0);
    return best;
}
