/*
 * fuzz_msgpack_read: the bounded msgpack reader every decoder goes through
 * (src/core/msgpack_read.h), checked against msgpack-c itself.
 *
 * Properties, for any input:
 *  - accepted by billord__msgpack_well_sized => msgpack-c unpacks exactly one value that
 *    fills the input (the check never lets through what msgpack-c would refuse for
 *    length reasons), and re-packing that value gives a value that is accepted too;
 *  - msgpack-c unpacks one value filling the input, nested no deeper than
 *    BILLORD_MSGPACK_DEPTH_MAX => accepted (the check refuses nothing valid);
 *  - billord__msgpack_unpack_one agrees with billord__msgpack_well_sized.
 * msgpack-c is only called on accepted inputs or inputs shorter than 64 KiB, so the
 * huge-header inputs the check exists for never reach its allocator.
 */
#include <stdbool.h>

#include <msgpack.h>

#include "core/msgpack_read.h"
#include "fuzz_common.h"

static unsigned depth_of(const msgpack_object *object)
{
    unsigned deepest = 0;
    if (object->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < object->via.array.size; i++) {
            unsigned depth = depth_of(&object->via.array.ptr[i]);
            deepest = depth > deepest ? depth : deepest;
        }
        return deepest + 1;
    }
    if (object->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < object->via.map.size; i++) {
            unsigned key_depth = depth_of(&object->via.map.ptr[i].key);
            unsigned value_depth = depth_of(&object->via.map.ptr[i].val);
            deepest = key_depth > deepest ? key_depth : deepest;
            deepest = value_depth > deepest ? value_depth : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool accepted = billord__msgpack_well_sized(data, size);
    msgpack_unpacked ours;
    msgpack_unpacked_init(&ours);
    BILLORD_ASSERT((billord__msgpack_unpack_one(&ours, data, size) == BILLORD_OK) == accepted);
    msgpack_unpacked_destroy(&ours);
    /* A header may declare up to 2^32 elements: msgpack-c only sees small or accepted
     * inputs here, whose allocations stay within 24 bytes per input byte. */
    if (!accepted && size > 4096) {
        return 0;
    }
    msgpack_unpacked theirs;
    msgpack_unpacked_init(&theirs);
    size_t offset = 0;
    msgpack_unpack_return result = msgpack_unpack_next(&theirs, (const char *)data, size, &offset);
    bool theirs_whole = result == MSGPACK_UNPACK_SUCCESS && offset == size;
    if (accepted) {
        BILLORD_ASSERT(theirs_whole);
    }
    if (theirs_whole && depth_of(&theirs.data) <= BILLORD_MSGPACK_DEPTH_MAX) {
        BILLORD_ASSERT(accepted);
    }
    if (theirs_whole) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init(&buffer);
        msgpack_packer packer;
        msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
        BILLORD_ASSERT(msgpack_pack_object(&packer, theirs.data) == 0);
        BILLORD_ASSERT(billord__msgpack_well_sized(buffer.data, buffer.size) == accepted);
        msgpack_sbuffer_destroy(&buffer);
    }
    msgpack_unpacked_destroy(&theirs);
    return 0;
}
