/*
 * request_log.h: the NDJSON request log of `billord serve --request-log FILE`
 * (SPEC section 8), one line per request once its answer is decided:
 *
 *   {"ts_ms":N,"account":"..","action":"..","params":{..},
 *    "response":{"status":N,"body":{..}},"request_id":".."}
 *
 * params are the decoded parameters the engine got (pop-core's InstanceId.n joined);
 * body is the answer as a JSON object even when the client asked for XML. A request
 * refused before authentication has account "" (and before its action, action "").
 * Each line is one write() under a mutex, so lines never interleave.
 */
#ifndef BILLORD_SERVER_REQUEST_LOG_H
#define BILLORD_SERVER_REQUEST_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "server/server_internal.h"

typedef struct server_request_log server_request_log;

typedef struct server_request_log_entry {
    int64_t ts_ms;
    const char *account;
    const char *action;
    const server_kv *params;
    uint32_t param_count;
    int status;
    const char *body_json;              /* the JSON answer */
    size_t body_json_bytes;
    const char *request_id;
} server_request_log_entry;

/** Open path for appending (created 0644). @return BILLORD_OK, BILLORD_E_IO, BILLORD_E_NOMEM. */
billord_err billord__request_log_open(const char *path, server_request_log **out_log);

/** Append one line. @return BILLORD_OK, BILLORD_E_IO, BILLORD_E_NOMEM. */
billord_err billord__request_log_write(server_request_log *log,
                                       const server_request_log_entry *entry);

/** Close; NULL is allowed. */
void billord__request_log_close(server_request_log *log);

#endif
