/*
 * fuzz_wal_record: the write-ahead log's record codec, segment header codec and segment
 * scanner (src/wal/wal_internal.h, pure), and the standalone reader over a file
 * (billord_wal_reader in include/billord/wal.h), which must agree with the scanner.
 *
 * Input byte 0 picks the mode:
 *   even: the rest is a raw segment image (or, for the record decoder, raw record bytes);
 *   odd:  the rest builds a valid segment (first LSN, 0xFF-separated payloads), then
 *         damages it (truncate, flip one byte) as bytes 1..6 say.
 * Properties: decode(encode(x)) == x for records and headers; what the scanner accepts
 * is a chain of records that decode one by one with consecutive LSNs; an undamaged
 * built segment scans clean with every record; the reader delivers exactly the records
 * the scanner found, then the scanner's verdict. The reader reads a temp file under
 * /dev/shm (the only I/O).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <billord/wal.h>

#include "fuzz_common.h"
#include "wal/wal_internal.h"

#define IMAGE_BYTES_MAX (256u * 1024u)

static char temp_path[128];

static void temp_path_init(void)
{
    if (temp_path[0] == '\0') {
        snprintf(temp_path, sizeof temp_path, "/dev/shm/billord-fuzz-wal-%ld.seg", (long)getpid());
    }
}

static void check_record_decode(const uint8_t *bytes, size_t bytes_len)
{
    billord__wal_record_view view;
    uint64_t record_bytes = 0;
    const char *why = NULL;
    billord_err const err = billord__wal_record_decode(bytes, bytes_len, &view, &record_bytes, &why);
    if (err != BILLORD_OK) {
        BILLORD_ASSERT(err == BILLORD_E_NOT_FOUND || err == BILLORD_E_WAL_TRUNCATED ||
                       err == BILLORD_E_WAL_CORRUPT);
        BILLORD_ASSERT(why != NULL && why[0] != '\0');
        return;
    }
    BILLORD_ASSERT(record_bytes == billord__wal_record_bytes(view.payload_bytes));
    BILLORD_ASSERT(record_bytes <= bytes_len);
    BILLORD_ASSERT(view.lsn >= 1 && view.payload_bytes >= 1);
    BILLORD_ASSERT(view.payload == bytes + BILLORD_WAL_RECORD_HEADER_BYTES);
    /* Round trip: encoding what was decoded gives the same bytes. */
    uint8_t *again = malloc(record_bytes);
    BILLORD_ASSERT(again != NULL);
    billord__wal_record_encode(again, view.lsn, view.payload, view.payload_bytes);
    BILLORD_ASSERT(memcmp(again, bytes, record_bytes) == 0);
    free(again);
}

static void check_header_decode(const uint8_t *bytes, size_t bytes_len)
{
    billord__wal_segment_header header;
    const char *why = NULL;
    if (billord__wal_segment_header_decode(bytes, bytes_len, &header, &why) != BILLORD_OK) {
        BILLORD_ASSERT(why != NULL);
        return;
    }
    uint8_t again[BILLORD_WAL_SEGMENT_HEADER_BYTES];
    billord__wal_segment_header_encode(again, &header);
    BILLORD_ASSERT(memcmp(again, bytes, sizeof again) == 0);
}

/* What the scanner accepts decodes record by record. */
static billord_err check_scan(const uint8_t *image, size_t image_bytes,
                              billord__wal_segment_scan *scan)
{
    billord_err const err = billord__wal_segment_check(image, image_bytes, scan);
    BILLORD_ASSERT(err == BILLORD_OK || err == BILLORD_E_WAL_TRUNCATED ||
                   err == BILLORD_E_WAL_CORRUPT);
    BILLORD_ASSERT(memchr(scan->why, '\0', sizeof scan->why) != NULL);
    if (err == BILLORD_E_WAL_CORRUPT) {
        BILLORD_ASSERT(scan->why[0] != '\0');
        return err;
    }
    BILLORD_ASSERT(scan->end_offset_bytes >= BILLORD_WAL_SEGMENT_HEADER_BYTES);
    BILLORD_ASSERT(scan->end_offset_bytes <= image_bytes);
    BILLORD_ASSERT(scan->dirty_end_bytes >= scan->end_offset_bytes);
    BILLORD_ASSERT(scan->dirty_end_bytes <= image_bytes);
    BILLORD_ASSERT(scan->lsn_next == scan->header.lsn_first + scan->record_count);
    uint64_t offset = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    for (uint64_t i = 0; i < scan->record_count; i++) {
        billord__wal_record_view view;
        uint64_t record_bytes = 0;
        BILLORD_ASSERT(billord__wal_record_decode(image + offset, scan->end_offset_bytes - offset,
                                                  &view, &record_bytes, NULL) == BILLORD_OK);
        BILLORD_ASSERT(view.lsn == scan->header.lsn_first + i);
        offset += record_bytes;
    }
    BILLORD_ASSERT(offset == scan->end_offset_bytes);
    if (err == BILLORD_OK) {
        /* A clean end: nothing but zeroes after the last record. */
        for (uint64_t i = scan->end_offset_bytes; i < image_bytes; i++) {
            BILLORD_ASSERT(image[i] == 0);
        }
    } else {
        BILLORD_ASSERT(scan->dirty_end_bytes > scan->end_offset_bytes);
    }
    return err;
}

/* The reader over the same bytes in a file delivers what the scanner found. */
static void check_reader(const uint8_t *image, size_t image_bytes, billord_err scan_err,
                         const billord__wal_segment_scan *scan)
{
    temp_path_init();
    int const fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    BILLORD_ASSERT(fd >= 0);
    BILLORD_ASSERT(image_bytes == 0 || write(fd, image, image_bytes) == (ssize_t)image_bytes);
    BILLORD_ASSERT(close(fd) == 0);
    billord_wal_reader *reader = NULL;
    BILLORD_ASSERT(billord_wal_reader_open(temp_path, NULL, &reader) == BILLORD_OK);
    billord_wal_record record;
    billord_err err = BILLORD_OK;
    uint64_t delivered = 0;
    uint64_t offset = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    while ((err = billord_wal_reader_next(reader, &record)) == BILLORD_OK) {
        BILLORD_ASSERT(scan_err != BILLORD_E_WAL_CORRUPT);
        BILLORD_ASSERT(record.lsn == scan->header.lsn_first + delivered);
        BILLORD_ASSERT(record.offset_bytes == offset);
        BILLORD_ASSERT(record.payload == NULL || record.payload_bytes >= 1);
        BILLORD_ASSERT(memcmp(record.payload, image + offset + BILLORD_WAL_RECORD_HEADER_BYTES,
                              record.payload_bytes) == 0);
        offset += billord__wal_record_bytes(record.payload_bytes);
        delivered++;
        BILLORD_ASSERT(delivered <= scan->record_count);
    }
    if (scan_err == BILLORD_OK) {
        BILLORD_ASSERT(err == BILLORD_E_NOT_FOUND && delivered == scan->record_count);
    } else if (scan_err == BILLORD_E_WAL_TRUNCATED) {
        BILLORD_ASSERT(err == BILLORD_E_WAL_TRUNCATED && delivered == scan->record_count);
    } else {
        BILLORD_ASSERT(err == BILLORD_E_WAL_CORRUPT && delivered == 0);
    }
    if (err != BILLORD_E_NOT_FOUND) {
        BILLORD_ASSERT(billord_wal_reader_error(reader)[0] != '\0');
    }
    /* Sticky: the same answer again. */
    BILLORD_ASSERT(billord_wal_reader_next(reader, &record) == err);
    billord_wal_reader_close(reader);
}

static uint64_t get_u64_le(const uint8_t *bytes, size_t bytes_len)
{
    uint64_t value = 0;
    for (size_t i = 0; i < 8 && i < bytes_len; i++) {
        value |= (uint64_t)bytes[i] << (8u * i);
    }
    return value;
}

/* A valid segment from the input, then the damage it asks for. */
static void built_segment(fuzz_input *in)
{
    uint8_t damage[6];
    for (size_t i = 0; i < sizeof damage; i++) {
        damage[i] = fuzz_byte(in);
    }
    const uint8_t *lsn_bytes;
    size_t lsn_bytes_len;
    fuzz_field(in, &lsn_bytes, &lsn_bytes_len);
    uint64_t lsn_first = get_u64_le(lsn_bytes, lsn_bytes_len) % (UINT64_MAX / 2u);
    if (lsn_first == 0) {
        lsn_first = 1;
    }
    static uint8_t image[IMAGE_BYTES_MAX];
    size_t const segment_bytes = BILLORD_WAL_SEGMENT_BYTES_MIN * (1u + damage[0] % 64u);
    billord__wal_segment_header header = {lsn_first, segment_bytes};
    memset(image, 0, segment_bytes);
    billord__wal_segment_header_encode(image, &header);
    size_t used = BILLORD_WAL_SEGMENT_HEADER_BYTES;
    uint64_t records = 0;
    static const uint8_t one_byte[1] = {0x2A};
    while (in->size > 0) {
        const uint8_t *payload;
        size_t payload_bytes;
        fuzz_field(in, &payload, &payload_bytes);
        if (payload_bytes == 0) {
            payload = one_byte;
            payload_bytes = 1;
        }
        if (used + billord__wal_record_bytes((uint32_t)payload_bytes) > segment_bytes) {
            break;
        }
        billord__wal_record_encode(image + used, lsn_first + records, payload,
                                   (uint32_t)payload_bytes);
        used += billord__wal_record_bytes((uint32_t)payload_bytes);
        records++;
    }
    /* The file may be shorter than segment_bytes (the rest reads as zeroes). */
    size_t image_bytes = (damage[1] & 1u) ? segment_bytes : used;
    billord__wal_segment_scan scan;
    billord_err err = check_scan(image, image_bytes, &scan);
    BILLORD_ASSERT(err == BILLORD_OK);
    BILLORD_ASSERT(scan.record_count == records && scan.end_offset_bytes == used);
    check_reader(image, image_bytes, err, &scan);

    /* Damage: flip one byte inside the records, or cut the file inside them. */
    if (used == BILLORD_WAL_SEGMENT_HEADER_BYTES) {
        return;
    }
    size_t const span = used - BILLORD_WAL_SEGMENT_HEADER_BYTES;
    size_t const at = BILLORD_WAL_SEGMENT_HEADER_BYTES +
                      (size_t)(((uint32_t)damage[2] << 8 | damage[3]) % span);
    if (damage[4] & 1u) {
        image[at] ^= (uint8_t)(damage[5] | 1u);
    } else {
        image_bytes = at;
    }
    err = check_scan(image, image_bytes, &scan);
    /* Never clean with every record: the damage is seen (or the cut is a record boundary). */
    BILLORD_ASSERT(scan.record_count <= records);
    if (err == BILLORD_OK) {
        BILLORD_ASSERT(!(damage[4] & 1u) || scan.record_count < records);
        BILLORD_ASSERT(scan.record_count < records);
    }
    check_reader(image, image_bytes, err, &scan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > IMAGE_BYTES_MAX) {
        return 0;
    }
    fuzz_input in = {data, size};
    uint8_t const mode = fuzz_byte(&in);
    if (mode & 1u) {
        built_segment(&in);
        return 0;
    }
    /* An exact-size heap copy, so ASan sees any read past the end. */
    uint8_t *bytes = malloc(in.size ? in.size : 1);
    BILLORD_ASSERT(bytes != NULL);
    memcpy(bytes, in.data, in.size);
    check_record_decode(bytes, in.size);
    check_header_decode(bytes, in.size);
    billord__wal_segment_scan scan;
    billord_err const err = check_scan(bytes, in.size, &scan);
    if (mode & 2u) {
        check_reader(bytes, in.size, err, &scan);
    }
    free(bytes);
    return 0;
}
