/*
 * faulty_lmdb.h: LMDB calls that fail on command (tests only).
 *
 * A test that calls any function declared here links faulty_lmdb.c, which defines the
 * LMDB entry points billord uses (mdb_put, mdb_txn_commit, ...). The executable's
 * definitions win over liblmdb's, so the library code under test calls these; each
 * forwards to liblmdb (dlsym RTLD_NEXT) unless a fault is armed for it. Calls LMDB makes
 * to itself (mdb_env_copyfd2 begins a read transaction) pass through uncounted.
 *
 * A fault: the Nth counted call (1-based, over the operations in a mask) returns the
 * given LMDB code (MDB_MAP_FULL, MDB_CORRUPTED, EIO, ...) without doing its work, once or
 * persistently (every later counted call fails too). A failed mdb_txn_commit aborts the
 * transaction first, as LMDB's own failing commit does; a failed mdb_txn_begin or
 * mdb_cursor_open leaves its out pointer NULL.
 *
 * Process-wide and thread-safe: the db writer thread calls LMDB too.
 */
#ifndef BILLORD_TESTS_FAULTY_LMDB_H
#define BILLORD_TESTS_FAULTY_LMDB_H

#include <stdbool.h>
#include <stdint.h>

typedef enum faulty_lmdb_op {
    FAULTY_LMDB_ENV_OPEN = 0,
    FAULTY_LMDB_ENV_SYNC,
    FAULTY_LMDB_ENV_COPY,        /* mdb_env_copyfd2 */
    FAULTY_LMDB_ENV_SET_MAPSIZE,
    FAULTY_LMDB_DBI_OPEN,
    FAULTY_LMDB_TXN_BEGIN,
    FAULTY_LMDB_TXN_COMMIT,
    FAULTY_LMDB_GET,
    FAULTY_LMDB_PUT,
    FAULTY_LMDB_DEL,
    FAULTY_LMDB_CURSOR_OPEN,
    FAULTY_LMDB_CURSOR_GET,
    FAULTY_LMDB_CURSOR_DEL,
    FAULTY_LMDB_STAT,
    FAULTY_LMDB_OP_COUNT
} faulty_lmdb_op;

#define FAULTY_LMDB_MASK(op) (1u << (op))
#define FAULTY_LMDB_MASK_ALL ((1u << FAULTY_LMDB_OP_COUNT) - 1u)

/** Fail the call_index-th counted call (0: disarm) of the ops in op_mask with mdb_rc.
 *  Arming resets the call and failure counts. */
void faulty_lmdb_fail_at(uint64_t call_index, uint32_t op_mask, int mdb_rc, bool persistent);
/** Disarm: every call goes to LMDB again. */
void faulty_lmdb_reset(void);
/** Counted calls (ops in the armed mask) since arming. */
uint64_t faulty_lmdb_calls(void);
/** Failures injected since arming. */
uint64_t faulty_lmdb_failures(void);
/** Count the ops in op_mask without failing any (to learn how many calls a step makes). */
void faulty_lmdb_count(uint32_t op_mask);

#endif
