/*
 * replay_fixture.h: what the replay, digest and verify suites (test_replay, test_cov_replay_*)
 * share: a throw-away directory with a data directory path in it, replays run in-process
 * with their output captured, the digest and summary-table look-ups, data directories
 * seeded from fixtures/demo.json (by the engine alone, or as a durable db with a log),
 * the problems a verify reports, raw LMDB writes into a store (to plant faults) and the
 * damage the log tests do to a log.
 *
 * Nothing here calls faulty_lmdb or faulty_alloc: a suite linking this file does not get
 * their interposers through it (each suite that arms them resets them in its own .fini).
 */
#ifndef BILLORD_TESTS_REPLAY_FIXTURE_H
#define BILLORD_TESTS_REPLAY_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <lmdb.h>
#include <msgpack.h>

#include <billord/db.h>
#include <billord/engine.h>
#include <billord/replay.h>

#include "store/store.h"
#include "support/tempdir.h"

#define REPLAY_DEMO_FIXTURE "fixtures/demo.json"
#define REPLAY_CLOCK_MS 1795305600000LL            /* the demo fixture's clock */
#define REPLAY_CLOCK_MS_TEXT "1795305600000"       /* the same, for a request log line */
#define REPLAY_MAIN_ACCOUNT "1234567890123456"
#define REPLAY_MAP_BYTES (64ULL << 20)

/* ---- the suite's directory ------------------------------------------------------------- */

/** A fresh directory per test (made by replay_fixture_setup, removed by _teardown). */
extern char replay_dir[TEMPDIR_PATH_BYTES];
/** replay_dir/data: a data directory path, not created. */
extern char replay_data[TEMPDIR_PATH_BYTES];

/** A suite's .init: makes replay_dir and names replay_data. */
void replay_fixture_setup(void);
/** A suite's .fini (or part of it): removes replay_dir. */
void replay_fixture_teardown(void);

/* ---- one request log line --------------------------------------------------------------- */

/** Expect billord_replay_line_parse() to refuse text with code and an error text holding
 *  part, leaving the line zeroed. */
void replay_expect_line_refused(const char *text, billord_err code, const char *part);

/* ---- replays ----------------------------------------------------------------------------- */

typedef struct replay_args {
    const char *data_dir;
    const char *fixture;            /* relative to the source tree; NULL: none */
    const char *input;              /* one input; NULL: inputs and input_count */
    const char *const *inputs;
    size_t input_count;
    uint64_t map_bytes;             /* 0: REPLAY_MAP_BYTES */
    bool expect;
    bool strict;
    bool from_wal;
    FILE *record;                   /* the record output, or */
    const char *record_path;        /* a file created for it; both NULL: none */
    int progress;
} replay_args;

typedef struct replay_result {
    billord_err err;
    billord_replay_stats stats;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    char *out;                      /* what went to options.out (divergences) */
    char *err_text;                 /* what went to options.err (notes, progress) */
} replay_result;

/** billord_replay_run() with args, out and err captured; free with replay_result_free(). */
replay_result *replay_run(const replay_args *args);
/** replay_run(), asserting BILLORD_OK (the error text is the failure's message). */
replay_result *replay_run_ok(const replay_args *args);
void replay_result_free(replay_result *result);
/** A fresh data directory seeded from fixture (relative to the source tree) by a replay of
 *  nothing. */
void replay_seed_only(const char *data_dir, const char *fixture);

/** How many outcomes of (action, code) the summary table counted. */
uint64_t replay_count_of(const billord_replay_stats *stats, const char *action,
                         billord_api_code code);
/** The digest of a data directory; asserts it can be taken. */
void replay_digest_of(const char *data_dir, char hex[BILLORD_DIGEST_HEX_BYTES + 1]);
/** Assert that two data directories hold the same logical state (their digests). */
void replay_assert_same_digest(const char *data_dir_a, const char *data_dir_b, const char *why);

void replay_write_text(const char *path, const char *text);
size_t replay_count_lines(const char *text);
/** A log_line callback that drops the line. */
void replay_quiet(void *ctx, const char *line);

/* ---- seeded data directories ----------------------------------------------------------- */

/* A RenewInstance with a ClientToken; its command points into it (do not copy it). */
typedef struct replay_renewal {
    char token[64];
    billord_param params[4];
    billord_command command;
} replay_renewal;

/** A renewal of instance for account by one period (unit: NULL for the default month) with
 *  ClientToken token, at REPLAY_CLOCK_MS + n, with a request id made from n. */
void replay_renewal_init(replay_renewal *renewal, const char *account, const char *instance,
                         const char *unit, const char *token, uint32_t n);

/** An engine on data_dir seeded from fixture_path (a full path); close it when done. */
billord_engine *replay_engine_seeded(const char *data_dir, const char *fixture_path);
/** A durable db on data_dir (created, as archive_dir when not NULL) seeded from the demo
 *  fixture; 0 segment_bytes or map_bytes: the defaults. Close it when done. */
billord_db *replay_db_seeded(const char *data_dir, const char *archive_dir, uint64_t segment_bytes,
                             uint64_t map_bytes);
/** replay_db_seeded() and `renewals` acknowledged weekly renewals of i-acc0001 with tokens
 *  "log-N", each one log record, then closed. */
void replay_make_db(const char *data_dir, uint32_t renewals, uint64_t segment_bytes);

/* ---- a log -------------------------------------------------------------------------------- */

typedef struct replay_last_record {
    char segment[TEMPDIR_PATH_BYTES];
    uint64_t offset;                /* where the last record's header starts */
    uint64_t end;                   /* where it ends */
    uint64_t lsn;
    uint64_t records;               /* how many the log holds */
} replay_last_record;

/** The last record of the log in wal_dir; asserts there is one. */
replay_last_record replay_find_last_record(const char *wal_dir);
/** Half a record header after the last record: a write never acknowledged. */
void replay_tear_tail(const replay_last_record *last);
/** Flip a byte inside the payload of the first record of wal_dir: its checksum fails. */
void replay_flip_first_record_byte(const char *wal_dir);
/** Append a record that is msgpack but not a batch (it holds msgpack's never-used byte);
 *  returns its LSN. */
uint64_t replay_append_not_a_batch(const char *wal_dir);

/* ---- verify ------------------------------------------------------------------------------- */

typedef struct replay_found {
    uint64_t count;
    char text[16384];               /* every problem, one a line */
} replay_found;

/** A billord_verify_problem_fn adding to the replay_found at ctx. */
void replay_found_add(void *ctx, const char *text);
/** billord_verify() asserting BILLORD_OK and a report that counts what the callback got;
 *  report may be NULL. Free the result. */
replay_found *replay_verify(const char *data_dir, const char *archive_dir,
                            billord_verify_report *report);
/** Whether the first problem found holds text. */
bool replay_found_first_has(const replay_found *found, const char *text);

/* ---- raw LMDB writes into DATA_DIR/state ----------------------------------------------- */

typedef struct raw_store {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbis[BILLORD_DB_COUNT];
    msgpack_sbuffer buffer;         /* an encoder's output, for raw_put_encoded */
} raw_store;

/** One write transaction over every named database (created when missing). */
void raw_open(raw_store *r, const char *data_dir);
void raw_commit(raw_store *r);
void raw_put(raw_store *r, billord_db_id db, const void *key, size_t key_bytes, const void *value,
             size_t value_bytes);
/** Put the buffer's encoding. */
void raw_put_encoded(raw_store *r, billord_db_id db, const void *key, size_t key_bytes);
void raw_get(raw_store *r, billord_db_id db, const void *key, size_t key_bytes, MDB_val *out);
billord_account raw_account(raw_store *r, const char *id);
void raw_put_account(raw_store *r, const billord_account *account);

#endif
