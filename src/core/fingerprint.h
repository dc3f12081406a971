/*
 * fingerprint.h: canonical parameters and their XXH3-128 fingerprint
 * (docs/fingerprint.md). Pure.
 */
#ifndef BILLORD_CORE_FINGERPRINT_H
#define BILLORD_CORE_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/limits.h>

#define BILLORD_CANONICAL_PAIRS_MAX 16u
#define BILLORD_CANONICAL_MAGIC "BLFP"
#define BILLORD_CANONICAL_VERSION 1u

typedef struct billord_canonical {
    uint32_t pair_count;
    const char *names[BILLORD_CANONICAL_PAIRS_MAX];
    const char *values[BILLORD_CANONICAL_PAIRS_MAX];   /* borrowed; outlive the struct's use */
} billord_canonical;

/** Append one pair (asserts capacity: the pair lists are fixed per action). */
void billord__canonical_add(billord_canonical *canonical, const char *name, const char *value);

/**
 * Encode to bytes (layout in docs/fingerprint.md).
 * @return BILLORD_OK, or BILLORD_E_TOO_LARGE when out_capacity is too small.
 */
billord_err billord__canonical_encode(const billord_canonical *canonical, uint8_t *out,
                                      size_t out_capacity, size_t *out_bytes);

/** XXH3-128 of bytes in canonical (big-endian) form. */
void billord__fingerprint(const uint8_t *bytes, size_t bytes_len, uint8_t out[16]);

/**
 * Name the first differing pair of two encodings (docs/fingerprint.md), into
 * out_name (capacity out_name_bytes). Returns BILLORD_E_CORRUPT when either does not decode,
 * BILLORD_E_NOT_FOUND when they do not differ.
 */
billord_err billord__canonical_first_difference(const uint8_t *left, size_t left_bytes,
                                                const uint8_t *right, size_t right_bytes,
                                                char *out_name, size_t out_name_bytes);

#endif
