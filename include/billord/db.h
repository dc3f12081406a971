/*
 * billord/db.h: the durable engine: a bounded submit queue in front of one writer thread
 * that applies commands in batches (group commit) and answers only after the batch's
 * write-ahead log record is synced.
 *
 * Data flow of one write (docs/wal-format.md, "Group commit"):
 *   caller thread: validate parameters (pure) -> claim the ClientToken as in flight
 *                  (a duplicate is answered LastTokenProcessing at once) -> enqueue -> wait
 *   writer thread: drain the queue -> apply the batch in one LMDB write transaction ->
 *                  append the batch to the log -> fdatasync once -> commit LMDB with
 *                  applied_lsn -> complete every waiting caller
 *
 * Failure: a failed log write or sync, or an LMDB commit that fails after its record is
 * durable, is final (fail-stop): every later write is answered ServiceUnavailable until
 * the process restarts, and open() recovers from the log. A full queue answers
 * ServiceUnavailable at once (back-pressure), never a wait without end.
 *
 * Threads: billord_db_execute() from any number of threads; billord_db_engine() gives
 * the engine for reads (billord_engine_query, access keys, inspect) on any thread.
 * open, seed and close from one thread.
 */
#ifndef BILLORD_DB_H
#define BILLORD_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <billord/engine.h>
#include <billord/fixture.h>
#include <billord/fs.h>

#define BILLORD_DB_QUEUE_COMMANDS_DEFAULT 16384u
#define BILLORD_DB_QUEUE_COMMANDS_MAX (1u << 20)
#define BILLORD_DB_RETIRE_EVERY_BATCHES 256u
#define BILLORD_DB_SNAPSHOT_LOG_BYTES_DEFAULT (256ull << 20)
#define BILLORD_DB_SNAPSHOT_INTERVAL_MS_DEFAULT 600000u
#define BILLORD_DB_SNAPSHOT_POLL_MS 200u

typedef struct billord_db_config {
    const char *data_dir;               /* created if missing: state/ (LMDB) and wal/ */
    uint64_t map_bytes;                 /* 0: BILLORD_MAP_BYTES_DEFAULT */
    int64_t token_retention_ms;         /* 0: BILLORD_TOKEN_RETENTION_MS_DEFAULT */
    uint32_t queue_commands;            /* 0: BILLORD_DB_QUEUE_COMMANDS_DEFAULT */
    uint64_t wal_segment_bytes;         /* 0: the log's default */
    const char *archive_dir;            /* NULL: retired segments are deleted */
    billord_lmdb_mode lmdb_mode;
    const billord_lifecycle_policy *policy; /* NULL: the defaults (docs/lifecycle.md) */
    const billord_fs *fs;               /* the log's and the snapshots' files; NULL: POSIX;
                                           retained */
    /* BILLORD_LMDB_SNAPSHOT: a snapshot after this much log (0: the default) or this long
     * (0: the default) since the last one, whichever comes first. */
    uint64_t snapshot_log_bytes;
    uint32_t snapshot_interval_ms;
    bool wal_preparer_inline;           /* tests: prepare segments on the writer thread */
    /* Optional: one line of operator log output (no newline); NULL prints to stderr. */
    void (*log_line)(void *log_ctx, const char *line);
    void *log_ctx;
} billord_db_config;

/** What open found and did. */
typedef struct billord_db_recovery {
    uint64_t applied_lsn_before;        /* LMDB's applied LSN at open */
    uint64_t records_replayed;          /* log records applied by recovery */
    uint64_t commands_replayed;
    uint64_t applied_lsn_after;
    bool tail_truncated;                /* the log's torn tail was cut */
    bool rebuilt_from_snapshot;         /* an OS crash or power loss was detected: LMDB was
                                         * replaced by the snapshot, then the log replayed */
    char error_text[8192];              /* on failure: segment and offset, or the cause */
} billord_db_recovery;

typedef struct billord_db billord_db;

/**
 * Open (creating if needed) the data directory, recover from the log, start the writer.
 * @param[out] out_db    On BILLORD_OK, a handle for billord_db_close().
 * @param[out] out_info  May be NULL; what recovery did (error_text on failure).
 * @return BILLORD_OK; BILLORD_E_WAL_CORRUPT (damage other than a torn tail, or a log that
 *         does not reach back to the state: start-up stops, nothing is changed);
 *         BILLORD_E_CORRUPT (the state is damaged and there is no snapshot to rebuild it
 *         from); BILLORD_E_IO, BILLORD_E_DISK_FULL, BILLORD_E_MAP_FULL, BILLORD_E_SCHEMA,
 *         BILLORD_E_NOMEM, BILLORD_E_INVALID_ARGUMENT (a data directory path of
 *         4,032 bytes or more, among others).
 */
billord_err billord_db_open(const billord_db_config *config, billord_db **out_db,
                            billord_db_recovery *out_info);

/**
 * Load a fixture into an empty data directory (before any command). All or nothing.
 * @return BILLORD_OK, BILLORD_E_NOT_EMPTY, BILLORD_E_MAP_FULL, BILLORD_E_IO.
 */
billord_err billord_db_seed(billord_db *db, const billord_fixture *fixture);

/**
 * Execute one write command durably and wait for its outcome. Reads are answered too
 * (through the engine, without the queue). The outcome is always written:
 * LastTokenProcessing at once for a token in flight, ServiceUnavailable at once for a
 * full queue or after a fail-stop, otherwise what the engine decided, after its sync.
 * @return BILLORD_OK (see the outcome); BILLORD_E_QUEUE_FULL or BILLORD_E_WAL_FAILED
 *         (the outcome is ServiceUnavailable), BILLORD_E_CLOSED.
 * command must stay valid until the call returns. Read-action outcomes carry no fields:
 * use billord_engine_query() for those.
 */
billord_err billord_db_execute(billord_db *db, const billord_command *command,
                               billord_outcome *out_outcome);

#define BILLORD_DB_EXECUTE_MANY_MAX BILLORD_BATCH_COMMANDS_MAX

/**
 * Execute count commands (1..BILLORD_DB_EXECUTE_MANY_MAX) as billord_db_execute() would,
 * accepted in order, and wait once for all of them: for callers that hold several
 * independent commands at a time (replay, a batching gateway, the benchmark). They may
 * share a group commit or spread over several. Returns the first non-OK status of any
 * command (every outcome is written).
 */
billord_err billord_db_execute_many(billord_db *db, const billord_command *commands, size_t count,
                                    billord_outcome *out_outcomes);

/** The engine, for reads from any thread. Owned by db. */
billord_engine *billord_db_engine(billord_db *db);

/** Whether the db has failed (fail-stop); the reason goes to the log output. */
bool billord_db_failed(billord_db *db);

/** Counters for operators and benchmarks (approximate while running). */
typedef struct billord_db_stats {
    uint64_t batches;
    uint64_t commands;
    uint64_t synced_bytes;
    uint64_t batch_commands_max;
    uint64_t answered_in_flight;        /* LastTokenProcessing at submit */
    uint64_t snapshots;                 /* snapshots taken (BILLORD_LMDB_SNAPSHOT) */
    uint64_t rejected_queue_full;
} billord_db_stats;
void billord_db_stats_get(billord_db *db, billord_db_stats *out_stats);

/**
 * Stop accepting, drain every queued command (answering each after its sync), stop the
 * writer, sync and close. NULL is allowed.
 */
void billord_db_close(billord_db *db);

#endif
