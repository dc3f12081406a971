/*
 * test_cov_recovery.c: the refusals and reports of the durable db's recovery
 * (src/db/db.c: open_wal, recover, recover_record) that test_db and test_crash do not
 * reach: a checksummed log record whose payload is not a batch, a log that ends before
 * the state's applied LSN, and a torn tail that is cut and reported.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>
#include <billord/wal.h>

#include "support/db_harness.h"
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
    tempdir_remove(dir);
}

TestSuite(cov_recovery, .init = setup, .fini = teardown, .timeout = 120);

/* One acknowledged renewal, then a clean close: the log holds at least one record. */
static void one_renewal(void)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_outcome outcome = db_harness_renew(db, "i-crash0000", "cov-1", NOW_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_OK));
    billord_db_close(db);
}

Test(cov_recovery, a_record_that_is_not_a_batch_stops_recovery)
{
    one_renewal();
    char wal_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_dir, dir, "wal");
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = 1ULL << 20,
                                 .preparer_inline = true};
    billord_wal *wal = NULL;
    billord_wal_recovery wal_info;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &wal_info), BILLORD_OK));
    static const uint8_t garbage[] = {0x93, 0x01, 0xc1};   /* msgpack's never-used byte */
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, garbage, sizeof garbage, &lsn), BILLORD_OK));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    billord_wal_close(wal);

    billord_db_recovery info;
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, &err);
    cr_expect(db == NULL);
    cr_expect(eq(int, err, BILLORD_E_WAL_CORRUPT));
    cr_expect(strstr(info.error_text, "does not decode") != NULL, "%s", info.error_text);
}

Test(cov_recovery, a_log_that_ends_before_the_state_is_refused)
{
    one_renewal();
    char wal_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_dir, dir, "wal");
    DIR *d = opendir(wal_dir);
    cr_assert(d != NULL);
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] != '.') {
            char path[TEMPDIR_PATH_BYTES];
            tempdir_join(path, wal_dir, entry->d_name);
            cr_assert(eq(int, unlink(path), 0));
        }
    }
    closedir(d);

    billord_db_recovery info;
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, &err);
    cr_expect(db == NULL);
    cr_expect(eq(int, err, BILLORD_E_WAL_CORRUPT));
    cr_expect(strstr(info.error_text, "records that were durable are missing") != NULL, "%s",
              info.error_text);
}

Test(cov_recovery, a_torn_tail_is_cut_and_reported)
{
    one_renewal();
    /* Where the last record ends, by the standalone reader. */
    char wal_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_dir, dir, "wal");
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK));
    billord_wal_record record;
    char segment[TEMPDIR_PATH_BYTES] = "";
    uint64_t end = 0;
    while (billord_wal_reader_next(reader, &record) == BILLORD_OK) {
        snprintf(segment, sizeof segment, "%s", record.segment_path);
        end = record.offset_bytes + BILLORD_WAL_RECORD_HEADER_BYTES + record.payload_bytes;
    }
    billord_wal_reader_close(reader);
    cr_assert(segment[0] != '\0');
    /* Half a record header after it: a write the crash cut short. */
    int fd = open(segment, O_WRONLY);
    cr_assert(fd >= 0);
    static const uint8_t partial[7] = {0x10, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00};
    cr_assert(eq(sz, (size_t)pwrite(fd, partial, sizeof partial, (off_t)end), sizeof partial));
    close(fd);

    billord_db_recovery info;
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_assert(db != NULL);
    cr_expect(info.tail_truncated);
    billord_outcome again = db_harness_renew(db, "i-crash0000", "cov-1", NOW_MS);
    cr_expect(again.idempotent_replay);
    billord_db_close(db);
}
