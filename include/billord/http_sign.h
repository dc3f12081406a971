/*
 * billord/http_sign.h: verifying (and computing) the two request signatures of
 * the Alibaba Cloud SDKs, plus the replay guards around them.
 *
 *   V1 (pop-core, and the v2 mode of the product SDKs): HMAC-SHA1 over
 *      METHOD&%2F&enc(canonical parameters), base64, in the Signature parameter.
 *   V3 (the product SDKs' default): ACS3-HMAC-SHA256 in the Authorization header
 *      over a canonical request of method, "/", query, signed headers and body hash.
 *
 * The exact rules and test vectors are in SDK-WIRE.md; docs/auth.md describes
 * how the server uses these functions. Signatures are compared in constant time
 * (CRYPTO_memcmp). Everything here except billord_nonce_guard is a pure
 * function of its arguments: no I/O, no clock (the caller passes now_ms), no
 * globals. The hash contexts OpenSSL allocates are freed before returning.
 *
 * Threads: the functions are reentrant; a billord_nonce_guard is not (see there).
 */
#ifndef BILLORD_HTTP_SIGN_H
#define BILLORD_HTTP_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/http_params.h>

/* ---- Results ---------------------------------------------------------------------------- */

#define BILLORD_SIGN_STATUS_LIST(X)                                                           \
    X(BILLORD_SIGN_OK, BILLORD_API_OK, "ok")                                                 \
    X(BILLORD_SIGN_E_INCOMPLETE, BILLORD_API_INCOMPLETE_SIGNATURE,                           \
      "a part of the signature is missing or malformed")                                     \
    X(BILLORD_SIGN_E_MISMATCH, BILLORD_API_SIGNATURE_DOES_NOT_MATCH,                         \
      "the signature does not match the request")                                            \
    X(BILLORD_SIGN_E_CRYPTO, BILLORD_API_INTERNAL_ERROR, "OpenSSL failed")

typedef enum billord_sign_status {
#define BILLORD_SIGN_STATUS_ENUM(name, api_code, text) name,
    BILLORD_SIGN_STATUS_LIST(BILLORD_SIGN_STATUS_ENUM)
#undef BILLORD_SIGN_STATUS_ENUM
    BILLORD_SIGN_STATUS_COUNT
} billord_sign_status;

/** "BILLORD_SIGN_E_MISMATCH"; never NULL. */
const char *billord_sign_status_name(billord_sign_status status);
/** The API answer for status (IncompleteSignature, SignatureDoesNotMatch, InternalError). */
billord_api_code billord_sign_status_api_code(billord_sign_status status);

/* ---- Timestamps ------------------------------------------------------------------------- */

/* How far a request's Timestamp / x-acs-date may be from the server's clock, either way. */
#define BILLORD_SIGNATURE_SKEW_MS_MAX (15LL * 60LL * 1000LL)
#define BILLORD_SIGN_TIMESTAMP_BYTES  20u   /* "2025-01-02T03:04:05Z" */

/**
 * Parse exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC, uppercase T and Z, no fraction,
 * years 1970..9999, real calendar dates, seconds 00..59).
 * @return BILLORD_OK and *out_unix_ms; BILLORD_E_INVALID_ARGUMENT otherwise
 *         (*out_unix_ms untouched). The server answers InvalidParameter (Timestamp).
 */
billord_err billord_sign_timestamp_parse(const char *text, size_t text_bytes,
                                         int64_t *out_unix_ms);

/** True when |now_ms - timestamp_ms| <= BILLORD_SIGNATURE_SKEW_MS_MAX; never overflows. */
bool billord_sign_timestamp_fresh(int64_t timestamp_ms, int64_t now_ms);

/**
 * The instant until which a nonce must be remembered: past it, a request
 * carrying timestamp_ms fails the freshness check anyway.
 */
int64_t billord_sign_nonce_expiry_ms(int64_t timestamp_ms);

/* ---- V1: HMAC-SHA1 in the Signature parameter ------------------------------------------- */

#define BILLORD_SIGN_V1_SIGNATURE_BYTES 28u   /* base64 of 20 bytes */

/**
 * Report the first missing V1 part, in this order: AccessKeyId, Signature,
 * SignatureMethod (must be "HMAC-SHA1"), SignatureVersion (must be "1.0"),
 * SignatureNonce, Timestamp. Empty values count as missing.
 * @param[out] out_detail  May be NULL; on BILLORD_SIGN_E_INCOMPLETE, the parameter's name.
 * @return BILLORD_SIGN_OK or BILLORD_SIGN_E_INCOMPLETE.
 */
billord_sign_status billord_sign_v1_check_complete(const billord_params *params,
                                                   billord_http_detail *out_detail);

/**
 * The V1 string to sign, METHOD&%2F&enc(canonical), over every parameter but
 * Signature (both sources), sorted by name in byte order. For tests and logs;
 * compute and verify stream it into the HMAC instead of building it.
 * @return BILLORD_OK, or BILLORD_E_TOO_LARGE (out_capacity too small for it and a NUL).
 */
billord_err billord_sign_v1_string_to_sign(const billord_params *params, const char *method,
                                           char *out, size_t out_capacity, size_t *out_bytes);

/**
 * base64(HMAC-SHA1(secret + "&", string to sign)) into out (28 characters and a NUL).
 * For clients; a Signature parameter in params is ignored.
 * @return BILLORD_SIGN_OK or BILLORD_SIGN_E_CRYPTO (out untouched).
 */
billord_sign_status billord_sign_v1_compute(const billord_params *params, const char *method,
                                            const char *secret, size_t secret_bytes,
                                            char out[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u]);

/**
 * Check completeness (as billord_sign_v1_check_complete), then compare the
 * Signature parameter with the computed one in constant time. Does not check
 * the timestamp or the nonce: the server does, with the functions below.
 * @param method  The real HTTP method ("GET", "POST").
 * @param secret  The secret of the request's AccessKeyId (the server looks it up).
 * @return BILLORD_SIGN_OK, ..._E_INCOMPLETE (detail names the part), ..._E_MISMATCH,
 *         ..._E_CRYPTO.
 */
billord_sign_status billord_sign_v1_verify(const billord_params *params, const char *method,
                                           const char *secret, size_t secret_bytes,
                                           billord_http_detail *out_detail);

/* ---- V3: ACS3-HMAC-SHA256 in the Authorization header ----------------------------------- */

#define BILLORD_SIGN_V3_ALGORITHM          "ACS3-HMAC-SHA256"
#define BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES 64u   /* lowercase hex of 32 bytes */
#define BILLORD_SIGN_V3_SIGNED_HEADERS_MAX 32u    /* names in SignedHeaders */
#define BILLORD_SIGN_V3_HEADER_NAME_BYTES_MAX 64u /* one name in SignedHeaders */

/** One request header. Names are compared case-insensitively; values are raw. */
typedef struct billord_http_header {
    const char *name;
    size_t name_bytes;
    const char *value;
    size_t value_bytes;
} billord_http_header;

/** The first header called name (any case; name NUL-terminated), or NULL. */
const billord_http_header *billord_http_header_find(const billord_http_header *headers,
                                                    size_t header_count, const char *name);

/** The parts of an Authorization header; each points into the header value. */
typedef struct billord_sign_v3_auth {
    const char *access_key_id;
    size_t access_key_id_bytes;
    const char *signed_headers;   /* "host;x-acs-action;..." */
    size_t signed_headers_bytes;
    const char *signature_hex;
    size_t signature_hex_bytes;
} billord_sign_v3_auth;

/**
 * Parse "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex". The
 * three fields may come in any order, each once, separated by "," and optional
 * spaces; none may be empty.
 * @param[out] out_auth    On BILLORD_SIGN_OK; points into value.
 * @param[out] out_detail  May be NULL; on error the missing or bad field
 *                         ("Authorization" when the algorithm is not ACS3-HMAC-SHA256).
 * @return BILLORD_SIGN_OK or BILLORD_SIGN_E_INCOMPLETE.
 */
billord_sign_status billord_sign_v3_parse_authorization(const char *value, size_t value_bytes,
                                                        billord_sign_v3_auth *out_auth,
                                                        billord_http_detail *out_detail);

/** A request as V3 sees it. Everything is borrowed for the duration of a call. */
typedef struct billord_sign_v3_request {
    const char *method;                  /* the real HTTP method, NUL-terminated */
    const billord_params *params;        /* only BILLORD_PARAM_SOURCE_QUERY ones are signed */
    const billord_http_header *headers;  /* all request headers */
    size_t header_count;
    const char *signed_headers;          /* SignedHeaders, e.g. from billord_sign_v3_auth */
    size_t signed_headers_bytes;
    const uint8_t *body;                 /* may be NULL when body_bytes is 0 */
    size_t body_bytes;
} billord_sign_v3_request;

/**
 * Check SignedHeaders: lowercase names of [a-z0-9-], joined by ";", no
 * duplicate, at most BILLORD_SIGN_V3_SIGNED_HEADERS_MAX. It must list host,
 * x-acs-action, x-acs-date and x-acs-signature-nonce, and also every x-acs-*
 * header and the content-type header the request carries (the SDK signs all of
 * them, so an unsigned one was added by someone else). Each listed header must
 * be present exactly once.
 * @param[out] out_detail  May be NULL; on error the header concerned, or
 *                         "SignedHeaders" when the list is malformed.
 * @return BILLORD_SIGN_OK, ..._E_INCOMPLETE (missing or unsigned header,
 *         malformed list), ..._E_MISMATCH (a signed header given twice).
 */
billord_sign_status billord_sign_v3_check_complete(const billord_sign_v3_request *request,
                                                   billord_http_detail *out_detail);

/**
 * The canonical request text (SDK-WIRE V3 step 4), for tests and logs.
 * @return BILLORD_OK, BILLORD_E_TOO_LARGE (out_capacity too small), or
 *         BILLORD_E_INVALID_ARGUMENT (the request is not complete).
 */
billord_err billord_sign_v3_canonical_request(const billord_sign_v3_request *request, char *out,
                                              size_t out_capacity, size_t *out_bytes);

/**
 * Lowercase hex HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex sha256(canonical
 * request)) into out (64 characters and a NUL). For clients: fill
 * request->signed_headers with the list to sign.
 * @return BILLORD_SIGN_OK, ..._E_INCOMPLETE (as check_complete), ..._E_CRYPTO.
 */
billord_sign_status billord_sign_v3_compute(const billord_sign_v3_request *request,
                                            const char *secret, size_t secret_bytes,
                                            char out[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u],
                                            billord_http_detail *out_detail);

/**
 * Verify a V3 request, using the SignedHeaders of auth (request->signed_headers is
 * ignored): check completeness, check that x-acs-content-sha256 (when present) is the hex
 * SHA-256 of the body, then compare auth->signature_hex with the computed
 * signature in constant time. Timestamp (x-acs-date) and nonce
 * (x-acs-signature-nonce) are the server's to check, as for V1.
 * @return BILLORD_SIGN_OK, ..._E_INCOMPLETE, ..._E_MISMATCH (detail
 *         "x-acs-content-sha256" when the body hash is wrong), ..._E_CRYPTO.
 */
billord_sign_status billord_sign_v3_verify(const billord_sign_v3_request *request,
                                           const billord_sign_v3_auth *auth, const char *secret,
                                           size_t secret_bytes, billord_http_detail *out_detail);

/* ---- Nonce replay guard ----------------------------------------------------------------- */

/*
 * A fixed-capacity set of recently seen nonces with their expiry. It keeps a
 * 16-byte digest (SHA-256, truncated) of each nonce rather than the nonce, so an
 * entry has a fixed size whatever the nonce length; a false "replayed" needs a
 * 128-bit collision. Entries leave in insertion order, and only once expired:
 * if the guard is full of unexpired entries, a new nonce is refused ("full") so
 * the server answers ServiceUnavailable rather than accept a possible replay.
 * A nonce still stored answers "replayed" even past its expiry; by then its
 * request fails the timestamp check anyway.
 *
 * Threads: none of these functions locks; the caller serialises all calls on
 * one guard (one mutex around check_and_insert is enough).
 */
#define BILLORD_NONCE_DIGEST_BYTES       16u
#define BILLORD_NONCE_GUARD_CAPACITY_DEFAULT (1u << 18)  /* ~290 req/s over a 15 min window */
#define BILLORD_NONCE_GUARD_CAPACITY_MAX (1u << 24)

typedef struct billord_nonce_guard billord_nonce_guard;  /* opaque */

typedef enum billord_nonce_result {
    BILLORD_NONCE_ACCEPTED = 0,  /* new; now remembered */
    BILLORD_NONCE_REPLAYED = 1,  /* seen before -> SignatureNonceUsed */
    BILLORD_NONCE_FULL = 2,      /* not remembered, no room -> ServiceUnavailable */
} billord_nonce_result;

/**
 * Create a guard for capacity entries (1..BILLORD_NONCE_GUARD_CAPACITY_MAX).
 * seed (from the caller's random source) perturbs the bucket choice so that
 * clients cannot aim nonces at one bucket. About 40 bytes per entry.
 * @return BILLORD_OK and *out_guard (free with billord_nonce_guard_destroy),
 *         BILLORD_E_INVALID_ARGUMENT (capacity), BILLORD_E_NOMEM.
 */
billord_err billord_nonce_guard_create(uint32_t capacity, uint64_t seed,
                                       billord_nonce_guard **out_guard);

/** Free the guard. NULL is allowed. */
void billord_nonce_guard_destroy(billord_nonce_guard *guard);

/** The digest the guard stores for a nonce (also what persistence writes). */
void billord_nonce_digest(const char *nonce, size_t nonce_bytes,
                          uint8_t out_digest[BILLORD_NONCE_DIGEST_BYTES]);

/**
 * First evict expired entries from the old end (expiry_ms <= now_ms), then
 * answer for nonce and remember it until expiry_ms when it is new.
 * @param expiry_ms  Normally billord_sign_nonce_expiry_ms(request timestamp).
 */
billord_nonce_result billord_nonce_guard_check_and_insert(billord_nonce_guard *guard,
                                                          const char *nonce, size_t nonce_bytes,
                                                          int64_t expiry_ms, int64_t now_ms);

/** As check_and_insert, for a digest (restoring a persisted guard after a restart). */
billord_nonce_result billord_nonce_guard_insert_digest(
    billord_nonce_guard *guard, const uint8_t digest[BILLORD_NONCE_DIGEST_BYTES],
    int64_t expiry_ms, int64_t now_ms);

/** Entries held now (expired ones included until evicted). */
uint32_t billord_nonce_guard_count(const billord_nonce_guard *guard);

/**
 * The entry at entry_index (0 = oldest .. count-1 = newest), for persistence.
 * Restoring the entries in this order with insert_digest rebuilds the guard.
 * @return BILLORD_OK, or BILLORD_E_NOT_FOUND when entry_index >= count.
 */
billord_err billord_nonce_guard_entry(const billord_nonce_guard *guard, uint32_t entry_index,
                                      uint8_t out_digest[BILLORD_NONCE_DIGEST_BYTES],
                                      int64_t *out_expiry_ms);

#endif
