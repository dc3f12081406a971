/*
 * test_store_faults.c: LMDB failing under the durable db (tests/support/faulty_lmdb.h):
 * a store that cannot open, a batch whose commit fails, a store whose map is full. The
 * contract: the caller hears ServiceUnavailable, never a success that was not stored, and
 * after a restart every command that reached the log is applied exactly once.
 * (The store's own accessors under faults: test_cov_store.c.)
 */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>

#include <lmdb.h>

#include "support/db_harness.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL

DB_HARNESS_SUITE(store_faults, faulty_lmdb_reset());

Test(store_faults, an_environment_that_cannot_open_refuses_the_db)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_OPEN), EIO, false);
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, &err);
    cr_assert(db == NULL);
    cr_assert(eq(int, err, BILLORD_E_IO));
    cr_assert(eq(u64, faulty_lmdb_failures(), 1));
}

Test(store_faults, a_schema_row_that_cannot_be_read_refuses_the_db)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_GET), MDB_CORRUPTED, false);
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, &err);
    cr_assert(db == NULL);
    cr_assert(eq(int, err, BILLORD_E_CORRUPT));
    faulty_lmdb_reset();
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(db != NULL, "the refusal changed nothing on disk");
    billord_db_close(db);
}

Test(store_faults, a_batch_whose_lmdb_commit_fails_stops_the_db_and_a_restart_applies_it_once)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    int64_t const orders_before = db_harness_order_count(db);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), EIO, false);
    billord_outcome outcome = db_harness_renew(db, "i-crash0000", "commit-fails", NOW_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_assert(eq(u64, faulty_lmdb_failures(), 1));
    cr_assert(billord_db_failed(db));
    /* Fail-stop: later writes are refused although LMDB works again. */
    outcome = db_harness_renew(db, "i-crash0001", "after-the-failure", NOW_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_assert(eq(i64, db_harness_order_count(db), orders_before), "nothing was committed");
    billord_db_close(db);

    faulty_lmdb_reset();
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(not(billord_db_failed(db)));
    /* The logged batch was applied at open; its retry gets the memoized outcome. */
    cr_assert(eq(i64, db_harness_order_count(db), orders_before + 1));
    outcome = db_harness_renew(db, "i-crash0000", "commit-fails", NOW_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_OK));
    cr_assert(outcome.has_order_id);
    char token[64];
    cr_assert(db_harness_order_token(db, outcome.order_id, token, sizeof token));
    cr_assert(eq(str, token, "commit-fails"));
    cr_assert(eq(i64, db_harness_order_count(db), orders_before + 1));
    billord_db_close(db);
}

Test(store_faults, a_full_map_answers_service_unavailable_and_stores_nothing)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    int64_t const orders_before = db_harness_order_count(db);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), MDB_MAP_FULL, true);
    billord_outcome outcome = db_harness_renew(db, "i-crash0000", "map-full", NOW_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_assert(faulty_lmdb_failures() >= 1);
    faulty_lmdb_reset();
    cr_assert(eq(i64, db_harness_order_count(db), orders_before));
    billord_db_close(db);
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(eq(i64, db_harness_order_count(db), orders_before), "no order after a restart");
    billord_db_close(db);
}
