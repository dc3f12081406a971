/*
 * timeutil.c: RFC 3339 and calendar arithmetic on ms-since-epoch UTC.
 *
 * Everything is computed from civil dates with Howard Hinnant's algorithms
 * (days_from_civil / civil_from_days), never with libc's time zone functions:
 * the engine must give the same answer on every host and under replay. The
 * range is 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z, so every result
 * can be formatted back as a four-digit year.
 */
#include <billord/timeutil.h>

#include <stdbool.h>
#include <stdio.h>

#include "core/assert.h"

#define TIME_MS_PER_WEEK (7LL * BILLORD_MS_PER_DAY)
#define TIME_FRACTION_DIGITS_MAX 9u

/* 9999-12-31T23:59:59.999Z: days_from_civil(9999, 12, 31) = 2932896. */
#define TIME_UNIX_MS_MAX ((2932896LL + 1) * BILLORD_MS_PER_DAY - 1)

static bool time_is_leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static unsigned time_days_in_month(int64_t year, unsigned month)
{
    static const unsigned days_by_month[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    BILLORD_ASSERT(month >= 1 && month <= 12);
    if (month == 2 && time_is_leap_year(year)) {
        return 29;
    }
    return days_by_month[month - 1];
}

int64_t billord_days_from_civil(int64_t year, unsigned month, unsigned day)
{
    BILLORD_ASSERT(month >= 1 && month <= 12);
    BILLORD_ASSERT(day >= 1 && day <= 31);
    /* Count years from March so the leap day is the last day of the "year". */
    year -= month <= 2;
    const int64_t era = (year >= 0 ? year : year - 399) / 400;
    const int64_t year_of_era = year - era * 400;                               /* [0, 399] */
    const int64_t month_from_march = month > 2 ? month - 3 : month + 9;         /* [0, 11] */
    const int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;     /* [0, 365] */
    const int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; /* [0, 146096] */
    return era * 146097 + day_of_era - 719468;
}

void billord_civil_from_days(int64_t days, int64_t *out_year, unsigned *out_month,
                             unsigned *out_day)
{
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t day_of_era = days - era * 146097;                             /* [0, 146096] */
    const int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  /* [0, 365] */
    const int64_t month_from_march = (5 * day_of_year + 2) / 153;                /* [0, 11] */
    const unsigned day = (unsigned)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    const unsigned month = (unsigned)(month_from_march < 10 ? month_from_march + 3
                                                            : month_from_march - 9);
    *out_year = year_of_era + era * 400 + (month <= 2);
    *out_month = month;
    *out_day = day;
}

/* Reads exactly digit_count ASCII digits; false on anything else. */
static bool time_read_digits(const char **cursor, unsigned digit_count, int64_t *out_value)
{
    int64_t value = 0;
    for (unsigned index = 0; index < digit_count; index++) {
        const char character = (*cursor)[index];
        if (character < '0' || character > '9') {
            return false;
        }
        value = value * 10 + (character - '0');
    }
    *cursor += digit_count;
    *out_value = value;
    return true;
}

static bool time_expect(const char **cursor, char lower, char upper)
{
    if (**cursor != lower && **cursor != upper) {
        return false;
    }
    (*cursor)++;
    return true;
}

typedef struct time_fields {
    int64_t year, month, day, hour, minute, second, millis;
} time_fields;

static bool time_parse_date_time(const char **cursor, time_fields *fields)
{
    if (!time_read_digits(cursor, 4, &fields->year) || !time_expect(cursor, '-', '-') ||
        !time_read_digits(cursor, 2, &fields->month) || !time_expect(cursor, '-', '-') ||
        !time_read_digits(cursor, 2, &fields->day) || !time_expect(cursor, 't', 'T') ||
        !time_read_digits(cursor, 2, &fields->hour) || !time_expect(cursor, ':', ':') ||
        !time_read_digits(cursor, 2, &fields->minute) || !time_expect(cursor, ':', ':') ||
        !time_read_digits(cursor, 2, &fields->second)) {
        return false;
    }
    if (fields->year < BILLORD_YEAR_MIN || fields->year > BILLORD_YEAR_MAX ||
        fields->month < 1 || fields->month > 12 || fields->day < 1 ||
        fields->day > time_days_in_month(fields->year, (unsigned)fields->month) ||
        fields->hour > 23 || fields->minute > 59 || fields->second > 59) {
        return false;
    }
    return true;
}

/* ".d{1,9}", truncated to ms: finer precision carries nothing billord can use. */
static bool time_parse_fraction(const char **cursor, int64_t *out_millis)
{
    *out_millis = 0;
    if (**cursor != '.') {
        return true;
    }
    (*cursor)++;
    unsigned digit_count = 0;
    int64_t scale = 100;
    while ((*cursor)[0] >= '0' && (*cursor)[0] <= '9') {
        if (++digit_count > TIME_FRACTION_DIGITS_MAX) {
            return false;
        }
        *out_millis += ((*cursor)[0] - '0') * scale;
        scale /= 10;
        (*cursor)++;
    }
    return digit_count > 0;
}

/* "Z" or "+HH:MM" / "-HH:MM"; the offset is what local time is ahead of UTC. */
static bool time_parse_offset(const char **cursor, int64_t *out_offset_ms)
{
    if (time_expect(cursor, 'z', 'Z')) {
        *out_offset_ms = 0;
        return true;
    }
    const char sign = **cursor;
    if (sign != '+' && sign != '-') {
        return false;
    }
    (*cursor)++;
    int64_t hours = 0;
    int64_t minutes = 0;
    if (!time_read_digits(cursor, 2, &hours) || !time_expect(cursor, ':', ':') ||
        !time_read_digits(cursor, 2, &minutes) || hours > 23 || minutes > 59) {
        return false;
    }
    const int64_t offset_ms = hours * BILLORD_MS_PER_HOUR + minutes * BILLORD_MS_PER_MINUTE;
    *out_offset_ms = sign == '+' ? offset_ms : -offset_ms;
    return true;
}

billord_err billord_time_parse_rfc3339(const char *text, int64_t *out_unix_ms)
{
    BILLORD_ASSERT(out_unix_ms != NULL);
    if (text == NULL) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    const char *cursor = text;
    time_fields fields = {0};
    int64_t offset_ms = 0;
    if (!time_parse_date_time(&cursor, &fields) || !time_parse_fraction(&cursor, &fields.millis) ||
        !time_parse_offset(&cursor, &offset_ms) || *cursor != '\0') {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    const int64_t days =
        billord_days_from_civil(fields.year, (unsigned)fields.month, (unsigned)fields.day);
    const int64_t local_ms = days * BILLORD_MS_PER_DAY + fields.hour * BILLORD_MS_PER_HOUR +
                             fields.minute * BILLORD_MS_PER_MINUTE +
                             fields.second * BILLORD_MS_PER_SECOND + fields.millis;
    const int64_t unix_ms = local_ms - offset_ms;
    /* An offset can push a boundary date outside the range; reject rather than wrap. */
    if (unix_ms < 0 || unix_ms > TIME_UNIX_MS_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    *out_unix_ms = unix_ms;
    return BILLORD_OK;
}

size_t billord_time_format_rfc3339(int64_t unix_ms, char *out)
{
    BILLORD_ASSERT(out != NULL);
    if (unix_ms < 0 || unix_ms > TIME_UNIX_MS_MAX) {
        out[0] = '\0';
        return 0;
    }
    const int64_t days = unix_ms / BILLORD_MS_PER_DAY;
    const int64_t ms_of_day = unix_ms % BILLORD_MS_PER_DAY;
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    billord_civil_from_days(days, &year, &month, &day);
    const int hour = (int)(ms_of_day / BILLORD_MS_PER_HOUR);
    const int minute = (int)(ms_of_day % BILLORD_MS_PER_HOUR / BILLORD_MS_PER_MINUTE);
    const int second = (int)(ms_of_day % BILLORD_MS_PER_MINUTE / BILLORD_MS_PER_SECOND);
    const int millis = (int)(ms_of_day % BILLORD_MS_PER_SECOND);
    int length = 0;
    if (millis == 0) {
        length = snprintf(out, BILLORD_RFC3339_BYTES_MAX, "%04d-%02u-%02uT%02d:%02d:%02dZ",
                          (int)year, month, day, hour, minute, second);
    } else {
        length = snprintf(out, BILLORD_RFC3339_BYTES_MAX, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                          (int)year, month, day, hour, minute, second, millis);
    }
    BILLORD_ASSERT(length > 0 && (unsigned)length < BILLORD_RFC3339_BYTES_MAX);
    return (size_t)length;
}

static billord_err time_add_weeks(int64_t unix_ms, uint32_t count, int64_t *out_unix_ms)
{
    if ((int64_t)count > (TIME_UNIX_MS_MAX - unix_ms) / TIME_MS_PER_WEEK) {
        return BILLORD_E_OVERFLOW;
    }
    *out_unix_ms = unix_ms + (int64_t)count * TIME_MS_PER_WEEK;
    return BILLORD_OK;
}

/* Keeps the time of day; clamps the day to the target month's last day. */
static billord_err time_add_months(int64_t unix_ms, int64_t month_count, int64_t *out_unix_ms)
{
    const int64_t days = unix_ms / BILLORD_MS_PER_DAY;
    const int64_t ms_of_day = unix_ms % BILLORD_MS_PER_DAY;
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    billord_civil_from_days(days, &year, &month, &day);
    /* month_count <= 12 * UINT32_MAX, so this sum cannot overflow int64. */
    const int64_t month_index = year * 12 + (month - 1) + month_count;
    const int64_t target_year = month_index / 12;
    if (target_year > BILLORD_YEAR_MAX) {
        return BILLORD_E_OVERFLOW;
    }
    const unsigned target_month = (unsigned)(month_index % 12) + 1;
    const unsigned last_day = time_days_in_month(target_year, target_month);
    const unsigned target_day = day < last_day ? day : last_day;
    *out_unix_ms = billord_days_from_civil(target_year, target_month, target_day) *
                       BILLORD_MS_PER_DAY + ms_of_day;
    return BILLORD_OK;
}

billord_err billord_time_add_period(int64_t unix_ms, billord_period_unit unit, uint32_t count,
                                    int64_t *out_unix_ms)
{
    BILLORD_ASSERT(out_unix_ms != NULL);
    if (unix_ms < 0 || unix_ms > TIME_UNIX_MS_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    switch (unit) {
    case BILLORD_PERIOD_WEEK:
        return time_add_weeks(unix_ms, count, out_unix_ms);
    case BILLORD_PERIOD_MONTH:
        return time_add_months(unix_ms, (int64_t)count, out_unix_ms);
    case BILLORD_PERIOD_YEAR:
        return time_add_months(unix_ms, (int64_t)count * 12, out_unix_ms);
    }
    return BILLORD_E_INVALID_ARGUMENT;
}
