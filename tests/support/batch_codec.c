/* batch_codec.c: a batch payload encoded and decoded back (batch_codec.h). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "support/batch_codec.h"

void batch_codec_round_trip(const billord_command *commands, size_t count,
                            msgpack_sbuffer *buffer, billord_wal_batch *batch)
{
    msgpack_sbuffer_init(buffer);
    cr_assert(eq(int, billord_wal_batch_encode(buffer, commands, count), BILLORD_OK));
    cr_assert(eq(int, billord_wal_batch_decode((const uint8_t *)buffer->data, buffer->size, batch),
                 BILLORD_OK));
    cr_assert(eq(sz, batch->count, count));
}
