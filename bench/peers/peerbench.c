/*
 * peerbench: the billord idempotency workload against PostgreSQL (libpq) or Redis (RESP over a
 * plain socket), for side-by-side numbers with build/billord-bench and build/billord-httpbench.
 *
 * Each request is one RenewInstance of account 8000000000000008 with a ClientToken: claim the
 * (account, token) key with the request's fingerprint, create the order, store the response,
 * all in one durable transaction on the server (PostgreSQL: the function renew_instance of
 * schema.sql, one round trip; Redis: the Lua script renew.lua by EVALSHA). A replay returns the
 * stored response, a mismatch (same token, other Period) IdempotenceParamNotMatch.
 *
 * The request stream of each client is the one billord-bench's producer of the same index makes
 * (same xorshift seed, same choice of new/replay/mismatch, same token numbers and instances), so
 * a fixed-count run creates exactly as many orders as billord-bench with the same --threads,
 * --commands and --mix. One connection per client thread, one request in flight on each.
 *
 * Built by bench/peers/run-all.sh with cc: not part of the billord build (needs only libpq).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PB_ACCOUNT "8000000000000008"
#define PB_TOKEN_BYTES 40u
#define PB_ARG_BYTES 64u
#define PB_REQUESTS_MAX 50000000ULL  /* a hard cap on any run */
#define PB_SECONDS_MAX 3600.0
#define PB_CLIENTS_MAX 1024u
#define PB_IO_BYTES 4096u
#define PB_SHA_BYTES 41u

typedef enum { PB_REDIS, PB_POSTGRES } pb_system;

typedef struct pb_options {
    pb_system system;
    const char *host;
    unsigned port;
    const char *dbname;
    const char *user;
    const char *lua_path;
    uint32_t clients;
    uint64_t requests;
    double seconds;
    uint32_t instances;
    uint32_t percent_replay;
    uint32_t percent_mismatch;
    bool reset;
} pb_options;

typedef struct pb_client {
    const pb_options *options;
    uint32_t index;
    uint64_t share;
    uint64_t seed;
    double deadline;
    const char *sha;
    uint32_t *latencies_us;
    uint64_t done;
    uint64_t created;
    uint64_t replays;
    uint64_t mismatches;
    uint64_t errors;
    char first_error[256];
    /* Redis */
    int fd;
    char in[PB_IO_BYTES];
    size_t in_start;
    size_t in_end;
    /* PostgreSQL */
    PGconn *pg;
} pb_client;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peerbench --system redis|postgres --port P [options]\n"
            "The billord idempotency workload (claim key + fingerprint, create order, store\n"
            "response, one transaction) against PostgreSQL or Redis on 127.0.0.1.\n"
            "  --system S        redis or postgres\n"
            "  --host A          server address (default 127.0.0.1; loopback only)\n"
            "  --port P          server port\n"
            "  --dbname D        PostgreSQL database (default bench)\n"
            "  --user U          PostgreSQL user (default bench)\n"
            "  --lua FILE        Redis: the script to SCRIPT LOAD (default bench/peers/renew.lua)\n"
            "  --clients N       connections, one thread and one request in flight each (default 8)\n"
            "  --requests N      requests in total, split over the clients as billord-bench does\n"
            "                    (default 20000; at most %llu)\n"
            "  --seconds S       also stop after S seconds (default: none; at most %.0f)\n"
            "  --instances N     instances the renewals spread over (default 10000)\n"
            "  --mix SPEC        replay=R,mismatch=M percentages; the rest are new tokens\n"
            "  --reset           empty the store first (TRUNCATE / FLUSHALL)\n"
            "  --help            this text\n"
            "Prints key=value lines: requests, seconds, req_per_s, created, replays, mismatches,\n"
            "errors, orders_created (counted in the store afterwards), p50_ms, p99_ms.\n"
            "Exit 0; 1 when a request failed or the store's order count differs from the\n"
            "new-order answers; 2 on bad usage.\n",
            PB_REQUESTS_MAX, PB_SECONDS_MAX);
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* billord-bench's generator, step for step (bench/billord-bench.c next_random). */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static bool parse_mix(const char *text, pb_options *options)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", text);
    char *save = NULL;
    for (char *part = strtok_r(copy, ",", &save); part != NULL; part = strtok_r(NULL, ",", &save)) {
        unsigned value = 0;
        if (sscanf(part, "replay=%u", &value) == 1) {
            options->percent_replay = value;
        } else if (sscanf(part, "mismatch=%u", &value) == 1) {
            options->percent_mismatch = value;
        } else {
            return false;
        }
    }
    return options->percent_replay + options->percent_mismatch <= 100;
}

static int parse_options(int argc, char **argv, pb_options *options)
{
    enum { O_SYSTEM = 256, O_HOST, O_PORT, O_DBNAME, O_USER, O_LUA, O_CLIENTS, O_REQUESTS,
           O_SECONDS, O_INSTANCES, O_MIX, O_RESET, O_HELP };
    static const struct option long_options[] = {
        {"system", required_argument, NULL, O_SYSTEM},   {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},       {"dbname", required_argument, NULL, O_DBNAME},
        {"user", required_argument, NULL, O_USER},       {"lua", required_argument, NULL, O_LUA},
        {"clients", required_argument, NULL, O_CLIENTS}, {"requests", required_argument, NULL, O_REQUESTS},
        {"seconds", required_argument, NULL, O_SECONDS}, {"instances", required_argument, NULL, O_INSTANCES},
        {"mix", required_argument, NULL, O_MIX},         {"reset", no_argument, NULL, O_RESET},
        {"help", no_argument, NULL, O_HELP},             {NULL, 0, NULL, 0}};
    *options = (pb_options){.system = PB_REDIS, .host = "127.0.0.1", .dbname = "bench", .user = "bench",
                            .lua_path = "bench/peers/renew.lua", .clients = 8, .requests = 20000,
                            .instances = 10000};
    bool have_system = false;
    int option;
    while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        bool ok = true;
        switch (option) {
        case O_SYSTEM:
            have_system = true;
            if (strcmp(optarg, "redis") == 0) {
                options->system = PB_REDIS;
            } else if (strcmp(optarg, "postgres") == 0) {
                options->system = PB_POSTGRES;
            } else {
                ok = false;
            }
            break;
        case O_HOST: options->host = optarg; ok = strncmp(optarg, "127.", 4) == 0; break;
        case O_PORT: options->port = (unsigned)strtoul(optarg, NULL, 10); ok = options->port > 0 && options->port < 65536; break;
        case O_DBNAME: options->dbname = optarg; break;
        case O_USER: options->user = optarg; break;
        case O_LUA: options->lua_path = optarg; break;
        case O_CLIENTS: options->clients = (uint32_t)strtoul(optarg, NULL, 10); ok = options->clients > 0 && options->clients <= PB_CLIENTS_MAX; break;
        case O_REQUESTS: options->requests = strtoull(optarg, NULL, 10); ok = options->requests > 0 && options->requests <= PB_REQUESTS_MAX; break;
        case O_SECONDS: options->seconds = strtod(optarg, NULL); ok = options->seconds > 0 && options->seconds <= PB_SECONDS_MAX; break;
        case O_INSTANCES: options->instances = (uint32_t)strtoul(optarg, NULL, 10); ok = options->instances > 0; break;
        case O_MIX: ok = parse_mix(optarg, options); break;
        case O_RESET: options->reset = true; break;
        case O_HELP: usage(stdout); return 1;
        default: ok = false; break;
        }
        if (!ok) {
            fprintf(stderr, "peerbench: bad option or value (see --help)\n");
            return 2;
        }
    }
    if (optind != argc || !have_system || options->port == 0) {
        fprintf(stderr, "peerbench: --system and --port are required, no other arguments (see --help)\n");
        return 2;
    }
    return 0;
}

/* ---- Redis: RESP over a socket ------------------------------------------------------------- */

static int redis_connect(const pb_options *options)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)options->port)};
    if (inet_pton(AF_INET, options->host, &address.sin_addr) != 1) {
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *data, size_t bytes)
{
    while (bytes > 0) {
        ssize_t sent = send(fd, data, bytes, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            return false;
        }
        data += sent;
        bytes -= (size_t)sent;
    }
    return true;
}

/* One RESP command from argc strings. */
static bool redis_send(pb_client *c, int argc, const char *const *argv)
{
    char buffer[PB_IO_BYTES * 4];
    size_t at = 0;
    int n = snprintf(buffer, sizeof buffer, "*%d\r\n", argc);
    if (n < 0) {
        return false;
    }
    at = (size_t)n;
    for (int i = 0; i < argc; i++) {
        size_t length = strlen(argv[i]);
        n = snprintf(buffer + at, sizeof buffer - at, "$%zu\r\n", length);
        if (n < 0 || at + (size_t)n + length + 2 >= sizeof buffer) {
            return false;
        }
        at += (size_t)n;
        memcpy(buffer + at, argv[i], length);
        at += length;
        memcpy(buffer + at, "\r\n", 2);
        at += 2;
    }
    return send_all(c->fd, buffer, at);
}

/* A line of the reply (without CRLF) into line; false on EOF or error. */
static bool redis_line(pb_client *c, char *line, size_t capacity)
{
    size_t length = 0;
    for (;;) {
        while (c->in_start < c->in_end) {
            char ch = c->in[c->in_start++];
            if (ch == '\n' && length > 0 && line[length - 1] == '\r') {
                line[length - 1] = '\0';
                return true;
            }
            if (length + 1 >= capacity) {
                return false;
            }
            line[length++] = ch;
        }
        ssize_t got = recv(c->fd, c->in, sizeof c->in, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        c->in_start = 0;
        c->in_end = (size_t)got;
    }
}

/* Read `bytes` bytes plus CRLF of a bulk string into out (truncated to capacity). */
static bool redis_bulk(pb_client *c, size_t bytes, char *out, size_t capacity)
{
    size_t want = bytes + 2, copied = 0;
    while (want > 0) {
        if (c->in_start == c->in_end) {
            ssize_t got = recv(c->fd, c->in, sizeof c->in, 0);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got <= 0) {
                return false;
            }
            c->in_start = 0;
            c->in_end = (size_t)got;
        }
        size_t take = c->in_end - c->in_start < want ? c->in_end - c->in_start : want;
        for (size_t i = 0; i < take; i++) {
            if (copied + 1 < capacity && copied < bytes) {
                out[copied++] = c->in[c->in_start + i];
            }
        }
        c->in_start += take;
        want -= take;
    }
    if (capacity > 0) {
        out[copied] = '\0';
    }
    return true;
}

/*
 * A reply: integers into *integer, the first bulk or status string into text. Arrays are read
 * flat (the script returns {code, body}). @return false on I/O; an error reply sets *is_error.
 */
static bool redis_reply(pb_client *c, long long *integer, char *text, size_t capacity, bool *is_error)
{
    char line[512];
    int pending = 1;
    bool have_integer = false, have_text = false;
    *is_error = false;
    while (pending > 0) {
        if (!redis_line(c, line, sizeof line)) {
            return false;
        }
        pending--;
        char scratch[8];
        switch (line[0]) {
        case '*': pending += atoi(line + 1) > 0 ? atoi(line + 1) : 0; break;
        case ':':
            if (!have_integer) {
                *integer = atoll(line + 1);
                have_integer = true;
            }
            break;
        case '+':
        case '-':
            *is_error = *is_error || line[0] == '-';
            if (!have_text) {
                size_t length = strnlen(line + 1, capacity - 1);
                memcpy(text, line + 1, length);
                text[length] = '\0';
                have_text = true;
            }
            break;
        case '$': {
            long long length = atoll(line + 1);
            if (length >= 0) {
                bool ok = have_text ? redis_bulk(c, (size_t)length, scratch, sizeof scratch)
                                    : redis_bulk(c, (size_t)length, text, capacity);
                if (!ok) {
                    return false;
                }
                have_text = true;
            }
            break;
        }
        default: return false;
        }
    }
    return true;
}

static bool redis_simple(pb_client *c, int argc, const char *const *argv, long long *integer, char *text,
                         size_t capacity)
{
    bool is_error = false;
    text[0] = '\0';
    if (!redis_send(c, argc, argv) || !redis_reply(c, integer, text, capacity, &is_error)) {
        snprintf(text, capacity, "I/O error");
        return false;
    }
    return !is_error;
}

/* ---- PostgreSQL ----------------------------------------------------------------------------- */

static PGconn *pg_connect(const pb_options *options)
{
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%u dbname=%s user=%s connect_timeout=10",
             options->host, options->port, options->dbname, options->user);
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "peerbench: postgres: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    PGresult *result = PQprepare(pg, "renew",
                                 "SELECT status, replay FROM renew_instance($1, $2, $3, $4, $5, $6)", 6, NULL);
    bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok) {
        fprintf(stderr, "peerbench: postgres: prepare: %s", PQerrorMessage(pg));
    }
    PQclear(result);
    if (!ok) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* One statement returning one integer (or none): for reset and counting. */
static bool pg_scalar(PGconn *pg, const char *sql, long long *value)
{
    PGresult *result = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(result);
    bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (ok && status == PGRES_TUPLES_OK && PQntuples(result) == 1 && value != NULL) {
        *value = atoll(PQgetvalue(result, 0, 0));
    }
    if (!ok) {
        fprintf(stderr, "peerbench: postgres: %s: %s", sql, PQerrorMessage(pg));
    }
    PQclear(result);
    return ok;
}

/* ---- The workload --------------------------------------------------------------------------- */

typedef enum { PB_NEW, PB_REPLAY, PB_MISMATCH, PB_ERROR } pb_answer;

static void note_error(pb_client *c, const char *what)
{
    if (c->errors++ == 0) {
        snprintf(c->first_error, sizeof c->first_error, "%s", what);
    }
}

static pb_answer send_redis(pb_client *c, const char *token, const char *instance, const char *period,
                            const char *request_id)
{
    char key[PB_ARG_BYTES + PB_TOKEN_BYTES];
    snprintf(key, sizeof key, "idem:%s:%s", PB_ACCOUNT, token);
    const char *argv[] = {"EVALSHA", c->sha, "1", key, PB_ACCOUNT, token, instance, period, "Week", request_id};
    long long code = -1;
    char text[256];
    if (!redis_simple(c, 10, argv, &code, text, sizeof text)) {
        note_error(c, text);
        return PB_ERROR;
    }
    switch (code) {
    case 0: return PB_NEW;
    case 1: return PB_REPLAY;
    case 2: return PB_MISMATCH;
    default: note_error(c, "unexpected script answer"); return PB_ERROR;
    }
}

static pb_answer send_postgres(pb_client *c, const char *token, const char *instance, const char *period,
                               const char *request_id)
{
    const char *values[6] = {PB_ACCOUNT, token, instance, period, "Week", request_id};
    PGresult *result = PQexecPrepared(c->pg, "renew", 6, values, NULL, NULL, 0);
    pb_answer answer = PB_ERROR;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
        int status = atoi(PQgetvalue(result, 0, 0));
        bool replay = PQgetvalue(result, 0, 1)[0] == 't';
        answer = status == 200 ? (replay ? PB_REPLAY : PB_NEW) : status == 400 ? PB_MISMATCH : PB_ERROR;
        if (answer == PB_ERROR) {
            note_error(c, "unexpected status");
        }
    } else {
        note_error(c, PQerrorMessage(c->pg));
    }
    PQclear(result);
    return answer;
}

static void *client_main(void *arg)
{
    pb_client *c = arg;
    const pb_options *options = c->options;
    uint64_t issued = 0;
    for (uint64_t i = 0; i < c->share; i++) {
        if (options->seconds > 0 && (i & 7u) == 0 && seconds_now() >= c->deadline) {
            break;
        }
        /* Exactly billord-bench's next_command (without the dup kind). */
        uint32_t roll = (uint32_t)(next_random(&c->seed) % 100);
        const char *period = "1";
        uint64_t token_number = 0;
        if (roll < options->percent_replay + options->percent_mismatch && issued > 0) {
            token_number = next_random(&c->seed) % issued;
            period = roll < options->percent_replay ? "1" : "2";
        } else {
            token_number = issued++;
        }
        char token[PB_TOKEN_BYTES], instance[32], request_id[48];
        snprintf(token, sizeof token, "t%u-%" PRIu64, c->index, token_number);
        snprintf(instance, sizeof instance, "i-bench%07u",
                 (uint32_t)((token_number * 2654435761ULL + c->index * 40503ULL) % options->instances));
        snprintf(request_id, sizeof request_id, "00000000-0000-4000-8000-%012" PRIX64,
                 (uint64_t)((((uint64_t)c->index << 40) | i) & 0xFFFFFFFFFFFFu));
        double started = seconds_now();
        pb_answer answer = options->system == PB_REDIS ? send_redis(c, token, instance, period, request_id)
                                                       : send_postgres(c, token, instance, period, request_id);
        double us = (seconds_now() - started) * 1e6;
        c->latencies_us[c->done++] = us > 4e9 ? 4000000000u : (uint32_t)us;
        c->created += answer == PB_NEW;
        c->replays += answer == PB_REPLAY;
        c->mismatches += answer == PB_MISMATCH;
        if (answer == PB_ERROR && c->errors > 100) {
            break;  /* a broken connection: stop this client */
        }
    }
    return NULL;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double percentile_ms(const uint32_t *sorted, uint64_t count, double fraction)
{
    if (count == 0) {
        return 0.0;
    }
    uint64_t rank = (uint64_t)ceil(fraction * (double)count);
    return sorted[rank == 0 ? 0 : rank - 1] / 1000.0;
}

static bool load_script(const pb_options *options, char *sha)
{
    FILE *file = fopen(options->lua_path, "r");
    if (file == NULL) {
        fprintf(stderr, "peerbench: %s: %s\n", options->lua_path, strerror(errno));
        return false;
    }
    char script[PB_IO_BYTES * 2];
    size_t bytes = fread(script, 1, sizeof script - 1, file);
    fclose(file);
    script[bytes] = '\0';
    pb_client c = {.options = options, .fd = redis_connect(options)};
    if (c.fd < 0) {
        fprintf(stderr, "peerbench: cannot connect to redis at %s:%u\n", options->host, options->port);
        return false;
    }
    long long ignored = 0;
    char text[256];
    bool ok = true;
    if (options->reset) {
        const char *flush[] = {"FLUSHALL"};
        ok = redis_simple(&c, 1, flush, &ignored, text, sizeof text);
    }
    const char *load[] = {"SCRIPT", "LOAD", script};
    ok = ok && redis_simple(&c, 3, load, &ignored, text, sizeof text) && strlen(text) == PB_SHA_BYTES - 1;
    if (!ok) {
        fprintf(stderr, "peerbench: redis: %s\n", text);
    }
    snprintf(sha, PB_SHA_BYTES, "%s", text);
    close(c.fd);
    return ok;
}

/* Orders in the store after the run, and a consistency check of the keys beside them. */
static bool count_orders(const pb_options *options, long long *orders)
{
    if (options->system == PB_REDIS) {
        pb_client c = {.options = options, .fd = redis_connect(options)};
        if (c.fd < 0) {
            return false;
        }
        char text[64];
        long long keys = 0, ignored = 0;
        const char *get[] = {"GET", "orders:next_id"};
        const char *dbsize[] = {"DBSIZE"};
        bool ok = redis_simple(&c, 2, get, &ignored, text, sizeof text);  /* a bulk string, or nil */
        *orders = atoll(text);
        ok = ok && redis_simple(&c, 1, dbsize, &keys, text, sizeof text);
        close(c.fd);
        /* one key per token and one hash per order, plus the id counter */
        if (ok && keys != (*orders > 0 ? 2 * *orders + 1 : 0)) {
            fprintf(stderr, "peerbench: redis holds %lld keys for %lld orders\n", keys, *orders);
            return false;
        }
        return ok;
    }
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%u dbname=%s user=%s", options->host, options->port,
             options->dbname, options->user);
    PGconn *pg = PQconnectdb(conninfo);
    long long keys = -1, unanswered = -1;
    bool ok = PQstatus(pg) == CONNECTION_OK && pg_scalar(pg, "SELECT count(*) FROM orders", orders) &&
              pg_scalar(pg, "SELECT count(*) FROM idempotency_keys", &keys) &&
              pg_scalar(pg, "SELECT count(*) FROM idempotency_keys WHERE response_code IS NULL", &unanswered);
    PQfinish(pg);
    if (ok && (keys != *orders || unanswered != 0)) {
        fprintf(stderr, "peerbench: postgres holds %lld keys (%lld without a response) for %lld orders\n", keys,
                unanswered, *orders);
        return false;
    }
    return ok;
}

static bool reset_postgres(const pb_options *options)
{
    char conninfo[512];
    snprintf(conninfo, sizeof conninfo, "host=%s port=%u dbname=%s user=%s", options->host, options->port,
             options->dbname, options->user);
    PGconn *pg = PQconnectdb(conninfo);
    bool ok = PQstatus(pg) == CONNECTION_OK &&
              pg_scalar(pg, "TRUNCATE orders, idempotency_keys RESTART IDENTITY", NULL) &&
              pg_scalar(pg, "CHECKPOINT", NULL);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "peerbench: postgres: %s", PQerrorMessage(pg));
    }
    PQfinish(pg);
    return ok;
}

int main(int argc, char **argv)
{
    pb_options options;
    int parsed = parse_options(argc, argv, &options);
    if (parsed != 0) {
        return parsed == 1 ? 0 : 2;
    }
    char sha[PB_SHA_BYTES] = "";
    if (options.system == PB_REDIS ? !load_script(&options, sha) : options.reset && !reset_postgres(&options)) {
        return 1;
    }
    pb_client *clients = calloc(options.clients, sizeof *clients);
    pthread_t *threads = calloc(options.clients, sizeof *threads);
    uint32_t *latencies = calloc(options.requests, sizeof *latencies);
    if (clients == NULL || threads == NULL || latencies == NULL) {
        fprintf(stderr, "peerbench: out of memory\n");
        return 1;
    }
    /* Connect everyone first: connection set-up is not part of the measured time. */
    uint64_t offset = 0;
    for (uint32_t t = 0; t < options.clients; t++) {
        pb_client *c = &clients[t];
        c->options = &options;
        c->index = t;
        c->share = options.requests / options.clients + (t < options.requests % options.clients ? 1 : 0);
        c->seed = 0x9E3779B97F4A7C15ULL * (t + 1);
        c->sha = sha;
        c->latencies_us = latencies + offset;
        offset += c->share;
        if (options.system == PB_REDIS) {
            c->fd = redis_connect(&options);
            if (c->fd < 0) {
                fprintf(stderr, "peerbench: client %u cannot connect to redis\n", t);
                return 1;
            }
        } else if ((c->pg = pg_connect(&options)) == NULL) {
            return 1;
        }
    }
    double started = seconds_now();
    for (uint32_t t = 0; t < options.clients; t++) {
        clients[t].deadline = started + options.seconds;
        pthread_create(&threads[t], NULL, client_main, &clients[t]);
    }
    pb_client total = {0};
    for (uint32_t t = 0; t < options.clients; t++) {
        pthread_join(threads[t], NULL);
    }
    double seconds = seconds_now() - started;
    /* Compact the latencies of clients that stopped early at the deadline. */
    uint64_t at = 0;
    for (uint32_t t = 0; t < options.clients; t++) {
        pb_client *c = &clients[t];
        memmove(latencies + at, c->latencies_us, c->done * sizeof *latencies);
        at += c->done;
        total.done += c->done;
        total.created += c->created;
        total.replays += c->replays;
        total.mismatches += c->mismatches;
        total.errors += c->errors;
        if (c->errors > 0) {
            fprintf(stderr, "peerbench: client %u: %" PRIu64 " errors, first: %s\n", t, c->errors, c->first_error);
        }
        if (c->fd > 0) {
            close(c->fd);
        }
        if (c->pg != NULL) {
            PQfinish(c->pg);
        }
    }
    qsort(latencies, total.done, sizeof *latencies, compare_u32);
    long long orders = -1;
    bool counted = count_orders(&options, &orders);
    printf("system=%s\nclients=%u\nmix=replay=%u,mismatch=%u\n", options.system == PB_REDIS ? "redis" : "postgres",
           options.clients, options.percent_replay, options.percent_mismatch);
    printf("requests=%" PRIu64 "\nseconds=%.3f\nreq_per_s=%.1f\n", total.done, seconds,
           seconds > 0 ? (double)total.done / seconds : 0.0);
    printf("created=%" PRIu64 "\nreplays=%" PRIu64 "\nmismatches=%" PRIu64 "\nerrors=%" PRIu64 "\n", total.created,
           total.replays, total.mismatches, total.errors);
    printf("orders_created=%lld\np50_ms=%.3f\np99_ms=%.3f\n", orders, percentile_ms(latencies, total.done, 0.50),
           percentile_ms(latencies, total.done, 0.99));
    bool ok = counted && total.errors == 0 && (!options.reset || (uint64_t)orders == total.created);
    if (counted && options.reset && (uint64_t)orders != total.created) {
        fprintf(stderr, "peerbench: the store holds %lld orders, the answers said %" PRIu64 " new\n", orders,
                total.created);
    }
    free(clients);
    free(threads);
    free(latencies);
    return ok ? 0 : 1;
}
