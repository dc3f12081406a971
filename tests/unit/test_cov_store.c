/*
 * test_cov_store.c: the LMDB store (src/store/store.c) under failure and damage.
 *
 * Why: the engine suites only see a healthy store. Here each typed accessor meets the
 * answers the store promises for the rest (docs/store-layout.md): an LMDB call that fails
 * (tests/support/faulty_lmdb.h) comes back as the billord_err that LMDB code maps to; a key
 * or value that is not what the layout says is BILLORD_E_CORRUPT, never a guess; a bounded
 * listing says when it is full. Damage is written with raw mdb_put into the store's own
 * dbs, as a bad disk or an older build would leave it. Allocations fail on command through
 * tests/support/faulty_alloc.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include "store/store.h"
#include "support/faulty_alloc.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define MAP_BYTES (16ull << 20)
#define ACCOUNT "1234567890123456"
#define OTHER_ACCOUNT "1234567890123457"

static char dir[TEMPDIR_PATH_BYTES];
static billord_store *store;

/* ---- helpers ------------------------------------------------------------------------- */

static MDB_txn *begin_write(void)
{
    MDB_txn *txn = NULL;
    cr_assert(eq(int, billord__store_begin(store, NULL, false, &txn), BILLORD_OK));
    return txn;
}

static MDB_txn *begin_read(void)
{
    MDB_txn *txn = NULL;
    cr_assert(eq(int, billord__store_begin(store, NULL, true, &txn), BILLORD_OK));
    return txn;
}

static void commit(MDB_txn *txn)
{
    cr_assert(eq(int, mdb_txn_commit(txn), MDB_SUCCESS));
}

/* A row written around the typed accessors, as damage would leave it. */
static void raw_put(billord_db_id db, const void *key, size_t key_bytes, const void *value,
                    size_t value_bytes)
{
    MDB_txn *txn = begin_write();
    MDB_val key_val = {key_bytes, (void *)key};
    MDB_val value_val = {value_bytes, (void *)value};
    cr_assert(eq(int, mdb_put(txn, store->dbis[db], &key_val, &value_val, 0), MDB_SUCCESS));
    commit(txn);
}

static billord_coupon coupon_of(const char *account, const char *id, int64_t amount_micros)
{
    billord_coupon coupon;
    memset(&coupon, 0, sizeof coupon);
    snprintf(coupon.account, sizeof coupon.account, "%s", account);
    snprintf(coupon.id, sizeof coupon.id, "%s", id);
    coupon.amount_micros = amount_micros;
    coupon.amount_initial_micros = amount_micros;
    coupon.expires_ms = 1800000000000LL;
    coupon.product_mask = BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_ECS);
    return coupon;
}

static billord_order order_of(uint64_t id, const char *account, const char *instance)
{
    billord_order order;
    memset(&order, 0, sizeof order);
    order.id = id;
    snprintf(order.account, sizeof order.account, "%s", account);
    snprintf(order.instance, sizeof order.instance, "%s", instance);
    order.kind = BILLORD_ORDER_RENEW;
    order.period_count = 1;
    order.period_unit = BILLORD_PERIOD_MONTH;
    order.amount_micros = 1000000;
    order.status = BILLORD_ORDER_PAID;
    order.created_ms = 1795305600000LL;
    return order;
}

static billord_token_record token_of(int64_t created_ms)
{
    billord_token_record record;
    memset(&record, 0, sizeof record);
    record.canonical_bytes = 3;
    memcpy(record.canonical, "a=b", 3);
    record.http_status = 200;
    snprintf(record.code_text, sizeof record.code_text, "OK");
    record.created_ms = created_ms;
    return record;
}

static billord_event event_of(uint64_t seq)
{
    billord_event event;
    memset(&event, 0, sizeof event);
    event.seq = seq;
    snprintf(event.kind, sizeof event.kind, "Expired");
    snprintf(event.account, sizeof event.account, ACCOUNT);
    snprintf(event.instance, sizeof event.instance, "i-%llu", (unsigned long long)seq);
    event.at_ms = 1795305600000LL + (int64_t)seq;
    return event;
}

static void put_coupons(const char *account, const char *const *ids, size_t count)
{
    MDB_txn *txn = begin_write();
    for (size_t i = 0; i < count; i++) {
        billord_coupon coupon = coupon_of(account, ids[i], (int64_t)(i + 1) * 1000000);
        cr_assert(eq(int, billord__store_coupon_put(store, txn, &coupon), BILLORD_OK));
    }
    commit(txn);
}

static void put_orders(const uint64_t *ids, size_t count)
{
    MDB_txn *txn = begin_write();
    for (size_t i = 0; i < count; i++) {
        billord_order order = order_of(ids[i], ACCOUNT, "i-acc0001");
        cr_assert(eq(int, billord__store_order_put(store, txn, &order, true), BILLORD_OK));
    }
    commit(txn);
}

static void put_tokens(const char *const *tokens, const int64_t *created_ms, size_t count)
{
    MDB_txn *txn = begin_write();
    for (size_t i = 0; i < count; i++) {
        billord_token_record record = token_of(created_ms[i]);
        cr_assert(eq(int, billord__store_token_put(store, txn, ACCOUNT, tokens[i], &record),
                     BILLORD_OK));
    }
    commit(txn);
}

static void put_schedule(const int64_t *due_ms, const char *const *ids, size_t count)
{
    MDB_txn *txn = begin_write();
    for (size_t i = 0; i < count; i++) {
        cr_assert(eq(int, billord__store_schedule_put(store, txn, due_ms[i], ids[i]), BILLORD_OK));
    }
    commit(txn);
}

static void put_events(uint64_t count)
{
    MDB_txn *txn = begin_write();
    for (uint64_t seq = 1; seq <= count; seq++) {
        billord_event event = event_of(seq);
        cr_assert(eq(int, billord__store_event_put(store, txn, &event), BILLORD_OK));
    }
    commit(txn);
}

static bool token_exists(const char *token)
{
    MDB_txn *txn = begin_read();
    billord_token_record record;
    billord_err err = billord__store_token_get(store, txn, ACCOUNT, token, &record);
    mdb_txn_abort(txn);
    cr_assert(err == BILLORD_OK || err == BILLORD_E_NOT_FOUND);
    return err == BILLORD_OK;
}

static size_t db_entries(billord_db_id db)
{
    MDB_txn *txn = begin_read();
    MDB_stat stat;
    cr_assert(eq(int, mdb_stat(txn, store->dbis[db], &stat), MDB_SUCCESS));
    mdb_txn_abort(txn);
    return stat.ms_entries;
}

/* Order ids collected by billord__store_order_ids, up to stop_after (0: all). */
typedef struct id_list {
    uint64_t ids[8];
    size_t count;
    size_t stop_after;
} id_list;

static bool collect_id(uint64_t order_id, void *ctx)
{
    id_list *list = ctx;
    cr_assert(list->count < sizeof list->ids / sizeof list->ids[0]);
    list->ids[list->count++] = order_id;
    return list->stop_after == 0 || list->count < list->stop_after;
}

typedef struct event_list {
    billord_event events[8];
    size_t count;
    size_t stop_after;
} event_list;

static bool collect_event(const billord_event *event, void *ctx)
{
    event_list *list = ctx;
    cr_assert(list->count < sizeof list->events / sizeof list->events[0]);
    list->events[list->count++] = *event;
    return list->stop_after == 0 || list->count < list->stop_after;
}


/* The listings of an account's rows: each walks one db with a cursor. */
typedef enum listing {
    LISTING_COUPONS,        /* billord__store_coupons_of_account */
    LISTING_ORDER_IDS,      /* billord__store_order_ids of the account */
    LISTING_DUE_ROWS,       /* billord__store_schedule_due up to 5000 ms */
    LISTING_EVENTS,         /* billord__store_events from the start */
} listing;

/* Two rows in the listing's db, through the typed accessors. */
static void put_two_rows(listing which)
{
    static const char *const coupon_ids[] = {"c-1", "c-2"};
    static const uint64_t order_ids[] = {1, 2};
    static const int64_t due_ms[] = {1000, 2000};
    static const char *const instance_ids[] = {"i-a", "i-b"};
    switch (which) {
    case LISTING_COUPONS:
        put_coupons(ACCOUNT, coupon_ids, 2);
        break;
    case LISTING_ORDER_IDS:
        put_orders(order_ids, 2);
        break;
    case LISTING_DUE_ROWS:
        put_schedule(due_ms, instance_ids, 2);
        break;
    case LISTING_EVENTS:
        put_events(2);
        break;
    }
}

/*
 * Runs the listing in a read transaction of its own (room for four rows) and expects err.
 * reported: for coupons and due rows the count the listing answers (it starts at 99 and
 * stays so on a refusal); for order ids and events how many rows the visitor was given.
 */
static void expect_listing(listing which, billord_err err, size_t reported)
{
    MDB_txn *txn = begin_read();
    billord_err got = BILLORD_E_INVALID_ARGUMENT;
    size_t count = 99;
    switch (which) {
    case LISTING_COUPONS: {
        billord_coupon coupons[4];
        got = billord__store_coupons_of_account(store, txn, ACCOUNT, coupons, 4, &count);
        break;
    }
    case LISTING_ORDER_IDS: {
        id_list list = {.stop_after = 0};
        got = billord__store_order_ids(store, txn, ACCOUNT, NULL, collect_id, &list);
        count = list.count;
        break;
    }
    case LISTING_DUE_ROWS: {
        char out[4][BILLORD_INSTANCE_ID_BYTES_MAX + 1];
        uint32_t due_count = 99;
        bool more = false;
        got = billord__store_schedule_due(store, txn, 5000, 4, out, &due_count, &more);
        count = due_count;
        break;
    }
    case LISTING_EVENTS: {
        event_list list = {.stop_after = 0};
        got = billord__store_events(store, txn, 0, 10, collect_event, &list);
        count = list.count;
        break;
    }
    }
    mdb_txn_abort(txn);
    cr_expect(eq(int, got, err), "listing %d: %s", (int)which, billord_err_name(got));
    cr_expect(eq(sz, count, reported), "listing %d", (int)which);
}

/* A coupon row written around the typed accessors: a valid coupon value under key. */
static void raw_put_coupon(const uint8_t *key, size_t key_bytes, const char *id)
{
    billord_coupon coupon = coupon_of(ACCOUNT, id, 5);
    msgpack_sbuffer value;
    msgpack_sbuffer_init(&value);
    billord__encode_coupon(&value, &coupon);
    raw_put(BILLORD_DB_COUPONS, key, key_bytes, value.data, value.size);
    msgpack_sbuffer_destroy(&value);
}
/* ---- open and schema ------------------------------------------------------------------ */

static void open_setup(void)
{
    tempdir_make(dir);
    store = NULL;
}

static void open_teardown(void)
{
    faulty_lmdb_reset();
    billord__store_close(store);
    store = NULL;
    tempdir_remove(dir);
}

TestSuite(cov_store_open, .init = open_setup, .fini = open_teardown, .timeout = 30);

/* Opens dir and expects err; on BILLORD_OK the store stays open for the test. */
static void expect_open(billord_err expected)
{
    billord_store *opened = NULL;
    billord_err err = billord__store_open(dir, MAP_BYTES, MDB_NOSYNC, &opened);
    cr_assert(eq(int, err, expected), "open: %s", billord_err_name(err));
    if (expected == BILLORD_OK) {
        cr_assert(opened != NULL);
        store = opened;
    } else {
        cr_assert(opened == NULL, "a refused open hands out no store");
    }
}

static uint64_t stored_schema_version(void)
{
    MDB_txn *txn = begin_read();
    uint64_t version = 0;
    cr_assert(eq(int, billord__store_meta_get_u64(store, txn, "schema_version", &version),
                 BILLORD_OK));
    mdb_txn_abort(txn);
    return version;
}

Test(cov_store_open, a_map_size_of_zero_or_over_the_limit_is_refused)
{
    billord_store *opened = NULL;
    cr_assert(eq(int, billord__store_open(dir, 0, 0, &opened), BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(int, billord__store_open(dir, BILLORD_MAP_BYTES_MAX + 1, 0, &opened),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_assert(opened == NULL);
    expect_open(BILLORD_OK);   /* the limit itself is fine; nothing was left behind */
}

Test(cov_store_open, a_store_without_memory_for_its_handle_is_out_of_memory)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("allocations cannot be made to fail under a sanitizer");
    }
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_OPEN));
    billord_store *opened = NULL;
    faulty_alloc_fail_at(1, false, false);
    billord_err err = billord__store_open(dir, MAP_BYTES, MDB_NOSYNC, &opened);
    uint64_t const failures = faulty_alloc_failures();
    faulty_alloc_reset();
    cr_assert(eq(u64, failures, 1));
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(opened == NULL);
    cr_expect(eq(u64, faulty_lmdb_calls(), 0), "LMDB was not reached");
}

/*
 * One LMDB call of open failing: open answers the billord_err the LMDB code maps to, hands
 * out no store and makes no further call of that kind; nothing half-made is left behind, so
 * a retry without the fault opens the environment once and finds the schema version.
 */
typedef struct open_fault {
    faulty_lmdb_op op;
    uint64_t call;          /* the failing call of op, from 1 */
    int mdb_rc;
    billord_err err;
    bool existing;          /* the store was made before (else open makes it) */
} open_fault;

ParameterizedTestParameters(cov_store_open, a_failing_lmdb_call_fails_the_open_and_a_retry_opens)
{
    static open_fault faults[] = {
        /* A map size LMDB refuses: the environment is never opened. */
        {FAULTY_LMDB_ENV_SET_MAPSIZE, 1, EINVAL, BILLORD_E_IO, false},
        /* An invalid environment file is damage. */
        {FAULTY_LMDB_ENV_OPEN, 1, MDB_INVALID, BILLORD_E_CORRUPT, false},
        /* The first transaction cannot begin. */
        {FAULTY_LMDB_TXN_BEGIN, 1, MDB_READERS_FULL, BILLORD_E_IO, false},
        /* The fifth of the thirteen dbs: the four before it were created in the same
         * transaction, which is aborted, and the ones after it are not tried. */
        {FAULTY_LMDB_DBI_OPEN, 5, ENOMEM, BILLORD_E_NOMEM, false},
        /* The schema version of a store made before cannot be read. */
        {FAULTY_LMDB_GET, 1, EIO, BILLORD_E_IO, true},
        /* A fresh store's schema row does not fit. */
        {FAULTY_LMDB_PUT, 1, MDB_MAP_FULL, BILLORD_E_MAP_FULL, false},
        /* The first commit fails. */
        {FAULTY_LMDB_TXN_COMMIT, 1, ENOSPC, BILLORD_E_DISK_FULL, false},
    };
    return cr_make_param_array(open_fault, faults, sizeof faults / sizeof faults[0]);
}

ParameterizedTest(open_fault *fault, cov_store_open,
                  a_failing_lmdb_call_fails_the_open_and_a_retry_opens)
{
    if (fault->existing) {
        expect_open(BILLORD_OK);
        billord__store_close(store);
        store = NULL;
    }
    faulty_lmdb_fail_at(fault->call, FAULTY_LMDB_MASK(fault->op), fault->mdb_rc, false);
    expect_open(fault->err);
    cr_assert(eq(u64, faulty_lmdb_failures(), 1));
    cr_assert(eq(u64, faulty_lmdb_calls(), fault->call), "no call of it after the failed one");
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_OPEN));
    expect_open(BILLORD_OK);
    cr_assert(eq(u64, faulty_lmdb_calls(), 1));
    cr_assert(eq(u64, stored_schema_version(), BILLORD_SCHEMA_VERSION));
}
Test(cov_store_open, another_schema_version_is_refused)
{
    expect_open(BILLORD_OK);
    MDB_txn *txn = begin_write();
    cr_assert(eq(int, billord__store_meta_put_u64(store, txn, "schema_version",
                                                  BILLORD_SCHEMA_VERSION + 1), BILLORD_OK));
    commit(txn);
    billord__store_close(store);
    store = NULL;
    expect_open(BILLORD_E_SCHEMA);
}

Test(cov_store_open, a_damaged_schema_version_is_corrupt)
{
    expect_open(BILLORD_OK);
    raw_put(BILLORD_DB_META, "schema_version", strlen("schema_version"), "\xc1", 1);
    billord__store_close(store);
    store = NULL;
    expect_open(BILLORD_E_CORRUPT);
}

Test(cov_store_open, a_full_map_is_map_full_and_keeps_what_was_committed)
{
    /* A small map (LMDB rounds it to pages): accounts are put in one transaction until
     * LMDB runs out of map; the answer is BILLORD_E_MAP_FULL ("raise --map-size"). */
    billord_store *small = NULL;
    cr_assert(eq(int, billord__store_open(dir, 256u * 1024u, MDB_NOSYNC, &small), BILLORD_OK));
    store = small;
    billord_account account;
    memset(&account, 0, sizeof account);
    snprintf(account.id, sizeof account.id, "committed");
    account.balance_micros = 42;
    MDB_txn *txn = begin_write();
    cr_assert(eq(int, billord__store_account_put(store, txn, &account), BILLORD_OK));
    commit(txn);

    txn = begin_write();
    billord_err err = BILLORD_OK;
    uint32_t put = 0;
    for (; put < 100000 && err == BILLORD_OK; put++) {
        snprintf(account.id, sizeof account.id, "acc-%08u", put);
        err = billord__store_account_put(store, txn, &account);
    }
    mdb_txn_abort(txn);
    cr_assert(eq(int, err, BILLORD_E_MAP_FULL));
    cr_assert(put > 10, "the map held some accounts before it filled (%u)", put);

    txn = begin_read();
    billord_account back;
    cr_assert(eq(int, billord__store_account_get(store, txn, "committed", &back), BILLORD_OK));
    cr_assert(eq(i64, back.balance_micros, 42));
    cr_assert(eq(int, billord__store_account_get(store, txn, "acc-00000000", &back),
                 BILLORD_E_NOT_FOUND));
    mdb_txn_abort(txn);
}

/* ---- an open store ------------------------------------------------------------------- */

static void store_setup(void)
{
    tempdir_make(dir);
    store = NULL;
    cr_assert(eq(int, billord__store_open(dir, MAP_BYTES, MDB_NOSYNC, &store), BILLORD_OK));
}

TestSuite(cov_store, .init = store_setup, .fini = open_teardown, .timeout = 30);

Test(cov_store, every_db_has_its_layout_name)
{
    static const char *const names[BILLORD_DB_COUNT] = {
        "meta", "accounts", "access_keys", "coupons", "prices", "instances", "orders",
        "account_orders", "instance_orders", "tokens", "token_expiry", "schedule", "outbox",
    };
    for (unsigned db = 0; db < BILLORD_DB_COUNT; db++) {
        cr_expect(eq(str, (char *)billord__store_db_name((billord_db_id)db), (char *)names[db]));
    }
    cr_expect(eq(str, (char *)billord__store_db_name(BILLORD_DB_COUNT), "unknown"));
    cr_expect(eq(str, (char *)billord__store_db_name((billord_db_id)-1), "unknown"));
}

Test(cov_store, lmdb_codes_map_to_billord_errors)
{
    static const struct {
        int mdb_rc;
        billord_err err;
    } rows[] = {
        {MDB_SUCCESS, BILLORD_OK},           {MDB_NOTFOUND, BILLORD_E_NOT_FOUND},
        {MDB_KEYEXIST, BILLORD_E_EXISTS},    {MDB_MAP_FULL, BILLORD_E_MAP_FULL},
        {ENOSPC, BILLORD_E_DISK_FULL},       {ENOMEM, BILLORD_E_NOMEM},
        {MDB_CORRUPTED, BILLORD_E_CORRUPT},  {MDB_PAGE_NOTFOUND, BILLORD_E_CORRUPT},
        {MDB_INVALID, BILLORD_E_CORRUPT},    {EIO, BILLORD_E_IO},
        {MDB_READERS_FULL, BILLORD_E_IO},    {MDB_TXN_FULL, BILLORD_E_IO},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cr_expect(eq(int, billord__store_err(rows[i].mdb_rc), rows[i].err), "mdb rc %d",
                  rows[i].mdb_rc);
    }
}

Test(cov_store, a_real_key_collision_is_exists)
{
    /* MDB_NOOVERWRITE is not used by the store; the mapping is checked on LMDB's own answer. */
    MDB_txn *txn = begin_write();
    MDB_val key = {1, "k"};
    MDB_val value = {1, "v"};
    cr_assert(eq(int, mdb_put(txn, store->dbis[BILLORD_DB_META], &key, &value, 0), MDB_SUCCESS));
    int rc = mdb_put(txn, store->dbis[BILLORD_DB_META], &key, &value, MDB_NOOVERWRITE);
    mdb_txn_abort(txn);
    cr_assert(eq(int, billord__store_err(rc), BILLORD_E_EXISTS));
}

Test(cov_store, a_transaction_that_cannot_begin_is_an_error)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), MDB_READERS_FULL, false);
    MDB_txn *txn = NULL;
    cr_assert(eq(int, billord__store_begin(store, NULL, true, &txn), BILLORD_E_IO));
    cr_assert(txn == NULL);
}

Test(cov_store, emptiness_counts_state_and_fails_with_lmdb)
{
    MDB_txn *txn = begin_read();
    bool empty = false;
    cr_assert(eq(int, billord__store_is_empty(store, txn, &empty), BILLORD_OK));
    cr_assert(empty);
    faulty_lmdb_fail_at(3, FAULTY_LMDB_MASK(FAULTY_LMDB_STAT), EIO, false);
    empty = true;
    cr_assert(eq(int, billord__store_is_empty(store, txn, &empty), BILLORD_E_IO));
    mdb_txn_abort(txn);
    faulty_lmdb_reset();

    /* A price alone (the last db looked at) makes the store non-empty. */
    billord_price price;
    memset(&price, 0, sizeof price);
    price.product = BILLORD_PRODUCT_ECS;
    snprintf(price.instance_type, sizeof price.instance_type, "ecs.g6.large");
    price.month_micros = 5;
    txn = begin_write();
    cr_assert(eq(int, billord__store_price_put(store, txn, &price), BILLORD_OK));
    commit(txn);
    txn = begin_read();
    cr_assert(eq(int, billord__store_is_empty(store, txn, &empty), BILLORD_OK));
    cr_assert(not(empty));
    mdb_txn_abort(txn);
}

Test(cov_store, ids_out_of_their_limits_are_not_found_without_a_lookup)
{
    char long_id[300];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    MDB_txn *txn = begin_read();
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_GET));
    billord_account account;
    billord_access_key_record key;
    billord_instance instance;
    cr_expect(eq(int, billord__store_account_get(store, txn, long_id, &account),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord__store_access_key_get(store, txn, "", &key), BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord__store_access_key_get(store, txn, long_id, &key),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord__store_instance_get(store, txn, "", &instance),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord__store_instance_get(store, txn, long_id, &instance),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(u64, faulty_lmdb_calls(), 0), "LMDB was not asked");
    /* Ids within the limits are looked up: absent ones are not found too. */
    cr_expect(eq(int, billord__store_account_get(store, txn, "nobody", &account),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord__store_access_key_get(store, txn, "LTAInone", &key),
                 BILLORD_E_NOT_FOUND));
    billord_price price;
    cr_expect(eq(int, billord__store_price_get(store, txn, BILLORD_PRODUCT_RDS, "rds.none",
                                               &price), BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord__store_instance_get(store, txn, "i-none", &instance),
                 BILLORD_E_NOT_FOUND));
    billord_order order;
    cr_expect(eq(int, billord__store_order_get(store, txn, 12345, &order), BILLORD_E_NOT_FOUND));
    cr_expect(eq(u64, faulty_lmdb_calls(), 5));
    mdb_txn_abort(txn);
}

Test(cov_store, access_keys_round_trip)
{
    billord_access_key_record key;
    memset(&key, 0, sizeof key);
    snprintf(key.account, sizeof key.account, ACCOUNT);
    snprintf(key.secret, sizeof key.secret, "s3cret");
    MDB_txn *txn = begin_write();
    cr_assert(eq(int, billord__store_access_key_put(store, txn, "LTAIkey", &key), BILLORD_OK));
    commit(txn);
    txn = begin_read();
    billord_access_key_record back;
    cr_assert(eq(int, billord__store_access_key_get(store, txn, "LTAIkey", &back), BILLORD_OK));
    mdb_txn_abort(txn);
    cr_assert(eq(str, back.account, ACCOUNT));
    cr_assert(eq(str, back.secret, "s3cret"));
}

/* ---- coupons ----------------------------------------------------------------------- */

Test(cov_store, coupons_of_an_account_come_in_id_order_and_fill_exactly_their_capacity)
{
    static const char *const ids[] = {"c-3", "c-1", "c-2"};
    put_coupons(ACCOUNT, ids, 3);
    static const char *const other[] = {"c-0"};
    put_coupons(OTHER_ACCOUNT, other, 1);
    MDB_txn *txn = begin_read();
    billord_coupon coupons[3];
    size_t count = 99;
    cr_assert(eq(int, billord__store_coupons_of_account(store, txn, ACCOUNT, coupons, 3, &count),
                 BILLORD_OK));
    cr_assert(eq(sz, count, 3));
    cr_expect(eq(str, coupons[0].id, "c-1"));
    cr_expect(eq(str, coupons[1].id, "c-2"));
    cr_expect(eq(str, coupons[2].id, "c-3"));
    cr_expect(eq(i64, coupons[2].amount_micros, 1000000));
    cr_expect(eq(str, coupons[0].account, ACCOUNT));

    count = 99;
    cr_assert(eq(int, billord__store_coupons_of_account(store, txn, ACCOUNT, coupons, 2, &count),
                 BILLORD_E_TOO_LARGE));
    cr_assert(eq(sz, count, 99), "no count on a refusal");
    mdb_txn_abort(txn);
}

Test(cov_store, a_coupon_key_with_an_overlong_id_is_corrupt)
{
    static const char *const ids[] = {"c-1"};
    put_coupons(ACCOUNT, ids, 1);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    char long_id[BILLORD_COUPON_ID_BYTES_MAX + 2];
    memset(long_id, 'z', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    /* A valid value under a key whose id part is one byte over the limit. */
    raw_put_coupon(key, billord__key_pair(key, sizeof key, ACCOUNT, long_id), "c-2");
    expect_listing(LISTING_COUPONS, BILLORD_E_CORRUPT, 99);
}

/* Regression: a row under the account's prefix without a coupon id sorts before every
 * coupon of the account; it ended the listing, and the account seemed to have none. */
Test(cov_store, a_coupon_key_without_an_id_is_corrupt_not_the_end_of_the_list)
{
    static const char *const ids[] = {"c-1"};
    put_coupons(ACCOUNT, ids, 1);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    raw_put_coupon(key, billord__key_pair(key, sizeof key, ACCOUNT, ""), "c-0");
    expect_listing(LISTING_COUPONS, BILLORD_E_CORRUPT, 99);
}

Test(cov_store, a_coupon_value_that_does_not_decode_is_corrupt)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = billord__key_pair(key, sizeof key, ACCOUNT, "c-bad");
    raw_put(BILLORD_DB_COUPONS, key, key_bytes, "\x93\x01\x02\x03", 4);
    expect_listing(LISTING_COUPONS, BILLORD_E_CORRUPT, 99);
}
/* ---- orders ------------------------------------------------------------------------ */

Test(cov_store, a_new_order_fails_with_either_of_its_index_rows)
{
    for (uint64_t failing_put = 1; failing_put <= 3; failing_put++) {
        MDB_txn *txn = begin_write();
        billord_order order = order_of(7, ACCOUNT, "i-acc0001");
        faulty_lmdb_fail_at(failing_put, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), MDB_MAP_FULL, false);
        cr_expect(eq(int, billord__store_order_put(store, txn, &order, true), BILLORD_E_MAP_FULL),
                  "put %llu", (unsigned long long)failing_put);
        cr_expect(eq(u64, faulty_lmdb_calls(), failing_put), "no put after the failed one");
        mdb_txn_abort(txn);
    }
    /* An update writes the order row only. */
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_PUT));
    MDB_txn *txn = begin_write();
    billord_order order = order_of(7, ACCOUNT, "i-acc0001");
    cr_assert(eq(int, billord__store_order_put(store, txn, &order, false), BILLORD_OK));
    commit(txn);
    cr_expect(eq(u64, faulty_lmdb_calls(), 1));
    cr_expect(eq(sz, db_entries(BILLORD_DB_ACCOUNT_ORDERS), 0));
}

Test(cov_store, order_ids_of_an_account_or_instance_in_order_until_the_visitor_stops)
{
    static const uint64_t ids[] = {30, 10, 20};
    put_orders(ids, 3);
    MDB_txn *other = begin_write();
    billord_order stranger = order_of(5, OTHER_ACCOUNT, "i-other");
    cr_assert(eq(int, billord__store_order_put(store, other, &stranger, true), BILLORD_OK));
    commit(other);

    MDB_txn *txn = begin_read();
    id_list all = {.stop_after = 0};
    cr_assert(eq(int, billord__store_order_ids(store, txn, ACCOUNT, NULL, collect_id, &all),
                 BILLORD_OK));
    cr_assert(eq(sz, all.count, 3));
    cr_expect(eq(u64, all.ids[0], 10));
    cr_expect(eq(u64, all.ids[1], 20));
    cr_expect(eq(u64, all.ids[2], 30));

    id_list first = {.stop_after = 1};
    cr_assert(eq(int, billord__store_order_ids(store, txn, ACCOUNT, "i-acc0001", collect_id,
                                               &first), BILLORD_OK));
    cr_assert(eq(sz, first.count, 1), "the visitor stopped the walk");
    cr_expect(eq(u64, first.ids[0], 10));

    id_list none = {.stop_after = 0};
    cr_assert(eq(int, billord__store_order_ids(store, txn, "nobody", NULL, collect_id, &none),
                 BILLORD_OK));
    cr_expect(eq(sz, none.count, 0));
    mdb_txn_abort(txn);
}

/* Regression: an index row of the account that is not prefix + be64 ended the walk, and
 * the orders after it went missing from DescribeOrders. */
/* Regression: an index row of the account that is not prefix + be64 ended the walk, and
 * the orders after it went missing from DescribeOrders. */
Test(cov_store, an_order_index_key_of_the_wrong_size_is_corrupt_not_the_end_of_the_list)
{
    put_two_rows(LISTING_ORDER_IDS);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t prefix_bytes = billord__key_pair(key, sizeof key, ACCOUNT, "");
    memset(key + prefix_bytes, 0, 7);           /* sorts before be64(1) */
    raw_put(BILLORD_DB_ACCOUNT_ORDERS, key, prefix_bytes + 7, "", 0);
    expect_listing(LISTING_ORDER_IDS, BILLORD_E_CORRUPT, 0);
}

/* ---- tokens ------------------------------------------------------------------------ */

Test(cov_store, a_token_whose_row_fails_writes_no_expiry_row)
{
    MDB_txn *txn = begin_write();
    billord_token_record record = token_of(1000);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), ENOSPC, false);
    cr_assert(eq(int, billord__store_token_put(store, txn, ACCOUNT, "tok", &record),
                 BILLORD_E_DISK_FULL));
    cr_assert(eq(u64, faulty_lmdb_calls(), 1));
    commit(txn);
    faulty_lmdb_reset();
    cr_expect(eq(sz, db_entries(BILLORD_DB_TOKENS), 0));
    cr_expect(eq(sz, db_entries(BILLORD_DB_TOKEN_EXPIRY), 0));
}

Test(cov_store, pruning_takes_the_oldest_tokens_up_to_its_count)
{
    static const char *const tokens[] = {"new", "old", "mid"};
    static const int64_t created[] = {3000, 1000, 2000};
    put_tokens(tokens, created, 3);
    MDB_txn *txn = begin_write();
    uint32_t pruned = 0;
    cr_assert(eq(int, billord__store_tokens_prune(store, txn, 5000, 2, &pruned), BILLORD_OK));
    commit(txn);
    cr_assert(eq(u32, pruned, 2));
    cr_expect(not(token_exists("old")));
    cr_expect(not(token_exists("mid")));
    cr_expect(token_exists("new"));
    cr_expect(eq(sz, db_entries(BILLORD_DB_TOKEN_EXPIRY), 1));
}

Test(cov_store, pruning_removes_an_expiry_row_whose_token_is_gone)
{
    static const char *const tokens[] = {"a", "b"};
    static const int64_t created[] = {1000, 2000};
    put_tokens(tokens, created, 2);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    MDB_val token_key = {billord__key_pair(key, sizeof key, ACCOUNT, "a"), key};
    MDB_txn *txn = begin_write();
    cr_assert(eq(int, mdb_del(txn, store->dbis[BILLORD_DB_TOKENS], &token_key, NULL),
                  MDB_SUCCESS));
    commit(txn);

    txn = begin_write();
    uint32_t pruned = 0;
    cr_assert(eq(int, billord__store_tokens_prune(store, txn, 1500, 10, &pruned), BILLORD_OK));
    commit(txn);
    cr_expect(eq(u32, pruned, 1), "the orphaned expiry row counts as pruned");
    cr_expect(eq(sz, db_entries(BILLORD_DB_TOKEN_EXPIRY), 1));
    cr_expect(token_exists("b"));
}

Test(cov_store, pruning_stops_at_an_expiry_key_too_short_to_hold_a_token)
{
    static const char *const tokens[] = {"a"};
    static const int64_t created[] = {1000};
    put_tokens(tokens, created, 1);
    uint8_t short_key[8];
    billord__be64_put(short_key, 10);     /* sorts first; no token part */
    raw_put(BILLORD_DB_TOKEN_EXPIRY, short_key, sizeof short_key, "", 0);
    MDB_txn *txn = begin_write();
    uint32_t pruned = 99;
    cr_assert(eq(int, billord__store_tokens_prune(store, txn, 5000, 10, &pruned), BILLORD_OK));
    mdb_txn_abort(txn);
    cr_expect(eq(u32, pruned, 0));
    cr_expect(token_exists("a"));
}

Test(cov_store, pruning_fails_with_each_lmdb_step)
{
    static const char *const tokens[] = {"a", "b"};
    static const int64_t created[] = {1000, 2000};
    put_tokens(tokens, created, 2);
    static const struct {
        faulty_lmdb_op op;
        uint64_t call;
        int mdb_rc;
        billord_err err;
    } steps[] = {
        {FAULTY_LMDB_CURSOR_OPEN, 1, EIO, BILLORD_E_IO},
        {FAULTY_LMDB_CURSOR_GET, 1, MDB_CORRUPTED, BILLORD_E_CORRUPT},   /* MDB_FIRST */
        {FAULTY_LMDB_DEL, 1, EIO, BILLORD_E_IO},                          /* the token row */
        {FAULTY_LMDB_CURSOR_DEL, 1, MDB_MAP_FULL, BILLORD_E_MAP_FULL},    /* the expiry row */
        {FAULTY_LMDB_CURSOR_GET, 2, MDB_PAGE_NOTFOUND, BILLORD_E_CORRUPT}, /* MDB_NEXT */
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        MDB_txn *txn = begin_write();
        uint32_t pruned = 99;
        faulty_lmdb_fail_at(steps[i].call, FAULTY_LMDB_MASK(steps[i].op), steps[i].mdb_rc, false);
        cr_expect(eq(int, billord__store_tokens_prune(store, txn, 5000, 10, &pruned),
                     steps[i].err), "step %zu", i);
        cr_expect(eq(u64, faulty_lmdb_failures(), 1), "step %zu", i);
        cr_expect(eq(u32, pruned, 99), "step %zu: no count on a failure", i);
        mdb_txn_abort(txn);
    }
    faulty_lmdb_reset();
    cr_expect(token_exists("a") && token_exists("b"), "aborted prunes removed nothing");
}

/* ---- schedule ---------------------------------------------------------------------- */

Test(cov_store, deleting_a_schedule_row_that_is_not_there_is_corrupt)
{
    static const int64_t due[] = {1000};
    static const char *const ids[] = {"i-1"};
    put_schedule(due, ids, 1);
    MDB_txn *txn = begin_write();
    cr_expect(eq(int, billord__store_schedule_del(store, txn, 2000, "i-1"), BILLORD_E_CORRUPT));
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_DEL), EIO, false);
    cr_expect(eq(int, billord__store_schedule_del(store, txn, 1000, "i-1"), BILLORD_E_IO));
    faulty_lmdb_reset();
    cr_expect(eq(int, billord__store_schedule_del(store, txn, 1000, "i-1"), BILLORD_OK));
    commit(txn);
    cr_expect(eq(sz, db_entries(BILLORD_DB_SCHEDULE), 0));
}

Test(cov_store, due_rows_come_earliest_first_and_say_when_more_follow)
{
    static const int64_t due[] = {3000, 1000, 2000, 9000};
    static const char *const ids[] = {"i-c", "i-a", "i-b", "i-later"};
    put_schedule(due, ids, 4);
    MDB_txn *txn = begin_read();
    char out[4][BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    uint32_t count = 0;
    bool more = true;
    cr_assert(eq(int, billord__store_schedule_due(store, txn, 5000, 4, out, &count, &more),
                 BILLORD_OK));
    cr_assert(eq(u32, count, 3));
    cr_expect(not(more));
    cr_expect(eq(str, out[0], "i-a"));
    cr_expect(eq(str, out[1], "i-b"));
    cr_expect(eq(str, out[2], "i-c"));
    cr_assert(eq(int, billord__store_schedule_due(store, txn, 5000, 2, out, &count, &more),
                 BILLORD_OK));
    cr_expect(eq(u32, count, 2));
    cr_expect(more);
    mdb_txn_abort(txn);
}

Test(cov_store, a_schedule_key_without_or_with_an_overlong_id_is_corrupt)
{
    uint8_t key[8 + BILLORD_INSTANCE_ID_BYTES_MAX + 1];
    billord__be64_put(key, 500);
    raw_put(BILLORD_DB_SCHEDULE, key, 8, "", 0);
    expect_listing(LISTING_DUE_ROWS, BILLORD_E_CORRUPT, 99);

    MDB_txn *fix = begin_write();
    MDB_val bare = {8, key};
    cr_assert(eq(int, mdb_del(fix, store->dbis[BILLORD_DB_SCHEDULE], &bare, NULL), MDB_SUCCESS));
    commit(fix);
    memset(key + 8, 'i', sizeof key - 8);
    raw_put(BILLORD_DB_SCHEDULE, key, sizeof key, "", 0);
    expect_listing(LISTING_DUE_ROWS, BILLORD_E_CORRUPT, 99);
}
/* ---- outbox ------------------------------------------------------------------------ */

Test(cov_store, events_after_a_sequence_come_in_order_until_the_visitor_stops)
{
    put_events(4);
    MDB_txn *txn = begin_read();
    event_list after_one = {.stop_after = 0};
    cr_assert(eq(int, billord__store_events(store, txn, 1, 2, collect_event, &after_one),
                 BILLORD_OK));
    cr_assert(eq(sz, after_one.count, 2), "max_count bounds the answer");
    cr_expect(eq(u64, after_one.events[0].seq, 2));
    cr_expect(eq(u64, after_one.events[1].seq, 3));
    cr_expect(eq(str, after_one.events[1].instance, "i-3"));

    event_list stopped = {.stop_after = 1};
    cr_assert(eq(int, billord__store_events(store, txn, 0, 10, collect_event, &stopped),
                 BILLORD_OK));
    cr_expect(eq(sz, stopped.count, 1));
    mdb_txn_abort(txn);
}

Test(cov_store, an_outbox_key_that_is_not_a_sequence_is_corrupt)
{
    put_events(1);
    raw_put(BILLORD_DB_OUTBOX, "\xff\xff\xff\xff\xff\xff\xff\xff\x01", 9, "", 0);
    /* The event before the bad key was delivered. */
    expect_listing(LISTING_EVENTS, BILLORD_E_CORRUPT, 1);
}

Test(cov_store, an_outbox_value_that_does_not_decode_is_corrupt)
{
    uint8_t key[8];
    billord__be64_put(key, 1);
    raw_put(BILLORD_DB_OUTBOX, key, sizeof key, "\x91\x01", 2);
    expect_listing(LISTING_EVENTS, BILLORD_E_CORRUPT, 0);
}

/* ---- every listing ---------------------------------------------------------------------- */

/* Rows keyed by the account (coupons, the account's order index): a key after the
 * account's rows that is shorter than its prefix ("1234567890123457" sorts after
 * "1234567890123456\0...") ends the listing. */
typedef struct account_keyed {
    listing which;
    billord_db_id db;
} account_keyed;

ParameterizedTestParameters(cov_store, a_shorter_key_after_the_accounts_rows_ends_the_listing)
{
    static account_keyed listings[] = {
        {LISTING_COUPONS, BILLORD_DB_COUPONS},
        {LISTING_ORDER_IDS, BILLORD_DB_ACCOUNT_ORDERS},
    };
    return cr_make_param_array(account_keyed, listings, sizeof listings / sizeof listings[0]);
}

ParameterizedTest(account_keyed *keyed, cov_store,
                  a_shorter_key_after_the_accounts_rows_ends_the_listing)
{
    put_two_rows(keyed->which);
    raw_put(keyed->db, OTHER_ACCOUNT, strlen(OTHER_ACCOUNT), "", 0);
    expect_listing(keyed->which, BILLORD_OK, 2);
}


/* A listing of two rows whose cursor fails to open, or whose second step (MDB_NEXT after
 * the first row) fails: the LMDB code's error; no count is answered, and a visitor was
 * given only the rows before the failure. */
typedef struct cursor_fault {
    listing which;
    faulty_lmdb_op op;
    uint64_t call;
    int mdb_rc;
    billord_err err;
    size_t reported;
} cursor_fault;

ParameterizedTestParameters(cov_store, a_listing_fails_with_its_cursor)
{
    static cursor_fault faults[] = {
        {LISTING_COUPONS, FAULTY_LMDB_CURSOR_OPEN, 1, EIO, BILLORD_E_IO, 99},
        {LISTING_COUPONS, FAULTY_LMDB_CURSOR_GET, 2, MDB_CORRUPTED, BILLORD_E_CORRUPT, 99},
        {LISTING_ORDER_IDS, FAULTY_LMDB_CURSOR_OPEN, 1, ENOMEM, BILLORD_E_NOMEM, 0},
        {LISTING_ORDER_IDS, FAULTY_LMDB_CURSOR_GET, 2, EIO, BILLORD_E_IO, 1},
        {LISTING_DUE_ROWS, FAULTY_LMDB_CURSOR_OPEN, 1, EIO, BILLORD_E_IO, 99},
        {LISTING_DUE_ROWS, FAULTY_LMDB_CURSOR_GET, 2, EIO, BILLORD_E_IO, 99},
        {LISTING_EVENTS, FAULTY_LMDB_CURSOR_OPEN, 1, ENOMEM, BILLORD_E_NOMEM, 0},
        {LISTING_EVENTS, FAULTY_LMDB_CURSOR_GET, 2, EIO, BILLORD_E_IO, 1},
    };
    return cr_make_param_array(cursor_fault, faults, sizeof faults / sizeof faults[0]);
}

ParameterizedTest(cursor_fault *fault, cov_store, a_listing_fails_with_its_cursor)
{
    put_two_rows(fault->which);
    faulty_lmdb_fail_at(fault->call, FAULTY_LMDB_MASK(fault->op), fault->mdb_rc, false);
    expect_listing(fault->which, fault->err, fault->reported);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
}
