/*
 * billord-httpbench: requests per second and latency of `billord serve` over HTTP (SPEC
 * section 9), with the requests pop-core sends: V1-signed GET RenewInstance calls.
 *
 * --connections keep-alive connections, one thread each, one request in flight per
 * connection. Each request carries a fresh SignatureNonce and the current Timestamp, and is
 * one of the --mix: a new ClientToken (a new order), a replay of a token this connection
 * used before (same parameters: the memoized answer), or a mismatch (the token again with
 * another Period: IdempotenceParamNotMatch).
 *
 * Closed loop by default: each connection sends its next request when the answer arrives.
 * With --rate R the load is open loop: R requests/s over all connections on a fixed
 * schedule, and latency counts from the scheduled send time, so a slow server's queueing
 * shows up in the percentiles (no coordinated omission) as long as connections suffice.
 *
 * Target: --target HOST:PORT (a running server, account 1234567890123456 of
 * fixtures/demo.json or of a fixture made like ours), or --server PATH (default): a fresh
 * temp data directory, a generated fixture of --instances instances and a huge balance,
 * `PATH serve --listen 127.0.0.1:0`, stopped with SIGTERM at the end (exit status checked).
 *
 * Output: req/s, counts per HTTP status and Code, latency p50/p90/p99/p99.9/max; a CSV row
 * with --csv. The last line is http_req_per_s=N.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <billord/http_params.h>
#include <billord/http_sign.h>
#include <billord/server.h>

/* ---- Limits and defaults ------------------------------------------------------------------ */

#define HB_CONNECTIONS_DEFAULT 32u
#define HB_CONNECTIONS_MAX BILLORD_SERVER_CONNECTIONS_MAX
#define HB_REQUESTS_DEFAULT 20000u
#define HB_INSTANCES_DEFAULT 1000u
#define HB_INSTANCES_MAX 1000000u
#define HB_SERVER_DEFAULT "build/billord"
#define HB_ACCOUNT "1234567890123456"
#define HB_KEY_ID "LTAI5tDemoKey0001"
#define HB_SECRET "demo-secret-0001"
#define HB_INSTANCE_PREFIX_DEFAULT "i-bench"
/* Nonces a server started by --server remembers (billord serve --nonce-capacity): long
 * runs stay below it; about 160 MiB. */
#define HB_SERVER_NONCES (1u << 22)
#define HB_BALANCE_MICROS "1000000000000000000"   /* 10^12 units: never runs short */
#define HB_INSTANCE_TERM_DAYS 30
#define HB_SECONDS_PER_DAY 86400

#define HB_ID_BYTES 48u               /* instance ids, nonces */
#define HB_RUN_ID_BYTES 17u           /* 16 hex digits and a NUL */
#define HB_TOKEN_BYTES (BILLORD_CLIENT_TOKEN_BYTES_MAX + 1u)
#define HB_HOST_BYTES 64u
#define HB_HOST_HEADER_BYTES (HB_HOST_BYTES + 8u)   /* HOST:PORT */
#define HB_PATH_BYTES 512u
#define HB_LINE_BYTES 1024u
#define HB_ARENA_BYTES 2048u          /* the ~13 parameters of one request */
#define HB_QUERY_BYTES 4096u
#define HB_REQUEST_BYTES 8192u
#define HB_RESPONSE_BYTES 16384u      /* billord's answers are a few hundred bytes */
#define HB_CODE_BYTES 64u
#define HB_OUTCOMES_MAX 32u           /* distinct (status, Code) pairs counted */
#define HB_RING_TOKENS 256u           /* tokens per connection kept for replays/mismatches */
#define HB_PERCENT 100u
#define HB_LATENCIES_INITIAL 4096u
#define HB_START_TIMEOUT_MS 60000     /* seeding a big fixture takes a while */
#define HB_STOP_TIMEOUT_MS 40000      /* above the server's 30 s drain */
#define HB_POLL_MS 10
#define HB_CONNECT_RETRY_MS 10
#define HB_NS_PER_S 1000000000LL
#define HB_NS_PER_MS 1000000LL
#define HB_NS_PER_US 1000LL
#define HB_WALK_FDS 16

#define HB_DEMO_INSTANCE_COUNT 4u
/* The demo fixture's renewable ECS instances of account 1234567890123456 (fixtures/demo.json);
 * i-acc0005 is left out: its dedicated host caps its renewals. */
static const char *const HB_DEMO_INSTANCES[HB_DEMO_INSTANCE_COUNT] = {
    "i-acc0001", "i-acc0007", "i-acc0008", "i-acc0009"};

/* ---- Types ---------------------------------------------------------------------------------- */

typedef struct hb_options {
    const char *target;           /* HOST:PORT, or NULL to start a server */
    const char *server_path;
    char host[HB_HOST_BYTES];
    uint16_t port;
    uint32_t connections;
    uint64_t requests;            /* 0 with --seconds */
    double seconds;               /* 0 with --requests */
    double rate;                  /* 0: closed loop */
    uint32_t percent_replay;
    uint32_t percent_mismatch;
    uint32_t instances;
    const char *instance_prefix;  /* NULL with --target: the demo instances */
    const char *csv_path;
    const char *label;
} hb_options;

typedef struct hb_outcome {
    int status;                   /* HTTP status; 0: transport error */
    char code[HB_CODE_BYTES];     /* Code, "OK", "OK-replay" or the transport failure */
    uint64_t count;
} hb_outcome;

typedef struct hb_outcomes {
    hb_outcome items[HB_OUTCOMES_MAX];
    uint32_t count;
} hb_outcomes;

typedef struct hb_used_token {
    char token[HB_TOKEN_BYTES];
    uint32_t instance;
} hb_used_token;

typedef enum hb_kind { HB_KIND_NEW = 0, HB_KIND_REPLAY = 1, HB_KIND_MISMATCH = 2 } hb_kind;

typedef struct hb_shared {
    const hb_options *options;
    struct sockaddr_in address;
    char host_header[HB_HOST_HEADER_BYTES];
    char (*instance_ids)[HB_ID_BYTES];
    uint32_t instance_count;
    char run_id[HB_RUN_ID_BYTES];
    int64_t start_ns;
    int64_t deadline_ns;          /* 0: until --requests are claimed */
    int64_t interval_ns;          /* open loop: between two sends of one connection */
    atomic_uint_fast64_t claimed;
} hb_shared;

typedef struct hb_worker {
    hb_shared *shared;
    uint32_t index;
    pthread_t thread;
    int fd;
    uint64_t sequence;
    uint64_t rng;
    hb_used_token ring[HB_RING_TOKENS];
    uint32_t ring_count;
    uint32_t *latencies_us;
    size_t latency_count;
    size_t latency_capacity;
    hb_outcomes outcomes;
    uint64_t connects;
    bool failed_alloc;
    char query[HB_QUERY_BYTES];
    char request[HB_REQUEST_BYTES];
    char response[HB_RESPONSE_BYTES];
} hb_worker;

typedef struct hb_response {
    int status;
    bool replay;
    bool close;
    char code[HB_CODE_BYTES];
} hb_response;

typedef struct hb_server {
    pid_t pid;
    char dir[HB_PATH_BYTES];
    char log_path[HB_PATH_BYTES + 16u];
} hb_server;

typedef struct hb_summary {
    uint64_t total;
    double elapsed_s;
    double req_per_s;
    uint32_t p50_us, p90_us, p99_us, p999_us, max_us;
    hb_outcomes outcomes;
} hb_summary;

/* ---- Small helpers ---------------------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * HB_NS_PER_S + ts.tv_nsec;
}

static void sleep_until_ns(int64_t when_ns)
{
    struct timespec ts = {.tv_sec = when_ns / HB_NS_PER_S, .tv_nsec = when_ns % HB_NS_PER_S};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void sleep_ms(int ms)
{
    sleep_until_ns(now_ns() + (int64_t)ms * HB_NS_PER_MS);
}

static uint64_t rng_next(uint64_t *state)
{
    /* xorshift64* */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void format_utc(time_t when, char *out, size_t out_bytes)
{
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(out, out_bytes, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool parse_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        return false;
    }
    *out = value;
    return true;
}

static bool parse_positive_double(const char *text, double *out)
{
    char *end = NULL;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || !(value > 0.0) || !isfinite(value)) {
        return false;
    }
    *out = value;
    return true;
}

/* ---- Options -------------------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: billord-httpbench [options]\n"
            "Load generator for `billord serve`: V1-signed GET RenewInstance requests of\n"
            "account " HB_ACCOUNT " on keep-alive connections (one thread each).\n"
            "  --server PATH        start PATH serve on a fresh temp data directory with a\n"
            "                       generated fixture (default " HB_SERVER_DEFAULT ")\n"
            "  --target HOST:PORT   use a running server instead (IPv4)\n"
            "  --instances N        instances the renewals spread over (default %u): the\n"
            "                       generated fixture's, or with --target and --instance-prefix\n"
            "                       PREFIX0000000..; with --target alone the demo fixture's\n"
            "                       i-acc0001, i-acc0007, i-acc0008, i-acc0009\n"
            "  --instance-prefix P  instance ids P%%07u (default " HB_INSTANCE_PREFIX_DEFAULT " with --server)\n"
            "  --connections N      keep-alive connections (default %u, at most %u)\n"
            "  --requests N         stop after N requests (default %u)\n"
            "  --seconds S          stop after S seconds instead\n"
            "  --rate R             open loop: R requests/s in total on a fixed schedule;\n"
            "                       latency counts from the scheduled time (default: closed loop)\n"
            "  --mix SPEC           replay=R,mismatch=M percentages (default replay=0,mismatch=0);\n"
            "                       the rest use new ClientTokens\n"
            "  --csv FILE           append a CSV row (header when the file is new)\n"
            "  --label TEXT         a label for the CSV row (default: none)\n"
            "  --help               this text\n"
            "Each request has a fresh SignatureNonce: a server remembers %u nonces for\n"
            "15 minutes by default (--server starts one that remembers %u), so keep one\n"
            "server's load below that.\n"
            "The last line is http_req_per_s=N.\n",
            HB_INSTANCES_DEFAULT, HB_CONNECTIONS_DEFAULT, HB_CONNECTIONS_MAX, HB_REQUESTS_DEFAULT,
            BILLORD_SERVER_NONCES_DEFAULT, HB_SERVER_NONCES);
}

static bool parse_mix(const char *text, hb_options *options)
{
    char copy[HB_LINE_BYTES];
    char *save = NULL;
    snprintf(copy, sizeof copy, "%s", text);
    for (char *part = strtok_r(copy, ",", &save); part != NULL; part = strtok_r(NULL, ",", &save)) {
        unsigned value = 0;
        char extra = '\0';
        if (sscanf(part, "replay=%u%c", &value, &extra) == 1) {
            options->percent_replay = value;
        } else if (sscanf(part, "mismatch=%u%c", &value, &extra) == 1) {
            options->percent_mismatch = value;
        } else {
            fprintf(stderr, "billord-httpbench: --mix: bad part \"%s\"\n", part);
            return false;
        }
    }
    if (options->percent_replay + options->percent_mismatch > HB_PERCENT) {
        fprintf(stderr, "billord-httpbench: --mix: replay + mismatch exceed 100%%\n");
        return false;
    }
    return true;
}

static bool parse_target(const char *text, hb_options *options)
{
    const char *colon = strrchr(text, ':');
    uint64_t port = 0;
    size_t host_bytes = colon == NULL ? 0 : (size_t)(colon - text);
    if (colon == NULL || host_bytes == 0 || host_bytes >= sizeof options->host ||
        !parse_u64(colon + 1, &port) || port == 0 || port > UINT16_MAX) {
        fprintf(stderr, "billord-httpbench: --target: expected HOST:PORT, got \"%s\"\n", text);
        return false;
    }
    memcpy(options->host, text, host_bytes);
    options->host[host_bytes] = '\0';
    options->port = (uint16_t)port;
    options->target = text;
    return true;
}

enum {
    OPT_SERVER = 256, OPT_TARGET, OPT_INSTANCES, OPT_PREFIX, OPT_CONNECTIONS, OPT_REQUESTS,
    OPT_SECONDS, OPT_RATE, OPT_MIX, OPT_CSV, OPT_LABEL, OPT_HELP
};

static const struct option HB_LONG_OPTIONS[] = {
    {"server", required_argument, NULL, OPT_SERVER},
    {"target", required_argument, NULL, OPT_TARGET},
    {"instances", required_argument, NULL, OPT_INSTANCES},
    {"instance-prefix", required_argument, NULL, OPT_PREFIX},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"mix", required_argument, NULL, OPT_MIX},
    {"csv", required_argument, NULL, OPT_CSV},
    {"label", required_argument, NULL, OPT_LABEL},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static bool bad_value(const char *option, const char *value)
{
    fprintf(stderr, "billord-httpbench: %s: bad value \"%s\"\n", option, value);
    return false;
}

static bool apply_option(int option, const char *value, hb_options *options)
{
    uint64_t number = 0;
    switch (option) {
    case OPT_SERVER: options->server_path = value; return true;
    case OPT_TARGET: return parse_target(value, options);
    case OPT_PREFIX: options->instance_prefix = value; return true;
    case OPT_MIX: return parse_mix(value, options);
    case OPT_CSV: options->csv_path = value; return true;
    case OPT_LABEL: options->label = value; return true;
    case OPT_SECONDS:
        options->requests = 0;
        return parse_positive_double(value, &options->seconds) || bad_value("--seconds", value);
    case OPT_RATE:
        return parse_positive_double(value, &options->rate) || bad_value("--rate", value);
    case OPT_INSTANCES:
        if (!parse_u64(value, &number) || number == 0 || number > HB_INSTANCES_MAX) {
            return bad_value("--instances", value);
        }
        options->instances = (uint32_t)number;
        return true;
    case OPT_CONNECTIONS:
        if (!parse_u64(value, &number) || number == 0 || number > HB_CONNECTIONS_MAX) {
            return bad_value("--connections", value);
        }
        options->connections = (uint32_t)number;
        return true;
    case OPT_REQUESTS:
        if (!parse_u64(value, &number) || number == 0) {
            return bad_value("--requests", value);
        }
        options->requests = number;
        options->seconds = 0.0;
        return true;
    default: return false;
    }
}

/* @return 0 to run, 1 after --help, 2 on bad usage. */
static int parse_options(int argc, char **argv, hb_options *options)
{
    *options = (hb_options){.server_path = HB_SERVER_DEFAULT, .connections = HB_CONNECTIONS_DEFAULT,
                            .requests = HB_REQUESTS_DEFAULT, .instances = HB_INSTANCES_DEFAULT,
                            .label = ""};
    int option;
    while ((option = getopt_long(argc, argv, "", HB_LONG_OPTIONS, NULL)) != -1) {
        if (option == OPT_HELP) {
            usage(stdout);
            return 1;
        }
        if (option == '?' || !apply_option(option, optarg, options)) {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "billord-httpbench: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (options->target == NULL) {
        snprintf(options->host, sizeof options->host, "127.0.0.1");
        if (options->instance_prefix == NULL) {
            options->instance_prefix = HB_INSTANCE_PREFIX_DEFAULT;
        }
    } else if (options->instance_prefix == NULL) {
        options->instances = HB_DEMO_INSTANCE_COUNT;
    }
    return 0;
}

/* ---- The server (--server) -------------------------------------------------------------------- */

static bool write_fixture(const char *path, uint32_t instances, const char *prefix)
{
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        fprintf(stderr, "billord-httpbench: %s: %s\n", path, strerror(errno));
        return false;
    }
    char clock_text[32];
    char expires_text[32];
    time_t now = time(NULL);
    format_utc(now, clock_text, sizeof clock_text);
    format_utc(now + (time_t)HB_INSTANCE_TERM_DAYS * HB_SECONDS_PER_DAY, expires_text, sizeof expires_text);
    fprintf(file,
            "{\"clock\": \"%s\",\n"
            " \"prices\": [{\"product\": \"ecs\", \"instance_type\": \"ecs.g7.large\",\n"
            "   \"week_micros\": 30000000, \"month_micros\": 100000000, \"year_micros\": 1000000000}],\n"
            " \"accounts\": [{\"id\": \"" HB_ACCOUNT "\",\n"
            "   \"access_keys\": [{\"id\": \"" HB_KEY_ID "\", \"secret\": \"" HB_SECRET "\"}],\n"
            "   \"balance_micros\": " HB_BALANCE_MICROS ", \"credit_limit_micros\": 0,\n"
            "   \"credit_payment\": false, \"payment_method\": true}],\n"
            " \"instances\": [\n",
            clock_text);
    for (uint32_t i = 0; i < instances; i++) {
        fprintf(file,
                "  {\"id\": \"%s%07" PRIu32 "\", \"account\": \"" HB_ACCOUNT "\", \"product\": \"ecs\","
                " \"region\": \"cn-hangzhou\", \"instance_type\": \"ecs.g7.large\","
                " \"charge_type\": \"PrePaid\", \"status\": \"Running\", \"expires\": \"%s\"}%s\n",
                prefix, i, expires_text, i + 1 < instances ? "," : "");
    }
    fprintf(file, " ],\n \"orders\": []}\n");
    bool ok = !ferror(file);
    ok = fclose(file) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "billord-httpbench: %s: write failed\n", path);
    }
    return ok;
}

static void exec_server(const hb_options *options, const hb_server *server)
{
    char data_dir[HB_PATH_BYTES + 16u];
    char fixture[HB_PATH_BYTES + 16u];
    snprintf(data_dir, sizeof data_dir, "%s/data", server->dir);
    snprintf(fixture, sizeof fixture, "%s/fixture.json", server->dir);
    int log_fd = open(server->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0 || dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0) {
        _exit(127);
    }
    char nonce_capacity[16];
    snprintf(nonce_capacity, sizeof nonce_capacity, "%u", HB_SERVER_NONCES);
    execl(options->server_path, "billord", "serve", "--data", data_dir, "--listen", "127.0.0.1:0",
          "--fixtures", fixture, "--nonce-capacity", nonce_capacity, (char *)NULL);
    fprintf(stderr, "billord-httpbench: exec %s: %s\n", options->server_path, strerror(errno));
    _exit(127);
}

/* The port from the server's "listening on http://127.0.0.1:PORT" line, or 0 so far. */
static uint16_t read_listening_port(const char *log_path)
{
    static const char marker[] = "listening on http://127.0.0.1:";
    char line[HB_LINE_BYTES];
    unsigned port = 0;
    FILE *file = fopen(log_path, "r");
    if (file == NULL) {
        return 0;
    }
    while (port == 0 && fgets(line, sizeof line, file) != NULL) {
        const char *found = strstr(line, marker);
        if (found != NULL && sscanf(found + sizeof marker - 1u, "%u", &port) != 1) {
            port = 0;
        }
    }
    fclose(file);
    return port <= UINT16_MAX ? (uint16_t)port : 0;
}

static void print_server_log(const hb_server *server)
{
    char line[HB_LINE_BYTES];
    FILE *file = fopen(server->log_path, "r");
    if (file == NULL) {
        return;
    }
    while (fgets(line, sizeof line, file) != NULL) {
        fprintf(stderr, "  server: %s", line);
    }
    fclose(file);
}

static bool wait_listening(hb_options *options, hb_server *server)
{
    int64_t deadline = now_ns() + (int64_t)HB_START_TIMEOUT_MS * HB_NS_PER_MS;
    while (now_ns() < deadline) {
        uint16_t port = read_listening_port(server->log_path);
        if (port != 0) {
            options->port = port;
            return true;
        }
        int status = 0;
        if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
            fprintf(stderr, "billord-httpbench: the server exited before listening:\n");
            print_server_log(server);
            server->pid = 0;
            return false;
        }
        sleep_ms(HB_POLL_MS);
    }
    fprintf(stderr, "billord-httpbench: the server did not listen within %d ms\n", HB_START_TIMEOUT_MS);
    return false;
}

static bool server_start(hb_options *options, hb_server *server)
{
    const char *tmp = getenv("TMPDIR");
    char fixture[HB_PATH_BYTES + 16u];
    snprintf(server->dir, sizeof server->dir, "%s/billord-httpbench-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(server->dir) == NULL) {
        fprintf(stderr, "billord-httpbench: mkdtemp %s: %s\n", server->dir, strerror(errno));
        server->dir[0] = '\0';
        return false;
    }
    snprintf(fixture, sizeof fixture, "%s/fixture.json", server->dir);
    snprintf(server->log_path, sizeof server->log_path, "%s/server.log", server->dir);
    if (!write_fixture(fixture, options->instances, options->instance_prefix)) {
        return false;
    }
    fflush(NULL);
    server->pid = fork();
    if (server->pid < 0) {
        fprintf(stderr, "billord-httpbench: fork: %s\n", strerror(errno));
        server->pid = 0;
        return false;
    }
    if (server->pid == 0) {
        exec_server(options, server);
    }
    return wait_listening(options, server);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* SIGTERM, wait, remove the temp directory. @return false unless the server exited 0. */
static bool server_stop(hb_server *server)
{
    bool clean = true;
    if (server->pid > 0) {
        int status = 0;
        kill(server->pid, SIGTERM);
        int64_t deadline = now_ns() + (int64_t)HB_STOP_TIMEOUT_MS * HB_NS_PER_MS;
        while (waitpid(server->pid, &status, WNOHANG) == 0) {
            if (now_ns() > deadline) {
                kill(server->pid, SIGKILL);
                waitpid(server->pid, &status, 0);
                break;
            }
            sleep_ms(HB_POLL_MS);
        }
        clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!clean) {
            fprintf(stderr, "billord-httpbench: the server did not exit 0 after SIGTERM:\n");
            print_server_log(server);
        }
        server->pid = 0;
    }
    if (server->dir[0] != '\0') {
        nftw(server->dir, remove_entry, HB_WALK_FDS, FTW_DEPTH | FTW_PHYS);
    }
    return clean;
}

/* ---- Requests ---------------------------------------------------------------------------------- */

static bool add_param(billord_params *params, const char *name, const char *value)
{
    return billord_params_add(params, name, strlen(name), value, strlen(value),
                              BILLORD_PARAM_SOURCE_QUERY, NULL) == BILLORD_PARAMS_OK;
}

static hb_kind choose_kind(hb_worker *worker)
{
    const hb_options *options = worker->shared->options;
    uint32_t roll = (uint32_t)(rng_next(&worker->rng) % HB_PERCENT);
    if (worker->ring_count == 0 || roll >= options->percent_replay + options->percent_mismatch) {
        return HB_KIND_NEW;
    }
    return roll < options->percent_replay ? HB_KIND_REPLAY : HB_KIND_MISMATCH;
}

/* Fill token and instance for the request kind; new tokens join the ring. */
static void choose_token(hb_worker *worker, hb_kind kind, char token[HB_TOKEN_BYTES], uint32_t *instance)
{
    if (kind != HB_KIND_NEW) {
        uint32_t limit = worker->ring_count < HB_RING_TOKENS ? worker->ring_count : HB_RING_TOKENS;
        const hb_used_token *used = &worker->ring[rng_next(&worker->rng) % limit];
        memcpy(token, used->token, HB_TOKEN_BYTES);
        *instance = used->instance;
        return;
    }
    *instance = (uint32_t)(rng_next(&worker->rng) % worker->shared->instance_count);
    snprintf(token, HB_TOKEN_BYTES, "hb-%s-%" PRIu32 "-%" PRIu64, worker->shared->run_id, worker->index,
             worker->sequence);
    hb_used_token *slot = &worker->ring[worker->ring_count % HB_RING_TOKENS];
    memcpy(slot->token, token, HB_TOKEN_BYTES);
    slot->instance = *instance;
    worker->ring_count++;
}

/* The signed query of one RenewInstance request into worker->query. */
static bool build_query(hb_worker *worker, hb_kind kind)
{
    char arena[HB_ARENA_BYTES];
    char token[HB_TOKEN_BYTES];
    char nonce[HB_ID_BYTES];
    char timestamp[32];
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    uint32_t instance = 0;
    billord_params params;
    size_t query_bytes = 0;

    choose_token(worker, kind, token, &instance);
    snprintf(nonce, sizeof nonce, "%s%08" PRIx32 "%016" PRIx64, worker->shared->run_id, worker->index,
             worker->sequence);
    format_utc(time(NULL), timestamp, sizeof timestamp);
    billord_params_init(&params, arena, sizeof arena);
    bool ok = add_param(&params, "AccessKeyId", HB_KEY_ID) && add_param(&params, "Action", "RenewInstance") &&
              add_param(&params, "ClientToken", token) && add_param(&params, "Format", "JSON") &&
              add_param(&params, "InstanceId", worker->shared->instance_ids[instance]) &&
              add_param(&params, "Period", kind == HB_KIND_MISMATCH ? "2" : "1") &&
              add_param(&params, "PeriodUnit", "Week") && add_param(&params, "SignatureMethod", "HMAC-SHA1") &&
              add_param(&params, "SignatureNonce", nonce) && add_param(&params, "SignatureVersion", "1.0") &&
              add_param(&params, "Timestamp", timestamp) && add_param(&params, "Version", "2014-05-26");
    ok = ok && billord_sign_v1_compute(&params, "GET", HB_SECRET, strlen(HB_SECRET), signature) == BILLORD_SIGN_OK;
    ok = ok && add_param(&params, "Signature", signature);
    ok = ok && billord_params_encode(&params, BILLORD_PARAM_SOURCE_QUERY, worker->query, sizeof worker->query,
                                     &query_bytes) == BILLORD_OK;
    worker->sequence++;
    return ok;
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

/* A header's value (case-insensitive name, "name:" form) within headers, or NULL. */
static const char *find_header(const char *headers, const char *name)
{
    size_t name_bytes = strlen(name);
    for (const char *line = strstr(headers, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_bytes) == 0 && start[name_bytes] == ':') {
            start += name_bytes + 1;
            while (*start == ' ') {
                start++;
            }
            return start;
        }
    }
    return NULL;
}

static void parse_code(const char *body, hb_response *response)
{
    static const char key[] = "\"Code\":\"";
    const char *found = strstr(body, key);
    if (found == NULL) {
        snprintf(response->code, sizeof response->code, "%s",
                 response->status == 200 ? (response->replay ? "OK-replay" : "OK") : "no-Code");
        return;
    }
    found += sizeof key - 1u;
    size_t bytes = strcspn(found, "\"");
    if (bytes >= sizeof response->code) {
        bytes = sizeof response->code - 1u;
    }
    memcpy(response->code, found, bytes);
    response->code[bytes] = '\0';
}

/* Parse the head in worker->response[0..head_bytes) (NUL-terminated by the caller). */
static bool parse_head(const char *head, hb_response *response, size_t *content_length)
{
    unsigned long long length = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &response->status) != 1) {
        return false;
    }
    const char *value = find_header(head, "content-length");
    if (value == NULL || sscanf(value, "%llu", &length) != 1) {
        return false;
    }
    *content_length = (size_t)length;
    value = find_header(head, "x-billord-idempotent-replay");
    response->replay = value != NULL && strncasecmp(value, "true", 4) == 0;
    value = find_header(head, "connection");
    response->close = value != NULL && strncasecmp(value, "close", 5) == 0;
    return true;
}

/* Read one whole response (Content-Length framed) into worker->response. */
static bool read_response(hb_worker *worker, hb_response *response)
{
    size_t have = 0;
    size_t head_bytes = 0;
    size_t content_length = 0;
    const size_t capacity = sizeof worker->response - 1u;
    for (;;) {
        if (head_bytes != 0 && have >= head_bytes + content_length) {
            break;
        }
        if (have == capacity) {
            return false;
        }
        ssize_t got = recv(worker->fd, worker->response + have, capacity - have, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        have += (size_t)got;
        worker->response[have] = '\0';
        char *end = head_bytes == 0 ? strstr(worker->response, "\r\n\r\n") : NULL;
        if (end != NULL) {
            *end = '\0';
            bool ok = parse_head(worker->response, response, &content_length);
            *end = '\r';
            if (!ok || content_length > capacity) {
                return false;
            }
            head_bytes = (size_t)(end - worker->response) + 4u;
        }
    }
    worker->response[head_bytes + content_length] = '\0';
    parse_code(worker->response + head_bytes, response);
    return true;
}

static bool connect_worker(hb_worker *worker)
{
    int one = 1;
    worker->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (worker->fd < 0) {
        return false;
    }
    setsockopt(worker->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(worker->fd, (const struct sockaddr *)&worker->shared->address,
                sizeof worker->shared->address) != 0) {
        close(worker->fd);
        worker->fd = -1;
        return false;
    }
    worker->connects++;
    return true;
}

static void disconnect_worker(hb_worker *worker)
{
    if (worker->fd >= 0) {
        close(worker->fd);
        worker->fd = -1;
    }
}

/* ---- Counting ---------------------------------------------------------------------------------- */

static void count_outcome(hb_outcomes *outcomes, int status, const char *code, uint64_t count)
{
    for (uint32_t i = 0; i < outcomes->count; i++) {
        if (outcomes->items[i].status == status && strcmp(outcomes->items[i].code, code) == 0) {
            outcomes->items[i].count += count;
            return;
        }
    }
    uint32_t slot = outcomes->count < HB_OUTCOMES_MAX ? outcomes->count++ : HB_OUTCOMES_MAX - 1u;
    hb_outcome *outcome = &outcomes->items[slot];
    if (slot == HB_OUTCOMES_MAX - 1u && outcome->count != 0) {
        code = "other";   /* the last slot collects what does not fit */
    } else {
        outcome->status = status;
    }
    snprintf(outcome->code, sizeof outcome->code, "%s", code);
    outcome->count += count;
}

static void record_latency(hb_worker *worker, int64_t latency_ns)
{
    if (worker->latency_count == worker->latency_capacity) {
        size_t capacity = worker->latency_capacity == 0 ? HB_LATENCIES_INITIAL : worker->latency_capacity * 2u;
        uint32_t *grown = realloc(worker->latencies_us, capacity * sizeof *grown);
        if (grown == NULL) {
            worker->failed_alloc = true;
            return;
        }
        worker->latencies_us = grown;
        worker->latency_capacity = capacity;
    }
    int64_t us = latency_ns / HB_NS_PER_US;
    worker->latencies_us[worker->latency_count++] = us > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* ---- The connection threads ------------------------------------------------------------------ */

/* Claim the next request; false when the run is over. */
static bool claim_request(hb_worker *worker, int64_t next_send_ns)
{
    const hb_shared *shared = worker->shared;
    if (shared->deadline_ns != 0) {
        return next_send_ns < shared->deadline_ns && now_ns() < shared->deadline_ns;
    }
    return atomic_fetch_add(&worker->shared->claimed, 1u) < shared->options->requests;
}

/* One request and its answer; counts the outcome. */
static void run_one(hb_worker *worker, int64_t intended_ns)
{
    hb_kind kind = choose_kind(worker);
    hb_response response = {0};
    if (!build_query(worker, kind)) {
        count_outcome(&worker->outcomes, 0, "build-failed", 1);
        return;
    }
    int length = snprintf(worker->request, sizeof worker->request,
                          "GET /?%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: billord-httpbench\r\n\r\n",
                          worker->query, worker->shared->host_header);
    if (worker->fd < 0 && !connect_worker(worker)) {
        count_outcome(&worker->outcomes, 0, "connect-failed", 1);
        sleep_ms(HB_CONNECT_RETRY_MS);
        return;
    }
    if (length < 0 || (size_t)length >= sizeof worker->request ||
        !send_all(worker->fd, worker->request, (size_t)length) || !read_response(worker, &response)) {
        count_outcome(&worker->outcomes, 0, "io-failed", 1);
        disconnect_worker(worker);
        return;
    }
    record_latency(worker, now_ns() - intended_ns);
    count_outcome(&worker->outcomes, response.status, response.code, 1);
    if (response.close) {
        disconnect_worker(worker);
    }
}

static void *worker_main(void *arg)
{
    hb_worker *worker = arg;
    const hb_shared *shared = worker->shared;
    bool open_loop = shared->interval_ns > 0;
    /* Connections start their schedules spread over one interval. */
    int64_t next_ns = shared->start_ns +
                      (open_loop ? shared->interval_ns * worker->index / shared->options->connections : 0);
    while (claim_request(worker, next_ns)) {
        if (open_loop) {
            sleep_until_ns(next_ns);
        }
        int64_t intended_ns = open_loop ? next_ns : now_ns();
        run_one(worker, intended_ns);
        next_ns += shared->interval_ns;
    }
    disconnect_worker(worker);
    return NULL;
}

/* ---- Set-up, run, report ----------------------------------------------------------------------- */

static bool make_instances(hb_shared *shared, const hb_options *options)
{
    shared->instance_count = options->instances;
    shared->instance_ids = calloc(shared->instance_count, sizeof *shared->instance_ids);
    if (shared->instance_ids == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < shared->instance_count; i++) {
        if (options->instance_prefix == NULL) {
            snprintf(shared->instance_ids[i], HB_ID_BYTES, "%s", HB_DEMO_INSTANCES[i]);
        } else {
            snprintf(shared->instance_ids[i], HB_ID_BYTES, "%s%07" PRIu32, options->instance_prefix, i);
        }
    }
    return true;
}

static bool make_shared(hb_shared *shared, const hb_options *options)
{
    memset(shared, 0, sizeof *shared);
    shared->options = options;
    shared->address.sin_family = AF_INET;
    shared->address.sin_port = htons(options->port);
    if (inet_pton(AF_INET, options->host, &shared->address.sin_addr) != 1) {
        fprintf(stderr, "billord-httpbench: %s is not an IPv4 address\n", options->host);
        return false;
    }
    snprintf(shared->host_header, sizeof shared->host_header, "%s:%u", options->host, (unsigned)options->port);
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)now_ns();
    snprintf(shared->run_id, sizeof shared->run_id, "%016" PRIx64, rng_next(&seed) | 1u);
    if (options->rate > 0.0) {
        shared->interval_ns = (int64_t)((double)HB_NS_PER_S * options->connections / options->rate);
    }
    atomic_init(&shared->claimed, 0u);
    return make_instances(shared, options);
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t percentile(const uint32_t *sorted, size_t count, double fraction)
{
    if (count == 0) {
        return 0;
    }
    size_t rank = (size_t)ceil(fraction * (double)count);
    return sorted[rank == 0 ? 0 : rank - 1u];
}

static bool summarize(hb_worker *workers, uint32_t count, double elapsed_s, hb_summary *summary)
{
    size_t total = 0;
    memset(summary, 0, sizeof *summary);
    for (uint32_t i = 0; i < count; i++) {
        total += workers[i].latency_count;
        for (uint32_t j = 0; j < workers[i].outcomes.count; j++) {
            const hb_outcome *outcome = &workers[i].outcomes.items[j];
            count_outcome(&summary->outcomes, outcome->status, outcome->code, outcome->count);
        }
    }
    uint32_t *all = malloc((total == 0 ? 1u : total) * sizeof *all);
    if (all == NULL) {
        return false;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        memcpy(all + at, workers[i].latencies_us, workers[i].latency_count * sizeof *all);
        at += workers[i].latency_count;
    }
    qsort(all, total, sizeof *all, compare_u32);
    summary->total = total;
    summary->elapsed_s = elapsed_s;
    summary->req_per_s = elapsed_s > 0.0 ? (double)total / elapsed_s : 0.0;
    summary->p50_us = percentile(all, total, 0.50);
    summary->p90_us = percentile(all, total, 0.90);
    summary->p99_us = percentile(all, total, 0.99);
    summary->p999_us = percentile(all, total, 0.999);
    summary->max_us = total == 0 ? 0 : all[total - 1u];
    free(all);
    return true;
}

static uint64_t outcomes_matching(const hb_outcomes *outcomes, int status_low, int status_high)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < outcomes->count; i++) {
        if (outcomes->items[i].status >= status_low && outcomes->items[i].status <= status_high) {
            sum += outcomes->items[i].count;
        }
    }
    return sum;
}

static uint64_t outcome_count(const hb_outcomes *outcomes, const char *code)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < outcomes->count; i++) {
        if (strcmp(outcomes->items[i].code, code) == 0) {
            sum += outcomes->items[i].count;
        }
    }
    return sum;
}

static void print_report(const hb_options *options, const hb_summary *summary)
{
    printf("target     %s:%u (%s)\n", options->host, (unsigned)options->port,
           options->target != NULL ? "--target" : options->server_path);
    printf("load       %u connections, %s", options->connections, options->rate > 0.0 ? "open loop" : "closed loop");
    if (options->rate > 0.0) {
        printf(" at %.0f req/s", options->rate);
    }
    printf(", mix new=%u%% replay=%u%% mismatch=%u%%, %u instances\n",
           HB_PERCENT - options->percent_replay - options->percent_mismatch, options->percent_replay,
           options->percent_mismatch, options->instances);
    printf("requests   %" PRIu64 " answered in %.2f s: %.0f req/s\n", summary->total, summary->elapsed_s,
           summary->req_per_s);
    for (uint32_t i = 0; i < summary->outcomes.count; i++) {
        const hb_outcome *outcome = &summary->outcomes.items[i];
        printf("  %3d %-40s %" PRIu64 "\n", outcome->status, outcome->code, outcome->count);
    }
    printf("latency us p50 %u  p90 %u  p99 %u  p99.9 %u  max %u\n", summary->p50_us, summary->p90_us,
           summary->p99_us, summary->p999_us, summary->max_us);
}

static bool write_csv(const hb_options *options, const hb_summary *summary)
{
    struct stat st;
    bool is_new = stat(options->csv_path, &st) != 0 || st.st_size == 0;
    FILE *file = fopen(options->csv_path, "a");
    char when[32];
    if (file == NULL) {
        fprintf(stderr, "billord-httpbench: %s: %s\n", options->csv_path, strerror(errno));
        return false;
    }
    format_utc(time(NULL), when, sizeof when);
    if (is_new) {
        fprintf(file, "time,label,target,connections,mode,rate,instances,replay_pct,mismatch_pct,requests,"
                      "seconds,req_per_s,ok_new,ok_replay,status_4xx,status_5xx,transport_errors,"
                      "p50_us,p90_us,p99_us,p999_us,max_us\n");
    }
    fprintf(file, "%s,%s,%s,%u,%s,%.0f,%u,%u,%u,%" PRIu64 ",%.3f,%.1f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                  ",%" PRIu64 ",%" PRIu64 ",%u,%u,%u,%u,%u\n",
            when, options->label, options->target != NULL ? "target" : "server", options->connections,
            options->rate > 0.0 ? "open" : "closed", options->rate, options->instances, options->percent_replay,
            options->percent_mismatch, summary->total, summary->elapsed_s, summary->req_per_s,
            outcome_count(&summary->outcomes, "OK"), outcome_count(&summary->outcomes, "OK-replay"),
            outcomes_matching(&summary->outcomes, 400, 499), outcomes_matching(&summary->outcomes, 500, 599),
            outcomes_matching(&summary->outcomes, 0, 0), summary->p50_us, summary->p90_us, summary->p99_us,
            summary->p999_us, summary->max_us);
    bool ok = !ferror(file);
    return fclose(file) == 0 && ok;
}

static bool run_workers(hb_shared *shared, hb_worker *workers, double *elapsed_s)
{
    const hb_options *options = shared->options;
    shared->start_ns = now_ns();
    if (options->seconds > 0.0) {
        shared->deadline_ns = shared->start_ns + (int64_t)(options->seconds * (double)HB_NS_PER_S);
    }
    uint32_t started = 0;
    for (; started < options->connections; started++) {
        hb_worker *worker = &workers[started];
        worker->shared = shared;
        worker->index = started;
        worker->fd = -1;
        worker->rng = (uint64_t)now_ns() * 2654435761u + started + 1u;
        if (pthread_create(&worker->thread, NULL, worker_main, worker) != 0) {
            fprintf(stderr, "billord-httpbench: pthread_create failed after %u threads\n", started);
            break;
        }
    }
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    *elapsed_s = (double)(now_ns() - shared->start_ns) / (double)HB_NS_PER_S;
    bool ok = started == options->connections;
    for (uint32_t i = 0; i < started; i++) {
        ok = ok && !workers[i].failed_alloc;
    }
    return ok;
}

static bool bench(hb_options *options)
{
    hb_shared shared;
    hb_summary summary;
    double elapsed_s = 0.0;
    uint64_t planned = options->requests > 0 ? options->requests
                                             : (uint64_t)(options->seconds * (options->rate > 0.0 ? options->rate : 0.0));
    uint32_t const server_nonces =
        options->target == NULL ? HB_SERVER_NONCES : BILLORD_SERVER_NONCES_DEFAULT;
    if (planned > server_nonces) {
        fprintf(stderr, "billord-httpbench: warning: %" PRIu64 " requests exceed the server's %u remembered "
                        "nonces: expect 503 ServiceUnavailable past them\n", planned, server_nonces);
    }
    if (!make_shared(&shared, options)) {
        return false;
    }
    hb_worker *workers = calloc(options->connections, sizeof *workers);
    bool ok = workers != NULL && run_workers(&shared, workers, &elapsed_s) &&
              summarize(workers, options->connections, elapsed_s, &summary);
    if (ok) {
        print_report(options, &summary);
        ok = options->csv_path == NULL || write_csv(options, &summary);
        printf("http_req_per_s=%.0f\n", summary.req_per_s);
    }
    for (uint32_t i = 0; workers != NULL && i < options->connections; i++) {
        free(workers[i].latencies_us);
    }
    free(workers);
    free(shared.instance_ids);
    return ok;
}

int main(int argc, char **argv)
{
    hb_options options;
    hb_server server = {0};
    int parsed = parse_options(argc, argv, &options);
    if (parsed != 0) {
        return parsed == 1 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (options.target == NULL && !server_start(&options, &server)) {
        server_stop(&server);
        return 1;
    }
    bool ok = bench(&options);
    if (options.target == NULL) {
        ok = server_stop(&server) && ok;
    }
    return ok ? 0 : 1;
}
