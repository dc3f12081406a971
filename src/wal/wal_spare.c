/*
 * wal_spare.c: keeps one pre-zeroed spare segment ("prepared.tmp") ready.
 *
 * Why: a segment is usable only after zeroes were written over its full size and
 * synced (fallocate alone leaves unwritten extents, whose first write costs a metadata
 * commit in every fdatasync). Doing that at rotation would stall the writer for the
 * time it takes to write a whole segment, so a helper thread does it in advance and
 * rotation only writes a header and renames the file.
 *
 * Protocol: the writer takes the ready spare (waiting if it is still being prepared),
 * renames it, then asks for the next one. The thread touches the spare path only while
 * a spare is wanted, and the writer only while it holds a taken one, so the two never
 * race on the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "wal/wal_internal.h"

/* Open the spare for the zero fill, with O_DIRECT when the size allows it; *out_direct says. */
static int open_for_fill(billord__wal_spare *spare, bool *out_direct)
{
    const billord_fs *fs = spare->fs;
    int const flags = O_RDWR | O_CREAT | O_TRUNC;
    *out_direct = false;
    if (spare->segment_bytes % BILLORD__WAL_DIRECT_ALIGN_BYTES == 0) {
        int fd = fs->open(fs->fs_ctx, spare->path, flags | O_DIRECT, 0644u);
        if (fd >= 0 || errno != EINVAL) {
            *out_direct = fd >= 0;
            return fd;
        }
    }
    return fs->open(fs->fs_ctx, spare->path, flags, 0644u);  /* no O_DIRECT here (tmpfs) */
}

/*
 * Zero the whole file. Why O_DIRECT: the zeroes then go from one aligned buffer to the
 * device without being copied into the page cache, which would cost as much CPU as the
 * log's own writes and evict useful pages. A file system that takes O_DIRECT at open but
 * refuses the write (EINVAL) gets a buffered descriptor instead.
 */
static int fill_zeros(billord__wal_spare *spare, int *fd, bool *direct)
{
    const billord_fs *fs = spare->fs;
    if (billord__wal_zero_fill(fs, *fd, spare->zeros, 0, spare->segment_bytes) == 0) {
        return 0;
    }
    if (!*direct || errno != EINVAL) {
        return -1;
    }
    fs->close(fs->fs_ctx, *fd);
    *direct = false;
    *fd = fs->open(fs->fs_ctx, spare->path, O_RDWR, 0);
    if (*fd < 0) {
        return -1;
    }
    return billord__wal_zero_fill(fs, *fd, spare->zeros, 0, spare->segment_bytes);
}

/* Prepare the spare file; on failure errno is kept and text written. Returns fd or -1. */
static int prepare_file(billord__wal_spare *spare, char *text, size_t text_bytes)
{
    const billord_fs *fs = spare->fs;
    if (fs->unlink(fs->fs_ctx, spare->path) != 0 && errno != ENOENT) {
        snprintf(text, text_bytes, "unlink %s: %s", spare->path, strerror(errno));
        return -1;
    }
    bool direct = false;
    int fd = open_for_fill(spare, &direct);
    if (fd < 0) {
        snprintf(text, text_bytes, "create %s: %s", spare->path, strerror(errno));
        return -1;
    }
    const char *step = "fallocate";
    /* fallocate first, so a full disk fails here and not in the middle of the zero fill. */
    if (fs->fallocate(fs->fs_ctx, fd, 0, (int64_t)spare->segment_bytes) != 0
        && errno != EOPNOTSUPP && errno != ENOSYS) {
        goto fail;
    }
    step = "zero fill";
    if (fill_zeros(spare, &fd, &direct) != 0) {
        goto fail;
    }
    step = "fsync";
    if (fs->fsync(fs->fs_ctx, fd) != 0) {
        goto fail;
    }
    if (direct) {
        /* The log writes unaligned records: it needs a buffered descriptor. */
        fs->close(fs->fs_ctx, fd);
        step = "reopen";
        fd = fs->open(fs->fs_ctx, spare->path, O_RDWR, 0);
        if (fd < 0) {
            snprintf(text, text_bytes, "%s %s: %s", step, spare->path, strerror(errno));
            return -1;
        }
    }
    return fd;
fail:;
    int saved_errno = errno;
    snprintf(text, text_bytes, "%s %s (%" PRIu64 " bytes): %s", step, spare->path,
             spare->segment_bytes, strerror(saved_errno));
    if (fd >= 0) {
        fs->close(fs->fs_ctx, fd);
    }
    errno = saved_errno;
    return -1;
}

/* Run one preparation and publish its result; called with the mutex NOT held. */
static void prepare_and_publish(billord__wal_spare *spare)
{
    char text[BILLORD_WAL_ERROR_TEXT_BYTES] = "";
    int fd = prepare_file(spare, text, sizeof text);
    int saved_errno = errno;
    pthread_mutex_lock(&spare->mutex);
    if (fd >= 0) {
        spare->fd = fd;
        spare->state = BILLORD__WAL_SPARE_READY;
    } else {
        spare->failed_errno = saved_errno;
        snprintf(spare->error_text, sizeof spare->error_text, "%s", text);
        spare->state = BILLORD__WAL_SPARE_FAILED;
    }
    pthread_cond_broadcast(&spare->cond);
    pthread_mutex_unlock(&spare->mutex);
}

static void *spare_thread(void *arg)
{
    billord__wal_spare *spare = arg;
    pthread_mutex_lock(&spare->mutex);
    while (!spare->stop) {
        if (spare->state != BILLORD__WAL_SPARE_WANTED) {
            pthread_cond_wait(&spare->cond, &spare->mutex);
            continue;
        }
        pthread_mutex_unlock(&spare->mutex);
        prepare_and_publish(spare);
        pthread_mutex_lock(&spare->mutex);
    }
    pthread_mutex_unlock(&spare->mutex);
    return NULL;
}

billord_err billord__wal_spare_start(billord__wal_spare *spare, const billord_fs *fs,
                                     const char *dir_path, uint64_t segment_bytes,
                                     bool inline_mode, char *error_text, size_t error_text_bytes)
{
    memset(spare, 0, sizeof *spare);
    spare->fs = fs;
    spare->fd = -1;
    spare->segment_bytes = segment_bytes;
    spare->inline_mode = inline_mode;
    if (!billord__wal_path_join(spare->path, sizeof spare->path, dir_path, BILLORD__WAL_SPARE_NAME)) {
        snprintf(error_text, error_text_bytes, "wal directory path is too long");
        return BILLORD_E_INVALID_ARGUMENT;
    }
    /* Aligned, so the same zeroes serve O_DIRECT writes. */
    spare->zeros = aligned_alloc(BILLORD__WAL_DIRECT_ALIGN_BYTES, BILLORD__WAL_IO_CHUNK_BYTES);
    if (spare->zeros == NULL) {
        return BILLORD_E_NOMEM;
    }
    memset(spare->zeros, 0, BILLORD__WAL_IO_CHUNK_BYTES);
    pthread_mutex_init(&spare->mutex, NULL);
    pthread_cond_init(&spare->cond, NULL);
    /* A spare left by an earlier run may be half-zeroed: never trust it. */
    if (fs->unlink(fs->fs_ctx, spare->path) != 0 && errno != ENOENT) {
        snprintf(error_text, error_text_bytes, "unlink %s: %s", spare->path, strerror(errno));
        return billord__wal_errno_err(errno);
    }
    if (inline_mode) {
        return BILLORD_OK;
    }
    spare->state = BILLORD__WAL_SPARE_WANTED;
    if (pthread_create(&spare->thread, NULL, spare_thread, spare) != 0) {
        snprintf(error_text, error_text_bytes, "cannot start the wal segment preparer");
        return BILLORD_E_NOMEM;
    }
    spare->thread_started = true;
    return BILLORD_OK;
}

billord_err billord__wal_spare_take(billord__wal_spare *spare, int *out_fd, int *out_errno,
                                    char *error_text, size_t error_text_bytes)
{
    if (spare->inline_mode && spare->state != BILLORD__WAL_SPARE_READY
        && spare->state != BILLORD__WAL_SPARE_FAILED) {
        prepare_and_publish(spare);
    }
    pthread_mutex_lock(&spare->mutex);
    BILLORD_ASSERT(spare->state != BILLORD__WAL_SPARE_IDLE || spare->inline_mode);
    /* Bounded by the preparer: it always ends in READY or FAILED. */
    while (spare->state == BILLORD__WAL_SPARE_WANTED) {
        pthread_cond_wait(&spare->cond, &spare->mutex);
    }
    billord_err err = BILLORD_OK;
    if (spare->state == BILLORD__WAL_SPARE_READY) {
        *out_fd = spare->fd;
        spare->fd = -1;
        spare->state = BILLORD__WAL_SPARE_IDLE;
    } else {
        BILLORD_ASSERT(spare->state == BILLORD__WAL_SPARE_FAILED);
        *out_errno = spare->failed_errno;
        snprintf(error_text, error_text_bytes, "%s", spare->error_text);
        err = billord__wal_errno_err(spare->failed_errno);
    }
    pthread_mutex_unlock(&spare->mutex);
    return err;
}

billord_err billord__wal_spare_request(billord__wal_spare *spare, int *out_errno,
                                       char *error_text, size_t error_text_bytes)
{
    pthread_mutex_lock(&spare->mutex);
    BILLORD_ASSERT(spare->state == BILLORD__WAL_SPARE_IDLE);
    spare->state = BILLORD__WAL_SPARE_WANTED;
    pthread_cond_broadcast(&spare->cond);
    pthread_mutex_unlock(&spare->mutex);
    if (!spare->inline_mode) {
        return BILLORD_OK;      /* a failure surfaces at the next take */
    }
    prepare_and_publish(spare);
    if (spare->state == BILLORD__WAL_SPARE_FAILED) {
        *out_errno = spare->failed_errno;
        snprintf(error_text, error_text_bytes, "%s", spare->error_text);
        return billord__wal_errno_err(spare->failed_errno);
    }
    return BILLORD_OK;
}

void billord__wal_spare_stop(billord__wal_spare *spare)
{
    if (spare->zeros == NULL) {
        return;                 /* never started */
    }
    if (spare->thread_started) {
        pthread_mutex_lock(&spare->mutex);
        spare->stop = true;
        pthread_cond_broadcast(&spare->cond);
        pthread_mutex_unlock(&spare->mutex);
        pthread_join(spare->thread, NULL);
        spare->thread_started = false;
    }
    if (spare->fd >= 0) {
        spare->fs->close(spare->fs->fs_ctx, spare->fd);
        spare->fd = -1;
    }
    /* The spare holds no data; leaving it would only cost disk space until the next open. */
    (void)spare->fs->unlink(spare->fs->fs_ctx, spare->path);
    pthread_mutex_destroy(&spare->mutex);
    pthread_cond_destroy(&spare->cond);
    free(spare->zeros);
    spare->zeros = NULL;
}
