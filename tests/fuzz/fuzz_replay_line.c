/*
 * fuzz_replay_line: one NDJSON request-log line (billord_replay_line_parse in
 * include/billord/replay.h), the reader of recorded server logs.
 *
 * Input: the line's bytes.
 * Properties: a refusal names what is wrong and leaves the line zeroed; an accepted
 * line keeps every limit (64 parameters, name/value/account/action sizes, an uppercase
 * UUID request id, a 100..599 status, a body that is an object or a string); writing
 * the parsed line back as JSON (the server's format) parses to the same line; the
 * canonical JSON of the body is a fixed point.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <billord/replay.h>

#include "fuzz_common.h"

static void check_limits(const billord_replay_line *line)
{
    BILLORD_ASSERT(line->root != NULL);
    BILLORD_ASSERT(line->ts_ms >= 0);
    BILLORD_ASSERT(line->account != NULL && strlen(line->account) <= BILLORD_ACCOUNT_ID_BYTES_MAX);
    BILLORD_ASSERT(line->action != NULL && strlen(line->action) <= BILLORD_ACTION_BYTES_MAX);
    BILLORD_ASSERT(line->param_count <= BILLORD_PARAMS_MAX);
    for (uint32_t i = 0; i < line->param_count; i++) {
        size_t const name_bytes = strlen(line->params[i].name);
        BILLORD_ASSERT(name_bytes >= 1 && name_bytes <= BILLORD_PARAM_NAME_BYTES_MAX);
        BILLORD_ASSERT(strlen(line->params[i].value) <= BILLORD_PARAM_VALUE_BYTES_MAX);
        for (uint32_t j = 0; j < i; j++) {
            BILLORD_ASSERT(strcmp(line->params[i].name, line->params[j].name) != 0);
        }
    }
    if (line->has_request_id) {
        BILLORD_ASSERT(strlen(line->request_id) == BILLORD_REQUEST_ID_BYTES);
        for (size_t i = 0; i < BILLORD_REQUEST_ID_BYTES; i++) {
            char const c = line->request_id[i];
            bool const dash = i == 8 || i == 13 || i == 18 || i == 23;
            BILLORD_ASSERT(dash ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')));
        }
    }
    if (line->has_response) {
        BILLORD_ASSERT(line->response_status >= 100 && line->response_status <= 599);
        BILLORD_ASSERT(json_is_object(line->response_body) || json_is_string(line->response_body));
    } else {
        BILLORD_ASSERT(line->response_body == NULL);
    }
}

/* The parsed line as the server would write it. */
static char *line_write(const billord_replay_line *line)
{
    json_t *root = json_object();
    BILLORD_ASSERT(root != NULL);
    json_object_set_new(root, "ts_ms", json_integer(line->ts_ms));
    json_object_set_new(root, "account", json_string(line->account));
    json_object_set_new(root, "action", json_string(line->action));
    if (line->param_count > 0) {
        json_t *params = json_object();
        for (uint32_t i = 0; i < line->param_count; i++) {
            json_object_set_new(params, line->params[i].name, json_string(line->params[i].value));
        }
        json_object_set_new(root, "params", params);
    }
    if (line->has_request_id) {
        json_object_set_new(root, "request_id", json_string(line->request_id));
    }
    if (line->has_response) {
        json_t *response = json_object();
        json_object_set_new(response, "status", json_integer(line->response_status));
        json_object_set(response, "body", (json_t *)line->response_body);
        json_object_set_new(root, "response", response);
    }
    char *text = json_dumps(root, JSON_COMPACT);
    BILLORD_ASSERT(text != NULL);
    json_decref(root);
    return text;
}

static void check_same(const billord_replay_line *a, const billord_replay_line *b)
{
    BILLORD_ASSERT(a->ts_ms == b->ts_ms);
    BILLORD_ASSERT(strcmp(a->account, b->account) == 0);
    BILLORD_ASSERT(strcmp(a->action, b->action) == 0);
    BILLORD_ASSERT(a->param_count == b->param_count);
    for (uint32_t i = 0; i < a->param_count; i++) {
        BILLORD_ASSERT(strcmp(a->params[i].name, b->params[i].name) == 0);
        BILLORD_ASSERT(strcmp(a->params[i].value, b->params[i].value) == 0);
    }
    BILLORD_ASSERT(a->has_request_id == b->has_request_id);
    BILLORD_ASSERT(strcmp(a->request_id, b->request_id) == 0);
    BILLORD_ASSERT(a->has_response == b->has_response);
    BILLORD_ASSERT(a->response_status == b->response_status);
    if (a->has_response) {
        BILLORD_ASSERT(json_equal(a->response_body, b->response_body));
        char *ca = billord_replay_json_canonical(a->response_body);
        char *cb = billord_replay_json_canonical(b->response_body);
        BILLORD_ASSERT(ca != NULL && cb != NULL && strcmp(ca, cb) == 0);
        /* Canonical JSON parses back to the same canonical JSON. */
        json_t *back = json_loads(ca, JSON_DECODE_ANY, NULL);
        BILLORD_ASSERT(back != NULL);
        char *cc = billord_replay_json_canonical(back);
        BILLORD_ASSERT(cc != NULL && strcmp(ca, cc) == 0);
        free(cc);
        json_decref(back);
        free(ca);
        free(cb);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256u * 1024u) {
        return 0;
    }
    char *bytes = malloc(size ? size : 1);   /* exact size: ASan sees overreads */
    BILLORD_ASSERT(bytes != NULL);
    memcpy(bytes, data, size);
    static billord_replay_line line, again;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    billord_err const err =
        billord_replay_line_parse(bytes, size, &line, error_text, sizeof error_text);
    if (err != BILLORD_OK) {
        BILLORD_ASSERT(err == BILLORD_E_INVALID_ARGUMENT || err == BILLORD_E_TOO_LARGE ||
                       err == BILLORD_E_NOMEM);
        BILLORD_ASSERT(error_text[0] != '\0');
        BILLORD_ASSERT(line.root == NULL && line.param_count == 0 && !line.has_response);
        billord_replay_line_free(&line);
        free(bytes);
        return 0;
    }
    check_limits(&line);
    char *written = line_write(&line);
    BILLORD_ASSERT(billord_replay_line_parse(written, strlen(written), &again, error_text,
                                             sizeof error_text) == BILLORD_OK);
    check_same(&line, &again);
    free(written);
    billord_replay_line_free(&again);
    billord_replay_line_free(&line);
    billord_replay_line_free(&line);   /* a zeroed line may be freed again */
    free(bytes);
    return 0;
}
