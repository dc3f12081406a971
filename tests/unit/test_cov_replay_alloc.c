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
