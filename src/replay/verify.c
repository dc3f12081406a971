/*
 * verify.c: billordctl verify (replay.h): the log, LMDB decoding, indexes, money.
 *
 * Everything is read from one LMDB read transaction, so the checks see one consistent
 * snapshot even beside a running server. Databases are read in id order: accounts and
 * instances come before orders, so per-account and per-instance sums are gathered in one
 * pass over orders and compared at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <msgpack.h>

#include <billord/replay.h>
#include <billord/wal.h>
#include <billord/wal_batch.h>

#include "core/assert.h"
#include "core/msgpack_read.h"
#include "replay/replay_internal.h"
#include "store/codec.h"

#define VERIFY_PATH_BYTES_MAX 4096u
#define VERIFY_TEXT_BYTES 1024u
#define BE64_BYTES 8u

typedef struct account_sums {
    char id[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    int64_t balance_micros, balance_initial_micros, credit_limit_micros, credit_used_micros;
    /* what orders and coupons say, in 128 bits: a sum must not wrap before it is compared */
    __int128 balance_paid, credit_paid, coupon_paid, coupon_used;
} account_sums;

typedef struct instance_count {
    char id[BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    uint32_t unpaid_stored;
    uint32_t unpaid_seen;
} instance_count;

typedef struct verify_ctx {
    billord_verify_problem_fn problem;
    void *problem_ctx;
    billord_verify_report *report;
    replay_lmdb lmdb;
    account_sums *accounts;
    size_t account_count, account_capacity;
    instance_count *instances;
    size_t instance_count_, instance_capacity;
    uint64_t next_order_id;
    bool nomem;
} verify_ctx;

static void problem(verify_ctx *ctx, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void problem(verify_ctx *ctx, const char *format, ...)
{
    if (ctx->nomem) {
        return;     /* what memory running out left undecided is no finding */
    }
    char text[VERIFY_TEXT_BYTES];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    ctx->report->problems++;
    if (ctx->problem != NULL) {
        ctx->problem(ctx->problem_ctx, text);
    }
}

/* Whether a decoder (or reader) succeeded. Out of memory is not a fault of what it read: it
 * ends the verify with BILLORD_E_NOMEM instead of being reported as a problem. */
static bool succeeded(verify_ctx *ctx, billord_err err)
{
    if (err == BILLORD_E_NOMEM) {
        ctx->nomem = true;
    }
    return err == BILLORD_OK;
}

/* ---- the log --------------------------------------------------------------------------- */

typedef struct wal_walk {
    uint64_t lsn_previous;
    bool archive;
} wal_walk;

static void verify_wal_record(verify_ctx *ctx, wal_walk *walk, const billord_wal_record *record)
{
    if (walk->lsn_previous != 0 && record->lsn != walk->lsn_previous + 1) {
        problem(ctx, "log: %s offset %llu: LSN %llu follows %llu (a gap or a repeat)",
                record->segment_path, (unsigned long long)record->offset_bytes,
                (unsigned long long)record->lsn, (unsigned long long)walk->lsn_previous);
    }
    walk->lsn_previous = record->lsn;
    if (ctx->report->wal_lsn_first == 0) {
        ctx->report->wal_lsn_first = record->lsn;
    }
    ctx->report->wal_lsn_last = record->lsn;
    ctx->report->wal_records++;
    billord_wal_batch batch;
    billord_err err = billord_wal_batch_decode(record->payload, record->payload_bytes, &batch);
    if (!succeeded(ctx, err)) {
        problem(ctx, "log: %s offset %llu: record %llu does not decode as a batch (%s)",
                record->segment_path, (unsigned long long)record->offset_bytes,
                (unsigned long long)record->lsn, billord_err_message(err));
    }
    billord_wal_batch_free(&batch);
}

static void verify_wal_dir(verify_ctx *ctx, wal_walk *walk, const char *dir)
{
    billord_wal_reader *reader = NULL;
    billord_err err = billord_wal_reader_open(dir, NULL, &reader);
    if (err == BILLORD_E_NOT_FOUND) {
        return;     /* no segment: an empty log */
    }
    if (!succeeded(ctx, err)) {
        problem(ctx, "log: %s: cannot read: %s", dir, billord_err_message(err));
        return;
    }
    billord_wal_record record;
    while ((err = billord_wal_reader_next(reader, &record)) == BILLORD_OK) {
        verify_wal_record(ctx, walk, &record);
    }
    if (err == BILLORD_E_WAL_TRUNCATED && !walk->archive) {
        /* A torn tail was never acknowledged; whether it cost an applied record is checked
         * against the state's applied LSN later. */
        ctx->report->wal_torn_tail = true;
    } else if (err != BILLORD_E_NOT_FOUND) {
        problem(ctx, "log: %s", billord_wal_reader_error(reader));
    }
    billord_wal_reader_close(reader);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void verify_wal(verify_ctx *ctx, const char *data_dir, const char *archive_dir,
                       bool *out_present)
{
    char wal_dir[VERIFY_PATH_BYTES_MAX];
    snprintf(wal_dir, sizeof wal_dir, "%s/wal", data_dir);
    *out_present = is_dir(wal_dir);
    wal_walk walk = {0, true};
    if (archive_dir != NULL) {
        verify_wal_dir(ctx, &walk, archive_dir);
    }
    walk.archive = false;
    if (*out_present) {
        verify_wal_dir(ctx, &walk, wal_dir);
    }
}

/* ---- lookups -------------------------------------------------------------------------- */

static int account_compare(const void *key, const void *element)
{
    return strcmp(key, ((const account_sums *)element)->id);
}

/* bsearch needs an array even for no element: a store with orders but no account has none. */
static account_sums *account_find(verify_ctx *ctx, const char *id)
{
    return ctx->account_count == 0 ? NULL
                                   : bsearch(id, ctx->accounts, ctx->account_count,
                                             sizeof *ctx->accounts, account_compare);
}

static int instance_compare(const void *key, const void *element)
{
    return strcmp(key, ((const instance_count *)element)->id);
}

static instance_count *instance_find(verify_ctx *ctx, const char *id)
{
    return ctx->instance_count_ == 0 ? NULL
                                     : bsearch(id, ctx->instances, ctx->instance_count_,
                                               sizeof *ctx->instances, instance_compare);
}

static bool grow(verify_ctx *ctx, void **array, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity) {
        return true;
    }
    size_t wanted = *capacity == 0 ? 64 : *capacity * 2;
    void *grown = realloc(*array, wanted * size);
    if (grown == NULL) {
        ctx->nomem = true;
        return false;
    }
    *array = grown;
    *capacity = wanted;
    return true;
}

/* A key's text as a NUL-terminated string (keys of ids hold no NUL). */
static bool key_text(const MDB_val *key, char *out, size_t out_bytes)
{
    if (key->mv_size == 0 || key->mv_size >= out_bytes || memchr(key->mv_data, 0, key->mv_size)) {
        return false;
    }
    memcpy(out, key->mv_data, key->mv_size);
    out[key->mv_size] = '\0';
    return true;
}

/* Split "first \0 second" (second may hold any bytes but NUL). */
static bool key_split(const MDB_val *key, char *first, size_t first_bytes, char *second,
                      size_t second_bytes)
{
    const char *bytes = key->mv_data;
    const char *zero = memchr(bytes, 0, key->mv_size);
    if (zero == NULL || zero == bytes) {
        return false;
    }
    size_t first_len = (size_t)(zero - bytes);
    size_t second_len = key->mv_size - first_len - 1;
    if (first_len >= first_bytes || second_len >= second_bytes ||
        memchr(zero + 1, 0, second_len) != NULL) {
        return false;
    }
    memcpy(first, bytes, first_len);
    first[first_len] = '\0';
    memcpy(second, zero + 1, second_len);
    second[second_len] = '\0';
    return true;
}

static bool db_has(verify_ctx *ctx, billord_db_id db, const void *key, size_t key_bytes,
                   MDB_val *out_value)
{
    MDB_val k = {key_bytes, (void *)key};
    MDB_val value;
    bool found = ctx->lmdb.present[db] &&
                 mdb_get(ctx->lmdb.txn, ctx->lmdb.dbis[db], &k, &value) == MDB_SUCCESS;
    if (found && out_value != NULL) {
        *out_value = value;
    }
    return found;
}

/* ---- per database ---------------------------------------------------------------------- */

/* meta's values (docs/store-layout.md): clock_ms is signed, these are unsigned, and a name
 * this build does not know may hold either. */
typedef enum meta_kind { META_SIGNED, META_UNSIGNED, META_EITHER } meta_kind;

static const char *const meta_unsigned_names[] = {"schema_version", "applied_lsn",
                                                  "next_order_id", "next_event_seq"};

static meta_kind meta_kind_of(const char *name)
{
    if (strcmp(name, "clock_ms") == 0) {
        return META_SIGNED;
    }
    for (size_t n = 0; n < sizeof meta_unsigned_names / sizeof meta_unsigned_names[0]; n++) {
        if (strcmp(name, meta_unsigned_names[n]) == 0) {
            return META_UNSIGNED;
        }
    }
    return META_EITHER;
}

static void check_meta(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    char name[BILLORD_STORE_KEY_BYTES_MAX];
    uint64_t u = 0;
    int64_t i = 0;
    if (!key_text(key, name, sizeof name)) {
        problem(ctx, "meta: a key is not a name");
        return;
    }
    meta_kind kind = meta_kind_of(name);
    /* Only the decodes the name calls for: each one's verdict counts. */
    bool decodes =
        (kind != META_SIGNED &&
         succeeded(ctx, billord__decode_u64(value->mv_data, value->mv_size, &u))) ||
        (kind != META_UNSIGNED &&
         succeeded(ctx, billord__decode_i64(value->mv_data, value->mv_size, &i)));
    if (!decodes) {
        problem(ctx, "meta: %s: the value does not decode", name);
    } else if (strcmp(name, "next_order_id") == 0) {
        ctx->next_order_id = u;
    } else if (strcmp(name, "applied_lsn") == 0) {
        ctx->report->applied_lsn = u;
    }
}

static void check_account(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    char id[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    billord_account account;
    if (!key_text(key, id, sizeof id)) {
        problem(ctx, "accounts: a key is not an account id");
        return;
    }
    if (!succeeded(ctx, billord__decode_account(value->mv_data, value->mv_size, id, &account))) {
        problem(ctx, "accounts: %s: the value does not decode", id);
        return;
    }
    ctx->report->accounts++;
    if (!grow(ctx, (void **)&ctx->accounts, &ctx->account_capacity, ctx->account_count,
              sizeof *ctx->accounts)) {
        return;
    }
    account_sums *sums = &ctx->accounts[ctx->account_count++];
    memset(sums, 0, sizeof *sums);
    memcpy(sums->id, id, sizeof sums->id);
    sums->balance_micros = account.balance_micros;
    sums->balance_initial_micros = account.balance_initial_micros;
    sums->credit_limit_micros = account.credit_limit_micros;
    sums->credit_used_micros = account.credit_used_micros;
}

static void check_access_key(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    char id[BILLORD_ACCESS_KEY_ID_BYTES_MAX + 1];
    billord_access_key_record record;
    if (!key_text(key, id, sizeof id)) {
        problem(ctx, "access_keys: a key is not an access key id");
    } else if (!succeeded(ctx, billord__decode_access_key(value->mv_data, value->mv_size,
                                                          &record))) {
        problem(ctx, "access_keys: %s: the value does not decode", id);
    } else if (account_find(ctx, record.account) == NULL) {
        problem(ctx, "access_keys: %s: its account %s does not exist", id, record.account);
    }
}

static void check_coupon(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    char account_id[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char coupon_id[BILLORD_COUPON_ID_BYTES_MAX + 1];
    billord_coupon coupon;
    if (!key_split(key, account_id, sizeof account_id, coupon_id, sizeof coupon_id)) {
        problem(ctx, "coupons: a key is not account\\0coupon");
        return;
    }
    if (!succeeded(ctx, billord__decode_coupon(value->mv_data, value->mv_size, &coupon))) {
        problem(ctx, "coupons: %s/%s: the value does not decode", account_id, coupon_id);
        return;
    }
    if (coupon.amount_micros < 0 || coupon.amount_micros > coupon.amount_initial_micros) {
        problem(ctx, "coupons: %s/%s: %lld left of %lld (coupons only shrink)", account_id,
                coupon_id, (long long)coupon.amount_micros,
                (long long)coupon.amount_initial_micros);
    }
    account_sums *sums = account_find(ctx, account_id);
    if (sums == NULL) {
        problem(ctx, "coupons: %s/%s: the account does not exist", account_id, coupon_id);
    } else {
        sums->coupon_used += (__int128)coupon.amount_initial_micros - coupon.amount_micros;
    }
}

static void check_price(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    billord_price price;
    (void)key;
    if (!succeeded(ctx, billord__decode_price(value->mv_data, value->mv_size, &price))) {
        problem(ctx, "prices: a value does not decode");
    }
}

static void check_instance(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    char id[BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    billord_instance instance;
    if (!key_text(key, id, sizeof id)) {
        problem(ctx, "instances: a key is not an instance id");
        return;
    }
    if (!succeeded(ctx, billord__decode_instance(value->mv_data, value->mv_size, id, &instance))) {
        problem(ctx, "instances: %s: the value does not decode", id);
        return;
    }
    ctx->report->instances++;
    if (account_find(ctx, instance.account) == NULL) {
        problem(ctx, "instances: %s: its account %s does not exist", id, instance.account);
    }
    if (!grow(ctx, (void **)&ctx->instances, &ctx->instance_capacity, ctx->instance_count_,
              sizeof *ctx->instances)) {
        return;
    }
    instance_count *count = &ctx->instances[ctx->instance_count_++];
    memcpy(count->id, id, sizeof count->id);
    count->unpaid_stored = instance.unpaid_order_count;
    count->unpaid_seen = 0;
}

static size_t index_key(uint8_t *out, const char *owner, uint64_t order_id)
{
    size_t owner_bytes = strlen(owner);
    memcpy(out, owner, owner_bytes);
    out[owner_bytes] = '\0';
    billord__be64_put(out + owner_bytes + 1, order_id);
    return owner_bytes + 1 + BE64_BYTES;
}

static void order_add_to_sums(verify_ctx *ctx, const billord_order *order)
{
    account_sums *sums = account_find(ctx, order->account);
    if (sums == NULL) {
        problem(ctx, "orders: %llu: its account %s does not exist", (unsigned long long)order->id,
                order->account);
    } else {
        sums->balance_paid += order->balance_paid_micros;
        sums->credit_paid += order->credit_paid_micros;
        sums->coupon_paid += order->coupon_paid_micros;
    }
    instance_count *count = instance_find(ctx, order->instance);
    if (count == NULL) {
        problem(ctx, "orders: %llu: its instance %s does not exist", (unsigned long long)order->id,
                order->instance);
    } else if (order->status == BILLORD_ORDER_UNPAID) {
        count->unpaid_seen++;
    }
}

static void check_order(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    if (key->mv_size != BE64_BYTES) {
        problem(ctx, "orders: a key is not 8 bytes");
        return;
    }
    uint64_t id = billord__be64_get(key->mv_data);
    billord_order order;
    if (!succeeded(ctx, billord__decode_order(value->mv_data, value->mv_size, id, &order))) {
        problem(ctx, "orders: %llu: the value does not decode", (unsigned long long)id);
        return;
    }
    ctx->report->orders++;
    if (id >= ctx->next_order_id) {
        problem(ctx, "orders: %llu: not below meta.next_order_id %llu", (unsigned long long)id,
                (unsigned long long)ctx->next_order_id);
    }
    order_add_to_sums(ctx, &order);
    uint8_t index[BILLORD_STORE_KEY_BYTES_MAX];
    if (!db_has(ctx, BILLORD_DB_ACCOUNT_ORDERS, index, index_key(index, order.account, id),
                NULL)) {
        problem(ctx, "orders: %llu: no account_orders row for account %s",
                (unsigned long long)id, order.account);
    }
    if (!db_has(ctx, BILLORD_DB_INSTANCE_ORDERS, index, index_key(index, order.instance, id),
                NULL)) {
        problem(ctx, "orders: %llu: no instance_orders row for instance %s",
                (unsigned long long)id, order.instance);
    }
}

/* account_orders and instance_orders: owner \0 be64(order id) -> empty. */
static void check_order_index(verify_ctx *ctx, billord_db_id db, const MDB_val *key,
                              const MDB_val *value)
{
    const char *name = billord__store_db_name(db);
    const uint8_t *bytes = key->mv_data;
    if (key->mv_size < BE64_BYTES + 2 || bytes[key->mv_size - BE64_BYTES - 1] != 0 ||
        memchr(bytes, 0, key->mv_size - BE64_BYTES - 1) != NULL || value->mv_size != 0) {
        problem(ctx, "%s: a row is not owner\\0be64(order id) -> empty", name);
        return;
    }
    char owner[BILLORD_STORE_KEY_BYTES_MAX];
    size_t owner_bytes = key->mv_size - BE64_BYTES - 1;
    memcpy(owner, bytes, owner_bytes);
    owner[owner_bytes] = '\0';
    uint64_t id = billord__be64_get(bytes + owner_bytes + 1);
    uint8_t order_key[BE64_BYTES];
    billord__be64_put(order_key, id);
    MDB_val order_value;
    billord_order order;
    if (!db_has(ctx, BILLORD_DB_ORDERS, order_key, sizeof order_key, &order_value)) {
        problem(ctx, "%s: %s -> order %llu: the order does not exist", name, owner,
                (unsigned long long)id);
        return;
    }
    if (!succeeded(ctx, billord__decode_order(order_value.mv_data, order_value.mv_size, id,
                                              &order))) {
        return;     /* reported with the orders */
    }
    const char *expected = db == BILLORD_DB_ACCOUNT_ORDERS ? order.account : order.instance;
    if (strcmp(expected, owner) != 0) {
        problem(ctx, "%s: %s -> order %llu: the order belongs to %s", name, owner,
                (unsigned long long)id, expected);
    }
}

static void check_token(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char token[BILLORD_CLIENT_TOKEN_BYTES_MAX + 1];
    if (!key_split(key, account, sizeof account, token, sizeof token)) {
        problem(ctx, "tokens: a key is not account\\0token");
        return;
    }
    billord_token_record *record = malloc(sizeof *record);
    if (record == NULL) {
        ctx->nomem = true;
        return;
    }
    if (!succeeded(ctx, billord__decode_token(value->mv_data, value->mv_size, record))) {
        problem(ctx, "tokens: %s/%s: the value does not decode", account, token);
    } else {
        ctx->report->tokens++;
        uint8_t expiry[BILLORD_STORE_KEY_BYTES_MAX + BE64_BYTES];
        billord__be64_put(expiry, (uint64_t)record->created_ms);
        memcpy(expiry + BE64_BYTES, key->mv_data, key->mv_size);
        if (!db_has(ctx, BILLORD_DB_TOKEN_EXPIRY, expiry, BE64_BYTES + key->mv_size, NULL)) {
            problem(ctx, "tokens: %s/%s: no token_expiry row", account, token);
        }
    }
    free(record);
}

static void check_token_expiry(verify_ctx *ctx, const MDB_val *key, const MDB_val *value)
{
    if (key->mv_size <= BE64_BYTES || value->mv_size != 0) {
        problem(ctx, "token_expiry: a row is not be64(created)account\\0token -> empty");
        return;
    }
    MDB_val token_key = {key->mv_size - BE64_BYTES, (uint8_t *)key->mv_data + BE64_BYTES};
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char token[BILLORD_CLIENT_TOKEN_BYTES_MAX + 1];
    if (!key_split(&token_key, account, sizeof account, token, sizeof token)) {
        problem(ctx, "token_expiry: a key is not be64(created)account\\0token");
        return;
    }
    MDB_val token_value;
    if (!db_has(ctx, BILLORD_DB_TOKENS, token_key.mv_data, token_key.mv_size, &token_value)) {
        problem(ctx, "token_expiry: %s/%s: the token does not exist", account, token);
        return;
    }
    billord_token_record *record = malloc(sizeof *record);
    if (record == NULL) {
        ctx->nomem = true;
        return;
    }
    if (succeeded(ctx, billord__decode_token(token_value.mv_data, token_value.mv_size, record)) &&
        (uint64_t)record->created_ms != billord__be64_get(key->mv_data)) {
        problem(ctx, "token_expiry: %s/%s: the row's time is not the token's created_ms",
                account, token);
    }
    free(record);
}

/* A database this build has no decoder for here: each value is one msgpack array that
 * starts with its format version (docs/store-layout.md), or empty (an index row). */
static void check_generic(verify_ctx *ctx, billord_db_id db, const MDB_val *value)
{
    if (value->mv_size == 0) {
        return;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    bool ok = succeeded(ctx, billord__msgpack_unpack_one(&unpacked, value->mv_data,
                                                          value->mv_size)) &&
              unpacked.data.type == MSGPACK_OBJECT_ARRAY && unpacked.data.via.array.size >= 1 &&
              unpacked.data.via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    msgpack_unpacked_destroy(&unpacked);
    if (!ok) {
        problem(ctx, "%s: a value is not a versioned msgpack record", billord__store_db_name(db));
    }
}

static void check_pair(verify_ctx *ctx, billord_db_id db, const MDB_val *key, const MDB_val *value)
{
    switch (db) {
    case BILLORD_DB_META: check_meta(ctx, key, value); break;
    case BILLORD_DB_ACCOUNTS: check_account(ctx, key, value); break;
    case BILLORD_DB_ACCESS_KEYS: check_access_key(ctx, key, value); break;
    case BILLORD_DB_COUPONS: check_coupon(ctx, key, value); break;
    case BILLORD_DB_PRICES: check_price(ctx, key, value); break;
    case BILLORD_DB_INSTANCES: check_instance(ctx, key, value); break;
    case BILLORD_DB_ORDERS: check_order(ctx, key, value); break;
    case BILLORD_DB_ACCOUNT_ORDERS:
    case BILLORD_DB_INSTANCE_ORDERS: check_order_index(ctx, db, key, value); break;
    case BILLORD_DB_TOKENS: check_token(ctx, key, value); break;
    case BILLORD_DB_TOKEN_EXPIRY: check_token_expiry(ctx, key, value); break;
    default: check_generic(ctx, db, value); break;
    }
}

static int walk_db(verify_ctx *ctx, billord_db_id db)
{
    if (!ctx->lmdb.present[db]) {
        return MDB_SUCCESS;
    }
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(ctx->lmdb.txn, ctx->lmdb.dbis[db], &cursor);
    MDB_val key, value;
    for (MDB_cursor_op op = MDB_FIRST; rc == MDB_SUCCESS && !ctx->nomem; op = MDB_NEXT) {
        rc = mdb_cursor_get(cursor, &key, &value, op);
        if (rc == MDB_SUCCESS) {
            ctx->report->lmdb_values++;
            check_pair(ctx, db, &key, &value);
        }
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* ---- totals ----------------------------------------------------------------------------- */

static void check_money(verify_ctx *ctx, const account_sums *a)
{
    if ((__int128)a->balance_initial_micros != a->balance_micros + (__int128)a->balance_paid) {
        problem(ctx, "money: account %s: balance_initial %lld != balance %lld + balance paid %lld",
                a->id, (long long)a->balance_initial_micros, (long long)a->balance_micros,
                (long long)a->balance_paid);
    }
    if ((__int128)a->credit_used_micros != a->credit_paid) {
        problem(ctx, "money: account %s: credit_used %lld != credit paid by orders %lld", a->id,
                (long long)a->credit_used_micros, (long long)a->credit_paid);
    }
    if (a->credit_used_micros > a->credit_limit_micros) {
        problem(ctx, "money: account %s: credit_used %lld above the limit %lld", a->id,
                (long long)a->credit_used_micros, (long long)a->credit_limit_micros);
    }
    if (a->coupon_used != a->coupon_paid) {
        problem(ctx, "money: account %s: coupons used %lld != coupon paid by orders %lld", a->id,
                (long long)a->coupon_used, (long long)a->coupon_paid);
    }
}

static void check_totals(verify_ctx *ctx)
{
    for (size_t i = 0; i < ctx->account_count; i++) {
        check_money(ctx, &ctx->accounts[i]);
    }
    for (size_t i = 0; i < ctx->instance_count_; i++) {
        const instance_count *count = &ctx->instances[i];
        if (count->unpaid_stored != count->unpaid_seen) {
            problem(ctx, "instances: %s: unpaid_order_count %u but %u Unpaid orders", count->id,
                    count->unpaid_stored, count->unpaid_seen);
        }
    }
    if (ctx->next_order_id >= BILLORD_ORDER_ID_LIMIT) {
        problem(ctx, "meta: next_order_id %llu is not below 2^53",
                (unsigned long long)ctx->next_order_id);
    }
}

static void check_log_reaches_state(verify_ctx *ctx, bool wal_present)
{
    billord_verify_report *report = ctx->report;
    if (!wal_present) {
        return;     /* a replayed directory keeps no log */
    }
    if (report->wal_lsn_last < report->applied_lsn) {
        problem(ctx, "log: ends at LSN %llu but the state has applied LSN %llu%s",
                (unsigned long long)report->wal_lsn_last, (unsigned long long)report->applied_lsn,
                report->wal_torn_tail ? " (a damaged tail held applied records)" : "");
    }
    if (report->wal_lsn_first > report->applied_lsn + 1) {
        problem(ctx, "log: starts at LSN %llu, after the state's applied LSN %llu + 1",
                (unsigned long long)report->wal_lsn_first, (unsigned long long)report->applied_lsn);
    }
}

billord_err billord_verify(const char *data_dir, const char *archive_dir,
                           billord_verify_problem_fn problem_fn, void *problem_ctx,
                           billord_verify_report *out_report)
{
    BILLORD_ASSERT(data_dir != NULL && out_report != NULL);
    memset(out_report, 0, sizeof *out_report);
    if (!is_dir(data_dir)) {
        return BILLORD_E_NOT_FOUND;
    }
    verify_ctx ctx = {.problem = problem_fn, .problem_ctx = problem_ctx, .report = out_report};
    bool wal_present = false;
    verify_wal(&ctx, data_dir, archive_dir, &wal_present);
    out_report->wal_present = wal_present;
    char error_text[VERIFY_TEXT_BYTES];
    billord_err err = billord__replay_lmdb_open(data_dir, &ctx.lmdb, error_text, sizeof error_text);
    if (err != BILLORD_OK) {
        problem(&ctx, "state: %s", error_text);
        return ctx.nomem ? BILLORD_E_NOMEM : BILLORD_OK;
    }
    int rc = MDB_SUCCESS;
    for (unsigned db = 0; db < BILLORD_DB_COUNT && rc == MDB_SUCCESS && !ctx.nomem; db++) {
        rc = walk_db(&ctx, (billord_db_id)db);
    }
    if (rc == ENOMEM) {
        ctx.nomem = true;
    } else if (rc != MDB_SUCCESS) {
        problem(&ctx, "state: %s/state: LMDB: %s", data_dir, mdb_strerror(rc));
    } else if (!ctx.nomem) {
        check_totals(&ctx);
        check_log_reaches_state(&ctx, wal_present);
    }
    billord__replay_lmdb_close(&ctx.lmdb);
    free(ctx.accounts);
    free(ctx.instances);
    return ctx.nomem ? BILLORD_E_NOMEM : BILLORD_OK;
}
