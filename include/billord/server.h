/*
 * billord/server.h: `billord serve`, the HTTP front of billord (SPEC sections 1, 2, 8, 11).
 *
 * One libmicrohttpd daemon with a thread per connection: a write request blocks its
 * connection thread in billord_db_execute() until the group commit carrying it is synced,
 * and the many connections waiting at once are what fills a batch. Reads are answered on
 * the connection thread from an LMDB read transaction.
 *
 * Request pipeline (docs/api.md): limits -> parameters (query, then a form body) ->
 * authentication (V1 or V3 signature, or the gateway's caller header) -> action ->
 * execute or query -> render (JSON, or XML when Format=XML) -> request log line.
 *
 * Replay protection survives a restart: every accepted signature nonce is appended to
 * DATA_DIR/nonces.log (no fsync: it survives a killed process) and reloaded at start.
 * After an OS crash or power loss (the boot id in DATA_DIR/boot_id differs from the
 * machine's) the unsynced log may have lost entries, so requests signed before this
 * process started are refused as expired.
 *
 * Threads: start and stop from one thread; the handle is used by the server's threads
 * in between. billord_server_port() from any thread.
 */
#ifndef BILLORD_SERVER_H
#define BILLORD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <billord/engine.h>
#include <billord/error.h>

/* ---- Limits (SPEC section 11); each answers a clean error, docs/api.md "Limits" ------------ */

/* Connections served at once; a request on a connection past it answers 503
 * ServiceUnavailable with "Connection: close". */
#define BILLORD_SERVER_CONNECTIONS_MAX 1024u
/* Connections past BILLORD_SERVER_CONNECTIONS_MAX that are still accepted (to answer 503);
 * beyond both, libmicrohttpd closes a new connection at once. */
#define BILLORD_SERVER_CONNECTIONS_OVERFLOW 64u
/* A connection with no traffic for this long is closed (keep-alive idle, stalled peers). */
#define BILLORD_SERVER_IDLE_TIMEOUT_S 5u
/* A request's line, headers and body must all arrive within this long of the connection
 * starting to wait for it: a client trickling bytes cannot hold a thread. */
#define BILLORD_SERVER_READ_TIMEOUT_MS 10000u
/* Per-connection memory of libmicrohttpd (request line, headers, read buffer). Headers past
 * BILLORD_HEADERS_BYTES_MAX but within it answer 413 RequestTooLarge from billord; past it,
 * the library itself answers 431 and closes. */
#define BILLORD_SERVER_CONNECTION_MEMORY_BYTES (64u * 1024u)
/* Request headers counted one by one (past it: 413). */
#define BILLORD_SERVER_HEADERS_MAX 128u
/* SIGTERM: how long in-flight requests get to finish before the daemon stops anyway. */
#define BILLORD_SERVER_DRAIN_MS_MAX 30000u
/* Nonces remembered for replay protection (each for the 15 minute timestamp window), by
 * default: about 290 signed requests/s sustained; at 40 bytes each. A configuration may
 * set 1..BILLORD_NONCE_GUARD_CAPACITY_MAX (2^24) instead. Past it, signed requests answer
 * 503 ServiceUnavailable until nonces expire. */
#define BILLORD_SERVER_NONCES_DEFAULT (1u << 18)
/* GET /admin/events: events per answer at most (and by default). */
#define BILLORD_SERVER_EVENTS_PAGE_MAX 1000u
/* The longest admin_token (bytes, without the NUL). billord_server_start() refuses a longer
 * one with BILLORD_E_INVALID_ARGUMENT ("admin token: longer than 256 bytes") rather than
 * cut it, which would leave the configured token refused and a prefix of it accepted. */
#define BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX 256u

/* advance_ms of POST /admin/clock: at most ten years at a time. */
#define BILLORD_SERVER_CLOCK_ADVANCE_MS_MAX (10LL * 366 * 24 * 3600 * 1000)

#define BILLORD_SERVER_LISTEN_HOST_DEFAULT "127.0.0.1"
#define BILLORD_SERVER_LISTEN_PORT_DEFAULT 8080u

typedef enum billord_server_auth {
    BILLORD_SERVER_AUTH_SIGNATURE = 0,  /* V1 and V3 signatures with the account's keys */
    BILLORD_SERVER_AUTH_GATEWAY = 1,    /* the caller's UID in x-acs-caller-uid */
} billord_server_auth;

typedef enum billord_server_clock {
    BILLORD_SERVER_CLOCK_SYSTEM = 0,    /* commands carry the real time */
    BILLORD_SERVER_CLOCK_MANUAL = 1,    /* starts at the data directory's clock; moved only by
                                         * POST /admin/clock?advance_ms=N from loopback */
} billord_server_clock;

typedef enum billord_server_log_level {
    BILLORD_SERVER_LOG_ERROR = 0,       /* start-up, failures, 5xx answers */
    BILLORD_SERVER_LOG_INFO = 1,        /* plus one line per request */
    BILLORD_SERVER_LOG_DEBUG = 2,       /* plus why a request was refused before the engine */
} billord_server_log_level;

typedef struct billord_server_config {
    const char *data_dir;               /* required; created if missing */
    const char *listen_host;            /* NULL: BILLORD_SERVER_LISTEN_HOST_DEFAULT (numeric) */
    uint16_t listen_port;               /* 0: any free port, see billord_server_port() */
    const char *fixtures_path;          /* NULL: none; seeds an empty data directory only */
    billord_server_auth auth;
    billord_server_clock clock;
    const char *request_log_path;       /* NULL: no request log (SPEC section 8) */
    /* The secret of GET /admin/events (header x-billord-admin-token); NULL: the endpoint
     * is off. Copied at start; at most BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX bytes. */
    const char *admin_token;
    billord_server_log_level log_level;
    uint64_t map_bytes;                 /* 0: BILLORD_MAP_BYTES_DEFAULT */
    billord_lmdb_mode lmdb_mode;        /* docs/durability.md; the program's default: snapshot */
    const char *archive_dir;            /* NULL: retired log segments are deleted; else they
                                         * are moved here (created if missing), a recorded
                                         * command log that billordctl replay reads */
    /* Signature nonces remembered (0: BILLORD_SERVER_NONCES_DEFAULT; at most
     * BILLORD_NONCE_GUARD_CAPACITY_MAX). When the nonces.log of the last run holds more
     * unexpired nonces than this, requests signed before the start are refused. */
    uint32_t nonce_capacity;
    /* Tests: 0 takes the defaults above. */
    uint32_t idle_timeout_s;
    uint32_t read_timeout_ms;
    uint32_t connections_max;
    /* The clock that signature timestamps are checked against; NULL: the system clock. */
    int64_t (*auth_now_ms)(void *auth_clock_ctx);
    void *auth_clock_ctx;
    /* One line of operator output (no newline); NULL prints to stderr. Called from any
     * thread, serialised by the server. */
    void (*log_line)(void *log_ctx, const char *line);
    void *log_ctx;
} billord_server_config;

typedef struct billord_server billord_server;

/**
 * Open the data directory (recovering from its log, reported through log_line), seed it
 * from fixtures_path when it is empty, open the nonce and request logs, and start serving.
 * @param[out] out_server  On BILLORD_OK, a handle for billord_server_stop().
 * @param[out] error_text  On failure, one line naming the file, JSON path or option at
 *                         fault; error_text_bytes >= 1.
 * @return BILLORD_OK; BILLORD_E_FIXTURE (the fixture file is invalid); BILLORD_E_IO (a file,
 *         or the listening socket); BILLORD_E_INVALID_ARGUMENT (no data_dir, an admin_token
 *         longer than BILLORD_SERVER_ADMIN_TOKEN_BYTES_MAX, a nonce_capacity over
 *         BILLORD_NONCE_GUARD_CAPACITY_MAX, or a listen_host that does not resolve); BILLORD_E_NOMEM; what billord_db_open() returns.
 */
billord_err billord_server_start(const billord_server_config *config,
                                 billord_server **out_server, char *error_text,
                                 size_t error_text_bytes);

/** The port the server listens on (the chosen one when listen_port was 0). */
uint16_t billord_server_port(const billord_server *server);

/**
 * Stop accepting, let requests in flight finish (at most BILLORD_SERVER_DRAIN_MS_MAX),
 * stop the daemon, close the data directory (draining and syncing its queue) and the
 * logs. NULL is allowed.
 */
void billord_server_stop(billord_server *server);

#endif
