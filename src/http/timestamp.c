/*
 * timestamp.c: the Timestamp / x-acs-date format and the skew window.
 *
 * Promise: exactly "YYYY-MM-DDTHH:MM:SSZ" is accepted, the form every SDK
 * sends; anything looser would let one signed request be read at two
 * instants. A small parser of its own, so this module depends on nothing else.
 */
#include "core/assert.h"
#include <billord/http_sign.h>

#define YEAR_MIN 1970
#define YEAR_MAX 9999

/* Reads digit_count ASCII digits; -1 if any is not a digit. */
static int digits_read(const char *text, unsigned digit_count)
{
    int value = 0;
    for (unsigned i = 0; i < digit_count; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return -1;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

static bool year_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int month_days(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && year_is_leap(year) ? 29 : days[month - 1];
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day)
{
    year -= month <= 2;
    int64_t const era = year / 400;   /* year >= 1969 here, so no negative division */
    int64_t const year_of_era = year - era * 400;
    int64_t const day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t const day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

billord_err billord_sign_timestamp_parse(const char *text, size_t text_bytes,
                                         int64_t *out_unix_ms)
{
    BILLORD_ASSERT(text != NULL || text_bytes == 0);
    BILLORD_ASSERT(out_unix_ms != NULL);
    if (text_bytes != BILLORD_SIGN_TIMESTAMP_BYTES) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
        text[16] != ':' || text[19] != 'Z') {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    int const year = digits_read(text, 4);
    int const month = digits_read(text + 5, 2);
    int const day = digits_read(text + 8, 2);
    int const hour = digits_read(text + 11, 2);
    int const minute = digits_read(text + 14, 2);
    int const second = digits_read(text + 17, 2);
    if (year < YEAR_MIN || year > YEAR_MAX || month < 1 || month > 12) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (day < 1 || day > month_days(year, month)) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    int64_t const days = days_from_civil(year, month, day);
    int64_t const seconds = days * 86400 + hour * 3600 + minute * 60 + second;
    *out_unix_ms = seconds * 1000;
    return BILLORD_OK;
}

bool billord_sign_timestamp_fresh(int64_t timestamp_ms, int64_t now_ms)
{
    /* The difference of two int64 fits in uint64 when taken the right way round. */
    uint64_t const distance_ms = now_ms >= timestamp_ms
                                     ? (uint64_t)now_ms - (uint64_t)timestamp_ms
                                     : (uint64_t)timestamp_ms - (uint64_t)now_ms;
    return distance_ms <= (uint64_t)BILLORD_SIGNATURE_SKEW_MS_MAX;
}

int64_t billord_sign_nonce_expiry_ms(int64_t timestamp_ms)
{
    if (timestamp_ms > INT64_MAX - BILLORD_SIGNATURE_SKEW_MS_MAX) {
        return INT64_MAX;
    }
    return timestamp_ms + BILLORD_SIGNATURE_SKEW_MS_MAX;
}
