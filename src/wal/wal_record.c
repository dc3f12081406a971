/*
 * wal_record.c: the pure codec of the write-ahead log (docs/wal-format.md).
 *
 * Record, little-endian:  [payload_bytes u32][lsn u64][checksum u64][payload]
 * checksum = XXH3-64 over the first 12 header bytes followed by the payload, so a
 * record that verifies has the length and the LSN its writer gave it.
 *
 * Nothing here does I/O or allocates: recovery, scan, the reader and the tests all
 * decide "valid / end / torn / corrupt" with the same functions.
 */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "wal/wal_internal.h"

/* Header field offsets. */
#define RECORD_PAYLOAD_BYTES_OFFSET 0u
#define RECORD_LSN_OFFSET           4u
#define RECORD_CHECKSUM_OFFSET      12u
#define RECORD_CHECKED_HEADER_BYTES 12u

#define SEGMENT_MAGIC_OFFSET        0u
#define SEGMENT_VERSION_OFFSET      4u
#define SEGMENT_LSN_FIRST_OFFSET    8u
#define SEGMENT_BYTES_OFFSET        16u
#define SEGMENT_RESERVED_OFFSET     24u
#define SEGMENT_CHECKSUM_OFFSET     56u

/* A stray record after a bad spot must carry an LSN in this window past the expected one;
 * checking it before the checksum keeps the search over garbage linear. */
#define STRAY_LSN_WINDOW            (BILLORD_WAL_SEGMENT_BYTES_MAX / BILLORD_WAL_RECORD_HEADER_BYTES)

static_assert(RECORD_CHECKSUM_OFFSET + 8u == BILLORD_WAL_RECORD_HEADER_BYTES,
              "record header is payload_bytes, lsn, checksum");
static_assert(SEGMENT_CHECKSUM_OFFSET + 8u == BILLORD_WAL_SEGMENT_HEADER_BYTES,
              "segment header ends with its checksum");

static void put_u32(uint8_t *out, uint32_t value)
{
    for (uint32_t i = 0; i < 4u; i++) {
        out[i] = (uint8_t)(value >> (8u * i));
    }
}

static void put_u64(uint8_t *out, uint64_t value)
{
    for (uint32_t i = 0; i < 8u; i++) {
        out[i] = (uint8_t)(value >> (8u * i));
    }
}

static uint32_t get_u32(const uint8_t *bytes)
{
    uint32_t value = 0;
    for (uint32_t i = 0; i < 4u; i++) {
        value |= (uint32_t)bytes[i] << (8u * i);
    }
    return value;
}

static uint64_t get_u64(const uint8_t *bytes)
{
    uint64_t value = 0;
    for (uint32_t i = 0; i < 8u; i++) {
        value |= (uint64_t)bytes[i] << (8u * i);
    }
    return value;
}

static bool all_zero(const uint8_t *bytes, size_t bytes_len)
{
    for (size_t i = 0; i < bytes_len; i++) {
        if (bytes[i] != 0) {
            return false;
        }
    }
    return true;
}

static uint64_t record_checksum(const uint8_t *header, const uint8_t *payload,
                                uint32_t payload_bytes)
{
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, header, RECORD_CHECKED_HEADER_BYTES);
    XXH3_64bits_update(&state, payload, payload_bytes);
    return XXH3_64bits_digest(&state);
}

uint64_t billord__wal_record_bytes(uint32_t payload_bytes)
{
    return (uint64_t)BILLORD_WAL_RECORD_HEADER_BYTES + payload_bytes;
}

void billord__wal_record_encode(uint8_t *out, uint64_t lsn, const uint8_t *payload,
                                uint32_t payload_bytes)
{
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(payload != NULL);
    BILLORD_ASSERT(payload_bytes >= 1u);
    BILLORD_ASSERT(payload_bytes <= BILLORD_WAL_RECORD_BYTES_MAX);
    BILLORD_ASSERT(lsn >= 1u);
    put_u32(out + RECORD_PAYLOAD_BYTES_OFFSET, payload_bytes);
    put_u64(out + RECORD_LSN_OFFSET, lsn);
    memcpy(out + BILLORD_WAL_RECORD_HEADER_BYTES, payload, payload_bytes);
    put_u64(out + RECORD_CHECKSUM_OFFSET,
            record_checksum(out, out + BILLORD_WAL_RECORD_HEADER_BYTES, payload_bytes));
}

static billord_err decode_fail(billord_err err, const char *why, const char **out_why)
{
    if (out_why != NULL) {
        *out_why = why;
    }
    return err;
}

billord_err billord__wal_record_decode(const uint8_t *bytes, size_t bytes_len,
                                       billord__wal_record_view *out_view,
                                       uint64_t *out_record_bytes, const char **out_why)
{
    BILLORD_ASSERT(bytes != NULL || bytes_len == 0);
    BILLORD_ASSERT(out_view != NULL);
    BILLORD_ASSERT(out_record_bytes != NULL);
    if (bytes_len < BILLORD_WAL_RECORD_HEADER_BYTES) {
        if (all_zero(bytes, bytes_len)) {
            return decode_fail(BILLORD_E_NOT_FOUND, "zeroed region (end of log)", out_why);
        }
        return decode_fail(BILLORD_E_WAL_TRUNCATED, "record header cut short", out_why);
    }
    uint32_t const payload_bytes = get_u32(bytes + RECORD_PAYLOAD_BYTES_OFFSET);
    uint64_t const lsn = get_u64(bytes + RECORD_LSN_OFFSET);
    uint64_t const checksum = get_u64(bytes + RECORD_CHECKSUM_OFFSET);
    if (payload_bytes == 0) {
        if (lsn == 0 && checksum == 0) {
            return decode_fail(BILLORD_E_NOT_FOUND, "zeroed region (end of log)", out_why);
        }
        return decode_fail(BILLORD_E_WAL_CORRUPT, "record with payload_bytes 0", out_why);
    }
    if (payload_bytes > BILLORD_WAL_RECORD_BYTES_MAX) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "payload_bytes over BILLORD_WAL_RECORD_BYTES_MAX",
                           out_why);
    }
    uint64_t const record_bytes = billord__wal_record_bytes(payload_bytes);
    if (record_bytes > bytes_len) {
        return decode_fail(BILLORD_E_WAL_TRUNCATED, "record runs past the end of the segment",
                           out_why);
    }
    const uint8_t *payload = bytes + BILLORD_WAL_RECORD_HEADER_BYTES;
    if (record_checksum(bytes, payload, payload_bytes) != checksum) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "record checksum mismatch", out_why);
    }
    if (lsn == 0) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "record with LSN 0", out_why);
    }
    out_view->lsn = lsn;
    out_view->payload = payload;
    out_view->payload_bytes = payload_bytes;
    *out_record_bytes = record_bytes;
    return BILLORD_OK;
}

void billord__wal_segment_header_encode(uint8_t out[BILLORD_WAL_SEGMENT_HEADER_BYTES],
                                        const billord__wal_segment_header *header)
{
    BILLORD_ASSERT(header != NULL);
    BILLORD_ASSERT(header->lsn_first >= 1u);
    BILLORD_ASSERT(header->segment_bytes >= BILLORD_WAL_SEGMENT_BYTES_MIN);
    BILLORD_ASSERT(header->segment_bytes <= BILLORD_WAL_SEGMENT_BYTES_MAX);
    memset(out, 0, BILLORD_WAL_SEGMENT_HEADER_BYTES);
    put_u32(out + SEGMENT_MAGIC_OFFSET, BILLORD__WAL_MAGIC);
    put_u32(out + SEGMENT_VERSION_OFFSET, BILLORD__WAL_FORMAT_VERSION);
    put_u64(out + SEGMENT_LSN_FIRST_OFFSET, header->lsn_first);
    put_u64(out + SEGMENT_BYTES_OFFSET, header->segment_bytes);
    put_u64(out + SEGMENT_CHECKSUM_OFFSET, XXH3_64bits(out, SEGMENT_CHECKSUM_OFFSET));
}

billord_err billord__wal_segment_header_decode(const uint8_t *bytes, size_t bytes_len,
                                               billord__wal_segment_header *out_header,
                                               const char **out_why)
{
    BILLORD_ASSERT(out_header != NULL);
    if (bytes_len < BILLORD_WAL_SEGMENT_HEADER_BYTES) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "file shorter than a segment header", out_why);
    }
    if (get_u32(bytes + SEGMENT_MAGIC_OFFSET) != BILLORD__WAL_MAGIC) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "segment header has a bad magic", out_why);
    }
    if (XXH3_64bits(bytes, SEGMENT_CHECKSUM_OFFSET) != get_u64(bytes + SEGMENT_CHECKSUM_OFFSET)) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "segment header checksum mismatch", out_why);
    }
    if (get_u32(bytes + SEGMENT_VERSION_OFFSET) != BILLORD__WAL_FORMAT_VERSION) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "unknown segment format version", out_why);
    }
    if (!all_zero(bytes + SEGMENT_RESERVED_OFFSET, SEGMENT_CHECKSUM_OFFSET - SEGMENT_RESERVED_OFFSET)) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "segment header reserved bytes are not zero",
                           out_why);
    }
    uint64_t const lsn_first = get_u64(bytes + SEGMENT_LSN_FIRST_OFFSET);
    uint64_t const segment_bytes = get_u64(bytes + SEGMENT_BYTES_OFFSET);
    if (lsn_first == 0) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "segment header has first LSN 0", out_why);
    }
    if (segment_bytes < BILLORD_WAL_SEGMENT_BYTES_MIN || segment_bytes > BILLORD_WAL_SEGMENT_BYTES_MAX) {
        return decode_fail(BILLORD_E_WAL_CORRUPT, "segment header has segment_bytes out of range",
                           out_why);
    }
    out_header->lsn_first = lsn_first;
    out_header->segment_bytes = segment_bytes;
    return BILLORD_OK;
}

/* Offset after the last non-zero byte of [from, to), or from when all are zero. */
static uint64_t dirty_end(const uint8_t *bytes, uint64_t from, uint64_t to)
{
    for (uint64_t end = to; end > from; end--) {
        if (bytes[end - 1] != 0) {
            return end;
        }
    }
    return from;
}

/* First offset in [from, to) where a record with an LSN >= lsn_expected verifies; or to. */
static uint64_t find_stray(const uint8_t *bytes, size_t bytes_len, uint64_t from, uint64_t to,
                           uint64_t lsn_expected, uint64_t *out_lsn)
{
    for (uint64_t offset = from; offset < to; offset++) {
        if (bytes_len - offset < BILLORD_WAL_RECORD_HEADER_BYTES) {
            break;
        }
        uint64_t const lsn = get_u64(bytes + offset + RECORD_LSN_OFFSET);
        if (lsn < lsn_expected || lsn - lsn_expected > STRAY_LSN_WINDOW) {
            continue;
        }
        billord__wal_record_view view;
        uint64_t record_bytes = 0;
        if (billord__wal_record_decode(bytes + offset, bytes_len - offset, &view, &record_bytes,
                                       NULL) == BILLORD_OK) {
            *out_lsn = view.lsn;
            return offset;
        }
    }
    return to;
}

static billord_err check_fail(billord__wal_segment_scan *scan, billord_err err,
                              uint64_t offset_bytes, const char *why)
{
    scan->problem_offset_bytes = offset_bytes;
    snprintf(scan->why, sizeof scan->why, "%s", why);
    return err;
}

/* Walk the valid records from the header on; stops at the first slot that is not one. */
static billord_err walk_records(const uint8_t *bytes, size_t bytes_len,
                                billord__wal_segment_scan *scan, const char **out_why)
{
    uint64_t offset = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    uint64_t lsn = scan->header.lsn_first;
    uint64_t const records_max = bytes_len / BILLORD_WAL_RECORD_HEADER_BYTES + 1u;
    billord_err err = BILLORD_E_NOT_FOUND;
    *out_why = "zeroed region (end of log)";
    for (uint64_t i = 0; offset < bytes_len; i++) {
        /* Every record takes more than a header's bytes (its payload has at least one), so
         * the end of the bytes comes before this bound. */
        BILLORD_ASSERT(i < records_max);
        billord__wal_record_view view;
        uint64_t record_bytes = 0;
        err = billord__wal_record_decode(bytes + offset, bytes_len - offset, &view, &record_bytes,
                                         out_why);
        if (err != BILLORD_OK) {
            break;
        }
        if (view.lsn != lsn) {
            char why[BILLORD__WAL_WHY_BYTES];
            snprintf(why, sizeof why, "LSN gap: record has LSN %llu, expected %llu",
                     (unsigned long long)view.lsn, (unsigned long long)lsn);
            scan->end_offset_bytes = offset;
            scan->lsn_next = lsn;
            return check_fail(scan, BILLORD_E_WAL_CORRUPT, offset, why);
        }
        offset += record_bytes;
        lsn++;
        scan->record_count++;
    }
    scan->end_offset_bytes = offset;
    scan->lsn_next = lsn;
    return err == BILLORD_OK ? BILLORD_E_NOT_FOUND : err;
}

billord_err billord__wal_segment_check(const uint8_t *bytes, size_t bytes_len,
                                       billord__wal_segment_scan *out_scan)
{
    BILLORD_ASSERT(out_scan != NULL);
    memset(out_scan, 0, sizeof *out_scan);
    const char *why = NULL;
    if (billord__wal_segment_header_decode(bytes, bytes_len, &out_scan->header, &why) != BILLORD_OK) {
        return check_fail(out_scan, BILLORD_E_WAL_CORRUPT, 0, why);
    }
    if (bytes_len > out_scan->header.segment_bytes) {
        return check_fail(out_scan, BILLORD_E_WAL_CORRUPT, out_scan->header.segment_bytes,
                          "file is longer than the segment_bytes of its header");
    }
    billord_err const walk_err = walk_records(bytes, bytes_len, out_scan, &why);
    if (walk_err == BILLORD_E_WAL_CORRUPT && out_scan->why[0] != '\0') {
        return walk_err;        /* an LSN gap, already described */
    }
    uint64_t const end = out_scan->end_offset_bytes;
    out_scan->dirty_end_bytes = dirty_end(bytes, end, bytes_len);
    if (out_scan->dirty_end_bytes == end) {
        return BILLORD_OK;      /* zeroes (or the end of the file) after the last record */
    }
    uint64_t stray_lsn = 0;
    uint64_t const stray = find_stray(bytes, bytes_len, end + 1u, out_scan->dirty_end_bytes,
                                      out_scan->lsn_next, &stray_lsn);
    if (stray < out_scan->dirty_end_bytes) {
        char text[BILLORD__WAL_WHY_BYTES];
        snprintf(text, sizeof text, "%s, and a valid record (LSN %llu) follows at offset %llu", why,
                 (unsigned long long)stray_lsn, (unsigned long long)stray);
        return check_fail(out_scan, BILLORD_E_WAL_CORRUPT, end, text);
    }
    /* Truncate rather than fail: a record cut short or garbled at the very end, with nothing
     * valid after it, is what a crash in the middle of an unacknowledged write leaves. */
    return check_fail(out_scan, BILLORD_E_WAL_TRUNCATED, end, why);
}
