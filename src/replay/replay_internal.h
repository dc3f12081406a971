/* replay_internal.h: read-only access to a data directory's LMDB for digest and verify. */
#ifndef BILLORD_REPLAY_INTERNAL_H
#define BILLORD_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <lmdb.h>

#include <billord/error.h>

#include "store/store.h"

/* One read transaction over every named database (absent ones read as empty). */
typedef struct replay_lmdb {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbis[BILLORD_DB_COUNT];
    bool present[BILLORD_DB_COUNT];
} replay_lmdb;

/**
 * Open DATA_DIR/state read-only (MDB_RDONLY: safe beside a running server) and begin one
 * read transaction, so everything read is one consistent snapshot.
 * @return BILLORD_OK, BILLORD_E_NOT_FOUND (no store there), BILLORD_E_IO.
 */
billord_err billord__replay_lmdb_open(const char *data_dir, replay_lmdb *out, char *error_text,
                                      size_t error_text_bytes);
void billord__replay_lmdb_close(replay_lmdb *lmdb);

#endif
