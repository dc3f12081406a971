/*
 * test_cov_engine.c: the edges of the engine and its ClientToken state machine that the
 * action suites do not reach: refused open arguments, commands without an account or
 * action (these aborted in the canonical form before the engine's own "unknown action"
 * answer: fixed with this suite), a read through the write path and a write through the
 * read path, and a store
 * that runs out of map space mid-stream (ServiceUnavailable, never memoized: the same
 * token is answered again, not replayed as the failure). Also what the configuration
 * given at open does: a data directory that cannot be made, the token retention, the
 * lifecycle policy and the LMDB sync mode.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/engine.h>
#include <billord/fixture.h>
#include <billord/lifecycle.h>

#include "engine/engine_internal.h"
#include "support/db_harness.h"
#include "support/harness.h"
#include "support/tempdir.h"

/* Seed an engine from the demo fixture. */
static void seed_demo(billord_engine *engine)
{
    billord_fixture fixture = db_harness_fixture("fixtures/demo.json");
    cr_assert(eq(int, billord_engine_seed(engine, &fixture), BILLORD_OK));
    billord_fixture_free(&fixture);
}

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
    seed_demo(engine);

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

/* ---- the configuration given at open --------------------------------------------- */

Test(cov_engine, open_refuses_a_data_dir_it_cannot_make, .timeout = 10)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    char path[TEMPDIR_PATH_BYTES];
    billord_engine *engine = NULL;
    billord_engine_config config = {.data_dir = path};
    /* Its parent does not exist. */
    tempdir_join(path, dir, "missing/data");
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_IO));
    /* It is a file. */
    tempdir_join(path, dir, "file");
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL);
    fclose(file);
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_IO));
    /* It is a symbolic link to nothing (it exists, but is no directory). */
    char target[TEMPDIR_PATH_BYTES];
    tempdir_join(target, dir, "nowhere");
    tempdir_join(path, dir, "dangling");
    cr_assert(eq(int, symlink(target, path), 0));
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_IO));
    /* The data directory is fine but its state/ is a file. */
    tempdir_join(path, dir, "data");
    cr_assert(eq(int, mkdir(path, 0755), 0));
    char state[TEMPDIR_PATH_BYTES];
    tempdir_join(state, path, "state");
    file = fopen(state, "w");
    cr_assert(file != NULL);
    fclose(file);
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_IO));
    cr_expect(engine == NULL);
    tempdir_remove(dir);
}

/* The longest data directory whose state/ path still fits is not refused as an argument
 * (the file system then refuses its 4089-byte name); one byte more is. */
Test(cov_engine, open_takes_a_data_dir_up_to_the_path_limit, .timeout = 10)
{
    static char long_dir[4096];
    billord_engine *engine = NULL;
    billord_engine_config config = {.data_dir = long_dir};
    memset(long_dir, 'd', 4090);
    long_dir[0] = '/';
    long_dir[4090] = '\0';
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_INVALID_ARGUMENT));
    long_dir[4089] = '\0';
    cr_expect(eq(int, billord_engine_open(&config, &engine), BILLORD_E_IO));
    cr_expect(engine == NULL);
}

/* An engine opened with config on a fresh directory, seeded from the demo fixture, in a
 * harness (so that the harness calls work on it). */
static void open_configured(harness *h, billord_engine_config config)
{
    memset(h, 0, sizeof *h);
    tempdir_make(h->dir);
    config.data_dir = h->dir;
    config.map_bytes = 64ULL << 20;
    cr_assert(eq(int, billord_engine_open(&config, &h->engine), BILLORD_OK));
    seed_demo(h->engine);
    h->now_ms = HARNESS_DEMO_CLOCK_MS;
}

static billord_outcome renew_with_token(harness *h, const char *token)
{
    return harness_call(h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001", "Period",
                        "1", "ClientToken", token, NULL);
}

Test(cov_engine, a_token_retention_given_at_open_decides_when_tokens_go, .timeout = 20)
{
    const int64_t hour_ms = 3600LL * 1000;
    harness h;
    open_configured(&h, (billord_engine_config){.token_retention_ms = hour_ms});
    billord_outcome first = renew_with_token(&h, "tok-1");
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    h.now_ms += hour_ms / 2;                    /* within the retention: a replay */
    billord_outcome replay = renew_with_token(&h, "tok-1");
    cr_expect(replay.idempotent_replay);
    cr_expect(eq(u64, replay.order_id, first.order_id));
    h.now_ms += hour_ms;                        /* past it: the next batch prunes tok-1 */
    cr_assert(eq(int, renew_with_token(&h, "tok-2").code, BILLORD_API_OK));
    cr_expect(eq(i64, harness_token_count(&h), 1));
    billord_outcome anew = renew_with_token(&h, "tok-1");
    cr_expect(eq(int, anew.code, BILLORD_API_OK));
    cr_expect(not(anew.idempotent_replay));
    cr_expect(anew.order_id != first.order_id);
    harness_close(&h);
}

/* ECS instances are Expired at their expiry by default; a policy may lock them instead. */
Test(cov_engine, a_policy_given_at_open_is_the_one_applied, .timeout = 20)
{
    const int64_t after_expiry_ms = 1797465600000LL;   /* i-acc0002 expired on 2026-12-15 */
    harness plain;
    open_configured(&plain, (billord_engine_config){.policy = NULL});
    harness_tick(&plain, after_expiry_ms);
    cr_expect(eq(int, harness_instance(&plain, "i-acc0002").status, BILLORD_STATUS_EXPIRED));
    harness_close(&plain);

    billord_lifecycle_policy policy;
    billord_lifecycle_policy_default(&policy);
    policy.products[BILLORD_PRODUCT_ECS].expired_status = BILLORD_STATUS_LOCKED;
    harness locking;
    open_configured(&locking, (billord_engine_config){.policy = &policy});
    harness_tick(&locking, after_expiry_ms);
    cr_expect(eq(int, harness_instance(&locking, "i-acc0002").status, BILLORD_STATUS_LOCKED));
    harness_close(&locking);
}

/* What each LMDB mode asks of LMDB (docs/durability.md, "LMDB mode"). */
Test(cov_engine, each_lmdb_mode_opens_lmdb_with_its_flags, .timeout = 20)
{
    struct {
        billord_lmdb_mode mode;
        unsigned set;
        unsigned clear;
    } modes[] = {
        {BILLORD_LMDB_NOMETASYNC, MDB_NOMETASYNC, MDB_NOSYNC | MDB_WRITEMAP},
        {BILLORD_LMDB_SYNC, 0, MDB_NOMETASYNC | MDB_NOSYNC | MDB_WRITEMAP},
        {BILLORD_LMDB_NOSYNC_UNSAFE, MDB_NOSYNC, MDB_NOMETASYNC | MDB_WRITEMAP},
        {BILLORD_LMDB_SNAPSHOT, MDB_NOSYNC | MDB_WRITEMAP, MDB_NOMETASYNC},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        harness h;
        open_configured(&h, (billord_engine_config){.lmdb_mode = modes[i].mode});
        unsigned flags = 0;
        cr_assert(eq(int, mdb_env_get_flags(h.engine->store->env, &flags), 0));
        cr_expect(eq(u32, flags & modes[i].set, modes[i].set), "mode %d", (int)modes[i].mode);
        cr_expect(eq(u32, flags & modes[i].clear, 0), "mode %d", (int)modes[i].mode);
        /* And it works: a renewal commits and is there after a reopen. */
        billord_outcome first = renew_with_token(&h, "tok-1");
        cr_expect(eq(int, first.code, BILLORD_API_OK));
        cr_expect(eq(int, billord_engine_sync(h.engine), BILLORD_OK));
        harness_reopen(&h);
        cr_expect(renew_with_token(&h, "tok-1").idempotent_replay, "mode %d", (int)modes[i].mode);
        harness_close(&h);
    }
}

/* A command with no action at all, or an unknown one, on every path. */
Test(cov_engine, commands_without_a_known_action, .timeout = 20)
{
    harness h;
    harness_open(&h, "fixtures/demo.json");
    billord_param params[2];
    billord_command none = harness_command(&h, ACCOUNT_MAIN, NULL, params, "ClientToken", "t",
                                           NULL);
    billord_command unknown = harness_command(&h, ACCOUNT_MAIN, "NoSuchAction", params,
                                              "ClientToken", "t", NULL);
    billord_outcome outcome;
    const char *token = "unset";
    cr_expect(not(billord_engine_validate(&none, &outcome, &token)));
    cr_expect(eq(int, outcome.code, BILLORD_API_ACTION_NOT_FOUND));
    cr_expect(token == NULL);
    token = "unset";
    cr_expect(not(billord_engine_validate(&unknown, &outcome, &token)));
    cr_expect(eq(int, outcome.code, BILLORD_API_ACTION_NOT_FOUND));
    cr_expect(token == NULL);

    billord_command batch[2] = {none, unknown};
    billord_outcome outcomes[2];
    cr_expect(eq(int, billord_engine_submit(h.engine, batch, 2, 0, NULL, outcomes, NULL),
                 BILLORD_OK));
    cr_expect(eq(int, outcomes[0].code, BILLORD_API_ACTION_NOT_FOUND));
    cr_expect(eq(int, outcomes[1].code, BILLORD_API_ACTION_NOT_FOUND));
    cr_expect(eq(i64, harness_token_count(&h), 0));

    json_t *fields = NULL;
    cr_expect(eq(int, billord_engine_query(h.engine, &unknown, &outcome, &fields), BILLORD_OK));
    cr_expect(eq(int, outcome.code, BILLORD_API_ACTION_NOT_FOUND));
    cr_expect(fields == NULL);
    harness_close(&h);
}
