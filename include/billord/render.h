/*
 * billord/render.h: turning an outcome into the bytes of an HTTP answer (SPEC section 2).
 *
 * Rendering is a pure function of (action, outcome, fields, format): the same stored
 * outcome always renders to the same bytes, which is how a replayed ClientToken gets
 * its first answer byte for byte. An answer is never partial: it is rendered whole, or
 * billord_render() says it could not be, and the caller sends the fixed failure answer
 * of billord_render_failure() instead (made without allocating).
 */
#ifndef BILLORD_RENDER_H
#define BILLORD_RENDER_H

#include <stddef.h>

#include <jansson.h>

#include <billord/engine.h>

/* The fixed HostId of error bodies: answers do not depend on which host served them. */
#define BILLORD_HOST_ID "billord"

typedef enum billord_format {
    BILLORD_FORMAT_JSON = 1,
    BILLORD_FORMAT_XML = 2,
} billord_format;

/** "XML" (any case) selects XML; anything else, or NULL, JSON. */
billord_format billord_format_from_param(const char *format_value);

/**
 * Render an answer.
 * Success: {"RequestId": ..., "OrderId": n (when the outcome has one), ...fields}.
 * Error:   {"RequestId", "HostId", "Code", "Message", "Recommend"}.
 * XML: <ActionResponse>...</ActionResponse> or <Error>...</Error>, arrays as repeated
 * elements named by their key.
 * A body is whole or not made at all: when any part of it cannot be made (out of memory,
 * or a text of the outcome or fields that is not UTF-8), the result is NULL, never a body
 * that lacks a member or is cut short. The caller then answers billord_render_failure().
 * @param[in] action  the action name (XML root), may be NULL for an unknown action.
 * @param[in] fields  extra success fields (a JSON object) or NULL; not retained.
 * @return a malloc'd NUL-terminated body (caller frees) and *out_bytes; NULL as above.
 */
char *billord_render(const char *action, const billord_outcome *outcome, const json_t *fields,
                     billord_format format, size_t *out_bytes);

/* Room for any answer of billord_render_failure(), its NUL included. */
#define BILLORD_RENDER_FAILURE_BYTES 512u

/**
 * The answer to send when billord_render() cannot make one (or when the answer was never
 * decided): the catalog's error of code, written into out without allocating.
 * The bytes are those billord_render() makes of an outcome with that code, the catalog's
 * message and request_id, in format. request_id is echoed when it is one billord makes
 * (letters, digits and '-', at most BILLORD_REQUEST_ID_BYTES); anything else (NULL, "",
 * other characters, longer) is answered as "00000000-0000-4000-8000-000000000000". The
 * HTTP status is billord_api_code_status(code).
 * @param[in] code  BILLORD_API_INTERNAL_ERROR or BILLORD_API_SERVICE_UNAVAILABLE.
 * @return the body's length; out holds it NUL-terminated.
 */
size_t billord_render_failure(billord_api_code code, const char *request_id,
                              billord_format format, char out[BILLORD_RENDER_FAILURE_BYTES]);

/** The HTTP status of an outcome. */
int billord_render_status(const billord_outcome *outcome);

#endif
