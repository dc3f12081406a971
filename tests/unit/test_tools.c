/*
 * test_tools.c: the billordctl program's replay, digest, verify and wal subcommands, run as
 * a user runs them (fork/exec of build/billordctl): output shapes, exit statuses 0/1/2,
 * errors naming file and line, and replay --target against a live server.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/server.h>

#include "support/db_harness.h"
#include "support/http_client.h"
#include "support/tempdir.h"

#define ARGS_MAX 24
#define DEMO_CLOCK_MS 1795305600000LL

extern char **environ;

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
}

static void teardown(void)
{
    tempdir_remove(dir);
}

TestSuite(tools, .init = setup, .fini = teardown, .timeout = 120);

typedef struct ctl_result {
    int status;
    char *out;
    char *err;
} ctl_result;

static void ctl_path(char out[TEMPDIR_PATH_BYTES])
{
    const char *build = getenv("BILLORD_BUILD_DIR");
    if (build == NULL || build[0] == '\0') {
        build = BILLORD_BUILD_DIR_DEFAULT;      /* the build that compiled this test */
    }
    snprintf(out, TEMPDIR_PATH_BYTES, "%s/billordctl", build);
}

/* Run billordctl with arguments (NULL-terminated); stdout and stderr collected. */
static ctl_result run_ctl(const char *first, ...)
{
    char program[TEMPDIR_PATH_BYTES], out_path[TEMPDIR_PATH_BYTES], err_path[TEMPDIR_PATH_BYTES];
    ctl_path(program);
    tempdir_join(out_path, dir, "ctl.out");
    tempdir_join(err_path, dir, "ctl.err");
    char *argv[ARGS_MAX] = {program, (char *)first};
    va_list args;
    va_start(args, first);
    size_t count = 2;
    while (count < ARGS_MAX - 1 && (argv[count] = va_arg(args, char *)) != NULL) {
        count++;
    }
    va_end(args);
    argv[count] = NULL;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    cr_assert(posix_spawn(&pid, program, &actions, NULL, argv, environ) == 0, "%s", program);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    cr_assert(waitpid(pid, &status, 0) == pid);
    bool exited = WIFEXITED(status);
    int exit_status = exited ? WEXITSTATUS(status) : -1;
    cr_assert(exited, "billordctl %s died", first);
    ctl_result result = {exit_status, tempdir_read_file(out_path, NULL),
                         tempdir_read_file(err_path, NULL)};
    cr_assert(result.out != NULL && result.err != NULL);
    return result;
}

static void ctl_free(ctl_result *result)
{
    free(result->out);
    free(result->err);
}

static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL);
    fputs(text, file);
    fclose(file);
}

static void seeded(char data[TEMPDIR_PATH_BYTES], const char *name)
{
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_join(data, dir, name);
    tempdir_source_path(fixture, "fixtures/demo.json");
    ctl_result r = run_ctl("seed", "--data", data, fixture, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    ctl_free(&r);
}

Test(tools, every_subcommand_has_help_and_refuses_bad_usage)
{
    const char *commands[] = {"replay", "digest", "verify", "wal"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        ctl_result help = run_ctl(commands[i], "--help", NULL);
        cr_expect(eq(int, help.status, 0), "%s --help", commands[i]);
        cr_expect(strstr(help.out, "usage: billordctl") != NULL, "%s", help.out);
        ctl_free(&help);
        ctl_result bad = run_ctl(commands[i], "--no-such-option", NULL);
        cr_expect(eq(int, bad.status, 2), "%s --no-such-option", commands[i]);
        cr_expect(strstr(bad.err, "--no-such-option") != NULL, "%s", bad.err);
        ctl_free(&bad);
    }
    ctl_result r = run_ctl("replay", "--data", dir, NULL);
    cr_expect(eq(int, r.status, 2), "no LOG");
    ctl_free(&r);
    r = run_ctl("replay", "--data", dir, "--target", "http://127.0.0.1:1", "x.ndjson", NULL);
    cr_expect(eq(int, r.status, 2), "both --data and --target");
    ctl_free(&r);
    r = run_ctl("wal", "list", NULL);
    cr_expect(eq(int, r.status, 2), "wal list without a path");
    ctl_free(&r);
}

Test(tools, digest_prints_one_hex_line_and_verify_passes_a_seeded_directory)
{
    char data[TEMPDIR_PATH_BYTES];
    seeded(data, "data");
    ctl_result r = run_ctl("digest", "--data", data, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(eq(sz, strlen(r.out), strlen("digest=") + 32 + 1), "%s", r.out);
    cr_assert(strncmp(r.out, "digest=", 7) == 0);
    cr_assert(strspn(r.out + 7, "0123456789abcdef") == 32);
    char text_digest[40];
    snprintf(text_digest, sizeof text_digest, "%.32s", r.out + 7);
    ctl_free(&r);
    r = run_ctl("digest", "--data", data, "--json", NULL);
    json_t *json = json_loads(r.out, 0, NULL);
    cr_assert(json != NULL, "%s", r.out);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(json, "digest")), text_digest));
    json_decref(json);
    ctl_free(&r);
    r = run_ctl("verify", "--data", data, NULL);
    cr_assert(eq(int, r.status, 0), "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "verify: ok") != NULL, "%s", r.out);
    ctl_free(&r);
    char missing[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, dir, "missing");
    r = run_ctl("digest", "--data", missing, NULL);
    cr_assert(eq(int, r.status, 1));
    cr_assert(strstr(r.err, missing) != NULL, "names the directory: %s", r.err);
    ctl_free(&r);
}

Test(tools, replay_reports_bad_lines_with_file_and_line_and_strict_stops)
{
    char data[TEMPDIR_PATH_BYTES], strict_data[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES];
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_join(data, dir, "data");
    tempdir_join(strict_data, dir, "strict");
    tempdir_join(log, dir, "bad.ndjson");
    tempdir_source_path(fixture, "fixtures/demo.json");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"ts_ms\":%lld,\"account\":\"1234567890123456\",\"action\":\"RenewInstance\","
             "\"params\":{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\"}}\n"
             "{\"ts_ms\":%lld,\"account\":\"1234567890123456\",\"action\":\"RenewIns\n"
             "{\"ts_ms\":%lld,\"account\":\"1234567890123456\",\"action\":\"RenewInstance\","
             "\"params\":{\"Period\":1}}\n"
             "{\"ts_ms\":%lld,\"account\":\"1234567890123456\",\"action\":\"Unknown\"}\n",
             DEMO_CLOCK_MS, DEMO_CLOCK_MS, DEMO_CLOCK_MS, DEMO_CLOCK_MS);
    write_text(log, text);
    ctl_result r = run_ctl("replay", "--data", data, "--fixtures", fixture, "--json", log, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(strstr(r.err, "bad.ndjson:2: not JSON") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "bad.ndjson:3: $.params.Period: must be a string") != NULL, "%s",
              r.err);
    json_t *summary = json_loads(r.out, 0, NULL);
    cr_assert(summary != NULL, "%s", r.out);
    cr_assert(eq(i64, json_integer_value(json_object_get(summary, "malformed")), 2));
    cr_assert(eq(i64, json_integer_value(json_object_get(summary, "requests")), 2));
    json_decref(summary);
    ctl_free(&r);
    r = run_ctl("replay", "--data", strict_data, "--fixtures", fixture, "--strict", log, NULL);
    cr_assert(eq(int, r.status, 1));
    cr_assert(strstr(r.err, "bad.ndjson:2:") != NULL, "%s", r.err);
    ctl_free(&r);
    r = run_ctl("replay", "--data", data, "--fixtures", fixture, log, NULL);
    cr_assert(eq(int, r.status, 1), "fixtures into a directory with state");
    cr_assert(strstr(r.err, "--data") != NULL, "%s", r.err);
    ctl_free(&r);
}

Test(tools, replay_expect_prints_each_divergence_and_fails)
{
    char data[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES], fixture[TEMPDIR_PATH_BYTES];
    tempdir_join(data, dir, "data");
    tempdir_join(log, dir, "wrong.ndjson");
    tempdir_source_path(fixture, "fixtures/demo.json");
    char text[1024];
    snprintf(text, sizeof text,
             "{\"ts_ms\":%lld,\"account\":\"1234567890123456\",\"action\":\"RenewInstance\","
             "\"params\":{\"InstanceId\":\"i-acc0001\",\"Period\":\"01\"},\"response\":"
             "{\"status\":200,\"body\":{\"RequestId\":\"22222222-2222-4222-8222-222222222222\"}},"
             "\"request_id\":\"22222222-2222-4222-8222-222222222222\"}\n",
             DEMO_CLOCK_MS);
    write_text(log, text);
    ctl_result r = run_ctl("replay", "--data", data, "--fixtures", fixture, "--expect", log, NULL);
    cr_assert(eq(int, r.status, 1));
    cr_assert(strstr(r.out, "divergence: ") != NULL && strstr(r.out, "wrong.ndjson:1") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "replayed: 400") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "1 divergences") != NULL, "%s", r.out);
    ctl_free(&r);
}

Test(tools, wal_list_and_dump_show_records_and_commands)
{
    char data[TEMPDIR_PATH_BYTES];
    tempdir_join(data, dir, "db");
    db_harness_seed(data, "tests/fixtures/crash.json");
    billord_db *db = db_harness_open(data, NULL, NULL, NULL, NULL);
    billord_outcome outcome = db_harness_renew(db, "i-crash0000", "wal-1", DEMO_CLOCK_MS);
    cr_assert(eq(int, outcome.code, BILLORD_API_OK));
    billord_db_close(db);
    ctl_result r = run_ctl("wal", "list", "--data", data, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(strstr(r.out, "lsn=1 segment=") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "offset=64") != NULL, "%s", r.out);
    ctl_free(&r);
    r = run_ctl("wal", "dump", "--data", data, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(strstr(r.out, "action=RenewInstance") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "ClientToken=wal-1") != NULL, "%s", r.out);
    ctl_free(&r);
    r = run_ctl("wal", "dump", "--data", data, "--json", NULL);
    json_t *record = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert(record != NULL, "%s", r.out);
    json_t *command = json_array_get(json_object_get(record, "commands"), 0);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(command, "action")),
                 "RenewInstance"));
    json_decref(record);
    ctl_free(&r);
    r = run_ctl("verify", "--data", data, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.out);
    ctl_free(&r);
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static billord_server *start_server(const char *data, const char *request_log)
{
    char fixture[TEMPDIR_PATH_BYTES];
    tempdir_source_path(fixture, "fixtures/demo.json");
    billord_server_config config = {.data_dir = data,
                                    .listen_host = "127.0.0.1",
                                    .fixtures_path = fixture,
                                    .clock = BILLORD_SERVER_CLOCK_MANUAL,
                                    .request_log_path = request_log,
                                    .log_line = quiet};
    billord_server *server = NULL;
    char error_text[1024];
    cr_assert(billord_server_start(&config, &server, error_text, sizeof error_text) == BILLORD_OK,
              "%s", error_text);
    return server;
}

static void call(uint16_t port, const char *instance, const char *period, const char *token)
{
    v1_options options = {0};
    size_t bytes = 0;
    char *raw = http_v1_request(&options, &bytes, "Action", "RenewInstance", "InstanceId",
                                instance, "Period", period, "ClientToken", token, NULL);
    http_response response;
    cr_assert(http_roundtrip(port, raw, bytes, &response));
    http_response_free(&response);
    free(raw);
}

Test(tools, replay_target_sends_a_recorded_log_to_a_fresh_server)
{
    char first[TEMPDIR_PATH_BYTES], second[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES];
    char fixture[TEMPDIR_PATH_BYTES], url[64];
    tempdir_join(first, dir, "first");
    tempdir_join(second, dir, "second");
    tempdir_join(log, dir, "requests.ndjson");
    tempdir_source_path(fixture, "fixtures/demo.json");
    billord_server *server = start_server(first, log);
    uint16_t port = billord_server_port(server);
    call(port, "i-acc0001", "1", "tgt-1");
    call(port, "i-acc0001", "1", "tgt-1");
    call(port, "i-acc0001", "2", "tgt-1");
    call(port, "i-acc0003", "1", "tgt-2");
    call(port, "i-acc0006", "1", "tgt-3");
    billord_server_stop(server);

    server = start_server(second, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", billord_server_port(server));
    ctl_result r = run_ctl("replay", "--target", url, "--keys", fixture, "--rate", "max",
                           "--expect", "--json", log, NULL);
    billord_server_stop(server);
    cr_assert(eq(int, r.status, 0), "%s%s", r.out, r.err);
    json_t *summary = json_loads(r.out, 0, NULL);
    cr_assert(summary != NULL, "%s", r.out);
    cr_assert(eq(i64, json_integer_value(json_object_get(summary, "requests")), 5));
    cr_assert(eq(i64, json_integer_value(json_object_get(summary, "divergences")), 0));
    json_decref(summary);
    ctl_free(&r);
}
