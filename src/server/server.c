/*
 * server.c: the libmicrohttpd glue of `billord serve` (billord/server.h).
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION): a write blocks its thread
 * in billord_db_execute() until its batch is synced, and many connections waiting at once
 * are what forms a batch. Per request, MHD calls us three ways:
 *   uri_logged()        request line read: allocate the request, keep the raw URI (the
 *                       query is parsed by billord/http_params.h, not by the library)
 *   handle()            first with the headers (limits, path), then with body chunks
 *                       (kept up to BILLORD_BODY_BYTES_MAX), then once more to answer
 *   request_completed() answer sent or connection gone: free the request
 * The watchdog (watchdog.h) cuts off connections whose request trickles in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include <billord/clock.h>
#include <billord/server.h>

#include "core/assert.h"
#include "server/exec.h"
#include "server/front.h"
#include "server/nonce_store.h"
#include "server/request_log.h"
#include "server/scheduler.h"
#include "server/watchdog.h"
#include <openssl/crypto.h>

#define API_PATH "/"
#define ADMIN_CLOCK_PATH "/admin/clock"
#define ADMIN_EVENTS_PATH "/admin/events"
#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded"
#define CONTENT_TYPE_JSON "application/json;charset=utf-8"
#define CONTENT_TYPE_XML "text/xml;charset=utf-8"
#define REPLAY_HEADER "x-billord-idempotent-replay"
#define DRAIN_WAIT_STEP_MS 50u

struct billord_server {
    server_logger logger;
    billord_db *db;
    server_nonce_store *nonces;
    server_request_log *request_log;
    server_watchdog *watchdog;
    server_scheduler *scheduler;                /* --clock system only */
    char admin_token[BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX + 1];   /* "": events endpoint off */
    struct MHD_Daemon *daemon;
    uint16_t port;
    server_front_config front;
    bool clock_manual;
    _Atomic int64_t manual_clock_ms;
    billord_clock clock;                /* what commands are stamped with */
    int64_t (*auth_now_ms)(void *auth_clock_ctx);
    void *auth_clock_ctx;
    uint32_t connections_max;
    atomic_uint connections;
    atomic_bool stopping;
    pthread_mutex_t drain_mutex;
    pthread_cond_t drained;
    uint32_t in_flight;                 /* requests between headers and completion */
};

/* One request on a connection (MHD's con_cls). */
typedef struct server_request {
    char *uri;                          /* raw, with the query */
    bool headers_seen;
    bool answered_early;                /* a response was queued with the headers */
    bool in_flight;
    bool body_too_large;
    char *body;
    size_t body_bytes;
    size_t body_capacity;
    int64_t started_ms;                 /* monotonic */
} server_request;

/* What a handler decided, before it becomes an MHD response. */
typedef struct answer {
    server_exec_response response;
    bool close_connection;
} answer;

/* ---- clocks ----------------------------------------------------------------------------- */

static int64_t manual_now_ms(void *clock_ctx)
{
    billord_server *server = clock_ctx;
    return atomic_load(&server->manual_clock_ms);
}

static int64_t auth_now(billord_server *server)
{
    if (server->auth_now_ms != NULL) {
        return server->auth_now_ms(server->auth_clock_ctx);
    }
    return billord_clock_now_ms(billord_clock_system());
}

/* ---- responses -------------------------------------------------------------------------- */

static enum MHD_Result queue_answer(struct MHD_Connection *connection, answer *decided)
{
    server_exec_response *response = &decided->response;
    /* A fixed body lives in the response, which is gone once this returns: MHD copies it. */
    struct MHD_Response *mhd_response = MHD_create_response_from_buffer(
        response->body_bytes, response->body,
        response->body_fixed ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
    if (mhd_response == NULL) {
        billord__server_exec_response_free(response);
        return MHD_NO;
    }
    response->body = NULL;              /* MHD owns it now */
    MHD_add_response_header(mhd_response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            response->xml ? CONTENT_TYPE_XML : CONTENT_TYPE_JSON);
    if (response->replay) {
        MHD_add_response_header(mhd_response, REPLAY_HEADER, "true");
    }
    if (decided->close_connection) {
        MHD_add_response_header(mhd_response, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    enum MHD_Result result =
        MHD_queue_response(connection, (unsigned)response->status, mhd_response);
    MHD_destroy_response(mhd_response);
    billord__server_exec_response_free(response);
    return result;
}

static void new_request_id(char out[BILLORD_REQUEST_ID_BYTES + 1])
{
    uint8_t random_bytes[BILLORD_REQUEST_ID_RANDOM_BYTES];
    if (!billord__server_random(random_bytes, sizeof random_bytes)) {
        /* getrandom() does not fail once the pool is initialised; keep ids unique anyway. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        memset(random_bytes, 0, sizeof random_bytes);
        memcpy(random_bytes, &now, sizeof now < sizeof random_bytes ? sizeof now
                                                                     : sizeof random_bytes);
    }
    billord_request_id_format(random_bytes, out);
}

/* An answer decided before the engine (limits, path, stopping). */
static enum MHD_Result answer_early(billord_server *server, struct MHD_Connection *connection,
                                    billord_api_code code, const char *detail,
                                    bool close_connection)
{
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];
    new_request_id(request_id);
    char message[BILLORD_MESSAGE_BYTES_MAX];
    billord__server_message(code, detail, message, sizeof message);
    answer decided = {.close_connection = close_connection};
    billord__server_exec_error(code, message, request_id, NULL, false, false,
                               &decided.response);
    if (server->request_log != NULL) {
        /* Refused before its parameters were read: logged without account, action, params. */
        server_request_log_entry entry = {
            .ts_ms = billord_clock_now_ms(&server->clock),
            .account = "",
            .action = "",
            .params = NULL,
            .param_count = 0,
            .status = decided.response.status,
            .body_json = decided.response.body,
            .body_json_bytes = decided.response.body_bytes,
            .request_id = request_id,
        };
        (void)billord__request_log_write(server->request_log, &entry);
    }
    billord__server_log(&server->logger, BILLORD_SERVER_LOG_INFO, "billord: - %d %s request_id=%s (%s)",
                        decided.response.status, billord_api_code_text(code), request_id,
                        message);
    return queue_answer(connection, &decided);
}

/* ---- request limits with the headers ---------------------------------------------------- */

typedef struct header_collector {
    billord_http_header headers[BILLORD_SERVER_HEADERS_MAX];
    size_t count;
    size_t total_bytes;
    bool too_many;
} header_collector;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    header_collector *collector = cls;
    size_t key_bytes = strlen(key);
    size_t value_bytes = value != NULL ? strlen(value) : 0;
    collector->total_bytes += key_bytes + value_bytes + 4;   /* ": " and CRLF */
    if (collector->count == BILLORD_SERVER_HEADERS_MAX) {
        collector->too_many = true;
        return MHD_YES;
    }
    collector->headers[collector->count++] =
        (billord_http_header){key, key_bytes, value != NULL ? value : "", value_bytes};
    return MHD_YES;
}

static void collect_headers(struct MHD_Connection *connection, header_collector *collector)
{
    memset(collector, 0, sizeof *collector);
    (void)MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, collector);
}

/* The request line and headers as they came, approximately (the library keeps them parsed). */
static size_t head_bytes(const char *method, const char *uri, const char *version,
                         const header_collector *collector)
{
    return strlen(method) + 1 + strlen(uri) + 1 + strlen(version) + 2 + collector->total_bytes +
           2;
}

static bool content_length_over(struct MHD_Connection *connection, size_t limit_bytes)
{
    const char *text =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (text == NULL) {
        return false;
    }
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    return end == text || *end != '\0' || value > limit_bytes;
}

static bool is_loopback(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) {
        return false;
    }
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)address;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)address;
        if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
            return true;
        }
        return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static const char *path_of(const char *uri, size_t *out_path_bytes, const char **out_query)
{
    const char *mark = strchr(uri, '?');
    *out_path_bytes = mark != NULL ? (size_t)(mark - uri) : strlen(uri);
    *out_query = mark != NULL ? mark + 1 : "";
    return uri;
}

static bool path_is(const char *uri, const char *path)
{
    size_t path_bytes = 0;
    const char *query = NULL;
    (void)path_of(uri, &path_bytes, &query);
    return path_bytes == strlen(path) && strncmp(uri, path, path_bytes) == 0;
}

static bool admin_allowed(billord_server *server, struct MHD_Connection *connection,
                          const char *uri)
{
    if (path_is(uri, ADMIN_EVENTS_PATH)) {
        return server->admin_token[0] != '\0';
    }
    return server->clock_manual && path_is(uri, ADMIN_CLOCK_PATH) && is_loopback(connection);
}

/* With the headers: refuse what breaks a limit before reading any body. */
static enum MHD_Result on_headers(billord_server *server, struct MHD_Connection *connection,
                                  server_request *request, const char *method,
                                  const char *version)
{
    header_collector collector;
    collect_headers(connection, &collector);
    request->answered_early = true;
    if (atomic_load(&server->stopping)) {
        return answer_early(server, connection, BILLORD_API_SERVICE_UNAVAILABLE, NULL, true);
    }
    if (atomic_load(&server->connections) > server->connections_max) {
        return answer_early(server, connection, BILLORD_API_SERVICE_UNAVAILABLE, NULL, true);
    }
    if (collector.too_many ||
        head_bytes(method, request->uri, version, &collector) > BILLORD_HEADERS_BYTES_MAX) {
        return answer_early(server, connection, BILLORD_API_REQUEST_TOO_LARGE,
                            "request line and headers over 16384 bytes "
                            "(BILLORD_HEADERS_BYTES_MAX)",
                            true);
    }
    if (content_length_over(connection, BILLORD_BODY_BYTES_MAX)) {
        return answer_early(server, connection, BILLORD_API_REQUEST_TOO_LARGE,
                            "body over 65536 bytes (BILLORD_BODY_BYTES_MAX)", true);
    }
    if (!path_is(request->uri, API_PATH) && !admin_allowed(server, connection, request->uri)) {
        return answer_early(server, connection, BILLORD_API_ACTION_NOT_FOUND, NULL, false);
    }
    /* The body may still trickle in: the read deadline keeps running until it is complete. */
    request->answered_early = false;
    return MHD_YES;
}

static void on_body(server_request *request, const char *data, size_t data_bytes)
{
    if (request->body_too_large) {
        return;
    }
    if (request->body_bytes + data_bytes > BILLORD_BODY_BYTES_MAX) {
        request->body_too_large = true;
        free(request->body);
        request->body = NULL;
        request->body_bytes = 0;
        return;
    }
    if (request->body_bytes + data_bytes > request->body_capacity) {
        size_t capacity = request->body_capacity * 2 + data_bytes + 1024;
        if (capacity > BILLORD_BODY_BYTES_MAX) {
            capacity = BILLORD_BODY_BYTES_MAX;
        }
        char *grown = realloc(request->body, capacity);
        if (grown == NULL) {
            request->body_too_large = true;     /* answered 413: nothing else is possible */
            return;
        }
        request->body = grown;
        request->body_capacity = capacity;
    }
    memcpy(request->body + request->body_bytes, data, data_bytes);
    request->body_bytes += data_bytes;
}

/* ---- the API answer --------------------------------------------------------------------- */

/* The work area of one API request: too big for a connection thread's stack. */
typedef struct api_work {
    header_collector collector;
    server_front_result front;
    server_kv log_params[BILLORD_PARAMS_MAX];
    char arena[SERVER_FRONT_ARENA_BYTES];
} api_work;

static bool content_type_is_form(struct MHD_Connection *connection)
{
    const char *text =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t form_bytes = strlen(FORM_CONTENT_TYPE);
    return text != NULL && strncasecmp(text, FORM_CONTENT_TYPE, form_bytes) == 0 &&
           (text[form_bytes] == '\0' || text[form_bytes] == ';' || text[form_bytes] == ' ');
}

static void write_request_log(billord_server *server, api_work *work, int64_t ts_ms,
                              const char *request_id, const server_exec_response *response)
{
    const server_front_result *front = &work->front;
    const server_kv *params = front->kv;
    uint32_t param_count = front->kv_count;
    if (front->code != BILLORD_API_OK) {
        /* Refused before the engine: log the parameters as they were decoded. */
        for (uint32_t i = 0; i < front->params.count; i++) {
            work->log_params[i] =
                (server_kv){front->params.items[i].name, front->params.items[i].value};
        }
        params = work->log_params;
        param_count = front->params.count;
    }
    const char *body_json = response->log_body_json != NULL ? response->log_body_json
                                                            : response->body;
    server_request_log_entry entry = {
        .ts_ms = ts_ms,
        .account = front->account,
        .action = front->action,
        .params = params,
        .param_count = param_count,
        .status = response->status,
        .body_json = body_json,
        .body_json_bytes = strlen(body_json),
        .request_id = request_id,
    };
    if (billord__request_log_write(server->request_log, &entry) != BILLORD_OK) {
        billord__server_log(&server->logger, BILLORD_SERVER_LOG_ERROR,
                            "billord: request log write failed for request_id=%s", request_id);
    }
}

static void log_request(billord_server *server, const char *method, const api_work *work,
                        const char *request_id, const server_exec_response *response,
                        int64_t started_ms)
{
    billord_server_log_level level =
        response->status >= 500 ? BILLORD_SERVER_LOG_ERROR : BILLORD_SERVER_LOG_INFO;
    billord__server_log(&server->logger, level,
                        "billord: %s %s %d %s account=%s request_id=%s%s %lldms%s%s", method,
                        work->front.action[0] != '\0' ? work->front.action : "-",
                        response->status, billord_api_code_text(response->code),
                        work->front.account[0] != '\0' ? work->front.account : "-", request_id,
                        response->replay ? " replay" : "",
                        (long long)(billord__server_monotonic_ms() - started_ms),
                        server->logger.level >= BILLORD_SERVER_LOG_DEBUG &&
                                work->front.code != BILLORD_API_OK
                            ? " refused: "
                            : "",
                        server->logger.level >= BILLORD_SERVER_LOG_DEBUG &&
                                work->front.code != BILLORD_API_OK
                            ? work->front.message
                            : "");
}

static enum MHD_Result answer_api(billord_server *server, struct MHD_Connection *connection,
                                  server_request *request, const char *method)
{
    api_work *work = malloc(sizeof *work);
    if (work == NULL) {
        return answer_early(server, connection, BILLORD_API_INTERNAL_ERROR, NULL, true);
    }
    collect_headers(connection, &work->collector);
    size_t path_bytes = 0;
    const char *query = NULL;
    (void)path_of(request->uri, &path_bytes, &query);
    server_front_request front_request = {
        .method = method,
        .query = query,
        .query_bytes = strlen(query),
        .body = (const uint8_t *)request->body,
        .body_bytes = request->body_bytes,
        .body_is_form = content_type_is_form(connection),
        .headers = work->collector.headers,
        .header_count = work->collector.count,
        .now_ms = auth_now(server),
    };
    billord__server_front_process(&server->front, &front_request, work->arena,
                                  sizeof work->arena, &work->front);
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];
    new_request_id(request_id);
    int64_t now_ms = billord_clock_now_ms(&server->clock);
    bool want_log_json = server->request_log != NULL;
    answer decided = {.close_connection = false};
    if (work->front.code == BILLORD_API_OK) {
        server_exec_request exec_request = {
            .request_id = request_id,
            .now_ms = now_ms,
            .account = work->front.account,
            .action = work->front.action,
            .kv = work->front.kv,
            .kv_count = work->front.kv_count,
            .format_xml = work->front.format_xml,
        };
        billord__server_exec_run(server->db, &exec_request, want_log_json, &decided.response);
    } else {
        billord__server_exec_error(work->front.code, work->front.message, request_id,
                                   work->front.action, work->front.format_xml, want_log_json,
                                   &decided.response);
    }
    if (server->request_log != NULL) {
        write_request_log(server, work, now_ms, request_id, &decided.response);
    }
    log_request(server, method, work, request_id, &decided.response, request->started_ms);
    free(work);
    return queue_answer(connection, &decided);
}

/* ---- POST /admin/clock?advance_ms=N (manual clock, loopback only) ----------------------- */

static bool parse_advance_ms(const char *query, int64_t *out_advance_ms)
{
    static const char prefix[] = "advance_ms=";
    if (strncmp(query, prefix, sizeof prefix - 1) != 0) {
        return false;
    }
    const char *digits = query + sizeof prefix - 1;
    size_t digit_count = strlen(digits);
    if (digit_count == 0 || digit_count > 15 || (digits[0] == '0' && digit_count > 1)) {
        return false;
    }
    int64_t value = 0;
    for (size_t i = 0; i < digit_count; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            return false;
        }
        value = value * 10 + (digits[i] - '0');
    }
    if (value > BILLORD_SERVER_CLOCK_ADVANCE_MS_MAX) {
        return false;
    }
    *out_advance_ms = value;
    return true;
}

static enum MHD_Result answer_admin_clock(billord_server *server,
                                          struct MHD_Connection *connection,
                                          server_request *request, const char *method)
{
    size_t path_bytes = 0;
    const char *query = NULL;
    (void)path_of(request->uri, &path_bytes, &query);
    int64_t advance_ms = 0;
    if (strcmp(method, "POST") == 0) {
        if (!parse_advance_ms(query, &advance_ms)) {
            return answer_early(server, connection, BILLORD_API_INVALID_PARAMETER, "advance_ms",
                                false);
        }
        int64_t clock_ms = atomic_fetch_add(&server->manual_clock_ms, advance_ms) + advance_ms;
        billord_api_code code = billord__scheduler_tick_until_done(
            server->db, clock_ms);
        billord__server_log(&server->logger, BILLORD_SERVER_LOG_INFO,
                            "billord: clock advanced by %lld ms to %lld (tick %s)",
                            (long long)advance_ms, (long long)clock_ms,
                            billord_api_code_text(code));
    } else if (strcmp(method, "GET") != 0) {
        return answer_early(server, connection, BILLORD_API_ACTION_NOT_FOUND, NULL, false);
    }
    answer decided = {.close_connection = false};
    server_exec_response *response = &decided.response;
    response->code = BILLORD_API_OK;
    response->status = 200;
    response->body = response->fixed_body;
    response->body_fixed = true;
    response->body_bytes = (size_t)snprintf(response->fixed_body, sizeof response->fixed_body,
                                            "{\"clock_ms\":%lld}",
                                            (long long)atomic_load(&server->manual_clock_ms));
    return queue_answer(connection, &decided);
}

/* ---- GET /admin/events?since=SEQ&limit=N (x-billord-admin-token) ------------------------ */

/* name=N in the query: decimal digits up to INT64_MAX (a cursor that NextSince can carry
 * back); absent leaves *out as it is. strtoull() alone would take "-1" as 2^64 - 1. */
static bool query_u64(const char *query, const char *name, uint64_t *out)
{
    size_t name_bytes = strlen(name);
    for (const char *at = query; at != NULL && *at != '\0';) {
        if (strncmp(at, name, name_bytes) == 0 && at[name_bytes] == '=') {
            const char *digits = at + name_bytes + 1;
            if (*digits < '0' || *digits > '9') {
                return false;
            }
            errno = 0;
            char *end = NULL;
            unsigned long long value = strtoull(digits, &end, 10);
            if (errno == ERANGE || value > (unsigned long long)INT64_MAX ||
                (*end != '\0' && *end != '&')) {
                return false;
            }
            *out = value;
            return true;
        }
        at = strchr(at, '&');
        at = at != NULL ? at + 1 : NULL;
    }
    return true;
}

static bool admin_token_matches(billord_server *server, struct MHD_Connection *connection)
{
    const char *given = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                    "x-billord-admin-token");
    size_t expected_bytes = strlen(server->admin_token);
    return given != NULL && strlen(given) == expected_bytes &&
           CRYPTO_memcmp(given, server->admin_token, expected_bytes) == 0;
}

static enum MHD_Result answer_admin_events(billord_server *server,
                                           struct MHD_Connection *connection,
                                           server_request *request, const char *method)
{
    if (strcmp(method, "GET") != 0) {
        return answer_early(server, connection, BILLORD_API_ACTION_NOT_FOUND, NULL, false);
    }
    if (!admin_token_matches(server, connection)) {
        return answer_early(server, connection, BILLORD_API_INCOMPLETE_SIGNATURE,
                            "x-billord-admin-token", false);
    }
    size_t path_bytes = 0;
    const char *query = NULL;
    (void)path_of(request->uri, &path_bytes, &query);
    uint64_t since = 0;
    uint64_t limit = BILLORD_SERVER_EVENTS_PAGE_MAX;
    if (!query_u64(query, "since", &since) || !query_u64(query, "limit", &limit) ||
        limit == 0 || limit > BILLORD_SERVER_EVENTS_PAGE_MAX) {
        return answer_early(server, connection, BILLORD_API_INVALID_PARAMETER, "since/limit",
                            false);
    }
    answer decided = {.close_connection = false};
    billord_api_code code =
        billord__server_exec_events(server->db, since, (uint32_t)limit, &decided.response);
    if (code != BILLORD_API_OK) {
        return answer_early(server, connection, code, NULL, false);
    }
    return queue_answer(connection, &decided);
}

/* ---- MHD callbacks ---------------------------------------------------------------------- */

static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void)cls;
    (void)connection;
    server_request *request = calloc(1, sizeof *request);
    if (request == NULL) {
        return NULL;
    }
    request->uri = strdup(uri);
    if (request->uri == NULL) {
        free(request);
        return NULL;
    }
    request->started_ms = billord__server_monotonic_ms();
    return request;
}

static void watch_received(billord_server *server, struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info != NULL) {
        billord__watchdog_received(server->watchdog, info->socket_context);
    }
}

static void in_flight_begin(billord_server *server, server_request *request)
{
    pthread_mutex_lock(&server->drain_mutex);
    server->in_flight++;
    pthread_mutex_unlock(&server->drain_mutex);
    request->in_flight = true;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)url;
    billord_server *server = cls;
    server_request *request = *con_cls;
    if (request == NULL) {
        return answer_early(server, connection, BILLORD_API_INTERNAL_ERROR, NULL, true);
    }
    if (!request->headers_seen) {
        request->headers_seen = true;
        in_flight_begin(server, request);
        enum MHD_Result result = on_headers(server, connection, request, method, version);
        if (request->answered_early) {
            watch_received(server, connection);
        }
        return result;
    }
    if (request->answered_early) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        on_body(request, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    watch_received(server, connection);
    if (request->body_too_large) {
        return answer_early(server, connection, BILLORD_API_REQUEST_TOO_LARGE,
                            "body over 65536 bytes (BILLORD_BODY_BYTES_MAX)", true);
    }
    if (path_is(request->uri, ADMIN_CLOCK_PATH)) {
        return answer_admin_clock(server, connection, request, method);
    }
    if (path_is(request->uri, ADMIN_EVENTS_PATH)) {
        return answer_admin_events(server, connection, request, method);
    }
    return answer_api(server, connection, request, method);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    billord_server *server = cls;
    server_request *request = *con_cls;
    *con_cls = NULL;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info != NULL) {
        billord__watchdog_await(server->watchdog, info->socket_context);
    }
    if (request == NULL) {
        return;
    }
    if (request->in_flight) {
        pthread_mutex_lock(&server->drain_mutex);
        BILLORD_ASSERT(server->in_flight > 0);
        server->in_flight--;
        pthread_cond_broadcast(&server->drained);
        pthread_mutex_unlock(&server->drain_mutex);
    }
    free(request->body);
    free(request->uri);
    free(request);
}

static void connection_notified(void *cls, struct MHD_Connection *connection,
                                void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    billord_server *server = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info != NULL ? billord__watchdog_add(server->watchdog, info->connect_fd)
                                       : NULL;
        atomic_fetch_add(&server->connections, 1);
        return;
    }
    billord__watchdog_remove(server->watchdog, *socket_context);
    *socket_context = NULL;
    atomic_fetch_sub(&server->connections, 1);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void library_log(void *cls, const char *format, va_list args)
{
    billord_server *server = cls;
    char line[SERVER_LOG_LINE_BYTES];
    vsnprintf(line, sizeof line, format, args);
    size_t length = strlen(line);
    while (length > 0 && line[length - 1] == '\n') {
        line[--length] = '\0';
    }
    billord__server_log(&server->logger, BILLORD_SERVER_LOG_DEBUG, "billord: libmicrohttpd: %s",
                        line);
}
#pragma GCC diagnostic pop

/* ---- start and stop --------------------------------------------------------------------- */

static billord_err resolve_listen(const billord_server_config *config, struct sockaddr_storage *out,
                                  bool *out_ipv6, char *error_text, size_t error_text_bytes)
{
    const char *host = config->listen_host != NULL ? config->listen_host
                                                   : BILLORD_SERVER_LISTEN_HOST_DEFAULT;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)config->listen_port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    struct addrinfo *found = NULL;
    int rc = getaddrinfo(host, port_text, &hints, &found);
    if (rc != 0 || found == NULL) {
        snprintf(error_text, error_text_bytes, "--listen %s: %s", host, gai_strerror(rc));
        return BILLORD_E_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    memcpy(out, found->ai_addr, found->ai_addrlen);
    *out_ipv6 = found->ai_family == AF_INET6;
    freeaddrinfo(found);
    return BILLORD_OK;
}

static billord_err start_daemon(billord_server *server, const billord_server_config *config,
                                char *error_text, size_t error_text_bytes)
{
    struct sockaddr_storage address;
    bool ipv6 = false;
    billord_err err = resolve_listen(config, &address, &ipv6, error_text, error_text_bytes);
    if (err != BILLORD_OK) {
        return err;
    }
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_ERROR_LOG | MHD_USE_ITC | (ipv6 ? MHD_USE_IPv6 : 0);
    unsigned int idle_timeout_s =
        config->idle_timeout_s != 0 ? config->idle_timeout_s : BILLORD_SERVER_IDLE_TIMEOUT_S;
    server->daemon = MHD_start_daemon(
        flags, config->listen_port, NULL, NULL, handle, server,
        /* The logger first, so that the library prints nothing before it is set. */
        MHD_OPTION_EXTERNAL_LOGGER, library_log, server, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&address, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)(server->connections_max + BILLORD_SERVER_CONNECTIONS_OVERFLOW),
        MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)BILLORD_SERVER_CONNECTION_MEMORY_BYTES, MHD_OPTION_URI_LOG_CALLBACK, uri_logged,
        server, MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, connection_notified, server, MHD_OPTION_END);
    if (server->daemon == NULL) {
        snprintf(error_text, error_text_bytes, "--listen %s:%u: cannot listen",
                 config->listen_host != NULL ? config->listen_host
                                             : BILLORD_SERVER_LISTEN_HOST_DEFAULT,
                 (unsigned)config->listen_port);
        return BILLORD_E_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    server->port = info != NULL ? info->port : config->listen_port;
    return BILLORD_OK;
}

static billord_err open_state(billord_server *server, const billord_server_config *config,
                              char *error_text, size_t error_text_bytes)
{
    billord_err err =
        billord__server_exec_open(config, &server->logger, &server->db, error_text,
                                  error_text_bytes);
    if (err != BILLORD_OK) {
        return err;
    }
    if (config->clock == BILLORD_SERVER_CLOCK_MANUAL) {
        int64_t clock_ms = 0;
        err = billord__server_exec_clock_ms(server->db, &clock_ms);
        if (err != BILLORD_OK) {
            snprintf(error_text, error_text_bytes, "%s: cannot read the clock: %s",
                     config->data_dir, billord_err_message(err));
            return err;
        }
        server->clock_manual = true;
        atomic_store(&server->manual_clock_ms, clock_ms);
        server->clock = (billord_clock){manual_now_ms, server};
    } else {
        server->clock = *billord_clock_system();
    }
    server->front.auth = config->auth;
    server->front.key_lookup = billord__server_exec_key_lookup;
    server->front.key_lookup_ctx = server->db;
    server->front.action_known = billord__server_exec_action_known;
    if (config->auth == BILLORD_SERVER_AUTH_SIGNATURE) {
        int64_t now_ms = auth_now(server);
        bool boot_changed = false;
        uint32_t reloaded = 0;
        uint32_t const capacity = config->nonce_capacity != 0 ? config->nonce_capacity
                                                              : BILLORD_SERVER_NONCES_DEFAULT;
        err = billord__nonce_store_open(config->data_dir, capacity, now_ms, &server->nonces,
                                        &boot_changed, &reloaded, error_text, error_text_bytes);
        if (err != BILLORD_OK) {
            return err;
        }
        server->front.nonces = server->nonces;
        uint32_t dropped = billord__nonce_store_dropped_at_open(server->nonces);
        if (dropped > 0) {
            billord__server_log(&server->logger, BILLORD_SERVER_LOG_ERROR,
                                "billord: %u unexpired signature nonces do not fit the nonce "
                                "capacity of %u: requests signed before now are refused",
                                dropped, capacity);
        }
        /* Second resolution: the SDKs' timestamps carry no milliseconds. */
        server->front.signed_not_before_ms =
            boot_changed || dropped > 0 ? now_ms - now_ms % 1000 : 0;
        billord__server_log(&server->logger, BILLORD_SERVER_LOG_ERROR,
                            "billord: %u signature nonces reloaded%s", reloaded,
                            boot_changed ? "; the machine rebooted since the last run: "
                                           "requests signed before now are refused"
                                         : "");
    }
    if (config->request_log_path != NULL) {
        err = billord__request_log_open(config->request_log_path, &server->request_log);
        if (err != BILLORD_OK) {
            snprintf(error_text, error_text_bytes, "--request-log %s: cannot open",
                     config->request_log_path);
            return err;
        }
    }
    return BILLORD_OK;
}

static void release(billord_server *server)
{
    billord__scheduler_stop(server->scheduler);
    billord__watchdog_stop(server->watchdog);
    billord__server_exec_close(server->db);
    billord__nonce_store_close(server->nonces);
    billord__request_log_close(server->request_log);
    pthread_cond_destroy(&server->drained);
    pthread_mutex_destroy(&server->drain_mutex);
    billord__server_logger_destroy(&server->logger);
    free(server);
}

billord_err billord_server_start(const billord_server_config *config,
                                 billord_server **out_server, char *error_text,
                                 size_t error_text_bytes)
{
    BILLORD_ASSERT(config != NULL);
    BILLORD_ASSERT(out_server != NULL);
    BILLORD_ASSERT(error_text != NULL && error_text_bytes > 0);
    error_text[0] = '\0';
    if (config->data_dir == NULL) {
        snprintf(error_text, error_text_bytes, "--data: required");
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (config->admin_token != NULL &&
        strlen(config->admin_token) > BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX) {
        /* Cut to fit, the configured token would be refused and its prefix accepted. */
        snprintf(error_text, error_text_bytes, "admin token: longer than %u bytes",
                 BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX);
        return BILLORD_E_INVALID_ARGUMENT;
    }
    if (config->nonce_capacity > BILLORD_NONCE_GUARD_CAPACITY_MAX) {
        snprintf(error_text, error_text_bytes, "nonce capacity: more than %u",
                 BILLORD_NONCE_GUARD_CAPACITY_MAX);
        return BILLORD_E_INVALID_ARGUMENT;
    }
    billord_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        return BILLORD_E_NOMEM;
    }
    billord__server_logger_init(&server->logger, config->log_level, config->log_line,
                                config->log_ctx);
    pthread_mutex_init(&server->drain_mutex, NULL);
    pthread_cond_init(&server->drained, NULL);
    server->auth_now_ms = config->auth_now_ms;
    server->auth_clock_ctx = config->auth_clock_ctx;
    server->connections_max =
        config->connections_max != 0 ? config->connections_max : BILLORD_SERVER_CONNECTIONS_MAX;
    billord_err err = billord__watchdog_start(
        config->read_timeout_ms != 0 ? config->read_timeout_ms : BILLORD_SERVER_READ_TIMEOUT_MS,
        &server->watchdog);
    if (err == BILLORD_OK) {
        err = open_state(server, config, error_text, error_text_bytes);
    }
    if (config->admin_token != NULL) {
        snprintf(server->admin_token, sizeof server->admin_token, "%s", config->admin_token);
    }
    if (err == BILLORD_OK && !server->clock_manual) {
        /* Time passes for the lifecycle through logged ticks on the system clock. */
        err = billord__scheduler_start(server->db, &server->clock,
                                       &server->scheduler);
    }
    if (err == BILLORD_OK) {
        err = start_daemon(server, config, error_text, error_text_bytes);
    }
    if (err != BILLORD_OK) {
        if (error_text[0] == '\0') {
            snprintf(error_text, error_text_bytes, "%s", billord_err_message(err));
        }
        release(server);
        return err;
    }
    *out_server = server;
    return BILLORD_OK;
}

uint16_t billord_server_port(const billord_server *server)
{
    BILLORD_ASSERT(server != NULL);
    return server->port;
}

/* Wait until no request is in flight, at most BILLORD_SERVER_DRAIN_MS_MAX. */
static void drain(billord_server *server)
{
    int64_t deadline_ms = billord__server_monotonic_ms() + BILLORD_SERVER_DRAIN_MS_MAX;
    pthread_mutex_lock(&server->drain_mutex);
    while (server->in_flight > 0 && billord__server_monotonic_ms() < deadline_ms) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)DRAIN_WAIT_STEP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&server->drained, &server->drain_mutex, &until);
    }
    uint32_t left = server->in_flight;
    pthread_mutex_unlock(&server->drain_mutex);
    if (left > 0) {
        billord__server_log(&server->logger, BILLORD_SERVER_LOG_ERROR,
                            "billord: %u requests still in flight after %u ms; stopping anyway",
                            left, BILLORD_SERVER_DRAIN_MS_MAX);
    }
}

void billord_server_stop(billord_server *server)
{
    if (server == NULL) {
        return;
    }
    atomic_store(&server->stopping, true);
    MHD_socket listen_fd = MHD_quiesce_daemon(server->daemon);
    drain(server);
    MHD_stop_daemon(server->daemon);
    if (listen_fd != MHD_INVALID_SOCKET) {
        close(listen_fd);
    }
    billord__server_log(&server->logger, BILLORD_SERVER_LOG_ERROR, "billord: stopped");
    release(server);
}
