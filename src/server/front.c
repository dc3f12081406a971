/*
 * front.c: parameters, Format, authentication and action of one request (front.h).
 *
 * Order matters and is documented in docs/api.md: parameters first (a malformed or
 * oversized request is refused before any key is looked up), then authentication (an
 * unauthenticated caller learns nothing about actions or resources), then the action.
 * Within a signature check the signature is verified before the timestamp and the
 * nonce, so only a correctly signed request can spend a nonce.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/assert.h"
#include "server/front.h"

#define V3_TIMESTAMP_HEADER "x-acs-date"
#define V3_NONCE_HEADER "x-acs-signature-nonce"
#define GATEWAY_CALLER_HEADER "x-acs-caller-uid"
#define ACTION_HEADER "x-acs-action"
#define ARRAY_PARAM_NAME "InstanceId"

static void refuse(server_front_result *out, billord_api_code code, const char *detail)
{
    out->code = code;
    billord__server_message(code, detail, out->message, sizeof out->message);
}

/* Copy a counted string into a fixed buffer; false when it does not fit. */
static bool copy_bounded(char *out, size_t out_bytes, const char *text, size_t text_bytes)
{
    if (text_bytes + 1 > out_bytes) {
        return false;
    }
    memcpy(out, text, text_bytes);
    out[text_bytes] = '\0';
    return true;
}

static bool parse_params(const server_front_request *request, server_front_result *out)
{
    billord_http_detail detail = {{0}};
    billord_params_status status = billord_params_parse(
        &out->params, request->query, request->query_bytes, BILLORD_PARAM_SOURCE_QUERY,
        &detail);
    if (status == BILLORD_PARAMS_OK && request->body_is_form) {
        status = billord_params_parse(&out->params, (const char *)request->body,
                                      request->body_bytes, BILLORD_PARAM_SOURCE_BODY, &detail);
    }
    if (status == BILLORD_PARAMS_OK) {
        return true;
    }
    billord_api_code code = billord_params_status_api_code(status);
    /* A size limit is named by its text; a malformation by the parameter concerned. */
    const char *what = code == BILLORD_API_REQUEST_TOO_LARGE || detail.text[0] == '\0'
                           ? billord_params_status_text(status)
                           : detail.text;
    refuse(out, code, what);
    return false;
}

/* ---- authentication --------------------------------------------------------------------- */

/* The timestamp window, the reboot rule and the nonce, common to V1 and V3. */
static bool check_replay(const server_front_config *config, const server_front_request *request,
                         const char *timestamp, size_t timestamp_bytes, const char *timestamp_name,
                         const char *nonce, size_t nonce_bytes, server_front_result *out)
{
    int64_t timestamp_ms = 0;
    if (billord_sign_timestamp_parse(timestamp, timestamp_bytes, &timestamp_ms) != BILLORD_OK) {
        refuse(out, BILLORD_API_INVALID_PARAMETER, timestamp_name);
        return false;
    }
    if (!billord_sign_timestamp_fresh(timestamp_ms, request->now_ms) ||
        timestamp_ms < config->signed_not_before_ms) {
        refuse(out, BILLORD_API_INVALID_TIMESTAMP_EXPIRED, NULL);
        return false;
    }
    billord_nonce_result nonce_result = billord__nonce_store_check(
        config->nonces, nonce, nonce_bytes, billord_sign_nonce_expiry_ms(timestamp_ms),
        request->now_ms);
    if (nonce_result == BILLORD_NONCE_REPLAYED) {
        refuse(out, BILLORD_API_SIGNATURE_NONCE_USED, NULL);
        return false;
    }
    if (nonce_result == BILLORD_NONCE_FULL) {
        refuse(out, BILLORD_API_SERVICE_UNAVAILABLE, NULL);
        return false;
    }
    return true;
}

/* Look the key up; on success out->account is set and secret filled. */
static bool find_key(const server_front_config *config, const char *key_id,
                     size_t key_id_bytes, char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1],
                     server_front_result *out)
{
    char key_text[BILLORD_ACCESS_KEY_ID_BYTES_MAX + 1];
    if (!copy_bounded(key_text, sizeof key_text, key_id, key_id_bytes)) {
        refuse(out, BILLORD_API_ACCESS_KEY_NOT_FOUND, NULL);
        return false;
    }
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
    billord_err err = config->key_lookup(config->key_lookup_ctx, key_text, account, secret);
    if (err == BILLORD_E_NOT_FOUND) {
        refuse(out, BILLORD_API_ACCESS_KEY_NOT_FOUND, NULL);
        return false;
    }
    if (err != BILLORD_OK) {
        refuse(out, billord_err_failure_code(err), NULL);
        return false;
    }
    snprintf(out->account, sizeof out->account, "%s", account);
    return true;
}

static bool sign_failed(billord_sign_status status, const billord_http_detail *detail,
                        server_front_result *out)
{
    if (status == BILLORD_SIGN_OK) {
        return false;
    }
    refuse(out, billord_sign_status_api_code(status), detail->text);
    out->account[0] = '\0';
    return true;
}

static bool auth_v1(const server_front_config *config, const server_front_request *request,
                    server_front_result *out)
{
    billord_http_detail detail = {{0}};
    if (sign_failed(billord_sign_v1_check_complete(&out->params, &detail), &detail, out)) {
        return false;
    }
    const billord_http_param *key = billord_params_find(&out->params, "AccessKeyId");
    char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1];
    if (!find_key(config, key->value, key->value_bytes, secret, out)) {
        return false;
    }
    billord_sign_status status = billord_sign_v1_verify(&out->params, request->method, secret,
                                                        strlen(secret), &detail);
    if (sign_failed(status, &detail, out)) {
        return false;
    }
    const billord_http_param *timestamp = billord_params_find(&out->params, "Timestamp");
    const billord_http_param *nonce = billord_params_find(&out->params, "SignatureNonce");
    if (!check_replay(config, request, timestamp->value, timestamp->value_bytes, "Timestamp",
                      nonce->value, nonce->value_bytes, out)) {
        out->account[0] = '\0';
        return false;
    }
    return true;
}

static bool auth_v3(const server_front_config *config, const server_front_request *request,
                    const billord_http_header *authorization, server_front_result *out)
{
    billord_http_detail detail = {{0}};
    billord_sign_v3_auth auth;
    billord_sign_status status = billord_sign_v3_parse_authorization(
        authorization->value, authorization->value_bytes, &auth, &detail);
    if (sign_failed(status, &detail, out)) {
        return false;
    }
    billord_sign_v3_request signed_request = {
        .method = request->method,
        .params = &out->params,
        .headers = request->headers,
        .header_count = request->header_count,
        .signed_headers = auth.signed_headers,
        .signed_headers_bytes = auth.signed_headers_bytes,
        .body = request->body,
        .body_bytes = request->body_bytes,
    };
    /* Completeness before the key: a request missing parts is incomplete whoever sent it. */
    if (sign_failed(billord_sign_v3_check_complete(&signed_request, &detail), &detail, out)) {
        return false;
    }
    char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1];
    if (!find_key(config, auth.access_key_id, auth.access_key_id_bytes, secret, out)) {
        return false;
    }
    status = billord_sign_v3_verify(&signed_request, &auth, secret, strlen(secret), &detail);
    if (sign_failed(status, &detail, out)) {
        return false;
    }
    const billord_http_header *date =
        billord_http_header_find(request->headers, request->header_count, V3_TIMESTAMP_HEADER);
    const billord_http_header *nonce =
        billord_http_header_find(request->headers, request->header_count, V3_NONCE_HEADER);
    BILLORD_ASSERT(date != NULL);   /* check_complete requires both to be signed */
    BILLORD_ASSERT(nonce != NULL);
    if (!check_replay(config, request, date->value, date->value_bytes, V3_TIMESTAMP_HEADER,
                      nonce->value, nonce->value_bytes, out)) {
        out->account[0] = '\0';
        return false;
    }
    return true;
}

/* Strict UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *text, size_t text_bytes)
{
    const unsigned char *at = (const unsigned char *)text;
    const unsigned char *end = at + text_bytes;
    while (at < end) {
        unsigned lead = *at;
        size_t extra = 0;
        uint32_t code_point = 0;
        uint32_t smallest = 0;
        if (lead < 0x80u) {
            at++;
            continue;
        }
        if (lead >= 0xC2u && lead <= 0xDFu) {
            extra = 1;
            code_point = lead & 0x1Fu;
            smallest = 0x80u;
        } else if (lead >= 0xE0u && lead <= 0xEFu) {
            extra = 2;
            code_point = lead & 0x0Fu;
            smallest = 0x800u;
        } else if (lead >= 0xF0u && lead <= 0xF4u) {
            extra = 3;
            code_point = lead & 0x07u;
            smallest = 0x10000u;
        } else {
            return false;
        }
        if ((size_t)(end - at) <= extra) {
            return false;
        }
        for (size_t i = 1; i <= extra; i++) {
            if ((at[i] & 0xC0u) != 0x80u) {
                return false;
            }
            code_point = (code_point << 6) | (at[i] & 0x3Fu);
        }
        if (code_point < smallest || code_point > 0x10FFFFu ||
            (code_point >= 0xD800u && code_point <= 0xDFFFu)) {
            return false;
        }
        at += extra + 1;
    }
    return true;
}

/* The caller's UID is the account: an account id is a JSON string, so a UID that is not
 * UTF-8 names no account, and could not be written to the request log either. */
static bool auth_gateway(const server_front_request *request, server_front_result *out)
{
    const billord_http_header *caller = billord_http_header_find(
        request->headers, request->header_count, GATEWAY_CALLER_HEADER);
    if (caller == NULL || caller->value_bytes == 0 ||
        !utf8_valid(caller->value, caller->value_bytes) ||
        !copy_bounded(out->account, sizeof out->account, caller->value, caller->value_bytes)) {
        out->account[0] = '\0';
        refuse(out, BILLORD_API_INCOMPLETE_SIGNATURE, GATEWAY_CALLER_HEADER);
        return false;
    }
    return true;
}

static bool authenticate(const server_front_config *config, const server_front_request *request,
                         server_front_result *out)
{
    if (config->auth == BILLORD_SERVER_AUTH_GATEWAY) {
        return auth_gateway(request, out);
    }
    BILLORD_ASSERT(config->nonces != NULL);
    if (billord_params_find(&out->params, "Signature") != NULL) {
        return auth_v1(config, request, out);
    }
    const billord_http_header *authorization =
        billord_http_header_find(request->headers, request->header_count, "authorization");
    if (authorization != NULL) {
        return auth_v3(config, request, authorization, out);
    }
    refuse(out, BILLORD_API_INCOMPLETE_SIGNATURE, "Signature");
    return false;
}

/* ---- action and engine parameters ------------------------------------------------------- */

static bool find_action(const server_front_config *config, const server_front_request *request,
                        server_front_result *out)
{
    const billord_http_param *param = billord_params_find(&out->params, "Action");
    const char *text = NULL;
    size_t text_bytes = 0;
    if (param != NULL) {
        text = param->value;
        text_bytes = param->value_bytes;
    } else {
        const billord_http_header *header =
            billord_http_header_find(request->headers, request->header_count, ACTION_HEADER);
        if (header != NULL) {
            text = header->value;
            text_bytes = header->value_bytes;
        }
    }
    if (text == NULL || text_bytes == 0) {
        refuse(out, BILLORD_API_MISSING_PARAMETER, "Action");
        return false;
    }
    if (!copy_bounded(out->action, sizeof out->action, text, text_bytes) ||
        memchr(text, '\0', text_bytes) != NULL || !config->action_known(out->action)) {
        out->action[0] = '\0';
        refuse(out, BILLORD_API_ACTION_NOT_FOUND, NULL);
        return false;
    }
    return true;
}

/* True for "InstanceId.<anything>": the elements that the joined value replaces. */
static bool is_array_element(const char *name)
{
    size_t base_bytes = strlen(ARRAY_PARAM_NAME);
    return strncmp(name, ARRAY_PARAM_NAME, base_bytes) == 0 && name[base_bytes] == '.';
}

static bool build_kv(server_front_result *out)
{
    billord_http_detail detail = {{0}};
    size_t joined_bytes = 0;
    uint32_t element_count = 0;
    billord_params_status status = billord_params_join_indexed(
        &out->params, ARRAY_PARAM_NAME, out->joined_instance_ids, &joined_bytes, &element_count,
        &detail);
    if (status != BILLORD_PARAMS_OK) {
        billord_api_code code = billord_params_status_api_code(status);
        refuse(out, code,
               code == BILLORD_API_REQUEST_TOO_LARGE ? billord_params_status_text(status)
                                                     : detail.text);
        return false;
    }
    out->kv_count = 0;
    for (uint32_t i = 0; i < out->params.count; i++) {
        const billord_http_param *param = &out->params.items[i];
        if (element_count > 0 && is_array_element(param->name)) {
            continue;
        }
        out->kv[out->kv_count++] = (server_kv){param->name, param->value};
    }
    if (element_count > 0) {
        /* The elements took at least one slot, so the joined value always fits. */
        BILLORD_ASSERT(out->kv_count < BILLORD_PARAMS_MAX);
        out->kv[out->kv_count++] = (server_kv){ARRAY_PARAM_NAME, out->joined_instance_ids};
    }
    return true;
}

void billord__server_front_process(const server_front_config *config,
                                   const server_front_request *request, char *arena,
                                   size_t arena_bytes, server_front_result *out)
{
    BILLORD_ASSERT(config != NULL);
    BILLORD_ASSERT(request != NULL);
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(arena_bytes >= SERVER_FRONT_ARENA_BYTES);
    out->code = BILLORD_API_OK;
    out->message[0] = '\0';
    out->action[0] = '\0';
    out->account[0] = '\0';
    out->format_xml = false;
    out->kv_count = 0;
    billord_params_init(&out->params, arena, arena_bytes);
    if (!parse_params(request, out)) {
        return;
    }
    const billord_http_param *format = billord_params_find(&out->params, "Format");
    out->format_xml = format != NULL && strcasecmp(format->value, "XML") == 0;
    if (!authenticate(config, request, out)) {
        return;
    }
    if (!find_action(config, request, out)) {
        return;
    }
    (void)build_kv(out);
}
