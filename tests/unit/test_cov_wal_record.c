/*
 * test_cov_wal_record.c: the refusals of the log's record and segment-header decoder
 * (src/wal/wal_record.c) that test_wal_record does not reach, one per check, so every
 * branch of the decoder runs (scripts/coverage.sh). Headers are built with valid
 * checksums, so each test reaches the one check it is about.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#define XXH_STATIC_LINKING_ONLY   /* XXH3_state_t */
#include <xxhash.h>

#include "wal/wal_internal.h"

#define HEADER_CHECKSUM_OFFSET 56u

static void put_le(uint8_t *out, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        out[i] = (uint8_t)(value >> (8u * i));
    }
}

/* A valid header, then one field changed and the checksum made right again. */
static void header_with(uint8_t out[BILLORD_WAL_SEGMENT_HEADER_BYTES], unsigned offset,
                        uint64_t value, unsigned bytes)
{
    billord__wal_segment_header header = {1, BILLORD_WAL_SEGMENT_BYTES_MIN};
    billord__wal_segment_header_encode(out, &header);
    put_le(out + offset, value, bytes);
    put_le(out + HEADER_CHECKSUM_OFFSET, XXH3_64bits(out, HEADER_CHECKSUM_OFFSET), 8);
}

static const char *header_refusal(unsigned offset, uint64_t value, unsigned bytes)
{
    uint8_t bytes_out[BILLORD_WAL_SEGMENT_HEADER_BYTES];
    header_with(bytes_out, offset, value, bytes);
    billord__wal_segment_header header;
    const char *why = NULL;
    cr_assert(eq(int, billord__wal_segment_header_decode(bytes_out, sizeof bytes_out, &header, &why),
                 BILLORD_E_WAL_CORRUPT));
    cr_assert(why != NULL);
    return why;
}

Test(cov_wal_record, header_with_another_format_version_is_corrupt, .timeout = 5)
{
    cr_expect(eq(str, (char *)header_refusal(4, 2, 4), "unknown segment format version"));
}

Test(cov_wal_record, header_with_reserved_bytes_set_is_corrupt, .timeout = 5)
{
    cr_expect(eq(str, (char *)header_refusal(40, 1, 1),
                 "segment header reserved bytes are not zero"));
}

Test(cov_wal_record, header_with_first_lsn_zero_is_corrupt, .timeout = 5)
{
    cr_expect(eq(str, (char *)header_refusal(8, 0, 8), "segment header has first LSN 0"));
}

Test(cov_wal_record, header_with_segment_bytes_out_of_range_is_corrupt, .timeout = 5)
{
    cr_expect(eq(str, (char *)header_refusal(16, BILLORD_WAL_SEGMENT_BYTES_MIN - 1u, 8),
                 "segment header has segment_bytes out of range"));
    cr_expect(eq(str, (char *)header_refusal(16, BILLORD_WAL_SEGMENT_BYTES_MAX + 1u, 8),
                 "segment header has segment_bytes out of range"));
}

Test(cov_wal_record, header_round_trips_at_both_size_limits, .timeout = 5)
{
    uint64_t const sizes[] = {BILLORD_WAL_SEGMENT_BYTES_MIN, BILLORD_WAL_SEGMENT_BYTES_MAX};
    for (size_t i = 0; i < 2; i++) {
        uint8_t bytes[BILLORD_WAL_SEGMENT_HEADER_BYTES];
        billord__wal_segment_header header = {7, sizes[i]}, back;
        billord__wal_segment_header_encode(bytes, &header);
        cr_assert(eq(int, billord__wal_segment_header_decode(bytes, sizeof bytes, &back, NULL),
                     BILLORD_OK));
        cr_expect(eq(u64, back.lsn_first, 7));
        cr_expect(eq(u64, back.segment_bytes, sizes[i]));
    }
}

/* A record header of payload_bytes 0 is the end of the log only when all of it is zero. */
Test(cov_wal_record, empty_record_header_is_end_of_log_only_when_zero, .timeout = 5)
{
    uint8_t bytes[BILLORD_WAL_RECORD_HEADER_BYTES];
    billord__wal_record_view view;
    uint64_t record_bytes = 0;
    const char *why = NULL;

    memset(bytes, 0, sizeof bytes);
    cr_expect(eq(int, billord__wal_record_decode(bytes, sizeof bytes, &view, &record_bytes, &why),
                 BILLORD_E_NOT_FOUND));

    memset(bytes, 0, sizeof bytes);
    put_le(bytes + 4, 9, 8);                    /* an LSN, no payload */
    cr_expect(eq(int, billord__wal_record_decode(bytes, sizeof bytes, &view, &record_bytes, &why),
                 BILLORD_E_WAL_CORRUPT));
    cr_expect(eq(str, (char *)why, "record with payload_bytes 0"));

    memset(bytes, 0, sizeof bytes);
    put_le(bytes + 12, 0x1234, 8);              /* LSN 0, a checksum, no payload */
    cr_expect(eq(int, billord__wal_record_decode(bytes, sizeof bytes, &view, &record_bytes, &why),
                 BILLORD_E_WAL_CORRUPT));
    cr_expect(eq(str, (char *)why, "record with payload_bytes 0"));
}

Test(cov_wal_record, record_with_lsn_zero_and_a_valid_checksum_is_corrupt, .timeout = 5)
{
    uint8_t bytes[BILLORD_WAL_RECORD_HEADER_BYTES + 3];
    uint8_t const payload[3] = {1, 2, 3};
    billord__wal_record_encode(bytes, 5, payload, sizeof payload);
    put_le(bytes + 4, 0, 8);                    /* LSN 0 */
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, bytes, 12);
    XXH3_64bits_update(&state, payload, sizeof payload);
    put_le(bytes + 12, XXH3_64bits_digest(&state), 8);
    billord__wal_record_view view;
    uint64_t record_bytes = 0;
    const char *why = NULL;
    cr_expect(eq(int, billord__wal_record_decode(bytes, sizeof bytes, &view, &record_bytes, &why),
                 BILLORD_E_WAL_CORRUPT));
    cr_expect(eq(str, (char *)why, "record with LSN 0"));
}

Test(cov_wal_record, record_header_cut_short_is_truncated_unless_zero, .timeout = 5)
{
    uint8_t bytes[BILLORD_WAL_RECORD_HEADER_BYTES - 1];
    billord__wal_record_view view;
    uint64_t record_bytes = 0;
    memset(bytes, 0, sizeof bytes);
    cr_expect(eq(int, billord__wal_record_decode(bytes, sizeof bytes, &view, &record_bytes, NULL),
                 BILLORD_E_NOT_FOUND));
    bytes[3] = 1;
    cr_expect(eq(int, billord__wal_record_decode(bytes, sizeof bytes, &view, &record_bytes, NULL),
                 BILLORD_E_WAL_TRUNCATED));
    cr_expect(eq(int, billord__wal_record_decode(NULL, 0, &view, &record_bytes, NULL),
                 BILLORD_E_NOT_FOUND));
}

/* The densest segment there can be: records of one payload byte up to its very last byte.
 * The record walk has no other stop than the end of the bytes, and its asserted bound
 * (bytes / header size + 1 records) must hold here, where the count is highest. */
Test(cov_wal_record, segment_packed_with_minimal_records_is_walked_to_its_last_byte, .timeout = 5)
{
    enum { RECORD_BYTES = BILLORD_WAL_RECORD_HEADER_BYTES + 1 };
    uint64_t const count = (BILLORD_WAL_SEGMENT_BYTES_MIN - BILLORD_WAL_SEGMENT_HEADER_BYTES)
                           / RECORD_BYTES;
    size_t const bytes_len = BILLORD_WAL_SEGMENT_HEADER_BYTES + (size_t)count * RECORD_BYTES;
    static uint8_t bytes[BILLORD_WAL_SEGMENT_BYTES_MIN];
    memset(bytes, 0, sizeof bytes);
    billord__wal_segment_header header = {1, BILLORD_WAL_SEGMENT_BYTES_MIN};
    billord__wal_segment_header_encode(bytes, &header);
    for (uint64_t i = 0; i < count; i++) {
        uint8_t const payload = (uint8_t)(i + 1u);
        billord__wal_record_encode(bytes + BILLORD_WAL_SEGMENT_HEADER_BYTES + i * RECORD_BYTES,
                                   i + 1u, &payload, 1);
    }
    billord__wal_segment_scan scan;
    cr_assert(eq(int, billord__wal_segment_check(bytes, bytes_len, &scan), BILLORD_OK));
    cr_expect(eq(u64, scan.record_count, count));
    cr_expect(eq(u64, scan.lsn_next, count + 1u));
    cr_expect(eq(u64, scan.end_offset_bytes, bytes_len));
    /* The same records in the full segment: zeroes follow the last one. */
    cr_assert(eq(int, billord__wal_segment_check(bytes, sizeof bytes, &scan), BILLORD_OK));
    cr_expect(eq(u64, scan.record_count, count));
}
