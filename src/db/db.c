/*
 * db.c: the durable engine (billord/db.h): a bounded queue, one writer thread, group
 * commit, recovery and fail-stop.
 *
 * Promise: a caller is answered only after the log record holding its command is synced
 * (fdatasync); the LMDB commit that follows records that record's LSN as applied_lsn in
 * the same transaction. At open, every record after applied_lsn is applied again through
 * the same engine code, so a command that reached the log but was never answered is
 * applied exactly once and a retry gets its memoized outcome.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <xxhash.h>

#include <billord/db.h>
#include <billord/wal.h>
#include <billord/wal_batch.h>

#include "core/assert.h"
#include "db/snapshot.h"

#define DB_TOKEN_BUCKETS 8192u
#define DB_PATH_BYTES_MAX 4096u
#define DB_LOG_LINE_BYTES 1536u

static_assert((DB_TOKEN_BUCKETS & (DB_TOKEN_BUCKETS - 1)) == 0, "buckets are a power of two");
static_assert(BILLORD_SNAPSHOT_DATA_DIR_BYTES_MAX + sizeof "/wal" <= DB_PATH_BYTES_MAX,
              "a data directory open accepts leaves room for its log directory");

/* One waiting caller; lives on the caller's stack until it is answered. */
typedef struct db_waiter {
    const billord_command *command;
    billord_outcome *outcome;
    const char *token;                      /* in-flight token, or NULL */
    uint64_t token_hash;
    struct db_waiter *token_next;           /* chain of its in-flight bucket */
    struct db_waiter *queue_next;
    sem_t *done;                            /* posted once its outcome is written */
} db_waiter;

struct billord_db {
    billord_engine *engine;
    billord_wal *wal;
    const billord_fs *fs;                   /* the log's and the snapshots' */
    billord_lmdb_mode lmdb_mode;
    void (*log_line)(void *log_ctx, const char *line);
    void *log_ctx;

    pthread_mutex_t lock;                   /* guards everything below */
    pthread_cond_t work_cv;
    db_waiter *queue_head;
    db_waiter *queue_tail;
    uint32_t queue_count;
    uint32_t queue_capacity;
    db_waiter *in_flight[DB_TOKEN_BUCKETS];
    bool closing;
    bool failed;
    billord_db_stats stats;

    pthread_t writer;
    bool writer_started;
    /* Snapshot mode (docs/durability.md): a thread copies LMDB now and then; the log is
     * retired only up to what the latest snapshot holds. */
    char data_dir[DB_PATH_BYTES_MAX];
    uint64_t snapshot_log_bytes;
    uint32_t snapshot_interval_ms;
    uint64_t snapshot_lsn;                  /* under lock */
    pthread_t snapshotter;
    bool snapshotter_started;
    pthread_cond_t snapshot_cv;
    /* The writer's own. */
    msgpack_sbuffer encode_buffer;
    uint64_t applied_lsn_previous;          /* LSN of the commit before the last one */
    uint64_t applied_lsn_last;
};

static void db_log(billord_db *db, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void db_log(billord_db *db, const char *format, ...)
{
    char line[DB_LOG_LINE_BYTES];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (db->log_line != NULL) {
        db->log_line(db->log_ctx, line);
    } else {
        fprintf(stderr, "billord: %s\n", line);
    }
}

/* ---- in-flight tokens (under db->lock) -------------------------------------------- */

static uint64_t token_hash(const char *account, const char *token)
{
    char key[BILLORD_ACCOUNT_ID_BYTES_MAX + BILLORD_CLIENT_TOKEN_BYTES_MAX + 2];
    size_t account_bytes = strlen(account);
    size_t token_bytes = strlen(token);
    BILLORD_ASSERT(account_bytes + token_bytes + 1 < sizeof key);
    memcpy(key, account, account_bytes);
    key[account_bytes] = '\0';
    memcpy(key + account_bytes + 1, token, token_bytes);
    return XXH3_64bits(key, account_bytes + 1 + token_bytes);
}

static bool in_flight_contains(billord_db *db, const db_waiter *waiter)
{
    for (const db_waiter *at = db->in_flight[waiter->token_hash & (DB_TOKEN_BUCKETS - 1)];
         at != NULL; at = at->token_next) {
        /* The hash picks the bucket; the key decides (both strings compared, one test). */
        if ((strcmp(at->token, waiter->token) | strcmp(at->command->account,
                                                      waiter->command->account)) == 0) {
            return true;
        }
    }
    return false;
}

static void in_flight_add(billord_db *db, db_waiter *waiter)
{
    db_waiter **bucket = &db->in_flight[waiter->token_hash & (DB_TOKEN_BUCKETS - 1)];
    waiter->token_next = *bucket;
    *bucket = waiter;
}

static void in_flight_remove(billord_db *db, db_waiter *waiter)
{
    db_waiter **link = &db->in_flight[waiter->token_hash & (DB_TOKEN_BUCKETS - 1)];
    while (*link != waiter) {
        BILLORD_ASSERT(*link != NULL);      /* every answered token was added */
        link = &(*link)->token_next;
    }
    *link = waiter->token_next;
}

/* ---- the writer ------------------------------------------------------------------- */

typedef struct hook_ctx {
    billord_db *db;
} hook_ctx;

/* Append the applied batch to the log and sync it: the durability point. */
static billord_err log_batch(void *ctx, const billord_command *commands, size_t count,
                             uint64_t *out_applied_lsn)
{
    billord_db *db = ((hook_ctx *)ctx)->db;
    billord_err err = billord_wal_batch_encode(&db->encode_buffer, commands, count);
    BILLORD_ASSERT(err == BILLORD_OK);      /* commands were validated on submit */
    uint64_t lsn = 0;
    err = billord_wal_append(db->wal, (const uint8_t *)db->encode_buffer.data,
                             (uint32_t)db->encode_buffer.size, &lsn);
    if (err == BILLORD_OK) {
        err = billord_wal_sync(db->wal);
    }
    if (err == BILLORD_OK) {
        *out_applied_lsn = lsn;
        pthread_mutex_lock(&db->lock);
        db->stats.synced_bytes += db->encode_buffer.size;
        pthread_mutex_unlock(&db->lock);
    }
    return err;
}

/* The writer's: the log is open. */
static void fail_stop(billord_db *db, billord_err err, const char *where)
{
    pthread_mutex_lock(&db->lock);
    bool first = !db->failed;
    db->failed = true;
    pthread_mutex_unlock(&db->lock);
    if (first) {
        db_log(db, "fail-stop: %s: %s (%s); writes are refused until restart, which recovers "
                   "from the log",
               where, billord_err_message(err), billord_wal_last_error(db->wal));
    }
}

static void answer_unavailable(const billord_command *command, billord_outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    memcpy(outcome->request_id, command->request_id, sizeof outcome->request_id);
    outcome->code = BILLORD_API_SERVICE_UNAVAILABLE;
    snprintf(outcome->message, sizeof outcome->message, "%s",
             billord_api_code_message(BILLORD_API_SERVICE_UNAVAILABLE));
}

/* Retire log segments LMDB no longer needs (their effects are on disk in LMDB). */
static void retire_segments(billord_db *db)
{
    uint64_t lsn_safe = db->applied_lsn_previous;
    if (db->lmdb_mode == BILLORD_LMDB_SNAPSHOT) {
        /* LMDB is not synced: only what a snapshot holds may leave the log. */
        pthread_mutex_lock(&db->lock);
        lsn_safe = db->snapshot_lsn;
        pthread_mutex_unlock(&db->lock);
    } else if (db->lmdb_mode != BILLORD_LMDB_NOMETASYNC) {
        if (billord_engine_sync(db->engine) != BILLORD_OK) {
            return;
        }
        lsn_safe = db->applied_lsn_last;
    }
    if (lsn_safe != 0 && billord_wal_retire(db->wal, lsn_safe, NULL) != BILLORD_OK) {
        fail_stop(db, BILLORD_E_WAL_FAILED, "retiring log segments");
    }
}

static void run_batch(billord_db *db, db_waiter **waiters, size_t count,
                      billord_command *commands, billord_outcome *outcomes)
{
    for (size_t i = 0; i < count; i++) {
        commands[i] = *waiters[i]->command;
    }
    pthread_mutex_lock(&db->lock);
    bool failed = db->failed;
    pthread_mutex_unlock(&db->lock);
    if (failed) {
        for (size_t i = 0; i < count; i++) {
            answer_unavailable(&commands[i], &outcomes[i]);
        }
        return;
    }
    hook_ctx ctx = {db};
    billord_commit_hook hook = {log_batch, &ctx};
    bool logged = false;
    billord_err err = billord_engine_submit(db->engine, commands, count, 0, &hook, outcomes,
                                            &logged);
    if (err == BILLORD_OK) {
        db->applied_lsn_previous = db->applied_lsn_last;
        db->applied_lsn_last = billord_wal_last_lsn(db->wal);
    } else if (logged || billord_wal_failed(db->wal)) {
        /* The log holds a batch LMDB did not take, or the log itself failed: state and log
         * can no longer be trusted to agree until recovery runs. */
        fail_stop(db, err, logged ? "committing LMDB after the log sync" : "writing the log");
        for (size_t i = 0; i < count; i++) {
            answer_unavailable(&commands[i], &outcomes[i]);
        }
    } else {
        db_log(db, "batch of %zu commands refused, nothing logged: %s", count,
               billord_err_message(err));
    }
}

static void complete(billord_db *db, db_waiter **waiters, size_t count,
                     const billord_outcome *outcomes)
{
    pthread_mutex_lock(&db->lock);
    db->stats.batches++;
    db->stats.commands += count;
    if (count > db->stats.batch_commands_max) {
        db->stats.batch_commands_max = count;
    }
    for (size_t i = 0; i < count; i++) {
        *waiters[i]->outcome = outcomes[i];
        if (waiters[i]->token != NULL) {
            in_flight_remove(db, waiters[i]);
        }
    }
    pthread_mutex_unlock(&db->lock);
    /* Wake outside the lock: woken callers must not queue up on it (a lock convoy). */
    for (size_t i = 0; i < count; i++) {
        sem_post(waiters[i]->done);
    }
}

/* Take up to BILLORD_BATCH_COMMANDS_MAX queued waiters; 0 when closing and drained. */
static size_t take_batch(billord_db *db, db_waiter **waiters)
{
    pthread_mutex_lock(&db->lock);
    while (db->queue_head == NULL && !db->closing) {
        pthread_cond_wait(&db->work_cv, &db->lock);
    }
    size_t count = 0;
    while (db->queue_head != NULL && count < BILLORD_BATCH_COMMANDS_MAX) {
        waiters[count++] = db->queue_head;
        db->queue_head = db->queue_head->queue_next;
        db->queue_count--;
    }
    if (db->queue_head == NULL) {
        db->queue_tail = NULL;
    }
    pthread_mutex_unlock(&db->lock);
    return count;
}

static void *writer_main(void *arg)
{
    billord_db *db = arg;
    db_waiter **waiters = malloc(BILLORD_BATCH_COMMANDS_MAX * sizeof *waiters);
    billord_command *commands = malloc(BILLORD_BATCH_COMMANDS_MAX * sizeof *commands);
    billord_outcome *outcomes = malloc(BILLORD_BATCH_COMMANDS_MAX * sizeof *outcomes);
    BILLORD_ASSERT(waiters != NULL && commands != NULL && outcomes != NULL);
    for (uint64_t batch_index = 1;; batch_index++) {
        size_t count = take_batch(db, waiters);
        if (count == 0) {
            break;
        }
        run_batch(db, waiters, count, commands, outcomes);
        complete(db, waiters, count, outcomes);
        if (batch_index % BILLORD_DB_RETIRE_EVERY_BATCHES == 0) {
            retire_segments(db);
        }
    }
    free(waiters);
    free(commands);
    free(outcomes);
    return NULL;
}

/* ---- submit ------------------------------------------------------------------------ */

static billord_err refuse(const billord_command *command, billord_outcome *outcome,
                          billord_err err)
{
    answer_unavailable(command, outcome);
    if (err == BILLORD_E_QUEUE_FULL) {
        snprintf(outcome->message, sizeof outcome->message,
                 "The request has failed due to a temporary failure of the server: the submit "
                 "queue is full.");
    }
    return err;
}

/* Enqueue; called with db->lock held. */
static void enqueue(billord_db *db, db_waiter *waiter)
{
    waiter->queue_next = NULL;
    if (db->queue_tail != NULL) {
        db->queue_tail->queue_next = waiter;
    } else {
        db->queue_head = waiter;
    }
    db->queue_tail = waiter;
    db->queue_count++;
    pthread_cond_signal(&db->work_cv);
}

/*
 * Accept one command: answer it at once (parameter error, read, token in flight, refusal)
 * or enqueue it. Returns true when it was enqueued (its outcome comes with a post of
 * waiter->done). Called without the lock.
 */
static bool accept_one(billord_db *db, db_waiter *waiter, billord_err *out_err)
{
    const billord_command *command = waiter->command;
    billord_outcome *outcome = waiter->outcome;
    *out_err = BILLORD_OK;
    const char *token = NULL;
    if (!billord_engine_validate(command, outcome, &token)) {
        return false;                       /* a parameter error: nothing to decide or log */
    }
    if (command->kind == BILLORD_COMMAND_REQUEST && billord_action_is_read(command->action)) {
        json_t *fields = NULL;
        *out_err = billord_engine_query(db->engine, command, outcome, &fields);
        json_decref(fields);
        return false;
    }
    waiter->token = token;
    waiter->token_hash = token != NULL ? token_hash(command->account, token) : 0;
    pthread_mutex_lock(&db->lock);
    billord_err err = BILLORD_OK;
    if (db->closing) {
        err = BILLORD_E_CLOSED;
    } else if (db->failed) {
        err = BILLORD_E_WAL_FAILED;
    } else if (db->queue_count >= db->queue_capacity) {
        err = BILLORD_E_QUEUE_FULL;
        db->stats.rejected_queue_full++;
    } else if (token != NULL && in_flight_contains(db, waiter)) {
        /* Accepted but not yet durable and answered: say so at once, never wait. */
        db->stats.answered_in_flight++;
        pthread_mutex_unlock(&db->lock);
        memset(outcome, 0, sizeof *outcome);
        memcpy(outcome->request_id, command->request_id, sizeof outcome->request_id);
        outcome->code = BILLORD_API_LAST_TOKEN_PROCESSING;
        snprintf(outcome->message, sizeof outcome->message, "%s",
                 billord_api_code_message(BILLORD_API_LAST_TOKEN_PROCESSING));
        return false;
    }
    if (err != BILLORD_OK) {
        pthread_mutex_unlock(&db->lock);
        *out_err = refuse(command, outcome, err);
        return false;
    }
    if (token != NULL) {
        in_flight_add(db, waiter);
    }
    enqueue(db, waiter);
    pthread_mutex_unlock(&db->lock);
    return true;
}

static void wait_posts(sem_t *done, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        while (sem_wait(done) != 0) {
            BILLORD_ASSERT(errno == EINTR);
        }
    }
}

billord_err billord_db_execute(billord_db *db, const billord_command *command,
                               billord_outcome *out_outcome)
{
    BILLORD_ASSERT(db != NULL && command != NULL && out_outcome != NULL);
    sem_t done;
    sem_init(&done, 0, 0);
    db_waiter waiter = {.command = command, .outcome = out_outcome, .done = &done};
    billord_err err = BILLORD_OK;
    if (accept_one(db, &waiter, &err)) {
        wait_posts(&done, 1);
    }
    sem_destroy(&done);
    return err;
}

billord_err billord_db_execute_many(billord_db *db, const billord_command *commands, size_t count,
                                    billord_outcome *out_outcomes)
{
    BILLORD_ASSERT(db != NULL && commands != NULL && out_outcomes != NULL);
    BILLORD_ASSERT(count <= BILLORD_DB_EXECUTE_MANY_MAX);
    db_waiter *waiters = calloc(count, sizeof *waiters);
    if (waiters == NULL) {
        for (size_t i = 0; i < count; i++) {
            answer_unavailable(&commands[i], &out_outcomes[i]);
        }
        return BILLORD_E_NOMEM;
    }
    sem_t done;
    sem_init(&done, 0, 0);
    size_t enqueued = 0;
    billord_err first_err = BILLORD_OK;
    for (size_t i = 0; i < count; i++) {
        waiters[i] = (db_waiter){.command = &commands[i], .outcome = &out_outcomes[i],
                                 .done = &done};
        billord_err err = BILLORD_OK;
        enqueued += accept_one(db, &waiters[i], &err);
        if (first_err == BILLORD_OK) {
            first_err = err;
        }
    }
    wait_posts(&done, enqueued);
    sem_destroy(&done);
    free(waiters);
    return first_err;
}

/* ---- snapshots (BILLORD_LMDB_SNAPSHOT) --------------------------------------------- */

static billord_err snapshot_now(billord_db *db)
{
    uint64_t lsn = 0;
    billord_err err = billord__snapshot_take(db->fs, db->engine, db->data_dir, &lsn);
    if (err != BILLORD_OK) {
        db_log(db, "snapshot failed: %s (the log is kept; retried later)", billord_err_message(err));
        return err;
    }
    pthread_mutex_lock(&db->lock);
    db->snapshot_lsn = lsn;
    db->stats.snapshots++;
    pthread_mutex_unlock(&db->lock);
    return BILLORD_OK;
}

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Take a snapshot after enough log or time; off the writer's path. */
static void *snapshotter_main(void *arg)
{
    billord_db *db = arg;
    uint64_t synced_at_last = 0;
    int64_t last_ms = monotonic_ms();
    pthread_mutex_lock(&db->lock);
    while (!db->closing) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)BILLORD_DB_SNAPSHOT_POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&db->snapshot_cv, &db->lock, &until);
        uint64_t synced = db->stats.synced_bytes;
        bool due = synced - synced_at_last >= db->snapshot_log_bytes ||
                   (synced != synced_at_last &&
                    monotonic_ms() - last_ms >= (int64_t)db->snapshot_interval_ms);
        if (!due || db->closing || db->failed) {
            continue;
        }
        pthread_mutex_unlock(&db->lock);
        if (snapshot_now(db) == BILLORD_OK) {
            synced_at_last = synced;
            last_ms = monotonic_ms();
        }
        pthread_mutex_lock(&db->lock);
    }
    pthread_mutex_unlock(&db->lock);
    return NULL;
}

/* Before the engine opens: after an OS crash or power loss, LMDB is replaced by the snapshot. */
static billord_err snapshot_startup(billord_db *db, billord_db_recovery *info)
{
    billord_err err = billord__snapshot_startup(db->fs, db->data_dir, BILLORD_SNAPSHOT_BOOT_ID_PATH,
                                                &info->rebuilt_from_snapshot, info->error_text,
                                                sizeof info->error_text);
    if (info->rebuilt_from_snapshot) {
        db_log(db, "the machine restarted without a clean shutdown: the state was rebuilt from "
                   "the snapshot; the log replays onto it");
    }
    return err;
}

/* After recovery: the snapshot's LSN bounds retirement; without a snapshot, take one now. */
static billord_err snapshot_ready(billord_db *db)
{
    uint64_t lsn = 0;
    if (billord__snapshot_exists(db->data_dir) &&
        billord__snapshot_lsn(db->data_dir, &lsn) == BILLORD_OK) {
        db->snapshot_lsn = lsn;
        return BILLORD_OK;
    }
    return snapshot_now(db);
}

/* ---- open, recovery, close -------------------------------------------------------- */

typedef struct recovery_ctx {
    billord_db *db;
    billord_db_recovery *info;
} recovery_ctx;

static billord_err recover_record(uint64_t lsn, const uint8_t *payload, uint32_t payload_bytes,
                                  void *fn_ctx)
{
    recovery_ctx *ctx = fn_ctx;
    billord_wal_batch batch;
    billord_err err = billord_wal_batch_decode(payload, payload_bytes, &batch);
    if (err != BILLORD_OK) {
        snprintf(ctx->info->error_text, sizeof ctx->info->error_text,
                 "log record %llu: the batch does not decode (%s)", (unsigned long long)lsn,
                 billord_err_message(err));
        return err == BILLORD_E_CORRUPT ? BILLORD_E_WAL_CORRUPT : err;
    }
    billord_outcome *outcomes = malloc(batch.count * sizeof *outcomes);
    err = outcomes == NULL ? BILLORD_E_NOMEM
                           : billord_engine_submit(ctx->db->engine, batch.commands, batch.count,
                                                   lsn, NULL, outcomes, NULL);
    if (err != BILLORD_OK) {
        snprintf(ctx->info->error_text, sizeof ctx->info->error_text,
                 "log record %llu: applying its batch failed: %s", (unsigned long long)lsn,
                 billord_err_message(err));
    } else {
        ctx->info->records_replayed++;
        ctx->info->commands_replayed += batch.count;
        ctx->info->applied_lsn_after = lsn;
    }
    free(outcomes);
    billord_wal_batch_free(&batch);
    return err;
}

static billord_err open_wal(billord_db *db, const billord_db_config *config,
                            billord_db_recovery *info)
{
    char wal_dir[DB_PATH_BYTES_MAX];
    int written = snprintf(wal_dir, sizeof wal_dir, "%s/wal", config->data_dir);
    BILLORD_ASSERT(written > 0 && (size_t)written < sizeof wal_dir);   /* checked at open */
    if (mkdir(wal_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(info->error_text, sizeof info->error_text, "%s: cannot create", wal_dir);
        return BILLORD_E_IO;
    }
    billord_wal_config wal_config = {.dir_path = wal_dir,
                                     .segment_bytes = config->wal_segment_bytes,
                                     .archive_dir = config->archive_dir,
                                     .fs = config->fs,
                                     .preparer_inline = config->wal_preparer_inline};
    billord_wal_recovery wal_info;
    billord_err err = billord_wal_open(&wal_config, &db->wal, &wal_info);
    if (err != BILLORD_OK) {
        snprintf(info->error_text, sizeof info->error_text, "%s", wal_info.error_text);
        return err;
    }
    info->tail_truncated = wal_info.tail_truncated;
    if (wal_info.tail_truncated) {
        db_log(db, "log: torn record cut at %s offset %llu (%llu bytes); it was never answered",
               wal_info.tail_segment_path, (unsigned long long)wal_info.tail_offset_bytes,
               (unsigned long long)wal_info.tail_bytes);
    }
    if (wal_info.lsn_last < info->applied_lsn_before) {
        snprintf(info->error_text, sizeof info->error_text,
                 "%s: the log ends at LSN %llu but the state has applied LSN %llu: records that "
                 "were durable are missing",
                 wal_dir, (unsigned long long)wal_info.lsn_last,
                 (unsigned long long)info->applied_lsn_before);
        return BILLORD_E_WAL_CORRUPT;
    }
    return BILLORD_OK;
}

static billord_err recover(billord_db *db, billord_db_recovery *info)
{
    info->applied_lsn_after = info->applied_lsn_before;
    if (billord_wal_last_lsn(db->wal) > info->applied_lsn_before) {
        recovery_ctx ctx = {db, info};
        billord_err err = billord_wal_scan(db->wal, info->applied_lsn_before + 1, recover_record,
                                           &ctx);
        if (err != BILLORD_OK) {
            if (info->error_text[0] == '\0') {
                snprintf(info->error_text, sizeof info->error_text, "%s",
                         billord_wal_last_error(db->wal));
            }
            /* NOT_FOUND: the log no longer reaches back to the state (segments are missing):
             * durable records are missing, as when it ends before the state. */
            return err == BILLORD_E_NOT_FOUND ? BILLORD_E_WAL_CORRUPT : err;
        }
    }
    db->applied_lsn_previous = info->applied_lsn_after;
    db->applied_lsn_last = info->applied_lsn_after;
    return BILLORD_OK;
}

static billord_err open_parts(billord_db *db, const billord_db_config *config,
                              billord_db_recovery *info)
{
    if (config->lmdb_mode == BILLORD_LMDB_SNAPSHOT) {
        if (mkdir(config->data_dir, 0755) != 0 && errno != EEXIST) {
            snprintf(info->error_text, sizeof info->error_text, "%s: cannot create",
                     config->data_dir);
            return BILLORD_E_IO;
        }
        billord_err err = snapshot_startup(db, info);
        if (err != BILLORD_OK) {
            return err;
        }
    }
    billord_engine_config engine_config = {.data_dir = config->data_dir,
                                           .map_bytes = config->map_bytes,
                                           .token_retention_ms = config->token_retention_ms,
                                           .lmdb_mode = config->lmdb_mode,
                                           .policy = config->policy};
    billord_err err = billord_engine_open(&engine_config, &db->engine);
    if (err != BILLORD_OK) {
        snprintf(info->error_text, sizeof info->error_text, "%s/state: %s", config->data_dir,
                 billord_err_message(err));
        return err;
    }
    err = billord_engine_applied_lsn(db->engine, &info->applied_lsn_before);
    if (err == BILLORD_OK) {
        err = open_wal(db, config, info);
    }
    if (err == BILLORD_OK) {
        err = recover(db, info);
    }
    if (err == BILLORD_OK && config->lmdb_mode == BILLORD_LMDB_SNAPSHOT) {
        err = snapshot_ready(db);
    }
    return err;
}

static billord_err start_thread(pthread_t *thread, bool *out_started, void *(*main)(void *),
                                billord_db *db)
{
    *out_started = pthread_create(thread, NULL, main, db) == 0;
    return *out_started ? BILLORD_OK : BILLORD_E_NOMEM;
}

billord_err billord_db_open(const billord_db_config *config, billord_db **out_db,
                            billord_db_recovery *out_info)
{
    BILLORD_ASSERT(config != NULL && out_db != NULL);
    billord_db_recovery local_info;
    billord_db_recovery *info = out_info != NULL ? out_info : &local_info;
    memset(info, 0, sizeof *info);
    if (config->queue_commands > BILLORD_DB_QUEUE_COMMANDS_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    billord_db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        return BILLORD_E_NOMEM;
    }
    db->fs = config->fs != NULL ? config->fs : billord_fs_posix();
    db->lmdb_mode = config->lmdb_mode;
    db->log_line = config->log_line;
    db->log_ctx = config->log_ctx;
    db->queue_capacity = config->queue_commands != 0 ? config->queue_commands
                                                     : BILLORD_DB_QUEUE_COMMANDS_DEFAULT;
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->work_cv, NULL);
    pthread_cond_init(&db->snapshot_cv, NULL);
    msgpack_sbuffer_init(&db->encode_buffer);
    snprintf(db->data_dir, sizeof db->data_dir, "%s", config->data_dir);
    db->snapshot_log_bytes = config->snapshot_log_bytes != 0 ? config->snapshot_log_bytes
                                                             : BILLORD_DB_SNAPSHOT_LOG_BYTES_DEFAULT;
    db->snapshot_interval_ms = config->snapshot_interval_ms != 0
                                   ? config->snapshot_interval_ms
                                   : BILLORD_DB_SNAPSHOT_INTERVAL_MS_DEFAULT;
    /* Short enough for every path below it (log, state, snapshots). */
    billord_err err = strlen(config->data_dir) < BILLORD_SNAPSHOT_DATA_DIR_BYTES_MAX
                          ? open_parts(db, config, info)
                          : BILLORD_E_INVALID_ARGUMENT;
    if (err == BILLORD_OK) {
        err = start_thread(&db->writer, &db->writer_started, writer_main, db);
    }
    if (err == BILLORD_OK && config->lmdb_mode == BILLORD_LMDB_SNAPSHOT) {
        err = start_thread(&db->snapshotter, &db->snapshotter_started, snapshotter_main, db);
    }
    if (err != BILLORD_OK) {
        billord_db_close(db);
        return err;
    }
    *out_db = db;
    return BILLORD_OK;
}

billord_err billord_db_seed(billord_db *db, const billord_fixture *fixture)
{
    pthread_mutex_lock(&db->lock);
    bool idle = db->queue_head == NULL && db->stats.batches == 0;
    pthread_mutex_unlock(&db->lock);
    if (!idle || db->applied_lsn_last != 0) {
        return BILLORD_E_NOT_EMPTY;
    }
    billord_err err = billord_engine_seed(db->engine, fixture);
    if (err == BILLORD_OK && db->lmdb_mode == BILLORD_LMDB_SNAPSHOT) {
        /* The seed is not in the log: a snapshot must hold it before anything builds on it. */
        err = snapshot_now(db);
    }
    return err;
}

billord_engine *billord_db_engine(billord_db *db)
{
    return db->engine;
}

bool billord_db_failed(billord_db *db)
{
    pthread_mutex_lock(&db->lock);
    bool failed = db->failed;
    pthread_mutex_unlock(&db->lock);
    return failed;
}

void billord_db_stats_get(billord_db *db, billord_db_stats *out_stats)
{
    pthread_mutex_lock(&db->lock);
    *out_stats = db->stats;
    pthread_mutex_unlock(&db->lock);
}

void billord_db_close(billord_db *db)
{
    if (db == NULL) {
        return;
    }
    pthread_mutex_lock(&db->lock);
    db->closing = true;
    pthread_cond_broadcast(&db->work_cv);
    pthread_cond_broadcast(&db->snapshot_cv);
    pthread_mutex_unlock(&db->lock);
    if (db->snapshotter_started) {
        pthread_join(db->snapshotter, NULL);
    }
    if (db->writer_started) {
        pthread_join(db->writer, NULL);   /* drains the queue first */
    }
    if (db->engine != NULL && db->wal != NULL && !db->failed &&
        billord_engine_sync(db->engine) == BILLORD_OK) {
        if (db->lmdb_mode == BILLORD_LMDB_SNAPSHOT) {
            /* LMDB is whole on disk: a restart needs no rebuild. The log stays back to the
             * snapshot, which a later power loss would rebuild from. */
            billord__snapshot_mark_clean(db->fs, db->data_dir);
            billord_wal_retire(db->wal, db->snapshot_lsn, NULL);
        } else {
            /* LMDB is on disk up to the last commit: the log before it is no longer needed. */
            billord_wal_retire(db->wal, db->applied_lsn_last, NULL);
        }
    }
    billord_wal_close(db->wal);
    billord_engine_close(db->engine);
    msgpack_sbuffer_destroy(&db->encode_buffer);
    pthread_cond_destroy(&db->work_cv);
    pthread_cond_destroy(&db->snapshot_cv);
    pthread_mutex_destroy(&db->lock);
    free(db);
}
