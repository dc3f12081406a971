/*
 * batch_codec.h: a log record's batch payload (billord/wal_batch.h, docs/wal-payload.md)
 * encoded and decoded back, for the suites that check the payload format.
 */
#ifndef BILLORD_TESTS_BATCH_CODEC_H
#define BILLORD_TESTS_BATCH_CODEC_H

#include <stddef.h>

#include <billord/wal_batch.h>

/** Encode count commands into *buffer (initialised here; the caller destroys it) and decode
 *  the payload back into *batch (the caller frees it); asserts that both succeed and that
 *  the batch holds count commands. */
void batch_codec_round_trip(const billord_command *commands, size_t count,
                            msgpack_sbuffer *buffer, billord_wal_batch *batch);

#endif
