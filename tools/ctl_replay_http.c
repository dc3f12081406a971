/*
 * ctl_replay_http.c: billordctl replay --target: send recorded request logs to a running server.
 *
 * Each line becomes a POST with a form body, V1-signed as pop-core signs it with the account's
 * key and a fresh Timestamp and SignatureNonce (the recorded ones would be refused as replays).
 * C worker threads each keep one keep-alive connection; lines are handed out in order and
 * started at the recorded pace (ts_ms differences), at a fixed rate, or at once (--rate max).
 * With --expect, status and body are compared with the recorded response, RequestId aside:
 * the server assigns a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <billord/http_params.h>
#include <billord/http_sign.h>
#include <billord/timeutil.h>

#include "ctl.h"
#include "ctl_replay.h"

#define HTTP_ARENA_BYTES (BILLORD_PARAMS_MAX * (BILLORD_PARAM_VALUE_BYTES_MAX + 160u))
#define HTTP_BODY_BYTES_MAX (256u * 1024u)
#define HTTP_RESPONSE_BYTES_MAX (4u * 1024u * 1024u)
#define HTTP_HEAD_BYTES_MAX (16u * 1024u)
#define HTTP_HOST_BYTES_MAX 256u
#define HTTP_HEAD_RESERVE_BYTES 512u   /* room before the body for the request head */
/* The server closes a connection idle for 5 s; reconnect before it could have. */
#define HTTP_IDLE_RECONNECT_NS (3LL * 1000000000LL)
#define HTTP_IO_TIMEOUT_S 30
#define NS_PER_S 1000000000LL
#define SIGN_VERSION_DEFAULT "2014-05-26"

typedef struct account_key {
    char *account;
    char *key_id;
    char *secret;
} account_key;

typedef struct http_input {
    const char *path;
    char *text;
    size_t bytes;
} http_input;

typedef struct http_replay {
    const ctl_replay_args *args;
    char host[HTTP_HOST_BYTES_MAX];
    char port[16];
    struct addrinfo *address;
    account_key *keys;
    size_t key_count;
    /* the line feeder, under lock */
    pthread_mutex_t lock;
    http_input *inputs;
    size_t input_index;
    size_t offset;
    uint64_t line_number;
    uint64_t sent;
    bool stop;
    bool failed;
    char error_text[CTL_ERROR_BYTES];
    int64_t first_ts_ms;
    bool have_first;
    int64_t started_ns;
    double rate_per_s;              /* 0: recorded pace; < 0: as fast as possible */
    billord_replay_stats *stats;
} http_replay;

typedef struct http_item {
    billord_replay_line line;
    const char *path;
    const char *text;
    size_t text_bytes;
    uint64_t line_number;
    int64_t due_ns;
} http_item;

typedef struct http_conn {
    int fd;
    int64_t last_used_ns;
} http_conn;

static int64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec;
}

static void sleep_until(int64_t due_ns)
{
    int64_t wait_ns = due_ns - monotonic_ns();
    if (wait_ns > 0) {
        struct timespec pause = {wait_ns / NS_PER_S, wait_ns % NS_PER_S};
        nanosleep(&pause, NULL);
    }
}

/* ---- keys ---------------------------------------------------------------------------- */

static bool key_add(http_replay *replay, const char *account, const char *key_id,
                    const char *secret)
{
    account_key *grown = realloc(replay->keys, (replay->key_count + 1) * sizeof *grown);
    if (grown == NULL) {
        return false;
    }
    replay->keys = grown;
    grown[replay->key_count++] = (account_key){strdup(account), strdup(key_id), strdup(secret)};
    return true;
}

/* {"ACCOUNT": {"id", "secret"}} or a fixture file (each account's first access key). */
static bool keys_load(http_replay *replay, const char *path)
{
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (!json_is_object(root)) {
        fprintf(stderr, "billordctl replay: --keys %s: line %d: %s\n", path, error.line,
                root == NULL ? error.text : "must be a JSON object");
        json_decref(root);
        return false;
    }
    const json_t *accounts = json_object_get(root, "accounts");
    bool ok = true;
    if (json_is_array(accounts)) {
        size_t index;
        json_t *account;
        json_array_foreach((json_t *)accounts, index, account) {
            const json_t *first = json_array_get(json_object_get(account, "access_keys"), 0);
            const char *id = json_string_value(json_object_get(account, "id"));
            const char *key_id = json_string_value(json_object_get(first, "id"));
            const char *secret = json_string_value(json_object_get(first, "secret"));
            if (id != NULL && key_id != NULL && secret != NULL) {
                ok = ok && key_add(replay, id, key_id, secret);
            }
        }
    } else {
        const char *account;
        json_t *entry;
        json_object_foreach(root, account, entry) {
            const char *key_id = json_string_value(json_object_get(entry, "id"));
            const char *secret = json_string_value(json_object_get(entry, "secret"));
            if (key_id == NULL || secret == NULL) {
                fprintf(stderr, "billordctl replay: --keys %s: $.%s: needs \"id\" and \"secret\" "
                                "strings\n", path, account);
                ok = false;
                break;
            }
            ok = key_add(replay, account, key_id, secret);
        }
    }
    json_decref(root);
    return ok;
}

static const account_key *key_find(const http_replay *replay, const char *account)
{
    for (size_t i = 0; i < replay->key_count; i++) {
        if (strcmp(replay->keys[i].account, account) == 0) {
            return &replay->keys[i];
        }
    }
    return NULL;
}

/* ---- the line feeder -------------------------------------------------------------------- */

static bool inputs_open(http_replay *replay)
{
    replay->inputs = calloc(replay->args->input_count, sizeof *replay->inputs);
    if (replay->inputs == NULL) {
        return false;
    }
    for (size_t i = 0; i < replay->args->input_count; i++) {
        http_input *input = &replay->inputs[i];
        input->path = replay->args->inputs[i];
        int fd = open(input->path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            fprintf(stderr, "billordctl replay: %s: not a readable request log\n", input->path);
            if (fd >= 0) {
                close(fd);
            }
            return false;
        }
        input->bytes = (size_t)st.st_size;
        input->text = input->bytes == 0 ? NULL
                                        : mmap(NULL, input->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (input->text == MAP_FAILED) {
            fprintf(stderr, "billordctl replay: %s: cannot map: %s\n", input->path,
                    strerror(errno));
            input->text = NULL;
            return false;
        }
    }
    return true;
}

static void inputs_close(http_replay *replay)
{
    for (size_t i = 0; replay->inputs != NULL && i < replay->args->input_count; i++) {
        if (replay->inputs[i].text != NULL) {
            munmap(replay->inputs[i].text, replay->inputs[i].bytes);
        }
    }
    free(replay->inputs);
}

/* The next raw line (lock held); false at the end of every input. */
static bool next_raw(http_replay *replay, const char **out_path, const char **out_text,
                     size_t *out_bytes, uint64_t *out_line_number)
{
    while (replay->input_index < replay->args->input_count) {
        http_input *input = &replay->inputs[replay->input_index];
        if (replay->offset >= input->bytes) {
            replay->input_index++;
            replay->offset = 0;
            replay->line_number = 0;
            continue;
        }
        const char *start = input->text + replay->offset;
        const char *end = memchr(start, '\n', input->bytes - replay->offset);
        size_t bytes = end != NULL ? (size_t)(end - start) : input->bytes - replay->offset;
        replay->offset += bytes + (end != NULL ? 1 : 0);
        replay->line_number++;
        if (bytes == 0) {
            continue;
        }
        *out_path = input->path;
        *out_text = start;
        *out_bytes = bytes;
        *out_line_number = replay->line_number;
        return true;
    }
    return false;
}

static int64_t due_of(http_replay *replay, const billord_replay_line *line)
{
    if (replay->rate_per_s < 0) {
        return 0;
    }
    if (replay->rate_per_s > 0) {
        return replay->started_ns + (int64_t)((double)replay->sent * NS_PER_S / replay->rate_per_s);
    }
    if (!replay->have_first) {
        replay->have_first = true;
        replay->first_ts_ms = line->ts_ms;
    }
    int64_t offset_ms = line->ts_ms - replay->first_ts_ms;
    return replay->started_ns + (offset_ms > 0 ? offset_ms * 1000000LL : 0);
}

/* The next line to send (lock held); false when there is none or the replay stops. */
static bool next_item(http_replay *replay, http_item *item)
{
    while (!replay->stop) {
        if (!next_raw(replay, &item->path, &item->text, &item->text_bytes, &item->line_number)) {
            return false;
        }
        char error_text[BILLORD_REPLAY_ERROR_BYTES];
        if (billord_replay_line_parse(item->text, item->text_bytes, &item->line, error_text,
                                      sizeof error_text) != BILLORD_OK) {
            replay->stats->malformed++;
            fprintf(stderr, "replay: %s:%llu: %s%s\n", item->path,
                    (unsigned long long)item->line_number, error_text,
                    replay->args->strict ? "" : " (line skipped)");
            if (replay->args->strict) {
                replay->stop = replay->failed = true;
                snprintf(replay->error_text, sizeof replay->error_text, "%s:%llu: %s",
                         item->path, (unsigned long long)item->line_number, error_text);
            }
            continue;
        }
        replay->stats->lines++;
        if (item->line.account[0] == '\0' || item->line.action[0] == '\0') {
            replay->stats->skipped[item->line.account[0] == '\0'
                                       ? BILLORD_REPLAY_SKIP_UNAUTHENTICATED
                                       : BILLORD_REPLAY_SKIP_NO_ACTION]++;
            billord_replay_line_free(&item->line);
            continue;
        }
        item->due_ns = due_of(replay, &item->line);
        replay->sent++;
        return true;
    }
    return false;
}

/* ---- one request ------------------------------------------------------------------------- */

static bool is_signature_param(const char *name)
{
    static const char *const replaced[] = {"Signature", "SignatureNonce", "SignatureMethod",
                                           "SignatureVersion", "Timestamp", "AccessKeyId",
                                           "Format"};
    for (size_t i = 0; i < sizeof replaced / sizeof replaced[0]; i++) {
        if (strcmp(name, replaced[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool add(billord_params *params, const char *name, const char *value)
{
    return billord_params_add(params, name, strlen(name), value, strlen(value),
                              BILLORD_PARAM_SOURCE_BODY, NULL) == BILLORD_PARAMS_OK;
}

static bool add_common(billord_params *params, const account_key *key)
{
    uint8_t random_bytes[16];
    if (getrandom(random_bytes, sizeof random_bytes, 0) != (ssize_t)sizeof random_bytes) {
        return false;
    }
    char nonce[2 * sizeof random_bytes + 1];
    for (size_t i = 0; i < sizeof random_bytes; i++) {
        snprintf(nonce + 2 * i, 3, "%02x", random_bytes[i]);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char timestamp[BILLORD_RFC3339_BYTES_MAX];
    billord_time_format_rfc3339((int64_t)now.tv_sec * 1000, timestamp);
    return add(params, "AccessKeyId", key->key_id) && add(params, "Format", "JSON") &&
           add(params, "SignatureMethod", "HMAC-SHA1") && add(params, "SignatureVersion", "1.0") &&
           add(params, "SignatureNonce", nonce) && add(params, "Timestamp", timestamp);
}

/* The form body of a line, signed; false with a reason on failure. */
static bool build_body(const billord_replay_line *line, const account_key *key, char *body,
                       size_t body_capacity, size_t *out_bytes, const char **out_reason)
{
    static _Thread_local char arena[HTTP_ARENA_BYTES];
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    bool has_action = false, has_version = false, ok = true;
    for (uint32_t i = 0; i < line->param_count && ok; i++) {
        const char *name = line->params[i].name;
        has_action = has_action || strcmp(name, "Action") == 0;
        has_version = has_version || strcmp(name, "Version") == 0;
        ok = is_signature_param(name) || add(&params, name, line->params[i].value);
    }
    ok = ok && (has_action || add(&params, "Action", line->action)) &&
         (has_version || add(&params, "Version", SIGN_VERSION_DEFAULT)) && add_common(&params, key);
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    ok = ok && billord_sign_v1_compute(&params, "POST", key->secret, strlen(key->secret),
                                       signature) == BILLORD_SIGN_OK &&
         add(&params, "Signature", signature);
    if (!ok) {
        *out_reason = "too many parameters to sign";
        return false;
    }
    if (billord_params_encode(&params, BILLORD_PARAM_SOURCE_BODY, body, body_capacity,
                              out_bytes) != BILLORD_OK) {
        *out_reason = "the request is too large";
        return false;
    }
    return true;
}

/* ---- HTTP over one keep-alive connection ------------------------------------------------ */

static void conn_close(http_conn *conn)
{
    if (conn->fd >= 0) {
        close(conn->fd);
    }
    conn->fd = -1;
}

static bool conn_open(http_replay *replay, http_conn *conn)
{
    conn_close(conn);
    int fd = socket(replay->address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval timeout = {HTTP_IO_TIMEOUT_S, 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0 ||
        connect(fd, replay->address->ai_addr, replay->address->ai_addrlen) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    conn->fd = fd;
    conn->last_used_ns = monotonic_ns();
    return true;
}

static bool send_all(int fd, const char *bytes, size_t bytes_len)
{
    while (bytes_len > 0) {
        ssize_t sent = send(fd, bytes, bytes_len, MSG_NOSIGNAL);
        if (sent <= 0) {
            if (sent < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        bytes += sent;
        bytes_len -= (size_t)sent;
    }
    return true;
}

typedef struct http_answer {
    int status;
    bool close;
    char *body;             /* malloc'd, NUL-terminated */
    size_t body_bytes;
} http_answer;

static bool header_value(const char *head, const char *name, char *out, size_t out_bytes)
{
    size_t name_bytes = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_bytes) == 0 && start[name_bytes] == ':') {
            const char *value = start + name_bytes + 1;
            while (*value == ' ') {
                value++;
            }
            size_t value_bytes = strcspn(value, "\r");
            snprintf(out, out_bytes, "%.*s", (int)value_bytes, value);
            return true;
        }
    }
    return false;
}

/* Read one answer; false on EOF or a malformed answer (*out_nothing: not one byte came). */
static bool read_answer(int fd, http_answer *out, bool *out_nothing)
{
    static _Thread_local char head[HTTP_HEAD_BYTES_MAX + 1];
    size_t used = 0;
    char *end = NULL;
    *out_nothing = true;
    while (end == NULL) {
        if (used == HTTP_HEAD_BYTES_MAX) {
            return false;
        }
        ssize_t got = recv(fd, head + used, HTTP_HEAD_BYTES_MAX - used, 0);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        *out_nothing = false;
        used += (size_t)got;
        head[used] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    size_t head_bytes = (size_t)(end + 4 - head);
    char length_text[32] = "", connection[32] = "";
    if (sscanf(head, "HTTP/1.%*d %d", &out->status) != 1 ||
        !header_value(head, "Content-Length", length_text, sizeof length_text)) {
        return false;
    }
    out->close = header_value(head, "Connection", connection, sizeof connection) &&
                 strcasecmp(connection, "close") == 0;
    size_t length = strtoul(length_text, NULL, 10);
    if (length > HTTP_RESPONSE_BYTES_MAX || (out->body = malloc(length + 1)) == NULL) {
        return false;
    }
    size_t have = used - head_bytes < length ? used - head_bytes : length;
    memcpy(out->body, head + head_bytes, have);
    while (have < length) {
        ssize_t got = recv(fd, out->body + have, length - have, 0);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) {
                continue;
            }
            free(out->body);
            out->body = NULL;
            return false;
        }
        have += (size_t)got;
    }
    out->body[length] = '\0';
    out->body_bytes = length;
    return true;
}

/* Send one request and read its answer, reconnecting once when a kept-alive connection turns
 * out closed before answering (the server never saw the request then). */
static bool exchange(http_replay *replay, http_conn *conn, const char *request,
                     size_t request_bytes, http_answer *out)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = conn->fd >= 0;
        if (conn->fd >= 0 && monotonic_ns() - conn->last_used_ns > HTTP_IDLE_RECONNECT_NS) {
            conn_close(conn);
            reused = false;
        }
        if (conn->fd < 0 && !conn_open(replay, conn)) {
            return false;
        }
        bool nothing = true;
        bool ok = send_all(conn->fd, request, request_bytes) &&
                  read_answer(conn->fd, out, &nothing);
        conn->last_used_ns = monotonic_ns();
        if (ok) {
            if (out->close) {
                conn_close(conn);
            }
            return true;
        }
        conn_close(conn);
        if (!reused || !nothing) {
            return false;
        }
    }
    return false;
}

/* ---- comparing --------------------------------------------------------------------------- */

static char *without_request_id(const json_t *body)
{
    if (!json_is_object(body)) {
        return billord_replay_json_canonical(body);
    }
    json_t *copy = json_deep_copy(body);
    json_object_del(copy, "RequestId");
    char *text = billord_replay_json_canonical(copy);
    json_decref(copy);
    return text;
}

static void account_answer(http_replay *replay, const http_item *item, const http_answer *answer)
{
    json_t *body = json_loadb(answer->body, answer->body_bytes, 0, NULL);
    const char *code_text = json_string_value(json_object_get(body, "Code"));
    billord_api_code code = code_text == NULL && answer->status == 200
                                ? BILLORD_API_OK
                                : billord_api_code_find(code_text != NULL ? code_text : "",
                                                        answer->status);
    pthread_mutex_lock(&replay->lock);
    replay->stats->requests++;
    billord_replay_stats_count(replay->stats, item->line.action, code);
    if (replay->args->expect && item->line.has_response) {
        replay->stats->compared++;
        char *mine = body != NULL ? without_request_id(body) : NULL;
        char *theirs = without_request_id(item->line.response_body);
        if (answer->status != item->line.response_status || mine == NULL || theirs == NULL ||
            strcmp(mine, theirs) != 0) {
            replay->stats->divergences++;
            printf("divergence: %s:%llu\n  request:  %.*s\n  recorded: %d %s\n  replayed: %d %s\n",
                   item->path, (unsigned long long)item->line_number, (int)item->text_bytes,
                   item->text, item->line.response_status, theirs != NULL ? theirs : "?",
                   answer->status, mine != NULL ? mine : answer->body);
        }
        free(mine);
        free(theirs);
    }
    pthread_mutex_unlock(&replay->lock);
    json_decref(body);
}

static void send_item(http_replay *replay, http_conn *conn, const http_item *item, char *request,
                      size_t request_capacity)
{
    const account_key *key = key_find(replay, item->line.account);
    const char *reason = "no key for the account in --keys";
    size_t body_bytes = 0;
    bool ok = key != NULL && build_body(&item->line, key, request + HTTP_HEAD_RESERVE_BYTES,
                                        request_capacity - HTTP_HEAD_RESERVE_BYTES, &body_bytes, &reason);
    http_answer answer = {0};
    if (ok) {
        char head[HTTP_HEAD_RESERVE_BYTES];
        int head_bytes = snprintf(head, sizeof head,
                                  "POST / HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: "
                                  "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n",
                                  replay->host, replay->port, body_bytes);
        char *start = request + HTTP_HEAD_RESERVE_BYTES - (size_t)head_bytes;
        memcpy(start, head, (size_t)head_bytes);
        reason = "no answer from the server";
        ok = exchange(replay, conn, start, (size_t)head_bytes + body_bytes, &answer);
    }
    if (ok) {
        account_answer(replay, item, &answer);
    } else {
        pthread_mutex_lock(&replay->lock);
        fprintf(stderr, "replay: %s:%llu: %s\n", item->path, (unsigned long long)item->line_number,
                reason);
        replay->stats->divergences += replay->args->expect ? 1 : 0;
        replay->failed = true;
        pthread_mutex_unlock(&replay->lock);
    }
    free(answer.body);
}

static void *worker_main(void *arg)
{
    http_replay *replay = arg;
    http_conn conn = {-1, 0};
    char *request = malloc(HTTP_BODY_BYTES_MAX);
    while (request != NULL) {
        http_item item;
        pthread_mutex_lock(&replay->lock);
        bool have = next_item(replay, &item);
        pthread_mutex_unlock(&replay->lock);
        if (!have) {
            break;
        }
        sleep_until(item.due_ns);
        send_item(replay, &conn, &item, request, HTTP_BODY_BYTES_MAX);
        pthread_mutex_lock(&replay->lock);
        billord_replay_line_free(&item.line);
        pthread_mutex_unlock(&replay->lock);
    }
    free(request);
    conn_close(&conn);
    return NULL;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static bool target_parse(http_replay *replay, const char *target)
{
    static const char scheme[] = "http://";
    if (strncmp(target, scheme, sizeof scheme - 1) != 0) {
        return false;
    }
    const char *host = target + sizeof scheme - 1;
    const char *colon = strrchr(host, ':');
    if (colon == NULL || colon == host || (size_t)(colon - host) >= sizeof replay->host) {
        return false;
    }
    snprintf(replay->host, sizeof replay->host, "%.*s", (int)(colon - host), host);
    snprintf(replay->port, sizeof replay->port, "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    return getaddrinfo(replay->host, replay->port, &hints, &replay->address) == 0;
}

static bool rate_parse(http_replay *replay, const char *rate)
{
    if (rate == NULL) {
        replay->rate_per_s = 0;
        return true;
    }
    if (strcmp(rate, "max") == 0) {
        replay->rate_per_s = -1;
        return true;
    }
    char *end = NULL;
    double value = strtod(rate, &end);
    replay->rate_per_s = value;
    return end != rate && *end == '\0' && value > 0;
}

static int run_workers(http_replay *replay, size_t worker_count)
{
    pthread_t workers[CTL_REPLAY_CONCURRENCY_MAX];
    size_t started = 0;
    replay->started_ns = monotonic_ns();
    for (; started < worker_count; started++) {
        if (pthread_create(&workers[started], NULL, worker_main, replay) != 0) {
            break;
        }
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(workers[i], NULL);
    }
    replay->stats->elapsed_s = (double)(monotonic_ns() - replay->started_ns) / (double)NS_PER_S;
    return started == 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}

int ctl_replay_http(const ctl_replay_args *args)
{
    http_replay replay = {.args = args};
    pthread_mutex_init(&replay.lock, NULL);
    replay.stats = calloc(1, sizeof *replay.stats);
    int status = CTL_EXIT_OK;
    if (!target_parse(&replay, args->target)) {
        fprintf(stderr, "billordctl replay: --target %s: must be http://HOST:PORT of a reachable "
                        "host\n", args->target);
        status = CTL_EXIT_USAGE;
    } else if (!rate_parse(&replay, args->rate)) {
        fprintf(stderr, "billordctl replay: --rate %s: must be a positive number or max\n",
                args->rate);
        status = CTL_EXIT_USAGE;
    } else if (replay.stats == NULL || !keys_load(&replay, args->keys_path) ||
               !inputs_open(&replay)) {
        status = CTL_EXIT_FAILED;
    } else {
        status = run_workers(&replay, args->concurrency == 0 ? 1 : (size_t)args->concurrency);
        ctl_replay_print_summary(stdout, replay.stats, args->expect, args->as_json);
        if (replay.error_text[0] != '\0') {
            fprintf(stderr, "billordctl replay: %s\n", replay.error_text);
        }
        if (replay.failed || replay.stats->divergences > 0) {
            status = CTL_EXIT_FAILED;
        }
    }
    inputs_close(&replay);
    for (size_t i = 0; i < replay.key_count; i++) {
        free(replay.keys[i].account);
        free(replay.keys[i].key_id);
        free(replay.keys[i].secret);
    }
    free(replay.keys);
    free(replay.stats);
    if (replay.address != NULL) {
        freeaddrinfo(replay.address);
    }
    pthread_mutex_destroy(&replay.lock);
    return status;
}
