/*
 * test_cov_db_writer.c: the durable db's writer side (src/db/db.c) where test_db stops:
 * fail-stop after the log took a batch LMDB then refused, a batch refused before the log,
 * a log append that fails, a batch queued before a fail-stop, the queue taken in pieces of
 * BILLORD_BATCH_COMMANDS_MAX, callers woken by signals, close racing callers, seeding a db
 * that is in use, segment retirement in each LMDB mode, and open's refusals.
 *
 * Method: a real data directory per test. The log's billord_fs is either the fault
 * injector (tests/support/faulty_fs.h) or a "gate" that holds the writer inside the
 * fdatasync of a batch until the test lets it go, so that callers, the queue and close can
 * be lined up deterministically behind a batch in flight. LMDB faults come from
 * tests/support/faulty_lmdb.h. Every test checks the contract: the status and outcome, the
 * reason in the operator log, and after a reopen that no acknowledged order is lost and
 * no refused command left anything behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>
#include <billord/fixture.h>

#include "support/db_harness.h"
#include "support/faulty_fs.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define NOW_MS 1795305600000LL
#define SMALL_SEGMENT_BYTES 4096u

DB_HARNESS_SUITE(cov_db_writer, faulty_lmdb_reset());

/* ---- helpers ------------------------------------------------------------------------- */

/* The operator log lines the db wrote. */
typedef struct log_capture {
    pthread_mutex_t mutex;
    char lines[64][1600];
    int count;
} log_capture;

static void capture_line(void *log_ctx, const char *line)
{
    log_capture *log = log_ctx;
    pthread_mutex_lock(&log->mutex);
    if (log->count < 64) {
        snprintf(log->lines[log->count++], sizeof log->lines[0], "%s", line);
    }
    pthread_mutex_unlock(&log->mutex);
}

static int log_lines_with(log_capture *log, const char *needle)
{
    pthread_mutex_lock(&log->mutex);
    int found = 0;
    for (int i = 0; i < log->count; i++) {
        found += strstr(log->lines[i], needle) != NULL;
    }
    pthread_mutex_unlock(&log->mutex);
    return found;
}

static log_capture *log_new(void)
{
    log_capture *log = calloc(1, sizeof *log);
    cr_assert(log != NULL);
    pthread_mutex_init(&log->mutex, NULL);
    return log;
}

static billord_db_config config_for(const char *data_dir, billord_lmdb_mode mode,
                                    const billord_fs *fs, uint64_t segment_bytes,
                                    log_capture *log)
{
    billord_db_config config = {.data_dir = data_dir,
                                .map_bytes = 256ULL << 20,
                                .wal_segment_bytes = segment_bytes != 0 ? segment_bytes
                                                                        : 1ULL << 20,
                                .lmdb_mode = mode,
                                .fs = fs,
                                .wal_preparer_inline = true,
                                .log_line = log != NULL ? capture_line : NULL,
                                .log_ctx = log};
    return config;
}

static billord_db *open_config(const billord_db_config *config, billord_db_recovery *info)
{
    billord_db *db = NULL;
    billord_err err = billord_db_open(config, &db, info);
    cr_assert(eq(int, err, BILLORD_OK), "open: %s", billord_err_name(err));
    return db;
}

/* A RenewInstance of one week whose strings live in the struct (initialise in place). */
typedef struct renew_cmd {
    char instance[32];
    char token[48];
    billord_param params[4];
    billord_command command;
} renew_cmd;

static void renew_init(renew_cmd *r, const char *instance, const char *token)
{
    memset(r, 0, sizeof *r);
    snprintf(r->instance, sizeof r->instance, "%s", instance);
    snprintf(r->token, sizeof r->token, "%s", token);
    r->params[0] = (billord_param){"InstanceId", r->instance};
    r->params[1] = (billord_param){"Period", "1"};
    r->params[2] = (billord_param){"PeriodUnit", "Week"};
    r->params[3] = (billord_param){"ClientToken", r->token};
    r->command = (billord_command){.kind = BILLORD_COMMAND_REQUEST, .now_ms = NOW_MS,
                                   .account = CRASH_ACCOUNT, .action = "RenewInstance",
                                   .param_count = 4, .params = r->params};
    snprintf(r->command.request_id, sizeof r->command.request_id, "RID-%.31s", token);
}

static billord_outcome renew(billord_db *db, const char *instance, const char *token,
                             billord_err *out_err)
{
    renew_cmd r;
    renew_init(&r, instance, token);
    billord_outcome outcome;
    billord_err err = billord_db_execute(db, &r.command, &outcome);
    if (out_err != NULL) {
        *out_err = err;
    }
    return outcome;
}

/* Whether the token holds an order (a retry answers it from memory). */
static bool token_kept(billord_db *db, const char *token, uint64_t *out_order_id)
{
    char id[128];
    snprintf(id, sizeof id, "%s:%s", CRASH_ACCOUNT, token);
    json_t *record = NULL;
    billord_err err = billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_TOKEN, id,
                                             &record);
    if (err != BILLORD_OK) {
        cr_assert(eq(int, err, BILLORD_E_NOT_FOUND));
        return false;
    }
    if (out_order_id != NULL) {
        *out_order_id = (uint64_t)json_integer_value(json_object_get(record, "order_id"));
    }
    json_decref(record);
    return true;
}

/* Drop the (empty) log the seed created, so that the next open starts one with the
 * segment size of its config: existing segments keep theirs. */
static void fresh_log(const char *data_dir)
{
    char command[2 * TEMPDIR_PATH_BYTES];
    snprintf(command, sizeof command, "rm -rf '%s/wal'", data_dir);
    cr_assert(eq(int, system(command), 0));
}

static int segment_files(const char *data_dir)
{
    char wal_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_dir, data_dir, "wal");
    DIR *d = opendir(wal_dir);
    cr_assert(d != NULL);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        size_t length = strlen(entry->d_name);
        count += length > 4 && strcmp(entry->d_name + length - 4, ".seg") == 0;
    }
    closedir(d);
    return count;
}

/* A billord_fs whose next fdatasync, once armed, waits until the test releases it. */
typedef struct gate_fs {
    billord_fs table;
    pthread_mutex_t mutex;
    pthread_cond_t cv;
    bool armed;
    bool holding;
    bool released;
    int fail_errno;                         /* the held sync then fails with this (0: passes) */
} gate_fs;

static int gate_fdatasync(void *fs_ctx, int fd)
{
    gate_fs *gate = fs_ctx;
    pthread_mutex_lock(&gate->mutex);
    int fail_errno = 0;
    if (gate->armed) {
        gate->armed = false;
        gate->holding = true;
        pthread_cond_broadcast(&gate->cv);
        while (!gate->released) {
            pthread_cond_wait(&gate->cv, &gate->mutex);
        }
        gate->holding = false;
        fail_errno = gate->fail_errno;
    }
    pthread_mutex_unlock(&gate->mutex);
    if (fail_errno != 0) {
        errno = fail_errno;
        return -1;
    }
    const billord_fs *posix = billord_fs_posix();
    return posix->fdatasync(posix->fs_ctx, fd);
}

static gate_fs *gate_new(void)
{
    gate_fs *gate = calloc(1, sizeof *gate);
    cr_assert(gate != NULL);
    gate->table = *billord_fs_posix();      /* the POSIX calls ignore their context */
    gate->table.fdatasync = gate_fdatasync;
    gate->table.fs_ctx = gate;
    pthread_mutex_init(&gate->mutex, NULL);
    pthread_cond_init(&gate->cv, NULL);
    return gate;
}

static void gate_arm(gate_fs *gate)
{
    pthread_mutex_lock(&gate->mutex);
    gate->armed = true;
    gate->released = false;
    pthread_mutex_unlock(&gate->mutex);
}

static void gate_wait_holding(gate_fs *gate)
{
    pthread_mutex_lock(&gate->mutex);
    while (!gate->holding) {
        pthread_cond_wait(&gate->cv, &gate->mutex);
    }
    pthread_mutex_unlock(&gate->mutex);
}

static void gate_release(gate_fs *gate, int fail_errno)
{
    pthread_mutex_lock(&gate->mutex);
    gate->fail_errno = fail_errno;
    gate->released = true;
    pthread_cond_broadcast(&gate->cv);
    pthread_mutex_unlock(&gate->mutex);
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* One caller on its own thread: one renewal, or execute_many over its commands. */
typedef struct caller {
    billord_db *db;
    renew_cmd *renews;                      /* count of them */
    size_t count;
    billord_command *commands;
    billord_outcome *outcomes;
    billord_err err;
    _Atomic pid_t tid;
    pthread_t thread;
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    atomic_store(&c->tid, (pid_t)syscall(SYS_gettid));
    if (c->count == 1) {
        c->err = billord_db_execute(c->db, &c->renews[0].command, &c->outcomes[0]);
    } else {
        c->err = billord_db_execute_many(c->db, c->commands, c->count, c->outcomes);
    }
    return NULL;
}

static caller *caller_start(billord_db *db, const char *token_prefix, size_t count)
{
    caller *c = calloc(1, sizeof *c);
    cr_assert(c != NULL);
    c->db = db;
    c->count = count;
    c->renews = calloc(count, sizeof *c->renews);
    c->commands = calloc(count, sizeof *c->commands);
    c->outcomes = calloc(count, sizeof *c->outcomes);
    cr_assert(c->renews != NULL && c->commands != NULL && c->outcomes != NULL);
    for (size_t i = 0; i < count; i++) {
        char token[48], instance[32];
        snprintf(token, sizeof token, "%s-%zu", token_prefix, i);
        snprintf(instance, sizeof instance, "i-crash%04zu", i % CRASH_INSTANCES);
        renew_init(&c->renews[i], instance, token);
        c->commands[i] = c->renews[i].command;
    }
    cr_assert(eq(int, pthread_create(&c->thread, NULL, caller_main, c), 0));
    return c;
}

/* Whether a thread of this process sleeps (state S in /proc). */
static bool thread_sleeps(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return false;
    }
    char text[512] = "";
    size_t got = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[got] = '\0';
    const char *after_name = strrchr(text, ')');
    return after_name != NULL && after_name[1] == ' ' && after_name[2] == 'S';
}

/* Wait until the caller waits for its answer: asleep for several polls in a row (a
 * contended mutex sleeps only for an instant). */
static void caller_wait_blocked(caller *c)
{
    int asleep = 0;
    for (int polls = 0; polls < 10000 && asleep < 5; polls++) {
        pid_t tid = atomic_load(&c->tid);
        asleep = tid != 0 && thread_sleeps(tid) ? asleep + 1 : 0;
        sleep_ms(2);
    }
    cr_assert(eq(int, asleep, 5), "the caller never blocked");
}

/* One renewal on its own thread, held in the sync of its batch until gate_release. */
static caller *caller_held_at(gate_fs *gate, billord_db *db, const char *token_prefix)
{
    gate_arm(gate);
    caller *c = caller_start(db, token_prefix, 1);
    gate_wait_holding(gate);
    return c;
}

/* A caller of count renewals, once it waits for its answer. */
static caller *caller_blocked(billord_db *db, const char *token_prefix, size_t count)
{
    caller *c = caller_start(db, token_prefix, count);
    caller_wait_blocked(c);
    return c;
}

static void caller_join(caller *c)
{
    pthread_join(c->thread, NULL);
}

static void caller_free(caller *c)
{
    free(c->renews);
    free(c->commands);
    free(c->outcomes);
    free(c);
}

/* ---- fail-stop ----------------------------------------------------------------------- */

Test(cov_db_writer, an_lmdb_commit_failing_after_the_log_sync_stops_writes_and_recovery_applies_it)
{
    log_capture *log = log_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, NULL, 0, log);
    billord_db *db = open_config(&config, NULL);
    billord_outcome first = renew(db, "i-crash0000", "commit-1", NULL);
    cr_assert(eq(int, first.code, BILLORD_API_OK));

    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), EIO, false);
    billord_err err = BILLORD_OK;
    billord_outcome lost = renew(db, "i-crash0000", "commit-2", &err);
    cr_assert(eq(int, faulty_lmdb_failures(), 1));
    cr_expect(eq(int, err, BILLORD_OK), "accepted, then answered");
    cr_expect(eq(int, lost.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(billord_db_failed(db));
    cr_expect(eq(int, log_lines_with(log, "fail-stop: committing LMDB after the log sync"), 1));

    /* Every later write is refused at once, also when several come together. */
    billord_outcome after = renew(db, "i-crash0000", "commit-3", &err);
    cr_expect(eq(int, err, BILLORD_E_WAL_FAILED));
    cr_expect(eq(int, after.code, BILLORD_API_SERVICE_UNAVAILABLE));
    renew_cmd pair[2];
    renew_init(&pair[0], "i-crash0001", "commit-4");
    renew_init(&pair[1], "i-crash0001", "commit-5");
    billord_command commands[2] = {pair[0].command, pair[1].command};
    billord_outcome outcomes[2];
    cr_expect(eq(int, billord_db_execute_many(db, commands, 2, outcomes), BILLORD_E_WAL_FAILED));
    cr_expect(eq(int, outcomes[0].code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(eq(int, outcomes[1].code, BILLORD_API_SERVICE_UNAVAILABLE));
    /* Reads go on. */
    cr_expect(eq(i64, db_harness_order_count(db), 1));
    billord_db_close(db);
    faulty_lmdb_reset();

    /* The refused commit's batch is in the log: recovery applies it, once. */
    billord_db_recovery info;
    db = open_config(&config, &info);
    cr_expect(eq(u64, info.commands_replayed, 1));
    cr_expect(eq(i64, db_harness_order_count(db), 2));
    uint64_t order_id = 0;
    cr_expect(token_kept(db, "commit-1", &order_id));
    cr_expect(eq(u64, order_id, first.order_id));
    cr_expect(token_kept(db, "commit-2", NULL));
    cr_expect(not(token_kept(db, "commit-3", NULL)));
    cr_expect(not(token_kept(db, "commit-4", NULL)));
    billord_outcome retry = renew(db, "i-crash0000", "commit-2", NULL);
    cr_expect(retry.idempotent_replay);
    billord_db_close(db);
    free(log);
}

Test(cov_db_writer, a_batch_lmdb_refuses_before_the_log_is_answered_and_logged_nowhere)
{
    log_capture *log = log_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, NULL, 0, log);
    billord_db *db = open_config(&config, NULL);
    billord_db_stats before;
    billord_db_stats_get(db, &before);

    /* The command's second write fails: the batch transaction is half-changed and fails. */
    faulty_lmdb_fail_at(2, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), MDB_MAP_FULL, false);
    billord_err err = BILLORD_OK;
    billord_outcome refused = renew(db, "i-crash0002", "full-1", &err);
    cr_assert(eq(int, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(eq(int, err, BILLORD_OK));
    cr_expect(eq(int, refused.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(not(billord_db_failed(db)), "nothing reached the log: no fail-stop");
    cr_expect(eq(int, log_lines_with(log, "batch of 1 commands refused, nothing logged"), 1));
    billord_db_stats after;
    billord_db_stats_get(db, &after);
    cr_expect(eq(u64, after.synced_bytes, before.synced_bytes));

    billord_outcome next = renew(db, "i-crash0002", "full-2", NULL);
    cr_expect(eq(int, next.code, BILLORD_API_OK));
    billord_db_close(db);

    db = open_config(&config, NULL);
    cr_expect(eq(i64, db_harness_order_count(db), 1));
    cr_expect(not(token_kept(db, "full-1", NULL)), "a refused batch leaves nothing");
    billord_outcome retry = renew(db, "i-crash0002", "full-1", NULL);
    cr_expect(eq(int, retry.code, BILLORD_API_OK));
    cr_expect(not(retry.idempotent_replay), "the refusal was not memoized");
    billord_db_close(db);
    free(log);
}

Test(cov_db_writer, a_log_append_that_cannot_start_a_segment_is_final)
{
    fresh_log(dir);
    faulty_fs *fs = faulty_fs_new();
    log_capture *log = log_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, faulty_fs_table(fs),
                                          SMALL_SEGMENT_BYTES, log);
    billord_db *db = open_config(&config, NULL);
    /* Every later rename fails: the next rotation cannot install its segment. */
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_RENAME), FAULTY_EIO, true);
    char tokens[64][16];
    int acknowledged = 0;
    billord_outcome outcome;
    do {
        cr_assert(acknowledged < 64, "no rotation within 64 records of a 4 KiB segment");
        snprintf(tokens[acknowledged], sizeof tokens[0], "seg-%d", acknowledged);
        outcome = renew(db, "i-crash0003", tokens[acknowledged], NULL);
        acknowledged += outcome.code == BILLORD_API_OK;
    } while (outcome.code == BILLORD_API_OK);
    cr_expect(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(acknowledged > 1);
    cr_expect(billord_db_failed(db));
    cr_expect(eq(int, log_lines_with(log, "fail-stop: writing the log"), 1));
    billord_db_close(db);
    faulty_fs_free(fs);

    config.fs = NULL;
    db = open_config(&config, NULL);
    cr_expect(eq(i64, db_harness_order_count(db), acknowledged));
    for (int i = 0; i < acknowledged; i++) {
        cr_expect(token_kept(db, tokens[i], NULL), "acknowledged %s lost", tokens[i]);
    }
    cr_expect(not(token_kept(db, tokens[acknowledged], NULL)), "the refused append left nothing");
    billord_db_close(db);
    free(log);
}

Test(cov_db_writer, without_a_log_callback_the_reason_goes_to_stderr)
{
    char err_path[TEMPDIR_PATH_BYTES];
    tempdir_join(err_path, dir, "stderr.txt");
    faulty_fs *fs = faulty_fs_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, faulty_fs_table(fs), 0,
                                          NULL);
    billord_db *db = open_config(&config, NULL);
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_FDATASYNC), FAULTY_EIO,
                      false);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int out = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(saved >= 0 && out >= 0);
    dup2(out, STDERR_FILENO);
    billord_outcome failed = renew(db, "i-crash0004", "stderr-1", NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(out);
    cr_expect(eq(int, failed.code, BILLORD_API_SERVICE_UNAVAILABLE));
    billord_db_close(db);
    faulty_fs_free(fs);
    char *text = tempdir_read_file(err_path, NULL);
    cr_assert(text != NULL);
    cr_expect(strstr(text, "billord: fail-stop: writing the log") != NULL, "stderr: %s", text);
    free(text);
}

/* The fail-stop reason is logged once, though the retirement after the failing batch
 * fails too (the log refuses everything after a failed sync). */
Test(cov_db_writer, a_failure_in_a_retiring_batch_is_reported_once, .timeout = 240)
{
    faulty_fs *fs = faulty_fs_new();
    log_capture *log = log_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, faulty_fs_table(fs), 0,
                                          log);
    billord_db *db = open_config(&config, NULL);
    for (uint32_t i = 1; i < BILLORD_DB_RETIRE_EVERY_BATCHES; i++) {
        char token[32];
        snprintf(token, sizeof token, "ret-%u", i);
        cr_assert(eq(int, renew(db, "i-crash0005", token, NULL).code, BILLORD_API_OK));
    }
    faulty_fs_fail_at(fs, 1, FAULTY_MASK(FAULTY_OP_FDATASYNC), FAULTY_EIO,
                      false);
    billord_outcome failed = renew(db, "i-crash0005", "ret-last", NULL);
    cr_expect(eq(int, failed.code, BILLORD_API_SERVICE_UNAVAILABLE));
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_assert(eq(u64, stats.batches, BILLORD_DB_RETIRE_EVERY_BATCHES), "the retiring batch");
    billord_db_close(db);
    faulty_fs_free(fs);
    cr_expect(eq(int, log_lines_with(log, "fail-stop"), 1), "first: %s", log->lines[0]);
    cr_expect(eq(int, log_lines_with(log, "fail-stop: writing the log"), 1));

    config.fs = NULL;
    db = open_config(&config, NULL);
    int64_t orders = db_harness_order_count(db);
    cr_expect(orders == BILLORD_DB_RETIRE_EVERY_BATCHES - 1 ||
                  orders == BILLORD_DB_RETIRE_EVERY_BATCHES,
              "%lld orders (the unanswered one may have reached the file)", (long long)orders);
    for (uint32_t i = 1; i < BILLORD_DB_RETIRE_EVERY_BATCHES; i++) {
        char token[32];
        snprintf(token, sizeof token, "ret-%u", i);
        cr_expect(token_kept(db, token, NULL), "acknowledged %s lost", token);
    }
    billord_db_close(db);
    free(log);
}

/* ---- retirement by LMDB mode --------------------------------------------------------- */

static void renew_many(billord_db *db, const char *prefix, uint32_t count)
{
    cr_assert(eq(int, db_harness_renew_many(db, "i-crash0006", prefix, (int)count, NOW_MS),
                 (int)count), "renewals %s-*", prefix);
}

Test(cov_db_writer, full_sync_mode_retires_segments_lmdb_has_on_disk, .timeout = 240)
{
    fresh_log(dir);
    billord_db_config config = config_for(dir, BILLORD_LMDB_SYNC, NULL, SMALL_SEGMENT_BYTES, NULL);
    billord_db *db = open_config(&config, NULL);
    renew_many(db, "sync", BILLORD_DB_RETIRE_EVERY_BATCHES - 1);
    int before = segment_files(dir);
    cr_assert(before > 4, "%d segments", before);
    /* The retiring batch, and one more: the writer retires after answering the former. */
    renew_many(db, "sync-last", 2);
    cr_expect(segment_files(dir) <= 2, "%d segments after the retiring batch (%d before)",
              segment_files(dir), before);
    billord_db_close(db);
    db = open_config(&config, NULL);
    cr_expect(eq(i64, db_harness_order_count(db), BILLORD_DB_RETIRE_EVERY_BATCHES + 1));
    billord_db_close(db);
}

Test(cov_db_writer, full_sync_mode_keeps_the_log_when_lmdb_cannot_sync, .timeout = 240)
{
    fresh_log(dir);
    billord_db_config config = config_for(dir, BILLORD_LMDB_SYNC, NULL, SMALL_SEGMENT_BYTES, NULL);
    billord_db *db = open_config(&config, NULL);
    /* LMDB's explicit syncs (retirement, close) fail; its commits still sync themselves. */
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_SYNC), EIO, true);
    renew_many(db, "nosync", BILLORD_DB_RETIRE_EVERY_BATCHES);
    /* One more: the writer retires after answering the retiring batch. */
    cr_expect(eq(int, renew(db, "i-crash0006", "nosync-after", NULL).code, BILLORD_API_OK));
    cr_assert(eq(u64, faulty_lmdb_failures(), 1), "the retirement asked LMDB to sync");
    int segments = segment_files(dir);
    cr_expect(segments > 4, "%d segments: nothing may be retired", segments);
    cr_expect(not(billord_db_failed(db)), "a failed retirement sync is not a fail-stop");
    billord_db_close(db);
    cr_expect(eq(u64, faulty_lmdb_failures(), 2), "close asked LMDB to sync too");
    cr_expect(eq(int, segment_files(dir), segments), "close kept the log too");
    faulty_lmdb_reset();
    billord_db_recovery info;
    db = open_config(&config, &info);
    cr_expect(eq(i64, db_harness_order_count(db), BILLORD_DB_RETIRE_EVERY_BATCHES + 1));
    billord_db_close(db);
}

/* ---- the queue behind a batch in flight ---------------------------------------------- */

Test(cov_db_writer, a_batch_queued_before_a_fail_stop_is_answered_unavailable)
{
    gate_fs *gate = gate_new();
    log_capture *log = log_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, &gate->table, 0, log);
    billord_db *db = open_config(&config, NULL);
    caller *first = caller_held_at(gate, db, "held");
    caller *queued = caller_blocked(db, "queued", 1);
    gate_release(gate, EIO);
    caller_join(first);
    caller_join(queued);
    cr_expect(eq(int, first->outcomes[0].code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(eq(int, queued->err, BILLORD_OK), "accepted before the fail-stop");
    cr_expect(eq(int, queued->outcomes[0].code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(eq(str, queued->outcomes[0].request_id, queued->renews[0].command.request_id));
    cr_expect(eq(int, log_lines_with(log, "fail-stop"), 1));
    billord_db_close(db);

    config.fs = NULL;
    db = open_config(&config, NULL);
    cr_expect(not(token_kept(db, queued->renews[0].token, NULL)), "never logged");
    cr_expect(db_harness_order_count(db) <= 1);
    billord_db_close(db);
    caller_free(first);
    caller_free(queued);
    free(gate);
    free(log);
}

Test(cov_db_writer, the_queue_is_taken_in_batches_of_at_most_the_batch_limit)
{
    enum { PER_CALLER = 600 };
    gate_fs *gate = gate_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, &gate->table, 0, NULL);
    billord_db *db = open_config(&config, NULL);
    caller *first = caller_held_at(gate, db, "one");
    /* 1200 commands in flight at once: the in-flight table chains tokens in its buckets. */
    caller *a = caller_blocked(db, "many-a", PER_CALLER);
    caller *b = caller_blocked(db, "many-b", PER_CALLER);
    /* Each token is in flight: a duplicate is answered at once. */
    billord_err err = BILLORD_OK;
    billord_outcome twin = renew(db, "i-crash0000", "many-a-7", &err);
    cr_expect(eq(int, twin.code, BILLORD_API_LAST_TOKEN_PROCESSING));
    gate_release(gate, 0);
    caller_join(first);
    caller_join(a);
    caller_join(b);
    cr_expect(eq(int, first->outcomes[0].code, BILLORD_API_OK));
    cr_expect(eq(int, a->err, BILLORD_OK));
    cr_expect(eq(int, b->err, BILLORD_OK));
    for (size_t i = 0; i < PER_CALLER; i++) {
        cr_assert(eq(int, a->outcomes[i].code, BILLORD_API_OK), "a %zu", i);
        cr_assert(eq(int, b->outcomes[i].code, BILLORD_API_OK), "b %zu", i);
    }
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_expect(eq(u64, stats.commands, 1 + 2 * PER_CALLER));
    cr_expect(eq(u64, stats.batch_commands_max, BILLORD_BATCH_COMMANDS_MAX));
    cr_expect(eq(u64, stats.batches, 3), "the held one, a full batch, the rest");
    cr_expect(eq(u64, stats.answered_in_flight, 1));
    cr_expect(eq(i64, db_harness_order_count(db), 1 + 2 * PER_CALLER));
    billord_db_close(db);
    caller_free(first);
    caller_free(a);
    caller_free(b);
    free(gate);
}

static void on_signal(int signal_number)
{
    (void)signal_number;
}

Test(cov_db_writer, a_signal_does_not_cut_a_callers_wait_short)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;          /* no SA_RESTART: sem_wait returns EINTR */
    sigemptyset(&action.sa_mask);
    cr_assert(eq(int, sigaction(SIGUSR1, &action, NULL), 0));
    gate_fs *gate = gate_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, &gate->table, 0, NULL);
    billord_db *db = open_config(&config, NULL);
    caller *c = caller_held_at(gate, db, "signalled");
    caller_wait_blocked(c);
    for (int i = 0; i < 5; i++) {
        pthread_kill(c->thread, SIGUSR1);
        sleep_ms(5);
    }
    gate_release(gate, 0);
    caller_join(c);
    cr_expect(eq(int, c->err, BILLORD_OK));
    cr_expect(eq(int, c->outcomes[0].code, BILLORD_API_OK), "answered after its sync");
    cr_expect(c->outcomes[0].has_order_id);
    cr_expect(eq(i64, db_harness_order_count(db), 1));
    billord_db_close(db);
    caller_free(c);
    free(gate);
}

typedef struct closer {
    billord_db *db;
    pthread_t thread;
} closer;

static void *closer_main(void *arg)
{
    billord_db_close(((closer *)arg)->db);
    return NULL;
}

Test(cov_db_writer, a_db_in_use_refuses_a_seed_and_close_drains_the_queue_refusing_newcomers)
{
    gate_fs *gate = gate_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, &gate->table, 0, NULL);
    config.queue_commands = 1;
    billord_db *db = open_config(&config, NULL);
    caller *held = caller_held_at(gate, db, "held");
    caller *queued = caller_blocked(db, "queued", 1);

    /* A command waits in the queue (no batch has completed yet): no seed. */
    billord_fixture fixture = db_harness_fixture("tests/fixtures/crash.json");
    cr_expect(eq(int, billord_db_seed(db, &fixture), BILLORD_E_NOT_EMPTY));

    /* The queue (capacity 1) is full; once close begins, newcomers are refused as closed. */
    closer c = {db, 0};
    pthread_create(&c.thread, NULL, closer_main, &c);
    billord_err err = BILLORD_OK;
    billord_outcome outcome;
    int full = 0;
    for (int attempt = 0; attempt < 20000; attempt++) {
        outcome = renew(db, "i-crash0007", "newcomer", &err);
        if (err != BILLORD_E_QUEUE_FULL) {
            break;
        }
        full++;
        sleep_ms(1);
    }
    cr_expect(eq(int, err, BILLORD_E_CLOSED));
    cr_expect(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    gate_release(gate, 0);
    pthread_join(c.thread, NULL);
    caller_join(held);
    caller_join(queued);
    cr_expect(eq(int, held->outcomes[0].code, BILLORD_API_OK));
    cr_expect(eq(int, queued->outcomes[0].code, BILLORD_API_OK), "drained at close");

    config.fs = NULL;
    db = open_config(&config, NULL);
    cr_expect(eq(i64, db_harness_order_count(db), 2));
    cr_expect(token_kept(db, held->renews[0].token, NULL));
    cr_expect(token_kept(db, queued->renews[0].token, NULL));
    cr_expect(not(token_kept(db, "newcomer", NULL)));
    /* A db with a logged command is not empty either, before and after a batch. */
    cr_expect(eq(int, billord_db_seed(db, &fixture), BILLORD_E_NOT_EMPTY));
    billord_db_close(db);
    billord_fixture_free(&fixture);
    caller_free(held);
    caller_free(queued);
    free(gate);
    (void)full;
}

Test(cov_db_writer, a_seed_after_a_batch_is_refused)
{
    char empty[TEMPDIR_PATH_BYTES];
    tempdir_make(empty);
    billord_db_config config = config_for(empty, BILLORD_LMDB_NOMETASYNC, NULL, 0, NULL);
    billord_db *db = open_config(&config, NULL);
    billord_command tick = {.kind = BILLORD_COMMAND_TICK, .now_ms = NOW_MS, .account = "",
                            .action = ""};
    billord_outcome outcome;
    cr_assert(eq(int, billord_db_execute(db, &tick, &outcome), BILLORD_OK));
    cr_assert(eq(int, outcome.code, BILLORD_API_OK));
    billord_fixture fixture = db_harness_fixture("tests/fixtures/crash.json");
    cr_expect(eq(int, billord_db_seed(db, &fixture), BILLORD_E_NOT_EMPTY));
    billord_fixture_free(&fixture);
    billord_db_close(db);
    tempdir_remove(empty);
}

Test(cov_db_writer, a_read_is_answered_without_the_queue)
{
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_param params[] = {{"InstanceId", "i-crash0008"}, {"RegionId", "cn-hangzhou"}};
    billord_command read = {.kind = BILLORD_COMMAND_REQUEST, .now_ms = NOW_MS,
                            .account = CRASH_ACCOUNT,
                            .action = "DescribeInstanceAutoRenewAttribute", .param_count = 2,
                            .params = params};
    billord_outcome outcome;
    cr_assert(eq(int, billord_db_execute(db, &read, &outcome), BILLORD_OK));
    cr_expect(eq(int, outcome.code, BILLORD_API_OK));
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_expect(eq(u64, stats.batches, 0));
    cr_expect(eq(u64, stats.commands, 0));
    billord_db_close(db);
}

/* ---- open's refusals ----------------------------------------------------------------- */

/* Without the fault (LMDB's is disarmed), the seeded store opens as it was. */
static void expect_seeded_store_opens(void)
{
    faulty_lmdb_reset();
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    cr_expect(eq(i64, db_harness_order_count(db), 0));
    billord_db_close(db);
}

Test(cov_db_writer, open_refuses_bad_arguments)
{
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, NULL, 0, NULL);
    config.queue_commands = BILLORD_DB_QUEUE_COMMANDS_MAX + 1;
    billord_db *db = NULL;
    cr_expect(eq(int, billord_db_open(&config, &db, NULL), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(db == NULL);

    size_t long_bytes = 4040;
    char *long_dir = malloc(long_bytes + 1);
    cr_assert(long_dir != NULL);
    memset(long_dir, 'd', long_bytes);
    long_dir[0] = '/';
    long_dir[long_bytes] = '\0';
    config = config_for(long_dir, BILLORD_LMDB_SNAPSHOT, NULL, 0, NULL);
    billord_db_recovery info;
    cr_expect(eq(int, billord_db_open(&config, &db, &info), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(db == NULL);
    free(long_dir);
    billord_db_close(NULL);
}

Test(cov_db_writer, open_in_snapshot_mode_refuses_a_data_dir_it_cannot_create)
{
    char missing[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, dir, "no-such-parent/data");
    billord_db_config config = config_for(missing, BILLORD_LMDB_SNAPSHOT, NULL, 0, NULL);
    billord_db *db = NULL;
    billord_db_recovery info;
    cr_expect(eq(int, billord_db_open(&config, &db, &info), BILLORD_E_IO));
    cr_expect(strstr(info.error_text, "cannot create") != NULL, "%s", info.error_text);
}

Test(cov_db_writer, open_refuses_a_log_directory_it_cannot_create)
{
    char wal_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_dir, dir, "wal");
    char command[2 * TEMPDIR_PATH_BYTES];
    snprintf(command, sizeof command, "rm -rf '%s'", wal_dir);   /* seeded: nothing logged */
    cr_assert(eq(int, system(command), 0));
    cr_assert(eq(int, chmod(dir, 0555), 0));
    db_harness_permission_checks(true);
    char probe[TEMPDIR_PATH_BYTES];
    tempdir_join(probe, dir, "probe");
    cr_assert(mkdir(probe, 0755) != 0, "the directory stayed writable");
    db_harness_expect_refused_open(dir, BILLORD_E_IO, "/wal: cannot create", NULL);
    db_harness_permission_checks(false);
    cr_assert(eq(int, chmod(dir, 0755), 0));
    expect_seeded_store_opens();
}

Test(cov_db_writer, open_refuses_when_lmdb_cannot_say_what_it_applied)
{
    /* How many read transactions the engine's own open begins. */
    char state_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(state_dir, dir, "state");
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN));
    billord_engine_config engine_config = {.data_dir = dir, .map_bytes = 256ULL << 20};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&engine_config, &engine), BILLORD_OK));
    uint64_t begins = faulty_lmdb_calls();
    billord_engine_close(engine);

    faulty_lmdb_fail_at(begins + 1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), EIO, false);
    db_harness_expect_refused_open(dir, BILLORD_E_IO, NULL, NULL);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    expect_seeded_store_opens();
}

Test(cov_db_writer, open_refuses_when_its_threads_cannot_start)
{
    pthread_attr_t saved, huge;
    cr_assert(eq(int, pthread_getattr_default_np(&saved), 0));
    pthread_attr_init(&huge);
    pthread_attr_setstacksize(&huge, (size_t)1 << 46);     /* no such stack can be mapped */
    cr_assert(eq(int, pthread_setattr_default_np(&huge), 0));
    billord_db_config config = config_for(dir, BILLORD_LMDB_NOMETASYNC, NULL, 0, NULL);
    billord_db *db = NULL;
    billord_err err = billord_db_open(&config, &db, NULL);
    pthread_setattr_default_np(&saved);
    pthread_attr_destroy(&huge);
    pthread_attr_destroy(&saved);
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(db == NULL);
    db = open_config(&config, NULL);
    cr_expect(eq(int, renew(db, "i-crash0009", "threads-1", NULL).code, BILLORD_API_OK));
    billord_db_close(db);
}

Test(cov_db_writer, open_refuses_a_state_lmdb_cannot_open)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_OPEN), EIO, false);
    db_harness_expect_refused_open(dir, BILLORD_E_IO, "/state: I/O error", NULL);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    expect_seeded_store_opens();
}

Test(cov_db_writer, snapshot_mode_creates_a_missing_data_dir)
{
    char fresh[TEMPDIR_PATH_BYTES];
    tempdir_join(fresh, dir, "fresh");
    log_capture *log = log_new();
    billord_db_config config = config_for(fresh, BILLORD_LMDB_SNAPSHOT, NULL, 0, log);
    billord_db *db = open_config(&config, NULL);
    struct stat st;
    cr_expect(eq(int, stat(fresh, &st), 0));
    bool is_dir = S_ISDIR(st.st_mode);
    cr_expect(is_dir);
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_expect(eq(u64, stats.snapshots, 1), "a new store gets its first snapshot");
    billord_db_close(db);
    free(log);
}

/* In snapshot mode LMDB is not synced: only what the latest snapshot holds may leave the
 * log. The snapshot taken at open holds LSN 0, and none follows with the default
 * thresholds: the retiring batch retires nothing. */
Test(cov_db_writer, snapshot_mode_keeps_the_log_back_to_the_snapshot, .timeout = 240)
{
    fresh_log(dir);
    log_capture *log = log_new();
    billord_db_config config = config_for(dir, BILLORD_LMDB_SNAPSHOT, NULL, SMALL_SEGMENT_BYTES,
                                          log);
    billord_db *db = open_config(&config, NULL);
    renew_many(db, "kept", BILLORD_DB_RETIRE_EVERY_BATCHES + 1);
    int segments = segment_files(dir);
    cr_expect(segments > 4, "%d segments", segments);
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    cr_expect(eq(u64, stats.snapshots, 1));
    billord_db_close(db);
    cr_expect(eq(int, segment_files(dir), segments), "close keeps them too");
    /* A power loss now rebuilds from that snapshot and replays the whole log. */
    db_harness_reboot(dir);
    char marker[TEMPDIR_PATH_BYTES];
    tempdir_join(marker, dir, "clean_shutdown");
    cr_assert(eq(int, unlink(marker), 0));
    billord_db_recovery info;
    db = open_config(&config, &info);
    cr_expect(info.rebuilt_from_snapshot);
    cr_expect(eq(u64, info.commands_replayed, BILLORD_DB_RETIRE_EVERY_BATCHES + 1));
    cr_expect(eq(i64, db_harness_order_count(db), BILLORD_DB_RETIRE_EVERY_BATCHES + 1));
    cr_expect(eq(int, log_lines_with(log, "rebuilt from the snapshot"), 1));
    billord_db_close(db);
    free(log);
}
