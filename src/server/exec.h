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

/* Room for an answer made without allocating (render.h's BILLORD_RENDER_FAILURE_BYTES, the
 * admin clock's). */
#define SERVER_EXEC_FIXED_BYTES 512u

/* A rendered answer, whole: the asked answer, or (when it could not be rendered) the
 * failure answer of billord/render.h, made in fixed_body without allocating. A response
 * that holds a fixed body must stay where it is until it is sent. */
typedef struct server_exec_response {
    billord_api_code code;
    int status;
    char *body;                         /* malloc'd, or fixed_body when body_fixed */
    size_t body_bytes;
    bool body_fixed;                    /* copied when sent, never freed */
    bool xml;
    bool replay;                        /* x-billord-idempotent-replay: true */
    char *log_body_json;                /* the JSON of an XML answer when a log body was
                                         * asked for (malloc'd, or fixed_log_json); NULL when
                                         * none was asked for or it could not be rendered
                                         * (the log then holds the XML as it was sent) */
    char fixed_body[SERVER_EXEC_FIXED_BYTES];
    char fixed_log_json[SERVER_EXEC_FIXED_BYTES];
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
 * When the answer cannot be rendered, out is the failure answer (InternalError, or
 * ServiceUnavailable when that was the answer) with the request's id, in the asked format.
 */
void billord__server_exec_run(billord_db *db, const server_exec_request *request,
                              bool want_log_json, server_exec_response *out);


/** Render an answer decided before the engine (action may be NULL or ""). */
void billord__server_exec_error(billord_api_code code, const char *message,
                                const char *request_id, const char *action, bool format_xml,
                                bool want_log_json, server_exec_response *out);

/**
 * GET /admin/events: the events after since, at most limit, as a 200 JSON body
 * {"Events":[...],"NextSince":N} in out, made whole or not at all.
 * @return BILLORD_API_OK with out set; else the error to answer instead (out untouched):
 *         BILLORD_API_SERVICE_UNAVAILABLE when the events cannot be read whole (the store
 *         fails, or memory runs out while they are read), BILLORD_API_INTERNAL_ERROR when
 *         the page cannot be written (out of memory).
 */
billord_api_code billord__server_exec_events(billord_db *db, uint64_t since, uint32_t limit,
                                             server_exec_response *out);

/** Free what a response holds. */
void billord__server_exec_response_free(server_exec_response *response);

#endif
