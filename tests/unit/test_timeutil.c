/*
 * tests/unit/test_timeutil.c: RFC 3339 parsing is strict and exact, formatting
 * inverts it, and period arithmetic keeps the time of day and clamps to the
 * end of the month, refusing what would leave the 1970..9999 range.
 */
#include <signal.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/timeutil.h>

#define UNIX_MS_MAX 253402300799999LL   /* 9999-12-31T23:59:59.999Z */

/* Strings are arrays, not pointers: Criterion copies parameters into a new process. */
typedef struct parse_case {
    char text[40];
    int64_t unix_ms_expected;
} parse_case;

ParameterizedTestParameters(timeutil, parse_accepts_rfc3339)
{
    static parse_case cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-22T00:00:00Z", 1795305600000LL},
        {"2026-12-31T16:00:00Z", 1798732800000LL},
        {"2026-11-22t00:00:00z", 1795305600000LL},
        {"2026-01-01T08:00:00+08:00", 1767225600000LL},
        {"2025-12-31T23:30:00-00:30", 1767225600000LL},
        {"2027-01-01T00:00:00+08:00", 1798732800000LL},
        {"2028-02-29T12:34:56.789Z", 1835440496789LL},
        {"2028-02-29T12:34:56.7Z", 1835440496700LL},
        {"2028-02-29T12:34:56.789999999Z", 1835440496789LL},
        {"2000-02-29T00:00:00Z", 951782400000LL},
        {"9999-12-31T23:59:59.999Z", UNIX_MS_MAX},
        {"1970-01-01T01:00:00+01:00", 0},
    };
    return cr_make_param_array(parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(parse_case *row, timeutil, parse_accepts_rfc3339)
{
    int64_t unix_ms = -1;
    cr_assert(eq(int, billord_time_parse_rfc3339(row->text, &unix_ms), BILLORD_OK), "%s",
              row->text);
    cr_assert(eq(i64, unix_ms, row->unix_ms_expected), "%s", row->text);
}

typedef struct invalid_case {
    char text[40];
} invalid_case;

ParameterizedTestParameters(timeutil, parse_rejects_invalid)
{
    static invalid_case cases[] = {
        {""},
        {"2026-02-30T00:00:00Z"},         /* Feb 30 */
        {"2026-02-29T00:00:00Z"},         /* not a leap year */
        {"1900-02-29T00:00:00Z"},         /* before the range, and not leap */
        {"2026-13-01T00:00:00Z"},         /* month 13 */
        {"2026-00-10T00:00:00Z"},
        {"2026-04-31T00:00:00Z"},
        {"2026-01-00T00:00:00Z"},
        {"2026-1-1T00:00:00Z"},           /* unpadded */
        {"2026-01-01"},                   /* date only */
        {"2026-01-01T00:00:00"},          /* no offset */
        {"2026-01-01 00:00:00Z"},         /* space, not T */
        {"2026-01-01T24:00:00Z"},
        {"2026-01-01T23:60:00Z"},
        {"2026-12-31T23:59:60Z"},         /* leap second */
        {"2026-01-01T00:00:00.Z"},        /* empty fraction */
        {"2026-01-01T00:00:00.1234567890Z"}, /* 10 fraction digits */
        {"2026-01-01T00:00:00+0800"},     /* offset without colon */
        {"2026-01-01T00:00:00+24:00"},
        {"2026-01-01T00:00:00+08:60"},
        {"2026-01-01T00:00:00Z "},        /* trailing text */
        {" 2026-01-01T00:00:00Z"},
        {"1969-12-31T23:59:59Z"},         /* before 1970 */
        {"1970-01-01T00:00:00+00:01"},    /* an offset pushes it before 1970 */
        {"9999-12-31T23:59:59-00:01"},    /* an offset pushes it past 9999 */
        {"+2026-01-01T00:00:00Z"},
        {"２026-01-01T00:00:00Z"},
    };
    return cr_make_param_array(invalid_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(invalid_case *row, timeutil, parse_rejects_invalid)
{
    int64_t unix_ms = 42;
    cr_assert(eq(int, billord_time_parse_rfc3339(row->text, &unix_ms),
                 BILLORD_E_INVALID_ARGUMENT), "accepted \"%s\"", row->text);
    cr_assert(eq(i64, unix_ms, 42), "out must stay untouched on error");
}

Test(timeutil, parse_rejects_null_text)
{
    int64_t unix_ms = 42;
    cr_assert(eq(int, billord_time_parse_rfc3339(NULL, &unix_ms), BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(i64, unix_ms, 42));
}

Test(timeutil, parse_with_null_out_is_a_programmer_error, .signal = SIGABRT)
{
    (void)billord_time_parse_rfc3339("2026-01-01T00:00:00Z", NULL);
}

ParameterizedTestParameters(timeutil, format_writes_utc_with_ms_only_when_needed)
{
    static parse_case cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-22T00:00:00Z", 1795305600000LL},
        {"2028-02-29T12:34:56.789Z", 1835440496789LL},
        {"2028-02-29T12:34:56.700Z", 1835440496700LL},
        {"1970-01-01T00:00:00.001Z", 1},
        {"9999-12-31T23:59:59.999Z", UNIX_MS_MAX},
    };
    return cr_make_param_array(parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(parse_case *row, timeutil, format_writes_utc_with_ms_only_when_needed)
{
    char text[BILLORD_RFC3339_BYTES_MAX];
    const size_t length = billord_time_format_rfc3339(row->unix_ms_expected, text);
    cr_assert(eq(str, text, row->text));
    cr_assert(eq(sz, length, strlen(row->text)));
}

Test(timeutil, format_rejects_out_of_range)
{
    char text[BILLORD_RFC3339_BYTES_MAX] = "x";
    cr_assert(eq(sz, billord_time_format_rfc3339(-1, text), 0));
    cr_assert(eq(sz, billord_time_format_rfc3339(UNIX_MS_MAX + 1, text), 0));
    cr_assert(eq(sz, billord_time_format_rfc3339(INT64_MIN, text), 0));
    cr_assert(eq(sz, billord_time_format_rfc3339(INT64_MAX, text), 0));
}

Test(timeutil, format_then_parse_round_trips)
{
    /* A prime step visits every field combination without a 10^12 loop. */
    const int64_t step_ms = 999999999989LL;
    for (int64_t unix_ms = 0; unix_ms <= UNIX_MS_MAX; unix_ms += step_ms) {
        char text[BILLORD_RFC3339_BYTES_MAX];
        int64_t parsed_ms = -1;
        cr_assert(billord_time_format_rfc3339(unix_ms, text) > 0);
        cr_assert(eq(int, billord_time_parse_rfc3339(text, &parsed_ms), BILLORD_OK), "%s", text);
        cr_assert(eq(i64, parsed_ms, unix_ms), "%s", text);
    }
}

Test(timeutil, civil_days_round_trip_over_the_whole_range)
{
    const int64_t last_day = billord_days_from_civil(BILLORD_YEAR_MAX, 12, 31);
    int64_t expected_year = 1970;
    unsigned expected_month = 1;
    unsigned expected_day = 1;
    for (int64_t days = 0; days <= last_day; days++) {
        int64_t year = 0;
        unsigned month = 0;
        unsigned day = 0;
        billord_civil_from_days(days, &year, &month, &day);
        if (year != expected_year || month != expected_month || day != expected_day) {
            cr_fatal("day %lld is %lld-%u-%u, expected %lld-%u-%u", (long long)days,
                           (long long)year, month, day, (long long)expected_year,
                           expected_month, expected_day);
        }
        if (billord_days_from_civil(year, month, day) != days) {
            cr_fatal("%lld-%u-%u does not map back to day %lld", (long long)year, month,
                           day, (long long)days);
        }
        /* Step the expected date by one civil day by hand, independently of the code. */
        static const unsigned month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const unsigned days_in_month = month == 2 && leap ? 29 : month_days[month - 1];
        if (++expected_day > days_in_month) {
            expected_day = 1;
            if (++expected_month > 12) {
                expected_month = 1;
                expected_year++;
            }
        }
    }
}

Test(timeutil, days_from_civil_known_dates)
{
    cr_assert(eq(i64, billord_days_from_civil(1970, 1, 1), 0));
    cr_assert(eq(i64, billord_days_from_civil(2000, 3, 1), 11017));
    cr_assert(eq(i64, billord_days_from_civil(1969, 12, 31), -1));
    cr_assert(eq(i64, billord_days_from_civil(9999, 12, 31), 2932896));
}

typedef struct add_case {
    char start[40];
    billord_period_unit unit;
    uint32_t count;
    billord_err err_expected;
    char result_expected[40];
} add_case;

ParameterizedTestParameters(timeutil, add_period_is_calendar_correct)
{
    static add_case cases[] = {
        {"2026-01-31T10:00:00Z", BILLORD_PERIOD_MONTH, 1, BILLORD_OK, "2026-02-28T10:00:00Z"},
        {"2028-01-31T10:00:00Z", BILLORD_PERIOD_MONTH, 1, BILLORD_OK, "2028-02-29T10:00:00Z"},
        {"2026-03-31T00:00:00Z", BILLORD_PERIOD_MONTH, 1, BILLORD_OK, "2026-04-30T00:00:00Z"},
        {"2026-01-31T00:00:00Z", BILLORD_PERIOD_MONTH, 2, BILLORD_OK, "2026-03-31T00:00:00Z"},
        {"2026-12-15T16:00:00Z", BILLORD_PERIOD_MONTH, 1, BILLORD_OK, "2027-01-15T16:00:00Z"},
        {"2026-12-31T16:00:00Z", BILLORD_PERIOD_MONTH, 2, BILLORD_OK, "2027-02-28T16:00:00Z"},
        {"2026-11-22T00:00:00Z", BILLORD_PERIOD_MONTH, 12, BILLORD_OK, "2027-11-22T00:00:00Z"},
        {"2026-11-22T00:00:00Z", BILLORD_PERIOD_MONTH, 60, BILLORD_OK, "2031-11-22T00:00:00Z"},
        {"2026-11-22T00:00:00.250Z", BILLORD_PERIOD_MONTH, 0, BILLORD_OK,
         "2026-11-22T00:00:00.250Z"},
        {"2028-02-29T00:00:00Z", BILLORD_PERIOD_YEAR, 1, BILLORD_OK, "2029-02-28T00:00:00Z"},
        {"2028-02-29T00:00:00Z", BILLORD_PERIOD_YEAR, 4, BILLORD_OK, "2032-02-29T00:00:00Z"},
        {"2026-12-15T16:00:00Z", BILLORD_PERIOD_WEEK, 2, BILLORD_OK, "2026-12-29T16:00:00Z"},
        {"2026-12-29T16:00:00Z", BILLORD_PERIOD_WEEK, 1, BILLORD_OK, "2027-01-05T16:00:00Z"},
        {"2028-02-26T00:00:00Z", BILLORD_PERIOD_WEEK, 1, BILLORD_OK, "2028-03-04T00:00:00Z"},
        {"9999-12-01T00:00:00Z", BILLORD_PERIOD_MONTH, 1, BILLORD_E_OVERFLOW, ""},
        {"9999-12-25T00:00:00Z", BILLORD_PERIOD_WEEK, 1, BILLORD_E_OVERFLOW, ""},
        {"9999-12-24T23:59:59.999Z", BILLORD_PERIOD_WEEK, 1, BILLORD_OK,
         "9999-12-31T23:59:59.999Z"},
        {"9999-01-31T00:00:00Z", BILLORD_PERIOD_MONTH, 11, BILLORD_OK, "9999-12-31T00:00:00Z"},
        {"9999-01-01T00:00:00Z", BILLORD_PERIOD_YEAR, 1, BILLORD_E_OVERFLOW, ""},
        {"2026-01-01T00:00:00Z", BILLORD_PERIOD_YEAR, UINT32_MAX, BILLORD_E_OVERFLOW, ""},
        {"2026-01-01T00:00:00Z", BILLORD_PERIOD_MONTH, UINT32_MAX, BILLORD_E_OVERFLOW, ""},
        {"2026-01-01T00:00:00Z", BILLORD_PERIOD_WEEK, UINT32_MAX, BILLORD_E_OVERFLOW, ""},
        {"2026-01-01T00:00:00Z", (billord_period_unit)0, 1, BILLORD_E_INVALID_ARGUMENT, ""},
        {"2026-01-01T00:00:00Z", (billord_period_unit)9, 1, BILLORD_E_INVALID_ARGUMENT, ""},
    };
    return cr_make_param_array(add_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(add_case *row, timeutil, add_period_is_calendar_correct)
{
    int64_t start_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339(row->start, &start_ms), BILLORD_OK));
    int64_t result_ms = -1;
    const billord_err err = billord_time_add_period(start_ms, row->unit, row->count, &result_ms);
    cr_assert(eq(int, err, row->err_expected), "%s + %u: got %s", row->start, row->count,
              billord_err_name(err));
    if (row->err_expected != BILLORD_OK) {
        cr_assert(eq(i64, result_ms, -1), "out must stay untouched on error");
        return;
    }
    char text[BILLORD_RFC3339_BYTES_MAX];
    billord_time_format_rfc3339(result_ms, text);
    cr_assert(eq(str, text, row->result_expected));
}

Test(timeutil, add_period_rejects_out_of_range_start)
{
    int64_t result_ms = -1;
    cr_assert(eq(int, billord_time_add_period(-1, BILLORD_PERIOD_MONTH, 1, &result_ms),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(int, billord_time_add_period(UNIX_MS_MAX + 1, BILLORD_PERIOD_WEEK, 0,
                                              &result_ms),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_assert(eq(i64, result_ms, -1));
}

Test(timeutil, year_is_twelve_months)
{
    int64_t start_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339("2027-08-31T07:00:00Z", &start_ms), BILLORD_OK));
    for (uint32_t years = 0; years <= 5; years++) {
        int64_t by_years_ms = 0;
        int64_t by_months_ms = 0;
        cr_assert(eq(int, billord_time_add_period(start_ms, BILLORD_PERIOD_YEAR, years,
                                                  &by_years_ms), BILLORD_OK));
        cr_assert(eq(int, billord_time_add_period(start_ms, BILLORD_PERIOD_MONTH, years * 12,
                                                  &by_months_ms), BILLORD_OK));
        cr_assert(eq(i64, by_years_ms, by_months_ms));
    }
}

Test(timeutil, month_addition_keeps_time_of_day)
{
    int64_t start_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339("2026-01-31T23:59:59.999Z", &start_ms),
                 BILLORD_OK));
    for (uint32_t months = 1; months <= 48; months++) {
        int64_t result_ms = 0;
        cr_assert(eq(int, billord_time_add_period(start_ms, BILLORD_PERIOD_MONTH, months,
                                                  &result_ms), BILLORD_OK));
        cr_assert(eq(i64, result_ms % BILLORD_MS_PER_DAY, start_ms % BILLORD_MS_PER_DAY));
    }
}
