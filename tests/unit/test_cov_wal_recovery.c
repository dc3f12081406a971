/*
 * test_cov_wal_recovery.c: the log's open (verify and repair), scan and standalone reader
 * on the paths test_wal and test_wal_faults do not take: allocations that fail, a log
 * with the most live segments there may be, files renamed, replaced or removed behind the
 * log's back, an archive that vanishes, records written but not yet durable, and a
 * callback that stops a scan. Each test checks the answer and that the records on disk
 * are still exactly the acknowledged ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/wal.h>

#include "support/faulty_alloc.h"
#include "support/faulty_fs.h"
#include "support/tempdir.h"
#include "wal/wal_internal.h"

#define SEGMENT_BYTES 4096u
#define PAYLOAD_BYTES 100u

static char dir[TEMPDIR_PATH_BYTES];
static char wal_dir[TEMPDIR_PATH_BYTES];
static char archive_dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
    tempdir_join(wal_dir, dir, "wal");
    tempdir_join(archive_dir, dir, "archive");
    cr_assert(mkdir(wal_dir, 0755) == 0);
    cr_assert(mkdir(archive_dir, 0755) == 0);
}

static void teardown(void)
{
    faulty_alloc_reset();
    tempdir_remove(dir);
}

TestSuite(cov_wal_recovery, .init = setup, .fini = teardown, .timeout = 120);

static void payload_fill(uint8_t payload[PAYLOAD_BYTES], uint64_t lsn)
{
    for (uint32_t i = 0; i < PAYLOAD_BYTES; i++) {
        payload[i] = (uint8_t)(lsn * 7u + i);
    }
}

static billord_err open_log(const char *archive, const billord_fs *fs, billord_wal **out_wal,
                            billord_wal_recovery *info)
{
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = SEGMENT_BYTES,
                                 .archive_dir = archive, .fs = fs, .preparer_inline = true};
    billord_wal_recovery local;
    return billord_wal_open(&config, out_wal, info != NULL ? info : &local);
}

static billord_wal *open_ok(const char *archive, const billord_fs *fs)
{
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    billord_err err = open_log(archive, fs, &wal, &info);
    cr_assert(eq(int, err, BILLORD_OK), "open: %s %s", billord_err_name(err), info.error_text);
    return wal;
}

/* Append and sync records lsn_from..lsn_to (100-byte payloads: about 34 per segment). */
static void append_synced(billord_wal *wal, uint64_t lsn_from, uint64_t lsn_to)
{
    uint8_t payload[PAYLOAD_BYTES];
    for (uint64_t lsn = lsn_from; lsn <= lsn_to; lsn++) {
        payload_fill(payload, lsn);
        uint64_t got = 0;
        cr_assert(eq(int, billord_wal_append(wal, payload, PAYLOAD_BYTES, &got), BILLORD_OK));
        cr_assert(eq(u64, got, lsn));
    }
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK), "%s", billord_wal_last_error(wal));
}

typedef struct collected {
    uint64_t count;
    uint64_t lsn_first;
    uint64_t lsn_last;
    uint64_t bad_count;
    uint64_t stop_at_lsn;           /* 0: never stop */
} collected;

static billord_err collect(uint64_t lsn, const uint8_t *payload, uint32_t payload_bytes, void *ctx)
{
    collected *c = ctx;
    if (c->stop_at_lsn != 0 && lsn == c->stop_at_lsn) {
        return BILLORD_E_CORRUPT;
    }
    uint8_t expected[PAYLOAD_BYTES];
    payload_fill(expected, lsn);
    if (payload_bytes != PAYLOAD_BYTES || memcmp(payload, expected, PAYLOAD_BYTES) != 0
        || (c->count > 0 && lsn != c->lsn_last + 1u)) {
        c->bad_count++;
    }
    if (c->count == 0) {
        c->lsn_first = lsn;
    }
    c->lsn_last = lsn;
    c->count++;
    return BILLORD_OK;
}

#define ANY_COUNT UINT64_MAX

/* A scan of wal from LSN 1 answers err after count records (ANY_COUNT: not checked), every
 * record it delivered intact; error_part (unless NULL) is in the log's last error. */
static void expect_scan(billord_wal *wal, billord_err err, uint64_t count, const char *error_part)
{
    collected c = {0};
    cr_assert(eq(int, billord_wal_scan(wal, 1, collect, &c), err), "%s",
              billord_wal_last_error(wal));
    if (count != ANY_COUNT) {
        cr_assert(eq(u64, c.count, count));
    }
    cr_assert(eq(u64, c.bad_count, 0));
    if (error_part != NULL) {
        cr_assert(strstr(billord_wal_last_error(wal), error_part) != NULL, "%s",
                  billord_wal_last_error(wal));
    }
}

/* Reopen with the real file system and check records 1..lsn_last are all there. */
static void expect_log_holds(uint64_t lsn_last)
{
    billord_wal *wal = open_ok(NULL, NULL);
    expect_scan(wal, BILLORD_OK, lsn_last, NULL);
    cr_assert(eq(u64, billord_wal_last_lsn(wal), lsn_last));
    billord_wal_close(wal);
}

static void segment_file(char out[TEMPDIR_PATH_BYTES], const char *in_dir, uint64_t lsn_first)
{
    char name[BILLORD_WAL_SEGMENT_NAME_BYTES];
    billord__wal_segment_name(lsn_first, name);
    tempdir_join(out, in_dir, name);
}

/* The first LSNs of the live segments, from the directory. */
static uint32_t live_segments(uint64_t *lsns, uint32_t capacity)
{
    uint64_t *listed = NULL;
    uint32_t count = 0;
    cr_assert(eq(int, billord__wal_list_segments(billord_fs_posix(), wal_dir, &listed, &count),
                 BILLORD_OK));
    cr_assert(count <= capacity);
    memcpy(lsns, listed, count * sizeof *lsns);
    free(listed);
    return count;
}

/* A log of 100 synced records over three or more segments, closed. */
static uint32_t make_log(uint64_t *lsns, uint32_t capacity)
{
    billord_wal *wal = open_ok(NULL, NULL);
    append_synced(wal, 1, 100);
    billord_wal_close(wal);
    uint32_t count = live_segments(lsns, capacity);
    cr_assert(count >= 3u, "%u segments", count);
    return count;
}

/* make_log's log, open again: a test then changes its files behind its back. */
static billord_wal *reopened_log(uint64_t *lsns)
{
    make_log(lsns, 64);
    return open_ok(NULL, NULL);
}

/* Append records *lsn + 1, ... until the log refuses one or lsn_max is reached; *lsn is
 * the LSN of the last record tried. */
static billord_err append_until_refused(billord_wal *wal, uint64_t *lsn, uint64_t lsn_max)
{
    uint8_t payload[PAYLOAD_BYTES];
    billord_err err = BILLORD_OK;
    while (err == BILLORD_OK && *lsn < lsn_max) {
        payload_fill(payload, ++*lsn);
        uint64_t got = 0;
        err = billord_wal_append(wal, payload, PAYLOAD_BYTES, &got);
    }
    return err;
}

static void copy_file(const char *from, const char *to)
{
    size_t bytes = 0;
    char *content = tempdir_read_file(from, &bytes);
    cr_assert(content != NULL);
    FILE *file = fopen(to, "wb");
    cr_assert(file != NULL);
    cr_assert(eq(sz, fwrite(content, 1, bytes, file), bytes));
    fclose(file);
    free(content);
}

static void flip_byte(const char *path, long offset)
{
    FILE *file = fopen(path, "r+b");
    cr_assert(file != NULL);
    cr_assert(fseek(file, offset, SEEK_SET) == 0);
    int byte = fgetc(file);
    cr_assert(byte != EOF);
    cr_assert(fseek(file, offset, SEEK_SET) == 0);
    fputc(byte ^ 0x5a, file);
    fclose(file);
}

/* ---- open ------------------------------------------------------------------------------ */

Test(cov_wal_recovery, a_config_without_a_usable_directory_is_refused)
{
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    billord_wal_config config = {.dir_path = NULL};
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(str, info.error_text, "wal dir_path is missing"));
    config.dir_path = "";
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    char long_path[BILLORD_WAL_PATH_BYTES_MAX];
    memset(long_path, 'a', sizeof long_path - 1u);
    long_path[sizeof long_path - 1u] = '\0';
    config.dir_path = long_path;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(str, info.error_text, "wal directory path is too long"));
    config.dir_path = wal_dir;
    config.archive_dir = long_path;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(str, info.error_text, "wal directory path is too long"));
    cr_assert(wal == NULL);
}

/* Every allocation open makes, failing in turn: open answers BILLORD_E_NOMEM and changes
 * nothing; once allocations stop failing, every record is there. */
Test(cov_wal_recovery, an_allocation_failing_during_open_changes_nothing)
{
    if (!faulty_alloc_supported()) {
        cr_skip("allocation faults need a build without sanitizers");
    }
    uint64_t lsns[64];
    make_log(lsns, 64);
    uint32_t nomem_count = 0;
    for (uint64_t n = 1; n < 200; n++) {
        faulty_alloc_fail_at(n, false, true);
        billord_wal *wal = NULL;
        billord_wal_recovery info;
        billord_err err = open_log(NULL, NULL, &wal, &info);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        if (err == BILLORD_OK) {
            billord_wal_close(wal);
            if (failures == 0) {
                break;
            }
            continue;
        }
        /* An allocation inside the C library (opendir) reads as an I/O error. */
        cr_assert(err == BILLORD_E_NOMEM || err == BILLORD_E_IO, "allocation %" PRIu64 ": %s %s",
                  n, billord_err_name(err), info.error_text);
        cr_assert(eq(u64, failures, 1));
        nomem_count += err == BILLORD_E_NOMEM;
    }
    /* The handle, its write buffer, the segment list and the read buffer at least. */
    cr_assert(nomem_count >= 4u, "%u", nomem_count);
    expect_log_holds(100);
}

Test(cov_wal_recovery, a_segment_renamed_to_another_lsn_is_corrupt)
{
    uint64_t lsns[64];
    make_log(lsns, 64);
    char from[TEMPDIR_PATH_BYTES];
    char to[TEMPDIR_PATH_BYTES];
    segment_file(from, wal_dir, lsns[0]);
    segment_file(to, wal_dir, lsns[0] + 1u);
    cr_assert(rename(from, to) == 0);
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, open_log(NULL, NULL, &wal, &info), BILLORD_E_WAL_CORRUPT));
    cr_assert(strstr(info.error_text, "header's first LSN differs from the file name") != NULL,
              "%s", info.error_text);
    cr_assert(strstr(info.error_text, to) != NULL, "%s", info.error_text);
    /* Nothing was repaired or removed: putting the name back restores the log. */
    cr_assert(rename(to, from) == 0);
    expect_log_holds(100);
}

/* Write a segment file directly: header, then the records lsn_first..lsn_last (none when
 * lsn_last < lsn_first). */
static void write_segment(uint64_t lsn_first, uint64_t lsn_last, uint64_t segment_bytes)
{
    uint8_t file_bytes[BILLORD_WAL_SEGMENT_HEADER_BYTES + 2u * PAYLOAD_BYTES];
    billord__wal_segment_header header = {.lsn_first = lsn_first, .segment_bytes = segment_bytes};
    billord__wal_segment_header_encode(file_bytes, &header);
    size_t bytes = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    uint64_t const record_bytes = billord__wal_record_bytes(PAYLOAD_BYTES);
    cr_assert(lsn_last <= lsn_first);
    if (lsn_last == lsn_first) {
        uint8_t payload[PAYLOAD_BYTES];
        payload_fill(payload, lsn_first);
        billord__wal_record_encode(file_bytes + bytes, lsn_first, payload, PAYLOAD_BYTES);
        bytes += (size_t)record_bytes;
    }
    char path[TEMPDIR_PATH_BYTES];
    segment_file(path, wal_dir, lsn_first);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    cr_assert(eq(sz, (size_t)write(fd, file_bytes, bytes), bytes));
    close(fd);
}

/* The most live segments a log may have: it opens; its empty last segment, too small for
 * the next record, is replaced under the same name; and it refuses to start one more
 * segment (the answer asks for a retire) instead of growing without bound. */
Test(cov_wal_recovery, a_log_at_the_segment_limit_refuses_to_rotate, .timeout = 300)
{
    /* 65,536 small files: in memory when the machine has /dev/shm. */
    char shm_dir[] = "/dev/shm/billord-test-XXXXXX";
    bool in_shm = mkdtemp(shm_dir) != NULL;
    if (in_shm) {
        cr_assert(rmdir(wal_dir) == 0);
        cr_assert(symlink(shm_dir, wal_dir) == 0);
    }
    uint64_t const last_lsn_first = BILLORD_WAL_SEGMENTS_MAX;
    for (uint64_t lsn = 1; lsn < last_lsn_first; lsn++) {
        write_segment(lsn, lsn, SEGMENT_BYTES);
    }
    write_segment(last_lsn_first, 0, BILLORD_WAL_SEGMENT_BYTES_MIN);
    uint64_t const segment_bytes = 64u * 1024u;
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = segment_bytes,
                                 .preparer_inline = true};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_OK), "%s", info.error_text);
    cr_assert(eq(u32, info.segment_count, BILLORD_WAL_SEGMENTS_MAX));
    cr_assert(eq(u64, info.lsn_last, last_lsn_first - 1u));
    /* A record too big for the empty 4 KiB segment: the segment is replaced. */
    uint32_t const big_bytes = 5000u;
    uint8_t *big = calloc(1, big_bytes);
    cr_assert(big != NULL);
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, big, big_bytes, &lsn), BILLORD_OK), "%s",
              billord_wal_last_error(wal));
    cr_assert(eq(u64, lsn, last_lsn_first));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    free(big);
    /* Fill the new segment until it must rotate. */
    billord_err err = append_until_refused(wal, &lsn, last_lsn_first + 1000u);
    cr_assert(eq(int, err, BILLORD_E_WAL_FAILED), "%s", billord_err_name(err));
    cr_assert(eq(str, (char *)billord_wal_last_error(wal), "too many live segments (retire some)"));
    billord_wal_close(wal);
    /* Nothing was named for the refused segment: the log opens again, with every record
     * the rotation synced. */
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_OK), "%s", info.error_text);
    cr_assert(eq(u32, info.segment_count, BILLORD_WAL_SEGMENTS_MAX));
    cr_assert(eq(u64, info.lsn_last, lsn - 1u));
    billord_wal_close(wal);
    if (in_shm) {
        tempdir_remove(shm_dir);
    }
}

/* A reopened log's segment list is exactly full: the next rotation grows it, and when
 * that allocation fails, the log fails before naming the new segment. */
Test(cov_wal_recovery, a_segment_list_that_cannot_grow_fails_the_rotation)
{
    if (!faulty_alloc_supported()) {
        cr_skip("allocation faults need a build without sanitizers");
    }
    uint64_t lsns[64];
    uint32_t const count = make_log(lsns, 64);
    billord_wal *wal = open_ok(NULL, NULL);
    faulty_alloc_fail_at(1, false, false);
    uint64_t lsn = 100;
    billord_err err = append_until_refused(wal, &lsn, 200u);
    uint64_t failures = faulty_alloc_failures();
    faulty_alloc_reset();
    cr_assert(eq(int, err, BILLORD_E_WAL_FAILED), "%s", billord_err_name(err));
    cr_assert(eq(u64, failures, 1));
    cr_assert(eq(str, (char *)billord_wal_last_error(wal), "out of memory for the segment list"));
    billord_wal_close(wal);
    cr_assert(eq(u32, live_segments(lsns, 64), count));
    expect_log_holds(lsn - 1u);
}

/* ---- append ---------------------------------------------------------------------------- */

/* A record larger than the write buffer grows it; when that allocation fails the append
 * answers BILLORD_E_NOMEM and the log goes on. */
Test(cov_wal_recovery, a_record_larger_than_the_buffer_that_cannot_grow_it)
{
    if (!faulty_alloc_supported()) {
        cr_skip("allocation faults need a build without sanitizers");
    }
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = 4u << 20,
                                 .preparer_inline = true};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_OK), "%s", info.error_text);
    uint32_t const big_bytes = BILLORD__WAL_BUFFER_BYTES_INITIAL + 1000u;
    uint8_t *big = calloc(1, big_bytes);
    cr_assert(big != NULL);
    uint64_t lsn = 0;
    faulty_alloc_fail_at(1, false, false);
    billord_err err = billord_wal_append(wal, big, big_bytes, &lsn);
    faulty_alloc_reset();
    cr_assert(eq(int, err, BILLORD_E_NOMEM));
    cr_assert(not(billord_wal_failed(wal)));
    cr_assert(eq(int, billord_wal_append(wal, big, big_bytes, &lsn), BILLORD_OK));
    cr_assert(eq(u64, lsn, 1));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    billord_wal_close(wal);
    free(big);
}

/* The write buffer holds a record when a bigger one arrives: flushing it fails, and the
 * log is failed for good. */
Test(cov_wal_recovery, a_flush_that_fails_before_a_big_record_fails_the_log)
{
    faulty_fs *fs = faulty_fs_new();
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = 4u << 20,
                                 .fs = faulty_fs_table(fs), .preparer_inline = true};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_OK), "%s", info.error_text);
    uint8_t small[PAYLOAD_BYTES];
    payload_fill(small, 1);
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, small, PAYLOAD_BYTES, &lsn), BILLORD_OK));
    uint32_t const big_bytes = BILLORD__WAL_BUFFER_BYTES_INITIAL;
    uint8_t *big = calloc(1, big_bytes);
    cr_assert(big != NULL);
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_PWRITE), FAULTY_EIO, false);
    cr_assert(eq(int, billord_wal_append(wal, big, big_bytes, &lsn), BILLORD_E_WAL_FAILED));
    cr_assert(billord_wal_failed(wal));
    cr_assert(eq(u64, faulty_fs_failures(fs), 1));
    cr_assert(eq(int, billord_wal_append(wal, small, PAYLOAD_BYTES, &lsn), BILLORD_E_WAL_FAILED));
    billord_wal_close(wal);
    faulty_fs_free(fs);
    free(big);
}

/* A full segment must rotate; when the new segment cannot be installed the append fails
 * and so does the log, and what was synced before is all there. */
Test(cov_wal_recovery, a_rotation_that_fails_fails_the_append)
{
    faulty_fs *fs = faulty_fs_new();
    billord_wal *wal = open_ok(NULL, faulty_fs_table(fs));
    append_synced(wal, 1, 10);
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_RENAME), FAULTY_EIO, false);
    uint64_t lsn = 10;
    billord_err err = append_until_refused(wal, &lsn, 100u);
    cr_assert(eq(int, err, BILLORD_E_WAL_FAILED), "%s", billord_err_name(err));
    cr_assert(eq(u64, faulty_fs_failures(fs), 1));
    cr_assert(billord_wal_failed(wal));
    cr_assert(strstr(billord_wal_last_error(wal), "rename") != NULL, "%s",
              billord_wal_last_error(wal));
    billord_wal_close(wal);
    faulty_fs_free(fs);
    /* The records of the full segment that were never synced may be there or not; the
     * synced ones are. */
    billord_wal *reopened = open_ok(NULL, NULL);
    collected c = {0};
    cr_assert(eq(int, billord_wal_scan(reopened, 1, collect, &c), BILLORD_OK));
    cr_assert(c.count >= 10u);
    cr_assert(eq(u64, c.bad_count, 0));
    billord_wal_close(reopened);
}

/* ---- retire ---------------------------------------------------------------------------- */

static void retire_with_fault(faulty_op op, const char *expected_text)
{
    faulty_fs *fs = faulty_fs_new();
    billord_wal *wal = open_ok(archive_dir, faulty_fs_table(fs));
    append_synced(wal, 1, 100);
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(op), FAULTY_EIO, false);
    uint32_t retired = 0;
    cr_assert(eq(int, billord_wal_retire(wal, 100, &retired), BILLORD_E_WAL_FAILED));
    cr_assert(billord_wal_failed(wal));
    cr_assert(strstr(billord_wal_last_error(wal), expected_text) != NULL, "%s",
              billord_wal_last_error(wal));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_E_WAL_FAILED));
    billord_wal_close(wal);
    faulty_fs_free(fs);
}

Test(cov_wal_recovery, a_segment_that_cannot_move_to_the_archive_fails_the_log)
{
    retire_with_fault(FAULTY_OP_RENAME, "rename ");
    /* Every record is still in the live directory or the archive. */
    billord_wal *wal = open_ok(archive_dir, NULL);
    expect_scan(wal, BILLORD_OK, 100, NULL);
    billord_wal_close(wal);
}

Test(cov_wal_recovery, an_archive_directory_that_cannot_sync_fails_the_log)
{
    retire_with_fault(FAULTY_OP_FSYNC_DIR, "fsync of the archive directory");
}

/* ---- scan ------------------------------------------------------------------------------ */

/* Records that reached the file but were never synced are not delivered. */
Test(cov_wal_recovery, a_scan_stops_at_the_durable_lsn)
{
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = 8u << 20,
                                 .preparer_inline = true};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_OK), "%s", info.error_text);
    append_synced(wal, 1, 5);
    /* Three records of 600 KB each: the 1 MiB buffer is written out, unsynced. */
    uint32_t const big_bytes = 600u * 1024u;
    uint8_t *big = calloc(1, big_bytes);
    cr_assert(big != NULL);
    for (int i = 0; i < 3; i++) {
        uint64_t lsn = 0;
        cr_assert(eq(int, billord_wal_append(wal, big, big_bytes, &lsn), BILLORD_OK));
    }
    cr_assert(eq(u64, billord_wal_durable_lsn(wal), 5));
    collected c = {0};
    cr_assert(eq(int, billord_wal_scan(wal, 0, collect, &c), BILLORD_OK));
    cr_assert(eq(u64, c.count, 5));
    cr_assert(eq(u64, c.lsn_first, 1));
    cr_assert(eq(u64, c.lsn_last, 5));
    cr_assert(eq(u64, c.bad_count, 0));
    billord_wal_close(wal);
    free(big);
}

Test(cov_wal_recovery, a_callback_error_stops_the_scan_with_its_value)
{
    uint64_t lsns[64];
    billord_wal *wal = reopened_log(lsns);
    collected c = {.stop_at_lsn = 3};
    cr_assert(eq(int, billord_wal_scan(wal, 1, collect, &c), BILLORD_E_CORRUPT));
    cr_assert(eq(u64, c.count, 2));
    billord_wal_close(wal);
}

Test(cov_wal_recovery, a_segment_removed_after_open_fails_the_scan)
{
    uint64_t lsns[64];
    billord_wal *wal = reopened_log(lsns);
    char path[TEMPDIR_PATH_BYTES];
    segment_file(path, wal_dir, lsns[0]);
    cr_assert(unlink(path) == 0);
    expect_scan(wal, BILLORD_E_IO, 0, path);
    billord_wal_close(wal);
}

Test(cov_wal_recovery, a_segment_damaged_after_open_fails_the_scan)
{
    uint64_t lsns[64];
    billord_wal *wal = reopened_log(lsns);
    char path[TEMPDIR_PATH_BYTES];
    segment_file(path, wal_dir, lsns[1]);
    /* Inside the first record's payload. */
    flip_byte(path, BILLORD_WAL_SEGMENT_HEADER_BYTES + BILLORD_WAL_RECORD_HEADER_BYTES + 5);
    expect_scan(wal, BILLORD_E_WAL_CORRUPT, lsns[1] - 1u, path);
    billord_wal_close(wal);
}

/* A torn record is only a torn tail in the last segment; in an earlier one it is damage. */
Test(cov_wal_recovery, a_torn_record_in_an_earlier_segment_fails_the_scan)
{
    uint64_t lsns[64];
    billord_wal *wal = reopened_log(lsns);
    char path[TEMPDIR_PATH_BYTES];
    segment_file(path, wal_dir, lsns[0]);
    /* The last record of segment 0 loses its end. */
    uint64_t const record_bytes = billord__wal_record_bytes(PAYLOAD_BYTES);
    uint64_t const last_end = BILLORD_WAL_SEGMENT_HEADER_BYTES + (lsns[1] - 1u) * record_bytes;
    cr_assert(truncate(path, (off_t)(last_end - 10u)) == 0);
    expect_scan(wal, BILLORD_E_WAL_CORRUPT, ANY_COUNT, path);
    billord_wal_close(wal);
}

Test(cov_wal_recovery, a_segment_replaced_after_open_fails_the_scan)
{
    uint64_t lsns[64];
    billord_wal *wal = reopened_log(lsns);
    char first[TEMPDIR_PATH_BYTES];
    char second[TEMPDIR_PATH_BYTES];
    segment_file(first, wal_dir, lsns[0]);
    segment_file(second, wal_dir, lsns[1]);
    copy_file(second, first);
    expect_scan(wal, BILLORD_E_WAL_CORRUPT, 0, "segment does not continue the previous one");
    billord_wal_close(wal);
}

/* Retire the first two segments into the archive; the live log starts at lsns[2]. */
static billord_wal *archived_log(uint64_t *lsns)
{
    make_log(lsns, 64);
    billord_wal *wal = open_ok(archive_dir, NULL);
    uint32_t retired = 0;
    cr_assert(eq(int, billord_wal_retire(wal, lsns[2] - 1u, &retired), BILLORD_OK));
    cr_assert(eq(u32, retired, 2));
    return wal;
}

Test(cov_wal_recovery, a_gap_between_archive_and_live_log_fails_the_scan)
{
    uint64_t lsns[64];
    billord_wal *wal = archived_log(lsns);
    char second[TEMPDIR_PATH_BYTES];
    segment_file(second, archive_dir, lsns[1]);
    cr_assert(unlink(second) == 0);
    expect_scan(wal, BILLORD_E_WAL_CORRUPT, lsns[1] - 1u,
                "segment does not continue the previous one");
    /* From inside the live log the archive is not read at all. */
    collected live = {0};
    cr_assert(eq(int, billord_wal_scan(wal, lsns[2] + 1u, collect, &live), BILLORD_OK));
    cr_assert(eq(u64, live.lsn_first, lsns[2] + 1u));
    cr_assert(eq(u64, live.lsn_last, 100));
    billord_wal_close(wal);
}

/* A copy of a live segment in the archive is not read twice. */
Test(cov_wal_recovery, an_archived_copy_of_a_live_segment_is_skipped)
{
    uint64_t lsns[64];
    billord_wal *wal = archived_log(lsns);
    char live[TEMPDIR_PATH_BYTES];
    char copy[TEMPDIR_PATH_BYTES];
    segment_file(live, wal_dir, lsns[2]);
    segment_file(copy, archive_dir, lsns[2]);
    copy_file(live, copy);
    expect_scan(wal, BILLORD_OK, 100, NULL);
    billord_wal_close(wal);
}

Test(cov_wal_recovery, an_archive_that_vanished_fails_the_scan)
{
    uint64_t lsns[64];
    billord_wal *wal = archived_log(lsns);
    for (uint32_t i = 0; i < 2; i++) {
        char path[TEMPDIR_PATH_BYTES];
        segment_file(path, archive_dir, lsns[i]);
        cr_assert(unlink(path) == 0);
    }
    cr_assert(rmdir(archive_dir) == 0);
    collected c = {0};
    billord_err err = billord_wal_scan(wal, 1, collect, &c);
    cr_assert(err != BILLORD_OK);
    cr_assert(eq(u64, c.count, 0));
    cr_assert(strstr(billord_wal_last_error(wal), "list archive") != NULL, "%s",
              billord_wal_last_error(wal));
    billord_wal_close(wal);
}

Test(cov_wal_recovery, a_scan_that_cannot_allocate_answers_nomem)
{
    if (!faulty_alloc_supported()) {
        cr_skip("allocation faults need a build without sanitizers");
    }
    uint64_t lsns[64];
    billord_wal *wal = archived_log(lsns);
    uint32_t nomem_count = 0;
    for (uint64_t n = 1; n < 100; n++) {
        collected c = {0};
        faulty_alloc_fail_at(n, false, false);
        billord_err err = billord_wal_scan(wal, 1, collect, &c);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        if (failures == 0) {
            cr_assert(eq(int, err, BILLORD_OK));
            cr_assert(eq(u64, c.count, 100));
            break;
        }
        /* An allocation inside the C library (opendir) reads as an I/O error. */
        cr_assert(err == BILLORD_E_NOMEM || err == BILLORD_E_IO, "allocation %" PRIu64 ": %s", n,
                  billord_err_name(err));
        cr_assert(eq(u64, c.count, 0));
        nomem_count += err == BILLORD_E_NOMEM;
    }
    /* The archive listing, the source list and the read buffer. */
    cr_assert(nomem_count >= 2u, "%u", nomem_count);
    billord_wal_close(wal);
}

/* ---- the standalone reader ------------------------------------------------------------- */

typedef struct read_all {
    uint64_t count;
    uint64_t bad_count;
    billord_err end;
} read_all;

static read_all read_through(billord_wal_reader *reader)
{
    read_all result = {0};
    billord_wal_record record;
    uint8_t expected[PAYLOAD_BYTES];
    while ((result.end = billord_wal_reader_next(reader, &record)) == BILLORD_OK) {
        payload_fill(expected, record.lsn);
        if (record.lsn != result.count + 1u || record.payload_bytes != PAYLOAD_BYTES
            || memcmp(record.payload, expected, PAYLOAD_BYTES) != 0) {
            result.bad_count++;
        }
        result.count++;
    }
    return result;
}

Test(cov_wal_recovery, the_reader_refuses_a_path_it_cannot_use)
{
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(NULL, NULL, &reader), BILLORD_E_INVALID_ARGUMENT));
    char long_path[BILLORD_WAL_PATH_BYTES_MAX];
    memset(long_path, 'a', sizeof long_path - 1u);
    long_path[sizeof long_path - 1u] = '\0';
    cr_assert(eq(int, billord_wal_reader_open(long_path, NULL, &reader),
                 BILLORD_E_INVALID_ARGUMENT));
    /* An empty directory holds no segment. */
    cr_assert(eq(int, billord_wal_reader_open(archive_dir, billord_fs_posix(), &reader),
                 BILLORD_E_NOT_FOUND));
    /* A directory that cannot be listed. */
    faulty_fs *fs = faulty_fs_new();
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_LIST_DIR), FAULTY_EIO, false);
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, faulty_fs_table(fs), &reader), BILLORD_E_IO));
    faulty_fs_free(fs);
    /* A file that does not exist opens (it is read lazily) and then answers the error. */
    char missing[TEMPDIR_PATH_BYTES];
    segment_file(missing, wal_dir, 7);
    cr_assert(eq(int, billord_wal_reader_open(missing, NULL, &reader), BILLORD_OK));
    billord_wal_record record;
    cr_assert(eq(int, billord_wal_reader_next(reader, &record), BILLORD_E_IO));
    cr_assert(strstr(billord_wal_reader_error(reader), missing) != NULL, "%s",
              billord_wal_reader_error(reader));
    cr_assert(eq(int, billord_wal_reader_next(reader, &record), BILLORD_E_IO));
    billord_wal_reader_close(reader);
}

Test(cov_wal_recovery, the_reader_that_cannot_allocate_answers_nomem)
{
    if (!faulty_alloc_supported()) {
        cr_skip("allocation faults need a build without sanitizers");
    }
    uint64_t lsns[64];
    make_log(lsns, 64);
    char lone[TEMPDIR_PATH_BYTES];
    segment_file(lone, wal_dir, lsns[0]);
    const char *paths[] = {wal_dir, lone};
    for (int p = 0; p < 2; p++) {
        uint32_t nomem_count = 0;
        for (uint64_t n = 1; n < 50; n++) {
            billord_wal_reader *reader = NULL;
            faulty_alloc_fail_at(n, false, false);
            billord_err err = billord_wal_reader_open(paths[p], NULL, &reader);
            uint64_t failures = faulty_alloc_failures();
            faulty_alloc_reset();
            if (failures == 0) {
                cr_assert(eq(int, err, BILLORD_OK));
                billord_wal_reader_close(reader);
                break;
            }
            /* An allocation inside the C library (opendir) reads as an I/O error. */
            cr_assert(err == BILLORD_E_NOMEM || err == BILLORD_E_IO, "%s: allocation %" PRIu64,
                      paths[p], n);
            nomem_count += err == BILLORD_E_NOMEM;
        }
        cr_assert(nomem_count >= 1u, "%s: %u", paths[p], nomem_count);
    }
}

Test(cov_wal_recovery, the_reader_finds_renamed_missing_and_torn_segments)
{
    uint64_t lsns[64];
    uint32_t count = make_log(lsns, 64);
    billord_wal_reader *reader = NULL;
    /* Intact: every record, then a clean end. */
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK));
    read_all all = read_through(reader);
    cr_assert(eq(int, all.end, BILLORD_E_NOT_FOUND));
    cr_assert(eq(u64, all.count, 100));
    cr_assert(eq(u64, all.bad_count, 0));
    billord_wal_reader_close(reader);

    /* A segment renamed to another LSN. */
    char from[TEMPDIR_PATH_BYTES];
    char to[TEMPDIR_PATH_BYTES];
    segment_file(from, wal_dir, lsns[count - 1u]);
    segment_file(to, wal_dir, lsns[count - 1u] + 1u);
    cr_assert(rename(from, to) == 0);
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK));
    all = read_through(reader);
    cr_assert(eq(int, all.end, BILLORD_E_WAL_CORRUPT));
    cr_assert(eq(u64, all.count, lsns[count - 1u] - 1u));
    cr_assert(strstr(billord_wal_reader_error(reader), "differs from the file name") != NULL);
    billord_wal_reader_close(reader);
    cr_assert(rename(to, from) == 0);

    /* A middle segment missing: a gap. */
    char middle[TEMPDIR_PATH_BYTES];
    char kept[TEMPDIR_PATH_BYTES];
    segment_file(middle, wal_dir, lsns[1]);
    tempdir_join(kept, dir, "middle.kept");
    cr_assert(rename(middle, kept) == 0);
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK));
    all = read_through(reader);
    cr_assert(eq(int, all.end, BILLORD_E_WAL_CORRUPT));
    cr_assert(eq(u64, all.count, lsns[1] - 1u));
    cr_assert(strstr(billord_wal_reader_error(reader), "LSN gap") != NULL);
    billord_wal_reader_close(reader);
    cr_assert(rename(kept, middle) == 0);

    /* The first segment torn: damage, since more segments follow; the reader checks a
     * segment whole before it delivers any of its records. */
    char first[TEMPDIR_PATH_BYTES];
    segment_file(first, wal_dir, lsns[0]);
    uint64_t const record_bytes = billord__wal_record_bytes(PAYLOAD_BYTES);
    uint64_t const last_end = BILLORD_WAL_SEGMENT_HEADER_BYTES + (lsns[1] - 1u) * record_bytes;
    cr_assert(truncate(first, (off_t)(last_end - 10u)) == 0);
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK));
    all = read_through(reader);
    cr_assert(eq(int, all.end, BILLORD_E_WAL_CORRUPT));
    cr_assert(eq(u64, all.count, 0));
    cr_assert(strstr(billord_wal_reader_error(reader), first) != NULL);
    billord_wal_reader_close(reader);
}

/* Bytes after the last record of the last segment (a write in flight) are a torn tail:
 * the scan delivers every durable record before them. */
Test(cov_wal_recovery, a_scan_reads_up_to_a_torn_tail_in_the_last_segment)
{
    uint64_t lsns[64];
    uint32_t const count = make_log(lsns, 64);
    billord_wal *wal = open_ok(NULL, NULL);
    char last[TEMPDIR_PATH_BYTES];
    segment_file(last, wal_dir, lsns[count - 1u]);
    uint64_t const record_bytes = billord__wal_record_bytes(PAYLOAD_BYTES);
    long const end = (long)(BILLORD_WAL_SEGMENT_HEADER_BYTES + (101u - lsns[count - 1u]) * record_bytes);
    FILE *file = fopen(last, "r+b");
    cr_assert(file != NULL);
    cr_assert(fseek(file, end, SEEK_SET) == 0);
    cr_assert(eq(sz, fwrite("\x33\x00\x00\x00torn", 1, 8, file), 8));
    fclose(file);
    expect_scan(wal, BILLORD_OK, 100, NULL);
    billord_wal_close(wal);
}
