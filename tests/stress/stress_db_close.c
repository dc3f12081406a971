/*
 * stress_db_close.c: billord_db_close() while the writer is busy and callers wait in the
 * queue (billord/db.h: "Stop accepting, drain every queued command, answering each after its
 * sync"). Exits non-zero on the first broken promise; scripts/tsan.sh runs it under
 * ThreadSanitizer (any report fails).
 *
 * Method, in both LMDB modes (NOMETASYNC; snapshot mode with its snapshotter running): the
 * log's syncs go through a gate (stress.h). With the gate closed, one caller's command holds
 * the writer in the middle of its batch. Then pairs of callers send the same new ClientToken
 * at once: exactly one of each pair is queued and the other is answered LastTokenProcessing
 * at once, which tells this program that its partner is in the queue (a caller in the queue
 * never touches the db again before its answer, so closing under it is allowed). The main
 * thread then closes the db. A prober, asking with the held command's token, sees
 * LastTokenProcessing until close has begun and BILLORD_E_CLOSED (ServiceUnavailable) after;
 * only then does it open the gate. close() must return having answered every queued caller
 * with its order, and a reopened db (recovery) must hold exactly those orders.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define PAIRS 24
#define SETTLE_TIMEOUT_MS 60000

typedef struct caller {
    billord_db *db;
    stress_renew renew;                     /* built before the thread starts */
    billord_err err;
    billord_outcome outcome;
    atomic_int *settled;                    /* pairs whose queued member is known */
    pthread_t thread;
} caller;

static void *caller_main(void *arg)
{
    caller *self = arg;
    self->err = billord_db_execute(self->db, &self->renew.command, &self->outcome);
    if (self->settled != NULL && self->outcome.code == BILLORD_API_LAST_TOKEN_PROCESSING) {
        atomic_fetch_add(self->settled, 1);
    }
    return NULL;
}

typedef struct prober {
    billord_db *db;
    stress_gate *gate;
    const char *token;
    atomic_uint_fast64_t in_flight_answers;
    billord_err err;
    billord_outcome outcome;
    pthread_t thread;
} prober;

/* Ask with the held command's token until close has begun; then let the writer go on. */
static void *prober_main(void *arg)
{
    prober *self = arg;
    for (;;) {
        stress_renew renew;
        stress_renew_init(&renew, 0, 1, self->token, STRESS_NOW_MS);
        self->err = billord_db_execute(self->db, &renew.command, &self->outcome);
        if (self->outcome.code != BILLORD_API_LAST_TOKEN_PROCESSING) {
            break;
        }
        atomic_fetch_add(&self->in_flight_answers, 1);
        usleep(1000);
    }
    stress_gate_open(self->gate);
    return NULL;
}

static void start(pthread_t *thread, void *(*main_fn)(void *), void *arg)
{
    STRESS_CHECK(pthread_create(thread, NULL, main_fn, arg) == 0, "pthread_create");
}

static void run_mode(const char *name, billord_lmdb_mode mode)
{
    int64_t started_ms = stress_now_ms();
    char dir[STRESS_PATH_BYTES];
    stress_dir_make(dir);
    stress_seed(dir);
    stress_gate *gate = stress_gate_new();
    billord_db *db = stress_open(dir, mode, 0, stress_gate_fs(gate));
    uint64_t next_order_id_before = stress_next_order_id(db);

    /* 1. One command holds the writer at its sync. */
    stress_gate_close(gate);
    caller *held = calloc(1, sizeof *held);
    STRESS_CHECK(held != NULL, "out of memory");
    held->db = db;
    stress_renew_init(&held->renew, 0, 1, "held", STRESS_NOW_MS);
    start(&held->thread, caller_main, held);
    stress_gate_wait_held(gate);

    /* 2. Pairs of callers with one new token each: one queued, one answered at once. */
    atomic_int settled = 0;
    caller *pairs = calloc(2 * PAIRS, sizeof *pairs);
    STRESS_CHECK(pairs != NULL, "out of memory");
    for (int i = 0; i < 2 * PAIRS; i++) {
        char token[STRESS_TOKEN_BYTES];
        snprintf(token, sizeof token, "pair-%d", i / 2);
        pairs[i].db = db;
        pairs[i].settled = &settled;
        stress_renew_init(&pairs[i].renew, (unsigned)(i / 2), 1, token, STRESS_NOW_MS);
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        start(&pairs[i].thread, caller_main, &pairs[i]);
    }
    int64_t settle_deadline_ms = stress_now_ms() + SETTLE_TIMEOUT_MS;
    while (atomic_load(&settled) < PAIRS) {
        STRESS_CHECK(stress_now_ms() < settle_deadline_ms,
                     "%s: only %d of %d pairs had one caller answered LastTokenProcessing", name,
                     atomic_load(&settled), PAIRS);
        usleep(1000);
    }

    /* 3. Close while the writer holds one batch and PAIRS callers wait in the queue. */
    prober probe = {.db = db, .gate = gate, .token = "held"};
    start(&probe.thread, prober_main, &probe);
    while (atomic_load(&probe.in_flight_answers) == 0) {
        usleep(1000);                       /* the held command is seen in flight first */
    }
    billord_db_close(db);
    pthread_join(probe.thread, NULL);
    pthread_join(held->thread, NULL);
    for (int i = 0; i < 2 * PAIRS; i++) {
        pthread_join(pairs[i].thread, NULL);
    }

    /* 4. What everyone was answered. */
    STRESS_CHECK(probe.err == BILLORD_E_CLOSED &&
                     probe.outcome.code == BILLORD_API_SERVICE_UNAVAILABLE,
                 "%s: a command during close: status %s, code %s", name,
                 billord_err_message(probe.err), billord_api_code_text(probe.outcome.code));
    stress_answers answers = {0};
    STRESS_CHECK(held->err == BILLORD_OK && held->outcome.code == BILLORD_API_OK &&
                     held->outcome.has_order_id && !held->outcome.idempotent_replay,
                 "%s: the held command: status %s, code %s", name, billord_err_message(held->err),
                 billord_api_code_text(held->outcome.code));
    stress_answers_add(&answers, "held", held->outcome.order_id);
    for (int i = 0; i < PAIRS; i++) {
        caller *first = &pairs[2 * i];
        caller *second = &pairs[2 * i + 1];
        bool first_queued = first->outcome.code != BILLORD_API_LAST_TOKEN_PROCESSING;
        caller *queued = first_queued ? first : second;
        caller *answered = first_queued ? second : first;
        STRESS_CHECK(answered->err == BILLORD_OK &&
                         answered->outcome.code == BILLORD_API_LAST_TOKEN_PROCESSING,
                     "%s: pair %d: neither caller was answered LastTokenProcessing", name, i);
        STRESS_CHECK(queued->err == BILLORD_OK && queued->outcome.code == BILLORD_API_OK &&
                         queued->outcome.has_order_id && !queued->outcome.idempotent_replay,
                     "%s: pair %d: the queued caller: status %s, code %s", name, i,
                     billord_err_message(queued->err), billord_api_code_text(queued->outcome.code));
        stress_answers_add(&answers, queued->renew.token, queued->outcome.order_id);
        stress_answers_add(&answers, answered->renew.token, 0);
    }

    /* 5. Recovery holds exactly the answered orders. */
    db = stress_open(dir, mode, 0, NULL);
    uint64_t made = stress_audit(db, next_order_id_before, &answers);
    STRESS_CHECK(made == PAIRS + 1, "%s: %llu orders made, %d answered", name,
                 (unsigned long long)made, PAIRS + 1);
    billord_db_close(db);
    printf("stress_db_close: %-10s ok: %.1f s, %d callers drained by close, %llu answers "
           "LastTokenProcessing before it began\n",
           name, (double)(stress_now_ms() - started_ms) / 1000, PAIRS + 1,
           (unsigned long long)atomic_load(&probe.in_flight_answers));
    stress_answers_free(&answers);
    free(pairs);
    free(held);
    stress_gate_free(gate);
    stress_dir_remove(dir);
}

int main(int argc, char **argv)
{
    double seconds = stress_seconds(argc, argv, 1.0);
    /* Each round is short; --seconds repeats rounds for that long (at least one each). */
    int64_t end_ms = stress_now_ms() + (int64_t)(seconds * 1000);
    int rounds = 0;
    do {
        run_mode("nometasync", BILLORD_LMDB_NOMETASYNC);
        run_mode("snapshot", BILLORD_LMDB_SNAPSHOT);
        rounds++;
    } while (stress_now_ms() < end_ms);
    printf("stress_db_close: %d rounds\n", rounds);
    return 0;
}
