/*
 * test_cov_core.c: the small core pieces every other file leans on: the error catalog
 * (src/core/error.c), the clocks (src/core/clock.c) and the always-on assertion
 * (src/core/assert.c).
 *
 * Why: the names and statuses of billord/error.h are what logs, tools and the HTTP API
 * show, and an out-of-range value must still give a printable answer; the manual clock is
 * what replay and tests feed recorded instants through; and BILLORD_ASSERT must really stop
 * the process (STYLE habit 6) with a message naming the broken condition and its place.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/clock.h>
#include <billord/error.h>

#include "core/assert.h"

/* ---- error catalog ---------------------------------------------------------------------- */

Test(cov_core, every_error_has_its_enum_name_and_a_message, .timeout = 5)
{
    cr_expect(eq(str, (char *)billord_err_name(BILLORD_OK), "BILLORD_OK"));
    cr_expect(eq(str, (char *)billord_err_name(BILLORD_E_MAP_FULL), "BILLORD_E_MAP_FULL"));
    cr_expect(eq(str, (char *)billord_err_name(BILLORD_E_FIXTURE), "BILLORD_E_FIXTURE"));
    cr_expect(eq(str, (char *)billord_err_message(BILLORD_E_DISK_FULL), "no space left on device"));
    for (int err = 0; err < BILLORD_ERR_COUNT; err++) {
        const char *name = billord_err_name((billord_err)err);
        const char *message = billord_err_message((billord_err)err);
        cr_expect(eq(int, strncmp(name, "BILLORD_", 8), 0), "%d: %s", err, name);
        cr_expect(strlen(message) > 0, "%d has a message", err);
        for (int other = 0; other < err; other++) {
            cr_expect(strcmp(name, billord_err_name((billord_err)other)) != 0, "%s twice", name);
        }
    }
}

Test(cov_core, an_error_out_of_range_still_prints, .timeout = 5)
{
    billord_err const strangers[] = {BILLORD_ERR_COUNT, (billord_err)(BILLORD_ERR_COUNT + 7),
                                     (billord_err)-1};
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        cr_expect(eq(str, (char *)billord_err_name(strangers[i]), "BILLORD_E_UNKNOWN"));
        cr_expect(eq(str, (char *)billord_err_message(strangers[i]), "unknown billord_err"));
    }
}

Test(cov_core, api_codes_carry_their_wire_code_status_and_message, .timeout = 5)
{
    cr_expect(eq(str, (char *)billord_api_code_text(BILLORD_API_OK), "OK"));
    cr_expect(eq(int, billord_api_code_status(BILLORD_API_OK), 200));
    cr_expect(eq(str, (char *)billord_api_code_message(BILLORD_API_OK), ""));
    cr_expect(eq(str, (char *)billord_api_code_text(BILLORD_API_NOT_ENOUGH_BALANCE),
                 "InvalidAccountStatus.NotEnoughBalance"));
    cr_expect(eq(int, billord_api_code_status(BILLORD_API_NOT_ENOUGH_BALANCE), 403));
    cr_expect(eq(int, billord_api_code_status(BILLORD_API_SERVICE_UNAVAILABLE), 503));
    cr_expect(eq(str, (char *)billord_api_code_message(BILLORD_API_LAST_TOKEN_PROCESSING),
                 "The last token request is processing."));
}

Test(cov_core, an_api_code_out_of_range_is_an_internal_error, .timeout = 5)
{
    billord_api_code const strangers[] = {BILLORD_API_CODE_COUNT, (billord_api_code)-1};
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        cr_expect(eq(str, (char *)billord_api_code_text(strangers[i]), "InternalError"));
        cr_expect(eq(int, billord_api_code_status(strangers[i]), 500));
        cr_expect(eq(str, (char *)billord_api_code_message(strangers[i]), ""));
    }
}

Test(cov_core, api_codes_are_found_by_wire_code_and_status, .timeout = 5)
{
    /* One wire Code, two statuses: the status tells them apart. */
    cr_expect(eq(int, billord_api_code_find("InvalidPeriodUnit.ValueNotSupported", 400),
                 BILLORD_API_INVALID_PERIOD_UNIT));
    cr_expect(eq(int, billord_api_code_find("InvalidPeriodUnit.ValueNotSupported", 403),
                 BILLORD_API_INVALID_PERIOD_UNIT_403));
    cr_expect(eq(int, billord_api_code_find("InvalidPeriodUnit.ValueNotSupported", 404),
                 BILLORD_API_CODE_COUNT));
    cr_expect(eq(int, billord_api_code_find("NoSuchCode", 400), BILLORD_API_CODE_COUNT));
    for (int code = 0; code < BILLORD_API_CODE_COUNT; code++) {
        cr_expect(eq(int, billord_api_code_find(billord_api_code_text((billord_api_code)code),
                                                billord_api_code_status((billord_api_code)code)),
                     code), "round trip of %s", billord_api_code_text((billord_api_code)code));
    }
}

/* ---- clocks ----------------------------------------------------------------------------- */

Test(cov_core, a_manual_clock_answers_its_cell_as_the_cell_moves, .timeout = 5)
{
    int64_t now_ms = 1795305600000LL;
    billord_clock clock = billord_clock_manual(&now_ms);
    cr_expect(eq(i64, billord_clock_now_ms(&clock), 1795305600000LL));
    now_ms += 86400000LL;
    cr_expect(eq(i64, billord_clock_now_ms(&clock), 1795392000000LL));
    now_ms = 0;
    cr_expect(eq(i64, billord_clock_now_ms(&clock), 0));
}

Test(cov_core, the_system_clock_is_wall_time_in_milliseconds, .timeout = 5)
{
    const billord_clock *clock = billord_clock_system();
    cr_assert(clock == billord_clock_system(), "one static clock");
    int64_t const before_ms = (int64_t)time(NULL) * 1000;
    int64_t const now_ms = billord_clock_now_ms(clock);
    int64_t const after_ms = ((int64_t)time(NULL) + 1) * 1000;
    cr_expect(now_ms >= before_ms && now_ms <= after_ms, "%lld not in [%lld, %lld]",
              (long long)now_ms, (long long)before_ms, (long long)after_ms);
}

/* ---- the always-on assertion ------------------------------------------------------------ */

/* Coverage builds (gcc --coverage) write their counters at exit, which abort() skips, so
 * the counts of an aborting test would be lost: write them from the SIGABRT handler first.
 * gcc's coverage runtime is linked only into coverage builds; the weak references are NULL
 * in every other build, and the handler then does nothing. */
struct gcov_root;
extern struct gcov_root __gcov_root __attribute__((weak));
extern void __gcov_dump_one(struct gcov_root *root) __attribute__((weak));

static void dump_coverage_on_abort(int signal_number)
{
    (void)signal_number;
    if (__gcov_dump_one != NULL && &__gcov_root != NULL) {
        __gcov_dump_one(&__gcov_root);
    }
    /* Returning lets abort() go on to end the process with SIGABRT. */
}

static void keep_coverage_through_abort(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = dump_coverage_on_abort;
    sigemptyset(&action.sa_mask);
    cr_assert(eq(int, sigaction(SIGABRT, &action, NULL), 0));
}

Test(cov_core, a_false_assertion_aborts, .signal = SIGABRT, .timeout = 5)
{
    volatile int balance = -1;
    BILLORD_ASSERT(balance < 0);        /* true: goes on */
    keep_coverage_through_abort();
    cr_assert(freopen("/dev/null", "w", stderr) != NULL);   /* the message: next test */
    BILLORD_ASSERT(balance >= 0);
    cr_fail("BILLORD_ASSERT returned after a false condition");
}

Test(cov_core, a_failed_assertion_names_condition_file_line_and_function, .timeout = 10)
{
    int pipe_fds[2];
    cr_assert(eq(int, pipe(pipe_fds), 0));
    fflush(stderr);
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        close(pipe_fds[0]);
        dup2(pipe_fds[1], STDERR_FILENO);
        keep_coverage_through_abort();
        billord__assert_fail("balance >= 0", "src/engine/payment.c", 42, "pay_order");
    }
    close(pipe_fds[1]);
    char text[512] = {0};
    size_t used = 0;
    for (int reads = 0; reads < 64 && used < sizeof text - 1; reads++) {
        ssize_t got = read(pipe_fds[0], text + used, sizeof text - 1 - used);
        if (got <= 0) {
            break;
        }
        used += (size_t)got;
    }
    close(pipe_fds[0]);
    int status = 0;
    cr_assert(eq(int, (int)waitpid(child, &status, 0), (int)child));
    bool const aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    cr_expect(aborted, "status %d", status);
    cr_expect(eq(str, text, "billord: assertion failed: balance >= 0 "
                            "(src/engine/payment.c:42 in pay_order)\n"));
}

/* What a request answers when the machinery fails: 503 where a retry may succeed, 500 for
 * damage or a broken invariant. */
Test(cov_core, a_failure_answers_503_when_a_retry_may_succeed)
{
    static const billord_err transient[] = {BILLORD_E_IO, BILLORD_E_NOMEM, BILLORD_E_MAP_FULL,
                                            BILLORD_E_DISK_FULL};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        cr_expect(eq(int, billord_err_failure_code(transient[i]), BILLORD_API_SERVICE_UNAVAILABLE),
                  "%s", billord_err_name(transient[i]));
    }
    static const billord_err lasting[] = {BILLORD_E_CORRUPT, BILLORD_E_WAL_CORRUPT,
                                          BILLORD_E_SCHEMA, BILLORD_E_INVALID_ARGUMENT};
    for (size_t i = 0; i < sizeof lasting / sizeof lasting[0]; i++) {
        cr_expect(eq(int, billord_err_failure_code(lasting[i]), BILLORD_API_INTERNAL_ERROR), "%s",
                  billord_err_name(lasting[i]));
    }
}
