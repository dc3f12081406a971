/*
 * test_cov_server.c: the edges of `billord serve` that tests/unit/test_server.c does not
 * reach, over real sockets: every way start-up can fail (and that a failed start leaves
 * the data directory usable), requests refused before the engine (too many headers, bodies
 * past the limit, unknown paths and methods, the server stopping), the admin endpoints'
 * refusals (bad advance_ms, bad since/limit, wrong methods, non-loopback callers), the
 * V1/V3/gateway refusals of the request pipeline, operator and request logs (including a
 * request log that cannot be written), and store failures under a live server (a read or a
 * key lookup whose LMDB transaction fails, a nonces.log that cannot grow, a torn log tail
 * found at start). Each answer is checked for its documented status and Code (docs/api.md).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>
#include <lmdb.h>

#include <billord/limits.h>
#include <billord/server.h>

#include "support/faulty_lmdb.h"
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

#define ADMIN_TOKEN "s3cret-admin"

static void fini(void)
{
    faulty_lmdb_reset();
}

TestSuite(cov_server, .fini = fini, .timeout = 60);

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL, "%s: %s", path, strerror(errno));
    fputs(text, file);
    fclose(file);
}

/* A gateway request for the main account; pairs end with NULL. */
#define GATEWAY(out_bytes, ...) \
    http_plain_request(SERVER_CALLER_MAIN, (out_bytes), __VA_ARGS__, NULL)

/* ---- start-up failures ------------------------------------------------------------------ */

Test(cov_server, start_needs_a_data_directory_and_stop_takes_null)
{
    billord_server_config config = {.data_dir = NULL};
    billord_server *server = NULL;
    char error_text[256];
    cr_expect(eq(int, billord_server_start(&config, &server, error_text, sizeof error_text),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_expect(eq(str, error_text, "--data: required"));
    cr_expect(server == NULL);
    billord_server_stop(NULL);
}

Test(cov_server, a_bad_fixture_file_fails_start_and_names_the_file)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_join(fixture, t.dir, "broken.json");
    write_file(fixture, "{\"clock\": ");
    t.config.fixtures_path = fixture;
    server_expect_start_fails(&t, BILLORD_E_FIXTURE, fixture);

    char missing[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, t.dir, "no-such-fixture.json");
    t.config.fixtures_path = missing;
    server_expect_start_fails(&t, BILLORD_E_IO, missing);

    /* The failed starts closed the data directory: a good fixture seeds it now. */
    t.config.fixtures_path = t.fixture;
    server_start(&t);
    cr_expect(server_log_contains(&t, "billord: seeded "), "log: %s", server_log_text(&t));
    static const char clock[] = "GET /admin/clock HTTP/1.1\r\nHost: x\r\n\r\n";
    http_response response;
    server_roundtrip(&t, clock, &response);
    cr_expect(eq(int, response.status, 200));
    char expected[64];
    snprintf(expected, sizeof expected, "{\"clock_ms\":%lld}", SERVER_DEMO_CLOCK_MS);
    cr_expect(eq(str, response.body, expected));
    http_response_free(&response);
    server_down(&t);
}

Test(cov_server, a_fixture_for_a_seeded_directory_is_a_notice_not_a_failure)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    server_stop(&t);
    server_start(&t);
    cr_expect(server_log_contains(&t, "is not empty; --fixtures"), "log: %s", server_log_text(&t));
    server_down(&t);
}

Test(cov_server, an_unusable_data_directory_fails_start)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    write_file(t.data, "a file, not a directory\n");
    char error_text[1024];
    billord_server *server = NULL;
    billord_err err = billord_server_start(&t.config, &server, error_text, sizeof error_text);
    cr_expect(err != BILLORD_OK);
    cr_expect(server == NULL);
    cr_expect(strncmp(error_text, t.data, strlen(t.data)) == 0, "error text: %s", error_text);
    unlink(t.data);
    server_start(&t);
    server_down(&t);
}

/* While *option names a path under a directory that does not exist, start fails naming the
 * option; with usable, the same directory starts. */
static void expect_path_option_checked(test_server *t, const char **option,
                                       const char *missing_name, const char *needle,
                                       const char *usable)
{
    char missing[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, t->dir, missing_name);
    *option = missing;
    server_expect_start_fails(t, BILLORD_E_IO, needle);
    *option = usable;
    server_start(t);
    server_down(t);
}

Test(cov_server, an_archive_directory_that_cannot_be_made_fails_start)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    /* An existing archive directory is taken as it is. */
    char archive[TEMPDIR_PATH_BYTES];
    tempdir_join(archive, t.dir, "archive");
    cr_assert(mkdir(archive, 0755) == 0);
    expect_path_option_checked(&t, &t.config.archive_dir, "missing-parent/archive",
                               "--archive-dir", archive);
}

Test(cov_server, a_request_log_that_cannot_be_opened_fails_start)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    expect_path_option_checked(&t, &t.config.request_log_path, "missing-dir/requests.ndjson",
                               "--request-log", t.request_log);
}

Test(cov_server, an_unusable_nonce_log_or_boot_id_fails_start)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    server_stop(&t);
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, t.data, "nonces.log");
    cr_assert(unlink(path) == 0);
    cr_assert(mkdir(path, 0755) == 0);
    server_expect_start_fails(&t, BILLORD_E_IO, "nonces.log");
    cr_assert(rmdir(path) == 0);

    tempdir_join(path, t.data, "boot_id");
    cr_assert(unlink(path) == 0);
    cr_assert(mkdir(path, 0755) == 0);
    char child[TEMPDIR_PATH_BYTES];
    tempdir_join(child, path, "keep");          /* a directory rename() cannot replace */
    write_file(child, "x");
    server_expect_start_fails(&t, BILLORD_E_IO, "boot_id");
    cr_assert(unlink(child) == 0);
    cr_assert(rmdir(path) == 0);

    /* Gateway mode keeps no nonces: the same directory serves. */
    t.config.auth = BILLORD_SERVER_AUTH_GATEWAY;
    cr_assert(mkdir(path, 0755) == 0);
    server_start(&t);
    server_down(&t);
}

Test(cov_server, a_port_in_use_or_a_bad_host_fails_start)
{
    test_server first;
    server_up(&first, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.listen_port = first.port;
    server_expect_start_fails(&t, BILLORD_E_IO, "cannot listen");
    t.config.listen_host = NULL;                /* the default, named in the error */
    char expected[64];
    snprintf(expected, sizeof expected, "--listen 127.0.0.1:%u: cannot listen",
             (unsigned)first.port);
    server_expect_start_fails(&t, BILLORD_E_IO, expected);
    t.config.listen_port = 0;
    t.config.listen_host = "";
    server_expect_start_fails(&t, BILLORD_E_INVALID_ARGUMENT, "--listen");
    /* The same data directory starts once the listen address is usable. */
    t.config.listen_host = NULL;                /* the default, 127.0.0.1 */
    server_start(&t);
    server_down(&t);
    server_down(&first);
}

/* ---- limits and paths ------------------------------------------------------------------- */

Test(cov_server, more_than_128_headers_answer_413_and_close)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    char *raw = malloc(16384);
    size_t used = (size_t)snprintf(raw, 16384, "GET /?Action=DescribeOrders HTTP/1.1\r\n"
                                               "Host: x\r\n" SERVER_CALLER_MAIN);
    for (unsigned i = 0; i < BILLORD_SERVER_HEADERS_MAX; i++) {
        used += (size_t)snprintf(raw + used, 16384 - used, "X-H%u: %u\r\n", i, i);
    }
    used += (size_t)snprintf(raw + used, 16384 - used, "\r\n");
    http_response response;
    server_roundtrip(&t, raw, &response);
    answer_expect(&response, 413, "RequestTooLarge");
    answer_expect_closes(&response);
    http_response_free(&response);
    free(raw);
    server_down(&t);
}

Test(cov_server, a_chunked_body_past_the_limit_is_dropped_and_answers_413)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    int fd = http_connect(t.port);
    static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\n" SERVER_CALLER_MAIN
                               "Content-Type: application/x-www-form-urlencoded\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    cr_assert(http_send(fd, head, sizeof head - 1));
    /* 24 chunks of 4 KiB: the body passes 64 KiB at the 17th, and more keeps coming. */
    server_send_chunks(fd, 4096, 24, 2000);
    http_response response;
    cr_assert(http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS));
    answer_expect(&response, 413, "RequestTooLarge");
    answer_expect_closes(&response);
    http_response_free(&response);
    close(fd);
    server_down(&t);
}

/* The body of a request refused with its headers is never taken as the next request: the
 * library drops it and closes, or reads past it; it never hangs. */
Test(cov_server, a_refused_request_with_a_body_is_answered_and_never_hangs)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    int fd = http_connect(t.port);
    static const char other_path[] = "POST /v2/orders HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Type: application/x-www-form-urlencoded\r\n"
                                     "Content-Length: 20\r\n\r\nAction=DescribeOrder";
    cr_assert(http_send(fd, other_path, sizeof other_path - 1));
    http_response response;
    cr_assert(http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS));
    answer_expect(&response, 404, "InvalidAction.NotFound");
    http_response_free(&response);
    /* Either the connection is closed, or the body was dropped and the next request is
     * answered. */
    size_t raw_bytes = 0;
    char *raw = GATEWAY(&raw_bytes, "Action", "DescribeOrders");
    if (http_send(fd, raw, raw_bytes) && http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS)) {
        cr_expect(eq(int, response.status, 200), "body %s", response.body);
        http_response_free(&response);
    } else {
        cr_expect(http_wait_closed(fd, 1000), "either answered or closed, never hung");
    }
    free(raw);
    close(fd);
    server_down(&t);
}

/* A Content-Length that is not a number, or past any size: refused (by the library or by
 * billord, 400 or 413) and closed, never read as a body. */
Test(cov_server, a_content_length_that_is_not_a_number_is_refused)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    static const char *const lengths[] = {"12x", "abc", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char raw[256];
        snprintf(raw, sizeof raw,
                 "POST / HTTP/1.1\r\nHost: x\r\n" SERVER_CALLER_MAIN
                 "Content-Length: %s\r\n\r\nAction=Descr", lengths[i]);
        int fd = http_connect(t.port);
        cr_assert(http_send(fd, raw, strlen(raw)));
        http_response response;
        cr_assert(http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS), "%s: no answer", lengths[i]);
        cr_expect(response.status == 400 || response.status == 413, "%s: status %d", lengths[i],
                  response.status);
        http_response_free(&response);
        cr_expect(http_wait_closed(fd, 5000), "%s: closed", lengths[i]);
        close(fd);
    }
    server_down(&t);
}

Test(cov_server, a_body_is_read_as_parameters_only_with_the_form_content_type)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    static const char form[] = "Action=DescribeOrders&PageSize=10";
    static const char *const form_types[] = {
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "APPLICATION/X-WWW-FORM-URLENCODED;charset=utf-8",
        "application/x-www-form-urlencoded ",
    };
    static const char *const other_types[] = {
        "application/json",
        "application/x-www-form-urlencodedx",
    };
    char raw[512];
    for (size_t i = 0; i < sizeof form_types / sizeof form_types[0]; i++) {
        snprintf(raw, sizeof raw,
                 "POST / HTTP/1.1\r\nHost: x\r\n" SERVER_CALLER_MAIN
                 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                 form_types[i], sizeof form - 1, form);
        http_response response;
        server_roundtrip(&t, raw, &response);
        cr_expect(eq(int, response.status, 200), "%s: %s", form_types[i], response.body);
        http_response_free(&response);
    }
    for (size_t i = 0; i < sizeof other_types / sizeof other_types[0]; i++) {
        snprintf(raw, sizeof raw,
                 "POST / HTTP/1.1\r\nHost: x\r\n" SERVER_CALLER_MAIN
                 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                 other_types[i], sizeof form - 1, form);
        /* The body is not parameters: no Action. */
        server_expect_raw(&t, raw, 400, "MissingParameter");
    }
    server_down(&t);
}

/* ---- the request pipeline's refusals ---------------------------------------------------- */

Test(cov_server, gateway_refusals_of_the_caller_action_and_instance_list)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    size_t raw_bytes = 0;
    /* A caller UID longer than any account id. */
    char long_uid[BILLORD_ACCOUNT_ID_BYTES_MAX + 64];
    memset(long_uid, '7', sizeof long_uid - 1);
    long_uid[sizeof long_uid - 1] = '\0';
    char header[sizeof long_uid + 32];
    snprintf(header, sizeof header, "x-acs-caller-uid: %s\r\n", long_uid);
    char *raw = http_plain_request(header, &raw_bytes, "Action", "DescribeOrders", NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "IncompleteSignature");
    raw = http_plain_request("x-acs-caller-uid:\r\n", &raw_bytes, "Action", "DescribeOrders",
                             NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "IncompleteSignature");

    /* Action empty: missing; with a NUL byte: malformed (decoding refuses it); longer than
     * any action: unknown. */
    SERVER_EXPECT_GATEWAY(&t, 400, "MissingParameter", "Action", "");
    server_expect_raw(&t,
                      "GET /?Action=DescribeOrders%00 HTTP/1.1\r\nHost: x\r\n" SERVER_CALLER_MAIN
                      "\r\n",
                      400, "InvalidParameter");
    char long_action[BILLORD_ACTION_BYTES_MAX + 16];
    memset(long_action, 'A', sizeof long_action - 1);
    long_action[sizeof long_action - 1] = '\0';
    SERVER_EXPECT_GATEWAY(&t, 404, "InvalidAction.NotFound", "Action", long_action);

    /* The action from the x-acs-action header when there is no Action parameter. */
    raw = http_plain_request(SERVER_CALLER_MAIN "x-acs-action: DescribeOrders\r\n", &raw_bytes,
                             "PageSize", "10", NULL);
    server_expect_built(&t, raw, raw_bytes, 200, "");

    /* InstanceId.n: a gap is a malformation, a joined list past 4 KiB a limit. */
    SERVER_EXPECT_GATEWAY(&t, 400, "InvalidParameter", "Action", "ModifyInstanceAutoRenewAttribute",
                          "RegionId", "cn-hangzhou", "InstanceId.1", "i-acc0001", "InstanceId.3",
                          "i-acc0002", "AutoRenew", "true", "Duration", "1");
    char *big = malloc(3001);
    memset(big, 'i', 3000);
    big[3000] = '\0';
    SERVER_EXPECT_GATEWAY(&t, 413, "RequestTooLarge", "Action", "ModifyInstanceAutoRenewAttribute",
                          "InstanceId.1", big, "InstanceId.2", big, "AutoRenew", "true");
    free(big);
    /* A name that only starts like the list's is a parameter of its own: the engine gets
     * the joined list and it (the request log shows what the engine got). */
    SERVER_EXPECT_GATEWAY(&t, 200, "", "Action", "ModifyInstanceAutoRenewAttribute", "RegionId",
                          "cn-hangzhou", "InstanceId.1", "i-acc0001", "InstanceId.2", "i-acc0002",
                          "InstanceIdx", "1", "AutoRenew", "true", "Duration", "1");
    server_stop(&t);
    json_t *entry = server_request_log_line(&t, "\"InstanceIdx\"");
    json_t *params = json_object_get(entry, "params");
    cr_expect(eq(str, (char *)json_string_value(json_object_get(params, "InstanceId")),
                 "i-acc0001,i-acc0002"));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(params, "InstanceIdx")), "1"));
    cr_expect(json_object_get(params, "InstanceId.1") == NULL,
              "InstanceId.1 is not a parameter of its own");
    json_decref(entry);
    server_down(&t);
}

/* Regression: a caller UID that was not UTF-8 was taken as the account, and its request
 * log line then lacked "account" (jansson refuses such a string), a line that billordctl
 * replay rejects as malformed. Such a UID names no account: refused like a missing one. */
Test(cov_server, a_caller_uid_that_is_not_utf8_is_refused_and_every_line_is_whole)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    size_t raw_bytes = 0;
    char *raw = http_plain_request("x-acs-caller-uid: 12\xff\xfe" "34\r\n", &raw_bytes, "Action",
                                   "DescribeOrders", NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "IncompleteSignature");
    /* Any UTF-8 is an account id (this one owns nothing). */
    raw = http_plain_request("x-acs-caller-uid: k\xc3\xa4ufer-1\r\n", &raw_bytes, "Action",
                             "DescribeOrders", NULL);
    server_expect_built(&t, raw, raw_bytes, 200, "");
    server_stop(&t);
    size_t log_bytes = 0;
    char *log = tempdir_read_file(t.request_log, &log_bytes);
    cr_assert(log != NULL);
    size_t lines = 0;
    for (char *line = log, *end = NULL; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        cr_assert(end != NULL, "every line ends with a newline");
        *end = '\0';
        json_t *entry = json_loads(line, 0, NULL);
        cr_assert(entry != NULL, "line %zu: %s", lines + 1, line);
        static const char *const members[] = {"ts_ms",    "account",  "action",
                                              "params",   "response", "request_id"};
        for (size_t m = 0; m < sizeof members / sizeof members[0]; m++) {
            cr_expect(json_object_get(entry, members[m]) != NULL, "%s missing: %s", members[m],
                      line);
        }
        const char *account = json_string_value(json_object_get(entry, "account"));
        cr_expect(account != NULL && (account[0] == '\0' || strcmp(account, "k\xc3\xa4ufer-1") == 0),
                  "account of %s", line);
        json_decref(entry);
        lines++;
    }
    cr_expect(eq(sz, lines, 2));
    free(log);
    server_down(&t);
}

Test(cov_server, v1_refusals_before_the_signature_is_checked)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    /* A Signature alone: the first missing part is named. */
    server_expect_raw(&t, "GET /?Action=DescribeOrders&Signature=abc HTTP/1.1\r\nHost: x\r\n\r\n",
                      400, "IncompleteSignature");
    /* An access key id longer than any: not found, before any signature work. */
    char long_key[BILLORD_ACCESS_KEY_ID_BYTES_MAX + 32];
    memset(long_key, 'K', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    v1_options options = {.key_id = long_key};
    SERVER_EXPECT_V1(&t, &options, 404, "InvalidAccessKeyId.NotFound", "Action", "DescribeOrders");
    server_down(&t);
}

Test(cov_server, v3_refusals_answer_their_codes)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    size_t raw_bytes = 0;
    v3_options wrong_secret = {.action = "DescribeOrders", .port = t.port,
                               .secret = "not-the-secret"};
    char *raw = http_v3_request(&wrong_secret, &raw_bytes, "PageSize", "10", NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "SignatureDoesNotMatch");

    v3_options unknown_key = {.action = "DescribeOrders", .port = t.port,
                              .key_id = "LTAI5tNoSuchKey"};
    raw = http_v3_request(&unknown_key, &raw_bytes, "PageSize", "10", NULL);
    server_expect_built(&t, raw, raw_bytes, 404, "InvalidAccessKeyId.NotFound");

    v3_options once = {.action = "DescribeOrders", .port = t.port,
                       .nonce = "v3-nonce-0123456789abcdef01234567"};
    raw = http_v3_request(&once, &raw_bytes, "PageSize", "10", NULL);
    server_expect_built(&t, raw, raw_bytes, 200, "");
    raw = http_v3_request(&once, &raw_bytes, "PageSize", "10", NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "SignatureNonceUsed");

    /* Another algorithm, or a well-formed header whose signed headers miss x-acs-date. */
    server_expect_raw(&t,
                      "POST /?Action=DescribeOrders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                      "Authorization: Bearer abc\r\n\r\n",
                      400, "IncompleteSignature");
    server_expect_raw(&t, "POST / HTTP/1.1\r\nhost: x\r\nx-acs-action: DescribeOrders\r\n"
                          "x-acs-signature-nonce: n-1\r\nContent-Length: 0\r\nauthorization: "
                          "ACS3-HMAC-SHA256 Credential=LTAI5tDemoKey0001,SignedHeaders=host;"
                          "x-acs-action;x-acs-signature-nonce,Signature=00\r\n\r\n",
                      400, "IncompleteSignature");
    server_down(&t);
}

/* The clock signatures are checked against: an hour ahead of this machine's. */
static int64_t clock_an_hour_ahead(void *auth_clock_ctx)
{
    int *calls = auth_clock_ctx;
    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 3600 * 1000;
}

Test(cov_server, signature_timestamps_follow_the_configured_auth_clock)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    int calls = 0;
    t.config.auth_now_ms = clock_an_hour_ahead;
    t.config.auth_clock_ctx = &calls;
    server_start(&t);
    v1_options now = {0};
    SERVER_EXPECT_V1(&t, &now, 400, "InvalidTimeStamp.Expired", "Action", "DescribeOrders");
    char ahead[21];
    http_timestamp(3600, ahead);
    v1_options in_an_hour = {.timestamp = ahead};
    SERVER_EXPECT_V1(&t, &in_an_hour, 200, "", "Action", "DescribeOrders");
    cr_expect(calls >= 3, "the nonce store at start and each request read it (%d)", calls);
    server_down(&t);
}

/* ---- POST/GET /admin/clock -------------------------------------------------------------- */

Test(cov_server, admin_clock_reads_and_refuses_bad_advances)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    char expected[64];
    snprintf(expected, sizeof expected, "{\"clock_ms\":%lld}", SERVER_DEMO_CLOCK_MS);
    http_response response;
    server_roundtrip(&t, "GET /admin/clock HTTP/1.1\r\nHost: x\r\n\r\n", &response);
    cr_expect(eq(int, response.status, 200));
    cr_expect(eq(str, response.body, expected));
    char content_type[64] = "";
    cr_expect(http_header(&response, "Content-Type", content_type, sizeof content_type));
    cr_expect(eq(str, content_type, "application/json;charset=utf-8"));
    http_response_free(&response);

    static const char *const bad[] = {
        "",                         /* no advance_ms */
        "advance=5",                /* another name */
        "advance_ms=",              /* no digits */
        "advance_ms=007",           /* a leading zero */
        "advance_ms=1234567890123456",  /* 16 digits */
        "advance_ms=12a",           /* not a number */
        "advance_ms=316224000001",  /* ten years (of 366 days) and a millisecond */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char raw[256];
        snprintf(raw, sizeof raw,
                 "POST /admin/clock?%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", bad[i]);
        server_roundtrip(&t, raw, &response);
        answer_expect(&response, 400, "InvalidParameter");
        cr_expect(strstr(response.body, "advance_ms") != NULL, "body %s", response.body);
        http_response_free(&response);
    }
    /* Other methods are unknown paths. */
    server_expect_raw(&t, "DELETE /admin/clock HTTP/1.1\r\nHost: x\r\n\r\n", 404,
                      "InvalidAction.NotFound");
    /* None of these moved the clock; 0 is a valid advance. */
    server_roundtrip(&t,
                     "POST /admin/clock?advance_ms=0 HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 0\r\n\r\n",
                     &response);
    cr_expect(eq(int, response.status, 200));
    cr_expect(eq(str, response.body, expected));
    http_response_free(&response);
    server_down(&t);
}

/* An address of this machine that is not loopback, of family (AF_INET or AF_INET6). */
static bool other_address(int family, char *out, size_t out_bytes)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0) {
        return false;
    }
    bool found = false;
    for (struct ifaddrs *at = list; at != NULL && !found; at = at->ifa_next) {
        if (at->ifa_addr == NULL || at->ifa_addr->sa_family != family ||
            (at->ifa_flags & IFF_LOOPBACK) != 0 || (at->ifa_flags & IFF_UP) == 0) {
            continue;
        }
        const void *raw = family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)(void *)at->ifa_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)(void *)at->ifa_addr)
                                    ->sin6_addr;
        if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)raw)) {
            continue;                           /* needs a scope id to connect */
        }
        found = inet_ntop(family, raw, out, (socklen_t)out_bytes) != NULL;
    }
    freeifaddrs(list);
    return found;
}

/* Connect to host:port (numeric, either family); -1 when it cannot. */
static int connect_to(const char *host, uint16_t port)
{
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address);
    socklen_t length = 0;
    int family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
    if (family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        cr_assert(inet_pton(AF_INET, host, &v4->sin_addr) == 1);
        length = sizeof *v4;
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        cr_assert(inet_pton(AF_INET6, host, &v6->sin6_addr) == 1);
        length = sizeof *v6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&address, length) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int status_from(const char *host, uint16_t port, const char *raw)
{
    int fd = connect_to(host, port);
    cr_assert(fd >= 0, "connect to %s: %s", host, strerror(errno));
    http_response response;
    int status = 0;
    if (http_send(fd, raw, strlen(raw)) && http_read(fd, &response, HTTP_CLIENT_TIMEOUT_MS)) {
        status = response.status;
        http_response_free(&response);
    }
    close(fd);
    return status;
}

static const char clock_get[] = "GET /admin/clock HTTP/1.1\r\nHost: x\r\n\r\n";

Test(cov_server, admin_clock_answers_only_loopback_callers_over_ipv4)
{
    char address[INET6_ADDRSTRLEN];
    if (!other_address(AF_INET, address, sizeof address)) {
        cr_skip_test("no non-loopback IPv4 address on this machine");
    }
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.listen_host = "0.0.0.0";
    server_start(&t);
    cr_expect(eq(int, status_from("127.0.0.1", t.port, clock_get), 200));
    cr_expect(eq(int, status_from(address, t.port, clock_get), 404), "from %s", address);
    server_down(&t);
}

Test(cov_server, admin_clock_answers_only_loopback_callers_over_ipv6)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 loopback = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool has_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&loopback, sizeof loopback) == 0;
    if (probe >= 0) {
        close(probe);
    }
    if (!has_v6) {
        cr_skip_test("no IPv6 loopback on this machine");
    }
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.listen_host = "::";
    server_start(&t);
    cr_expect(eq(int, status_from("::1", t.port, clock_get), 200));
    char address[INET6_ADDRSTRLEN];
    if (other_address(AF_INET6, address, sizeof address)) {
        cr_expect(eq(int, status_from(address, t.port, clock_get), 404), "from %s", address);
    }
    /* A dual-stack socket sees IPv4 callers as ::ffff:a.b.c.d: 127.x is loopback still. */
    int mapped = connect_to("127.0.0.1", t.port);
    if (mapped >= 0) {
        close(mapped);
        cr_expect(eq(int, status_from("127.0.0.1", t.port, clock_get), 200));
        if (other_address(AF_INET, address, sizeof address)) {
            cr_expect(eq(int, status_from(address, t.port, clock_get), 404), "from %s",
                      address);
        }
    }
    server_down(&t);
}

/* ---- GET /admin/events ------------------------------------------------------------------ */

#define EVENTS_HEAD " HTTP/1.1\r\nHost: x\r\nx-billord-admin-token: " ADMIN_TOKEN "\r\n\r\n"

/* A server whose events endpoint is on (ADMIN_TOKEN). */
static void events_server_up(test_server *t)
{
    server_init(t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t->config.admin_token = ADMIN_TOKEN;
    server_start(t);
}

/* Each query is refused: 400 InvalidParameter, naming since/limit. */
static void expect_events_queries_refused(const test_server *t, const char *const *queries,
                                          size_t query_count)
{
    for (size_t i = 0; i < query_count; i++) {
        char raw[256];
        snprintf(raw, sizeof raw, "GET /admin/events?%s" EVENTS_HEAD, queries[i]);
        http_response response;
        server_roundtrip(t, raw, &response);
        answer_expect(&response, 400, "InvalidParameter");
        cr_expect(strstr(response.body, "since/limit") != NULL, "%s: %s", queries[i],
                  response.body);
        http_response_free(&response);
    }
}

/* The query answers 200 with exactly page. */
static void expect_events_page(const test_server *t, const char *query, const char *page)
{
    char raw[256];
    snprintf(raw, sizeof raw, "GET /admin/events?%s" EVENTS_HEAD, query);
    http_response response;
    server_roundtrip(t, raw, &response);
    cr_expect(eq(int, response.status, 200), "%s: body %s", query, response.body);
    cr_expect(eq(str, response.body, (char *)page), "%s", query);
    http_response_free(&response);
}

Test(cov_server, admin_events_refuse_bad_queries_and_answer_an_empty_page)
{
    test_server t;
    events_server_up(&t);
    server_expect_raw(&t,
                      "POST /admin/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                      "x-billord-admin-token: " ADMIN_TOKEN "\r\n\r\n",
                      404, "InvalidAction.NotFound");
    static const char *const bad[] = {
        "since=abc", "since=", "since=5x", "limit=0", "limit=1001", "since=1&limit=2z",
    };
    expect_events_queries_refused(&t, bad, sizeof bad / sizeof bad[0]);
    /* Past the last event: an empty page that keeps the cursor; unknown names are ignored. */
    expect_events_page(&t, "page=2&sincex=7&since=1000&limit=1000",
                       "{\"Events\":[],\"NextSince\":1000}");
    server_down(&t);
}

/* Regression: the cursor went through strtoull() alone, which takes "-1" (as 2^64 - 1),
 * "+1" and leading blanks; "since=-1" answered an empty page with "NextSince":-1, a cursor
 * that can never move on. Only decimal digits up to INT64_MAX are a cursor now. */
Test(cov_server, admin_events_take_only_a_decimal_cursor)
{
    test_server t;
    events_server_up(&t);
    static const char *const bad[] = {
        "since=-1", "since=+1", "since=%201", "since=18446744073709551616",
        "since=9223372036854775808", "limit=-5", "limit=+5",
    };
    expect_events_queries_refused(&t, bad, sizeof bad / sizeof bad[0]);
    expect_events_page(&t, "since=9223372036854775807&limit=5",
                       "{\"Events\":[],\"NextSince\":9223372036854775807}");
    server_down(&t);
}

/* Regression: a token past BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX was cut to that length at
 * start, so the configured token was refused and its prefix accepted. */
Test(cov_server, an_admin_token_past_the_limit_is_refused_at_start)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    char token[BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX + 2];
    memset(token, 't', sizeof token - 1);
    token[sizeof token - 1] = '\0';
    t.config.admin_token = token;
    server_expect_start_fails(&t, BILLORD_E_INVALID_ARGUMENT, "admin token");

    /* At the limit: the whole token is the secret, a prefix of it is not. */
    token[BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX] = '\0';
    server_start(&t);
    char raw[1024];
    snprintf(raw, sizeof raw,
             "GET /admin/events HTTP/1.1\r\nHost: x\r\nx-billord-admin-token: %s\r\n\r\n", token);
    server_expect_raw(&t, raw, 200, "");
    snprintf(raw, sizeof raw,
             "GET /admin/events HTTP/1.1\r\nHost: x\r\nx-billord-admin-token: %.*s\r\n\r\n",
             (int)BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX - 1, token);
    server_expect_raw(&t, raw, 400, "IncompleteSignature");
    server_down(&t);
}

Test(cov_server, admin_events_answer_503_when_the_store_cannot_be_read)
{
    test_server t;
    events_server_up(&t);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), EIO, false);
    server_expect_raw(&t, "GET /admin/events?since=0" EVENTS_HEAD, 503, "ServiceUnavailable");
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    server_expect_raw(&t, "GET /admin/events?since=0" EVENTS_HEAD, 200, "");
    server_down(&t);
}

/* ---- store failures under a live server ------------------------------------------------- */

/* An I/O error may pass: 503 (a retry may succeed); damaged data is 500. */
Test(cov_server, a_read_whose_transaction_fails_answers_503_and_the_next_is_served)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), EIO, false);
    SERVER_EXPECT_GATEWAY(&t, 503, "ServiceUnavailable", "Action", "DescribeOrders");
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), MDB_CORRUPTED, false);
    SERVER_EXPECT_GATEWAY(&t, 500, "InternalError", "Action", "DescribeOrders");
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    SERVER_EXPECT_GATEWAY(&t, 200, "", "Action", "DescribeOrders");
    server_down(&t);
}

Test(cov_server, a_key_lookup_that_fails_answers_503_and_spends_no_nonce)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_MANUAL);
    v1_options options = {.nonce = "key-lookup-nonce-0123456789abcdef"};
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), EIO, false);
    SERVER_EXPECT_V1(&t, &options, 503, "ServiceUnavailable", "Action", "DescribeOrders");
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    /* The refused request did not spend its nonce: the same nonce is accepted now. */
    SERVER_EXPECT_V1(&t, &options, 200, "", "Action", "DescribeOrders");
    server_down(&t);
}

Test(cov_server, a_nonce_log_that_cannot_grow_answers_503_from_then_on)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.request_log_path = NULL;
    server_start(&t);
    v1_options options = {0};
    SERVER_EXPECT_V1(&t, &options, 200, "", "Action", "DescribeOrders");

    /* No file may grow past its size now: the next nonce cannot be recorded. */
    struct rlimit saved;
    cr_assert(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    signal(SIGXFSZ, SIG_IGN);
    char nonces[TEMPDIR_PATH_BYTES];
    tempdir_join(nonces, t.data, "nonces.log");
    struct stat before;
    cr_assert(stat(nonces, &before) == 0);
    struct rlimit capped = {.rlim_cur = (rlim_t)before.st_size, .rlim_max = saved.rlim_max};
    cr_assert(setrlimit(RLIMIT_FSIZE, &capped) == 0);
    size_t raw_bytes = 0;
    char *raw = http_v1_request(&options, &raw_bytes, "Action", "DescribeOrders", NULL);
    http_response response;
    bool answered = http_roundtrip(t.port, raw, raw_bytes, &response);
    free(raw);
    cr_assert(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    cr_assert(answered);
    answer_expect(&response, 503, "ServiceUnavailable");
    http_response_free(&response);

    /* An unrecorded nonce could be replayed after a restart: every later one is refused. */
    SERVER_EXPECT_V1(&t, &options, 503, "ServiceUnavailable", "Action", "DescribeOrders");
    /* A restart reopens the log and serves again. */
    server_stop(&t);
    server_start(&t);
    SERVER_EXPECT_V1(&t, &options, 200, "", "Action", "DescribeOrders");
    server_down(&t);
}

Test(cov_server, a_clock_advance_whose_tick_cannot_be_stored_still_moves_the_clock)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.log_level = BILLORD_SERVER_LOG_INFO;
    server_start(&t);
    /* Every LMDB commit fails from now on: the data directory stops taking writes. */
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), EIO, true);
    http_response response;
    server_roundtrip(&t, "POST /admin/clock?advance_ms=1000 HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 0\r\n\r\n",
                     &response);
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    char expected[64];
    snprintf(expected, sizeof expected, "{\"clock_ms\":%lld}", SERVER_DEMO_CLOCK_MS + 1000);
    cr_expect(eq(str, response.body, expected));
    http_response_free(&response);
    cr_expect(faulty_lmdb_failures() >= 1);
    /* The operator learns that the tick failed, and the db says why (its own lines come
     * through the same log). */
    cr_expect(server_log_contains(&t, "billord: clock advanced by 1000 ms to "), "log: %s",
              server_log_text(&t));
    cr_expect(not(server_log_contains(&t, "(tick OK)")), "log: %s", server_log_text(&t));
    cr_expect(server_log_contains(&t, "fail-stop: "), "log: %s", server_log_text(&t));
    /* Writes are refused as unavailable until a restart. */
    SERVER_EXPECT_GATEWAY(&t, 503, "ServiceUnavailable", "Action", "RenewInstance", "InstanceId",
                          "i-acc0001", "Period", "1", "ClientToken", "tok-after-fail-stop");
    faulty_lmdb_reset();
    server_stop(&t);
    server_start(&t);
    SERVER_EXPECT_GATEWAY(&t, 200, "", "Action", "RenewInstance", "InstanceId", "i-acc0001",
                          "Period", "1", "ClientToken", "tok-after-fail-stop");
    server_down(&t);
}

/* The newest segment of DATA/wal and the offset just past its last non-zero byte. */
static void wal_end(const char *data, char path[TEMPDIR_PATH_BYTES], long *out_end)
{
    char wal[TEMPDIR_PATH_BYTES];
    tempdir_join(wal, data, "wal");
    DIR *dir = opendir(wal);
    cr_assert(dir != NULL);
    char newest[TEMPDIR_PATH_BYTES] = "";
    for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
        size_t length = strlen(entry->d_name);
        if (length > 4 && strcmp(entry->d_name + length - 4, ".seg") == 0 &&
            strcmp(entry->d_name, newest) > 0) {
            snprintf(newest, sizeof newest, "%s", entry->d_name);
        }
    }
    closedir(dir);
    cr_assert(newest[0] != '\0');
    tempdir_join(path, wal, newest);
    FILE *file = fopen(path, "rb");
    cr_assert(file != NULL);
    static unsigned char chunk[1 << 16];
    long offset = 0;
    long end = 0;
    size_t got = 0;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
        for (size_t i = 0; i < got; i++) {
            if (chunk[i] != 0) {
                end = offset + (long)i + 1;
            }
        }
        offset += (long)got;
    }
    fclose(file);
    *out_end = end;
}

Test(cov_server, a_torn_log_tail_is_reported_through_the_operator_log)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    SERVER_EXPECT_GATEWAY(&t, 200, "", "Action", "RenewInstance", "InstanceId", "i-acc0001",
                          "Period", "1", "ClientToken", "tok-torn");
    server_stop(&t);
    /* Half a record after the last one: what a crash in the middle of a write leaves. */
    char segment[TEMPDIR_PATH_BYTES];
    long end = 0;
    wal_end(t.data, segment, &end);
    cr_assert(end > 0);
    int fd = open(segment, O_WRONLY);
    cr_assert(fd >= 0);
    static const unsigned char garbage[12] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8};
    cr_assert(pwrite(fd, garbage, sizeof garbage, end) == (ssize_t)sizeof garbage);
    close(fd);

    server_start(&t);
    cr_expect(server_log_contains(&t, "log: torn record cut at "), "log: %s", server_log_text(&t));
    cr_expect(server_log_contains(&t, "torn tail truncated"), "log: %s", server_log_text(&t));
    /* The answered renewal survived: its token replays. */
    size_t raw_bytes = 0;
    char *raw = GATEWAY(&raw_bytes, "Action", "RenewInstance", "InstanceId", "i-acc0001",
                        "Period", "1", "ClientToken", "tok-torn");
    http_response response;
    server_roundtrip_built(&t, raw, raw_bytes, &response);
    cr_expect(eq(int, response.status, 200));
    char header[16];
    cr_expect(http_header(&response, "x-billord-idempotent-replay", header, sizeof header));
    http_response_free(&response);
    server_down(&t);
}

Test(cov_server, a_seed_that_cannot_be_stored_fails_start_and_can_be_retried)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    /* How many transactions an empty directory commits to start without a fixture. */
    t.config.fixtures_path = NULL;
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT));
    server_start(&t);
    uint64_t commits = faulty_lmdb_calls();
    server_stop(&t);
    tempdir_remove(t.data);

    /* The next commit is the seed's. */
    t.config.fixtures_path = t.fixture;
    faulty_lmdb_fail_at(commits + 1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), MDB_MAP_FULL,
                        false);
    server_expect_start_fails(&t, BILLORD_E_MAP_FULL, "cannot seed");
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    /* Nothing of the fixture was kept: the directory is still empty and is seeded now. */
    server_start(&t);
    cr_expect(server_log_contains(&t, "billord: seeded "), "log: %s", server_log_text(&t));
    http_response response;
    server_roundtrip(&t, "GET /admin/clock HTTP/1.1\r\nHost: x\r\n\r\n", &response);
    char expected[64];
    snprintf(expected, sizeof expected, "{\"clock_ms\":%lld}", SERVER_DEMO_CLOCK_MS);
    cr_expect(eq(str, response.body, expected));
    http_response_free(&response);
    server_down(&t);
}

/* ---- logs ------------------------------------------------------------------------------- */

Test(cov_server, a_request_log_that_cannot_be_written_is_reported_not_fatal)
{
    if (access("/dev/full", W_OK) != 0) {
        cr_skip_test("no /dev/full");
    }
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.request_log_path = "/dev/full";
    server_start(&t);
    size_t raw_bytes = 0;
    char *raw = GATEWAY(&raw_bytes, "Action", "DescribeOrders");
    http_response response;
    server_roundtrip_built(&t, raw, raw_bytes, &response);
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    json_t *body = json_loads(response.body, 0, NULL);
    char expected[128];
    snprintf(expected, sizeof expected, "billord: request log write failed for request_id=%s",
             json_string_value(json_object_get(body, "RequestId")));
    cr_expect(server_log_contains(&t, expected), "log: %s", server_log_text(&t));
    json_decref(body);
    http_response_free(&response);
    /* Refusals before the engine are still answered. */
    server_expect_raw(&t, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404,
                      "InvalidAction.NotFound");
    server_down(&t);
}

Test(cov_server, the_debug_level_says_why_a_request_was_refused)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.log_level = BILLORD_SERVER_LOG_DEBUG;
    t.config.request_log_path = NULL;
    server_start(&t);
    size_t raw_bytes = 0;
    char *raw = http_plain_request("", &raw_bytes, "Action", "DescribeOrders", NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "IncompleteSignature");
    cr_expect(server_log_contains(&t, "billord: GET - 400 IncompleteSignature account=-"),
              "log: %s", server_log_text(&t));
    cr_expect(server_log_contains(&t, " refused: "), "log: %s", server_log_text(&t));
    cr_expect(server_log_contains(&t, "x-acs-caller-uid"), "log: %s", server_log_text(&t));
    /* A request that reached the engine has no reason to give. */
    SERVER_EXPECT_GATEWAY(&t, 200, "", "Action", "DescribeOrders", "ClientToken", "tok-debug-read");
    cr_expect(server_log_contains(&t, "billord: GET DescribeOrders 200 OK account="
                                      SERVER_ACCOUNT_MAIN),
              "log: %s", server_log_text(&t));
    /* Without a request log, an XML answer is rendered once, as XML. */
    raw = GATEWAY(&raw_bytes, "Action", "DescribeOrders", "Format", "xml");
    http_response response;
    server_roundtrip_built(&t, raw, raw_bytes, &response);
    cr_expect(eq(int, response.status, 200));
    cr_expect(strstr(response.body, "<DescribeOrdersResponse>") != NULL, "body %s",
              response.body);
    http_response_free(&response);
    /* Refused before the engine (a path of the same length as an admin path). */
    server_expect_raw(&t, "GET /admin/eventz HTTP/1.1\r\nHost: x\r\n\r\n", 404,
                      "InvalidAction.NotFound");
    cr_expect(server_log_contains(&t, "billord: - 404 InvalidAction.NotFound request_id="),
              "log: %s", server_log_text(&t));
    server_down(&t);
}

Test(cov_server, the_info_level_logs_requests_without_refusal_reasons)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    t.config.log_level = BILLORD_SERVER_LOG_INFO;
    server_start(&t);
    size_t raw_bytes = 0;
    char *raw = http_plain_request("", &raw_bytes, "Action", "DescribeOrders", NULL);
    server_expect_built(&t, raw, raw_bytes, 400, "IncompleteSignature");
    SERVER_EXPECT_GATEWAY(&t, 200, "", "Action", "DescribeOrders");
    cr_expect(server_log_contains(&t, "billord: GET - 400 IncompleteSignature account=-"),
              "log: %s", server_log_text(&t));
    cr_expect(server_log_contains(&t, "billord: GET DescribeOrders 200 OK account="
                                      SERVER_ACCOUNT_MAIN),
              "log: %s", server_log_text(&t));
    cr_expect(not(server_log_contains(&t, " refused: ")), "log: %s", server_log_text(&t));
    server_down(&t);
}

/* ---- stopping --------------------------------------------------------------------------- */

Test(cov_server, a_request_arriving_while_stopping_answers_503_and_closes)
{
    test_server t;
    server_up(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    /* A: a request in flight (half its body sent) keeps the stop draining. */
    static const char form[] = "Action=DescribeOrders&PageSize=10";
    char head[512];
    int head_bytes = snprintf(head, sizeof head,
                              "POST / HTTP/1.1\r\nHost: x\r\n" SERVER_CALLER_MAIN
                              "Content-Type: application/x-www-form-urlencoded\r\n"
                              "Content-Length: %zu\r\n\r\n",
                              sizeof form - 1);
    int in_flight = http_connect(t.port);
    cr_assert(http_send(in_flight, head, (size_t)head_bytes));
    cr_assert(http_send(in_flight, form, 10));
    /* B: a kept-alive connection, served once before the stop. */
    int kept = http_connect(t.port);
    size_t raw_bytes = 0;
    char *raw = GATEWAY(&raw_bytes, "Action", "DescribeOrders");
    cr_assert(http_send(kept, raw, raw_bytes));
    http_response response;
    cr_assert(http_read(kept, &response, HTTP_CLIENT_TIMEOUT_MS));
    cr_expect(eq(int, response.status, 200));
    http_response_free(&response);

    pthread_t thread;
    server_stop_begin(&t, &thread);
    /* B's next request, once the stop has begun: the server is stopping. The stop may also
     * close B while it is idle, before the request is read: then there is no answer to
     * check, only that the connection is gone (a client sends again elsewhere). */
    bool closed_idle = false;
    for (int attempt = 0; attempt < 100; attempt++) {
        usleep(50 * 1000);
        if (!http_send(kept, raw, raw_bytes) ||
            !http_read(kept, &response, HTTP_CLIENT_TIMEOUT_MS)) {
            closed_idle = true;
            break;
        }
        if (response.status != 200) {
            break;
        }
        http_response_free(&response);
    }
    if (!closed_idle) {
        answer_expect(&response, 503, "ServiceUnavailable");
        answer_expect_closes(&response);
        http_response_free(&response);
    }
    free(raw);
    close(kept);
    /* A, whose body is still arriving: answered, or closed unanswered by the stop (seen in
     * about one run in ten; never a half or wrong answer). */
    if (http_send(in_flight, form + 10, sizeof form - 1 - 10) &&
        http_read(in_flight, &response, HTTP_CLIENT_TIMEOUT_MS)) {
        cr_expect(eq(int, response.status, 200), "body %s", response.body);
        http_response_free(&response);
    } else {
        cr_expect(http_wait_closed(in_flight, HTTP_CLIENT_TIMEOUT_MS));
    }
    close(in_flight);
    server_stop_end(&t, thread);
    cr_expect(server_log_contains(&t, "billord: stopped"));

    /* The 503 is in the request log, refused before its parameters were read. */
    size_t log_bytes = 0;
    char *log = tempdir_read_file(t.request_log, &log_bytes);
    cr_assert(log != NULL);
    bool const logged_503 = strstr(log, "\"account\":\"\",\"action\":\"\",\"params\":{},"
                                        "\"response\":{\"status\":503") != NULL;
    cr_expect(logged_503 != closed_idle, "closed while idle: %d; log %s", closed_idle, log);
    free(log);
    server_down(&t);
}
