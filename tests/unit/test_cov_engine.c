/*
 * test_cov_engine.c: the edges of the engine and its ClientToken state machine that the
 * action suites do not reach: refused open arguments, commands without an account or
 * action (these aborted in the canonical form before the engine's own "unknown action"
 * answer: fixed with this suite), a read through the write path and a write through the
 * read path, and a store
 * that runs out of map space mid-stream (ServiceUnavailable, never memoized: the same
 * token is answered again, not replayed as the failure).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/engine.h>
#include <billord/fixture.h>

#include "support/harness.h"
#include "support/tempdir.h"

Test(cov_engine, open_refuses_bad_arguments, .timeout = 10)
{
    billord_engine *engine = NULL;
    billord_engine_config config = {.data_dir = NULL};
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_INVALID_ARGUMENT));
    config.data_dir = "";
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_INVALID_ARGUMENT));
    config.data_dir = "/tmp";
    config.token_retention_ms = -1;
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_INVALID_ARGUMENT));
    static char long_dir[5000];
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[0] = '/';
    config.data_dir = long_dir;
    config.token_retention_ms = 0;
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_INVALID_ARGUMENT));
    billord_engine_close(NULL);
}

Test(cov_engine, unknown_or_missing_actions, .timeout = 10)
{
    cr_expect(not(billord_action_is_known(NULL)));
    cr_expect(not(billord_action_is_read(NULL)));
    cr_expect(not(billord_action_is_read("NoSuchAction")));
    cr_expect(billord_action_is_read("DescribeOrders"));
    cr_expect(not(billord_action_is_read("RenewInstance")));

    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.action = "RenewInstance";
    command.account = NULL;                     /* never authenticated */
    billord_outcome outcome;
    const char *token = NULL;
    cr_expect(not(billord_engine_validate(&command, &outcome, &token)));
    cr_expect(eq(int, outcome.code, BILLORD_API_ACTION_NOT_FOUND));
}

Test(cov_engine, query_and_submit_refuse_the_wrong_kind, .timeout = 20)
{
    harness h;
    harness_open(&h, "fixtures/demo.json");
    billord_param params[4];
    /* A write action through the read path is not a read. */
    billord_command write = harness_command(&h, ACCOUNT_MAIN, "RenewInstance", params,
                                            "InstanceId", "i-acc0001", "Period", "1", NULL);
    billord_outcome outcome;
    json_t *fields = NULL;
    cr_expect(eq(int, billord_engine_query(h.engine, &write, &outcome, &fields),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_expect(fields == NULL);
    /* No account: refused as an unknown action, on both paths. */
    billord_command no_account = write;
    no_account.account = NULL;
    cr_expect(eq(int, billord_engine_query(h.engine, &no_account, &outcome, &fields), BILLORD_OK));
    cr_expect(eq(int, outcome.code, BILLORD_API_ACTION_NOT_FOUND));
    bool hook_ran = true;
    cr_expect(eq(int, billord_engine_submit(h.engine, &no_account, 1, 0, NULL, &outcome, &hook_ran),
                 BILLORD_OK));
    cr_expect(eq(int, outcome.code, BILLORD_API_ACTION_NOT_FOUND));
    /* A read submitted as a write is answered as a read. */
    billord_command read = harness_command(&h, ACCOUNT_MAIN, "DescribeOrders", params, NULL);
    cr_expect(eq(int, billord_engine_submit(h.engine, &read, 1, 0, NULL, &outcome, &hook_ran),
                 BILLORD_OK));
    harness_close(&h);
}

/* Renewals with fresh tokens until the map is full. */
Test(cov_engine, a_full_map_answers_service_unavailable_and_memoizes_nothing, .timeout = 120)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    billord_engine *engine = NULL;
    billord_engine_config config = {.data_dir = dir, .map_bytes = 512u * 1024u};
    cr_assert(eq(int, billord_engine_open(&config, &engine), BILLORD_OK));
    char fixture_path[TEMPDIR_PATH_BYTES];
    tempdir_source_path(fixture_path, "fixtures/demo.json");
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, billord_fixture_parse_file(fixture_path, &fixture, error_text,
                                                 sizeof error_text), BILLORD_OK));
    cr_assert(eq(int, billord_engine_seed(engine, &fixture), BILLORD_OK));
    billord_fixture_free(&fixture);

    char token[32];
    billord_param params[3] = {{"InstanceId", "i-acc0001"}, {"Period", "1"}, {"ClientToken", token}};
    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.now_ms = HARNESS_DEMO_CLOCK_MS;
    command.account = ACCOUNT_MAIN;
    command.action = "RenewInstance";
    command.param_count = 3;
    command.params = params;
    billord_outcome outcome;
    bool full = false;
    uint32_t i = 0;
    for (; i < 20000u && !full; i++) {
        snprintf(token, sizeof token, "fill-%u", i);
        snprintf(command.request_id, sizeof command.request_id,
                 "00000000-0000-4000-8000-%012u", i);
        bool hook_ran = false;
        billord_err const err =
            billord_engine_submit(engine, &command, 1, 0, NULL, &outcome, &hook_ran);
        full = err != BILLORD_OK || outcome.code == BILLORD_API_SERVICE_UNAVAILABLE;
        if (full) {
            cr_expect(outcome.code == BILLORD_API_SERVICE_UNAVAILABLE ||
                      outcome.code == BILLORD_API_INTERNAL_ERROR);
        }
    }
    cr_assert(full, "the map never filled after %u renewals", i);
    /* The failure was not memoized: the same token is decided again (and fails again). */
    bool hook_ran = false;
    billord_err const again = billord_engine_submit(engine, &command, 1, 0, NULL, &outcome, &hook_ran);
    cr_expect(not(outcome.idempotent_replay));
    cr_expect(again != BILLORD_OK || outcome.code == BILLORD_API_SERVICE_UNAVAILABLE);
    billord_engine_close(engine);
    tempdir_remove(dir);
}
