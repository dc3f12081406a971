/*
 * wal_file.c: file helpers of the write-ahead log, all through billord_fs so that
 * tests can fail or tear any of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "wal/wal_internal.h"

billord_err billord__wal_errno_err(int errno_value)
{
    return errno_value == ENOSPC || errno_value == EDQUOT ? BILLORD_E_DISK_FULL : BILLORD_E_IO;
}

int billord__wal_write_all(const billord_fs *fs, int fd, const uint8_t *bytes, size_t bytes_len,
                           uint64_t offset_bytes)
{
    size_t written_bytes = 0;
    for (uint32_t attempt = 0; attempt < BILLORD__WAL_WRITE_ATTEMPTS_MAX; attempt++) {
        if (written_bytes == bytes_len) {
            return 0;
        }
        int64_t put = fs->pwrite(fs->fs_ctx, fd, bytes + written_bytes, bytes_len - written_bytes,
                                 (int64_t)(offset_bytes + written_bytes));
        if (put < 0) {
            return -1;
        }
        if (put == 0) {
            errno = EIO;        /* no progress: treat as a failed write, not a loop */
            return -1;
        }
        written_bytes += (size_t)put;
    }
    if (written_bytes == bytes_len) {
        return 0;
    }
    errno = EIO;
    return -1;
}

int billord__wal_zero_fill(const billord_fs *fs, int fd, const uint8_t *zeros, uint64_t from_bytes,
                           uint64_t to_bytes)
{
    BILLORD_ASSERT(from_bytes <= to_bytes);
    uint64_t const chunks_max = (to_bytes - from_bytes) / BILLORD__WAL_IO_CHUNK_BYTES + 1u;
    uint64_t offset = from_bytes;
    for (uint64_t chunk = 0; chunk < chunks_max && offset < to_bytes; chunk++) {
        uint64_t left = to_bytes - offset;
        size_t len = left < BILLORD__WAL_IO_CHUNK_BYTES ? (size_t)left : BILLORD__WAL_IO_CHUNK_BYTES;
        if (billord__wal_write_all(fs, fd, zeros, len, offset) != 0) {
            return -1;
        }
        offset += len;
    }
    BILLORD_ASSERT(offset == to_bytes);
    return 0;
}

static billord_err read_range(const billord_fs *fs, int fd, uint8_t *bytes, size_t bytes_len,
                              size_t *out_got)
{
    size_t got_total = 0;
    uint64_t const reads_max = bytes_len / BILLORD__WAL_IO_CHUNK_BYTES + BILLORD__WAL_WRITE_ATTEMPTS_MAX;
    for (uint64_t i = 0; i < reads_max && got_total < bytes_len; i++) {
        size_t want = bytes_len - got_total;
        if (want > BILLORD__WAL_IO_CHUNK_BYTES) {
            want = BILLORD__WAL_IO_CHUNK_BYTES;
        }
        int64_t got = fs->pread(fs->fs_ctx, fd, bytes + got_total, want, (int64_t)got_total);
        if (got < 0) {
            return billord__wal_errno_err(errno);
        }
        if (got == 0) {
            *out_got = got_total;   /* the file shrank under us: report what is there */
            return BILLORD_OK;
        }
        got_total += (size_t)got;
    }
    if (got_total < bytes_len) {
        /* Reads stayed short past the bound (as write_all gives up on short writes). A prefix
         * must not pass for the whole file: recovery would zero what it did not read. */
        errno = EIO;
        return BILLORD_E_IO;
    }
    *out_got = got_total;
    return BILLORD_OK;
}

billord_err billord__wal_read_file(const billord_fs *fs, const char *path, uint8_t **buffer,
                                   size_t *buffer_capacity_bytes, size_t *out_file_bytes,
                                   char *error_text, size_t error_text_bytes)
{
    int fd = fs->open(fs->fs_ctx, path, O_RDONLY, 0);
    if (fd < 0) {
        snprintf(error_text, error_text_bytes, "open %s: %s", path, strerror(errno));
        return billord__wal_errno_err(errno);
    }
    uint64_t file_bytes = 0;
    if (fs->size(fs->fs_ctx, fd, &file_bytes) != 0) {
        snprintf(error_text, error_text_bytes, "stat %s: %s", path, strerror(errno));
        fs->close(fs->fs_ctx, fd);
        return BILLORD_E_IO;
    }
    if (file_bytes > BILLORD_WAL_SEGMENT_BYTES_MAX) {
        snprintf(error_text, error_text_bytes, "wal segment %s: offset %" PRIu64
                 ": file is larger than BILLORD_WAL_SEGMENT_BYTES_MAX", path,
                 (uint64_t)BILLORD_WAL_SEGMENT_BYTES_MAX);
        fs->close(fs->fs_ctx, fd);
        return BILLORD_E_WAL_CORRUPT;
    }
    if (*buffer_capacity_bytes < file_bytes || *buffer == NULL) {
        size_t capacity = file_bytes > 0 ? (size_t)file_bytes : 1u;
        uint8_t *grown = realloc(*buffer, capacity);
        if (grown == NULL) {
            fs->close(fs->fs_ctx, fd);
            snprintf(error_text, error_text_bytes, "out of memory reading %s", path);
            return BILLORD_E_NOMEM;
        }
        *buffer = grown;
        *buffer_capacity_bytes = capacity;
    }
    size_t got = 0;
    billord_err err = read_range(fs, fd, *buffer, (size_t)file_bytes, &got);
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "read %s: %s", path, strerror(errno));
    }
    fs->close(fs->fs_ctx, fd);
    if (err == BILLORD_OK) {
        *out_file_bytes = got;
    }
    return err;
}

void billord__wal_segment_name(uint64_t lsn_first, char out[BILLORD_WAL_SEGMENT_NAME_BYTES])
{
    int written = snprintf(out, BILLORD_WAL_SEGMENT_NAME_BYTES, "%020" PRIu64 "%s", lsn_first,
                           BILLORD__WAL_SEGMENT_SUFFIX);
    BILLORD_ASSERT(written == (int)BILLORD_WAL_SEGMENT_NAME_BYTES - 1);
}

bool billord__wal_segment_name_parse(const char *name, uint64_t *out_lsn_first)
{
    if (strlen(name) != BILLORD_WAL_SEGMENT_NAME_BYTES - 1u
        || strcmp(name + BILLORD__WAL_LSN_DIGITS, BILLORD__WAL_SEGMENT_SUFFIX) != 0) {
        return false;
    }
    uint64_t lsn = 0;
    for (uint32_t i = 0; i < BILLORD__WAL_LSN_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        uint64_t digit = (uint64_t)(name[i] - '0');
        if (lsn > (UINT64_MAX - digit) / 10u) {
            return false;
        }
        lsn = lsn * 10u + digit;
    }
    if (lsn == 0) {
        return false;
    }
    *out_lsn_first = lsn;
    return true;
}

bool billord__wal_path_join(char *out, size_t out_bytes, const char *dir, const char *name)
{
    int written = snprintf(out, out_bytes, "%s/%s", dir, name);
    /* A failed snprintf (negative) converts to a huge size: refused as well. */
    return (size_t)written < out_bytes;
}

typedef struct segment_list {
    uint64_t *lsns;
    uint32_t count;
    uint32_t capacity;
    billord_err err;
} segment_list;

static int collect_segment(void *entry_ctx, const char *name)
{
    segment_list *list = entry_ctx;
    uint64_t lsn = 0;
    if (!billord__wal_segment_name_parse(name, &lsn)) {
        return 0;               /* not ours: ignored */
    }
    if (list->count == BILLORD_WAL_SEGMENTS_MAX) {
        list->err = BILLORD_E_TOO_LARGE;
        return 1;
    }
    if (list->count == list->capacity) {
        uint32_t capacity = list->capacity == 0 ? 16u : list->capacity * 2u;
        uint64_t *grown = realloc(list->lsns, capacity * sizeof *grown);
        if (grown == NULL) {
            list->err = BILLORD_E_NOMEM;
            return 1;
        }
        list->lsns = grown;
        list->capacity = capacity;
    }
    list->lsns[list->count++] = lsn;
    return 0;
}

static int compare_lsn(const void *a, const void *b)
{
    uint64_t const left = *(const uint64_t *)a;
    uint64_t const right = *(const uint64_t *)b;
    return left < right ? -1 : left > right ? 1 : 0;
}

billord_err billord__wal_list_segments(const billord_fs *fs, const char *dir_path,
                                       uint64_t **out_lsns, uint32_t *out_count)
{
    segment_list list = {0};
    if (fs->list_dir(fs->fs_ctx, dir_path, collect_segment, &list) != 0) {
        free(list.lsns);
        return billord__wal_errno_err(errno);
    }
    if (list.err != BILLORD_OK) {
        free(list.lsns);
        return list.err;
    }
    if (list.count > 0) {
        qsort(list.lsns, list.count, sizeof list.lsns[0], compare_lsn);
    }
    *out_lsns = list.lsns;
    *out_count = list.count;
    return BILLORD_OK;
}
