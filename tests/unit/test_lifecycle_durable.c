/*
 * test_lifecycle_durable.c: lifecycle work is exactly once across crashes, and a tick over
 * many due instances runs in bounded pieces (docs/lifecycle.md).
 *
 * Method: ticks go through the durable db (so they are logged); "the state lost its last
 * commits" is made by restoring an older copy of LMDB, as a power loss under
 * MDB_NOMETASYNC may; recovery then replays the logged ticks, which must emit the same
 * events once, not again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/timeutil.h>

#include "support/db_harness.h"
#include "support/harness.h"

#define MANY_INSTANCES 1200

static billord_outcome tick(billord_db *db, int64_t now_ms)
{
    billord_command command = {.kind = BILLORD_COMMAND_TICK, .now_ms = now_ms, .account = "",
                               .action = ""};
    snprintf(command.request_id, sizeof command.request_id, "TICK-%lld", (long long)now_ms);
    billord_outcome outcome;
    cr_assert(eq(int, billord_db_execute(db, &command, &outcome), BILLORD_OK));
    cr_assert(eq(int, outcome.code, BILLORD_API_OK));
    return outcome;
}

static char *all_events(billord_db *db)
{
    json_t *events = NULL;
    cr_assert(eq(int, billord_engine_events(billord_db_engine(db), 0, 100000, &events), BILLORD_OK));
    char *text = json_dumps(events, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(events);
    return text;
}

static void copy_tree(const char *from, const char *to)
{
    char command[3 * TEMPDIR_PATH_BYTES];
    snprintf(command, sizeof command, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    cr_assert(eq(int, system(command), 0));
}

Test(lifecycle_durable, reminders_and_charges_are_emitted_once_across_a_lost_commit, .timeout = 120)
{
    char dir[TEMPDIR_PATH_BYTES], state_dir[TEMPDIR_PATH_BYTES], saved[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    tempdir_join(state_dir, dir, "state");
    tempdir_join(saved, dir, "state-saved");
    db_harness_seed(dir, "tests/fixtures/lifecycle.json");
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    int64_t day_ms = BILLORD_MS_PER_DAY;
    int64_t start_ms = 1798070400000LL;          /* 2026-12-24T00:00:00Z */
    tick(db, start_ms);
    billord_db_close(db);
    copy_tree(state_dir, saved);                   /* LMDB as of the first tick */
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    for (int day = 1; day <= 10; day++) {
        tick(db, start_ms + day * day_ms);          /* reminders, retries, expiry */
    }
    char *before = all_events(db);
    billord_db_close(db);
    copy_tree(saved, state_dir);                   /* the state lost ten ticks */
    billord_db_recovery info;
    db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_assert(eq(u64, info.commands_replayed, 10));
    char *after = all_events(db);
    cr_assert(eq(str, after, before), "the same events, once");
    /* A tick again at the same time adds nothing. */
    tick(db, start_ms + 10 * day_ms);
    char *again = all_events(db);
    cr_assert(eq(str, again, before));
    free(before);
    free(after);
    free(again);
    billord_db_close(db);
    tempdir_remove(dir);
}

Test(lifecycle_durable, a_tick_over_many_due_instances_runs_in_bounded_pieces, .timeout = 120)
{
    harness h;
    harness_open(&h, "tests/fixtures/lifecycle-many.json");
    int64_t charge_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339("2026-12-23T00:00:00Z", &charge_ms), BILLORD_OK));
    /* All 600 auto-renewing instances are due at the same slot, the others' reminders before. */
    uint32_t ticks = harness_tick(&h, charge_ms);
    uint32_t due_at_most = (MANY_INSTANCES + BILLORD_TICK_INSTANCES_MAX - 1) / BILLORD_TICK_INSTANCES_MAX;
    cr_assert(ticks >= 3 && ticks <= due_at_most + 1, "%u tick commands", ticks);
    json_t *events = NULL;
    cr_assert(eq(int, billord_engine_events(h.engine, 0, 100000, &events), BILLORD_OK));
    size_t succeeded = 0, reminders = 0;
    size_t index;
    json_t *event;
    json_array_foreach(events, index, event) {
        const char *kind = json_string_value(json_object_get(event, "kind"));
        succeeded += strcmp(kind, "RenewalSucceeded") == 0;
        reminders += strcmp(kind, "ExpiryReminder") == 0;
    }
    json_decref(events);
    cr_assert(eq(sz, succeeded, MANY_INSTANCES / 2));
    cr_assert(eq(sz, reminders, 0), "T-9d comes before the T-7d reminders");
    /* Past T-7d: the 600 Normal instances get their first reminder, each once. */
    harness_tick(&h, charge_ms + 2 * BILLORD_MS_PER_DAY);
    cr_assert(eq(int, billord_engine_events(h.engine, 0, 100000, &events), BILLORD_OK));
    json_array_foreach(events, index, event) {
        reminders += strcmp(json_string_value(json_object_get(event, "kind")), "ExpiryReminder") == 0;
    }
    json_decref(events);
    cr_assert(eq(sz, reminders, MANY_INSTANCES / 2));
    /* Each renewed exactly once: its expiry moved by one month. */
    for (int i = 0; i < MANY_INSTANCES; i += 2) {
        char id[32];
        snprintf(id, sizeof id, "i-many%05d", i);
        cr_assert(eq(i64, harness_instance(&h, id).expires_ms, 1801411200000LL), "%s", id);
    }
    harness_close(&h);
}
