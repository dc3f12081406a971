/*
 * sign_common.c: what V1 and V3 share: the sink canonical strings go through,
 * HMAC over OpenSSL's EVP_MAC, sorting parameters, and the status table.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "core/assert.h"
#include "http/http_internal.h"
#include <billord/http_sign.h>

typedef struct sign_status_row {
    const char *name;
    billord_api_code api_code;
} sign_status_row;

static const sign_status_row sign_status_rows[] = {
#define BILLORD_SIGN_STATUS_ROW(name, api_code, text) [name] = {#name, api_code},
    BILLORD_SIGN_STATUS_LIST(BILLORD_SIGN_STATUS_ROW)
#undef BILLORD_SIGN_STATUS_ROW
};
static_assert(sizeof sign_status_rows / sizeof sign_status_rows[0] == BILLORD_SIGN_STATUS_COUNT,
              "every sign status has a row");

const char *billord_sign_status_name(billord_sign_status status)
{
    return (unsigned)status < BILLORD_SIGN_STATUS_COUNT ? sign_status_rows[status].name
                                                        : "BILLORD_SIGN_E_UNKNOWN";
}

billord_api_code billord_sign_status_api_code(billord_sign_status status)
{
    return (unsigned)status < BILLORD_SIGN_STATUS_COUNT ? sign_status_rows[status].api_code
                                                        : BILLORD_API_INTERNAL_ERROR;
}

/* ---- Sorting ---------------------------------------------------------------------------- */

static int name_compare(const billord_http_param *a, const billord_http_param *b)
{
    size_t const common_bytes = a->name_bytes < b->name_bytes ? a->name_bytes : b->name_bytes;
    int const order = memcmp(a->name, b->name, common_bytes);
    if (order != 0) {
        return order;
    }
    return (a->name_bytes > b->name_bytes) - (a->name_bytes < b->name_bytes);
}

uint32_t billord__params_sorted(const billord_params *params, unsigned source_mask,
                                const char *excluded_name, uint8_t out_order[BILLORD_PARAMS_MAX])
{
    BILLORD_ASSERT(params->count <= BILLORD_PARAMS_MAX);
    size_t const excluded_bytes = excluded_name != NULL ? strlen(excluded_name) : 0;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < params->count; i++) {
        const billord_http_param *param = &params->items[i];
        if (((unsigned)param->source & source_mask) == 0) {
            continue;
        }
        if (excluded_name != NULL && param->name_bytes == excluded_bytes &&
            memcmp(param->name, excluded_name, excluded_bytes) == 0) {
            continue;
        }
        /* Insertion sort: at most 64 names, and usually already nearly sorted. */
        uint32_t position = kept;
        while (position > 0 && name_compare(&params->items[out_order[position - 1u]], param) > 0) {
            out_order[position] = out_order[position - 1u];
            position--;
        }
        out_order[position] = (uint8_t)i;
        kept++;
    }
    return kept;
}

/* ---- Sink ------------------------------------------------------------------------------- */

static void sink_init(billord__sink *sink)
{
    memset(sink, 0, offsetof(billord__sink, buffer));
    sink->buffer_bytes = 0;
    sink->overflowed = false;
    sink->failed = false;
}

void billord__sink_init_text(billord__sink *sink, char *text, size_t text_capacity)
{
    BILLORD_ASSERT(text != NULL);
    sink_init(sink);
    sink->text = text;
    sink->text_capacity = text_capacity;
}

void billord__sink_init_md(billord__sink *sink, EVP_MD_CTX *md)
{
    BILLORD_ASSERT(md != NULL);
    sink_init(sink);
    sink->md = md;
}

void billord__sink_init_mac(billord__sink *sink, EVP_MAC_CTX *mac)
{
    BILLORD_ASSERT(mac != NULL);
    sink_init(sink);
    sink->mac = mac;
}

static void sink_flush(billord__sink *sink)
{
    if (sink->buffer_bytes == 0 || sink->failed) {
        sink->buffer_bytes = 0;
        return;
    }
    int ok = 0;
    if (sink->md != NULL) {
        ok = EVP_DigestUpdate(sink->md, sink->buffer, sink->buffer_bytes);
    } else {
        ok = EVP_MAC_update(sink->mac, sink->buffer, sink->buffer_bytes);
    }
    sink->failed = ok != 1;
    sink->buffer_bytes = 0;
}

void billord__sink_put(billord__sink *sink, const void *bytes, size_t bytes_len)
{
    if (bytes_len == 0) {
        return;
    }
    if (sink->text != NULL) {
        /* Keep one byte for the NUL that finish adds. */
        if (sink->overflowed || sink->text_capacity - sink->text_bytes <= bytes_len) {
            sink->overflowed = true;
            return;
        }
        memcpy(sink->text + sink->text_bytes, bytes, bytes_len);
        sink->text_bytes += bytes_len;
        return;
    }
    if (bytes_len > sizeof sink->buffer - sink->buffer_bytes) {
        sink_flush(sink);
    }
    if (bytes_len > sizeof sink->buffer) {
        sink->failed = sink->failed ||
                       (sink->md != NULL ? EVP_DigestUpdate(sink->md, bytes, bytes_len)
                                         : EVP_MAC_update(sink->mac, bytes, bytes_len)) != 1;
        return;
    }
    memcpy(sink->buffer + sink->buffer_bytes, bytes, bytes_len);
    sink->buffer_bytes += bytes_len;
}

void billord__sink_str(billord__sink *sink, const char *text)
{
    billord__sink_put(sink, text, strlen(text));
}

static const char hex_upper[] = "0123456789ABCDEF";

void billord__sink_enc(billord__sink *sink, const void *bytes, size_t bytes_len)
{
    const uint8_t *in = bytes;
    for (size_t i = 0; i < bytes_len; i++) {
        if (billord__percent_is_unreserved(in[i])) {
            billord__sink_put(sink, &in[i], 1);
        } else {
            char const escaped[3] = {'%', hex_upper[in[i] >> 4], hex_upper[in[i] & 0x0Fu]};
            billord__sink_put(sink, escaped, sizeof escaped);
        }
    }
}

void billord__sink_enc_enc(billord__sink *sink, const void *bytes, size_t bytes_len)
{
    const uint8_t *in = bytes;
    for (size_t i = 0; i < bytes_len; i++) {
        if (billord__percent_is_unreserved(in[i])) {
            billord__sink_put(sink, &in[i], 1);
        } else {
            /* enc("%XX") = "%25XX": hex digits are unreserved. */
            char const escaped[5] = {'%', '2', '5', hex_upper[in[i] >> 4],
                                     hex_upper[in[i] & 0x0Fu]};
            billord__sink_put(sink, escaped, sizeof escaped);
        }
    }
}

bool billord__sink_finish(billord__sink *sink)
{
    if (sink->text != NULL) {
        if (sink->overflowed || sink->text_capacity == 0) {
            return false;
        }
        sink->text[sink->text_bytes] = '\0';
        return true;
    }
    sink_flush(sink);
    return !sink->failed;
}

/* ---- HMAC ------------------------------------------------------------------------------- */

EVP_MAC_CTX *billord__hmac_begin(const char *digest_name, const void *key, size_t key_bytes)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (mac == NULL) {
        return NULL;
    }
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);   /* the context holds its own reference */
    if (ctx == NULL) {
        return NULL;
    }
    OSSL_PARAM const mac_params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx, key, key_bytes, mac_params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

size_t billord__hmac_end(EVP_MAC_CTX *ctx, uint8_t *out, size_t out_capacity)
{
    size_t out_bytes = 0;
    int const ok = EVP_MAC_final(ctx, out, &out_bytes, out_capacity);
    EVP_MAC_CTX_free(ctx);
    return ok == 1 ? out_bytes : 0;
}
