/*
 * test_cov_recovery.c: the refusals and reports of the durable db's recovery
 * (src/db/db.c: open_wal, recover, recover_record) that test_db and test_crash do not
 * reach: a checksummed log record whose payload is not a batch, a log that ends before
 * the state's applied LSN or no longer reaches back to it, a record LMDB cannot take, and
 * a torn tail that is cut and reported.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>
#include <stdlib.h>

#include <lmdb.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>
#include <billord/wal.h>

#include "support/db_harness.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL

DB_HARNESS_SUITE(cov_recovery, faulty_lmdb_reset());

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

    db_harness_expect_refused_open(dir, BILLORD_E_WAL_CORRUPT, "does not decode", NULL);
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

    db_harness_expect_refused_open(dir, BILLORD_E_WAL_CORRUPT,
                                   "records that were durable are missing", NULL);
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

/* count acknowledged renewals (tokens "lost-<i>") through a db with 4 KiB log segments,
 * then LMDB loses them all: the state is as seeded (applied LSN 0). */
static void renewals_the_state_lost(int count)
{
    char state_dir[TEMPDIR_PATH_BYTES], saved[TEMPDIR_PATH_BYTES], wal_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(state_dir, dir, "state");
    tempdir_join(saved, dir, "state-seeded");
    tempdir_join(wal_dir, dir, "wal");
    db_harness_copy_tree(state_dir, saved);
    char command[2 * TEMPDIR_PATH_BYTES];
    snprintf(command, sizeof command, "rm -rf '%s'", wal_dir);  /* new size for new segments */
    cr_assert(eq(int, system(command), 0));
    billord_db_config config = {.data_dir = dir, .map_bytes = 256ULL << 20,
                                .wal_segment_bytes = 4096};
    billord_db *db = NULL;
    cr_assert(eq(int, billord_db_open(&config, &db, NULL), BILLORD_OK));
    cr_assert(eq(int, db_harness_renew_many(db, "i-crash0001", "lost", count, NOW_MS), count));
    billord_db_close(db);                   /* retires the segments LMDB had on disk */
    db_harness_copy_tree(saved, state_dir);
}

/* Regression: the log's oldest kept segment starts after the state's applied LSN, and
 * open answered BILLORD_E_NOT_FOUND, a status its contract does not have for lost records. */
Test(cov_recovery, a_log_that_no_longer_reaches_back_to_the_state_is_refused)
{
    renewals_the_state_lost(60);
    billord_db_recovery info;
    db_harness_expect_refused_open(dir, BILLORD_E_WAL_CORRUPT,
                                   "LSN 1 is older than every kept segment", &info);
    cr_expect(eq(u64, info.records_replayed, 0));
}

Test(cov_recovery, a_record_lmdb_cannot_take_stops_recovery_and_changes_nothing)
{
    renewals_the_state_lost(3);
    /* The writes the engine's own open makes, then fail every later one. */
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_PUT));
    billord_engine_config engine_config = {.data_dir = dir, .map_bytes = 256ULL << 20};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&engine_config, &engine), BILLORD_OK));
    uint64_t puts = faulty_lmdb_calls();
    billord_engine_close(engine);
    faulty_lmdb_fail_at(puts + 1, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), MDB_MAP_FULL, true);

    billord_db_recovery info;
    db_harness_expect_refused_open(dir, BILLORD_E_MAP_FULL,
                                   "log record 1: applying its batch failed", &info);
    cr_expect(faulty_lmdb_failures() >= 1);
    faulty_lmdb_reset();
    cr_expect(eq(u64, info.records_replayed, 0));

    /* Nothing was applied: a later open replays all three, once. */
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_expect(eq(u64, info.applied_lsn_before, 0));
    cr_expect(eq(u64, info.commands_replayed, 3));
    cr_expect(eq(i64, db_harness_order_count(db), 3));
    billord_outcome again = db_harness_renew(db, "i-crash0001", "lost-2", NOW_MS);
    cr_expect(again.idempotent_replay);
    billord_db_close(db);
}
