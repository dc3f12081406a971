/*
 * test_cov_engine_json.c: the engine's JSON answers when an allocation or a read fails.
 *
 * Why: a billing API must never answer a well-formed but incomplete body. The engine builds
 * the fields of its read answers (DescribeOrders, DescribeInstanceAutoRenewAttribute), the
 * operator's records (billord_engine_inspect: the summary, accounts, instances, orders,
 * tokens) and the outbox pages (billord_engine_events) with jansson, whose constructors
 * return NULL and whose sets and appends fail when memory runs out. Each builder is called
 * once counting its allocations (tests/support/faulty_alloc.h), then once per allocation
 * with that one failing: the call must return either BILLORD_OK with the very answer made
 * without faults (byte for byte after json_dumps, keys sorted and in their order) or
 * BILLORD_E_NOMEM with no answer, and leave no JSON allocated (jansson's allocations are
 * counted through json_set_alloc_funcs). Never BILLORD_OK with an answer short of a member,
 * an order, an event, or with a NULL array. The same is asked of every LMDB call of the
 * builder failing with EIO (tests/support/faulty_lmdb.h): BILLORD_E_IO and no answer, never
 * a default in place of a value that could not be read (the summary did that).
 *
 * The store is fixtures/demo.json plus renewals with ClientTokens (orders, tokens, and two
 * events each: more than jansson's first array and object sizes, so their growth fails
 * too). Sanitizer builds own the allocator: there the allocation faults are skipped and the
 * LMDB faults still run.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include <billord/engine.h>
#include <billord/timeutil.h>

#include "support/faulty_alloc.h"
#include "support/faulty_lmdb.h"
#include "support/harness.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define RENEWALS 6u         /* two events each: more than the 8 slots of a new jansson array */
#define DEMO_ORDERS_MAIN 4  /* at least this many orders of ACCOUNT_MAIN come with the fixture */

static harness h;
static uint64_t first_renewal_order;

/* jansson's blocks in use (its allocations go through these while the suite runs). */
static atomic_long json_blocks_live;

static void *counting_malloc(size_t bytes)
{
    void *block = malloc(bytes);
    if (block != NULL) {
        json_blocks_live++;
    }
    return block;
}

static void counting_free(void *block)
{
    if (block != NULL) {
        json_blocks_live--;
        free(block);
    }
}

static void setup(void)
{
    json_set_alloc_funcs(counting_malloc, counting_free);
    harness_open(&h, "fixtures/demo.json");
    static const char *const instances[RENEWALS] = {"i-acc0001", "i-acc0008", "i-acc0001",
                                                    "i-acc0008", "i-acc0001", "i-acc0008"};
    for (unsigned i = 0; i < RENEWALS; i++) {
        char token[32];
        snprintf(token, sizeof token, "tok-json-%u", i + 1);
        billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                         instances[i], "Period", "1", "PeriodUnit", "Week",
                                         "ClientToken", token, NULL);
        cr_assert(eq(int, o.code, BILLORD_API_OK), "renewal %u: %s", i + 1, o.message);
        cr_assert(o.has_order_id);
        if (i == 0) {
            first_renewal_order = o.order_id;
        }
    }
    /* A refusal decided from state is memoized too: a token without an order. */
    billord_outcome refused = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId",
                                           "i-acc0002", "Period", "1", "ClientToken",
                                           "tok-json-refused", NULL);
    cr_assert(eq(int, refused.code, BILLORD_API_INSTANCE_UNPAID_ORDER), "%s", refused.message);
}

static void teardown(void)
{
    faulty_alloc_reset();
    faulty_lmdb_reset();
    harness_close(&h);
}

TestSuite(cov_engine_json, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the builders ------------------------------------------------------------------------ */

/* What one call of a builder answered. */
typedef struct built {
    billord_err err;
    billord_api_code code;      /* queries: the outcome's code (BILLORD_API_OK otherwise) */
    json_t *json;               /* the answer, or NULL */
} built;

typedef struct builder {
    const char *name;
    built (*build)(const struct builder *self);
    /* Queries: the action and its parameters; inspect: the kind and id. */
    const char *action;
    const char *account;        /* NULL: ACCOUNT_MAIN */
    const char *names[4];
    const char *values[4];
    billord_inspect_kind kind;
    const char *id;
} builder;

static built build_query(const builder *self)
{
    billord_param params[4];
    uint32_t count = 0;
    for (; count < 4 && self->names[count] != NULL; count++) {
        params[count] = (billord_param){self->names[count], self->values[count]};
    }
    /* The same command (request id, time) for every call: the answers can be compared. */
    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.now_ms = h.now_ms;
    snprintf(command.request_id, sizeof command.request_id, "%s",
             "0E7B5C8A-1F2D-4C3B-9A8E-6D5F4E3C2B1A");
    command.account = self->account != NULL ? self->account : ACCOUNT_MAIN;
    command.action = self->action;
    command.param_count = count;
    command.params = params;
    billord_outcome outcome;
    built out = {BILLORD_OK, BILLORD_API_OK, NULL};
    out.err = billord_engine_query(h.engine, &command, &outcome, &out.json);
    out.code = outcome.code;
    return out;
}

static built build_inspect(const builder *self)
{
    built out = {BILLORD_OK, BILLORD_API_OK, NULL};
    out.err = billord_engine_inspect(h.engine, self->kind, self->id, &out.json);
    return out;
}

static built build_events(const builder *self)
{
    (void)self;
    built out = {BILLORD_OK, BILLORD_API_OK, NULL};
    out.err = billord_engine_events(h.engine, 0, 1000, &out.json);
    return out;
}

/* The JSON as text, keys sorted, and as the engine ordered them (caller frees with
 * counting_free, jansson's free while the suite runs). */
static char *dump_sorted(const json_t *json)
{
    return json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
}

static char *dump_ordered(const json_t *json)
{
    return json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* A kind of fault: how to count the calls of a build, fail the k-th, and what a refused
 * call must return. */
typedef struct fault_kind {
    const char *name;
    void (*count)(void);
    uint64_t (*calls)(void);
    void (*fail)(uint64_t k);
    uint64_t (*failures)(void);
    void (*reset)(void);
    billord_err refused_err;
} fault_kind;

static void alloc_count(void) { faulty_alloc_count(false); }
static void alloc_fail(uint64_t k) { faulty_alloc_fail_at(k, false, false); }
static void lmdb_count(void) { faulty_lmdb_count(FAULTY_LMDB_MASK_ALL); }
static void lmdb_fail(uint64_t k) { faulty_lmdb_fail_at(k, FAULTY_LMDB_MASK_ALL, EIO, false); }

static const fault_kind allocations = {"allocation", alloc_count, faulty_alloc_calls, alloc_fail,
                                       faulty_alloc_failures, faulty_alloc_reset,
                                       BILLORD_E_NOMEM};
static const fault_kind lmdb_calls = {"LMDB call", lmdb_count, faulty_lmdb_calls, lmdb_fail,
                                      faulty_lmdb_failures, faulty_lmdb_reset, BILLORD_E_IO};

/*
 * Call the builder counting the calls that can fail, then failing each in turn: BILLORD_OK
 * with the same answer or the fault's error with none, no JSON left allocated either way.
 */
static void every_call_may_fail(const builder *b, const fault_kind *fault, const char *sorted,
                                const char *ordered)
{
    fault->count();
    built normal = b->build(b);
    uint64_t calls = fault->calls();
    fault->reset();
    cr_assert(eq(int, normal.err, BILLORD_OK), "%s", b->name);
    json_decref(normal.json);
    cr_assert(calls > 0, "%s makes an %s", b->name, fault->name);

    uint64_t refused = 0;
    for (uint64_t k = 1; k <= calls; k++) {
        long live = json_blocks_live;
        fault->fail(k);
        built got = b->build(b);
        uint64_t failures = fault->failures();
        fault->reset();
        cr_assert(eq(u64, failures, 1), "%s, %s %llu was made", b->name, fault->name,
                  (unsigned long long)k);
        if (got.err == BILLORD_OK) {
            cr_assert(got.json != NULL, "%s, %s %llu: OK without an answer", b->name,
                      fault->name, (unsigned long long)k);
            cr_expect(eq(int, got.code, BILLORD_API_OK), "%s, %s %llu", b->name, fault->name,
                      (unsigned long long)k);
            char *got_sorted = dump_sorted(got.json);
            char *got_ordered = dump_ordered(got.json);
            cr_expect(eq(str, got_sorted, (char *)sorted), "%s, %s %llu: OK with another answer",
                      b->name, fault->name, (unsigned long long)k);
            cr_expect(eq(str, got_ordered, (char *)ordered), "%s, %s %llu", b->name, fault->name,
                      (unsigned long long)k);
            counting_free(got_sorted);
            counting_free(got_ordered);
            json_decref(got.json);
        } else {
            refused++;
            cr_expect(eq(int, got.err, fault->refused_err), "%s, %s %llu", b->name, fault->name,
                      (unsigned long long)k);
            cr_expect(got.json == NULL, "%s, %s %llu: an answer with the error", b->name,
                      fault->name, (unsigned long long)k);
            json_decref(got.json);
        }
        cr_expect(eq(i64, json_blocks_live, live), "%s, %s %llu: JSON left allocated", b->name,
                  fault->name, (unsigned long long)k);
    }
    /* Every allocation and LMDB call of a builder is needed for its answer. */
    cr_expect(eq(u64, refused, calls), "%s: %llu of %llu %s failures refused", b->name,
              (unsigned long long)refused, (unsigned long long)calls, fault->name);
}

/*
 * The builder's answer made without faults (caller json_decref()s, for checks of its
 * content), after every_call_may_fail() for allocations (not in sanitizer builds, which own
 * the allocator) and for LMDB calls.
 */
static json_t *every_fault_keeps_the_answer_whole(const builder *b)
{
    long live_before = json_blocks_live;
    built normal = b->build(b);
    cr_assert(eq(int, normal.err, BILLORD_OK), "%s", b->name);
    cr_assert(eq(int, normal.code, BILLORD_API_OK), "%s", b->name);
    cr_assert(normal.json != NULL, "%s", b->name);
    char *sorted = dump_sorted(normal.json);
    char *ordered = dump_ordered(normal.json);
    cr_assert(sorted != NULL && ordered != NULL);
    if (faulty_alloc_supported()) {
        every_call_may_fail(b, &allocations, sorted, ordered);
    }
    every_call_may_fail(b, &lmdb_calls, sorted, ordered);
    counting_free(sorted);
    counting_free(ordered);
    /* The answer is the only JSON the calls left. */
    long live_answer = json_blocks_live;
    json_t *copy = json_deep_copy(normal.json);
    cr_assert(copy != NULL);
    long copy_blocks = json_blocks_live - live_answer;
    json_decref(normal.json);
    cr_expect(eq(i64, json_blocks_live - copy_blocks, live_before), "%s: JSON left allocated",
              b->name);
    return copy;
}

/* ---- queries ------------------------------------------------------------------------------ */

Test(cov_engine_json, describe_orders_is_whole_or_refused_under_each_fault)
{
    static const builder b = {.name = "DescribeOrders",
                              .build = build_query,
                              .action = "DescribeOrders",
                              .names = {"PageSize", NULL},
                              .values = {"100", NULL}};
    json_t *fields = every_fault_keeps_the_answer_whole(&b);
    json_int_t total = json_integer_value(json_object_get(fields, "TotalCount"));
    json_t *orders = json_object_get(json_object_get(fields, "Orders"), "Order");
    cr_expect(total >= DEMO_ORDERS_MAIN + RENEWALS, "TotalCount %lld", (long long)total);
    cr_expect(eq(sz, json_array_size(orders), (size_t)total), "one page holds them all");
    cr_expect(eq(sz, json_object_size(json_array_get(orders, 0)), 13), "every member");
    json_decref(fields);
}

Test(cov_engine_json, a_later_page_of_orders_is_whole_or_refused_under_each_fault)
{
    /* A filtered second page: orders before it are counted, not built. */
    static const builder b = {.name = "DescribeOrders page 2",
                              .build = build_query,
                              .action = "DescribeOrders",
                              .names = {"InstanceId", "PageNumber", "PageSize", NULL},
                              .values = {"i-acc0001", "2", "1", NULL}};
    json_t *fields = every_fault_keeps_the_answer_whole(&b);
    json_t *orders = json_object_get(json_object_get(fields, "Orders"), "Order");
    cr_expect(eq(sz, json_array_size(orders), 1));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(json_array_get(orders, 0),
                                                                "InstanceId")),
                 "i-acc0001"));
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "PageNumber")), 2));
    json_decref(fields);
}

Test(cov_engine_json, describe_auto_renew_is_whole_or_refused_under_each_fault)
{
    static const char ids[] = "i-acc0001,i-acc0002,i-acc0003,i-acc0004,i-acc0007,i-acc0008,"
                              "i-acc0009,rm-acc0001,rm-acc0002,rm-acc0004,sas-acc0002";
    static const builder b = {.name = "DescribeInstanceAutoRenewAttribute",
                              .build = build_query,
                              .action = "DescribeInstanceAutoRenewAttribute",
                              .names = {"InstanceId", "RegionId", NULL},
                              .values = {ids, "cn-hangzhou", NULL}};
    json_t *fields = every_fault_keeps_the_answer_whole(&b);
    json_t *list = json_object_get(json_object_get(fields, "InstanceRenewAttributes"),
                                   "InstanceRenewAttribute");
    cr_expect(eq(sz, json_array_size(list), 11), "more than a new array's 8 slots");
    cr_expect(eq(i64, json_integer_value(json_object_get(fields, "TotalCount")), 11));
    cr_expect(eq(sz, json_object_size(json_array_get(list, 10)), 9), "every member");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(json_array_get(list, 10),
                                                                "InstanceId")),
                 "sas-acc0002"));
    json_decref(fields);
}

/* ---- inspect ------------------------------------------------------------------------------- */

Test(cov_engine_json, the_summary_is_whole_or_refused_under_each_fault)
{
    static const builder b = {.name = "summary", .build = build_inspect,
                              .kind = BILLORD_INSPECT_SUMMARY};
    json_t *summary = every_fault_keeps_the_answer_whole(&b);
    cr_expect(eq(sz, json_object_size(summary), 10), "six counts, ids, LSN, clock, events");
    cr_expect(eq(i64, json_integer_value(json_object_get(summary, "events")), 2 * RENEWALS));
    cr_expect(eq(i64, json_integer_value(json_object_get(summary, "tokens")), RENEWALS + 1));
    json_decref(summary);
}

Test(cov_engine_json, an_account_is_whole_or_refused_under_each_fault)
{
    static const builder main_account = {.name = "account (coupons)", .build = build_inspect,
                                         .kind = BILLORD_INSPECT_ACCOUNT, .id = ACCOUNT_MAIN};
    json_t *account = every_fault_keeps_the_answer_whole(&main_account);
    cr_expect(eq(sz, json_array_size(json_object_get(account, "coupons")), 3));
    cr_expect(eq(sz, json_array_size(json_object_get(account, "access_keys")), 1));
    cr_expect(eq(sz, json_object_size(account), 9));
    json_decref(account);
    static const builder poor_account = {.name = "account (two keys)", .build = build_inspect,
                                         .kind = BILLORD_INSPECT_ACCOUNT, .id = ACCOUNT_POOR};
    account = every_fault_keeps_the_answer_whole(&poor_account);
    cr_expect(eq(sz, json_array_size(json_object_get(account, "access_keys")), 2));
    cr_expect(eq(sz, json_array_size(json_object_get(account, "coupons")), 0));
    json_decref(account);
}

Test(cov_engine_json, an_instance_is_whole_or_refused_under_each_fault)
{
    static const builder b = {.name = "instance", .build = build_inspect,
                              .kind = BILLORD_INSPECT_INSTANCE, .id = "i-acc0001"};
    json_t *instance = every_fault_keeps_the_answer_whole(&b);
    cr_expect(eq(sz, json_object_size(instance), 19));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(instance, "id")), "i-acc0001"));
    json_decref(instance);
}

Test(cov_engine_json, an_order_is_whole_or_refused_under_each_fault)
{
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)first_renewal_order);
    builder b = {.name = "order", .build = build_inspect, .kind = BILLORD_INSPECT_ORDER,
                 .id = id};
    json_t *order = every_fault_keeps_the_answer_whole(&b);
    cr_expect(eq(sz, json_object_size(order), 16));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(order, "client_token")),
                 "tok-json-1"));
    json_decref(order);
}

Test(cov_engine_json, a_token_is_whole_or_refused_under_each_fault)
{
    static const builder b = {.name = "token", .build = build_inspect,
                              .kind = BILLORD_INSPECT_TOKEN, .id = ACCOUNT_MAIN ":tok-json-2"};
    json_t *token = every_fault_keeps_the_answer_whole(&b);
    cr_expect(eq(sz, json_object_size(token), 9));
    cr_expect(eq(i64, json_integer_value(json_object_get(token, "http_status")), 200));
    cr_expect(json_integer_value(json_object_get(token, "order_id")) > 0);
    json_decref(token);
    static const builder refused = {.name = "token (refusal)", .build = build_inspect,
                                    .kind = BILLORD_INSPECT_TOKEN,
                                    .id = ACCOUNT_MAIN ":tok-json-refused"};
    token = every_fault_keeps_the_answer_whole(&refused);
    cr_expect(eq(sz, json_object_size(token), 9));
    cr_expect(eq(i64, json_integer_value(json_object_get(token, "http_status")), 403));
    bool const no_order = json_is_null(json_object_get(token, "order_id"));
    cr_expect(no_order);
    json_decref(token);
}

/* ---- events -------------------------------------------------------------------------------- */

Test(cov_engine_json, an_events_page_is_whole_or_refused_under_each_fault)
{
    static const builder b = {.name = "events", .build = build_events};
    json_t *events = every_fault_keeps_the_answer_whole(&b);
    cr_assert(eq(sz, json_array_size(events), 2 * RENEWALS), "more than a new array's 8 slots");
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *event = json_array_get(events, i);
        cr_expect(eq(sz, json_object_size(event), 7), "event %zu has every member", i);
        cr_expect(eq(i64, json_integer_value(json_object_get(event, "seq")), (json_int_t)i + 1));
    }
    json_decref(events);
}

/* ---- answers without faults ---------------------------------------------------------------- */

Test(cov_engine_json, a_refused_inspect_leaves_no_answer_behind)
{
    /* Whatever *out_json held before, a refused call leaves it NULL. */
    static const char long_account[] = "123456789012345678901234567890123456789012345678901234567"
                                       "890123456789:tok";
    static const struct {
        billord_inspect_kind kind;
        const char *id;
        billord_err err;
    } refused[] = {
        {BILLORD_INSPECT_ORDER, "", BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_ACCOUNT, NULL, BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_ORDER, "x1", BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_TOKEN, "no-colon", BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_TOKEN, ":tok-json-1", BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_TOKEN, long_account, BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_TOKEN, ACCOUNT_MAIN ":", BILLORD_E_INVALID_ARGUMENT},
        {BILLORD_INSPECT_TOKEN, ACCOUNT_MAIN ":none", BILLORD_E_NOT_FOUND},
        {(billord_inspect_kind)99, "x", BILLORD_E_INVALID_ARGUMENT},
    };
    json_t *sentinel = json_object();
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        json_t *record = sentinel;
        cr_expect(eq(int, billord_engine_inspect(h.engine, refused[i].kind, refused[i].id, &record),
                     refused[i].err),
                  "case %zu", i);
        cr_expect(record == NULL, "case %zu", i);
    }
    json_decref(sentinel);
}

/* ---- an open AutoRenew order ---------------------------------------------------------------- */

/* tests/fixtures/lifecycle.json's i-poor cannot pay its automatic renewal: from the first
 * attempt (2026-12-23) to its expiry its AutoRenew order stays open, and the schedule shown
 * for it is read from that order. */
#define POOR_ACCOUNT "7100000000000002"

static void setup_open_order(void)
{
    json_set_alloc_funcs(counting_malloc, counting_free);
    harness_open(&h, "tests/fixtures/lifecycle.json");
    int64_t after_first_attempt = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339("2026-12-24T00:00:00Z", &after_first_attempt),
                 BILLORD_OK));
    harness_tick(&h, after_first_attempt);
}

TestSuite(cov_engine_json_open_order, .init = setup_open_order, .fini = teardown,
          .timeout = 120);

Test(cov_engine_json_open_order, an_instance_with_an_open_order_is_whole_or_refused)
{
    static const builder b = {.name = "instance (open order)", .build = build_inspect,
                              .kind = BILLORD_INSPECT_INSTANCE, .id = "i-poor"};
    json_t *instance = every_fault_keeps_the_answer_whole(&b);
    cr_expect(json_integer_value(json_object_get(instance, "open_auto_renew_order")) > 0);
    bool const attempt_planned = json_is_string(json_object_get(instance,
                                                                "next_auto_renew_attempt"));
    cr_expect(attempt_planned);
    json_decref(instance);
}

Test(cov_engine_json_open_order, its_auto_renew_attributes_are_whole_or_refused)
{
    static const builder b = {.name = "DescribeInstanceAutoRenewAttribute (open order)",
                              .build = build_query,
                              .action = "DescribeInstanceAutoRenewAttribute",
                              .account = POOR_ACCOUNT,
                              .names = {"InstanceId", "RegionId", NULL},
                              .values = {"i-poor", "cn-hangzhou", NULL}};
    json_t *fields = every_fault_keeps_the_answer_whole(&b);
    json_t *item = json_array_get(json_object_get(json_object_get(fields,
                                                                  "InstanceRenewAttributes"),
                                                  "InstanceRenewAttribute"),
                                  0);
    bool const attempt_planned = json_is_string(json_object_get(item, "NextAutoRenewAttempt"));
    cr_expect(attempt_planned);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(item, "RenewalStatus")),
                 "AutoRenewal"));
    json_decref(fields);
}

/* ---- an empty store ------------------------------------------------------------------------ */

/* A new store has no clock, order id, LSN or event counter yet: the summary shows what they
 * start at, and is still whole or refused. */
static void setup_empty(void)
{
    json_set_alloc_funcs(counting_malloc, counting_free);
    harness_open(&h, NULL);
}

TestSuite(cov_engine_json_empty, .init = setup_empty, .fini = teardown, .timeout = 60);

Test(cov_engine_json_empty, the_summary_of_a_new_store_shows_the_starting_values)
{
    static const builder b = {.name = "summary (new store)", .build = build_inspect,
                              .kind = BILLORD_INSPECT_SUMMARY};
    json_t *summary = every_fault_keeps_the_answer_whole(&b);
    bool const no_clock = json_is_null(json_object_get(summary, "clock"));
    cr_expect(no_clock);
    cr_expect(eq(i64, json_integer_value(json_object_get(summary, "events")), 0));
    cr_expect(eq(i64, json_integer_value(json_object_get(summary, "applied_lsn")), 0));
    cr_expect(eq(i64, json_integer_value(json_object_get(summary, "next_order_id")),
                 (json_int_t)BILLORD_ORDER_ID_FIRST));
    cr_expect(eq(i64, json_integer_value(json_object_get(summary, "orders")), 0));
    json_decref(summary);
}
