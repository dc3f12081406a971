/*
 * test_cov_db_alloc.c: the durable db (src/db/) when an allocation fails: open, a group of
 * commands, the decoding and the applying of a log record in recovery, and the copy of a
 * snapshot in a rebuild each answer BILLORD_E_NOMEM (or ServiceUnavailable) with nothing
 * half done, and the same step succeeds once memory is there again.
 *
 * Method: tests/support/faulty_alloc fails one chosen allocation of the calling thread
 * (the Nth, optionally only of one size), so the db's other threads and the test
 * framework are untouched. Sanitizer builds bring their own allocator, which must not be
 * replaced: there the tests are skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>
#include <billord/wal_batch.h>

#include "db/snapshot.h"
#include "support/db_harness.h"
#include "support/faulty_alloc.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL

/* ---- the allocator (tests/support/faulty_alloc.h) ------------------------------------ */

typedef enum alloc_kind { ALLOC_ANY = 0, ALLOC_SIZED } alloc_kind;

/* Fail the (skip + 1)-th allocation of this thread, of exactly bytes bytes when sized. */
static void alloc_fail(alloc_kind kind, size_t bytes, uint32_t skip)
{
    if (kind == ALLOC_SIZED) {
        faulty_alloc_fail_sized(skip + 1u, bytes);
    } else {
        faulty_alloc_fail_at(skip + 1u, false, false);
    }
}

/* Disarm; how many allocations failed. */
static uint32_t alloc_disarm(void)
{
    uint32_t failures = (uint32_t)faulty_alloc_failures();
    faulty_alloc_reset();
    return failures;
}

/* How many allocations of this thread a call makes. */
static void alloc_count(void)
{
    faulty_alloc_count(false);
}

static uint32_t alloc_counted(void)
{
    uint32_t calls = (uint32_t)faulty_alloc_calls();
    faulty_alloc_reset();
    return calls;
}

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("a sanitizer owns the allocator");
    }
    db_harness_dir_open(dir);
}

static void teardown(void)
{
    alloc_disarm();
    db_harness_dir_close(dir);
}

TestSuite(cov_db_alloc, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ------------------------------------------------------------------------- */

/* count renewals logged and acknowledged, then LMDB loses them all (as seeded). */
static void logged_but_not_in_the_state(int count)
{
    char state_dir[TEMPDIR_PATH_BYTES], saved[TEMPDIR_PATH_BYTES];
    tempdir_join(state_dir, dir, "state");
    tempdir_join(saved, dir, "state-seeded");
    db_harness_copy_tree(state_dir, saved);
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(eq(int, db_harness_renew_many(db, "i-crash0000", "alloc", count, NOW_MS), count));
    billord_db_close(db);
    db_harness_copy_tree(saved, state_dir);
}

static void expect_all_recovered(int count)
{
    billord_db_recovery info;
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_expect(eq(u64, info.commands_replayed, (uint64_t)count));
    cr_expect(eq(i64, db_harness_order_count(db), count));
    billord_db_close(db);
}

/* ---- open and submit ----------------------------------------------------------------- */

Test(cov_db_alloc, open_without_memory_for_the_handle)
{
    billord_db_config config = {.data_dir = dir, .map_bytes = 256ULL << 20};
    billord_db *db = NULL;
    alloc_fail(ALLOC_ANY, 0, 0);            /* the handle is open's first allocation */
    billord_err err = billord_db_open(&config, &db, NULL);
    cr_assert(eq(u32, alloc_disarm(), 1));
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(db == NULL);
    cr_assert(eq(int, billord_db_open(&config, &db, NULL), BILLORD_OK));
    billord_db_close(db);
}

Test(cov_db_alloc, a_group_of_commands_without_memory_is_answered_unavailable)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_param params[2][4] = {
        {{"InstanceId", "i-crash0001"}, {"Period", "1"}, {"PeriodUnit", "Week"},
         {"ClientToken", "group-0"}},
        {{"InstanceId", "i-crash0002"}, {"Period", "1"}, {"PeriodUnit", "Week"},
         {"ClientToken", "group-1"}}};
    billord_command commands[2];
    for (int i = 0; i < 2; i++) {
        commands[i] = (billord_command){.kind = BILLORD_COMMAND_REQUEST, .now_ms = NOW_MS,
                                        .account = CRASH_ACCOUNT, .action = "RenewInstance",
                                        .param_count = 4, .params = params[i]};
        snprintf(commands[i].request_id, sizeof commands[i].request_id, "RID-group-%d", i);
    }
    billord_outcome outcomes[2];
    alloc_fail(ALLOC_ANY, 0, 0);            /* its waiters are its first allocation */
    billord_err err = billord_db_execute_many(db, commands, 2, outcomes);
    cr_assert(eq(u32, alloc_disarm(), 1));
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    for (int i = 0; i < 2; i++) {
        cr_expect(eq(int, outcomes[i].code, BILLORD_API_SERVICE_UNAVAILABLE));
        cr_expect(eq(str, outcomes[i].request_id, commands[i].request_id));
    }
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_expect(eq(u64, stats.commands, 0), "nothing was accepted");
    cr_expect(eq(i64, db_harness_order_count(db), 0));
    /* With memory, the same group goes through. */
    cr_expect(eq(int, billord_db_execute_many(db, commands, 2, outcomes), BILLORD_OK));
    cr_expect(eq(int, outcomes[0].code, BILLORD_API_OK));
    cr_expect(eq(int, outcomes[1].code, BILLORD_API_OK));
    billord_db_close(db);
}

/* ---- recovery ------------------------------------------------------------------------ */

/* Recovery of two logged renewals meets the allocation fault: open answers
 * BILLORD_E_NOMEM, never BILLORD_E_WAL_CORRUPT (the log is sound), says where, and changes
 * nothing: a later open recovers both. */
static void expect_recovery_out_of_memory(size_t alloc_bytes, const char *reason)
{
    logged_but_not_in_the_state(2);
    alloc_fail(ALLOC_SIZED, alloc_bytes, 0);
    billord_db_recovery info;
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, &err);
    cr_assert(eq(u32, alloc_disarm(), 1));
    cr_expect(db == NULL);
    cr_expect(eq(int, err, BILLORD_E_NOMEM), "%s", info.error_text);
    cr_expect(strstr(info.error_text, reason) != NULL, "%s", info.error_text);
    expect_all_recovered(2);
}

Test(cov_db_alloc, recovery_without_memory_to_apply_a_record_stops_and_changes_nothing)
{
    /* The outcomes of a one-command record. */
    expect_recovery_out_of_memory(sizeof(billord_outcome),
                                  "log record 1: applying its batch failed");
}

Test(cov_db_alloc, recovery_without_memory_to_decode_a_record_is_not_corruption)
{
    /* The decoded commands of a one-command record. */
    expect_recovery_out_of_memory(sizeof(billord_command),
                                  "log record 1: the batch does not decode (out of memory)");
}

/* ---- the batch decoder --------------------------------------------------------------- */

Test(cov_db_alloc, the_batch_decoder_fails_each_of_its_allocations_cleanly)
{
    billord_param params[] = {{"InstanceId", "i-crash0003"}, {"Period", "1"}};
    billord_command commands[2];
    memset(commands, 0, sizeof commands);
    for (int i = 0; i < 2; i++) {
        commands[i].kind = BILLORD_COMMAND_REQUEST;
        commands[i].now_ms = NOW_MS;
        commands[i].account = CRASH_ACCOUNT;
        commands[i].action = "RenewInstance";
        commands[i].param_count = 2;
        commands[i].params = params;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    cr_assert(eq(int, billord_wal_batch_encode(&buffer, commands, 2), BILLORD_OK));
    billord_wal_batch batch;
    alloc_count();
    cr_assert(eq(int, billord_wal_batch_decode((const uint8_t *)buffer.data, buffer.size, &batch),
                 BILLORD_OK));
    uint32_t allocations = alloc_counted();
    billord_wal_batch_free(&batch);
    cr_assert(allocations >= 3, "%u allocations", allocations);
    for (uint32_t k = 0; k < allocations; k++) {
        alloc_fail(ALLOC_ANY, 0, k);
        memset(&batch, 0x5A, sizeof batch);
        billord_err err = billord_wal_batch_decode((const uint8_t *)buffer.data, buffer.size,
                                                   &batch);
        cr_assert(eq(u32, alloc_disarm(), 1), "allocation %u", k);
        /* msgpack-c's own allocations and the batch's (arena, commands, params) alike:
         * out of memory, never a payload reported as undecodable. */
        cr_expect(eq(int, err, BILLORD_E_NOMEM), "allocation %u of %u", k, allocations);
        cr_expect(eq(sz, batch.count, 0));
        cr_expect(batch.commands == NULL && batch.params == NULL && batch.arena == NULL);
        billord_wal_batch_free(&batch);
    }
    msgpack_sbuffer_destroy(&buffer);
}

/* ---- a rebuild ----------------------------------------------------------------------- */

Test(cov_db_alloc, a_rebuild_without_memory_for_its_copy_is_tried_again)
{
    billord_engine_config engine_config = {.data_dir = dir, .map_bytes = 256ULL << 20};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&engine_config, &engine), BILLORD_OK));
    uint64_t lsn = 0;
    cr_assert(eq(int, billord__snapshot_take(billord_fs_posix(), engine, dir, &lsn), BILLORD_OK));
    billord_engine_close(engine);
    char stored[TEMPDIR_PATH_BYTES], source[TEMPDIR_PATH_BYTES];
    tempdir_join(stored, dir, BILLORD_BOOT_ID_FILE);
    tempdir_join(source, dir, "boot_id_source");
    FILE *file = fopen(stored, "w");
    cr_assert(file != NULL);
    fputs("cccccccc-0000-0000-0000-000000000001\n", file);
    fclose(file);
    file = fopen(source, "w");
    cr_assert(file != NULL);
    fputs("cccccccc-0000-0000-0000-000000000002\n", file);
    fclose(file);

    bool rebuilt = true;
    char text[1024] = "";
    alloc_fail(ALLOC_SIZED, 1u << 20, 0);  /* the copy's buffer */
    billord_err err = billord__snapshot_startup(billord_fs_posix(), dir, source, &rebuilt, text,
                                                sizeof text);
    cr_assert(eq(u32, alloc_disarm(), 1));
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(not(rebuilt));
    cr_expect(strstr(text, "restoring the snapshot failed: out of memory") != NULL, "%s", text);
    char *boot = tempdir_read_file(stored, NULL);
    cr_expect(eq(str, boot, "cccccccc-0000-0000-0000-000000000001\n"), "old boot kept: retried");
    free(boot);
    cr_expect(eq(int, billord__snapshot_startup(billord_fs_posix(), dir, source, &rebuilt, text,
                                                sizeof text),
                 BILLORD_OK), "%s", text);
    cr_expect(rebuilt);
}
