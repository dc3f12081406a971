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

#include "core/fingerprint.h"
#include "store/store.h"

#define ENGINE_PENDING_SLOTS (2u * BILLORD_BATCH_COMMANDS_MAX)   /* power of two */
#define ENGINE_INTEGER_DIGITS_MAX 18u                           /* fits int64 */

static_assert((ENGINE_PENDING_SLOTS & (ENGINE_PENDING_SLOTS - 1)) == 0,
              "pending slots are a power of two");

/* Tokens of the commands of the batch being applied (not yet durable). */
typedef struct engine_pending {
    uint32_t used_count;
    uint64_t hashes[ENGINE_PENDING_SLOTS];          /* 0: empty slot */
    const billord_command *commands[ENGINE_PENDING_SLOTS];
    const char *tokens[ENGINE_PENDING_SLOTS];
} engine_pending;

struct billord_engine {
    billord_store *store;
    int64_t token_retention_ms;
    uint64_t next_order_id;                 /* writer's; persisted in meta per batch */
    int64_t clock_ms;                       /* latest command time applied */
    engine_pending pending;                 /* writer's */
    billord_coupon coupon_scratch[BILLORD_COUPONS_PER_ACCOUNT_MAX];  /* writer's */
    billord_token_record token_scratch;     /* writer's */
    struct engine_request *request_scratch; /* writer's */
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

/* ---- responses (json_time.c) ---- */
/** An RFC 3339 string for a time, or JSON null for 0 (none). */
json_t *billord__json_time_or_null(int64_t unix_ms);

#endif
