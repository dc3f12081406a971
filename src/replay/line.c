/*
 * line.c: one NDJSON request log line -> a command and its recorded response (replay.h).
 *
 * Pure and strict: a line either yields every field the replay needs within the limits the
 * server itself enforces, or an error naming the JSON path, so a damaged log is reported
 * line by line instead of replaying something the server never saw.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include <billord/http_params.h>
#include <billord/replay.h>

#include "core/assert.h"

#define HTTP_STATUS_MIN 100
#define HTTP_STATUS_MAX 599

static billord_err fail(char *error_text, size_t error_text_bytes, billord_err err,
                        const char *format, ...) __attribute__((format(printf, 4, 5)));

static billord_err fail(char *error_text, size_t error_text_bytes, billord_err err,
                        const char *format, ...)
{
    if (error_text_bytes > 0) {
        va_list args;
        va_start(args, format);
        vsnprintf(error_text, error_text_bytes, format, args);
        va_end(args);
    }
    return err;
}

/* A string member of at most max_bytes, or NULL (with the error written). */
static const char *string_member(const json_t *root, const char *name, size_t max_bytes,
                                 bool required, billord_err *err, char *error_text,
                                 size_t error_text_bytes)
{
    const json_t *value = json_object_get(root, name);
    if (value == NULL) {
        if (required) {
            *err = fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                        "$.%s: missing", name);
        }
        return NULL;
    }
    if (!json_is_string(value)) {
        *err = fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$.%s: must be a string", name);
        return NULL;
    }
    if (json_string_length(value) > max_bytes) {
        *err = fail(error_text, error_text_bytes, BILLORD_E_TOO_LARGE,
                    "$.%s: longer than %zu bytes", name, max_bytes);
        return NULL;
    }
    return json_string_value(value);
}

static bool request_id_valid(const char *text)
{
    static const char shape[] = "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX";
    if (strlen(text) != BILLORD_REQUEST_ID_BYTES) {
        return false;
    }
    for (size_t i = 0; i < BILLORD_REQUEST_ID_BYTES; i++) {
        char c = text[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
        if (shape[i] == '-' ? c != '-' : !hex) {
            return false;
        }
    }
    return true;
}

static billord_err parse_params(const json_t *root, billord_replay_line *out, char *error_text,
                                size_t error_text_bytes)
{
    const json_t *params = json_object_get(root, "params");
    if (params == NULL) {
        return BILLORD_OK;
    }
    if (!json_is_object(params)) {
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$.params: must be an object");
    }
    if (json_object_size(params) > BILLORD_PARAMS_MAX) {
        return fail(error_text, error_text_bytes, BILLORD_E_TOO_LARGE,
                    "$.params: more than %u parameters", BILLORD_PARAMS_MAX);
    }
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)params, name, value) {
        if (strlen(name) == 0 || strlen(name) > BILLORD_PARAM_NAME_BYTES_MAX) {
            return fail(error_text, error_text_bytes, BILLORD_E_TOO_LARGE,
                        "$.params: a name is empty or longer than %u bytes",
                        BILLORD_PARAM_NAME_BYTES_MAX);
        }
        if (!json_is_string(value)) {
            return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                        "$.params.%.128s: must be a string", name);
        }
        if (json_string_length(value) > BILLORD_PARAM_VALUE_BYTES_MAX) {
            return fail(error_text, error_text_bytes, BILLORD_E_TOO_LARGE,
                        "$.params.%.128s: longer than %u bytes", name,
                        BILLORD_PARAM_VALUE_BYTES_MAX);
        }
        out->params[out->param_count++] = (billord_param){name, json_string_value(value)};
    }
    return BILLORD_OK;
}

static billord_err parse_response(const json_t *root, billord_replay_line *out, char *error_text,
                                  size_t error_text_bytes)
{
    const json_t *response = json_object_get(root, "response");
    if (response == NULL || json_is_null(response)) {
        return BILLORD_OK;
    }
    const json_t *status = json_object_get(response, "status");
    const json_t *body = json_object_get(response, "body");
    if (!json_is_object(response)) {
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$.response: must be an object");
    }
    if (!json_is_integer(status) || json_integer_value(status) < HTTP_STATUS_MIN ||
        json_integer_value(status) > HTTP_STATUS_MAX) {
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$.response.status: must be an HTTP status (integer %d..%d)",
                    HTTP_STATUS_MIN, HTTP_STATUS_MAX);
    }
    if (!json_is_object(body) && !json_is_string(body)) {
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$.response.body: must be an object or a string");
    }
    out->has_response = true;
    out->response_status = (int)json_integer_value(status);
    out->response_body = body;
    return BILLORD_OK;
}

static billord_err parse_fields(const json_t *root, billord_replay_line *out, char *error_text,
                                size_t error_text_bytes)
{
    const json_t *ts = json_object_get(root, "ts_ms");
    if (ts == NULL) {
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT, "$.ts_ms: missing");
    }
    if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$.ts_ms: must be a non-negative integer (ms since the epoch)");
    }
    out->ts_ms = (int64_t)json_integer_value(ts);
    billord_err err = BILLORD_OK;
    out->account = string_member(root, "account", BILLORD_ACCOUNT_ID_BYTES_MAX, true, &err,
                                 error_text, error_text_bytes);
    if (err == BILLORD_OK) {
        out->action = string_member(root, "action", BILLORD_ACTION_BYTES_MAX, true, &err,
                                    error_text, error_text_bytes);
    }
    const char *request_id = NULL;
    if (err == BILLORD_OK) {
        request_id = string_member(root, "request_id", BILLORD_REQUEST_ID_BYTES, false, &err,
                                   error_text, error_text_bytes);
    }
    if (err == BILLORD_OK && request_id != NULL) {
        if (!request_id_valid(request_id)) {
            return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                        "$.request_id: must be an uppercase UUID (8-4-4-4-12 hex)");
        }
        out->has_request_id = true;
        memcpy(out->request_id, request_id, BILLORD_REQUEST_ID_BYTES + 1);
    }
    if (err == BILLORD_OK) {
        err = parse_params(root, out, error_text, error_text_bytes);
    }
    if (err == BILLORD_OK) {
        err = parse_response(root, out, error_text, error_text_bytes);
    }
    return err;
}

billord_err billord_replay_line_parse(const char *bytes, size_t bytes_len, billord_replay_line *out,
                                      char *error_text, size_t error_text_bytes)
{
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(bytes != NULL || bytes_len == 0);
    memset(out, 0, sizeof *out);
    if (error_text_bytes > 0) {
        error_text[0] = '\0';
    }
    if (bytes_len > BILLORD_REPLAY_LINE_BYTES_MAX) {
        return fail(error_text, error_text_bytes, BILLORD_E_TOO_LARGE,
                    "line longer than %u bytes", BILLORD_REPLAY_LINE_BYTES_MAX);
    }
    json_error_t json_error;
    json_t *root = json_loadb(bytes, bytes_len, JSON_REJECT_DUPLICATES, &json_error);
    if (root == NULL) {
        /* Out of memory is not a malformed line: a replay must not skip it. */
        if (json_error_code(&json_error) == json_error_out_of_memory) {
            return fail(error_text, error_text_bytes, BILLORD_E_NOMEM, "out of memory");
        }
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "not JSON at column %d: %s", json_error.column, json_error.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(error_text, error_text_bytes, BILLORD_E_INVALID_ARGUMENT,
                    "$: must be an object");
    }
    out->root = root;
    billord_err err = parse_fields(root, out, error_text, error_text_bytes);
    if (err != BILLORD_OK) {
        billord_replay_line_free(out);
    }
    return err;
}

void billord_replay_line_free(billord_replay_line *line)
{
    if (line == NULL) {
        return;
    }
    json_decref(line->root);
    memset(line, 0, sizeof *line);
}

void billord_replay_request_id_derive(uint32_t input_index, uint64_t line_number,
                                      char out[BILLORD_REQUEST_ID_BYTES + 1])
{
    /* A fixed domain string keeps these ids apart from any other use of the same hash. */
    char seed[64];
    int seed_bytes = snprintf(seed, sizeof seed, "billord-replay:%u:%llu", input_index,
                              (unsigned long long)line_number);
    BILLORD_ASSERT(seed_bytes > 0 && (size_t)seed_bytes < sizeof seed);
    XXH128_hash_t hash = XXH3_128bits(seed, (size_t)seed_bytes);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    static_assert(sizeof canonical.digest == BILLORD_REQUEST_ID_RANDOM_BYTES,
                  "a 128-bit hash fills a request id");
    billord_request_id_format(canonical.digest, out);
}

char *billord_replay_json_canonical(const json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
