/*
 * test_cov_server_nomem.c: the server's parts when an allocation fails (tests/support/
 * faulty_alloc.h makes the Nth allocation of this thread fail). Every allocation of a step
 * is failed in turn, and the step must keep its promise each time:
 *   - a request log line is written whole or not at all (BILLORD_E_NOMEM), never without
 *     one of its members;
 *   - an answer is always a complete body: when rendering cannot allocate, the static
 *     InternalError JSON (never freed), else the asked format;
 *   - the nonce store's open reports BILLORD_E_NOMEM and loses no recorded nonce;
 *   - the watchdog's start and a new watch report the failure (NOMEM, NULL).
 * Sanitizer builds own the allocator: there these tests skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include <billord/server.h>

#include "server/exec.h"
#include "server/nonce_store.h"
#include "server/request_log.h"
#include "server/scheduler.h"
#include "server/watchdog.h"
#include "support/db_harness.h"
#include "support/faulty_alloc.h"
#include "support/tempdir.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
}

static void teardown(void)
{
    faulty_alloc_reset();
    tempdir_remove(dir);
}

TestSuite(cov_server_nomem, .init = setup, .fini = teardown, .timeout = 60);

static void need_faulty_alloc(void)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("allocations cannot be made to fail in a sanitizer build");
    }
}

/* ---- request log ------------------------------------------------------------------------ */

/* Long names: the line's buffer grows while a name (an object key) is written, the write
 * whose failure jansson does not report. */
#define LONG_NAME(c) "Param" c "-" \
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
    "nnnnnnnnnnnnnnnnnnnnnnn"
static const server_kv log_params[] = {
    {"Action", "RenewInstance"}, {"ClientToken", "t-1"},
    {LONG_NAME("1"), "1"},       {LONG_NAME("2"), "2"},
    {LONG_NAME("3"), "3"},       {LONG_NAME("4"), "4"},
    {LONG_NAME("5"), "5"},       {LONG_NAME("6"), "6"},
    {LONG_NAME("7"), "7"},       {LONG_NAME("8"), "8"},
};
#define LOG_PARAM_COUNT (sizeof log_params / sizeof log_params[0])
static const char log_body[] = "{\"RequestId\":\"00000000-0000-4000-8000-000000000003\","
                               "\"OrderId\":205395023430729}";

static billord_err write_line(server_request_log *log)
{
    server_request_log_entry entry = {
        .ts_ms = 1795305600000LL,
        .account = "1234567890123456",
        .action = "RenewInstance",
        .params = log_params,
        .param_count = (uint32_t)LOG_PARAM_COUNT,
        .status = 200,
        .body_json = log_body,
        .body_json_bytes = sizeof log_body - 1,
        .request_id = "00000000-0000-4000-8000-000000000003",
    };
    return billord__request_log_write(log, &entry);
}

Test(cov_server_nomem, a_request_log_line_is_written_whole_or_not_at_all)
{
    need_faulty_alloc();
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, "requests.ndjson");
    faulty_alloc_fail_at(1, false, false);
    server_request_log *log = NULL;
    cr_expect(eq(int, billord__request_log_open(path, &log), BILLORD_E_NOMEM));
    faulty_alloc_reset();
    cr_assert(eq(int, billord__request_log_open(path, &log), BILLORD_OK));

    faulty_alloc_count(false);
    cr_assert(eq(int, write_line(log), BILLORD_OK));
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(allocations > 3);
    uint64_t written = 1;
    uint64_t refused = 0;
    for (uint64_t k = 1; k <= allocations; k++) {
        faulty_alloc_fail_at(k, false, false);
        billord_err err = write_line(log);
        faulty_alloc_reset();
        cr_expect(err == BILLORD_OK || err == BILLORD_E_NOMEM, "allocation %llu: %d",
                  (unsigned long long)k, err);
        written += err == BILLORD_OK;
        refused += err == BILLORD_E_NOMEM;
    }
    billord__request_log_close(log);
    cr_expect(refused > 0);

    size_t bytes = 0;
    char *text = tempdir_read_file(path, &bytes);
    cr_assert(text != NULL);
    uint64_t lines = 0;
    for (char *line = text, *end = NULL; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        cr_assert(end != NULL);
        *end = '\0';
        json_t *entry = json_loads(line, 0, NULL);
        cr_assert(entry != NULL, "%s", line);
        cr_expect(eq(i64, json_integer_value(json_object_get(entry, "ts_ms")), 1795305600000LL));
        cr_expect(eq(str, (char *)json_string_value(json_object_get(entry, "account")),
                     "1234567890123456"), "%s", line);
        cr_expect(eq(str, (char *)json_string_value(json_object_get(entry, "action")),
                     "RenewInstance"), "%s", line);
        json_t *params = json_object_get(entry, "params");
        cr_expect(eq(sz, json_object_size(params), LOG_PARAM_COUNT), "%s", line);
        json_t *response = json_object_get(entry, "response");
        cr_expect(eq(i64, json_integer_value(json_object_get(response, "status")), 200));
        json_t *body = json_object_get(response, "body");
        /* The body as an object, or (when decoding it could not allocate) as its text. */
        bool body_kept = json_is_object(body) ||
                         (json_is_string(body) && strcmp(json_string_value(body), log_body) == 0);
        cr_expect(body_kept, "%s", line);
        cr_expect(json_object_get(entry, "request_id") != NULL, "%s", line);
        json_decref(entry);
        lines++;
    }
    cr_expect(eq(u64, lines, written));
    free(text);
}

/* ---- rendering -------------------------------------------------------------------------- */

Test(cov_server_nomem, an_answer_that_cannot_be_rendered_is_the_static_internal_error)
{
    need_faulty_alloc();
    server_exec_response out;
    faulty_alloc_fail_at(1, true, false);
    billord__server_exec_error(BILLORD_API_INVALID_PARAMETER, "bad Period",
                               "00000000-0000-4000-8000-000000000004", "RenewInstance", true,
                               true, &out);
    faulty_alloc_reset();
    cr_expect(eq(int, out.code, BILLORD_API_INTERNAL_ERROR));
    cr_expect(eq(int, out.status, 500));
    cr_expect(out.body_static);
    cr_expect(not(out.xml), "the fallback is JSON even when XML was asked for");
    cr_expect(out.log_body_json == NULL);
    cr_assert(out.body != NULL);
    cr_expect(eq(sz, out.body_bytes, strlen(out.body)));
    json_t *body = json_loads(out.body, 0, NULL);
    cr_assert(body != NULL, "%s", out.body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(body, "Code")), "InternalError"));
    json_decref(body);
    billord__server_exec_response_free(&out);   /* a static body is not freed */
    cr_expect(out.body == NULL);
}

Test(cov_server_nomem, every_allocation_of_a_render_may_fail_and_the_answer_stays_whole)
{
    need_faulty_alloc();
    server_exec_response out;
    faulty_alloc_count(false);
    billord__server_exec_error(BILLORD_API_INVALID_PARAMETER, "bad Period",
                               "00000000-0000-4000-8000-000000000005", "RenewInstance", true,
                               true, &out);
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(out.log_body_json != NULL, "an XML answer with its JSON form for the log");
    billord__server_exec_response_free(&out);
    for (uint64_t k = 1; k <= allocations; k++) {
        faulty_alloc_fail_at(k, false, false);
        billord__server_exec_error(BILLORD_API_INVALID_PARAMETER, "bad Period",
                                   "00000000-0000-4000-8000-000000000005", "RenewInstance",
                                   true, true, &out);
        faulty_alloc_reset();
        cr_assert(out.body != NULL);
        cr_expect(eq(sz, out.body_bytes, strlen(out.body)), "allocation %llu",
                  (unsigned long long)k);
        /* The answer is the asked XML with the decided status, or the static fallback.
         * (What render.c makes of a tree it could only partly build is its own contract.) */
        if (out.xml) {
            cr_expect(eq(int, out.code, BILLORD_API_INVALID_PARAMETER));
            cr_expect(eq(int, out.status, 400));
            cr_expect(strncmp(out.body, "<?xml", 5) == 0, "%s", out.body);
            cr_expect(strstr(out.body, "</Error>") != NULL, "%s", out.body);
        } else {
            cr_expect(eq(int, out.code, BILLORD_API_INTERNAL_ERROR));
            cr_expect(eq(int, out.status, 500));
            cr_expect(out.body_static);
            cr_expect(strstr(out.body, "\"Code\":\"InternalError\"") != NULL, "%s", out.body);
        }
        billord__server_exec_response_free(&out);
    }
}

/* ---- nonce store ------------------------------------------------------------------------ */

static billord_err open_store(server_nonce_store **out_store, uint32_t *out_reloaded)
{
    bool boot_changed = false;
    char error_text[512];
    return billord__nonce_store_open(dir, 64, 1000, out_store, &boot_changed, out_reloaded,
                                     error_text, sizeof error_text);
}

Test(cov_server_nomem, a_nonce_store_that_cannot_allocate_fails_to_open_and_loses_nothing)
{
    need_faulty_alloc();
    server_nonce_store *store = NULL;
    uint32_t reloaded = 0;
    cr_assert(eq(int, open_store(&store, &reloaded), BILLORD_OK));
    static const char *const nonces[] = {"n-1", "n-2", "n-3"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert(eq(int, billord__nonce_store_check(store, nonces[i], 3, 5000, 1000),
                     BILLORD_NONCE_ACCEPTED));
    }
    billord__nonce_store_close(store);

    faulty_alloc_count(false);
    cr_assert(eq(int, open_store(&store, &reloaded), BILLORD_OK));
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    billord__nonce_store_close(store);
    cr_assert(allocations >= 2, "the store and its buffers");
    for (uint64_t k = 1; k <= allocations; k++) {
        faulty_alloc_fail_at(k, false, false);
        store = NULL;
        billord_err err = open_store(&store, &reloaded);
        faulty_alloc_reset();
        if (err == BILLORD_OK) {
            billord__nonce_store_close(store);
        } else {
            cr_expect(eq(int, err, BILLORD_E_NOMEM), "allocation %llu", (unsigned long long)k);
        }
        /* Whatever happened, the three nonces are still in the log. */
        cr_assert(eq(int, open_store(&store, &reloaded), BILLORD_OK));
        cr_expect(eq(u32, reloaded, 3), "allocation %llu", (unsigned long long)k);
        billord__nonce_store_close(store);
    }
}

/* ---- watchdog --------------------------------------------------------------------------- */

Test(cov_server_nomem, the_watchdog_reports_what_it_cannot_allocate)
{
    need_faulty_alloc();
    server_watchdog *watchdog = NULL;
    faulty_alloc_fail_at(1, false, false);
    cr_expect(eq(int, billord__watchdog_start(100, &watchdog), BILLORD_E_NOMEM));
    faulty_alloc_reset();
    cr_assert(eq(int, billord__watchdog_start(100, &watchdog), BILLORD_OK));
    faulty_alloc_fail_at(1, false, false);
    server_watch *watch = billord__watchdog_add(watchdog, 0);
    faulty_alloc_reset();
    cr_expect(watch == NULL, "NULL on ENOMEM");
    /* A connection without a watch is served without a deadline: every call takes NULL. */
    billord__watchdog_received(watchdog, watch);
    billord__watchdog_await(watchdog, watch);
    billord__watchdog_remove(watchdog, watch);
    cr_expect(eq(u64, billord__watchdog_cut_count(watchdog), 0));
    billord__watchdog_stop(watchdog);
}

/* ---- scheduler and server ---------------------------------------------------------------- */

Test(cov_server_nomem, the_scheduler_reports_what_it_cannot_allocate)
{
    need_faulty_alloc();
    db_harness_seed(dir, "fixtures/demo.json");
    billord_db_recovery info;
    billord_db *db = db_harness_open(dir, NULL, NULL, &info, NULL);
    server_scheduler *scheduler = NULL;
    faulty_alloc_fail_at(1, false, false);
    billord_err err = billord__scheduler_start(db, billord_clock_system(), &scheduler);
    faulty_alloc_reset();
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(scheduler == NULL);
    billord_db_close(db);
}

Test(cov_server_nomem, a_server_that_cannot_allocate_itself_does_not_start)
{
    need_faulty_alloc();
    billord_server_config config = {.data_dir = dir};
    billord_server *server = NULL;
    char error_text[256];
    faulty_alloc_fail_at(1, false, false);
    billord_err err = billord_server_start(&config, &server, error_text, sizeof error_text);
    faulty_alloc_reset();
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(server == NULL);
}
