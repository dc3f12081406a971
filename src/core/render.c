/*
 * render.c: JSON and XML bodies of billord's answers (billord/render.h).
 *
 * JSON goes through jansson (compact, keys in insertion order); XML is written by hand
 * from the same JSON tree with every text node escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <billord/render.h>

#include "core/assert.h"

#define RENDER_RECOMMEND_PREFIX "See docs/api.md#"
#define RENDER_XML_DEPTH_MAX 8u

billord_format billord_format_from_param(const char *format_value)
{
    return format_value != NULL && strcasecmp(format_value, "XML") == 0 ? BILLORD_FORMAT_XML
                                                                        : BILLORD_FORMAT_JSON;
}

int billord_render_status(const billord_outcome *outcome)
{
    return billord_api_code_status(outcome->code);
}

static json_t *answer_tree(const billord_outcome *outcome, const json_t *fields)
{
    json_t *root = json_object();
    json_object_set_new(root, "RequestId", json_string(outcome->request_id));
    if (outcome->code != BILLORD_API_OK) {
        char recommend[128];
        snprintf(recommend, sizeof recommend, "%s%s", RENDER_RECOMMEND_PREFIX,
                 billord_api_code_text(outcome->code));
        json_object_set_new(root, "HostId", json_string(BILLORD_HOST_ID));
        json_object_set_new(root, "Code", json_string(billord_api_code_text(outcome->code)));
        json_object_set_new(root, "Message", json_string(outcome->message));
        json_object_set_new(root, "Recommend", json_string(recommend));
        return root;
    }
    if (outcome->has_order_id) {
        json_object_set_new(root, "OrderId", json_integer((json_int_t)outcome->order_id));
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)fields, key, value) {
        json_object_set(root, key, value);
    }
    return root;
}

/* ---- XML -------------------------------------------------------------------------- */

typedef struct xml_buffer {
    char *bytes;
    size_t used;
    size_t capacity;
    bool failed;
} xml_buffer;

static void xml_append(xml_buffer *buffer, const char *text, size_t text_bytes)
{
    if (buffer->failed) {
        return;
    }
    if (buffer->used + text_bytes + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity * 2 + text_bytes + 256;
        char *grown = realloc(buffer->bytes, capacity);
        if (grown == NULL) {
            buffer->failed = true;
            return;
        }
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->used, text, text_bytes);
    buffer->used += text_bytes;
    buffer->bytes[buffer->used] = '\0';
}

static void xml_text(xml_buffer *buffer, const char *text)
{
    for (const char *at = text; *at != '\0'; at++) {
        switch (*at) {
        case '<': xml_append(buffer, "&lt;", 4); break;
        case '>': xml_append(buffer, "&gt;", 4); break;
        case '&': xml_append(buffer, "&amp;", 5); break;
        case '"': xml_append(buffer, "&quot;", 6); break;
        case '\'': xml_append(buffer, "&apos;", 6); break;
        default: xml_append(buffer, at, 1); break;
        }
    }
}

static void xml_tag(xml_buffer *buffer, const char *name, bool closing)
{
    xml_append(buffer, closing ? "</" : "<", closing ? 2 : 1);
    xml_text(buffer, name);
    xml_append(buffer, ">", 1);
}

static void xml_value(xml_buffer *buffer, const char *name, const json_t *value, unsigned depth);

static void xml_children(xml_buffer *buffer, const json_t *object, unsigned depth)
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

static void xml_value(xml_buffer *buffer, const char *name, const json_t *value, unsigned depth)
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

static char *render_xml(const char *action, const billord_outcome *outcome, const json_t *tree,
                        size_t *out_bytes)
{
    xml_buffer buffer = {NULL, 0, 0, false};
    static const char declaration[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    xml_append(&buffer, declaration, sizeof declaration - 1);
    char root[BILLORD_ACTION_BYTES_MAX + 16];
    if (outcome->code != BILLORD_API_OK || action == NULL) {
        snprintf(root, sizeof root, "Error");
    } else {
        snprintf(root, sizeof root, "%sResponse", action);
    }
    xml_value(&buffer, root, tree, 0);
    if (buffer.failed) {
        free(buffer.bytes);
        return NULL;
    }
    *out_bytes = buffer.used;
    return buffer.bytes;
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
        body = json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (body != NULL) {
            *out_bytes = strlen(body);
        }
    }
    json_decref(tree);
    return body;
}
