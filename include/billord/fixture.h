/*
 * billord/fixture.h: the fixture file (SPEC section 1, docs/fixtures.md).
 *
 * A fixture is parsed and validated completely in memory before anything is
 * written, so loading is all-or-nothing. Every error names its JSON path
 * ("$.accounts[0].balance_micros: must be a non-negative integer").
 */
#ifndef BILLORD_FIXTURE_H
#define BILLORD_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/model.h>

#define BILLORD_FIXTURE_BYTES_MAX (256u * 1024u * 1024u)
#define BILLORD_FIXTURE_ERROR_BYTES 512u

typedef struct billord_fixture {
    bool has_clock;
    int64_t clock_ms;                   /* "clock": the data directory's initial time */
    size_t price_count;
    billord_price *prices;
    size_t account_count;
    billord_account *accounts;
    size_t coupon_count;                /* flattened from each account's "coupons" */
    billord_coupon *coupons;
    size_t instance_count;
    billord_instance *instances;
    size_t order_count;
    billord_order *orders;
} billord_fixture;

/**
 * Parse and validate fixture JSON text.
 * @param[in]  text, text_bytes  The JSON (need not be NUL-terminated).
 * @param[out] out_fixture       On BILLORD_OK, filled; release with billord_fixture_free().
 *                               Zeroed on failure (free is still allowed).
 * @param[out] error_text        On failure, one line naming the JSON path (and, for a
 *                               syntax error, line and column); error_text_bytes >= 1.
 * @return BILLORD_OK, BILLORD_E_FIXTURE (any content error), BILLORD_E_NOMEM.
 */
billord_err billord_fixture_parse(const char *text, size_t text_bytes,
                                  billord_fixture *out_fixture,
                                  char *error_text, size_t error_text_bytes);

/** Read file_path (at most BILLORD_FIXTURE_BYTES_MAX) and parse it; BILLORD_E_IO if unreadable. */
billord_err billord_fixture_parse_file(const char *file_path, billord_fixture *out_fixture,
                                       char *error_text, size_t error_text_bytes);

/** Release what parse allocated. NULL and a zeroed fixture are allowed. */
void billord_fixture_free(billord_fixture *fixture);

#endif
