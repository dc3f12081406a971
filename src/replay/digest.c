/*
 * digest.c: one hash of a data directory's logical state (replay.h).
 *
 * Hashes what the state *is* (every key/value pair of every named database, in key order)
 * rather than the bytes of data.mdb, which depend on page layout, free pages and insertion
 * order. meta's applied_lsn is left out: it says where the state came from in its log, and a
 * replay into a fresh directory keeps no log.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <xxhash.h>

#include <billord/replay.h>

#include "core/assert.h"
#include "replay/replay_internal.h"

#define STATE_PATH_BYTES_MAX 4096u

static const char excluded_meta_key[] = "applied_lsn";

billord_err billord__replay_lmdb_open(const char *data_dir, replay_lmdb *out, char *error_text,
                                      size_t error_text_bytes)
{
    memset(out, 0, sizeof *out);
    char state_path[STATE_PATH_BYTES_MAX];
    char data_path[STATE_PATH_BYTES_MAX];
    struct stat st;
    int written = snprintf(state_path, sizeof state_path, "%s/state", data_dir);
    int data_written = snprintf(data_path, sizeof data_path, "%s/state/data.mdb", data_dir);
    if (written < 0 || (size_t)written >= sizeof state_path || data_written < 0 ||
        (size_t)data_written >= sizeof data_path || stat(data_path, &st) != 0) {
        snprintf(error_text, error_text_bytes, "%s: no store (state/data.mdb) there", data_dir);
        return BILLORD_E_NOT_FOUND;
    }
    int rc = mdb_env_create(&out->env);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(out->env, BILLORD_DB_COUNT);
    }
    /* No map size: LMDB takes the one recorded in the file, the size the writer uses. */
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(out->env, state_path, MDB_RDONLY | MDB_NOTLS, 0644);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_begin(out->env, NULL, MDB_RDONLY, &out->txn);
    }
    for (unsigned db = 0; db < BILLORD_DB_COUNT && rc == MDB_SUCCESS; db++) {
        rc = mdb_dbi_open(out->txn, billord__store_db_name((billord_db_id)db), 0, &out->dbis[db]);
        out->present[db] = rc == MDB_SUCCESS;
        if (rc == MDB_NOTFOUND) {
            rc = MDB_SUCCESS;   /* a store older than this database: it reads as empty */
        }
    }
    if (rc != MDB_SUCCESS) {
        snprintf(error_text, error_text_bytes, "%s: LMDB: %s", state_path, mdb_strerror(rc));
        billord__replay_lmdb_close(out);
        return BILLORD_E_IO;
    }
    return BILLORD_OK;
}

void billord__replay_lmdb_close(replay_lmdb *lmdb)
{
    if (lmdb->txn != NULL) {
        mdb_txn_abort(lmdb->txn);
    }
    if (lmdb->env != NULL) {
        mdb_env_close(lmdb->env);
    }
    memset(lmdb, 0, sizeof *lmdb);
}

static void hash_bytes(XXH3_state_t *state, const void *bytes, size_t bytes_len)
{
    uint8_t length_le[4];
    uint32_t length = (uint32_t)bytes_len;
    for (int i = 0; i < 4; i++) {
        length_le[i] = (uint8_t)(length >> (8 * i));
    }
    /* Length prefixes: ("ab","c") and ("a","bc") must not hash alike. */
    XXH3_128bits_update(state, length_le, sizeof length_le);
    XXH3_128bits_update(state, bytes, bytes_len);
}

static bool excluded(unsigned db, const MDB_val *key)
{
    return db == BILLORD_DB_META && key->mv_size == sizeof excluded_meta_key - 1 &&
           memcmp(key->mv_data, excluded_meta_key, key->mv_size) == 0;
}

static int hash_db(replay_lmdb *lmdb, unsigned db, XXH3_state_t *state, uint64_t *pairs)
{
    const char *name = billord__store_db_name((billord_db_id)db);
    hash_bytes(state, name, strlen(name));
    uint64_t db_pairs = 0;
    int rc = MDB_SUCCESS;
    if (lmdb->present[db]) {
        MDB_cursor *cursor = NULL;
        rc = mdb_cursor_open(lmdb->txn, lmdb->dbis[db], &cursor);
        MDB_val key, value;
        for (MDB_cursor_op op = MDB_FIRST; rc == MDB_SUCCESS; op = MDB_NEXT) {
            rc = mdb_cursor_get(cursor, &key, &value, op);
            if (rc == MDB_SUCCESS && !excluded(db, &key)) {
                hash_bytes(state, key.mv_data, key.mv_size);
                hash_bytes(state, value.mv_data, value.mv_size);
                db_pairs++;
            }
        }
        mdb_cursor_close(cursor);
        rc = rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }
    XXH3_128bits_update(state, &db_pairs, sizeof db_pairs);
    *pairs += db_pairs;
    return rc;
}

billord_err billord_replay_digest(const char *data_dir, char out_hex[BILLORD_DIGEST_HEX_BYTES + 1],
                                  uint64_t *out_pairs, char *error_text, size_t error_text_bytes)
{
    BILLORD_ASSERT(data_dir != NULL && out_hex != NULL);
    replay_lmdb lmdb;
    billord_err err = billord__replay_lmdb_open(data_dir, &lmdb, error_text, error_text_bytes);
    if (err != BILLORD_OK) {
        return err;
    }
    XXH3_state_t *state = XXH3_createState();
    if (state == NULL) {
        billord__replay_lmdb_close(&lmdb);
        return BILLORD_E_NOMEM;
    }
    XXH3_128bits_reset(state);
    uint64_t pairs = 0;
    int rc = MDB_SUCCESS;
    for (unsigned db = 0; db < BILLORD_DB_COUNT && rc == MDB_SUCCESS; db++) {
        rc = hash_db(&lmdb, db, state, &pairs);
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
    XXH3_freeState(state);
    billord__replay_lmdb_close(&lmdb);
    if (rc != MDB_SUCCESS) {
        snprintf(error_text, error_text_bytes, "%s/state: LMDB: %s", data_dir, mdb_strerror(rc));
        return BILLORD_E_IO;
    }
    for (size_t i = 0; i < sizeof canonical.digest; i++) {
        snprintf(out_hex + 2 * i, 3, "%02x", canonical.digest[i]);
    }
    if (out_pairs != NULL) {
        *out_pairs = pairs;
    }
    return BILLORD_OK;
}
