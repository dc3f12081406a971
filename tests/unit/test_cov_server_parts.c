/*
 * test_cov_server_parts.c: the server's parts on their own, through their internal
 * headers, for what a running server cannot be steered into: the nonce log's documented
 * file format (records reloaded across more than one read, expired ones dropped, a torn
 * last record ignored, compaction at twice the capacity), the boot-id rule, a full nonce
 * memory, a nonce log that cannot be written or compacted (the store then refuses every
 * later nonce), request log lines whose body is not JSON or that cannot be written, the
 * watchdog's read deadlines on real sockets, and the completion of API messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include <billord/http_sign.h>

#include "server/exec.h"
#include "server/front.h"
#include "server/nonce_store.h"
#include "server/request_log.h"
#include "server/scheduler.h"
#include "server/server_internal.h"
#include "server/watchdog.h"
#include "support/db_harness.h"
#include "support/server_fixture.h"
#include "support/tempdir.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

TestSuite(cov_server_parts, .init = server_scratch_make, .fini = server_scratch_remove,
          .timeout = 30);

/* ---- nonce store ------------------------------------------------------------------------ */

typedef struct opened {
    server_nonce_store *store;
    bool boot_changed;
    uint32_t reloaded;
    char error_text[1024];
} opened;

static billord_err store_open(uint32_t capacity, int64_t now_ms, opened *out)
{
    memset(out, 0, sizeof *out);
    return billord__nonce_store_open(server_scratch_dir, capacity, now_ms, &out->store,
                                     &out->boot_changed, &out->reloaded, out->error_text,
                                     sizeof out->error_text);
}

static opened store_open_ok(uint32_t capacity, int64_t now_ms)
{
    opened result;
    billord_err err = store_open(capacity, now_ms, &result);
    cr_assert(eq(int, err, BILLORD_OK), "open: %s", result.error_text);
    return result;
}

static billord_nonce_result check(server_nonce_store *store, const char *nonce, int64_t expiry_ms,
                                  int64_t now_ms)
{
    return billord__nonce_store_check(store, nonce, strlen(nonce), expiry_ms, now_ms);
}

/* One check of a nonce and what it answers; log_records >= 0: then the log holds that
 * many records. */
typedef struct nonce_step {
    const char *nonce;
    int64_t expiry_ms;
    int64_t now_ms;
    billord_nonce_result result;
    int log_records;
} nonce_step;

static long file_size(const char *name);

static void expect_steps(server_nonce_store *store, const nonce_step *steps, size_t step_count)
{
    for (size_t i = 0; i < step_count; i++) {
        const nonce_step *step = &steps[i];
        cr_expect(eq(int, check(store, step->nonce, step->expiry_ms, step->now_ms), step->result),
                  "step %zu: %s", i, step->nonce);
        if (step->log_records >= 0) {
            cr_expect(eq(i64, file_size(SERVER_NONCE_LOG_NAME),
                         step->log_records * (long)SERVER_NONCE_RECORD_BYTES),
                      "step %zu: %s", i, step->nonce);
        }
    }
}

/* a and b expire at 1100, c at 5000: a store of capacity 2 holds three records. */
static const nonce_step three_accepted[] = {
    {"a", 1100, 1000, BILLORD_NONCE_ACCEPTED, -1},
    {"b", 1100, 1000, BILLORD_NONCE_ACCEPTED, -1},
    {"c", 5000, 1200, BILLORD_NONCE_ACCEPTED, 3},
};
#define STEP_COUNT(steps) (sizeof(steps) / sizeof(steps)[0])

static void path_in_dir(char out[TEMPDIR_PATH_BYTES], const char *name)
{
    tempdir_join(out, server_scratch_dir, name);
}

static long file_size(const char *name)
{
    char path[TEMPDIR_PATH_BYTES];
    path_in_dir(path, name);
    struct stat st;
    cr_assert(stat(path, &st) == 0, "%s", path);
    return (long)st.st_size;
}

static void append_bytes(const char *name, const void *bytes, size_t bytes_len)
{
    char path[TEMPDIR_PATH_BYTES];
    path_in_dir(path, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    cr_assert(fd >= 0);
    cr_assert(write(fd, bytes, bytes_len) == (ssize_t)bytes_len);
    close(fd);
}

/* One record as nonce_store.h lays it out: digest, then expiry_ms little-endian. */
static void record_of(const char *nonce, int64_t expiry_ms, uint8_t out[SERVER_NONCE_RECORD_BYTES])
{
    billord_nonce_digest(nonce, strlen(nonce), out);
    for (unsigned i = 0; i < 8; i++) {
        out[BILLORD_NONCE_DIGEST_BYTES + i] = (uint8_t)((uint64_t)expiry_ms >> (8 * i));
    }
}

Test(cov_server_parts, reopening_keeps_unexpired_nonces_and_ignores_a_torn_record)
{
    opened first = store_open_ok(16, 1000);
    cr_expect(not(first.boot_changed), "a fresh directory has lost nothing");
    cr_expect(eq(u32, first.reloaded, 0));
    cr_expect(eq(int, check(first.store, "long-lived", 5000, 1000), BILLORD_NONCE_ACCEPTED));
    cr_expect(eq(int, check(first.store, "long-lived", 5000, 1000), BILLORD_NONCE_REPLAYED));
    cr_expect(eq(int, check(first.store, "short-lived", 2000, 1000), BILLORD_NONCE_ACCEPTED));
    billord__nonce_store_close(first.store);
    cr_expect(eq(i64, file_size(SERVER_NONCE_LOG_NAME), 2 * SERVER_NONCE_RECORD_BYTES));
    /* A write cut short by a crash: part of a record. */
    static const uint8_t torn[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    append_bytes(SERVER_NONCE_LOG_NAME, torn, sizeof torn);

    opened second = store_open_ok(16, 3000);
    cr_expect(not(second.boot_changed), "same machine, same boot");
    cr_expect(eq(u32, second.reloaded, 1), "only the unexpired nonce");
    cr_expect(eq(i64, file_size(SERVER_NONCE_LOG_NAME), SERVER_NONCE_RECORD_BYTES),
              "the log was rewritten with what was reloaded");
    cr_expect(eq(int, check(second.store, "long-lived", 5000, 3000), BILLORD_NONCE_REPLAYED));
    cr_expect(eq(int, check(second.store, "short-lived", 4000, 3000), BILLORD_NONCE_ACCEPTED));
    billord__nonce_store_close(second.store);
    billord__nonce_store_close(NULL);
}

Test(cov_server_parts, a_log_longer_than_one_read_is_reloaded_whole)
{
    /* 5000 records written as the format documents them: more than one 4096-record read. */
    const uint32_t count = 5000;
    uint8_t *bytes = malloc((size_t)count * SERVER_NONCE_RECORD_BYTES);
    for (uint32_t i = 0; i < count; i++) {
        char nonce[32];
        snprintf(nonce, sizeof nonce, "nonce-%u", i);
        record_of(nonce, 1000000 + i, bytes + (size_t)i * SERVER_NONCE_RECORD_BYTES);
    }
    append_bytes(SERVER_NONCE_LOG_NAME, bytes, (size_t)count * SERVER_NONCE_RECORD_BYTES);
    free(bytes);

    /* A record written twice (a compaction interrupted before its rename) counts once. */
    uint8_t again[SERVER_NONCE_RECORD_BYTES];
    record_of("nonce-7", 1000007, again);
    append_bytes(SERVER_NONCE_LOG_NAME, again, sizeof again);

    opened reopened = store_open_ok(8192, 1000);
    cr_expect(eq(u32, reopened.reloaded, count));
    cr_expect(reopened.boot_changed, "a log without a boot id: nonces may have been lost");
    cr_expect(eq(int, check(reopened.store, "nonce-0", 2000000, 1000), BILLORD_NONCE_REPLAYED));
    cr_expect(eq(int, check(reopened.store, "nonce-4999", 2000000, 1000),
                 BILLORD_NONCE_REPLAYED));
    cr_expect(eq(int, check(reopened.store, "nonce-5000", 2000000, 1000),
                 BILLORD_NONCE_ACCEPTED));
    billord__nonce_store_close(reopened.store);
}

Test(cov_server_parts, the_boot_id_says_when_nonces_may_have_been_lost)
{
    opened first = store_open_ok(4, 1000);
    cr_expect(not(first.boot_changed));
    billord__nonce_store_close(first.store);
    char boot_id[TEMPDIR_PATH_BYTES];
    path_in_dir(boot_id, SERVER_BOOT_ID_NAME);

    /* Another boot id: the machine rebooted. The machine's is stored again. */
    FILE *file = fopen(boot_id, "w");
    cr_assert(file != NULL);
    fputs("00000000-0000-0000-0000-000000000000\n", file);
    fclose(file);
    opened rebooted = store_open_ok(4, 1000);
    cr_expect(rebooted.boot_changed);
    billord__nonce_store_close(rebooted.store);
    opened again = store_open_ok(4, 1000);
    cr_expect(not(again.boot_changed), "the machine's boot id was stored");
    billord__nonce_store_close(again.store);

    /* An empty boot id file next to an existing log counts as missing. */
    file = fopen(boot_id, "w");
    cr_assert(file != NULL);
    fclose(file);
    opened emptied = store_open_ok(4, 1000);
    cr_expect(emptied.boot_changed);
    billord__nonce_store_close(emptied.store);

    /* The machine's own id with trailing blanks and newlines is the same boot. */
    char machine[SERVER_BOOT_ID_BYTES_MAX + 1] = "";
    FILE *source = fopen(SERVER_BOOT_ID_PATH, "r");
    if (source == NULL || fgets(machine, sizeof machine, source) == NULL) {
        if (source != NULL) {
            fclose(source);
        }
        cr_skip_test("no %s", SERVER_BOOT_ID_PATH);
    }
    fclose(source);
    machine[strcspn(machine, "\n")] = '\0';
    file = fopen(boot_id, "w");
    cr_assert(file != NULL);
    fprintf(file, "%s  \n\n", machine);
    fclose(file);
    opened padded = store_open_ok(4, 1000);
    cr_expect(not(padded.boot_changed));
    billord__nonce_store_close(padded.store);
}

Test(cov_server_parts, a_full_memory_refuses_new_nonces_until_old_ones_expire)
{
    opened result = store_open_ok(2, 1000);
    static const nonce_step steps[] = {
        {"a", 5000, 1000, BILLORD_NONCE_ACCEPTED, -1},
        {"b", 5000, 1000, BILLORD_NONCE_ACCEPTED, -1},
        {"c", 5000, 1000, BILLORD_NONCE_FULL, -1},
        {"c", 9000, 6000, BILLORD_NONCE_ACCEPTED, -1},
    };
    expect_steps(result.store, steps, STEP_COUNT(steps));
    billord__nonce_store_close(result.store);
}

Test(cov_server_parts, the_log_is_compacted_at_twice_the_capacity)
{
    opened result = store_open_ok(2, 1000);
    expect_steps(result.store, three_accepted, STEP_COUNT(three_accepted));
    static const nonce_step steps[] = {
        /* The fourth record: the log holds twice the capacity and is rewritten with the two
         * nonces still remembered. */
        {"d", 5000, 1200, BILLORD_NONCE_ACCEPTED, 2},
        /* Appending goes on in the compacted file. */
        {"e", 9000, 5100, BILLORD_NONCE_ACCEPTED, 3},
    };
    expect_steps(result.store, steps, STEP_COUNT(steps));
    billord__nonce_store_close(result.store);
    opened reopened = store_open_ok(2, 5100);
    cr_expect(eq(u32, reopened.reloaded, 1), "c and d expired at 5000; e remains");
    cr_expect(eq(int, check(reopened.store, "e", 9000, 5100), BILLORD_NONCE_REPLAYED));
    billord__nonce_store_close(reopened.store);
}

Test(cov_server_parts, a_compaction_that_fails_makes_the_store_refuse)
{
    opened result = store_open_ok(2, 1000);
    expect_steps(result.store, three_accepted, STEP_COUNT(three_accepted));
    /* nonces.log becomes a directory that rename() cannot replace. */
    char log_path[TEMPDIR_PATH_BYTES];
    char moved[TEMPDIR_PATH_BYTES];
    char child[TEMPDIR_PATH_BYTES];
    path_in_dir(log_path, SERVER_NONCE_LOG_NAME);
    path_in_dir(moved, "nonces.old");
    cr_assert(rename(log_path, moved) == 0);
    cr_assert(mkdir(log_path, 0755) == 0);
    tempdir_join(child, log_path, "keep");
    int fd = open(child, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0);
    close(fd);
    /* d is appended (to the open file) and then the compaction fails. */
    cr_expect(eq(int, check(result.store, "d", 5000, 1200), BILLORD_NONCE_ACCEPTED));
    cr_expect(eq(int, check(result.store, "e", 5000, 1200), BILLORD_NONCE_FULL),
              "after a failed compaction no nonce is accepted");
    cr_expect(eq(int, check(result.store, "a", 9000, 6000), BILLORD_NONCE_FULL));
    billord__nonce_store_close(result.store);
}

/* Run with files capped at their current size (writes past it fail with EFBIG). */
static struct rlimit cap_file_size(rlim_t bytes)
{
    struct rlimit saved;
    cr_assert(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit capped = {.rlim_cur = bytes, .rlim_max = saved.rlim_max};
    cr_assert(setrlimit(RLIMIT_FSIZE, &capped) == 0);
    return saved;
}

Test(cov_server_parts, a_nonce_that_cannot_be_recorded_is_refused_and_so_is_every_later_one)
{
    opened result = store_open_ok(16, 1000);
    cr_expect(eq(int, check(result.store, "a", 5000, 1000), BILLORD_NONCE_ACCEPTED));
    struct rlimit saved = cap_file_size((rlim_t)file_size(SERVER_NONCE_LOG_NAME));
    billord_nonce_result refused = check(result.store, "b", 5000, 1000);
    cr_assert(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    cr_expect(eq(int, refused, BILLORD_NONCE_FULL));
    cr_expect(eq(int, check(result.store, "c", 5000, 1000), BILLORD_NONCE_FULL),
              "the log can be written again, but the store stays refusing");
    cr_expect(eq(int, check(result.store, "a", 5000, 1000), BILLORD_NONCE_FULL));
    billord__nonce_store_close(result.store);
    /* Only a was recorded. */
    opened reopened = store_open_ok(16, 1000);
    cr_expect(eq(u32, reopened.reloaded, 1));
    billord__nonce_store_close(reopened.store);
}

Test(cov_server_parts, open_fails_when_the_log_cannot_be_rewritten)
{
    opened first = store_open_ok(16, 1000);
    cr_expect(eq(int, check(first.store, "a", 5000, 1000), BILLORD_NONCE_ACCEPTED));
    billord__nonce_store_close(first.store);
    opened second = store_open_ok(16, 1000);
    cr_expect(eq(int, check(second.store, "b", 5000, 1000), BILLORD_NONCE_ACCEPTED));
    billord__nonce_store_close(second.store);
    /* The rewrite goes through a new file: it may not grow past one of the two records. */
    struct rlimit saved = cap_file_size(SERVER_NONCE_RECORD_BYTES);
    opened capped;
    billord_err err = store_open(16, 1000, &capped);
    cr_assert(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    cr_expect(eq(int, err, BILLORD_E_IO));
    cr_expect(strstr(capped.error_text, SERVER_NONCE_LOG_NAME) != NULL, "%s", capped.error_text);

    /* The temporary file's name is taken by a directory (the failed rewrite left its
     * temporary file behind: the next open truncates it). */
    char tmp[TEMPDIR_PATH_BYTES];
    path_in_dir(tmp, SERVER_NONCE_LOG_NAME ".tmp");
    (void)unlink(tmp);
    cr_assert(mkdir(tmp, 0755) == 0);
    opened blocked;
    cr_expect(eq(int, store_open(16, 1000, &blocked), BILLORD_E_IO));
    cr_expect(strstr(blocked.error_text, SERVER_NONCE_LOG_NAME) != NULL, "%s",
              blocked.error_text);
    cr_assert(rmdir(tmp) == 0);
    /* Nothing was lost by the failed opens. */
    opened reopened = store_open_ok(16, 1000);
    cr_expect(eq(u32, reopened.reloaded, 2));
    billord__nonce_store_close(reopened.store);
}

Test(cov_server_parts, open_refuses_a_capacity_of_zero)
{
    opened result;
    cr_expect(eq(int, store_open(0, 1000, &result), BILLORD_E_INVALID_ARGUMENT));
}

/* ---- the gateway's caller ---------------------------------------------------------------- */

/* The front of a gateway request carrying caller as x-acs-caller-uid. */
static void gateway_front(const char *caller, size_t caller_bytes, server_front_result *out)
{
    server_front_config config = {
        .auth = BILLORD_SERVER_AUTH_GATEWAY,
        .action_known = billord__server_exec_action_known,
    };
    billord_http_header headers[] = {
        {"host", 4, "x", 1},
        {"x-acs-caller-uid", 16, caller, caller_bytes},
    };
    static const char query[] = "Action=DescribeOrders";
    server_front_request request = {
        .method = "GET",
        .query = query,
        .query_bytes = sizeof query - 1,
        .headers = headers,
        .header_count = 2,
        .now_ms = 1795305600000LL,
    };
    char *arena = malloc(SERVER_FRONT_ARENA_BYTES);
    cr_assert(arena != NULL);
    billord__server_front_process(&config, &request, arena, SERVER_FRONT_ARENA_BYTES, out);
    free(arena);                        /* out's parameters are not read after this */
}

Test(cov_server_parts, the_gateways_caller_must_be_utf8)
{
    static const struct {
        const char *bytes;
        bool valid;
    } callers[] = {
        {"1234567890123456", true},
        {"\xc3\xa9", true},                  /* U+00E9, two bytes */
        {"\xe4\xb8\xad", true},              /* U+4E2D, three bytes */
        {"\xf0\x9f\x98\x80", true},          /* U+1F600, four bytes */
        {"\xf4\x8f\xbf\xbf", true},          /* U+10FFFF, the last */
        {"\x80", false},                     /* a continuation byte first */
        {"\xc0\xaf", false},                 /* an overlong two-byte lead */
        {"\xc3", false},                     /* cut short */
        {"\xc3(", false},                    /* not a continuation */
        {"\xe0\x80\xaf", false},             /* overlong three bytes */
        {"\xed\xa0\x80", false},             /* a surrogate, U+D800 */
        {"\xf0\x80\x80\xaf", false},         /* overlong four bytes */
        {"\xf4\x90\x80\x80", false},         /* past U+10FFFF */
        {"\xf5\x80\x80\x80", false},         /* no such lead */
        {"ok\xff", false},
    };
    for (size_t i = 0; i < sizeof callers / sizeof callers[0]; i++) {
        server_front_result *out = malloc(sizeof *out);
        cr_assert(out != NULL);
        gateway_front(callers[i].bytes, strlen(callers[i].bytes), out);
        if (callers[i].valid) {
            cr_expect(eq(int, out->code, BILLORD_API_OK), "caller %zu: %s", i, out->message);
            cr_expect(eq(str, out->account, (char *)callers[i].bytes), "caller %zu", i);
            cr_expect(eq(str, out->action, "DescribeOrders"));
        } else {
            cr_expect(eq(int, out->code, BILLORD_API_INCOMPLETE_SIGNATURE), "caller %zu", i);
            cr_expect(eq(str, out->account, ""), "caller %zu", i);
            cr_expect(strstr(out->message, "x-acs-caller-uid") != NULL, "%s", out->message);
        }
        free(out);
    }
}

/* ---- request log ------------------------------------------------------------------------ */

/* Open the request log name of the test's directory (its path in path): what open says. */
static billord_err request_log_open(const char *name, char path[TEMPDIR_PATH_BYTES],
                                    server_request_log **out_log)
{
    path_in_dir(path, name);
    *out_log = NULL;
    return billord__request_log_open(path, out_log);
}

Test(cov_server_parts, request_log_lines_hold_a_body_that_is_not_json_as_a_string)
{
    char path[TEMPDIR_PATH_BYTES];
    server_request_log *log = NULL;
    cr_assert(eq(int, request_log_open("requests.ndjson", path, &log), BILLORD_OK));
    server_kv params[] = {{"Action", "DescribeOrders"}, {"PageSize", "10"}};
    static const char body[] = "<Error>not json</Error>";
    server_request_log_entry entry = {
        .ts_ms = 1795305600000LL,
        .account = "1234567890123456",
        .action = "DescribeOrders",
        .params = params,
        .param_count = 2,
        .status = 500,
        .body_json = body,
        .body_json_bytes = sizeof body - 1,
        .request_id = "00000000-0000-4000-8000-000000000001",
    };
    cr_expect(eq(int, billord__request_log_write(log, &entry), BILLORD_OK));
    static const char json_body[] = "{\"Code\":\"InternalError\"}";
    entry.body_json = json_body;
    entry.body_json_bytes = sizeof json_body - 1;
    entry.param_count = 0;
    cr_expect(eq(int, billord__request_log_write(log, &entry), BILLORD_OK));
    billord__request_log_close(log);
    billord__request_log_close(NULL);
    size_t bytes = 0;
    char *text = tempdir_read_file(path, &bytes);
    cr_assert(text != NULL);
    cr_expect(eq(str, text,
                 "{\"ts_ms\":1795305600000,\"account\":\"1234567890123456\","
                 "\"action\":\"DescribeOrders\",\"params\":{\"Action\":\"DescribeOrders\","
                 "\"PageSize\":\"10\"},\"response\":{\"status\":500,"
                 "\"body\":\"<Error>not json</Error>\"},"
                 "\"request_id\":\"00000000-0000-4000-8000-000000000001\"}\n"
                 "{\"ts_ms\":1795305600000,\"account\":\"1234567890123456\","
                 "\"action\":\"DescribeOrders\",\"params\":{},\"response\":{\"status\":500,"
                 "\"body\":{\"Code\":\"InternalError\"}},"
                 "\"request_id\":\"00000000-0000-4000-8000-000000000001\"}\n"));
    free(text);
}

Test(cov_server_parts, a_request_log_that_cannot_be_opened_or_written_says_io)
{
    char path[TEMPDIR_PATH_BYTES];
    server_request_log *log = NULL;
    cr_expect(eq(int, request_log_open("missing/requests.ndjson", path, &log), BILLORD_E_IO));
    if (access("/dev/full", W_OK) != 0) {
        cr_skip_test("no /dev/full");
    }
    cr_assert(eq(int, billord__request_log_open("/dev/full", &log), BILLORD_OK));
    server_request_log_entry entry = {
        .account = "", .action = "", .status = 404, .body_json = "{}", .body_json_bytes = 2,
        .request_id = "00000000-0000-4000-8000-000000000002",
    };
    cr_expect(eq(int, billord__request_log_write(log, &entry), BILLORD_E_IO));
    billord__request_log_close(log);
}

/* ---- watchdog --------------------------------------------------------------------------- */

/* True when the peer of fd was shut down within timeout_ms (reads EOF). */
static bool peer_closed(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0) {
        return false;
    }
    char byte;
    return recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}

typedef struct pair {
    int watched;
    int peer;
} pair;

static pair socket_pair(void)
{
    int fds[2];
    cr_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    return (pair){fds[0], fds[1]};
}

static void pair_close(pair p)
{
    close(p.watched);
    close(p.peer);
}

Test(cov_server_parts, the_watchdog_cuts_only_connections_past_their_read_deadline)
{
    server_watchdog *watchdog = NULL;
    cr_assert(eq(int, billord__watchdog_start(150, &watchdog), BILLORD_OK));
    pair waiting = socket_pair();
    pair served = socket_pair();
    server_watch *waiting_watch = billord__watchdog_add(watchdog, waiting.watched);
    server_watch *served_watch = billord__watchdog_add(watchdog, served.watched);
    cr_assert(waiting_watch != NULL && served_watch != NULL);
    /* served's request arrived: no deadline while it is answered. */
    billord__watchdog_received(watchdog, served_watch);
    cr_expect(peer_closed(waiting.peer, 2000), "the waiting connection is cut");
    cr_expect(not(peer_closed(served.peer, 400)), "the one being served is not");
    cr_expect(eq(u64, billord__watchdog_cut_count(watchdog), 1));
    /* served waits for its next request: the deadline runs again. */
    billord__watchdog_await(watchdog, served_watch);
    cr_expect(peer_closed(served.peer, 2000));
    cr_expect(eq(u64, billord__watchdog_cut_count(watchdog), 2));
    billord__watchdog_remove(watchdog, served_watch);
    billord__watchdog_remove(watchdog, waiting_watch);
    billord__watchdog_stop(watchdog);
    pair_close(waiting);
    pair_close(served);
}

Test(cov_server_parts, watches_leave_the_list_from_any_place)
{
    server_watchdog *watchdog = NULL;
    cr_assert(eq(int, billord__watchdog_start(200, &watchdog), BILLORD_OK));
    pair pairs[4];
    server_watch *watches[4];
    for (int i = 0; i < 4; i++) {
        pairs[i] = socket_pair();
        watches[i] = billord__watchdog_add(watchdog, pairs[i].watched);
        cr_assert(watches[i] != NULL);
    }
    /* The list is newest first: remove from the middle, the head and the tail. */
    billord__watchdog_remove(watchdog, watches[1]);
    billord__watchdog_remove(watchdog, watches[3]);
    billord__watchdog_remove(watchdog, watches[0]);
    /* Only the one left is cut; the removed ones are never touched again. */
    cr_expect(peer_closed(pairs[2].peer, 2000));
    cr_expect(not(peer_closed(pairs[0].peer, 300)));
    cr_expect(not(peer_closed(pairs[1].peer, 0)));
    cr_expect(not(peer_closed(pairs[3].peer, 0)));
    cr_expect(eq(u64, billord__watchdog_cut_count(watchdog), 1));
    billord__watchdog_remove(watchdog, watches[2]);
    /* A connection the watchdog could not take (NULL) is a no-op everywhere. */
    billord__watchdog_received(watchdog, NULL);
    billord__watchdog_await(watchdog, NULL);
    billord__watchdog_remove(watchdog, NULL);
    billord__watchdog_stop(watchdog);
    billord__watchdog_stop(NULL);
    for (int i = 0; i < 4; i++) {
        pair_close(pairs[i]);
    }
}

/* ---- the lifecycle scheduler ------------------------------------------------------------ */

#define DEMO_CLOCK_MS 1795305600000LL   /* fixtures/demo.json "clock" */
#define DAY_MS (24LL * 3600 * 1000)

static int64_t engine_clock(billord_db *db)
{
    int64_t clock_ms = 0;
    cr_assert(eq(int, billord_engine_clock_ms(billord_db_engine(db), &clock_ms), BILLORD_OK));
    return clock_ms;
}

static size_t event_count(billord_db *db)
{
    json_t *events = NULL;
    cr_assert(eq(int, billord_engine_events(billord_db_engine(db), 0, 1000, &events),
                 BILLORD_OK));
    size_t count = json_array_size(events);
    json_decref(events);
    return count;
}

Test(cov_server_parts, ticks_bring_the_lifecycle_up_to_the_given_time)
{
    db_harness_seed(server_scratch_dir, "fixtures/demo.json");
    billord_db_recovery info;
    billord_db *db = db_harness_open(server_scratch_dir, NULL, NULL, &info, NULL);
    size_t before = event_count(db);
    /* Half a year on: reminders, expiries, releases and monthly auto-renewals of the
     * fixture's instances. Kept under BILLORD_LIFECYCLE_STEPS_MAX steps of any one instance:
     * a tick stops an instance there without reporting the rest as due. */
    int64_t later = DEMO_CLOCK_MS + 180 * DAY_MS;
    cr_expect(eq(int, billord__scheduler_tick_until_done(db, later), BILLORD_API_OK));
    cr_expect(eq(i64, engine_clock(db), later));
    size_t after = event_count(db);
    cr_expect(after > before + 10, "lifecycle events: %zu -> %zu", before, after);
    /* Nothing is due any more at the same time: one more round changes nothing. */
    cr_expect(eq(int, billord__scheduler_tick_until_done(db, later), BILLORD_API_OK));
    cr_expect(eq(sz, event_count(db), after));
    billord_db_close(db);
}

static int64_t a_week_after_the_fixture(void *clock_ctx)
{
    (void)clock_ctx;
    return DEMO_CLOCK_MS + 7 * DAY_MS;
}

Test(cov_server_parts, the_scheduler_thread_ticks_on_its_clock_until_stopped)
{
    db_harness_seed(server_scratch_dir, "fixtures/demo.json");
    billord_db_recovery info;
    billord_db *db = db_harness_open(server_scratch_dir, NULL, NULL, &info, NULL);
    billord_clock clock = {a_week_after_the_fixture, NULL};
    server_scheduler *scheduler = NULL;
    cr_assert(eq(int, billord__scheduler_start(db, &clock, &scheduler), BILLORD_OK));
    int64_t deadline_ms = billord__server_monotonic_ms() + 5000;
    while (engine_clock(db) != DEMO_CLOCK_MS + 7 * DAY_MS &&
           billord__server_monotonic_ms() < deadline_ms) {
        usleep(10 * 1000);
    }
    cr_expect(eq(i64, engine_clock(db), DEMO_CLOCK_MS + 7 * DAY_MS), "the first tick is at once");
    billord__scheduler_stop(scheduler);
    billord__scheduler_stop(NULL);
    billord_db_close(db);
}

/* ---- messages and the operator log ------------------------------------------------------ */

Test(cov_server_parts, messages_are_completed_from_their_templates)
{
    char out[BILLORD_MESSAGE_BYTES_MAX];
    billord__server_message(BILLORD_API_REQUEST_TOO_LARGE, "body over 65536 bytes", out,
                            sizeof out);
    cr_expect(eq(str, out, "The request exceeds a size limit: body over 65536 bytes."));
    billord__server_message(BILLORD_API_REQUEST_TOO_LARGE, NULL, out, sizeof out);
    cr_expect(eq(str, out, "The request exceeds a size limit: ."));
    billord__server_message(BILLORD_API_SERVICE_UNAVAILABLE, "ignored", out, sizeof out);
    cr_expect(eq(str, out, "The request has failed due to a temporary failure of the server."));
    char small[12];
    billord__server_message(BILLORD_API_REQUEST_TOO_LARGE, "detail", small, sizeof small);
    cr_expect(eq(str, small, "The request"), "truncated to fit");
}

typedef struct lines {
    int count;
    char last[256];
} lines;

static void keep_line(void *log_ctx, const char *line)
{
    lines *kept = log_ctx;
    kept->count++;
    snprintf(kept->last, sizeof kept->last, "%s", line);
}

Test(cov_server_parts, the_operator_log_filters_by_level_and_forwards_lines)
{
    lines kept = {0};
    server_logger logger;
    billord__server_logger_init(&logger, BILLORD_SERVER_LOG_INFO, keep_line, &kept);
    billord__server_log(&logger, BILLORD_SERVER_LOG_DEBUG, "hidden %d", 1);
    cr_expect(eq(int, kept.count, 0));
    billord__server_log(&logger, BILLORD_SERVER_LOG_INFO, "shown %d", 2);
    cr_expect(eq(int, kept.count, 1));
    cr_expect(eq(str, kept.last, "shown 2"));
    billord__server_log(&logger, BILLORD_SERVER_LOG_ERROR, "error %s", "x");
    cr_expect(eq(str, kept.last, "error x"));
    /* A line from elsewhere (the db) is passed on as it is, whatever the level. */
    billord__server_log_forward(&logger, "db: 100% done");
    cr_expect(eq(int, kept.count, 3));
    cr_expect(eq(str, kept.last, "db: 100% done"));
    billord__server_logger_destroy(&logger);
}

Test(cov_server_parts, random_bytes_fill_the_buffer)
{
    uint8_t first[16] = {0};
    uint8_t second[16] = {0};
    cr_expect(billord__server_random(first, sizeof first));
    cr_expect(billord__server_random(second, sizeof second));
    cr_expect(memcmp(first, second, sizeof first) != 0);
    int64_t before = billord__server_monotonic_ms();
    usleep(20 * 1000);
    cr_expect(billord__server_monotonic_ms() - before >= 20);
}
