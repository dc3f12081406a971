/*
 * render.c: JSON and XML bodies of billord's answers (billord/render.h).
 *
 * JSON goes through jansson (compact, keys in insertion order); XML is written by hand
 * from the same JSON tree with every text node escaped. Both are written through a
 * billord_text (core/text_buffer.h), so that a body is made whole or not at all; the
 * failure answer is written by hand into the caller's fixed buffer, without allocating.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <billord/render.h>

#include "core/assert.h"
#include "core/text_buffer.h"

#define RENDER_RECOMMEND_PREFIX "See docs/api.md#"
#define RENDER_XML_DEPTH_MAX 8u
/* The RequestId of a failure answer whose request id is not one billord makes. */
#define RENDER_NO_REQUEST_ID "00000000-0000-4000-8000-000000000000"

billord_format billord_format_from_param(const char *format_value)
{
    return format_value != NULL && strcasecmp(format_value, "XML") == 0 ? BILLORD_FORMAT_XML
                                                                        : BILLORD_FORMAT_JSON;
}

int billord_render_status(const billord_outcome *outcome)
{
    return billord_api_code_status(outcome->code);
}

static void recommend_of(billord_api_code code, char *out, size_t out_bytes)
{
    snprintf(out, out_bytes, "%s%s", RENDER_RECOMMEND_PREFIX, billord_api_code_text(code));
}

/* The answer's tree, or NULL when any member could not be made (out of memory, or a text
 * that is not UTF-8): an answer is never sent without one of its members. */
static json_t *answer_tree(const billord_outcome *outcome, const json_t *fields)
{
    bool ok = true;
    json_t *root = json_object();
    billord__json_set_member(root, "RequestId", json_string(outcome->request_id), &ok);
    if (outcome->code != BILLORD_API_OK) {
        char recommend[128];
        recommend_of(outcome->code, recommend, sizeof recommend);
        billord__json_set_member(root, "HostId", json_string(BILLORD_HOST_ID), &ok);
        billord__json_set_member(root, "Code", json_string(billord_api_code_text(outcome->code)),
                                 &ok);
        billord__json_set_member(root, "Message", json_string(outcome->message), &ok);
        billord__json_set_member(root, "Recommend", json_string(recommend), &ok);
    } else {
        if (outcome->has_order_id) {
            billord__json_set_member(root, "OrderId",
                                     json_integer((json_int_t)outcome->order_id), &ok);
        }
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)fields, key, value) {
            billord__json_set_member(root, key, json_incref(value), &ok);
        }
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- XML -------------------------------------------------------------------------- */

static void xml_text(billord_text *buffer, const char *text)
{
    for (const char *at = text; *at != '\0'; at++) {
        switch (*at) {
        case '<': billord__text_append(buffer, "&lt;", 4); break;
        case '>': billord__text_append(buffer, "&gt;", 4); break;
        case '&': billord__text_append(buffer, "&amp;", 5); break;
        case '"': billord__text_append(buffer, "&quot;", 6); break;
        case '\'': billord__text_append(buffer, "&apos;", 6); break;
        default: billord__text_append(buffer, at, 1); break;
        }
    }
}

static void xml_tag(billord_text *buffer, const char *name, bool closing)
{
    billord__text_append(buffer, closing ? "</" : "<", closing ? 2 : 1);
    xml_text(buffer, name);
    billord__text_append(buffer, ">", 1);
}

static void xml_value(billord_text *buffer, const char *name, const json_t *value, unsigned depth);

static void xml_children(billord_text *buffer, const json_t *object, unsigned depth)
{
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)object, key, child) {
        if (json_is_array(child)) {
            size_t index;
            json_t *item;
            json_array_foreach(child, index, item) {
                xml_value(buffer, key, item, depth + 1);
            }
        } else {
            xml_value(buffer, key, child, depth + 1);
        }
    }
}

static void xml_value(billord_text *buffer, const char *name, const json_t *value, unsigned depth)
{
    BILLORD_ASSERT(depth <= RENDER_XML_DEPTH_MAX);
    char scalar[64];
    xml_tag(buffer, name, false);
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        xml_children(buffer, value, depth);
        break;
    case JSON_STRING:
        xml_text(buffer, json_string_value(value));
        break;
    case JSON_INTEGER:
        snprintf(scalar, sizeof scalar, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        xml_text(buffer, scalar);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        xml_text(buffer, json_is_true(value) ? "true" : "false");
        break;
    default:
        break;  /* null: an empty element */
    }
    xml_tag(buffer, name, true);
}

static const char xml_declaration[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

static char *render_xml(const char *action, const billord_outcome *outcome, const json_t *tree,
                        size_t *out_bytes)
{
    billord_text buffer;
    billord__text_init(&buffer);
    billord__text_append(&buffer, xml_declaration, sizeof xml_declaration - 1);
    char root[BILLORD_ACTION_BYTES_MAX + 16];
    if (outcome->code != BILLORD_API_OK || action == NULL) {
        snprintf(root, sizeof root, "Error");
    } else {
        snprintf(root, sizeof root, "%sResponse", action);
    }
    xml_value(&buffer, root, tree, 0);
    return billord__text_take(&buffer, out_bytes);
}

char *billord_render(const char *action, const billord_outcome *outcome, const json_t *fields,
                     billord_format format, size_t *out_bytes)
{
    BILLORD_ASSERT(outcome != NULL && out_bytes != NULL);
    BILLORD_ASSERT(fields == NULL || json_is_object(fields));
    json_t *tree = answer_tree(outcome, fields);
    if (tree == NULL) {
        return NULL;
    }
    char *body = NULL;
    if (format == BILLORD_FORMAT_XML) {
        body = render_xml(action, outcome, tree, out_bytes);
    } else {
        billord_text text;
        billord__text_init(&text);
        if (billord__text_dump_json(&text, tree, JSON_COMPACT | JSON_PRESERVE_ORDER)) {
            body = billord__text_take(&text, out_bytes);
        }
        billord__text_release(&text);
    }
    json_decref(tree);
    return body;
}

/* ---- the answer when rendering cannot complete ---------------------------------------- */

/* A request id as billord makes them (letters, digits and '-', at most
 * BILLORD_REQUEST_ID_BYTES): text that needs no escaping in either format and keeps the
 * answer within BILLORD_RENDER_FAILURE_BYTES. Anything else is answered with
 * RENDER_NO_REQUEST_ID. */
static bool plain_request_id(const char *request_id)
{
    if (request_id == NULL || request_id[0] == '\0' ||
        strnlen(request_id, BILLORD_REQUEST_ID_BYTES + 1) > BILLORD_REQUEST_ID_BYTES) {
        return false;
    }
    for (const char *at = request_id; *at != '\0'; at++) {
        bool alnum = (*at >= '0' && *at <= '9') || (*at >= 'A' && *at <= 'Z') ||
                     (*at >= 'a' && *at <= 'z');
        if (!alnum && *at != '-') {
            return false;
        }
    }
    return true;
}

/* A JSON string of text that needs no escaping (printable ASCII but '"' and '\\'). */
static void json_plain_string(billord_text *text, const char *value)
{
    for (const char *at = value; *at != '\0'; at++) {
        BILLORD_ASSERT(*at >= ' ' && *at <= '~' && *at != '"' && *at != '\\');
    }
    billord__text_append(text, "\"", 1);
    billord__text_append_str(text, value);
    billord__text_append(text, "\"", 1);
}

size_t billord_render_failure(billord_api_code code, const char *request_id,
                              billord_format format, char out[BILLORD_RENDER_FAILURE_BYTES])
{
    BILLORD_ASSERT(code == BILLORD_API_INTERNAL_ERROR || code == BILLORD_API_SERVICE_UNAVAILABLE);
    BILLORD_ASSERT(out != NULL);
    char recommend[128];
    recommend_of(code, recommend, sizeof recommend);
    /* The members of answer_tree() for an error, in its order. */
    static const char *const names[] = {"RequestId", "HostId", "Code", "Message", "Recommend"};
    const char *const values[] = {
        plain_request_id(request_id) ? request_id : RENDER_NO_REQUEST_ID,
        BILLORD_HOST_ID,
        billord_api_code_text(code),
        billord_api_code_message(code),
        recommend,
    };
    billord_text text;
    billord__text_init_fixed(&text, out, BILLORD_RENDER_FAILURE_BYTES);
    if (format == BILLORD_FORMAT_XML) {
        billord__text_append(&text, xml_declaration, sizeof xml_declaration - 1);
        xml_tag(&text, "Error", false);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            xml_tag(&text, names[i], false);
            xml_text(&text, values[i]);
            xml_tag(&text, names[i], true);
        }
        xml_tag(&text, "Error", true);
    } else {
        billord__text_append(&text, "{", 1);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (i > 0) {
                billord__text_append(&text, ",", 1);
            }
            json_plain_string(&text, names[i]);
            billord__text_append(&text, ":", 1);
            json_plain_string(&text, values[i]);
        }
        billord__text_append(&text, "}", 1);
    }
    /* BILLORD_RENDER_FAILURE_BYTES holds the longest of these (test_cov_render checks). */
    BILLORD_ASSERT(!text.failed);
    return text.used;
}
