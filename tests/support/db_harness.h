/*
 * db_harness.h: a durable billord_db on a throw-away directory, for the durability suites
 * (group commit, recovery, crash and fault tests).
 */
#ifndef BILLORD_TESTS_DB_HARNESS_H
#define BILLORD_TESTS_DB_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <billord/db.h>

#include "support/tempdir.h"

#define CRASH_ACCOUNT "9000000000000009"
#define CRASH_INSTANCES 16u

/** Seed dir from a fixture (relative to the source tree) with the engine alone. */
void db_harness_seed(const char *dir, const char *fixture_path);

/** Open a db on dir with optional fs and archive; aborts on failure unless out_err. */
billord_db *db_harness_open(const char *dir, const billord_fs *fs, const char *archive_dir,
                            billord_db_recovery *out_info, billord_err *out_err);

/** Like db_harness_open with an LMDB mode and snapshot thresholds (0: defaults). */
billord_db *db_harness_open_mode(const char *dir, billord_lmdb_mode mode,
                                 uint64_t snapshot_log_bytes, billord_db_recovery *out_info,
                                 billord_err *out_err);

/** A RenewInstance of one week with a ClientToken; request id derived from token. */
billord_outcome db_harness_renew(billord_db *db, const char *instance, const char *token,
                                 int64_t now_ms);

/** Order count, from the store's summary. */
int64_t db_harness_order_count(billord_db *db);
/** The client token of an order ("" when none); false when the order does not exist. */
bool db_harness_order_token(billord_db *db, uint64_t order_id, char *token_out, size_t token_bytes);
/** The store's next order id. */
uint64_t db_harness_next_order_id(billord_db *db);

#endif
