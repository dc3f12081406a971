/*
 * test_cov_token_nomem.c: the engine (src/engine/engine.c) when memory runs out
 * (tests/support/faulty_alloc.h). Opening an engine fails, and hands out no engine,
 * whichever of its allocations fails; validating a command whose work area cannot be
 * allocated answers ServiceUnavailable (a failure of the machinery, so the client may
 * retry) with the command's RequestId, and names no ClientToken. Once memory is back the
 * same calls work.
 *
 * Sanitizer builds own the allocator: there these tests are skipped.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/engine.h>

#include "support/faulty_alloc.h"
#include "support/harness.h"
#include "support/tempdir.h"

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("allocations cannot be made to fail in a sanitizer build");
    }
    tempdir_make(dir);
}

static void teardown(void)
{
    faulty_alloc_reset();
    if (faulty_alloc_supported()) {
        tempdir_remove(dir);
    }
}

TestSuite(cov_token_nomem, .init = setup, .fini = teardown, .timeout = 60);

static billord_err open_engine(billord_engine **out_engine)
{
    billord_engine_config config = {.data_dir = dir, .map_bytes = 64ULL << 20};
    return billord_engine_open(&config, out_engine);
}

/* Every allocation opening makes (the engine, its work area, the store, LMDB's own, the
 * decoder's) failing in turn refuses the open; the first three, the engine's and the
 * store's own, answer BILLORD_E_NOMEM. */
Test(cov_token_nomem, an_engine_that_cannot_allocate_does_not_open)
{
    billord_engine *engine = NULL;
    cr_assert(eq(int, open_engine(&engine), BILLORD_OK));     /* the store now exists */
    billord_engine_close(engine);
    faulty_alloc_count(false);
    billord_err err = open_engine(&engine);
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(eq(int, err, BILLORD_OK));
    billord_engine_close(engine);
    cr_assert(allocations >= 2);
    for (uint64_t k = 1; k <= allocations; k++) {
        engine = NULL;
        faulty_alloc_fail_at(k, false, false);
        err = open_engine(&engine);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        cr_expect(err != BILLORD_OK, "allocation %llu", (unsigned long long)k);
        if (k <= 3) {
            cr_expect(eq(int, err, BILLORD_E_NOMEM), "allocation %llu", (unsigned long long)k);
        }
        cr_expect(eq(u64, failures, 1));
        cr_expect(engine == NULL, "allocation %llu", (unsigned long long)k);
        billord_engine_close(engine);
    }
    cr_assert(eq(int, open_engine(&engine), BILLORD_OK));
    billord_engine_close(engine);
}

Test(cov_token_nomem, a_command_whose_work_area_cannot_be_allocated_is_not_validated)
{
    billord_param params[] = {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                              {"ClientToken", "tok-1"}};
    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.now_ms = HARNESS_DEMO_CLOCK_MS;
    strcpy(command.request_id, "00000000-0000-4000-8000-000000000001");
    command.account = ACCOUNT_MAIN;
    command.action = "RenewInstance";
    command.param_count = 3;
    command.params = params;
    billord_outcome outcome;
    memset(&outcome, 0xab, sizeof outcome);     /* whatever the caller's memory held */
    const char *token = "unset";
    faulty_alloc_fail_at(1, false, false);      /* validation allocates once, first */
    bool valid = billord_engine_validate(&command, &outcome, &token);
    uint64_t failures = faulty_alloc_failures();
    faulty_alloc_reset();
    cr_expect(not(valid));
    cr_expect(eq(u64, failures, 1));
    cr_expect(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    /* The answer is complete: it carries the command's RequestId and nothing else. (It
     * carried the caller's stale bytes as RequestId before the engine set it here.) */
    cr_expect(eq(str, outcome.request_id, command.request_id));
    cr_expect(not(outcome.has_order_id));
    cr_expect(not(outcome.idempotent_replay));
    cr_expect(not(outcome.tick_more_due));
    cr_expect(token == NULL);

    cr_expect(billord_engine_validate(&command, &outcome, &token));
    cr_expect(eq(int, outcome.code, BILLORD_API_OK));
    cr_expect(token != NULL && strcmp(token, "tok-1") == 0);
}
