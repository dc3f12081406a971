/*
 * store.h: the LMDB environment and typed get/put of every record
 * (docs/store-layout.md). Internal to the library.
 *
 * Threads: one billord_store is shared by all threads. Write transactions and every
 * put belong to the single writer (the encode buffer is the writer's); gets may run in
 * read transactions on any thread.
 */
#ifndef BILLORD_STORE_STORE_H
#define BILLORD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <msgpack.h>

#include <billord/error.h>
#include <billord/model.h>

#include "store/codec.h"

#define BILLORD_SCHEMA_VERSION 1u
#define BILLORD_STORE_READERS_MAX 256u
#define BILLORD_STORE_KEY_BYTES_MAX 256u
#define BILLORD_COUPONS_PER_ACCOUNT_MAX 256u

typedef enum billord_db_id {
    BILLORD_DB_META = 0,
    BILLORD_DB_ACCOUNTS,
    BILLORD_DB_ACCESS_KEYS,
    BILLORD_DB_COUPONS,
    BILLORD_DB_PRICES,
    BILLORD_DB_INSTANCES,
    BILLORD_DB_ORDERS,
    BILLORD_DB_ACCOUNT_ORDERS,
    BILLORD_DB_INSTANCE_ORDERS,
    BILLORD_DB_TOKENS,
    BILLORD_DB_TOKEN_EXPIRY,
    BILLORD_DB_SCHEDULE,
    BILLORD_DB_OUTBOX,
    BILLORD_DB_COUNT
} billord_db_id;

typedef struct billord_store {
    MDB_env *env;
    MDB_dbi dbis[BILLORD_DB_COUNT];
    msgpack_sbuffer encode_buffer;          /* the writer's */
    uint64_t put_count;                     /* the writer's: puts and deletes so far */
} billord_store;

/** Name of a db (for tools). */
const char *billord__store_db_name(billord_db_id db);

/**
 * Open (or create) the environment in dir_path (a directory that exists).
 * lmdb_flags: extra mdb_env_open flags (MDB_NOMETASYNC, MDB_NOSYNC or 0).
 * @return BILLORD_OK, BILLORD_E_IO, BILLORD_E_SCHEMA, BILLORD_E_NOMEM.
 */
billord_err billord__store_open(const char *dir_path, uint64_t map_bytes, unsigned lmdb_flags,
                                billord_store **out_store);
void billord__store_close(billord_store *store);

/** Map an LMDB return code to billord_err (MDB_MAP_FULL -> BILLORD_E_MAP_FULL, ...). */
billord_err billord__store_err(int mdb_rc);

billord_err billord__store_begin(billord_store *store, MDB_txn *parent, bool read_only,
                                 MDB_txn **out_txn);

/* True when the store holds no account, instance, order or price. */
billord_err billord__store_is_empty(billord_store *store, MDB_txn *txn, bool *out_empty);

/* meta */
billord_err billord__store_meta_get_u64(billord_store *store, MDB_txn *txn, const char *name,
                                        uint64_t *out);
billord_err billord__store_meta_put_u64(billord_store *store, MDB_txn *txn, const char *name,
                                        uint64_t value);
billord_err billord__store_meta_get_i64(billord_store *store, MDB_txn *txn, const char *name,
                                        int64_t *out);
billord_err billord__store_meta_put_i64(billord_store *store, MDB_txn *txn, const char *name,
                                        int64_t value);

/* Each get returns BILLORD_OK, BILLORD_E_NOT_FOUND, BILLORD_E_CORRUPT, BILLORD_E_IO or
 * BILLORD_E_NOMEM. */
billord_err billord__store_account_get(billord_store *store, MDB_txn *txn, const char *id,
                                       billord_account *out);
billord_err billord__store_account_put(billord_store *store, MDB_txn *txn,
                                       const billord_account *account);
billord_err billord__store_access_key_get(billord_store *store, MDB_txn *txn, const char *key_id,
                                          billord_access_key_record *out);
billord_err billord__store_access_key_put(billord_store *store, MDB_txn *txn, const char *key_id,
                                          const billord_access_key_record *key);
billord_err billord__store_coupon_put(billord_store *store, MDB_txn *txn,
                                      const billord_coupon *coupon);
/** All coupons of account, in coupon-id order; at most capacity (else BILLORD_E_TOO_LARGE). */
billord_err billord__store_coupons_of_account(billord_store *store, MDB_txn *txn,
                                              const char *account, billord_coupon *out,
                                              size_t capacity, size_t *out_count);
billord_err billord__store_price_get(billord_store *store, MDB_txn *txn, billord_product product,
                                     const char *instance_type, billord_price *out);
billord_err billord__store_price_put(billord_store *store, MDB_txn *txn,
                                     const billord_price *price);
billord_err billord__store_instance_get(billord_store *store, MDB_txn *txn, const char *id,
                                        billord_instance *out);
billord_err billord__store_instance_put(billord_store *store, MDB_txn *txn,
                                        const billord_instance *instance);
billord_err billord__store_order_get(billord_store *store, MDB_txn *txn, uint64_t id,
                                     billord_order *out);
/** Put an order; with is_new, also its account_orders and instance_orders index rows. */
billord_err billord__store_order_put(billord_store *store, MDB_txn *txn,
                                     const billord_order *order, bool is_new);
billord_err billord__store_token_get(billord_store *store, MDB_txn *txn, const char *account,
                                     const char *token, billord_token_record *out);
/** Put a new token record and its token_expiry index row. */
billord_err billord__store_token_put(billord_store *store, MDB_txn *txn, const char *account,
                                     const char *token, const billord_token_record *record);
/** Delete up to max_count tokens created before cutoff_ms, oldest first. */
billord_err billord__store_tokens_prune(billord_store *store, MDB_txn *txn, int64_t cutoff_ms,
                                        uint32_t max_count, uint32_t *out_pruned);

/* schedule: one row (due_ms, instance id) per instance with a next lifecycle step. */
billord_err billord__store_schedule_put(billord_store *store, MDB_txn *txn, int64_t due_ms,
                                        const char *instance_id);
billord_err billord__store_schedule_del(billord_store *store, MDB_txn *txn, int64_t due_ms,
                                        const char *instance_id);
/** Up to max_count instance ids due at or before now_ms, earliest first; *out_more says
 *  whether more due rows follow. ids: max_count slots of BILLORD_INSTANCE_ID_BYTES_MAX + 1. */
billord_err billord__store_schedule_due(billord_store *store, MDB_txn *txn, int64_t now_ms,
                                        uint32_t max_count,
                                        char (*ids)[BILLORD_INSTANCE_ID_BYTES_MAX + 1],
                                        uint32_t *out_count, bool *out_more);

/* outbox */
billord_err billord__store_event_put(billord_store *store, MDB_txn *txn, const billord_event *event);
/** Events with seq > after_seq, in order, at most max_count; visit returns false to stop. */
typedef bool (*billord_event_visit)(const billord_event *event, void *ctx);
billord_err billord__store_events(billord_store *store, MDB_txn *txn, uint64_t after_seq,
                                  uint32_t max_count, billord_event_visit visit, void *ctx);

/**
 * Visit the order ids of an account (or of an instance, when instance != NULL), in
 * increasing id order. visit returns false to stop.
 */
typedef bool (*billord_order_id_visit)(uint64_t order_id, void *ctx);
billord_err billord__store_order_ids(billord_store *store, MDB_txn *txn, const char *account,
                                     const char *instance, billord_order_id_visit visit,
                                     void *ctx);

/* Key helpers (also used by tools). */
size_t billord__key_pair(uint8_t *out, size_t capacity, const char *first, const char *second);
void billord__be64_put(uint8_t *out, uint64_t value);
uint64_t billord__be64_get(const uint8_t *in);

#endif
