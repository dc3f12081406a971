/*
 * test_cov_db_snapshot.c: snapshot mode's failures (src/db/snapshot.c and its use in
 * src/db/db.c), where test_snapshot shows only the good paths: every step of a snapshot,
 * of the boot-id record, of the clean-shutdown marker and of a rebuild can fail, and each
 * failure must leave a usable state behind (the previous snapshot and its LSN, the log kept
 * back to it), be reported (status, error text, operator log), and never lose an
 * acknowledged order.
 *
 * Method: the snapshot functions are called directly with the fault-injecting file system
 * (tests/support/faulty_fs.h), failing one step at a time (the Nth call of one operation),
 * with EIO, ENOSPC or a short write; LMDB's copy fails through tests/support/faulty_lmdb.h.
 * The db in snapshot mode is then driven through the same faults: at open, in the
 * background snapshot thread, at close, and in a rebuild after a simulated power loss
 * (boot id changed, no clean-shutdown marker).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>
#include <billord/fixture.h>

#include "db/snapshot.h"
#include "support/db_harness.h"
#include "support/faulty_fs.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL

DB_HARNESS_SUITE(cov_db_snapshot, faulty_lmdb_reset());

/* ---- helpers ------------------------------------------------------------------------- */

static void path_in(char *out, const char *name)
{
    tempdir_join(out, dir, name);
}

static bool exists_in(const char *name)
{
    char path[TEMPDIR_PATH_BYTES];
    path_in(path, name);
    return access(path, F_OK) == 0;
}

static void write_text(const char *name, const char *text)
{
    char path[TEMPDIR_PATH_BYTES];
    path_in(path, name);
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL, "%s", path);
    fputs(text, file);
    fclose(file);
}

static char *read_text(const char *name)
{
    char path[TEMPDIR_PATH_BYTES];
    path_in(path, name);
    return tempdir_read_file(path, NULL);
}

static void remove_in(const char *name)
{
    char command[2 * TEMPDIR_PATH_BYTES];
    snprintf(command, sizeof command, "rm -rf '%s/%s'", dir, name);
    cr_assert(eq(int, system(command), 0));
}

typedef struct log_capture {
    pthread_mutex_t mutex;
    int snapshot_failures;
    int rebuilds;
} log_capture;

static void capture_line(void *log_ctx, const char *line)
{
    log_capture *log = log_ctx;
    pthread_mutex_lock(&log->mutex);
    log->snapshot_failures += strstr(line, "snapshot failed") != NULL;
    log->rebuilds += strstr(line, "rebuilt from the snapshot") != NULL;
    pthread_mutex_unlock(&log->mutex);
}

static int snapshot_failures(log_capture *log)
{
    pthread_mutex_lock(&log->mutex);
    int count = log->snapshot_failures;
    pthread_mutex_unlock(&log->mutex);
    return count;
}

static billord_db_config snap_config(const billord_fs *fs, uint64_t log_bytes,
                                     uint32_t interval_ms, log_capture *log)
{
    billord_db_config config = {.data_dir = dir,
                                .map_bytes = 256ULL << 20,
                                .wal_segment_bytes = 1ULL << 20,
                                .lmdb_mode = BILLORD_LMDB_SNAPSHOT,
                                .fs = fs,
                                .wal_preparer_inline = true,
                                .snapshot_log_bytes = log_bytes,
                                .snapshot_interval_ms = interval_ms,
                                .log_line = capture_line,
                                .log_ctx = log};
    return config;
}

/* Open with config is refused with err, and says why (reason: NULL not to look). */
static void expect_open_refused(const billord_db_config *config, billord_err err,
                                const char *reason, billord_db_recovery *info)
{
    billord_db *db = NULL;
    cr_expect(eq(int, billord_db_open(config, &db, info), err));
    cr_expect(db == NULL);
    if (reason != NULL) {
        cr_expect(strstr(info->error_text, reason) != NULL, "%s", info->error_text);
    }
}

static billord_db *open_ok(const billord_db_config *config, billord_db_recovery *info)
{
    billord_db *db = NULL;
    billord_err err = billord_db_open(config, &db, info);
    cr_assert(eq(int, err, BILLORD_OK), "open: %s", billord_err_name(err));
    return db;
}

static uint64_t snapshots_taken(billord_db *db)
{
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    return stats.snapshots;
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* Long enough for the snapshot thread to wake and act count times. */
static void wait_polls(int count)
{
    sleep_ms((long)count * BILLORD_DB_SNAPSHOT_POLL_MS + 50);
}

/* The machine lost power: no clean-shutdown marker, and it booted again (another boot id). */
static void power_loss(void)
{
    remove_in(BILLORD_CLEAN_FILE);
    db_harness_reboot(dir);
}

static uint64_t recorded_lsn(void)
{
    uint64_t lsn = 0;
    cr_assert(eq(int, billord__snapshot_lsn(dir, &lsn), BILLORD_OK));
    return lsn;
}

static billord_engine *engine_open(void)
{
    billord_engine_config config = {.data_dir = dir, .map_bytes = 256ULL << 20};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&config, &engine), BILLORD_OK));
    return engine;
}

/* A few acknowledged renewals; their tokens are "<prefix>-<i>". */
static void renew_some(billord_db *db, const char *prefix, int count)
{
    cr_assert(eq(int, db_harness_renew_many(db, "i-crash0000", prefix, count, NOW_MS), count),
              "renewals %s-*", prefix);
}

static void expect_tokens(billord_db *db, const char *prefix, int count)
{
    for (int i = 0; i < count; i++) {
        char token[32];
        snprintf(token, sizeof token, "%s-%d", prefix, i);
        billord_outcome again = db_harness_renew(db, "i-crash0000", token, NOW_MS);
        cr_expect(again.idempotent_replay, "acknowledged %s lost", token);
    }
}

/* Open with config rebuilds from the snapshot, and the count acknowledged renewals
 * "<prefix>-<i>" are each there once. */
static billord_db_recovery expect_rebuilt_with(const billord_db_config *config,
                                               const char *prefix, int count)
{
    billord_db_recovery info;
    billord_db *db = open_ok(config, &info);
    cr_expect(info.rebuilt_from_snapshot);
    expect_tokens(db, prefix, count);
    cr_expect(eq(i64, db_harness_order_count(db), count));
    billord_db_close(db);
    return info;
}

/* Open with config: the count acknowledged renewals "<prefix>-<i>" are there. */
static void expect_kept(const billord_db_config *config, const char *prefix, int count)
{
    billord_db *db = open_ok(config, NULL);
    expect_tokens(db, prefix, count);
    billord_db_close(db);
}

/* A db opened with config whose every snapshot from then on fails (LMDB's copy), after it
 * acknowledged count renewals "<prefix>-<i>". */
static billord_db *failing_snapshots_after_renewals(const billord_db_config *config,
                                                    const char *prefix, int count)
{
    billord_db *db = open_ok(config, NULL);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_COPY), EIO, true);
    renew_some(db, prefix, count);
    return db;
}

/* A db opened with config acknowledges count renewals "<prefix>-<i>" and is closed. */
static void renewed_and_closed(const billord_db_config *config, const char *prefix, int count)
{
    billord_db *db = open_ok(config, NULL);
    renew_some(db, prefix, count);
    billord_db_close(db);
}

/* One step to fail: the index-th call of op, with mode. */
typedef struct step_fault {
    faulty_op op;
    uint64_t index;
    faulty_mode mode;
    billord_err expected;
} step_fault;

/* A fault-injecting file system that fails that step. */
static faulty_fs *fs_failing(const step_fault *fault)
{
    faulty_fs *fs = faulty_fs_new();
    faulty_fs_fail_at(fs, fault->index, FAULTY_MASK(fault->op), fault->mode, false);
    return fs;
}

/* The reason the last startup() gave, if it failed. */
static char startup_text[1024];

/* billord__snapshot_startup on dir, the machine's boot id read from dir/boot_id_source. */
static billord_err startup(const billord_fs *fs, bool *out_rebuild)
{
    char boot_id[TEMPDIR_PATH_BYTES];
    path_in(boot_id, "boot_id_source");
    startup_text[0] = '\0';
    return billord__snapshot_startup(fs, dir, boot_id, out_rebuild, startup_text,
                                     sizeof startup_text);
}

static void expect_startup_reason(const char *reason)
{
    cr_expect(strstr(startup_text, reason) != NULL, "%s", startup_text);
}

/* The boot id recorded in dir is expected (what: why). */
static void expect_stored_boot_id(const char *expected, const char *what)
{
    char *stored = read_text(BILLORD_BOOT_ID_FILE);
    cr_expect(eq(str, stored, (char *)expected), "%s", what);
    free(stored);
}

/* A snapshot of the store as it is, through an engine of its own. */
static void take_snapshot(void)
{
    billord_engine *engine = engine_open();
    uint64_t lsn = 0;
    cr_assert(eq(int, billord__snapshot_take(billord_fs_posix(), engine, dir, &lsn), BILLORD_OK));
    billord_engine_close(engine);
}

/* ---- the snapshot functions, one failing step at a time ------------------------------ */

Test(cov_db_snapshot, a_failed_snapshot_keeps_the_previous_one_and_its_lsn)
{
    billord_engine *engine = engine_open();
    uint64_t lsn = 99;
    cr_assert(eq(int, billord__snapshot_take(billord_fs_posix(), engine, dir, &lsn), BILLORD_OK));
    cr_assert(eq(u64, lsn, 0), "a seeded store has applied nothing");
    cr_assert(billord__snapshot_exists(dir));
    /* Order of the steps: open temp, (LMDB copies), fsync, rename, fsync dir; then the lsn
     * file: open temp, write, fsync, rename, fsync dir. */
    static const step_fault faults[] = {
        {FAULTY_OP_OPEN, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_OPEN, 1, FAULTY_ENOSPC, BILLORD_E_DISK_FULL},
        {FAULTY_OP_FSYNC, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_FSYNC, 1, FAULTY_ENOSPC, BILLORD_E_DISK_FULL},
        {FAULTY_OP_RENAME, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_FSYNC_DIR, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_OPEN, 2, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_PWRITE, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_PWRITE, 1, FAULTY_ENOSPC, BILLORD_E_DISK_FULL},
        {FAULTY_OP_PWRITE, 1, FAULTY_SHORT, BILLORD_E_IO},
        {FAULTY_OP_FSYNC, 2, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_RENAME, 2, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_FSYNC_DIR, 2, FAULTY_EIO, BILLORD_E_IO},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        faulty_fs *fs = fs_failing(&faults[i]);
        lsn = 77;
        billord_err err = billord__snapshot_take(faulty_fs_table(fs), engine, dir, &lsn);
        cr_expect(eq(u64, faulty_fs_failures(fs), 1), "case %zu: the step was reached", i);
        cr_expect(eq(int, err, faults[i].expected), "case %zu", i);
        cr_expect(eq(u64, lsn, 77), "case %zu: no LSN reported", i);
        faulty_fs_free(fs);
        /* The snapshot there is whole, and its recorded LSN is one it holds. */
        cr_expect(billord__snapshot_exists(dir), "case %zu", i);
        cr_expect(eq(u64, recorded_lsn(), 0), "case %zu", i);
        if (faults[i].op != FAULTY_OP_RENAME && faults[i].op != FAULTY_OP_FSYNC_DIR) {
            cr_expect(not(exists_in("snapshot/data.mdb.tmp")), "case %zu: temp left", i);
        }
    }
    /* LMDB's copy itself fails. */
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_COPY), EIO, false);
    cr_expect(eq(int, billord__snapshot_take(billord_fs_posix(), engine, dir, &lsn), BILLORD_E_IO));
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(not(exists_in("snapshot/data.mdb.tmp")));
    billord_engine_close(engine);
}

Test(cov_db_snapshot, a_snapshot_directory_that_cannot_be_made_fails_the_snapshot)
{
    billord_engine *engine = engine_open();
    char file_dir[TEMPDIR_PATH_BYTES];
    path_in(file_dir, "not-a-dir");
    write_text("not-a-dir", "x");
    uint64_t lsn = 5;
    /* The data directory is a file: its snapshot directory cannot be made (ENOTDIR). */
    cr_expect(eq(int, billord__snapshot_take(billord_fs_posix(), engine, file_dir, &lsn),
                 BILLORD_E_IO));
    cr_expect(eq(u64, lsn, 5));
    billord_engine_close(engine);
}

Test(cov_db_snapshot, the_recorded_lsn_must_be_a_whole_number)
{
    uint64_t lsn = 42;
    cr_expect(eq(int, billord__snapshot_lsn(dir, &lsn), BILLORD_E_NOT_FOUND), "no file");
    char snapshot_dir[TEMPDIR_PATH_BYTES];
    path_in(snapshot_dir, BILLORD_SNAPSHOT_DIR);
    cr_assert(eq(int, mkdir(snapshot_dir, 0755), 0));
    static const char *const refused[] = {"", "\n", "abc\n", "12x\n", "x12\n"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        write_text("snapshot/lsn", refused[i]);
        cr_expect(eq(int, billord__snapshot_lsn(dir, &lsn), BILLORD_E_NOT_FOUND), "'%s'",
                  refused[i]);
        cr_expect(eq(u64, lsn, 42));
    }
    write_text("snapshot/lsn", "1234\n");
    cr_expect(eq(int, billord__snapshot_lsn(dir, &lsn), BILLORD_OK));
    cr_expect(eq(u64, lsn, 1234));
}

Test(cov_db_snapshot, a_marker_or_boot_id_that_cannot_be_written_is_reported)
{
    static const step_fault faults[] = {
        {FAULTY_OP_OPEN, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_PWRITE, 1, FAULTY_ENOSPC, BILLORD_E_DISK_FULL},
        {FAULTY_OP_PWRITE, 1, FAULTY_SHORT, BILLORD_E_IO},
        {FAULTY_OP_FSYNC, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_RENAME, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_FSYNC_DIR, 1, FAULTY_EIO, BILLORD_E_IO},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        remove_in(BILLORD_CLEAN_FILE);
        faulty_fs *fs = fs_failing(&faults[i]);
        cr_expect(eq(int, billord__snapshot_mark_clean(faulty_fs_table(fs), dir),
                     faults[i].expected), "case %zu", i);
        cr_expect(eq(u64, faulty_fs_failures(fs), 1), "case %zu", i);
        faulty_fs_free(fs);
        cr_expect(not(exists_in(BILLORD_CLEAN_FILE ".tmp")), "case %zu: temp left", i);
        /* Before the rename, no marker: a later open must not take the run as clean. */
        cr_expect(eq(int, exists_in(BILLORD_CLEAN_FILE), faults[i].op == FAULTY_OP_FSYNC_DIR),
                  "case %zu", i);
    }
    cr_expect(eq(int, billord__snapshot_mark_clean(billord_fs_posix(), dir), BILLORD_OK));
    char *marker = read_text(BILLORD_CLEAN_FILE);
    cr_expect(eq(str, marker, "clean\n"));
    free(marker);

    /* At start-up: the boot id cannot be recorded. */
    write_text("boot_id_source", "11111111-2222-3333-4444-555555555555\n");
    static const step_fault startup_faults[] = {
        {FAULTY_OP_FSYNC, 1, FAULTY_EIO, BILLORD_E_IO},
        /* ... or the clean-shutdown marker cannot be removed (it is written first) */
        {FAULTY_OP_UNLINK, 1, FAULTY_EIO, BILLORD_E_IO},
        /* ... or removed but not made durable. */
        {FAULTY_OP_FSYNC_DIR, 2, FAULTY_EIO, BILLORD_E_IO},
    };
    bool rebuild = true;
    for (size_t i = 0; i < sizeof startup_faults / sizeof startup_faults[0]; i++) {
        faulty_fs *fs = fs_failing(&startup_faults[i]);
        cr_expect(eq(int, startup(faulty_fs_table(fs), &rebuild), startup_faults[i].expected),
                  "case %zu", i);
        faulty_fs_free(fs);
        if (startup_faults[i].op != FAULTY_OP_FSYNC_DIR) {
            expect_startup_reason("cannot record the boot id");
        }
        if (startup_faults[i].op == FAULTY_OP_UNLINK) {
            cr_expect(exists_in(BILLORD_CLEAN_FILE), "the marker stays: the next open tries again");
        }
    }
    cr_expect(not(rebuild), "a clean shutdown needs no rebuild");
}

Test(cov_db_snapshot, start_up_needs_the_machines_boot_id)
{
    bool rebuild = false;
    /* Missing, then empty. */
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuild), BILLORD_E_IO));
    expect_startup_reason("cannot read the boot id");
    write_text("boot_id_source", "");
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuild), BILLORD_E_IO));
    expect_startup_reason("cannot read the boot id");
    cr_expect(not(exists_in(BILLORD_BOOT_ID_FILE)), "nothing recorded");

    /* First boot: recorded, no rebuild. Same boot: none. Another boot without the marker:
     * rebuild. An empty stored id counts as none recorded. */
    write_text("boot_id_source", "aaaaaaaa-0000-0000-0000-000000000001\n");
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuild), BILLORD_OK));
    cr_expect(not(rebuild));
    expect_stored_boot_id("aaaaaaaa-0000-0000-0000-000000000001", "the first boot is recorded");
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuild), BILLORD_OK));
    cr_expect(not(rebuild));
    take_snapshot();
    write_text("boot_id_source", "aaaaaaaa-0000-0000-0000-000000000002\n");
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuild), BILLORD_OK), "%s", startup_text);
    cr_expect(rebuild);
    write_text(BILLORD_BOOT_ID_FILE, "");
    write_text("boot_id_source", "aaaaaaaa-0000-0000-0000-000000000003\n");
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuild), BILLORD_OK));
    cr_expect(not(rebuild));
}

/* The machine booted again (boot ids "...a" recorded, "...b" now) and the run before had no
 * clean shutdown. */
static void power_lost_before_this_boot(void)
{
    write_text(BILLORD_BOOT_ID_FILE, "bbbbbbbb-0000-0000-0000-00000000000a\n");
    remove_in(BILLORD_CLEAN_FILE);
    write_text("boot_id_source", "bbbbbbbb-0000-0000-0000-00000000000b\n");
}

/* A start-up after that power loss whose rebuild fails: it says so, and the old boot stays
 * recorded (recording this one would make the next open skip the rebuild). */
static void expect_rebuild_failed(const char *reason, const char *what)
{
    expect_startup_reason(reason);
    expect_stored_boot_id("bbbbbbbb-0000-0000-0000-00000000000a\n", what);
}

Test(cov_db_snapshot, a_rebuild_fails_on_every_step_says_so_and_is_tried_again_next_time)
{
    bool rebuilt = true;
    power_lost_before_this_boot();
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuilt), BILLORD_E_CORRUPT));
    cr_expect(not(rebuilt));
    expect_rebuild_failed("no snapshot to rebuild from", "no snapshot");

    take_snapshot();
    /* Order: open the snapshot, open the state file, read, write, fsync, fsync state/. */
    static const step_fault faults[] = {
        {FAULTY_OP_OPEN, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_OPEN, 2, FAULTY_ENOSPC, BILLORD_E_DISK_FULL},
        {FAULTY_OP_PREAD, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_PWRITE, 1, FAULTY_ENOSPC, BILLORD_E_DISK_FULL},
        {FAULTY_OP_PWRITE, 1, FAULTY_SHORT, BILLORD_E_IO},
        {FAULTY_OP_FSYNC, 1, FAULTY_EIO, BILLORD_E_IO},
        {FAULTY_OP_FSYNC_DIR, 1, FAULTY_EIO, BILLORD_E_IO},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        faulty_fs *fs = fs_failing(&faults[i]);
        rebuilt = true;
        power_lost_before_this_boot();
        cr_expect(eq(int, startup(faulty_fs_table(fs), &rebuilt), faults[i].expected),
                  "case %zu", i);
        cr_expect(eq(u64, faulty_fs_failures(fs), 1), "case %zu", i);
        cr_expect(not(rebuilt), "case %zu", i);
        expect_rebuild_failed("restoring the snapshot failed", "a failed copy");
        faulty_fs_free(fs);
    }
    /* No state directory at all: it is made. */
    remove_in("state");
    power_lost_before_this_boot();
    cr_expect(eq(int, startup(billord_fs_posix(), &rebuilt), BILLORD_OK), "%s", startup_text);
    cr_expect(rebuilt);
    expect_stored_boot_id("bbbbbbbb-0000-0000-0000-00000000000b", "recorded after the rebuild");
    billord_engine_close(engine_open());
    /* ... unless the data directory refuses it. */
    power_lost_before_this_boot();
    remove_in("state");
    cr_assert(eq(int, chmod(dir, 0555), 0));
    db_harness_permission_checks(true);
    char probe[TEMPDIR_PATH_BYTES];
    path_in(probe, "probe");
    cr_assert(mkdir(probe, 0755) != 0, "the directory stayed writable");
    billord_err err = startup(billord_fs_posix(), &rebuilt);
    db_harness_permission_checks(false);
    cr_assert(eq(int, chmod(dir, 0755), 0));
    cr_expect(eq(int, err, BILLORD_E_IO));
    expect_rebuild_failed("restoring the snapshot failed", "no state directory");
}

/* ---- the db in snapshot mode ---------------------------------------------------------- */

Test(cov_db_snapshot, open_fails_when_the_first_snapshot_or_the_boot_record_fails)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 0, 0, &log);
    billord_db_recovery info;
    /* The seeded directory has no snapshot: open takes one, and it fails. */
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_COPY), EIO, false);
    expect_open_refused(&config, BILLORD_E_IO, NULL, &info);
    cr_expect(eq(int, snapshot_failures(&log), 1));
    faulty_lmdb_reset();
    /* The boot id cannot be recorded. */
    static const step_fault boot_record = {FAULTY_OP_OPEN, 1, FAULTY_ENOSPC, BILLORD_E_DISK_FULL};
    faulty_fs *fs = fs_failing(&boot_record);
    config.fs = faulty_fs_table(fs);
    expect_open_refused(&config, boot_record.expected, "cannot record the boot id", &info);
    faulty_fs_free(fs);
    /* Without faults it opens, with the snapshot it takes. */
    config.fs = NULL;
    billord_db *db = open_ok(&config, &info);
    cr_expect(eq(u64, snapshots_taken(db), 1));
    cr_expect(billord__snapshot_exists(dir));
    billord_db_close(db);
}

Test(cov_db_snapshot, an_unreadable_snapshot_lsn_makes_open_take_a_new_snapshot)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 0, 0, &log);
    renewed_and_closed(&config, "lsn", 3);
    /* A readable snapshot LSN: open takes none. */
    billord_db *db = open_ok(&config, NULL);
    cr_expect(eq(u64, snapshots_taken(db), 0));
    billord_db_close(db);
    write_text("snapshot/lsn", "garbage\n");
    db = open_ok(&config, NULL);
    cr_expect(eq(u64, snapshots_taken(db), 1));
    cr_expect(eq(u64, recorded_lsn(), 3), "the new snapshot holds the three records");
    expect_tokens(db, "lsn", 3);
    billord_db_close(db);
}

Test(cov_db_snapshot, a_seed_in_snapshot_mode_is_snapshotted)
{
    char empty[TEMPDIR_PATH_BYTES];
    tempdir_make(empty);
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 0, 0, &log);
    config.data_dir = empty;
    billord_db *db = open_ok(&config, NULL);
    cr_expect(eq(u64, snapshots_taken(db), 1), "open took one of the empty store");
    billord_fixture fixture = db_harness_fixture("tests/fixtures/crash.json");
    /* The seed's snapshot fails: the seed is reported failed. */
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_COPY), EIO, false);
    cr_expect(eq(int, billord_db_seed(db, &fixture), BILLORD_E_IO));
    cr_expect(eq(u64, snapshots_taken(db), 1));
    faulty_lmdb_reset();
    billord_db_close(db);
    tempdir_remove(empty);
    tempdir_make(empty);
    db = open_ok(&config, NULL);
    cr_expect(eq(int, billord_db_seed(db, &fixture), BILLORD_OK));
    cr_expect(eq(u64, snapshots_taken(db), 2), "the seed is not logged: it is snapshotted");
    /* A seed refused as not empty takes no snapshot. */
    cr_expect(eq(int, billord_db_seed(db, &fixture), BILLORD_E_NOT_EMPTY));
    cr_expect(eq(u64, snapshots_taken(db), 2));
    billord_db_close(db);
    billord_fixture_free(&fixture);
    tempdir_remove(empty);
}

Test(cov_db_snapshot, a_failing_background_snapshot_is_retried_and_the_log_kept)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 1, 0, &log);     /* any log makes one due */
    billord_db *db = failing_snapshots_after_renewals(&config, "retry", 3);
    uint64_t at_open = snapshots_taken(db);
    wait_polls(3);
    cr_expect(snapshot_failures(&log) >= 2, "%d failures: retried at each poll",
              snapshot_failures(&log));
    cr_expect(eq(u64, snapshots_taken(db), at_open));
    cr_expect(eq(u64, recorded_lsn(), 0), "the last good snapshot still bounds the log");
    cr_expect(not(billord_db_failed(db)), "a failed snapshot stops nothing");
    faulty_lmdb_reset();
    wait_polls(2);
    cr_expect(snapshots_taken(db) > at_open, "the retry succeeded");
    cr_expect(eq(u64, recorded_lsn(), 3));
    billord_db_close(db);
}

Test(cov_db_snapshot, a_snapshot_is_due_after_the_interval_only_when_the_log_grew)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 1ULL << 40, 50, &log);
    billord_db *db = open_ok(&config, NULL);
    uint64_t at_open = snapshots_taken(db);
    wait_polls(2);
    cr_expect(eq(u64, snapshots_taken(db), at_open), "no log since: no snapshot");
    renew_some(db, "interval", 1);
    wait_polls(2);
    cr_expect(eq(u64, snapshots_taken(db), at_open + 1), "the interval passed with log");
    cr_expect(eq(u64, recorded_lsn(), 1));
    billord_db_close(db);
}

Test(cov_db_snapshot, a_failed_db_takes_no_more_snapshots)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    faulty_fs *fs = faulty_fs_new();
    billord_db_config config = snap_config(faulty_fs_table(fs), 1, 0, &log);
    /* Snapshots keep failing, so one stays due. */
    billord_db *db = failing_snapshots_after_renewals(&config, "failed", 2);
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_FDATASYNC), FAULTY_EIO, false);
    billord_outcome refused = db_harness_renew(db, "i-crash0000", "failed-x", NOW_MS);
    cr_expect(eq(int, refused.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_assert(billord_db_failed(db));
    wait_polls(1);
    uint64_t attempts = faulty_lmdb_failures();
    wait_polls(3);
    cr_expect(eq(u64, faulty_lmdb_failures(), attempts), "no snapshot after the fail-stop");
    billord_db_close(db);
    faulty_fs_free(fs);
    faulty_lmdb_reset();
    config.fs = NULL;
    expect_kept(&config, "failed", 2);
}

Test(cov_db_snapshot, close_takes_no_snapshot_that_falls_due_as_it_closes)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 1, 0, &log);
    billord_db *db = failing_snapshots_after_renewals(&config, "closing", 1);
    /* Close just after an attempt, while the thread waits for its next poll. */
    uint64_t attempts = faulty_lmdb_failures();
    for (int i = 0; i < 2000 && faulty_lmdb_failures() == attempts; i++) {
        sleep_ms(1);
    }
    attempts = faulty_lmdb_failures();
    cr_assert(attempts > 0, "the snapshot stayed due and was attempted");
    billord_db_close(db);
    cr_expect(eq(u64, faulty_lmdb_failures(), attempts), "close woke the thread: no snapshot");
    faulty_lmdb_reset();
    cr_expect(exists_in(BILLORD_CLEAN_FILE));
    expect_kept(&config, "closing", 1);
}

Test(cov_db_snapshot, a_close_that_cannot_sync_lmdb_leaves_no_marker_and_a_reboot_rebuilds)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 0, 0, &log);
    billord_db *db = open_ok(&config, NULL);
    renew_some(db, "unsynced", 4);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_SYNC), EIO, false);
    billord_db_close(db);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(not(exists_in(BILLORD_CLEAN_FILE)), "LMDB may not be on disk: not clean");
    db_harness_reboot(dir);
    billord_db_recovery info = expect_rebuilt_with(&config, "unsynced", 4);
    cr_expect(eq(u64, info.commands_replayed, 4), "the log was kept back to the snapshot");
}

Test(cov_db_snapshot, a_rebuild_that_fails_stops_start_up_and_a_later_one_succeeds)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 0, 0, &log);
    renewed_and_closed(&config, "rebuild", 3);
    power_loss();
    /* Copying the snapshot back fails at its first read. */
    faulty_fs *fs = faulty_fs_new();
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_PREAD), FAULTY_EIO, false);
    config.fs = faulty_fs_table(fs);
    billord_db_recovery info;
    expect_open_refused(&config, BILLORD_E_IO, "restoring the snapshot failed", &info);
    cr_expect(not(info.rebuilt_from_snapshot));
    cr_expect(eq(int, log.rebuilds, 0));
    faulty_fs_free(fs);
    /* Regression: the failed open had recorded this boot before the rebuild, so the next
     * open took the run as a killed process and used the state the copy had truncated. */
    config.fs = NULL;
    expect_rebuilt_with(&config, "rebuild", 3);
    cr_expect(eq(int, log.rebuilds, 1));
}

Test(cov_db_snapshot, a_power_loss_without_a_snapshot_stops_start_up)
{
    log_capture log = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    billord_db_config config = snap_config(NULL, 0, 0, &log);
    renewed_and_closed(&config, "nosnap", 2);
    power_loss();
    remove_in(BILLORD_SNAPSHOT_DIR);
    billord_db_recovery info;
    expect_open_refused(&config, BILLORD_E_CORRUPT, "no snapshot to rebuild from", &info);
    cr_expect(exists_in("state/data.mdb"), "the state is left as found");
}
