/*
 * test_wal_faults.c: the write-ahead log under failing and crashing file systems.
 *
 * Method.
 * - Fault sweep: a scripted workload (open, appends, a sync every 3 records, a retire
 *   every 10, close) runs over tests/support/faulty_fs with the Nth file operation
 *   failing, for N = 1, 2, ... until a run completes without reaching N; once and
 *   persistently; EIO, ENOSPC and short writes. After each run the directory is
 *   reopened with the real file system. Contract: open succeeds; every record whose
 *   append + sync returned OK is there; every record there is whole (its payload is a
 *   function of its LSN); after the first failed call, the log answers
 *   BILLORD_E_WAL_FAILED to every append, sync and retire.
 * - Power loss: the faulty fs keeps unsynced writes in memory; at a random point it
 *   crashes, keeping a random prefix of them (the last one torn). Same contract.
 * - Corruption matrix: bytes flipped in the tail record (truncated and reported), in
 *   a middle record or a segment header (open fails naming segment and offset), and
 *   the file cut at every offset of the last record (earlier records recovered).
 * Randomness is seeded; the seed is printed and part of every failure message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/wal.h>

#include "support/faulty_fs.h"
#include "support/tempdir.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define SWEEP_SEGMENT_BYTES  4096u
#define SWEEP_RECORDS        120u
#define SWEEP_SYNC_EVERY     3u
#define SWEEP_RETIRE_EVERY   10u
#define SWEEP_CALLS_MAX      4000u
#define PAYLOAD_BYTES_MAX    300u
#define CRASH_ITERATIONS     120u
#define CRASH_OPS_MAX        160u
#define MATRIX_RECORDS       80u

static uint32_t payload_bytes_for(uint64_t lsn)
{
    return 1u + (uint32_t)((lsn * 2654435761u) % PAYLOAD_BYTES_MAX);
}

static void payload_fill(uint8_t *payload, uint64_t lsn)
{
    uint32_t const bytes = payload_bytes_for(lsn);
    for (uint32_t i = 0; i < bytes; i++) {
        payload[i] = (uint8_t)(lsn ^ (i * 31u));
    }
}

typedef struct collected {
    uint64_t lsn_first;
    uint64_t lsn_last;
    uint64_t count;
    uint64_t bad_count;
} collected;

static billord_err collect(uint64_t lsn, const uint8_t *payload, uint32_t payload_bytes, void *ctx)
{
    collected *c = ctx;
    uint8_t expected[PAYLOAD_BYTES_MAX];
    payload_fill(expected, lsn);
    if (payload_bytes != payload_bytes_for(lsn) || memcmp(payload, expected, payload_bytes) != 0) {
        c->bad_count++;
    }
    if (c->count == 0) {
        c->lsn_first = lsn;
    } else if (lsn != c->lsn_last + 1u) {
        c->bad_count++;
    }
    c->lsn_last = lsn;
    c->count++;
    return BILLORD_OK;
}

/*
 * Durability in these tests is modelled by faulty_fs, not by the disk, so they run in a
 * memory file system when there is one: thousands of real fsyncs would only add minutes
 * (more on a busy machine). tmpfs takes O_DIRECT, so the zero-fill path is the same.
 * BILLORD_TEST_WAL_DISK=1 keeps $TMPDIR. Each test runs in its own process (Criterion),
 * so the setenv stays local to it.
 */
#define MEMORY_TMPDIR "/dev/shm"

static void use_memory_tmpdir(void)
{
    const char *disk = getenv("BILLORD_TEST_WAL_DISK");
    struct stat st;
    if ((disk == NULL || strcmp(disk, "1") != 0) && stat(MEMORY_TMPDIR, &st) == 0
        && S_ISDIR(st.st_mode) && access(MEMORY_TMPDIR, W_OK) == 0) {
        setenv("TMPDIR", MEMORY_TMPDIR, 1);
    }
}

TestSuite(wal_faults, .init = use_memory_tmpdir, .timeout = 300);

static uint64_t seed_base(void)
{
    const char *text = getenv("BILLORD_TEST_SEED");
    uint64_t seed = text != NULL ? strtoull(text, NULL, 10) : (uint64_t)time(NULL);
    fprintf(stderr, "test_wal_faults: seed %" PRIu64 " (set BILLORD_TEST_SEED to repeat)\n", seed);
    return seed;
}

static uint64_t rng_next(uint64_t *state)
{
    /* splitmix64: small, seedable, good enough to pick fault points */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- the contract after any run ---------------------------------------------------------- */

typedef struct expectation {
    uint64_t lsn_acked;             /* every LSN up to here was acknowledged by a sync */
    uint64_t lsn_retired_up_to;     /* the largest retire argument tried */
    const char *label;              /* printed on failure: mode, N, seed */
} expectation;

/* Returns whether open had to truncate a torn tail. */
static bool reopen_and_check(const char *dir, const expectation *expect)
{
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    billord_err err = billord_wal_open(&config, &wal, &info);
    cr_assert(eq(int, err, BILLORD_OK), "%s: reopen: %s %s", expect->label, billord_err_name(err),
              info.error_text);
    cr_assert(ge(u64, info.lsn_last, expect->lsn_acked), "%s: acknowledged LSN %" PRIu64 " lost",
              expect->label, expect->lsn_acked);
    collected c = {0};
    if (info.lsn_last > 0) {
        cr_assert(le(u64, info.lsn_first, expect->lsn_retired_up_to + 1u), "%s", expect->label);
        err = billord_wal_scan(wal, info.lsn_first, collect, &c);
        cr_assert(eq(int, err, BILLORD_OK), "%s: scan %s", expect->label, billord_wal_last_error(wal));
        cr_assert(eq(u64, c.bad_count, 0u), "%s: a record is not whole", expect->label);
        cr_assert(eq(u64, c.lsn_last, info.lsn_last), "%s", expect->label);
    }
    /* The recovered log takes new records. */
    uint8_t payload[PAYLOAD_BYTES_MAX];
    uint64_t lsn = 0;
    payload_fill(payload, info.lsn_last + 1u);
    cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(info.lsn_last + 1u), &lsn),
                 BILLORD_OK), "%s", expect->label);
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK), "%s", expect->label);
    billord_wal_close(wal);
    return info.tail_truncated;
}

static void check_sticky(billord_wal *wal, const char *label)
{
    uint8_t payload[PAYLOAD_BYTES_MAX];
    payload_fill(payload, 1);
    uint64_t lsn = 0;
    cr_assert(billord_wal_failed(wal), "%s", label);
    cr_assert(ne(str, (char *)billord_wal_last_error(wal), ""), "%s", label);
    cr_assert(eq(int, billord_wal_append(wal, payload, 1, &lsn), BILLORD_E_WAL_FAILED), "%s", label);
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_E_WAL_FAILED), "%s", label);
    cr_assert(eq(int, billord_wal_retire(wal, 1, NULL), BILLORD_E_WAL_FAILED), "%s", label);
}

/* ---- fault sweep ------------------------------------------------------------------------- */

/* Runs the scripted workload; fills *expect. */
static void sweep_workload(const char *dir, const billord_fs *fs, bool preparer_inline,
                           expectation *expect)
{
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES, .fs = fs,
                                 .preparer_inline = preparer_inline};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    billord_err err = billord_wal_open(&config, &wal, &info);
    if (err != BILLORD_OK) {
        cr_assert(err == BILLORD_E_IO || err == BILLORD_E_DISK_FULL, "%s: open %s", expect->label,
                  billord_err_name(err));
        cr_assert(ne(str, info.error_text, ""), "%s", expect->label);
        return;
    }
    uint8_t payload[PAYLOAD_BYTES_MAX];
    for (uint64_t lsn_want = 1; lsn_want <= SWEEP_RECORDS; lsn_want++) {
        payload_fill(payload, lsn_want);
        uint64_t lsn = 0;
        err = billord_wal_append(wal, payload, payload_bytes_for(lsn_want), &lsn);
        if (err == BILLORD_OK && lsn_want % SWEEP_SYNC_EVERY == 0) {
            err = billord_wal_sync(wal);
            if (err == BILLORD_OK) {
                expect->lsn_acked = lsn_want;
                cr_assert(eq(u64, billord_wal_durable_lsn(wal), lsn_want), "%s", expect->label);
            }
        }
        if (err == BILLORD_OK && lsn_want % SWEEP_RETIRE_EVERY == 0 && expect->lsn_acked > 5u) {
            /* A retire that fails half-way may still have removed some segments. */
            expect->lsn_retired_up_to = expect->lsn_acked - 5u;
            err = billord_wal_retire(wal, expect->lsn_acked - 5u, NULL);
        }
        if (err != BILLORD_OK) {
            cr_assert(eq(int, err, BILLORD_E_WAL_FAILED), "%s: got %s", expect->label,
                      billord_err_name(err));
            check_sticky(wal, expect->label);
            break;
        }
    }
    billord_wal_close(wal);
}

static void sweep(faulty_mode mode, bool persistent, bool preparer_inline)
{
    static const char *const mode_names[] = {"EIO", "ENOSPC", "short write"};
    uint32_t call_index = 1;
    for (; call_index <= SWEEP_CALLS_MAX; call_index++) {
        char dir[TEMPDIR_PATH_BYTES];
        tempdir_make(dir);
        char label[128];
        snprintf(label, sizeof label, "%s %s at call %u (%s preparer)", mode_names[mode],
                 persistent ? "persistent" : "once", call_index,
                 preparer_inline ? "inline" : "background");
        faulty_fs *fs = faulty_fs_new();
        faulty_fs_fail_at(fs, call_index, FAULTY_MASK_ALL, mode, persistent);
        expectation expect = {.label = label};
        sweep_workload(dir, faulty_fs_table(fs), preparer_inline, &expect);
        bool const injected = faulty_fs_failures(fs) > 0;
        faulty_fs_free(fs);
        reopen_and_check(dir, &expect);
        tempdir_remove(dir);
        if (!injected) {
            break;              /* the whole workload ran before call N: every N was covered */
        }
    }
    fprintf(stderr, "test_wal_faults: %s %s sweep (%s preparer) covered %u calls\n",
            mode_names[mode], persistent ? "persistent" : "once",
            preparer_inline ? "inline" : "background", call_index - 1u);
    cr_assert(le(u32, call_index, SWEEP_CALLS_MAX), "the sweep did not reach the end of the workload");
    /* Plain comparisons: Criterion 2.4.1's gt() passes on equality. */
    cr_assert(call_index > 50u, "the workload makes a realistic number of calls");
}

Test(wal_faults, sweep_eio_once, .timeout = 300) { sweep(FAULTY_EIO, false, true); }
Test(wal_faults, sweep_eio_persistent, .timeout = 300) { sweep(FAULTY_EIO, true, true); }
Test(wal_faults, sweep_enospc_persistent, .timeout = 300) { sweep(FAULTY_ENOSPC, true, true); }
Test(wal_faults, sweep_short_write_once, .timeout = 300) { sweep(FAULTY_SHORT, false, true); }
Test(wal_faults, sweep_short_write_persistent, .timeout = 300) { sweep(FAULTY_SHORT, true, true); }
/* With the preparer thread the call order varies from run to run; the contract may not. */
Test(wal_faults, sweep_eio_persistent_background_preparer, .timeout = 300)
{
    sweep(FAULTY_EIO, true, false);
}

/* A log of `count` synced records whose last segment is then cut inside its last record. */
static uint64_t torn_log_build(const char *dir, uint64_t count)
{
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES};
    billord_wal *wal = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, NULL), BILLORD_OK));
    uint8_t payload[PAYLOAD_BYTES_MAX];
    for (uint64_t want = 1; want <= count; want++) {
        payload_fill(payload, want);
        uint64_t lsn = 0;
        cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(want), &lsn), BILLORD_OK));
    }
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    billord_wal_close(wal);
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(dir, NULL, &reader), BILLORD_OK));
    billord_wal_record record = {0};
    char path[BILLORD_WAL_PATH_BYTES_MAX] = "";
    uint64_t offset = 0;
    for (uint64_t i = 0; i < count; i++) {
        cr_assert(eq(int, billord_wal_reader_next(reader, &record), BILLORD_OK));
        snprintf(path, sizeof path, "%s", record.segment_path);
        offset = record.offset_bytes + BILLORD_WAL_RECORD_HEADER_BYTES / 2u;
    }
    billord_wal_reader_close(reader);
    cr_assert(eq(int, truncate(path, (off_t)offset), 0));
    return count - 1u;
}

/* Faults during recovery: the torn tail's repair (zero fill, re-extend, fsync) can fail too. */
static void sweep_recovery(faulty_mode mode, bool persistent)
{
    uint32_t call_index = 1;
    for (; call_index <= SWEEP_CALLS_MAX; call_index++) {
        char dir[TEMPDIR_PATH_BYTES];
        tempdir_make(dir);
        char label[128];
        snprintf(label, sizeof label, "recovery: mode %d %s at call %u", (int)mode,
                 persistent ? "persistent" : "once", call_index);
        expectation expect = {.label = label};
        expect.lsn_acked = torn_log_build(dir, 60);
        faulty_fs *fs = faulty_fs_new();
        faulty_fs_fail_at(fs, call_index, FAULTY_MASK_ALL, mode, persistent);
        billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES,
                                     .fs = faulty_fs_table(fs), .preparer_inline = true};
        billord_wal *wal = NULL;
        billord_wal_recovery info;
        billord_err err = billord_wal_open(&config, &wal, &info);
        if (err == BILLORD_OK) {
            cr_assert(info.tail_truncated, "%s", label);
            uint8_t payload[PAYLOAD_BYTES_MAX];
            uint64_t const lsn_end = expect.lsn_acked + 30u;
            for (uint64_t want = expect.lsn_acked + 1u; want <= lsn_end; want++) {
                payload_fill(payload, want);
                uint64_t lsn = 0;
                err = billord_wal_append(wal, payload, payload_bytes_for(want), &lsn);
                if (err == BILLORD_OK && want % 5u == 0) {
                    err = billord_wal_sync(wal);
                    expect.lsn_acked = err == BILLORD_OK ? want : expect.lsn_acked;
                }
                if (err != BILLORD_OK) {
                    check_sticky(wal, label);
                    break;
                }
            }
            billord_wal_close(wal);
        } else {
            cr_assert(err == BILLORD_E_IO || err == BILLORD_E_DISK_FULL, "%s: %s", label,
                      billord_err_name(err));
        }
        bool const injected = faulty_fs_failures(fs) > 0;
        faulty_fs_free(fs);
        reopen_and_check(dir, &expect);
        tempdir_remove(dir);
        if (!injected) {
            break;
        }
    }
    fprintf(stderr, "test_wal_faults: recovery sweep (mode %d, %s) covered %u calls\n", (int)mode,
            persistent ? "persistent" : "once", call_index - 1u);
    cr_assert(le(u32, call_index, SWEEP_CALLS_MAX));
}

Test(wal_faults, sweep_recovery_eio_once, .timeout = 300) { sweep_recovery(FAULTY_EIO, false); }
Test(wal_faults, sweep_recovery_enospc_persistent, .timeout = 300)
{
    sweep_recovery(FAULTY_ENOSPC, true);
}
Test(wal_faults, sweep_recovery_short_write_once, .timeout = 300) { sweep_recovery(FAULTY_SHORT, false); }

Test(wal_faults, failed_fdatasync_is_never_retried, .timeout = 30)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    faulty_fs *fs = faulty_fs_new();
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES,
                                 .fs = faulty_fs_table(fs), .preparer_inline = true};
    billord_wal *wal = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, NULL), BILLORD_OK));
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_FDATASYNC), FAULTY_EIO, false);
    uint8_t payload[PAYLOAD_BYTES_MAX];
    payload_fill(payload, 1);
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(1), &lsn), BILLORD_OK));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_E_WAL_FAILED));
    cr_expect(eq(u64, billord_wal_durable_lsn(wal), 0u));
    cr_expect(strstr(billord_wal_last_error(wal), "fdatasync") != NULL, "%s", billord_wal_last_error(wal));
    check_sticky(wal, "fdatasync once");
    cr_expect(eq(u64, faulty_fs_calls(fs), 1u), "exactly one fdatasync: the failed one, not retried");
    billord_wal_close(wal);
    faulty_fs_free(fs);
    tempdir_remove(dir);
}

/* ---- power loss -------------------------------------------------------------------------- */

/* One step of the crash workload; false when the log failed (the power went). */
static bool crash_step(billord_wal *wal, uint64_t *rng, expectation *expect)
{
    uint8_t payload[PAYLOAD_BYTES_MAX];
    uint64_t const lsn_want = billord_wal_last_lsn(wal) + 1u;
    payload_fill(payload, lsn_want);
    uint64_t lsn = 0;
    billord_err err = billord_wal_append(wal, payload, payload_bytes_for(lsn_want), &lsn);
    uint64_t const dice = rng_next(rng) % 16u;
    if (err == BILLORD_OK && dice < 4u) {
        err = billord_wal_sync(wal);
        if (err == BILLORD_OK) {
            expect->lsn_acked = billord_wal_durable_lsn(wal);
        }
    } else if (err == BILLORD_OK && dice == 4u && expect->lsn_acked > 10u) {
        expect->lsn_retired_up_to = expect->lsn_acked - 10u;
        err = billord_wal_retire(wal, expect->lsn_acked - 10u, NULL);
    }
    if (err != BILLORD_OK) {
        cr_assert(eq(int, err, BILLORD_E_WAL_FAILED), "%s: %s", expect->label, billord_err_name(err));
        check_sticky(wal, expect->label);
        return false;
    }
    return true;
}

/*
 * Half the runs lose power inside a sync-type call (fdatasync, fsync, directory fsync),
 * keeping a few of the writes since the last sync and a torn prefix of the next one; the
 * other half lose power after the workload, with whatever writes were still unsynced.
 */
static bool crash_once(uint64_t seed)
{
    uint64_t rng = seed;
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    char label[96];
    snprintf(label, sizeof label, "power loss seed %" PRIu64, seed);
    faulty_fs *fs = faulty_fs_new();
    faulty_fs_buffer_writes(fs, true);
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES,
                                 .fs = faulty_fs_table(fs), .preparer_inline = rng_next(&rng) % 2u == 0};
    billord_wal *wal = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, NULL), BILLORD_OK), "%s", label);
    if (rng_next(&rng) % 2u == 0) {
        uint32_t const sync_mask = FAULTY_MASK(FAULTY_OP_FDATASYNC) | FAULTY_MASK(FAULTY_OP_FSYNC)
                                   | FAULTY_MASK(FAULTY_OP_FSYNC_DIR);
        uint64_t const call_index = 1u + rng_next(&rng) % (CRASH_OPS_MAX / 8u);
        /* Mostly tear the first unsynced write: that is where the interesting states are. */
        uint32_t const kept = rng_next(&rng) % 4u == 0 ? 1u : 0u;
        faulty_fs_crash_at(fs, call_index, sync_mask, kept, rng_next(&rng) % (2u * PAYLOAD_BYTES_MAX));
    }
    expectation expect = {.label = label};
    uint64_t const ops = rng_next(&rng) % CRASH_OPS_MAX;
    for (uint64_t op = 0; op < ops && crash_step(wal, &rng, &expect); op++) {
    }
    /* Rotations sync too: whatever was durable at the crash must survive it. */
    expect.lsn_acked = billord_wal_durable_lsn(wal);
    if (!faulty_fs_crashed(fs)) {
        uint32_t const pending = faulty_fs_pending_count(fs);
        uint32_t const kept = (uint32_t)(rng_next(&rng) % (pending + 1u));
        faulty_fs_crash(fs, kept, rng_next(&rng) % (2u * PAYLOAD_BYTES_MAX));
    }
    billord_wal_close(wal);
    faulty_fs_free(fs);
    bool const torn = reopen_and_check(dir, &expect);
    tempdir_remove(dir);
    return torn;
}

Test(wal_faults, power_loss_keeps_every_synced_record, .timeout = 300)
{
    uint64_t const seed = seed_base();
    uint32_t torn_count = 0;
    for (uint64_t i = 0; i < CRASH_ITERATIONS; i++) {
        torn_count += crash_once(seed + i) ? 1u : 0u;
    }
    fprintf(stderr, "test_wal_faults: %u of %u power losses left a torn tail\n", torn_count,
            CRASH_ITERATIONS);
    cr_expect(torn_count > 0u, "the crash model must tear some tails (seed %" PRIu64 ")", seed);
}

Test(wal_faults, power_loss_dropping_every_unsynced_write, .timeout = 60)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    faulty_fs *fs = faulty_fs_new();
    faulty_fs_buffer_writes(fs, true);
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES,
                                 .fs = faulty_fs_table(fs), .preparer_inline = true};
    billord_wal *wal = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, NULL), BILLORD_OK));
    uint8_t payload[PAYLOAD_BYTES_MAX];
    uint64_t lsn = 0;
    for (uint64_t want = 1; want <= 5; want++) {
        payload_fill(payload, want);
        cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(want), &lsn), BILLORD_OK));
    }
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    for (uint64_t want = 6; want <= 8; want++) {
        payload_fill(payload, want);
        cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(want), &lsn), BILLORD_OK));
    }
    faulty_fs_crash(fs, 0, 0);
    billord_wal_close(wal);
    faulty_fs_free(fs);
    billord_wal_config real = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES};
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&real, &wal, &info), BILLORD_OK), "%s", info.error_text);
    cr_expect(eq(u64, info.lsn_last, 5u));
    billord_wal_close(wal);
    tempdir_remove(dir);
}

/* ---- corruption matrix ------------------------------------------------------------------- */

typedef struct record_at {
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    uint64_t offset_bytes;
    uint64_t record_bytes;
    uint64_t lsn;
} record_at;

/* A log of MATRIX_RECORDS records over several segments; *out_records gets where each is. */
static void matrix_build(const char *dir, record_at records[MATRIX_RECORDS])
{
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES};
    billord_wal *wal = NULL;
    cr_assert(eq(int, billord_wal_open(&config, &wal, NULL), BILLORD_OK));
    uint8_t payload[PAYLOAD_BYTES_MAX];
    for (uint64_t want = 1; want <= MATRIX_RECORDS; want++) {
        payload_fill(payload, want);
        uint64_t lsn = 0;
        cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(want), &lsn), BILLORD_OK));
        cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    }
    billord_wal_close(wal);
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(dir, NULL, &reader), BILLORD_OK));
    for (uint32_t i = 0; i < MATRIX_RECORDS; i++) {
        billord_wal_record record;
        cr_assert(eq(int, billord_wal_reader_next(reader, &record), BILLORD_OK));
        snprintf(records[i].path, sizeof records[i].path, "%s", record.segment_path);
        records[i].offset_bytes = record.offset_bytes;
        records[i].record_bytes = BILLORD_WAL_RECORD_HEADER_BYTES + (uint64_t)record.payload_bytes;
        records[i].lsn = record.lsn;
    }
    billord_wal_reader_close(reader);
    cr_assert(ne(str, records[0].path, records[MATRIX_RECORDS - 1].path), "several segments");
}

typedef struct file_copy {
    char *bytes;
    size_t bytes_len;
} file_copy;

static file_copy file_save(const char *path)
{
    file_copy copy = {0};
    copy.bytes = tempdir_read_file(path, &copy.bytes_len);
    cr_assert(copy.bytes != NULL, "%s", path);
    return copy;
}

static void file_restore(const char *path, const file_copy *copy, size_t bytes_len)
{
    FILE *file = fopen(path, "wb");
    cr_assert(file != NULL);
    cr_assert(eq(sz, fwrite(copy->bytes, 1, bytes_len, file), bytes_len));
    fclose(file);
}

static void file_flip(const char *path, const file_copy *copy, uint64_t offset_bytes)
{
    copy->bytes[offset_bytes] ^= 0x5a;
    file_restore(path, copy, copy->bytes_len);
    copy->bytes[offset_bytes] ^= 0x5a;
}

static billord_err matrix_open(const char *dir, billord_wal_recovery *info)
{
    billord_wal_config config = {.dir_path = dir, .segment_bytes = SWEEP_SEGMENT_BYTES};
    billord_wal *wal = NULL;
    billord_err err = billord_wal_open(&config, &wal, info);
    billord_wal_close(wal);
    return err;
}

static void expect_names(const billord_wal_recovery *info, const char *path, uint64_t offset_bytes,
                         uint64_t flipped)
{
    char offset_text[64];
    snprintf(offset_text, sizeof offset_text, "offset %" PRIu64 ":", offset_bytes);
    const char *name = strrchr(path, '/') + 1;
    cr_expect(strstr(info->error_text, name) != NULL, "byte %" PRIu64 ": %s", flipped, info->error_text);
    cr_expect(strstr(info->error_text, offset_text) != NULL, "byte %" PRIu64 ": want %s in: %s",
              flipped, offset_text, info->error_text);
}

Test(wal_faults, flipped_byte_in_tail_record_is_truncated_and_reported, .timeout = 120)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    record_at records[MATRIX_RECORDS];
    matrix_build(dir, records);
    const record_at *last = &records[MATRIX_RECORDS - 1];
    file_copy copy = file_save(last->path);
    for (uint64_t byte = last->offset_bytes; byte < last->offset_bytes + last->record_bytes; byte++) {
        file_flip(last->path, &copy, byte);
        billord_wal_recovery info;
        billord_err err = matrix_open(dir, &info);
        cr_assert(eq(int, err, BILLORD_OK), "byte %" PRIu64 ": %s", byte, info.error_text);
        cr_expect(info.tail_truncated, "byte %" PRIu64, byte);
        cr_expect(eq(u64, info.tail_offset_bytes, last->offset_bytes), "byte %" PRIu64, byte);
        cr_expect(eq(str, info.tail_segment_path, (char *)last->path));
        cr_expect(info.tail_bytes > 0u);
        cr_expect(eq(u64, info.lsn_last, MATRIX_RECORDS - 1u), "byte %" PRIu64, byte);
    }
    /* After the repair the file is clean again: a second open reports nothing. */
    billord_wal_recovery info;
    cr_assert(eq(int, matrix_open(dir, &info), BILLORD_OK));
    cr_expect(eq(int, (int)info.tail_truncated, 0));
    free(copy.bytes);
    tempdir_remove(dir);
}

static void expect_corrupt_for_every_byte(const char *dir, const record_at *target)
{
    file_copy copy = file_save(target->path);
    for (uint64_t byte = target->offset_bytes; byte < target->offset_bytes + target->record_bytes; byte++) {
        file_flip(target->path, &copy, byte);
        billord_wal_recovery info;
        billord_err err = matrix_open(dir, &info);
        cr_assert(eq(int, err, BILLORD_E_WAL_CORRUPT), "byte %" PRIu64 ": %s", byte,
                  billord_err_name(err));
        expect_names(&info, target->path, target->offset_bytes, byte);
        size_t after_bytes = 0;
        char *after = tempdir_read_file(target->path, &after_bytes);
        copy.bytes[byte] ^= 0x5a;
        cr_expect(after_bytes == copy.bytes_len && memcmp(after, copy.bytes, after_bytes) == 0,
                  "open must not modify a corrupt log");
        copy.bytes[byte] ^= 0x5a;
        free(after);
    }
    file_restore(target->path, &copy, copy.bytes_len);
    free(copy.bytes);
}

Test(wal_faults, flipped_byte_in_middle_record_fails_naming_segment_and_offset, .timeout = 120)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    record_at records[MATRIX_RECORDS];
    matrix_build(dir, records);
    /* A record inside the first segment, the last record of the first segment, and one in
     * the last segment with valid records after it. */
    expect_corrupt_for_every_byte(dir, &records[2]);
    uint32_t last_of_first = 0;
    while (strcmp(records[last_of_first + 1].path, records[0].path) == 0) {
        last_of_first++;
    }
    expect_corrupt_for_every_byte(dir, &records[last_of_first]);
    expect_corrupt_for_every_byte(dir, &records[MATRIX_RECORDS - 3]);
    billord_wal_recovery info;
    cr_expect(eq(int, matrix_open(dir, &info), BILLORD_OK), "restored log opens: %s", info.error_text);
    tempdir_remove(dir);
}

Test(wal_faults, flipped_byte_in_segment_header_fails, .timeout = 60)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    record_at records[MATRIX_RECORDS];
    matrix_build(dir, records);
    const char *paths[] = {records[0].path, records[MATRIX_RECORDS - 1].path};
    for (size_t p = 0; p < 2u; p++) {
        file_copy copy = file_save(paths[p]);
        for (uint64_t byte = 0; byte < BILLORD_WAL_SEGMENT_HEADER_BYTES; byte++) {
            file_flip(paths[p], &copy, byte);
            billord_wal_recovery info;
            cr_assert(eq(int, matrix_open(dir, &info), BILLORD_E_WAL_CORRUPT), "byte %" PRIu64, byte);
            expect_names(&info, paths[p], 0, byte);
        }
        file_restore(paths[p], &copy, copy.bytes_len);
        free(copy.bytes);
    }
    tempdir_remove(dir);
}

Test(wal_faults, cut_at_every_offset_of_last_record_keeps_earlier_records, .timeout = 120)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    record_at records[MATRIX_RECORDS];
    matrix_build(dir, records);
    const record_at *last = &records[MATRIX_RECORDS - 1];
    file_copy copy = file_save(last->path);
    uint64_t const end = last->offset_bytes + last->record_bytes;
    for (uint64_t cut = last->offset_bytes; cut <= end; cut++) {
        file_restore(last->path, &copy, (size_t)cut);
        billord_wal_recovery info;
        cr_assert(eq(int, matrix_open(dir, &info), BILLORD_OK), "cut %" PRIu64 ": %s", cut,
                  info.error_text);
        uint64_t const lsn_expected = cut == end ? MATRIX_RECORDS : MATRIX_RECORDS - 1u;
        cr_expect(eq(u64, info.lsn_last, lsn_expected), "cut %" PRIu64, cut);
        cr_expect(eq(int, (int)info.tail_truncated, (int)(cut > last->offset_bytes && cut < end)),
                  "cut %" PRIu64, cut);
        struct stat st;
        cr_assert(eq(int, stat(last->path, &st), 0));
        cr_expect(eq(i64, (int64_t)st.st_size, (int64_t)SWEEP_SEGMENT_BYTES), "re-extended");
    }
    free(copy.bytes);
    tempdir_remove(dir);
}

Test(wal_faults, missing_middle_segment_is_an_lsn_gap, .timeout = 60)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    record_at records[MATRIX_RECORDS];
    matrix_build(dir, records);
    uint32_t second = 0;
    while (strcmp(records[second].path, records[0].path) == 0) {
        second++;
    }
    uint32_t third = second;
    while (strcmp(records[third].path, records[second].path) == 0) {
        third++;
    }
    cr_assert(lt(u32, third, MATRIX_RECORDS));
    cr_assert(eq(int, unlink(records[second].path), 0));
    billord_wal_recovery info;
    cr_assert(eq(int, matrix_open(dir, &info), BILLORD_E_WAL_CORRUPT));
    cr_expect(strstr(info.error_text, "LSN gap") != NULL, "%s", info.error_text);
    expect_names(&info, records[third].path, 0, 0);
    tempdir_remove(dir);
}

Test(wal_faults, reader_reports_torn_tail_and_corruption, .timeout = 60)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    record_at records[MATRIX_RECORDS];
    matrix_build(dir, records);
    const record_at *last = &records[MATRIX_RECORDS - 1];
    file_copy copy = file_save(last->path);
    file_flip(last->path, &copy, last->offset_bytes + 21u);
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(dir, NULL, &reader), BILLORD_OK));
    billord_wal_record record;
    uint32_t count = 0;
    billord_err err = BILLORD_OK;
    for (uint32_t i = 0; i <= MATRIX_RECORDS; i++) {
        err = billord_wal_reader_next(reader, &record);
        if (err != BILLORD_OK) {
            break;
        }
        count++;
    }
    cr_expect(eq(int, err, BILLORD_E_WAL_TRUNCATED));
    cr_expect(eq(u32, count, MATRIX_RECORDS - 1u));
    cr_expect(strstr(billord_wal_reader_error(reader), strrchr(last->path, '/') + 1) != NULL);
    billord_wal_reader_close(reader);
    file_restore(last->path, &copy, copy.bytes_len);

    const record_at *middle = &records[3];
    file_copy middle_copy = file_save(middle->path);
    file_flip(middle->path, &middle_copy, middle->offset_bytes + 30u);
    cr_assert(eq(int, billord_wal_reader_open(dir, NULL, &reader), BILLORD_OK));
    count = 0;
    for (uint32_t i = 0; i <= MATRIX_RECORDS; i++) {
        err = billord_wal_reader_next(reader, &record);
        if (err != BILLORD_OK) {
            break;
        }
        count++;
    }
    cr_expect(eq(int, err, BILLORD_E_WAL_CORRUPT));
    cr_expect(eq(u32, count, 0u), "a corrupt segment delivers nothing");
    char offset_text[64];
    snprintf(offset_text, sizeof offset_text, "offset %" PRIu64 ":", middle->offset_bytes);
    cr_expect(strstr(billord_wal_reader_error(reader), offset_text) != NULL, "%s",
              billord_wal_reader_error(reader));
    cr_expect(eq(int, billord_wal_reader_next(reader, &record), BILLORD_E_WAL_CORRUPT), "sticky");
    billord_wal_reader_close(reader);
    free(copy.bytes);
    free(middle_copy.bytes);
    tempdir_remove(dir);
}
