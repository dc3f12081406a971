/*
 * test_db.c: the durable engine (billord/db.h): group commit, in-flight tokens answered at
 * once, recovery of commands that reached the log, fail-stop, back-pressure.
 *
 * Method: a real data directory per test; concurrency through plain threads; log faults
 * through the fault-injecting file system of tests/support/faulty_fs.h; "LMDB lost its
 * last commits" by restoring an older copy of the state directory, as a power loss under
 * MDB_NOMETASYNC may.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "support/db_harness.h"
#include "support/faulty_fs.h"

#define NOW_MS 1795305600000LL

DB_HARNESS_SUITE(db);

Test(db, acknowledged_order_survives_reopen)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_outcome first = db_harness_renew(db, "i-crash0000", "reopen-1", NOW_MS);
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    billord_db_close(db);
    billord_db_recovery info;
    db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_expect(eq(u64, info.applied_lsn_before, 1));
    cr_expect(eq(u64, info.records_replayed, 0), "the state already had the record");
    billord_outcome again = db_harness_renew(db, "i-crash0000", "reopen-1", NOW_MS);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
    cr_assert(eq(i64, db_harness_order_count(db), 1));
    billord_db_close(db);
}

Test(db, parameter_error_is_answered_without_the_log)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_param params[] = {{"InstanceId", "i-crash0000"}, {"Period", "01"}};
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST, .now_ms = NOW_MS,
                               .account = CRASH_ACCOUNT, .action = "RenewInstance",
                               .param_count = 2, .params = params};
    billord_outcome outcome;
    cr_assert(eq(int, billord_db_execute(db, &command, &outcome), BILLORD_OK));
    cr_assert(eq(int, outcome.code, BILLORD_API_INVALID_PERIOD));
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_assert(eq(u64, stats.batches, 0));
    billord_db_close(db);
}

typedef struct storm_ctx {
    billord_db *db;
    const char *token;
    char instance[32];
    billord_outcome outcome;
    pthread_barrier_t *barrier;
} storm_ctx;

static void *storm_thread(void *arg)
{
    storm_ctx *ctx = arg;
    pthread_barrier_wait(ctx->barrier);
    ctx->outcome = db_harness_renew(ctx->db, ctx->instance, ctx->token, NOW_MS);
    return NULL;
}

Test(db, concurrent_same_token_gives_one_order)
{
    enum { THREADS = 16 };
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    storm_ctx ctx[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ctx[i] = (storm_ctx){.db = db, .token = "storm-token", .barrier = &barrier};
        snprintf(ctx[i].instance, sizeof ctx[i].instance, "i-crash0001");
        pthread_create(&threads[i], NULL, storm_thread, &ctx[i]);
    }
    uint64_t order_id = 0;
    int succeeded = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        billord_outcome *o = &ctx[i].outcome;
        if (o->code == BILLORD_API_OK) {
            succeeded++;
            cr_assert(order_id == 0 || order_id == o->order_id, "two order ids for one token");
            order_id = o->order_id;
        } else {
            cr_assert(eq(int, o->code, BILLORD_API_LAST_TOKEN_PROCESSING), "code %s",
                      billord_api_code_text(o->code));
        }
    }
    cr_assert(succeeded >= 1);
    cr_assert(eq(i64, db_harness_order_count(db), 1));
    pthread_barrier_destroy(&barrier);
    billord_db_close(db);
}

Test(db, concurrent_writers_share_syncs)
{
    enum { THREADS = 32, PER_THREAD = 40 };
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    storm_ctx ctx[THREADS];
    pthread_t threads[THREADS];
    char tokens[THREADS][PER_THREAD][24];
    for (int round = 0; round < PER_THREAD; round++) {
        pthread_barrier_init(&barrier, NULL, THREADS);
        for (int i = 0; i < THREADS; i++) {
            snprintf(tokens[i][round], sizeof tokens[i][round], "gc-%d-%d", i, round);
            ctx[i] = (storm_ctx){.db = db, .token = tokens[i][round], .barrier = &barrier};
            snprintf(ctx[i].instance, sizeof ctx[i].instance, "i-crash%04d", i % 16);
            pthread_create(&threads[i], NULL, storm_thread, &ctx[i]);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(threads[i], NULL);
            cr_assert(eq(int, ctx[i].outcome.code, BILLORD_API_OK));
        }
        pthread_barrier_destroy(&barrier);
    }
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_assert(eq(u64, stats.commands, THREADS * PER_THREAD));
    cr_assert(stats.batches < stats.commands, "group commit: %llu batches for %llu commands",
              (unsigned long long)stats.batches, (unsigned long long)stats.commands);
    cr_assert(stats.batch_commands_max > 1);
    cr_assert(eq(i64, db_harness_order_count(db), THREADS * PER_THREAD));
    billord_db_close(db);
}

Test(db, commands_in_the_log_but_not_in_the_state_are_applied_once)
{
    char state_dir[TEMPDIR_PATH_BYTES], saved_state[TEMPDIR_PATH_BYTES];
    tempdir_join(state_dir, dir, "state");
    tempdir_join(saved_state, dir, "state-before");
    db_harness_copy_tree(state_dir, saved_state);             /* LMDB as seeded: applied_lsn 0 */
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_outcome answers[20];
    char tokens[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(tokens[i], sizeof tokens[i], "rec-%d", i);
        answers[i] = db_harness_renew(db, "i-crash0002", tokens[i], NOW_MS + i);
        cr_assert(eq(int, answers[i].code, BILLORD_API_OK));
    }
    billord_db_close(db);
    db_harness_copy_tree(saved_state, state_dir);             /* the state lost every commit */
    billord_db_recovery info;
    db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_assert(eq(u64, info.applied_lsn_before, 0));
    cr_assert(eq(u64, info.commands_replayed, 20));
    cr_assert(eq(i64, db_harness_order_count(db), 20));
    for (int i = 0; i < 20; i++) {
        billord_outcome again = db_harness_renew(db, "i-crash0002", tokens[i], NOW_MS + 100);
        cr_expect(again.idempotent_replay, "token %s", tokens[i]);
        cr_expect(eq(u64, again.order_id, answers[i].order_id));
        cr_expect(eq(str, again.request_id, answers[i].request_id));
    }
    cr_assert(eq(i64, db_harness_order_count(db), 20));
    billord_db_close(db);
}

Test(db, failed_sync_is_final_and_loses_nothing_acknowledged)
{
    faulty_fs *fs = faulty_fs_new();
    billord_db *db = db_harness_open(dir, faulty_fs_table(fs), NULL, NULL, NULL);
    billord_outcome ok = db_harness_renew(db, "i-crash0003", "before-fault", NOW_MS);
    cr_assert(eq(int, ok.code, BILLORD_API_OK));
    faulty_fs_fail_at(fs, faulty_fs_calls(fs) + 1, FAULTY_MASK(FAULTY_OP_FDATASYNC), FAULTY_EIO,
                      false);
    billord_outcome failed = db_harness_renew(db, "i-crash0003", "at-fault", NOW_MS);
    cr_assert(eq(int, failed.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_assert(billord_db_failed(db));
    /* The fault was one-off, but the failure is final: a later sync could lie. */
    billord_outcome after = db_harness_renew(db, "i-crash0003", "after-fault", NOW_MS);
    cr_assert(eq(int, after.code, BILLORD_API_SERVICE_UNAVAILABLE));
    billord_db_close(db);
    faulty_fs_free(fs);
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_outcome replay = db_harness_renew(db, "i-crash0003", "before-fault", NOW_MS);
    cr_assert(replay.idempotent_replay);
    cr_assert(eq(u64, replay.order_id, ok.order_id));
    billord_outcome retry = db_harness_renew(db, "i-crash0003", "after-fault", NOW_MS);
    cr_assert(eq(int, retry.code, BILLORD_API_OK), "an unanswered command may run on retry");
    billord_db_close(db);
}

Test(db, failed_write_is_final)
{
    faulty_fs *fs = faulty_fs_new();
    billord_db *db = db_harness_open(dir, faulty_fs_table(fs), NULL, NULL, NULL);
    faulty_fs_fail_at(fs, faulty_fs_calls(fs) + 1, FAULTY_MASK(FAULTY_OP_PWRITE), FAULTY_ENOSPC,
                      true);
    billord_outcome failed = db_harness_renew(db, "i-crash0004", "enospc", NOW_MS);
    cr_assert(eq(int, failed.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_assert(billord_db_failed(db));
    billord_db_close(db);
    faulty_fs_free(fs);
    db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(eq(i64, db_harness_order_count(db), 0));
    billord_db_close(db);
}

Test(db, power_loss_keeps_every_acknowledged_order)
{
    char state_dir[TEMPDIR_PATH_BYTES], saved_state[TEMPDIR_PATH_BYTES];
    tempdir_join(state_dir, dir, "state");
    tempdir_join(saved_state, dir, "state-before");
    faulty_fs *fs = faulty_fs_new();
    faulty_fs_buffer_writes(fs, true);
    billord_db *db = db_harness_open(dir, faulty_fs_table(fs), NULL, NULL, NULL);
    billord_outcome answers[10];
    char tokens[10][16];
    for (int i = 0; i < 10; i++) {
        snprintf(tokens[i], sizeof tokens[i], "pl-%d", i);
        answers[i] = db_harness_renew(db, "i-crash0005", tokens[i], NOW_MS);
        cr_assert(eq(int, answers[i].code, BILLORD_API_OK));
        if (i == 4) {
            db_harness_copy_tree(state_dir, saved_state);     /* LMDB as of five commits */
        }
    }
    /* Power fails: the log keeps only what was synced; LMDB falls back five commits. */
    faulty_fs_crash(fs, 0, 0);
    billord_db_close(db);
    faulty_fs_free(fs);
    db_harness_copy_tree(saved_state, state_dir);
    billord_db_recovery info;
    db = db_harness_open(dir, NULL, NULL, &info, NULL);
    cr_assert(eq(u64, info.commands_replayed, 5));
    for (int i = 0; i < 10; i++) {
        billord_outcome again = db_harness_renew(db, "i-crash0005", tokens[i], NOW_MS);
        cr_expect(again.idempotent_replay, "token %s lost", tokens[i]);
        cr_expect(eq(u64, again.order_id, answers[i].order_id));
    }
    cr_assert(eq(i64, db_harness_order_count(db), 10));
    billord_db_close(db);
}

Test(db, corrupt_log_record_stops_start_up_naming_the_place)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_assert(eq(int, db_harness_renew_many(db, "i-crash0006", "cor", 3, NOW_MS), 3));
    billord_db_close(db);
    /* Flip one byte inside the first record's payload (not the tail: two records follow). */
    char wal_file[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_file, dir, "wal/00000000000000000001.seg");
    FILE *file = fopen(wal_file, "r+b");
    cr_assert(file != NULL);
    fseek(file, 64 + 20 + 5, SEEK_SET);
    int byte = fgetc(file);
    fseek(file, 64 + 20 + 5, SEEK_SET);
    fputc(byte ^ 0x40, file);
    fclose(file);
    billord_db_recovery info;
    billord_err err;
    db = db_harness_open(dir, NULL, NULL, &info, &err);
    cr_assert(eq(int, err, BILLORD_E_WAL_CORRUPT));
    cr_assert(db == NULL);
    cr_assert(strstr(info.error_text, "00000000000000000001.seg") != NULL, "text: %s",
              info.error_text);
}

Test(db, queue_full_answers_service_unavailable_at_once)
{
    billord_db_config config = {.data_dir = dir, .map_bytes = 256ULL << 20, .queue_commands = 1};
    billord_db *db = NULL;
    cr_assert(eq(int, billord_db_open(&config, &db, NULL), BILLORD_OK));
    enum { THREADS = 24 };
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    storm_ctx ctx[THREADS];
    pthread_t threads[THREADS];
    char tokens[THREADS][16];
    for (int i = 0; i < THREADS; i++) {
        snprintf(tokens[i], sizeof tokens[i], "q-%d", i);
        ctx[i] = (storm_ctx){.db = db, .token = tokens[i], .barrier = &barrier};
        snprintf(ctx[i].instance, sizeof ctx[i].instance, "i-crash%04d", i % 16);
        pthread_create(&threads[i], NULL, storm_thread, &ctx[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (ctx[i].outcome.code == BILLORD_API_OK) {
            ok++;
        } else {
            cr_assert(eq(int, ctx[i].outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
            cr_assert(strstr(ctx[i].outcome.message, "queue is full") != NULL);
        }
    }
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_assert(eq(u64, (uint64_t)(THREADS - ok), stats.rejected_queue_full));
    cr_assert(eq(i64, db_harness_order_count(db), ok));
    pthread_barrier_destroy(&barrier);
    billord_db_close(db);
}
