/*
 * billord/engine.h: the deterministic engine (state in LMDB, the actions of SPEC
 * section 3, ClientToken idempotency, orders and payment).
 *
 * Shape: commands go in as *batches*; each batch is applied in one LMDB write
 * transaction and yields one outcome per command. Applying depends only on the
 * state and the commands (each carries its own time and request id), so the same
 * state and the same commands give the same outcomes and the same state: this is
 * what makes the write-ahead log a replayable command log.
 *
 * Threads: billord_engine_submit() and billord_engine_seed() are the writer's;
 * call them from one thread at a time. billord_engine_query() and
 * billord_engine_access_key_find() may be called from any number of threads at
 * once, also while a submit runs (they read in LMDB read transactions).
 */
#ifndef BILLORD_ENGINE_H
#define BILLORD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <billord/error.h>
#include <billord/fixture.h>
#include <billord/lifecycle.h>
#include <billord/limits.h>
#include <billord/model.h>

typedef struct billord_engine billord_engine;

typedef enum billord_command_kind {
    BILLORD_COMMAND_REQUEST = 1,    /* an API action with its parameters */
    BILLORD_COMMAND_TICK = 2,       /* time passes to now_ms (lifecycle) */
} billord_command_kind;

/** One request parameter. Both strings are NUL-terminated and owned by the caller. */
typedef struct billord_param {
    const char *name;
    const char *value;
} billord_param;

/**
 * A command. All pointers are the caller's and need only live until the call that
 * takes the command returns. request_id is the RequestId the answer will carry
 * (uppercase UUID); it is part of the command so that replay is byte-identical.
 */
typedef struct billord_command {
    billord_command_kind kind;
    int64_t now_ms;                         /* the command's time, ms since the epoch */
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];
    const char *account;                    /* the authenticated caller's account id */
    const char *action;                     /* "RenewInstance", ... */
    uint32_t param_count;                   /* <= BILLORD_PARAMS_MAX */
    const billord_param *params;            /* excludes none: the engine picks what it needs */
} billord_command;

/** The decided answer to one command, before it is rendered (see billord/render.h). */
typedef struct billord_outcome {
    billord_api_code code;                  /* BILLORD_API_OK or the error */
    char message[BILLORD_MESSAGE_BYTES_MAX];/* completed error message; "" on success */
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];
    bool has_order_id;
    uint64_t order_id;
    bool idempotent_replay;                 /* a stored answer to an earlier command */
    bool tick_more_due;                     /* a tick left due steps for the next tick (more
                                               instances than one tick takes, or an instance
                                               past BILLORD_LIFECYCLE_STEPS_MAX): tick again */
} billord_outcome;

/* How LMDB itself syncs (docs/durability.md, "LMDB mode"). */
typedef enum billord_lmdb_mode {
    /* Default. LMDB syncs its data pages at each commit and its meta page with the next
     * commit: integrity survives a power loss, which may only undo the last commit, and
     * the write-ahead log replays that. */
    BILLORD_LMDB_NOMETASYNC = 0,
    /* LMDB's full syncs at each commit (data and meta). Safe, slower. */
    BILLORD_LMDB_SYNC = 1,
    /* No LMDB syncs. Survives a killed process, NOT a power loss or OS crash: for the
     * benchmark's comparison only (billord-bench --lmdb nosync). */
    BILLORD_LMDB_NOSYNC_UNSAFE = 2,
    /* No LMDB syncs, made safe by the durable db (billord/db.h): synced snapshots of LMDB
     * beside the log, and a start-up that rebuilds from the snapshot and the log after an
     * OS crash or power loss (docs/durability.md, "Snapshot mode"). */
    BILLORD_LMDB_SNAPSHOT = 3,
} billord_lmdb_mode;

typedef struct billord_engine_config {
    const char *data_dir;                   /* created if missing */
    uint64_t map_bytes;                     /* 0: BILLORD_MAP_BYTES_DEFAULT */
    int64_t token_retention_ms;             /* 0: BILLORD_TOKEN_RETENTION_MS_DEFAULT */
    billord_lmdb_mode lmdb_mode;
    const billord_lifecycle_policy *policy; /* NULL: the defaults; copied at open. Replay
                                               must use the same policy as the original. */
} billord_engine_config;

/**
 * Open (creating if needed) the store in config->data_dir.
 * @param[out] out_engine  On BILLORD_OK, a handle for billord_engine_close().
 * @return BILLORD_OK, BILLORD_E_INVALID_ARGUMENT, BILLORD_E_IO, BILLORD_E_SCHEMA
 *         (another schema version), BILLORD_E_NOMEM.
 */
billord_err billord_engine_open(const billord_engine_config *config, billord_engine **out_engine);

/** Close; NULL is allowed. No call may be running on the handle. */
void billord_engine_close(billord_engine *engine);

/**
 * Load a parsed fixture into an empty store, in one transaction (all or nothing).
 * @return BILLORD_OK, BILLORD_E_NOT_EMPTY (the store already holds state),
 *         BILLORD_E_MAP_FULL, BILLORD_E_IO.
 */
billord_err billord_engine_seed(billord_engine *engine, const billord_fixture *fixture);

/**
 * Called after a batch is applied and before its LMDB transaction commits: the point where
 * the write-ahead log record is appended and synced (billord/db.h). It sets *out_applied_lsn
 * to the LSN the transaction records. Any status but BILLORD_OK aborts the batch.
 */
typedef struct billord_commit_hook {
    billord_err (*before_commit)(void *hook_ctx, const billord_command *commands, size_t count,
                                 uint64_t *out_applied_lsn);
    void *hook_ctx;
} billord_commit_hook;

/**
 * Apply a batch of write commands in one LMDB write transaction.
 * @param[in]  commands      count commands, 1..BILLORD_BATCH_COMMANDS_MAX.
 * @param[in]  applied_lsn   recorded in the same transaction (0: none) unless hook sets one.
 * @param[in]  hook          NULL, or called once after applying and before the commit.
 * @param[out] out_outcomes  count outcomes, one per command, in order.
 * @return BILLORD_OK when the batch committed (each outcome then says what happened to its
 *         command); on any other status nothing of the batch is stored and every outcome is
 *         InternalError or ServiceUnavailable: BILLORD_E_MAP_FULL, BILLORD_E_DISK_FULL,
 *         BILLORD_E_IO, or the hook's status. *out_hook_ran (may be NULL) says whether the
 *         hook returned BILLORD_OK, i.e. whether a failure came after the log had the batch.
 */
billord_err billord_engine_submit(billord_engine *engine, const billord_command *commands,
                                  size_t count, uint64_t applied_lsn,
                                  const billord_commit_hook *hook, billord_outcome *out_outcomes,
                                  bool *out_hook_ran);

/**
 * Check a command's parameters without reading state (pure). On false, *out_outcome holds
 * the parameter error (never memoized). On true, *out_client_token is the command's
 * ClientToken when its action takes one, else NULL. Unknown actions fail here.
 */
bool billord_engine_validate(const billord_command *command, billord_outcome *out_outcome,
                             const char **out_client_token);

/**
 * Answer a read action (billord_action_is_read()) from a read transaction.
 * @param[out] out_fields  On BILLORD_API_OK outcomes, a new JSON object with the
 *                         response fields after RequestId (caller json_decref()s);
 *                         NULL otherwise.
 * @return BILLORD_OK (the outcome says the answer), BILLORD_E_IO, BILLORD_E_NOMEM (out of
 *         memory: the fields could not be made whole; *out_fields is NULL and nothing is
 *         left allocated, never a partial answer).
 */
billord_err billord_engine_query(billord_engine *engine, const billord_command *command,
                                 billord_outcome *out_outcome, json_t **out_fields);

/** True for actions answered by billord_engine_query() (Describe*). */
bool billord_action_is_read(const char *action);
/** True for every action billord knows (read or write). */
bool billord_action_is_known(const char *action);

/**
 * Find the account and secret of an access key id (for signature checks).
 * @return BILLORD_OK, BILLORD_E_NOT_FOUND, BILLORD_E_IO.
 */
billord_err billord_engine_access_key_find(billord_engine *engine, const char *access_key_id,
                                           char account_out[BILLORD_ACCOUNT_ID_BYTES_MAX + 1],
                                           char secret_out[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1]);

/**
 * Write a consistent, compacted copy of the store to fd (mdb_env_copyfd2) and report the
 * applied LSN the copy holds at least (*out_applied_lsn). The caller syncs fd. Any thread; it
 * reads in its own read transaction and does not stop the writer.
 */
billord_err billord_engine_snapshot(billord_engine *engine, int fd, uint64_t *out_applied_lsn);

/** Force LMDB's data and meta pages to disk (mdb_env_sync); the writer's thread. */
billord_err billord_engine_sync(billord_engine *engine);

/**
 * Outbox events with seq > after_seq, in order, at most max_count, as a JSON array of
 * objects {seq, kind, account, instance, time, order_id, detail} (caller json_decref()s).
 * Any thread.
 * @param[out] out_events  On BILLORD_OK, the new array; NULL otherwise.
 * @return BILLORD_OK, BILLORD_E_NOMEM (out of memory: an event or a member of one could not
 *         be made; no array, never one short of an event or a member), BILLORD_E_CORRUPT,
 *         BILLORD_E_IO.
 */
billord_err billord_engine_events(billord_engine *engine, uint64_t after_seq, uint32_t max_count,
                                  json_t **out_events);

/** The LSN last applied to the store (0 when none). */
billord_err billord_engine_applied_lsn(billord_engine *engine, uint64_t *out_lsn);

/** The store's clock (the latest command time applied, or the fixture's clock). */
billord_err billord_engine_clock_ms(billord_engine *engine, int64_t *out_clock_ms);

typedef enum billord_inspect_kind {
    BILLORD_INSPECT_SUMMARY = 1,    /* id ignored: counts, clock, next order id, applied LSN */
    BILLORD_INSPECT_ACCOUNT = 2,    /* id: account id (with its coupons; secrets withheld) */
    BILLORD_INSPECT_INSTANCE = 3,   /* id: instance id */
    BILLORD_INSPECT_ORDER = 4,      /* id: decimal order id */
    BILLORD_INSPECT_TOKEN = 5,      /* id: "ACCOUNT:TOKEN" (split at the first ':') */
} billord_inspect_kind;

/**
 * Describe one record (or the whole store) as a JSON object, for operators.
 * @param[out] out_json  On BILLORD_OK, a new object (caller json_decref()s); NULL otherwise.
 * @return BILLORD_OK, BILLORD_E_NOT_FOUND, BILLORD_E_INVALID_ARGUMENT (a malformed id),
 *         BILLORD_E_NOMEM (out of memory: the object could not be made whole; none is
 *         answered, never one without a member), BILLORD_E_CORRUPT, BILLORD_E_IO.
 * Threads: any thread (a read transaction).
 */
billord_err billord_engine_inspect(billord_engine *engine, billord_inspect_kind kind,
                                   const char *id, json_t **out_json);

#endif
