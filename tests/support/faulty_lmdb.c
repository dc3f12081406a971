/* faulty_lmdb.c: LMDB entry points that fail on command (faulty_lmdb.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <lmdb.h>

#include "support/faulty_lmdb.h"

static pthread_mutex_t faulty_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t faulty_fail_at_call;
static uint32_t faulty_op_mask;
static int faulty_rc;
static bool faulty_persistent;
static uint64_t faulty_call_count;
static uint64_t faulty_failure_count;
/* Depth of interposed calls on this thread: LMDB calling itself passes through. */
static _Thread_local int faulty_depth;

void faulty_lmdb_fail_at(uint64_t call_index, uint32_t op_mask, int mdb_rc, bool persistent)
{
    pthread_mutex_lock(&faulty_mutex);
    faulty_fail_at_call = call_index;
    faulty_op_mask = call_index == 0 ? 0u : op_mask;
    faulty_rc = mdb_rc;
    faulty_persistent = persistent;
    faulty_call_count = 0;
    faulty_failure_count = 0;
    pthread_mutex_unlock(&faulty_mutex);
}

void faulty_lmdb_reset(void)
{
    faulty_lmdb_fail_at(0, 0, 0, false);
}

void faulty_lmdb_count(uint32_t op_mask)
{
    faulty_lmdb_fail_at(0, 0, 0, false);
    pthread_mutex_lock(&faulty_mutex);
    faulty_op_mask = op_mask;
    pthread_mutex_unlock(&faulty_mutex);
}

uint64_t faulty_lmdb_calls(void)
{
    pthread_mutex_lock(&faulty_mutex);
    uint64_t count = faulty_call_count;
    pthread_mutex_unlock(&faulty_mutex);
    return count;
}

uint64_t faulty_lmdb_failures(void)
{
    pthread_mutex_lock(&faulty_mutex);
    uint64_t count = faulty_failure_count;
    pthread_mutex_unlock(&faulty_mutex);
    return count;
}

/* The LMDB code this call returns instead of doing its work, or 0 to pass it on. */
static int injected_rc(faulty_lmdb_op op)
{
    if (faulty_depth > 0) {
        return 0;
    }
    int rc = 0;
    pthread_mutex_lock(&faulty_mutex);
    if ((faulty_op_mask & FAULTY_LMDB_MASK(op)) != 0) {
        faulty_call_count++;
        if (faulty_fail_at_call != 0
            && (faulty_call_count == faulty_fail_at_call
                || (faulty_persistent && faulty_call_count > faulty_fail_at_call))) {
            faulty_failure_count++;
            rc = faulty_rc;
        }
    }
    pthread_mutex_unlock(&faulty_mutex);
    return rc;
}

static void *real_symbol(const char *name)
{
    void *symbol = dlsym(RTLD_NEXT, name);
    if (symbol == NULL) {
        fprintf(stderr, "faulty_lmdb: %s not found: %s\n", name, dlerror());
        abort();
    }
    return symbol;
}

/* Forward to liblmdb's function of the same name, with the depth guard held. */
#define FAULTY_FORWARD(type, name, ...)                                                  \
    do {                                                                                 \
        static void *real_address;                                                       \
        void *address = __atomic_load_n(&real_address, __ATOMIC_ACQUIRE);               \
        if (address == NULL) {                                                           \
            address = real_symbol(#name);                                                \
            __atomic_store_n(&real_address, address, __ATOMIC_RELEASE);                  \
        }                                                                                \
        type real;                                                                       \
        *(void **)&real = address;                                                       \
        faulty_depth++;                                                                  \
        int forwarded_rc = real(__VA_ARGS__);                                            \
        faulty_depth--;                                                                  \
        return forwarded_rc;                                                             \
    } while (0)

typedef int (*env_open_fn)(MDB_env *, const char *, unsigned int, mdb_mode_t);
int mdb_env_open(MDB_env *env, const char *path, unsigned int flags, mdb_mode_t mode)
{
    int rc = injected_rc(FAULTY_LMDB_ENV_OPEN);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(env_open_fn, mdb_env_open, env, path, flags, mode);
}

typedef int (*env_sync_fn)(MDB_env *, int);
int mdb_env_sync(MDB_env *env, int force)
{
    int rc = injected_rc(FAULTY_LMDB_ENV_SYNC);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(env_sync_fn, mdb_env_sync, env, force);
}

typedef int (*env_copyfd2_fn)(MDB_env *, mdb_filehandle_t, unsigned int);
int mdb_env_copyfd2(MDB_env *env, mdb_filehandle_t fd, unsigned int flags)
{
    int rc = injected_rc(FAULTY_LMDB_ENV_COPY);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(env_copyfd2_fn, mdb_env_copyfd2, env, fd, flags);
}

typedef int (*env_set_mapsize_fn)(MDB_env *, size_t);
int mdb_env_set_mapsize(MDB_env *env, size_t size)
{
    int rc = injected_rc(FAULTY_LMDB_ENV_SET_MAPSIZE);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(env_set_mapsize_fn, mdb_env_set_mapsize, env, size);
}

typedef int (*dbi_open_fn)(MDB_txn *, const char *, unsigned int, MDB_dbi *);
int mdb_dbi_open(MDB_txn *txn, const char *name, unsigned int flags, MDB_dbi *dbi)
{
    int rc = injected_rc(FAULTY_LMDB_DBI_OPEN);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(dbi_open_fn, mdb_dbi_open, txn, name, flags, dbi);
}

typedef int (*txn_begin_fn)(MDB_env *, MDB_txn *, unsigned int, MDB_txn **);
int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags, MDB_txn **txn)
{
    int rc = injected_rc(FAULTY_LMDB_TXN_BEGIN);
    if (rc != 0) {
        *txn = NULL;
        return rc;
    }
    FAULTY_FORWARD(txn_begin_fn, mdb_txn_begin, env, parent, flags, txn);
}

typedef int (*txn_commit_fn)(MDB_txn *);
int mdb_txn_commit(MDB_txn *txn)
{
    int rc = injected_rc(FAULTY_LMDB_TXN_COMMIT);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    FAULTY_FORWARD(txn_commit_fn, mdb_txn_commit, txn);
}

typedef int (*get_fn)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);
int mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    int rc = injected_rc(FAULTY_LMDB_GET);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(get_fn, mdb_get, txn, dbi, key, data);
}

typedef int (*put_fn)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned int);
int mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned int flags)
{
    int rc = injected_rc(FAULTY_LMDB_PUT);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(put_fn, mdb_put, txn, dbi, key, data, flags);
}

typedef int (*del_fn)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *);
int mdb_del(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    int rc = injected_rc(FAULTY_LMDB_DEL);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(del_fn, mdb_del, txn, dbi, key, data);
}

typedef int (*cursor_open_fn)(MDB_txn *, MDB_dbi, MDB_cursor **);
int mdb_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cursor)
{
    int rc = injected_rc(FAULTY_LMDB_CURSOR_OPEN);
    if (rc != 0) {
        *cursor = NULL;
        return rc;
    }
    FAULTY_FORWARD(cursor_open_fn, mdb_cursor_open, txn, dbi, cursor);
}

typedef int (*cursor_get_fn)(MDB_cursor *, MDB_val *, MDB_val *, MDB_cursor_op);
int mdb_cursor_get(MDB_cursor *cursor, MDB_val *key, MDB_val *data, MDB_cursor_op op)
{
    int rc = injected_rc(FAULTY_LMDB_CURSOR_GET);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(cursor_get_fn, mdb_cursor_get, cursor, key, data, op);
}

typedef int (*cursor_del_fn)(MDB_cursor *, unsigned int);
int mdb_cursor_del(MDB_cursor *cursor, unsigned int flags)
{
    int rc = injected_rc(FAULTY_LMDB_CURSOR_DEL);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(cursor_del_fn, mdb_cursor_del, cursor, flags);
}

typedef int (*stat_fn)(MDB_txn *, MDB_dbi, MDB_stat *);
int mdb_stat(MDB_txn *txn, MDB_dbi dbi, MDB_stat *stat)
{
    int rc = injected_rc(FAULTY_LMDB_STAT);
    if (rc != 0) {
        return rc;
    }
    FAULTY_FORWARD(stat_fn, mdb_stat, txn, dbi, stat);
}
