/*
 * action_rows.h: what the table-driven action suites share: calling an action with a row
 * of parameters, checking an outcome's code and a time, and the "world" snapshot that proves
 * an error changed nothing (every account, coupon and instance of fixtures/demo.json).
 */
#ifndef BILLORD_TESTS_ACTION_ROWS_H
#define BILLORD_TESTS_ACTION_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "support/harness.h"

#define ACTION_ROWS_PARAMS_MAX 8u

/* One parameter of a table row (plain data: Criterion copies rows between processes). */
typedef struct param_row {
    char name[24];
    char value[80];
} param_row;

/**
 * Call action with the rows whose name is not empty (an empty value is sent as "").
 * Reads go through billord_engine_query; *out_fields (may be NULL) gets their fields.
 */
billord_outcome action_call_rows(harness *h, const char *account, const char *action,
                                 const param_row *rows, size_t row_count, json_t **out_fields);

/** Expect an outcome's wire code and HTTP status; an error must carry no OrderId. */
void action_expect_code(const billord_outcome *outcome, const char *code, int status,
                        const char *label);

/** Expect a time, as RFC 3339 ("none" for 0). */
void action_expect_time(int64_t actual_ms, const char *expected, const char *label);

#define ACTION_WORLD_INSTANCES 22u
#define ACTION_WORLD_ACCOUNTS 4u

/* Everything an action on the demo fixture could change. */
typedef struct action_world {
    int64_t order_count;
    int64_t token_count;
    int64_t coupon_left[3];
    billord_account accounts[ACTION_WORLD_ACCOUNTS];
    billord_instance instances[ACTION_WORLD_INSTANCES];
} action_world;

/** The id of instance index of the world (0..ACTION_WORLD_INSTANCES-1). */
const char *action_world_instance_id(size_t index);

void action_world_take(harness *h, action_world *out_world);
void action_world_expect_unchanged(harness *h, const action_world *before, const char *label);

#define EXPECT_STR(actual, expected)                                                      \
    cr_expect(eq(int, strcmp((actual), (expected)), 0), "%s is \"%s\", expected \"%s\"", \
              #actual, (actual), (expected))
#define expect_code action_expect_code
#define expect_time action_expect_time
typedef action_world world;

/*
 * A suite's harness on fixtures/demo.json (setup/teardown for TestSuite) and the helpers
 * bound to it. Write it once at file scope in each action suite.
 */
#define ACTION_ROWS_SUITE_HELPERS                                                           \
    static harness h;                                                                       \
    static void setup(void)                                                                 \
    {                                                                                       \
        harness_open(&h, "fixtures/demo.json");                                             \
    }                                                                                       \
    static void teardown(void)                                                              \
    {                                                                                       \
        harness_close(&h);                                                                  \
    }                                                                                       \
    __attribute__((unused)) static billord_outcome call_rows_fields(                        \
        const char *account, const char *action, const param_row *rows, size_t row_count,  \
        json_t **out_fields)                                                                \
    {                                                                                       \
        return action_call_rows(&h, account, action, rows, row_count, out_fields);         \
    }                                                                                       \
    __attribute__((unused)) static billord_outcome call_rows(                               \
        const char *account, const char *action, const param_row *rows, size_t row_count)  \
    {                                                                                       \
        return action_call_rows(&h, account, action, rows, row_count, NULL);               \
    }                                                                                       \
    __attribute__((unused)) static void world_take(world *w)                                \
    {                                                                                       \
        action_world_take(&h, w);                                                           \
    }                                                                                       \
    __attribute__((unused)) static void world_expect_unchanged(const world *before,         \
                                                               const char *label)          \
    {                                                                                       \
        action_world_expect_unchanged(&h, before, label);                                  \
    }

#endif
