/*
 * fingerprint.c: the canonical encoding of a command's business parameters and its
 * XXH3-128 fingerprint (docs/fingerprint.md).
 */
#include <stdbool.h>
#include <string.h>

#include <xxhash.h>

#include "core/assert.h"
#include "core/fingerprint.h"

void billord__canonical_add(billord_canonical *canonical, const char *name, const char *value)
{
    BILLORD_ASSERT(canonical->pair_count < BILLORD_CANONICAL_PAIRS_MAX);
    BILLORD_ASSERT(name != NULL && value != NULL);
    canonical->names[canonical->pair_count] = name;
    canonical->values[canonical->pair_count] = value;
    canonical->pair_count++;
}

static void put_le(uint8_t *out, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        out[i] = (uint8_t)(value >> (8 * i));
    }
}

static uint64_t get_le(const uint8_t *in, unsigned bytes)
{
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes; i++) {
        value |= (uint64_t)in[i] << (8 * i);
    }
    return value;
}

billord_err billord__canonical_encode(const billord_canonical *canonical, uint8_t *out,
                                      size_t out_capacity, size_t *out_bytes)
{
    size_t used = 6;
    if (out_capacity < used) {
        return BILLORD_E_TOO_LARGE;
    }
    memcpy(out, BILLORD_CANONICAL_MAGIC, 4);
    out[4] = BILLORD_CANONICAL_VERSION;
    out[5] = (uint8_t)canonical->pair_count;
    for (uint32_t i = 0; i < canonical->pair_count; i++) {
        size_t name_bytes = strlen(canonical->names[i]);
        size_t value_bytes = strlen(canonical->values[i]);
        if (name_bytes > BILLORD_PARAM_NAME_BYTES_MAX ||
            value_bytes > BILLORD_PARAM_VALUE_BYTES_MAX ||
            out_capacity - used < 6 + name_bytes + value_bytes) {
            return BILLORD_E_TOO_LARGE;
        }
        put_le(out + used, name_bytes, 2);
        memcpy(out + used + 2, canonical->names[i], name_bytes);
        used += 2 + name_bytes;
        put_le(out + used, value_bytes, 4);
        memcpy(out + used + 4, canonical->values[i], value_bytes);
        used += 4 + value_bytes;
    }
    *out_bytes = used;
    return BILLORD_OK;
}

void billord__fingerprint(const uint8_t *bytes, size_t bytes_len, uint8_t out[16])
{
    XXH128_hash_t hash = XXH3_128bits(bytes, bytes_len);
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    memcpy(out, canonical.digest, 16);
}

typedef struct pair_cursor {
    const uint8_t *bytes;
    size_t bytes_len;
    size_t offset;
    uint32_t remaining;
} pair_cursor;

static billord_err cursor_open(pair_cursor *cursor, const uint8_t *bytes, size_t bytes_len)
{
    if (bytes_len < 6 || memcmp(bytes, BILLORD_CANONICAL_MAGIC, 4) != 0 ||
        bytes[4] != BILLORD_CANONICAL_VERSION) {
        return BILLORD_E_CORRUPT;
    }
    cursor->bytes = bytes;
    cursor->bytes_len = bytes_len;
    cursor->offset = 6;
    cursor->remaining = bytes[5];
    return BILLORD_OK;
}

/* Next pair as (pointer, length) views; false at the end or on a bad length. */
static bool cursor_next(pair_cursor *cursor, const uint8_t **name, size_t *name_bytes,
                        const uint8_t **value, size_t *value_bytes, bool *corrupt)
{
    if (cursor->remaining == 0) {
        *corrupt = cursor->offset != cursor->bytes_len;
        return false;
    }
    size_t left = cursor->bytes_len - cursor->offset;
    const uint8_t *at = cursor->bytes + cursor->offset;
    if (left < 2 || (*name_bytes = get_le(at, 2)) > left - 2 || left - 2 - *name_bytes < 4) {
        *corrupt = true;
        return false;
    }
    *name = at + 2;
    at += 2 + *name_bytes;
    left -= 2 + *name_bytes;
    *value_bytes = get_le(at, 4);
    if (*value_bytes > left - 4) {
        *corrupt = true;
        return false;
    }
    *value = at + 4;
    cursor->offset += 2 + *name_bytes + 4 + *value_bytes;
    cursor->remaining--;
    return true;
}

static void copy_name(const uint8_t *name, size_t name_bytes, char *out, size_t out_bytes)
{
    size_t copy_bytes = name_bytes < out_bytes - 1 ? name_bytes : out_bytes - 1;
    memcpy(out, name, copy_bytes);
    out[copy_bytes] = '\0';
}

billord_err billord__canonical_first_difference(const uint8_t *left, size_t left_bytes,
                                                const uint8_t *right, size_t right_bytes,
                                                char *out_name, size_t out_name_bytes)
{
    BILLORD_ASSERT(out_name_bytes > 0);
    pair_cursor a;
    pair_cursor b;
    if (cursor_open(&a, left, left_bytes) != BILLORD_OK ||
        cursor_open(&b, right, right_bytes) != BILLORD_OK) {
        return BILLORD_E_CORRUPT;
    }
    for (uint32_t step = 0; step <= BILLORD_CANONICAL_PAIRS_MAX + 255u; step++) {
        const uint8_t *name_a = NULL, *value_a = NULL, *name_b = NULL, *value_b = NULL;
        size_t name_a_bytes = 0, value_a_bytes = 0, name_b_bytes = 0, value_b_bytes = 0;
        bool corrupt_a = false;
        bool corrupt_b = false;
        bool has_a = cursor_next(&a, &name_a, &name_a_bytes, &value_a, &value_a_bytes, &corrupt_a);
        bool has_b = cursor_next(&b, &name_b, &name_b_bytes, &value_b, &value_b_bytes, &corrupt_b);
        if (corrupt_a || corrupt_b) {
            return BILLORD_E_CORRUPT;
        }
        if (!has_a && !has_b) {
            return BILLORD_E_NOT_FOUND;
        }
        if (!has_a || !has_b) {
            copy_name(has_a ? name_a : name_b, has_a ? name_a_bytes : name_b_bytes, out_name,
                      out_name_bytes);
            return BILLORD_OK;
        }
        if (name_a_bytes != name_b_bytes || memcmp(name_a, name_b, name_a_bytes) != 0 ||
            value_a_bytes != value_b_bytes || memcmp(value_a, value_b, value_a_bytes) != 0) {
            copy_name(name_b, name_b_bytes, out_name, out_name_bytes);
            return BILLORD_OK;
        }
    }
    return BILLORD_E_CORRUPT;
}
