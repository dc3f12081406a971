/*
 * snapshot.c: snapshots, boot id and the clean-shutdown marker (snapshot.h).
 *
 * Every write, sync, rename and unlink goes through the db's billord_fs, as the log's do:
 * a failed fsync of a snapshot is as final for that snapshot as one of the log is for the
 * log, and tests fail each step through the same table. Reads of the small text files and
 * the directories' creation use the system calls directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/assert.h"
#include "db/snapshot.h"

#define SNAPSHOT_COPY_CHUNK_BYTES (1u << 20)

static_assert(sizeof "/" BILLORD_SNAPSHOT_DIR "/" BILLORD_SNAPSHOT_FILE ".tmp" <=
                  BILLORD_SNAPSHOT_PATH_BYTES - BILLORD_SNAPSHOT_DATA_DIR_BYTES_MAX,
              "every path below the data directory fits (the longest is the snapshot's temp)");

/* dir/name+suffix: callers keep data_dir below BILLORD_SNAPSHOT_DATA_DIR_BYTES_MAX, so it fits. */
static void join_suffix(char *out, const char *dir, const char *name, const char *suffix)
{
    int written = snprintf(out, BILLORD_SNAPSHOT_PATH_BYTES, "%s/%s%s", dir, name, suffix);
    BILLORD_ASSERT(written > 0 && (size_t)written < BILLORD_SNAPSHOT_PATH_BYTES);
}

static void join(char *out, const char *dir, const char *name)
{
    join_suffix(out, dir, name, "");
}

static billord_err io_error(int errno_value)
{
    return errno_value == ENOSPC ? BILLORD_E_DISK_FULL : BILLORD_E_IO;
}

static billord_err fsync_dir(const billord_fs *fs, const char *dir)
{
    return fs->fsync_dir(fs->fs_ctx, dir) == 0 ? BILLORD_OK : io_error(errno);
}

/* Read a small text file's first line into out ("" when missing or empty). */
static void read_line(const char *path, char *out, size_t out_bytes)
{
    out[0] = '\0';
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return;
    }
    if (fgets(out, (int)out_bytes, file) == NULL) {
        out[0] = '\0';
    }
    fclose(file);
    out[strcspn(out, "\r\n")] = '\0';
}

/* Write bytes at offset of fd; a short write is a failure (a full disk, in practice). */
static billord_err write_at(const billord_fs *fs, int fd, const void *bytes, size_t bytes_len,
                            int64_t offset_bytes)
{
    int64_t put = fs->pwrite(fs->fs_ctx, fd, bytes, bytes_len, offset_bytes);
    if (put < 0) {
        return io_error(errno);
    }
    return put == (int64_t)bytes_len ? BILLORD_OK : BILLORD_E_IO;
}

/* Sync and close fd (the close's result adds nothing once the sync succeeded). */
static billord_err sync_close(const billord_fs *fs, int fd, billord_err err)
{
    if (err == BILLORD_OK && fs->fsync(fs->fs_ctx, fd) != 0) {
        err = io_error(errno);
    }
    fs->close(fs->fs_ctx, fd);
    return err;
}

/* Replace dir/name with text, synced (temp file, fsync, rename, directory fsync). */
static billord_err write_synced(const billord_fs *fs, const char *dir, const char *name,
                                const char *text)
{
    char path[BILLORD_SNAPSHOT_PATH_BYTES], temp[BILLORD_SNAPSHOT_PATH_BYTES];
    join(path, dir, name);
    join_suffix(temp, dir, name, ".tmp");
    int fd = fs->open(fs->fs_ctx, temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return io_error(errno);
    }
    billord_err err = sync_close(fs, fd, write_at(fs, fd, text, strlen(text), 0));
    if (err == BILLORD_OK && fs->rename(fs->fs_ctx, temp, path) != 0) {
        err = io_error(errno);
    }
    if (err != BILLORD_OK) {
        fs->unlink(fs->fs_ctx, temp);
        return err;
    }
    return fsync_dir(fs, dir);
}

bool billord__snapshot_exists(const char *data_dir)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], path[BILLORD_SNAPSHOT_PATH_BYTES];
    join(dir, data_dir, BILLORD_SNAPSHOT_DIR);
    join(path, dir, BILLORD_SNAPSHOT_FILE);
    return access(path, F_OK) == 0;
}

billord_err billord__snapshot_take(const billord_fs *fs, billord_engine *engine,
                                   const char *data_dir, uint64_t *out_lsn)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], path[BILLORD_SNAPSHOT_PATH_BYTES];
    char temp[BILLORD_SNAPSHOT_PATH_BYTES];
    join(dir, data_dir, BILLORD_SNAPSHOT_DIR);
    join(path, dir, BILLORD_SNAPSHOT_FILE);
    join(temp, dir, BILLORD_SNAPSHOT_FILE ".tmp");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return io_error(errno);
    }
    int fd = fs->open(fs->fs_ctx, temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return io_error(errno);
    }
    uint64_t lsn = 0;
    billord_err err = sync_close(fs, fd, billord_engine_snapshot(engine, fd, &lsn));
    if (err == BILLORD_OK && fs->rename(fs->fs_ctx, temp, path) != 0) {
        err = io_error(errno);
    }
    if (err != BILLORD_OK) {
        fs->unlink(fs->fs_ctx, temp);
        return err;
    }
    char lsn_text[32];
    snprintf(lsn_text, sizeof lsn_text, "%llu\n", (unsigned long long)lsn);
    err = fsync_dir(fs, dir);
    if (err == BILLORD_OK) {
        err = write_synced(fs, dir, "lsn", lsn_text);
    }
    if (err == BILLORD_OK) {
        *out_lsn = lsn;
    }
    return err;
}

billord_err billord__snapshot_lsn(const char *data_dir, uint64_t *out_lsn)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], path[BILLORD_SNAPSHOT_PATH_BYTES];
    char text[32];
    join(dir, data_dir, BILLORD_SNAPSHOT_DIR);
    join(path, dir, "lsn");
    read_line(path, text, sizeof text);
    char *end = NULL;
    unsigned long long lsn = strtoull(text, &end, 10);
    if (end == text || *end != '\0') {
        return BILLORD_E_NOT_FOUND;             /* missing, empty, or not a number */
    }
    *out_lsn = lsn;
    return BILLORD_OK;
}

/* Copy from into to (created or truncated), synced. */
static billord_err copy_file(const billord_fs *fs, const char *from, const char *to)
{
    int in = fs->open(fs->fs_ctx, from, O_RDONLY, 0);
    if (in < 0) {
        return io_error(errno);
    }
    int out = fs->open(fs->fs_ctx, to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        billord_err err = io_error(errno);
        fs->close(fs->fs_ctx, in);
        return err;
    }
    char *buffer = malloc(SNAPSHOT_COPY_CHUNK_BYTES);
    billord_err err = buffer != NULL ? BILLORD_OK : BILLORD_E_NOMEM;
    for (int64_t offset = 0; err == BILLORD_OK;) {
        int64_t got = fs->pread(fs->fs_ctx, in, buffer, SNAPSHOT_COPY_CHUNK_BYTES, offset);
        if (got == 0) {
            break;
        }
        err = got < 0 ? io_error(errno) : write_at(fs, out, buffer, (size_t)got, offset);
        offset += got;
    }
    free(buffer);
    fs->close(fs->fs_ctx, in);
    return sync_close(fs, out, err);
}

/* Replace state/ with the snapshot (copy, fsync). The engine must be closed. */
static billord_err restore(const billord_fs *fs, const char *data_dir, char *error_text,
                           size_t error_text_bytes)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], snapshot[BILLORD_SNAPSHOT_PATH_BYTES];
    char state[BILLORD_SNAPSHOT_PATH_BYTES], data[BILLORD_SNAPSHOT_PATH_BYTES];
    char lock[BILLORD_SNAPSHOT_PATH_BYTES];
    join(dir, data_dir, BILLORD_SNAPSHOT_DIR);
    join(snapshot, dir, BILLORD_SNAPSHOT_FILE);
    join(state, data_dir, "state");
    join(data, state, "data.mdb");
    join(lock, state, "lock.mdb");
    if (access(snapshot, R_OK) != 0) {
        snprintf(error_text, error_text_bytes,
                 "%s: the machine restarted without a clean shutdown, and there is no snapshot "
                 "to rebuild from",
                 data_dir);
        return BILLORD_E_CORRUPT;
    }
    billord_err err = BILLORD_OK;
    if (mkdir(state, 0755) != 0 && errno != EEXIST) {
        err = io_error(errno);
    }
    if (err == BILLORD_OK) {
        unlink(lock);                           /* LMDB makes a new one; a stale one is harmless */
        err = copy_file(fs, snapshot, data);
    }
    if (err == BILLORD_OK) {
        err = fsync_dir(fs, state);
    }
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes,
                 "%s: the machine restarted without a clean shutdown, and restoring the "
                 "snapshot failed: %s",
                 data, billord_err_message(err));
    }
    return err;
}

billord_err billord__snapshot_startup(const billord_fs *fs, const char *data_dir,
                                      const char *boot_id_path, bool *out_rebuilt,
                                      char *error_text, size_t error_text_bytes)
{
    char path[BILLORD_SNAPSHOT_PATH_BYTES];
    char stored[BILLORD_BOOT_ID_BYTES_MAX + 2], current[BILLORD_BOOT_ID_BYTES_MAX + 2];
    *out_rebuilt = false;
    join(path, data_dir, BILLORD_BOOT_ID_FILE);
    read_line(path, stored, sizeof stored);
    read_line(boot_id_path, current, sizeof current);
    if (current[0] == '\0') {
        snprintf(error_text, error_text_bytes, "%s: cannot read the boot id", boot_id_path);
        return BILLORD_E_IO;
    }
    join(path, data_dir, BILLORD_CLEAN_FILE);
    bool clean = access(path, F_OK) == 0;
    if (!clean && stored[0] != '\0' && strcmp(stored, current) != 0) {
        /* This boot is recorded only after the rebuild: one that fails is tried again. */
        billord_err err = restore(fs, data_dir, error_text, error_text_bytes);
        if (err != BILLORD_OK) {
            return err;
        }
        *out_rebuilt = true;
    }
    billord_err err = write_synced(fs, data_dir, BILLORD_BOOT_ID_FILE, current);
    if (err == BILLORD_OK && clean) {
        err = fs->unlink(fs->fs_ctx, path) == 0 ? fsync_dir(fs, data_dir) : io_error(errno);
    }
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s: cannot record the boot id: %s", data_dir,
                 billord_err_message(err));
    }
    return err;
}

billord_err billord__snapshot_mark_clean(const billord_fs *fs, const char *data_dir)
{
    return write_synced(fs, data_dir, BILLORD_CLEAN_FILE, "clean\n");
}
