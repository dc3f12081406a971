/*
 * engine_internal.h: what the engine's files share (batch executor, token table,
 * payment, one file per action). Not installed.
 */
#ifndef BILLORD_ENGINE_INTERNAL_H
#define BILLORD_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include <billord/engine.h>
#include <billord/lifecycle.h>

#include "core/fingerprint.h"
#include "store/store.h"

#define ENGINE_PENDING_SLOTS (2u * BILLORD_BATCH_COMMANDS_MAX)   /* power of two */
#define ENGINE_INTEGER_DIGITS_MAX 18u                           /* fits int64 */

static_assert((ENGINE_PENDING_SLOTS & (ENGINE_PENDING_SLOTS - 1)) == 0,
              "pending slots are a power of two");

/* Tokens of the commands of the batch being applied (not yet durable). */
typedef struct engine_pending {
    uint32_t used_count;
    const billord_command *commands[ENGINE_PENDING_SLOTS];
    const char *tokens[ENGINE_PENDING_SLOTS];       /* NULL: empty slot */
} engine_pending;

struct billord_engine {
    billord_store *store;
    billord_lifecycle_policy policy;
    uint64_t next_event_seq;                /* writer's; persisted in meta per batch */
    int64_t token_retention_ms;
    uint64_t next_order_id;                 /* writer's; persisted in meta per batch */
    int64_t clock_ms;                       /* latest command time applied */
    engine_pending pending;                 /* writer's */
    billord_coupon coupon_scratch[BILLORD_COUPONS_PER_ACCOUNT_MAX];  /* writer's */
    billord_token_record token_scratch;     /* writer's */
    struct engine_request *request_scratch; /* writer's */
    char tick_ids[BILLORD_TICK_INSTANCES_MAX][BILLORD_INSTANCE_ID_BYTES_MAX + 1]; /* writer's */
};

/* One write or read being applied. */
typedef struct engine_ctx {
    billord_engine *engine;
    billord_store *store;
    MDB_txn *txn;
    const billord_command *command;
    int64_t now_ms;
} engine_ctx;

/* Parsed, validated arguments of each action. */
typedef struct renew_args {
    const char *instance_id;
    uint32_t period;
    billord_period_unit period_unit;
} renew_args;

typedef struct auto_renew_args {
    uint32_t instance_count;
    char instance_ids[BILLORD_IDS_PER_CALL_MAX][BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    const char *region;
    billord_period_unit period_unit;
    uint32_t duration;
    billord_renewal_status renewal_status;
} auto_renew_args;

typedef struct pay_type_args {
    const char *instance_id;
    billord_period_unit period_unit;
    uint32_t used_time;
} pay_type_args;

typedef struct order_args {
    uint64_t order_id;
} order_args;

typedef struct describe_orders_args {
    const char *instance_id;                /* NULL: all */
    bool has_status;
    billord_order_status status;
    uint32_t page_number;
    uint32_t page_size;
} describe_orders_args;

typedef struct engine_request {
    const billord_command *command;
    const char *client_token;               /* NULL when the command has none */
    billord_canonical canonical;
    union {
        renew_args renew;
        auto_renew_args auto_renew;
        pay_type_args pay_type;
        order_args order;
        describe_orders_args describe_orders;
    } as;
} engine_request;

/*
 * An action: validate is pure (parameters only) and sets outcome->code on a bad
 * parameter; apply (writes) or query (reads) decides from state. They return a
 * billord_err only for I/O or corruption; business answers go into the outcome.
 */
typedef struct action_def {
    const char *name;
    bool is_read;
    bool takes_token;
    void (*validate)(engine_request *request, billord_outcome *outcome);
    billord_err (*apply)(engine_ctx *ctx, engine_request *request, billord_outcome *outcome);
    billord_err (*query)(engine_ctx *ctx, engine_request *request, billord_outcome *outcome,
                         json_t **out_fields);
} action_def;

const action_def *billord__action_find(const char *name);

extern const action_def billord__action_renew_instance;
extern const action_def billord__action_modify_auto_renew;
extern const action_def billord__action_describe_auto_renew;
extern const action_def billord__action_modify_pay_type;
extern const action_def billord__action_describe_orders;
extern const action_def billord__action_pay_order;
extern const action_def billord__action_cancel_order;

/* ---- outcomes (outcome.c) ---- */
void billord__outcome_ok(billord_outcome *outcome);
/** Set an error; arg completes a "%s" template (NULL for fixed messages). */
void billord__outcome_error(billord_outcome *outcome, billord_api_code code, const char *arg);
bool billord__outcome_failed(const billord_outcome *outcome);

/* ---- parameters (params.c) ---- */
/** The value of the first parameter called name, or NULL. */
const char *billord__param_get(const billord_command *command, const char *name);
/** Strict non-negative decimal: "0" or [1-9][0-9]{0,17}. */
bool billord__parse_uint(const char *text, uint64_t *out);
/** "true"/"false", case-insensitive. */
bool billord__parse_bool(const char *text, bool *out);
/** 1..BILLORD_CLIENT_TOKEN_BYTES_MAX printable ASCII characters (0x20..0x7e). */
bool billord__client_token_valid(const char *text);
/**
 * The optional ClientToken: on success *out_token is it or NULL; on a bad one the
 * outcome is set and false returned.
 */
bool billord__param_client_token(const billord_command *command, const char **out_token,
                                 billord_outcome *outcome);

/* ---- pricing and payment (payment.c) ---- */
billord_err billord__price_amount(const billord_price *price, billord_period_unit unit,
                                  uint32_t count, int64_t *out_amount_micros);

typedef struct payment_split {
    int64_t coupon_micros;
    int64_t balance_micros;
    int64_t credit_micros;
} payment_split;

/**
 * Pay amount_micros for product from account through the waterfall (unexpired coupons for
 * the product, earliest expiry first; balance; credit when enabled), as one step.
 * On *out_paid == false nothing was taken. The account record is reread and written back.
 */
billord_err billord__payment_take(engine_ctx *ctx, const char *account_id, billord_product product,
                                  int64_t amount_micros, bool *out_paid, payment_split *out_split);

/* ---- orders (order_new.c) ---- */
/** Mark order Paid now (ctx->now_ms) with the split the waterfall took. */
void billord__order_mark_paid(const engine_ctx *ctx, billord_order *order,
                              const payment_split *split);
/** A success outcome carrying order_id. */
void billord__outcome_order(billord_outcome *outcome, uint64_t order_id);
/** A new order with the next id, created now, for this command (request id, token). */
void billord__order_init(engine_ctx *ctx, const engine_request *request,
                         const billord_instance *instance, billord_order_kind kind,
                         billord_order *out_order);

/**
 * What paying order at paid_ms does to its instance (expiry, status, charge type), into
 * *out_instance. Pure, so that it can run before anything is written.
 * @return BILLORD_OK or BILLORD_E_OVERFLOW (*out_instance untouched).
 */
billord_err billord__order_effect_plan(const billord_order *order, const billord_instance *instance,
                                       int64_t paid_ms, billord_instance *out_instance);

/* ---- in-flight tokens (pending.c) ---- */
void billord__pending_clear(engine_pending *pending);
bool billord__pending_contains(const engine_pending *pending, const char *account,
                               const char *token);
/** Remember (command->account, token); token must live as long as the batch. */
void billord__pending_add(engine_pending *pending, const billord_command *command,
                          const char *token);

/* ---- lifecycle (lifecycle.c, lifecycle_steps.c) ---- */
typedef enum step_kind {
    STEP_NONE = 0,
    STEP_REMIND,            /* detail: the reminder bit */
    STEP_FIRST_CHARGE,
    STEP_RETRY,
    STEP_EXPIRE,
    STEP_FREEZE,
    STEP_RELEASE,
} step_kind;

typedef struct lifecycle_step {
    step_kind kind;
    int64_t at_ms;
    uint32_t detail;
} lifecycle_step;

const billord_product_policy *billord__policy_of(const billord_engine *engine,
                                                 billord_product product);
/** The next attempt of an AutoRenew order's fixed schedule (0: none left). */
int64_t billord__next_attempt_ms(const billord_product_policy *policy, const billord_order *order);
/** An instance's next lifecycle step (pure); open_order: its open AutoRenew order or NULL. */
lifecycle_step billord__next_step(const billord_product_policy *policy,
                                  const billord_instance *instance, const billord_order *open_order);
/**
 * Write an instance: reset its lifecycle bookkeeping when its expiry moved, recompute its
 * next step and move its schedule row. Every write of an instance goes through here.
 */
billord_err billord__instance_save(engine_ctx *ctx, billord_instance *instance);
/** The reminder bits whose windows (for expires_ms) lie before now_ms. */
uint32_t billord__reminders_already_past(int64_t expires_ms, int64_t now_ms);
/** Append an outbox event (at ctx->now_ms). */
billord_err billord__event_emit(engine_ctx *ctx, const char *kind, const billord_instance *instance,
                                uint64_t order_id, const char *detail);
/** Run every step due by ctx->now_ms for up to BILLORD_TICK_INSTANCES_MAX instances. */
billord_err billord__lifecycle_tick(engine_ctx *ctx, bool *out_more_due);
/** The visible schedule of an instance (0 where none): for Describe and inspect. */
billord_err billord__lifecycle_view(engine_ctx *ctx, const billord_instance *instance,
                                    int64_t *out_next_attempt_ms, int64_t *out_lock_ms,
                                    int64_t *out_release_ms);
/** Cancel an instance's open AutoRenew order (events included); instance is updated, not saved. */
billord_err billord__auto_order_cancel(engine_ctx *ctx, billord_instance *instance);

/* ---- responses (json_time.c) ---- */
/** An RFC 3339 string for a time, or JSON null for 0 (none). */
json_t *billord__json_time_or_null(int64_t unix_ms);

#endif
