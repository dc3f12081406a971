/*
 * front.h: the HTTP half of a request, from bytes to an authenticated command
 * (docs/api.md, "Request pipeline").
 *
 *   parameters: the query, then an x-www-form-urlencoded body (billord/http_params.h)
 *   Format:     XML or JSON, known before anything can fail after parsing
 *   auth:       gateway header, or a V1 (Signature parameter) or V3 (Authorization
 *               header) signature, its timestamp window and its nonce
 *   action:     the Action parameter, else the x-acs-action header; must be known
 *   params:     pop-core's InstanceId.1..n joined into InstanceId
 *
 * Pure but for the key lookup and the nonce store handed in by the caller.
 */
#ifndef BILLORD_SERVER_FRONT_H
#define BILLORD_SERVER_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/http_params.h>
#include <billord/http_sign.h>

#include "server/nonce_store.h"
#include "server/server_internal.h"

/* Arena for the decoded parameters of one request: query and body at their limits. */
#define SERVER_FRONT_ARENA_BYTES \
    BILLORD_PARAMS_ARENA_BYTES(BILLORD_HEADERS_BYTES_MAX + BILLORD_BODY_BYTES_MAX)

/** Finds an access key: BILLORD_OK, BILLORD_E_NOT_FOUND, or an I/O error. */
typedef billord_err (*server_key_lookup_fn)(
    void *lookup_ctx, const char *access_key_id,
    char account_out[BILLORD_ACCOUNT_ID_BYTES_MAX + 1],
    char secret_out[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1]);

/** True for an action billord serves. */
typedef bool (*server_action_known_fn)(const char *action);

typedef struct server_front_config {
    billord_server_auth auth;
    server_key_lookup_fn key_lookup;
    void *key_lookup_ctx;
    server_action_known_fn action_known;
    server_nonce_store *nonces;         /* required for BILLORD_SERVER_AUTH_SIGNATURE */
    int64_t signed_not_before_ms;       /* refuse older timestamps (after a reboot); 0: none */
} server_front_config;

typedef struct server_front_request {
    const char *method;                 /* "GET", "POST", ... */
    const char *query;                  /* without "?"; may be NULL when query_bytes is 0 */
    size_t query_bytes;
    const uint8_t *body;                /* may be NULL when body_bytes is 0 */
    size_t body_bytes;
    bool body_is_form;                  /* Content-Type application/x-www-form-urlencoded */
    const billord_http_header *headers;
    size_t header_count;
    int64_t now_ms;                     /* real time, for the timestamp window */
} server_front_request;

typedef struct server_front_result {
    billord_api_code code;              /* BILLORD_API_OK: a command for the engine */
    char message[BILLORD_MESSAGE_BYTES_MAX];    /* completed message when code is an error */
    char action[BILLORD_ACTION_BYTES_MAX + 1];  /* "" when none was found */
    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];  /* "" before authentication */
    bool format_xml;
    billord_params params;              /* every decoded parameter, as sent */
    char joined_instance_ids[BILLORD_PARAMS_JOINED_BYTES];
    uint32_t kv_count;                  /* the engine's parameters */
    server_kv kv[BILLORD_PARAMS_MAX];
} server_front_result;

/**
 * Run the pipeline. Never fails as a call: any refusal is out->code with its message.
 * arena must hold SERVER_FRONT_ARENA_BYTES and outlive out (out's strings point into it).
 */
void billord__server_front_process(const server_front_config *config,
                                   const server_front_request *request, char *arena,
                                   size_t arena_bytes, server_front_result *out);

#endif
