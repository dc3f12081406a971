/*
 * gen_corpus.c: writes the binary seeds of tests/fuzz/corpus/ that are easier to make
 * with the encoders than by hand: store records (fuzz_store_codec), batch payloads
 * (fuzz_wal_batch) and log segments (fuzz_wal_record). Built as fuzz-gen-corpus with
 * -DBILLORD_FUZZ=ON; run from the source directory: build-fuzz/fuzz-gen-corpus.
 * Deterministic: running it again rewrites the same files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <billord/wal_batch.h>

#include "core/assert.h"
#include "store/codec.h"
#include "wal/wal_internal.h"

#define CORPUS "tests/fuzz/corpus/"

static void write_seed(const char *target, const char *name, uint8_t prefix, bool use_prefix,
                       const void *bytes, size_t bytes_len)
{
    char path[512];
    snprintf(path, sizeof path, CORPUS "%s/%s", target, name);
    FILE *f = fopen(path, "wb");
    BILLORD_ASSERT(f != NULL);
    if (use_prefix) {
        BILLORD_ASSERT(fwrite(&prefix, 1, 1, f) == 1);
    }
    BILLORD_ASSERT(bytes_len == 0 || fwrite(bytes, 1, bytes_len, f) == bytes_len);
    BILLORD_ASSERT(fclose(f) == 0);
}

static void store_seed(const char *name, uint8_t type, msgpack_sbuffer *buffer)
{
    write_seed("fuzz_store_codec", name, type, true, buffer->data, buffer->size);
    msgpack_sbuffer_clear(buffer);
}

static void store_seeds(void)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);

    billord_account account;
    memset(&account, 0, sizeof account);
    strcpy(account.id, "1234567890123456");
    account.balance_micros = -5;
    account.balance_initial_micros = 10;
    account.credit_limit_micros = 300;
    account.credit_used_micros = 15;
    account.credit_payment = true;
    account.access_key_count = 2;
    strcpy(account.access_keys[0].id, "LTAI5tDemoKey0001");
    strcpy(account.access_keys[0].secret, "demo-secret-0001");
    strcpy(account.access_keys[1].id, "k2");
    strcpy(account.access_keys[1].secret, "s2");
    billord__encode_account(&buffer, &account);
    store_seed("account", 0, &buffer);

    billord_access_key_record key;
    memset(&key, 0, sizeof key);
    strcpy(key.account, "1234567890123456");
    strcpy(key.secret, "demo-secret-0001");
    billord__encode_access_key(&buffer, &key);
    store_seed("access_key", 1, &buffer);

    billord_coupon coupon;
    memset(&coupon, 0, sizeof coupon);
    strcpy(coupon.account, "1234567890123456");
    strcpy(coupon.id, "cp-1");
    coupon.amount_micros = 5000000;
    coupon.amount_initial_micros = 10000000;
    coupon.expires_ms = 1798732800000LL;
    coupon.product_mask = 3;
    billord__encode_coupon(&buffer, &coupon);
    store_seed("coupon", 2, &buffer);

    billord_price price;
    memset(&price, 0, sizeof price);
    price.product = BILLORD_PRODUCT_HSS;
    strcpy(price.instance_type, "hss.enterprise");
    price.week_micros = 1000000;
    price.month_micros = 3000000;
    price.year_micros = 30000000;
    price.phased_out = true;
    billord__encode_price(&buffer, &price);
    store_seed("price", 3, &buffer);

    billord_instance instance;
    memset(&instance, 0, sizeof instance);
    strcpy(instance.id, "i-acc0001");
    strcpy(instance.account, "1234567890123456");
    instance.product = BILLORD_PRODUCT_HSS;
    strcpy(instance.region, "cn-hangzhou");
    strcpy(instance.instance_type, "hss.enterprise");
    instance.charge_type = BILLORD_CHARGE_PREPAID;
    instance.status = BILLORD_STATUS_FROZEN;
    instance.expires_ms = 1798732800000LL;
    instance.locked_for_security = true;
    instance.has_dedicated_host = true;
    instance.dedicated_host_expires_ms = 1800000000000LL;
    instance.renewal_status = BILLORD_RENEWAL_NOT;
    instance.auto_renew_duration = 3;
    instance.auto_renew_period_unit = BILLORD_PERIOD_YEAR;
    instance.unpaid_order_count = 2;
    billord__encode_instance(&buffer, &instance);
    store_seed("instance", 4, &buffer);

    billord_order order;
    memset(&order, 0, sizeof order);
    order.id = 205395023430729ULL;
    strcpy(order.account, "1234567890123456");
    strcpy(order.instance, "i-acc0001");
    order.kind = BILLORD_ORDER_CHANGE_PAY_TYPE;
    order.period_count = 12;
    order.period_unit = BILLORD_PERIOD_MONTH;
    order.amount_micros = 1000000000;
    order.coupon_paid_micros = 20000000;
    order.balance_paid_micros = 900000000;
    order.credit_paid_micros = 80000000;
    order.status = BILLORD_ORDER_PAID;
    order.created_ms = 1795305600000LL;
    order.paid_ms = 1795305600001LL;
    strcpy(order.client_token, "tok-1");
    strcpy(order.request_id, "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E");
    billord__encode_order(&buffer, &order);
    store_seed("order", 5, &buffer);

    static billord_token_record token;
    memset(&token, 0, sizeof token);
    memset(token.fingerprint, 0xab, sizeof token.fingerprint);
    token.canonical_bytes = 7;
    memcpy(token.canonical, "BLFP\1\0x", 7);
    token.http_status = 403;
    strcpy(token.code_text, "InstanceLockedForSecurity");
    strcpy(token.message, "locked");
    strcpy(token.request_id, "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E");
    token.created_ms = 1795305600000LL;
    billord__encode_token(&buffer, &token);
    store_seed("token", 6, &buffer);
    memset(&token, 0, sizeof token);      /* a success: empty message, no canonical text */
    token.http_status = 200;
    token.order_id = 205395023430729ULL;
    billord__encode_token(&buffer, &token);
    store_seed("token_empty_strings", 6, &buffer);

    billord_event event;
    memset(&event, 0, sizeof event);
    event.seq = 42;
    strcpy(event.kind, "ExpiryReminder");
    strcpy(event.account, "1234567890123456");
    strcpy(event.instance, "i-acc0001");
    event.at_ms = 1795305600000LL;
    event.order_id = 205395023430729ULL;
    strcpy(event.detail, "days_before=3");
    billord__encode_event(&buffer, &event);
    store_seed("event", 7, &buffer);

    billord__encode_u64(&buffer, 200000000000001ULL);
    store_seed("u64", 8, &buffer);
    billord__encode_i64(&buffer, -1795305600000LL);
    store_seed("i64", 9, &buffer);
    msgpack_sbuffer_destroy(&buffer);
}

/* A batch payload with a request and a tick; *out is malloc'd. */
static size_t batch_payload(uint8_t **out, int variant)
{
    billord_param params[] = {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                              {"ClientToken", "a b*\xc3\xbc~'"}};
    billord_command commands[2] = {
        {.kind = BILLORD_COMMAND_REQUEST, .now_ms = 1795305600000LL + variant,
         .request_id = "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E", .account = "1234567890123456",
         .action = "RenewInstance", .param_count = 3, .params = params},
        {.kind = BILLORD_COMMAND_TICK, .now_ms = -1, .account = "", .action = "",
         .param_count = 0, .params = NULL}};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    BILLORD_ASSERT(billord_wal_batch_encode(&buffer, commands, variant == 0 ? 1 : 2) ==
                   BILLORD_OK);
    *out = malloc(buffer.size);
    BILLORD_ASSERT(*out != NULL);
    memcpy(*out, buffer.data, buffer.size);
    size_t const size = buffer.size;
    msgpack_sbuffer_destroy(&buffer);
    return size;
}

static void batch_seeds(void)
{
    uint8_t *payload;
    size_t size = batch_payload(&payload, 0);
    write_seed("fuzz_wal_batch", "one_request", 0, false, payload, size);
    free(payload);
    size = batch_payload(&payload, 1);
    write_seed("fuzz_wal_batch", "request_and_tick", 0, false, payload, size);
    free(payload);
}

/* A segment image: header, then count records of batch payloads. */
static size_t segment_image(uint8_t *image, size_t capacity, uint64_t lsn_first, int count)
{
    billord__wal_segment_header header = {lsn_first, BILLORD_WAL_SEGMENT_BYTES_MIN};
    memset(image, 0, capacity);
    billord__wal_segment_header_encode(image, &header);
    size_t used = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    for (int i = 0; i < count; i++) {
        uint8_t *payload;
        size_t const size = batch_payload(&payload, i);
        BILLORD_ASSERT(used + billord__wal_record_bytes((uint32_t)size) <= capacity);
        billord__wal_record_encode(image + used, lsn_first + (uint64_t)i, payload, (uint32_t)size);
        used += billord__wal_record_bytes((uint32_t)size);
        free(payload);
    }
    return used;
}

static void wal_seeds(void)
{
    static uint8_t image[BILLORD_WAL_SEGMENT_BYTES_MIN];
    /* Mode byte: 0 raw image (scanner only), 2 raw image and the reader over a file. */
    size_t used = segment_image(image, sizeof image, 1, 3);
    write_seed("fuzz_wal_record", "segment_three_records", 2, true, image, used);
    write_seed("fuzz_wal_record", "segment_zero_filled", 2, true, image, sizeof image);
    write_seed("fuzz_wal_record", "segment_header_only", 0, true, image,
               BILLORD_WAL_SEGMENT_HEADER_BYTES);
    write_seed("fuzz_wal_record", "segment_torn_tail", 2, true, image, used - 7u);
    used = segment_image(image, sizeof image, 1000, 2);
    image[BILLORD_WAL_SEGMENT_HEADER_BYTES + 25u] ^= 0x40;   /* first record's payload */
    write_seed("fuzz_wal_record", "segment_corrupt_first", 2, true, image, used);
    used = segment_image(image, sizeof image, 7, 1);
    write_seed("fuzz_wal_record", "record_alone", 0, true, image + BILLORD_WAL_SEGMENT_HEADER_BYTES,
               used - BILLORD_WAL_SEGMENT_HEADER_BYTES);
    /* Mode 1: built segments (damage bytes, first LSN, payloads separated by 0xFF). */
    static const uint8_t built[] = {0x01, 0x03, 0x01, 0x00, 0x10, 0x00, 0x01, 0x05, 0xFF,
                                    'a',  'b',  'c',  0xFF, 'd',  0xFF, 0x00, 0x01};
    write_seed("fuzz_wal_record", "built_three_flip", 0, false, built, sizeof built);
    static const uint8_t built_cut[] = {0x01, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x09, 0xFF,
                                        'x',  'y',  0xFF, 'z'};
    write_seed("fuzz_wal_record", "built_two_cut", 0, false, built_cut, sizeof built_cut);
}

int main(void)
{
    store_seeds();
    batch_seeds();
    wal_seeds();
    printf("fuzz-gen-corpus: seeds written under " CORPUS "\n");
    return 0;
}
