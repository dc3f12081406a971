/*
 * billord/wal.h: the write-ahead log (segments of checksummed, LSN-numbered records).
 *
 * Promise: after billord_wal_sync() returns BILLORD_OK, every record appended before
 * it is on stable storage and is found by every later open, whatever crash follows.
 * A failure to write or sync is sticky: the log then refuses all writes until it is
 * closed and opened again (recovery reads back exactly what reached the disk).
 *
 * Payloads are opaque bytes (the engine stores one msgpack batch per record). The
 * on-disk format, the torn-tail and corruption rules are in docs/wal-format.md.
 *
 * Threads: a billord_wal handle belongs to one thread at a time (the writer), except
 * billord_wal_last_lsn(), billord_wal_durable_lsn() and billord_wal_failed(), which any
 * thread may call (a status page, a health check).
 * The log runs one helper thread of its own that prepares the next segment.
 */
#ifndef BILLORD_WAL_H
#define BILLORD_WAL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/fs.h>
#include <billord/limits.h>

/* A batch of BILLORD_BATCH_COMMANDS_MAX commands of up to 16 KiB each, plus 1 MiB of framing. */
#define BILLORD_WAL_COMMAND_BYTES_BUDGET  (16u * 1024u)
#define BILLORD_WAL_RECORD_BYTES_MAX      (17u * 1024u * 1024u)
#define BILLORD_WAL_RECORD_HEADER_BYTES   20u
#define BILLORD_WAL_SEGMENT_HEADER_BYTES  64u
#define BILLORD_WAL_SEGMENT_BYTES_DEFAULT (64ull * 1024u * 1024u)
#define BILLORD_WAL_SEGMENT_BYTES_MIN     4096ull
#define BILLORD_WAL_SEGMENT_BYTES_MAX     (1024ull * 1024u * 1024u)
#define BILLORD_WAL_SEGMENTS_MAX          65536u
#define BILLORD_WAL_PATH_BYTES_MAX        1024u
#define BILLORD_WAL_ERROR_TEXT_BYTES      (3u * BILLORD_WAL_PATH_BYTES_MAX)
/* "00000000000000000001.seg" plus NUL. */
#define BILLORD_WAL_SEGMENT_NAME_BYTES    25u

static_assert((uint64_t)BILLORD_BATCH_COMMANDS_MAX * BILLORD_WAL_COMMAND_BYTES_BUDGET
                      + 1024u * 1024u
                  <= BILLORD_WAL_RECORD_BYTES_MAX,
              "one batch of maximal commands fits into one record");
static_assert((uint64_t)BILLORD_WAL_SEGMENT_HEADER_BYTES + BILLORD_WAL_RECORD_HEADER_BYTES
                      + BILLORD_WAL_RECORD_BYTES_MAX
                  <= BILLORD_WAL_SEGMENT_BYTES_DEFAULT,
              "a maximal record fits into a default segment");
static_assert(BILLORD_WAL_SEGMENT_BYTES_MIN <= BILLORD_WAL_SEGMENT_BYTES_DEFAULT
                  && BILLORD_WAL_SEGMENT_BYTES_DEFAULT <= BILLORD_WAL_SEGMENT_BYTES_MAX,
              "the default segment size is within its limits");

typedef struct billord_wal billord_wal;          /* Opaque; src/wal/wal.c. */

typedef struct billord_wal_config {
    /** Directory of the live segments. Must exist. Read during open only. */
    const char *dir_path;
    /** Size of new segments; 0 means BILLORD_WAL_SEGMENT_BYTES_DEFAULT. Existing segments
     *  keep the size in their header. */
    uint64_t segment_bytes;
    /** NULL: retired segments are deleted. Else: they are moved here (must exist, same file
     *  system as dir_path) and remain readable by billord_wal_scan() and the reader. */
    const char *archive_dir;
    /** NULL means billord_fs_posix(). Retained: must outlive the handle. */
    const billord_fs *fs;
    /** false (production): a helper thread prepares the next segment off the writer's path.
     *  true: it is prepared on the caller's thread right after each rotation, so every file
     *  operation happens in a deterministic order (fault-injection tests). */
    bool preparer_inline;
} billord_wal_config;

/** What open found. Written by open whenever non-NULL, on failure too (error_text). */
typedef struct billord_wal_recovery {
    uint64_t lsn_first;             /* oldest live record; 0 when the log is empty */
    uint64_t lsn_last;              /* newest record; 0 when the log is empty */
    uint64_t record_count;          /* records verified in live segments */
    uint32_t segment_count;         /* live segments after open */
    bool tail_truncated;            /* a torn tail was zeroed */
    char tail_segment_path[BILLORD_WAL_PATH_BYTES_MAX];
    uint64_t tail_offset_bytes;     /* where the torn record started */
    uint64_t tail_bytes;            /* how many dirty bytes were zeroed */
    char error_text[BILLORD_WAL_ERROR_TEXT_BYTES]; /* "" on success */
} billord_wal_recovery;

/**
 * Called by scan and reader for each record, in LSN order. payload points into the log's
 * buffer and is valid only during the call. Return BILLORD_OK to go on; any other value
 * stops the scan, which then returns that value.
 */
typedef billord_err (*billord_wal_record_fn)(uint64_t lsn, const uint8_t *payload,
                                             uint32_t payload_bytes, void *fn_ctx);

/**
 * Open the log in config->dir_path, creating its first segment (LSN 1) when there is none.
 * Verifies every live segment, zeroes a torn tail (docs/wal-format.md section 4) and starts
 * the segment preparer.
 *
 * @param[in]  config    Read during the call; config->fs is retained.
 * @param[out] out_wal   On BILLORD_OK, a handle for billord_wal_close(). Untouched on failure.
 * @param[out] out_info  May be NULL. Always written: what recovery found, or on failure
 *                       error_text naming the segment file and byte offset.
 * @return BILLORD_OK; BILLORD_E_INVALID_ARGUMENT (a field out of range, or archive_dir is
 *         not a directory);
 *         BILLORD_E_WAL_CORRUPT (damage other than a torn tail; nothing was modified);
 *         BILLORD_E_IO, BILLORD_E_DISK_FULL (a file operation failed); BILLORD_E_NOMEM.
 */
billord_err billord_wal_open(const billord_wal_config *config, billord_wal **out_wal,
                             billord_wal_recovery *out_info);

/**
 * Buffer one record. Performs no system call, except when the buffer is full (one pwrite)
 * or the record does not fit into the current segment (rotation: flush and fdatasync of
 * the old segment, header and rename of the prepared spare, directory fsync).
 *
 * @param[in]  payload        payload_bytes bytes, copied; not retained.
 * @param[out] out_lsn        On BILLORD_OK, the record's LSN (last LSN + 1).
 * @return BILLORD_OK; BILLORD_E_INVALID_ARGUMENT (payload_bytes == 0);
 *         BILLORD_E_TOO_LARGE (payload over BILLORD_WAL_RECORD_BYTES_MAX or over what an
 *         empty segment holds; not sticky); BILLORD_E_NOMEM (not sticky);
 *         BILLORD_E_WAL_FAILED (a write failed now or earlier: sticky).
 * The record is durable only after a later billord_wal_sync() returns BILLORD_OK.
 */
billord_err billord_wal_append(billord_wal *wal, const uint8_t *payload, uint32_t payload_bytes,
                               uint64_t *out_lsn);

/**
 * Write every buffered record (pwrite) and fdatasync once. On BILLORD_OK every LSN up to
 * billord_wal_last_lsn() is durable. With nothing appended since the last sync, it makes
 * no system call.
 * @return BILLORD_OK; BILLORD_E_WAL_FAILED (a write or sync failed now or earlier: sticky;
 *         the text is in billord_wal_last_error()).
 */
billord_err billord_wal_sync(billord_wal *wal);

/** LSN of the newest appended record (0 when none). Any thread. */
uint64_t billord_wal_last_lsn(const billord_wal *wal);

/** LSN up to which every record is durable (0 when none). Any thread. */
uint64_t billord_wal_durable_lsn(const billord_wal *wal);

/** Whether the log is in its sticky failed state. Any thread. */
bool billord_wal_failed(const billord_wal *wal);

/** Text of the last error of this handle ("" when none); valid until the next call. */
const char *billord_wal_last_error(const billord_wal *wal);

/**
 * Call fn for every durable record with lsn >= lsn_from, in order, reading archived
 * segments first when lsn_from is older than the live log. Records appended but not yet
 * synced are not delivered.
 * @return BILLORD_OK; BILLORD_E_NOT_FOUND (lsn_from is older than every kept record);
 *         BILLORD_E_WAL_CORRUPT (a damaged segment, or a gap between archived and live
 *         segments; billord_wal_last_error() names file and offset); BILLORD_E_IO;
 *         BILLORD_E_NOMEM; or the first non-OK value fn returned.
 * Works on a failed log too (reads only).
 */
billord_err billord_wal_scan(billord_wal *wal, uint64_t lsn_from, billord_wal_record_fn fn,
                             void *fn_ctx);

/**
 * Retire every live segment whose records all have LSN <= lsn_up_to (capped at the durable
 * LSN); the current segment is never retired. Deletes, or moves into archive_dir, then
 * fsyncs the directories.
 * @param[out] out_retired_count  May be NULL; segments retired by this call.
 * @return BILLORD_OK; BILLORD_E_WAL_FAILED (sticky, like a failed write).
 */
billord_err billord_wal_retire(billord_wal *wal, uint64_t lsn_up_to, uint32_t *out_retired_count);

/**
 * Stop the preparer, close the files and free the handle. Records appended but not synced
 * are not written (they were never acknowledged). NULL is allowed.
 */
void billord_wal_close(billord_wal *wal);

/* ---- Standalone reader (tools: billordctl wal, replay of archives) ---------------------- */

typedef struct billord_wal_reader billord_wal_reader;

/** One record as the reader returns it; pointers valid until the next reader call. */
typedef struct billord_wal_record {
    uint64_t lsn;
    const uint8_t *payload;
    uint32_t payload_bytes;
    const char *segment_path;       /* the file it was read from */
    uint64_t offset_bytes;          /* where its header starts in that file */
} billord_wal_record;

/**
 * Open a reader over one segment file or over a directory of segments (read-only; a torn
 * tail is reported, not repaired).
 * @param[in]  path        A *.seg file or a directory. Copied.
 * @param[in]  fs          NULL means billord_fs_posix(); retained.
 * @param[out] out_reader  On BILLORD_OK, a handle for billord_wal_reader_close().
 * @return BILLORD_OK; BILLORD_E_NOT_FOUND (no segment there); BILLORD_E_IO;
 *         BILLORD_E_INVALID_ARGUMENT; BILLORD_E_NOMEM.
 */
billord_err billord_wal_reader_open(const char *path, const billord_fs *fs,
                                    billord_wal_reader **out_reader);

/**
 * Next record in LSN order.
 * @return BILLORD_OK (*out_record written); BILLORD_E_NOT_FOUND (clean end);
 *         BILLORD_E_WAL_TRUNCATED (the log ends in a torn record: everything before was
 *         delivered); BILLORD_E_WAL_CORRUPT; BILLORD_E_IO. After a non-OK answer,
 *         billord_wal_reader_error() names the file and byte offset, and later calls
 *         repeat the answer.
 */
billord_err billord_wal_reader_next(billord_wal_reader *reader, billord_wal_record *out_record);

/** Text of the reader's last error ("" when none). */
const char *billord_wal_reader_error(const billord_wal_reader *reader);

/** NULL is allowed. */
void billord_wal_reader_close(billord_wal_reader *reader);

#endif
