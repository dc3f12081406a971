/*
 * billord: the server program (SPEC section 1). Thin: parse options, start the server
 * (billord/server.h), wait for SIGTERM or SIGINT, stop it (draining requests in flight
 * and syncing the data directory), exit 0.
 *
 * Exit status: 0 after a clean stop, 1 when start-up fails (the line names the file,
 * JSON path or option at fault), 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <billord/http_sign.h>
#include <billord/limits.h>
#include <billord/server.h>

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define ERROR_TEXT_BYTES 1024u
#define HOST_BYTES_MAX 256u

static void usage_serve(FILE *out)
{
    fprintf(out,
            "usage: billord serve --data DIR [OPTIONS]\n"
            "  --data DIR              data directory (created if missing)\n"
            "  --listen HOST:PORT      address to listen on (default 127.0.0.1:8080;\n"
            "                          [::1]:PORT for IPv6; port 0 picks a free one)\n"
            "  --fixtures FILE         load a fixture file into an empty data directory\n"
            "  --auth signature|gateway\n"
            "                          signature (default): V1/V3 SDK signatures;\n"
            "                          gateway: trust the x-acs-caller-uid header\n"
            "  --clock system|manual   manual: start at the data directory's clock, move\n"
            "                          it with POST /admin/clock?advance_ms=N (loopback)\n"
            "  --request-log FILE      append every request and answer as NDJSON\n"
            "  --admin-token-file FILE enable GET /admin/events?since=SEQ (outbox events), for\n"
            "                          callers sending header x-billord-admin-token: <file's text>\n"
            "  --log-level LEVEL       error (default), info (a line per request), debug\n"
            "  --map-size BYTES        LMDB map size (default %llu)\n"
            "  --lmdb MODE             snapshot (default): LMDB without syncs, synced snapshots\n"
            "                          beside the log, rebuilt after a power loss; nometasync:\n"
            "                          LMDB syncs each batch (half the throughput); sync\n"
            "  --archive-dir DIR       keep retired log segments in DIR (same file system)\n"
            "                          instead of deleting them: a replayable command log\n"
            "  --nonce-capacity N      signature nonces remembered for their 15 minutes\n"
            "                          (default %u: about 290 signed requests/s sustained;\n"
            "                          at most 16777216; about 40 bytes each); past it,\n"
            "                          signed requests answer 503 until nonces expire\n"
            "  --help                  this text\n",
            (unsigned long long)BILLORD_MAP_BYTES_DEFAULT, BILLORD_SERVER_NONCES_DEFAULT);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: billord serve --data DIR [OPTIONS]   (billord serve --help)\n");
}

static int bad_usage(const char *what, const char *value)
{
    fprintf(stderr, "billord: %s%s%s (see billord serve --help)\n", what,
            value != NULL ? ": " : "", value != NULL ? value : "");
    return EXIT_USAGE;
}

/* "HOST:PORT", "[V6]:PORT"; host_out gets the host without brackets. */
static bool parse_listen(const char *text, char host_out[HOST_BYTES_MAX], uint16_t *out_port)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text) {
        return false;
    }
    const char *host = text;
    size_t host_bytes = (size_t)(colon - text);
    if (host[0] == '[') {
        if (host_bytes < 2 || host[host_bytes - 1] != ']') {
            return false;
        }
        host++;
        host_bytes -= 2;
    }
    if (host_bytes == 0 || host_bytes >= HOST_BYTES_MAX) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > UINT16_MAX) {
        return false;
    }
    memcpy(host_out, host, host_bytes);
    host_out[host_bytes] = '\0';
    *out_port = (uint16_t)port;
    return true;
}

static bool parse_bytes(const char *text, uint64_t *out_bytes)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || value == 0 ||
        value > BILLORD_MAP_BYTES_MAX) {
        return false;
    }
    *out_bytes = value;
    return true;
}

/* A whole number 1..BILLORD_NONCE_GUARD_CAPACITY_MAX. */
static bool parse_nonce_capacity(const char *text, uint32_t *out_capacity)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || value == 0 ||
        value > BILLORD_NONCE_GUARD_CAPACITY_MAX) {
        return false;
    }
    *out_capacity = (uint32_t)value;
    return true;
}

typedef struct serve_options {
    billord_server_config config;
    char host[HOST_BYTES_MAX];
    const char *listen_text;
    char admin_token[BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX + 2];
} serve_options;

/* The admin token is the file's text without a trailing newline, 1..256 bytes. */
static bool read_admin_token(const char *path, serve_options *options)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return false;
    }
    size_t got = fread(options->admin_token, 1, sizeof options->admin_token - 1, file);
    fclose(file);
    options->admin_token[got] = '\0';
    while (got > 0 && (options->admin_token[got - 1] == '\n' || options->admin_token[got - 1] == '\r')) {
        options->admin_token[--got] = '\0';
    }
    if (got == 0 || got > BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX) {
        return false;
    }
    options->config.admin_token = options->admin_token;
    return true;
}

/* One option with its value; returns EXIT_OK or EXIT_USAGE. */
static int parse_option(serve_options *options, const char *name, const char *value)
{
    billord_server_config *config = &options->config;
    if (strcmp(name, "--data") == 0) {
        config->data_dir = value;
    } else if (strcmp(name, "--listen") == 0) {
        if (!parse_listen(value, options->host, &config->listen_port)) {
            return bad_usage("--listen must be HOST:PORT", value);
        }
        config->listen_host = options->host;
        options->listen_text = value;
    } else if (strcmp(name, "--fixtures") == 0) {
        config->fixtures_path = value;
    } else if (strcmp(name, "--auth") == 0) {
        if (strcmp(value, "signature") == 0) {
            config->auth = BILLORD_SERVER_AUTH_SIGNATURE;
        } else if (strcmp(value, "gateway") == 0) {
            config->auth = BILLORD_SERVER_AUTH_GATEWAY;
        } else {
            return bad_usage("--auth must be signature or gateway", value);
        }
    } else if (strcmp(name, "--clock") == 0) {
        if (strcmp(value, "system") == 0) {
            config->clock = BILLORD_SERVER_CLOCK_SYSTEM;
        } else if (strcmp(value, "manual") == 0) {
            config->clock = BILLORD_SERVER_CLOCK_MANUAL;
        } else {
            return bad_usage("--clock must be system or manual", value);
        }
    } else if (strcmp(name, "--admin-token-file") == 0) {
        if (!read_admin_token(value, options)) {
            return bad_usage("--admin-token-file must name a readable file of 1-256 bytes", value);
        }
    } else if (strcmp(name, "--request-log") == 0) {
        config->request_log_path = value;
    } else if (strcmp(name, "--log-level") == 0) {
        if (strcmp(value, "error") == 0) {
            config->log_level = BILLORD_SERVER_LOG_ERROR;
        } else if (strcmp(value, "info") == 0) {
            config->log_level = BILLORD_SERVER_LOG_INFO;
        } else if (strcmp(value, "debug") == 0) {
            config->log_level = BILLORD_SERVER_LOG_DEBUG;
        } else {
            return bad_usage("--log-level must be error, info or debug", value);
        }
    } else if (strcmp(name, "--lmdb") == 0) {
        if (strcmp(value, "snapshot") == 0) {
            config->lmdb_mode = BILLORD_LMDB_SNAPSHOT;
        } else if (strcmp(value, "nometasync") == 0) {
            config->lmdb_mode = BILLORD_LMDB_NOMETASYNC;
        } else if (strcmp(value, "sync") == 0) {
            config->lmdb_mode = BILLORD_LMDB_SYNC;
        } else {
            return bad_usage("--lmdb must be snapshot, nometasync or sync", value);
        }
    } else if (strcmp(name, "--archive-dir") == 0) {
        config->archive_dir = value;
    } else if (strcmp(name, "--nonce-capacity") == 0) {
        if (!parse_nonce_capacity(value, &config->nonce_capacity)) {
            return bad_usage("--nonce-capacity must be a whole number from 1 to 16777216", value);
        }
    } else if (strcmp(name, "--map-size") == 0) {
        if (!parse_bytes(value, &config->map_bytes)) {
            return bad_usage("--map-size must be a byte count up to BILLORD_MAP_BYTES_MAX",
                             value);
        }
    } else {
        return bad_usage("unknown option", name);
    }
    return EXIT_OK;
}

static int serve(int argc, char **argv)
{
    serve_options options;
    memset(&options, 0, sizeof options);
    snprintf(options.host, sizeof options.host, "%s", BILLORD_SERVER_LISTEN_HOST_DEFAULT);
    options.config.listen_host = options.host;
    options.config.listen_port = BILLORD_SERVER_LISTEN_PORT_DEFAULT;
    options.config.lmdb_mode = BILLORD_LMDB_SNAPSHOT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_serve(stdout);
            return EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            return bad_usage(strncmp(argv[i], "--", 2) == 0 ? "option needs a value"
                                                            : "unexpected argument",
                             argv[i]);
        }
        int rc = parse_option(&options, argv[i], argv[i + 1]);
        if (rc != EXIT_OK) {
            return rc;
        }
    }
    if (options.config.data_dir == NULL) {
        return bad_usage("--data DIR is required", NULL);
    }

    /* Block the stop signals before any thread starts, so that only sigwait() sees them. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    billord_server *server = NULL;
    char error_text[ERROR_TEXT_BYTES];
    billord_err err = billord_server_start(&options.config, &server, error_text,
                                           sizeof error_text);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billord: %s\n", error_text);
        return EXIT_FAILED;
    }
    const char *host = options.config.listen_host;
    bool bracket = strchr(host, ':') != NULL;
    fprintf(stderr, "billord: listening on http://%s%s%s:%u\n", bracket ? "[" : "", host,
            bracket ? "]" : "", (unsigned)billord_server_port(server));
    fflush(stderr);

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    fprintf(stderr, "billord: %s: stopping (finishing requests in flight)\n",
            signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    billord_server_stop(server);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        usage_serve(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "serve") == 0) {
        return serve(argc - 1, argv + 1);
    }
    fprintf(stderr, "billord: unknown command '%s' (see billord --help)\n", argv[1]);
    return EXIT_USAGE;
}
