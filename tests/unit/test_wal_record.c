/*
 * test_wal_record.c: the pure codec of the write-ahead log (src/wal/wal_record.c).
 * Contract: a record round-trips; every cut, every bad length and every flipped
 * byte is rejected with the right class (end of log / truncated / corrupt); a segment
 * image is classified clean, torn or corrupt as docs/wal-format.md section 4 says.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "wal/wal_internal.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define SMALL_PAYLOAD_BYTES 40u
#define IMAGE_BYTES         4096u

static void fill_payload(uint8_t *payload, uint32_t payload_bytes, uint64_t lsn)
{
    for (uint32_t i = 0; i < payload_bytes; i++) {
        payload[i] = (uint8_t)(lsn * 131u + i * 7u + 1u);
    }
}

static uint8_t *encode_new(uint64_t lsn, uint32_t payload_bytes, uint64_t *out_record_bytes)
{
    uint8_t *payload = malloc(payload_bytes);
    cr_assert(payload != NULL);
    fill_payload(payload, payload_bytes, lsn);
    uint64_t record_bytes = billord__wal_record_bytes(payload_bytes);
    uint8_t *record = malloc((size_t)record_bytes);
    cr_assert(record != NULL);
    billord__wal_record_encode(record, lsn, payload, payload_bytes);
    free(payload);
    *out_record_bytes = record_bytes;
    return record;
}

static void round_trip_one(uint32_t payload_bytes)
{
    uint64_t record_bytes = 0;
    uint8_t *record = encode_new(77u, payload_bytes, &record_bytes);
    cr_assert(eq(u64, record_bytes, BILLORD_WAL_RECORD_HEADER_BYTES + (uint64_t)payload_bytes));
    billord__wal_record_view view;
    uint64_t decoded_bytes = 0;
    billord_err err = billord__wal_record_decode(record, (size_t)record_bytes, &view, &decoded_bytes, NULL);
    cr_assert(eq(int, err, BILLORD_OK), "%u bytes: got %s", payload_bytes, billord_err_name(err));
    cr_expect(eq(u64, view.lsn, 77u));
    cr_expect(eq(u32, view.payload_bytes, payload_bytes));
    cr_expect(eq(u64, decoded_bytes, record_bytes));
    cr_expect(view.payload == record + BILLORD_WAL_RECORD_HEADER_BYTES);
    uint8_t *expected = malloc(payload_bytes);
    fill_payload(expected, payload_bytes, 77u);
    cr_expect(memcmp(view.payload, expected, payload_bytes) == 0, "%u bytes", payload_bytes);
    free(expected);
    free(record);
}

/* Table of sizes: the edges around the header size, a page, and the limit. */
Test(wal_record, round_trip, .timeout = 30)
{
    static const uint32_t sizes[] = {1u, 2u, 19u, 20u, 255u, 4096u, 65536u,
                                     BILLORD_WAL_RECORD_BYTES_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        round_trip_one(sizes[i]);
    }
}

Test(wal_record, layout_is_little_endian, .timeout = 5)
{
    uint64_t record_bytes = 0;
    uint8_t *record = encode_new(0x0102030405060708ull, 3u, &record_bytes);
    static const uint8_t header_expected[12] = {3, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
    cr_expect(memcmp(record, header_expected, sizeof header_expected) == 0);
    free(record);
}

Test(wal_record, zero_slot_is_end_of_log, .timeout = 5)
{
    uint8_t zeros[64] = {0};
    for (size_t len = 0; len <= sizeof zeros; len++) {
        billord__wal_record_view view;
        uint64_t record_bytes = 0;
        const char *why = NULL;
        billord_err err = billord__wal_record_decode(zeros, len, &view, &record_bytes, &why);
        cr_expect(eq(int, err, BILLORD_E_NOT_FOUND), "len %zu: %s", len, billord_err_name(err));
        cr_expect(why != NULL);
    }
}

Test(wal_record, every_cut_is_truncated, .timeout = 5)
{
    uint64_t record_bytes = 0;
    uint8_t *record = encode_new(5u, SMALL_PAYLOAD_BYTES, &record_bytes);
    for (size_t len = 1; len < record_bytes; len++) {
        billord__wal_record_view view;
        uint64_t decoded_bytes = 0;
        billord_err err = billord__wal_record_decode(record, len, &view, &decoded_bytes, NULL);
        cr_expect(eq(int, err, BILLORD_E_WAL_TRUNCATED), "cut at %zu: %s", len, billord_err_name(err));
    }
    free(record);
}

Test(wal_record, every_flipped_bit_is_rejected, .timeout = 10)
{
    uint64_t record_bytes = 0;
    uint8_t *record = encode_new(9u, SMALL_PAYLOAD_BYTES, &record_bytes);
    for (size_t byte = 0; byte < record_bytes; byte++) {
        for (uint32_t bit = 0; bit < 8u; bit++) {
            record[byte] ^= (uint8_t)(1u << bit);
            billord__wal_record_view view;
            uint64_t decoded_bytes = 0;
            billord_err err = billord__wal_record_decode(record, (size_t)record_bytes, &view,
                                                         &decoded_bytes, NULL);
            cr_expect(err == BILLORD_E_WAL_CORRUPT || err == BILLORD_E_WAL_TRUNCATED,
                      "byte %zu bit %u: %s", byte, bit, billord_err_name(err));
            record[byte] ^= (uint8_t)(1u << bit);
        }
    }
    free(record);
}

typedef struct header_case {
    uint32_t payload_bytes;
    uint64_t lsn;
    bool fix_checksum;          /* recompute the checksum so only the field is wrong */
    billord_err err_expected;
} header_case;

static const header_case header_cases[] = {
    {0u, 5u, false, BILLORD_E_WAL_CORRUPT},                          /* zero length, not zero slot */
    {BILLORD_WAL_RECORD_BYTES_MAX + 1u, 5u, false, BILLORD_E_WAL_CORRUPT},
    {UINT32_MAX, 5u, false, BILLORD_E_WAL_CORRUPT},
    {SMALL_PAYLOAD_BYTES + 1u, 5u, false, BILLORD_E_WAL_TRUNCATED},  /* runs past the end */
    {SMALL_PAYLOAD_BYTES - 1u, 5u, false, BILLORD_E_WAL_CORRUPT},    /* checksum no longer matches */
    {SMALL_PAYLOAD_BYTES, 6u, false, BILLORD_E_WAL_CORRUPT},         /* renumbered */
    {SMALL_PAYLOAD_BYTES, 0u, true, BILLORD_E_WAL_CORRUPT},          /* LSN 0 never exists */
};

static void bad_header_one(const header_case *c)
{
    uint8_t payload[SMALL_PAYLOAD_BYTES];
    fill_payload(payload, sizeof payload, c->lsn);
    uint8_t record[BILLORD_WAL_RECORD_HEADER_BYTES + SMALL_PAYLOAD_BYTES];
    billord__wal_record_encode(record, 5u, payload, sizeof payload);
    for (uint32_t i = 0; i < 4u; i++) {
        record[i] = (uint8_t)(c->payload_bytes >> (8u * i));
    }
    for (uint32_t i = 0; i < 8u; i++) {
        record[4u + i] = (uint8_t)(c->lsn >> (8u * i));
    }
    if (c->fix_checksum) {
        XXH3_state_t state;
        XXH3_64bits_reset(&state);
        XXH3_64bits_update(&state, record, 12u);
        XXH3_64bits_update(&state, payload, sizeof payload);
        uint64_t checksum = XXH3_64bits_digest(&state);
        for (uint32_t i = 0; i < 8u; i++) {
            record[12u + i] = (uint8_t)(checksum >> (8u * i));
        }
    }
    billord__wal_record_view view;
    uint64_t decoded_bytes = 0;
    billord_err err = billord__wal_record_decode(record, sizeof record, &view, &decoded_bytes, NULL);
    cr_expect(eq(int, err, c->err_expected), "payload_bytes %u lsn %llu: got %s", c->payload_bytes,
              (unsigned long long)c->lsn, billord_err_name(err));
}

Test(wal_record, bad_header_fields, .timeout = 5)
{
    for (size_t i = 0; i < sizeof header_cases / sizeof header_cases[0]; i++) {
        bad_header_one(&header_cases[i]);
    }
}

Test(wal_record, segment_header_round_trip_and_every_flip, .timeout = 5)
{
    uint8_t bytes[BILLORD_WAL_SEGMENT_HEADER_BYTES];
    billord__wal_segment_header header = {.lsn_first = 4097u, .segment_bytes = 65536u};
    billord__wal_segment_header_encode(bytes, &header);
    cr_expect(memcmp(bytes, "BWAL", 4) == 0);
    billord__wal_segment_header decoded;
    cr_assert(eq(int, billord__wal_segment_header_decode(bytes, sizeof bytes, &decoded, NULL),
                 BILLORD_OK));
    cr_expect(eq(u64, decoded.lsn_first, 4097u));
    cr_expect(eq(u64, decoded.segment_bytes, 65536u));
    for (size_t byte = 0; byte < sizeof bytes; byte++) {
        bytes[byte] ^= 0x10u;
        const char *why = NULL;
        cr_expect(eq(int, billord__wal_segment_header_decode(bytes, sizeof bytes, &decoded, &why),
                     BILLORD_E_WAL_CORRUPT), "byte %zu", byte);
        cr_expect(why != NULL);
        bytes[byte] ^= 0x10u;
    }
    cr_expect(eq(int, billord__wal_segment_header_decode(bytes, sizeof bytes - 1u, &decoded, NULL),
                 BILLORD_E_WAL_CORRUPT));
}

/* A segment image: header, then records 1..count of SMALL_PAYLOAD_BYTES, zeroes after. */
static size_t image_build(uint8_t image[IMAGE_BYTES], uint64_t lsn_first, uint32_t count,
                          uint64_t record_offsets[])
{
    memset(image, 0, IMAGE_BYTES);
    billord__wal_segment_header header = {.lsn_first = lsn_first, .segment_bytes = IMAGE_BYTES};
    billord__wal_segment_header_encode(image, &header);
    size_t offset = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t payload[SMALL_PAYLOAD_BYTES];
        fill_payload(payload, sizeof payload, lsn_first + i);
        record_offsets[i] = offset;
        billord__wal_record_encode(image + offset, lsn_first + i, payload, sizeof payload);
        offset += (size_t)billord__wal_record_bytes(sizeof payload);
    }
    return offset;
}

Test(wal_record, segment_check_clean, .timeout = 5)
{
    uint8_t image[IMAGE_BYTES];
    uint64_t offsets[10];
    size_t end = image_build(image, 7u, 10u, offsets);
    billord__wal_segment_scan scan;
    cr_assert(eq(int, billord__wal_segment_check(image, sizeof image, &scan), BILLORD_OK));
    cr_expect(eq(u64, scan.record_count, 10u));
    cr_expect(eq(u64, scan.lsn_next, 17u));
    cr_expect(eq(u64, scan.end_offset_bytes, end));
    /* A file cut exactly after a record is clean too (the rest reads as zeroes). */
    cr_expect(eq(int, billord__wal_segment_check(image, end, &scan), BILLORD_OK));
    cr_expect(eq(int, billord__wal_segment_check(image, offsets[4], &scan), BILLORD_OK));
    cr_expect(eq(u64, scan.record_count, 4u));
}

Test(wal_record, segment_check_torn_tail, .timeout = 5)
{
    uint8_t image[IMAGE_BYTES];
    uint64_t offsets[10];
    image_build(image, 1u, 10u, offsets);
    image[offsets[9] + 25u] ^= 0xffu;      /* damage the last record's payload */
    billord__wal_segment_scan scan;
    cr_assert(eq(int, billord__wal_segment_check(image, sizeof image, &scan), BILLORD_E_WAL_TRUNCATED));
    cr_expect(eq(u64, scan.record_count, 9u));
    cr_expect(eq(u64, scan.end_offset_bytes, offsets[9]));
    cr_expect(eq(u64, scan.problem_offset_bytes, offsets[9]));
    cr_expect(eq(u64, scan.dirty_end_bytes, offsets[9] + BILLORD_WAL_RECORD_HEADER_BYTES + SMALL_PAYLOAD_BYTES));
}

Test(wal_record, segment_check_valid_record_after_bad_is_corrupt, .timeout = 5)
{
    uint8_t image[IMAGE_BYTES];
    uint64_t offsets[10];
    image_build(image, 1u, 10u, offsets);
    image[offsets[4] + 2u] ^= 0x01u;       /* length field of record 5 */
    billord__wal_segment_scan scan;
    cr_assert(eq(int, billord__wal_segment_check(image, sizeof image, &scan), BILLORD_E_WAL_CORRUPT));
    cr_expect(eq(u64, scan.problem_offset_bytes, offsets[4]));
    cr_expect(strstr(scan.why, "valid record") != NULL, "%s", scan.why);
}

Test(wal_record, segment_check_lsn_gap_is_corrupt, .timeout = 5)
{
    uint8_t image[IMAGE_BYTES];
    uint64_t offsets[10];
    image_build(image, 1u, 3u, offsets);
    uint8_t payload[SMALL_PAYLOAD_BYTES];
    fill_payload(payload, sizeof payload, 9u);
    size_t end = (size_t)(offsets[2] + billord__wal_record_bytes(SMALL_PAYLOAD_BYTES));
    billord__wal_record_encode(image + end, 9u, payload, sizeof payload);
    billord__wal_segment_scan scan;
    cr_assert(eq(int, billord__wal_segment_check(image, sizeof image, &scan), BILLORD_E_WAL_CORRUPT));
    cr_expect(eq(u64, scan.problem_offset_bytes, end));
    cr_expect(strstr(scan.why, "LSN gap") != NULL, "%s", scan.why);
}

Test(wal_record, segment_check_longer_than_header_says_is_corrupt, .timeout = 5)
{
    uint8_t image[IMAGE_BYTES + 8u];
    uint64_t offsets[1];
    image_build(image, 1u, 1u, offsets);
    memset(image + IMAGE_BYTES, 0, 8u);
    billord__wal_segment_scan scan;
    cr_expect(eq(int, billord__wal_segment_check(image, sizeof image, &scan), BILLORD_E_WAL_CORRUPT));
}

Test(wal_record, segment_names, .timeout = 5)
{
    char name[BILLORD_WAL_SEGMENT_NAME_BYTES];
    billord__wal_segment_name(4097u, name);
    cr_expect(eq(str, name, "00000000000000004097.seg"));
    uint64_t lsn = 0;
    cr_expect(billord__wal_segment_name_parse(name, &lsn));
    cr_expect(eq(u64, lsn, 4097u));
    billord__wal_segment_name(UINT64_MAX, name);
    cr_expect(billord__wal_segment_name_parse(name, &lsn));
    cr_expect(eq(u64, lsn, UINT64_MAX));
    static const char *bad[] = {"prepared.tmp", "0000000000000000409.seg", "00000000000000004097.se",
                                "0000000000000000409x.seg", "00000000000000000000.seg",
                                "99999999999999999999.seg", "00000000000000004097.segx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect(billord__wal_segment_name_parse(bad[i], &lsn) == false, "%s", bad[i]);
    }
}
