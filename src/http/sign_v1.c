/*
 * sign_v1.c: the V1 signature (HMAC-SHA1, Signature parameter) of pop-core.
 *
 * Promise: the string to sign is built exactly as SDK-WIRE.md says, from the
 * decoded parameters re-encoded with enc (never from the raw query text), and
 * is streamed into the HMAC, so any request the parser accepts can be verified
 * without a request-sized buffer. The comparison is constant-time.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/assert.h"
#include "http/http_internal.h"
#include <billord/http_sign.h>

#define V1_SIGNATURE_NAME "Signature"
#define V1_SHA1_BYTES     20u
#define V1_KEY_BYTES_MAX  (BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1u)   /* secret + "&" */

static_assert(4u * ((V1_SHA1_BYTES + 2u) / 3u) == BILLORD_SIGN_V1_SIGNATURE_BYTES,
              "base64 of a SHA-1 is 28 characters");

/* METHOD&%2F&enc(canonical), where canonical = enc(k)=enc(v)&... */
static void v1_string_to_sign_write(const billord_params *params, const char *method,
                                    billord__sink *sink)
{
    uint8_t order[BILLORD_PARAMS_MAX];
    uint32_t const order_count =
        billord__params_sorted(params, BILLORD_PARAM_SOURCE_QUERY | BILLORD_PARAM_SOURCE_BODY,
                               V1_SIGNATURE_NAME, order);
    billord__sink_str(sink, method);
    billord__sink_str(sink, "&%2F&");
    for (uint32_t i = 0; i < order_count; i++) {
        const billord_http_param *param = &params->items[order[i]];
        if (i > 0) {
            billord__sink_str(sink, "%26");   /* enc("&") */
        }
        billord__sink_enc_enc(sink, param->name, param->name_bytes);
        billord__sink_str(sink, "%3D");   /* enc("=") */
        billord__sink_enc_enc(sink, param->value, param->value_bytes);
    }
}

billord_err billord_sign_v1_string_to_sign(const billord_params *params, const char *method,
                                           char *out, size_t out_capacity, size_t *out_bytes)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(method != NULL);
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(out_bytes != NULL);
    billord__sink sink;
    billord__sink_init_text(&sink, out, out_capacity);
    v1_string_to_sign_write(params, method, &sink);
    if (!billord__sink_finish(&sink)) {
        return BILLORD_E_TOO_LARGE;
    }
    *out_bytes = sink.text_bytes;
    return BILLORD_OK;
}

billord_sign_status billord_sign_v1_compute(const billord_params *params, const char *method,
                                            const char *secret, size_t secret_bytes,
                                            char out[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u])
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(method != NULL);
    BILLORD_ASSERT(secret != NULL);
    BILLORD_ASSERT(secret_bytes <= BILLORD_ACCESS_KEY_SECRET_BYTES_MAX);
    BILLORD_ASSERT(out != NULL);
    char key[V1_KEY_BYTES_MAX];
    memcpy(key, secret, secret_bytes);
    key[secret_bytes] = '&';
    EVP_MAC_CTX *mac = billord__hmac_begin("SHA1", key, secret_bytes + 1u);
    OPENSSL_cleanse(key, sizeof key);
    if (mac == NULL) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    billord__sink sink;
    billord__sink_init_mac(&sink, mac);
    v1_string_to_sign_write(params, method, &sink);
    bool const streamed = billord__sink_finish(&sink);
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t const digest_bytes = billord__hmac_end(mac, digest, sizeof digest);
    if (!streamed || digest_bytes != V1_SHA1_BYTES) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    unsigned char encoded[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    int const encoded_bytes = EVP_EncodeBlock(encoded, digest, (int)digest_bytes);
    BILLORD_ASSERT(encoded_bytes == (int)BILLORD_SIGN_V1_SIGNATURE_BYTES);
    memcpy(out, encoded, BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u);   /* with its NUL */
    return BILLORD_SIGN_OK;
}

typedef struct v1_required {
    const char *name;
    const char *value_required;   /* NULL: any non-empty value */
} v1_required;

/* The order in which a missing part is reported. */
static const v1_required v1_required_params[] = {
    {"AccessKeyId", NULL},
    {V1_SIGNATURE_NAME, NULL},
    {"SignatureMethod", "HMAC-SHA1"},
    {"SignatureVersion", "1.0"},
    {"SignatureNonce", NULL},
    {"Timestamp", NULL},
};

billord_sign_status billord_sign_v1_check_complete(const billord_params *params,
                                                   billord_http_detail *out_detail)
{
    BILLORD_ASSERT(params != NULL);
    billord__http_detail_set(out_detail, "", 0);
    size_t const required_count = sizeof v1_required_params / sizeof v1_required_params[0];
    for (size_t i = 0; i < required_count; i++) {
        const v1_required *required = &v1_required_params[i];
        const billord_http_param *param = billord_params_find(params, required->name);
        bool present = param != NULL && param->value_bytes > 0;
        if (present && required->value_required != NULL) {
            present = strcmp(param->value, required->value_required) == 0;
        }
        if (!present) {
            billord__http_detail_set(out_detail, required->name, strlen(required->name));
            return BILLORD_SIGN_E_INCOMPLETE;
        }
    }
    return BILLORD_SIGN_OK;
}

billord_sign_status billord_sign_v1_verify(const billord_params *params, const char *method,
                                           const char *secret, size_t secret_bytes,
                                           billord_http_detail *out_detail)
{
    billord_sign_status status = billord_sign_v1_check_complete(params, out_detail);
    if (status != BILLORD_SIGN_OK) {
        return status;
    }
    char expected[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    status = billord_sign_v1_compute(params, method, secret, secret_bytes, expected);
    if (status != BILLORD_SIGN_OK) {
        return status;
    }
    const billord_http_param *given = billord_params_find(params, V1_SIGNATURE_NAME);
    BILLORD_ASSERT(given != NULL);
    /* The length is public (always 28 for a real signature); only the bytes are secret. */
    if (given->value_bytes != BILLORD_SIGN_V1_SIGNATURE_BYTES ||
        CRYPTO_memcmp(given->value, expected, BILLORD_SIGN_V1_SIGNATURE_BYTES) != 0) {
        billord__http_detail_set(out_detail, V1_SIGNATURE_NAME, strlen(V1_SIGNATURE_NAME));
        return BILLORD_SIGN_E_MISMATCH;
    }
    return BILLORD_SIGN_OK;
}
