/* stress.c: shared parts of the stress programs (stress.h). */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <billord/fixture.h>

#include "stress.h"

#define STRESS_FIXTURE "tests/fixtures/crash.json"

void stress_fail(const char *file, int line, const char *expression, const char *format, ...)
{
    char detail[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(detail, sizeof detail, format, args);
    va_end(args);
    fprintf(stderr, "%s:%d: check failed: %s: %s\n", file, line, expression, detail);
    fflush(stderr);
    exit(1);
}

double stress_seconds(int argc, char **argv, double default_seconds)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end = NULL;
            double seconds = strtod(argv[i + 1], &end);
            STRESS_CHECK(end != argv[i + 1] && *end == '\0' && seconds > 0,
                         "--seconds takes a positive number, not %s", argv[i + 1]);
            return seconds;
        }
        STRESS_CHECK(false, "usage: %s [--seconds S]", argv[0]);
    }
    return default_seconds;
}

int64_t stress_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void stress_dir_make(char path_out[STRESS_PATH_BYTES])
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    snprintf(path_out, STRESS_PATH_BYTES, "%s/billord-stress-XXXXXX", base);
    STRESS_CHECK(mkdtemp(path_out) != NULL, "mkdtemp %s: %s", path_out, strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void stress_dir_remove(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void quiet_log(void *log_ctx, const char *line)
{
    (void)log_ctx;
    (void)line;
}

billord_db *stress_open(const char *dir, billord_lmdb_mode mode, uint32_t queue_commands,
                        const billord_fs *fs)
{
    billord_db_config config = {.data_dir = dir,
                                .map_bytes = 256ULL << 20,
                                .queue_commands = queue_commands,
                                .wal_segment_bytes = 64u << 10,
                                .lmdb_mode = mode,
                                .fs = fs,
                                /* One thread touches the log files: the gate then holds
                                 * the writer, not the segment preparer. */
                                .wal_preparer_inline = fs != NULL,
                                /* Snapshot mode: a snapshot every 32 KiB of log or 300 ms. */
                                .snapshot_log_bytes = 32u << 10,
                                .snapshot_interval_ms = 300,
                                .log_line = quiet_log};
    billord_db *db = NULL;
    billord_db_recovery info;
    billord_err err = billord_db_open(&config, &db, &info);
    STRESS_CHECK(err == BILLORD_OK, "open %s: %s: %s", dir, billord_err_message(err),
                 info.error_text);
    return db;
}

void stress_seed(const char *dir)
{
    const char *root = getenv("BILLORD_SOURCE_DIR");
    if (root == NULL || root[0] == '\0') {
        root = BILLORD_SOURCE_DIR_DEFAULT;
    }
    char path[STRESS_PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", root, STRESS_FIXTURE);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err err = billord_fixture_parse_file(path, &fixture, error_text, sizeof error_text);
    STRESS_CHECK(err == BILLORD_OK, "%s: %s", path, error_text);
    billord_db *db = stress_open(dir, BILLORD_LMDB_NOMETASYNC, 0, NULL);
    err = billord_db_seed(db, &fixture);
    billord_fixture_free(&fixture);
    billord_db_close(db);
    STRESS_CHECK(err == BILLORD_OK, "seed %s: %s", dir, billord_err_message(err));
}

void stress_renew_init(stress_renew *renew, unsigned instance_index, unsigned period_weeks,
                       const char *token, int64_t now_ms)
{
    memset(renew, 0, sizeof *renew);
    snprintf(renew->instance, sizeof renew->instance, "i-crash%04u",
             instance_index % STRESS_INSTANCES);
    snprintf(renew->period, sizeof renew->period, "%u", period_weeks);
    snprintf(renew->token, sizeof renew->token, "%s", token);
    renew->params[0] = (billord_param){"InstanceId", renew->instance};
    renew->params[1] = (billord_param){"Period", renew->period};
    renew->params[2] = (billord_param){"PeriodUnit", "Week"};
    renew->params[3] = (billord_param){"ClientToken", renew->token};
    renew->command = (billord_command){.kind = BILLORD_COMMAND_REQUEST,
                                       .now_ms = now_ms,
                                       .account = STRESS_ACCOUNT,
                                       .action = "RenewInstance",
                                       .param_count = 4,
                                       .params = renew->params};
    snprintf(renew->command.request_id, sizeof renew->command.request_id, "RID-%.31s", token);
}

void stress_answers_add(stress_answers *answers, const char *token, uint64_t order_id)
{
    if (answers->count == answers->capacity) {
        answers->capacity = answers->capacity == 0 ? 1024 : answers->capacity * 2;
        answers->items = realloc(answers->items, answers->capacity * sizeof *answers->items);
        STRESS_CHECK(answers->items != NULL, "out of memory (%zu answers)", answers->capacity);
    }
    stress_answer *answer = &answers->items[answers->count++];
    snprintf(answer->token, sizeof answer->token, "%s", token);
    answer->order_id = order_id;
}

void stress_answers_append(stress_answers *into, const stress_answers *from)
{
    for (size_t i = 0; i < from->count; i++) {
        stress_answers_add(into, from->items[i].token, from->items[i].order_id);
    }
}

void stress_answers_free(stress_answers *answers)
{
    free(answers->items);
    *answers = (stress_answers){0};
}

static json_t *summary(billord_db *db)
{
    json_t *record = NULL;
    billord_err err = billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_SUMMARY,
                                             NULL, &record);
    STRESS_CHECK(err == BILLORD_OK, "inspect summary: %s", billord_err_message(err));
    return record;
}

int64_t stress_order_count(billord_db *db)
{
    json_t *record = summary(db);
    int64_t count = json_integer_value(json_object_get(record, "orders"));
    json_decref(record);
    return count;
}

uint64_t stress_next_order_id(billord_db *db)
{
    json_t *record = summary(db);
    uint64_t next = (uint64_t)json_integer_value(json_object_get(record, "next_order_id"));
    json_decref(record);
    return next;
}

static int compare_answers(const void *a, const void *b)
{
    const stress_answer *left = a;
    const stress_answer *right = b;
    int by_token = strcmp(left->token, right->token);
    if (by_token != 0) {
        return by_token;
    }
    return (left->order_id > right->order_id) - (left->order_id < right->order_id);
}

uint64_t stress_audit(billord_db *db, uint64_t next_order_id_before, stress_answers *answers)
{
    /* The orders made since, as (token, id), sorted by token. */
    uint64_t next = stress_next_order_id(db);
    stress_answers stored = {0};
    for (uint64_t id = next_order_id_before; id < next; id++) {
        char id_text[32];
        snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)id);
        json_t *record = NULL;
        billord_err err = billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_ORDER,
                                                 id_text, &record);
        if (err == BILLORD_E_NOT_FOUND) {
            continue;                       /* an id given back by a refused renewal */
        }
        STRESS_CHECK(err == BILLORD_OK, "inspect order %s: %s", id_text, billord_err_message(err));
        const char *token = json_string_value(json_object_get(record, "client_token"));
        STRESS_CHECK(token != NULL && token[0] != '\0', "order %s has no ClientToken", id_text);
        stress_answers_add(&stored, token, id);
        json_decref(record);
    }
    qsort(stored.items, stored.count, sizeof *stored.items, compare_answers);
    for (size_t i = 1; i < stored.count; i++) {
        STRESS_CHECK(strcmp(stored.items[i - 1].token, stored.items[i].token) != 0,
                     "ClientToken %s has two orders: %llu and %llu", stored.items[i].token,
                     (unsigned long long)stored.items[i - 1].order_id,
                     (unsigned long long)stored.items[i].order_id);
    }
    /* Each token's answers against its stored order. */
    qsort(answers->items, answers->count, sizeof *answers->items, compare_answers);
    size_t tokens_with_order = 0;
    for (size_t start = 0; start < answers->count;) {
        size_t end = start;
        uint64_t answered_id = 0;
        while (end < answers->count &&
               strcmp(answers->items[end].token, answers->items[start].token) == 0) {
            uint64_t id = answers->items[end].order_id;
            STRESS_CHECK(id == 0 || answered_id == 0 || id == answered_id,
                         "ClientToken %s was answered with two orders: %llu and %llu",
                         answers->items[start].token, (unsigned long long)answered_id,
                         (unsigned long long)id);
            if (id != 0) {
                answered_id = id;
            }
            end++;
        }
        stress_answer key = {.order_id = 0};
        snprintf(key.token, sizeof key.token, "%s", answers->items[start].token);
        const stress_answer *found = NULL;
        size_t low = 0, high = stored.count;
        while (low < high) {
            size_t mid = low + (high - low) / 2;
            int order = strcmp(stored.items[mid].token, key.token);
            if (order == 0) {
                found = &stored.items[mid];
                break;
            }
            if (order < 0) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if (answered_id != 0) {
            STRESS_CHECK(found != NULL, "ClientToken %s was answered with order %llu, which is not "
                         "stored", key.token, (unsigned long long)answered_id);
            STRESS_CHECK(found->order_id == answered_id,
                         "ClientToken %s was answered with order %llu but the store has %llu",
                         key.token, (unsigned long long)answered_id,
                         (unsigned long long)found->order_id);
            tokens_with_order++;
        } else {
            STRESS_CHECK(found == NULL, "ClientToken %s has order %llu although no caller was "
                         "answered with an order", key.token, (unsigned long long)found->order_id);
        }
        start = end;
    }
    STRESS_CHECK(tokens_with_order == stored.count,
                 "%zu orders were made but callers were answered with %zu", stored.count,
                 tokens_with_order);
    uint64_t made = stored.count;
    stress_answers_free(&stored);
    return made;
}

/* ---- a file system whose syncs wait at a gate ------------------------------------------ */

struct stress_gate {
    billord_fs fs;
    const billord_fs *posix;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool closed;
    uint32_t held;
};

static void gate_pass(stress_gate *gate)
{
    pthread_mutex_lock(&gate->lock);
    if (gate->closed) {
        gate->held++;
        pthread_cond_broadcast(&gate->changed);
        while (gate->closed) {
            pthread_cond_wait(&gate->changed, &gate->lock);
        }
        gate->held--;
    }
    pthread_mutex_unlock(&gate->lock);
}

static int gate_open_file(void *ctx, const char *path, int flags, uint32_t mode)
{
    stress_gate *gate = ctx;
    return gate->posix->open(gate->posix->fs_ctx, path, flags, mode);
}

static int gate_close_file(void *ctx, int fd)
{
    stress_gate *gate = ctx;
    return gate->posix->close(gate->posix->fs_ctx, fd);
}

static int64_t gate_pread(void *ctx, int fd, void *bytes, size_t bytes_len, int64_t offset)
{
    stress_gate *gate = ctx;
    return gate->posix->pread(gate->posix->fs_ctx, fd, bytes, bytes_len, offset);
}

static int64_t gate_pwrite(void *ctx, int fd, const void *bytes, size_t bytes_len, int64_t offset)
{
    stress_gate *gate = ctx;
    return gate->posix->pwrite(gate->posix->fs_ctx, fd, bytes, bytes_len, offset);
}

static int gate_fdatasync(void *ctx, int fd)
{
    stress_gate *gate = ctx;
    gate_pass(gate);
    return gate->posix->fdatasync(gate->posix->fs_ctx, fd);
}

static int gate_fsync(void *ctx, int fd)
{
    stress_gate *gate = ctx;
    gate_pass(gate);
    return gate->posix->fsync(gate->posix->fs_ctx, fd);
}

static int gate_ftruncate(void *ctx, int fd, int64_t length)
{
    stress_gate *gate = ctx;
    return gate->posix->ftruncate(gate->posix->fs_ctx, fd, length);
}

static int gate_fallocate(void *ctx, int fd, int64_t offset, int64_t length)
{
    stress_gate *gate = ctx;
    return gate->posix->fallocate(gate->posix->fs_ctx, fd, offset, length);
}

static int gate_size(void *ctx, int fd, uint64_t *out_bytes)
{
    stress_gate *gate = ctx;
    return gate->posix->size(gate->posix->fs_ctx, fd, out_bytes);
}

static int gate_rename(void *ctx, const char *from, const char *to)
{
    stress_gate *gate = ctx;
    return gate->posix->rename(gate->posix->fs_ctx, from, to);
}

static int gate_unlink(void *ctx, const char *path)
{
    stress_gate *gate = ctx;
    return gate->posix->unlink(gate->posix->fs_ctx, path);
}

static int gate_fsync_dir(void *ctx, const char *path)
{
    stress_gate *gate = ctx;
    gate_pass(gate);
    return gate->posix->fsync_dir(gate->posix->fs_ctx, path);
}

static int gate_list_dir(void *ctx, const char *path, billord_fs_entry_fn fn, void *entry_ctx)
{
    stress_gate *gate = ctx;
    return gate->posix->list_dir(gate->posix->fs_ctx, path, fn, entry_ctx);
}

static int gate_is_dir(void *ctx, const char *path)
{
    stress_gate *gate = ctx;
    return gate->posix->is_dir(gate->posix->fs_ctx, path);
}

stress_gate *stress_gate_new(void)
{
    stress_gate *gate = calloc(1, sizeof *gate);
    STRESS_CHECK(gate != NULL, "out of memory");
    gate->posix = billord_fs_posix();
    gate->fs = (billord_fs){.open = gate_open_file,
                            .close = gate_close_file,
                            .pread = gate_pread,
                            .pwrite = gate_pwrite,
                            .fdatasync = gate_fdatasync,
                            .fsync = gate_fsync,
                            .ftruncate = gate_ftruncate,
                            .fallocate = gate_fallocate,
                            .size = gate_size,
                            .rename = gate_rename,
                            .unlink = gate_unlink,
                            .fsync_dir = gate_fsync_dir,
                            .list_dir = gate_list_dir,
                            .is_dir = gate_is_dir,
                            .fs_ctx = gate};
    pthread_mutex_init(&gate->lock, NULL);
    pthread_cond_init(&gate->changed, NULL);
    return gate;
}

void stress_gate_free(stress_gate *gate)
{
    pthread_cond_destroy(&gate->changed);
    pthread_mutex_destroy(&gate->lock);
    free(gate);
}

const billord_fs *stress_gate_fs(stress_gate *gate)
{
    return &gate->fs;
}

void stress_gate_close(stress_gate *gate)
{
    pthread_mutex_lock(&gate->lock);
    gate->closed = true;
    pthread_mutex_unlock(&gate->lock);
}

void stress_gate_open(stress_gate *gate)
{
    pthread_mutex_lock(&gate->lock);
    gate->closed = false;
    pthread_cond_broadcast(&gate->changed);
    pthread_mutex_unlock(&gate->lock);
}

void stress_gate_wait_held(stress_gate *gate)
{
    pthread_mutex_lock(&gate->lock);
    while (gate->held == 0) {
        pthread_cond_wait(&gate->changed, &gate->lock);
    }
    pthread_mutex_unlock(&gate->lock);
}
