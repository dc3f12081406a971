/*
 * text_buffer.h: a text that is made whole or not at all (internal to the library).
 *
 * Answers and request log lines are appended to a billord_text, which remembers the first
 * append that failed (growing could not allocate, or a fixed buffer is full): every later
 * append fails too and the text is refused as a whole, never sent or written in part.
 * jansson (2.14) ignores the failure of an object key's write in its dump and goes on,
 * which would leave a key without its closing quote; a dump through
 * billord__text_dump_json() reports it.
 *
 * A text is either growable (malloc'd on the first append, grown by realloc, freed by
 * billord__text_release() or handed over by billord__text_take()) or fixed (the caller's
 * storage, never allocates: for an answer that must be made when memory has run out).
 * The bytes are NUL-terminated after each successful append.
 */
#ifndef BILLORD_CORE_TEXT_BUFFER_H
#define BILLORD_CORE_TEXT_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct billord_text {
    char *bytes;                /* growable: NULL until the first append */
    size_t used;                /* bytes before the NUL */
    size_t capacity;
    bool fixed;                 /* bytes is the caller's storage, never grown or freed */
    bool failed;                /* an append failed: the text is refused */
} billord_text;

/** json_object_set_new() that remembers a failure in *ok (value is consumed either way):
 *  for a tree that is made whole or not at all (answers, and the engine's JSON for them).
 *  A NULL object or value (a json_object() or json_string() that could not be made) is a
 *  failure too, so the results of the constructors need no check of their own. */
void billord__json_set_member(json_t *object, const char *key, json_t *value, bool *ok);

/** json_array_append_new() likewise: a failure (NULL array or item included) in *ok. */
void billord__json_append_item(json_t *array, json_t *item, bool *ok);

/** An empty growable text. */
void billord__text_init(billord_text *text);

/** An empty text in storage[0, storage_bytes) (storage_bytes >= 1, for the NUL). */
void billord__text_init_fixed(billord_text *text, char *storage, size_t storage_bytes);

/** Append bytes_len bytes; false when this or an earlier append failed. */
bool billord__text_append(billord_text *text, const char *bytes, size_t bytes_len);

/** billord__text_append() of a NUL-terminated string. */
bool billord__text_append_str(billord_text *text, const char *string);

/** A json_dump_callback_t appending to the billord_text data: 0, or -1 once failed. */
int billord__text_dump_callback(const char *bytes, size_t bytes_len, void *data);

/** Append json as jansson dumps it with flags; false when any of it could not be made. */
bool billord__text_dump_json(billord_text *text, const json_t *json, size_t flags);

/**
 * Hand over a growable text: its malloc'd NUL-terminated bytes (caller frees) and
 * *out_bytes, or NULL (the text freed) when an append failed or the first allocation
 * cannot be made. The text is empty afterwards.
 */
char *billord__text_take(billord_text *text, size_t *out_bytes);

/** Free a growable text's bytes; it is empty afterwards. */
void billord__text_release(billord_text *text);

#endif
