/*
 * test_store_codec.c: every store record round-trips through msgpack, and a damaged value
 * is BILLORD_E_CORRUPT, never a guess (docs/store-layout.md). Also the log's batch payload
 * (docs/wal-payload.md).
 */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/wal_batch.h>

#include "store/codec.h"
#include "support/batch_codec.h"

static billord_instance sample_instance(void)
{
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
    return instance;
}

static billord_order sample_order(void)
{
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
    return order;
}

static billord_account sample_account(void)
{
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
    return account;
}

static billord_token_record sample_token(void)
{
    billord_token_record token;
    memset(&token, 0, sizeof token);
    memset(token.fingerprint, 0xab, sizeof token.fingerprint);
    token.canonical_bytes = 7;
    memcpy(token.canonical, "BLFP\1\0x", 7);
    token.http_status = 403;
    strcpy(token.code_text, "InstanceLockedForSecurity");
    strcpy(token.message, "locked");
    strcpy(token.request_id, "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E");
    token.order_id = 0;
    token.created_ms = 1795305600000LL;
    return token;
}

/* The records with a key of their own and a codec: each kind's sample, encoded, decoded. */
typedef enum record_kind { RECORD_INSTANCE, RECORD_ORDER, RECORD_ACCOUNT, RECORD_TOKEN } record_kind;

typedef union record {
    billord_instance instance;
    billord_order order;
    billord_account account;
    billord_token_record token;
} record;

static size_t record_bytes(record_kind kind)
{
    switch (kind) {
    case RECORD_INSTANCE:
        return sizeof(billord_instance);
    case RECORD_ORDER:
        return sizeof(billord_order);
    case RECORD_ACCOUNT:
        return sizeof(billord_account);
    case RECORD_TOKEN:
        break;
    }
    return sizeof(billord_token_record);
}

/* The sample of kind, zero around its fields (records are compared byte for byte). */
static void sample_of(record_kind kind, record *out)
{
    memset(out, 0, sizeof *out);
    switch (kind) {
    case RECORD_INSTANCE:
        out->instance = sample_instance();
        break;
    case RECORD_ORDER:
        out->order = sample_order();
        break;
    case RECORD_ACCOUNT:
        out->account = sample_account();
        break;
    case RECORD_TOKEN:
        out->token = sample_token();
        break;
    }
}

/* buffer (initialised here; the caller destroys it) = the encoding of the sample of kind. */
static void encode_sample(record_kind kind, const record *sample, msgpack_sbuffer *buffer)
{
    msgpack_sbuffer_init(buffer);
    switch (kind) {
    case RECORD_INSTANCE:
        billord__encode_instance(buffer, &sample->instance);
        break;
    case RECORD_ORDER:
        billord__encode_order(buffer, &sample->order);
        break;
    case RECORD_ACCOUNT:
        billord__encode_account(buffer, &sample->account);
        break;
    case RECORD_TOKEN:
        billord__encode_token(buffer, &sample->token);
        break;
    }
}

/* Decode bytes as a record of kind under the sample's key into *out (zeroed first). */
static billord_err decode_as(record_kind kind, const record *sample, const char *bytes,
                             size_t bytes_len, record *out)
{
    memset(out, 0, sizeof *out);
    switch (kind) {
    case RECORD_INSTANCE:
        return billord__decode_instance(bytes, bytes_len, sample->instance.id, &out->instance);
    case RECORD_ORDER:
        return billord__decode_order(bytes, bytes_len, sample->order.id, &out->order);
    case RECORD_ACCOUNT:
        return billord__decode_account(bytes, bytes_len, sample->account.id, &out->account);
    case RECORD_TOKEN:
        break;
    }
    return billord__decode_token(bytes, bytes_len, &out->token);
}

/* The parameters of a test run once per record kind. */
#define FOR_EVERY_RECORD_KIND(test_name)                                                    \
    ParameterizedTestParameters(store_codec, test_name)                                     \
    {                                                                                       \
        static record_kind kinds[] = {RECORD_INSTANCE, RECORD_ORDER, RECORD_ACCOUNT,        \
                                      RECORD_TOKEN};                                        \
        return cr_make_param_array(record_kind, kinds, sizeof kinds / sizeof kinds[0]);     \
    }

/* The sample of kind, and its encoding in buffer (initialised here; the caller destroys it). */
static void encoded_sample(record_kind kind, record *sample, msgpack_sbuffer *buffer)
{
    sample_of(kind, sample);
    encode_sample(kind, sample, buffer);
}

FOR_EVERY_RECORD_KIND(every_record_round_trips)

ParameterizedTest(record_kind *kind, store_codec, every_record_round_trips, .timeout = 5)
{
    static record sample, decoded;
    msgpack_sbuffer buffer;
    encoded_sample(*kind, &sample, &buffer);
    cr_assert(eq(int, decode_as(*kind, &sample, buffer.data, buffer.size, &decoded), BILLORD_OK));
    cr_assert(memcmp(&decoded, &sample, record_bytes(*kind)) == 0);
    msgpack_sbuffer_destroy(&buffer);
}

FOR_EVERY_RECORD_KIND(every_truncation_of_a_record_is_corrupt)

ParameterizedTest(record_kind *kind, store_codec, every_truncation_of_a_record_is_corrupt,
                  .timeout = 10)
{
    static record sample, decoded;
    msgpack_sbuffer buffer;
    encoded_sample(*kind, &sample, &buffer);
    for (size_t cut = 0; cut < buffer.size; cut++) {
        cr_expect(eq(int, decode_as(*kind, &sample, buffer.data, cut, &decoded),
                     BILLORD_E_CORRUPT), "cut at %zu", cut);
    }
    msgpack_sbuffer_destroy(&buffer);
}

FOR_EVERY_RECORD_KIND(trailing_bytes_are_corrupt)

ParameterizedTest(record_kind *kind, store_codec, trailing_bytes_are_corrupt, .timeout = 5)
{
    static record sample, decoded;
    msgpack_sbuffer buffer;
    encoded_sample(*kind, &sample, &buffer);
    msgpack_sbuffer_write(&buffer, "\xc0", 1);
    cr_assert(eq(int, decode_as(*kind, &sample, buffer.data, buffer.size, &decoded),
                 BILLORD_E_CORRUPT));
    msgpack_sbuffer_destroy(&buffer);
}

Test(store_codec, other_version_is_corrupt, .timeout = 5)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    billord__encode_u64(&buffer, 42);
    ((uint8_t *)buffer.data)[1] = 2;            /* [version=2, 42] */
    uint64_t value = 0;
    cr_assert(eq(int, billord__decode_u64(buffer.data, buffer.size, &value), BILLORD_E_CORRUPT));
    cr_assert(eq(u64, value, 0));
    msgpack_sbuffer_destroy(&buffer);
}

Test(store_codec, enum_out_of_range_is_corrupt, .timeout = 5)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    billord_instance instance = sample_instance();
    instance.status = (billord_instance_status)9;
    billord__encode_instance(&buffer, &instance);
    billord_instance decoded;
    cr_assert(eq(int, billord__decode_instance(buffer.data, buffer.size, instance.id, &decoded),
                 BILLORD_E_CORRUPT));
    msgpack_sbuffer_destroy(&buffer);
}

Test(store_codec, batch_payload_round_trips, .timeout = 5)
{
    billord_param params_a[] = {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                                {"ClientToken", "a b*\xc3\xbc~'"}};
    billord_command commands[2] = {
        {.kind = BILLORD_COMMAND_REQUEST, .now_ms = 1795305600000LL,
         .request_id = "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E", .account = "1234567890123456",
         .action = "RenewInstance", .param_count = 3, .params = params_a},
        {.kind = BILLORD_COMMAND_TICK, .now_ms = -1, .account = "", .action = "",
         .param_count = 0, .params = NULL}};
    msgpack_sbuffer buffer;
    billord_wal_batch batch;
    batch_codec_round_trip(commands, 2, &buffer, &batch);
    cr_assert(eq(int, batch.commands[0].kind, BILLORD_COMMAND_REQUEST));
    cr_assert(eq(i64, batch.commands[0].now_ms, 1795305600000LL));
    cr_assert(eq(str, batch.commands[0].request_id, "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E"));
    cr_assert(eq(str, (char *)batch.commands[0].account, "1234567890123456"));
    cr_assert(eq(u32, batch.commands[0].param_count, 3));
    cr_assert(eq(str, (char *)batch.commands[0].params[2].value, "a b*\xc3\xbc~'"));
    cr_assert(eq(int, batch.commands[1].kind, BILLORD_COMMAND_TICK));
    cr_assert(eq(i64, batch.commands[1].now_ms, -1));
    billord_wal_batch_free(&batch);
    for (size_t cut = 0; cut < buffer.size; cut++) {
        cr_expect(eq(int, billord_wal_batch_decode((const uint8_t *)buffer.data, cut, &batch),
                     BILLORD_E_CORRUPT), "cut at %zu", cut);
        cr_expect(eq(sz, batch.count, 0));
    }
    msgpack_sbuffer_destroy(&buffer);
}

Test(store_codec, batch_with_an_oversized_value_is_refused, .timeout = 5)
{
    static char big[BILLORD_PARAM_VALUE_BYTES_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    billord_param params[] = {{"InstanceId", big}};
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST, .account = "a", .action = "x",
                               .param_count = 1, .params = params};
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    cr_assert(eq(int, billord_wal_batch_encode(&buffer, &command, 1), BILLORD_E_INVALID_ARGUMENT));
    msgpack_sbuffer_destroy(&buffer);
}
