/*
 * harness.h: an engine on a throw-away data directory, seeded from a fixture, and
 * one-line calls of actions for tests.
 *
 *   harness h;
 *   harness_open(&h, "fixtures/demo.json");
 *   billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "RenewInstance",
 *                                    "InstanceId", "i-acc0001", "Period", "1", NULL);
 *   cr_assert(eq(int, o.code, BILLORD_API_OK));
 *   harness_close(&h);
 */
#ifndef BILLORD_TESTS_HARNESS_H
#define BILLORD_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <billord/engine.h>
#include <billord/render.h>

#include "support/tempdir.h"

/* Accounts of fixtures/demo.json. */
#define ACCOUNT_MAIN "1234567890123456"      /* balance 5000, coupons, payment method */
#define ACCOUNT_NOPAY "2000000000000002"     /* no payment method */
#define ACCOUNT_POOR "3000000000000003"      /* balance 10, credit 300 allowed */
#define ACCOUNT_BROKE "4000000000000004"     /* balance 5, credit limit but credit off */

#define HARNESS_PARAMS_MAX 32u
#define HARNESS_DEMO_CLOCK_MS 1795305600000LL   /* 2026-11-22T00:00:00Z */

typedef struct harness {
    char dir[TEMPDIR_PATH_BYTES];
    billord_engine *engine;
    int64_t now_ms;             /* the time stamped on each call; starts at the fixture clock */
    uint64_t request_counter;   /* request ids are derived from it */
} harness;

/** Open an engine on a fresh directory seeded from fixture_path (relative to the source tree;
 *  NULL for an empty store). Aborts the test on failure. */
void harness_open(harness *h, const char *fixture_path);
/** Close the engine (keeping the directory) and open it again, as after a restart. */
void harness_reopen(harness *h);
void harness_close(harness *h);

/** Make a command (request id derived from the counter). params: name, value, ..., NULL. */
billord_command harness_command(harness *h, const char *account, const char *action,
                                billord_param *params_storage, const char *first_name, ...);

/** Apply one command as a batch of one (writes) or as a query (reads). */
billord_outcome harness_call(harness *h, const char *account, const char *action,
                             const char *first_name, ...);

/** Like harness_call for a read; *out_fields gets the fields (caller json_decref()s). */
billord_outcome harness_query(harness *h, const char *account, const char *action,
                              json_t **out_fields, const char *first_name, ...);

/** Let time pass to now_ms: Tick commands until nothing more is due. Returns how many. */
uint32_t harness_tick(harness *h, int64_t now_ms);

/** Apply count commands as one batch; aborts on a batch failure. */
void harness_batch(harness *h, const billord_command *commands, size_t count,
                   billord_outcome *outcomes);

/** Render an outcome as JSON (malloc'd; caller frees). */
char *harness_render(const char *action, const billord_outcome *outcome);

/** Read records through billord_engine_inspect (aborts on an unexpected error). */
billord_account harness_account(harness *h, const char *id);
billord_instance harness_instance(harness *h, const char *id);
/** false when the order does not exist. */
bool harness_order(harness *h, uint64_t id, billord_order *out);
/** Number of orders in the store. */
int64_t harness_order_count(harness *h);
/** Number of stored tokens. */
int64_t harness_token_count(harness *h);
/** Amount left on one coupon of an account; -1 when there is no such coupon. */
int64_t harness_coupon_left(harness *h, const char *account, const char *coupon_id);

#endif
