/*
 * exec.c: the engine half of the server (exec.h).
 *
 * Writes go through billord_db_execute(), which blocks this connection's thread until
 * the batch carrying the command is synced; reads are answered by billord_engine_query()
 * on this thread. Every answer is rendered by billord_render(), so a replayed ClientToken
 * gets its first answer byte for byte.
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
#include "server/exec.h"

/* Answered when rendering itself fails (out of memory): still JSON, still an error. */
static const char fallback_body[] =
    "{\"RequestId\":\"00000000-0000-4000-8000-000000000000\",\"HostId\":\"" BILLORD_HOST_ID
    "\",\"Code\":\"InternalError\",\"Message\":\"The request processing has failed due to "
    "some unknown error.\",\"Recommend\":\"See docs/api.md#InternalError\"}";

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
        out->code = BILLORD_API_INTERNAL_ERROR;
        out->status = billord_api_code_status(BILLORD_API_INTERNAL_ERROR);
        out->body = (char *)fallback_body;
        out->body_bytes = sizeof fallback_body - 1;
        out->body_static = true;
        out->xml = false;
        return;
    }
    if (format_xml && want_log_json) {
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
            failure_outcome(BILLORD_API_INTERNAL_ERROR, request->request_id, &outcome);
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

void billord__server_exec_response_free(server_exec_response *response)
{
    if (!response->body_static) {
        free(response->body);
    }
    free(response->log_body_json);
    response->body = NULL;
    response->log_body_json = NULL;
}
