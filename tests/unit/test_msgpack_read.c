/*
 * test_msgpack_read.c: the bounded msgpack reader every store record, log batch and
 * verified value goes through (src/core/msgpack_read.h). Whatever msgpack-c packs is
 * accepted and unpacks to the same value; a header that declares more than its bytes can
 * hold is refused before msgpack-c allocates for it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <msgpack.h>

#include "core/msgpack_read.h"
#include "support/faulty_alloc.h"

TestSuite(msgpack_read, .timeout = 60);

static bool accepted(const uint8_t *bytes, size_t bytes_len)
{
    return billord__msgpack_well_sized(bytes, bytes_len);
}

/* The 5-byte value that made msgpack-c reserve 2^32 - 1 x 24 bytes: refused at once. */
Test(msgpack_read, a_huge_array_count_in_a_short_value_is_refused)
{
    static const uint8_t array32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00};
    static const uint8_t array16[] = {0xdc, 0x00, 0x03, 0x01, 0x02};
    cr_assert(not(accepted(array32, sizeof array32)));
    cr_assert(not(accepted(map32, sizeof map32)));
    cr_assert(not(accepted(array16, sizeof array16)));
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    cr_assert(eq(int, billord__msgpack_unpack_one(&unpacked, array32, sizeof array32),
                 BILLORD_E_CORRUPT));
    msgpack_unpacked_destroy(&unpacked);
}

Test(msgpack_read, declared_lengths_must_fit)
{
    static const uint8_t str8[] = {0xd9, 0x05, 'a', 'b', 'c', 'd'};
    static const uint8_t bin16[] = {0xc5, 0x00, 0x02, 0x01};
    static const uint8_t ext8[] = {0xc7, 0x02, 0x01, 0xaa};      /* length 2 + type byte */
    static const uint8_t fixstr[] = {0xa3, 'a', 'b'};
    static const uint8_t uint64[] = {0xcf, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t fixext16[] = {0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t str32_header[] = {0xdb, 0x00, 0x00};
    cr_assert(not(accepted(str8, sizeof str8)));
    cr_assert(not(accepted(bin16, sizeof bin16)));
    cr_assert(not(accepted(ext8, sizeof ext8)));
    cr_assert(not(accepted(fixstr, sizeof fixstr)));
    cr_assert(not(accepted(uint64, sizeof uint64)));
    cr_assert(not(accepted(fixext16, sizeof fixext16)));
    cr_assert(not(accepted(str32_header, sizeof str32_header)));
    cr_assert(accepted(str8, 2) == false);
    static const uint8_t ext8_whole[] = {0xc7, 0x02, 0x01, 0xaa, 0xbb};
    cr_assert(accepted(ext8_whole, sizeof ext8_whole));
}

Test(msgpack_read, exactly_one_value_fills_the_range)
{
    static const uint8_t two_values[] = {0x01, 0x02};
    static const uint8_t never_used[] = {0xc1};
    static const uint8_t nested_short[] = {0x92, 0x91, 0x01};    /* [[1], <missing>] */
    cr_assert(not(accepted(two_values, sizeof two_values)));
    cr_assert(not(accepted(never_used, sizeof never_used)));
    cr_assert(not(accepted(nested_short, sizeof nested_short)));
    cr_assert(not(accepted(two_values, 0)));
    cr_assert(accepted(two_values, 1));
    static const uint8_t nested[] = {0x92, 0x91, 0x01, 0x80};   /* [[1], {}] */
    cr_assert(accepted(nested, sizeof nested));
}

Test(msgpack_read, nesting_is_bounded)
{
    uint8_t bytes[BILLORD_MSGPACK_DEPTH_MAX + 2];
    memset(bytes, 0x91, sizeof bytes);                 /* [[[...[nil]...]]] */
    bytes[BILLORD_MSGPACK_DEPTH_MAX] = 0xc0;
    cr_assert(accepted(bytes, BILLORD_MSGPACK_DEPTH_MAX + 1));
    bytes[BILLORD_MSGPACK_DEPTH_MAX] = 0x91;
    bytes[BILLORD_MSGPACK_DEPTH_MAX + 1] = 0xc0;
    cr_assert(not(accepted(bytes, BILLORD_MSGPACK_DEPTH_MAX + 2)));
    /* An empty container counts as a level too, as msgpack-c counts it. */
    bytes[BILLORD_MSGPACK_DEPTH_MAX] = 0x90;
    cr_assert(not(accepted(bytes, BILLORD_MSGPACK_DEPTH_MAX + 1)));
    bytes[BILLORD_MSGPACK_DEPTH_MAX - 1] = 0x80;
    cr_assert(accepted(bytes, BILLORD_MSGPACK_DEPTH_MAX));
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    cr_assert(eq(int, billord__msgpack_unpack_one(&unpacked, bytes, BILLORD_MSGPACK_DEPTH_MAX),
                 BILLORD_OK));
    msgpack_unpacked_destroy(&unpacked);
}

/* A deterministic generator of msgpack values of every type. */
static uint64_t rng_state;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void pack_random(msgpack_packer *packer, unsigned depth)
{
    static const uint8_t blob[70000];
    static const size_t lengths[] = {0, 1, 15, 31, 32, 255, 256, 65535, 65536};
    size_t length = lengths[next_random() % (sizeof lengths / sizeof lengths[0])];
    switch (next_random() % (depth < 4 ? 12u : 10u)) {
    case 0: msgpack_pack_nil(packer); break;
    case 1: next_random() % 2 ? msgpack_pack_true(packer) : msgpack_pack_false(packer); break;
    case 2: msgpack_pack_uint64(packer, next_random() >> (next_random() % 64)); break;
    case 3: msgpack_pack_int64(packer, -(int64_t)(next_random() >> (1 + next_random() % 63))); break;
    case 4: msgpack_pack_float(packer, 1.5f); break;
    case 5: msgpack_pack_double(packer, -2.25); break;
    case 6: msgpack_pack_str_with_body(packer, (const char *)blob, length); break;
    case 7: msgpack_pack_bin_with_body(packer, blob, length); break;
    case 8: {
        static const size_t ext_lengths[] = {1, 2, 4, 8, 16, 0, 3, 300, 70000};
        size_t ext_length = ext_lengths[next_random() % 9];
        msgpack_pack_ext_with_body(packer, blob, ext_length, 7);
        break;
    }
    case 9: msgpack_pack_uint8(packer, (uint8_t)next_random()); break;
    case 10: {
        size_t count = next_random() % 3 == 0 ? 17u + next_random() % 20 : next_random() % 5;
        msgpack_pack_array(packer, count);
        for (size_t i = 0; i < count; i++) {
            pack_random(packer, depth + 1);
        }
        break;
    }
    default: {
        size_t count = next_random() % 3 == 0 ? 17u + next_random() % 5 : next_random() % 4;
        msgpack_pack_map(packer, count);
        for (size_t i = 0; i < 2 * count; i++) {
            pack_random(packer, depth + 1);
        }
        break;
    }
    }
}

/* Whatever msgpack-c packs is accepted, unpacks to the same value, and any proper prefix
 * of it is refused. */
Test(msgpack_read, every_packed_value_is_accepted_and_every_prefix_refused)
{
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 400; round++) {
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init(&buffer);
        msgpack_packer packer;
        msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
        pack_random(&packer, 0);
        const uint8_t *bytes = (const uint8_t *)buffer.data;
        cr_assert(accepted(bytes, buffer.size), "round %d: %zu bytes refused", round, buffer.size);
        msgpack_unpacked ours;
        msgpack_unpacked_init(&ours);
        cr_assert(eq(int, billord__msgpack_unpack_one(&ours, bytes, buffer.size), BILLORD_OK));
        msgpack_unpacked theirs;
        msgpack_unpacked_init(&theirs);
        size_t offset = 0;
        cr_assert(eq(int, msgpack_unpack_next(&theirs, buffer.data, buffer.size, &offset),
                     MSGPACK_UNPACK_SUCCESS));
        cr_assert(msgpack_object_equal(ours.data, theirs.data));
        msgpack_unpacked_destroy(&ours);
        msgpack_unpacked_destroy(&theirs);
        size_t step = buffer.size / 50 + 1;
        for (size_t prefix = 0; prefix < buffer.size; prefix += step) {
            cr_assert(not(accepted(bytes, prefix)), "round %d: prefix %zu accepted", round,
                      prefix);
        }
        msgpack_sbuffer_destroy(&buffer);
    }
}

/* msgpack-c failing to allocate is told apart from a bad value. */
Test(msgpack_read, an_allocation_failure_is_not_a_corrupt_value)
{
    if (!faulty_alloc_supported()) {
        cr_skip("allocation faults need a build without sanitizers");
    }
    static const uint8_t record[] = {0x93, 0x01, 0xa3, 'a', 'b', 'c', 0xc0};
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    faulty_alloc_fail_at(1, true, false);
    billord_err err = billord__msgpack_unpack_one(&unpacked, record, sizeof record);
    uint64_t failures = faulty_alloc_failures();
    faulty_alloc_reset();
    cr_assert(eq(int, err, BILLORD_E_NOMEM));
    cr_assert(failures >= 1u);
    cr_assert(eq(int, billord__msgpack_unpack_one(&unpacked, record, sizeof record), BILLORD_OK));
    cr_assert(eq(u32, unpacked.data.via.array.size, 3));
    msgpack_unpacked_destroy(&unpacked);
}
