/*
 * wal_internal.h: symbols shared by the files of src/wal/ (never installed).
 *
 * wal_record.c   pure codec of records and segment headers, and the check of a
 *                whole segment image (torn tail vs corruption, docs/wal-format.md 4)
 * wal_file.c     file helpers over billord_fs: full writes, whole-file reads,
 *                zero fill, segment names, directory listing, spare preparation
 * wal_spare.c    the preparer: keeps one pre-zeroed spare segment ready
 * wal.c          the log: recovery, append, sync, rotation, retire, scan
 * wal_reader.c   the standalone reader for tools
 */
#ifndef BILLORD_WAL_INTERNAL_H
#define BILLORD_WAL_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/fs.h>
#include <billord/wal.h>

#define BILLORD__WAL_MAGIC            0x4c415742u   /* bytes "BWAL" on disk */
#define BILLORD__WAL_FORMAT_VERSION   1u
#define BILLORD__WAL_SPARE_NAME       "prepared.tmp"
#define BILLORD__WAL_SEGMENT_SUFFIX   ".seg"
#define BILLORD__WAL_LSN_DIGITS       20u
/* Zero fill and whole-file reads move this much per system call. */
#define BILLORD__WAL_IO_CHUNK_BYTES   (1024u * 1024u)
/* A write loop gives up after this many short writes in a row. */
#define BILLORD__WAL_WRITE_ATTEMPTS_MAX 64u
/* The write buffer starts at this size and grows to hold the largest record. */
#define BILLORD__WAL_BUFFER_BYTES_INITIAL (1024u * 1024u)
#define BILLORD__WAL_WHY_BYTES        160u
/* O_DIRECT zero fill: buffer, offsets and lengths aligned to this (a page; covers 4Kn disks). */
#define BILLORD__WAL_DIRECT_ALIGN_BYTES 4096u
static_assert(BILLORD__WAL_IO_CHUNK_BYTES % BILLORD__WAL_DIRECT_ALIGN_BYTES == 0,
              "zero-fill chunks keep O_DIRECT alignment");

/* ---- wal_record.c: pure codec ------------------------------------------------------------ */

typedef struct billord__wal_record_view {
    uint64_t lsn;
    const uint8_t *payload;         /* points into the decoded bytes */
    uint32_t payload_bytes;
} billord__wal_record_view;

typedef struct billord__wal_segment_header {
    uint64_t lsn_first;
    uint64_t segment_bytes;
} billord__wal_segment_header;

/** Bytes a record with this payload occupies (header + payload). */
uint64_t billord__wal_record_bytes(uint32_t payload_bytes);

/** Encode one record into out (billord__wal_record_bytes(payload_bytes) bytes). */
void billord__wal_record_encode(uint8_t *out, uint64_t lsn, const uint8_t *payload,
                                uint32_t payload_bytes);

/**
 * Decode the record at the start of bytes. Pure.
 * @return BILLORD_OK (*out_view, *out_record_bytes written); BILLORD_E_NOT_FOUND (the
 *         slot is zero: end of log); BILLORD_E_WAL_TRUNCATED (bytes end inside the record);
 *         BILLORD_E_WAL_CORRUPT (bad length or checksum). *out_why, when not NULL, gets a
 *         static text on every non-OK answer.
 */
billord_err billord__wal_record_decode(const uint8_t *bytes, size_t bytes_len,
                                       billord__wal_record_view *out_view,
                                       uint64_t *out_record_bytes, const char **out_why);

void billord__wal_segment_header_encode(uint8_t out[BILLORD_WAL_SEGMENT_HEADER_BYTES],
                                        const billord__wal_segment_header *header);

/** @return BILLORD_OK or BILLORD_E_WAL_CORRUPT (with a static *out_why). */
billord_err billord__wal_segment_header_decode(const uint8_t *bytes, size_t bytes_len,
                                               billord__wal_segment_header *out_header,
                                               const char **out_why);

/** What a segment image holds (billord__wal_segment_check). */
typedef struct billord__wal_segment_scan {
    billord__wal_segment_header header;
    uint64_t lsn_next;              /* LSN after the last valid record */
    uint64_t record_count;
    uint64_t end_offset_bytes;      /* after the last valid record: the bad spot, if any */
    uint64_t dirty_end_bytes;       /* after the last non-zero byte past end_offset_bytes */
    uint64_t problem_offset_bytes;  /* where the damage is (non-OK answers) */
    char why[BILLORD__WAL_WHY_BYTES];
} billord__wal_segment_scan;

/**
 * Verify a whole segment image (bytes_len may be short of the header's segment_bytes:
 * the missing part reads as zeroes). Pure.
 * @return BILLORD_OK (clean end); BILLORD_E_WAL_TRUNCATED (a torn tail: the valid
 *         prefix ends at end_offset_bytes, dirty bytes follow up to dirty_end_bytes, and
 *         no verifying record comes after); BILLORD_E_WAL_CORRUPT (why, problem_offset).
 */
billord_err billord__wal_segment_check(const uint8_t *bytes, size_t bytes_len,
                                       billord__wal_segment_scan *out_scan);

/* ---- wal_file.c: file helpers ----------------------------------------------------------- */

/** ENOSPC/EDQUOT -> BILLORD_E_DISK_FULL, anything else -> BILLORD_E_IO. */
billord_err billord__wal_errno_err(int errno_value);

/** Write all bytes at offset (short writes continue, bounded). 0 or -1 with errno. */
int billord__wal_write_all(const billord_fs *fs, int fd, const uint8_t *bytes, size_t bytes_len,
                           uint64_t offset_bytes);

/** Write zeroes over [from, to). zeros holds BILLORD__WAL_IO_CHUNK_BYTES zero bytes. */
int billord__wal_zero_fill(const billord_fs *fs, int fd, const uint8_t *zeros,
                           uint64_t from_bytes, uint64_t to_bytes);

/**
 * Read a whole file into *buffer (grown with realloc as needed; the caller frees).
 * Refuses files over BILLORD_WAL_SEGMENT_BYTES_MAX.
 */
billord_err billord__wal_read_file(const billord_fs *fs, const char *path, uint8_t **buffer,
                                   size_t *buffer_capacity_bytes, size_t *out_file_bytes,
                                   char *error_text, size_t error_text_bytes);

/** "00000000000000000001.seg". */
void billord__wal_segment_name(uint64_t lsn_first, char out[BILLORD_WAL_SEGMENT_NAME_BYTES]);

/** Whether name is a segment name; *out_lsn_first gets its number. */
bool billord__wal_segment_name_parse(const char *name, uint64_t *out_lsn_first);

/** dir + "/" + name into out; false when it does not fit. */
bool billord__wal_path_join(char *out, size_t out_bytes, const char *dir, const char *name);

/**
 * Sorted first LSNs of the segments in dir_path (malloc'd; the caller frees *out_lsns).
 * @return BILLORD_OK, BILLORD_E_IO, BILLORD_E_NOMEM, BILLORD_E_TOO_LARGE (too many).
 */
billord_err billord__wal_list_segments(const billord_fs *fs, const char *dir_path,
                                       uint64_t **out_lsns, uint32_t *out_count);

/* ---- wal_spare.c: the preparer ---------------------------------------------------------- */

typedef enum billord__wal_spare_state {
    BILLORD__WAL_SPARE_IDLE = 0,    /* none ready, none asked for */
    BILLORD__WAL_SPARE_WANTED,      /* asked for; the thread will prepare it */
    BILLORD__WAL_SPARE_READY,       /* fd holds a pre-zeroed, synced spare */
    BILLORD__WAL_SPARE_FAILED,      /* preparation failed; error_text says why */
} billord__wal_spare_state;

typedef struct billord__wal_spare {
    const billord_fs *fs;
    char path[BILLORD_WAL_PATH_BYTES_MAX];
    uint64_t segment_bytes;
    bool inline_mode;
    bool thread_started;
    bool stop;
    billord__wal_spare_state state;
    int fd;
    int failed_errno;
    uint8_t *zeros;                 /* BILLORD__WAL_IO_CHUNK_BYTES zero bytes */
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    char error_text[BILLORD_WAL_ERROR_TEXT_BYTES];
} billord__wal_spare;

/**
 * Remove a stale spare file and, unless inline_mode, start the thread and ask it for a
 * spare right away. The caller fills nothing; this initialises spare.
 */
billord_err billord__wal_spare_start(billord__wal_spare *spare, const billord_fs *fs,
                                     const char *dir_path, uint64_t segment_bytes,
                                     bool inline_mode, char *error_text, size_t error_text_bytes);

/**
 * Take the ready spare (waiting for the thread, or preparing it now in inline mode).
 * On BILLORD_OK *out_fd is an open read-write descriptor of spare->path, now the caller's.
 * On failure *out_errno and error_text say why.
 */
billord_err billord__wal_spare_take(billord__wal_spare *spare, int *out_fd, int *out_errno,
                                    char *error_text, size_t error_text_bytes);

/** Ask for the next spare (inline mode: prepare it now; the answer is that of the work). */
billord_err billord__wal_spare_request(billord__wal_spare *spare, int *out_errno,
                                       char *error_text, size_t error_text_bytes);

/** Stop the thread, close and remove an unused spare. Safe on a never-started spare. */
void billord__wal_spare_stop(billord__wal_spare *spare);

#endif
