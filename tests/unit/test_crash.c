/*
 * test_crash.c: kill -9 at random moments loses no acknowledged order and never applies a
 * command twice (SPEC section 7).
 *
 * Method: per cycle, a child process opens the data directory (recovering what the last
 * kill left), runs the durable engine under load from several threads, and writes every
 * acknowledged (ClientToken, OrderId) to a pipe right after its answer. The parent kills it
 * with SIGKILL after a random delay (also during recovery), reopens the directory and
 * checks that each acknowledged token holds its order with the same id. At the end every
 * order must carry a distinct token (no command applied twice). Seeded (printed);
 * BILLORD_CRASH_SEED repeats a run, BILLORD_CRASH_CYCLES (default 100) runs longer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "support/db_harness.h"

#define CRASH_CYCLES_DEFAULT 100u
#define CRASH_THREADS 8
#define CRASH_DELAY_US_MAX 60000u
#define CRASH_ACKS_MAX 400000u
#define CRASH_LINE_BYTES 96u
#define CRASH_NOW_MS 1795305600000LL

typedef struct child_ctx {
    billord_db *db;
    int pipe_fd;
    uint32_t cycle;
    int thread_index;
} child_ctx;

static void *child_thread(void *arg)
{
    child_ctx *ctx = arg;
    char instance[32];
    snprintf(instance, sizeof instance, "i-crash%04d", ctx->thread_index % (int)CRASH_INSTANCES);
    for (uint64_t n = 0;; n++) {
        char token[48];
        snprintf(token, sizeof token, "c%u-t%d-%llu", ctx->cycle, ctx->thread_index,
                 (unsigned long long)n);
        billord_outcome outcome = db_harness_renew(ctx->db, instance, token, CRASH_NOW_MS);
        if (outcome.code != BILLORD_API_OK) {
            _exit(3);                   /* every renewal must succeed in this workload */
        }
        char line[CRASH_LINE_BYTES];
        int length = snprintf(line, sizeof line, "%s %llu\n", token,
                              (unsigned long long)outcome.order_id);
        /* One write below PIPE_BUF is atomic: a line is whole or absent. */
        if (write(ctx->pipe_fd, line, (size_t)length) != length) {
            _exit(4);
        }
    }
    return NULL;
}

static _Noreturn void child_main(const char *dir, int pipe_fd, uint32_t cycle,
                                 billord_lmdb_mode mode)
{
    billord_err err = BILLORD_OK;
    billord_db *db = db_harness_open_mode(dir, mode, 0, NULL, &err);
    if (db == NULL) {
        _exit(2);
    }
    child_ctx ctx[CRASH_THREADS];
    pthread_t threads[CRASH_THREADS];
    for (int i = 0; i < CRASH_THREADS; i++) {
        ctx[i] = (child_ctx){db, pipe_fd, cycle, i};
        pthread_create(&threads[i], NULL, child_thread, &ctx[i]);
    }
    for (;;) {
        pause();
    }
}

typedef struct ack {
    char token[48];
    uint64_t order_id;
} ack;

/* Read every whole line the child wrote before it died. */
static size_t read_acks(int fd, ack *acks, size_t acks_count, size_t acks_max)
{
    static char buffer[1 << 16];
    static size_t used;
    used = 0;
    for (;;) {
        ssize_t got = read(fd, buffer + used, sizeof buffer - used - 1);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        used += (size_t)got;
        buffer[used] = '\0';
        char *line = buffer;
        char *newline;
        while ((newline = strchr(line, '\n')) != NULL) {
            *newline = '\0';
            unsigned long long order_id = 0;
            if (acks_count < acks_max &&
                sscanf(line, "%47s %llu", acks[acks_count].token, &order_id) == 2) {
                acks[acks_count++].order_id = order_id;
            }
            line = newline + 1;
        }
        used = (size_t)(buffer + used - line);
        memmove(buffer, line, used);
    }
    return acks_count;
}

static void check_acks(billord_db *db, const ack *acks, size_t from, size_t count, uint64_t seed)
{
    for (size_t i = from; i < count; i++) {
        char id[BILLORD_ACCOUNT_ID_BYTES_MAX + 64];
        snprintf(id, sizeof id, "%s:%s", CRASH_ACCOUNT, acks[i].token);
        json_t *record = NULL;
        billord_err err = billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_TOKEN, id,
                                                 &record);
        cr_assert(eq(int, err, BILLORD_OK), "seed %llu: acknowledged token %s is lost",
                  (unsigned long long)seed, acks[i].token);
        uint64_t order_id = (uint64_t)json_integer_value(json_object_get(record, "order_id"));
        json_decref(record);
        cr_assert(eq(u64, order_id, acks[i].order_id), "seed %llu: token %s changed its order",
                  (unsigned long long)seed, acks[i].token);
    }
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every order carries its own token: no command was applied twice. */
static void check_tokens_unique(billord_db *db, uint64_t seed)
{
    uint64_t next = db_harness_next_order_id(db);
    size_t count = (size_t)(next - BILLORD_ORDER_ID_FIRST);
    char **tokens = calloc(count + 1, sizeof *tokens);
    size_t found = 0;
    for (uint64_t id = BILLORD_ORDER_ID_FIRST; id < next; id++) {
        char token[BILLORD_CLIENT_TOKEN_BYTES_MAX + 1];
        if (db_harness_order_token(db, id, token, sizeof token)) {
            tokens[found++] = strdup(token);
        }
    }
    cr_assert(eq(i64, (int64_t)found, db_harness_order_count(db)));
    qsort(tokens, found, sizeof *tokens, compare_strings);
    for (size_t i = 1; i < found; i++) {
        cr_assert(strcmp(tokens[i - 1], tokens[i]) != 0, "seed %llu: token %s has two orders",
                  (unsigned long long)seed, tokens[i]);
    }
    for (size_t i = 0; i < found; i++) {
        free(tokens[i]);
    }
    free(tokens);
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *text = getenv(name);
    return text != NULL && text[0] != '\0' ? strtoull(text, NULL, 10) : fallback;
}

static void run_cycles(billord_lmdb_mode mode, uint32_t cycles_default)
{
    char dir[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    db_harness_seed(dir, "tests/fixtures/crash.json");
    uint64_t seed = env_u64("BILLORD_CRASH_SEED", (uint64_t)time(NULL) ^ (uint64_t)getpid());
    uint32_t cycles = (uint32_t)env_u64("BILLORD_CRASH_CYCLES", cycles_default);
    fprintf(stderr, "crash: seed %llu, %u cycles (BILLORD_CRASH_SEED, BILLORD_CRASH_CYCLES)\n",
            (unsigned long long)seed, cycles);
    srand48((long)seed);
    ack *acks = malloc(CRASH_ACKS_MAX * sizeof *acks);
    size_t acks_count = 0;
    for (uint32_t cycle = 0; cycle < cycles; cycle++) {
        int fds[2];
        cr_assert(eq(int, pipe(fds), 0));
        pid_t child = fork();
        cr_assert(child >= 0);
        if (child == 0) {
            close(fds[0]);
            child_main(dir, fds[1], cycle, mode);
        }
        close(fds[1]);
        usleep((useconds_t)(lrand48() % CRASH_DELAY_US_MAX));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        cr_assert(killed,
                  "seed %llu: the child stopped by itself (status %d)", (unsigned long long)seed,
                  status);
        acks_count = read_acks(fds[0], acks, acks_count, CRASH_ACKS_MAX);
        close(fds[0]);
        billord_db *db = db_harness_open_mode(dir, mode, 0, NULL, NULL);
        check_acks(db, acks, 0, acks_count, seed);
        billord_db_close(db);
    }
    billord_db *db = db_harness_open_mode(dir, mode, 0, NULL, NULL);
    check_tokens_unique(db, seed);
    fprintf(stderr, "crash: %zu acknowledged orders checked after every one of %u kills\n",
            acks_count, cycles);
    billord_db_close(db);
    free(acks);
    tempdir_remove(dir);
}

Test(crash, kill_9_loses_no_acknowledged_order, .timeout = 900)
{
    run_cycles(BILLORD_LMDB_NOMETASYNC, CRASH_CYCLES_DEFAULT);
}

Test(crash, kill_9_loses_no_acknowledged_order_in_snapshot_mode, .timeout = 900)
{
    run_cycles(BILLORD_LMDB_SNAPSHOT, CRASH_CYCLES_DEFAULT / 2);
}
