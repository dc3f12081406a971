/*
 * percent.c: enc() of SDK-WIRE and the decoding of query and form text.
 *
 * Promise: encoding is the one both signatures use (unreserved bytes literal,
 * everything else %XX uppercase); decoding accepts what Node's querystring and
 * browsers send ("+" is a space) and rejects any "%" without two hex digits
 * rather than guessing, because two servers that guess differently would
 * disagree on what a signature covers.
 */
#include <string.h>

#include "core/assert.h"
#include "http/http_internal.h"

static const char hex_upper[] = "0123456789ABCDEF";

bool billord__percent_is_unreserved(uint8_t byte)
{
    if (byte >= 'A' && byte <= 'Z') {
        return true;
    }
    if (byte >= 'a' && byte <= 'z') {
        return true;
    }
    if (byte >= '0' && byte <= '9') {
        return true;
    }
    return byte == '-' || byte == '_' || byte == '.' || byte == '~';
}

size_t billord_percent_encoded_bytes(const void *in, size_t in_bytes)
{
    BILLORD_ASSERT(in != NULL || in_bytes == 0);
    const uint8_t *bytes = in;
    size_t encoded_bytes = 0;
    for (size_t i = 0; i < in_bytes; i++) {
        encoded_bytes += billord__percent_is_unreserved(bytes[i]) ? 1u : 3u;
    }
    return encoded_bytes;
}

billord_err billord_percent_encode(const void *in, size_t in_bytes, char *out,
                                   size_t out_capacity, size_t *out_bytes)
{
    BILLORD_ASSERT(in != NULL || in_bytes == 0);
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(out_bytes != NULL);
    size_t const encoded_bytes = billord_percent_encoded_bytes(in, in_bytes);
    if (encoded_bytes >= out_capacity) {
        return BILLORD_E_TOO_LARGE;
    }
    const uint8_t *bytes = in;
    size_t written = 0;
    for (size_t i = 0; i < in_bytes; i++) {
        if (billord__percent_is_unreserved(bytes[i])) {
            out[written++] = (char)bytes[i];
        } else {
            out[written++] = '%';
            out[written++] = hex_upper[bytes[i] >> 4];
            out[written++] = hex_upper[bytes[i] & 0x0Fu];
        }
    }
    BILLORD_ASSERT(written == encoded_bytes);
    out[written] = '\0';
    *out_bytes = written;
    return BILLORD_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

billord_err billord_percent_decode(const char *in, size_t in_bytes, char *out,
                                   size_t out_capacity, size_t *out_bytes)
{
    BILLORD_ASSERT(in != NULL || in_bytes == 0);
    BILLORD_ASSERT(out != NULL || out_capacity == 0);
    BILLORD_ASSERT(out_bytes != NULL);
    size_t written = 0;
    size_t i = 0;
    while (i < in_bytes) {   /* i grows by 1 or 3 each turn */
        char decoded = in[i];
        if (in[i] == '%') {
            if (in_bytes - i < 3) {
                return BILLORD_E_INVALID_ARGUMENT;
            }
            int const high = hex_value(in[i + 1]);
            int const low = hex_value(in[i + 2]);
            if (high < 0 || low < 0) {
                return BILLORD_E_INVALID_ARGUMENT;
            }
            decoded = (char)(unsigned char)(high * 16 + low);
            i += 3;
        } else {
            if (in[i] == '+') {
                decoded = ' ';
            }
            i += 1;
        }
        if (written == out_capacity) {
            return BILLORD_E_TOO_LARGE;
        }
        out[written++] = decoded;
    }
    *out_bytes = written;
    return BILLORD_OK;
}

void billord__hex_lower(const uint8_t *bytes, size_t bytes_len, char *out)
{
    static const char hex_lower[] = "0123456789abcdef";
    for (size_t i = 0; i < bytes_len; i++) {
        out[2 * i] = hex_lower[bytes[i] >> 4];
        out[2 * i + 1] = hex_lower[bytes[i] & 0x0Fu];
    }
}
