/*
 * billord/wal_batch.h: the payload of a log record, one batch of commands
 * (docs/wal-payload.md). Pure encode and decode, used by the writer, recovery, replay
 * and the log tools.
 */
#ifndef BILLORD_WAL_BATCH_H
#define BILLORD_WAL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include <billord/engine.h>

#define BILLORD_WAL_BATCH_VERSION 1u

/**
 * Encode count commands into buffer (cleared first).
 * @return BILLORD_OK, BILLORD_E_INVALID_ARGUMENT (a command breaks a limit).
 */
billord_err billord_wal_batch_encode(msgpack_sbuffer *buffer, const billord_command *commands,
                                     size_t count);

/** A decoded batch: commands whose strings live in the batch's own arena. */
typedef struct billord_wal_batch {
    size_t count;
    billord_command *commands;
    billord_param *params;          /* all commands' params, back to back */
    char *arena;                    /* the NUL-terminated strings */
} billord_wal_batch;

/**
 * Decode a payload. On BILLORD_OK release with billord_wal_batch_free(); on failure
 * *out_batch is zeroed (free is still allowed).
 * @return BILLORD_OK, BILLORD_E_CORRUPT, BILLORD_E_NOMEM.
 */
billord_err billord_wal_batch_decode(const uint8_t *payload, size_t payload_bytes,
                                     billord_wal_batch *out_batch);

void billord_wal_batch_free(billord_wal_batch *batch);

#endif
