/*
 * wal_reader.c: a read-only reader of segment files for tools (billordctl wal dump,
 * replay of archives). It applies the rules of recovery (docs/wal-format.md section 4)
 * but repairs nothing: a torn tail is reported as BILLORD_E_WAL_TRUNCATED after every
 * record before it has been delivered.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "wal/wal_internal.h"

struct billord_wal_reader {
    const billord_fs *fs;
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    bool is_dir;
    uint64_t *lsns;                 /* first LSNs of the segments (0: a lone file, unchecked) */
    uint32_t count;
    uint32_t index_next;            /* next segment to load */
    bool loaded;
    uint8_t *buffer;
    size_t buffer_capacity_bytes;
    size_t file_bytes;
    billord__wal_segment_scan scan;
    billord_err scan_err;
    uint64_t offset_bytes;          /* next record in the loaded segment */
    uint64_t delivered_count;       /* records of the loaded segment delivered */
    uint64_t lsn_expected;          /* first LSN the next segment must have (0: any) */
    char segment_path[BILLORD_WAL_PATH_BYTES_MAX];
    billord_err sticky;
    char error_text[BILLORD_WAL_ERROR_TEXT_BYTES];
};

billord_err billord_wal_reader_open(const char *path, const billord_fs *fs,
                                    billord_wal_reader **out_reader)
{
    BILLORD_ASSERT(out_reader != NULL);
    if (path == NULL || strlen(path) + BILLORD_WAL_SEGMENT_NAME_BYTES + 1u > BILLORD_WAL_PATH_BYTES_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    billord_wal_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL) {
        return BILLORD_E_NOMEM;
    }
    reader->fs = fs != NULL ? fs : billord_fs_posix();
    snprintf(reader->path, sizeof reader->path, "%s", path);
    reader->is_dir = reader->fs->is_dir(reader->fs->fs_ctx, path) == 1;
    billord_err err = BILLORD_OK;
    if (reader->is_dir) {
        err = billord__wal_list_segments(reader->fs, path, &reader->lsns, &reader->count);
        if (err == BILLORD_OK && reader->count == 0) {
            err = BILLORD_E_NOT_FOUND;
        }
    } else {
        reader->lsns = calloc(1, sizeof *reader->lsns);
        reader->count = 1;
        err = reader->lsns == NULL ? BILLORD_E_NOMEM : BILLORD_OK;
    }
    if (err != BILLORD_OK) {
        billord_wal_reader_close(reader);
        return err;
    }
    *out_reader = reader;
    return BILLORD_OK;
}

static billord_err reader_fail(billord_wal_reader *reader, billord_err err, uint64_t offset_bytes,
                               const char *why)
{
    reader->sticky = err;
    snprintf(reader->error_text, sizeof reader->error_text, "wal segment %s: offset %" PRIu64 ": %s",
             reader->segment_path, offset_bytes, why);
    return err;
}

static billord_err reader_load(billord_wal_reader *reader)
{
    uint32_t const index = reader->index_next;
    if (reader->is_dir) {
        char name[BILLORD_WAL_SEGMENT_NAME_BYTES];
        billord__wal_segment_name(reader->lsns[index], name);
        billord__wal_path_join(reader->segment_path, sizeof reader->segment_path, reader->path, name);
    } else {
        snprintf(reader->segment_path, sizeof reader->segment_path, "%s", reader->path);
    }
    billord_err err = billord__wal_read_file(reader->fs, reader->segment_path, &reader->buffer,
                                             &reader->buffer_capacity_bytes, &reader->file_bytes,
                                             reader->error_text, sizeof reader->error_text);
    if (err != BILLORD_OK) {
        reader->sticky = err;
        return err;
    }
    billord__wal_segment_scan *scan = &reader->scan;
    reader->scan_err = billord__wal_segment_check(reader->buffer, reader->file_bytes, scan);
    if (reader->scan_err == BILLORD_E_WAL_CORRUPT) {
        return reader_fail(reader, BILLORD_E_WAL_CORRUPT, scan->problem_offset_bytes, scan->why);
    }
    if (reader->lsns[index] != 0 && scan->header.lsn_first != reader->lsns[index]) {
        return reader_fail(reader, BILLORD_E_WAL_CORRUPT, 0,
                           "header's first LSN differs from the file name");
    }
    if (reader->lsn_expected != 0 && scan->header.lsn_first != reader->lsn_expected) {
        return reader_fail(reader, BILLORD_E_WAL_CORRUPT, 0,
                           "LSN gap: segment does not continue the previous one");
    }
    if (reader->scan_err == BILLORD_E_WAL_TRUNCATED && index + 1u < reader->count) {
        return reader_fail(reader, BILLORD_E_WAL_CORRUPT, scan->problem_offset_bytes, scan->why);
    }
    reader->loaded = true;
    reader->index_next = index + 1u;
    reader->offset_bytes = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    reader->delivered_count = 0;
    return BILLORD_OK;
}

billord_err billord_wal_reader_next(billord_wal_reader *reader, billord_wal_record *out_record)
{
    BILLORD_ASSERT(reader != NULL);
    BILLORD_ASSERT(out_record != NULL);
    /* Each pass either delivers, fails, or finishes one segment: bounded by the count. */
    for (uint32_t pass = 0;; pass++) {
        BILLORD_ASSERT(pass <= 2u * reader->count + 1u);
        if (reader->sticky != BILLORD_OK) {
            return reader->sticky;
        }
        if (!reader->loaded) {
            if (reader->index_next == reader->count) {
                reader->sticky = BILLORD_E_NOT_FOUND;
                return reader->sticky;
            }
            billord_err err = reader_load(reader);
            if (err != BILLORD_OK) {
                return err;
            }
        }
        if (reader->delivered_count < reader->scan.record_count) {
            billord__wal_record_view view;
            uint64_t record_bytes = 0;
            billord_err err = billord__wal_record_decode(
                reader->buffer + reader->offset_bytes,
                reader->scan.end_offset_bytes - reader->offset_bytes, &view, &record_bytes, NULL);
            BILLORD_ASSERT(err == BILLORD_OK);  /* verified when the segment was loaded */
            out_record->lsn = view.lsn;
            out_record->payload = view.payload;
            out_record->payload_bytes = view.payload_bytes;
            out_record->segment_path = reader->segment_path;
            out_record->offset_bytes = reader->offset_bytes;
            reader->offset_bytes += record_bytes;
            reader->delivered_count++;
            return BILLORD_OK;
        }
        reader->loaded = false;
        reader->lsn_expected = reader->scan.lsn_next;
        if (reader->scan_err == BILLORD_E_WAL_TRUNCATED) {
            return reader_fail(reader, BILLORD_E_WAL_TRUNCATED, reader->scan.problem_offset_bytes,
                               reader->scan.why);
        }
    }
}

const char *billord_wal_reader_error(const billord_wal_reader *reader)
{
    BILLORD_ASSERT(reader != NULL);
    return reader->error_text;
}

void billord_wal_reader_close(billord_wal_reader *reader)
{
    if (reader == NULL) {
        return;
    }
    free(reader->lsns);
    free(reader->buffer);
    free(reader);
}
