/*
 * stress.h: what the stress programs (tests/stress/stress_*.c) share: a check that ends the
 * program with a non-zero status, throw-away data directories seeded with
 * tests/fixtures/crash.json, RenewInstance commands, an audit of orders against what callers
 * were answered, and a file system whose syncs can be held at a gate.
 *
 * Why plain programs and not Criterion suites: they are the concurrent workloads that
 * scripts/tsan.sh runs under ThreadSanitizer with halt_on_error, and they must not depend on
 * the test framework's process sandbox to start. They use the public API only.
 */
#ifndef BILLORD_TESTS_STRESS_H
#define BILLORD_TESTS_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/db.h>
#include <billord/fs.h>

#define STRESS_PATH_BYTES 512u
#define STRESS_TOKEN_BYTES 48u
#define STRESS_ACCOUNT "9000000000000009"          /* the account of crash.json */
#define STRESS_ACCESS_KEY "LTAI5tCrashKey0009"
#define STRESS_ACCESS_SECRET "crash-secret-0009"
#define STRESS_INSTANCES 16u                        /* i-crash0000 .. i-crash0015 */
#define STRESS_NOW_MS 1795305600000LL               /* crash.json's clock */

/** Print where and why (printf-style), then exit(1). */
#define STRESS_CHECK(cond, ...)                                                             \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            stress_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                            \
        }                                                                                   \
    } while (0)

_Noreturn void stress_fail(const char *file, int line, const char *expression,
                           const char *format, ...) __attribute__((format(printf, 4, 5)));

/** Command line: [--seconds S] (load time per scenario; default_seconds when absent). */
double stress_seconds(int argc, char **argv, double default_seconds);

/** Monotonic milliseconds. */
int64_t stress_now_ms(void);

/** A fresh directory under $TMPDIR (or /tmp), removed with stress_dir_remove(). */
void stress_dir_make(char path_out[STRESS_PATH_BYTES]);
void stress_dir_remove(const char *path);

/** Seed an empty data directory with tests/fixtures/crash.json ($BILLORD_SOURCE_DIR). */
void stress_seed(const char *dir);

/** Open a db on dir (quiet log; small log segments so they roll and retire under load). */
billord_db *stress_open(const char *dir, billord_lmdb_mode mode, uint32_t queue_commands,
                        const billord_fs *fs);

/** A RenewInstance command; command.params points into the struct: do not copy it. */
typedef struct stress_renew {
    billord_param params[4];
    char instance[32];
    char period[4];
    char token[STRESS_TOKEN_BYTES];
    billord_command command;
} stress_renew;

void stress_renew_init(stress_renew *renew, unsigned instance_index, unsigned period_weeks,
                       const char *token, int64_t now_ms);

/** What one caller was answered for one ClientToken (order_id 0: no order in the answer). */
typedef struct stress_answer {
    char token[STRESS_TOKEN_BYTES];
    uint64_t order_id;
} stress_answer;

/** Growable list of answers, owned by one thread. */
typedef struct stress_answers {
    stress_answer *items;
    size_t count;
    size_t capacity;
} stress_answers;

void stress_answers_add(stress_answers *answers, const char *token, uint64_t order_id);
void stress_answers_append(stress_answers *into, const stress_answers *from);
void stress_answers_free(stress_answers *answers);

/**
 * Check the store against the answers given since next_order_id_before (the store's next
 * order id when the scenario began): every order made since carries a ClientToken, no token
 * has two orders, a token has an order exactly when some caller was answered with one, and
 * every such answer names that order. Returns the number of orders made since.
 */
uint64_t stress_audit(billord_db *db, uint64_t next_order_id_before, stress_answers *answers);

/** The store's summary numbers. */
int64_t stress_order_count(billord_db *db);
uint64_t stress_next_order_id(billord_db *db);

/*
 * A file system (POSIX underneath) whose fdatasync/fsync calls wait while the gate is
 * closed: the writer can be held in the middle of a batch, so that callers pile up in the
 * queue behind it at a known moment. Safe from any thread.
 */
typedef struct stress_gate stress_gate;
stress_gate *stress_gate_new(void);
void stress_gate_free(stress_gate *gate);
const billord_fs *stress_gate_fs(stress_gate *gate);
void stress_gate_close(stress_gate *gate);
/** Open the gate and let every held sync go on. */
void stress_gate_open(stress_gate *gate);
/** Wait until a sync is held at the closed gate. */
void stress_gate_wait_held(stress_gate *gate);

#endif
