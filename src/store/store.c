/*
 * store.c: the LMDB environment of billord and typed accessors of its records.
 *
 * Promise: a record read back is either exactly what was written or an error
 * (BILLORD_E_CORRUPT); nothing is guessed. Every put encodes through codec.c into the
 * writer's one reusable buffer, so the write path allocates nothing per record once warm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/assert.h"
#include "store/store.h"

static const char *const db_names[BILLORD_DB_COUNT] = {
    [BILLORD_DB_META] = "meta",
    [BILLORD_DB_ACCOUNTS] = "accounts",
    [BILLORD_DB_ACCESS_KEYS] = "access_keys",
    [BILLORD_DB_COUPONS] = "coupons",
    [BILLORD_DB_PRICES] = "prices",
    [BILLORD_DB_INSTANCES] = "instances",
    [BILLORD_DB_ORDERS] = "orders",
    [BILLORD_DB_ACCOUNT_ORDERS] = "account_orders",
    [BILLORD_DB_INSTANCE_ORDERS] = "instance_orders",
    [BILLORD_DB_TOKENS] = "tokens",
    [BILLORD_DB_TOKEN_EXPIRY] = "token_expiry",
    [BILLORD_DB_SCHEDULE] = "schedule",
    [BILLORD_DB_OUTBOX] = "outbox",
};

const char *billord__store_db_name(billord_db_id db)
{
    return (unsigned)db < BILLORD_DB_COUNT ? db_names[db] : "unknown";
}

billord_err billord__store_err(int mdb_rc)
{
    switch (mdb_rc) {
    case MDB_SUCCESS:
        return BILLORD_OK;
    case MDB_NOTFOUND:
        return BILLORD_E_NOT_FOUND;
    case MDB_KEYEXIST:
        return BILLORD_E_EXISTS;
    case MDB_MAP_FULL:
        return BILLORD_E_MAP_FULL;
    case ENOSPC:
        return BILLORD_E_DISK_FULL;
    case ENOMEM:
        return BILLORD_E_NOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return BILLORD_E_CORRUPT;
    default:
        return BILLORD_E_IO;
    }
}

/* ---- key helpers ------------------------------------------------------------------ */

void billord__be64_put(uint8_t *out, uint64_t value)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(value & 0xffu);
        value >>= 8;
    }
}

uint64_t billord__be64_get(const uint8_t *in)
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) {
        value = (value << 8) | in[i];
    }
    return value;
}

size_t billord__key_pair(uint8_t *out, size_t capacity, const char *first, const char *second)
{
    size_t first_bytes = strlen(first);
    size_t second_bytes = strlen(second);
    BILLORD_ASSERT(first_bytes + 1 + second_bytes <= capacity);
    memcpy(out, first, first_bytes);
    out[first_bytes] = '\0';
    memcpy(out + first_bytes + 1, second, second_bytes);
    return first_bytes + 1 + second_bytes;
}

static size_t key_with_id(uint8_t *out, size_t capacity, const char *prefix, uint64_t id)
{
    size_t prefix_bytes = strlen(prefix);
    BILLORD_ASSERT(prefix_bytes + 1 + 8 <= capacity);
    memcpy(out, prefix, prefix_bytes);
    out[prefix_bytes] = '\0';
    billord__be64_put(out + prefix_bytes + 1, id);
    return prefix_bytes + 1 + 8;
}

static MDB_val val_of(const void *bytes, size_t bytes_len)
{
    MDB_val val = {bytes_len, (void *)bytes};
    return val;
}

static MDB_val val_of_str(const char *text)
{
    return val_of(text, strlen(text));
}

/* ---- environment ------------------------------------------------------------------ */

static billord_err open_dbis(billord_store *store)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        return billord__store_err(rc);
    }
    for (unsigned db = 0; db < BILLORD_DB_COUNT && rc == MDB_SUCCESS; db++) {
        rc = mdb_dbi_open(txn, db_names[db], MDB_CREATE, &store->dbis[db]);
    }
    uint64_t schema_version = 0;
    billord_err err = rc == MDB_SUCCESS ? BILLORD_OK : billord__store_err(rc);
    if (err == BILLORD_OK) {
        err = billord__store_meta_get_u64(store, txn, "schema_version", &schema_version);
        if (err == BILLORD_E_NOT_FOUND) {
            schema_version = BILLORD_SCHEMA_VERSION;
            err = billord__store_meta_put_u64(store, txn, "schema_version", schema_version);
        }
    }
    if (err == BILLORD_OK && schema_version != BILLORD_SCHEMA_VERSION) {
        err = BILLORD_E_SCHEMA;
    }
    if (err != BILLORD_OK) {
        mdb_txn_abort(txn);
        return err;
    }
    return billord__store_err(mdb_txn_commit(txn));
}

billord_err billord__store_open(const char *dir_path, uint64_t map_bytes, unsigned lmdb_flags,
                                billord_store **out_store)
{
    BILLORD_ASSERT(dir_path != NULL);
    BILLORD_ASSERT(out_store != NULL);
    if (map_bytes == 0 || map_bytes > BILLORD_MAP_BYTES_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    billord_store *store = calloc(1, sizeof *store);
    if (store == NULL) {
        return BILLORD_E_NOMEM;
    }
    msgpack_sbuffer_init(&store->encode_buffer);
    int rc = mdb_env_create(&store->env);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxdbs(store->env, BILLORD_DB_COUNT);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(store->env, (size_t)map_bytes);
    }
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(store->env, BILLORD_STORE_READERS_MAX);
    }
    /* MDB_NOTLS: read transactions are not tied to a thread (connection threads). */
    unsigned flags = MDB_NOTLS | lmdb_flags;
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(store->env, dir_path, flags, 0644);
    }
    billord_err err = billord__store_err(rc);
    if (err == BILLORD_OK) {
        err = open_dbis(store);
    }
    if (err != BILLORD_OK) {
        billord__store_close(store);
        return err;
    }
    *out_store = store;
    return BILLORD_OK;
}

void billord__store_close(billord_store *store)
{
    if (store == NULL) {
        return;
    }
    if (store->env != NULL) {
        mdb_env_close(store->env);
    }
    msgpack_sbuffer_destroy(&store->encode_buffer);
    free(store);
}

billord_err billord__store_begin(billord_store *store, MDB_txn *parent, bool read_only,
                                 MDB_txn **out_txn)
{
    int rc = mdb_txn_begin(store->env, parent, read_only ? MDB_RDONLY : 0u, out_txn);
    return billord__store_err(rc);
}

static billord_err db_get(billord_store *store, MDB_txn *txn, billord_db_id db, MDB_val key,
                          MDB_val *out_value)
{
    return billord__store_err(mdb_get(txn, store->dbis[db], &key, out_value));
}

/* Put the encode buffer's bytes under key. */
static billord_err db_put_encoded(billord_store *store, MDB_txn *txn, billord_db_id db,
                                  MDB_val key)
{
    MDB_val value = val_of(store->encode_buffer.data, store->encode_buffer.size);
    store->put_count++;
    return billord__store_err(mdb_put(txn, store->dbis[db], &key, &value, 0));
}

static billord_err db_put_empty(billord_store *store, MDB_txn *txn, billord_db_id db,
                                MDB_val key)
{
    MDB_val value = {0, NULL};
    store->put_count++;
    return billord__store_err(mdb_put(txn, store->dbis[db], &key, &value, 0));
}

billord_err billord__store_is_empty(billord_store *store, MDB_txn *txn, bool *out_empty)
{
    static const billord_db_id state_dbs[] = {BILLORD_DB_ACCOUNTS, BILLORD_DB_INSTANCES,
                                              BILLORD_DB_ORDERS, BILLORD_DB_PRICES};
    for (size_t i = 0; i < sizeof state_dbs / sizeof state_dbs[0]; i++) {
        MDB_stat stat;
        int rc = mdb_stat(txn, store->dbis[state_dbs[i]], &stat);
        if (rc != MDB_SUCCESS) {
            return billord__store_err(rc);
        }
        if (stat.ms_entries != 0) {
            *out_empty = false;
            return BILLORD_OK;
        }
    }
    *out_empty = true;
    return BILLORD_OK;
}

/* ---- meta ------------------------------------------------------------------------- */

billord_err billord__store_meta_get_u64(billord_store *store, MDB_txn *txn, const char *name,
                                        uint64_t *out)
{
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_META, val_of_str(name), &value);
    return err == BILLORD_OK ? billord__decode_u64(value.mv_data, value.mv_size, out) : err;
}

billord_err billord__store_meta_put_u64(billord_store *store, MDB_txn *txn, const char *name,
                                        uint64_t value)
{
    billord__encode_u64(&store->encode_buffer, value);
    return db_put_encoded(store, txn, BILLORD_DB_META, val_of_str(name));
}

billord_err billord__store_meta_get_i64(billord_store *store, MDB_txn *txn, const char *name,
                                        int64_t *out)
{
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_META, val_of_str(name), &value);
    return err == BILLORD_OK ? billord__decode_i64(value.mv_data, value.mv_size, out) : err;
}

billord_err billord__store_meta_put_i64(billord_store *store, MDB_txn *txn, const char *name,
                                        int64_t value)
{
    billord__encode_i64(&store->encode_buffer, value);
    return db_put_encoded(store, txn, BILLORD_DB_META, val_of_str(name));
}

/* ---- accounts, access keys, coupons, prices --------------------------------------- */

billord_err billord__store_account_get(billord_store *store, MDB_txn *txn, const char *id,
                                       billord_account *out)
{
    if (strlen(id) > BILLORD_ACCOUNT_ID_BYTES_MAX) {
        return BILLORD_E_NOT_FOUND;
    }
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_ACCOUNTS, val_of_str(id), &value);
    return err == BILLORD_OK ? billord__decode_account(value.mv_data, value.mv_size, id, out)
                             : err;
}

billord_err billord__store_account_put(billord_store *store, MDB_txn *txn,
                                       const billord_account *account)
{
    BILLORD_ASSERT(account->id[0] != '\0');
    billord__encode_account(&store->encode_buffer, account);
    return db_put_encoded(store, txn, BILLORD_DB_ACCOUNTS, val_of_str(account->id));
}

billord_err billord__store_access_key_get(billord_store *store, MDB_txn *txn, const char *key_id,
                                          billord_access_key_record *out)
{
    size_t key_bytes = strlen(key_id);
    if (key_bytes == 0 || key_bytes > BILLORD_ACCESS_KEY_ID_BYTES_MAX) {
        return BILLORD_E_NOT_FOUND;
    }
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_ACCESS_KEYS, val_of_str(key_id), &value);
    return err == BILLORD_OK ? billord__decode_access_key(value.mv_data, value.mv_size, out)
                             : err;
}

billord_err billord__store_access_key_put(billord_store *store, MDB_txn *txn, const char *key_id,
                                          const billord_access_key_record *key)
{
    billord__encode_access_key(&store->encode_buffer, key);
    return db_put_encoded(store, txn, BILLORD_DB_ACCESS_KEYS, val_of_str(key_id));
}

billord_err billord__store_coupon_put(billord_store *store, MDB_txn *txn,
                                      const billord_coupon *coupon)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = billord__key_pair(key, sizeof key, coupon->account, coupon->id);
    billord__encode_coupon(&store->encode_buffer, coupon);
    return db_put_encoded(store, txn, BILLORD_DB_COUPONS, val_of(key, key_bytes));
}

billord_err billord__store_coupons_of_account(billord_store *store, MDB_txn *txn,
                                              const char *account, billord_coupon *out,
                                              size_t capacity, size_t *out_count)
{
    uint8_t prefix[BILLORD_STORE_KEY_BYTES_MAX];
    size_t prefix_bytes = billord__key_pair(prefix, sizeof prefix, account, "");
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, store->dbis[BILLORD_DB_COUPONS], &cursor);
    if (rc != MDB_SUCCESS) {
        return billord__store_err(rc);
    }
    MDB_val key = val_of(prefix, prefix_bytes);
    MDB_val value;
    size_t count = 0;
    billord_err err = BILLORD_OK;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    /* Every key under the prefix is this account's (ids hold no NUL): one without a
     * well-sized coupon id is damage, not the end of the list. */
    while (rc == MDB_SUCCESS && key.mv_size >= prefix_bytes &&
           memcmp(key.mv_data, prefix, prefix_bytes) == 0) {
        size_t id_bytes = key.mv_size - prefix_bytes;
        if (count == capacity || id_bytes == 0 || id_bytes > BILLORD_COUPON_ID_BYTES_MAX) {
            err = count == capacity ? BILLORD_E_TOO_LARGE : BILLORD_E_CORRUPT;
            break;
        }
        billord_coupon *coupon = &out[count];
        memset(coupon, 0, sizeof *coupon);
        memcpy(coupon->account, account, strlen(account) + 1);
        memcpy(coupon->id, (const uint8_t *)key.mv_data + prefix_bytes, id_bytes);
        coupon->id[id_bytes] = '\0';
        err = billord__decode_coupon(value.mv_data, value.mv_size, coupon);
        if (err != BILLORD_OK) {
            break;
        }
        count++;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err == BILLORD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = billord__store_err(rc);
    }
    if (err == BILLORD_OK) {
        *out_count = count;
    }
    return err;
}

static size_t price_key(uint8_t *out, billord_product product, const char *instance_type)
{
    size_t type_bytes = strlen(instance_type);
    BILLORD_ASSERT(type_bytes <= BILLORD_INSTANCE_TYPE_BYTES_MAX);
    out[0] = (uint8_t)product;
    memcpy(out + 1, instance_type, type_bytes);
    return 1 + type_bytes;
}

billord_err billord__store_price_get(billord_store *store, MDB_txn *txn, billord_product product,
                                     const char *instance_type, billord_price *out)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = price_key(key, product, instance_type);
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_PRICES, val_of(key, key_bytes), &value);
    if (err != BILLORD_OK) {
        return err;
    }
    out->product = product;
    memcpy(out->instance_type, instance_type, strlen(instance_type) + 1);
    return billord__decode_price(value.mv_data, value.mv_size, out);
}

billord_err billord__store_price_put(billord_store *store, MDB_txn *txn,
                                     const billord_price *price)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = price_key(key, price->product, price->instance_type);
    billord__encode_price(&store->encode_buffer, price);
    return db_put_encoded(store, txn, BILLORD_DB_PRICES, val_of(key, key_bytes));
}

/* ---- instances and orders --------------------------------------------------------- */

billord_err billord__store_instance_get(billord_store *store, MDB_txn *txn, const char *id,
                                        billord_instance *out)
{
    size_t id_bytes = strlen(id);
    if (id_bytes == 0 || id_bytes > BILLORD_INSTANCE_ID_BYTES_MAX) {
        return BILLORD_E_NOT_FOUND;
    }
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_INSTANCES, val_of_str(id), &value);
    return err == BILLORD_OK ? billord__decode_instance(value.mv_data, value.mv_size, id, out)
                             : err;
}

billord_err billord__store_instance_put(billord_store *store, MDB_txn *txn,
                                        const billord_instance *instance)
{
    BILLORD_ASSERT(instance->id[0] != '\0');
    billord__encode_instance(&store->encode_buffer, instance);
    return db_put_encoded(store, txn, BILLORD_DB_INSTANCES, val_of_str(instance->id));
}

billord_err billord__store_order_get(billord_store *store, MDB_txn *txn, uint64_t id,
                                     billord_order *out)
{
    uint8_t key[8];
    billord__be64_put(key, id);
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_ORDERS, val_of(key, sizeof key), &value);
    return err == BILLORD_OK ? billord__decode_order(value.mv_data, value.mv_size, id, out) : err;
}

billord_err billord__store_order_put(billord_store *store, MDB_txn *txn,
                                     const billord_order *order, bool is_new)
{
    BILLORD_ASSERT(order->id > 0 && order->id < BILLORD_ORDER_ID_LIMIT);
    uint8_t key[8];
    billord__be64_put(key, order->id);
    billord__encode_order(&store->encode_buffer, order);
    billord_err err = db_put_encoded(store, txn, BILLORD_DB_ORDERS, val_of(key, sizeof key));
    if (err != BILLORD_OK || !is_new) {
        return err;
    }
    uint8_t index_key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t index_bytes = key_with_id(index_key, sizeof index_key, order->account, order->id);
    err = db_put_empty(store, txn, BILLORD_DB_ACCOUNT_ORDERS, val_of(index_key, index_bytes));
    if (err != BILLORD_OK) {
        return err;
    }
    index_bytes = key_with_id(index_key, sizeof index_key, order->instance, order->id);
    return db_put_empty(store, txn, BILLORD_DB_INSTANCE_ORDERS, val_of(index_key, index_bytes));
}

billord_err billord__store_order_ids(billord_store *store, MDB_txn *txn, const char *account,
                                     const char *instance, billord_order_id_visit visit,
                                     void *ctx)
{
    const char *owner = instance != NULL ? instance : account;
    billord_db_id db = instance != NULL ? BILLORD_DB_INSTANCE_ORDERS : BILLORD_DB_ACCOUNT_ORDERS;
    uint8_t prefix[BILLORD_STORE_KEY_BYTES_MAX];
    size_t prefix_bytes = billord__key_pair(prefix, sizeof prefix, owner, "");
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, store->dbis[db], &cursor);
    if (rc != MDB_SUCCESS) {
        return billord__store_err(rc);
    }
    MDB_val key = val_of(prefix, prefix_bytes);
    MDB_val value;
    billord_err err = BILLORD_OK;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    /* Every key under the prefix is this owner's (ids hold no NUL): one that is not
     * prefix + be64 is damage, not the end of the list. */
    while (rc == MDB_SUCCESS && key.mv_size >= prefix_bytes &&
           memcmp(key.mv_data, prefix, prefix_bytes) == 0) {
        if (key.mv_size != prefix_bytes + 8) {
            err = BILLORD_E_CORRUPT;
            break;
        }
        uint64_t order_id = billord__be64_get((const uint8_t *)key.mv_data + prefix_bytes);
        if (!visit(order_id, ctx)) {
            break;
        }
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err == BILLORD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = billord__store_err(rc);
    }
    return err;
}

/* ---- tokens ----------------------------------------------------------------------- */

billord_err billord__store_token_get(billord_store *store, MDB_txn *txn, const char *account,
                                     const char *token, billord_token_record *out)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = billord__key_pair(key, sizeof key, account, token);
    MDB_val value;
    billord_err err = db_get(store, txn, BILLORD_DB_TOKENS, val_of(key, key_bytes), &value);
    return err == BILLORD_OK ? billord__decode_token(value.mv_data, value.mv_size, out) : err;
}

billord_err billord__store_token_put(billord_store *store, MDB_txn *txn, const char *account,
                                     const char *token, const billord_token_record *record)
{
    BILLORD_ASSERT(record->created_ms >= 0);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = billord__key_pair(key, sizeof key, account, token);
    billord__encode_token(&store->encode_buffer, record);
    billord_err err = db_put_encoded(store, txn, BILLORD_DB_TOKENS, val_of(key, key_bytes));
    if (err != BILLORD_OK) {
        return err;
    }
    uint8_t expiry_key[BILLORD_STORE_KEY_BYTES_MAX];
    billord__be64_put(expiry_key, (uint64_t)record->created_ms);
    memcpy(expiry_key + 8, key, key_bytes);
    return db_put_empty(store, txn, BILLORD_DB_TOKEN_EXPIRY, val_of(expiry_key, key_bytes + 8));
}

billord_err billord__store_tokens_prune(billord_store *store, MDB_txn *txn, int64_t cutoff_ms,
                                        uint32_t max_count, uint32_t *out_pruned)
{
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, store->dbis[BILLORD_DB_TOKEN_EXPIRY], &cursor);
    if (rc != MDB_SUCCESS) {
        return billord__store_err(rc);
    }
    uint32_t pruned = 0;
    MDB_val key;
    MDB_val value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    while (rc == MDB_SUCCESS && pruned < max_count && key.mv_size > 8) {
        const uint8_t *bytes = key.mv_data;
        if ((int64_t)billord__be64_get(bytes) >= cutoff_ms) {
            break;
        }
        MDB_val token_key = val_of(bytes + 8, key.mv_size - 8);
        store->put_count++;
        rc = mdb_del(txn, store->dbis[BILLORD_DB_TOKENS], &token_key, NULL);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            break;
        }
        rc = mdb_cursor_del(cursor, 0);
        if (rc != MDB_SUCCESS) {
            break;
        }
        pruned++;
        /* After a delete LMDB leaves the cursor on the successor; MDB_NEXT returns it. */
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        return billord__store_err(rc);
    }
    *out_pruned = pruned;
    return BILLORD_OK;
}

/* ---- schedule ---------------------------------------------------------------------- */

static size_t schedule_key(uint8_t *out, int64_t due_ms, const char *instance_id)
{
    size_t id_bytes = strlen(instance_id);
    BILLORD_ASSERT(due_ms > 0 && id_bytes > 0 && id_bytes <= BILLORD_INSTANCE_ID_BYTES_MAX);
    billord__be64_put(out, (uint64_t)due_ms);
    memcpy(out + 8, instance_id, id_bytes);
    return 8 + id_bytes;
}

billord_err billord__store_schedule_put(billord_store *store, MDB_txn *txn, int64_t due_ms,
                                        const char *instance_id)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = schedule_key(key, due_ms, instance_id);
    return db_put_empty(store, txn, BILLORD_DB_SCHEDULE, val_of(key, key_bytes));
}

billord_err billord__store_schedule_del(billord_store *store, MDB_txn *txn, int64_t due_ms,
                                        const char *instance_id)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    MDB_val key_val = val_of(key, schedule_key(key, due_ms, instance_id));
    store->put_count++;
    int rc = mdb_del(txn, store->dbis[BILLORD_DB_SCHEDULE], &key_val, NULL);
    return rc == MDB_NOTFOUND ? BILLORD_E_CORRUPT : billord__store_err(rc);
}

billord_err billord__store_schedule_due(billord_store *store, MDB_txn *txn, int64_t now_ms,
                                        uint32_t max_count,
                                        char (*ids)[BILLORD_INSTANCE_ID_BYTES_MAX + 1],
                                        uint32_t *out_count, bool *out_more)
{
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, store->dbis[BILLORD_DB_SCHEDULE], &cursor);
    if (rc != MDB_SUCCESS) {
        return billord__store_err(rc);
    }
    uint32_t count = 0;
    bool more = false;
    MDB_val key;
    MDB_val value;
    billord_err err = BILLORD_OK;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        const uint8_t *bytes = key.mv_data;
        size_t id_bytes = key.mv_size > 8 ? key.mv_size - 8 : 0;
        if (id_bytes == 0 || id_bytes > BILLORD_INSTANCE_ID_BYTES_MAX) {
            err = BILLORD_E_CORRUPT;
            break;
        }
        if ((int64_t)billord__be64_get(bytes) > now_ms) {
            break;
        }
        if (count == max_count) {
            more = true;
            break;
        }
        memcpy(ids[count], bytes + 8, id_bytes);
        ids[count][id_bytes] = '\0';
        count++;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err == BILLORD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = billord__store_err(rc);
    }
    if (err == BILLORD_OK) {
        *out_count = count;
        *out_more = more;
    }
    return err;
}

/* ---- outbox ------------------------------------------------------------------------ */

billord_err billord__store_event_put(billord_store *store, MDB_txn *txn, const billord_event *event)
{
    BILLORD_ASSERT(event->seq > 0);
    uint8_t key[8];
    billord__be64_put(key, event->seq);
    billord__encode_event(&store->encode_buffer, event);
    return db_put_encoded(store, txn, BILLORD_DB_OUTBOX, val_of(key, sizeof key));
}

billord_err billord__store_events(billord_store *store, MDB_txn *txn, uint64_t after_seq,
                                  uint32_t max_count, billord_event_visit visit, void *ctx)
{
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(txn, store->dbis[BILLORD_DB_OUTBOX], &cursor);
    if (rc != MDB_SUCCESS) {
        return billord__store_err(rc);
    }
    uint8_t start[8];
    billord__be64_put(start, after_seq + 1);
    MDB_val key = val_of(start, sizeof start);
    MDB_val value;
    billord_err err = BILLORD_OK;
    uint32_t count = 0;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && count < max_count) {
        if (key.mv_size != 8) {
            err = BILLORD_E_CORRUPT;
            break;
        }
        billord_event event;
        err = billord__decode_event(value.mv_data, value.mv_size,
                                    billord__be64_get(key.mv_data), &event);
        if (err != BILLORD_OK || !visit(&event, ctx)) {
            break;
        }
        count++;
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (err == BILLORD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        err = billord__store_err(rc);
    }
    return err;
}
