/*
 * run.c: replay of request logs and log segments into a data directory (replay.h).
 *
 * Fast path: writes are applied in batches straight through billord_engine_submit(), with no
 * log of their own (the replayed directory can always be replayed again) and LMDB without
 * syncs until one sync at the end. Reads flush the batch first, so they see every earlier
 * write, exactly as the server's reads did.
 *
 * Batches are cut before a second command with the same (account, ClientToken): within one
 * batch the engine would answer it LastTokenProcessing (an in-flight duplicate), while the
 * server, which received it after the first had been answered, replayed the first answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include <billord/render.h>
#include <billord/replay.h>
#include <billord/wal.h>
#include <billord/wal_batch.h>

#include "core/assert.h"
#include "core/text_buffer.h"

#define BATCH_COMMANDS_MAX BILLORD_BATCH_COMMANDS_MAX
#define TOKEN_SLOTS 4096u                       /* power of two, 4x the batch: short probes */
#define PROGRESS_CHECK_EVERY_LINES 4096u
#define PROGRESS_BAR_INTERVAL_NS 250000000LL    /* a bar redraws four times a second */
#define PROGRESS_LINE_INTERVAL_NS 5000000000LL  /* plain lines every five seconds */
#define PROGRESS_BAR_WIDTH 30
#define PATH_BYTES_MAX 4096u
#define NS_PER_S 1000000000LL

static_assert((TOKEN_SLOTS & (TOKEN_SLOTS - 1u)) == 0, "token slots are a power of two");
static_assert(TOKEN_SLOTS >= 2u * BATCH_COMMANDS_MAX, "the token set never fills");

typedef struct pending_item {
    billord_replay_line line;
    const char *text;                   /* the line as read (for divergence reports) */
    size_t text_bytes;
    uint64_t line_number;
    int command_index;                  /* into commands; -1: answered as recorded */
    billord_outcome recorded;           /* command_index == -1 */
    billord_command recorded_command;   /* command_index == -1 */
} pending_item;

typedef struct token_slot {
    uint64_t hash;
    uint64_t generation;                /* == run's generation: in use in this batch */
    uint32_t item;
} token_slot;

typedef struct replay_run {
    const billord_replay_options *options;
    billord_replay_stats *stats;
    billord_engine *engine;
    FILE *out;
    FILE *err;
    char *error_text;
    size_t error_text_bytes;
    const char *input_path;             /* the input being read */
    /* the batch being built */
    pending_item *items;
    size_t item_count;
    billord_command *commands;
    billord_outcome *outcomes;
    size_t command_count;
    token_slot *tokens;
    uint64_t generation;                /* 64 bits: never wraps back to the zeroed slots' 0 */
    /* progress */
    uint64_t bytes_total;
    uint64_t bytes_done;
    int64_t started_ns;
    int64_t progress_last_ns;
    bool progress_drawn;
    /* The first line options->record could not get whole (memory) or at all (the file):
     * the run then answers it, never a record with a line missing or cut. */
    billord_err record_err;
} replay_run;

static int64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec;
}

static billord_err fail(replay_run *run, billord_err err, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static billord_err fail(replay_run *run, billord_err err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(run->error_text, run->error_text_bytes, format, args);
    va_end(args);
    return err;
}

/* ---- the summary table ---------------------------------------------------------------- */

void billord_replay_stats_count(billord_replay_stats *stats, const char *action,
                                billord_api_code code)
{
    for (size_t i = 0; i < stats->count_entries; i++) {
        billord_replay_count *entry = &stats->counts[i];
        if (entry->code == code && strcmp(entry->action, action) == 0) {
            entry->count++;
            return;
        }
    }
    if (stats->count_entries == BILLORD_REPLAY_COUNTS_MAX) {
        /* The last slot collects everything past the table's capacity. */
        billord_replay_count *other = &stats->counts[BILLORD_REPLAY_COUNTS_MAX - 1];
        snprintf(other->action, sizeof other->action, "(other)");
        other->code = BILLORD_API_CODE_COUNT;
        other->count++;
        return;
    }
    billord_replay_count *entry = &stats->counts[stats->count_entries++];
    snprintf(entry->action, sizeof entry->action, "%s", action);
    entry->code = code;
    entry->count = 1;
}

/* ---- progress ----------------------------------------------------------------------------- */

static void progress_draw(replay_run *run, bool final)
{
    int64_t now_ns = monotonic_ns();
    int64_t interval_ns = run->options->progress == 2 ? PROGRESS_BAR_INTERVAL_NS
                                                      : PROGRESS_LINE_INTERVAL_NS;
    if (run->options->progress == 0 || (!final && now_ns - run->progress_last_ns < interval_ns)) {
        return;
    }
    if (final && !run->progress_drawn) {
        return;     /* a short run: no progress output at all */
    }
    run->progress_last_ns = now_ns;
    run->progress_drawn = true;
    double elapsed_s = (double)(now_ns - run->started_ns) / (double)NS_PER_S;
    double rate = elapsed_s > 0 ? (double)run->stats->requests / elapsed_s : 0.0;
    double fraction = run->bytes_total > 0 ? (double)run->bytes_done / (double)run->bytes_total
                                           : 0.0;
    fraction = fraction > 1.0 ? 1.0 : fraction;
    if (run->options->progress == 2) {
        int filled = (int)(fraction * PROGRESS_BAR_WIDTH);
        fprintf(run->err, "\r[%.*s%*s] %3d%% %llu requests %.0f/s", filled,
                "##############################", PROGRESS_BAR_WIDTH - filled, "",
                (int)(fraction * 100), (unsigned long long)run->stats->requests, rate);
        if (final) {
            fputc('\n', run->err);
        }
    } else {
        fprintf(run->err, "replay: %d%% %llu requests %.0f/s\n", (int)(fraction * 100),
                (unsigned long long)run->stats->requests, rate);
    }
    fflush(run->err);
}

/* ---- comparing with the recorded response ----------------------------------------------- */

static void print_divergence(replay_run *run, const pending_item *item, int status,
                             const char *body)
{
    char *recorded = billord_replay_json_canonical(item->line.response_body);
    fprintf(run->out,
            "divergence: %s:%llu\n  request:  %.*s\n  recorded: %d %s\n  replayed: %d %s\n",
            run->input_path, (unsigned long long)item->line_number, (int)item->text_bytes,
            item->text, item->line.response_status, recorded != NULL ? recorded : "?", status,
            body);
    free(recorded);
}

static bool bodies_equal(const json_t *recorded, const char *rendered, size_t rendered_bytes,
                         char **out_canonical)
{
    *out_canonical = NULL;
    if (json_is_string(recorded)) {
        return json_string_length(recorded) == rendered_bytes &&
               memcmp(json_string_value(recorded), rendered, rendered_bytes) == 0;
    }
    json_t *parsed = json_loadb(rendered, rendered_bytes, 0, NULL);
    char *mine = parsed != NULL ? billord_replay_json_canonical(parsed) : NULL;
    char *theirs = billord_replay_json_canonical(recorded);
    json_decref(parsed);
    bool equal = mine != NULL && theirs != NULL && strcmp(mine, theirs) == 0;
    free(theirs);
    *out_canonical = mine;
    return equal;
}

static void compare(replay_run *run, const pending_item *item, const billord_outcome *outcome,
                    const json_t *fields)
{
    if (!run->options->expect || !item->line.has_response) {
        return;
    }
    run->stats->compared++;
    size_t body_bytes = 0;
    char *body = billord_render(item->line.action, outcome, fields, BILLORD_FORMAT_JSON,
                                &body_bytes);
    int status = billord_render_status(outcome);
    char *canonical = NULL;
    bool same = body != NULL && status == item->line.response_status &&
                bodies_equal(item->line.response_body, body, body_bytes, &canonical);
    if (!same) {
        run->stats->divergences++;
        print_divergence(run, item, status,
                         canonical != NULL ? canonical : (body != NULL ? body : "?"));
    }
    free(canonical);
    free(body);
}

/* One request log line of a replayed command, in the server's key order (request_log.c):
 * written whole, or not at all with run->record_err set. */
static void record_write(replay_run *run, const billord_command *command,
                         const billord_outcome *outcome, const json_t *fields)
{
    if (run->record_err != BILLORD_OK) {
        return;
    }
    size_t body_bytes = 0;
    char *body = billord_render(command->action, outcome, fields, BILLORD_FORMAT_JSON,
                                &body_bytes);
    bool ok = body != NULL;
    json_t *params = json_object();
    for (uint32_t i = 0; i < command->param_count && ok; i++) {
        billord__json_set_member(params, command->params[i].name,
                                 json_string(command->params[i].value), &ok);
    }
    json_t *body_json = ok ? json_loadb(body, body_bytes, 0, NULL) : NULL;
    ok = ok && params != NULL && body_json != NULL;
    json_t *line = ok ? json_pack("{s:I, s:s, s:s, s:O, s:{s:i, s:O}, s:s}", "ts_ms",
                                  (json_int_t)command->now_ms, "account", command->account,
                                  "action", command->action, "params", params, "response",
                                  "status", billord_render_status(outcome), "body", body_json,
                                  "request_id", command->request_id)
                      : NULL;
    char *text = line != NULL ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text == NULL) {
        run->record_err = BILLORD_E_NOMEM;
    } else if (fprintf(run->options->record, "%s\n", text) < 0) {
        run->record_err = BILLORD_E_IO;
    }
    free(text);
    json_decref(line);
    json_decref(body_json);
    json_decref(params);
    free(body);
}

static void answered(replay_run *run, const pending_item *item, const billord_command *command,
                     const billord_outcome *outcome, const json_t *fields)
{
    run->stats->requests++;
    billord_replay_stats_count(run->stats, item->line.action, outcome->code);
    compare(run, item, outcome, fields);
    if (run->options->record != NULL) {
        record_write(run, command, outcome, fields);
    }
}

/* ---- batches ------------------------------------------------------------------------------ */

static uint64_t token_hash(const char *account, const char *token)
{
    /* The account's hash seeds the token's: (account, token) pairs, not concatenations. */
    return XXH3_64bits_withSeed(token, strlen(token), XXH3_64bits(account, strlen(account)));
}

static const char *param_find(const billord_replay_line *line, const char *name)
{
    for (uint32_t i = 0; i < line->param_count; i++) {
        if (strcmp(line->params[i].name, name) == 0) {
            return line->params[i].value;
        }
    }
    return NULL;
}

/* The slot of (account, token) in this batch's set: in use if it holds it, else the free one. */
static token_slot *token_lookup(replay_run *run, const char *account, const char *token,
                                uint64_t hash)
{
    for (uint32_t probe = 0;; probe++) {
        BILLORD_ASSERT(probe < TOKEN_SLOTS);
        token_slot *slot = &run->tokens[(hash + probe) & (TOKEN_SLOTS - 1u)];
        if (slot->generation != run->generation) {
            return slot;
        }
        const billord_replay_line *other = &run->items[slot->item].line;
        if (slot->hash == hash && strcmp(other->account, account) == 0 &&
            strcmp(param_find(other, "ClientToken"), token) == 0) {
            return slot;
        }
    }
}

static void batch_release(replay_run *run)
{
    for (size_t i = 0; i < run->item_count; i++) {
        billord_replay_line_free(&run->items[i].line);
    }
    run->item_count = 0;
    run->command_count = 0;
    run->generation++;
}

static billord_err batch_flush(replay_run *run)
{
    if (run->item_count == 0) {
        return BILLORD_OK;
    }
    billord_err err = BILLORD_OK;
    if (run->command_count > 0) {
        err = billord_engine_submit(run->engine, run->commands, run->command_count, 0, NULL,
                                    run->outcomes, NULL);
        run->stats->batches++;
        run->stats->writes += run->command_count;
    }
    if (err != BILLORD_OK) {
        err = fail(run, err, "%s:%llu: applying a batch of %zu commands failed: %s",
                   run->input_path, (unsigned long long)run->items[0].line_number,
                   run->command_count, billord_err_message(err));
    } else {
        for (size_t i = 0; i < run->item_count; i++) {
            const pending_item *item = &run->items[i];
            const billord_outcome *outcome = item->command_index < 0
                                                 ? &item->recorded
                                                 : &run->outcomes[item->command_index];
            const billord_command *command = item->command_index < 0
                                                 ? &item->recorded_command
                                                 : &run->commands[item->command_index];
            answered(run, item, command, outcome, NULL);
        }
    }
    batch_release(run);
    return err;
}

/* ---- one request log line ------------------------------------------------------------------ */

static void command_of_line(uint32_t input_index, const billord_replay_line *line,
                            uint64_t line_number, billord_command *command)
{
    memset(command, 0, sizeof *command);
    command->kind = BILLORD_COMMAND_REQUEST;
    command->now_ms = line->ts_ms;
    if (line->has_request_id) {
        memcpy(command->request_id, line->request_id, sizeof command->request_id);
    } else {
        billord_replay_request_id_derive(input_index, line_number, command->request_id);
    }
    command->account = line->account;
    command->action = line->action;
    command->param_count = line->param_count;
    command->params = line->params;
}

/*
 * Whether the recorded answer was decided by the server's circumstances rather than its state:
 * LastTokenProcessing (a concurrent duplicate), ServiceUnavailable and InternalError (nothing
 * was applied). Such a line is answered as recorded and not applied, whatever the flags.
 */
static bool recorded_without_state(const billord_replay_line *line, const char *request_id,
                                   billord_outcome *out)
{
    if (!line->has_response || !json_is_object(line->response_body)) {
        return false;
    }
    const char *code_text = json_string_value(json_object_get(line->response_body, "Code"));
    if (code_text == NULL) {
        return false;
    }
    billord_api_code code = billord_api_code_find(code_text, line->response_status);
    if (code != BILLORD_API_LAST_TOKEN_PROCESSING && code != BILLORD_API_SERVICE_UNAVAILABLE &&
        code != BILLORD_API_INTERNAL_ERROR) {
        return false;
    }
    memset(out, 0, sizeof *out);
    out->code = code;
    const char *message = json_string_value(json_object_get(line->response_body, "Message"));
    snprintf(out->message, sizeof out->message, "%s",
             message != NULL ? message : billord_api_code_message(code));
    memcpy(out->request_id, request_id, sizeof out->request_id);
    return true;
}

static billord_err answer_read(replay_run *run, pending_item *item, const billord_command *command)
{
    billord_err err = batch_flush(run);
    if (err != BILLORD_OK) {
        return err;
    }
    billord_outcome outcome;
    json_t *fields = NULL;
    err = billord_engine_query(run->engine, command, &outcome, &fields);
    if (err != BILLORD_OK) {
        return fail(run, err, "%s:%llu: the read failed: %s", run->input_path,
                    (unsigned long long)item->line_number, billord_err_message(err));
    }
    run->stats->reads++;
    answered(run, item, command, &outcome, fields);
    json_decref(fields);
    return BILLORD_OK;
}

/* Add a write (or an as-recorded answer) to the batch, cutting it before a repeated token. */
static billord_err add_write(replay_run *run, const billord_command *line_command,
                             bool as_recorded)
{
    billord_command command = *line_command;
    pending_item *item = &run->items[run->item_count];
    const char *token = as_recorded ? NULL : param_find(&item->line, "ClientToken");
    if (token != NULL) {
        uint64_t hash = token_hash(command.account, token);
        token_slot *slot = token_lookup(run, command.account, token, hash);
        if (slot->generation == run->generation) {
            /* The flush moves the items: carry the new one over as the first of the next batch. */
            pending_item carried = *item;
            memset(item, 0, sizeof *item);
            billord_err err = batch_flush(run);
            run->items[0] = carried;
            if (err != BILLORD_OK) {
                billord_replay_line_free(&run->items[0].line);
                return err;
            }
            item = &run->items[0];
            command.params = item->line.params;     /* the parameters moved with the line */
            slot = token_lookup(run, command.account, token, hash);
        }
        *slot = (token_slot){hash, run->generation, (uint32_t)run->item_count};
    }
    if (as_recorded) {
        item->command_index = -1;
        item->recorded_command = command;
    } else {
        item->command_index = (int)run->command_count;
        run->commands[run->command_count++] = command;
    }
    run->item_count++;
    return run->item_count == BATCH_COMMANDS_MAX ? batch_flush(run) : BILLORD_OK;
}

static billord_err replay_line(replay_run *run, uint32_t input_index, const char *text,
                               size_t text_bytes, uint64_t line_number)
{
    BILLORD_ASSERT(run->item_count < BATCH_COMMANDS_MAX);
    pending_item *item = &run->items[run->item_count];
    char parse_error[BILLORD_REPLAY_ERROR_BYTES];
    billord_err err = billord_replay_line_parse(text, text_bytes, &item->line, parse_error,
                                                sizeof parse_error);
    if (err != BILLORD_OK && err != BILLORD_E_INVALID_ARGUMENT && err != BILLORD_E_TOO_LARGE) {
        /* Not a malformed line (memory ran out): the replay stops rather than skip it. */
        return fail(run, err, "%s:%llu: %s", run->input_path, (unsigned long long)line_number,
                    parse_error);
    }
    if (err != BILLORD_OK) {
        run->stats->malformed++;
        if (run->options->strict) {
            return fail(run, BILLORD_E_INVALID_ARGUMENT, "%s:%llu: %s", run->input_path,
                        (unsigned long long)line_number, parse_error);
        }
        fprintf(run->err, "replay: %s:%llu: %s (line skipped)\n", run->input_path,
                (unsigned long long)line_number, parse_error);
        return BILLORD_OK;
    }
    run->stats->lines++;
    item->text = text;
    item->text_bytes = text_bytes;
    item->line_number = line_number;
    if (item->line.account[0] == '\0' || item->line.action[0] == '\0') {
        run->stats->skipped[item->line.account[0] == '\0' ? BILLORD_REPLAY_SKIP_UNAUTHENTICATED
                                                          : BILLORD_REPLAY_SKIP_NO_ACTION]++;
        billord_replay_line_free(&item->line);
        return BILLORD_OK;
    }
    billord_command command;
    command_of_line(input_index, &item->line, line_number, &command);
    if (recorded_without_state(&item->line, command.request_id, &item->recorded)) {
        run->stats->as_recorded++;
        return add_write(run, &command, true);
    }
    if (billord_action_is_read(command.action)) {
        err = answer_read(run, item, &command);
        billord_replay_line_free(&item->line);
        return err;
    }
    return add_write(run, &command, false);
}

/* ---- inputs ------------------------------------------------------------------------------ */

static bool blank(const char *text, size_t text_bytes)
{
    for (size_t i = 0; i < text_bytes; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r') {
            return false;
        }
    }
    return true;
}

static billord_err replay_text(replay_run *run, uint32_t input_index, const char *text,
                               size_t text_bytes, uint64_t bytes_base)
{
    uint64_t line_number = 0;
    size_t offset = 0;
    billord_err err = BILLORD_OK;
    while (offset < text_bytes && err == BILLORD_OK) {
        const char *end = memchr(text + offset, '\n', text_bytes - offset);
        size_t line_bytes = end != NULL ? (size_t)(end - (text + offset)) : text_bytes - offset;
        line_number++;
        if (!blank(text + offset, line_bytes)) {
            err = replay_line(run, input_index, text + offset, line_bytes, line_number);
        }
        offset += line_bytes + (end != NULL ? 1 : 0);
        if (line_number % PROGRESS_CHECK_EVERY_LINES == 0) {
            run->bytes_done = bytes_base + offset;
            progress_draw(run, false);
        }
    }
    if (err == BILLORD_OK) {
        err = batch_flush(run);     /* the lines point into this input's mapping */
    }
    return err;
}

static billord_err replay_log_file(replay_run *run, uint32_t input_index, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int saved = errno;
        if (fd >= 0) {
            close(fd);
        }
        return fail(run, BILLORD_E_IO, "%s: %s", path, strerror(saved));
    }
    if (st.st_size == 0) {
        close(fd);
        return BILLORD_OK;
    }
    void *mapped = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (mapped == MAP_FAILED) {
        return fail(run, BILLORD_E_IO, "%s: cannot map: %s", path, strerror(errno));
    }
    (void)madvise(mapped, (size_t)st.st_size, MADV_SEQUENTIAL);
    uint64_t done_before = run->bytes_done;
    billord_err err = replay_text(run, input_index, mapped, (size_t)st.st_size, done_before);
    run->bytes_done = done_before + (uint64_t)st.st_size;
    munmap(mapped, (size_t)st.st_size);
    return err;
}

static void count_wal_batch(replay_run *run, const billord_wal_batch *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        const billord_command *command = &batch->commands[i];
        billord_replay_stats_count(run->stats,
                                   command->kind == BILLORD_COMMAND_TICK ? "(tick)"
                                                                         : command->action,
                                   run->outcomes[i].code);
        if (run->options->record != NULL && command->kind == BILLORD_COMMAND_REQUEST) {
            record_write(run, command, &run->outcomes[i], NULL);
        }
    }
    run->stats->requests += batch->count;
    run->stats->writes += batch->count;
    run->stats->batches++;
    run->stats->wal_records++;
    run->stats->wal_commands += batch->count;
}

/* One log record: its batch applied as it was, so outcomes and state match the original. */
static billord_err replay_wal_record(replay_run *run, const billord_wal_record *record)
{
    billord_wal_batch batch;
    billord_err err = billord_wal_batch_decode(record->payload, record->payload_bytes, &batch);
    if (err != BILLORD_OK) {
        billord_wal_batch_free(&batch);
        return fail(run, err == BILLORD_E_CORRUPT ? BILLORD_E_WAL_CORRUPT : err,
                    "%s: offset %llu: record %llu does not decode as a batch: %s",
                    record->segment_path, (unsigned long long)record->offset_bytes,
                    (unsigned long long)record->lsn, billord_err_message(err));
    }
    /* The decoder refuses a batch of no command or of more than a batch holds. */
    BILLORD_ASSERT(batch.count >= 1 && batch.count <= BATCH_COMMANDS_MAX);
    err = billord_engine_submit(run->engine, batch.commands, batch.count, 0, NULL, run->outcomes,
                                NULL);
    if (err != BILLORD_OK) {
        err = fail(run, err, "%s: offset %llu: applying record %llu failed: %s",
                   record->segment_path, (unsigned long long)record->offset_bytes,
                   (unsigned long long)record->lsn, billord_err_message(err));
    } else {
        count_wal_batch(run, &batch);
    }
    billord_wal_batch_free(&batch);
    return err;
}

static billord_err replay_wal(replay_run *run, const char *path)
{
    /* Nothing is pending: a request log applies its last batch before it ends. */
    BILLORD_ASSERT(run->item_count == 0);
    billord_wal_reader *reader = NULL;
    billord_err err = billord_wal_reader_open(path, NULL, &reader);
    if (err != BILLORD_OK) {
        return fail(run, err, "%s: %s", path,
                    err == BILLORD_E_NOT_FOUND ? "no log segment there"
                                               : billord_err_message(err));
    }
    billord_wal_record record;
    while (err == BILLORD_OK) {
        err = billord_wal_reader_next(reader, &record);
        if (err == BILLORD_OK) {
            err = replay_wal_record(run, &record);
            progress_draw(run, false);
        } else if (err == BILLORD_E_NOT_FOUND) {
            err = BILLORD_OK;
            break;
        } else if (err == BILLORD_E_WAL_TRUNCATED) {
            /* A torn tail was never acknowledged: everything before it is the log. */
            run->stats->wal_torn_tail = true;
            fprintf(run->err, "replay: %s: torn tail (never acknowledged), stopped there\n",
                    billord_wal_reader_error(reader));
            err = BILLORD_OK;
            break;
        } else {
            err = fail(run, err, "%s", billord_wal_reader_error(reader));
        }
    }
    billord_wal_reader_close(reader);
    return err;
}

/* A *.seg file or a directory is a log; a data directory means its wal/ subdirectory. */
static bool input_is_wal(const replay_run *run, const char *path, char *wal_path,
                         size_t wal_path_bytes)
{
    snprintf(wal_path, wal_path_bytes, "%s", path);
    struct stat st;
    bool directory = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (directory) {
        char sub[PATH_BYTES_MAX];
        int written = snprintf(sub, sizeof sub, "%s/wal", path);
        if (written > 0 && (size_t)written < sizeof sub && stat(sub, &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            snprintf(wal_path, wal_path_bytes, "%s", sub);
        }
        return true;
    }
    size_t length = strlen(path);
    return run->options->from_wal || (length > 4 && strcmp(path + length - 4, ".seg") == 0);
}

static billord_err replay_inputs(replay_run *run)
{
    billord_err err = BILLORD_OK;
    for (size_t i = 0; i < run->options->input_count && err == BILLORD_OK; i++) {
        const char *path = run->options->inputs[i];
        char wal_path[PATH_BYTES_MAX];
        run->input_path = path;
        if (input_is_wal(run, path, wal_path, sizeof wal_path)) {
            err = replay_wal(run, wal_path);
        } else {
            err = replay_log_file(run, (uint32_t)i, path);
        }
    }
    return err;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static billord_err seed(replay_run *run)
{
    billord_fixture fixture;
    char fixture_error[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err err = billord_fixture_parse_file(run->options->fixtures_path, &fixture,
                                                 fixture_error, sizeof fixture_error);
    if (err != BILLORD_OK) {
        billord_fixture_free(&fixture);
        return fail(run, err, "--fixtures %s: %s", run->options->fixtures_path, fixture_error);
    }
    err = billord_engine_seed(run->engine, &fixture);
    billord_fixture_free(&fixture);
    if (err != BILLORD_OK) {
        return fail(run, err, "--data %s: cannot seed from %s: %s", run->options->data_dir,
                    run->options->fixtures_path, billord_err_message(err));
    }
    return BILLORD_OK;
}

static uint64_t inputs_bytes(const billord_replay_options *options)
{
    uint64_t total = 0;
    for (size_t i = 0; i < options->input_count; i++) {
        struct stat st;
        if (stat(options->inputs[i], &st) == 0 && S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_size;
        }
    }
    return total;
}

static billord_err run_allocate(replay_run *run)
{
    run->items = calloc(BATCH_COMMANDS_MAX, sizeof *run->items);
    run->commands = calloc(BATCH_COMMANDS_MAX, sizeof *run->commands);
    run->outcomes = calloc(BATCH_COMMANDS_MAX, sizeof *run->outcomes);
    run->tokens = calloc(TOKEN_SLOTS, sizeof *run->tokens);
    run->generation = 1;
    bool ok = run->items != NULL && run->commands != NULL && run->outcomes != NULL &&
              run->tokens != NULL;
    return ok ? BILLORD_OK : fail(run, BILLORD_E_NOMEM, "out of memory");
}

static void run_free(replay_run *run)
{
    if (run->items != NULL) {
        batch_release(run);
    }
    free(run->items);
    free(run->commands);
    free(run->outcomes);
    free(run->tokens);
}

static billord_err run_open(replay_run *run)
{
    /* No LMDB syncs while replaying: the directory is synced once at the end, and a replay
     * that dies half-way is simply run again into a fresh directory. */
    billord_engine_config config = {.data_dir = run->options->data_dir,
                                    .map_bytes = run->options->map_bytes,
                                    .lmdb_mode = BILLORD_LMDB_NOSYNC_UNSAFE};
    billord_err err = billord_engine_open(&config, &run->engine);
    if (err != BILLORD_OK) {
        return fail(run, err, "--data %s: %s", run->options->data_dir, billord_err_message(err));
    }
    return run->options->fixtures_path != NULL ? seed(run) : BILLORD_OK;
}

billord_err billord_replay_run(const billord_replay_options *options,
                               billord_replay_stats *out_stats, char *error_text,
                               size_t error_text_bytes)
{
    BILLORD_ASSERT(options != NULL && options->data_dir != NULL && out_stats != NULL);
    BILLORD_ASSERT(options->inputs != NULL || options->input_count == 0);
    memset(out_stats, 0, sizeof *out_stats);
    replay_run run = {.options = options,
                      .stats = out_stats,
                      .out = options->out != NULL ? options->out : stdout,
                      .err = options->err != NULL ? options->err : stderr,
                      .error_text = error_text,
                      .error_text_bytes = error_text_bytes,
                      .input_path = "-"};
    if (error_text_bytes > 0) {
        error_text[0] = '\0';
    }
    run.started_ns = monotonic_ns();
    run.progress_last_ns = run.started_ns;
    run.bytes_total = inputs_bytes(options);
    billord_err err = run_allocate(&run);
    if (err == BILLORD_OK) {
        err = run_open(&run);
    }
    if (err == BILLORD_OK) {
        err = replay_inputs(&run);
    }
    if (options->record != NULL && run.record_err == BILLORD_OK &&
        (fflush(options->record) != 0 || ferror(options->record))) {
        run.record_err = BILLORD_E_IO;
    }
    if (err == BILLORD_OK && run.record_err != BILLORD_OK) {
        err = fail(&run, run.record_err, "--record: a line could not be written: %s",
                   billord_err_message(run.record_err));
    }
    if (run.engine != NULL) {
        billord_err sync_err = billord_engine_sync(run.engine);
        if (err == BILLORD_OK && sync_err != BILLORD_OK) {
            err = fail(&run, sync_err, "--data %s: the final sync failed: %s", options->data_dir,
                       billord_err_message(sync_err));
        }
        billord_engine_close(run.engine);
    }
    run_free(&run);
    out_stats->elapsed_s = (double)(monotonic_ns() - run.started_ns) / (double)NS_PER_S;
    progress_draw(&run, true);
    return err;
}
