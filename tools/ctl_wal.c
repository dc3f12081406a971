/*
 * ctl_wal.c: billordctl wal list|dump --data DIR|PATH [--json]: the records of a log (a data
 * directory's wal/, a directory of segments such as an archive, or one *.seg file).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <billord/timeutil.h>
#include <billord/wal.h>
#include <billord/wal_batch.h>

#include "ctl.h"

#define WAL_PATH_BYTES_MAX 4096u

static void wal_usage(FILE *out)
{
    fprintf(out, "usage: billordctl wal list --data DIR|PATH [--json]\n"
                 "       billordctl wal dump --data DIR|PATH [--json]\n"
                 "list: one line per log record: LSN, segment file, byte offset, payload size and\n"
                 "command count. dump: also every command: time, request id, account, action and\n"
                 "parameters. DIR is a data directory (its wal/), a directory of segments (an\n"
                 "archive) or one *.seg file. --json: one JSON object per record and line.\n"
                 "A torn tail is reported on stderr (it was never acknowledged); any other damage\n"
                 "names the segment and offset and exits 1.\n");
}

static json_t *command_json(const billord_command *command)
{
    char time_text[BILLORD_RFC3339_BYTES_MAX];
    if (billord_time_format_rfc3339(command->now_ms, time_text) == 0) {
        snprintf(time_text, sizeof time_text, "?");
    }
    json_t *params = json_object();
    for (uint32_t i = 0; i < command->param_count; i++) {
        json_object_set_new(params, command->params[i].name,
                            json_string(command->params[i].value));
    }
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:o}", "kind",
                     command->kind == BILLORD_COMMAND_TICK ? "tick" : "request", "now_ms",
                     (json_int_t)command->now_ms, "time", time_text, "request_id",
                     command->request_id, "account", command->account, "action", command->action,
                     "params", params);
}

static void print_command_text(const billord_command *command, size_t index)
{
    char time_text[BILLORD_RFC3339_BYTES_MAX];
    if (billord_time_format_rfc3339(command->now_ms, time_text) == 0) {
        snprintf(time_text, sizeof time_text, "%lld", (long long)command->now_ms);
    }
    if (command->kind == BILLORD_COMMAND_TICK) {
        printf("  [%zu] %s %s tick\n", index, time_text, command->request_id);
        return;
    }
    printf("  [%zu] %s %s account=%s action=%s", index, time_text, command->request_id,
           command->account, command->action);
    for (uint32_t i = 0; i < command->param_count; i++) {
        printf(" %s=%s", command->params[i].name, command->params[i].value);
    }
    printf("\n");
}

static void print_record(const billord_wal_record *record, const billord_wal_batch *batch,
                         bool dump, bool as_json)
{
    if (as_json) {
        json_t *root = json_pack("{s:I, s:s, s:I, s:I, s:I}", "lsn", (json_int_t)record->lsn,
                                 "segment", record->segment_path, "offset",
                                 (json_int_t)record->offset_bytes, "payload_bytes",
                                 (json_int_t)record->payload_bytes, "command_count",
                                 (json_int_t)batch->count);
        if (dump) {
            json_t *commands = json_array();
            for (size_t i = 0; i < batch->count; i++) {
                json_array_append_new(commands, command_json(&batch->commands[i]));
            }
            json_object_set_new(root, "commands", commands);
        }
        char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text != NULL ? text : "{}");
        free(text);
        json_decref(root);
        return;
    }
    printf("lsn=%llu segment=%s offset=%llu bytes=%u commands=%zu\n",
           (unsigned long long)record->lsn, record->segment_path,
           (unsigned long long)record->offset_bytes, record->payload_bytes, batch->count);
    for (size_t i = 0; dump && i < batch->count; i++) {
        print_command_text(&batch->commands[i], i);
    }
}

static int wal_walk(const char *path, bool dump, bool as_json)
{
    billord_wal_reader *reader = NULL;
    billord_err err = billord_wal_reader_open(path, NULL, &reader);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl wal: %s: %s\n", path,
                err == BILLORD_E_NOT_FOUND ? "no log segment there" : billord_err_message(err));
        return CTL_EXIT_FAILED;
    }
    billord_wal_record record;
    int status = CTL_EXIT_OK;
    while ((err = billord_wal_reader_next(reader, &record)) == BILLORD_OK) {
        billord_wal_batch batch;
        if (billord_wal_batch_decode(record.payload, record.payload_bytes, &batch) != BILLORD_OK) {
            fprintf(stderr, "billordctl wal: %s: offset %llu: record %llu does not decode\n",
                    record.segment_path, (unsigned long long)record.offset_bytes,
                    (unsigned long long)record.lsn);
            status = CTL_EXIT_FAILED;
        } else {
            print_record(&record, &batch, dump, as_json);
        }
        billord_wal_batch_free(&batch);
    }
    if (err == BILLORD_E_WAL_TRUNCATED) {
        fprintf(stderr, "billordctl wal: %s: torn tail (never acknowledged)\n",
                billord_wal_reader_error(reader));
    } else if (err != BILLORD_E_NOT_FOUND) {
        fprintf(stderr, "billordctl wal: %s\n", billord_wal_reader_error(reader));
        status = CTL_EXIT_FAILED;
    }
    billord_wal_reader_close(reader);
    return status;
}

/* A data directory means its wal/ subdirectory; anything else is read as given. */
static void resolve(const char *path, char *out, size_t out_bytes)
{
    struct stat st;
    int written = snprintf(out, out_bytes, "%s/wal", path);
    if (written < 0 || (size_t)written >= out_bytes || stat(out, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        snprintf(out, out_bytes, "%s", path);
    }
}

int ctl_wal(int argc, char **argv)
{
    const char *verb = NULL, *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            wal_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc && path == NULL) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (verb == NULL && (strcmp(argv[i], "list") == 0 || strcmp(argv[i], "dump") == 0)) {
            verb = argv[i];
        } else if (argv[i][0] != '-' && verb != NULL && path == NULL) {
            path = argv[i];
        } else {
            fprintf(stderr, "billordctl wal: unexpected argument '%s'\n", argv[i]);
            wal_usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (verb == NULL || path == NULL) {
        wal_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    char resolved[WAL_PATH_BYTES_MAX];
    resolve(path, resolved, sizeof resolved);
    return wal_walk(resolved, strcmp(verb, "dump") == 0, as_json);
}
