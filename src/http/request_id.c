/*
 * request_id.c: RequestId, an uppercase UUID version 4 (SPEC section 2).
 *
 * The random bytes come from the caller, so this stays a pure function and a
 * replay can reproduce the ids it recorded.
 */
#include <string.h>

#include "core/assert.h"
#include <billord/http_params.h>

void billord_request_id_format(const uint8_t random_bytes[BILLORD_REQUEST_ID_RANDOM_BYTES],
                               char out[BILLORD_REQUEST_ID_BYTES + 1u])
{
    static const char hex_upper[] = "0123456789ABCDEF";
    BILLORD_ASSERT(random_bytes != NULL);
    BILLORD_ASSERT(out != NULL);
    uint8_t bytes[BILLORD_REQUEST_ID_RANDOM_BYTES];
    memcpy(bytes, random_bytes, sizeof bytes);
    bytes[6] = (uint8_t)((bytes[6] & 0x0Fu) | 0x40u);   /* version 4 */
    bytes[8] = (uint8_t)((bytes[8] & 0x3Fu) | 0x80u);   /* RFC 4122 variant */
    size_t written = 0;
    for (size_t i = 0; i < sizeof bytes; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[written++] = '-';
        }
        out[written++] = hex_upper[bytes[i] >> 4];
        out[written++] = hex_upper[bytes[i] & 0x0Fu];
    }
    BILLORD_ASSERT(written == BILLORD_REQUEST_ID_BYTES);
    out[written] = '\0';
}
