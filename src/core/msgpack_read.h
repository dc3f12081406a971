/*
 * msgpack_read.h: decode exactly one msgpack value from a byte range, refusing, before
 * msgpack-c allocates anything, a value whose declared sizes cannot fit in the range.
 *
 * msgpack-c reserves count x sizeof(msgpack_object) bytes for an array or map header
 * before it reads the elements, so a 5-byte corrupt header (0xdd + a 32-bit count) would
 * ask for about 100 GB. Every element takes at least one byte, so a value is accepted
 * here only when, at each array and map header, the elements still owed fit in the bytes
 * left; strings, binaries and extensions must fit too. That bounds msgpack-c's
 * allocation by 24 x the input length. Internal to the library.
 */
#ifndef BILLORD_CORE_MSGPACK_READ_H
#define BILLORD_CORE_MSGPACK_READ_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include <billord/error.h>

/** Nesting depth beyond which a value is refused (billord's records nest 3 deep). */
#define BILLORD_MSGPACK_DEPTH_MAX 32u

/**
 * True when bytes[0, bytes_len) is exactly one well-formed msgpack value whose every
 * declared size fits in the bytes that follow its header. Never allocates.
 */
bool billord__msgpack_well_sized(const void *bytes, size_t bytes_len);

/**
 * Unpack exactly one value filling bytes[0, bytes_len) into out (initialised by the
 * caller with msgpack_unpacked_init, destroyed by the caller with msgpack_unpacked_destroy,
 * whatever the result).
 * @return BILLORD_OK; BILLORD_E_CORRUPT (billord__msgpack_well_sized refuses it, checked
 *         before anything is unpacked, or msgpack-c refuses it); BILLORD_E_NOMEM (msgpack-c
 *         could not allocate for a well-sized value).
 */
billord_err billord__msgpack_unpack_one(msgpack_unpacked *out, const void *bytes, size_t bytes_len);

#endif
