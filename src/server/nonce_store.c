/*
 * nonce_store.c: accepted signature nonces in memory and in DATA_DIR/nonces.log
 * (format and promise in nonce_store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/assert.h"
#include "server/nonce_store.h"
#include "server/server_internal.h"

#define WRITE_ATTEMPTS_MAX 64u
#define READ_CHUNK_RECORDS 4096u

struct server_nonce_store {
    pthread_mutex_t mutex;
    billord_nonce_guard *guard;
    uint32_t capacity;
    int fd;                         /* nonces.log, O_APPEND */
    uint64_t records_in_file;
    char log_path[SERVER_PATH_BYTES];
    char tmp_path[SERVER_PATH_BYTES];
    bool failed;                    /* the log could not be written: refuse (FULL) */
    uint32_t dropped_at_open;       /* unexpired nonces of the log that did not fit */
};

static bool write_all(int fd, const void *bytes, size_t bytes_len)
{
    const uint8_t *cursor = bytes;
    size_t written_bytes = 0;
    for (uint32_t attempt = 0; attempt < WRITE_ATTEMPTS_MAX && written_bytes < bytes_len;
         attempt++) {
        ssize_t result = write(fd, cursor + written_bytes, bytes_len - written_bytes);
        if (result < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        written_bytes += (size_t)result;
    }
    return written_bytes == bytes_len;
}

static void record_encode(const uint8_t digest[BILLORD_NONCE_DIGEST_BYTES], int64_t expiry_ms,
                          uint8_t out[SERVER_NONCE_RECORD_BYTES])
{
    memcpy(out, digest, BILLORD_NONCE_DIGEST_BYTES);
    uint64_t value = (uint64_t)expiry_ms;
    for (uint32_t i = 0; i < 8; i++) {
        out[BILLORD_NONCE_DIGEST_BYTES + i] = (uint8_t)(value >> (8 * i));
    }
}

static int64_t record_expiry(const uint8_t record[SERVER_NONCE_RECORD_BYTES])
{
    uint64_t value = 0;
    for (uint32_t i = 0; i < 8; i++) {
        value |= (uint64_t)record[BILLORD_NONCE_DIGEST_BYTES + i] << (8 * i);
    }
    return (int64_t)value;
}

/* ---- boot id ---------------------------------------------------------------------------- */

static size_t read_small_file(const char *path, char *out, size_t out_bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t got = read(fd, out, out_bytes - 1);
    close(fd);
    if (got <= 0) {
        return 0;
    }
    size_t length = (size_t)got;
    while (length > 0 && (out[length - 1] == '\n' || out[length - 1] == ' ')) {
        length--;
    }
    out[length] = '\0';
    return length;
}

/* Compare the machine's boot id with the stored one and store the machine's. */
static billord_err boot_id_check(const char *data_dir, bool log_exists, bool *out_changed,
                                 char *error_text, size_t error_text_bytes)
{
    char machine[SERVER_BOOT_ID_BYTES_MAX + 1];
    char stored[SERVER_BOOT_ID_BYTES_MAX + 1];
    char path[SERVER_PATH_BYTES];
    char tmp_path[SERVER_PATH_BYTES];
    if (read_small_file(SERVER_BOOT_ID_PATH, machine, sizeof machine) == 0) {
        /* No boot id to compare with: assume the worst, as after a reboot. */
        snprintf(machine, sizeof machine, "unknown");
    }
    snprintf(path, sizeof path, "%s/%s", data_dir, SERVER_BOOT_ID_NAME);
    snprintf(tmp_path, sizeof tmp_path, "%s/%s.tmp", data_dir, SERVER_BOOT_ID_NAME);
    size_t stored_bytes = read_small_file(path, stored, sizeof stored);
    if (stored_bytes == 0) {
        *out_changed = log_exists;
    } else {
        *out_changed = strcmp(stored, machine) != 0 || strcmp(machine, "unknown") == 0;
    }
    if (stored_bytes != 0 && strcmp(stored, machine) == 0) {
        return BILLORD_OK;
    }
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, machine, strlen(machine)) && write_all(fd, "\n", 1) &&
              fsync(fd) == 0;
    if (fd >= 0) {
        close(fd);
    }
    if (!ok || rename(tmp_path, path) != 0) {
        snprintf(error_text, error_text_bytes, "%s: cannot write: %s", path, strerror(errno));
        return BILLORD_E_IO;
    }
    return BILLORD_OK;
}

/* ---- the log ---------------------------------------------------------------------------- */

/* Read every whole record of the log into the guard (unexpired ones only). */
static billord_err reload(server_nonce_store *store, int64_t now_ms, uint32_t *out_reloaded)
{
    int fd = open(store->log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? BILLORD_OK : BILLORD_E_IO;
    }
    uint8_t *chunk = malloc((size_t)READ_CHUNK_RECORDS * SERVER_NONCE_RECORD_BYTES);
    if (chunk == NULL) {
        close(fd);
        return BILLORD_E_NOMEM;
    }
    uint32_t reloaded = 0;
    billord_err err = BILLORD_OK;
    for (;;) {
        ssize_t got = read(fd, chunk, (size_t)READ_CHUNK_RECORDS * SERVER_NONCE_RECORD_BYTES);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            err = BILLORD_E_IO;
            break;
        }
        /* A partial record can only be the torn tail of the last write: ignore it. */
        size_t records = (size_t)got / SERVER_NONCE_RECORD_BYTES;
        for (size_t i = 0; i < records; i++) {
            const uint8_t *record = chunk + i * SERVER_NONCE_RECORD_BYTES;
            int64_t expiry_ms = record_expiry(record);
            if (expiry_ms <= now_ms) {
                continue;
            }
            billord_nonce_result result =
                billord_nonce_guard_insert_digest(store->guard, record, expiry_ms, now_ms);
            reloaded += result == BILLORD_NONCE_ACCEPTED;
            store->dropped_at_open += result == BILLORD_NONCE_FULL;
        }
        if ((size_t)got < (size_t)READ_CHUNK_RECORDS * SERVER_NONCE_RECORD_BYTES) {
            break;
        }
    }
    free(chunk);
    close(fd);
    *out_reloaded = reloaded;
    return err;
}

/* Rewrite the log with the guard's entries, then reopen it for appending. Caller locks. */
static billord_err compact(server_nonce_store *store)
{
    int fd = open(store->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return BILLORD_E_IO;
    }
    uint32_t count = billord_nonce_guard_count(store->guard);
    bool ok = true;
    for (uint32_t i = 0; i < count && ok; i++) {
        uint8_t digest[BILLORD_NONCE_DIGEST_BYTES];
        int64_t expiry_ms = 0;
        BILLORD_ASSERT(billord_nonce_guard_entry(store->guard, i, digest, &expiry_ms) ==
                       BILLORD_OK);
        uint8_t record[SERVER_NONCE_RECORD_BYTES];
        record_encode(digest, expiry_ms, record);
        ok = write_all(fd, record, sizeof record);
    }
    close(fd);
    if (!ok || rename(store->tmp_path, store->log_path) != 0) {
        return BILLORD_E_IO;
    }
    int append_fd = open(store->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (append_fd < 0) {
        return BILLORD_E_IO;
    }
    if (store->fd >= 0) {
        close(store->fd);
    }
    store->fd = append_fd;
    store->records_in_file = count;
    return BILLORD_OK;
}

billord_err billord__nonce_store_open(const char *data_dir, uint32_t capacity, int64_t now_ms,
                                      server_nonce_store **out_store, bool *out_boot_changed,
                                      uint32_t *out_reloaded, char *error_text,
                                      size_t error_text_bytes)
{
    BILLORD_ASSERT(data_dir != NULL);
    BILLORD_ASSERT(out_store != NULL);
    server_nonce_store *store = calloc(1, sizeof *store);
    if (store == NULL) {
        return BILLORD_E_NOMEM;
    }
    store->fd = -1;
    store->capacity = capacity;
    snprintf(store->log_path, sizeof store->log_path, "%s/%s", data_dir, SERVER_NONCE_LOG_NAME);
    snprintf(store->tmp_path, sizeof store->tmp_path, "%s/%s.tmp", data_dir,
             SERVER_NONCE_LOG_NAME);
    pthread_mutex_init(&store->mutex, NULL);
    uint64_t seed = 0;
    (void)billord__server_random((uint8_t *)&seed, sizeof seed);
    billord_err err = billord_nonce_guard_create(capacity, seed, &store->guard);
    if (err != BILLORD_OK) {
        billord__nonce_store_close(store);
        return err;
    }
    struct stat st;
    bool log_exists = stat(store->log_path, &st) == 0;
    bool boot_changed = false;
    err = boot_id_check(data_dir, log_exists, &boot_changed, error_text, error_text_bytes);
    uint32_t reloaded = 0;
    if (err == BILLORD_OK) {
        err = reload(store, now_ms, &reloaded);
        if (err == BILLORD_OK) {
            err = compact(store);
        }
        if (err != BILLORD_OK) {
            snprintf(error_text, error_text_bytes, "%s: %s", store->log_path,
                     billord_err_message(err));
        }
    }
    if (err != BILLORD_OK) {
        billord__nonce_store_close(store);
        return err;
    }
    *out_boot_changed = boot_changed;
    *out_reloaded = reloaded;
    *out_store = store;
    return BILLORD_OK;
}

billord_nonce_result billord__nonce_store_check(server_nonce_store *store, const char *nonce,
                                                size_t nonce_bytes, int64_t expiry_ms,
                                                int64_t now_ms)
{
    BILLORD_ASSERT(store != NULL);
    uint8_t digest[BILLORD_NONCE_DIGEST_BYTES];
    billord_nonce_digest(nonce, nonce_bytes, digest);
    pthread_mutex_lock(&store->mutex);
    billord_nonce_result result = BILLORD_NONCE_FULL;
    if (!store->failed) {
        result = billord_nonce_guard_insert_digest(store->guard, digest, expiry_ms, now_ms);
    }
    if (result == BILLORD_NONCE_ACCEPTED) {
        uint8_t record[SERVER_NONCE_RECORD_BYTES];
        record_encode(digest, expiry_ms, record);
        /* An unrecorded nonce could be replayed after a restart: a failed write makes the
         * store refuse every later nonce (the server answers ServiceUnavailable). */
        if (!write_all(store->fd, record, sizeof record)) {
            store->failed = true;
            result = BILLORD_NONCE_FULL;
        }
        store->records_in_file++;
        if (store->records_in_file >= 2ull * store->capacity && compact(store) != BILLORD_OK) {
            store->failed = true;
        }
    }
    pthread_mutex_unlock(&store->mutex);
    return result;
}

void billord__nonce_store_close(server_nonce_store *store)
{
    if (store == NULL) {
        return;
    }
    if (store->fd >= 0) {
        close(store->fd);
    }
    billord_nonce_guard_destroy(store->guard);
    pthread_mutex_destroy(&store->mutex);
    free(store);
}

uint32_t billord__nonce_store_dropped_at_open(const server_nonce_store *store)
{
    BILLORD_ASSERT(store != NULL);
    return store->dropped_at_open;
}
