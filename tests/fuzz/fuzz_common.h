/*
 * fuzz_common.h: what every libFuzzer driver in tests/fuzz/ shares.
 *
 * A driver is one pure function of the input bytes (LLVMFuzzerTestOneInput). A broken
 * property is reported with BILLORD_ASSERT, which aborts: libFuzzer records that as a
 * crash and saves the input (tests/fuzz/README.md).
 */
#ifndef BILLORD_FUZZ_COMMON_H
#define BILLORD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A cursor that splits one fuzz input into several fields. */
typedef struct fuzz_input {
    const uint8_t *data;
    size_t size;
} fuzz_input;

/* The next byte, or 0 once the input is used up. */
static inline uint8_t fuzz_byte(fuzz_input *in)
{
    if (in->size == 0) {
        return 0;
    }
    uint8_t const b = in->data[0];
    in->data++;
    in->size--;
    return b;
}

/*
 * The next field: bytes up to a 0xFF separator (not included) or the end. 0xFF never
 * occurs in text the decoders accept, so a seed is its fields joined by 0xFF.
 */
static inline void fuzz_field(fuzz_input *in, const uint8_t **out, size_t *out_size)
{
    const uint8_t *const end = memchr(in->data, 0xFF, in->size);
    size_t const n = end ? (size_t)(end - in->data) : in->size;
    *out = in->data;
    *out_size = n;
    in->data += n;
    in->size -= n;
    if (in->size > 0) {  /* skip the separator */
        in->data++;
        in->size--;
    }
}

#endif
