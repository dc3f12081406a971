/*
 * wal.c: the write-ahead log (recovery, append, group sync, rotation, retire, scan).
 *
 * Promise: a record is reported durable (billord_wal_sync() == BILLORD_OK, or
 * billord_wal_durable_lsn()) only after pwrite and fdatasync of the bytes that hold it
 * have both succeeded. Appends only fill a memory buffer; one sync writes and syncs
 * everything appended since the last one, so many commands share one fdatasync.
 * Any failed file operation makes the log fail for good (STYLE habit 7): after a
 * failed fsync the kernel may have dropped the dirty pages, and a retry could then
 * report lost data as safe. The on-disk format is in docs/wal-format.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "wal/wal_internal.h"

struct billord_wal {
    const billord_fs *fs;
    char dir_path[BILLORD_WAL_PATH_BYTES_MAX];
    char archive_dir[BILLORD_WAL_PATH_BYTES_MAX];   /* "" when retired segments are deleted */
    uint64_t segment_bytes_new;                     /* size of segments created from now on */

    uint64_t *segment_lsns;                         /* first LSN of each live segment, sorted */
    uint32_t segment_count;
    uint32_t segment_capacity;

    int segment_fd;                                 /* the last live segment, read-write */
    uint64_t segment_bytes;                         /* its size, from its header */
    uint64_t write_offset_bytes;                    /* file offset of buffer[0] */
    uint8_t *buffer;
    size_t buffer_used_bytes;
    size_t buffer_capacity_bytes;

    uint64_t lsn_next;                              /* LSN the next append gets */
    uint64_t lsn_written;                           /* pwritten, maybe not synced */
    _Atomic uint64_t lsn_last;
    _Atomic uint64_t lsn_durable;
    _Atomic bool failed;
    int failed_errno;

    billord__wal_spare spare;
    uint8_t *read_buffer;                           /* scan: one segment at a time */
    size_t read_buffer_capacity_bytes;
    char error_text[BILLORD_WAL_ERROR_TEXT_BYTES];
};

static void error_set(char *text, size_t text_bytes, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void error_set(char *text, size_t text_bytes, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(text, text_bytes, format, args);
    va_end(args);
}

/* Enter the sticky failed state. errno_value 0 means "no errno" (a preparer text). */
static billord_err fail_sticky(billord_wal *wal, int errno_value, const char *what)
{
    wal->failed_errno = errno_value;
    atomic_store(&wal->failed, true);
    if (errno_value != 0) {
        error_set(wal->error_text, sizeof wal->error_text, "%s: %s", what, strerror(errno_value));
    } else {
        error_set(wal->error_text, sizeof wal->error_text, "%s", what);
    }
    return BILLORD_E_WAL_FAILED;
}

static void segment_path(const billord_wal *wal, const char *dir, uint64_t lsn_first, char *out,
                         size_t out_bytes)
{
    char name[BILLORD_WAL_SEGMENT_NAME_BYTES];
    billord__wal_segment_name(lsn_first, name);
    bool joined = billord__wal_path_join(out, out_bytes, dir, name);
    (void)wal;
    BILLORD_ASSERT(joined);     /* open checked that directory + name fits */
}

/* Whether a segment starting at lsn_first takes the place of the last one: an empty
 * segment (smaller, from an earlier segment_bytes) is replaced by the rename, same name. */
static bool segment_replaces_last(const billord_wal *wal, uint64_t lsn_first)
{
    return wal->segment_count > 0 && wal->segment_lsns[wal->segment_count - 1] == lsn_first;
}

/* Room in the list for a segment starting at lsn_first, before its file is named: a
 * failure here leaves the directory as it was, so the log still opens. */
static billord_err segments_reserve(billord_wal *wal, uint64_t lsn_first, char *text,
                                    size_t text_bytes)
{
    if (segment_replaces_last(wal, lsn_first)) {
        return BILLORD_OK;
    }
    if (wal->segment_count == BILLORD_WAL_SEGMENTS_MAX) {
        error_set(text, text_bytes, "too many live segments (retire some)");
        return BILLORD_E_TOO_LARGE;
    }
    if (wal->segment_count == wal->segment_capacity) {
        uint32_t capacity = wal->segment_capacity == 0 ? 16u : wal->segment_capacity * 2u;
        uint64_t *grown = realloc(wal->segment_lsns, capacity * sizeof *grown);
        if (grown == NULL) {
            error_set(text, text_bytes, "out of memory for the segment list");
            return BILLORD_E_NOMEM;
        }
        wal->segment_lsns = grown;
        wal->segment_capacity = capacity;
    }
    return BILLORD_OK;
}

/* Add the segment whose room segments_reserve made. */
static void segments_push(billord_wal *wal, uint64_t lsn_first)
{
    if (segment_replaces_last(wal, lsn_first)) {
        return;
    }
    BILLORD_ASSERT(wal->segment_count < wal->segment_capacity);
    BILLORD_ASSERT(wal->segment_count == 0 || wal->segment_lsns[wal->segment_count - 1] < lsn_first);
    wal->segment_lsns[wal->segment_count++] = lsn_first;
}

/* ---- recovery ---------------------------------------------------------------------------- */

/* The result of verifying the live segments, before anything is modified. */
typedef struct recovery_plan {
    billord__wal_segment_scan last;         /* check of the last segment */
    billord_err last_err;                   /* OK or WAL_TRUNCATED */
    size_t last_file_bytes;
} recovery_plan;

static billord_err corrupt_at(char *text, size_t text_bytes, const char *path,
                              uint64_t offset_bytes, const char *why)
{
    error_set(text, text_bytes, "wal segment %s: offset %" PRIu64 ": %s", path, offset_bytes, why);
    return BILLORD_E_WAL_CORRUPT;
}

/* Verify segment i against its name and its predecessor. */
static billord_err verify_segment(billord_wal *wal, uint32_t index, uint64_t lsn_expected,
                                  billord__wal_segment_scan *scan, size_t *out_file_bytes,
                                  billord_err *out_check_err, char *text, size_t text_bytes)
{
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    segment_path(wal, wal->dir_path, wal->segment_lsns[index], path, sizeof path);
    billord_err err = billord__wal_read_file(wal->fs, path, &wal->read_buffer,
                                             &wal->read_buffer_capacity_bytes, out_file_bytes,
                                             text, text_bytes);
    if (err != BILLORD_OK) {
        return err;
    }
    billord_err check = billord__wal_segment_check(wal->read_buffer, *out_file_bytes, scan);
    if (check == BILLORD_E_WAL_CORRUPT) {
        return corrupt_at(text, text_bytes, path, scan->problem_offset_bytes, scan->why);
    }
    if (scan->header.lsn_first != wal->segment_lsns[index]) {
        return corrupt_at(text, text_bytes, path, 0, "header's first LSN differs from the file name");
    }
    if (index > 0 && scan->header.lsn_first != lsn_expected) {
        char why[BILLORD__WAL_WHY_BYTES];
        snprintf(why, sizeof why, "LSN gap: segment starts at LSN %" PRIu64 ", expected %" PRIu64,
                 scan->header.lsn_first, lsn_expected);
        return corrupt_at(text, text_bytes, path, 0, why);
    }
    if (check == BILLORD_E_WAL_TRUNCATED && index + 1u < wal->segment_count) {
        char why[2u * BILLORD__WAL_WHY_BYTES];
        snprintf(why, sizeof why, "%s, in a segment that is not the last", scan->why);
        return corrupt_at(text, text_bytes, path, scan->problem_offset_bytes, why);
    }
    *out_check_err = check;
    return BILLORD_OK;
}

static billord_err verify_all(billord_wal *wal, recovery_plan *plan, billord_wal_recovery *info)
{
    uint64_t lsn_expected = 0;
    for (uint32_t index = 0; index < wal->segment_count; index++) {
        billord__wal_segment_scan scan;
        size_t file_bytes = 0;
        billord_err check = BILLORD_OK;
        billord_err err = verify_segment(wal, index, lsn_expected, &scan, &file_bytes, &check,
                                         info->error_text, sizeof info->error_text);
        if (err != BILLORD_OK) {
            return err;
        }
        if (index == 0 && scan.record_count > 0) {
            info->lsn_first = scan.header.lsn_first;
        }
        info->record_count += scan.record_count;
        lsn_expected = scan.lsn_next;
        plan->last = scan;
        plan->last_err = check;
        plan->last_file_bytes = file_bytes;
    }
    return BILLORD_OK;
}

/* Zero the torn tail and restore the full size of the last segment, then sync it. */
static billord_err repair_last(billord_wal *wal, const recovery_plan *plan,
                               billord_wal_recovery *info)
{
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    segment_path(wal, wal->dir_path, wal->segment_lsns[wal->segment_count - 1], path, sizeof path);
    const billord_fs *fs = wal->fs;
    int fd = fs->open(fs->fs_ctx, path, O_RDWR, 0);
    if (fd < 0) {
        error_set(info->error_text, sizeof info->error_text, "open %s: %s", path, strerror(errno));
        return billord__wal_errno_err(errno);
    }
    wal->segment_fd = fd;
    wal->segment_bytes = plan->last.header.segment_bytes;
    bool changed = false;
    const char *step = "zero torn tail of";
    if (plan->last_err == BILLORD_E_WAL_TRUNCATED) {
        if (billord__wal_zero_fill(fs, fd, wal->spare.zeros, plan->last.end_offset_bytes,
                                   plan->last.dirty_end_bytes) != 0) {
            goto fail;
        }
        info->tail_truncated = true;
        snprintf(info->tail_segment_path, sizeof info->tail_segment_path, "%s", path);
        info->tail_offset_bytes = plan->last.end_offset_bytes;
        info->tail_bytes = plan->last.dirty_end_bytes - plan->last.end_offset_bytes;
        changed = true;
    }
    step = "re-extend";
    if (plan->last_file_bytes < wal->segment_bytes) {
        /* A shortened file: write the zeroes back so appends never allocate blocks. */
        if (billord__wal_zero_fill(fs, fd, wal->spare.zeros, plan->last_file_bytes,
                                   wal->segment_bytes) != 0) {
            goto fail;
        }
        changed = true;
    }
    step = "fsync";
    if (changed && fs->fsync(fs->fs_ctx, fd) != 0) {
        goto fail;
    }
    return BILLORD_OK;
fail:
    error_set(info->error_text, sizeof info->error_text, "%s %s: %s", step, path, strerror(errno));
    return billord__wal_errno_err(errno);
}

/* Make the spare the segment that starts at lsn_first, and the current one. */
static billord_err install_segment(billord_wal *wal, uint64_t lsn_first, char *text,
                                   size_t text_bytes, int *out_errno)
{
    const billord_fs *fs = wal->fs;
    billord_err err = segments_reserve(wal, lsn_first, text, text_bytes);
    if (err != BILLORD_OK) {
        *out_errno = 0;
        return err;
    }
    int fd = -1;
    err = billord__wal_spare_take(&wal->spare, &fd, out_errno, text, text_bytes);
    if (err != BILLORD_OK) {
        return err;
    }
    uint8_t header_bytes[BILLORD_WAL_SEGMENT_HEADER_BYTES];
    billord__wal_segment_header header = {.lsn_first = lsn_first,
                                          .segment_bytes = wal->segment_bytes_new};
    billord__wal_segment_header_encode(header_bytes, &header);
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    segment_path(wal, wal->dir_path, lsn_first, path, sizeof path);
    const char *step = "write header of";
    /* The header is durable before the name exists: a named segment never has a torn header. */
    if (billord__wal_write_all(fs, fd, header_bytes, sizeof header_bytes, 0) != 0) {
        goto fail;
    }
    step = "fdatasync";
    if (fs->fdatasync(fs->fs_ctx, fd) != 0) {
        goto fail;
    }
    step = "rename spare to";
    if (fs->rename(fs->fs_ctx, wal->spare.path, path) != 0) {
        goto fail;
    }
    segments_push(wal, lsn_first);
    if (wal->segment_fd >= 0) {
        fs->close(fs->fs_ctx, wal->segment_fd);
    }
    wal->segment_fd = fd;
    wal->segment_bytes = wal->segment_bytes_new;
    wal->write_offset_bytes = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    step = "fsync directory of";
    if (fs->fsync_dir(fs->fs_ctx, wal->dir_path) != 0) {
        *out_errno = errno;
        error_set(text, text_bytes, "%s %s: %s", step, path, strerror(errno));
        return billord__wal_errno_err(errno);
    }
    return billord__wal_spare_request(&wal->spare, out_errno, text, text_bytes);
fail:
    *out_errno = errno;
    error_set(text, text_bytes, "%s %s: %s", step, path, strerror(errno));
    fs->close(fs->fs_ctx, fd);
    return billord__wal_errno_err(*out_errno);
}

static billord_err config_check(const billord_wal_config *config, char *text, size_t text_bytes)
{
    if (config->dir_path == NULL || config->dir_path[0] == '\0') {
        error_set(text, text_bytes, "wal dir_path is missing");
        return BILLORD_E_INVALID_ARGUMENT;
    }
    uint64_t segment_bytes = config->segment_bytes;
    if (segment_bytes != 0
        && (segment_bytes < BILLORD_WAL_SEGMENT_BYTES_MIN || segment_bytes > BILLORD_WAL_SEGMENT_BYTES_MAX)) {
        error_set(text, text_bytes, "wal segment_bytes %" PRIu64 " outside %llu..%llu", segment_bytes,
                  (unsigned long long)BILLORD_WAL_SEGMENT_BYTES_MIN,
                  (unsigned long long)BILLORD_WAL_SEGMENT_BYTES_MAX);
        return BILLORD_E_INVALID_ARGUMENT;
    }
    /* Room for "/", a segment name (or the spare name) and the NUL. */
    size_t const name_room = BILLORD_WAL_SEGMENT_NAME_BYTES + 1u;
    if (strlen(config->dir_path) + name_room > BILLORD_WAL_PATH_BYTES_MAX
        || (config->archive_dir != NULL
            && strlen(config->archive_dir) + name_room > BILLORD_WAL_PATH_BYTES_MAX)) {
        error_set(text, text_bytes, "wal directory path is too long");
        return BILLORD_E_INVALID_ARGUMENT;
    }
    return BILLORD_OK;
}

static billord_wal *wal_alloc(const billord_wal_config *config)
{
    billord_wal *wal = calloc(1, sizeof *wal);
    if (wal == NULL) {
        return NULL;
    }
    wal->fs = config->fs != NULL ? config->fs : billord_fs_posix();
    snprintf(wal->dir_path, sizeof wal->dir_path, "%s", config->dir_path);
    if (config->archive_dir != NULL) {
        snprintf(wal->archive_dir, sizeof wal->archive_dir, "%s", config->archive_dir);
    }
    wal->segment_bytes_new = config->segment_bytes != 0 ? config->segment_bytes
                                                        : BILLORD_WAL_SEGMENT_BYTES_DEFAULT;
    wal->segment_fd = -1;
    wal->buffer_capacity_bytes = BILLORD__WAL_BUFFER_BYTES_INITIAL;
    wal->buffer = malloc(wal->buffer_capacity_bytes);
    if (wal->buffer == NULL) {
        free(wal);
        return NULL;
    }
    return wal;
}

/* A segment image can be 64 MiB or more: do not keep it between recovery and scans. */
static void read_buffer_release(billord_wal *wal)
{
    free(wal->read_buffer);
    wal->read_buffer = NULL;
    wal->read_buffer_capacity_bytes = 0;
}

static void wal_free(billord_wal *wal)
{
    billord__wal_spare_stop(&wal->spare);
    if (wal->segment_fd >= 0) {
        wal->fs->close(wal->fs->fs_ctx, wal->segment_fd);
    }
    free(wal->segment_lsns);
    free(wal->buffer);
    free(wal->read_buffer);
    free(wal);
}

static billord_err open_live(billord_wal *wal, billord_wal_recovery *info)
{
    billord_err err = billord__wal_list_segments(wal->fs, wal->dir_path, &wal->segment_lsns,
                                                 &wal->segment_count);
    if (err != BILLORD_OK) {
        error_set(info->error_text, sizeof info->error_text, "list wal directory %s: %s",
                  wal->dir_path, billord_err_message(err));
        return err;
    }
    wal->segment_capacity = wal->segment_count;
    recovery_plan plan;
    memset(&plan, 0, sizeof plan);
    err = verify_all(wal, &plan, info);     /* reads only: corruption leaves the files as found */
    if (err != BILLORD_OK) {
        return err;
    }
    err = billord__wal_spare_start(&wal->spare, wal->fs, wal->dir_path, wal->segment_bytes_new,
                                   wal->spare.inline_mode, info->error_text, sizeof info->error_text);
    if (err != BILLORD_OK) {
        return err;
    }
    if (wal->segment_count == 0) {
        wal->lsn_next = 1;
        int errno_value = 0;
        return install_segment(wal, 1, info->error_text, sizeof info->error_text, &errno_value);
    }
    err = repair_last(wal, &plan, info);
    if (err != BILLORD_OK) {
        return err;
    }
    wal->lsn_next = plan.last.lsn_next;
    wal->write_offset_bytes = plan.last.end_offset_bytes;
    return BILLORD_OK;
}

billord_err billord_wal_open(const billord_wal_config *config, billord_wal **out_wal,
                             billord_wal_recovery *out_info)
{
    BILLORD_ASSERT(config != NULL);
    BILLORD_ASSERT(out_wal != NULL);
    billord_wal_recovery scratch;
    billord_wal_recovery *info = out_info != NULL ? out_info : &scratch;
    memset(info, 0, sizeof *info);
    billord_err err = config_check(config, info->error_text, sizeof info->error_text);
    if (err != BILLORD_OK) {
        return err;
    }
    billord_wal *wal = wal_alloc(config);
    if (wal == NULL) {
        return BILLORD_E_NOMEM;
    }
    wal->spare.inline_mode = config->preparer_inline;
    /* Checked now rather than at the first retire, where it would fail the log for good. */
    if (wal->archive_dir[0] != '\0' && wal->fs->is_dir(wal->fs->fs_ctx, wal->archive_dir) != 1) {
        error_set(info->error_text, sizeof info->error_text, "wal archive_dir %s is not a directory",
                  wal->archive_dir);
        wal_free(wal);
        return BILLORD_E_INVALID_ARGUMENT;
    }
    err = open_live(wal, info);
    read_buffer_release(wal);
    if (err != BILLORD_OK) {
        wal_free(wal);
        return err;
    }
    wal->lsn_written = wal->lsn_next - 1u;
    atomic_store(&wal->lsn_last, wal->lsn_next - 1u);
    atomic_store(&wal->lsn_durable, wal->lsn_next - 1u);
    info->lsn_last = wal->lsn_next - 1u;
    info->segment_count = wal->segment_count;
    info->error_text[0] = '\0';
    *out_wal = wal;
    return BILLORD_OK;
}

/* ---- append, sync, rotation -------------------------------------------------------------- */

/* pwrite the buffer at the write position (not synced). */
static billord_err flush_buffer(billord_wal *wal)
{
    if (wal->buffer_used_bytes == 0) {
        return BILLORD_OK;
    }
    BILLORD_ASSERT(wal->write_offset_bytes + wal->buffer_used_bytes <= wal->segment_bytes);
    if (billord__wal_write_all(wal->fs, wal->segment_fd, wal->buffer, wal->buffer_used_bytes,
                               wal->write_offset_bytes) != 0) {
        char what[BILLORD_WAL_PATH_BYTES_MAX + 64];
        snprintf(what, sizeof what, "pwrite of %zu bytes at offset %" PRIu64 " of segment %" PRIu64,
                 wal->buffer_used_bytes, wal->write_offset_bytes,
                 wal->segment_lsns[wal->segment_count - 1]);
        return fail_sticky(wal, errno, what);
    }
    wal->write_offset_bytes += wal->buffer_used_bytes;
    wal->buffer_used_bytes = 0;
    wal->lsn_written = wal->lsn_next - 1u;
    return BILLORD_OK;
}

/* Write and fdatasync the current segment; afterwards lsn_durable == lsn_written. */
static billord_err flush_and_sync(billord_wal *wal)
{
    billord_err err = flush_buffer(wal);
    if (err != BILLORD_OK) {
        return err;
    }
    if (wal->lsn_written == atomic_load(&wal->lsn_durable)) {
        return BILLORD_OK;      /* nothing new on disk: no system call */
    }
    if (wal->fs->fdatasync(wal->fs->fs_ctx, wal->segment_fd) != 0) {
        char what[64];
        snprintf(what, sizeof what, "fdatasync of segment %" PRIu64,
                 wal->segment_lsns[wal->segment_count - 1]);
        return fail_sticky(wal, errno, what);     /* never retried: see the file comment */
    }
    BILLORD_ASSERT(wal->lsn_written >= atomic_load(&wal->lsn_durable));
    atomic_store(&wal->lsn_durable, wal->lsn_written);
    return BILLORD_OK;
}

static billord_err rotate(billord_wal *wal)
{
    billord_err err = flush_and_sync(wal);
    if (err != BILLORD_OK) {
        return err;
    }
    char text[BILLORD_WAL_ERROR_TEXT_BYTES];
    int errno_value = 0;
    err = install_segment(wal, wal->lsn_next, text, sizeof text, &errno_value);
    if (err != BILLORD_OK) {
        fail_sticky(wal, 0, text);
        wal->failed_errno = errno_value;
        return BILLORD_E_WAL_FAILED;
    }
    return BILLORD_OK;
}

/* Make room for record_bytes in the buffer: flush it, and grow it for a record larger than it. */
static billord_err buffer_reserve(billord_wal *wal, uint64_t record_bytes)
{
    if (wal->buffer_used_bytes + record_bytes <= wal->buffer_capacity_bytes) {
        return BILLORD_OK;
    }
    billord_err err = flush_buffer(wal);
    if (err != BILLORD_OK || record_bytes <= wal->buffer_capacity_bytes) {
        return err;
    }
    uint8_t *grown = realloc(wal->buffer, (size_t)record_bytes);
    if (grown == NULL) {
        return BILLORD_E_NOMEM;
    }
    wal->buffer = grown;
    wal->buffer_capacity_bytes = (size_t)record_bytes;
    return BILLORD_OK;
}

billord_err billord_wal_append(billord_wal *wal, const uint8_t *payload, uint32_t payload_bytes,
                               uint64_t *out_lsn)
{
    BILLORD_ASSERT(wal != NULL);
    BILLORD_ASSERT(payload != NULL || payload_bytes == 0);
    BILLORD_ASSERT(out_lsn != NULL);
    if (atomic_load(&wal->failed)) {
        return BILLORD_E_WAL_FAILED;
    }
    if (payload_bytes == 0) {
        return BILLORD_E_INVALID_ARGUMENT;      /* zero length is what the end of log reads as */
    }
    uint64_t const record_bytes = billord__wal_record_bytes(payload_bytes);
    if (payload_bytes > BILLORD_WAL_RECORD_BYTES_MAX
        || BILLORD_WAL_SEGMENT_HEADER_BYTES + record_bytes > wal->segment_bytes_new) {
        return BILLORD_E_TOO_LARGE;
    }
    if (wal->write_offset_bytes + wal->buffer_used_bytes + record_bytes > wal->segment_bytes) {
        billord_err err = rotate(wal);
        if (err != BILLORD_OK) {
            return err;
        }
    }
    billord_err err = buffer_reserve(wal, record_bytes);
    if (err != BILLORD_OK) {
        return err;
    }
    uint64_t const lsn = wal->lsn_next;
    billord__wal_record_encode(wal->buffer + wal->buffer_used_bytes, lsn, payload, payload_bytes);
    wal->buffer_used_bytes += (size_t)record_bytes;
    wal->lsn_next = lsn + 1u;
    atomic_store(&wal->lsn_last, lsn);
    BILLORD_ASSERT(wal->write_offset_bytes + wal->buffer_used_bytes <= wal->segment_bytes);
    *out_lsn = lsn;
    return BILLORD_OK;
}

billord_err billord_wal_sync(billord_wal *wal)
{
    BILLORD_ASSERT(wal != NULL);
    if (atomic_load(&wal->failed)) {
        return BILLORD_E_WAL_FAILED;
    }
    billord_err err = flush_and_sync(wal);
    if (err != BILLORD_OK) {
        return err;
    }
    BILLORD_ASSERT(atomic_load(&wal->lsn_durable) == wal->lsn_next - 1u);
    return BILLORD_OK;
}

uint64_t billord_wal_last_lsn(const billord_wal *wal)
{
    BILLORD_ASSERT(wal != NULL);
    return atomic_load(&((billord_wal *)wal)->lsn_last);
}

uint64_t billord_wal_durable_lsn(const billord_wal *wal)
{
    BILLORD_ASSERT(wal != NULL);
    return atomic_load(&((billord_wal *)wal)->lsn_durable);
}

bool billord_wal_failed(const billord_wal *wal)
{
    BILLORD_ASSERT(wal != NULL);
    return atomic_load(&((billord_wal *)wal)->failed);
}

const char *billord_wal_last_error(const billord_wal *wal)
{
    BILLORD_ASSERT(wal != NULL);
    return wal->error_text;
}

/* ---- retire ------------------------------------------------------------------------------ */

static billord_err retire_one(billord_wal *wal, uint64_t lsn_first)
{
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    segment_path(wal, wal->dir_path, lsn_first, path, sizeof path);
    if (wal->archive_dir[0] == '\0') {
        if (wal->fs->unlink(wal->fs->fs_ctx, path) != 0) {
            char what[BILLORD_WAL_PATH_BYTES_MAX + 16];
            snprintf(what, sizeof what, "unlink %s", path);
            return fail_sticky(wal, errno, what);
        }
        return BILLORD_OK;
    }
    char archived[BILLORD_WAL_PATH_BYTES_MAX];
    segment_path(wal, wal->archive_dir, lsn_first, archived, sizeof archived);
    if (wal->fs->rename(wal->fs->fs_ctx, path, archived) != 0) {
        char what[2u * BILLORD_WAL_PATH_BYTES_MAX + 16];
        snprintf(what, sizeof what, "rename %s to %s", path, archived);
        return fail_sticky(wal, errno, what);
    }
    return BILLORD_OK;
}

static billord_err retire_sync_dirs(billord_wal *wal)
{
    /* The archive first: a segment must exist durably somewhere before its old entry goes. */
    if (wal->archive_dir[0] != '\0' && wal->fs->fsync_dir(wal->fs->fs_ctx, wal->archive_dir) != 0) {
        return fail_sticky(wal, errno, "fsync of the archive directory");
    }
    if (wal->fs->fsync_dir(wal->fs->fs_ctx, wal->dir_path) != 0) {
        return fail_sticky(wal, errno, "fsync of the wal directory");
    }
    return BILLORD_OK;
}

billord_err billord_wal_retire(billord_wal *wal, uint64_t lsn_up_to, uint32_t *out_retired_count)
{
    BILLORD_ASSERT(wal != NULL);
    if (atomic_load(&wal->failed)) {
        return BILLORD_E_WAL_FAILED;
    }
    uint64_t const durable = atomic_load(&wal->lsn_durable);
    uint64_t const up_to = lsn_up_to < durable ? lsn_up_to : durable;
    uint32_t retired = 0;
    /* Segment i holds LSNs [lsn_first(i), lsn_first(i+1)); the last one is never retired. */
    while (retired + 1u < wal->segment_count && wal->segment_lsns[retired + 1u] - 1u <= up_to) {
        billord_err err = retire_one(wal, wal->segment_lsns[retired]);
        if (err != BILLORD_OK) {
            return err;
        }
        retired++;
    }
    if (retired > 0) {
        memmove(wal->segment_lsns, wal->segment_lsns + retired,
                (wal->segment_count - retired) * sizeof wal->segment_lsns[0]);
        wal->segment_count -= retired;
        billord_err err = retire_sync_dirs(wal);
        if (err != BILLORD_OK) {
            return err;
        }
    }
    if (out_retired_count != NULL) {
        *out_retired_count = retired;
    }
    return BILLORD_OK;
}

/* ---- scan -------------------------------------------------------------------------------- */

typedef struct scan_source {
    uint64_t lsn_first;
    bool archived;
} scan_source;

typedef struct scan_run {
    billord_wal *wal;
    uint64_t lsn_from;
    uint64_t lsn_to;                /* durable LSN when the scan began */
    uint64_t lsn_expected;          /* first LSN of the next segment, 0 before the first */
    billord_wal_record_fn fn;
    void *fn_ctx;
} scan_run;

static billord_err scan_deliver(scan_run *run, const billord__wal_segment_scan *scan)
{
    const uint8_t *bytes = run->wal->read_buffer;
    uint64_t offset = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    for (uint64_t i = 0; i < scan->record_count; i++) {
        billord__wal_record_view view;
        uint64_t record_bytes = 0;
        billord_err err = billord__wal_record_decode(bytes + offset, scan->end_offset_bytes - offset,
                                                     &view, &record_bytes, NULL);
        BILLORD_ASSERT(err == BILLORD_OK);      /* verified by the check just before */
        if (view.lsn > run->lsn_to) {
            break;
        }
        if (view.lsn >= run->lsn_from) {
            err = run->fn(view.lsn, view.payload, view.payload_bytes, run->fn_ctx);
            if (err != BILLORD_OK) {
                return err;
            }
        }
        offset += record_bytes;
    }
    return BILLORD_OK;
}

static billord_err scan_segment(scan_run *run, const scan_source *source, bool is_last)
{
    billord_wal *wal = run->wal;
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    segment_path(wal, source->archived ? wal->archive_dir : wal->dir_path, source->lsn_first, path,
                 sizeof path);
    size_t file_bytes = 0;
    billord_err err = billord__wal_read_file(wal->fs, path, &wal->read_buffer,
                                             &wal->read_buffer_capacity_bytes, &file_bytes,
                                             wal->error_text, sizeof wal->error_text);
    if (err != BILLORD_OK) {
        return err;
    }
    billord__wal_segment_scan scan;
    billord_err check = billord__wal_segment_check(wal->read_buffer, file_bytes, &scan);
    if (check == BILLORD_E_WAL_CORRUPT || (check == BILLORD_E_WAL_TRUNCATED && !is_last)) {
        return corrupt_at(wal->error_text, sizeof wal->error_text, path, scan.problem_offset_bytes,
                          scan.why);
    }
    if (scan.header.lsn_first != source->lsn_first
        || (run->lsn_expected != 0 && scan.header.lsn_first != run->lsn_expected)) {
        return corrupt_at(wal->error_text, sizeof wal->error_text, path, 0,
                          "segment does not continue the previous one");
    }
    run->lsn_expected = scan.lsn_next;
    return scan_deliver(run, &scan);
}

/* Segments to read: archived ones older than the live log, then the live ones. */
static billord_err scan_sources(billord_wal *wal, uint64_t lsn_from, scan_source **out_sources,
                                uint32_t *out_count)
{
    uint64_t *archived = NULL;
    uint32_t archived_count = 0;
    uint64_t const live_first = wal->segment_lsns[0];
    if (wal->archive_dir[0] != '\0' && lsn_from < live_first) {
        billord_err err = billord__wal_list_segments(wal->fs, wal->archive_dir, &archived,
                                                     &archived_count);
        if (err != BILLORD_OK) {
            error_set(wal->error_text, sizeof wal->error_text, "list archive %s: %s",
                      wal->archive_dir, billord_err_message(err));
            return err;
        }
    }
    scan_source *sources = calloc((size_t)archived_count + wal->segment_count, sizeof *sources);
    if (sources == NULL) {
        free(archived);
        return BILLORD_E_NOMEM;
    }
    uint32_t count = 0;
    for (uint32_t i = 0; i < archived_count; i++) {
        if (archived[i] < live_first) {
            sources[count++] = (scan_source){.lsn_first = archived[i], .archived = true};
        }
    }
    free(archived);
    for (uint32_t i = 0; i < wal->segment_count; i++) {
        sources[count++] = (scan_source){.lsn_first = wal->segment_lsns[i], .archived = false};
    }
    *out_sources = sources;
    *out_count = count;
    return BILLORD_OK;
}

billord_err billord_wal_scan(billord_wal *wal, uint64_t lsn_from, billord_wal_record_fn fn,
                             void *fn_ctx)
{
    BILLORD_ASSERT(wal != NULL);
    BILLORD_ASSERT(fn != NULL);
    BILLORD_ASSERT(wal->segment_count >= 1u);
    lsn_from = lsn_from == 0 ? 1u : lsn_from;
    scan_run run = {.wal = wal, .lsn_from = lsn_from, .lsn_to = atomic_load(&wal->lsn_durable),
                    .fn = fn, .fn_ctx = fn_ctx};
    if (lsn_from > run.lsn_to) {
        return BILLORD_OK;
    }
    scan_source *sources = NULL;
    uint32_t count = 0;
    billord_err err = scan_sources(wal, lsn_from, &sources, &count);
    if (err != BILLORD_OK) {
        return err;
    }
    /* Start at the last segment that begins at or before lsn_from. */
    uint32_t start = 0;
    while (start + 1u < count && sources[start + 1u].lsn_first <= lsn_from) {
        start++;
    }
    if (sources[start].lsn_first > lsn_from) {
        error_set(wal->error_text, sizeof wal->error_text,
                  "LSN %" PRIu64 " is older than every kept segment (oldest starts at %" PRIu64 ")",
                  lsn_from, sources[start].lsn_first);
        free(sources);
        return BILLORD_E_NOT_FOUND;
    }
    for (uint32_t i = start; i < count && err == BILLORD_OK; i++) {
        err = scan_segment(&run, &sources[i], i + 1u == count);
    }
    free(sources);
    read_buffer_release(wal);
    return err;
}

void billord_wal_close(billord_wal *wal)
{
    if (wal == NULL) {
        return;
    }
    wal_free(wal);
}
