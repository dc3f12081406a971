/*
 * billord/fs.h: the file operations the write-ahead log reaches the disk through.
 *
 * Why a table of function pointers: tests wrap it to fail the Nth call, to write
 * only a prefix, or to keep unsynced writes in memory and drop them on a simulated
 * power loss (SQLite's VFS and test6.c). Production uses billord_fs_posix().
 *
 * Conventions (as POSIX): a call returns 0 (or a byte count / descriptor) on success
 * and -1 with errno set on failure. Offsets and lengths are bytes. Every call gets
 * fs_ctx as its first argument. A table and its context must be safe to call from
 * two threads at once (the WAL's writer and its segment preparer).
 */
#ifndef BILLORD_FS_H
#define BILLORD_FS_H

#include <stddef.h>
#include <stdint.h>

/** Called once per directory entry name (not "." or ".."); return 0 to go on, non-zero to stop. */
typedef int (*billord_fs_entry_fn)(void *entry_ctx, const char *name);

typedef struct billord_fs {
    /** open(2): flags are O_* flags, mode the creation mode. Returns a descriptor. */
    int (*open)(void *fs_ctx, const char *path, int flags, uint32_t mode);
    /** close(2). The descriptor is released even when this fails. */
    int (*close)(void *fs_ctx, int fd);
    /** pread(2): returns the bytes read (0 at end of file). May return fewer than asked. */
    int64_t (*pread)(void *fs_ctx, int fd, void *bytes, size_t bytes_len, int64_t offset_bytes);
    /** pwrite(2): returns the bytes written. May return fewer than asked (a short write). */
    int64_t (*pwrite)(void *fs_ctx, int fd, const void *bytes, size_t bytes_len,
                      int64_t offset_bytes);
    /** fdatasync(2): file data and the metadata needed to read it back. */
    int (*fdatasync)(void *fs_ctx, int fd);
    /** fsync(2): file data and all metadata. */
    int (*fsync)(void *fs_ctx, int fd);
    /** ftruncate(2). */
    int (*ftruncate)(void *fs_ctx, int fd, int64_t length_bytes);
    /**
     * Reserve [offset, offset + length) on disk (fallocate(2) mode 0). May fail with
     * EOPNOTSUPP, which callers treat as "not available" and not as an error.
     */
    int (*fallocate)(void *fs_ctx, int fd, int64_t offset_bytes, int64_t length_bytes);
    /** Size of the open file, through *out_bytes. */
    int (*size)(void *fs_ctx, int fd, uint64_t *out_bytes);
    /** rename(2). */
    int (*rename)(void *fs_ctx, const char *from_path, const char *to_path);
    /** unlink(2). */
    int (*unlink)(void *fs_ctx, const char *path);
    /** Make the entries of a directory durable (open it read-only and fsync it). */
    int (*fsync_dir)(void *fs_ctx, const char *dir_path);
    /** Call entry_fn for each entry of dir_path, in no particular order. */
    int (*list_dir)(void *fs_ctx, const char *dir_path, billord_fs_entry_fn entry_fn,
                    void *entry_ctx);
    /** Whether path is a directory: 1 yes, 0 no (also when it does not exist). */
    int (*is_dir)(void *fs_ctx, const char *path);
    void *fs_ctx;
} billord_fs;

/** The real file system (plain system calls, EINTR retried). Static; never NULL. */
const billord_fs *billord_fs_posix(void);

#endif
