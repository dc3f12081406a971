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
#include <criterion/parameterized.h>

#include <billord/db.h>

#include <lmdb.h>

#include "support/db_harness.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL

DB_HARNESS_SUITE(store_faults, faulty_lmdb_reset());

/* A store whose environment cannot open, or whose schema row cannot be read: the db is
 * refused, and the refusal changed nothing on disk. */
typedef struct open_fault {
    faulty_lmdb_op op;
    int mdb_rc;
    billord_err err;
} open_fault;

ParameterizedTestParameters(store_faults, a_store_that_cannot_open_refuses_the_db)
{
    static open_fault faults[] = {
        {FAULTY_LMDB_ENV_OPEN, EIO, BILLORD_E_IO},
        {FAULTY_LMDB_GET, MDB_CORRUPTED, BILLORD_E_CORRUPT},
    };
    return cr_make_param_array(open_fault, faults, sizeof faults / sizeof faults[0]);
}

ParameterizedTest(open_fault *fault, store_faults, a_store_that_cannot_open_refuses_the_db)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(fault->op), fault->mdb_rc, false);
    db_harness_expect_refused_open(dir, fault->err, NULL, NULL);
    cr_assert(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(eq(i64, db_harness_order_count(db), 0), "the refusal changed nothing on disk");
    billord_db_close(db);
}

/* An open db whose renewal (with token) meets an LMDB fault that is then armed: it is
 * answered ServiceUnavailable. *orders_before: the order count before it. */
static billord_db *renewal_refused_by(faulty_lmdb_op op, int mdb_rc, bool persistent,
                                      const char *token, int64_t *orders_before)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    *orders_before = db_harness_order_count(db);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(op), mdb_rc, persistent);
    billord_outcome outcome = db_harness_renew(db, "i-crash0000", token, NOW_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    return db;
}

Test(store_faults, a_batch_whose_lmdb_commit_fails_stops_the_db_and_a_restart_applies_it_once)
{
    int64_t orders_before = 0;
    billord_db *db = renewal_refused_by(FAULTY_LMDB_TXN_COMMIT, EIO, false, "commit-fails",
                                        &orders_before);
    cr_assert(eq(u64, faulty_lmdb_failures(), 1));
    cr_assert(billord_db_failed(db));
    /* Fail-stop: later writes are refused although LMDB works again. */
    billord_outcome outcome = db_harness_renew(db, "i-crash0001", "after-the-failure", NOW_MS);
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
    int64_t orders_before = 0;
    billord_db *db = renewal_refused_by(FAULTY_LMDB_PUT, MDB_MAP_FULL, true, "map-full",
                                        &orders_before);
    cr_assert(faulty_lmdb_failures() >= 1);
    faulty_lmdb_reset();
    cr_assert(eq(i64, db_harness_order_count(db), orders_before));
    billord_db_close(db);
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(eq(i64, db_harness_order_count(db), orders_before), "no order after a restart");
    billord_db_close(db);
}
