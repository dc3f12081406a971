/*
 * nonce_store.h: the signature nonces a server has accepted, kept across restarts.
 *
 * In memory a billord_nonce_guard (billord/http_sign.h) answers "seen before?". Each
 * accepted nonce is also appended to DATA_DIR/nonces.log as one fixed-size record:
 *
 *   offset  size  field
 *        0    16  digest      billord_nonce_digest() of the nonce
 *       16     8  expiry_ms   little-endian int64; the nonce matters until then
 *
 * with one plain write() and no fsync: a killed process loses nothing (the kernel has
 * the bytes), an OS crash may lose the tail. Opening reloads the unexpired records (a
 * torn last record is ignored) and rewrites the file with only those; the file is also
 * compacted the same way once it holds twice the guard's capacity.
 *
 * The machine's boot id is kept in DATA_DIR/boot_id. When it differs at open (or is
 * missing while nonces.log exists), an OS crash may have dropped nonces, and open
 * reports it: the server then refuses requests signed before it started.
 *
 * Threads: check may be called from any thread (a mutex serialises it).
 */
#ifndef BILLORD_SERVER_NONCE_STORE_H
#define BILLORD_SERVER_NONCE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/http_sign.h>

#define SERVER_NONCE_LOG_NAME "nonces.log"
#define SERVER_BOOT_ID_NAME "boot_id"
#define SERVER_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define SERVER_BOOT_ID_BYTES_MAX 64u
#define SERVER_NONCE_RECORD_BYTES (BILLORD_NONCE_DIGEST_BYTES + 8u)
#define SERVER_PATH_BYTES 4096u

typedef struct server_nonce_store server_nonce_store;

/**
 * Open (creating) the nonce log of data_dir and reload it.
 * @param[out] out_boot_changed  true when the machine rebooted since the last run.
 * @param[out] out_reloaded      nonces still unexpired at now_ms, now remembered again.
 * @return BILLORD_OK, BILLORD_E_IO (error_text names the file), BILLORD_E_NOMEM.
 */
billord_err billord__nonce_store_open(const char *data_dir, uint32_t capacity, int64_t now_ms,
                                      server_nonce_store **out_store, bool *out_boot_changed,
                                      uint32_t *out_reloaded, char *error_text,
                                      size_t error_text_bytes);

/**
 * Remember nonce until expiry_ms if it is new (appending it to the log).
 * @return BILLORD_NONCE_ACCEPTED, ..._REPLAYED, ..._FULL.
 */
billord_nonce_result billord__nonce_store_check(server_nonce_store *store, const char *nonce,
                                                size_t nonce_bytes, int64_t expiry_ms,
                                                int64_t now_ms);

/** Close the log and free the store. NULL is allowed. */
/** Unexpired nonces of the log that open could not remember (a capacity smaller than the
 *  last run's): the server must then refuse every request signed before it started. */
uint32_t billord__nonce_store_dropped_at_open(const server_nonce_store *store);

void billord__nonce_store_close(server_nonce_store *store);

#endif
