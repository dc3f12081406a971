/*
 * engine.c: the batch executor (billord/engine.h).
 *
 * Promise: a batch is applied in one LMDB write transaction, commands in order; a command
 * that fails before writing answers alone, a failure after writes fails the batch. A
 * ClientToken is claimed in the same transaction as the order and the effect it
 * produces (never check-then-insert across transactions), so no token can ever have
 * two orders. Nothing here reads a clock: every command carries its time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

#define ENGINE_PATH_BYTES_MAX 4096u

static const action_def *const actions[] = {
    &billord__action_renew_instance,   &billord__action_modify_auto_renew,
    &billord__action_describe_auto_renew, &billord__action_modify_pay_type,
    &billord__action_describe_orders,  &billord__action_pay_order,
    &billord__action_cancel_order,
};

const action_def *billord__action_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i]->name, name) == 0) {
            return actions[i];
        }
    }
    return NULL;
}

bool billord_action_is_read(const char *action)
{
    const action_def *def = billord__action_find(action);
    return def != NULL && def->is_read;
}

bool billord_action_is_known(const char *action)
{
    return billord__action_find(action) != NULL;
}

/* ---- open and close --------------------------------------------------------------- */

static billord_err make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? BILLORD_OK : BILLORD_E_IO;
    }
    return BILLORD_E_IO;
}

static billord_err load_meta(billord_engine *engine)
{
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    err = billord__store_meta_get_u64(engine->store, txn, "next_order_id", &engine->next_order_id);
    if (err == BILLORD_E_NOT_FOUND) {
        engine->next_order_id = BILLORD_ORDER_ID_FIRST;
        err = BILLORD_OK;
    }
    if (err == BILLORD_OK) {
        err = billord__store_meta_get_u64(engine->store, txn, "next_event_seq",
                                          &engine->next_event_seq);
        if (err == BILLORD_E_NOT_FOUND) {
            engine->next_event_seq = 1;
            err = BILLORD_OK;
        }
    }
    if (err == BILLORD_OK) {
        err = billord__store_meta_get_i64(engine->store, txn, "clock_ms", &engine->clock_ms);
        if (err == BILLORD_E_NOT_FOUND) {
            engine->clock_ms = 0;
            err = BILLORD_OK;
        }
    }
    mdb_txn_abort(txn);
    return err;
}

billord_err billord_engine_open(const billord_engine_config *config, billord_engine **out_engine)
{
    BILLORD_ASSERT(config != NULL && out_engine != NULL);
    if (config->data_dir == NULL || config->data_dir[0] == '\0' || config->token_retention_ms < 0) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    char state_dir[ENGINE_PATH_BYTES_MAX];
    size_t data_dir_bytes = strlen(config->data_dir);
    if (data_dir_bytes > sizeof state_dir - sizeof "/state") {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    memcpy(state_dir, config->data_dir, data_dir_bytes);
    memcpy(state_dir + data_dir_bytes, "/state", sizeof "/state");
    billord_err err = make_dir(config->data_dir);
    if (err == BILLORD_OK) {
        err = make_dir(state_dir);
    }
    if (err != BILLORD_OK) {
        return err;
    }
    billord_engine *engine = calloc(1, sizeof *engine);
    if (engine == NULL) {
        return BILLORD_E_NOMEM;
    }
    engine->request_scratch = malloc(sizeof *engine->request_scratch);
    if (engine->request_scratch == NULL) {
        free(engine);
        return BILLORD_E_NOMEM;
    }
    if (config->policy != NULL) {
        engine->policy = *config->policy;
    } else {
        billord_lifecycle_policy_default(&engine->policy);
    }
    engine->token_retention_ms = config->token_retention_ms != 0
                                     ? config->token_retention_ms
                                     : BILLORD_TOKEN_RETENTION_MS_DEFAULT;
    uint64_t map_bytes = config->map_bytes != 0 ? config->map_bytes : BILLORD_MAP_BYTES_DEFAULT;
    unsigned lmdb_flags = config->lmdb_mode == BILLORD_LMDB_SYNC ? 0u
                          : config->lmdb_mode == BILLORD_LMDB_NOSYNC_UNSAFE ? (unsigned)MDB_NOSYNC
                          : config->lmdb_mode == BILLORD_LMDB_SNAPSHOT
                              ? (unsigned)(MDB_NOSYNC | MDB_WRITEMAP)
                              : (unsigned)MDB_NOMETASYNC;
    err = billord__store_open(state_dir, map_bytes, lmdb_flags, &engine->store);
    if (err == BILLORD_OK) {
        err = load_meta(engine);
    }
    if (err != BILLORD_OK) {
        billord_engine_close(engine);
        return err;
    }
    *out_engine = engine;
    return BILLORD_OK;
}

void billord_engine_close(billord_engine *engine)
{
    if (engine == NULL) {
        return;
    }
    billord__store_close(engine->store);
    free(engine->request_scratch);
    free(engine);
}

/* ---- ClientToken handling --------------------------------------------------------- */

typedef enum token_verdict {
    TOKEN_NEW,          /* run the command and memoize its outcome */
    TOKEN_ANSWERED,     /* the outcome is decided (replay, mismatch, in flight) */
} token_verdict;

static void outcome_from_record(const billord_token_record *record, billord_outcome *outcome)
{
    billord_api_code code = billord_api_code_find(record->code_text, record->http_status);
    if (code == BILLORD_API_CODE_COUNT) {
        code = BILLORD_API_INTERNAL_ERROR;
    }
    outcome->code = code;
    memcpy(outcome->message, record->message, sizeof outcome->message);
    memcpy(outcome->request_id, record->request_id, sizeof outcome->request_id);
    outcome->has_order_id = record->order_id != 0;
    outcome->order_id = record->order_id;
    outcome->idempotent_replay = true;
}

static billord_err token_check(engine_ctx *ctx, const engine_request *request,
                               const uint8_t *canonical, size_t canonical_bytes,
                               const uint8_t fingerprint[BILLORD_FINGERPRINT_BYTES],
                               token_verdict *out_verdict, billord_outcome *outcome)
{
    const char *account = ctx->command->account;
    *out_verdict = TOKEN_ANSWERED;
    if (billord__pending_contains(&ctx->engine->pending, account, request->client_token)) {
        billord__outcome_error(outcome, BILLORD_API_LAST_TOKEN_PROCESSING, NULL);
        return BILLORD_OK;
    }
    billord_token_record *record = &ctx->engine->token_scratch;
    billord_err err = billord__store_token_get(ctx->store, ctx->txn, account,
                                               request->client_token, record);
    if (err == BILLORD_E_NOT_FOUND) {
        *out_verdict = TOKEN_NEW;
        err = BILLORD_OK;
    } else if (err == BILLORD_OK &&
               memcmp(record->fingerprint, fingerprint, BILLORD_FINGERPRINT_BYTES) == 0) {
        outcome_from_record(record, outcome);
    } else if (err == BILLORD_OK) {
        char name[BILLORD_PARAM_NAME_BYTES_MAX + 1];
        err = billord__canonical_first_difference(record->canonical, record->canonical_bytes,
                                                  canonical, canonical_bytes, name, sizeof name);
        if (err == BILLORD_E_NOT_FOUND) {
            /* Same parameters under another fingerprint: a stored hash is damaged. */
            err = BILLORD_E_CORRUPT;
        }
        if (err == BILLORD_OK) {
            billord__outcome_error(outcome, BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH, name);
        }
    }
    return err;
}

static billord_err token_store(engine_ctx *ctx, const engine_request *request,
                               const uint8_t *canonical, size_t canonical_bytes,
                               const uint8_t fingerprint[BILLORD_FINGERPRINT_BYTES],
                               const billord_outcome *outcome)
{
    billord_token_record *record = &ctx->engine->token_scratch;
    memcpy(record->fingerprint, fingerprint, BILLORD_FINGERPRINT_BYTES);
    BILLORD_ASSERT(canonical_bytes <= sizeof record->canonical);
    memcpy(record->canonical, canonical, canonical_bytes);
    record->canonical_bytes = (uint32_t)canonical_bytes;
    record->http_status = billord_api_code_status(outcome->code);
    snprintf(record->code_text, sizeof record->code_text, "%s",
             billord_api_code_text(outcome->code));
    memcpy(record->message, outcome->message, sizeof record->message);
    memcpy(record->request_id, outcome->request_id, sizeof record->request_id);
    record->order_id = outcome->has_order_id ? outcome->order_id : 0;
    record->created_ms = ctx->now_ms > 0 ? ctx->now_ms : 0;
    return billord__store_token_put(ctx->store, ctx->txn, ctx->command->account,
                                    request->client_token, record);
}

/* ---- one command ------------------------------------------------------------------ */

static void outcome_for_failure(billord_err err, billord_outcome *outcome)
{
    billord__outcome_error(outcome, billord_err_failure_code(err), NULL);
}

/*
 * Run apply on the batch transaction and memoize under the token. Actions do everything
 * that can fail (prices, new expiry) before their first write, so an error with nothing
 * written answers this command only. (A nested LMDB transaction per command would give
 * that for free, but LMDB allocates about 2.5 MiB for each one: measured at ~40 us per
 * command, more than the rest of the command.)
 */
static billord_err run_write(engine_ctx *ctx, const action_def *def, engine_request *request,
                             billord_outcome *outcome)
{
    uint8_t canonical[BILLORD_CANONICAL_BYTES_MAX];
    size_t canonical_bytes = 0;
    uint8_t fingerprint[BILLORD_FINGERPRINT_BYTES];
    bool tokened = def->takes_token && request->client_token != NULL;
    if (tokened) {
        billord_err err = billord__canonical_encode(&request->canonical, canonical,
                                                    sizeof canonical, &canonical_bytes);
        BILLORD_ASSERT(err == BILLORD_OK);     /* validated values always fit */
        billord__fingerprint(canonical, canonical_bytes, fingerprint);
        token_verdict verdict;
        err = token_check(ctx, request, canonical, canonical_bytes, fingerprint, &verdict,
                          outcome);
        if (err != BILLORD_OK) {
            outcome_for_failure(err, outcome);      /* a read failed: not memoized */
            return BILLORD_OK;
        }
        if (verdict == TOKEN_ANSWERED) {
            return BILLORD_OK;
        }
    }
    uint64_t next_order_id_before = ctx->engine->next_order_id;
    uint64_t next_event_seq_before = ctx->engine->next_event_seq;
    uint64_t puts_before = ctx->store->put_count;
    billord_err err = def->apply(ctx, request, outcome);
    /* Outcomes decided from state are memoized; failures of the machinery are not, and an
     * action reports those as a billord_err, never as a 5xx outcome of its own. */
    BILLORD_ASSERT(err != BILLORD_OK || billord_api_code_status(outcome->code) < 500);
    if (err == BILLORD_OK && tokened) {
        err = token_store(ctx, request, canonical, canonical_bytes, fingerprint, outcome);
    }
    if (err != BILLORD_OK && ctx->store->put_count == puts_before) {
        /* Nothing was written yet: only this command fails, the batch goes on. */
        ctx->engine->next_order_id = next_order_id_before;
        ctx->engine->next_event_seq = next_event_seq_before;
        outcome_for_failure(err, outcome);
        return BILLORD_OK;
    }
    if (err == BILLORD_OK && tokened) {
        billord__pending_add(&ctx->engine->pending, ctx->command, request->client_token);
    }
    /* A failure after writes leaves the batch transaction half-changed: the batch fails. */
    return err;
}

/* Time passes: run the lifecycle steps due by now. A failure after writes fails the batch. */
static billord_err run_tick(engine_ctx *ctx, billord_outcome *outcome)
{
    uint64_t puts_before = ctx->store->put_count;
    uint64_t next_order_id_before = ctx->engine->next_order_id;
    uint64_t next_event_seq_before = ctx->engine->next_event_seq;
    bool more_due = false;
    billord_err err = billord__lifecycle_tick(ctx, &more_due);
    if (err != BILLORD_OK && ctx->store->put_count == puts_before) {
        ctx->engine->next_order_id = next_order_id_before;
        ctx->engine->next_event_seq = next_event_seq_before;
        outcome_for_failure(err, outcome);
        return BILLORD_OK;
    }
    billord__outcome_ok(outcome);
    outcome->tick_more_due = more_due;
    return err;
}

/* An answer to command with nothing decided yet: its request id, no order, no replay. */
static void outcome_init(const billord_command *command, billord_outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    memcpy(outcome->request_id, command->request_id, sizeof outcome->request_id);
    outcome->request_id[BILLORD_REQUEST_ID_BYTES] = '\0';
}

static void command_init(const billord_command *command, engine_request *request,
                         billord_outcome *outcome)
{
    outcome_init(command, outcome);
    /* The argument union is large (100 instance ids): each validate fills what it uses. */
    request->command = command;
    request->client_token = NULL;
    request->canonical.pair_count = 0;
    /* A command without an account or action is refused by the caller as an unknown
     * action; the canonical form must not be what aborts on it first. */
    billord__canonical_add(&request->canonical, "Account",
                           command->account != NULL ? command->account : "");
    billord__canonical_add(&request->canonical, "Action",
                           command->action != NULL ? command->action : "");
}

/*
 * Apply one command inside the batch transaction. Returns a billord_err only when the
 * batch transaction itself can no longer be trusted (a nested transaction could not be
 * begun or committed); every other failure is this command's outcome.
 */
static billord_err apply_command(billord_engine *engine, MDB_txn *txn,
                                 const billord_command *command, billord_outcome *outcome)
{
    BILLORD_ASSERT(command->param_count <= BILLORD_PARAMS_MAX);
    engine_request *request = engine->request_scratch;
    command_init(command, request, outcome);
    if (command->now_ms > engine->clock_ms) {
        engine->clock_ms = command->now_ms;
    }
    engine_ctx ctx = {engine, engine->store, txn, command, command->now_ms};
    billord_err err = BILLORD_OK;
    const action_def *def = command->kind == BILLORD_COMMAND_TICK
                                ? NULL
                                : billord__action_find(command->action);
    if (command->kind == BILLORD_COMMAND_TICK) {
        err = run_tick(&ctx, outcome);
    } else if (def == NULL || command->account == NULL) {
        billord__outcome_error(outcome, BILLORD_API_ACTION_NOT_FOUND, NULL);
    } else if (def->validate(request, outcome), billord__outcome_failed(outcome)) {
        /* A parameter error: nothing was decided, nothing is stored. */
    } else if (def->is_read) {
        json_t *fields = NULL;
        if (def->query(&ctx, request, outcome, &fields) != BILLORD_OK) {
            outcome_for_failure(BILLORD_E_IO, outcome);
        }
        json_decref(fields);
    } else {
        err = run_write(&ctx, def, request, outcome);
    }
    return err;
}

/* ---- batches ---------------------------------------------------------------------- */

static billord_err finish_batch(billord_engine *engine, MDB_txn *txn, uint64_t applied_lsn,
                                uint64_t next_order_id_before, uint64_t next_event_seq_before)
{
    billord_store *store = engine->store;
    uint32_t pruned = 0;
    billord_err err = billord__store_tokens_prune(store, txn,
                                                  engine->clock_ms - engine->token_retention_ms,
                                                  BILLORD_TOKENS_PRUNED_PER_BATCH_MAX, &pruned);
    if (err == BILLORD_OK && engine->next_order_id != next_order_id_before) {
        err = billord__store_meta_put_u64(store, txn, "next_order_id", engine->next_order_id);
    }
    if (err == BILLORD_OK && engine->next_event_seq != next_event_seq_before) {
        err = billord__store_meta_put_u64(store, txn, "next_event_seq", engine->next_event_seq);
    }
    if (err == BILLORD_OK) {
        err = billord__store_meta_put_i64(store, txn, "clock_ms", engine->clock_ms);
    }
    if (err == BILLORD_OK && applied_lsn != 0) {
        err = billord__store_meta_put_u64(store, txn, "applied_lsn", applied_lsn);
    }
    return err;
}

billord_err billord_engine_submit(billord_engine *engine, const billord_command *commands,
                                  size_t count, uint64_t applied_lsn,
                                  const billord_commit_hook *hook, billord_outcome *out_outcomes,
                                  bool *out_hook_ran)
{
    BILLORD_ASSERT(engine != NULL && commands != NULL && out_outcomes != NULL);
    BILLORD_ASSERT(count >= 1 && count <= BILLORD_BATCH_COMMANDS_MAX);
    uint64_t next_order_id_before = engine->next_order_id;
    uint64_t next_event_seq_before = engine->next_event_seq;
    int64_t clock_before_ms = engine->clock_ms;
    bool hook_ran = false;
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, false, &txn);
    billord__pending_clear(&engine->pending);
    for (size_t i = 0; i < count && err == BILLORD_OK; i++) {
        err = apply_command(engine, txn, &commands[i], &out_outcomes[i]);
    }
    if (err == BILLORD_OK && hook != NULL) {
        err = hook->before_commit(hook->hook_ctx, commands, count, &applied_lsn);
        hook_ran = err == BILLORD_OK;
    }
    if (err == BILLORD_OK) {
        err = finish_batch(engine, txn, applied_lsn, next_order_id_before, next_event_seq_before);
    }
    if (err == BILLORD_OK) {
        err = billord__store_err(mdb_txn_commit(txn));
        txn = NULL;
    }
    billord__pending_clear(&engine->pending);
    if (out_hook_ran != NULL) {
        *out_hook_ran = hook_ran;
    }
    if (err == BILLORD_OK) {
        return BILLORD_OK;
    }
    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    /* Nothing of the batch is stored: take back what it advanced and say so per command. */
    engine->next_order_id = next_order_id_before;
    engine->next_event_seq = next_event_seq_before;
    engine->clock_ms = clock_before_ms;
    for (size_t i = 0; i < count; i++) {
        memset(&out_outcomes[i], 0, sizeof out_outcomes[i]);
        memcpy(out_outcomes[i].request_id, commands[i].request_id, BILLORD_REQUEST_ID_BYTES + 1);
        outcome_for_failure(err, &out_outcomes[i]);
    }
    return err;
}

bool billord_engine_validate(const billord_command *command, billord_outcome *out_outcome,
                             const char **out_client_token)
{
    BILLORD_ASSERT(command != NULL && out_outcome != NULL && out_client_token != NULL);
    *out_client_token = NULL;
    engine_request *request = malloc(sizeof *request);
    if (request == NULL) {
        outcome_init(command, out_outcome);
        outcome_for_failure(BILLORD_E_NOMEM, out_outcome);
        return false;
    }
    command_init(command, request, out_outcome);
    const action_def *def = command->kind == BILLORD_COMMAND_TICK
                                ? NULL
                                : billord__action_find(command->action);
    bool valid = command->kind == BILLORD_COMMAND_TICK;
    if (!valid && (def == NULL || command->account == NULL)) {
        billord__outcome_error(out_outcome, BILLORD_API_ACTION_NOT_FOUND, NULL);
    } else if (!valid) {
        def->validate(request, out_outcome);
        valid = !billord__outcome_failed(out_outcome);
        if (valid && def->takes_token) {
            *out_client_token = request->client_token;
        }
    }
    free(request);
    return valid;
}

/* ---- reads ------------------------------------------------------------------------ */

billord_err billord_engine_query(billord_engine *engine, const billord_command *command,
                                 billord_outcome *out_outcome, json_t **out_fields)
{
    BILLORD_ASSERT(engine != NULL && command != NULL && out_outcome != NULL && out_fields != NULL);
    *out_fields = NULL;
    engine_request request;
    command_init(command, &request, out_outcome);
    const action_def *def = billord__action_find(command->action);
    if (def == NULL || command->account == NULL) {
        billord__outcome_error(out_outcome, BILLORD_API_ACTION_NOT_FOUND, NULL);
        return BILLORD_OK;
    }
    if (!def->is_read) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    def->validate(&request, out_outcome);
    if (billord__outcome_failed(out_outcome)) {
        return BILLORD_OK;
    }
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    engine_ctx ctx = {engine, engine->store, txn, command, command->now_ms};
    err = def->query(&ctx, &request, out_outcome, out_fields);
    mdb_txn_abort(txn);
    return err;
}

billord_err billord_engine_access_key_find(billord_engine *engine, const char *access_key_id,
                                           char account_out[BILLORD_ACCOUNT_ID_BYTES_MAX + 1],
                                           char secret_out[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1])
{
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    billord_access_key_record key;
    err = billord__store_access_key_get(engine->store, txn, access_key_id, &key);
    mdb_txn_abort(txn);
    if (err == BILLORD_OK) {
        memcpy(account_out, key.account, sizeof key.account);
        memcpy(secret_out, key.secret, sizeof key.secret);
    }
    return err;
}

billord_err billord_engine_snapshot(billord_engine *engine, int fd, uint64_t *out_applied_lsn)
{
    BILLORD_ASSERT(engine != NULL && fd >= 0 && out_applied_lsn != NULL);
    /* Read the applied LSN first: the copy, taken after, holds at least that much. */
    billord_err err = billord_engine_applied_lsn(engine, out_applied_lsn);
    if (err == BILLORD_OK) {
        err = billord__store_err(mdb_env_copyfd2(engine->store->env, fd, MDB_CP_COMPACT));
    }
    return err;
}

billord_err billord_engine_sync(billord_engine *engine)
{
    return billord__store_err(mdb_env_sync(engine->store->env, 1));
}

billord_err billord_engine_applied_lsn(billord_engine *engine, uint64_t *out_lsn)
{
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    err = billord__store_meta_get_u64(engine->store, txn, "applied_lsn", out_lsn);
    mdb_txn_abort(txn);
    if (err == BILLORD_E_NOT_FOUND) {
        *out_lsn = 0;
        err = BILLORD_OK;
    }
    return err;
}

billord_err billord_engine_clock_ms(billord_engine *engine, int64_t *out_clock_ms)
{
    *out_clock_ms = engine->clock_ms;
    return BILLORD_OK;
}
