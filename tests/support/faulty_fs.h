/*
 * faulty_fs.h: a billord_fs that fails on command and simulates power loss (tests only).
 *
 * Faults: the Nth counted call (1-based, over the operations in a mask) fails with EIO,
 * ENOSPC, or a short write (a prefix really written, the call returning its length),
 * once or persistently (every later counted call fails too).
 *
 * Power loss: with buffering on, pwrite keeps the bytes in memory (reads see them);
 * fdatasync/fsync of a file writes that file's kept bytes to the real file first. A
 * crash then writes the first writes_kept buffered writes, a prefix of the next one,
 * drops the rest, and fails every later call but close. Metadata operations (create,
 * fallocate, ftruncate, rename, unlink) go to the real file system at once: the model
 * is that of a journalled file system whose metadata commits are ordered before data.
 * Writes through an O_DIRECT descriptor are not buffered either.
 *
 * Thread-safe (the WAL's preparer thread calls it too).
 */
#ifndef BILLORD_TESTS_FAULTY_FS_H
#define BILLORD_TESTS_FAULTY_FS_H

#include <stdbool.h>
#include <stdint.h>

#include <billord/fs.h>

typedef enum faulty_op {
    FAULTY_OP_OPEN = 0,
    FAULTY_OP_CLOSE,
    FAULTY_OP_PREAD,
    FAULTY_OP_PWRITE,
    FAULTY_OP_FDATASYNC,
    FAULTY_OP_FSYNC,
    FAULTY_OP_FTRUNCATE,
    FAULTY_OP_FALLOCATE,
    FAULTY_OP_SIZE,
    FAULTY_OP_RENAME,
    FAULTY_OP_UNLINK,
    FAULTY_OP_FSYNC_DIR,
    FAULTY_OP_LIST_DIR,
    FAULTY_OP_IS_DIR,
    FAULTY_OP_COUNT
} faulty_op;

#define FAULTY_MASK(op)   (1u << (op))
/* Every operation that can fail (close never does: its failure is not observable). */
#define FAULTY_MASK_ALL   (((1u << FAULTY_OP_COUNT) - 1u) & ~FAULTY_MASK(FAULTY_OP_CLOSE))

typedef enum faulty_mode {
    FAULTY_EIO = 0,
    FAULTY_ENOSPC,
    FAULTY_SHORT,       /* pwrite writes half and returns that; other calls fail with EIO */
} faulty_mode;

typedef struct faulty_fs faulty_fs;

faulty_fs *faulty_fs_new(void);
/** Applies writes still buffered (as the OS would, without a crash) and frees. */
void faulty_fs_free(faulty_fs *fs);
/** The table to hand to billord_wal_config.fs; lives as long as fs. */
const billord_fs *faulty_fs_table(faulty_fs *fs);

/** Fail the call_index-th counted call (0: never) of the ops in op_mask. */
void faulty_fs_fail_at(faulty_fs *fs, uint64_t call_index, uint32_t op_mask, faulty_mode mode,
                       bool persistent);
/** Counted calls so far (ops in the mask). */
uint64_t faulty_fs_calls(faulty_fs *fs);
/** Failures injected so far. */
uint64_t faulty_fs_failures(faulty_fs *fs);

/** Keep writes in memory until the file is synced (power-loss model). */
void faulty_fs_buffer_writes(faulty_fs *fs, bool on);
/** Writes buffered and not yet synced. */
uint32_t faulty_fs_pending_count(faulty_fs *fs);
/** Simulate power loss (see above). */
void faulty_fs_crash(faulty_fs *fs, uint32_t writes_kept, uint64_t last_prefix_bytes);
/** Power loss at the call_index-th counted call of op_mask (that call fails with EIO). */
void faulty_fs_crash_at(faulty_fs *fs, uint64_t call_index, uint32_t op_mask, uint32_t writes_kept,
                        uint64_t last_prefix_bytes);
/** Whether the power loss happened. */
bool faulty_fs_crashed(faulty_fs *fs);

#endif
