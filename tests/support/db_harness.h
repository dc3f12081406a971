/*
 * db_harness.h: a durable billord_db on a throw-away directory, for the durability suites
 * (group commit, recovery, crash and fault tests).
 */
#ifndef BILLORD_TESTS_DB_HARNESS_H
#define BILLORD_TESTS_DB_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <billord/db.h>
#include <billord/fixture.h>

#include "support/tempdir.h"

#define CRASH_ACCOUNT "9000000000000009"
#define CRASH_INSTANCES 16u

/** Seed dir from a fixture (relative to the source tree) with the engine alone. */
void db_harness_seed(const char *dir, const char *fixture_path);

/** Parse a fixture (relative to the source tree); aborts on failure. Caller frees it. */
billord_fixture db_harness_fixture(const char *fixture_path);

/** The durability suites' per-test directory: a fresh one, seeded from
 *  tests/fixtures/crash.json. */
void db_harness_dir_open(char dir[TEMPDIR_PATH_BYTES]);
/** Remove it with everything inside, after giving back the permissions a test may have
 *  taken from it to make a step fail. */
void db_harness_dir_close(const char *dir);

/*
 * A durability suite: `dir` (db_harness_dir_open before each test, db_harness_dir_close
 * after it) and TestSuite(suite_name) with a 120 s timeout. Write it once at file scope,
 * after <criterion/criterion.h>.
 * Statements given after the name run first in the teardown, e.g. to disarm the suite's
 * fault injector:
 *
 *   DB_HARNESS_SUITE(store_faults, faulty_lmdb_reset());
 */
#define DB_HARNESS_SUITE(suite_name, ...)                                                  \
    static char dir[TEMPDIR_PATH_BYTES];                                                   \
    static void db_harness_suite_init(void)                                                \
    {                                                                                      \
        db_harness_dir_open(dir);                                                          \
    }                                                                                      \
    static void db_harness_suite_fini(void)                                                \
    {                                                                                      \
        __VA_ARGS__;                                                                       \
        db_harness_dir_close(dir);                                                         \
    }                                                                                      \
    TestSuite(suite_name, .init = db_harness_suite_init, .fini = db_harness_suite_fini,    \
              .timeout = 120)

/** Replace the tree at to with a copy of the tree at from (cp -a): to save a state directory
 *  and put it back, as a store that lost its last commits. */
void db_harness_copy_tree(const char *from, const char *to);

/** The machine booted again: dir's recorded boot id becomes another machine boot's
 *  (a snapshot-mode db compares it with this boot's at open). */
void db_harness_reboot(const char *dir);

/** Make this thread subject to file permissions even as root (on: drop the effective
 *  DAC capabilities; off: take them back from the permitted set). */
void db_harness_permission_checks(bool on);

/** Open a db on dir with optional fs and archive; aborts on failure unless out_err. */
billord_db *db_harness_open(const char *dir, const billord_fs *fs, const char *archive_dir,
                            billord_db_recovery *out_info, billord_err *out_err);

/** Like db_harness_open with an LMDB mode and snapshot thresholds (0: defaults). */
billord_db *db_harness_open_mode(const char *dir, billord_lmdb_mode mode,
                                 uint64_t snapshot_log_bytes, billord_db_recovery *out_info,
                                 billord_err *out_err);

/** db_harness_open of dir is refused: no db, err, and (reason not NULL) the reason in the
 *  error text. out_info (may be NULL) gets what recovery reported. */
void db_harness_expect_refused_open(const char *dir, billord_err err, const char *reason,
                                    billord_db_recovery *out_info);

/** A RenewInstance of one week with a ClientToken; request id derived from token. */
billord_outcome db_harness_renew(billord_db *db, const char *instance, const char *token,
                                 int64_t now_ms);

/** count renewals of instance (db_harness_renew) with the tokens "<prefix>-<i>", i from 0;
 *  returns how many were acknowledged (BILLORD_API_OK). */
int db_harness_renew_many(billord_db *db, const char *instance, const char *prefix, int count,
                          int64_t now_ms);

/** Order count, from the store's summary. */
int64_t db_harness_order_count(billord_db *db);
/** The client token of an order ("" when none); false when the order does not exist. */
bool db_harness_order_token(billord_db *db, uint64_t order_id, char *token_out, size_t token_bytes);
/** The store's next order id. */
uint64_t db_harness_next_order_id(billord_db *db);

#endif
