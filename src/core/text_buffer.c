/* text_buffer.c: a text that is made whole or not at all (text_buffer.h). */
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/text_buffer.h"

#define TEXT_GROWTH_BYTES 256u

void billord__json_set_member(json_t *object, const char *key, json_t *value, bool *ok)
{
    if (json_object_set_new(object, key, value) != 0) {
        *ok = false;
    }
}

void billord__json_append_item(json_t *array, json_t *item, bool *ok)
{
    if (json_array_append_new(array, item) != 0) {
        *ok = false;
    }
}

void billord__text_init(billord_text *text)
{
    BILLORD_ASSERT(text != NULL);
    *text = (billord_text){NULL, 0, 0, false, false};
}

void billord__text_init_fixed(billord_text *text, char *storage, size_t storage_bytes)
{
    BILLORD_ASSERT(text != NULL && storage != NULL && storage_bytes >= 1);
    *text = (billord_text){storage, 0, storage_bytes, true, false};
    storage[0] = '\0';
}

bool billord__text_append(billord_text *text, const char *bytes, size_t bytes_len)
{
    if (text->failed) {
        return false;
    }
    /* Room for the bytes and the NUL after them. */
    if (bytes_len >= text->capacity - text->used) {
        size_t capacity = text->capacity * 2 + bytes_len + TEXT_GROWTH_BYTES;
        char *grown = text->fixed ? NULL : realloc(text->bytes, capacity);
        if (grown == NULL) {
            text->failed = true;
            return false;
        }
        text->bytes = grown;
        text->capacity = capacity;
    }
    memcpy(text->bytes + text->used, bytes, bytes_len);
    text->used += bytes_len;
    text->bytes[text->used] = '\0';
    return true;
}

bool billord__text_append_str(billord_text *text, const char *string)
{
    return billord__text_append(text, string, strlen(string));
}

int billord__text_dump_callback(const char *bytes, size_t bytes_len, void *data)
{
    return billord__text_append(data, bytes, bytes_len) ? 0 : -1;
}

bool billord__text_dump_json(billord_text *text, const json_t *json, size_t flags)
{
    /* The failed flag, not only the result: jansson does not pass on every failed write. */
    return json_dump_callback(json, billord__text_dump_callback, text, flags) == 0 &&
           !text->failed;
}

char *billord__text_take(billord_text *text, size_t *out_bytes)
{
    BILLORD_ASSERT(!text->fixed);
    /* An empty text still hands over an allocation (""). */
    if (!billord__text_append(text, "", 0)) {
        billord__text_release(text);
        return NULL;
    }
    char *bytes = text->bytes;
    *out_bytes = text->used;
    billord__text_init(text);
    return bytes;
}

void billord__text_release(billord_text *text)
{
    BILLORD_ASSERT(!text->fixed);
    free(text->bytes);
    billord__text_init(text);
}
