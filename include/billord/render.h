/*
 * billord/render.h: turning an outcome into the bytes of an HTTP answer (SPEC section 2).
 *
 * Rendering is a pure function of (action, outcome, fields, format): the same stored
 * outcome always renders to the same bytes, which is how a replayed ClientToken gets
 * its first answer byte for byte.
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
 * @param[in] action  the action name (XML root), may be NULL for an unknown action.
 * @param[in] fields  extra success fields (a JSON object) or NULL; not retained.
 * @return a malloc'd NUL-terminated body (caller frees) and *out_bytes; NULL on ENOMEM.
 */
char *billord_render(const char *action, const billord_outcome *outcome, const json_t *fields,
                     billord_format format, size_t *out_bytes);

/** The HTTP status of an outcome. */
int billord_render_status(const billord_outcome *outcome);

#endif
