/*
 * test_cov_replay_run.c: the parts of billord_replay_run() and billord_replay_line_parse()
 * (src/replay/run.c, src/replay/line.c) that test_replay and test_tools leave out: the
 * limits of a request log line, the summary table's overflow, recorded answers that were
 * decided by the server's circumstances (answered as recorded, nothing applied), string
 * bodies compared byte for byte, progress output, input files that cannot be read, log
 * segments that are damaged, torn or missing, and LMDB failing under the replay
 * (tests/support/faulty_lmdb.h): each must end in the documented error code with a text
 * that names what failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/db.h>
#include <billord/render.h>
#include <billord/replay.h>
#include <billord/wal.h>

#include "support/db_harness.h"
#include "support/faulty_lmdb.h"
#include "support/replay_fixture.h"

#define DEMO_FIXTURE REPLAY_DEMO_FIXTURE
#define CRASH_FIXTURE "tests/fixtures/crash.json"
#define DEMO_CLOCK_MS REPLAY_CLOCK_MS
#define MAIN_ACCOUNT REPLAY_MAIN_ACCOUNT

static void teardown(void)
{
    faulty_lmdb_reset();
    replay_fixture_teardown();
}

TestSuite(cov_replay_run, .init = replay_fixture_setup, .fini = teardown, .timeout = 120);

/* ---- helpers ------------------------------------------------------------------------------ */

/* The paths a test uses, in the suite's directory. */
typedef struct paths {
    char log[TEMPDIR_PATH_BYTES];           /* the request log, named by the test */
    char a[TEMPDIR_PATH_BYTES];             /* data directories */
    char b[TEMPDIR_PATH_BYTES];
    char seeded[TEMPDIR_PATH_BYTES];
    char probe[TEMPDIR_PATH_BYTES];
    char record[TEMPDIR_PATH_BYTES];        /* a record output */
    char original[TEMPDIR_PATH_BYTES];      /* a durable db (see paths_with_log) */
    char wal[TEMPDIR_PATH_BYTES];           /* its log */
} paths;

static paths paths_of(const char *log_name)
{
    paths p;
    tempdir_join(p.log, replay_dir, log_name);
    tempdir_join(p.a, replay_dir, "a");
    tempdir_join(p.b, replay_dir, "b");
    tempdir_join(p.seeded, replay_dir, "seeded");
    tempdir_join(p.probe, replay_dir, "probe");
    tempdir_join(p.record, replay_dir, "record.ndjson");
    tempdir_join(p.original, replay_dir, "original");
    tempdir_join(p.wal, p.original, "wal");
    return p;
}

/* A replay of the request log p->log into p->a, seeded from the demo fixture. */
static replay_args log_args(const paths *p)
{
    return (replay_args){.data_dir = p->a, .fixture = DEMO_FIXTURE, .input = p->log};
}

/* A replay of the log p->wal (of a db seeded from the crash fixture) into p->a. */
static replay_args wal_args(const paths *p)
{
    return (replay_args){.data_dir = p->a, .fixture = CRASH_FIXTURE, .input = p->wal,
                         .from_wal = true};
}

/* The text of a record output, which must hold `lines` lines; free it. */
static char *record_text(const char *path, size_t lines)
{
    char *text = tempdir_read_file(path, NULL);
    cr_assert(text != NULL, "%s", path);
    cr_expect(eq(sz, replay_count_lines(text), lines), "%s", text);
    return text;
}

/* The number of orders in a data directory (through the engine's summary). */
static int64_t order_count(const char *data_dir)
{
    billord_engine_config config = {.data_dir = data_dir, .map_bytes = REPLAY_MAP_BYTES};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&config, &engine), BILLORD_OK));
    json_t *summary = NULL;
    cr_assert(eq(int, billord_engine_inspect(engine, BILLORD_INSPECT_SUMMARY, NULL, &summary),
                 BILLORD_OK));
    int64_t count = json_integer_value(json_object_get(summary, "orders"));
    json_decref(summary);
    billord_engine_close(engine);
    return count;
}

/* ---- one line ------------------------------------------------------------------------------- */

/* Parse text, which must be accepted (free the line). */
static void parse_ok(const char *text, billord_replay_line *line)
{
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    cr_assert(eq(int, billord_replay_line_parse(text, strlen(text), line, error_text,
                                                sizeof error_text),
                 BILLORD_OK), "%s: %s", error_text, text);
}

/* A line with `count` parameters P0, P1, ... */
static void params_line(char *text, size_t text_bytes, unsigned count)
{
    size_t used = (size_t)snprintf(text, text_bytes,
                                   "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{");
    for (unsigned i = 0; i < count; i++) {
        used += (size_t)snprintf(text + used, text_bytes - used, "%s\"P%u\":\"1\"",
                                 i == 0 ? "" : ",", i);
    }
    snprintf(text + used, text_bytes - used, "}}");
}

Test(cov_replay_run, a_line_over_a_limit_is_refused_with_its_path)
{
    char long_account[BILLORD_ACCOUNT_ID_BYTES_MAX + 2];
    memset(long_account, '7', sizeof long_account - 1);
    long_account[sizeof long_account - 1] = '\0';
    char long_name[BILLORD_PARAM_NAME_BYTES_MAX + 2];
    memset(long_name, 'N', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    char *long_value = malloc(BILLORD_PARAM_VALUE_BYTES_MAX + 2);
    memset(long_value, 'v', BILLORD_PARAM_VALUE_BYTES_MAX + 1);
    long_value[BILLORD_PARAM_VALUE_BYTES_MAX + 1] = '\0';

    const size_t text_bytes = 2 * BILLORD_PARAM_VALUE_BYTES_MAX;
    char *text = malloc(text_bytes);
    snprintf(text, text_bytes, "{\"ts_ms\":1,\"account\":\"%s\",\"action\":\"X\"}", long_account);
    replay_expect_line_refused(text, BILLORD_E_TOO_LARGE, "$.account: longer than");
    snprintf(text, text_bytes,
             "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"%s\":\"1\"}}",
             long_name);
    replay_expect_line_refused(text, BILLORD_E_TOO_LARGE, "$.params: a name is empty or longer");
    replay_expect_line_refused("{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"\":"
                               "\"1\"}}",
                               BILLORD_E_TOO_LARGE, "$.params: a name is empty");
    snprintf(text, text_bytes,
             "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"Period\":\"%s\"}}",
             long_value);
    replay_expect_line_refused(text, BILLORD_E_TOO_LARGE, "$.params.Period: longer than");
    /* one parameter more than a command holds */
    params_line(text, text_bytes, BILLORD_PARAMS_MAX + 1);
    replay_expect_line_refused(text, BILLORD_E_TOO_LARGE, "$.params: more than");

    /* exactly the most a command holds is fine */
    params_line(text, text_bytes, BILLORD_PARAMS_MAX);
    billord_replay_line line;
    parse_ok(text, &line);
    cr_expect(eq(u32, line.param_count, BILLORD_PARAMS_MAX));
    billord_replay_line_free(&line);

    free(text);
    free(long_value);
}

Test(cov_replay_run, request_ids_and_responses_must_have_their_shape)
{
    static const struct {
        const char *text;
        const char *error;
    } cases[] = {
        /* 36 characters, but lowercase hex */
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\","
         "\"request_id\":\"0a000000-0000-4000-8000-000000000000\"}",
         "$.request_id: must be an uppercase UUID"},
        /* 36 characters, a hex digit where a dash belongs */
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\","
         "\"request_id\":\"0A0000000000-4000-8000-0000000000000\"}",
         "$.request_id: must be an uppercase UUID"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"request_id\":5}",
         "$.request_id: must be a string"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":5}",
         "$.response: must be an object"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":\"200\","
         "\"body\":{}}}",
         "$.response.status"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":600,"
         "\"body\":{}}}",
         "$.response.status"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":{\"body\":{}}}",
         "$.response.status"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":200,"
         "\"body\":[]}}",
         "$.response.body: must be an object or a string"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":7}", "$.action: must be a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        replay_expect_line_refused(cases[i].text, BILLORD_E_INVALID_ARGUMENT, cases[i].error);
    }

    /* the bounds of a status, a string body and a null response are accepted */
    billord_replay_line line;
    parse_ok("{\"ts_ms\":0,\"account\":\"\",\"action\":\"\",\"response\":{\"status\":100,"
             "\"body\":\"<xml/>\"}}",
             &line);
    cr_expect(line.has_response);
    cr_expect(eq(int, line.response_status, 100));
    bool body_is_string = json_is_string(line.response_body);
    cr_expect(body_is_string);
    cr_expect(eq(str, (char *)json_string_value(line.response_body), "<xml/>"));
    billord_replay_line_free(&line);
    parse_ok("{\"ts_ms\":0,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":599,"
             "\"body\":{}}}",
             &line);
    cr_expect(eq(int, line.response_status, 599));
    billord_replay_line_free(&line);
    parse_ok("{\"ts_ms\":0,\"account\":\"a\",\"action\":\"X\",\"response\":null}", &line);
    cr_expect(line.has_response == false && line.response_body == NULL);
    billord_replay_line_free(&line);
}

Test(cov_replay_run, a_parse_without_room_for_the_error_text_still_answers)
{
    billord_replay_line line;
    cr_expect(eq(int, billord_replay_line_parse("{", 1, &line, NULL, 0),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_expect(eq(int, billord_replay_line_parse("{\"ts_ms\":1}", 11, &line, NULL, 0),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_expect(line.root == NULL);
    /* an empty input is not JSON */
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    cr_expect(eq(int, billord_replay_line_parse(NULL, 0, &line, error_text, sizeof error_text),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_expect(strstr(error_text, "not JSON") != NULL, "%s", error_text);
    billord_replay_line_free(NULL);     /* allowed */
    billord_replay_line_free(&line);    /* a zeroed line too */
    cr_expect(line.root == NULL);
}

Test(cov_replay_run, canonical_json_sorts_keys_and_takes_any_value)
{
    json_t *value = json_pack("{s:i, s:{s:s, s:b}, s:[i,i]}", "b", 1, "a", "z", "x", "y", true,
                              "c", 2, 1);
    char *canonical = billord_replay_json_canonical(value);
    cr_assert(canonical != NULL);
    cr_expect(eq(str, canonical, "{\"a\":{\"y\":true,\"z\":\"x\"},\"b\":1,\"c\":[2,1]}"));
    free(canonical);
    json_decref(value);
    json_t *text = json_string("plain");
    canonical = billord_replay_json_canonical(text);
    cr_expect(eq(str, canonical, "\"plain\""));
    free(canonical);
    json_decref(text);
}

/* ---- the summary table -------------------------------------------------------------------- */

Test(cov_replay_run, the_summary_table_collects_what_does_not_fit_in_other)
{
    billord_replay_stats *stats = calloc(1, sizeof *stats);
    cr_assert(stats != NULL);
    uint64_t calls = 0;
    char action[32];
    for (unsigned i = 0; i < BILLORD_REPLAY_COUNTS_MAX + 2; i++) {
        snprintf(action, sizeof action, "Action%u", i);
        billord_replay_stats_count(stats, action, BILLORD_API_OK);
        calls++;
    }
    billord_replay_stats_count(stats, "Action0", BILLORD_API_OK);
    billord_replay_stats_count(stats, "Action0", BILLORD_API_INVALID_PERIOD);
    calls += 2;
    cr_assert(eq(sz, stats->count_entries, BILLORD_REPLAY_COUNTS_MAX));
    const billord_replay_count *other = &stats->counts[BILLORD_REPLAY_COUNTS_MAX - 1];
    cr_expect(eq(str, (char *)other->action, "(other)"));
    cr_expect(eq(int, other->code, BILLORD_API_CODE_COUNT));
    /* the 256th distinct pair and everything after it */
    cr_expect(eq(u64, other->count, 4));
    cr_expect(eq(u64, replay_count_of(stats, "Action0", BILLORD_API_OK), 2));
    cr_expect(eq(u64, replay_count_of(stats, "Action1", BILLORD_API_OK), 1));
    uint64_t total = 0;
    for (size_t i = 0; i < stats->count_entries; i++) {
        total += stats->counts[i].count;
    }
    cr_expect(eq(u64, total, calls), "no outcome is lost");
    free(stats);
}

/* ---- answers recorded without state ------------------------------------------------------- */

Test(cov_replay_run, answers_decided_by_the_servers_circumstances_are_replayed_as_recorded)
{
    paths p = paths_of("circumstances.ndjson");
    static const struct {
        int status;
        const char *body;
    } recorded[] = {
        {403, "{\"Code\":\"LastTokenProcessing\",\"Message\":\"still busy with t-1\"}"},
        {503, "{\"Code\":\"ServiceUnavailable\"}"},
        {500, "{\"Code\":\"InternalError\",\"Message\":\"disk trouble\"}"},
    };
    FILE *file = fopen(p.log, "w");
    cr_assert(file != NULL);
    for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++) {
        /* the same token each time: answered as recorded, a line never enters the token set */
        fprintf(file,
                "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"RenewInstance\","
                "\"params\":{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\",\"ClientToken\":"
                "\"t-1\"},\"request_id\":\"00000000-0000-4000-8000-00000000000%zu\","
                "\"response\":{\"status\":%d,\"body\":%s}}\n",
                DEMO_CLOCK_MS, i, recorded[i].status, recorded[i].body);
    }
    fclose(file);

    replay_args args = log_args(&p);
    args.expect = true;
    args.record_path = p.record;
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.as_recorded, 3));
    cr_expect(eq(u64, result->stats.requests, 3));
    cr_expect(eq(u64, result->stats.writes, 0), "nothing was applied");
    cr_expect(eq(u64, result->stats.batches, 0));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, replay_count_of(&result->stats, "RenewInstance",
                                      BILLORD_API_LAST_TOKEN_PROCESSING), 1));
    cr_expect(eq(u64, replay_count_of(&result->stats, "RenewInstance",
                                      BILLORD_API_SERVICE_UNAVAILABLE), 1));
    cr_expect(eq(u64, replay_count_of(&result->stats, "RenewInstance",
                                      BILLORD_API_INTERNAL_ERROR), 1));
    replay_result_free(result);

    replay_seed_only(p.seeded, DEMO_FIXTURE);
    replay_assert_same_digest(p.a, p.seeded, "the state is the seeded one: no order, no token");

    /* the record carries the recorded answers, the recorded message or the code's own */
    char *text = record_text(p.record, 3);
    cr_expect(strstr(text, "\"status\":403") != NULL, "%s", text);
    cr_expect(strstr(text, "still busy with t-1") != NULL, "%s", text);
    cr_expect(strstr(text, "\"status\":503") != NULL, "%s", text);
    cr_expect(strstr(text, billord_api_code_message(BILLORD_API_SERVICE_UNAVAILABLE)) != NULL,
              "%s", text);
    cr_expect(strstr(text, "disk trouble") != NULL, "%s", text);
    free(text);

    /* and the record replays with --expect without a difference, again as recorded */
    result = replay_run_ok(&(replay_args){.data_dir = p.b, .fixture = DEMO_FIXTURE,
                                          .input = p.record, .expect = true});
    cr_expect(eq(u64, result->stats.as_recorded, 3));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, result->stats.divergences, 0), "%s", result->out);
    replay_result_free(result);
}

Test(cov_replay_run, a_recorded_body_without_a_code_or_with_another_code_is_replayed)
{
    paths p = paths_of("applied.ndjson");
    char text[2048];
    /* no Code at all, and a Code the state decided: both are applied */
    snprintf(text, sizeof text,
             "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"RenewInstance\","
             "\"params\":{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\"},"
             "\"response\":{\"status\":200,\"body\":{\"OrderId\":\"1\"}}}\n"
             "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"RenewInstance\","
             "\"params\":{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\"},"
             "\"response\":{\"status\":400,\"body\":{\"Code\":\"InvalidPeriod\"}}}\n"
             "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"RenewInstance\","
             "\"params\":{\"InstanceId\":\"i-acc0005\",\"Period\":\"1\"},"
             "\"response\":{\"status\":200,\"body\":\"not json\"}}\n",
             DEMO_CLOCK_MS, DEMO_CLOCK_MS, DEMO_CLOCK_MS);
    replay_write_text(p.log, text);
    replay_seed_only(p.seeded, DEMO_FIXTURE);
    int64_t orders_before = order_count(p.seeded);
    replay_args args = log_args(&p);
    args.expect = true;
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.as_recorded, 0));
    cr_expect(eq(u64, result->stats.writes, 3));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, result->stats.divergences, 3), "none of the bodies is the engine's");
    cr_expect(eq(u64, replay_count_of(&result->stats, "RenewInstance", BILLORD_API_OK), 3));
    cr_expect(strstr(result->out, "divergence: ") != NULL);
    cr_expect(strstr(result->out, "applied.ndjson:3") != NULL, "%s", result->out);
    cr_expect(strstr(result->out, "recorded: 200 \"not json\"") != NULL, "%s", result->out);
    replay_result_free(result);
    cr_expect(eq(i64, order_count(p.a), orders_before + 3));
}

/* A string body is compared with the rendered bytes as they are. */
Test(cov_replay_run, a_string_body_is_compared_byte_for_byte)
{
    paths p = paths_of("strings.ndjson");
    /* the engine's answer to a read, rendered as the server renders it */
    replay_seed_only(p.seeded, DEMO_FIXTURE);
    billord_engine_config config = {.data_dir = p.seeded, .map_bytes = REPLAY_MAP_BYTES};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&config, &engine), BILLORD_OK));
    billord_param params[] = {{"InstanceId", "i-acc0001"}, {"RegionId", "cn-hangzhou"}};
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST,
                               .now_ms = DEMO_CLOCK_MS,
                               .request_id = "0B000000-0000-4000-8000-000000000001",
                               .account = MAIN_ACCOUNT,
                               .action = "DescribeInstanceAutoRenewAttribute",
                               .param_count = 2,
                               .params = params};
    billord_outcome outcome;
    json_t *fields = NULL;
    cr_assert(eq(int, billord_engine_query(engine, &command, &outcome, &fields), BILLORD_OK));
    size_t body_bytes = 0;
    char *body = billord_render(command.action, &outcome, fields, BILLORD_FORMAT_JSON,
                                &body_bytes);
    cr_assert(body != NULL);
    int status = billord_render_status(&outcome);
    json_decref(fields);
    billord_engine_close(engine);

    json_t *exact = json_stringn(body, body_bytes);
    char *altered_body = strdup(body);
    altered_body[body_bytes - 1] = ' ';     /* the same JSON, one byte different */
    json_t *altered = json_string(altered_body);
    char *exact_text = json_dumps(exact, JSON_ENCODE_ANY);
    char *altered_text = json_dumps(altered, JSON_ENCODE_ANY);
    FILE *file = fopen(p.log, "w");
    cr_assert(file != NULL);
    for (int i = 0; i < 3; i++) {
        fprintf(file,
                "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"%s\",\"params\":"
                "{\"InstanceId\":\"i-acc0001\",\"RegionId\":\"cn-hangzhou\"},\"request_id\":"
                "\"%s\",\"response\":{\"status\":%d,\"body\":%s}}\n",
                DEMO_CLOCK_MS, command.action, command.request_id, i == 2 ? status + 1 : status,
                i == 1 ? altered_text : exact_text);
    }
    /* and one without a recorded response: nothing to compare */
    fprintf(file,
            "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"%s\",\"params\":"
            "{\"InstanceId\":\"i-acc0001\",\"RegionId\":\"cn-hangzhou\"}}\n",
            DEMO_CLOCK_MS, command.action);
    fclose(file);
    replay_args args = log_args(&p);
    args.expect = true;
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.reads, 4));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, result->stats.divergences, 2), "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:4\n") == NULL, "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:1\n") == NULL, "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:2\n") != NULL, "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:3\n") != NULL, "%s", result->out);
    replay_result_free(result);
    free(exact_text);
    free(altered_text);
    json_decref(exact);
    json_decref(altered);
    free(altered_body);
    free(body);
}

/* ---- progress ----------------------------------------------------------------------------- */

typedef struct slow_sink {
    long pause_ms;
    bool paused;
    size_t bytes;
} slow_sink;

/* The record output: the first write takes pause_ms, so that the replay has run a while. */
static ssize_t slow_write(void *cookie, const char *bytes, size_t size)
{
    (void)bytes;
    slow_sink *sink = cookie;
    if (!sink->paused) {
        sink->paused = true;
        struct timespec pause = {sink->pause_ms / 1000, (sink->pause_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    sink->bytes += size;
    return (ssize_t)size;
}

/* lines unknown actions with a token each (cheap: no state), in one log. */
static void write_many_lines(const char *path, unsigned lines)
{
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL);
    for (unsigned i = 0; i < lines; i++) {
        fprintf(file,
                "{\"ts_ms\":%lld,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"NoSuchAction\","
                "\"params\":{\"ClientToken\":\"tok-%u\"}}\n",
                DEMO_CLOCK_MS, i);
    }
    fclose(file);
}

/* Replay with the record output going to a stream of functions over cookie (unbuffered:
 * each record line is one write). */
static replay_result *replay_recording_to(replay_args args, cookie_io_functions_t functions,
                                          void *cookie, bool unbuffered)
{
    FILE *record = fopencookie(cookie, "w", functions);
    cr_assert(record != NULL);
    if (unbuffered) {
        setvbuf(record, NULL, _IONBF, 0);
    }
    args.record = record;
    replay_result *result = replay_run(&args);
    fclose(record);
    return result;
}

/* Replay with the record output into a slow_sink whose first write takes pause_ms. */
static replay_result *replay_slowly(replay_args args, long pause_ms, bool unbuffered,
                                    slow_sink *sink)
{
    sink->pause_ms = pause_ms;
    return replay_recording_to(args, (cookie_io_functions_t){.write = slow_write}, sink,
                               unbuffered);
}

/* The log p->log of `lines` lines replayed slowly with progress into p->a. */
static replay_result *replay_many_slowly(const paths *p, unsigned lines, int progress,
                                         long pause_ms, slow_sink *sink)
{
    write_many_lines(p->log, lines);
    replay_args args = log_args(p);
    args.progress = progress;
    replay_result *result = replay_slowly(args, pause_ms, false, sink);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    return result;
}

#define PROGRESS_LINES 4200u

Test(cov_replay_run, a_progress_bar_is_drawn_in_place_and_finished)
{
    paths p = paths_of("many.ndjson");
    slow_sink sink = {0};
    replay_result *result = replay_many_slowly(&p, PROGRESS_LINES, 2, 300, &sink);
    cr_expect(eq(u64, result->stats.requests, PROGRESS_LINES));
    cr_expect(eq(u64, replay_count_of(&result->stats, "NoSuchAction",
                                      BILLORD_API_ACTION_NOT_FOUND),
                 PROGRESS_LINES));
    cr_expect(eq(u64, result->stats.batches, (PROGRESS_LINES + BILLORD_BATCH_COMMANDS_MAX - 1) /
                                                 BILLORD_BATCH_COMMANDS_MAX),
              "full batches of distinct tokens");
    cr_expect(sink.bytes > 0 && sink.paused);
    const char *text = result->err_text;
    /* one bar part-way (after line 4096) and the final one at 100%, ended by a newline */
    cr_expect(eq(sz, replay_count_lines(text), 1), "%s", text);
    cr_expect(strncmp(text, "\r[", 2) == 0, "%s", text);
    const char *last = strrchr(text, '\r');
    cr_assert(last != NULL && last != text, "two draws: %s", text);
    cr_expect(strstr(last, "100% 4200 requests") != NULL, "%s", last);
    cr_expect(strstr(last, "[##############################]") != NULL, "%s", last);
    cr_expect(text[strlen(text) - 1] == '\n');
    replay_result_free(result);
}

/* The record output appended to a file (the first write pausing, as slow_write does). */
typedef struct growing_sink {
    slow_sink slow;
    FILE *file;
} growing_sink;

static ssize_t growing_write(void *cookie, const char *bytes, size_t size)
{
    growing_sink *sink = cookie;
    slow_write(&sink->slow, bytes, size);
    cr_assert(eq(sz, fwrite(bytes, 1, size, sink->file), size));
    fflush(sink->file);
    return (ssize_t)size;
}

/* A log that grows while it is replayed (the request log of a live server) is read to its
 * size when it is opened; the progress that counted it at its start stops at 100%. */
Test(cov_replay_run, a_log_that_grew_since_the_start_shows_at_most_100_percent)
{
    paths p = paths_of("many.ndjson");
    char grown[TEMPDIR_PATH_BYTES];
    tempdir_join(grown, replay_dir, "grown.ndjson");
    write_many_lines(p.log, PROGRESS_LINES);
    replay_write_text(grown, "");
    /* the first log's answers are appended to the second while the first is replayed */
    growing_sink sink = {.slow = {.pause_ms = 300}, .file = fopen(grown, "a")};
    cr_assert(sink.file != NULL);
    const char *inputs[] = {p.log, grown};
    replay_args args = {.data_dir = p.a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 2, .progress = 2};
    replay_result *result = replay_recording_to(
        args, (cookie_io_functions_t){.write = growing_write}, &sink, true);
    fclose(sink.file);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.malformed, 0));
    /* the second log held every answer to the first when it was opened (and got its own) */
    cr_expect(eq(u64, result->stats.requests, 2 * PROGRESS_LINES));
    const char *last = strrchr(result->err_text, '\r');
    cr_assert(last != NULL, "%s", result->err_text);
    cr_expect(strstr(last, "[##############################] 100% 8400 requests") != NULL, "%s",
              last);
    replay_result_free(result);
}

Test(cov_replay_run, a_short_run_prints_no_progress)
{
    paths p = paths_of("few.ndjson");
    slow_sink sink = {0};
    replay_result *result = replay_many_slowly(&p, 10, 2, 0, &sink);
    cr_expect(eq(u64, result->stats.requests, 10));
    cr_expect(eq(str, result->err_text, ""));
    replay_result_free(result);
}

Test(cov_replay_run, plain_progress_lines_come_every_five_seconds, .timeout = 60)
{
    paths p = paths_of("many.ndjson");
    slow_sink sink = {0};
    replay_result *result = replay_many_slowly(&p, PROGRESS_LINES, 1, 5100, &sink);
    const char *text = result->err_text;
    /* one line part-way and the final one */
    cr_expect(eq(sz, replay_count_lines(text), 2), "%s", text);
    cr_expect(strncmp(text, "replay: ", 8) == 0, "%s", text);
    cr_expect(strstr(text, "replay: 100% 4200 requests") != NULL, "%s", text);
    cr_expect(strchr(text, '\r') == NULL, "no bar");
    replay_result_free(result);
}

/* ---- inputs that cannot be read ----------------------------------------------------------- */

Test(cov_replay_run, a_missing_input_is_an_io_error_naming_it)
{
    paths p = paths_of("lines.ndjson");
    char missing[TEMPDIR_PATH_BYTES], empty[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, replay_dir, "missing.ndjson");
    tempdir_join(empty, replay_dir, "empty.ndjson");
    replay_write_text(empty, "");
    write_many_lines(p.log, 3);
    /* the input after the missing one is never read */
    const char *inputs[] = {empty, missing, p.log};
    replay_result *result = replay_run(&(replay_args){.data_dir = p.a, .fixture = DEMO_FIXTURE,
                                                      .inputs = inputs, .input_count = 3});
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, missing) != NULL, "%s", result->error_text);
    cr_expect(strstr(result->error_text, "No such file") != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.lines, 0), "the empty input has no line, the last is not read");
    replay_result_free(result);
    /* a short name is a request log too */
    result = replay_run(&(replay_args){.data_dir = p.seeded, .input = "/nx"});
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "/nx: No such file") != NULL, "%s", result->error_text);
    replay_result_free(result);
    /* without room for the text, the same answer */
    billord_replay_options options = {.data_dir = p.b, .inputs = inputs, .input_count = 2};
    billord_replay_stats stats;
    cr_expect(eq(int, billord_replay_run(&options, &stats, NULL, 0), BILLORD_E_IO));
}

/* Replay a log of one line with args: refused before the line, with an error text that
 * starts with the option and names the file. */
static replay_result *expect_option_refused(replay_args args, const char *option,
                                            const char *file)
{
    paths p = paths_of("one.ndjson");
    write_many_lines(p.log, 1);
    args.input = p.log;
    replay_result *result = replay_run(&args);
    cr_expect(ne(int, result->err, BILLORD_OK));
    cr_expect(strncmp(result->error_text, option, strlen(option)) == 0, "%s", result->error_text);
    cr_expect(strstr(result->error_text, file) != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.lines, 0));
    cr_expect(eq(u64, result->stats.requests, 0));
    return result;
}

Test(cov_replay_run, an_invalid_fixture_is_refused_before_any_line)
{
    char a[TEMPDIR_PATH_BYTES];
    tempdir_join(a, replay_dir, "a");
    replay_args args = {.data_dir = a, .fixture = "tests/fixtures/bad_syntax.json"};
    replay_result *result = expect_option_refused(args, "--fixtures ", "bad_syntax.json");
    cr_expect(eq(int, result->err, BILLORD_E_FIXTURE));
    replay_result_free(result);
}

Test(cov_replay_run, a_data_dir_that_cannot_be_opened_is_named)
{
    char not_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(not_dir, replay_dir, "plain-file");
    replay_write_text(not_dir, "not a directory\n");
    replay_result_free(expect_option_refused((replay_args){.data_dir = not_dir}, "--data ",
                                             "plain-file"));
}

Test(cov_replay_run, blank_lines_are_not_lines_but_count_in_line_numbers)
{
    paths p = paths_of("blank.ndjson");
    replay_write_text(p.log, " \t\r\n\r\n\t\n"
                             "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" MAIN_ACCOUNT "\","
                             "\"action\":\"DescribeOrders\"}\n"
                             "{\"ts_ms\":1,\"account\":\"a\",\"act\n");
    replay_args args = log_args(&p);
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.lines, 1));
    cr_expect(eq(u64, result->stats.reads, 1));
    cr_expect(eq(u64, result->stats.malformed, 1));
    cr_expect(strstr(result->err_text, "blank.ndjson:5: not JSON") != NULL, "%s",
              result->err_text);
    replay_result_free(result);
}

/* A file the kernel cannot map (a sysfs attribute: a size, but no mmap). */
Test(cov_replay_run, an_input_that_cannot_be_mapped_is_an_io_error)
{
    static const char *const candidates[] = {"/sys/kernel/address_bits", "/sys/kernel/profiling",
                                             "/sys/power/state",
                                             "/sys/kernel/mm/transparent_hugepage/enabled"};
    const char *input = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && input == NULL; i++) {
        struct stat st;
        if (stat(candidates[i], &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            access(candidates[i], R_OK) == 0) {
            input = candidates[i];
        }
    }
    if (input == NULL) {
        cr_skip_test("no sysfs attribute file here");
    }
    replay_result *result = replay_run(&(replay_args){.data_dir = replay_data,
                                                      .fixture = DEMO_FIXTURE, .input = input});
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    char expected[128];
    snprintf(expected, sizeof expected, "%s: cannot map: ", input);
    cr_expect(strstr(result->error_text, expected) == result->error_text, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.lines, 0));
    replay_result_free(result);
}

/* Without out and err, divergences go to stdout and malformed lines to stderr. */
Test(cov_replay_run, malformed_lines_go_to_stderr_by_default)
{
    paths p = paths_of("bad.ndjson");
    char captured[TEMPDIR_PATH_BYTES];
    tempdir_join(captured, replay_dir, "stderr.txt");
    replay_write_text(p.log, "{\"ts_ms\":1\n");
    const char *inputs[] = {p.log};
    billord_replay_options options = {.data_dir = p.a, .inputs = inputs, .input_count = 1};
    billord_replay_stats stats;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    fflush(stderr);
    int saved = dup(2);
    int fd = open(captured, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    billord_err err = billord_replay_run(&options, &stats, error_text, sizeof error_text);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    cr_expect(eq(int, err, BILLORD_OK), "%s", error_text);
    cr_expect(eq(u64, stats.malformed, 1));
    char *text = tempdir_read_file(captured, NULL);
    cr_assert(text != NULL);
    cr_expect(strstr(text, "bad.ndjson:1: not JSON") != NULL, "%s", text);
    cr_expect(strstr(text, "(line skipped)") != NULL, "%s", text);
    free(text);
}

/* ---- log segments ------------------------------------------------------------------------- */

#define WAL_RENEWALS 6

/* A durable db seeded from the crash fixture with WAL_RENEWALS acknowledged renewals, and
 * with_tick: a clock command after them. */
static void build_db_ticked(const char *data_dir, bool with_tick)
{
    mkdir(data_dir, 0755);
    db_harness_seed(data_dir, CRASH_FIXTURE);
    billord_db *db = db_harness_open(data_dir, NULL, NULL, NULL, NULL);
    for (int i = 0; i < WAL_RENEWALS; i++) {
        char instance[32], token[32];
        snprintf(instance, sizeof instance, "i-crash%04d", i % 4);
        snprintf(token, sizeof token, "wal-%d", i);
        billord_outcome outcome = db_harness_renew(db, instance, token, DEMO_CLOCK_MS + i);
        cr_assert(eq(int, outcome.code, BILLORD_API_OK), "%s", outcome.message);
    }
    if (with_tick) {
        billord_command tick = {.kind = BILLORD_COMMAND_TICK,
                                .now_ms = DEMO_CLOCK_MS + 86400000LL,
                                .request_id = "0E000000-0000-4000-8000-000000000001",
                                .account = "",
                                .action = ""};
        billord_outcome outcome;
        cr_assert(eq(int, billord_db_execute(db, &tick, &outcome), BILLORD_OK));
        cr_assert(eq(int, outcome.code, BILLORD_API_OK), "%s", outcome.message);
    }
    billord_db_close(db);
}

static void build_db(const char *data_dir)
{
    build_db_ticked(data_dir, false);
}

/* paths_of(), with a durable db at p.original (see build_db_ticked). */
static paths paths_with_log(bool with_tick)
{
    paths p = paths_of("log.ndjson");
    build_db_ticked(p.original, with_tick);
    return p;
}

Test(cov_replay_run, a_data_directory_input_replays_its_log_and_records_each_request)
{
    paths p = paths_with_log(false);
    replay_args args = wal_args(&p);
    args.input = p.original;        /* the directory: its wal/ is the log */
    args.from_wal = false;
    args.record_path = p.record;
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS));
    cr_expect(eq(u64, result->stats.wal_records, WAL_RENEWALS));
    cr_expect(eq(u64, replay_count_of(&result->stats, "RenewInstance", BILLORD_API_OK),
                 WAL_RENEWALS));
    cr_expect(result->stats.wal_torn_tail == false);
    replay_result_free(result);
    replay_assert_same_digest(p.original, p.a, "the log replays to its state");
    char *text = record_text(p.record, WAL_RENEWALS);
    cr_expect(strstr(text, "\"ClientToken\":\"wal-0\"") != NULL, "%s", text);
    cr_expect(strstr(text, "\"status\":200") != NULL, "%s", text);
    free(text);
}

Test(cov_replay_run, clock_commands_of_a_log_are_counted_as_ticks_and_not_recorded)
{
    paths p = paths_with_log(true);
    replay_args args = wal_args(&p);
    args.record_path = p.record;
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS + 1));
    cr_expect(eq(u64, replay_count_of(&result->stats, "(tick)", BILLORD_API_OK), 1));
    cr_expect(eq(u64, replay_count_of(&result->stats, "RenewInstance", BILLORD_API_OK),
                 WAL_RENEWALS));
    replay_result_free(result);
    replay_assert_same_digest(p.original, p.a, "the clock moved the same way");
    /* requests only */
    free(record_text(p.record, WAL_RENEWALS));
}

Test(cov_replay_run, a_progress_bar_over_a_log_directory)
{
    paths p = paths_with_log(false);
    /* unbuffered: the first record's line pauses the replay after its first record */
    slow_sink sink = {0};
    replay_args args = wal_args(&p);
    args.progress = 2;
    replay_result *result = replay_slowly(args, 300, true, &sink);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    const char *text = result->err_text;
    /* a directory's size is not known beforehand: the bar shows no fraction */
    static const char first[] = "\r[                              ]   0% 1 requests ";
    cr_expect(strncmp(text, first, strlen(first)) == 0, "%s", text);
    char final[64];
    snprintf(final, sizeof final, "   0%% %u requests", WAL_RENEWALS);
    cr_expect(strstr(strrchr(text, '\r'), final) != NULL, "%s", text);
    cr_expect(text[strlen(text) - 1] == '\n');
    replay_result_free(result);
}

Test(cov_replay_run, a_segment_file_is_a_log_by_its_name)
{
    paths p = paths_with_log(false);
    replay_last_record last = replay_find_last_record(p.wal);
    replay_args args = wal_args(&p);
    args.input = last.segment;
    args.from_wal = false;
    replay_result *result = replay_run_ok(&args);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS));
    cr_expect(eq(u64, result->stats.lines, 0), "not read as a request log");
    replay_result_free(result);
}

Test(cov_replay_run, a_torn_tail_ends_the_log_with_a_note)
{
    paths p = paths_with_log(false);
    replay_last_record last = replay_find_last_record(p.wal);
    replay_tear_tail(&last);
    replay_args args = wal_args(&p);
    replay_result *result = replay_run_ok(&args);
    cr_expect(result->stats.wal_torn_tail);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS), "every record before the tail");
    cr_expect(strstr(result->err_text, "torn tail (never acknowledged), stopped there") != NULL,
              "%s", result->err_text);
    replay_result_free(result);
}

Test(cov_replay_run, a_damaged_record_stops_the_replay)
{
    paths p = paths_with_log(false);
    replay_flip_first_record_byte(p.wal);
    replay_args args = wal_args(&p);
    replay_result *result = replay_run(&args);
    cr_expect(eq(int, result->err, BILLORD_E_WAL_CORRUPT), "%s", result->error_text);
    cr_expect(strstr(result->error_text, "00000000000000000001.seg") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.wal_records, 0));
    replay_result_free(result);
}

Test(cov_replay_run, a_record_that_is_not_a_batch_is_a_corrupt_log)
{
    paths p = paths_with_log(false);
    uint64_t lsn = replay_append_not_a_batch(p.wal);
    replay_args args = wal_args(&p);
    replay_result *result = replay_run(&args);
    cr_expect(eq(int, result->err, BILLORD_E_WAL_CORRUPT), "%s", result->error_text);
    char expected[64];
    snprintf(expected, sizeof expected, "record %llu does not decode as a batch",
             (unsigned long long)lsn);
    cr_expect(strstr(result->error_text, expected) != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS), "the records before it");
    replay_result_free(result);
}

Test(cov_replay_run, a_log_input_without_segments_or_with_a_path_too_long_is_refused)
{
    paths p = paths_of("empty-wal");
    mkdir(p.log, 0755);
    /* a file named wal is not a log directory: the directory itself is the log */
    char wal_file[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_file, p.log, "wal");
    replay_write_text(wal_file, "not a directory\n");
    replay_args args = log_args(&p);
    replay_result *result = replay_run(&args);
    cr_expect(eq(int, result->err, BILLORD_E_NOT_FOUND));
    cr_expect(strstr(result->error_text, "empty-wal: no log segment there") != NULL, "%s",
              result->error_text);
    replay_result_free(result);

    /* a path longer than a log path may be (it need not exist: it is refused first) */
    char long_path[BILLORD_WAL_PATH_BYTES_MAX + 64];
    memset(long_path, 'w', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    result = replay_run(&(replay_args){.data_dir = p.b, .fixture = DEMO_FIXTURE,
                                       .input = long_path, .from_wal = true});
    cr_expect(eq(int, result->err, BILLORD_E_INVALID_ARGUMENT));
    cr_expect(strncmp(result->error_text, "/www", 4) == 0, "the path is named: %s",
              result->error_text);
    replay_result_free(result);
}

/* ---- LMDB failing under the replay -------------------------------------------------------- */

#define RENEW_LINE(instance, token)                                                              \
    "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" MAIN_ACCOUNT "\",\"action\":"           \
    "\"RenewInstance\",\"params\":{\"InstanceId\":\"" instance "\",\"Period\":\"1\","            \
    "\"ClientToken\":\"" token "\"}}\n"
#define READ_LINE                                                                                \
    "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" MAIN_ACCOUNT "\",\"action\":"           \
    "\"DescribeOrders\",\"params\":{\"PageSize\":\"5\"}}\n"

/* One LMDB call of a replay fails with EIO (plain data: Criterion copies rows). */
typedef struct lmdb_fault {
    char label[64];
    char log_name[16];      /* the request log of lines; "": the crash fixture's db's log */
    char lines[512];
    faulty_lmdb_op op;
    uint32_t after_setup;   /* the failing call, counted after those set-up makes */
    char error_part[64];    /* what the error text must hold */
    size_t stat_offset;     /* offsetof(billord_replay_stats, ...): what was done before */
    uint64_t stat;
} lmdb_fault;

ParameterizedTestParameters(cov_replay_run, lmdb_failing_under_the_replay_stops_it)
{
    static lmdb_fault faults[] = {
        {"a batch that fails to commit", "log.ndjson",
         RENEW_LINE("i-acc0001", "f-1") RENEW_LINE("i-acc0002", "f-2"), FAULTY_LMDB_TXN_COMMIT, 1,
         "log.ndjson:1: applying a batch of 2 commands failed",
         offsetof(billord_replay_stats, requests), 0},  /* nothing of the batch was answered */
        {"a failing batch before a read", "log.ndjson",
         RENEW_LINE("i-acc0001", "f-1") READ_LINE, FAULTY_LMDB_TXN_COMMIT, 1,
         "applying a batch of 1 commands failed",
         offsetof(billord_replay_stats, reads), 0},     /* the read was not run */
        {"a failing batch cut at a repeated token", "log.ndjson",
         RENEW_LINE("i-acc0001", "same") RENEW_LINE("i-acc0001", "same"), FAULTY_LMDB_TXN_COMMIT,
         1, "applying a batch of 1 commands failed", offsetof(billord_replay_stats, requests), 0},
        /* the second read's transaction */
        {"a read that fails", "reads.ndjson", READ_LINE READ_LINE, FAULTY_LMDB_TXN_BEGIN, 2,
         "reads.ndjson:2: the read failed", offsetof(billord_replay_stats, reads), 1},
        /* the final sync is the last one a run makes (set-up's last is its own final sync) */
        {"a failing final sync", "log.ndjson", RENEW_LINE("i-acc0001", "s-1"),
         FAULTY_LMDB_ENV_SYNC, 0, "the final sync failed",
         offsetof(billord_replay_stats, requests), 1},  /* the lines were replayed */
        /* the third record's batch */
        {"a log record that fails to apply", "", "", FAULTY_LMDB_TXN_COMMIT, 3,
         "applying record 3 failed", offsetof(billord_replay_stats, wal_records), 2},
    };
    return cr_make_param_array(lmdb_fault, faults, sizeof faults / sizeof faults[0]);
}

ParameterizedTest(lmdb_fault *fault, cov_replay_run, lmdb_failing_under_the_replay_stops_it)
{
    bool from_log = fault->log_name[0] == '\0';
    paths p = paths_of(from_log ? "log.ndjson" : fault->log_name);
    replay_args args;
    if (from_log) {
        build_db(p.original);
        args = wal_args(&p);
    } else {
        replay_write_text(p.log, fault->lines);
        args = log_args(&p);
    }
    /* the calls set-up makes: a replay of nothing with the same fixture */
    uint32_t mask = FAULTY_LMDB_MASK(fault->op);
    faulty_lmdb_count(mask);
    replay_seed_only(p.probe, args.fixture);
    uint64_t at = faulty_lmdb_calls() + fault->after_setup;
    faulty_lmdb_reset();
    cr_assert(at > 0, "%s", fault->label);
    faulty_lmdb_fail_at(at, mask, EIO, false);
    replay_result *result = replay_run(&args);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1), "%s", fault->label);
    faulty_lmdb_reset();
    cr_expect(eq(int, result->err, BILLORD_E_IO), "%s", fault->label);
    cr_expect(strstr(result->error_text, fault->error_part) != NULL, "%s: %s", fault->label,
              result->error_text);
    uint64_t done = 0;
    memcpy(&done, (const char *)&result->stats + fault->stat_offset, sizeof done);
    cr_expect(eq(u64, done, fault->stat), "%s", fault->label);
    replay_result_free(result);
}
