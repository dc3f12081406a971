/*
 * billord/http_params.h: request parameters as the Alibaba Cloud SDKs send them.
 *
 * The pure front half of the HTTP server (SDK-WIRE.md, SPEC section 2): percent
 * encoding and decoding, parsing a query string and an
 * application/x-www-form-urlencoded body into one ordered list of decoded
 * (name, value) pairs, pop-core's array style (InstanceId.1, InstanceId.2), and
 * the RequestId format. Every function is a pure function of its arguments: no
 * I/O, no clock, no globals, no allocation beyond the arena the caller gives.
 *
 * Decoding rules (decided here, documented in docs/auth.md):
 *   - "%XX" with hex digits of either case is the byte XX; any other "%" is an error.
 *   - "+" is a space, in the query and in form bodies alike, as Node's
 *     querystring.parse and the WHATWG form rules do. No SDK sends a bare "+":
 *     all of them write "%2B" for a plus and "%20" for a space.
 *   - Empty segments ("a=1&&b=2", a trailing "&") are skipped; "name" without
 *     "=" has the empty value.
 *   - Decoded names and values must be valid UTF-8 (no overlong forms, no
 *     surrogates, nothing above U+10FFFF) and hold no NUL byte; names are not empty.
 *   - A name given twice (in the query, the body, or across both) is an error.
 *
 * Threads: a billord_params is a plain value owned by one thread at a time.
 */
#ifndef BILLORD_HTTP_PARAMS_H
#define BILLORD_HTTP_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/limits.h>

/* ---- Parse results ---------------------------------------------------------------------- */

/*
 * Each limit and each malformation has its own status, with the API answer the
 * server gives for it (SPEC section 10) and a text naming the limit.
 */
#define BILLORD_PARAMS_STATUS_LIST(X)                                                          \
    X(BILLORD_PARAMS_OK, BILLORD_API_OK, "ok")                                                \
    X(BILLORD_PARAMS_E_TOO_MANY, BILLORD_API_REQUEST_TOO_LARGE,                               \
      "more than 64 parameters (BILLORD_PARAMS_MAX)")                                         \
    X(BILLORD_PARAMS_E_NAME_TOO_LONG, BILLORD_API_REQUEST_TOO_LARGE,                          \
      "parameter name longer than 128 bytes (BILLORD_PARAM_NAME_BYTES_MAX)")                  \
    X(BILLORD_PARAMS_E_VALUE_TOO_LONG, BILLORD_API_REQUEST_TOO_LARGE,                         \
      "parameter value longer than 4096 bytes (BILLORD_PARAM_VALUE_BYTES_MAX)")               \
    X(BILLORD_PARAMS_E_ARENA_FULL, BILLORD_API_INTERNAL_ERROR,                                \
      "parameter arena smaller than BILLORD_PARAMS_ARENA_BYTES(text bytes)")                  \
    X(BILLORD_PARAMS_E_BAD_PERCENT, BILLORD_API_INVALID_PARAMETER,                            \
      "'%' not followed by two hex digits")                                                   \
    X(BILLORD_PARAMS_E_BAD_UTF8, BILLORD_API_INVALID_PARAMETER, "decoded text is not UTF-8") \
    X(BILLORD_PARAMS_E_NUL, BILLORD_API_INVALID_PARAMETER, "decoded text holds a NUL byte")  \
    X(BILLORD_PARAMS_E_EMPTY_NAME, BILLORD_API_INVALID_PARAMETER, "empty parameter name")    \
    X(BILLORD_PARAMS_E_DUPLICATE, BILLORD_API_INVALID_PARAMETER, "parameter given twice")    \
    X(BILLORD_PARAMS_E_ARRAY_INDEX, BILLORD_API_INVALID_PARAMETER,                            \
      "array element index is not 1..64 without leading zeros")                               \
    X(BILLORD_PARAMS_E_ARRAY_GAP, BILLORD_API_INVALID_PARAMETER,                              \
      "array elements are not numbered 1..n without a gap")                                   \
    X(BILLORD_PARAMS_E_ARRAY_CONFLICT, BILLORD_API_INVALID_PARAMETER,                         \
      "parameter given both as a value and as array elements")                                \
    X(BILLORD_PARAMS_E_ARRAY_ELEMENT, BILLORD_API_INVALID_PARAMETER,                          \
      "array element is empty or holds a comma")

typedef enum billord_params_status {
#define BILLORD_PARAMS_STATUS_ENUM(name, api_code, text) name,
    BILLORD_PARAMS_STATUS_LIST(BILLORD_PARAMS_STATUS_ENUM)
#undef BILLORD_PARAMS_STATUS_ENUM
    BILLORD_PARAMS_STATUS_COUNT
} billord_params_status;

/** "BILLORD_PARAMS_E_DUPLICATE"; never NULL. */
const char *billord_params_status_name(billord_params_status status);
/** Text naming the limit or the malformation; never NULL. */
const char *billord_params_status_text(billord_params_status status);
/** The API answer for status (BILLORD_API_REQUEST_TOO_LARGE, ..._INVALID_PARAMETER, ...). */
billord_api_code billord_params_status_api_code(billord_params_status status);

/* Room for the name of the parameter an error concerns, truncated, with its NUL. */
#define BILLORD_HTTP_DETAIL_BYTES (BILLORD_PARAM_NAME_BYTES_MAX + 1u)

/** What an error concerns: a parameter or header name ("" when none). Always NUL-terminated. */
typedef struct billord_http_detail {
    char text[BILLORD_HTTP_DETAIL_BYTES];
} billord_http_detail;

/* ---- Percent-encoding ------------------------------------------------------------------- */

/** Bytes enc(in) takes, without a NUL: 1 per unreserved byte, 3 per other byte. */
size_t billord_percent_encoded_bytes(const void *in, size_t in_bytes);

/**
 * enc of SDK-WIRE: A-Z a-z 0-9 - _ . ~ as they are, every other byte as %XX
 * (uppercase hex); a space is %20, never "+".
 * @param[out] out        out_capacity bytes; receives the text and a NUL.
 * @param[out] out_bytes  On BILLORD_OK, the length without the NUL.
 * @return BILLORD_OK, or BILLORD_E_TOO_LARGE when out_capacity is below
 *         billord_percent_encoded_bytes() + 1 (out and *out_bytes untouched).
 */
billord_err billord_percent_encode(const void *in, size_t in_bytes, char *out,
                                   size_t out_capacity, size_t *out_bytes);

/**
 * Decode query or form text: %XX (either case) is a byte, "+" is a space.
 * Writes no NUL and does not check UTF-8 (the parameter parser does).
 * out_capacity >= in_bytes always suffices, since decoding never grows text.
 * @return BILLORD_OK; BILLORD_E_INVALID_ARGUMENT for a "%" without two hex
 *         digits; BILLORD_E_TOO_LARGE when the result exceeds out_capacity.
 *         On error *out_bytes is untouched (out may hold a partial result).
 */
billord_err billord_percent_decode(const char *in, size_t in_bytes, char *out,
                                   size_t out_capacity, size_t *out_bytes);

/* ---- The parameter list ----------------------------------------------------------------- */

typedef enum billord_http_param_source {
    BILLORD_PARAM_SOURCE_QUERY = 1,  /* the URL's query string; signed by V3's CanonicalQuery */
    BILLORD_PARAM_SOURCE_BODY = 2,   /* an x-www-form-urlencoded body; signed through its hash */
} billord_http_param_source;

/** One decoded parameter. name and value are NUL-terminated UTF-8 in the arena. */
typedef struct billord_http_param {
    const char *name;
    const char *value;
    uint32_t name_bytes;   /* 1..BILLORD_PARAM_NAME_BYTES_MAX */
    uint32_t value_bytes;  /* 0..BILLORD_PARAM_VALUE_BYTES_MAX */
    billord_http_param_source source;
} billord_http_param;

/**
 * Parameters in arrival order (query first, then body, as the server parses
 * them). A plain caller-allocated value (about 2 KiB); the decoded text lives
 * in the caller's arena, which must outlive the list.
 */
typedef struct billord_params {
    billord_http_param items[BILLORD_PARAMS_MAX];
    uint32_t count;
    char *arena;
    size_t arena_bytes;
    size_t arena_used_bytes;
} billord_params;

/*
 * Arena bytes that always hold the parameters decoded from text_bytes of query
 * and body text together: decoding never grows text, and each parameter needs
 * at most two bytes more than it took (its two NULs).
 */
#define BILLORD_PARAMS_ARENA_BYTES(text_bytes) ((size_t)(text_bytes) + 2u * BILLORD_PARAMS_MAX)

/** An empty list over arena[0..arena_bytes). arena may be NULL only if arena_bytes is 0. */
void billord_params_init(billord_params *params, char *arena, size_t arena_bytes);

/**
 * Decode text (a query string without the "?", or a form body) and append its
 * parameters, marked with source. Empty text appends nothing.
 * @param[out] out_detail  May be NULL. On error, the parameter concerned
 *                         (its decoded name, or its raw name when the name
 *                         itself is bad); "" for BILLORD_PARAMS_E_TOO_MANY.
 * @return BILLORD_PARAMS_OK or the first error met. On error the list is
 *         exactly as before the call (nothing of text is kept).
 */
billord_params_status billord_params_parse(billord_params *params, const char *text,
                                           size_t text_bytes, billord_http_param_source source,
                                           billord_http_detail *out_detail);

/**
 * Append one parameter, copying name and value (raw bytes, not encoded) into
 * the arena with the same checks as billord_params_parse. For clients (the
 * load generator, tests) that build a request. On error the list is unchanged.
 */
billord_params_status billord_params_add(billord_params *params, const char *name,
                                         size_t name_bytes, const char *value, size_t value_bytes,
                                         billord_http_param_source source,
                                         billord_http_detail *out_detail);

/** The parameter called name (NUL-terminated), or NULL. The pointer lives as long as the list. */
const billord_http_param *billord_params_find(const billord_params *params, const char *name);

/**
 * Write the parameters with the given source as "enc(k)=enc(v)&..." in list
 * order (the query or body a client sends), with a NUL.
 * @return BILLORD_OK, or BILLORD_E_TOO_LARGE (out_capacity too small; *out_bytes untouched).
 */
billord_err billord_params_encode(const billord_params *params, billord_http_param_source source,
                                  char *out, size_t out_capacity, size_t *out_bytes);

/*
 * pop-core's array style: a JS array passed as InstanceId arrives as
 * InstanceId.1, InstanceId.2, ... The joined value is subject to the same
 * BILLORD_PARAM_VALUE_BYTES_MAX as a value sent in one piece.
 */
#define BILLORD_PARAMS_JOINED_BYTES (BILLORD_PARAM_VALUE_BYTES_MAX + 1u)

/**
 * Join base_name.1 .. base_name.n into one comma-separated value, in index
 * order. Does not change the list (the V1 signature covers the elements as sent).
 * Every parameter named base_name + "." + suffix must have a decimal index
 * 1..BILLORD_PARAMS_MAX without leading zeros as its suffix.
 * @param[out] out_value          BILLORD_PARAMS_JOINED_BYTES bytes; the value and a NUL.
 * @param[out] out_value_bytes    Length of the value.
 * @param[out] out_element_count  0 when there is no element (then out_value and
 *                                out_value_bytes are untouched: look up base_name itself).
 * @param[out] out_detail         May be NULL; on error the element concerned.
 * @return BILLORD_PARAMS_OK; ..._E_ARRAY_INDEX (bad suffix), ..._E_ARRAY_GAP
 *         (a missing index; detail names it), ..._E_ARRAY_CONFLICT (base_name
 *         also given alone), ..._E_ARRAY_ELEMENT (an element empty or holding a
 *         comma, which would not split back into the same elements),
 *         ..._E_VALUE_TOO_LONG. Outputs are untouched on error.
 */
billord_params_status billord_params_join_indexed(const billord_params *params,
                                                  const char *base_name,
                                                  char out_value[BILLORD_PARAMS_JOINED_BYTES],
                                                  size_t *out_value_bytes,
                                                  uint32_t *out_element_count,
                                                  billord_http_detail *out_detail);

/* ---- RequestId -------------------------------------------------------------------------- */

#define BILLORD_REQUEST_ID_RANDOM_BYTES 16u

/**
 * Format 16 caller-supplied random bytes as an uppercase UUID version 4,
 * "8-4-4-4-12" hex (the version nibble and the variant bits are overwritten, so
 * 122 bits of the input are kept). out receives BILLORD_REQUEST_ID_BYTES
 * characters and a NUL.
 */
void billord_request_id_format(const uint8_t random_bytes[BILLORD_REQUEST_ID_RANDOM_BYTES],
                               char out[BILLORD_REQUEST_ID_BYTES + 1u]);

#endif
