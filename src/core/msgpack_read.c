/* msgpack_read.c: one msgpack value, its declared sizes checked before msgpack-c
 * allocates for them (msgpack_read.h). */
#include <stdint.h>

#include "core/assert.h"
#include "core/msgpack_read.h"

/* Advance past n bytes, if there are n. */
static bool skip(const uint8_t **cursor, const uint8_t *end, uint64_t n)
{
    if ((uint64_t)(end - *cursor) < n) {
        return false;
    }
    *cursor += n;
    return true;
}

/* Read a big-endian unsigned integer of width bytes (1, 2 or 4). */
static bool read_be(const uint8_t **cursor, const uint8_t *end, unsigned width, uint64_t *out)
{
    if ((uint64_t)(end - *cursor) < width) {
        return false;
    }
    uint64_t value = 0;
    for (unsigned i = 0; i < width; i++) {
        value = (value << 8) | (*cursor)[i];
    }
    *cursor += width;
    *out = value;
    return true;
}

/* The header of one value: how many body bytes follow, or how many elements. */
typedef struct value_shape {
    uint64_t body_bytes;
    uint64_t elements;          /* an array's items, a map's keys and values */
    bool container;             /* an array or a map, even an empty one */
} value_shape;

/* Read the header at *cursor (its type byte already taken as type). */
static bool read_shape(uint8_t type, const uint8_t **cursor, const uint8_t *end, value_shape *shape)
{
    static const uint8_t fixed_body[] = {
        [0xca - 0xca] = 4, [0xcb - 0xca] = 8,                   /* float 32, 64 */
        [0xcc - 0xca] = 1, [0xcd - 0xca] = 2, [0xce - 0xca] = 4, [0xcf - 0xca] = 8, /* uint */
        [0xd0 - 0xca] = 1, [0xd1 - 0xca] = 2, [0xd2 - 0xca] = 4, [0xd3 - 0xca] = 8, /* int */
        [0xd4 - 0xca] = 2, [0xd5 - 0xca] = 3, [0xd6 - 0xca] = 5, [0xd7 - 0xca] = 9,
        [0xd8 - 0xca] = 17,                                     /* fixext: type + data */
    };
    shape->body_bytes = 0;
    shape->elements = 0;
    shape->container = (type >= 0x80 && type <= 0x9f) || (type >= 0xdc && type <= 0xdf);
    uint64_t length = 0;
    if (type <= 0x7f || type >= 0xe0 || type == 0xc0 || type == 0xc2 || type == 0xc3) {
        return true;                                            /* fixint, nil, bool */
    }
    if (type <= 0x8f) {
        shape->elements = 2u * (type & 0x0fu);                  /* fixmap */
        return true;
    }
    if (type <= 0x9f) {
        shape->elements = type & 0x0fu;                         /* fixarray */
        return true;
    }
    if (type <= 0xbf) {
        shape->body_bytes = type & 0x1fu;                       /* fixstr */
        return true;
    }
    switch (type) {
    case 0xc4: case 0xd9: return read_be(cursor, end, 1, &shape->body_bytes); /* bin8 str8 */
    case 0xc5: case 0xda: return read_be(cursor, end, 2, &shape->body_bytes);
    case 0xc6: case 0xdb: return read_be(cursor, end, 4, &shape->body_bytes);
    case 0xc7: case 0xc8: case 0xc9:                            /* ext: length, type, data */
        if (!read_be(cursor, end, type == 0xc7 ? 1u : type == 0xc8 ? 2u : 4u, &length)) {
            return false;
        }
        shape->body_bytes = length + 1u;
        return true;
    case 0xdc: case 0xdd:                                       /* array 16, 32 */
        return read_be(cursor, end, type == 0xdc ? 2u : 4u, &shape->elements);
    case 0xde: case 0xdf:                                       /* map 16, 32 */
        if (!read_be(cursor, end, type == 0xde ? 2u : 4u, &length)) {
            return false;
        }
        shape->elements = 2u * length;
        return true;
    case 0xc1:
        return false;                                           /* never used */
    default:
        BILLORD_ASSERT(type >= 0xca && type <= 0xd8);
        shape->body_bytes = fixed_body[type - 0xca];
        return true;
    }
}

bool billord__msgpack_well_sized(const void *bytes, size_t bytes_len)
{
    const uint8_t *cursor = bytes;
    const uint8_t *end = cursor + bytes_len;
    uint64_t owed_at_level[BILLORD_MSGPACK_DEPTH_MAX + 1];
    unsigned depth = 0;
    owed_at_level[0] = 1;
    uint64_t owed_total = 1;                /* values still to read, at every level */
    while (owed_total > 0) {
        if (cursor == end) {
            return false;
        }
        uint8_t type = *cursor++;
        value_shape shape;
        if (!read_shape(type, &cursor, end, &shape) || !skip(&cursor, end, shape.body_bytes)) {
            return false;
        }
        owed_total--;
        owed_at_level[depth]--;
        /* msgpack-c counts an empty container against its depth limit too. */
        if (shape.container && depth == BILLORD_MSGPACK_DEPTH_MAX) {
            return false;
        }
        if (shape.elements > 0) {
            owed_total += shape.elements;
            /* Each value owed takes at least one byte. */
            if (owed_total > (uint64_t)(end - cursor)) {
                return false;
            }
            owed_at_level[++depth] = shape.elements;
        }
        while (depth > 0 && owed_at_level[depth] == 0) {
            depth--;
        }
    }
    return cursor == end;
}

billord_err billord__msgpack_unpack_one(msgpack_unpacked *out, const void *bytes, size_t bytes_len)
{
    if (!billord__msgpack_well_sized(bytes, bytes_len)) {
        return BILLORD_E_CORRUPT;
    }
    size_t offset = 0;
    msgpack_unpack_return result = msgpack_unpack_next(out, bytes, bytes_len, &offset);
    /* Nesting is within msgpack-c's stack (checked above), so its NOMEM is an allocation. */
    if (result == MSGPACK_UNPACK_NOMEM_ERROR) {
        return BILLORD_E_NOMEM;
    }
    return result == MSGPACK_UNPACK_SUCCESS && offset == bytes_len ? BILLORD_OK : BILLORD_E_CORRUPT;
}
