/*
 * http_internal.h: helpers shared by the src/http/ files (never installed).
 *
 * The "sink" is where canonical strings go. The same generator code writes
 * them as text (tests, logs) or streams them through a digest or an HMAC, so
 * the text a test compares is byte for byte what the signature covers, and no
 * request-sized buffer is needed to sign a request.
 */
#ifndef BILLORD_HTTP_INTERNAL_H
#define BILLORD_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <billord/http_params.h>

/** True for A-Z a-z 0-9 - _ . ~, the bytes enc() leaves as they are. */
bool billord__percent_is_unreserved(uint8_t byte);

/** Copy text[0..text_bytes) into detail, truncated, NUL-terminated. detail may be NULL. */
void billord__http_detail_set(billord_http_detail *detail, const char *text, size_t text_bytes);

/** Write lowercase hex of bytes into out (2 * bytes_len characters, no NUL). */
void billord__hex_lower(const uint8_t *bytes, size_t bytes_len, char *out);

/**
 * Indices into params->items of the parameters whose source is in source_mask
 * (a bit per billord_param_source) and whose name is not excluded_name (may be
 * NULL), sorted by name in byte order. @return how many.
 */
uint32_t billord__params_sorted(const billord_params *params, unsigned source_mask,
                                const char *excluded_name, uint8_t out_order[BILLORD_PARAMS_MAX]);

#define BILLORD__SINK_BUFFER_BYTES 512u

typedef struct billord__sink {
    char *text;                    /* text mode: the caller's buffer */
    size_t text_capacity;
    size_t text_bytes;
    EVP_MD_CTX *md;                /* digest mode */
    EVP_MAC_CTX *mac;              /* HMAC mode */
    unsigned char buffer[BILLORD__SINK_BUFFER_BYTES];
    size_t buffer_bytes;
    bool overflowed;               /* text did not fit */
    bool failed;                   /* OpenSSL refused an update */
} billord__sink;

void billord__sink_init_text(billord__sink *sink, char *text, size_t text_capacity);
void billord__sink_init_md(billord__sink *sink, EVP_MD_CTX *md);
void billord__sink_init_mac(billord__sink *sink, EVP_MAC_CTX *mac);
void billord__sink_put(billord__sink *sink, const void *bytes, size_t bytes_len);
void billord__sink_str(billord__sink *sink, const char *text);
/** enc(bytes). */
void billord__sink_enc(billord__sink *sink, const void *bytes, size_t bytes_len);
/** enc(enc(bytes)): what V1 puts in the string to sign for a name or a value. */
void billord__sink_enc_enc(billord__sink *sink, const void *bytes, size_t bytes_len);
/** Flush buffered bytes; text mode adds a NUL. @return false on overflow or failure. */
bool billord__sink_finish(billord__sink *sink);

/** A fresh HMAC context keyed with key over digest_name ("SHA1", "SHA256"), or NULL. */
EVP_MAC_CTX *billord__hmac_begin(const char *digest_name, const void *key, size_t key_bytes);
/** Final HMAC into out (out_capacity >= the digest size) and free ctx. @return bytes or 0. */
size_t billord__hmac_end(EVP_MAC_CTX *ctx, uint8_t *out, size_t out_capacity);

#endif
