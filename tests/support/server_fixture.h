/*
 * server_fixture.h: `billord serve` for the server tests (tests only).
 *
 * A test_server is a server started in-process on a free loopback port, on a throw-away
 * directory (dir/data, seeded from fixtures/demo.json), with a request log (dir/
 * requests.ndjson) and its operator output captured. Requests are raw HTTP/1.1 (built by
 * http_client.h); the checks read an answer's status, Code and headers, and the shape of
 * an error answer in either format.
 */
#ifndef BILLORD_TESTS_SERVER_FIXTURE_H
#define BILLORD_TESTS_SERVER_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <billord/server.h>

#include "support/http_client.h"
#include "support/tempdir.h"

/* The demo fixture's main account, and the gateway header naming it as the caller. */
#define SERVER_ACCOUNT_MAIN "1234567890123456"
#define SERVER_CALLER_MAIN "x-acs-caller-uid: " SERVER_ACCOUNT_MAIN "\r\n"
#define SERVER_DEMO_CLOCK_MS 1795305600000LL    /* fixtures/demo.json "clock" */

/* Operator output, one line after another (serialised: the server logs from any thread). */
typedef struct server_log_capture {
    pthread_mutex_t mutex;
    char *text;
    size_t used;
    size_t capacity;
} server_log_capture;

typedef struct test_server {
    char dir[TEMPDIR_PATH_BYTES];       /* removed by server_down(), with everything in it */
    char data[TEMPDIR_PATH_BYTES];      /* dir/data, the data directory */
    char fixture[TEMPDIR_PATH_BYTES];   /* fixtures/demo.json */
    char request_log[TEMPDIR_PATH_BYTES];
    billord_server_config config;
    billord_server *server;
    uint16_t port;
    server_log_capture log;
} test_server;

/* ---- the server's parts on their own ---------------------------------------------------- */

/* A throw-away directory per test, for the tests of the server's parts (the nonce store,
 * the request log, the scheduler): made by server_scratch_make() (a suite's .init),
 * removed with everything in it by server_scratch_remove() (its .fini). */
extern char server_scratch_dir[TEMPDIR_PATH_BYTES];
void server_scratch_make(void);
void server_scratch_remove(void);

/* ---- lifecycle ------------------------------------------------------------------------ */

/** Make the directory and fill the configuration (request log on, operator output
 *  captured, a 5 s read deadline) without starting. */
void server_init(test_server *t, billord_server_auth auth, billord_server_clock clock);
/** billord_server_start() of t's configuration; on BILLORD_OK, t->port is set. */
billord_err server_try_start(test_server *t, char *error_text, size_t error_text_bytes);
/** Start; the test fails unless it starts. */
void server_start(test_server *t);
/** server_init() and server_start(). */
void server_up(test_server *t, billord_server_auth auth, billord_server_clock clock);
/** Stop (t->server becomes NULL); the directory stays. */
void server_stop(test_server *t);
/** Stop and start again on the same directory. */
void server_restart(test_server *t);
/** Stop (when running), remove the directory, free the captured output. */
void server_down(test_server *t);
/** Start must fail with err and an error text holding needle; nothing is left running. */
void server_expect_start_fails(test_server *t, billord_err err, const char *needle);

/** Begin billord_server_stop() on another thread (it drains requests in flight). */
void server_stop_begin(test_server *t, pthread_t *out_thread);
/** Wait for that stop to end; t->server becomes NULL. */
void server_stop_end(test_server *t, pthread_t thread);

/** Whether the captured operator output holds needle. */
bool server_log_contains(test_server *t, const char *needle);
/** The captured operator output ("" when none), for messages. */
const char *server_log_text(test_server *t);

/* ---- requests ------------------------------------------------------------------------- */

/** Send raw (a string, not freed) on a new connection and read one answer. */
void server_roundtrip(const test_server *t, const char *raw, http_response *response);
/** The same for a malloc'd request of the http_client builders (freed here). */
void server_roundtrip_built(const test_server *t, char *raw, size_t raw_bytes,
                            http_response *response);
/** A raw request's answer has this status and Code ("" for none, a success). */
void server_expect_raw(const test_server *t, const char *raw, int status, const char *code);
/** The same for a built request (freed here). */
void server_expect_built(const test_server *t, char *raw, size_t raw_bytes, int status,
                         const char *code);

/** Send on fd (after a head with "Transfer-Encoding: chunked") count chunks of chunk_bytes
 *  bytes, pause_us apart, then the last chunk that ends the body. */
void server_send_chunks(int fd, size_t chunk_bytes, unsigned count, unsigned pause_us);

/** The line of t's request log holding needle, parsed (read as it is: stop the server first
 *  for every line to be written); the test fails when there is none. */
json_t *server_request_log_line(const test_server *t, const char *needle);

/* A V1 request of http_client.h (options, then name/value pairs) answered status and Code. */
#define SERVER_EXPECT_V1(t, options, status, code, ...)                                       \
    do {                                                                                    \
        size_t v1_raw_bytes_ = 0;                                                           \
        char *v1_raw_ = http_v1_request((options), &v1_raw_bytes_, __VA_ARGS__, NULL);      \
        server_expect_built((t), v1_raw_, v1_raw_bytes_, (status), (code));                 \
    } while (0)

/* A gateway request of the main account (name/value pairs) answered status and Code. */
#define SERVER_EXPECT_GATEWAY(t, status, code, ...)                                           \
    do {                                                                                    \
        size_t gateway_raw_bytes_ = 0;                                                      \
        char *gateway_raw_ =                                                                \
            http_plain_request(SERVER_CALLER_MAIN, &gateway_raw_bytes_, __VA_ARGS__, NULL); \
        server_expect_built((t), gateway_raw_, gateway_raw_bytes_, (status), (code));       \
    } while (0)

/* ---- answers -------------------------------------------------------------------------- */

/** The Code of a JSON answer ("" when it has none or is not JSON). */
void answer_code(const http_response *response, char *out, size_t out_bytes);
/** The answer has this status and Code ("" for a success). */
void answer_expect(const http_response *response, int status, const char *code);
/** The answer carries "Connection: close". */
void answer_expect_closes(const http_response *response);
/**
 * The members of an XML error answer, exactly
 *   <?xml version="1.0" encoding="UTF-8"?><Error><Name>text</Name>...</Error>
 * with the five members of an error (RequestId, HostId, Code, Message, Recommend) in that
 * order, as a JSON object of strings (text unescaped); NULL for anything else.
 */
json_t *answer_xml_error(const char *body, size_t body_bytes);
/** The same check for a JSON error answer: the object, or NULL unless it parses and holds
 *  exactly the five members, in that order, all strings. */
json_t *answer_json_error(const char *body, size_t body_bytes);

#endif
