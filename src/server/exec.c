/*
 * exec.c: the engine half of the server (exec.h).
 *
 * Writes go through billord_db_execute(), which blocks this connection's thread until
 * the batch carrying the command is synced; reads are answered by billord_engine_query()
 * on this thread. Every answer is rendered by billord_render(), so a replayed ClientToken
 * gets its first answer byte for byte; an answer that cannot be rendered whole is the
 * failure answer of billord_render_failure(), never a partial one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <billord/db.h>
#include <billord/engine.h>
#include <billord/fixture.h>
#include <billord/render.h>

#include "core/assert.h"
#include "core/text_buffer.h"
#include "server/exec.h"

_Static_assert(SERVER_EXEC_FIXED_BYTES >= BILLORD_RENDER_FAILURE_BYTES,
               "a response holds any failure answer");

/* Events and their members (billord/engine.h). */
#define EVENT_MEMBERS 7u

static void report_recovery(server_logger *logger, const billord_db_recovery *info)
{
    billord__server_log(logger, BILLORD_SERVER_LOG_ERROR,
                        "billord: recovery: applied LSN %llu -> %llu, %llu log records "
                        "(%llu commands) replayed, %s",
                        (unsigned long long)info->applied_lsn_before,
                        (unsigned long long)info->applied_lsn_after,
                        (unsigned long long)info->records_replayed,
                        (unsigned long long)info->commands_replayed,
                        info->tail_truncated ? "torn tail truncated" : "no torn tail");
}

static billord_err seed(const billord_server_config *config, server_logger *logger,
                        billord_db *db, char *error_text, size_t error_text_bytes)
{
    billord_fixture fixture;
    char fixture_error[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err err = billord_fixture_parse_file(config->fixtures_path, &fixture, fixture_error,
                                                 sizeof fixture_error);
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s: %s", config->fixtures_path,
                 err == BILLORD_E_FIXTURE || err == BILLORD_E_IO ? fixture_error
                                                                  : billord_err_message(err));
        billord_fixture_free(&fixture);
        return err;
    }
    err = billord_db_seed(db, &fixture);
    billord_fixture_free(&fixture);
    if (err == BILLORD_E_NOT_EMPTY) {
        billord__server_log(logger, BILLORD_SERVER_LOG_ERROR,
                            "billord: %s is not empty; --fixtures %s not loaded",
                            config->data_dir, config->fixtures_path);
        return BILLORD_OK;
    }
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s: cannot seed %s: %s", config->fixtures_path,
                 config->data_dir, billord_err_message(err));
        return err;
    }
    billord__server_log(logger, BILLORD_SERVER_LOG_ERROR, "billord: seeded %s from %s",
                        config->data_dir, config->fixtures_path);
    return BILLORD_OK;
}

billord_err billord__server_exec_open(const billord_server_config *config,
                                      server_logger *logger, billord_db **out_db,
                                      char *error_text, size_t error_text_bytes)
{
    if (config->archive_dir != NULL && mkdir(config->archive_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(error_text, error_text_bytes, "--archive-dir %s: %s", config->archive_dir,
                 strerror(errno));
        return BILLORD_E_IO;
    }
    billord_db_config db_config = {
        .data_dir = config->data_dir,
        .map_bytes = config->map_bytes,
        .archive_dir = config->archive_dir,
        .lmdb_mode = config->lmdb_mode,
        .log_line = billord__server_log_forward,
        .log_ctx = logger,
    };
    billord_db_recovery info;
    memset(&info, 0, sizeof info);
    billord_db *db = NULL;
    billord_err err = billord_db_open(&db_config, &db, &info);
    if (err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s: %s%s%s", config->data_dir,
                 billord_err_message(err), info.error_text[0] != '\0' ? ": " : "",
                 info.error_text);
        return err;
    }
    report_recovery(logger, &info);
    if (config->fixtures_path != NULL) {
        err = seed(config, logger, db, error_text, error_text_bytes);
        if (err != BILLORD_OK) {
            billord_db_close(db);
            return err;
        }
    }
    *out_db = db;
    return BILLORD_OK;
}

void billord__server_exec_close(billord_db *db)
{
    billord_db_close(db);
}

billord_err billord__server_exec_clock_ms(billord_db *db, int64_t *out_clock_ms)
{
    return billord_engine_clock_ms(billord_db_engine(db), out_clock_ms);
}

billord_err billord__server_exec_key_lookup(void *lookup_ctx, const char *access_key_id,
                                            char account_out[BILLORD_ACCOUNT_ID_BYTES_MAX + 1],
                                            char secret_out[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1])
{
    billord_db *db = lookup_ctx;
    return billord_engine_access_key_find(billord_db_engine(db), access_key_id, account_out,
                                          secret_out);
}

bool billord__server_exec_action_known(const char *action)
{
    return billord_action_is_known(action);
}

/* ---- rendering -------------------------------------------------------------------------- */

/* The failure answer of billord/render.h, made without allocating, for an answer that
 * could not be rendered: ServiceUnavailable when that was the answer, else InternalError. */
static void render_failure(const billord_outcome *outcome, bool format_xml, bool want_log_json,
                           server_exec_response *out)
{
    billord_api_code code = outcome->code == BILLORD_API_SERVICE_UNAVAILABLE
                                ? BILLORD_API_SERVICE_UNAVAILABLE
                                : BILLORD_API_INTERNAL_ERROR;
    out->code = code;
    out->status = billord_api_code_status(code);
    out->replay = false;                /* not the first answer of a ClientToken */
    out->body = out->fixed_body;
    out->body_fixed = true;
    out->body_bytes = billord_render_failure(
        code, outcome->request_id, format_xml ? BILLORD_FORMAT_XML : BILLORD_FORMAT_JSON,
        out->fixed_body);
    if (format_xml && want_log_json) {
        (void)billord_render_failure(code, outcome->request_id, BILLORD_FORMAT_JSON,
                                     out->fixed_log_json);
        out->log_body_json = out->fixed_log_json;
    }
}

static void render_into(const char *action, const billord_outcome *outcome,
                        const json_t *fields, bool format_xml, bool want_log_json,
                        server_exec_response *out)
{
    memset(out, 0, sizeof *out);
    out->code = outcome->code;
    out->status = billord_render_status(outcome);
    out->replay = outcome->idempotent_replay;
    out->xml = format_xml;
    const char *xml_action = action != NULL && action[0] != '\0' ? action : NULL;
    out->body = billord_render(xml_action, outcome, fields,
                               format_xml ? BILLORD_FORMAT_XML : BILLORD_FORMAT_JSON,
                               &out->body_bytes);
    if (out->body == NULL) {
        render_failure(outcome, format_xml, want_log_json, out);
    } else if (format_xml && want_log_json) {
        size_t json_bytes = 0;
        out->log_body_json = billord_render(xml_action, outcome, fields, BILLORD_FORMAT_JSON,
                                            &json_bytes);
    }
    /* Both SDK families need the status and the Code: never a success status for an error. */
    BILLORD_ASSERT((out->code == BILLORD_API_OK) == (out->status < 300));
}

void billord__server_exec_error(billord_api_code code, const char *message,
                                const char *request_id, const char *action, bool format_xml,
                                bool want_log_json, server_exec_response *out)
{
    BILLORD_ASSERT(code != BILLORD_API_OK);
    billord_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.code = code;
    snprintf(outcome.message, sizeof outcome.message, "%s", message);
    snprintf(outcome.request_id, sizeof outcome.request_id, "%s", request_id);
    render_into(action, &outcome, NULL, format_xml, want_log_json, out);
}

static void failure_outcome(billord_api_code code, const char *request_id,
                            billord_outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    outcome->code = code;
    billord__server_message(code, NULL, outcome->message, sizeof outcome->message);
    snprintf(outcome->request_id, sizeof outcome->request_id, "%s", request_id);
}

void billord__server_exec_run(billord_db *db, const server_exec_request *request,
                              bool want_log_json, server_exec_response *out)
{
    BILLORD_ASSERT(db != NULL);
    BILLORD_ASSERT(request->kv_count <= BILLORD_PARAMS_MAX);
    billord_param params[BILLORD_PARAMS_MAX];
    for (uint32_t i = 0; i < request->kv_count; i++) {
        params[i] = (billord_param){request->kv[i].name, request->kv[i].value};
    }
    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.now_ms = request->now_ms;
    snprintf(command.request_id, sizeof command.request_id, "%s", request->request_id);
    command.account = request->account;
    command.action = request->action;
    command.param_count = request->kv_count;
    command.params = params;

    billord_outcome outcome;
    failure_outcome(BILLORD_API_INTERNAL_ERROR, request->request_id, &outcome);
    json_t *fields = NULL;
    if (billord_action_is_read(request->action)) {
        billord_err err = billord_engine_query(billord_db_engine(db), &command, &outcome, &fields);
        if (err != BILLORD_OK) {
            failure_outcome(billord_err_failure_code(err), request->request_id, &outcome);
        }
    } else {
        billord_err err = billord_db_execute(db, &command, &outcome);
        if (err == BILLORD_E_CLOSED) {
            failure_outcome(BILLORD_API_SERVICE_UNAVAILABLE, request->request_id, &outcome);
        }
    }
    render_into(request->action, &outcome, fields, request->format_xml, want_log_json, out);
    json_decref(fields);
}

/* ---- GET /admin/events ------------------------------------------------------------------ */

/* How many events the store holds (the summary's "events"); false when it cannot say. */
static bool events_total(billord_engine *engine, uint64_t *out_total)
{
    json_t *summary = NULL;
    if (billord_engine_inspect(engine, BILLORD_INSPECT_SUMMARY, NULL, &summary) != BILLORD_OK) {
        return false;
    }
    json_t *total = json_object_get(summary, "events");
    bool known = json_is_integer(total);
    *out_total = (uint64_t)json_integer_value(total);
    json_decref(summary);
    return known;
}

/* Whether events is the whole run the engine was asked for: an array of complete events
 * numbered on from since without a gap (events are numbered 1, 2, ... and never removed:
 * docs/lifecycle.md), as many as the total read before it owes (events are only added).
 * Out of memory, the engine's array can lack a member of an event or an event without
 * saying so; such a page is never sent. */
static bool events_whole(const json_t *events, uint64_t since, uint32_t limit,
                         uint64_t total_before)
{
    if (!json_is_array(events)) {
        return false;
    }
    size_t index;
    json_t *event;
    json_array_foreach(events, index, event) {
        json_int_t seq = json_integer_value(json_object_get(event, "seq"));
        if (json_object_size(event) != EVENT_MEMBERS || (uint64_t)seq != since + 1 + index) {
            return false;
        }
    }
    uint64_t owed = total_before > since ? total_before - since : 0;
    return json_array_size(events) >= (owed < limit ? owed : limit);
}

billord_api_code billord__server_exec_events(billord_db *db, uint64_t since, uint32_t limit,
                                             server_exec_response *out)
{
    BILLORD_ASSERT(db != NULL && out != NULL);
    billord_engine *engine = billord_db_engine(db);
    uint64_t total_before = 0;
    if (!events_total(engine, &total_before)) {
        return BILLORD_API_SERVICE_UNAVAILABLE;
    }
    json_t *events = NULL;
    billord_err err = billord_engine_events(engine, since, limit, &events);
    if (err != BILLORD_OK || !events_whole(events, since, limit, total_before)) {
        json_decref(events);
        return BILLORD_API_SERVICE_UNAVAILABLE;
    }
    size_t count = json_array_size(events);
    uint64_t next_since = since + count;
    bool ok = true;
    json_t *page = json_object();
    billord__json_set_member(page, "Events", events, &ok);
    billord__json_set_member(page, "NextSince", json_integer((json_int_t)next_since), &ok);
    billord_text text;
    billord__text_init(&text);
    size_t body_bytes = 0;
    char *body = ok && billord__text_dump_json(&text, page, JSON_COMPACT | JSON_PRESERVE_ORDER)
                     ? billord__text_take(&text, &body_bytes)
                     : NULL;
    json_decref(page);
    billord__text_release(&text);
    if (body == NULL) {
        return BILLORD_API_INTERNAL_ERROR;
    }
    memset(out, 0, sizeof *out);
    out->code = BILLORD_API_OK;
    out->status = 200;
    out->body = body;
    out->body_bytes = body_bytes;
    return BILLORD_API_OK;
}

void billord__server_exec_response_free(server_exec_response *response)
{
    if (!response->body_fixed) {
        free(response->body);
    }
    if (response->log_body_json != response->fixed_log_json) {
        free(response->log_body_json);
    }
    response->body = NULL;
    response->log_body_json = NULL;
}
