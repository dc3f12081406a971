/*
 * test_cov_replay_alloc.c: billord_verify(), billord_replay_digest() and billord_replay_run()
 * when memory runs out (tests/support/faulty_alloc.h): each allocation of a verify or a
 * digest of a small data directory fails in turn, and each time the answer is one the API
 * documents: BILLORD_E_NOMEM, or (verify) problems that say a part could not be read, or
 * (digest) BILLORD_E_IO naming LMDB's failure; never a crash, a value reported undecodable
 * for want of memory, a healthy verdict, or a digest other than the true one. A replay that cannot
 * allocate its batch answers BILLORD_E_NOMEM before touching the directory.
 * Skipped where the sanitizers own the allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include <billord/replay.h>

#include "support/faulty_alloc.h"
#include "support/replay_fixture.h"

static void teardown(void)
{
    faulty_alloc_reset();
    replay_fixture_teardown();
}

TestSuite(cov_replay_alloc, .init = replay_fixture_setup, .fini = teardown, .timeout = 120);

/* The demo fixture through a durable db (so with a log) and two tokened renewals: every
 * database verify reads holds something, and the log has records. Small segments: the
 * reader checks a whole segment, and the sweep verifies many times. */
static void make_db(void)
{
    replay_make_db(replay_data, 2, 64u * 1024u);
}

typedef struct sweep_outcome {
    uint64_t nomem;         /* verifies that answered BILLORD_E_NOMEM */
    uint64_t reported;      /* verifies that answered with problems */
} sweep_outcome;

/* Verify DATA with the at-th allocation failing (and, persistent, every one after it), for
 * each allocation a healthy verify makes. */
static sweep_outcome sweep(uint64_t allocations, bool persistent)
{
    sweep_outcome outcome = {0};
    for (uint64_t at = 1; at <= allocations; at++) {
        replay_found f = {0};
        billord_verify_report report;
        faulty_alloc_fail_at(at, persistent, false);
        billord_err err = billord_verify(replay_data, NULL, replay_found_add, &f, &report);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        cr_assert(persistent ? failures >= 1 : failures == 1, "allocation %llu",
                  (unsigned long long)at);
        cr_assert(err == BILLORD_OK || err == BILLORD_E_NOMEM, "allocation %llu: %s",
                  (unsigned long long)at, billord_err_name(err));
        cr_assert(eq(u64, report.problems, f.count));
        /* memory running out is never taken for damage */
        cr_assert(strstr(f.text, "decode") == NULL && strstr(f.text, "not a versioned") == NULL,
                  "allocation %llu: %s", (unsigned long long)at, f.text);
        if (err == BILLORD_E_NOMEM) {
            outcome.nomem++;
        } else {
            /* nor the directory called healthy: a part that could not be read says why (a
             * failed listing of the log's directory is an I/O error to the reader) */
            cr_assert(f.count > 0, "allocation %llu failed, yet no problem and no error",
                      (unsigned long long)at);
            bool says_why = strstr(f.text, "memory") != NULL ||
                            strstr(f.text, "cannot read") != NULL;
            cr_assert(says_why, "allocation %llu: %s", (unsigned long long)at, f.text);
            outcome.reported++;
        }
    }
    return outcome;
}

Test(cov_replay_alloc, verify_answers_out_of_memory_at_every_allocation)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("the sanitizers own the allocator");
    }
    make_db();
    replay_found healthy = {0};
    billord_verify_report report;
    faulty_alloc_count(false);
    cr_assert(eq(int, billord_verify(replay_data, NULL, replay_found_add, &healthy, &report),
                 BILLORD_OK));
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(eq(u64, healthy.count, 0), "%s", healthy.text);
    cr_assert(report.tokens == 2 && report.wal_records > 0);
    cr_assert(allocations > 10, "verify allocates (%llu)", (unsigned long long)allocations);
    sweep_outcome once = sweep(allocations, false);
    cr_expect(once.nomem > 0, "the sums of accounts and instances, and each token, need memory");
    cr_expect(once.reported > 0, "opening the log or the store needs memory");
    /* and with no memory at all from some point on */
    sweep_outcome from_then_on = sweep(allocations, true);
    cr_expect(from_then_on.nomem > 0);
}

Test(cov_replay_alloc, the_digest_answers_out_of_memory_at_every_allocation)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("the sanitizers own the allocator");
    }
    make_db();
    char healthy[BILLORD_DIGEST_HEX_BYTES + 1], hex[BILLORD_DIGEST_HEX_BYTES + 1];
    char error_text[512];
    faulty_alloc_count(false);
    cr_assert(eq(int, billord_replay_digest(replay_data, healthy, NULL, error_text,
                                            sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(allocations > 0);
    uint64_t nomem = 0;
    for (uint64_t at = 1; at <= allocations; at++) {
        faulty_alloc_fail_at(at, false, false);
        billord_err err = billord_replay_digest(replay_data, hex, NULL, error_text,
                                                sizeof error_text);
        faulty_alloc_reset();
        cr_assert(err == BILLORD_E_NOMEM || err == BILLORD_E_IO || err == BILLORD_OK,
                  "allocation %llu: %s", (unsigned long long)at, billord_err_name(err));
        if (err == BILLORD_OK) {
            cr_assert(eq(str, hex, healthy), "allocation %llu", (unsigned long long)at);
        } else if (err == BILLORD_E_IO) {
            cr_assert(strstr(error_text, "memory") != NULL, "allocation %llu: %s",
                      (unsigned long long)at, error_text);
        } else {
            nomem++;
        }
    }
    cr_expect(nomem > 0, "the hash state needs memory");
}

Test(cov_replay_alloc, a_replay_that_cannot_allocate_its_batch_changes_nothing)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("the sanitizers own the allocator");
    }
    char log[TEMPDIR_PATH_BYTES];
    tempdir_join(log, replay_dir, "one.ndjson");
    replay_write_text(log, "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\""
                           REPLAY_MAIN_ACCOUNT "\",\"action\":\"DescribeOrders\"}\n");
    const char *inputs[] = {log};
    /* the batch's four arrays are the run's first allocations */
    for (uint64_t at = 1; at <= 4; at++) {
        char target[TEMPDIR_PATH_BYTES], name[16];
        snprintf(name, sizeof name, "r%llu", (unsigned long long)at);
        tempdir_join(target, replay_dir, name);
        billord_replay_options options = {.data_dir = target, .inputs = inputs,
                                          .input_count = 1};
        billord_replay_stats stats;
        char error_text[BILLORD_REPLAY_ERROR_BYTES];
        faulty_alloc_fail_at(at, false, false);
        billord_err err = billord_replay_run(&options, &stats, error_text, sizeof error_text);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        cr_expect(eq(u64, failures, 1));
        cr_expect(eq(int, err, BILLORD_E_NOMEM), "allocation %llu", (unsigned long long)at);
        cr_expect(eq(str, error_text, "out of memory"));
        cr_expect(eq(u64, stats.requests, 0));
        struct stat st;
        cr_expect(stat(target, &st) != 0, "the data directory was not even created");
    }
}

/* A request log of renewals with parameters and a read: what --record writes of it. */
static void write_record_input(char path[TEMPDIR_PATH_BYTES])
{
    tempdir_join(path, replay_dir, "record-input.ndjson");
    replay_write_text(path,
                      "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" REPLAY_MAIN_ACCOUNT
                      "\",\"action\":\"RenewInstance\",\"params\":{\"InstanceId\":\"i-acc0001\","
                      "\"Period\":\"1\",\"PeriodUnit\":\"Month\",\"ClientToken\":\"rec-1\"}}\n"
                      "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" REPLAY_MAIN_ACCOUNT
                      "\",\"action\":\"RenewInstance\",\"params\":{\"InstanceId\":\"i-acc0001\","
                      "\"Period\":\"1\",\"PeriodUnit\":\"Month\",\"ClientToken\":\"rec-1\"}}\n"
                      "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" REPLAY_MAIN_ACCOUNT
                      "\",\"action\":\"DescribeOrders\",\"params\":{\"PageSize\":\"5\"}}\n");
}

/* Replay input into a fresh directory, the record into memory (*out_text, malloc'd), with
 * the fail_at-th allocation of the run failing (0: none; -1: count them instead). */
static billord_err replay_recorded(const char *input, const char *name, int64_t fail_at,
                                   char **out_text, size_t *out_bytes)
{
    char target[TEMPDIR_PATH_BYTES];
    tempdir_join(target, replay_dir, name);
    FILE *record = open_memstream(out_text, out_bytes);
    cr_assert(record != NULL);
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_source_path(fixture, REPLAY_DEMO_FIXTURE);
    const char *inputs[] = {input};
    /* strict: jansson 2.14's lexer reports a failed allocation as a syntax error, which a
     * lenient replay counts as a malformed line and skips (saying so); strict stops. */
    billord_replay_options options = {.data_dir = target, .fixtures_path = fixture,
                                      .inputs = inputs, .input_count = 1, .record = record,
                                      .strict = true};
    billord_replay_stats stats;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    if (fail_at < 0) {
        faulty_alloc_count(false);
    } else if (fail_at > 0) {
        faulty_alloc_fail_at((uint64_t)fail_at, false, false);
    }
    billord_err err = billord_replay_run(&options, &stats, error_text, sizeof error_text);
    if (fail_at > 0) {
        faulty_alloc_reset();
    }
    fclose(record);
    return err;
}

/* Each line of got is whole (JSON with every member, a response with its body) and is the
 * line of the same command as in expected. The answers may differ: a command whose
 * machinery failed is answered ServiceUnavailable (and a later one with its ClientToken
 * then makes the order), as the server would answer it. */
static void expect_same_lines(const char *got, const char *expected, uint64_t at)
{
    cr_assert(eq(sz, replay_count_lines(got), replay_count_lines(expected)), "allocation %llu",
              (unsigned long long)at);
    const char *got_line = got;
    const char *expected_line = expected;
    while (*expected_line != '\0') {
        const char *got_end = strchr(got_line, '\n');
        const char *expected_end = strchr(expected_line, '\n');
        cr_assert(got_end != NULL && expected_end != NULL);
        json_t *a = json_loadb(got_line, (size_t)(got_end - got_line), 0, NULL);
        json_t *b = json_loadb(expected_line, (size_t)(expected_end - expected_line), 0, NULL);
        cr_assert(a != NULL && b != NULL, "allocation %llu: a line is not JSON",
                  (unsigned long long)at);
        static const char *const same[] = {"ts_ms", "account", "action", "params", "request_id"};
        for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
            cr_assert(json_equal(json_object_get(a, same[i]), json_object_get(b, same[i])),
                      "allocation %llu: %s differs", (unsigned long long)at, same[i]);
        }
        json_t *response = json_object_get(a, "response");
        json_int_t status = json_integer_value(json_object_get(response, "status"));
        json_t *body = json_object_get(response, "body");
        bool const has_body =
            json_is_object(body) && json_is_string(json_object_get(body, "RequestId"));
        cr_assert(has_body, "allocation %llu: a response without its body",
                  (unsigned long long)at);
        bool const has_code = status == 200 || json_is_string(json_object_get(body, "Code"));
        cr_assert(has_code, "allocation %llu: an error without its Code", (unsigned long long)at);
        json_decref(a);
        json_decref(b);
        got_line = got_end + 1;
        expected_line = expected_end + 1;
    }
}

/* Every allocation of a recorded replay failing in turn (sampled evenly): the run either
 * fails, or succeeds with a record of every line, each whole; it never succeeds with a
 * record that lost a line or part of one. */
Test(cov_replay_alloc, a_record_is_whole_or_the_replay_fails)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("the sanitizers own the allocator");
    }
    char input[TEMPDIR_PATH_BYTES];
    write_record_input(input);
    char *expected = NULL;
    size_t expected_bytes = 0;
    cr_assert(eq(int, replay_recorded(input, "clean", -1, &expected, &expected_bytes),
                 BILLORD_OK));
    uint64_t const allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(eq(sz, replay_count_lines(expected), 3));
    uint64_t const step = allocations / 150u + 1u;
    uint64_t failed_runs = 0;
    for (uint64_t at = 1; at <= allocations; at += step) {
        char name[32];
        snprintf(name, sizeof name, "r%llu", (unsigned long long)at);
        char *text = NULL;
        size_t bytes = 0;
        billord_err err = replay_recorded(input, name, (int64_t)at, &text, &bytes);
        if (err == BILLORD_OK) {
            expect_same_lines(text, expected, at);
        } else {
            failed_runs++;
        }
        free(text);
    }
    cr_assert(failed_runs > 0);
    free(expected);
}

/* A record that cannot be written (a full device) fails the replay: it never ends OK with
 * lines missing. */
Test(cov_replay_alloc, a_record_that_cannot_be_written_fails_the_replay)
{
    char input[TEMPDIR_PATH_BYTES];
    write_record_input(input);
    char target[TEMPDIR_PATH_BYTES];
    tempdir_join(target, replay_dir, "full");
    FILE *record = fopen("/dev/full", "w");
    if (record == NULL) {
        cr_skip_test("no /dev/full");
    }
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_source_path(fixture, REPLAY_DEMO_FIXTURE);
    const char *inputs[] = {input};
    billord_replay_options options = {.data_dir = target, .fixtures_path = fixture,
                                      .inputs = inputs, .input_count = 1, .record = record};
    billord_replay_stats stats;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    billord_err err = billord_replay_run(&options, &stats, error_text, sizeof error_text);
    fclose(record);
    cr_assert(eq(int, err, BILLORD_E_IO));
    cr_assert(strstr(error_text, "--record") != NULL, "%s", error_text);
    cr_assert(eq(u64, stats.requests, 3));
}
