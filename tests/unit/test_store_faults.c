/*
 * test_store_faults.c: LMDB failing under the durable db (tests/support/faulty_lmdb.h):
 * a store that cannot open, a batch whose commit fails.
 */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>

#include "support/db_harness.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
    db_harness_seed(dir, "tests/fixtures/crash.json");
}

static void teardown(void)
{
    faulty_lmdb_reset();
    tempdir_remove(dir);
}

TestSuite(store_faults, .init = setup, .fini = teardown, .timeout = 120);

Test(store_faults, an_environment_that_cannot_open_refuses_the_db)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_OPEN), EIO, false);
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, &err);
    cr_assert(db == NULL);
    cr_assert(eq(int, err, BILLORD_E_IO));
    cr_assert(eq(u64, faulty_lmdb_failures(), 1));
}
