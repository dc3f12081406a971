/*
 * test_snapshot.c: snapshot mode (LMDB without syncs, snapshots beside the log) keeps every
 * acknowledged order through a killed process and through a power loss (docs/durability.md).
 *
 * Method: a child process seeds nothing itself; it opens the seeded directory in snapshot
 * mode with a small snapshot threshold, acknowledges renewals to a pipe, and is killed with
 * SIGKILL. A power loss is then simulated the way it hurts LMDB without syncs: the LMDB file
 * is overwritten with garbage in its middle and the recorded boot id is changed, so start-up
 * must rebuild from the snapshot and replay the log. Every acknowledged token must hold its
 * order.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "support/db_harness.h"

#define SNAPSHOT_NOW_MS 1795305600000LL
#define SNAPSHOT_LOG_BYTES 8192u
#define SNAPSHOT_ACKS_MAX 200000u
#define SNAPSHOT_RUN_US 400000u

DB_HARNESS_SUITE(snapshot);

static _Noreturn void child_main(int pipe_fd)
{
    billord_db *db = db_harness_open_mode(dir, BILLORD_LMDB_SNAPSHOT, SNAPSHOT_LOG_BYTES, NULL,
                                          NULL);
    for (uint64_t n = 0;; n++) {
        char token[40];
        char instance[32];
        snprintf(token, sizeof token, "snap-%d-%llu", (int)getpid(), (unsigned long long)n);
        snprintf(instance, sizeof instance, "i-crash%04u", (unsigned)(n % CRASH_INSTANCES));
        billord_outcome outcome = db_harness_renew(db, instance, token, SNAPSHOT_NOW_MS);
        if (outcome.code != BILLORD_API_OK) {
            _exit(3);
        }
        char line[96];
        int length = snprintf(line, sizeof line, "%s %llu\n", token,
                              (unsigned long long)outcome.order_id);
        if (write(pipe_fd, line, (size_t)length) != length) {
            _exit(4);
        }
    }
}

typedef struct acks {
    char (*tokens)[40];
    uint64_t *order_ids;
    size_t count;
} acks;

/* Run a child for a while, kill it, collect what it acknowledged. */
static void run_and_kill(acks *out)
{
    int fds[2];
    cr_assert(eq(int, pipe(fds), 0));
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        close(fds[0]);
        child_main(fds[1]);
    }
    close(fds[1]);
    usleep(SNAPSHOT_RUN_US);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    bool killed = WIFSIGNALED(status);
    cr_assert(killed, "the child stopped by itself (%d)", status);
    FILE *in = fdopen(fds[0], "r");
    char token[40];
    unsigned long long order_id = 0;
    while (out->count < SNAPSHOT_ACKS_MAX && fscanf(in, "%39s %llu", token, &order_id) == 2) {
        memcpy(out->tokens[out->count], token, sizeof token);
        out->order_ids[out->count++] = order_id;
    }
    fclose(in);
}

static void expect_acks_kept(billord_db *db, const acks *a)
{
    for (size_t i = 0; i < a->count; i++) {
        char id[96];
        snprintf(id, sizeof id, "%s:%s", CRASH_ACCOUNT, a->tokens[i]);
        json_t *record = NULL;
        billord_err err = billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_TOKEN, id,
                                                 &record);
        cr_assert(eq(int, err, BILLORD_OK), "acknowledged token %s is lost", a->tokens[i]);
        cr_assert(eq(u64, (uint64_t)json_integer_value(json_object_get(record, "order_id")),
                     a->order_ids[i]), "token %s changed its order", a->tokens[i]);
        json_decref(record);
    }
}

static void trash_lmdb(void)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "state/data.mdb");
    int fd = open(path, O_WRONLY);
    cr_assert(fd >= 0);
    static char garbage[64 * 1024];
    memset(garbage, 0xA5, sizeof garbage);
    /* Pages 2.. hold the trees (0 and 1 are the meta pages): a torn write there is fatal. */
    cr_assert(pwrite(fd, garbage, sizeof garbage, 2 * 4096) == (ssize_t)sizeof garbage);
    close(fd);
}

static acks acks_new(void)
{
    acks a = {calloc(SNAPSHOT_ACKS_MAX, 40), calloc(SNAPSHOT_ACKS_MAX, sizeof(uint64_t)), 0};
    return a;
}

static void acks_free(acks *a)
{
    free(a->tokens);
    free(a->order_ids);
}

Test(snapshot, power_loss_rebuilds_from_the_snapshot_and_the_log)
{
    acks a = acks_new();
    run_and_kill(&a);
    cr_assert(a.count > 0, "the child acknowledged nothing");
    trash_lmdb();
    db_harness_reboot(dir);
    billord_db_recovery info;
    billord_db *db = db_harness_open_mode(dir, BILLORD_LMDB_SNAPSHOT, SNAPSHOT_LOG_BYTES, &info,
                                          NULL);
    cr_assert(info.rebuilt_from_snapshot);
    cr_assert(info.commands_replayed > 0);
    expect_acks_kept(db, &a);
    cr_assert(eq(i64, db_harness_order_count(db), (int64_t)(db_harness_next_order_id(db) -
                                                             BILLORD_ORDER_ID_FIRST)),
              "no order was applied twice");
    billord_db_close(db);
    acks_free(&a);
}

Test(snapshot, a_killed_process_needs_no_rebuild)
{
    acks a = acks_new();
    run_and_kill(&a);
    run_and_kill(&a);
    billord_db_recovery info;
    billord_db *db = db_harness_open_mode(dir, BILLORD_LMDB_SNAPSHOT, SNAPSHOT_LOG_BYTES, &info,
                                          NULL);
    cr_assert(not(info.rebuilt_from_snapshot));
    expect_acks_kept(db, &a);
    billord_db_close(db);
    acks_free(&a);
}

Test(snapshot, a_clean_shutdown_then_a_reboot_needs_no_rebuild)
{
    billord_db *db = db_harness_open_mode(dir, BILLORD_LMDB_SNAPSHOT, SNAPSHOT_LOG_BYTES, NULL, NULL);
    billord_outcome first = db_harness_renew(db, "i-crash0000", "clean-1", SNAPSHOT_NOW_MS);
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    billord_db_close(db);
    db_harness_reboot(dir);
    billord_db_recovery info;
    db = db_harness_open_mode(dir, BILLORD_LMDB_SNAPSHOT, SNAPSHOT_LOG_BYTES, &info, NULL);
    cr_assert(not(info.rebuilt_from_snapshot));
    billord_outcome again = db_harness_renew(db, "i-crash0000", "clean-1", SNAPSHOT_NOW_MS);
    cr_assert(again.idempotent_replay);
    cr_assert(eq(u64, again.order_id, first.order_id));
    billord_db_close(db);
}

Test(snapshot, snapshots_are_taken_as_the_log_grows)
{
    billord_db *db = db_harness_open_mode(dir, BILLORD_LMDB_SNAPSHOT, SNAPSHOT_LOG_BYTES, NULL, NULL);
    cr_assert(eq(int, db_harness_renew_many(db, "i-crash0001", "grow", 300, SNAPSHOT_NOW_MS),
                 300));
    usleep(600000);      /* the snapshot thread polls every BILLORD_DB_SNAPSHOT_POLL_MS */
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_assert(stats.snapshots >= 2, "%llu snapshots (one after the seed, more as the log grows)",
              (unsigned long long)stats.snapshots);
    billord_db_close(db);
}
