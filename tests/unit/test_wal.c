/*
 * test_wal.c: the write-ahead log through its public API (billord/wal.h) on a real
 * temp directory. Contract: synced records come back in order after reopen; rotation
 * spans segments without gaps; retire deletes or archives whole segments only, and
 * archived records stay readable; the reader sees what scan sees.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/wal.h>

#include "support/tempdir.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define SMALL_SEGMENT_BYTES 4096u
#define PAYLOAD_BYTES_MAX   300u

/* Payload of an LSN: its length and bytes depend on the LSN only, so any copy can be checked. */
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
    uint64_t bad_count;         /* payloads that differ from payload_fill */
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

/* Comparisons are plain expressions: Criterion 2.4.1's gt() passes on equality. */
static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
}

static void teardown(void)
{
    tempdir_remove(dir);
}

static billord_wal *open_wal(const char *wal_dir, const char *archive_dir, uint64_t segment_bytes,
                             billord_wal_recovery *info)
{
    billord_wal_config config = {.dir_path = wal_dir, .segment_bytes = segment_bytes,
                                 .archive_dir = archive_dir};
    billord_wal *wal = NULL;
    billord_wal_recovery local;
    billord_err err = billord_wal_open(&config, &wal, info != NULL ? info : &local);
    cr_assert(eq(int, err, BILLORD_OK), "open: %s %s", billord_err_name(err),
              (info != NULL ? info : &local)->error_text);
    return wal;
}

static void append_range(billord_wal *wal, uint64_t lsn_from, uint64_t lsn_to, uint32_t sync_every)
{
    uint8_t payload[PAYLOAD_BYTES_MAX];
    for (uint64_t lsn = lsn_from; lsn <= lsn_to; lsn++) {
        payload_fill(payload, lsn);
        uint64_t got = 0;
        billord_err err = billord_wal_append(wal, payload, payload_bytes_for(lsn), &got);
        cr_assert(eq(int, err, BILLORD_OK), "append %llu: %s", (unsigned long long)lsn,
                  billord_err_name(err));
        cr_assert(eq(u64, got, lsn));
        if (sync_every != 0 && lsn % sync_every == 0) {
            cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK), "%s", billord_wal_last_error(wal));
        }
    }
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK), "%s", billord_wal_last_error(wal));
}

static collected scan_all(billord_wal *wal, uint64_t lsn_from)
{
    collected c = {0};
    billord_err err = billord_wal_scan(wal, lsn_from, collect, &c);
    cr_assert(eq(int, err, BILLORD_OK), "scan: %s %s", billord_err_name(err), billord_wal_last_error(wal));
    cr_expect(eq(u64, c.bad_count, 0u));
    return c;
}

static uint32_t count_segments(const char *path)
{
    char command[TEMPDIR_PATH_BYTES + 64];
    snprintf(command, sizeof command, "ls %s 2>/dev/null | grep -c '\\.seg$'", path);
    FILE *pipe = popen(command, "r");
    cr_assert(pipe != NULL);
    unsigned count = 0;
    cr_assert(fscanf(pipe, "%u", &count) == 1);
    pclose(pipe);
    return count;
}

TestSuite(wal, .init = setup, .fini = teardown, .timeout = 60);

Test(wal, fresh_log_is_empty_with_one_segment, .timeout = 10)
{
    billord_wal_recovery info;
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, &info);
    cr_expect(eq(u64, info.lsn_last, 0u));
    cr_expect(eq(u32, info.segment_count, 1u));
    cr_expect(eq(u64, billord_wal_last_lsn(wal), 0u));
    cr_expect(eq(u64, billord_wal_durable_lsn(wal), 0u));
    cr_expect(eq(int, billord_wal_sync(wal), BILLORD_OK));    /* nothing to do */
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.count, 0u));
    billord_wal_close(wal);
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "00000000000000000001.seg");
    struct stat st;
    cr_assert(eq(int, stat(path, &st), 0));
    cr_expect(eq(i64, (int64_t)st.st_size, (int64_t)SMALL_SEGMENT_BYTES), "pre-allocated to full size");
    tempdir_join(path, dir, "prepared.tmp");
    cr_expect(ne(int, stat(path, &st), 0), "no spare left behind after close");
}

Test(wal, append_is_durable_only_after_sync, .timeout = 10)
{
    billord_wal *wal = open_wal(dir, NULL, 0, NULL);
    uint8_t payload[PAYLOAD_BYTES_MAX];
    payload_fill(payload, 1);
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(1), &lsn), BILLORD_OK));
    cr_expect(eq(u64, lsn, 1u));
    cr_expect(eq(u64, billord_wal_last_lsn(wal), 1u));
    cr_expect(eq(u64, billord_wal_durable_lsn(wal), 0u));
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.count, 0u), "scan delivers durable records only");
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    cr_expect(eq(u64, billord_wal_durable_lsn(wal), 1u));
    c = scan_all(wal, 1);
    cr_expect(eq(u64, c.count, 1u));
    billord_wal_close(wal);
}

Test(wal, reopen_finds_every_synced_record_and_continues, .timeout = 20)
{
    billord_wal *wal = open_wal(dir, NULL, 0, NULL);
    append_range(wal, 1, 500, 7);
    billord_wal_close(wal);
    billord_wal_recovery info;
    wal = open_wal(dir, NULL, 0, &info);
    cr_expect(eq(u64, info.lsn_first, 1u));
    cr_expect(eq(u64, info.lsn_last, 500u));
    cr_expect(eq(u64, info.record_count, 500u));
    cr_expect(eq(int, (int)info.tail_truncated, 0));
    cr_expect(eq(u64, billord_wal_durable_lsn(wal), 500u));
    append_range(wal, 501, 600, 0);
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.lsn_first, 1u));
    cr_expect(eq(u64, c.lsn_last, 600u));
    c = scan_all(wal, 599);
    cr_expect(eq(u64, c.count, 2u));
    c = scan_all(wal, 601);
    cr_expect(eq(u64, c.count, 0u));
    billord_wal_close(wal);
}

Test(wal, unsynced_appends_are_not_written_at_close, .timeout = 10)
{
    billord_wal *wal = open_wal(dir, NULL, 0, NULL);
    append_range(wal, 1, 10, 0);
    uint8_t payload[PAYLOAD_BYTES_MAX];
    payload_fill(payload, 11);
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(11), &lsn), BILLORD_OK));
    billord_wal_close(wal);
    billord_wal_recovery info;
    wal = open_wal(dir, NULL, 0, &info);
    cr_expect(eq(u64, info.lsn_last, 10u));
    billord_wal_close(wal);
}

Test(wal, rotation_across_many_segments_with_background_preparer, .timeout = 60)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 3000, 16);
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.count, 3000u));
    uint32_t segments = count_segments(dir);
    cr_expect(segments > 100u, "%u segments", segments);
    billord_wal_close(wal);
    billord_wal_recovery info;
    wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, &info);
    cr_expect(eq(u32, info.segment_count, segments));
    cr_expect(eq(u64, info.lsn_last, 3000u));
    c = scan_all(wal, 1234);
    cr_expect(eq(u64, c.lsn_first, 1234u));
    cr_expect(eq(u64, c.lsn_last, 3000u));
    billord_wal_close(wal);
}

Test(wal, reopen_with_another_segment_size_keeps_old_segments, .timeout = 20)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 100, 10);
    billord_wal_close(wal);
    wal = open_wal(dir, NULL, 2u * SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 101, 300, 10);
    billord_wal_close(wal);
    wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.count, 300u));
    billord_wal_close(wal);
}

Test(wal, retire_deletes_whole_segments_only, .timeout = 20)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 400, 10);
    uint32_t before = count_segments(dir);
    uint32_t retired = 0;
    cr_assert(eq(int, billord_wal_retire(wal, 200, &retired), BILLORD_OK));
    cr_expect(retired > 0u);
    cr_expect(eq(u32, count_segments(dir), before - retired));
    collected c = {0};
    cr_expect(eq(int, billord_wal_scan(wal, 1, collect, &c), BILLORD_E_NOT_FOUND),
              "retired records are gone without an archive");
    c = scan_all(wal, 201);
    cr_expect(eq(u64, c.lsn_first, 201u), "every record after up_to is kept");
    cr_expect(eq(u64, c.lsn_last, 400u));
    /* Retiring everything keeps the current segment. */
    cr_assert(eq(int, billord_wal_retire(wal, UINT64_MAX, &retired), BILLORD_OK));
    cr_expect(eq(u32, count_segments(dir), 1u));
    billord_wal_close(wal);
    billord_wal_recovery info;
    wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, &info);
    cr_expect(eq(u64, info.lsn_last, 400u));
    append_range(wal, 401, 420, 0);
    billord_wal_close(wal);
}

Test(wal, retire_never_passes_the_durable_lsn, .timeout = 20)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 100, 0);
    uint8_t payload[PAYLOAD_BYTES_MAX];
    for (uint64_t lsn = 101; lsn <= 200; lsn++) {
        payload_fill(payload, lsn);
        uint64_t got = 0;
        cr_assert(eq(int, billord_wal_append(wal, payload, payload_bytes_for(lsn), &got), BILLORD_OK));
    }
    /* Rotations inside the appends synced some of them; the rest are not durable yet. */
    uint64_t const durable = billord_wal_durable_lsn(wal);
    cr_assert(lt(u64, durable, 200u));
    cr_assert(eq(int, billord_wal_retire(wal, UINT64_MAX, NULL), BILLORD_OK));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    collected c = scan_all(wal, durable + 1u);
    cr_expect(eq(u64, c.lsn_first, durable + 1u), "records after the durable LSN were kept");
    cr_expect(eq(u64, c.lsn_last, 200u));
    billord_wal_close(wal);
}

Test(wal, archive_keeps_retired_segments_readable, .timeout = 30)
{
    char wal_dir[TEMPDIR_PATH_BYTES];
    char archive_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_dir, dir, "wal");
    tempdir_join(archive_dir, dir, "archive");
    cr_assert(eq(int, mkdir(wal_dir, 0755), 0));
    cr_assert(eq(int, mkdir(archive_dir, 0755), 0));
    billord_wal *wal = open_wal(wal_dir, archive_dir, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 300, 10);
    cr_assert(eq(int, billord_wal_retire(wal, 150, NULL), BILLORD_OK));
    append_range(wal, 301, 600, 10);
    cr_assert(eq(int, billord_wal_retire(wal, 450, NULL), BILLORD_OK));
    cr_expect(count_segments(archive_dir) > 0u);
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.lsn_first, 1u), "archived records are scanned");
    cr_expect(eq(u64, c.lsn_last, 600u));
    cr_expect(eq(u64, c.count, 600u));
    c = scan_all(wal, 77);
    cr_expect(eq(u64, c.lsn_first, 77u));
    billord_wal_close(wal);

    /* The archive is a log of its own for the reader. */
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(archive_dir, NULL, &reader), BILLORD_OK));
    billord_wal_record record;
    uint64_t lsn_expected = 1;
    billord_err err = BILLORD_OK;
    for (uint32_t i = 0; i < 1000u; i++) {
        err = billord_wal_reader_next(reader, &record);
        if (err != BILLORD_OK) {
            break;
        }
        cr_expect(eq(u64, record.lsn, lsn_expected));
        lsn_expected++;
    }
    cr_expect(eq(int, err, BILLORD_E_NOT_FOUND), "%s", billord_wal_reader_error(reader));
    cr_expect(ge(u64, lsn_expected, 150u));
    billord_wal_reader_close(reader);
}

Test(wal, reader_over_directory_and_single_file, .timeout = 20)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 200, 10);
    billord_wal_close(wal);
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(dir, NULL, &reader), BILLORD_OK));
    billord_wal_record record;
    uint64_t count = 0;
    billord_err err = BILLORD_OK;
    for (uint32_t i = 0; i < 1000u; i++) {
        err = billord_wal_reader_next(reader, &record);
        if (err != BILLORD_OK) {
            break;
        }
        uint8_t expected[PAYLOAD_BYTES_MAX];
        payload_fill(expected, record.lsn);
        cr_expect(eq(u32, record.payload_bytes, payload_bytes_for(record.lsn)));
        cr_expect(memcmp(record.payload, expected, record.payload_bytes) == 0);
        cr_expect(ge(u64, record.offset_bytes, (uint64_t)BILLORD_WAL_SEGMENT_HEADER_BYTES));
        cr_expect(strstr(record.segment_path, ".seg") != NULL);
        count++;
    }
    cr_expect(eq(int, err, BILLORD_E_NOT_FOUND), "%s", billord_wal_reader_error(reader));
    cr_expect(eq(int, billord_wal_reader_next(reader, &record), BILLORD_E_NOT_FOUND), "sticky end");
    cr_expect(eq(u64, count, 200u));
    billord_wal_reader_close(reader);

    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "00000000000000000001.seg");
    cr_assert(eq(int, billord_wal_reader_open(path, NULL, &reader), BILLORD_OK));
    cr_assert(eq(int, billord_wal_reader_next(reader, &record), BILLORD_OK));
    cr_expect(eq(u64, record.lsn, 1u));
    cr_expect(eq(u64, record.offset_bytes, (uint64_t)BILLORD_WAL_SEGMENT_HEADER_BYTES));
    billord_wal_reader_close(reader);

    char empty[TEMPDIR_PATH_BYTES];
    tempdir_join(empty, dir, "empty");
    cr_assert(eq(int, mkdir(empty, 0755), 0));
    cr_expect(eq(int, billord_wal_reader_open(empty, NULL, &reader), BILLORD_E_NOT_FOUND));
}

Test(wal, bad_arguments_are_refused_without_failing_the_log, .timeout = 10)
{
    billord_wal_config config = {.dir_path = dir, .segment_bytes = 100};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    cr_expect(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(ne(str, info.error_text, ""));
    config.segment_bytes = BILLORD_WAL_SEGMENT_BYTES_MAX + 1u;
    cr_expect(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    config.dir_path = NULL;
    cr_expect(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    char missing[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, dir, "no-such-archive");
    config = (billord_wal_config){.dir_path = dir, .archive_dir = missing};
    cr_expect(eq(int, billord_wal_open(&config, &wal, &info), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(strstr(info.error_text, "archive_dir") != NULL, "%s", info.error_text);

    wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    uint8_t *big = calloc(1, SMALL_SEGMENT_BYTES);
    cr_assert(big != NULL);
    uint64_t lsn = 0;
    cr_expect(eq(int, billord_wal_append(wal, big, 0, &lsn), BILLORD_E_INVALID_ARGUMENT));
    uint32_t const fits = SMALL_SEGMENT_BYTES - BILLORD_WAL_SEGMENT_HEADER_BYTES
                          - BILLORD_WAL_RECORD_HEADER_BYTES;
    cr_expect(eq(int, billord_wal_append(wal, big, fits + 1u, &lsn), BILLORD_E_TOO_LARGE));
    cr_expect(eq(int, billord_wal_append(wal, big, BILLORD_WAL_RECORD_BYTES_MAX + 1u, &lsn),
                 BILLORD_E_TOO_LARGE));
    cr_expect(eq(int, (int)billord_wal_failed(wal), 0));
    cr_expect(eq(int, billord_wal_append(wal, big, fits, &lsn), BILLORD_OK), "a full-segment record fits");
    cr_expect(eq(int, billord_wal_append(wal, big, 1, &lsn), BILLORD_OK));
    cr_expect(eq(u64, lsn, 2u));
    cr_expect(eq(int, billord_wal_sync(wal), BILLORD_OK));
    free(big);
    billord_wal_close(wal);
    billord_wal_close(NULL);
    billord_wal_reader_close(NULL);
}

Test(wal, maximal_record_in_default_segment, .timeout = 60)
{
    uint8_t *payload = malloc(BILLORD_WAL_RECORD_BYTES_MAX);
    cr_assert(payload != NULL);
    for (uint32_t i = 0; i < BILLORD_WAL_RECORD_BYTES_MAX; i++) {
        payload[i] = (uint8_t)(i * 13u);
    }
    billord_wal *wal = open_wal(dir, NULL, 0, NULL);
    uint64_t lsn = 0;
    for (uint32_t i = 0; i < 4u; i++) {         /* the fourth rotates into a second segment */
        cr_assert(eq(int, billord_wal_append(wal, payload, BILLORD_WAL_RECORD_BYTES_MAX, &lsn), BILLORD_OK));
    }
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    billord_wal_close(wal);
    billord_wal_recovery info;
    wal = open_wal(dir, NULL, 0, &info);
    cr_expect(eq(u64, info.lsn_last, 4u));
    cr_expect(eq(u32, info.segment_count, 2u));
    billord_wal_close(wal);
    free(payload);
}

Test(wal, stale_spare_is_discarded_at_open, .timeout = 10)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 1, 20, 0);
    billord_wal_close(wal);
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "prepared.tmp");
    FILE *file = fopen(path, "wb");
    cr_assert(file != NULL);
    fputs("garbage that must never be used as a segment", file);
    fclose(file);
    wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    append_range(wal, 21, 200, 5);
    collected c = scan_all(wal, 1);
    cr_expect(eq(u64, c.count, 200u));
    billord_wal_close(wal);
}

Test(wal, empty_small_segment_is_replaced_when_a_record_does_not_fit, .timeout = 20)
{
    billord_wal *wal = open_wal(dir, NULL, SMALL_SEGMENT_BYTES, NULL);
    billord_wal_close(wal);
    /* Reopen with larger segments: a record too big for the empty 4 KiB segment. */
    wal = open_wal(dir, NULL, 4u * SMALL_SEGMENT_BYTES, NULL);
    uint8_t *big = calloc(1, 2u * SMALL_SEGMENT_BYTES);
    cr_assert(big != NULL);
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(wal, big, 2u * SMALL_SEGMENT_BYTES, &lsn), BILLORD_OK));
    cr_assert(eq(int, billord_wal_sync(wal), BILLORD_OK));
    cr_expect(eq(u32, count_segments(dir), 1u));
    cr_assert(eq(int, billord_wal_retire(wal, UINT64_MAX, NULL), BILLORD_OK));
    billord_wal_close(wal);
    billord_wal_recovery info;
    wal = open_wal(dir, NULL, 4u * SMALL_SEGMENT_BYTES, &info);
    cr_expect(eq(u64, info.lsn_last, 1u));
    billord_wal_close(wal);
    free(big);
}
