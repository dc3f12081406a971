/*
 * test_cov_server_nomem.c: the server's parts when an allocation fails (tests/support/
 * faulty_alloc.h makes the Nth allocation of this thread fail). Every allocation of a step
 * is failed in turn, and the step must keep its promise each time:
 *   - a request log line is written whole or not at all (BILLORD_E_NOMEM), never without
 *     one of its members;
 *   - an answer is always a complete body: the normal one byte for byte, or (when
 *     rendering cannot allocate) the failure answer of billord/render.h, a well-formed
 *     InternalError (or the ServiceUnavailable that was to be answered) in the asked
 *     format with the request's id, made without allocating; the same holds for the log's
 *     JSON of an XML answer;
 *   - a GET /admin/events page is the normal page byte for byte, or an error to answer
 *     instead, never a page that lacks an event or a member;
 *   - the nonce store's open reports BILLORD_E_NOMEM and loses no recorded nonce;
 *   - the watchdog's start and a new watch report the failure (NOMEM, NULL).
 * Sanitizer builds own the allocator: there these tests skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include <billord/db.h>
#include <billord/render.h>
#include <billord/server.h>

#include "server/exec.h"
#include "server/nonce_store.h"
#include "server/request_log.h"
#include "server/scheduler.h"
#include "server/watchdog.h"
#include "support/db_harness.h"
#include "support/faulty_alloc.h"
#include "support/server_fixture.h"
#include "support/tempdir.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

static void teardown(void)
{
    faulty_alloc_reset();
    server_scratch_remove();
}

TestSuite(cov_server_nomem, .init = server_scratch_make, .fini = teardown, .timeout = 60);

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
    tempdir_join(path, server_scratch_dir, "requests.ndjson");
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

#define RENDER_REQUEST_ID "00000000-0000-4000-8000-000000000005"

/* The failure answer the response must be, in format, with the request's id. */
static void expect_failure_answer(const char *body, size_t body_bytes, billord_api_code code,
                                  bool xml, uint64_t k)
{
    char expected[BILLORD_RENDER_FAILURE_BYTES];
    size_t expected_bytes = billord_render_failure(
        code, RENDER_REQUEST_ID, xml ? BILLORD_FORMAT_XML : BILLORD_FORMAT_JSON, expected);
    cr_expect(eq(sz, body_bytes, expected_bytes), "allocation %llu", (unsigned long long)k);
    cr_expect(eq(str, (char *)body, expected), "allocation %llu", (unsigned long long)k);
    json_t *members = xml ? answer_xml_error(body, body_bytes)
                          : answer_json_error(body, body_bytes);
    cr_assert(members != NULL, "allocation %llu: a well-formed error: %s",
              (unsigned long long)k, body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(members, "Code")),
                 (char *)billord_api_code_text(code)));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(members, "RequestId")),
                 RENDER_REQUEST_ID));
    json_decref(members);
}

static void render_error(billord_api_code code, bool xml, bool want_log_json,
                         server_exec_response *out)
{
    billord__server_exec_error(code, code == BILLORD_API_INVALID_PARAMETER ? "bad Period" : "-",
                               RENDER_REQUEST_ID, "RenewInstance", xml, want_log_json, out);
}

/* render_error() with every allocation failing. */
static void render_error_without_memory(billord_api_code code, bool xml, bool want_log_json,
                                        server_exec_response *out)
{
    faulty_alloc_fail_at(1, true, false);
    render_error(code, xml, want_log_json, out);
    faulty_alloc_reset();
}

Test(cov_server_nomem, an_answer_that_cannot_be_rendered_is_the_failure_answer)
{
    need_faulty_alloc();
    for (int xml = 0; xml <= 1; xml++) {
        server_exec_response out;
        render_error_without_memory(BILLORD_API_INVALID_PARAMETER, xml, true, &out);
        cr_expect(eq(int, out.code, BILLORD_API_INTERNAL_ERROR));
        cr_expect(eq(int, out.status, 500));
        cr_expect(out.body_fixed, "made without allocating");
        cr_expect(eq(int, out.xml, xml), "in the asked format");
        cr_expect(not(out.replay));
        expect_failure_answer(out.body, out.body_bytes, BILLORD_API_INTERNAL_ERROR, xml, 0);
        if (xml) {
            /* The log gets the same answer as JSON, also made without allocating. */
            cr_assert(out.log_body_json != NULL);
            expect_failure_answer(out.log_body_json, strlen(out.log_body_json),
                                  BILLORD_API_INTERNAL_ERROR, false, 0);
        } else {
            cr_expect(out.log_body_json == NULL, "a JSON answer is its own log body");
        }
        billord__server_exec_response_free(&out);   /* a fixed body is not freed */
        cr_expect(out.body == NULL);
        cr_expect(out.log_body_json == NULL);
    }
}

Test(cov_server_nomem, a_service_unavailable_answer_that_cannot_be_rendered_stays_503)
{
    need_faulty_alloc();
    server_exec_response out;
    render_error_without_memory(BILLORD_API_SERVICE_UNAVAILABLE, true, false, &out);
    cr_expect(eq(int, out.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(eq(int, out.status, 503));
    cr_expect(out.xml);
    cr_expect(out.log_body_json == NULL, "no log body was asked for");
    expect_failure_answer(out.body, out.body_bytes, BILLORD_API_SERVICE_UNAVAILABLE, true, 0);
    billord__server_exec_response_free(&out);
}

/* Every allocation of a render failing in turn: the answer is the normal one, byte for
 * byte, or the failure answer; the log body is the answer's JSON or the failure answer's,
 * or (when only the log's JSON could not be made) absent, the log then holding the XML. */
static void each_render_allocation_may_fail(bool xml)
{
    server_exec_response normal;
    faulty_alloc_count(false);
    render_error(BILLORD_API_INVALID_PARAMETER, xml, true, &normal);
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(not(normal.body_fixed));
    cr_assert(eq(int, normal.status, 400));
    cr_assert(eq(int, normal.xml, xml));
    cr_assert(xml ? normal.log_body_json != NULL : normal.log_body_json == NULL);
    uint64_t failed_answers = 0;
    for (uint64_t k = 1; k <= allocations; k++) {
        server_exec_response out;
        faulty_alloc_fail_at(k, false, false);
        render_error(BILLORD_API_INVALID_PARAMETER, xml, true, &out);
        faulty_alloc_reset();
        cr_assert(out.body != NULL);
        cr_expect(eq(int, out.xml, xml), "allocation %llu", (unsigned long long)k);
        if (out.body_fixed) {
            failed_answers++;
            cr_expect(eq(int, out.code, BILLORD_API_INTERNAL_ERROR));
            cr_expect(eq(int, out.status, 500));
            expect_failure_answer(out.body, out.body_bytes, BILLORD_API_INTERNAL_ERROR, xml, k);
            if (xml) {
                expect_failure_answer(out.log_body_json, strlen(out.log_body_json),
                                      BILLORD_API_INTERNAL_ERROR, false, k);
            }
        } else {
            cr_expect(eq(int, out.code, BILLORD_API_INVALID_PARAMETER));
            cr_expect(eq(int, out.status, 400));
            cr_expect(eq(sz, out.body_bytes, normal.body_bytes));
            cr_expect(eq(str, out.body, normal.body), "allocation %llu", (unsigned long long)k);
            if (out.log_body_json != NULL) {
                cr_expect(eq(str, out.log_body_json, normal.log_body_json));
            } else {
                cr_expect(xml, "allocation %llu: only an XML answer has a log body of its own",
                          (unsigned long long)k);
            }
        }
        billord__server_exec_response_free(&out);
    }
    cr_expect(failed_answers > 0);
    billord__server_exec_response_free(&normal);
}

Test(cov_server_nomem, every_allocation_of_a_render_may_fail_and_the_answer_stays_whole)
{
    need_faulty_alloc();
    each_render_allocation_may_fail(true);
    each_render_allocation_may_fail(false);
}

/* ---- GET /admin/events -------------------------------------------------------------------- */

/* A data directory with a few events: renewals of the fixture's instance. */
static billord_db *db_with_events(void)
{
    db_harness_seed(server_scratch_dir, "fixtures/demo.json");
    billord_db_recovery info;
    billord_db *db = db_harness_open(server_scratch_dir, NULL, NULL, &info, NULL);
    static const char *const tokens[] = {"tok-events-1", "tok-events-2"};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        billord_param params[] = {{"InstanceId", "i-acc0001"}, {"Period", "1"},
                                  {"ClientToken", tokens[i]}};
        billord_command command;
        memset(&command, 0, sizeof command);
        command.kind = BILLORD_COMMAND_REQUEST;
        command.now_ms = 1795305600000LL;
        snprintf(command.request_id, sizeof command.request_id, "%s", RENDER_REQUEST_ID);
        command.account = "1234567890123456";
        command.action = "RenewInstance";
        command.param_count = 3;
        command.params = params;
        billord_outcome outcome;
        cr_assert(eq(int, billord_db_execute(db, &command, &outcome), BILLORD_OK));
        cr_assert(eq(int, outcome.code, BILLORD_API_OK), "%s", outcome.message);
    }
    /* An answered write is durable in the log; the store may apply it a moment later. Each
     * renewal made two events (OrderCreated, OrderPaid). */
    for (int attempt = 0; attempt < 500; attempt++) {
        json_t *events = NULL;
        cr_assert(eq(int, billord_engine_events(billord_db_engine(db), 0, 1000, &events),
                     BILLORD_OK));
        size_t count = json_array_size(events);
        json_decref(events);
        if (count == 4) {
            return db;
        }
        usleep(10 * 1000);
    }
    cr_fatal("the renewals' events never became visible");
    return NULL;
}

Test(cov_server_nomem, every_allocation_of_an_events_page_may_fail_and_the_page_stays_whole)
{
    need_faulty_alloc();
    billord_db *db = db_with_events();
    static const struct {
        uint64_t since;
        uint32_t limit;
    } pages[] = {{0, 1000}, {1, 2}, {1000, 5}};
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        server_exec_response normal;
        faulty_alloc_count(false);
        billord_api_code code =
            billord__server_exec_events(db, pages[p].since, pages[p].limit, &normal);
        uint64_t allocations = faulty_alloc_calls();
        faulty_alloc_reset();
        cr_assert(eq(int, code, BILLORD_API_OK));
        cr_assert(eq(int, normal.status, 200));
        json_t *page = json_loads(normal.body, 0, NULL);
        cr_assert(page != NULL, "%s", normal.body);
        size_t count = json_array_size(json_object_get(page, "Events"));
        cr_expect(eq(i64, json_integer_value(json_object_get(page, "NextSince")),
                     (json_int_t)(pages[p].since + count)));
        cr_expect(pages[p].since >= 1000 || count > 0, "page %zu has events", p);
        json_decref(page);
        uint64_t refused = 0;
        for (uint64_t k = 1; k <= allocations; k++) {
            server_exec_response out;
            memset(&out, 0, sizeof out);
            faulty_alloc_fail_at(k, false, false);
            code = billord__server_exec_events(db, pages[p].since, pages[p].limit, &out);
            faulty_alloc_reset();
            if (code != BILLORD_API_OK) {
                /* The server answers this error instead (rendered like any other). */
                refused++;
                cr_expect(code == BILLORD_API_SERVICE_UNAVAILABLE ||
                              code == BILLORD_API_INTERNAL_ERROR,
                          "page %zu, allocation %llu: %d", p, (unsigned long long)k, code);
                cr_expect(out.body == NULL, "nothing is left in out");
                continue;
            }
            cr_expect(eq(int, out.status, 200));
            cr_expect(eq(sz, out.body_bytes, normal.body_bytes));
            cr_expect(eq(str, out.body, normal.body), "page %zu, allocation %llu", p,
                      (unsigned long long)k);
            billord__server_exec_response_free(&out);
        }
        cr_expect(refused > 0, "page %zu", p);
        billord__server_exec_response_free(&normal);
    }
    billord_db_close(db);
}

/* ---- nonce store ------------------------------------------------------------------------ */

static billord_err open_store(server_nonce_store **out_store, uint32_t *out_reloaded)
{
    bool boot_changed = false;
    char error_text[512];
    return billord__nonce_store_open(server_scratch_dir, 64, 1000, out_store, &boot_changed,
                                     out_reloaded, error_text, sizeof error_text);
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
    db_harness_seed(server_scratch_dir, "fixtures/demo.json");
    billord_db_recovery info;
    billord_db *db = db_harness_open(server_scratch_dir, NULL, NULL, &info, NULL);
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
    billord_server_config config = {.data_dir = server_scratch_dir};
    billord_server *server = NULL;
    char error_text[256];
    faulty_alloc_fail_at(1, false, false);
    billord_err err = billord_server_start(&config, &server, error_text, sizeof error_text);
    faulty_alloc_reset();
    cr_expect(eq(int, err, BILLORD_E_NOMEM));
    cr_expect(server == NULL);
}
