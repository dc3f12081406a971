/* server_fixture.c: `billord serve` for the server tests (server_fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "support/server_fixture.h"

#define XML_DECLARATION "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* The members of an error answer, in their order (billord/render.h). */
static const char *const error_members[] = {"RequestId", "HostId", "Code", "Message",
                                            "Recommend"};
#define ERROR_MEMBER_COUNT (sizeof error_members / sizeof error_members[0])

/* ---- the server's parts on their own ---------------------------------------------------- */

char server_scratch_dir[TEMPDIR_PATH_BYTES];

void server_scratch_make(void)
{
    tempdir_make(server_scratch_dir);
}

void server_scratch_remove(void)
{
    tempdir_remove(server_scratch_dir);
}

/* ---- operator output ---------------------------------------------------------------------- */

static void capture_line(void *log_ctx, const char *line)
{
    server_log_capture *capture = log_ctx;
    size_t line_bytes = strlen(line);
    pthread_mutex_lock(&capture->mutex);
    if (capture->used + line_bytes + 2 > capture->capacity) {
        size_t capacity = (capture->capacity + line_bytes + 2) * 2;
        char *grown = realloc(capture->text, capacity);
        cr_assert(grown != NULL);
        capture->text = grown;
        capture->capacity = capacity;
    }
    memcpy(capture->text + capture->used, line, line_bytes);
    capture->used += line_bytes;
    capture->text[capture->used++] = '\n';
    capture->text[capture->used] = '\0';
    pthread_mutex_unlock(&capture->mutex);
}

bool server_log_contains(test_server *t, const char *needle)
{
    pthread_mutex_lock(&t->log.mutex);
    bool found = t->log.text != NULL && strstr(t->log.text, needle) != NULL;
    pthread_mutex_unlock(&t->log.mutex);
    return found;
}

const char *server_log_text(test_server *t)
{
    return t->log.text != NULL ? t->log.text : "";
}

/* ---- lifecycle ------------------------------------------------------------------------ */

void server_init(test_server *t, billord_server_auth auth, billord_server_clock clock)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->log.mutex, NULL);
    tempdir_make(t->dir);
    tempdir_join(t->data, t->dir, "data");
    tempdir_source_path(t->fixture, "fixtures/demo.json");
    tempdir_join(t->request_log, t->dir, "requests.ndjson");
    t->config.data_dir = t->data;
    t->config.listen_host = "127.0.0.1";
    t->config.fixtures_path = t->fixture;
    t->config.auth = auth;
    t->config.clock = clock;
    t->config.request_log_path = t->request_log;
    t->config.log_line = capture_line;
    t->config.log_ctx = &t->log;
    t->config.read_timeout_ms = 5000;
}

billord_err server_try_start(test_server *t, char *error_text, size_t error_text_bytes)
{
    billord_err err = billord_server_start(&t->config, &t->server, error_text, error_text_bytes);
    if (err == BILLORD_OK) {
        t->port = billord_server_port(t->server);
    }
    return err;
}

void server_start(test_server *t)
{
    char error_text[1024];
    billord_err err = server_try_start(t, error_text, sizeof error_text);
    cr_assert(eq(int, err, BILLORD_OK), "start: %s", error_text);
    cr_assert(t->port != 0);
}

void server_up(test_server *t, billord_server_auth auth, billord_server_clock clock)
{
    server_init(t, auth, clock);
    server_start(t);
}

void server_stop(test_server *t)
{
    billord_server_stop(t->server);
    t->server = NULL;
}

void server_restart(test_server *t)
{
    server_stop(t);
    server_start(t);
}

void server_down(test_server *t)
{
    server_stop(t);
    tempdir_remove(t->dir);
    free(t->log.text);
    t->log.text = NULL;
    pthread_mutex_destroy(&t->log.mutex);
}

void server_expect_start_fails(test_server *t, billord_err err, const char *needle)
{
    char error_text[1024];
    billord_server *server = NULL;
    billord_err got = billord_server_start(&t->config, &server, error_text, sizeof error_text);
    cr_expect(eq(int, got, err), "error text: %s", error_text);
    cr_expect(server == NULL);
    cr_expect(strstr(error_text, needle) != NULL, "error text '%s' lacks '%s'", error_text,
              needle);
}

static void *stop_server(void *arg)
{
    billord_server_stop(arg);
    return NULL;
}

void server_stop_begin(test_server *t, pthread_t *out_thread)
{
    cr_assert(pthread_create(out_thread, NULL, stop_server, t->server) == 0);
}

void server_stop_end(test_server *t, pthread_t thread)
{
    pthread_join(thread, NULL);
    t->server = NULL;
}

/* ---- requests ------------------------------------------------------------------------- */

void server_roundtrip(const test_server *t, const char *raw, http_response *response)
{
    cr_assert(http_roundtrip(t->port, raw, strlen(raw), response), "no answer to %.60s", raw);
}

void server_roundtrip_built(const test_server *t, char *raw, size_t raw_bytes,
                            http_response *response)
{
    cr_assert(http_roundtrip(t->port, raw, raw_bytes, response), "no answer");
    free(raw);
}

void server_expect_raw(const test_server *t, const char *raw, int status, const char *code)
{
    http_response response;
    server_roundtrip(t, raw, &response);
    answer_expect(&response, status, code);
    http_response_free(&response);
}

void server_expect_built(const test_server *t, char *raw, size_t raw_bytes, int status,
                         const char *code)
{
    http_response response;
    server_roundtrip_built(t, raw, raw_bytes, &response);
    answer_expect(&response, status, code);
    http_response_free(&response);
}

void server_send_chunks(int fd, size_t chunk_bytes, unsigned count, unsigned pause_us)
{
    char *chunk = malloc(chunk_bytes + 32);
    cr_assert(chunk != NULL);
    int head = snprintf(chunk, 32, "%zx\r\n", chunk_bytes);
    memset(chunk + head, 'b', chunk_bytes);
    memcpy(chunk + head + chunk_bytes, "\r\n", 2);
    for (unsigned i = 0; i < count; i++) {
        cr_assert(http_send(fd, chunk, (size_t)head + chunk_bytes + 2), "chunk %u", i);
        if (pause_us > 0) {
            usleep(pause_us);
        }
    }
    free(chunk);
    cr_assert(http_send(fd, "0\r\n\r\n", 5));
}

json_t *server_request_log_line(const test_server *t, const char *needle)
{
    size_t log_bytes = 0;
    char *log = tempdir_read_file(t->request_log, &log_bytes);
    cr_assert(log != NULL, "%s", t->request_log);
    char *line = strstr(log, needle);
    cr_assert(line != NULL, "no line holds %s: %s", needle, log);
    while (line > log && line[-1] != '\n') {
        line--;
    }
    json_t *entry = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert(entry != NULL, "%s", line);
    free(log);
    return entry;
}

/* ---- answers -------------------------------------------------------------------------- */

void answer_code(const http_response *response, char *out, size_t out_bytes)
{
    json_t *body = json_loads(response->body != NULL ? response->body : "", 0, NULL);
    const char *code = json_string_value(json_object_get(body, "Code"));
    snprintf(out, out_bytes, "%s", code != NULL ? code : "");
    json_decref(body);
}

void answer_expect(const http_response *response, int status, const char *code)
{
    char got[64];
    answer_code(response, got, sizeof got);
    cr_expect(eq(int, response->status, status), "body %s", response->body);
    cr_expect(eq(str, got, (char *)code), "body %s", response->body);
}

void answer_expect_closes(const http_response *response)
{
    char connection[32] = "";
    cr_expect(http_header(response, "Connection", connection, sizeof connection), "head %s",
              response->head);
    cr_expect(eq(str, connection, "close"));
}

/* Skip the exact text at *at; false when it is not there. */
static bool take(const char **at, const char *end, const char *text)
{
    size_t text_bytes = strlen(text);
    if ((size_t)(end - *at) < text_bytes || memcmp(*at, text, text_bytes) != 0) {
        return false;
    }
    *at += text_bytes;
    return true;
}

/* XML text [from, to) unescaped into out; false on markup or an unknown entity. */
static bool xml_unescape(const char *from, const char *to, char *out, size_t out_bytes)
{
    static const struct {
        const char *entity;
        char byte;
    } entities[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'},
                    {"&apos;", '\''}};
    size_t used = 0;
    for (const char *at = from; at < to; used++) {
        if (used + 1 >= out_bytes || *at == '<' || *at == '>') {
            return false;
        }
        if (*at != '&') {
            out[used] = *at++;
            continue;
        }
        size_t i = 0;
        while (i < sizeof entities / sizeof entities[0] && !take(&at, to, entities[i].entity)) {
            i++;
        }
        if (i == sizeof entities / sizeof entities[0]) {
            return false;
        }
        out[used] = entities[i].byte;
    }
    out[used] = '\0';
    return true;
}

json_t *answer_xml_error(const char *body, size_t body_bytes)
{
    if (body == NULL || strlen(body) != body_bytes) {
        return NULL;
    }
    const char *at = body;
    const char *end = body + body_bytes;
    if (!take(&at, end, XML_DECLARATION "<Error>")) {
        return NULL;
    }
    json_t *members = json_object();
    for (size_t i = 0; i < ERROR_MEMBER_COUNT; i++) {
        char open[32];
        char close[32];
        snprintf(open, sizeof open, "<%s>", error_members[i]);
        snprintf(close, sizeof close, "</%s>", error_members[i]);
        bool opened = take(&at, end, open);
        const char *text_end = opened ? memchr(at, '<', (size_t)(end - at)) : NULL;
        char text[1024];
        const char *after = text_end;
        if (text_end == NULL || !take(&after, end, close) ||
            !xml_unescape(at, text_end, text, sizeof text)) {
            json_decref(members);
            return NULL;
        }
        json_object_set_new(members, error_members[i], json_string(text));
        at = after;
    }
    if (!take(&at, end, "</Error>") || at != end) {
        json_decref(members);
        return NULL;
    }
    return members;
}

json_t *answer_json_error(const char *body, size_t body_bytes)
{
    if (body == NULL || strlen(body) != body_bytes) {
        return NULL;
    }
    json_t *members = json_loadb(body, body_bytes, 0, NULL);
    bool shaped = json_is_object(members) && json_object_size(members) == ERROR_MEMBER_COUNT;
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach(members, key, value) {
        shaped = shaped && strcmp(key, error_members[i]) == 0 && json_is_string(value);
        i++;
    }
    if (!shaped) {
        json_decref(members);
        return NULL;
    }
    return members;
}
