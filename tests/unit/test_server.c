/*
 * test_server.c: `billord serve` over real sockets. Each test starts the server in-process
 * on a free loopback port, on a throw-away data directory seeded from fixtures/demo.json,
 * and speaks raw HTTP/1.1 to it: SDK-style signed requests (V1 in the query or a form
 * body, V3 in the Authorization header), replays, every limit, slow clients, tenant
 * isolation, concurrent duplicates, gateway mode, the manual clock and a draining stop.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include <billord/limits.h>
#include <billord/server.h>

#include "support/http_client.h"
#include "support/server_fixture.h"
#include "support/tempdir.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define KEY_OTHER "LTAI5tDemoKey0002"
#define SECRET_OTHER "demo-secret-0002"
#define CONCURRENT_CLIENTS 16u

/* Send raw, read one answer, parse its JSON body. */
static json_t *exchange(test_server *t, char *raw, size_t raw_bytes, http_response *response)
{
    cr_assert(http_roundtrip(t->port, raw, raw_bytes, response), "no answer");
    free(raw);
    json_error_t error;
    json_t *body = json_loads(response->body, 0, &error);
    return body;
}

static const char *code_of(const json_t *body)
{
    const char *code = json_string_value(json_object_get(body, "Code"));
    return code != NULL ? code : "";
}

static json_int_t order_of(const json_t *body)
{
    return json_integer_value(json_object_get(body, "OrderId"));
}

/* A V1 GET RenewInstance of i-acc0001 with a token. */
static json_t *renew(test_server *t, const v1_options *options, const char *token,
                     const char *period, http_response *response)
{
    size_t raw_bytes = 0;
    char *raw = http_v1_request(options, &raw_bytes, "Action", "RenewInstance", "InstanceId",
                                "i-acc0001", "Period", period, "ClientToken", token, NULL);
    return exchange(t, raw, raw_bytes, response);
}

static void expect_error(const http_response *response, const json_t *body, int status,
                         const char *code)
{
    cr_expect(eq(int, response->status, status), "body %s", response->body);
    cr_expect(eq(str, (char *)code_of(body), (char *)code), "body %s", response->body);
    char content_type[128];
    cr_expect(http_header(response, "Content-Type", content_type, sizeof content_type));
    cr_expect(eq(str, content_type, "application/json;charset=utf-8"));
}

/* Send raw (freed here): refused with status and Code, a JSON error. */
static void expect_refused(test_server *t, char *raw, size_t raw_bytes, int status,
                           const char *code)
{
    http_response response;
    json_t *body = exchange(t, raw, raw_bytes, &response);
    expect_error(&response, body, status, code);
    json_decref(body);
    http_response_free(&response);
}

/* A renewal (renew()) refused with status and Code. */
static void expect_renew_refused(test_server *t, const v1_options *options, const char *token,
                                 int status, const char *code)
{
    http_response response;
    json_t *body = renew(t, options, token, "1", &response);
    expect_error(&response, body, status, code);
    json_decref(body);
    http_response_free(&response);
}

/* Send raw (freed here): answered 200; the answer's OrderId (0 when it has none). */
static json_int_t expect_served(test_server *t, char *raw, size_t raw_bytes)
{
    http_response response;
    json_t *body = exchange(t, raw, raw_bytes, &response);
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    json_int_t order_id = order_of(body);
    json_decref(body);
    http_response_free(&response);
    return order_id;
}

/* A renewal (renew()) answered 200; its OrderId. */
static json_int_t expect_renewed(test_server *t, const v1_options *options, const char *token)
{
    size_t raw_bytes = 0;
    char *raw = http_v1_request(options, &raw_bytes, "Action", "RenewInstance", "InstanceId",
                                "i-acc0001", "Period", "1", "ClientToken", token, NULL);
    return expect_served(t, raw, raw_bytes);
}

/* ---- signatures and idempotency --------------------------------------------------------- */

Test(server, v1_get_renews_and_replays_byte_for_byte, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    v1_options options = {0};
    http_response first;
    json_t *body = renew(&t, &options, "tok-replay", "1", &first);
    cr_assert(eq(int, first.status, 200), "body %s", first.body);
    cr_assert(order_of(body) > 0, "body %s", first.body);
    cr_expect(json_object_get(body, "Code") == NULL);
    char header[64];
    bool replay_on_first = http_header(&first, "x-billord-idempotent-replay", header, sizeof header);
    cr_expect(replay_on_first == false);

    http_response second;
    json_t *again = renew(&t, &options, "tok-replay", "1", &second);
    cr_expect(eq(int, second.status, 200));
    cr_expect(eq(str, second.body, first.body), "a replay answers the first body");
    cr_assert(http_header(&second, "x-billord-idempotent-replay", header, sizeof header));
    cr_expect(eq(str, header, "true"));

    http_response mismatch;
    json_t *refused = renew(&t, &options, "tok-replay", "2", &mismatch);
    expect_error(&mismatch, refused, 400, "IdempotenceParamNotMatch");

    json_decref(body);
    json_decref(again);
    json_decref(refused);
    http_response_free(&first);
    http_response_free(&second);
    http_response_free(&mismatch);
    server_down(&t);
}

Test(server, signature_failures_answer_their_codes, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    char old[21];
    http_timestamp(-16 * 60, old);
    struct {
        v1_options options;
        int status;
        const char *code;
    } cases[] = {
        {{.corrupt_signature = true}, 400, "SignatureDoesNotMatch"},
        {{.secret = "not-the-secret"}, 400, "SignatureDoesNotMatch"},
        {{.key_id = "LTAI5tNoSuchKey"}, 404, "InvalidAccessKeyId.NotFound"},
        {{.timestamp = old}, 400, "InvalidTimeStamp.Expired"},
        {{.timestamp = "2026-11-22 00:00:00"}, 400, "InvalidParameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_renew_refused(&t, &cases[i].options, "tok-sig", cases[i].status, cases[i].code);
    }
    /* No signature at all. */
    size_t raw_bytes = 0;
    char *raw = http_plain_request("", &raw_bytes, "Action", "RenewInstance", "InstanceId",
                                   "i-acc0001", "Period", "1", NULL);
    expect_refused(&t, raw, raw_bytes, 400, "IncompleteSignature");
    server_down(&t);
}

Test(server, reused_nonce_is_refused_also_after_a_restart, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    v1_options options = {.nonce = "0123456789abcdef0123456789abcdef"};
    cr_assert(expect_renewed(&t, &options, "tok-nonce-1") > 0);
    expect_renew_refused(&t, &options, "tok-nonce-2", 400, "SignatureNonceUsed");
    server_restart(&t);
    expect_renew_refused(&t, &options, "tok-nonce-3", 400, "SignatureNonceUsed");
    server_down(&t);
}

Test(server, after_a_reboot_requests_signed_before_start_are_refused, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    server_stop(&t);
    /* Pretend the machine rebooted: the stored boot id is another one. */
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, t.data, "boot_id");
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL);
    fputs("00000000-0000-0000-0000-000000000000\n", file);
    fclose(file);
    server_start(&t);

    char before[21];
    http_timestamp(-60, before);
    v1_options options = {.timestamp = before};
    expect_renew_refused(&t, &options, "tok-reboot-1", 400, "InvalidTimeStamp.Expired");

    sleep(1);   /* a timestamp after the start, at second resolution */
    v1_options fresh = {0};
    expect_renewed(&t, &fresh, "tok-reboot-2");
    server_down(&t);
}

Test(server, post_form_body_v3_header_and_xml, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    v1_options form = {.method = "POST", .form = true};
    cr_expect(expect_renewed(&t, &form, "tok-form") > 0);

    v3_options v3 = {.action = "RenewInstance", .port = t.port};
    size_t raw_bytes = 0;
    char *raw = http_v3_request(&v3, &raw_bytes, "ClientToken", "tok-v3", "InstanceId",
                                "i-acc0001", "Period", "1", "PeriodUnit", "Month", NULL);
    cr_expect(expect_served(&t, raw, raw_bytes) > 0);

    v1_options xml = {.format = "XML"};
    http_response response;
    json_t *body = renew(&t, &xml, "tok-xml", "10", &response);
    cr_expect(body == NULL, "XML is not JSON");
    cr_expect(eq(int, response.status, 400));
    char content_type[128];
    cr_assert(http_header(&response, "Content-Type", content_type, sizeof content_type));
    cr_expect(eq(str, content_type, "text/xml;charset=utf-8"));
    cr_expect(strstr(response.body, "<Error>") != NULL, "body %s", response.body);
    cr_expect(strstr(response.body, "<Code>InvalidPeriod</Code>") != NULL);
    http_response_free(&response);
    server_down(&t);
}

Test(server, unknown_and_missing_action, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    v1_options options = {0};
    size_t raw_bytes = 0;
    char *raw = http_v1_request(&options, &raw_bytes, "Action", "DeleteEverything", NULL);
    expect_refused(&t, raw, raw_bytes, 404, "InvalidAction.NotFound");
    raw = http_v1_request(&options, &raw_bytes, "InstanceId", "i-acc0001", NULL);
    expect_refused(&t, raw, raw_bytes, 400, "MissingParameter");
    server_expect_raw(&t, "GET /v2/?Action=RenewInstance HTTP/1.1\r\nHost: x\r\n\r\n", 404,
                      "InvalidAction.NotFound");

    /* Every request has its log line, also those refused before the engine; a restart
     * adds none. */
    server_restart(&t);
    size_t log_bytes = 0;
    char *log = tempdir_read_file(t.request_log, &log_bytes);
    cr_assert(log != NULL);
    size_t lines = 0;
    for (const char *at = strchr(log, '\n'); at != NULL; at = strchr(at + 1, '\n')) {
        lines++;
    }
    cr_expect(eq(sz, lines, 3), "log %s", log);
    cr_expect(strstr(log, "\"account\":\"\",\"action\":\"\"") != NULL, "log %s", log);
    free(log);
    server_down(&t);
}

/* ---- tenants ---------------------------------------------------------------------------- */

Test(server, another_accounts_instance_answers_like_a_missing_one, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    v1_options other = {.key_id = KEY_OTHER, .secret = SECRET_OTHER};
    http_response foreign;
    json_t *foreign_body = renew(&t, &other, "tok-tenant", "1", &foreign);
    size_t raw_bytes = 0;
    char *raw = http_v1_request(&other, &raw_bytes, "Action", "RenewInstance", "InstanceId",
                                "i-nosuch", "Period", "1", "ClientToken", "tok-tenant-2", NULL);
    http_response missing;
    json_t *missing_body = exchange(&t, raw, raw_bytes, &missing);
    expect_error(&foreign, foreign_body, 404, "InvalidInstanceId.NotFound");
    cr_expect(eq(int, foreign.status, missing.status));
    json_object_del(foreign_body, "RequestId");
    json_object_del(missing_body, "RequestId");
    cr_expect(json_equal(foreign_body, missing_body), "%s vs %s", foreign.body, missing.body);
    json_decref(foreign_body);
    json_decref(missing_body);
    http_response_free(&foreign);
    http_response_free(&missing);
    server_down(&t);
}

/* ---- limits ----------------------------------------------------------------------------- */

Test(server, too_many_parameters_and_a_huge_value_answer_413, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    /* 65 parameters in the query. */
    char *query = malloc(4096);
    size_t used = (size_t)snprintf(query, 4096, "GET /?Action=RenewInstance");
    for (int i = 0; i < 64; i++) {
        used += (size_t)snprintf(query + used, 4096 - used, "&P%d=1", i);
    }
    used += (size_t)snprintf(query + used, 4096 - used, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused(&t, query, used, 413, "RequestTooLarge");

    /* One value of 4097 bytes, in a form body. */
    size_t value_bytes = BILLORD_PARAM_VALUE_BYTES_MAX + 1;
    char *raw = malloc(value_bytes + 512);
    int head = snprintf(raw, 512,
                        "POST / HTTP/1.1\r\nHost: x\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        "Content-Length: %zu\r\n\r\nAction=RenewInstance&ClientToken=",
                        strlen("Action=RenewInstance&ClientToken=") + value_bytes);
    memset(raw + head, 'a', value_bytes);
    expect_refused(&t, raw, (size_t)head + value_bytes, 413, "RequestTooLarge");
    server_down(&t);
}

Test(server, a_body_over_64_kib_answers_413, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    size_t body_bytes = BILLORD_BODY_BYTES_MAX + 1;
    char *raw = malloc(body_bytes + 512);
    int head = snprintf(raw, 512,
                        "POST / HTTP/1.1\r\nHost: x\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        body_bytes);
    memset(raw + head, 'a', body_bytes);
    http_response response;
    expect_refused(&t, raw, (size_t)head + body_bytes, 413, "RequestTooLarge");

    /* Chunked, without a length: the body is counted as it arrives. */
    int fd = http_connect(t.port);
    static const char chunked_head[] = "POST / HTTP/1.1\r\nHost: x\r\n"
                                       "Content-Type: application/x-www-form-urlencoded\r\n"
                                       "Transfer-Encoding: chunked\r\n\r\n";
    cr_assert(http_send(fd, chunked_head, sizeof chunked_head - 1));
    server_send_chunks(fd, 8192, 9, 0);
    cr_assert(http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS));
    cr_expect(eq(int, response.status, 413));
    http_response_free(&response);
    close(fd);
    server_down(&t);
}

Test(server, headers_over_16_kib_answer_413_and_far_over_close_cleanly, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    size_t filler_bytes = 20 * 1024;
    char *raw = malloc(filler_bytes + 256);
    int head = snprintf(raw, 256, "GET /?Action=RenewInstance HTTP/1.1\r\nHost: x\r\nX-Filler: ");
    memset(raw + head, 'h', filler_bytes);
    memcpy(raw + head + filler_bytes, "\r\n\r\n", 4);
    http_response response;
    expect_refused(&t, raw, (size_t)head + filler_bytes + 4, 413, "RequestTooLarge");

    /* Past the connection's memory: the library refuses, and nothing hangs. */
    filler_bytes = 200 * 1024;
    raw = malloc(filler_bytes + 256);
    head = snprintf(raw, 256, "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ");
    memset(raw + head, 'h', filler_bytes);
    memcpy(raw + head + filler_bytes, "\r\n\r\n", 4);
    int fd = http_connect(t.port);
    (void)http_send(fd, raw, (size_t)head + filler_bytes + 4);
    free(raw);
    if (http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS)) {
        cr_expect(response.status >= 400 && response.status < 500, "status %d",
                  response.status);
        http_response_free(&response);
    }
    cr_expect(http_wait_closed(fd, 5000), "the connection is closed");
    close(fd);
    server_down(&t);
}

Test(server, a_client_trickling_its_headers_is_cut_off, .timeout = 30)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    t.config.read_timeout_ms = 2000;
    server_start(&t);
    int fd = http_connect(t.port);
    static const char slow[] = "GET /?Action=RenewInstance HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow";
    bool cut = false;
    /* One byte per second: each resets an idle timeout, but not the read deadline (2 s). */
    for (size_t i = 0; i < sizeof slow - 1 && !cut; i++) {
        if (!http_send(fd, slow + i, 1)) {
            cut = true;
            break;
        }
        cut = http_wait_closed(fd, 1000);
    }
    cr_expect(cut, "the server must disconnect a trickling client");
    close(fd);

    /* And the server still answers others. */
    v1_options options = {0};
    expect_renewed(&t, &options, "tok-after-slow");
    server_down(&t);
}

Test(server, connections_past_the_cap_answer_503, .timeout = 30)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
    t.config.connections_max = 2;
    server_start(&t);
    int idle_1 = http_connect(t.port);
    int idle_2 = http_connect(t.port);
    usleep(200 * 1000);     /* let the daemon accept both */
    size_t raw_bytes = 0;
    char *raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes,
                                   "Action", "DescribeOrders", NULL);
    http_response response;
    json_t *body = exchange(&t, raw, raw_bytes, &response);
    expect_error(&response, body, 503, "ServiceUnavailable");
    answer_expect_closes(&response);
    json_decref(body);
    http_response_free(&response);
    close(idle_1);
    close(idle_2);
    usleep(200 * 1000);
    /* Served again once under the cap. */
    raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes, "Action", "DescribeOrders", NULL);
    expect_served(&t, raw, raw_bytes);
    server_down(&t);
}

Test(server, an_idle_connection_is_closed, .timeout = 30)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
    t.config.idle_timeout_s = 1;
    t.config.read_timeout_ms = 20000;   /* so that only the idle timeout can close it */
    server_start(&t);
    int fd = http_connect(t.port);
    cr_expect(http_wait_closed(fd, 4000), "closed after about a second of silence");
    close(fd);
    server_down(&t);
}

/* ---- keep-alive, pop-core arrays, gateway, clock ----------------------------------------- */

Test(server, keep_alive_and_indexed_instance_ids, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    int fd = http_connect(t.port);
    v1_options options = {0};
    for (int i = 0; i < 3; i++) {
        size_t raw_bytes = 0;
        char *raw = http_v1_request(&options, &raw_bytes, "Action",
                                    "ModifyInstanceAutoRenewAttribute", "RegionId", "cn-hangzhou",
                                    "InstanceId.1", "i-acc0001", "InstanceId.2", "i-acc0002",
                                    "AutoRenew", "true", "Duration", "1", NULL);
        cr_assert(http_send(fd, raw, raw_bytes));
        free(raw);
        http_response response;
        cr_assert(http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS), "answer %d on one connection",
                  i);
        cr_expect(eq(int, response.status, 200), "body %s", response.body);
        http_response_free(&response);
    }
    close(fd);
    server_down(&t);
}

Test(server, gateway_mode_takes_the_callers_uid, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
    size_t raw_bytes = 0;
    char *raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes,
                                   "Action", "RenewInstance", "InstanceId", "i-acc0001",
                                   "Period", "1", "ClientToken", "tok-gw", NULL);
    expect_served(&t, raw, raw_bytes);

    raw = http_plain_request("", &raw_bytes, "Action", "RenewInstance", "InstanceId",
                             "i-acc0001", "Period", "1", NULL);
    expect_refused(&t, raw, raw_bytes, 400, "IncompleteSignature");
    server_down(&t);
}

static const char clock_advance[] =
    "POST /admin/clock?advance_ms=60000 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";

Test(server, manual_clock_moves_only_through_the_admin_endpoint, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    http_response response;
    server_roundtrip(&t, clock_advance, &response);
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    char expected[64];
    snprintf(expected, sizeof expected, "{\"clock_ms\":%lld}", SERVER_DEMO_CLOCK_MS + 60000);
    cr_expect(eq(str, response.body, expected));
    http_response_free(&response);

    server_expect_raw(&t,
                      "POST /admin/clock?advance_ms=-5 HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: 0\r\n\r\n",
                      400, "InvalidParameter");

    /* The request log stamps commands with the manual clock. */
    size_t raw_bytes = 0;
    char *raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes,
                                   "Action", "RenewInstance", "InstanceId", "i-acc0001",
                                   "Period", "1", "ClientToken", "tok-clock", "Format", "XML",
                                   NULL);
    server_roundtrip_built(&t, raw, raw_bytes, &response);
    cr_expect(eq(int, response.status, 200));
    http_response_free(&response);
    server_restart(&t);
    json_t *line = server_request_log_line(&t, "tok-clock");
    cr_expect(eq(i64, json_integer_value(json_object_get(line, "ts_ms")),
                 SERVER_DEMO_CLOCK_MS + 60000));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(line, "account")),
                 SERVER_ACCOUNT_MAIN));
    json_t *logged = json_object_get(json_object_get(line, "response"), "body");
    bool logged_order = json_integer_value(json_object_get(logged, "OrderId")) > 0;
    cr_expect(logged_order, "the log holds the JSON body even for an XML answer");
    bool logged_id = json_string_value(json_object_get(line, "request_id")) != NULL;
    cr_expect(logged_id);
    json_decref(line);
    server_down(&t);
}

Test(server, admin_clock_is_absent_with_the_system_clock, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
    server_expect_raw(&t, clock_advance, 404, "InvalidAction.NotFound");
    server_down(&t);
}

Test(server, admin_events_need_the_token_and_page_with_a_cursor, .timeout = 30)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.admin_token = "s3cret-admin";
    server_start(&t);
    size_t raw_bytes = 0;
    char *raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes, "Action",
                                   "RenewInstance", "InstanceId", "i-acc0001", "Period", "1",
                                   "ClientToken", "tok-events", NULL);
    json_int_t order_id = expect_served(&t, raw, raw_bytes);
    cr_assert(order_id > 0);

    server_expect_raw(&t, "GET /admin/events?since=0 HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                      "IncompleteSignature");
    server_expect_raw(&t,
                      "GET /admin/events?since=0 HTTP/1.1\r\nHost: x\r\n"
                      "x-billord-admin-token: s3cret-admiN\r\n\r\n",
                      400, "IncompleteSignature");

    http_response response;
    server_roundtrip(&t,
                     "GET /admin/events?since=0&limit=1 HTTP/1.1\r\nHost: x\r\n"
                     "x-billord-admin-token: s3cret-admin\r\n\r\n",
                     &response);
    cr_assert(eq(int, response.status, 200), "body %s", response.body);
    json_t *events = json_loads(response.body, 0, NULL);
    json_t *first = json_array_get(json_object_get(events, "Events"), 0);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(first, "kind")), "OrderCreated"));
    cr_expect(eq(i64, json_integer_value(json_object_get(first, "order_id")), order_id));
    cr_expect(eq(i64, json_integer_value(json_object_get(events, "NextSince")), 1));
    json_decref(events);
    http_response_free(&response);

    server_roundtrip(&t,
                     "GET /admin/events?since=1 HTTP/1.1\r\nHost: x\r\n"
                     "x-billord-admin-token: s3cret-admin\r\n\r\n",
                     &response);
    events = json_loads(response.body, 0, NULL);
    first = json_array_get(json_object_get(events, "Events"), 0);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(first, "kind")), "OrderPaid"));
    json_decref(events);
    http_response_free(&response);
    server_down(&t);
}

Test(server, admin_events_are_off_without_a_token, .timeout = 30)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
    server_expect_raw(&t,
                      "GET /admin/events HTTP/1.1\r\nHost: x\r\n"
                      "x-billord-admin-token: anything\r\n\r\n",
                      404, "InvalidAction.NotFound");
    server_down(&t);
}

/* ---- concurrency and stopping ----------------------------------------------------------- */

typedef struct racer {
    uint16_t port;
    int status;
    char code[64];
    json_int_t order_id;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    v1_options options = {0};
    size_t raw_bytes = 0;
    char *raw = http_v1_request(&options, &raw_bytes, "Action", "RenewInstance", "InstanceId",
                                "i-acc0001", "Period", "1", "ClientToken", "tok-race", NULL);
    http_response response;
    if (http_roundtrip(r->port, raw, raw_bytes, &response)) {
        json_t *body = json_loads(response.body, 0, NULL);
        r->status = response.status;
        snprintf(r->code, sizeof r->code, "%s", code_of(body));
        r->order_id = order_of(body);
        json_decref(body);
        http_response_free(&response);
    }
    free(raw);
    return NULL;
}

Test(server, concurrent_duplicates_make_exactly_one_order, .timeout = 60)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    racer racers[CONCURRENT_CLIENTS];
    pthread_t threads[CONCURRENT_CLIENTS];
    for (uint32_t i = 0; i < CONCURRENT_CLIENTS; i++) {
        racers[i] = (racer){.port = t.port};
        cr_assert(pthread_create(&threads[i], NULL, race, &racers[i]) == 0);
    }
    for (uint32_t i = 0; i < CONCURRENT_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
    }
    json_int_t order_id = 0;
    for (uint32_t i = 0; i < CONCURRENT_CLIENTS; i++) {
        if (racers[i].status == 200) {
            cr_expect(order_id == 0 || order_id == racers[i].order_id, "one order id");
            order_id = racers[i].order_id;
        } else {
            cr_expect(eq(int, racers[i].status, 403));
            cr_expect(eq(str, racers[i].code, "LastTokenProcessing"));
        }
    }
    cr_assert(order_id > 0, "someone got the order");

    /* Exactly one order for the instance beyond the fixture's: list them. */
    v1_options options = {0};
    size_t raw_bytes = 0;
    char *raw = http_v1_request(&options, &raw_bytes, "Action", "DescribeOrders", "InstanceId",
                                "i-acc0001", "PageSize", "100", NULL);
    http_response response;
    json_t *body = exchange(&t, raw, raw_bytes, &response);
    cr_assert(eq(int, response.status, 200), "body %s", response.body);
    size_t renew_orders = 0;
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        if (!json_is_array(value) && !json_is_object(value)) {
            continue;
        }
        /* The list, wherever it sits: count our order id in the text. */
    }
    char needle[32];
    snprintf(needle, sizeof needle, "%lld", (long long)order_id);
    for (const char *at = strstr(response.body, needle); at != NULL;
         at = strstr(at + 1, needle)) {
        renew_orders++;
    }
    cr_expect(eq(sz, renew_orders, 1), "body %s", response.body);
    json_decref(body);
    http_response_free(&response);
    server_down(&t);
}

Test(server, stop_lets_a_request_in_flight_finish, .timeout = 60)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    v1_options options = {.method = "POST", .form = true};
    size_t raw_bytes = 0;
    char *raw = http_v1_request(&options, &raw_bytes, "Action", "RenewInstance", "InstanceId",
                                "i-acc0001", "Period", "1", "ClientToken", "tok-drain", NULL);
    /* Headers and half the body, then the stop, then the rest. */
    size_t half = raw_bytes - 10;
    int fd = http_connect(t.port);
    cr_assert(http_send(fd, raw, half));
    usleep(200 * 1000);
    pthread_t thread;
    server_stop_begin(&t, &thread);
    usleep(300 * 1000);
    cr_assert(http_send(fd, raw + half, raw_bytes - half));
    http_response response;
    cr_assert(http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS), "the request in flight is answered");
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    http_response_free(&response);
    close(fd);
    free(raw);
    server_stop_end(&t, thread);

    /* The order it made is durable: a restart replays the token. */
    server_start(&t);
    json_t *body = NULL;
    options = (v1_options){.method = "POST", .form = true};
    raw = http_v1_request(&options, &raw_bytes, "Action", "RenewInstance", "InstanceId",
                          "i-acc0001", "Period", "1", "ClientToken", "tok-drain", NULL);
    body = exchange(&t, raw, raw_bytes, &response);
    cr_expect(eq(int, response.status, 200));
    char header[16];
    cr_expect(http_header(&response, "x-billord-idempotent-replay", header, sizeof header));
    json_decref(body);
    http_response_free(&response);
    server_down(&t);
}

/* ---- the program ------------------------------------------------------------------------ */

Test(server, the_billord_program_serves_and_exits_0_on_sigterm, .timeout = 60)
{
    const char *build_dir = getenv("BILLORD_BUILD_DIR");
    if (build_dir == NULL || build_dir[0] == '\0') {
        build_dir = BILLORD_BUILD_DIR_DEFAULT;  /* the build that compiled this test */
    }
    char program[TEMPDIR_PATH_BYTES];
    snprintf(program, sizeof program, "%s/billord", build_dir);
    char dir[TEMPDIR_PATH_BYTES];
    char data[TEMPDIR_PATH_BYTES];
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_make(dir);
    tempdir_join(data, dir, "data");
    tempdir_source_path(fixture, "fixtures/demo.json");
    int pipe_fds[2];
    cr_assert(pipe(pipe_fds) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(pipe_fds[1], STDERR_FILENO);
        close(pipe_fds[0]);
        execl(program, program, "serve", "--data", data, "--listen", "127.0.0.1:0",
              "--fixtures", fixture, "--auth", "gateway", (char *)NULL);
        _exit(127);
    }
    close(pipe_fds[1]);
    FILE *output = fdopen(pipe_fds[0], "r");
    char line[512];
    unsigned port = 0;
    while (port == 0 && fgets(line, sizeof line, output) != NULL) {
        (void)sscanf(line, "billord: listening on http://127.0.0.1:%u", &port);
    }
    cr_assert(port != 0, "no listening line");
    size_t raw_bytes = 0;
    char *raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes,
                                   "Action", "RenewInstance", "InstanceId", "i-acc0001",
                                   "Period", "1", "ClientToken", "tok-program", NULL);
    http_response response;
    cr_assert(http_roundtrip((uint16_t)port, raw, raw_bytes, &response));
    free(raw);
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    http_response_free(&response);
    cr_assert(kill(pid, SIGTERM) == 0);
    int status = 0;
    cr_assert(waitpid(pid, &status, 0) == pid);
    bool exited_0 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    cr_expect(exited_0, "status %d", status);
    fclose(output);
    tempdir_remove(dir);
}
