/*
 * test_cov_server_faults.c: `billord serve` when the system refuses what the server asks
 * of it at start or per request. This executable defines pthread_create() and getrandom(),
 * which forward to the C library unless a test arms a failure:
 *   - a thread that cannot be created (the watchdog, the data directory's threads, the
 *     lifecycle scheduler, the daemon's): start fails with an error text and leaves nothing
 *     behind, and the same directory starts afterwards;
 *   - getrandom() that fails outright or is interrupted: request ids stay well-formed and
 *     distinct, and the scheduler keeps ticking.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

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

/* ---- the interposed calls --------------------------------------------------------------- */

static atomic_uint_fast64_t create_calls;
static atomic_uint_fast64_t create_fail_at;     /* 0: never */

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                                 void *);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                   void *arg)
{
    static pthread_create_fn real;
    if (real == NULL) {
        real = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    }
    uint_fast64_t call = atomic_fetch_add(&create_calls, 1) + 1;
    if (call == atomic_load(&create_fail_at)) {
        return EAGAIN;
    }
    return real(thread, attr, start, arg);
}

typedef enum random_mode {
    RANDOM_PASS = 0,
    RANDOM_FAIL,            /* every call: -1, ENOSYS */
    RANDOM_INTERRUPT,       /* every other call: -1, EINTR */
} random_mode;

static atomic_int random_fault = RANDOM_PASS;
static atomic_uint_fast64_t random_calls;

typedef ssize_t (*getrandom_fn)(void *, size_t, unsigned int);

ssize_t getrandom(void *buffer, size_t length, unsigned int flags)
{
    static getrandom_fn real;
    if (real == NULL) {
        real = (getrandom_fn)dlsym(RTLD_NEXT, "getrandom");
    }
    uint_fast64_t call = atomic_fetch_add(&random_calls, 1) + 1;
    random_mode mode = (random_mode)atomic_load(&random_fault);
    if (mode == RANDOM_FAIL) {
        errno = ENOSYS;
        return -1;
    }
    if (mode == RANDOM_INTERRUPT && call % 2 == 1) {
        errno = EINTR;
        return -1;
    }
    return real(buffer, length, flags);
}

static void disarm(void)
{
    atomic_store(&create_fail_at, 0);
    atomic_store(&random_fault, RANDOM_PASS);
}

TestSuite(cov_server_faults, .fini = disarm, .timeout = 120);

/* ---- a server ----------------------------------------------------------------------------- */

/* A server of server_fixture.h without a request log. */
static void server_prepare(test_server *t, billord_server_auth auth, billord_server_clock clock)
{
    server_init(t, auth, clock);
    t->config.request_log_path = NULL;
}

/* A gateway DescribeOrders; returns the status and copies RequestId. */
static int ask(test_server *t, char *request_id, size_t request_id_bytes)
{
    size_t raw_bytes = 0;
    char *raw =
        http_plain_request(SERVER_CALLER_MAIN, &raw_bytes, "Action", "DescribeOrders", NULL);
    http_response response;
    bool answered = http_roundtrip(t->port, raw, raw_bytes, &response);
    free(raw);
    cr_assert(answered);
    json_t *body = json_loads(response.body, 0, NULL);
    const char *id = json_string_value(json_object_get(body, "RequestId"));
    snprintf(request_id, request_id_bytes, "%s", id != NULL ? id : "");
    json_decref(body);
    int status = response.status;
    http_response_free(&response);
    return status;
}

/* 8-4-4-4-12 uppercase hex digits. */
static bool well_formed_id(const char *id)
{
    if (strlen(id) != 36) {
        return false;
    }
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F');
        if (dash ? id[i] != '-' : !hex) {
            return false;
        }
    }
    return true;
}

/* ---- threads ---------------------------------------------------------------------------- */

static void each_thread_of_start_may_fail(billord_server_auth auth, billord_server_clock clock)
{
    test_server t;
    server_prepare(&t, auth, clock);
    /* How many threads a start creates. */
    atomic_store(&create_calls, 0);
    server_start(&t);
    uint_fast64_t threads = atomic_load(&create_calls);
    server_stop(&t);
    cr_assert(threads >= 2, "at least the watchdog and the daemon (%u)", (unsigned)threads);

    for (uint_fast64_t k = 1; k <= threads; k++) {
        atomic_store(&create_calls, 0);
        atomic_store(&create_fail_at, k);
        char error_text[1024] = "unset";
        billord_err err = server_try_start(&t, error_text, sizeof error_text);
        atomic_store(&create_fail_at, 0);
        cr_expect(err != BILLORD_OK, "thread %u of %u refused", (unsigned)k, (unsigned)threads);
        if (err == BILLORD_OK) {
            server_stop(&t);
            continue;
        }
        cr_expect(error_text[0] != '\0' && strcmp(error_text, "unset") != 0,
                  "thread %u: an error text", (unsigned)k);
        /* Nothing was left holding the directory: it starts and serves. */
        server_start(&t);
        char request_id[64];
        cr_expect(eq(int, ask(&t, request_id, sizeof request_id), 200));
        server_stop(&t);
    }
    server_down(&t);
}

Test(cov_server_faults, start_fails_cleanly_when_any_thread_cannot_be_created)
{
    each_thread_of_start_may_fail(BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
}

/* ---- random bytes ----------------------------------------------------------------------- */

Test(cov_server_faults, without_random_bytes_request_ids_stay_distinct)
{
    test_server t;
    server_prepare(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_SYSTEM);
    atomic_store(&random_fault, RANDOM_FAIL);
    atomic_store(&random_calls, 0);
    server_start(&t);
    char first[64];
    char second[64];
    cr_expect(eq(int, ask(&t, first, sizeof first), 200));
    cr_expect(eq(int, ask(&t, second, sizeof second), 200));
    cr_expect(well_formed_id(first), "%s", first);
    cr_expect(well_formed_id(second), "%s", second);
    cr_expect(strcmp(first, second) != 0, "%s twice", first);
    /* The scheduler ticked at start without random bytes too, and the server still serves a
     * write. */
    usleep(100 * 1000);
    size_t raw_bytes = 0;
    char *raw = http_plain_request(SERVER_CALLER_MAIN, &raw_bytes, "Action", "RenewInstance",
                                   "InstanceId", "i-acc0001", "Period", "1", "ClientToken",
                                   "tok-no-random", NULL);
    http_response response;
    cr_assert(http_roundtrip(t.port, raw, raw_bytes, &response));
    free(raw);
    cr_expect(eq(int, response.status, 200), "body %s", response.body);
    http_response_free(&response);
    cr_expect(atomic_load(&random_calls) > 2);
    server_stop(&t);
    atomic_store(&random_fault, RANDOM_PASS);
    server_down(&t);
}

Test(cov_server_faults, an_interrupted_getrandom_is_retried)
{
    test_server t;
    server_prepare(&t, BILLORD_SERVER_AUTH_GATEWAY, BILLORD_SERVER_CLOCK_MANUAL);
    server_start(&t);
    atomic_store(&random_calls, 0);
    atomic_store(&random_fault, RANDOM_INTERRUPT);
    char first[64];
    char second[64];
    cr_expect(eq(int, ask(&t, first, sizeof first), 200));
    cr_expect(eq(int, ask(&t, second, sizeof second), 200));
    atomic_store(&random_fault, RANDOM_PASS);
    cr_expect(well_formed_id(first), "%s", first);
    cr_expect(well_formed_id(second), "%s", second);
    cr_expect(strcmp(first, second) != 0);
    cr_expect(atomic_load(&random_calls) >= 4, "each id: one interrupted call, one retry");
    server_stop(&t);
    server_down(&t);
}
