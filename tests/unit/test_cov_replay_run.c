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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <lmdb.h>

#include <billord/db.h>
#include <billord/fixture.h>
#include <billord/render.h>
#include <billord/replay.h>
#include <billord/wal.h>

#include "support/db_harness.h"
#include "support/faulty_lmdb.h"
#include "support/tempdir.h"

#define DEMO_FIXTURE "fixtures/demo.json"
#define CRASH_FIXTURE "tests/fixtures/crash.json"
#define DEMO_CLOCK_MS 1795305600000LL
#define MAIN_ACCOUNT "1234567890123456"
#define MAP_BYTES (64ULL << 20)

static char dir[TEMPDIR_PATH_BYTES];

static void setup(void)
{
    tempdir_make(dir);
}

static void teardown(void)
{
    faulty_lmdb_reset();
    tempdir_remove(dir);
}

TestSuite(cov_replay_run, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct replay_result {
    billord_err err;
    billord_replay_stats stats;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    char *out;          /* what went to options.out */
    char *err_text;     /* what went to options.err */
} replay_result;

typedef struct replay_args {
    const char *data_dir;
    const char *fixture;            /* relative to the source tree; NULL: none */
    const char *const *inputs;
    size_t input_count;
    bool expect;
    bool strict;
    bool from_wal;
    FILE *record;
    int progress;
} replay_args;

static replay_result *replay(const replay_args *args)
{
    replay_result *result = calloc(1, sizeof *result);
    cr_assert(result != NULL);
    char fixture_path[TEMPDIR_PATH_BYTES];
    if (args->fixture != NULL) {
        tempdir_source_path(fixture_path, args->fixture);
    }
    size_t out_bytes = 0, err_bytes = 0;
    FILE *out = open_memstream(&result->out, &out_bytes);
    FILE *err = open_memstream(&result->err_text, &err_bytes);
    cr_assert(out != NULL && err != NULL);
    billord_replay_options options = {.data_dir = args->data_dir,
                                      .fixtures_path = args->fixture != NULL ? fixture_path : NULL,
                                      .map_bytes = MAP_BYTES,
                                      .expect = args->expect,
                                      .strict = args->strict,
                                      .from_wal = args->from_wal,
                                      .inputs = args->inputs,
                                      .input_count = args->input_count,
                                      .out = out,
                                      .err = err,
                                      .record = args->record,
                                      .progress = args->progress};
    result->err = billord_replay_run(&options, &result->stats, result->error_text,
                                     sizeof result->error_text);
    fclose(out);
    fclose(err);
    return result;
}

static void result_free(replay_result *result)
{
    free(result->out);
    free(result->err_text);
    free(result);
}

static void write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL, "%s", path);
    fputs(text, file);
    fclose(file);
}

static uint64_t count_of(const billord_replay_stats *stats, const char *action,
                         billord_api_code code)
{
    for (size_t i = 0; i < stats->count_entries; i++) {
        if (strcmp(stats->counts[i].action, action) == 0 && stats->counts[i].code == code) {
            return stats->counts[i].count;
        }
    }
    return 0;
}

static void digest_of(const char *data_dir, char hex[BILLORD_DIGEST_HEX_BYTES + 1])
{
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    billord_err err = billord_replay_digest(data_dir, hex, NULL, error_text, sizeof error_text);
    cr_assert(eq(int, err, BILLORD_OK), "digest %s: %s", data_dir, error_text);
}

/* The number of orders in a data directory (through the engine's summary). */
static int64_t order_count(const char *data_dir)
{
    billord_engine_config config = {.data_dir = data_dir, .map_bytes = MAP_BYTES};
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

/* A fresh directory seeded from the demo fixture by a replay of nothing. */
static void seeded_only(const char *data_dir)
{
    replay_args args = {.data_dir = data_dir, .fixture = DEMO_FIXTURE};
    replay_result *result = replay(&args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    result_free(result);
}

static size_t count_lines(const char *text)
{
    size_t lines = 0;
    for (const char *p = text; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    return lines;
}

/* ---- one line ------------------------------------------------------------------------------- */

static billord_err parse(const char *text, billord_replay_line *line, char *error_text,
                         size_t error_text_bytes)
{
    return billord_replay_line_parse(text, strlen(text), line, error_text, error_text_bytes);
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

    char *text = malloc(2 * BILLORD_PARAM_VALUE_BYTES_MAX);
    billord_replay_line line;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];

    snprintf(text, 2 * BILLORD_PARAM_VALUE_BYTES_MAX,
             "{\"ts_ms\":1,\"account\":\"%s\",\"action\":\"X\"}", long_account);
    cr_expect(eq(int, parse(text, &line, error_text, sizeof error_text), BILLORD_E_TOO_LARGE));
    cr_expect(strstr(error_text, "$.account: longer than") != NULL, "%s", error_text);
    cr_expect(line.root == NULL && line.account == NULL, "a refused line is zeroed");

    snprintf(text, 2 * BILLORD_PARAM_VALUE_BYTES_MAX,
             "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"%s\":\"1\"}}",
             long_name);
    cr_expect(eq(int, parse(text, &line, error_text, sizeof error_text), BILLORD_E_TOO_LARGE));
    cr_expect(strstr(error_text, "$.params: a name is empty or longer") != NULL, "%s", error_text);

    cr_expect(eq(int, parse("{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"\":\"1\"}}",
                            &line, error_text, sizeof error_text),
                 BILLORD_E_TOO_LARGE));
    cr_expect(strstr(error_text, "$.params: a name is empty") != NULL, "%s", error_text);

    snprintf(text, 2 * BILLORD_PARAM_VALUE_BYTES_MAX,
             "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"Period\":\"%s\"}}",
             long_value);
    cr_expect(eq(int, parse(text, &line, error_text, sizeof error_text), BILLORD_E_TOO_LARGE));
    cr_expect(strstr(error_text, "$.params.Period: longer than") != NULL, "%s", error_text);

    /* one parameter more than a command holds */
    size_t used = (size_t)snprintf(text, 2 * BILLORD_PARAM_VALUE_BYTES_MAX,
                                   "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{");
    for (unsigned i = 0; i <= BILLORD_PARAMS_MAX; i++) {
        used += (size_t)snprintf(text + used, 2 * BILLORD_PARAM_VALUE_BYTES_MAX - used,
                                 "%s\"P%u\":\"1\"", i == 0 ? "" : ",", i);
    }
    snprintf(text + used, 2 * BILLORD_PARAM_VALUE_BYTES_MAX - used, "}}");
    cr_expect(eq(int, parse(text, &line, error_text, sizeof error_text), BILLORD_E_TOO_LARGE));
    cr_expect(strstr(error_text, "$.params: more than") != NULL, "%s", error_text);

    /* exactly the most a command holds is fine */
    used = (size_t)snprintf(text, 2 * BILLORD_PARAM_VALUE_BYTES_MAX,
                            "{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{");
    for (unsigned i = 0; i < BILLORD_PARAMS_MAX; i++) {
        used += (size_t)snprintf(text + used, 2 * BILLORD_PARAM_VALUE_BYTES_MAX - used,
                                 "%s\"P%u\":\"1\"", i == 0 ? "" : ",", i);
    }
    snprintf(text + used, 2 * BILLORD_PARAM_VALUE_BYTES_MAX - used, "}}");
    cr_assert(eq(int, parse(text, &line, error_text, sizeof error_text), BILLORD_OK), "%s",
              error_text);
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
        billord_replay_line line;
        char error_text[BILLORD_REPLAY_ERROR_BYTES];
        cr_expect(eq(int, parse(cases[i].text, &line, error_text, sizeof error_text),
                     BILLORD_E_INVALID_ARGUMENT), "case %zu", i);
        cr_expect(strstr(error_text, cases[i].error) != NULL, "case %zu: '%s' lacks '%s'", i,
                  error_text, cases[i].error);
    }

    /* the bounds of a status, a string body and a null response are accepted */
    billord_replay_line line;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    cr_assert(eq(int, parse("{\"ts_ms\":0,\"account\":\"\",\"action\":\"\",\"response\":{\"status\":"
                            "100,\"body\":\"<xml/>\"}}",
                            &line, error_text, sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(line.has_response);
    cr_expect(eq(int, line.response_status, 100));
    bool body_is_string = json_is_string(line.response_body);
    cr_expect(body_is_string);
    cr_expect(eq(str, (char *)json_string_value(line.response_body), "<xml/>"));
    billord_replay_line_free(&line);
    cr_assert(eq(int, parse("{\"ts_ms\":0,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":"
                            "599,\"body\":{}}}",
                            &line, error_text, sizeof error_text),
                 BILLORD_OK), "%s", error_text);
    cr_expect(eq(int, line.response_status, 599));
    billord_replay_line_free(&line);
    cr_assert(eq(int, parse("{\"ts_ms\":0,\"account\":\"a\",\"action\":\"X\",\"response\":null}",
                            &line, error_text, sizeof error_text),
                 BILLORD_OK), "%s", error_text);
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
    cr_expect(eq(u64, count_of(stats, "Action0", BILLORD_API_OK), 2));
    cr_expect(eq(u64, count_of(stats, "Action1", BILLORD_API_OK), 1));
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
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES], b[TEMPDIR_PATH_BYTES];
    char seeded[TEMPDIR_PATH_BYTES], record_path[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "circumstances.ndjson");
    tempdir_join(a, dir, "a");
    tempdir_join(b, dir, "b");
    tempdir_join(seeded, dir, "seeded");
    tempdir_join(record_path, dir, "record.ndjson");
    static const struct {
        int status;
        const char *body;
    } recorded[] = {
        {403, "{\"Code\":\"LastTokenProcessing\",\"Message\":\"still busy with t-1\"}"},
        {503, "{\"Code\":\"ServiceUnavailable\"}"},
        {500, "{\"Code\":\"InternalError\",\"Message\":\"disk trouble\"}"},
    };
    FILE *file = fopen(log, "w");
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

    FILE *record = fopen(record_path, "w");
    cr_assert(record != NULL);
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1, .expect = true, .record = record};
    replay_result *result = replay(&args);
    fclose(record);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.as_recorded, 3));
    cr_expect(eq(u64, result->stats.requests, 3));
    cr_expect(eq(u64, result->stats.writes, 0), "nothing was applied");
    cr_expect(eq(u64, result->stats.batches, 0));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, count_of(&result->stats, "RenewInstance",
                               BILLORD_API_LAST_TOKEN_PROCESSING), 1));
    cr_expect(eq(u64, count_of(&result->stats, "RenewInstance",
                               BILLORD_API_SERVICE_UNAVAILABLE), 1));
    cr_expect(eq(u64, count_of(&result->stats, "RenewInstance", BILLORD_API_INTERNAL_ERROR), 1));
    result_free(result);

    /* the state is the seeded one: no order, no token */
    seeded_only(seeded);
    char digest_a[BILLORD_DIGEST_HEX_BYTES + 1], digest_seeded[BILLORD_DIGEST_HEX_BYTES + 1];
    digest_of(a, digest_a);
    digest_of(seeded, digest_seeded);
    cr_expect(eq(str, digest_a, digest_seeded));

    /* the record carries the recorded answers, the recorded message or the code's own */
    size_t bytes = 0;
    char *text = tempdir_read_file(record_path, &bytes);
    cr_assert(text != NULL);
    cr_expect(eq(sz, count_lines(text), 3));
    cr_expect(strstr(text, "\"status\":403") != NULL, "%s", text);
    cr_expect(strstr(text, "still busy with t-1") != NULL, "%s", text);
    cr_expect(strstr(text, "\"status\":503") != NULL, "%s", text);
    cr_expect(strstr(text, billord_api_code_message(BILLORD_API_SERVICE_UNAVAILABLE)) != NULL,
              "%s", text);
    cr_expect(strstr(text, "disk trouble") != NULL, "%s", text);
    free(text);

    /* and the record replays with --expect without a difference, again as recorded */
    const char *again[] = {record_path};
    replay_args second = {.data_dir = b, .fixture = DEMO_FIXTURE, .inputs = again,
                          .input_count = 1, .expect = true};
    result = replay(&second);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.as_recorded, 3));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, result->stats.divergences, 0), "%s", result->out);
    result_free(result);
}

Test(cov_replay_run, a_recorded_body_without_a_code_or_with_another_code_is_replayed)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "applied.ndjson");
    tempdir_join(a, dir, "a");
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
    write_text(log, text);
    int64_t orders_before = 0;
    {
        char seeded[TEMPDIR_PATH_BYTES];
        tempdir_join(seeded, dir, "seeded");
        seeded_only(seeded);
        orders_before = order_count(seeded);
    }
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1, .expect = true};
    replay_result *result = replay(&args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.as_recorded, 0));
    cr_expect(eq(u64, result->stats.writes, 3));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, result->stats.divergences, 3), "none of the bodies is the engine's");
    cr_expect(eq(u64, count_of(&result->stats, "RenewInstance", BILLORD_API_OK), 3));
    cr_expect(strstr(result->out, "divergence: ") != NULL);
    cr_expect(strstr(result->out, "applied.ndjson:3") != NULL, "%s", result->out);
    cr_expect(strstr(result->out, "recorded: 200 \"not json\"") != NULL, "%s", result->out);
    result_free(result);
    cr_expect(eq(i64, order_count(a), orders_before + 3));
}

/* A string body is compared with the rendered bytes as they are. */
Test(cov_replay_run, a_string_body_is_compared_byte_for_byte)
{
    char seeded[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(seeded, dir, "seeded");
    tempdir_join(log, dir, "strings.ndjson");
    tempdir_join(a, dir, "a");
    /* the engine's answer to a read, rendered as the server renders it */
    seeded_only(seeded);
    billord_engine_config config = {.data_dir = seeded, .map_bytes = MAP_BYTES};
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
    FILE *file = fopen(log, "w");
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
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1, .expect = true};
    replay_result *result = replay(&args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.reads, 4));
    cr_expect(eq(u64, result->stats.compared, 3));
    cr_expect(eq(u64, result->stats.divergences, 2), "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:4\n") == NULL, "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:1\n") == NULL, "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:2\n") != NULL, "%s", result->out);
    cr_expect(strstr(result->out, "strings.ndjson:3\n") != NULL, "%s", result->out);
    result_free(result);
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

static replay_result *replay_slowly(const char *log, const char *data_dir, int progress,
                                    long pause_ms, slow_sink *sink)
{
    sink->pause_ms = pause_ms;
    cookie_io_functions_t functions = {.write = slow_write};
    FILE *record = fopencookie(sink, "w", functions);
    cr_assert(record != NULL);
    const char *inputs[] = {log};
    replay_args args = {.data_dir = data_dir, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1, .record = record, .progress = progress};
    replay_result *result = replay(&args);
    fclose(record);
    return result;
}

#define PROGRESS_LINES 4200u

Test(cov_replay_run, a_progress_bar_is_drawn_in_place_and_finished)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "many.ndjson");
    tempdir_join(a, dir, "a");
    write_many_lines(log, PROGRESS_LINES);
    slow_sink sink = {0};
    replay_result *result = replay_slowly(log, a, 2, 300, &sink);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.requests, PROGRESS_LINES));
    cr_expect(eq(u64, count_of(&result->stats, "NoSuchAction", BILLORD_API_ACTION_NOT_FOUND),
                 PROGRESS_LINES));
    cr_expect(eq(u64, result->stats.batches, (PROGRESS_LINES + BILLORD_BATCH_COMMANDS_MAX - 1) /
                                                 BILLORD_BATCH_COMMANDS_MAX),
              "full batches of distinct tokens");
    cr_expect(sink.bytes > 0 && sink.paused);
    const char *text = result->err_text;
    /* one bar part-way (after line 4096) and the final one at 100%, ended by a newline */
    cr_expect(eq(sz, count_lines(text), 1), "%s", text);
    cr_expect(strncmp(text, "\r[", 2) == 0, "%s", text);
    const char *last = strrchr(text, '\r');
    cr_assert(last != NULL && last != text, "two draws: %s", text);
    cr_expect(strstr(last, "100% 4200 requests") != NULL, "%s", last);
    cr_expect(strstr(last, "[##############################]") != NULL, "%s", last);
    cr_expect(text[strlen(text) - 1] == '\n');
    result_free(result);
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
    char log[TEMPDIR_PATH_BYTES], grown[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "many.ndjson");
    tempdir_join(grown, dir, "grown.ndjson");
    tempdir_join(a, dir, "a");
    write_many_lines(log, PROGRESS_LINES);
    write_text(grown, "");
    /* the first log's answers are appended to the second while the first is replayed */
    growing_sink sink = {.slow = {.pause_ms = 300}, .file = fopen(grown, "a")};
    cr_assert(sink.file != NULL);
    cookie_io_functions_t functions = {.write = growing_write};
    FILE *record = fopencookie(&sink, "w", functions);
    cr_assert(record != NULL);
    setvbuf(record, NULL, _IONBF, 0);
    const char *inputs[] = {log, grown};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 2, .record = record, .progress = 2};
    replay_result *result = replay(&args);
    fclose(record);
    fclose(sink.file);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.malformed, 0));
    /* the second log held every answer to the first when it was opened (and got its own) */
    cr_expect(eq(u64, result->stats.requests, 2 * PROGRESS_LINES));
    const char *last = strrchr(result->err_text, '\r');
    cr_assert(last != NULL, "%s", result->err_text);
    cr_expect(strstr(last, "[##############################] 100% 8400 requests") != NULL, "%s",
              last);
    result_free(result);
}

Test(cov_replay_run, a_short_run_prints_no_progress)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "few.ndjson");
    tempdir_join(a, dir, "a");
    write_many_lines(log, 10);
    slow_sink sink = {0};
    replay_result *result = replay_slowly(log, a, 2, 0, &sink);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.requests, 10));
    cr_expect(eq(str, result->err_text, ""));
    result_free(result);
}

Test(cov_replay_run, plain_progress_lines_come_every_five_seconds, .timeout = 60)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "many.ndjson");
    tempdir_join(a, dir, "a");
    write_many_lines(log, PROGRESS_LINES);
    slow_sink sink = {0};
    replay_result *result = replay_slowly(log, a, 1, 5100, &sink);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    const char *text = result->err_text;
    /* one line part-way and the final one */
    cr_expect(eq(sz, count_lines(text), 2), "%s", text);
    cr_expect(strncmp(text, "replay: ", 8) == 0, "%s", text);
    cr_expect(strstr(text, "replay: 100% 4200 requests") != NULL, "%s", text);
    cr_expect(strchr(text, '\r') == NULL, "no bar");
    result_free(result);
}

/* ---- inputs that cannot be read ----------------------------------------------------------- */

Test(cov_replay_run, a_missing_input_is_an_io_error_naming_it)
{
    char missing[TEMPDIR_PATH_BYTES], empty[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(missing, dir, "missing.ndjson");
    tempdir_join(empty, dir, "empty.ndjson");
    tempdir_join(a, dir, "a");
    write_text(empty, "");
    char lines[TEMPDIR_PATH_BYTES];
    tempdir_join(lines, dir, "lines.ndjson");
    write_many_lines(lines, 3);
    /* the input after the missing one is never read */
    const char *inputs[] = {empty, missing, lines};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 3};
    replay_result *result = replay(&args);
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, missing) != NULL, "%s", result->error_text);
    cr_expect(strstr(result->error_text, "No such file") != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.lines, 0), "the empty input has no line, the last is not read");
    result_free(result);
    /* a short name is a request log too */
    const char *short_inputs[] = {"/nx"};
    char c[TEMPDIR_PATH_BYTES];
    tempdir_join(c, dir, "c");
    replay_args short_args = {.data_dir = c, .inputs = short_inputs, .input_count = 1};
    result = replay(&short_args);
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "/nx: No such file") != NULL, "%s", result->error_text);
    result_free(result);
    /* without room for the text, the same answer */
    char b[TEMPDIR_PATH_BYTES];
    tempdir_join(b, dir, "b");
    billord_replay_options options = {.data_dir = b, .inputs = inputs, .input_count = 2};
    billord_replay_stats stats;
    cr_expect(eq(int, billord_replay_run(&options, &stats, NULL, 0), BILLORD_E_IO));
}

Test(cov_replay_run, an_invalid_fixture_is_refused_before_any_line)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "one.ndjson");
    tempdir_join(a, dir, "a");
    write_many_lines(log, 1);
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = "tests/fixtures/bad_syntax.json",
                        .inputs = inputs, .input_count = 1};
    replay_result *result = replay(&args);
    cr_expect(eq(int, result->err, BILLORD_E_FIXTURE));
    cr_expect(strncmp(result->error_text, "--fixtures ", 11) == 0, "%s", result->error_text);
    cr_expect(strstr(result->error_text, "bad_syntax.json") != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.lines, 0));
    result_free(result);
}

Test(cov_replay_run, a_data_dir_that_cannot_be_opened_is_named)
{
    char not_dir[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES];
    tempdir_join(not_dir, dir, "plain-file");
    tempdir_join(log, dir, "one.ndjson");
    write_text(not_dir, "not a directory\n");
    write_many_lines(log, 1);
    const char *inputs[] = {log};
    replay_args args = {.data_dir = not_dir, .inputs = inputs, .input_count = 1};
    replay_result *result = replay(&args);
    cr_expect(ne(int, result->err, BILLORD_OK));
    cr_expect(strncmp(result->error_text, "--data ", 7) == 0, "%s", result->error_text);
    cr_expect(strstr(result->error_text, "plain-file") != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.requests, 0));
    result_free(result);
}

Test(cov_replay_run, blank_lines_are_not_lines_but_count_in_line_numbers)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "blank.ndjson");
    tempdir_join(a, dir, "a");
    write_text(log, " \t\r\n\r\n\t\n"
                    "{\"ts_ms\":1795305600000,\"account\":\"" MAIN_ACCOUNT "\",\"action\":"
                    "\"DescribeOrders\"}\n"
                    "{\"ts_ms\":1,\"account\":\"a\",\"act\n");
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    replay_result *result = replay(&args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.lines, 1));
    cr_expect(eq(u64, result->stats.reads, 1));
    cr_expect(eq(u64, result->stats.malformed, 1));
    cr_expect(strstr(result->err_text, "blank.ndjson:5: not JSON") != NULL, "%s",
              result->err_text);
    result_free(result);
}

/* A file the kernel cannot map (a sysfs attribute: a size, but no mmap). */
Test(cov_replay_run, an_input_that_cannot_be_mapped_is_an_io_error)
{
    static const char *const candidates[] = {"/sys/kernel/address_bits", "/sys/kernel/profiling",
                                             "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled"};
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
    char a[TEMPDIR_PATH_BYTES];
    tempdir_join(a, dir, "a");
    const char *inputs[] = {input};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    replay_result *result = replay(&args);
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    char expected[128];
    snprintf(expected, sizeof expected, "%s: cannot map: ", input);
    cr_expect(strstr(result->error_text, expected) == result->error_text, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.lines, 0));
    result_free(result);
}

/* Without out and err, divergences go to stdout and malformed lines to stderr. */
Test(cov_replay_run, malformed_lines_go_to_stderr_by_default)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES], captured[TEMPDIR_PATH_BYTES];
    tempdir_join(log, dir, "bad.ndjson");
    tempdir_join(a, dir, "a");
    tempdir_join(captured, dir, "stderr.txt");
    write_text(log, "{\"ts_ms\":1\n");
    const char *inputs[] = {log};
    billord_replay_options options = {.data_dir = a, .inputs = inputs, .input_count = 1};
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

typedef struct last_record {
    char segment[TEMPDIR_PATH_BYTES];
    uint64_t offset;        /* where the last record's header starts */
    uint64_t end;           /* where it ends */
    uint64_t records;
} last_record;

static last_record find_last_record(const char *wal_dir)
{
    last_record last = {0};
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK));
    billord_wal_record record;
    while (billord_wal_reader_next(reader, &record) == BILLORD_OK) {
        snprintf(last.segment, sizeof last.segment, "%s", record.segment_path);
        last.offset = record.offset_bytes;
        last.end = record.offset_bytes + BILLORD_WAL_RECORD_HEADER_BYTES + record.payload_bytes;
        last.records++;
    }
    billord_wal_reader_close(reader);
    cr_assert(last.records > 0);
    return last;
}

Test(cov_replay_run, a_data_directory_input_replays_its_log_and_records_each_request)
{
    char original[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES], record_path[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(replayed, dir, "replayed");
    tempdir_join(record_path, dir, "record.ndjson");
    build_db(original);
    FILE *record = fopen(record_path, "w");
    const char *inputs[] = {original};    /* the directory: its wal/ is the log */
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .record = record};
    replay_result *result = replay(&args);
    fclose(record);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS));
    cr_expect(eq(u64, result->stats.wal_records, WAL_RENEWALS));
    cr_expect(eq(u64, count_of(&result->stats, "RenewInstance", BILLORD_API_OK), WAL_RENEWALS));
    cr_expect(result->stats.wal_torn_tail == false);
    result_free(result);
    char digest_original[BILLORD_DIGEST_HEX_BYTES + 1];
    char digest_replayed[BILLORD_DIGEST_HEX_BYTES + 1];
    digest_of(original, digest_original);
    digest_of(replayed, digest_replayed);
    cr_expect(eq(str, digest_original, digest_replayed));
    char *text = tempdir_read_file(record_path, NULL);
    cr_assert(text != NULL);
    cr_expect(eq(sz, count_lines(text), WAL_RENEWALS), "%s", text);
    cr_expect(strstr(text, "\"ClientToken\":\"wal-0\"") != NULL, "%s", text);
    cr_expect(strstr(text, "\"status\":200") != NULL, "%s", text);
    free(text);
}

Test(cov_replay_run, clock_commands_of_a_log_are_counted_as_ticks_and_not_recorded)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    char record_path[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    tempdir_join(record_path, dir, "record.ndjson");
    build_db_ticked(original, true);
    FILE *record = fopen(record_path, "w");
    const char *inputs[] = {wal};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .from_wal = true, .record = record};
    replay_result *result = replay(&args);
    fclose(record);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS + 1));
    cr_expect(eq(u64, count_of(&result->stats, "(tick)", BILLORD_API_OK), 1));
    cr_expect(eq(u64, count_of(&result->stats, "RenewInstance", BILLORD_API_OK), WAL_RENEWALS));
    result_free(result);
    char digest_original[BILLORD_DIGEST_HEX_BYTES + 1];
    char digest_replayed[BILLORD_DIGEST_HEX_BYTES + 1];
    digest_of(original, digest_original);
    digest_of(replayed, digest_replayed);
    cr_expect(eq(str, digest_original, digest_replayed), "the clock moved the same way");
    char *text = tempdir_read_file(record_path, NULL);
    cr_assert(text != NULL);
    cr_expect(eq(sz, count_lines(text), WAL_RENEWALS), "requests only: %s", text);
    free(text);
}

Test(cov_replay_run, a_progress_bar_over_a_log_directory)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    build_db(original);
    /* unbuffered: the first record's line pauses the replay after its first record */
    slow_sink sink = {.pause_ms = 300};
    cookie_io_functions_t functions = {.write = slow_write};
    FILE *record = fopencookie(&sink, "w", functions);
    cr_assert(record != NULL);
    setvbuf(record, NULL, _IONBF, 0);
    const char *inputs[] = {wal};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .from_wal = true, .record = record, .progress = 2};
    replay_result *result = replay(&args);
    fclose(record);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    const char *text = result->err_text;
    /* a directory's size is not known beforehand: the bar shows no fraction */
    static const char first[] = "\r[                              ]   0% 1 requests ";
    cr_expect(strncmp(text, first, strlen(first)) == 0, "%s", text);
    char final[64];
    snprintf(final, sizeof final, "   0%% %u requests", WAL_RENEWALS);
    cr_expect(strstr(strrchr(text, '\r'), final) != NULL, "%s", text);
    cr_expect(text[strlen(text) - 1] == '\n');
    result_free(result);
}

Test(cov_replay_run, a_segment_file_is_a_log_by_its_name)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    build_db(original);
    last_record last = find_last_record(wal);
    const char *inputs[] = {last.segment};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    replay_result *result = replay(&args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS));
    cr_expect(eq(u64, result->stats.lines, 0), "not read as a request log");
    result_free(result);
}

Test(cov_replay_run, a_torn_tail_ends_the_log_with_a_note)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    build_db(original);
    last_record last = find_last_record(wal);
    int fd = open(last.segment, O_WRONLY);
    cr_assert(fd >= 0);
    static const uint8_t partial[7] = {0x10, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00};
    cr_assert(eq(sz, (size_t)pwrite(fd, partial, sizeof partial, (off_t)last.end),
                 sizeof partial));
    close(fd);
    const char *inputs[] = {wal};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .from_wal = true};
    replay_result *result = replay(&args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    cr_expect(result->stats.wal_torn_tail);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS), "every record before the tail");
    cr_expect(strstr(result->err_text, "torn tail (never acknowledged), stopped there") != NULL,
              "%s", result->err_text);
    result_free(result);
}

Test(cov_replay_run, a_damaged_record_stops_the_replay)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    build_db(original);
    /* a byte inside the first record's payload: its checksum fails */
    char segment[TEMPDIR_PATH_BYTES];
    tempdir_join(segment, wal, "00000000000000000001.seg");
    FILE *file = fopen(segment, "r+b");
    cr_assert(file != NULL, "%s", segment);
    const long offset = 64 + 20 + 10;
    fseek(file, offset, SEEK_SET);
    int byte = fgetc(file);
    fseek(file, offset, SEEK_SET);
    fputc(byte ^ 0x40, file);
    fclose(file);
    const char *inputs[] = {wal};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .from_wal = true};
    replay_result *result = replay(&args);
    cr_expect(eq(int, result->err, BILLORD_E_WAL_CORRUPT), "%s", result->error_text);
    cr_expect(strstr(result->error_text, "00000000000000000001.seg") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.wal_records, 0));
    result_free(result);
}

Test(cov_replay_run, a_record_that_is_not_a_batch_is_a_corrupt_log)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    build_db(original);
    billord_wal_config config = {.dir_path = wal, .segment_bytes = 1ULL << 20,
                                 .preparer_inline = true};
    billord_wal *log = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&config, &log, &info), BILLORD_OK));
    static const uint8_t garbage[] = {0x93, 0x01, 0xc1};   /* msgpack's never-used byte */
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(log, garbage, sizeof garbage, &lsn), BILLORD_OK));
    cr_assert(eq(int, billord_wal_sync(log), BILLORD_OK));
    billord_wal_close(log);
    const char *inputs[] = {wal};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .from_wal = true};
    replay_result *result = replay(&args);
    cr_expect(eq(int, result->err, BILLORD_E_WAL_CORRUPT), "%s", result->error_text);
    char expected[64];
    snprintf(expected, sizeof expected, "record %llu does not decode as a batch",
             (unsigned long long)lsn);
    cr_expect(strstr(result->error_text, expected) != NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.wal_commands, WAL_RENEWALS), "the records before it");
    result_free(result);
}

Test(cov_replay_run, a_log_input_without_segments_or_with_a_path_too_long_is_refused)
{
    char empty[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES], b[TEMPDIR_PATH_BYTES];
    tempdir_join(empty, dir, "empty-wal");
    tempdir_join(a, dir, "a");
    tempdir_join(b, dir, "b");
    mkdir(empty, 0755);
    /* a file named wal is not a log directory: the directory itself is the log */
    char wal_file[TEMPDIR_PATH_BYTES];
    tempdir_join(wal_file, empty, "wal");
    write_text(wal_file, "not a directory\n");
    const char *inputs[] = {empty};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    replay_result *result = replay(&args);
    cr_expect(eq(int, result->err, BILLORD_E_NOT_FOUND));
    cr_expect(strstr(result->error_text, "empty-wal: no log segment there") != NULL, "%s",
              result->error_text);
    result_free(result);

    /* a path longer than a log path may be (it need not exist: it is refused first) */
    char long_path[BILLORD_WAL_PATH_BYTES_MAX + 64];
    memset(long_path, 'w', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    const char *long_inputs[] = {long_path};
    replay_args long_args = {.data_dir = b, .fixture = DEMO_FIXTURE, .inputs = long_inputs,
                             .input_count = 1, .from_wal = true};
    result = replay(&long_args);
    cr_expect(eq(int, result->err, BILLORD_E_INVALID_ARGUMENT));
    cr_expect(strncmp(result->error_text, "/www", 4) == 0, "the path is named: %s",
              result->error_text);
    result_free(result);
}

/* ---- LMDB failing under the replay -------------------------------------------------------- */

/* How many calls of the ops in mask opening and seeding a fresh directory make. */
static uint64_t setup_calls(uint32_t mask, const char *data_dir)
{
    faulty_lmdb_count(mask);
    seeded_only(data_dir);
    uint64_t calls = faulty_lmdb_calls();
    faulty_lmdb_reset();
    return calls;
}

#define RENEW_LINE(instance, token)                                                              \
    "{\"ts_ms\":1795305600000,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"RenewInstance\","         \
    "\"params\":{\"InstanceId\":\"" instance "\",\"Period\":\"1\",\"ClientToken\":\"" token      \
    "\"}}\n"
#define READ_LINE                                                                                \
    "{\"ts_ms\":1795305600000,\"account\":\"" MAIN_ACCOUNT "\",\"action\":\"DescribeOrders\","        \
    "\"params\":{\"PageSize\":\"5\"}}\n"

/* The first batch commit after set-up fails; the log's lines decide which flush meets it. */
static replay_result *replay_with_failing_commit(const char *lines)
{
    char probe[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(probe, dir, "probe");
    tempdir_join(log, dir, "log.ndjson");
    tempdir_join(a, dir, "a");
    uint64_t commits = setup_calls(FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), probe);
    write_text(log, lines);
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    faulty_lmdb_fail_at(commits + 1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), EIO, false);
    replay_result *result = replay(&args);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    return result;
}

Test(cov_replay_run, a_batch_that_fails_to_commit_stops_the_replay)
{
    replay_result *result = replay_with_failing_commit(RENEW_LINE("i-acc0001", "f-1")
                                                           RENEW_LINE("i-acc0002", "f-2"));
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "log.ndjson:1: applying a batch of 2 commands failed") !=
                  NULL, "%s", result->error_text);
    cr_expect(eq(u64, result->stats.requests, 0), "nothing of the batch was answered");
    result_free(result);
}

Test(cov_replay_run, a_failing_batch_before_a_read_stops_the_replay)
{
    replay_result *result = replay_with_failing_commit(RENEW_LINE("i-acc0001", "f-1") READ_LINE);
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "applying a batch of 1 commands failed") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.reads, 0), "the read was not run");
    result_free(result);
}

Test(cov_replay_run, a_failing_batch_cut_at_a_repeated_token_stops_the_replay)
{
    replay_result *result = replay_with_failing_commit(RENEW_LINE("i-acc0001", "same")
                                                           RENEW_LINE("i-acc0001", "same"));
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "applying a batch of 1 commands failed") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.requests, 0));
    result_free(result);
}

Test(cov_replay_run, a_read_that_fails_stops_the_replay)
{
    char probe[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(probe, dir, "probe");
    tempdir_join(log, dir, "reads.ndjson");
    tempdir_join(a, dir, "a");
    uint64_t begins = setup_calls(FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), probe);
    write_text(log, READ_LINE READ_LINE);
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    /* the second read's transaction */
    faulty_lmdb_fail_at(begins + 2, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), EIO, false);
    replay_result *result = replay(&args);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "reads.ndjson:2: the read failed") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.reads, 1));
    result_free(result);
}

Test(cov_replay_run, a_failing_final_sync_is_reported)
{
    char probe[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES];
    tempdir_join(probe, dir, "probe");
    tempdir_join(log, dir, "log.ndjson");
    tempdir_join(a, dir, "a");
    /* the final sync is the last one a run makes */
    uint64_t syncs = setup_calls(FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_SYNC), probe);
    cr_assert(syncs > 0);
    write_text(log, RENEW_LINE("i-acc0001", "s-1"));
    const char *inputs[] = {log};
    replay_args args = {.data_dir = a, .fixture = DEMO_FIXTURE, .inputs = inputs,
                        .input_count = 1};
    faulty_lmdb_fail_at(syncs, FAULTY_LMDB_MASK(FAULTY_LMDB_ENV_SYNC), EIO, false);
    replay_result *result = replay(&args);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "the final sync failed") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.requests, 1), "the lines were replayed");
    result_free(result);
}

Test(cov_replay_run, a_log_record_that_fails_to_apply_stops_the_replay)
{
    char original[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    char probe[TEMPDIR_PATH_BYTES];
    tempdir_join(original, dir, "original");
    tempdir_join(wal, original, "wal");
    tempdir_join(replayed, dir, "replayed");
    tempdir_join(probe, dir, "probe");
    build_db(original);
    faulty_lmdb_count(FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT));
    {
        replay_args args = {.data_dir = probe, .fixture = CRASH_FIXTURE};
        replay_result *result = replay(&args);
        cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
        result_free(result);
    }
    uint64_t commits = faulty_lmdb_calls();
    const char *inputs[] = {wal};
    replay_args args = {.data_dir = replayed, .fixture = CRASH_FIXTURE, .inputs = inputs,
                        .input_count = 1, .from_wal = true};
    /* the third record's batch */
    faulty_lmdb_fail_at(commits + 3, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_COMMIT), EIO, false);
    replay_result *result = replay(&args);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    cr_expect(eq(int, result->err, BILLORD_E_IO));
    cr_expect(strstr(result->error_text, "applying record 3 failed") != NULL, "%s",
              result->error_text);
    cr_expect(eq(u64, result->stats.wal_records, 2));
    result_free(result);
}
