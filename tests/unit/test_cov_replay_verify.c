/*
 * test_cov_replay_verify.c: what billord_verify() and billord_replay_digest() (src/replay/
 * verify.c, digest.c) report about damaged or inconsistent data directories, beyond the
 * few faults test_replay plants: every kind of record that does not decode or whose key has
 * the wrong shape, references to accounts, instances, orders and tokens that do not exist,
 * indexes that disagree with their tables, money that does not add up, logs with gaps,
 * repeats, undecodable records, torn tails and missing beginnings, stores that are missing,
 * damaged or older than this build, and LMDB failing under the read
 * (tests/support/faulty_lmdb.h). Faults are planted with raw LMDB writes into a healthy
 * directory; each test asserts exactly which problems are found, so a check that stops
 * finding its fault, or that reports a healthy record, fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <lmdb.h>

#include <billord/db.h>
#include <billord/replay.h>
#include <billord/wal.h>

#include "store/codec.h"
#include "store/store.h"
#include "support/faulty_lmdb.h"
#include "support/replay_fixture.h"

#define MAIN REPLAY_MAIN_ACCOUNT
#define POOR "3000000000000003"
#define NOBODY "5555555555555555"

static void teardown(void)
{
    faulty_lmdb_reset();
    replay_fixture_teardown();
}

TestSuite(cov_replay_verify, .init = replay_fixture_setup, .fini = teardown, .timeout = 120);

/* ---- a healthy directory ------------------------------------------------------------------- */

static void submit_renewal(billord_engine *engine, const char *account, const char *instance,
                           const char *token, uint32_t n)
{
    replay_renewal renewal;
    replay_renewal_init(&renewal, account, instance, NULL, token, n);
    billord_outcome outcome;
    cr_assert(eq(int, billord_engine_submit(engine, &renewal.command, 1, 0, NULL, &outcome, NULL),
                 BILLORD_OK));
    cr_assert(eq(int, outcome.code, BILLORD_API_OK), "%s", outcome.message);
}

/* The demo fixture, a renewal paid from the balance and a coupon, and one paid on credit:
 * two tokens with their expiry rows, orders with index rows. No log (a replayed directory). */
static void make_state(const char *data_dir)
{
    char fixture_path[TEMPDIR_PATH_BYTES];
    tempdir_source_path(fixture_path, REPLAY_DEMO_FIXTURE);
    billord_engine *engine = replay_engine_seeded(data_dir, fixture_path);
    submit_renewal(engine, MAIN, "i-acc0001", "v-1", 1);
    submit_renewal(engine, POOR, "i-poor0001", "v-2", 2);
    billord_engine_close(engine);
}

/* make_state(DATA), and a raw write transaction on its store to plant faults with. */
static raw_store state_to_plant(void)
{
    make_state(replay_data);
    raw_store r;
    raw_open(&r, replay_data);
    return r;
}

/* Verify DATA: exactly `expected` problems, each of the NULL-terminated texts among them. */
static void expect_problems(uint64_t expected, ...)
{
    replay_found *f = replay_verify(replay_data, NULL, NULL);
    cr_expect(eq(u64, f->count, expected), "%s", f->text);
    va_list args;
    va_start(args, expected);
    for (const char *text = va_arg(args, const char *); text != NULL;
         text = va_arg(args, const char *)) {
        cr_expect(strstr(f->text, text) != NULL, "'%s' not among:\n%s", text, f->text);
    }
    va_end(args);
    free(f);
}

static void expect_found_v(const replay_found *f, uint64_t count, const char *format,
                           va_list args)
{
    char text[256];
    vsnprintf(text, sizeof text, format, args);
    cr_expect(eq(u64, f->count, count), "%s", f->text);
    cr_expect(strstr(f->text, text) != NULL, "'%s' not among:\n%s", text, f->text);
}

/* Exactly `count` problems in f, the text format makes among them. */
__attribute__((format(printf, 3, 4)))
static void expect_found(const replay_found *f, uint64_t count, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    expect_found_v(f, count, format, args);
    va_end(args);
}

/* Verify DATA (and archive_dir, NULL: none): exactly one problem, the text format makes. */
__attribute__((format(printf, 2, 3)))
static void expect_one_problem(const char *archive_dir, const char *format, ...)
{
    replay_found *f = replay_verify(replay_data, archive_dir, NULL);
    va_list args;
    va_start(args, format);
    expect_found_v(f, 1, format, args);
    va_end(args);
    free(f);
}

/* ---- raw LMDB access to DATA/state ----------------------------------------------------------- */

static void raw_del(raw_store *r, billord_db_id db, const void *key, size_t key_bytes)
{
    MDB_val k = {key_bytes, (void *)key};
    cr_assert(eq(int, mdb_del(r->txn, r->dbis[db], &k, NULL), 0));
}

static billord_instance raw_instance(raw_store *r, const char *id)
{
    MDB_val v;
    raw_get(r, BILLORD_DB_INSTANCES, id, strlen(id), &v);
    billord_instance instance;
    cr_assert(eq(int, billord__decode_instance(v.mv_data, v.mv_size, id, &instance), BILLORD_OK));
    return instance;
}

static void raw_put_instance(raw_store *r, const char *key, const billord_instance *instance)
{
    billord__encode_instance(&r->buffer, instance);
    raw_put_encoded(r, BILLORD_DB_INSTANCES, key, strlen(key));
}

static size_t be64_key(uint8_t out[8], uint64_t id)
{
    billord__be64_put(out, id);
    return 8;
}

/* owner \0 be64(id): an account_orders or instance_orders key. */
static size_t index_key(uint8_t *out, const char *owner, uint64_t id)
{
    size_t bytes = strlen(owner);
    memcpy(out, owner, bytes);
    out[bytes] = '\0';
    billord__be64_put(out + bytes + 1, id);
    return bytes + 9;
}

/* The newest order (the renewal on credit) and its id. */
static billord_order raw_last_order(raw_store *r)
{
    MDB_cursor *cursor = NULL;
    cr_assert(eq(int, mdb_cursor_open(r->txn, r->dbis[BILLORD_DB_ORDERS], &cursor), 0));
    MDB_val k, v;
    cr_assert(eq(int, mdb_cursor_get(cursor, &k, &v, MDB_LAST), 0));
    uint64_t id = billord__be64_get(k.mv_data);
    billord_order order;
    cr_assert(eq(int, billord__decode_order(v.mv_data, v.mv_size, id, &order), BILLORD_OK));
    mdb_cursor_close(cursor);
    return order;
}

static void raw_put_order(raw_store *r, const billord_order *order)
{
    uint8_t key[8];
    billord__encode_order(&r->buffer, order);
    raw_put_encoded(r, BILLORD_DB_ORDERS, key, be64_key(key, order->id));
}

static void raw_put_index_rows(raw_store *r, const billord_order *order)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    raw_put(r, BILLORD_DB_ACCOUNT_ORDERS, key, index_key(key, order->account, order->id), "", 0);
    raw_put(r, BILLORD_DB_INSTANCE_ORDERS, key, index_key(key, order->instance, order->id), "",
            0);
}

static billord_token_record *raw_token(raw_store *r, const char *account, const char *token)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    MDB_val v;
    raw_get(r, BILLORD_DB_TOKENS, key, billord__key_pair(key, sizeof key, account, token), &v);
    billord_token_record *record = malloc(sizeof *record);
    cr_assert(record != NULL);
    cr_assert(eq(int, billord__decode_token(v.mv_data, v.mv_size, record), BILLORD_OK));
    return record;
}

/* be64(created) account \0 token: a token_expiry key. */
static size_t expiry_key(uint8_t *out, int64_t created_ms, const char *account, const char *token)
{
    billord__be64_put(out, (uint64_t)created_ms);
    return 8 + billord__key_pair(out + 8, BILLORD_STORE_KEY_BYTES_MAX, account, token);
}

static const uint8_t garbage[] = {0xc1, 0x00, 0x07};   /* 0xc1: msgpack's never-used byte */

/* ---- healthy --------------------------------------------------------------------------------- */

Test(cov_replay_verify, a_healthy_directory_without_a_log_has_no_problem)
{
    make_state(replay_data);
    billord_verify_report report;
    replay_found *f = replay_verify(replay_data, NULL, &report);
    cr_expect(eq(u64, f->count, 0), "%s", f->text);
    cr_expect(report.wal_present == false, "a replayed directory keeps no log");
    cr_expect(eq(u64, report.wal_records, 0));
    cr_expect(eq(u64, report.accounts, 4));
    cr_expect(eq(u64, report.tokens, 2));
    cr_expect(report.orders >= 2);
    cr_expect(report.instances >= 10);
    cr_expect(report.lmdb_values > report.accounts + report.instances + report.orders);
    free(f);
    /* and without a problem callback the same */
    cr_assert(eq(int, billord_verify(replay_data, NULL, NULL, NULL, &report), BILLORD_OK));
    cr_expect(eq(u64, report.problems, 0));
}

Test(cov_replay_verify, many_accounts_and_instances_are_all_checked)
{
    raw_store r = state_to_plant();
    billord_account account = raw_account(&r, POOR);
    billord_instance instance = raw_instance(&r, "i-acc0004");
    /* more than the first allocation of each table holds: 100 accounts without orders, and
     * an instance of each */
    for (int i = 0; i < 100; i++) {
        snprintf(account.id, sizeof account.id, "77770000000%05d", i);
        account.balance_micros = account.balance_initial_micros = 1000000 + i;
        account.credit_used_micros = 0;
        raw_put_account(&r, &account);
        snprintf(instance.id, sizeof instance.id, "i-many%05d", i);
        snprintf(instance.account, sizeof instance.account, "%s", account.id);
        instance.unpaid_order_count = 0;
        raw_put_instance(&r, instance.id, &instance);
    }
    raw_commit(&r);
    billord_verify_report report;
    replay_found *f = replay_verify(replay_data, NULL, &report);
    cr_expect(eq(u64, f->count, 0), "%s", f->text);
    cr_expect(eq(u64, report.accounts, 104));
    free(f);
    /* and one of them wrong is found among them */
    raw_open(&r, replay_data);
    billord_account last = raw_account(&r, "7777000000000099");
    last.balance_micros -= 1;
    raw_put_account(&r, &last);
    raw_commit(&r);
    expect_problems(1, "money: account 7777000000000099: balance_initial", NULL);
}

Test(cov_replay_verify, problems_are_counted_without_a_callback)
{
    raw_store r = state_to_plant();
    raw_put(&r, BILLORD_DB_PRICES, "x", 1, garbage, sizeof garbage);
    raw_commit(&r);
    billord_verify_report report;
    cr_assert(eq(int, billord_verify(replay_data, NULL, NULL, NULL, &report), BILLORD_OK));
    cr_expect(eq(u64, report.problems, 1));
}

/* ---- keys and values that do not decode ------------------------------------------------------ */

Test(cov_replay_verify, meta_keys_and_values_that_do_not_decode)
{
    raw_store r = state_to_plant();
    billord__encode_u64(&r.buffer, 1);
    raw_put_encoded(&r, BILLORD_DB_META, "bad\0key", 7);
    msgpack_packer packer;
    msgpack_sbuffer_clear(&r.buffer);
    msgpack_packer_init(&packer, &r.buffer, msgpack_sbuffer_write);
    msgpack_pack_str(&packer, 3);
    msgpack_pack_str_body(&packer, "now", 3);
    raw_put_encoded(&r, BILLORD_DB_META, "clock_ms", 8);
    raw_put_encoded(&r, BILLORD_DB_META, "zz_text", 7);
    billord__encode_i64(&r.buffer, -5);
    raw_put_encoded(&r, BILLORD_DB_META, "zz_negative", 11);   /* a signed value is fine */
    raw_commit(&r);
    expect_problems(3, "meta: a key is not a name", "meta: clock_ms: the value does not decode",
                    "meta: zz_text: the value does not decode", NULL);
}

/* Regression: an unsigned meta value holding a negative number was taken as 0, unreported. */
Test(cov_replay_verify, unsigned_meta_values_must_not_be_negative)
{
    raw_store r = state_to_plant();
    billord__encode_i64(&r.buffer, -5);
    raw_put_encoded(&r, BILLORD_DB_META, "applied_lsn", 11);
    raw_put_encoded(&r, BILLORD_DB_META, "next_event_seq", 14);
    raw_commit(&r);
    expect_problems(2, "meta: applied_lsn: the value does not decode",
                    "meta: next_event_seq: the value does not decode", NULL);
}

Test(cov_replay_verify, account_keys_and_values_that_do_not_decode)
{
    raw_store r = state_to_plant();
    billord_account account = raw_account(&r, MAIN);
    raw_put(&r, BILLORD_DB_ACCOUNTS, "123\0" "456", 7, garbage, sizeof garbage);
    char long_id[BILLORD_ACCOUNT_ID_BYTES_MAX + 2];
    memset(long_id, '8', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    billord__encode_account(&r.buffer, &account);
    raw_put_encoded(&r, BILLORD_DB_ACCOUNTS, long_id, strlen(long_id));
    raw_put(&r, BILLORD_DB_ACCOUNTS, NOBODY, strlen(NOBODY), garbage, sizeof garbage);
    raw_commit(&r);
    expect_problems(3, "accounts: a key is not an account id",
                    "accounts: " NOBODY ": the value does not decode", NULL);
}

Test(cov_replay_verify, access_keys_that_do_not_decode_or_lead_nowhere)
{
    raw_store r = state_to_plant();
    raw_put(&r, BILLORD_DB_ACCESS_KEYS, "LTAI\0x", 6, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_ACCESS_KEYS, "LTAIbroken", 10, garbage, sizeof garbage);
    billord_access_key_record key = {.account = NOBODY, .secret = "s"};
    billord__encode_access_key(&r.buffer, &key);
    raw_put_encoded(&r, BILLORD_DB_ACCESS_KEYS, "LTAIorphan", 10);
    raw_commit(&r);
    expect_problems(3, "access_keys: a key is not an access key id",
                    "access_keys: LTAIbroken: the value does not decode",
                    "access_keys: LTAIorphan: its account " NOBODY " does not exist", NULL);
}

Test(cov_replay_verify, coupon_keys_values_and_owners)
{
    raw_store r = state_to_plant();
    raw_put(&r, BILLORD_DB_COUPONS, "no-zero", 7, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_COUPONS, "\0cp", 3, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_COUPONS, MAIN "\0cp\0x", 22, garbage, sizeof garbage);
    char long_key[BILLORD_ACCOUNT_ID_BYTES_MAX + 8];
    memset(long_key, '9', BILLORD_ACCOUNT_ID_BYTES_MAX + 1);
    memcpy(long_key + BILLORD_ACCOUNT_ID_BYTES_MAX + 1, "\0cp", 3);
    raw_put(&r, BILLORD_DB_COUPONS, long_key, BILLORD_ACCOUNT_ID_BYTES_MAX + 4, garbage,
            sizeof garbage);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    char long_coupon[BILLORD_COUPON_ID_BYTES_MAX + 2];
    memset(long_coupon, 'c', sizeof long_coupon - 1);
    long_coupon[sizeof long_coupon - 1] = '\0';
    raw_put(&r, BILLORD_DB_COUPONS, key, billord__key_pair(key, sizeof key, MAIN, long_coupon),
            garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_COUPONS, key, billord__key_pair(key, sizeof key, MAIN, "cp-broken"),
            garbage, sizeof garbage);
    billord_coupon coupon = {.account = NOBODY, .id = "cp-x", .amount_micros = 1,
                             .amount_initial_micros = 1, .expires_ms = REPLAY_CLOCK_MS,
                             .product_mask = BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_ECS)};
    billord__encode_coupon(&r.buffer, &coupon);
    raw_put_encoded(&r, BILLORD_DB_COUPONS, key,
                    billord__key_pair(key, sizeof key, NOBODY, "cp-x"));
    raw_commit(&r);
    expect_problems(7, "coupons: a key is not account\\0coupon",
                    "coupons: " MAIN "/cp-broken: the value does not decode",
                    "coupons: " NOBODY "/cp-x: the account does not exist", NULL);
}

Test(cov_replay_verify, a_coupon_that_grew_or_went_negative)
{
    raw_store r = state_to_plant();
    billord_coupon grown = {.account = POOR, .id = "cp-grown", .amount_micros = 5,
                            .amount_initial_micros = 3, .expires_ms = REPLAY_CLOCK_MS,
                            .product_mask = BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_ECS)};
    billord_coupon negative = grown;
    snprintf(negative.id, sizeof negative.id, "cp-negative");
    negative.amount_micros = -1;
    negative.amount_initial_micros = 0;
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    billord__encode_coupon(&r.buffer, &grown);
    raw_put_encoded(&r, BILLORD_DB_COUPONS, key,
                    billord__key_pair(key, sizeof key, POOR, "cp-grown"));
    billord__encode_coupon(&r.buffer, &negative);
    raw_put_encoded(&r, BILLORD_DB_COUPONS, key,
                    billord__key_pair(key, sizeof key, POOR, "cp-negative"));
    raw_commit(&r);
    /* each one, and the account's coupons now say -2 + 1 used where its orders paid 0 */
    expect_problems(3, "coupons: " POOR "/cp-grown: 5 left of 3 (coupons only shrink)",
                    "coupons: " POOR "/cp-negative: -1 left of 0",
                    "money: account " POOR ": coupons used -1 != coupon paid by orders 0", NULL);
}

Test(cov_replay_verify, a_price_that_does_not_decode)
{
    raw_store r = state_to_plant();
    raw_put(&r, BILLORD_DB_PRICES, "ecs\0broken", 10, garbage, sizeof garbage);
    raw_commit(&r);
    expect_problems(1, "prices: a value does not decode", NULL);
}

Test(cov_replay_verify, instance_keys_values_and_owners)
{
    raw_store r = state_to_plant();
    billord_instance instance = raw_instance(&r, "i-acc0004");
    raw_put(&r, BILLORD_DB_INSTANCES, "i-\0x", 4, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_INSTANCES, "i-broken", 8, garbage, sizeof garbage);
    snprintf(instance.id, sizeof instance.id, "i-orphan");
    snprintf(instance.account, sizeof instance.account, NOBODY);
    raw_put_instance(&r, "i-orphan", &instance);
    raw_commit(&r);
    expect_problems(3, "instances: a key is not an instance id",
                    "instances: i-broken: the value does not decode",
                    "instances: i-orphan: its account " NOBODY " does not exist", NULL);
}

Test(cov_replay_verify, an_unpaid_order_count_that_disagrees_with_the_orders)
{
    raw_store r = state_to_plant();
    billord_instance instance = raw_instance(&r, "i-acc0001");
    uint32_t stored = instance.unpaid_order_count;
    instance.unpaid_order_count = stored + 2;
    raw_put_instance(&r, "i-acc0001", &instance);
    raw_commit(&r);
    expect_one_problem(NULL, "instances: i-acc0001: unpaid_order_count %u but %u Unpaid",
                       stored + 2, stored);
}

/* ---- orders and their indexes ---------------------------------------------------------------- */

Test(cov_replay_verify, order_keys_values_and_owners)
{
    raw_store r = state_to_plant();
    billord_order order = raw_last_order(&r);
    uint8_t key[8];
    raw_put(&r, BILLORD_DB_ORDERS, "1234567", 7, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_ORDERS, key, be64_key(key, 7), garbage, sizeof garbage);
    /* an order of nobody's on no instance, without index rows, paying nothing */
    billord_order stray = order;
    stray.id = 9;
    snprintf(stray.account, sizeof stray.account, NOBODY);
    snprintf(stray.instance, sizeof stray.instance, "i-nowhere");
    stray.balance_paid_micros = stray.credit_paid_micros = stray.coupon_paid_micros = 0;
    raw_put_order(&r, &stray);
    raw_commit(&r);
    expect_problems(6, "orders: a key is not 8 bytes", "orders: 7: the value does not decode",
                    "orders: 9: its account " NOBODY " does not exist",
                    "orders: 9: its instance i-nowhere does not exist",
                    "orders: 9: no account_orders row for account " NOBODY,
                    "orders: 9: no instance_orders row for instance i-nowhere", NULL);
}

Test(cov_replay_verify, an_order_id_at_or_above_the_next_one)
{
    raw_store r = state_to_plant();
    billord_order order = raw_last_order(&r);
    /* a cancelled copy far ahead, with its index rows: only its id is wrong */
    order.id = 1ULL << 52;
    order.status = BILLORD_ORDER_CANCELLED;
    order.balance_paid_micros = order.credit_paid_micros = order.coupon_paid_micros = 0;
    raw_put_order(&r, &order);
    raw_put_index_rows(&r, &order);
    raw_commit(&r);
    expect_one_problem(NULL, "orders: %llu: not below meta.next_order_id",
                       (unsigned long long)(1ULL << 52));
}

Test(cov_replay_verify, an_unpaid_order_counts_toward_its_instance)
{
    raw_store r = state_to_plant();
    billord_order order = raw_last_order(&r);
    billord_instance instance = raw_instance(&r, order.instance);
    /* turn the paid renewal into an Unpaid one, with the money given back */
    billord_account account = raw_account(&r, order.account);
    account.balance_micros += order.balance_paid_micros;
    account.credit_used_micros -= order.credit_paid_micros;
    raw_put_account(&r, &account);
    order.status = BILLORD_ORDER_UNPAID;
    order.paid_ms = 0;
    order.balance_paid_micros = order.credit_paid_micros = order.coupon_paid_micros = 0;
    raw_put_order(&r, &order);
    raw_commit(&r);
    expect_one_problem(NULL, "instances: %s: unpaid_order_count %u but %u Unpaid", instance.id,
                       instance.unpaid_order_count, instance.unpaid_order_count + 1);
    /* and with the count raised to match, none */
    raw_open(&r, replay_data);
    instance.unpaid_order_count++;
    raw_put_instance(&r, instance.id, &instance);
    raw_commit(&r);
    expect_problems(0, NULL);
}

Test(cov_replay_verify, index_rows_of_the_wrong_shape)
{
    raw_store r = state_to_plant();
    billord_order order = raw_last_order(&r);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    raw_put(&r, BILLORD_DB_ACCOUNT_ORDERS, "ab", 2, "", 0);                     /* too short */
    size_t bytes = index_key(key, "valued", order.id);
    raw_put(&r, BILLORD_DB_ACCOUNT_ORDERS, key, bytes, "x", 1);                 /* a value */
    memcpy(key, "a\0b\0", 4);
    billord__be64_put(key + 4, order.id);
    raw_put(&r, BILLORD_DB_INSTANCE_ORDERS, key, 12, "", 0);                    /* NUL in owner */
    bytes = index_key(key, "nonul", order.id);
    key[5] = 'x';                                                               /* no separator */
    raw_put(&r, BILLORD_DB_INSTANCE_ORDERS, key, bytes, "", 0);
    raw_commit(&r);
    expect_problems(4, "account_orders: a row is not owner\\0be64(order id) -> empty",
                    "instance_orders: a row is not owner\\0be64(order id) -> empty", NULL);
}

Test(cov_replay_verify, index_rows_that_point_at_the_wrong_order)
{
    raw_store r = state_to_plant();
    billord_order order = raw_last_order(&r);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    /* no such order */
    raw_put(&r, BILLORD_DB_ACCOUNT_ORDERS, key, index_key(key, MAIN, 5), "", 0);
    /* another owner's order */
    raw_put(&r, BILLORD_DB_ACCOUNT_ORDERS, key, index_key(key, MAIN, order.id), "", 0);
    raw_put(&r, BILLORD_DB_INSTANCE_ORDERS, key, index_key(key, "i-acc0009", order.id), "", 0);
    /* an order that does not decode: reported once, with the orders */
    uint8_t order_key[8];
    raw_put(&r, BILLORD_DB_ORDERS, order_key, be64_key(order_key, 11), garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_INSTANCE_ORDERS, key, index_key(key, "i-acc0001", 11), "", 0);
    raw_commit(&r);
    char belongs_account[128], belongs_instance[128];
    snprintf(belongs_account, sizeof belongs_account,
             "account_orders: " MAIN " -> order %llu: the order belongs to " POOR,
             (unsigned long long)order.id);
    snprintf(belongs_instance, sizeof belongs_instance,
             "instance_orders: i-acc0009 -> order %llu: the order belongs to %s",
             (unsigned long long)order.id, order.instance);
    expect_problems(4, "account_orders: " MAIN " -> order 5: the order does not exist",
                    belongs_account, belongs_instance, "orders: 11: the value does not decode",
                    NULL);
}

/* ---- tokens ---------------------------------------------------------------------------------- */

Test(cov_replay_verify, token_keys_values_and_expiry_rows)
{
    raw_store r = state_to_plant();
    billord_token_record *record = raw_token(&r, MAIN, "v-1");
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX + 8];
    raw_put(&r, BILLORD_DB_TOKENS, "no-zero", 7, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_TOKENS, key, billord__key_pair(key, sizeof key, MAIN, "t-broken"),
            garbage, sizeof garbage);
    /* a copy under another token, without its expiry row */
    billord__encode_token(&r.buffer, record);
    raw_put_encoded(&r, BILLORD_DB_TOKENS, key, billord__key_pair(key, sizeof key, MAIN, "t-copy"));
    raw_commit(&r);
    free(record);
    expect_problems(3, "tokens: a key is not account\\0token",
                    "tokens: " MAIN "/t-broken: the value does not decode",
                    "tokens: " MAIN "/t-copy: no token_expiry row", NULL);
}

Test(cov_replay_verify, token_expiry_rows_of_the_wrong_shape_or_time)
{
    raw_store r = state_to_plant();
    billord_token_record *record = raw_token(&r, MAIN, "v-1");
    int64_t created = record->created_ms;
    free(record);
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX + 8];
    raw_put(&r, BILLORD_DB_TOKEN_EXPIRY, "12345678", 8, "", 0);             /* no token part */
    size_t bytes = expiry_key(key, created, MAIN, "v-1");
    raw_del(&r, BILLORD_DB_TOKEN_EXPIRY, key, bytes);
    key[bytes - 1] = '2';                                                     /* ... "v-2" */
    raw_put(&r, BILLORD_DB_TOKEN_EXPIRY, key, bytes, "x", 1);                 /* a value */
    billord__be64_put(key, (uint64_t)created);
    memcpy(key + 8, "no-zero", 7);
    raw_put(&r, BILLORD_DB_TOKEN_EXPIRY, key, 15, "", 0);                     /* no separator */
    raw_put(&r, BILLORD_DB_TOKEN_EXPIRY, key, expiry_key(key, created, MAIN, "t-ghost"), "", 0);
    /* v-1's row at another time: it does not match the token's created_ms */
    raw_put(&r, BILLORD_DB_TOKEN_EXPIRY, key, expiry_key(key, created + 1, MAIN, "v-1"), "", 0);
    /* a row of a token that does not decode: reported once, with the tokens */
    raw_put(&r, BILLORD_DB_TOKENS, key + 8,
            billord__key_pair(key + 8, BILLORD_STORE_KEY_BYTES_MAX, MAIN, "t-broken"), garbage,
            sizeof garbage);
    raw_put(&r, BILLORD_DB_TOKEN_EXPIRY, key, expiry_key(key, created, MAIN, "t-broken"), "", 0);
    raw_commit(&r);
    expect_problems(7, "token_expiry: a row is not be64(created)account\\0token -> empty",
                    "token_expiry: a key is not be64(created)account\\0token",
                    "token_expiry: " MAIN "/t-ghost: the token does not exist",
                    "token_expiry: " MAIN "/v-1: the row's time is not the token's created_ms",
                    "tokens: " MAIN "/v-1: no token_expiry row",
                    "tokens: " MAIN "/t-broken: the value does not decode", NULL);
}

/* ---- databases without a codec here ---------------------------------------------------------- */

Test(cov_replay_verify, values_of_other_databases_must_be_versioned_msgpack_arrays)
{
    raw_store r = state_to_plant();
    static const uint8_t not_array[] = {0x01};
    static const uint8_t empty_array[] = {0x90};
    static const uint8_t text_first[] = {0x91, 0xa1, 'v'};
    static const uint8_t trailing[] = {0x91, 0x01, 0x01};
    static const uint8_t good[] = {0x92, 0x01, 0xc0};
    raw_put(&r, BILLORD_DB_SCHEDULE, "zz-1", 4, not_array, sizeof not_array);
    raw_put(&r, BILLORD_DB_SCHEDULE, "zz-2", 4, empty_array, sizeof empty_array);
    raw_put(&r, BILLORD_DB_OUTBOX, "zz-3", 4, text_first, sizeof text_first);
    raw_put(&r, BILLORD_DB_OUTBOX, "zz-4", 4, trailing, sizeof trailing);
    raw_put(&r, BILLORD_DB_OUTBOX, "zz-5", 4, garbage, sizeof garbage);
    raw_put(&r, BILLORD_DB_OUTBOX, "zz-6", 4, good, sizeof good);
    raw_put(&r, BILLORD_DB_SCHEDULE, "zz-7", 4, "", 0);                     /* an index row */
    raw_commit(&r);
    expect_problems(5, "schedule: a value is not a versioned msgpack record",
                    "outbox: a value is not a versioned msgpack record", NULL);
}

/* ---- money ----------------------------------------------------------------------------------- */

Test(cov_replay_verify, credit_used_that_orders_did_not_pay)
{
    raw_store r = state_to_plant();
    billord_account account = raw_account(&r, POOR);
    cr_assert(account.credit_used_micros > 0, "the renewal was paid on credit");
    account.credit_used_micros += 1;
    raw_put_account(&r, &account);
    raw_commit(&r);
    expect_one_problem(NULL,
                       "money: account " POOR ": credit_used %lld != credit paid by orders %lld",
                       (long long)account.credit_used_micros,
                       (long long)account.credit_used_micros - 1);
}

Test(cov_replay_verify, credit_used_above_the_limit)
{
    raw_store r = state_to_plant();
    billord_account account = raw_account(&r, POOR);
    account.credit_limit_micros = account.credit_used_micros - 1;
    raw_put_account(&r, &account);
    raw_commit(&r);
    expect_one_problem(NULL, "money: account " POOR ": credit_used %lld above the limit %lld",
                       (long long)account.credit_used_micros,
                       (long long)account.credit_limit_micros);
}

Test(cov_replay_verify, a_balance_or_coupon_that_changed_without_an_order)
{
    raw_store r = state_to_plant();
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t bytes = billord__key_pair(key, sizeof key, MAIN, "cp-2");
    MDB_val v;
    raw_get(&r, BILLORD_DB_COUPONS, key, bytes, &v);
    billord_coupon coupon;
    cr_assert(eq(int, billord__decode_coupon(v.mv_data, v.mv_size, &coupon), BILLORD_OK));
    cr_assert(coupon.amount_micros > 0);
    coupon.amount_micros -= 1;
    billord__encode_coupon(&r.buffer, &coupon);
    raw_put_encoded(&r, BILLORD_DB_COUPONS, key, bytes);
    billord_account poor = raw_account(&r, POOR);
    poor.balance_micros -= 1;
    raw_put_account(&r, &poor);
    raw_commit(&r);
    expect_problems(2, "money: account " MAIN ": coupons used",
                    "money: account " POOR ": balance_initial", NULL);
}

Test(cov_replay_verify, a_next_order_id_beyond_two_to_the_53)
{
    raw_store r = state_to_plant();
    billord__encode_u64(&r.buffer, 1ULL << 53);
    raw_put_encoded(&r, BILLORD_DB_META, "next_order_id", 13);
    raw_commit(&r);
    expect_one_problem(NULL, "meta: next_order_id %llu is not below 2^53",
                       (unsigned long long)(1ULL << 53));
}

/* ---- stores that are missing, damaged or older ----------------------------------------------- */

Test(cov_replay_verify, a_missing_directory_or_store)
{
    billord_verify_report report;
    cr_expect(eq(int, billord_verify(replay_data, NULL, replay_found_add, NULL, &report),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(u64, report.problems, 0));
    /* a file is not a replay_data directory */
    FILE *file = fopen(replay_data, "w");
    cr_assert(file != NULL);
    fclose(file);
    cr_expect(eq(int, billord_verify(replay_data, NULL, replay_found_add, NULL, &report),
                 BILLORD_E_NOT_FOUND));
    cr_assert(eq(int, unlink(replay_data), 0));
    mkdir(replay_data, 0755);
    replay_found *f = replay_verify(replay_data, NULL, &report);
    cr_expect(eq(u64, f->count, 1), "%s", f->text);
    cr_expect(strstr(f->text, "state: ") != NULL && strstr(f->text, "no store (state/data.mdb)"),
              "%s", f->text);
    free(f);
    /* the digest says the same */
    char hex[BILLORD_DIGEST_HEX_BYTES + 1], error_text[512];
    cr_expect(eq(int, billord_replay_digest(replay_data, hex, NULL, error_text, sizeof error_text),
                 BILLORD_E_NOT_FOUND));
    cr_expect(strstr(error_text, "no store") != NULL, "%s", error_text);
}

Test(cov_replay_verify, a_data_directory_path_too_long_for_a_store)
{
    char long_dir[4200];
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[0] = '/';
    long_dir[sizeof long_dir - 1] = '\0';
    char hex[BILLORD_DIGEST_HEX_BYTES + 1], error_text[512];
    cr_expect(eq(int, billord_replay_digest(long_dir, hex, NULL, error_text, sizeof error_text),
                 BILLORD_E_NOT_FOUND));
    /* room for DIR/state but not for DIR/state/data.mdb */
    long_dir[4090 - strlen("/state")] = '\0';
    cr_expect(eq(int, billord_replay_digest(long_dir, hex, NULL, error_text, sizeof error_text),
                 BILLORD_E_NOT_FOUND));
}

Test(cov_replay_verify, the_digest_leaves_out_applied_lsn_and_nothing_else)
{
    make_state(replay_data);
    char before[BILLORD_DIGEST_HEX_BYTES + 1], after[BILLORD_DIGEST_HEX_BYTES + 1];
    char error_text[512];
    uint64_t pairs_before = 0, pairs_after = 0;
    cr_assert(eq(int, billord_replay_digest(replay_data, before, &pairs_before, error_text,
                                            sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    raw_store r;
    raw_open(&r, replay_data);
    billord__encode_u64(&r.buffer, 4242);
    raw_put_encoded(&r, BILLORD_DB_META, "applied_lsn", 11);
    raw_commit(&r);
    cr_assert(eq(int, billord_replay_digest(replay_data, after, &pairs_after, error_text,
                                            sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(eq(str, before, after), "applied_lsn is where the state came from, not what it is");
    cr_expect(eq(u64, pairs_before, pairs_after));
    /* a meta key of the same length is state */
    raw_open(&r, replay_data);
    raw_put_encoded(&r, BILLORD_DB_META, "applied_xyz", 11);
    raw_commit(&r);
    cr_assert(eq(int, billord_replay_digest(replay_data, after, &pairs_after, error_text,
                                            sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(ne(str, before, after));
    cr_expect(eq(u64, pairs_after, pairs_before + 1));
}

Test(cov_replay_verify, a_damaged_store_file_is_an_io_error)
{
    char state[TEMPDIR_PATH_BYTES], mdb[TEMPDIR_PATH_BYTES];
    mkdir(replay_data, 0755);
    tempdir_join(state, replay_data, "state");
    mkdir(state, 0755);
    tempdir_join(mdb, state, "data.mdb");
    FILE *file = fopen(mdb, "w");
    cr_assert(file != NULL);
    for (int i = 0; i < 8192; i++) {
        fputc(0x5a, file);
    }
    fclose(file);
    char hex[BILLORD_DIGEST_HEX_BYTES + 1], error_text[512];
    cr_expect(eq(int, billord_replay_digest(replay_data, hex, NULL, error_text, sizeof error_text),
                 BILLORD_E_IO));
    cr_expect(strstr(error_text, "/state: LMDB: ") != NULL, "%s", error_text);
    replay_found *f = replay_verify(replay_data, NULL, NULL);
    cr_expect(eq(u64, f->count, 1), "%s", f->text);
    cr_expect(strstr(f->text, "state: ") == f->text && strstr(f->text, "LMDB: ") != NULL, "%s",
              f->text);
    free(f);
}

/* A store written before some databases existed: they read as empty. */
Test(cov_replay_verify, databases_a_store_lacks_read_as_empty)
{
    char none[TEMPDIR_PATH_BYTES], empty[TEMPDIR_PATH_BYTES];
    tempdir_join(none, replay_dir, "none");
    tempdir_join(empty, replay_dir, "empty");
    /* "none": an LMDB environment without any named database; "empty": all of them, empty */
    const char *dirs[] = {none, empty};
    for (int i = 0; i < 2; i++) {
        char state[TEMPDIR_PATH_BYTES];
        mkdir(dirs[i], 0755);
        tempdir_join(state, dirs[i], "state");
        mkdir(state, 0755);
        MDB_env *env = NULL;
        cr_assert(eq(int, mdb_env_create(&env), 0));
        mdb_env_set_maxdbs(env, BILLORD_DB_COUNT);
        cr_assert(eq(int, mdb_env_open(env, state, 0, 0644), 0));
        MDB_txn *txn = NULL;
        cr_assert(eq(int, mdb_txn_begin(env, NULL, 0, &txn), 0));
        for (unsigned db = 0; i == 1 && db < BILLORD_DB_COUNT; db++) {
            MDB_dbi dbi;
            cr_assert(eq(int, mdb_dbi_open(txn, billord__store_db_name((billord_db_id)db),
                                           MDB_CREATE, &dbi),
                         0));
        }
        cr_assert(eq(int, mdb_txn_commit(txn), 0));
        mdb_env_close(env);
    }
    char hex_none[BILLORD_DIGEST_HEX_BYTES + 1], hex_empty[BILLORD_DIGEST_HEX_BYTES + 1];
    char error_text[512];
    uint64_t pairs = 99;
    cr_assert(eq(int, billord_replay_digest(none, hex_none, &pairs, error_text, sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(eq(u64, pairs, 0));
    cr_assert(eq(int, billord_replay_digest(empty, hex_empty, NULL, error_text, sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(eq(str, hex_none, hex_empty));
    billord_verify_report report;
    replay_found *f = replay_verify(none, NULL, &report);
    cr_expect(eq(u64, f->count, 0), "%s", f->text);
    cr_expect(eq(u64, report.lmdb_values, 0));
    free(f);
}

/* An order in a store without the index databases: its rows are missing, not an error.
 * Also a regression test: with no account and no instance read, the lookups once handed
 * bsearch a NULL array (undefined behaviour, caught by UndefinedBehaviorSanitizer). */
Test(cov_replay_verify, an_order_without_index_databases)
{
    make_state(replay_data);
    billord_order order;
    {
        raw_store r;
        raw_open(&r, replay_data);
        order = raw_last_order(&r);
        raw_commit(&r);
    }
    char state[TEMPDIR_PATH_BYTES];
    tempdir_join(replay_data, replay_dir, "bare");
    mkdir(replay_data, 0755);
    tempdir_join(state, replay_data, "state");
    mkdir(state, 0755);
    MDB_env *env = NULL;
    cr_assert(eq(int, mdb_env_create(&env), 0));
    mdb_env_set_maxdbs(env, BILLORD_DB_COUNT);
    cr_assert(eq(int, mdb_env_open(env, state, 0, 0644), 0));
    MDB_txn *txn = NULL;
    cr_assert(eq(int, mdb_txn_begin(env, NULL, 0, &txn), 0));
    MDB_dbi meta, orders;
    cr_assert(eq(int, mdb_dbi_open(txn, "meta", MDB_CREATE, &meta), 0));
    cr_assert(eq(int, mdb_dbi_open(txn, "orders", MDB_CREATE, &orders), 0));
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    billord__encode_u64(&buffer, order.id + 1);
    MDB_val k = {13, "next_order_id"}, v = {buffer.size, buffer.data};
    cr_assert(eq(int, mdb_put(txn, meta, &k, &v, 0), 0));
    uint8_t key[8];
    billord__encode_order(&buffer, &order);
    k = (MDB_val){be64_key(key, order.id), key};
    v = (MDB_val){buffer.size, buffer.data};
    cr_assert(eq(int, mdb_put(txn, orders, &k, &v, 0), 0));
    cr_assert(eq(int, mdb_txn_commit(txn), 0));
    mdb_env_close(env);
    msgpack_sbuffer_destroy(&buffer);
    char index_rows[2][128];
    snprintf(index_rows[0], sizeof index_rows[0], "orders: %llu: no account_orders row",
             (unsigned long long)order.id);
    snprintf(index_rows[1], sizeof index_rows[1], "orders: %llu: no instance_orders row",
             (unsigned long long)order.id);
    expect_problems(4, "its account " POOR " does not exist",
                    "its instance i-poor0001 does not exist",
                    index_rows[0], index_rows[1], NULL);
}

Test(cov_replay_verify, lmdb_failing_under_the_read_is_reported)
{
    make_state(replay_data);
    /* the third cursor step of the walk over every database */
    faulty_lmdb_fail_at(3, FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_GET), EIO, false);
    replay_found *f = replay_verify(replay_data, NULL, NULL);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(eq(u64, f->count, 1), "%s", f->text);
    cr_expect(strstr(f->text, "/state: LMDB: Input/output error") != NULL, "%s", f->text);
    free(f);
    /* and under the digest */
    char hex[BILLORD_DIGEST_HEX_BYTES + 1], error_text[512];
    faulty_lmdb_fail_at(3, FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_GET), EIO, false);
    cr_expect(eq(int, billord_replay_digest(replay_data, hex, NULL, error_text, sizeof error_text),
                 BILLORD_E_IO));
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(strstr(error_text, "/state: LMDB: Input/output error") != NULL, "%s", error_text);
    /* a database that cannot be opened */
    faulty_lmdb_fail_at(2, FAULTY_LMDB_MASK(FAULTY_LMDB_DBI_OPEN), EIO, false);
    cr_expect(eq(int, billord_replay_digest(replay_data, hex, NULL, error_text, sizeof error_text),
                 BILLORD_E_IO));
    faulty_lmdb_reset();
    cr_expect(strstr(error_text, "/state: LMDB: Input/output error") != NULL, "%s", error_text);
}

/* ---- the log --------------------------------------------------------------------------------- */

#define LOG_RENEWALS 6u

/* DATA with a log of LOG_RENEWALS renewals, and the path of that log. */
static void made_log(char wal[TEMPDIR_PATH_BYTES])
{
    replay_make_db(replay_data, LOG_RENEWALS, 0);
    tempdir_join(wal, replay_data, "wal");
}

Test(cov_replay_verify, a_healthy_log_reaches_the_state)
{
    replay_make_db(replay_data, LOG_RENEWALS, 0);
    billord_verify_report report;
    replay_found *f = replay_verify(replay_data, NULL, &report);
    cr_expect(eq(u64, f->count, 0), "%s", f->text);
    cr_expect(report.wal_present);
    cr_expect(eq(u64, report.wal_records, report.wal_lsn_last - report.wal_lsn_first + 1));
    cr_expect(report.wal_records >= LOG_RENEWALS);
    cr_expect(eq(u64, report.wal_lsn_last, report.applied_lsn));
    cr_expect(report.wal_torn_tail == false);
    free(f);
}

Test(cov_replay_verify, a_log_read_twice_is_a_repeat)
{
    char wal[TEMPDIR_PATH_BYTES];
    made_log(wal);
    replay_last_record last = replay_find_last_record(wal);
    /* the live log passed as the archive too: every LSN comes again */
    expect_one_problem(wal, "LSN 1 follows %llu (a gap or a repeat)", (unsigned long long)last.lsn);
}

Test(cov_replay_verify, a_log_record_that_is_not_a_batch)
{
    char wal[TEMPDIR_PATH_BYTES];
    made_log(wal);
    uint64_t lsn = replay_append_not_a_batch(wal);
    expect_one_problem(NULL, "record %llu does not decode as a batch", (unsigned long long)lsn);
}

Test(cov_replay_verify, a_torn_tail_is_not_a_problem_unless_it_held_applied_records)
{
    char wal[TEMPDIR_PATH_BYTES];
    made_log(wal);
    replay_last_record last = replay_find_last_record(wal);
    replay_tear_tail(&last);
    billord_verify_report report;
    replay_found *f = replay_verify(replay_data, NULL, &report);
    cr_expect(eq(u64, f->count, 0), "%s", f->text);
    cr_expect(report.wal_torn_tail);
    cr_expect(eq(u64, report.wal_lsn_last, last.lsn));
    free(f);
    /* the last (applied) record cut short */
    cr_assert(eq(int, truncate(last.segment, (off_t)(last.offset + 10)), 0));
    f = replay_verify(replay_data, NULL, &report);
    cr_expect(report.wal_torn_tail);
    expect_found(f, 1,
                 "log: ends at LSN %llu but the state has applied LSN %llu (a damaged tail held "
                 "applied records)",
                 (unsigned long long)(last.lsn - 1), (unsigned long long)last.lsn);
    free(f);
}

static void copy_file(const char *from, const char *to, uint64_t bytes)
{
    size_t size = 0;
    char *text = tempdir_read_file(from, &size);
    cr_assert(text != NULL);
    FILE *file = fopen(to, "wb");
    cr_assert(file != NULL);
    cr_assert(eq(sz, fwrite(text, 1, bytes < size ? bytes : size, file),
                 bytes < size ? bytes : size));
    fclose(file);
    free(text);
}

Test(cov_replay_verify, an_archive_that_ends_in_a_torn_record_is_damaged)
{
    replay_make_db(replay_data, LOG_RENEWALS, 0);
    char wal[TEMPDIR_PATH_BYTES], archive[TEMPDIR_PATH_BYTES], copy[TEMPDIR_PATH_BYTES];
    tempdir_join(wal, replay_data, "wal");
    tempdir_join(archive, replay_dir, "archive");
    mkdir(archive, 0755);
    replay_last_record last = replay_find_last_record(wal);
    const char *name = strrchr(last.segment, '/') + 1;
    tempdir_join(copy, archive, name);
    copy_file(last.segment, copy, last.offset + 10);
    replay_found *f = replay_verify(replay_data, archive, NULL);
    /* in an archive a torn record is damage; the live log then repeats from LSN 1 */
    expect_found(f, 2, "LSN 1 follows %llu", (unsigned long long)(last.lsn - 1));
    cr_expect(strstr(f->text, "log: ") != NULL && strstr(f->text, name) != NULL, "%s", f->text);
    free(f);
}

Test(cov_replay_verify, an_archive_that_cannot_be_read)
{
    replay_make_db(replay_data, LOG_RENEWALS, 0);
    char long_path[BILLORD_WAL_PATH_BYTES_MAX];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    replay_found *f = replay_verify(replay_data, long_path, NULL);
    cr_expect(eq(u64, f->count, 1), "%s", f->text);
    cr_expect(strncmp(f->text, "log: /aaaa", 10) == 0, "%s", f->text);
    free(f);
    /* an archive without segments is an empty one */
    char archive[TEMPDIR_PATH_BYTES];
    tempdir_join(archive, replay_dir, "archive");
    mkdir(archive, 0755);
    f = replay_verify(replay_data, archive, NULL);
    cr_expect(eq(u64, f->count, 0), "%s", f->text);
    free(f);
}

Test(cov_replay_verify, a_log_that_starts_after_the_state)
{
    replay_make_db(replay_data, 40, BILLORD_WAL_SEGMENT_BYTES_MIN);
    char wal[TEMPDIR_PATH_BYTES];
    tempdir_join(wal, replay_data, "wal");
    /* a log whose first segment is gone (retired, or removed here), and a state from
     * before it */
    uint64_t lsn_first = 0;
    for (int attempt = 0; attempt < 2 && lsn_first <= 2; attempt++) {
        billord_wal_reader *reader = NULL;
        cr_assert(eq(int, billord_wal_reader_open(wal, NULL, &reader), BILLORD_OK));
        billord_wal_record record;
        cr_assert(eq(int, billord_wal_reader_next(reader, &record), BILLORD_OK));
        lsn_first = record.lsn;
        if (lsn_first <= 2) {
            cr_assert(eq(int, unlink(record.segment_path), 0), "%s", record.segment_path);
        }
        billord_wal_reader_close(reader);
    }
    cr_assert(lsn_first > 2);
    raw_store r;
    raw_open(&r, replay_data);
    billord__encode_u64(&r.buffer, 1);
    raw_put_encoded(&r, BILLORD_DB_META, "applied_lsn", 11);
    raw_commit(&r);
    billord_verify_report report;
    replay_found *f = replay_verify(replay_data, NULL, &report);
    expect_found(f, 1, "log: starts at LSN %llu, after the state's applied LSN 1",
                 (unsigned long long)lsn_first);
    cr_expect(eq(u64, report.applied_lsn, 1));
    free(f);
}
