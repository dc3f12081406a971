/*
 * billord/lifecycle.h: per-product lifecycle policies and the pure time arithmetic of the
 * subscription lifecycle (docs/lifecycle.md).
 */
#ifndef BILLORD_LIFECYCLE_H
#define BILLORD_LIFECYCLE_H

#include <stdint.h>

#include <billord/model.h>

#define BILLORD_TICK_INSTANCES_MAX 256u      /* instances one tick command steps through */
#define BILLORD_LIFECYCLE_STEPS_MAX 16u      /* steps one instance may take in one tick */
#define BILLORD_PRODUCT_SLOTS 4u             /* index by billord_product (1..3) */

typedef struct billord_product_policy {
    uint32_t charge_days_before;             /* first auto-renew charge: days before expiry */
    int32_t charge_local_minutes;            /* local time of day of each attempt */
    int32_t utc_offset_minutes;              /* the local time's offset from UTC (+480) */
    uint32_t retry_interval_days;            /* 1: daily */
    billord_instance_status expired_status;  /* EXPIRED or LOCKED at T */
    uint32_t frozen_after_days;              /* 0: no frozen stage */
    uint32_t release_after_days;
} billord_product_policy;

typedef struct billord_lifecycle_policy {
    billord_product_policy products[BILLORD_PRODUCT_SLOTS];
} billord_lifecycle_policy;

/** The defaults of SPEC section 6 (ECS, RDS, HSS). */
void billord_lifecycle_policy_default(billord_lifecycle_policy *out_policy);

/** The attempt slot (local time of day) on the local calendar day of unix_ms. */
int64_t billord_lifecycle_slot_on_day_of(const billord_product_policy *policy, int64_t unix_ms);

/** The first attempt slot at or after unix_ms. */
int64_t billord_lifecycle_slot_at_or_after(const billord_product_policy *policy, int64_t unix_ms);

/**
 * When an instance's first auto-renew charge falls: the slot on the local day
 * days_before days before the local date of expires_ms (days_before 0: the policy's).
 */
int64_t billord_lifecycle_first_charge_ms(const billord_product_policy *policy,
                                          int64_t expires_ms, uint32_t days_before);

#endif
