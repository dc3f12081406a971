/* faulty_fs.c: fault and power-loss injection over the real file system (faulty_fs.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/faulty_fs.h"

typedef struct pending_write {
    int fd_dup;                 /* keeps the file reachable after the WAL closes or renames it */
    dev_t dev;
    ino_t ino;
    int64_t offset_bytes;
    size_t bytes_len;
    uint8_t *bytes;
} pending_write;

struct faulty_fs {
    billord_fs table;
    const billord_fs *real;
    pthread_mutex_t mutex;
    uint64_t call_count;
    uint64_t fail_at_call;
    uint32_t op_mask;
    faulty_mode mode;
    bool persistent;
    uint64_t failure_count;
    bool buffering;
    bool crashed;
    bool crash_on_hit;          /* the fault is a power loss (faulty_fs_crash_at) */
    uint32_t crash_writes_kept;
    uint64_t crash_prefix_bytes;
    pending_write *pending;
    uint32_t pending_count;
    uint32_t pending_capacity;
};

static void crash_locked(faulty_fs *fs, uint32_t writes_kept, uint64_t last_prefix_bytes);

/* Whether this call fails; sets errno. For pwrite, *out_short tells a short write. */
static bool should_fail(faulty_fs *fs, faulty_op op, bool *out_short)
{
    *out_short = false;
    if (op == FAULTY_OP_CLOSE) {
        return false;
    }
    if (fs->crashed) {
        errno = EIO;
        return true;
    }
    if ((fs->op_mask & FAULTY_MASK(op)) == 0) {
        return false;
    }
    fs->call_count++;
    bool hit = fs->fail_at_call != 0
               && (fs->call_count == fs->fail_at_call
                   || (fs->persistent && fs->call_count > fs->fail_at_call));
    if (!hit) {
        return false;
    }
    fs->failure_count++;
    if (fs->crash_on_hit) {
        crash_locked(fs, fs->crash_writes_kept, fs->crash_prefix_bytes);
        errno = EIO;
        return true;
    }
    if (fs->mode == FAULTY_SHORT && op == FAULTY_OP_PWRITE && fs->call_count == fs->fail_at_call) {
        *out_short = true;
        return true;
    }
    errno = fs->mode == FAULTY_ENOSPC || (fs->mode == FAULTY_SHORT && fs->persistent) ? ENOSPC : EIO;
    return true;
}

static int file_id(int fd, dev_t *dev, ino_t *ino)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return -1;
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

static void pending_release(pending_write *write)
{
    close(write->fd_dup);
    free(write->bytes);
}

static int apply_write(const pending_write *write, size_t bytes_len)
{
    size_t done = 0;
    while (done < bytes_len) {
        ssize_t put = pwrite(write->fd_dup, write->bytes + done, bytes_len - done,
                             (off_t)(write->offset_bytes + (int64_t)done));
        if (put <= 0) {
            return -1;
        }
        done += (size_t)put;
    }
    return 0;
}

/* Write and drop the kept writes of one file (in order). */
static int apply_file(faulty_fs *fs, dev_t dev, ino_t ino)
{
    uint32_t kept = 0;
    int result = 0;
    for (uint32_t i = 0; i < fs->pending_count; i++) {
        pending_write *write = &fs->pending[i];
        if (write->dev == dev && write->ino == ino) {
            if (apply_write(write, write->bytes_len) != 0) {
                result = -1;
            }
            pending_release(write);
        } else {
            fs->pending[kept++] = *write;
        }
    }
    fs->pending_count = kept;
    return result;
}

static int pending_add(faulty_fs *fs, int fd, const void *bytes, size_t bytes_len, int64_t offset)
{
    if (fs->pending_count == fs->pending_capacity) {
        uint32_t capacity = fs->pending_capacity == 0 ? 64u : fs->pending_capacity * 2u;
        pending_write *grown = realloc(fs->pending, capacity * sizeof *grown);
        if (grown == NULL) {
            errno = ENOMEM;
            return -1;
        }
        fs->pending = grown;
        fs->pending_capacity = capacity;
    }
    pending_write write = {.fd_dup = dup(fd), .offset_bytes = offset, .bytes_len = bytes_len};
    write.bytes = malloc(bytes_len > 0 ? bytes_len : 1u);
    if (write.fd_dup < 0 || write.bytes == NULL || file_id(fd, &write.dev, &write.ino) != 0) {
        if (write.fd_dup >= 0) {
            close(write.fd_dup);
        }
        free(write.bytes);
        errno = EIO;
        return -1;
    }
    memcpy(write.bytes, bytes, bytes_len);
    fs->pending[fs->pending_count++] = write;
    return 0;
}

/* ---- the table --------------------------------------------------------------------------- */

#define FAULTY_ENTER(op)                                                                      \
    faulty_fs *fs = fs_ctx;                                                                   \
    pthread_mutex_lock(&fs->mutex);                                                           \
    bool is_short = false;                                                                    \
    if (should_fail(fs, (op), &is_short) && !is_short) {                                      \
        int saved_errno = errno;                                                              \
        pthread_mutex_unlock(&fs->mutex);                                                     \
        errno = saved_errno;                                                                  \
        return -1;                                                                            \
    }                                                                                         \
    (void)is_short

#define FAULTY_LEAVE(result)                                                                  \
    do {                                                                                      \
        int saved_errno = errno;                                                              \
        pthread_mutex_unlock(&fs->mutex);                                                     \
        errno = saved_errno;                                                                  \
        return (result);                                                                      \
    } while (0)

static int f_open(void *fs_ctx, const char *path, int flags, uint32_t mode)
{
    FAULTY_ENTER(FAULTY_OP_OPEN);
    int fd = fs->real->open(fs->real->fs_ctx, path, flags, mode);
    FAULTY_LEAVE(fd);
}

static int f_close(void *fs_ctx, int fd)
{
    FAULTY_ENTER(FAULTY_OP_CLOSE);
    int result = fs->real->close(fs->real->fs_ctx, fd);
    FAULTY_LEAVE(result);
}

static int64_t f_pread(void *fs_ctx, int fd, void *bytes, size_t bytes_len, int64_t offset)
{
    FAULTY_ENTER(FAULTY_OP_PREAD);
    memset(bytes, 0, bytes_len);
    int64_t got = fs->real->pread(fs->real->fs_ctx, fd, bytes, bytes_len, offset);
    dev_t dev;
    ino_t ino;
    if (got >= 0 && fs->pending_count > 0 && file_id(fd, &dev, &ino) == 0) {
        /* Read your own unsynced writes, as the page cache would serve them. */
        for (uint32_t i = 0; i < fs->pending_count; i++) {
            const pending_write *write = &fs->pending[i];
            int64_t from = write->offset_bytes > offset ? write->offset_bytes : offset;
            int64_t to = write->offset_bytes + (int64_t)write->bytes_len;
            if (to > offset + (int64_t)bytes_len) {
                to = offset + (int64_t)bytes_len;
            }
            if (write->dev != dev || write->ino != ino || from >= to) {
                continue;
            }
            memcpy((uint8_t *)bytes + (from - offset), write->bytes + (from - write->offset_bytes),
                   (size_t)(to - from));
            if (to - offset > got) {
                got = to - offset;
            }
        }
    }
    FAULTY_LEAVE(got);
}

static int64_t f_pwrite(void *fs_ctx, int fd, const void *bytes, size_t bytes_len, int64_t offset)
{
    FAULTY_ENTER(FAULTY_OP_PWRITE);
    size_t len = bytes_len;
    if (is_short) {
        if (bytes_len < 2u) {
            errno = EIO;
            FAULTY_LEAVE(-1);
        }
        len = bytes_len / 2u;
    }
    int64_t result = (int64_t)len;
    /* O_DIRECT writes bypass the page cache (and the copy would break their alignment):
     * they go through at once, as on a disk without a volatile cache. */
    int const fd_flags = fcntl(fd, F_GETFL);
    if (fs->buffering && (fd_flags < 0 || (fd_flags & O_DIRECT) == 0)) {
        if (pending_add(fs, fd, bytes, len, offset) != 0) {
            result = -1;
        }
    } else {
        result = fs->real->pwrite(fs->real->fs_ctx, fd, bytes, len, offset);
    }
    FAULTY_LEAVE(result);
}

static int sync_common(faulty_fs *fs, int fd, bool data_only)
{
    dev_t dev;
    ino_t ino;
    if (fs->pending_count > 0 && (file_id(fd, &dev, &ino) != 0 || apply_file(fs, dev, ino) != 0)) {
        errno = EIO;
        return -1;
    }
    return data_only ? fs->real->fdatasync(fs->real->fs_ctx, fd) : fs->real->fsync(fs->real->fs_ctx, fd);
}

static int f_fdatasync(void *fs_ctx, int fd)
{
    FAULTY_ENTER(FAULTY_OP_FDATASYNC);
    int result = sync_common(fs, fd, true);
    FAULTY_LEAVE(result);
}

static int f_fsync(void *fs_ctx, int fd)
{
    FAULTY_ENTER(FAULTY_OP_FSYNC);
    int result = sync_common(fs, fd, false);
    FAULTY_LEAVE(result);
}

static int f_ftruncate(void *fs_ctx, int fd, int64_t length)
{
    FAULTY_ENTER(FAULTY_OP_FTRUNCATE);
    int result = fs->real->ftruncate(fs->real->fs_ctx, fd, length);
    FAULTY_LEAVE(result);
}

static int f_fallocate(void *fs_ctx, int fd, int64_t offset, int64_t length)
{
    FAULTY_ENTER(FAULTY_OP_FALLOCATE);
    int result = fs->real->fallocate(fs->real->fs_ctx, fd, offset, length);
    FAULTY_LEAVE(result);
}

static int f_size(void *fs_ctx, int fd, uint64_t *out_bytes)
{
    FAULTY_ENTER(FAULTY_OP_SIZE);
    int result = fs->real->size(fs->real->fs_ctx, fd, out_bytes);
    dev_t dev;
    ino_t ino;
    if (result == 0 && fs->pending_count > 0 && file_id(fd, &dev, &ino) == 0) {
        for (uint32_t i = 0; i < fs->pending_count; i++) {
            const pending_write *write = &fs->pending[i];
            uint64_t end = (uint64_t)write->offset_bytes + write->bytes_len;
            if (write->dev == dev && write->ino == ino && end > *out_bytes) {
                *out_bytes = end;
            }
        }
    }
    FAULTY_LEAVE(result);
}

static int f_rename(void *fs_ctx, const char *from_path, const char *to_path)
{
    FAULTY_ENTER(FAULTY_OP_RENAME);
    int result = fs->real->rename(fs->real->fs_ctx, from_path, to_path);
    FAULTY_LEAVE(result);
}

static int f_unlink(void *fs_ctx, const char *path)
{
    FAULTY_ENTER(FAULTY_OP_UNLINK);
    int result = fs->real->unlink(fs->real->fs_ctx, path);
    FAULTY_LEAVE(result);
}

static int f_fsync_dir(void *fs_ctx, const char *dir_path)
{
    FAULTY_ENTER(FAULTY_OP_FSYNC_DIR);
    int result = fs->real->fsync_dir(fs->real->fs_ctx, dir_path);
    FAULTY_LEAVE(result);
}

static int f_list_dir(void *fs_ctx, const char *dir_path, billord_fs_entry_fn entry_fn,
                      void *entry_ctx)
{
    FAULTY_ENTER(FAULTY_OP_LIST_DIR);
    int result = fs->real->list_dir(fs->real->fs_ctx, dir_path, entry_fn, entry_ctx);
    FAULTY_LEAVE(result);
}

static int f_is_dir(void *fs_ctx, const char *path)
{
    faulty_fs *fs = fs_ctx;
    pthread_mutex_lock(&fs->mutex);
    bool is_short = false;
    bool failed = should_fail(fs, FAULTY_OP_IS_DIR, &is_short);
    int result = failed ? 0 : fs->real->is_dir(fs->real->fs_ctx, path);
    pthread_mutex_unlock(&fs->mutex);
    return result;
}

faulty_fs *faulty_fs_new(void)
{
    faulty_fs *fs = calloc(1, sizeof *fs);
    if (fs == NULL) {
        abort();
    }
    fs->real = billord_fs_posix();
    pthread_mutex_init(&fs->mutex, NULL);
    fs->table = (billord_fs){
        .open = f_open, .close = f_close, .pread = f_pread, .pwrite = f_pwrite,
        .fdatasync = f_fdatasync, .fsync = f_fsync, .ftruncate = f_ftruncate,
        .fallocate = f_fallocate, .size = f_size, .rename = f_rename, .unlink = f_unlink,
        .fsync_dir = f_fsync_dir, .list_dir = f_list_dir, .is_dir = f_is_dir, .fs_ctx = fs,
    };
    return fs;
}

void faulty_fs_free(faulty_fs *fs)
{
    if (fs == NULL) {
        return;
    }
    for (uint32_t i = 0; i < fs->pending_count; i++) {
        (void)apply_write(&fs->pending[i], fs->pending[i].bytes_len);
        pending_release(&fs->pending[i]);
    }
    free(fs->pending);
    pthread_mutex_destroy(&fs->mutex);
    free(fs);
}

const billord_fs *faulty_fs_table(faulty_fs *fs)
{
    return &fs->table;
}

void faulty_fs_fail_at(faulty_fs *fs, uint64_t call_index, uint32_t op_mask, faulty_mode mode,
                       bool persistent)
{
    pthread_mutex_lock(&fs->mutex);
    fs->call_count = 0;
    fs->failure_count = 0;
    fs->fail_at_call = call_index;
    fs->op_mask = op_mask;
    fs->mode = mode;
    fs->persistent = persistent;
    pthread_mutex_unlock(&fs->mutex);
}

uint64_t faulty_fs_calls(faulty_fs *fs)
{
    pthread_mutex_lock(&fs->mutex);
    uint64_t calls = fs->call_count;
    pthread_mutex_unlock(&fs->mutex);
    return calls;
}

uint64_t faulty_fs_failures(faulty_fs *fs)
{
    pthread_mutex_lock(&fs->mutex);
    uint64_t failures = fs->failure_count;
    pthread_mutex_unlock(&fs->mutex);
    return failures;
}

void faulty_fs_buffer_writes(faulty_fs *fs, bool on)
{
    pthread_mutex_lock(&fs->mutex);
    fs->buffering = on;
    pthread_mutex_unlock(&fs->mutex);
}

uint32_t faulty_fs_pending_count(faulty_fs *fs)
{
    pthread_mutex_lock(&fs->mutex);
    uint32_t count = fs->pending_count;
    pthread_mutex_unlock(&fs->mutex);
    return count;
}

void faulty_fs_crash(faulty_fs *fs, uint32_t writes_kept, uint64_t last_prefix_bytes)
{
    pthread_mutex_lock(&fs->mutex);
    crash_locked(fs, writes_kept, last_prefix_bytes);
    pthread_mutex_unlock(&fs->mutex);
}

void faulty_fs_crash_at(faulty_fs *fs, uint64_t call_index, uint32_t op_mask, uint32_t writes_kept,
                        uint64_t last_prefix_bytes)
{
    faulty_fs_fail_at(fs, call_index, op_mask, FAULTY_EIO, true);
    pthread_mutex_lock(&fs->mutex);
    fs->crash_on_hit = true;
    fs->crash_writes_kept = writes_kept;
    fs->crash_prefix_bytes = last_prefix_bytes;
    pthread_mutex_unlock(&fs->mutex);
}

bool faulty_fs_crashed(faulty_fs *fs)
{
    pthread_mutex_lock(&fs->mutex);
    bool crashed = fs->crashed;
    pthread_mutex_unlock(&fs->mutex);
    return crashed;
}

static void crash_locked(faulty_fs *fs, uint32_t writes_kept, uint64_t last_prefix_bytes)
{
    for (uint32_t i = 0; i < fs->pending_count; i++) {
        pending_write *write = &fs->pending[i];
        if (i < writes_kept) {
            (void)apply_write(write, write->bytes_len);
        } else if (i == writes_kept) {
            size_t prefix = last_prefix_bytes < write->bytes_len ? (size_t)last_prefix_bytes
                                                                 : write->bytes_len;
            (void)apply_write(write, prefix);
        }
        pending_release(write);
    }
    fs->pending_count = 0;
    fs->crashed = true;
}
