/*
 * billord/timeutil.h: calendar arithmetic on ms-since-epoch UTC timestamps.
 *
 * Pure functions: no clock, no locale, no time zone database. Month arithmetic
 * keeps the time of day and clamps the day to the target month's last day
 * (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year); a year is 12 months;
 * a week is 7 days of 86,400,000 ms (no leap seconds).
 */
#ifndef BILLORD_TIMEUTIL_H
#define BILLORD_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/model.h>

#define BILLORD_MS_PER_SECOND 1000LL
#define BILLORD_MS_PER_MINUTE (60LL * BILLORD_MS_PER_SECOND)
#define BILLORD_MS_PER_HOUR   (60LL * BILLORD_MS_PER_MINUTE)
#define BILLORD_MS_PER_DAY    (24LL * BILLORD_MS_PER_HOUR)
#define BILLORD_RFC3339_BYTES_MAX 32u   /* with the NUL */

/* Years accepted by parse and add: 1970..9999. */
#define BILLORD_YEAR_MIN 1970
#define BILLORD_YEAR_MAX 9999

/**
 * Parse an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS" + optional ".fraction"
 * (1-9 digits; truncated to ms) + "Z" or "+HH:MM"/"-HH:MM". 'T' and 'Z' may be
 * lowercase. Fields are range-checked (Feb 30 is invalid; second 60 is not accepted).
 * @return BILLORD_OK and *out_unix_ms, else BILLORD_E_INVALID_ARGUMENT (*out untouched).
 */
billord_err billord_time_parse_rfc3339(const char *text, int64_t *out_unix_ms);

/**
 * Format as "YYYY-MM-DDTHH:MM:SSZ", with ".mmm" before the Z only when the ms
 * part is not zero. out must hold BILLORD_RFC3339_BYTES_MAX bytes.
 * @return the length written (without the NUL); 0 if unix_ms is out of range.
 */
size_t billord_time_format_rfc3339(int64_t unix_ms, char *out);

/**
 * unix_ms + count units (week, month or year), calendar-correct as above.
 * @return BILLORD_OK, BILLORD_E_INVALID_ARGUMENT (bad unit) or BILLORD_E_OVERFLOW
 *         (result past BILLORD_YEAR_MAX). *out untouched on error.
 */
billord_err billord_time_add_period(int64_t unix_ms, billord_period_unit unit, uint32_t count,
                                    int64_t *out_unix_ms);

/** Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t billord_days_from_civil(int64_t year, unsigned month, unsigned day);
/** The civil date of days since 1970-01-01. */
void billord_civil_from_days(int64_t days, int64_t *out_year, unsigned *out_month,
                             unsigned *out_day);

#endif
