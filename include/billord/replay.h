/*
 * billord/replay.h: recorded request logs and the operator checks of a data directory
 * (SPEC section 8, docs/operations.md).
 *
 *   line parse   one NDJSON request log line -> a command and its recorded response (pure)
 *   replay run   request logs and log segments applied to a data directory, in-process
 *   digest       one hash of the whole logical state
 *   verify       log checksums and continuity, LMDB decodes, indexes, money invariants
 *
 * Threads: every function may be called from any thread; a run, digest or verify owns the
 * data directory it works on for its duration (digest and verify only read).
 */
#ifndef BILLORD_REPLAY_H
#define BILLORD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <billord/engine.h>
#include <billord/error.h>
#include <billord/limits.h>

/* A request log line holds at most 64 parameters of 4 KiB and a response body: 1 MiB is
 * far above what the server writes, and bounds what one bad line can cost. */
#define BILLORD_REPLAY_LINE_BYTES_MAX (1024u * 1024u)
#define BILLORD_REPLAY_ERROR_BYTES 512u
#define BILLORD_DIGEST_HEX_BYTES 32u          /* XXH3-128 as lowercase hex, without NUL */

/* ---- one request log line ------------------------------------------------------------- */

/** A parsed line. Strings point into root (or are static ""); free with _line_free(). */
typedef struct billord_replay_line {
    int64_t ts_ms;
    const char *account;                    /* "" when refused before authentication */
    const char *action;                     /* "" when refused before the action was known */
    uint32_t param_count;
    billord_param params[BILLORD_PARAMS_MAX];
    bool has_request_id;
    char request_id[BILLORD_REQUEST_ID_BYTES + 1];
    bool has_response;
    int response_status;
    const json_t *response_body;            /* object (or string); NULL without response */
    json_t *root;                           /* owns everything above */
} billord_replay_line;

/**
 * Parse one NDJSON line (without its newline). Pure: no I/O, no clock.
 * Required: "ts_ms" (integer >= 0), "account" (string), "action" (string). Optional:
 * "params" (object of string values), "request_id" (uppercase UUID), "response"
 * ({"status": 100..599, "body": object or string}). Other keys are ignored (forward
 * compatible). Limits of billord/limits.h apply to every string.
 * @param[out] out         On BILLORD_OK, the line (release with billord_replay_line_free());
 *                         zeroed on failure.
 * @param[out] error_text  On failure, one line naming the JSON path ("$.params.Period: must be
 *                         a string") or the column of a syntax error.
 * @return BILLORD_OK, BILLORD_E_INVALID_ARGUMENT (malformed), BILLORD_E_TOO_LARGE,
 *         BILLORD_E_NOMEM.
 */
billord_err billord_replay_line_parse(const char *bytes, size_t bytes_len, billord_replay_line *out,
                                      char *error_text, size_t error_text_bytes);

/** NULL and a zeroed line are allowed. */
void billord_replay_line_free(billord_replay_line *line);

/**
 * The request id of a line that recorded none: an uppercase UUID derived from the input's
 * position among the replayed files and the line number, so two replays of the same files
 * derive the same ids.
 */
void billord_replay_request_id_derive(uint32_t input_index, uint64_t line_number,
                                      char out[BILLORD_REQUEST_ID_BYTES + 1]);

/** Compact JSON with sorted keys (malloc'd; NULL on ENOMEM): how bodies are compared. */
char *billord_replay_json_canonical(const json_t *value);

/* ---- replay into a data directory ---------------------------------------------------- */

/* Counted outcomes that the replayed engine did not decide. */
typedef enum billord_replay_skip {
    BILLORD_REPLAY_SKIP_UNAUTHENTICATED = 0,    /* account "": refused before authentication */
    BILLORD_REPLAY_SKIP_NO_ACTION,              /* action "": refused before the engine */
    BILLORD_REPLAY_SKIP_COUNT
} billord_replay_skip;

typedef struct billord_replay_count {
    char action[BILLORD_ACTION_BYTES_MAX + 1];  /* "(tick)" for a log's clock commands */
    billord_api_code code;
    uint64_t count;
} billord_replay_count;

#define BILLORD_REPLAY_COUNTS_MAX 256u          /* distinct (action, code) pairs; then "(other)" */

typedef struct billord_replay_stats {
    uint64_t lines;                         /* NDJSON lines read (blank ones excluded) */
    uint64_t requests;                      /* commands answered (writes, reads, log commands) */
    uint64_t writes;
    uint64_t reads;
    uint64_t batches;                       /* engine submits */
    uint64_t as_recorded;                   /* answered as recorded without the engine */
    uint64_t skipped[BILLORD_REPLAY_SKIP_COUNT];
    uint64_t malformed;
    uint64_t compared;                      /* lines with a recorded response, --expect */
    uint64_t divergences;
    uint64_t wal_records;
    uint64_t wal_commands;
    bool wal_torn_tail;
    double elapsed_s;
    size_t count_entries;
    billord_replay_count counts[BILLORD_REPLAY_COUNTS_MAX];
} billord_replay_stats;

/** Add one outcome to the per (action, code) table. */
void billord_replay_stats_count(billord_replay_stats *stats, const char *action,
                                billord_api_code code);

typedef struct billord_replay_options {
    const char *data_dir;                   /* created if missing */
    const char *fixtures_path;              /* NULL, or seed an empty data_dir first */
    uint64_t map_bytes;                     /* 0: BILLORD_MAP_BYTES_DEFAULT */
    bool expect;                            /* compare with the recorded responses */
    bool strict;                            /* stop at the first malformed line */
    bool from_wal;                          /* every input is a log segment or directory */
    const char *const *inputs;
    size_t input_count;
    FILE *out;                              /* divergences (NULL: stdout) */
    FILE *err;                              /* malformed lines, progress (NULL: stderr) */
    /* NULL, or every answered command is written here as a request log line (the server's
     * format, with the replayed response): two replays compare byte for byte, and the file
     * replays with expect. */
    FILE *record;
    /* 0: none; 1: plain progress lines now and then; 2: a bar redrawn in place (terminal). */
    int progress;
} billord_replay_options;

/**
 * Replay every input in order into options->data_dir (docs/operations.md, "Replay"): the
 * recorded time is each command's now_ms, the recorded request_id its RequestId; writes go
 * in batches straight through billord_engine_submit() (the directory gets no log of its own
 * and is synced once at the end), reads through billord_engine_query(). An input is a
 * request log unless from_wal is set or it is a *.seg file or a directory (a data directory
 * means its wal/ subdirectory).
 * @param[out] out_stats   Always written.
 * @param[out] error_text  On failure, one line naming the file and line, offset or option.
 * @return BILLORD_OK (divergences and skipped malformed lines are in the stats);
 *         BILLORD_E_INVALID_ARGUMENT (a malformed line with strict); BILLORD_E_FIXTURE;
 *         BILLORD_E_NOT_EMPTY (fixtures given but the store has state); BILLORD_E_IO;
 *         BILLORD_E_WAL_CORRUPT; BILLORD_E_NOMEM or BILLORD_E_IO when a record line could
 *         not be made or written (no line is ever written cut); what the engine returns.
 */
billord_err billord_replay_run(const billord_replay_options *options,
                               billord_replay_stats *out_stats, char *error_text,
                               size_t error_text_bytes);

/* ---- digest and verify ---------------------------------------------------------------- */

/**
 * XXH3-128 over every named database of DATA_DIR/state in id order, every key/value pair
 * in key order (length-prefixed), leaving out meta's applied_lsn: the same logical state
 * gives the same digest whatever the page layout, insertion order or log position.
 * Opens LMDB read-only (safe beside a running server).
 * @param[out] out_hex    BILLORD_DIGEST_HEX_BYTES characters and a NUL.
 * @param[out] out_pairs  May be NULL; key/value pairs hashed.
 * @return BILLORD_OK, BILLORD_E_NOT_FOUND (no store there), BILLORD_E_IO.
 */
billord_err billord_replay_digest(const char *data_dir, char out_hex[BILLORD_DIGEST_HEX_BYTES + 1],
                                  uint64_t *out_pairs, char *error_text, size_t error_text_bytes);

/** Called once per problem found, with one line of text. */
typedef void (*billord_verify_problem_fn)(void *problem_ctx, const char *text);

typedef struct billord_verify_report {
    uint64_t problems;
    bool wal_present;                       /* DATA_DIR/wal exists (a replayed dir has none) */
    uint64_t wal_records;
    uint64_t wal_lsn_first;
    uint64_t wal_lsn_last;
    bool wal_torn_tail;                     /* a torn (never acknowledged) tail: not a problem */
    uint64_t lmdb_values;                   /* key/value pairs read */
    uint64_t accounts, instances, orders, tokens;
    uint64_t applied_lsn;
} billord_verify_report;

/**
 * Check a data directory (docs/operations.md, "Verify"): the log in DATA_DIR/wal (and
 * archive_dir when given) verifies and is continuous and reaches the state's applied LSN;
 * every LMDB value decodes; indexes agree with their tables both ways; the money
 * invariants of docs/store-layout.md hold. Opens everything read-only.
 * @return BILLORD_OK when the checks ran (problems in the report); BILLORD_E_NOT_FOUND
 *         (no data directory there), BILLORD_E_IO, BILLORD_E_NOMEM.
 */
billord_err billord_verify(const char *data_dir, const char *archive_dir,
                           billord_verify_problem_fn problem, void *problem_ctx,
                           billord_verify_report *out_report);

#endif
