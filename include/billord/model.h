/*
 * billord/model.h: the records of billord's state, as plain value structs.
 *
 * These are what the store reads and writes (msgpack-encoded, docs/store-layout.md),
 * what a fixture file loads (docs/fixtures.md) and what the engine reasons on.
 * Strings are NUL-terminated in fixed arrays sized by billord/limits.h; money is
 * int64 micro-units; times are int64 ms since the epoch, UTC.
 */
#ifndef BILLORD_MODEL_H
#define BILLORD_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <billord/limits.h>

typedef enum billord_product {
    BILLORD_PRODUCT_ECS = 1,
    BILLORD_PRODUCT_RDS = 2,
    BILLORD_PRODUCT_HSS = 3,
} billord_product;

typedef enum billord_charge_type {
    BILLORD_CHARGE_PREPAID = 1,
    BILLORD_CHARGE_POSTPAID = 2,
} billord_charge_type;

typedef enum billord_instance_status {
    BILLORD_STATUS_RUNNING = 1,
    BILLORD_STATUS_STOPPED = 2,
    BILLORD_STATUS_EXPIRED = 3,
    BILLORD_STATUS_LOCKED = 4,
    BILLORD_STATUS_FROZEN = 5,
    BILLORD_STATUS_RELEASED = 6,
} billord_instance_status;

typedef enum billord_renewal_status {
    BILLORD_RENEWAL_NORMAL = 1,
    BILLORD_RENEWAL_AUTO = 2,       /* "AutoRenewal" */
    BILLORD_RENEWAL_NOT = 3,        /* "NotRenewal" */
} billord_renewal_status;

typedef enum billord_period_unit {
    BILLORD_PERIOD_WEEK = 1,
    BILLORD_PERIOD_MONTH = 2,
    BILLORD_PERIOD_YEAR = 3,
} billord_period_unit;

typedef enum billord_order_kind {
    BILLORD_ORDER_RENEW = 1,
    BILLORD_ORDER_AUTO_RENEW = 2,
    BILLORD_ORDER_CHANGE_PAY_TYPE = 3,
} billord_order_kind;

typedef enum billord_order_status {
    BILLORD_ORDER_UNPAID = 1,
    BILLORD_ORDER_PAID = 2,
    BILLORD_ORDER_CANCELLED = 3,
} billord_order_status;

/* Product bit for coupon scopes: (1u << product). */
#define BILLORD_PRODUCT_BIT(product) (1u << (unsigned)(product))

typedef struct billord_access_key {
    char id[BILLORD_ACCESS_KEY_ID_BYTES_MAX + 1];
    char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1];
} billord_access_key;

typedef struct billord_account {
    char id[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    int64_t balance_micros;             /* what is left */
    int64_t balance_initial_micros;     /* as seeded: = balance + balance paid out */
    int64_t credit_limit_micros;
    int64_t credit_used_micros;         /* credit paid out so far; <= limit */
    bool credit_payment;                /* credit may be used */
    bool payment_method;                /* the account has a payment method */
    uint32_t access_key_count;
    billord_access_key access_keys[BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX];
} billord_account;

typedef struct billord_coupon {
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char id[BILLORD_COUPON_ID_BYTES_MAX + 1];
    int64_t amount_micros;              /* what is left; only shrinks */
    int64_t amount_initial_micros;
    int64_t expires_ms;                 /* usable while now < expires_ms */
    uint32_t product_mask;              /* BILLORD_PRODUCT_BIT of each product */
} billord_coupon;

typedef struct billord_price {
    billord_product product;
    char instance_type[BILLORD_INSTANCE_TYPE_BYTES_MAX + 1];
    int64_t week_micros;
    int64_t month_micros;
    int64_t year_micros;
    bool phased_out;
} billord_price;

typedef struct billord_instance {
    char id[BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    billord_product product;
    char region[BILLORD_REGION_BYTES_MAX + 1];
    char instance_type[BILLORD_INSTANCE_TYPE_BYTES_MAX + 1];
    billord_charge_type charge_type;
    billord_instance_status status;
    int64_t expires_ms;                 /* 0 for a PostPaid instance without expiry */
    bool locked_for_security;
    bool has_dedicated_host;            /* dedicated_host_expires is set */
    int64_t dedicated_host_expires_ms;
    billord_renewal_status renewal_status;
    uint32_t auto_renew_duration;
    billord_period_unit auto_renew_period_unit;   /* MONTH or YEAR */
    uint32_t unpaid_order_count;        /* open (Unpaid) orders on this instance */
    /* Lifecycle bookkeeping (docs/lifecycle.md). */
    uint32_t charge_days_before;        /* 0: the product's default (HSS: 1..7 allowed) */
    int64_t lifecycle_expires_ms;       /* the expiry the fields below refer to */
    uint32_t reminders_sent_mask;       /* BILLORD_REMINDER_* sent for that expiry */
    bool auto_renew_attempted;          /* an AutoRenew order was made for that expiry */
    uint64_t auto_renew_order_id;       /* the open (Unpaid) AutoRenew order, 0: none */
    int64_t schedule_due_ms;            /* this instance's row in the schedule, 0: none */
    int64_t auto_renew_from_ms;         /* when AutoRenewal was last switched on, 0: always */
} billord_instance;

/* Reminder bits of billord_instance.reminders_sent_mask. */
#define BILLORD_REMINDER_7_DAYS 0x1u
#define BILLORD_REMINDER_3_DAYS 0x2u
#define BILLORD_REMINDER_1_DAY 0x4u
#define BILLORD_REMINDER_NOT_RENEWAL 0x8u

typedef struct billord_order {
    uint64_t id;
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char instance[BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    billord_order_kind kind;
    uint32_t period_count;
    billord_period_unit period_unit;
    int64_t amount_micros;
    int64_t coupon_paid_micros;
    int64_t balance_paid_micros;
    int64_t credit_paid_micros;
    billord_order_status status;
    int64_t created_ms;
    int64_t paid_ms;                    /* 0 while not paid */
    int64_t cancelled_ms;               /* 0 while not cancelled */
    char client_token[BILLORD_CLIENT_TOKEN_BYTES_MAX + 1];   /* "" when none */
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];          /* "" for seeded orders */
    /* AutoRenew orders: the retry schedule, fixed when the order is created. */
    int64_t first_attempt_ms;           /* 0 for other kinds */
    int64_t attempts_until_ms;          /* no attempt at or after this time (the expiry) */
    uint32_t attempt_count;             /* payment attempts made */
} billord_order;

#define BILLORD_EVENT_KIND_BYTES_MAX 32u
#define BILLORD_EVENT_DETAIL_BYTES_MAX 64u

/* One outbox event (docs/lifecycle.md): read by notifiers through a cursor (seq). */
typedef struct billord_event {
    uint64_t seq;                       /* 1, 2, ... in the order the engine emitted them */
    char kind[BILLORD_EVENT_KIND_BYTES_MAX + 1];     /* "ExpiryReminder", "Expired", ... */
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char instance[BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    int64_t at_ms;                      /* the (command) time it was emitted */
    uint64_t order_id;                  /* 0: none */
    char detail[BILLORD_EVENT_DETAIL_BYTES_MAX + 1]; /* e.g. "days_before=3", "attempt=2" */
} billord_event;

/* Names on the wire and in fixtures ("ecs", "PrePaid", "Running", ...). */
const char *billord_product_name(billord_product product);
const char *billord_charge_type_name(billord_charge_type charge_type);
const char *billord_instance_status_name(billord_instance_status status);
const char *billord_renewal_status_name(billord_renewal_status status);
const char *billord_period_unit_name(billord_period_unit unit);
const char *billord_order_kind_name(billord_order_kind kind);
const char *billord_order_status_name(billord_order_status status);

/* Parsers of the same names (exact, case-sensitive); false when unknown. */
bool billord_product_parse(const char *text, billord_product *out);
bool billord_charge_type_parse(const char *text, billord_charge_type *out);
bool billord_instance_status_parse(const char *text, billord_instance_status *out);
bool billord_renewal_status_parse(const char *text, billord_renewal_status *out);
bool billord_period_unit_parse(const char *text, billord_period_unit *out);
bool billord_order_kind_parse(const char *text, billord_order_kind *out);
bool billord_order_status_parse(const char *text, billord_order_status *out);

#endif
