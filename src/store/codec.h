/*
 * codec.h: msgpack encoding of every store record (docs/store-layout.md).
 *
 * Pure: bytes in, struct out (and back); no I/O, no globals. Encoders append to a
 * caller-owned msgpack_sbuffer (cleared first). Decoders reject anything that is not
 * exactly the documented layout with BILLORD_E_CORRUPT, and answer BILLORD_E_NOMEM when
 * msgpack-c cannot allocate for a well-formed value.
 */
#ifndef BILLORD_STORE_CODEC_H
#define BILLORD_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include <billord/error.h>
#include <billord/model.h>

#define BILLORD_RECORD_VERSION 1u
#define BILLORD_FINGERPRINT_BYTES 16u

/* A stored ClientToken outcome (the `tokens` db). */
typedef struct billord_token_record {
    uint8_t fingerprint[BILLORD_FINGERPRINT_BYTES];
    uint32_t canonical_bytes;
    uint8_t canonical[BILLORD_CANONICAL_BYTES_MAX];
    int http_status;
    char code_text[BILLORD_ACTION_BYTES_MAX + 1];
    char message[BILLORD_MESSAGE_BYTES_MAX];
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];
    uint64_t order_id;                      /* 0: none */
    int64_t created_ms;
} billord_token_record;

/* The `access_keys` db value. */
typedef struct billord_access_key_record {
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1];
} billord_access_key_record;

void billord__encode_account(msgpack_sbuffer *buffer, const billord_account *account);
billord_err billord__decode_account(const void *bytes, size_t bytes_len, const char *id,
                                    billord_account *out);

void billord__encode_access_key(msgpack_sbuffer *buffer, const billord_access_key_record *key);
billord_err billord__decode_access_key(const void *bytes, size_t bytes_len,
                                       billord_access_key_record *out);

void billord__encode_coupon(msgpack_sbuffer *buffer, const billord_coupon *coupon);
billord_err billord__decode_coupon(const void *bytes, size_t bytes_len, billord_coupon *out);

void billord__encode_price(msgpack_sbuffer *buffer, const billord_price *price);
billord_err billord__decode_price(const void *bytes, size_t bytes_len, billord_price *out);

void billord__encode_instance(msgpack_sbuffer *buffer, const billord_instance *instance);
billord_err billord__decode_instance(const void *bytes, size_t bytes_len, const char *id,
                                     billord_instance *out);

void billord__encode_order(msgpack_sbuffer *buffer, const billord_order *order);
billord_err billord__decode_order(const void *bytes, size_t bytes_len, uint64_t id,
                                  billord_order *out);

void billord__encode_token(msgpack_sbuffer *buffer, const billord_token_record *token);
billord_err billord__decode_token(const void *bytes, size_t bytes_len, billord_token_record *out);

void billord__encode_event(msgpack_sbuffer *buffer, const billord_event *event);
billord_err billord__decode_event(const void *bytes, size_t bytes_len, uint64_t seq,
                                  billord_event *out);

void billord__encode_u64(msgpack_sbuffer *buffer, uint64_t value);
billord_err billord__decode_u64(const void *bytes, size_t bytes_len, uint64_t *out);
void billord__encode_i64(msgpack_sbuffer *buffer, int64_t value);
billord_err billord__decode_i64(const void *bytes, size_t bytes_len, int64_t *out);

#endif
