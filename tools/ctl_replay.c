/*
 * ctl_replay.c: billordctl replay: recorded request logs and log segments applied to a data
 * directory in-process (billord/replay.h), or sent to a running server (ctl_replay_http.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <billord/replay.h>

#include "ctl.h"
#include "ctl_replay.h"

#define REPLAY_INPUTS_MAX 4096u

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: billordctl replay --data DIR [--fixtures FILE] [--expect] [--strict]\n"
            "                         [--from-wal] [--map-size BYTES] [--record FILE] [--json]\n"
            "                         LOG...\n"
            "       billordctl replay --target http://HOST:PORT --keys FILE [--rate N|max]\n"
            "                         [--concurrency C] [--expect] [--strict] [--json] LOG...\n"
            "Replay recorded request logs (NDJSON, SPEC section 8) and log segments.\n"
            "In-process (--data): each command runs at its recorded time (ts_ms) with its\n"
            "recorded request_id; writes go in batches straight to the engine (DIR keeps no log\n"
            "of its own and is synced once at the end), reads are queried. A *.seg file or a\n"
            "directory (a data directory means its wal/) is a log; --from-wal says so for all.\n"
            "--fixtures seeds an empty DIR first. --record FILE writes every replayed command\n"
            "with its new response as a request log line (replay it with --expect).\n"
            "Against a server (--target): each request V1-signed with its account's key from\n"
            "FILE ({\"ACCOUNT\": {\"id\": ..., \"secret\": ...}} or a fixture file), at the\n"
            "recorded pace, N requests/s, or as fast as possible (--rate max).\n"
            "--expect compares every response with the recorded one (status and body; against a\n"
            "server RequestId aside) and prints each difference. --strict stops at the first\n"
            "malformed line (otherwise reported and skipped).\n"
            "Exit status: 0 ok, 1 a divergence or a failure, 2 bad usage.\n");
}

static void print_counts_text(FILE *out, const billord_replay_stats *stats)
{
    fprintf(out, "  %-36s %-40s %12s\n", "action", "outcome", "count");
    for (size_t i = 0; i < stats->count_entries; i++) {
        const billord_replay_count *entry = &stats->counts[i];
        fprintf(out, "  %-36s %-40s %12llu\n", entry->action,
                entry->code == BILLORD_API_CODE_COUNT ? "(other)"
                                                      : billord_api_code_text(entry->code),
                (unsigned long long)entry->count);
    }
}

static void print_summary_text(FILE *out, const billord_replay_stats *stats, bool expect)
{
    double rate = stats->elapsed_s > 0 ? (double)stats->requests / stats->elapsed_s : 0.0;
    fprintf(out,
            "replay: %llu requests (%llu writes in %llu batches, %llu reads) from %llu lines and "
            "%llu log records in %.3f s: %.0f requests/s\n",
            (unsigned long long)stats->requests, (unsigned long long)stats->writes,
            (unsigned long long)stats->batches, (unsigned long long)stats->reads,
            (unsigned long long)stats->lines, (unsigned long long)stats->wal_records,
            stats->elapsed_s, rate);
    fprintf(out,
            "skipped: %llu unauthenticated, %llu refused before the engine; answered as "
            "recorded: %llu; malformed lines: %llu%s\n",
            (unsigned long long)stats->skipped[BILLORD_REPLAY_SKIP_UNAUTHENTICATED],
            (unsigned long long)stats->skipped[BILLORD_REPLAY_SKIP_NO_ACTION],
            (unsigned long long)stats->as_recorded, (unsigned long long)stats->malformed,
            stats->wal_torn_tail ? "; log ended in a torn tail" : "");
    if (expect) {
        fprintf(out, "expect: %llu compared, %llu divergences\n",
                (unsigned long long)stats->compared, (unsigned long long)stats->divergences);
    }
    print_counts_text(out, stats);
}

static void print_summary_json(FILE *out, const billord_replay_stats *stats, bool expect)
{
    json_t *outcomes = json_array();
    for (size_t i = 0; i < stats->count_entries; i++) {
        const billord_replay_count *entry = &stats->counts[i];
        json_array_append_new(
            outcomes,
            json_pack("{s:s, s:s, s:I}", "action", entry->action, "code",
                      entry->code == BILLORD_API_CODE_COUNT ? "(other)"
                                                            : billord_api_code_text(entry->code),
                      "count", (json_int_t)entry->count));
    }
    double rate = stats->elapsed_s > 0 ? (double)stats->requests / stats->elapsed_s : 0.0;
    json_t *root = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:f, s:f, s:o}", "lines",
        (json_int_t)stats->lines, "requests", (json_int_t)stats->requests, "writes",
        (json_int_t)stats->writes, "reads", (json_int_t)stats->reads, "batches",
        (json_int_t)stats->batches, "skipped_unauthenticated",
        (json_int_t)stats->skipped[BILLORD_REPLAY_SKIP_UNAUTHENTICATED], "skipped_no_action",
        (json_int_t)stats->skipped[BILLORD_REPLAY_SKIP_NO_ACTION], "answered_as_recorded",
        (json_int_t)stats->as_recorded, "malformed", (json_int_t)stats->malformed,
        "wal_records", (json_int_t)stats->wal_records, "wal_torn_tail", stats->wal_torn_tail,
        "elapsed_s", stats->elapsed_s, "requests_per_s", rate, "outcomes", outcomes);
    if (expect) {
        json_object_set_new(root, "compared", json_integer((json_int_t)stats->compared));
        json_object_set_new(root, "divergences", json_integer((json_int_t)stats->divergences));
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(out, "%s\n", text != NULL ? text : "{}");
    free(text);
    json_decref(root);
}

void ctl_replay_print_summary(FILE *out, const billord_replay_stats *stats, bool expect,
                              bool as_json)
{
    if (as_json) {
        print_summary_json(out, stats, expect);
    } else {
        print_summary_text(out, stats, expect);
    }
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

/* One option with its value; false (after the message) on a bad one. */
static bool option_value(int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "billordctl replay: %s needs a value\n", argv[*i]);
        return false;
    }
    *out = argv[++*i];
    return true;
}

static int parse_args(int argc, char **argv, ctl_replay_args *args)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        bool ok = true;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            replay_usage(stdout);
            return -1;
        } else if (strcmp(arg, "--expect") == 0) {
            args->expect = true;
        } else if (strcmp(arg, "--strict") == 0) {
            args->strict = true;
        } else if (strcmp(arg, "--from-wal") == 0) {
            args->from_wal = true;
        } else if (strcmp(arg, "--json") == 0) {
            args->as_json = true;
        } else if (strcmp(arg, "--data") == 0) {
            ok = option_value(argc, argv, &i, &args->data_dir);
        } else if (strcmp(arg, "--fixtures") == 0) {
            ok = option_value(argc, argv, &i, &args->fixtures_path);
        } else if (strcmp(arg, "--target") == 0) {
            ok = option_value(argc, argv, &i, &args->target);
        } else if (strcmp(arg, "--record") == 0) {
            ok = option_value(argc, argv, &i, &args->record_path);
        } else if (strcmp(arg, "--keys") == 0) {
            ok = option_value(argc, argv, &i, &args->keys_path);
        } else if (strcmp(arg, "--rate") == 0) {
            ok = option_value(argc, argv, &i, &args->rate);
        } else if (strcmp(arg, "--concurrency") == 0) {
            ok = option_value(argc, argv, &i, &value) && parse_u64(value, &args->concurrency) &&
                 args->concurrency >= 1 && args->concurrency <= CTL_REPLAY_CONCURRENCY_MAX;
            if (!ok && value != NULL) {
                fprintf(stderr, "billordctl replay: --concurrency %s: must be 1..%u\n", value,
                        CTL_REPLAY_CONCURRENCY_MAX);
            }
        } else if (strcmp(arg, "--map-size") == 0) {
            ok = option_value(argc, argv, &i, &value) && parse_u64(value, &args->map_bytes);
            if (!ok && value != NULL) {
                fprintf(stderr, "billordctl replay: --map-size %s: must be a byte count\n", value);
            }
        } else if (arg[0] != '-' && args->input_count < REPLAY_INPUTS_MAX) {
            args->inputs[args->input_count++] = arg;
        } else {
            fprintf(stderr, "billordctl replay: unexpected argument '%s'\n", arg);
            ok = false;
        }
        if (!ok) {
            return CTL_EXIT_USAGE;
        }
    }
    return CTL_EXIT_OK;
}

static int check_args(const ctl_replay_args *args)
{
    const char *problem = NULL;
    if (args->input_count == 0) {
        problem = "no LOG given";
    } else if ((args->data_dir == NULL) == (args->target == NULL)) {
        problem = "give exactly one of --data DIR and --target URL";
    } else if (args->target != NULL && args->keys_path == NULL) {
        problem = "--target needs --keys FILE";
    } else if (args->target != NULL &&
               (args->fixtures_path != NULL || args->from_wal || args->record_path != NULL)) {
        problem = "--fixtures, --from-wal and --record apply to --data only";
    } else if (args->data_dir != NULL && (args->rate != NULL || args->concurrency != 0)) {
        problem = "--rate and --concurrency apply to --target only";
    }
    if (problem != NULL) {
        fprintf(stderr, "billordctl replay: %s\n", problem);
        replay_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}

static int replay_local(const ctl_replay_args *args)
{
    billord_replay_options options = {
        .data_dir = args->data_dir,
        .fixtures_path = args->fixtures_path,
        .map_bytes = args->map_bytes,
        .expect = args->expect,
        .strict = args->strict,
        .from_wal = args->from_wal,
        .inputs = args->inputs,
        .input_count = args->input_count,
        .out = stdout,
        .err = stderr,
        .progress = isatty(STDERR_FILENO) ? 2 : 1,
    };
    if (args->record_path != NULL) {
        options.record = fopen(args->record_path, "w");
        if (options.record == NULL) {
            fprintf(stderr, "billordctl replay: --record %s: %s\n", args->record_path,
                    strerror(errno));
            return CTL_EXIT_FAILED;
        }
    }
    billord_replay_stats *stats = malloc(sizeof *stats);
    char error_text[CTL_ERROR_BYTES] = "out of memory";
    billord_err err = stats == NULL ? BILLORD_E_NOMEM
                                    : billord_replay_run(&options, stats, error_text,
                                                         sizeof error_text);
    if (options.record != NULL && fclose(options.record) != 0 && err == BILLORD_OK) {
        snprintf(error_text, sizeof error_text, "--record %s: %s", args->record_path,
                 strerror(errno));
        err = BILLORD_E_IO;
    }
    if (stats == NULL) {
        fprintf(stderr, "billordctl replay: %s\n", error_text);
        return CTL_EXIT_FAILED;
    }
    ctl_replay_print_summary(stdout, stats, args->expect, args->as_json);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl replay: %s\n", error_text);
    }
    int status = err != BILLORD_OK || stats->divergences > 0 ? CTL_EXIT_FAILED : CTL_EXIT_OK;
    free(stats);
    return status;
}

int ctl_replay(int argc, char **argv)
{
    static const char *inputs[REPLAY_INPUTS_MAX];
    ctl_replay_args args = {.inputs = inputs};
    int status = parse_args(argc, argv, &args);
    if (status != CTL_EXIT_OK) {
        return status < 0 ? CTL_EXIT_OK : status;
    }
    status = check_args(&args);
    if (status != CTL_EXIT_OK) {
        return status;
    }
    return args.target != NULL ? ctl_replay_http(&args) : replay_local(&args);
}
