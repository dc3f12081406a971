/*
 * fuzz_http_sign: V1 and V3 request signatures (include/billord/http_sign.h), with the
 * reference signer as the oracle: what billord_sign_*_compute signs must verify, and a
 * request with any one byte changed (signature, a signed value, the body, the secret,
 * the method) must not.
 *
 * Input: fields separated by 0xFF (fuzz_common.h):
 *   0 flags (byte 0: method and options; byte 1..: where to mutate)
 *   1 secret  2 query text  3 form body  4 headers, "Name: value" lines
 *   5 a raw Authorization value (parsed, then verified against the request)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <billord/http_params.h>
#include <billord/http_sign.h>

#include "fuzz_common.h"

#define HEADERS_MAX 40u

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};

typedef struct flags {
    const uint8_t *bytes;
    size_t size;
} flags;

static uint8_t flag_at(const flags *f, size_t i)
{
    return f->size > i ? f->bytes[i] : 0;
}

/* Copy src's parameters into dst (same sources); false when dst refuses one. */
static bool params_copy(billord_params *dst, const billord_params *src, const char *skip_name)
{
    for (uint32_t i = 0; i < src->count; i++) {
        const billord_http_param *p = &src->items[i];
        if (skip_name != NULL && strcmp(p->name, skip_name) == 0) {
            continue;
        }
        if (billord_params_add(dst, p->name, p->name_bytes, p->value, p->value_bytes, p->source,
                               NULL) != BILLORD_PARAMS_OK) {
            return false;
        }
    }
    return true;
}

static bool params_add_str(billord_params *params, const char *name, const char *value)
{
    if (billord_params_find(params, name) != NULL) {
        return true;
    }
    return billord_params_add(params, name, strlen(name), value, strlen(value),
                              BILLORD_PARAM_SOURCE_QUERY, NULL) == BILLORD_PARAMS_OK;
}

/* Flip one byte of a parameter value (chosen by pick) in place; false if none has one. */
static bool flip_param_value(billord_params *params, uint8_t pick, billord_http_param_source only,
                             const char *skip_name)
{
    uint32_t candidates = 0;
    for (uint32_t i = 0; i < params->count; i++) {
        const billord_http_param *p = &params->items[i];
        if (p->value_bytes > 0 && (p->source == only || only == 0) &&
            strcmp(p->name, skip_name) != 0) {
            candidates++;
        }
    }
    if (candidates == 0) {
        return false;
    }
    uint32_t target = pick % candidates;
    for (uint32_t i = 0; i < params->count; i++) {
        billord_http_param *p = &params->items[i];
        if (p->value_bytes > 0 && (p->source == only || only == 0) &&
            strcmp(p->name, skip_name) != 0) {
            if (target-- == 0) {
                char *value = (char *)p->value;
                value[(size_t)pick % p->value_bytes] ^= 0x01;
                return true;
            }
        }
    }
    return false;
}

/* ---- V1 --------------------------------------------------------------------------------- */

static void fuzz_v1(const billord_params *parsed, const flags *f, const char *secret,
                    size_t secret_bytes, char *arena, size_t arena_bytes)
{
    const char *method = methods[flag_at(f, 0) & 3u];
    static char string_to_sign[1u << 20];
    size_t sts_bytes = 0;
    if (billord_sign_v1_string_to_sign(parsed, method, string_to_sign, sizeof string_to_sign,
                                       &sts_bytes) == BILLORD_OK) {
        size_t const method_bytes = strlen(method);
        BILLORD_ASSERT(sts_bytes >= method_bytes + 5u && string_to_sign[sts_bytes] == '\0');
        BILLORD_ASSERT(memcmp(string_to_sign, method, method_bytes) == 0);
        BILLORD_ASSERT(memcmp(string_to_sign + method_bytes, "&%2F&", 5) == 0);
        /* One byte short of room is refused. */
        size_t again = 0;
        BILLORD_ASSERT(billord_sign_v1_string_to_sign(parsed, method, string_to_sign, sts_bytes,
                                                      &again) == BILLORD_E_TOO_LARGE);
    }
    /* The fuzzed list as it came: verify answers without crashing. */
    billord_http_detail detail;
    billord_sign_status status = billord_sign_v1_verify(parsed, method, secret, secret_bytes,
                                                        &detail);
    BILLORD_ASSERT(status < BILLORD_SIGN_STATUS_COUNT);
    BILLORD_ASSERT(status != BILLORD_SIGN_E_CRYPTO);

    /* A complete request, signed by the reference signer. */
    static billord_params signed_params;
    billord_params_init(&signed_params, arena, arena_bytes);
    if (!params_copy(&signed_params, parsed, "Signature")) {
        return;
    }
    bool const complete_parts = (flag_at(f, 0) & 4u) == 0;
    if (complete_parts &&
        (!params_add_str(&signed_params, "AccessKeyId", "testid") ||
         !params_add_str(&signed_params, "SignatureMethod", "HMAC-SHA1") ||
         !params_add_str(&signed_params, "SignatureVersion", "1.0") ||
         !params_add_str(&signed_params, "SignatureNonce", "nonce-1") ||
         !params_add_str(&signed_params, "Timestamp", "2025-01-02T03:04:05Z"))) {
        return;
    }
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    BILLORD_ASSERT(billord_sign_v1_compute(&signed_params, method, secret, secret_bytes,
                                           signature) == BILLORD_SIGN_OK);
    BILLORD_ASSERT(strlen(signature) == BILLORD_SIGN_V1_SIGNATURE_BYTES);
    if (billord_params_add(&signed_params, "Signature", 9, signature,
                           BILLORD_SIGN_V1_SIGNATURE_BYTES, BILLORD_PARAM_SOURCE_QUERY,
                           NULL) != BILLORD_PARAMS_OK) {
        return;
    }
    /* The signature is over everything but itself: computing again gives the same. */
    char again[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    BILLORD_ASSERT(billord_sign_v1_compute(&signed_params, method, secret, secret_bytes, again) ==
                   BILLORD_SIGN_OK);
    BILLORD_ASSERT(memcmp(again, signature, sizeof again) == 0);

    billord_sign_status const complete = billord_sign_v1_check_complete(&signed_params, &detail);
    status = billord_sign_v1_verify(&signed_params, method, secret, secret_bytes, &detail);
    if (complete != BILLORD_SIGN_OK) {
        BILLORD_ASSERT(status == BILLORD_SIGN_E_INCOMPLETE);
        return;
    }
    BILLORD_ASSERT(status == BILLORD_SIGN_OK);

    /* One change at a time; each must fail. */
    uint8_t const pick = flag_at(f, 1);
    const billord_http_param *sig = billord_params_find(&signed_params, "Signature");
    BILLORD_ASSERT(sig != NULL);
    char *sig_value = (char *)sig->value;
    size_t const sig_at = pick % BILLORD_SIGN_V1_SIGNATURE_BYTES;
    sig_value[sig_at] ^= (char)(1u + (flag_at(f, 2) % 0x7Fu));
    BILLORD_ASSERT(billord_sign_v1_verify(&signed_params, method, secret, secret_bytes, NULL) !=
                   BILLORD_SIGN_OK);
    sig_value[sig_at] ^= (char)(1u + (flag_at(f, 2) % 0x7Fu));
    BILLORD_ASSERT(billord_sign_v1_verify(&signed_params, method, secret, secret_bytes, NULL) ==
                   BILLORD_SIGN_OK);

    const char *other_method = methods[(flag_at(f, 0) + 1u) & 3u];
    BILLORD_ASSERT(billord_sign_v1_verify(&signed_params, other_method, secret, secret_bytes,
                                          NULL) != BILLORD_SIGN_OK);
    if (secret_bytes > 0) {
        char other_secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX];
        memcpy(other_secret, secret, secret_bytes);
        other_secret[pick % secret_bytes] ^= 0x20;
        BILLORD_ASSERT(billord_sign_v1_verify(&signed_params, method, other_secret, secret_bytes,
                                              NULL) != BILLORD_SIGN_OK);
    }
    if (flip_param_value(&signed_params, pick, 0, "Signature")) {
        BILLORD_ASSERT(billord_sign_v1_verify(&signed_params, method, secret, secret_bytes,
                                              NULL) != BILLORD_SIGN_OK);
    }
}

/* ---- V3 --------------------------------------------------------------------------------- */

typedef struct header_set {
    billord_http_header items[HEADERS_MAX + 8u];
    size_t count;
    char storage[4096];
    size_t storage_used;
} header_set;

static const char *header_store(header_set *set, const char *text, size_t text_bytes)
{
    if (set->storage_used + text_bytes + 1u > sizeof set->storage) {
        return NULL;
    }
    char *out = set->storage + set->storage_used;
    memcpy(out, text, text_bytes);
    out[text_bytes] = '\0';
    set->storage_used += text_bytes + 1u;
    return out;
}

static bool name_is(const billord_http_header *h, const char *name)
{
    return billord_http_header_find(h, 1, name) != NULL;
}

/* Headers from "Name: value" lines; drops x-acs-content-sha256 (the driver sets it). */
static void headers_parse(header_set *set, const uint8_t *text, size_t text_bytes)
{
    size_t position = 0;
    while (position < text_bytes && set->count < HEADERS_MAX) {
        const uint8_t *line = text + position;
        const uint8_t *nl = memchr(line, '\n', text_bytes - position);
        size_t const line_bytes = nl ? (size_t)(nl - line) : text_bytes - position;
        position += line_bytes + 1u;
        const uint8_t *colon = memchr(line, ':', line_bytes);
        if (colon == NULL) {
            continue;
        }
        billord_http_header h = {(const char *)line, (size_t)(colon - line),
                                 (const char *)colon + 1, line_bytes - (size_t)(colon - line) - 1u};
        if (name_is(&h, "x-acs-content-sha256")) {
            continue;
        }
        set->items[set->count++] = h;
    }
}

static bool header_add(header_set *set, const char *name, const char *value)
{
    if (billord_http_header_find(set->items, set->count, name) != NULL) {
        return true;
    }
    const char *stored = header_store(set, value, strlen(value));
    if (stored == NULL) {
        return false;
    }
    set->items[set->count++] =
        (billord_http_header){name, strlen(name), stored, strlen(stored)};
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The SDK's SignedHeaders: host, every x-acs-* and content-type, lowercased and sorted. */
static size_t signed_headers_build(const header_set *set, char *out, size_t out_capacity)
{
    static char names[HEADERS_MAX + 8u][256];
    const char *sorted[HEADERS_MAX + 8u];
    size_t count = 0;
    for (size_t i = 0; i < set->count; i++) {
        const billord_http_header *h = &set->items[i];
        bool const sign = name_is(h, "host") || name_is(h, "content-type") ||
                          (h->name_bytes >= 6 && strncasecmp(h->name, "x-acs-", 6) == 0);
        if (!sign || h->name_bytes >= sizeof names[0]) {
            continue;
        }
        for (size_t j = 0; j < h->name_bytes; j++) {
            char const c = h->name[j];
            names[count][j] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        names[count][h->name_bytes] = '\0';
        sorted[count] = names[count];
        count++;
    }
    qsort(sorted, count, sizeof sorted[0], name_cmp);
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0) {
            continue;
        }
        size_t const n = strlen(sorted[i]);
        if (used + n + 2u > out_capacity) {
            break;
        }
        if (used > 0) {
            out[used++] = ';';
        }
        memcpy(out + used, sorted[i], n);
        used += n;
    }
    out[used] = '\0';
    return used;
}

static void fuzz_v3(const billord_params *parsed, const flags *f, const char *secret,
                    size_t secret_bytes, const uint8_t *body, size_t body_bytes,
                    const uint8_t *header_text, size_t header_text_bytes,
                    const uint8_t *raw_auth, size_t raw_auth_bytes)
{
    static header_set set;
    set.count = 0;
    set.storage_used = 0;
    headers_parse(&set, header_text, header_text_bytes);
    if (!header_add(&set, "host", "billord.test") ||
        !header_add(&set, "x-acs-action", "DescribeInstances") ||
        !header_add(&set, "x-acs-date", "2025-01-02T03:04:05Z") ||
        !header_add(&set, "x-acs-signature-nonce", "nonce-3")) {
        return;
    }
    static const uint8_t no_body[1];
    billord_sign_v3_request request = {
        .method = methods[flag_at(f, 0) & 3u],
        .params = parsed,
        .headers = set.items,
        .header_count = set.count,
        .body = body_bytes > 0 ? body : no_body,
        .body_bytes = body_bytes,
    };

    /* A raw Authorization: parse, then verify the request with it (any answer). */
    billord_sign_v3_auth auth;
    billord_http_detail detail;
    const char *raw = (const char *)raw_auth;
    if (billord_sign_v3_parse_authorization(raw, raw_auth_bytes, &auth, &detail) ==
        BILLORD_SIGN_OK) {
        BILLORD_ASSERT(auth.access_key_id >= raw &&
                       auth.access_key_id + auth.access_key_id_bytes <= raw + raw_auth_bytes);
        BILLORD_ASSERT(auth.signed_headers >= raw &&
                       auth.signed_headers + auth.signed_headers_bytes <= raw + raw_auth_bytes);
        BILLORD_ASSERT(auth.signature_hex >= raw &&
                       auth.signature_hex + auth.signature_hex_bytes <= raw + raw_auth_bytes);
        BILLORD_ASSERT(auth.access_key_id_bytes > 0 && auth.signed_headers_bytes > 0 &&
                       auth.signature_hex_bytes > 0);
        billord_sign_status const status =
            billord_sign_v3_verify(&request, &auth, secret, secret_bytes, &detail);
        BILLORD_ASSERT(status < BILLORD_SIGN_STATUS_COUNT && status != BILLORD_SIGN_E_CRYPTO);
    }

    /* The reference signer's request. */
    if ((flag_at(f, 0) & 8u) != 0) {
        /* The SDK's body hash header, with the right value. */
        char body_hex[65];
        /* The canonical request ends with the body's hex SHA-256: take it from there. */
        static char canonical[1u << 20];
        size_t canonical_bytes = 0;
        char names[2048];
        request.signed_headers = names;
        request.signed_headers_bytes = signed_headers_build(&set, names, sizeof names);
        if (billord_sign_v3_canonical_request(&request, canonical, sizeof canonical,
                                              &canonical_bytes) != BILLORD_OK ||
            canonical_bytes < 64) {
            return;
        }
        memcpy(body_hex, canonical + canonical_bytes - 64, 64);
        body_hex[64] = '\0';
        if (!header_add(&set, "x-acs-content-sha256", body_hex)) {
            return;
        }
        request.header_count = set.count;
    }
    char names[2048];
    request.signed_headers = names;
    request.signed_headers_bytes = signed_headers_build(&set, names, sizeof names);

    billord_sign_status const complete = billord_sign_v3_check_complete(&request, &detail);
    char signature[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u];
    billord_sign_status status =
        billord_sign_v3_compute(&request, secret, secret_bytes, signature, &detail);
    BILLORD_ASSERT(status == complete);
    static char canonical[1u << 20];
    size_t canonical_bytes = 0;
    billord_err const canonical_err =
        billord_sign_v3_canonical_request(&request, canonical, sizeof canonical, &canonical_bytes);
    BILLORD_ASSERT((canonical_err == BILLORD_OK) == (complete == BILLORD_SIGN_OK));
    if (status != BILLORD_SIGN_OK) {
        return;
    }
    BILLORD_ASSERT(strlen(signature) == BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES);
    BILLORD_ASSERT(canonical[canonical_bytes] == '\0');

    /* The Authorization an SDK sends, parsed back. */
    static char authorization[4096];
    int const auth_bytes = snprintf(authorization, sizeof authorization,
                                    "%s Credential=testid,SignedHeaders=%s,Signature=%s",
                                    BILLORD_SIGN_V3_ALGORITHM, names, signature);
    BILLORD_ASSERT(auth_bytes > 0 && (size_t)auth_bytes < sizeof authorization);
    BILLORD_ASSERT(billord_sign_v3_parse_authorization(authorization, (size_t)auth_bytes, &auth,
                                                       &detail) == BILLORD_SIGN_OK);
    BILLORD_ASSERT(auth.signed_headers_bytes == request.signed_headers_bytes &&
                   memcmp(auth.signed_headers, names, auth.signed_headers_bytes) == 0);
    BILLORD_ASSERT(auth.signature_hex_bytes == BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES &&
                   memcmp(auth.signature_hex, signature, auth.signature_hex_bytes) == 0);
    status = billord_sign_v3_verify(&request, &auth, secret, secret_bytes, &detail);
    BILLORD_ASSERT(status == BILLORD_SIGN_OK);

    /* One change at a time; each must fail, and undoing it must verify again. */
    uint8_t const pick = flag_at(f, 1);
    char *sig = (char *)auth.signature_hex;
    size_t const sig_at = pick % BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES;
    char const saved = sig[sig_at];
    sig[sig_at] = saved == '0' ? '1' : '0';
    BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, secret, secret_bytes, NULL) !=
                   BILLORD_SIGN_OK);
    sig[sig_at] = (char)(saved ^ 0x20);   /* the same hex digit in uppercase is not the same */
    if (sig[sig_at] != saved) {
        BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, secret, secret_bytes, NULL) !=
                       BILLORD_SIGN_OK);
    }
    sig[sig_at] = saved;
    BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, secret, secret_bytes, NULL) ==
                   BILLORD_SIGN_OK);

    billord_sign_v3_request other = request;
    other.method = methods[(flag_at(f, 0) + 1u) & 3u];
    BILLORD_ASSERT(billord_sign_v3_verify(&other, &auth, secret, secret_bytes, NULL) !=
                   BILLORD_SIGN_OK);
    if (secret_bytes > 0) {
        char other_secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX];
        memcpy(other_secret, secret, secret_bytes);
        other_secret[pick % secret_bytes] ^= 0x20;
        BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, other_secret, secret_bytes,
                                              NULL) != BILLORD_SIGN_OK);
    }
    if (body_bytes > 0) {
        uint8_t *b = (uint8_t *)body;
        b[pick % body_bytes] ^= 0x01;
        BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, secret, secret_bytes, NULL) !=
                       BILLORD_SIGN_OK);
        b[pick % body_bytes] ^= 0x01;
    }
    /* A signed header's value, at a byte that is not trimmed away. */
    for (size_t i = 0; i < set.count; i++) {
        billord_http_header *h = &set.items[(i + pick) % set.count];
        if (!name_is(h, "host") && !name_is(h, "x-acs-date")) {
            continue;
        }
        if (h->value_bytes == 0) {
            continue;
        }
        char *v = (char *)h->value;
        size_t const at = (size_t)flag_at(f, 2) % h->value_bytes;
        char const old = v[at];
        char const new_char = (old == 'a') ? 'b' : 'a';
        v[at] = new_char;
        if (old != ' ' && old != '\t') {
            BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, secret, secret_bytes, NULL) !=
                           BILLORD_SIGN_OK);
        }
        v[at] = old;
        break;
    }
    if (flip_param_value((billord_params *)parsed, pick, BILLORD_PARAM_SOURCE_QUERY, "")) {
        BILLORD_ASSERT(billord_sign_v3_verify(&request, &auth, secret, secret_bytes, NULL) !=
                       BILLORD_SIGN_OK);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64u * 1024u) {
        return 0;
    }
    /* A private copy: the driver mutates header values and the body in place. */
    uint8_t *copy = malloc(size ? size : 1);
    BILLORD_ASSERT(copy != NULL);
    memcpy(copy, data, size);
    fuzz_input in = {copy, size};
    flags f;
    fuzz_field(&in, &f.bytes, &f.size);
    const uint8_t *secret, *query, *body, *headers, *raw_auth;
    size_t secret_bytes, query_bytes, body_bytes, headers_bytes, raw_auth_bytes;
    fuzz_field(&in, &secret, &secret_bytes);
    fuzz_field(&in, &query, &query_bytes);
    fuzz_field(&in, &body, &body_bytes);
    fuzz_field(&in, &headers, &headers_bytes);
    fuzz_field(&in, &raw_auth, &raw_auth_bytes);
    if (secret_bytes > BILLORD_ACCESS_KEY_SECRET_BYTES_MAX) {
        secret_bytes = BILLORD_ACCESS_KEY_SECRET_BYTES_MAX;
    }

    size_t const arena_bytes = BILLORD_PARAMS_ARENA_BYTES(query_bytes + body_bytes) + 1024u;
    char *arena = malloc(arena_bytes);
    char *arena2 = malloc(arena_bytes);
    BILLORD_ASSERT(arena != NULL && arena2 != NULL);
    static billord_params parsed;
    billord_params_init(&parsed, arena, arena_bytes);
    (void)billord_params_parse(&parsed, (const char *)query, query_bytes,
                               BILLORD_PARAM_SOURCE_QUERY, NULL);
    (void)billord_params_parse(&parsed, (const char *)body, body_bytes,
                               BILLORD_PARAM_SOURCE_BODY, NULL);

    fuzz_v1(&parsed, &f, (const char *)secret, secret_bytes, arena2, arena_bytes);
    fuzz_v3(&parsed, &f, (const char *)secret, secret_bytes, body, body_bytes, headers,
            headers_bytes, raw_auth, raw_auth_bytes);

    /* Timestamps are part of both schemes. */
    int64_t unix_ms = 0;
    if (billord_sign_timestamp_parse((const char *)query, query_bytes, &unix_ms) == BILLORD_OK) {
        BILLORD_ASSERT(query_bytes == BILLORD_SIGN_TIMESTAMP_BYTES);
        BILLORD_ASSERT(unix_ms >= 0 && unix_ms % 1000 == 0);
        (void)billord_sign_timestamp_fresh(unix_ms, INT64_MIN);
        (void)billord_sign_timestamp_fresh(unix_ms, INT64_MAX);
    }
    free(arena2);
    free(arena);
    free(copy);
    return 0;
}
