/*
 * exec.h: the engine half of the server (exec.c): opening and seeding the data
 * directory, executing or querying a command, and rendering any answer.
 *
 * Only plain types cross this header, so the HTTP half need not include the engine's
 * headers (server_internal.h says why).
 */
#ifndef BILLORD_SERVER_EXEC_H
#define BILLORD_SERVER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/server_internal.h"

typedef struct billord_db billord_db;

typedef struct server_exec_request {
    const char *request_id;             /* BILLORD_REQUEST_ID_BYTES characters */
    int64_t now_ms;                     /* the command's time (the server's clock) */
    const char *account;
    const char *action;                 /* a known action */
    const server_kv *kv;
    uint32_t kv_count;
    bool format_xml;
} server_exec_request;

/* A rendered answer. body is malloc'd unless body_static. */
typedef struct server_exec_response {
    billord_api_code code;
    int status;
    char *body;
    size_t body_bytes;
    bool body_static;
    bool xml;
    bool replay;                        /* x-billord-idempotent-replay: true */
    char *log_body_json;                /* malloc'd JSON of the answer when the body is XML
                                         * and a log body was asked for; else NULL */
} server_exec_response;

/**
 * Open the data directory, report recovery through logger, seed it from fixtures_path
 * when that is given and the directory is empty (a notice otherwise).
 * @return BILLORD_OK; BILLORD_E_FIXTURE (error_text: "FILE: $.path: ..."); others with
 *         error_text set.
 */
billord_err billord__server_exec_open(const billord_server_config *config,
                                      server_logger *logger, billord_db **out_db,
                                      char *error_text, size_t error_text_bytes);

/** billord_db_close(): drains the queue and syncs. NULL is allowed. */
void billord__server_exec_close(billord_db *db);

/** The data directory's clock (the manual clock's start). */
billord_err billord__server_exec_clock_ms(billord_db *db, int64_t *out_clock_ms);

/** Key lookup for front.h (lookup_ctx is the billord_db). */
billord_err billord__server_exec_key_lookup(void *lookup_ctx, const char *access_key_id,
                                            char account_out[BILLORD_ACCOUNT_ID_BYTES_MAX + 1],
                                            char secret_out[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1]);

/** billord_action_is_known(). */
bool billord__server_exec_action_known(const char *action);

/**
 * Execute a write (durably) or answer a read, and render the answer.
 * want_log_json: also produce the JSON form when the body is XML (log_body_json).
 */
void billord__server_exec_run(billord_db *db, const server_exec_request *request,
                              bool want_log_json, server_exec_response *out);


/** Render an answer decided before the engine (action may be NULL or ""). */
void billord__server_exec_error(billord_api_code code, const char *message,
                                const char *request_id, const char *action, bool format_xml,
                                bool want_log_json, server_exec_response *out);

/** Free what a response holds. */
void billord__server_exec_response_free(server_exec_response *response);

#endif
