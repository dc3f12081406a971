/* snapshot.c: snapshots, boot id and the clean-shutdown marker (snapshot.h). */
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
#define SNAPSHOT_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

static bool join(char *out, const char *dir, const char *name)
{
    int written = snprintf(out, BILLORD_SNAPSHOT_PATH_BYTES, "%s/%s", dir, name);
    return written > 0 && (size_t)written < BILLORD_SNAPSHOT_PATH_BYTES;
}

static billord_err fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return BILLORD_E_IO;
    }
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? BILLORD_OK : BILLORD_E_IO;
}

/* Read a small text file's first line into out ("" when missing). */
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

/* Replace path with text, synced (temp file, fsync, rename, directory fsync). */
static billord_err write_synced(const char *dir, const char *name, const char *text)
{
    char path[BILLORD_SNAPSHOT_PATH_BYTES], temp[BILLORD_SNAPSHOT_PATH_BYTES];
    char temp_name[128];
    snprintf(temp_name, sizeof temp_name, "%s.tmp", name);
    if (!join(path, dir, name) || !join(temp, dir, temp_name)) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return BILLORD_E_IO;
    }
    size_t text_bytes = strlen(text);
    bool ok = write(fd, text, text_bytes) == (ssize_t)text_bytes && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(temp, path) != 0) {
        unlink(temp);
        return BILLORD_E_IO;
    }
    return fsync_dir(dir);
}

billord_err billord__snapshot_startup(const char *data_dir, bool *out_rebuild,
                                      char *error_text, size_t error_text_bytes)
{
    char path[BILLORD_SNAPSHOT_PATH_BYTES];
    char stored[BILLORD_BOOT_ID_BYTES_MAX + 2], current[BILLORD_BOOT_ID_BYTES_MAX + 2];
    if (!join(path, data_dir, BILLORD_BOOT_ID_FILE)) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    read_line(path, stored, sizeof stored);
    read_line(SNAPSHOT_BOOT_ID_PATH, current, sizeof current);
    if (current[0] == '\0') {
        snprintf(error_text, error_text_bytes, "%s: cannot read the boot id",
                 SNAPSHOT_BOOT_ID_PATH);
        return BILLORD_E_IO;
    }
    if (!join(path, data_dir, BILLORD_CLEAN_FILE)) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    bool clean = access(path, F_OK) == 0;
    *out_rebuild = !clean && stored[0] != '\0' && strcmp(stored, current) != 0;
    billord_err err = write_synced(data_dir, BILLORD_BOOT_ID_FILE, current);
    if (err == BILLORD_OK && clean) {
        err = unlink(path) == 0 ? fsync_dir(data_dir) : BILLORD_E_IO;
    }
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s: cannot record the boot id: %s", data_dir,
                 strerror(errno));
    }
    return err;
}

bool billord__snapshot_exists(const char *data_dir)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], path[BILLORD_SNAPSHOT_PATH_BYTES];
    return join(dir, data_dir, BILLORD_SNAPSHOT_DIR) && join(path, dir, BILLORD_SNAPSHOT_FILE) &&
           access(path, F_OK) == 0;
}

billord_err billord__snapshot_take(billord_engine *engine, const char *data_dir, uint64_t *out_lsn)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], path[BILLORD_SNAPSHOT_PATH_BYTES];
    char temp[BILLORD_SNAPSHOT_PATH_BYTES];
    if (!join(dir, data_dir, BILLORD_SNAPSHOT_DIR) || !join(path, dir, BILLORD_SNAPSHOT_FILE) ||
        !join(temp, dir, BILLORD_SNAPSHOT_FILE ".tmp")) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return BILLORD_E_IO;
    }
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return errno == ENOSPC ? BILLORD_E_DISK_FULL : BILLORD_E_IO;
    }
    uint64_t lsn = 0;
    billord_err err = billord_engine_snapshot(engine, fd, &lsn);
    if (err == BILLORD_OK && fsync(fd) != 0) {
        err = errno == ENOSPC ? BILLORD_E_DISK_FULL : BILLORD_E_IO;
    }
    if (close(fd) != 0 && err == BILLORD_OK) {
        err = BILLORD_E_IO;
    }
    if (err == BILLORD_OK && rename(temp, path) != 0) {
        err = BILLORD_E_IO;
    }
    if (err == BILLORD_OK) {
        err = fsync_dir(dir);
    }
    if (err != BILLORD_OK) {
        unlink(temp);
        return err;
    }
    char lsn_text[32];
    snprintf(lsn_text, sizeof lsn_text, "%llu\n", (unsigned long long)lsn);
    err = write_synced(dir, "lsn", lsn_text);
    if (err == BILLORD_OK) {
        *out_lsn = lsn;
    }
    return err;
}

billord_err billord__snapshot_lsn(const char *data_dir, uint64_t *out_lsn)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], path[BILLORD_SNAPSHOT_PATH_BYTES];
    char text[32];
    if (!join(dir, data_dir, BILLORD_SNAPSHOT_DIR) || !join(path, dir, "lsn")) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    read_line(path, text, sizeof text);
    char *end = NULL;
    unsigned long long lsn = strtoull(text, &end, 10);
    if (text[0] == '\0' || end == text || *end != '\0') {
        return BILLORD_E_NOT_FOUND;
    }
    *out_lsn = lsn;
    return BILLORD_OK;
}

static billord_err copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY);
    int out = in >= 0 ? open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    char *buffer = malloc(SNAPSHOT_COPY_CHUNK_BYTES);
    billord_err err = in < 0 || out < 0 || buffer == NULL ? BILLORD_E_IO : BILLORD_OK;
    while (err == BILLORD_OK) {
        ssize_t got = read(in, buffer, SNAPSHOT_COPY_CHUNK_BYTES);
        if (got == 0) {
            break;
        }
        if (got < 0 || write(out, buffer, (size_t)got) != got) {
            err = BILLORD_E_IO;
        }
    }
    if (err == BILLORD_OK && fsync(out) != 0) {
        err = BILLORD_E_IO;
    }
    free(buffer);
    if (in >= 0) {
        close(in);
    }
    if (out >= 0 && close(out) != 0) {
        err = BILLORD_E_IO;
    }
    return err;
}

billord_err billord__snapshot_restore(const char *data_dir, char *error_text,
                                      size_t error_text_bytes)
{
    char dir[BILLORD_SNAPSHOT_PATH_BYTES], snapshot[BILLORD_SNAPSHOT_PATH_BYTES];
    char state[BILLORD_SNAPSHOT_PATH_BYTES], data[BILLORD_SNAPSHOT_PATH_BYTES];
    char lock[BILLORD_SNAPSHOT_PATH_BYTES];
    if (!join(dir, data_dir, BILLORD_SNAPSHOT_DIR) || !join(snapshot, dir, BILLORD_SNAPSHOT_FILE) ||
        !join(state, data_dir, "state") || !join(data, state, "data.mdb") ||
        !join(lock, state, "lock.mdb")) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (access(snapshot, R_OK) != 0) {
        snprintf(error_text, error_text_bytes,
                 "%s: the machine restarted without a clean shutdown, and there is no snapshot "
                 "to rebuild from",
                 data_dir);
        return BILLORD_E_CORRUPT;
    }
    if (mkdir(state, 0755) != 0 && errno != EEXIST) {
        return BILLORD_E_IO;
    }
    unlink(lock);
    billord_err err = copy_file(snapshot, data);
    if (err == BILLORD_OK) {
        err = fsync_dir(state);
    }
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s: restoring the snapshot failed: %s", data,
                 strerror(errno));
    }
    return err;
}

billord_err billord__snapshot_mark_clean(const char *data_dir)
{
    return write_synced(data_dir, BILLORD_CLEAN_FILE, "clean\n");
}
