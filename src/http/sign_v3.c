/*
 * sign_v3.c: the V3 signature (ACS3-HMAC-SHA256, Authorization header) of the
 * product SDKs (@alicloud/ecs20140526, rds20140815, openapi-client).
 *
 * Promise: the canonical request is built exactly as SDK-WIRE.md says: query
 * parameters decoded and re-encoded, signed headers in the client's
 * SignedHeaders order with values trimmed, and the body's SHA-256. Requests
 * whose SignedHeaders leaves out a header the SDK always signs are refused as
 * incomplete, so no unsigned header can steer the server. Constant-time compare.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/assert.h"
#include "http/http_internal.h"
#include <billord/http_sign.h>

#define V3_SHA256_BYTES      32u
#define V3_SHA256_HEX_BYTES  (2u * V3_SHA256_BYTES)
#define V3_ACS_PREFIX        "x-acs-"
#define V3_CONTENT_SHA256    "x-acs-content-sha256"
#define V3_STRING_TO_SIGN_BYTES (sizeof BILLORD_SIGN_V3_ALGORITHM + V3_SHA256_HEX_BYTES)

static_assert(BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES == V3_SHA256_HEX_BYTES,
              "a V3 signature is the hex of one SHA-256");

typedef struct signed_name {
    const char *name;
    size_t name_bytes;
} signed_name;

typedef struct signed_list {
    signed_name items[BILLORD_SIGN_V3_SIGNED_HEADERS_MAX];
    uint32_t count;
} signed_list;

/* The headers every V3 request must sign (the server relies on each of them). */
static const char *const v3_required_headers[] = {
    "host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce",
};

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool name_equal(const char *a, size_t a_bytes, const char *b, size_t b_bytes)
{
    if (a_bytes != b_bytes) {
        return false;
    }
    for (size_t i = 0; i < a_bytes; i++) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

static bool name_has_prefix(const char *name, size_t name_bytes, const char *prefix)
{
    size_t const prefix_bytes = strlen(prefix);
    return name_bytes >= prefix_bytes && name_equal(name, prefix_bytes, prefix, prefix_bytes);
}

const billord_http_header *billord_http_header_find(const billord_http_header *headers,
                                                    size_t header_count, const char *name)
{
    BILLORD_ASSERT(headers != NULL || header_count == 0);
    BILLORD_ASSERT(name != NULL);
    size_t const name_bytes = strlen(name);
    for (size_t i = 0; i < header_count; i++) {
        if (name_equal(headers[i].name, headers[i].name_bytes, name, name_bytes)) {
            return &headers[i];
        }
    }
    return NULL;
}

static void detail_str(billord_http_detail *detail, const char *text)
{
    billord__http_detail_set(detail, text, strlen(text));
}

/* ---- Authorization ---------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **text, size_t *text_bytes)
{
    while (*text_bytes > 0 && is_space((*text)[0])) {
        (*text)++;
        (*text_bytes)--;
    }
    while (*text_bytes > 0 && is_space((*text)[*text_bytes - 1u])) {
        (*text_bytes)--;
    }
}

/* Fill one field of auth from "Key=Value"; false when the field came before. */
static bool auth_slot_fill(const char **slot, size_t *slot_bytes, const char *value,
                           size_t value_bytes)
{
    if (*slot != NULL) {
        return false;
    }
    *slot = value;
    *slot_bytes = value_bytes;
    return true;
}

static bool key_match(const char *field, size_t field_bytes, const char *key,
                      const char **out_value, size_t *out_value_bytes)
{
    size_t const key_bytes = strlen(key);
    if (field_bytes < key_bytes || memcmp(field, key, key_bytes) != 0) {
        return false;
    }
    *out_value = field + key_bytes;
    *out_value_bytes = field_bytes - key_bytes;
    return true;
}

/* One "Key=Value" field; false when it is not one of the three or comes twice. */
static bool auth_field_take(const char *field, size_t field_bytes, billord_sign_v3_auth *auth)
{
    const char *value = NULL;
    size_t value_bytes = 0;
    if (key_match(field, field_bytes, "Credential=", &value, &value_bytes)) {
        return auth_slot_fill(&auth->access_key_id, &auth->access_key_id_bytes, value,
                              value_bytes);
    }
    if (key_match(field, field_bytes, "SignedHeaders=", &value, &value_bytes)) {
        return auth_slot_fill(&auth->signed_headers, &auth->signed_headers_bytes, value,
                              value_bytes);
    }
    if (key_match(field, field_bytes, "Signature=", &value, &value_bytes)) {
        return auth_slot_fill(&auth->signature_hex, &auth->signature_hex_bytes, value,
                              value_bytes);
    }
    return false;
}

billord_sign_status billord_sign_v3_parse_authorization(const char *value, size_t value_bytes,
                                                        billord_sign_v3_auth *out_auth,
                                                        billord_http_detail *out_detail)
{
    BILLORD_ASSERT(value != NULL || value_bytes == 0);
    BILLORD_ASSERT(out_auth != NULL);
    billord__http_detail_set(out_detail, "", 0);
    size_t const algorithm_bytes = strlen(BILLORD_SIGN_V3_ALGORITHM);
    if (value_bytes <= algorithm_bytes ||
        memcmp(value, BILLORD_SIGN_V3_ALGORITHM, algorithm_bytes) != 0 ||
        value[algorithm_bytes] != ' ') {
        detail_str(out_detail, "Authorization");
        return BILLORD_SIGN_E_INCOMPLETE;
    }
    billord_sign_v3_auth auth = {0};
    size_t position = algorithm_bytes + 1u;
    /* "<=": an empty last field (a trailing comma) is read, and refused, like "a,,b". */
    while (position <= value_bytes) {   /* position grows by at least 1 each turn */
        const char *field = value + position;
        const char *comma = memchr(field, ',', value_bytes - position);
        size_t field_bytes = comma != NULL ? (size_t)(comma - field) : value_bytes - position;
        position += field_bytes + 1u;
        trim(&field, &field_bytes);
        if (!auth_field_take(field, field_bytes, &auth)) {
            detail_str(out_detail, "Authorization");
            return BILLORD_SIGN_E_INCOMPLETE;
        }
    }
    if (auth.access_key_id_bytes == 0) {
        detail_str(out_detail, "Credential");
        return BILLORD_SIGN_E_INCOMPLETE;
    }
    if (auth.signed_headers_bytes == 0) {
        detail_str(out_detail, "SignedHeaders");
        return BILLORD_SIGN_E_INCOMPLETE;
    }
    if (auth.signature_hex_bytes == 0) {
        detail_str(out_detail, "Signature");
        return BILLORD_SIGN_E_INCOMPLETE;
    }
    *out_auth = auth;
    return BILLORD_SIGN_OK;
}

/* ---- SignedHeaders ---------------------------------------------------------------------- */

static bool signed_name_valid(const char *name, size_t name_bytes)
{
    if (name_bytes == 0 || name_bytes > BILLORD_SIGN_V3_HEADER_NAME_BYTES_MAX) {
        return false;
    }
    for (size_t i = 0; i < name_bytes; i++) {
        char const c = name[i];
        bool const allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                             c == '_';
        if (!allowed) {
            return false;
        }
    }
    return true;
}

static bool signed_list_has(const signed_list *list, const char *name, size_t name_bytes)
{
    for (uint32_t i = 0; i < list->count; i++) {
        if (name_equal(list->items[i].name, list->items[i].name_bytes, name, name_bytes)) {
            return true;
        }
    }
    return false;
}

static bool signed_list_parse(const char *text, size_t text_bytes, signed_list *list)
{
    list->count = 0;
    if (text == NULL || text_bytes == 0) {
        return false;
    }
    size_t position = 0;
    while (position <= text_bytes) {   /* position grows by at least 1 each turn */
        const char *name = text + position;
        const char *semicolon = memchr(name, ';', text_bytes - position);
        size_t const name_bytes =
            semicolon != NULL ? (size_t)(semicolon - name) : text_bytes - position;
        position += name_bytes + 1u;
        if (!signed_name_valid(name, name_bytes) || signed_list_has(list, name, name_bytes) ||
            list->count == BILLORD_SIGN_V3_SIGNED_HEADERS_MAX) {
            return false;
        }
        list->items[list->count++] = (signed_name){name, name_bytes};
    }
    return true;
}

static size_t header_count_named(const billord_sign_v3_request *request, const char *name,
                                 size_t name_bytes, const billord_http_header **out_first)
{
    size_t found = 0;
    for (size_t i = 0; i < request->header_count; i++) {
        const billord_http_header *header = &request->headers[i];
        if (name_equal(header->name, header->name_bytes, name, name_bytes)) {
            if (found == 0 && out_first != NULL) {
                *out_first = header;
            }
            found++;
        }
    }
    return found;
}

/* Every header the SDK would sign is signed, and every signed header is there once. */
static billord_sign_status v3_complete(const billord_sign_v3_request *request, signed_list *list,
                                       billord_http_detail *detail)
{
    if (!signed_list_parse(request->signed_headers, request->signed_headers_bytes, list)) {
        detail_str(detail, "SignedHeaders");
        return BILLORD_SIGN_E_INCOMPLETE;
    }
    for (size_t i = 0; i < sizeof v3_required_headers / sizeof v3_required_headers[0]; i++) {
        const char *required = v3_required_headers[i];
        if (!signed_list_has(list, required, strlen(required))) {
            detail_str(detail, required);
            return BILLORD_SIGN_E_INCOMPLETE;
        }
    }
    for (uint32_t i = 0; i < list->count; i++) {
        const signed_name *name = &list->items[i];
        size_t const found = header_count_named(request, name->name, name->name_bytes, NULL);
        if (found != 1) {
            billord__http_detail_set(detail, name->name, name->name_bytes);
            return found == 0 ? BILLORD_SIGN_E_INCOMPLETE : BILLORD_SIGN_E_MISMATCH;
        }
    }
    for (size_t i = 0; i < request->header_count; i++) {
        const billord_http_header *header = &request->headers[i];
        bool const must_sign = name_has_prefix(header->name, header->name_bytes, V3_ACS_PREFIX) ||
                               name_equal(header->name, header->name_bytes, "content-type", 12);
        if (must_sign && !signed_list_has(list, header->name, header->name_bytes)) {
            billord__http_detail_set(detail, header->name, header->name_bytes);
            return BILLORD_SIGN_E_INCOMPLETE;
        }
    }
    return BILLORD_SIGN_OK;
}

static void request_check(const billord_sign_v3_request *request)
{
    BILLORD_ASSERT(request != NULL);
    BILLORD_ASSERT(request->method != NULL);
    BILLORD_ASSERT(request->params != NULL);
    BILLORD_ASSERT(request->headers != NULL || request->header_count == 0);
    BILLORD_ASSERT(request->body != NULL || request->body_bytes == 0);
}

billord_sign_status billord_sign_v3_check_complete(const billord_sign_v3_request *request,
                                                   billord_http_detail *out_detail)
{
    request_check(request);
    billord__http_detail_set(out_detail, "", 0);
    signed_list list;
    return v3_complete(request, &list, out_detail);
}

/* ---- Canonical request ------------------------------------------------------------------ */

static bool body_hash_hex(const billord_sign_v3_request *request,
                          char out_hex[V3_SHA256_HEX_BYTES + 1u])
{
    static const uint8_t empty_body[1] = {0};
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_bytes = 0;
    const uint8_t *body = request->body != NULL ? request->body : empty_body;
    if (EVP_Digest(body, request->body_bytes, digest, &digest_bytes, EVP_sha256(), NULL) != 1 ||
        digest_bytes != V3_SHA256_BYTES) {
        return false;
    }
    billord__hex_lower(digest, V3_SHA256_BYTES, out_hex);
    out_hex[V3_SHA256_HEX_BYTES] = '\0';
    return true;
}

static void v3_canonical_write(const billord_sign_v3_request *request, const signed_list *list,
                               const char *body_hex, billord__sink *sink)
{
    billord__sink_str(sink, request->method);
    billord__sink_str(sink, "\n/\n");
    uint8_t order[BILLORD_PARAMS_MAX];
    uint32_t const order_count =
        billord__params_sorted(request->params, BILLORD_PARAM_SOURCE_QUERY, NULL, order);
    for (uint32_t i = 0; i < order_count; i++) {
        const billord_http_param *param = &request->params->items[order[i]];
        if (i > 0) {
            billord__sink_str(sink, "&");
        }
        /* The SDK leaves keys as they are; enc is the identity on the ASCII keys it
         * sends, and encoding any other key keeps "&" and "=" unambiguous. */
        billord__sink_enc(sink, param->name, param->name_bytes);
        billord__sink_str(sink, "=");
        billord__sink_enc(sink, param->value, param->value_bytes);
    }
    billord__sink_str(sink, "\n");
    for (uint32_t i = 0; i < list->count; i++) {
        const signed_name *name = &list->items[i];
        const billord_http_header *header = NULL;
        size_t const found = header_count_named(request, name->name, name->name_bytes, &header);
        BILLORD_ASSERT(found == 1);
        const char *value = header->value;
        size_t value_bytes = header->value_bytes;
        trim(&value, &value_bytes);
        billord__sink_put(sink, name->name, name->name_bytes);
        billord__sink_str(sink, ":");
        billord__sink_put(sink, value, value_bytes);
        billord__sink_str(sink, "\n");
    }
    billord__sink_str(sink, "\n");
    billord__sink_put(sink, request->signed_headers, request->signed_headers_bytes);
    billord__sink_str(sink, "\n");
    billord__sink_str(sink, body_hex);
}

billord_err billord_sign_v3_canonical_request(const billord_sign_v3_request *request, char *out,
                                              size_t out_capacity, size_t *out_bytes)
{
    request_check(request);
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(out_bytes != NULL);
    signed_list list;
    if (v3_complete(request, &list, NULL) != BILLORD_SIGN_OK) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    char body_hex[V3_SHA256_HEX_BYTES + 1u];
    if (!body_hash_hex(request, body_hex)) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    billord__sink sink;
    billord__sink_init_text(&sink, out, out_capacity);
    v3_canonical_write(request, &list, body_hex, &sink);
    if (!billord__sink_finish(&sink)) {
        return BILLORD_E_TOO_LARGE;
    }
    *out_bytes = sink.text_bytes;
    return BILLORD_OK;
}

/* hex sha256 of the canonical request, streamed. */
static bool canonical_hash_hex(const billord_sign_v3_request *request, const signed_list *list,
                               const char *body_hex, char out_hex[V3_SHA256_HEX_BYTES + 1u])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL) {
        return false;
    }
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_bytes = 0;
    bool ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (ok) {
        billord__sink sink;
        billord__sink_init_md(&sink, md);
        v3_canonical_write(request, list, body_hex, &sink);
        ok = billord__sink_finish(&sink) && EVP_DigestFinal_ex(md, digest, &digest_bytes) == 1 &&
             digest_bytes == V3_SHA256_BYTES;
    }
    EVP_MD_CTX_free(md);
    if (ok) {
        billord__hex_lower(digest, V3_SHA256_BYTES, out_hex);
        out_hex[V3_SHA256_HEX_BYTES] = '\0';
    }
    return ok;
}

static billord_sign_status v3_signature(const billord_sign_v3_request *request,
                                        const signed_list *list, const char *body_hex,
                                        const char *secret, size_t secret_bytes,
                                        char out[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u])
{
    char string_to_sign[V3_STRING_TO_SIGN_BYTES + 1u];
    size_t const algorithm_bytes = strlen(BILLORD_SIGN_V3_ALGORITHM);
    memcpy(string_to_sign, BILLORD_SIGN_V3_ALGORITHM, algorithm_bytes);
    string_to_sign[algorithm_bytes] = '\n';
    if (!canonical_hash_hex(request, list, body_hex, string_to_sign + algorithm_bytes + 1u)) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    EVP_MAC_CTX *mac = billord__hmac_begin("SHA256", secret, secret_bytes);
    if (mac == NULL) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    bool const updated = EVP_MAC_update(mac, (const unsigned char *)string_to_sign,
                                        algorithm_bytes + 1u + V3_SHA256_HEX_BYTES) == 1;
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t const digest_bytes = billord__hmac_end(mac, digest, sizeof digest);
    if (!updated || digest_bytes != V3_SHA256_BYTES) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    billord__hex_lower(digest, V3_SHA256_BYTES, out);
    out[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES] = '\0';
    return BILLORD_SIGN_OK;
}

billord_sign_status billord_sign_v3_compute(const billord_sign_v3_request *request,
                                            const char *secret, size_t secret_bytes,
                                            char out[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u],
                                            billord_http_detail *out_detail)
{
    request_check(request);
    BILLORD_ASSERT(secret != NULL);
    BILLORD_ASSERT(out != NULL);
    billord__http_detail_set(out_detail, "", 0);
    signed_list list;
    billord_sign_status const status = v3_complete(request, &list, out_detail);
    if (status != BILLORD_SIGN_OK) {
        return status;
    }
    char body_hex[V3_SHA256_HEX_BYTES + 1u];
    if (!body_hash_hex(request, body_hex)) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    return v3_signature(request, &list, body_hex, secret, secret_bytes, out);
}

billord_sign_status billord_sign_v3_verify(const billord_sign_v3_request *request,
                                           const billord_sign_v3_auth *auth, const char *secret,
                                           size_t secret_bytes, billord_http_detail *out_detail)
{
    request_check(request);
    BILLORD_ASSERT(auth != NULL);
    BILLORD_ASSERT(secret != NULL);
    billord__http_detail_set(out_detail, "", 0);
    billord_sign_v3_request signed_request = *request;
    signed_request.signed_headers = auth->signed_headers;
    signed_request.signed_headers_bytes = auth->signed_headers_bytes;
    signed_list list;
    billord_sign_status status = v3_complete(&signed_request, &list, out_detail);
    if (status != BILLORD_SIGN_OK) {
        return status;
    }
    char body_hex[V3_SHA256_HEX_BYTES + 1u];
    if (!body_hash_hex(&signed_request, body_hex)) {
        return BILLORD_SIGN_E_CRYPTO;
    }
    const billord_http_header *content_sha256 =
        billord_http_header_find(request->headers, request->header_count, V3_CONTENT_SHA256);
    if (content_sha256 != NULL) {
        const char *claimed = content_sha256->value;
        size_t claimed_bytes = content_sha256->value_bytes;
        trim(&claimed, &claimed_bytes);
        if (claimed_bytes != V3_SHA256_HEX_BYTES || memcmp(claimed, body_hex, claimed_bytes) != 0) {
            detail_str(out_detail, V3_CONTENT_SHA256);
            return BILLORD_SIGN_E_MISMATCH;
        }
    }
    char expected[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u];
    status = v3_signature(&signed_request, &list, body_hex, secret, secret_bytes, expected);
    if (status != BILLORD_SIGN_OK) {
        return status;
    }
    if (auth->signature_hex_bytes != BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES ||
        CRYPTO_memcmp(auth->signature_hex, expected, BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES) != 0) {
        detail_str(out_detail, "Signature");
        return BILLORD_SIGN_E_MISMATCH;
    }
    return BILLORD_SIGN_OK;
}
