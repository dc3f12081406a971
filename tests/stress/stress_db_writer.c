/*
 * stress_db_writer.c: the durable db (billord/db.h) under many threads at once: its submit
 * queue, single writer and group commit, in-flight ClientTokens, back-pressure, reads beside
 * the writer, lifecycle ticks and, in snapshot mode, the snapshotter. Exits non-zero on the
 * first broken promise; scripts/tsan.sh runs it under ThreadSanitizer (any report fails).
 *
 * Workload, per scenario (LMDB mode NOMETASYNC with a 4-command queue, so that callers are
 * refused at once with ServiceUnavailable; snapshot mode with the default queue):
 *   writers  new ClientTokens (one order each); repeats of primed tokens with the same
 *            parameters (the stored answer: same order, idempotent replay); the same tokens
 *            with other parameters (IdempotenceParamNotMatch); the same new token twice in
 *            one execute_many (the second is LastTokenProcessing while the first is in
 *            flight); batches through execute_many; parameter errors (never queued).
 *            LastTokenProcessing and a full queue are accepted answers wherever they can
 *            happen, never a wrong order or a second order.
 *   readers  DescribeOrders (through the db and the engine) and the store summary never
 *            count fewer orders than have been answered before the read began, and never go
 *            back; primed tokens read back their orders; access keys and events read.
 *   ticker   lifecycle ticks one second apart.
 * The load runs --seconds (default 2) and on until every path was seen (a full queue, an
 * in-flight answer, a batch of more than one command, a snapshot taken under load). Then the
 * db is closed and reopened (recovery) and stress_audit() checks every order against what
 * callers were answered.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define WRITERS 8
#define READERS 2
#define SHARED_TOKENS 64
#define GOALS_GRACE_MS 60000                /* at most this long past --seconds for the goals */

typedef struct scenario_def {
    const char *name;
    billord_lmdb_mode mode;
    uint32_t queue_commands;
    bool expect_queue_full;
    bool expect_snapshots;
} scenario_def;

typedef struct load {
    const scenario_def *scenario;
    billord_db *db;
    atomic_bool stop;
    atomic_uint_fast64_t answered_new;      /* new orders answered so far */
    atomic_uint_fast64_t replays, mismatches, in_flight, queue_full, ticks, reads;
    int64_t describe_total_before;          /* DescribeOrders' TotalCount after priming */
    int64_t summary_orders_before;
    char shared_token[SHARED_TOKENS][STRESS_TOKEN_BYTES];
    uint64_t shared_order[SHARED_TOKENS];   /* written before any thread starts */
} load;

typedef struct worker {
    load *run;
    int index;
    uint64_t random;
    bool refused;                           /* the last operation met a full queue */
    stress_answers answers;
    pthread_t thread;
} worker;

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static bool is_queue_full(billord_err err, const billord_outcome *outcome)
{
    return err == BILLORD_E_QUEUE_FULL && outcome->code == BILLORD_API_SERVICE_UNAVAILABLE;
}

/* A new token: one new order, or refused at once by a full queue. */
static void check_new(worker *self, const char *token, billord_err err,
                      const billord_outcome *outcome)
{
    load *run = self->run;
    if (is_queue_full(err, outcome)) {
        atomic_fetch_add(&run->queue_full, 1);
        self->refused = true;
        stress_answers_add(&self->answers, token, 0);
        return;
    }
    STRESS_CHECK(err == BILLORD_OK && outcome->code == BILLORD_API_OK && outcome->has_order_id &&
                     !outcome->idempotent_replay,
                 "%s: new token %s: status %s, code %s", run->scenario->name, token,
                 billord_err_message(err), billord_api_code_text(outcome->code));
    stress_answers_add(&self->answers, token, outcome->order_id);
    atomic_fetch_add_explicit(&run->answered_new, 1, memory_order_release);
}

static void op_new(worker *self, uint64_t serial)
{
    char token[STRESS_TOKEN_BYTES];
    snprintf(token, sizeof token, "n%d-%llu", self->index, (unsigned long long)serial);
    stress_renew renew;
    stress_renew_init(&renew, (unsigned)(next_random(&self->random) % STRESS_INSTANCES), 1, token,
                      STRESS_NOW_MS);
    billord_outcome outcome;
    billord_err err = billord_db_execute(self->run->db, &renew.command, &outcome);
    check_new(self, token, err, &outcome);
}

/* A primed token again, with its parameters or (mismatch) with others. */
static void op_repeat(worker *self, bool mismatch)
{
    load *run = self->run;
    unsigned j = (unsigned)(next_random(&self->random) % SHARED_TOKENS);
    stress_renew renew;
    /* Another instance, or another period: either breaks the parameter fingerprint. */
    unsigned instance = mismatch && j % 2 == 0 ? j + 1 : j;
    unsigned period = mismatch && j % 2 == 1 ? 2 : 1;
    stress_renew_init(&renew, instance, period, run->shared_token[j], STRESS_NOW_MS);
    billord_outcome outcome;
    billord_err err = billord_db_execute(run->db, &renew.command, &outcome);
    if (is_queue_full(err, &outcome)) {
        atomic_fetch_add(&run->queue_full, 1);
        self->refused = true;
        return;
    }
    STRESS_CHECK(err == BILLORD_OK, "%s: token %s: status %s", run->scenario->name,
                 run->shared_token[j], billord_err_message(err));
    if (outcome.code == BILLORD_API_LAST_TOKEN_PROCESSING) {
        atomic_fetch_add(&run->in_flight, 1);
        return;
    }
    if (mismatch) {
        STRESS_CHECK(outcome.code == BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH && !outcome.has_order_id,
                     "%s: token %s with other parameters: code %s", run->scenario->name,
                     run->shared_token[j], billord_api_code_text(outcome.code));
        atomic_fetch_add(&run->mismatches, 1);
        return;
    }
    STRESS_CHECK(outcome.code == BILLORD_API_OK && outcome.idempotent_replay &&
                     outcome.has_order_id && outcome.order_id == run->shared_order[j],
                 "%s: token %s repeated: code %s, replay %d, order %llu (stored answer: %llu)",
                 run->scenario->name, run->shared_token[j], billord_api_code_text(outcome.code),
                 (int)outcome.idempotent_replay, (unsigned long long)outcome.order_id,
                 (unsigned long long)run->shared_order[j]);
    atomic_fetch_add(&run->replays, 1);
    stress_answers_add(&self->answers, run->shared_token[j], outcome.order_id);
}

/* The same new token twice in one execute_many: the second finds the first in flight. */
static void op_duplicate_in_one_call(worker *self, uint64_t serial)
{
    load *run = self->run;
    char token[STRESS_TOKEN_BYTES];
    snprintf(token, sizeof token, "d%d-%llu", self->index, (unsigned long long)serial);
    unsigned instance = (unsigned)(next_random(&self->random) % STRESS_INSTANCES);
    stress_renew first, second;
    stress_renew_init(&first, instance, 1, token, STRESS_NOW_MS);
    stress_renew_init(&second, instance, 1, token, STRESS_NOW_MS);
    billord_command commands[2] = {first.command, second.command};
    billord_outcome outcomes[2];
    billord_err err = billord_db_execute_many(run->db, commands, 2, outcomes);
    STRESS_CHECK(err == BILLORD_OK || err == BILLORD_E_QUEUE_FULL, "%s: %s twice: status %s",
                 run->scenario->name, token, billord_err_message(err));
    bool answered_order = false;
    for (int i = 0; i < 2; i++) {
        const billord_outcome *outcome = &outcomes[i];
        if (outcome->code == BILLORD_API_SERVICE_UNAVAILABLE) {
            atomic_fetch_add(&run->queue_full, 1);
            self->refused = true;
            stress_answers_add(&self->answers, token, 0);
        } else if (outcome->code == BILLORD_API_LAST_TOKEN_PROCESSING) {
            STRESS_CHECK(i == 1, "%s: %s: the first of two is never in flight", run->scenario->name,
                         token);
            atomic_fetch_add(&run->in_flight, 1);
        } else {
            STRESS_CHECK(outcome->code == BILLORD_API_OK && outcome->has_order_id,
                         "%s: %s (%d of 2): code %s", run->scenario->name, token, i + 1,
                         billord_api_code_text(outcome->code));
            /* The second is a replay when the first was answered before it was accepted. */
            STRESS_CHECK(outcome->idempotent_replay == answered_order,
                         "%s: %s (%d of 2): replay %d after %s", run->scenario->name, token, i + 1,
                         (int)outcome->idempotent_replay, answered_order ? "an order" : "none");
            if (!answered_order) {
                atomic_fetch_add_explicit(&run->answered_new, 1, memory_order_release);
            }
            answered_order = true;
            stress_answers_add(&self->answers, token, outcome->order_id);
        }
    }
}

/* Four new tokens in one call: they may share a group commit. */
static void op_many(worker *self, uint64_t serial)
{
    enum { MANY = 4 };
    stress_renew renews[MANY];
    billord_command commands[MANY];
    for (int i = 0; i < MANY; i++) {
        char token[STRESS_TOKEN_BYTES];
        snprintf(token, sizeof token, "m%d-%llu-%d", self->index, (unsigned long long)serial, i);
        stress_renew_init(&renews[i], (unsigned)(next_random(&self->random) % STRESS_INSTANCES), 1,
                          token, STRESS_NOW_MS);
        commands[i] = renews[i].command;
    }
    billord_outcome outcomes[MANY];
    billord_db_execute_many(self->run->db, commands, MANY, outcomes);
    for (int i = 0; i < MANY; i++) {
        bool refused = outcomes[i].code == BILLORD_API_SERVICE_UNAVAILABLE;
        check_new(self, renews[i].token, refused ? BILLORD_E_QUEUE_FULL : BILLORD_OK, &outcomes[i]);
    }
}

/* A parameter error is answered at once and never queued or logged. */
static void op_parameter_error(worker *self)
{
    stress_renew renew;
    stress_renew_init(&renew, 0, 1, "never-stored", STRESS_NOW_MS);
    snprintf(renew.period, sizeof renew.period, "01");
    billord_outcome outcome;
    billord_err err = billord_db_execute(self->run->db, &renew.command, &outcome);
    STRESS_CHECK(err == BILLORD_OK && outcome.code == BILLORD_API_INVALID_PERIOD,
                 "%s: Period 01: status %s, code %s", self->run->scenario->name,
                 billord_err_message(err), billord_api_code_text(outcome.code));
}

static void *writer_main(void *arg)
{
    worker *self = arg;
    for (uint64_t serial = 0; !atomic_load(&self->run->stop); serial++) {
        if (self->refused) {
            usleep(500);                    /* back off as a client would; no busy loop */
            self->refused = false;
        }
        switch (next_random(&self->random) % 10) {
        case 0: case 1: case 2: case 3:
            op_new(self, serial);
            break;
        case 4: case 5:
            op_repeat(self, false);
            break;
        case 6:
            op_repeat(self, true);
            break;
        case 7:
            op_duplicate_in_one_call(self, serial);
            break;
        case 8:
            op_many(self, serial);
            break;
        default:
            op_parameter_error(self);
            break;
        }
    }
    return NULL;
}

static billord_command describe_orders_command(billord_param *page_size)
{
    *page_size = (billord_param){"PageSize", "1"};
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST, .now_ms = STRESS_NOW_MS,
                               .account = STRESS_ACCOUNT, .action = "DescribeOrders",
                               .param_count = 1, .params = page_size};
    snprintf(command.request_id, sizeof command.request_id, "RID-describe");
    return command;
}

/* DescribeOrders' TotalCount for the account (the engine's read path). */
static int64_t describe_total(load *run)
{
    billord_param page_size;
    billord_command command = describe_orders_command(&page_size);
    billord_outcome outcome;
    json_t *fields = NULL;
    billord_err err = billord_engine_query(billord_db_engine(run->db), &command, &outcome, &fields);
    STRESS_CHECK(err == BILLORD_OK && outcome.code == BILLORD_API_OK && fields != NULL,
                 "%s: DescribeOrders: status %s, code %s", run->scenario->name,
                 billord_err_message(err), billord_api_code_text(outcome.code));
    int64_t total = json_integer_value(json_object_get(fields, "TotalCount"));
    json_decref(fields);
    return total;
}

/* DescribeOrders through the db: answered at once beside the queue (no fields). */
static void describe_through_db(load *run)
{
    billord_param page_size;
    billord_command command = describe_orders_command(&page_size);
    billord_outcome outcome;
    billord_err err = billord_db_execute(run->db, &command, &outcome);
    STRESS_CHECK(err == BILLORD_OK && outcome.code == BILLORD_API_OK,
                 "%s: DescribeOrders through the db: status %s, code %s", run->scenario->name,
                 billord_err_message(err), billord_api_code_text(outcome.code));
}

static void *reader_main(void *arg)
{
    worker *self = arg;
    load *run = self->run;
    billord_engine *engine = billord_db_engine(run->db);
    int64_t describe_last = 0, summary_last = 0;
    while (!atomic_load(&run->stop)) {
        /* Every order answered before this point is committed: the reads must count it. */
        int64_t answered =
            (int64_t)atomic_load_explicit(&run->answered_new, memory_order_acquire);
        int64_t total = describe_total(run);
        STRESS_CHECK(total >= run->describe_total_before + answered && total >= describe_last,
                     "%s: DescribeOrders counts %lld orders; %lld were there and %lld answered "
                     "since; the last read counted %lld",
                     run->scenario->name, (long long)total, (long long)run->describe_total_before,
                     (long long)answered, (long long)describe_last);
        describe_last = total;
        int64_t orders = stress_order_count(run->db);
        STRESS_CHECK(orders >= run->summary_orders_before + answered && orders >= summary_last,
                     "%s: the summary counts %lld orders; %lld were there and %lld answered since",
                     run->scenario->name, (long long)orders, (long long)run->summary_orders_before,
                     (long long)answered);
        summary_last = orders;
        describe_through_db(run);

        unsigned j = (unsigned)(next_random(&self->random) % SHARED_TOKENS);
        char id[STRESS_TOKEN_BYTES + 32];
        snprintf(id, sizeof id, "%s:%s", STRESS_ACCOUNT, run->shared_token[j]);
        json_t *record = NULL;
        billord_err err = billord_engine_inspect(engine, BILLORD_INSPECT_TOKEN, id, &record);
        STRESS_CHECK(err == BILLORD_OK, "%s: inspect token %s: %s", run->scenario->name, id,
                     billord_err_message(err));
        uint64_t order_id = (uint64_t)json_integer_value(json_object_get(record, "order_id"));
        STRESS_CHECK(order_id == run->shared_order[j], "%s: token %s reads order %llu, not %llu",
                     run->scenario->name, id, (unsigned long long)order_id,
                     (unsigned long long)run->shared_order[j]);
        json_decref(record);

        char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
        char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1];
        err = billord_engine_access_key_find(engine, STRESS_ACCESS_KEY, account, secret);
        STRESS_CHECK(err == BILLORD_OK && strcmp(account, STRESS_ACCOUNT) == 0 &&
                         strcmp(secret, STRESS_ACCESS_SECRET) == 0,
                     "%s: access key: %s", run->scenario->name, billord_err_message(err));

        json_t *events = NULL;
        err = billord_engine_events(engine, 0, 16, &events);
        STRESS_CHECK(err == BILLORD_OK && json_is_array(events) && json_array_size(events) <= 16,
                     "%s: events: %s", run->scenario->name, billord_err_message(err));
        json_decref(events);
        atomic_fetch_add(&run->reads, 1);
    }
    return NULL;
}

/* Ticks one (store) second apart; a refused tick is tried again at the same time, so that
 * the store's clock stays far inside the ClientToken retention (7 days). */
static void *ticker_main(void *arg)
{
    worker *self = arg;
    load *run = self->run;
    int64_t second = 1;
    while (!atomic_load(&run->stop)) {
        billord_command command = {.kind = BILLORD_COMMAND_TICK,
                                   .now_ms = STRESS_NOW_MS + second * 1000, .account = "",
                                   .action = ""};
        snprintf(command.request_id, sizeof command.request_id, "TICK-%lld", (long long)second);
        billord_outcome outcome;
        billord_err err = billord_db_execute(run->db, &command, &outcome);
        if (is_queue_full(err, &outcome)) {
            atomic_fetch_add(&run->queue_full, 1);
        } else {
            STRESS_CHECK(err == BILLORD_OK && outcome.code == BILLORD_API_OK,
                         "%s: tick: status %s, code %s", run->scenario->name,
                         billord_err_message(err), billord_api_code_text(outcome.code));
            atomic_fetch_add(&run->ticks, 1);
            second++;
        }
        usleep(2000);
    }
    return NULL;
}

/* Give each shared token its order before the load: every later use must find it. */
static void prime(load *run, stress_answers *answers)
{
    for (unsigned j = 0; j < SHARED_TOKENS; j++) {
        snprintf(run->shared_token[j], sizeof run->shared_token[j], "shared-%u", j);
        stress_renew renew;
        stress_renew_init(&renew, j, 1, run->shared_token[j], STRESS_NOW_MS);
        billord_outcome outcome;
        billord_err err = billord_db_execute(run->db, &renew.command, &outcome);
        STRESS_CHECK(err == BILLORD_OK && outcome.code == BILLORD_API_OK && outcome.has_order_id,
                     "%s: priming %s: status %s, code %s", run->scenario->name,
                     run->shared_token[j], billord_err_message(err),
                     billord_api_code_text(outcome.code));
        run->shared_order[j] = outcome.order_id;
        stress_answers_add(answers, run->shared_token[j], outcome.order_id);
    }
}

/* Whether every path was seen since start; else *out_missing names the first one not. */
static bool goals_met(load *run, const billord_db_stats *start, const char **out_missing)
{
    billord_db_stats now;
    billord_db_stats_get(run->db, &now);
    const struct {
        bool met;
        const char *name;
    } goals[] = {
        {now.answered_in_flight > start->answered_in_flight, "an answer LastTokenProcessing"},
        {now.batch_commands_max > 1, "a group commit of more than one command"},
        {!run->scenario->expect_queue_full || now.rejected_queue_full > 0, "a full queue"},
        {!run->scenario->expect_snapshots || now.snapshots > start->snapshots,
         "a snapshot under load"},
        {atomic_load(&run->mismatches) > 0, "an answer IdempotenceParamNotMatch"},
        {atomic_load(&run->replays) > 0, "an idempotent replay"},
        {atomic_load(&run->ticks) > 0, "a tick"},
        {atomic_load(&run->reads) > 0, "a round of reads"},
    };
    for (size_t i = 0; i < sizeof goals / sizeof goals[0]; i++) {
        if (!goals[i].met) {
            *out_missing = goals[i].name;
            return false;
        }
    }
    return true;
}

static void run_scenario(const scenario_def *scenario, double seconds, uint64_t seed)
{
    char dir[STRESS_PATH_BYTES];
    stress_dir_make(dir);
    stress_seed(dir);
    load *run = calloc(1, sizeof *run);
    STRESS_CHECK(run != NULL, "out of memory");
    run->scenario = scenario;
    run->db = stress_open(dir, scenario->mode, scenario->queue_commands, NULL);
    stress_answers answers = {0};
    uint64_t next_order_id_before = stress_next_order_id(run->db);
    prime(run, &answers);
    run->describe_total_before = describe_total(run);
    run->summary_orders_before = stress_order_count(run->db);
    billord_db_stats stats_start;
    billord_db_stats_get(run->db, &stats_start);

    enum { THREADS = WRITERS + READERS + 1 };
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.run = run, .index = i, .random = seed * 2654435761u + (uint64_t)i + 1};
        void *(*main_fn)(void *) = i < WRITERS ? writer_main
                                   : i < WRITERS + READERS ? reader_main
                                                           : ticker_main;
        STRESS_CHECK(pthread_create(&workers[i].thread, NULL, main_fn, &workers[i]) == 0,
                     "pthread_create");
    }
    int64_t started_ms = stress_now_ms();
    int64_t end_ms = started_ms + (int64_t)(seconds * 1000);
    const char *missing = NULL;
    while (stress_now_ms() < end_ms || !goals_met(run, &stats_start, &missing)) {
        STRESS_CHECK(stress_now_ms() < end_ms + GOALS_GRACE_MS,
                     "%s: after %.1f s still no %s", scenario->name,
                     (double)(stress_now_ms() - started_ms) / 1000, missing);
        usleep(20000);
    }
    atomic_store(&run->stop, true);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(workers[i].thread, NULL);
        stress_answers_append(&answers, &workers[i].answers);
        stress_answers_free(&workers[i].answers);
    }
    billord_db_stats stats;
    billord_db_stats_get(run->db, &stats);
    billord_db_close(run->db);

    /* Recovery must find exactly what the callers were told. */
    billord_db *db = stress_open(dir, scenario->mode, 0, NULL);
    uint64_t made = stress_audit(db, next_order_id_before, &answers);
    STRESS_CHECK(made == SHARED_TOKENS + atomic_load(&run->answered_new),
                 "%s: %llu orders made, %llu primed and %llu answered as new", scenario->name,
                 (unsigned long long)made, (unsigned long long)SHARED_TOKENS,
                 (unsigned long long)atomic_load(&run->answered_new));
    billord_db_close(db);
    printf("stress_db_writer: %-10s ok: %.1f s, %llu orders, %llu commands in %llu batches "
           "(max %llu), %llu replays, %llu mismatches, %llu in flight, %llu queue full, "
           "%llu ticks, %llu reads, %llu snapshots\n",
           scenario->name, (double)(stress_now_ms() - started_ms) / 1000, (unsigned long long)made,
           (unsigned long long)stats.commands, (unsigned long long)stats.batches,
           (unsigned long long)stats.batch_commands_max, (unsigned long long)run->replays,
           (unsigned long long)run->mismatches, (unsigned long long)run->in_flight,
           (unsigned long long)run->queue_full, (unsigned long long)run->ticks,
           (unsigned long long)run->reads, (unsigned long long)stats.snapshots);
    stress_answers_free(&answers);
    free(run);
    stress_dir_remove(dir);
}

int main(int argc, char **argv)
{
    double seconds = stress_seconds(argc, argv, 2.0);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    printf("stress_db_writer: seed %llu, %.1f s per scenario\n", (unsigned long long)seed, seconds);
    static const scenario_def scenarios[] = {
        {"nometasync", BILLORD_LMDB_NOMETASYNC, 4, true, false},
        {"snapshot", BILLORD_LMDB_SNAPSHOT, 0, false, true},
    };
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        run_scenario(&scenarios[i], seconds, seed + i);
    }
    return 0;
}
