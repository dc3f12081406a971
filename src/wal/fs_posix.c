/*
 * fs_posix.c: billord_fs over the real system calls (billord/fs.h).
 *
 * EINTR is retried here so that callers see only real failures; nothing else is
 * retried (a failed fsync in particular is final, see wal.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <billord/fs.h>

#include "core/assert.h"

/* Bounds the EINTR retry loops; a signal storm this long is not an I/O result. */
#define POSIX_EINTR_RETRIES_MAX 1000u

static int sys_open(void *fs_ctx, const char *path, int flags, uint32_t mode)
{
    (void)fs_ctx;
    for (uint32_t attempt = 0; attempt < POSIX_EINTR_RETRIES_MAX; attempt++) {
        int fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
        if (fd >= 0 || errno != EINTR) {
            return fd;
        }
    }
    return -1;
}

static int sys_close(void *fs_ctx, int fd)
{
    (void)fs_ctx;
    /* Never retry close(2) on Linux: the descriptor is gone even after EINTR. */
    return close(fd);
}

static int64_t sys_pread(void *fs_ctx, int fd, void *bytes, size_t bytes_len, int64_t offset_bytes)
{
    (void)fs_ctx;
    for (uint32_t attempt = 0; attempt < POSIX_EINTR_RETRIES_MAX; attempt++) {
        ssize_t got = pread(fd, bytes, bytes_len, (off_t)offset_bytes);
        if (got >= 0 || errno != EINTR) {
            return (int64_t)got;
        }
    }
    return -1;
}

static int64_t sys_pwrite(void *fs_ctx, int fd, const void *bytes, size_t bytes_len,
                            int64_t offset_bytes)
{
    (void)fs_ctx;
    for (uint32_t attempt = 0; attempt < POSIX_EINTR_RETRIES_MAX; attempt++) {
        ssize_t put = pwrite(fd, bytes, bytes_len, (off_t)offset_bytes);
        if (put >= 0 || errno != EINTR) {
            return (int64_t)put;
        }
    }
    return -1;
}

static int sys_fdatasync(void *fs_ctx, int fd)
{
    (void)fs_ctx;
    return fdatasync(fd);
}

static int sys_fsync(void *fs_ctx, int fd)
{
    (void)fs_ctx;
    return fsync(fd);
}

static int sys_ftruncate(void *fs_ctx, int fd, int64_t length_bytes)
{
    (void)fs_ctx;
    return ftruncate(fd, (off_t)length_bytes);
}

static int sys_fallocate(void *fs_ctx, int fd, int64_t offset_bytes, int64_t length_bytes)
{
    (void)fs_ctx;
    /* sys_fallocate() would emulate by writing, which we do ourselves; ask the kernel only. */
    for (uint32_t attempt = 0; attempt < POSIX_EINTR_RETRIES_MAX; attempt++) {
        int result = fallocate(fd, 0, (off_t)offset_bytes, (off_t)length_bytes);
        if (result == 0 || errno != EINTR) {
            return result;
        }
    }
    return -1;
}

static int sys_size(void *fs_ctx, int fd, uint64_t *out_bytes)
{
    (void)fs_ctx;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return -1;
    }
    *out_bytes = (uint64_t)st.st_size;
    return 0;
}

static int sys_rename(void *fs_ctx, const char *from_path, const char *to_path)
{
    (void)fs_ctx;
    return rename(from_path, to_path);
}

static int sys_unlink(void *fs_ctx, const char *path)
{
    (void)fs_ctx;
    return unlink(path);
}

static int sys_fsync_dir(void *fs_ctx, const char *dir_path)
{
    int fd = sys_open(fs_ctx, dir_path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) {
        return -1;
    }
    int result = fsync(fd);
    int saved_errno = errno;
    close(fd);
    errno = saved_errno;
    return result;
}

static int sys_list_dir(void *fs_ctx, const char *dir_path, billord_fs_entry_fn entry_fn,
                          void *entry_ctx)
{
    (void)fs_ctx;
    DIR *dir = opendir(dir_path);
    if (dir == NULL) {
        return -1;
    }
    int result = 0;
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            result = errno == 0 ? 0 : -1;
            break;
        }
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        if (entry_fn(entry_ctx, entry->d_name) != 0) {
            break;
        }
    }
    int saved_errno = errno;
    closedir(dir);
    errno = saved_errno;
    return result;
}

static int sys_is_dir(void *fs_ctx, const char *path)
{
    (void)fs_ctx;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 1 : 0;
}

static const billord_fs sys_fs = {
    .open = sys_open,
    .close = sys_close,
    .pread = sys_pread,
    .pwrite = sys_pwrite,
    .fdatasync = sys_fdatasync,
    .fsync = sys_fsync,
    .ftruncate = sys_ftruncate,
    .fallocate = sys_fallocate,
    .size = sys_size,
    .rename = sys_rename,
    .unlink = sys_unlink,
    .fsync_dir = sys_fsync_dir,
    .list_dir = sys_list_dir,
    .is_dir = sys_is_dir,
    .fs_ctx = NULL,
};

const billord_fs *billord_fs_posix(void)
{
    return &sys_fs;
}
