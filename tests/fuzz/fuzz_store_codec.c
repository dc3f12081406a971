/*
 * fuzz_store_codec: the msgpack decoders of every store record (src/store/codec.h):
 * accounts, access keys, coupons, prices, instances, orders, ClientToken records,
 * events, and the plain u64/i64 values.
 *
 * Input: byte 0 picks the record type; the rest is the stored value.
 * Properties: a decoder fails closed (BILLORD_E_CORRUPT) or gives a record whose
 * encoding decodes to the same record (decode(encode(x)) == x, compared as the whole
 * struct), and whose encoding is a fixed point (encode(decode(encode(x))) == encode(x)).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "store/codec.h"

#define RECORD_TYPES 10u

/* Decode, encode, decode again and encode again; each step must agree. */
#define ROUND_TRIP(type, decode_call, decode_again_call, encode_fn, normalize)                \
    do {                                                                                      \
        static type first, second;                                                            \
        memset(&first, 0, sizeof first);                                                      \
        memset(&second, 0, sizeof second);                                                    \
        billord_err const err = (decode_call);                                                \
        if (err != BILLORD_OK) {                                                              \
            BILLORD_ASSERT(err == BILLORD_E_CORRUPT);                                         \
            break;                                                                            \
        }                                                                                     \
        msgpack_sbuffer one, two;                                                             \
        msgpack_sbuffer_init(&one);                                                           \
        msgpack_sbuffer_init(&two);                                                           \
        normalize(&first);                                                                    \
        encode_fn(&one, &first);                                                              \
        const void *bytes = one.data;                                                         \
        size_t bytes_len = one.size;                                                          \
        BILLORD_ASSERT((decode_again_call) == BILLORD_OK);                                    \
        normalize(&second);                                                                   \
        BILLORD_ASSERT(memcmp(&first, &second, sizeof first) == 0);                           \
        encode_fn(&two, &second);                                                             \
        BILLORD_ASSERT(one.size == two.size && memcmp(one.data, two.data, one.size) == 0);    \
        msgpack_sbuffer_destroy(&one);                                                        \
        msgpack_sbuffer_destroy(&two);                                                        \
    } while (0)

/* Bytes after a string's NUL are not part of the record: zero them before comparing. */
static void zero_after_nul(char *text, size_t text_bytes)
{
    size_t const used = strnlen(text, text_bytes);
    if (used < text_bytes) {
        memset(text + used, 0, text_bytes - used);
    }
}

/* billord__decode_access_key fills a stack struct without clearing it first. */
static void normalize_access_key(billord_access_key_record *key)
{
    zero_after_nul(key->account, sizeof key->account);
    zero_after_nul(key->secret, sizeof key->secret);
}

#define NO_NORMALIZE(record) ((void)(record))

static void encode_u64_value(msgpack_sbuffer *buffer, const uint64_t *value)
{
    billord__encode_u64(buffer, *value);
}

static void encode_i64_value(msgpack_sbuffer *buffer, const int64_t *value)
{
    billord__encode_i64(buffer, *value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > BILLORD_STORE_VALUE_BYTES_MAX) {
        return 0;
    }
    unsigned const type = data[0] % RECORD_TYPES;
    /* An exact-size heap copy, so ASan sees any read past the value. */
    uint8_t *value = malloc(size - 1u ? size - 1u : 1u);
    BILLORD_ASSERT(value != NULL);
    memcpy(value, data + 1, size - 1u);
    size_t const value_bytes = size - 1u;

    switch (type) {
    case 0:
        ROUND_TRIP(billord_account,
                   billord__decode_account(value, value_bytes, "1234567890123456", &first),
                   billord__decode_account(bytes, bytes_len, "1234567890123456", &second),
                   billord__encode_account, NO_NORMALIZE);
        break;
    case 1:
        ROUND_TRIP(billord_access_key_record, billord__decode_access_key(value, value_bytes, &first),
                   billord__decode_access_key(bytes, bytes_len, &second),
                   billord__encode_access_key, normalize_access_key);
        break;
    case 2:
        ROUND_TRIP(billord_coupon, billord__decode_coupon(value, value_bytes, &first),
                   billord__decode_coupon(bytes, bytes_len, &second), billord__encode_coupon, NO_NORMALIZE);
        break;
    case 3:
        ROUND_TRIP(billord_price, billord__decode_price(value, value_bytes, &first),
                   billord__decode_price(bytes, bytes_len, &second), billord__encode_price, NO_NORMALIZE);
        break;
    case 4:
        ROUND_TRIP(billord_instance,
                   billord__decode_instance(value, value_bytes, "i-acc0001", &first),
                   billord__decode_instance(bytes, bytes_len, "i-acc0001", &second),
                   billord__encode_instance, NO_NORMALIZE);
        break;
    case 5:
        ROUND_TRIP(billord_order,
                   billord__decode_order(value, value_bytes, 200000000000001ULL, &first),
                   billord__decode_order(bytes, bytes_len, 200000000000001ULL, &second),
                   billord__encode_order, NO_NORMALIZE);
        break;
    case 6:
        ROUND_TRIP(billord_token_record, billord__decode_token(value, value_bytes, &first),
                   billord__decode_token(bytes, bytes_len, &second), billord__encode_token, NO_NORMALIZE);
        break;
    case 7:
        ROUND_TRIP(billord_event, billord__decode_event(value, value_bytes, 42u, &first),
                   billord__decode_event(bytes, bytes_len, 42u, &second), billord__encode_event, NO_NORMALIZE);
        break;
    case 8:
        ROUND_TRIP(uint64_t, billord__decode_u64(value, value_bytes, &first),
                   billord__decode_u64(bytes, bytes_len, &second), encode_u64_value, NO_NORMALIZE);
        break;
    default:
        ROUND_TRIP(int64_t, billord__decode_i64(value, value_bytes, &first),
                   billord__decode_i64(bytes, bytes_len, &second), encode_i64_value, NO_NORMALIZE);
        break;
    }
    free(value);
    return 0;
}
