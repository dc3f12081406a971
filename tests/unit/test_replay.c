/*
 * test_replay.c: replay of request logs and log segments, the digest, verify (billord/replay.h).
 *
 * Method: generated logs of mixed requests (every write action, parameter errors, unknown
 * actions, replays and mismatches of tokens, reads) replayed in-process into fresh data
 * directories seeded from fixtures/demo.json; a real server recording its request log; a
 * billord_db whose log (with an archive) is replayed; faults planted with raw LMDB writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/db.h>
#include <billord/replay.h>
#include <billord/server.h>

#include "store/store.h"
#include "support/http_client.h"
#include "support/replay_fixture.h"

#define DEMO_CLOCK_MS REPLAY_CLOCK_MS
#define GENERATED_LINES 6000u
#define TOKENS_KEPT 256u
#define MAP_BYTES (256ULL << 20)            /* room for the generated logs */

TestSuite(replay, .init = replay_fixture_setup, .fini = replay_fixture_teardown, .timeout = 300);

/* ---- a generated log -------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
    /* xorshift64*: deterministic, so every run generates the same log. */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static const char *const ecs_instances[] = {"i-acc0001", "i-acc0002", "i-acc0003", "i-acc0004",
                                            "i-acc0005", "i-acc0006", "i-acc0007", "i-acc0008",
                                            "i-acc0009", "i-missing"};
static const char *const rds_instances[] = {"rm-acc0001", "rm-acc0002", "rm-acc0003",
                                            "rm-acc0004", "rm-acc0005"};
static const char *const other_accounts[][2] = {{"2000000000000002", "i-nopay0001"},
                                                {"3000000000000003", "i-poor0001"},
                                                {"4000000000000004", "i-broke0001"}};

#define PICK(array, rng) (array)[rng_next(rng) % (sizeof(array) / sizeof((array)[0]))]

typedef struct generator {
    uint64_t rng;
    uint64_t line;
    char tokens[TOKENS_KEPT][80];   /* params JSON of earlier tokened renewals, for replays */
    uint32_t token_count;
} generator;

/* One line's JSON text (action and params) into out. */
static void generate_request(generator *g, char *out, size_t out_bytes)
{
    const char *main_account = "1234567890123456";
    uint64_t roll = rng_next(&g->rng) % 100;
    uint64_t n = g->line;
    if (roll < 28) {
        char params[80];
        snprintf(params, sizeof params,
                 "{\"InstanceId\":\"%s\",\"Period\":\"%d\",\"ClientToken\":\"t-%llu\"}",
                 PICK(ecs_instances, &g->rng), 1 + (int)(rng_next(&g->rng) % 3),
                 (unsigned long long)n);
        snprintf(g->tokens[g->token_count++ % TOKENS_KEPT], sizeof g->tokens[0], "%s", params);
        snprintf(out, out_bytes, "\"account\":\"%s\",\"action\":\"RenewInstance\",\"params\":%s",
                 main_account, params);
    } else if (roll < 40 && g->token_count > 0) {
        /* a replay of an earlier token (sometimes the line right before: same batch) */
        uint32_t back = roll < 34 ? 1 : 1 + (uint32_t)(rng_next(&g->rng) % 40);
        uint32_t index = g->token_count >= back ? g->token_count - back : 0;
        snprintf(out, out_bytes, "\"account\":\"%s\",\"action\":\"RenewInstance\",\"params\":%s",
                 main_account, g->tokens[index % TOKENS_KEPT]);
    } else if (roll < 44 && g->token_count > 0) {
        /* a mismatch: an earlier token with another Period */
        const char *earlier = g->tokens[(g->token_count - 1) % TOKENS_KEPT];
        const char *token = strstr(earlier, "\"ClientToken\":");
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"RenewInstance\",\"params\":"
                 "{\"InstanceId\":\"i-acc0001\",\"Period\":\"7\",%.*s",
                 main_account, (int)strlen(token), token);
    } else if (roll < 50) {
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"RenewInstance\",\"params\":"
                 "{\"InstanceId\":\"%s\",\"Period\":\"1\",\"PeriodUnit\":\"Week\"}",
                 main_account, PICK(ecs_instances, &g->rng));
    } else if (roll < 55) {
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"ModifyInstanceAutoRenewAttribute\",\"params\":"
                 "{\"InstanceId\":\"%s,i-acc0002\",\"RegionId\":\"cn-hangzhou\",\"AutoRenew\":"
                 "\"%s\",\"Duration\":\"%d\"}",
                 main_account, PICK(ecs_instances, &g->rng), roll % 2 ? "true" : "false",
                 roll % 3 ? 1 : 5);
    } else if (roll < 60) {
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"ModifyDBInstancePayType\",\"params\":"
                 "{\"DBInstanceId\":\"%s\",\"PayType\":\"Prepaid\",\"Period\":\"Month\","
                 "\"UsedTime\":\"1\",\"ClientToken\":\"p-%llu\"}",
                 main_account, PICK(rds_instances, &g->rng), (unsigned long long)(n % 500));
    } else if (roll < 66) {
        unsigned long long order = roll % 2 ? 205395023430728ULL
                                            : 200000000000001ULL + rng_next(&g->rng) % 400;
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"%s\",\"params\":{\"OrderId\":\"%llu\","
                 "\"ClientToken\":\"o-%llu\"}",
                 main_account, roll % 3 ? "PayOrder" : "CancelOrder", order,
                 (unsigned long long)n);
    } else if (roll < 71) {
        static const char *const bad[] = {"{\"InstanceId\":\"i-acc0001\",\"Period\":\"01\"}",
                                          "{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\","
                                          "\"PeriodUnit\":\"Day\"}",
                                          "{\"Period\":\"1\"}",
                                          "{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\","
                                          "\"ClientToken\":\"\"}"};
        snprintf(out, out_bytes, "\"account\":\"%s\",\"action\":\"RenewInstance\",\"params\":%s",
                 main_account, PICK(bad, &g->rng));
    } else if (roll < 73) {
        snprintf(out, out_bytes, "\"account\":\"%s\",\"action\":\"FooBar\",\"params\":{}",
                 main_account);
    } else if (roll < 80) {
        const char *const *other = PICK(other_accounts, &g->rng);
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"RenewInstance\",\"params\":"
                 "{\"InstanceId\":\"%s\",\"Period\":\"1\",\"ClientToken\":\"x-%llu\"}",
                 other[0], other[1], (unsigned long long)n);
    } else if (roll < 90) {
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"DescribeOrders\",\"params\":{\"PageSize\":"
                 "\"5\",\"PageNumber\":\"%d\"}",
                 main_account, 1 + (int)(roll % 3));
    } else {
        snprintf(out, out_bytes,
                 "\"account\":\"%s\",\"action\":\"DescribeInstanceAutoRenewAttribute\","
                 "\"params\":{\"InstanceId\":\"i-acc0001,i-acc0005\",\"RegionId\":\"cn-hangzhou\"}",
                 main_account);
    }
}

static void generate_log(const char *path, uint32_t line_count, uint64_t seed)
{
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL);
    generator *g = calloc(1, sizeof *g);
    g->rng = seed;
    for (uint32_t i = 0; i < line_count; i++) {
        g->line = i;
        char request[512];
        generate_request(g, request, sizeof request);
        int64_t ts_ms = DEMO_CLOCK_MS + (int64_t)i * 1000;
        if (i % 2 == 0) {
            fprintf(file, "{\"ts_ms\":%lld,%s,\"request_id\":\"00000000-0000-4000-8000-%012X\"}\n",
                    (long long)ts_ms, request, i);
        } else {
            fprintf(file, "{\"ts_ms\":%lld,%s}\n", (long long)ts_ms, request);
        }
        if (i % 500 == 7) {
            fprintf(file, "{\"ts_ms\":%lld,\"account\":\"\",\"action\":\"\",\"params\":{}}\n",
                    (long long)ts_ms);
        }
    }
    free(g);
    fclose(file);
}

/* ---- determinism ---------------------------------------------------------------------------- */

/* Replay a log with its recorded responses compared (--expect) into DIR/data_name, seeded from
 * the demo fixture; the replay succeeds. */
static replay_result *replay_expecting(const char *log, const char *data_name)
{
    char data_dir[TEMPDIR_PATH_BYTES];
    tempdir_join(data_dir, replay_dir, data_name);
    return replay_run_ok(&(replay_args){.data_dir = data_dir, .fixture = REPLAY_DEMO_FIXTURE,
                                        .input = log, .expect = true, .map_bytes = MAP_BYTES});
}

Test(replay, one_log_into_two_directories_is_byte_identical)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES], b[TEMPDIR_PATH_BYTES];
    char record_a[TEMPDIR_PATH_BYTES], record_b[TEMPDIR_PATH_BYTES];
    tempdir_join(log, replay_dir, "mixed.ndjson");
    tempdir_join(a, replay_dir, "a");
    tempdir_join(b, replay_dir, "b");
    tempdir_join(record_a, replay_dir, "a.ndjson");
    tempdir_join(record_b, replay_dir, "b.ndjson");
    generate_log(log, GENERATED_LINES, 0x9E3779B97F4A7C15ULL);
    replay_args args = {.data_dir = a, .fixture = REPLAY_DEMO_FIXTURE, .input = log,
                        .map_bytes = MAP_BYTES, .record_path = record_a};
    replay_result *first = replay_run_ok(&args);
    args.data_dir = b;
    args.record_path = record_b;
    replay_result_free(replay_run_ok(&args));
    cr_assert(eq(u64, first->stats.lines, GENERATED_LINES + GENERATED_LINES / 500));
    cr_assert(eq(u64, first->stats.skipped[BILLORD_REPLAY_SKIP_UNAUTHENTICATED],
                 GENERATED_LINES / 500));
    cr_assert(eq(u64, first->stats.requests, GENERATED_LINES));
    /* the mix covers what it claims */
    const billord_replay_stats *stats = &first->stats;
    cr_expect(replay_count_of(stats, "RenewInstance", BILLORD_API_OK) > 0);
    cr_expect(replay_count_of(stats, "RenewInstance", BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH) > 0);
    cr_expect(replay_count_of(stats, "RenewInstance", BILLORD_API_INVALID_PERIOD) > 0);
    cr_expect(replay_count_of(stats, "FooBar", BILLORD_API_ACTION_NOT_FOUND) > 0);
    cr_expect(replay_count_of(stats, "ModifyDBInstancePayType", BILLORD_API_OK) > 0);
    cr_expect(replay_count_of(stats, "DescribeOrders", BILLORD_API_OK) > 0);
    cr_expect(eq(u64, replay_count_of(stats, "RenewInstance", BILLORD_API_LAST_TOKEN_PROCESSING),
                 0),
              "a repeated token never shares a batch with its first use");
    replay_result_free(first);
    size_t bytes_a = 0, bytes_b = 0;
    char *text_a = tempdir_read_file(record_a, &bytes_a);
    char *text_b = tempdir_read_file(record_b, &bytes_b);
    cr_assert(text_a != NULL && text_b != NULL);
    cr_assert(eq(sz, bytes_a, bytes_b));
    cr_assert(memcmp(text_a, text_b, bytes_a) == 0, "the replayed responses are byte-identical");
    free(text_a);
    free(text_b);
    replay_assert_same_digest(a, b, "one log, one state");
    /* the recorded responses replay with --expect into a third directory without a difference */
    replay_result *third = replay_expecting(record_a, "c");
    cr_assert(eq(u64, third->stats.compared, GENERATED_LINES));
    cr_assert(eq(u64, third->stats.divergences, 0));
    replay_result_free(third);
}

Test(replay, a_divergence_is_found_and_counted)
{
    char log[TEMPDIR_PATH_BYTES];
    tempdir_join(log, replay_dir, "wrong.ndjson");
    /* the recorded OrderId is not the one the engine gives */
    replay_write_text(log, "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" REPLAY_MAIN_ACCOUNT
                           "\",\"action\":\"RenewInstance\",\"params\":{\"InstanceId\":"
                           "\"i-acc0001\",\"Period\":\"1\"},\"response\":{\"status\":200,"
                           "\"body\":{\"RequestId\":\"11111111-1111-4111-8111-111111111111\","
                           "\"OrderId\":1}},\"request_id\":"
                           "\"11111111-1111-4111-8111-111111111111\"}\n");
    replay_result *result = replay_expecting(log, "a");
    cr_assert(eq(u64, result->stats.divergences, 1));
    replay_result_free(result);
}

/* The demo fixture with every list reversed: the same content in another order. */
static void write_reversed_fixture(const char *path)
{
    char source[TEMPDIR_PATH_BYTES];
    tempdir_source_path(source, "fixtures/demo.json");
    json_t *root = json_load_file(source, 0, NULL);
    cr_assert(root != NULL);
    const char *lists[] = {"prices", "accounts", "instances", "orders"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        json_t *list = json_object_get(root, lists[l]);
        json_t *reversed = json_array();
        for (size_t i = json_array_size(list); i > 0; i--) {
            json_array_append(reversed, json_array_get(list, i - 1));
        }
        json_object_set_new(root, lists[l], reversed);
    }
    cr_assert(json_dump_file(root, path, JSON_INDENT(1)) == 0);
    json_decref(root);
}

Test(replay, digest_ignores_reopening_and_fixture_order)
{
    char a[TEMPDIR_PATH_BYTES], b[TEMPDIR_PATH_BYTES], reversed[TEMPDIR_PATH_BYTES];
    char demo[TEMPDIR_PATH_BYTES];
    tempdir_join(a, replay_dir, "a");
    tempdir_join(b, replay_dir, "b");
    tempdir_join(reversed, replay_dir, "reversed.json");
    tempdir_source_path(demo, REPLAY_DEMO_FIXTURE);
    write_reversed_fixture(reversed);
    billord_engine_close(replay_engine_seeded(a, demo));
    billord_engine_close(replay_engine_seeded(b, reversed));
    char digest_a[BILLORD_DIGEST_HEX_BYTES + 1], digest_b[BILLORD_DIGEST_HEX_BYTES + 1];
    char digest_again[BILLORD_DIGEST_HEX_BYTES + 1];
    replay_digest_of(a, digest_a);
    replay_digest_of(b, digest_b);
    cr_assert(eq(str, digest_a, digest_b), "same content, another order");
    billord_engine_config config = {.data_dir = a};
    billord_engine *engine = NULL;
    cr_assert(billord_engine_open(&config, &engine) == BILLORD_OK);
    billord_engine_close(engine);
    replay_digest_of(a, digest_again);
    cr_assert(eq(str, digest_a, digest_again), "reopening changes nothing");
    cr_assert(eq(sz, strlen(digest_a), BILLORD_DIGEST_HEX_BYTES));
    /* and a change of state changes it */
    char log[TEMPDIR_PATH_BYTES];
    tempdir_join(log, replay_dir, "one.ndjson");
    replay_write_text(log, "{\"ts_ms\":" REPLAY_CLOCK_MS_TEXT ",\"account\":\"" REPLAY_MAIN_ACCOUNT
                           "\",\"action\":\"RenewInstance\",\"params\":{\"InstanceId\":"
                           "\"i-acc0001\",\"Period\":\"1\"}}\n");
    replay_result_free(replay_run_ok(&(replay_args){.data_dir = a, .input = log,
                                                    .map_bytes = MAP_BYTES}));
    replay_digest_of(a, digest_again);
    cr_assert(ne(str, digest_a, digest_again));
}

/* ---- record with a server, replay with --expect ---------------------------------------------- */

static void call(uint16_t port, const v1_options *options, const char *first_name, ...)
{
    /* up to 8 pairs, passed on to the signed request builder */
    va_list args;
    va_start(args, first_name);
    const char *pairs[16] = {first_name};
    size_t count = 1;
    while (count < 16 && (pairs[count] = va_arg(args, const char *)) != NULL) {
        count++;
    }
    va_end(args);
    size_t bytes = 0;
    char *raw = http_v1_request(options, &bytes, pairs[0], pairs[1], pairs[2], pairs[3], pairs[4],
                                pairs[5], pairs[6], pairs[7], pairs[8], pairs[9], pairs[10],
                                pairs[11], pairs[12], pairs[13], NULL);
    http_response response;
    cr_assert(http_roundtrip(port, raw, bytes, &response));
    cr_assert(response.status != 0);
    http_response_free(&response);
    free(raw);
}

Test(replay, a_recorded_server_log_replays_without_divergence)
{
    char data[TEMPDIR_PATH_BYTES], log[TEMPDIR_PATH_BYTES], fixture[TEMPDIR_PATH_BYTES];
    tempdir_join(data, replay_dir, "server");
    tempdir_join(log, replay_dir, "requests.ndjson");
    tempdir_source_path(fixture, REPLAY_DEMO_FIXTURE);
    billord_server_config config = {.data_dir = data,
                                    .listen_host = "127.0.0.1",
                                    .fixtures_path = fixture,
                                    .auth = BILLORD_SERVER_AUTH_SIGNATURE,
                                    .clock = BILLORD_SERVER_CLOCK_MANUAL,
                                    .request_log_path = log,
                                    .log_line = replay_quiet};
    billord_server *server = NULL;
    char error_text[1024];
    cr_assert(billord_server_start(&config, &server, error_text, sizeof error_text) == BILLORD_OK,
              "%s", error_text);
    uint16_t port = billord_server_port(server);
    v1_options plain = {0};
    v1_options xml = {.format = "XML"};
    v1_options form = {.method = "POST", .form = true};
    v1_options bad = {.corrupt_signature = true};
    call(port, &plain, "Action", "RenewInstance", "InstanceId", "i-acc0001", "Period", "1",
         "ClientToken", "rec-1", NULL);
    call(port, &plain, "Action", "RenewInstance", "InstanceId", "i-acc0001", "Period", "1",
         "ClientToken", "rec-1", NULL);
    call(port, &xml, "Action", "RenewInstance", "InstanceId", "i-acc0001", "Period", "2",
         "ClientToken", "rec-1", NULL);
    call(port, &form, "Action", "RenewInstance", "InstanceId", "i-acc0003", "Period", "3",
         "PeriodUnit", "Week", NULL);
    call(port, &plain, "Action", "RenewInstance", "InstanceId", "i-acc0006", "Period", "1", NULL);
    call(port, &plain, "Action", "RenewInstance", "InstanceId", "i-acc0001", "Period", "01", NULL);
    call(port, &plain, "Action", "ModifyInstanceAutoRenewAttribute", "InstanceId",
         "i-acc0001,i-acc0005", "RegionId", "cn-hangzhou", "AutoRenew", "true", NULL);
    call(port, &plain, "Action", "ModifyDBInstancePayType", "DBInstanceId", "rm-acc0001",
         "PayType", "Prepaid", "Period", "Month", "ClientToken", "rds-1", NULL);
    call(port, &plain, "Action", "PayOrder", "OrderId", "205395023430728", NULL);
    call(port, &plain, "Action", "CancelOrder", "OrderId", "205395023430728", NULL);
    call(port, &plain, "Action", "DescribeOrders", "PageSize", "20", NULL);
    call(port, &plain, "Action", "DescribeInstanceAutoRenewAttribute", "InstanceId",
         "i-acc0001", "RegionId", "cn-hangzhou", NULL);
    call(port, &plain, "Action", "NoSuchAction", NULL);
    call(port, &bad, "Action", "RenewInstance", "InstanceId", "i-acc0001", "Period", "1", NULL);
    billord_server_stop(server);

    replay_result *result = replay_expecting(log, "replayed");
    cr_assert(eq(u64, result->stats.lines, 14));
    cr_assert(eq(u64, result->stats.divergences, 0));
    cr_assert(eq(u64, result->stats.compared, 12), "all but the two refused before the engine");
    replay_result_free(result);
    char replayed[TEMPDIR_PATH_BYTES];
    tempdir_join(replayed, replay_dir, "replayed");
    replay_assert_same_digest(data, replayed, "the server's state, replayed");
}

/* ---- the log of a billord_db ----------------------------------------------------------------- */

/* A durable db on data_dir archiving to archive_dir, with `batches` batches of renewals. */
static void build_db_dir(const char *data_dir, const char *archive_dir, uint32_t batches)
{
    billord_db *db = replay_db_seeded(data_dir, archive_dir, 64u * 1024u, MAP_BYTES);
    enum { PER_BATCH = 4 };
    for (uint32_t b = 0; b < batches; b++) {
        char tokens[PER_BATCH][32];
        billord_param params[PER_BATCH][3];
        billord_command commands[PER_BATCH];
        billord_outcome outcomes[PER_BATCH];
        for (int i = 0; i < PER_BATCH; i++) {
            snprintf(tokens[i], sizeof tokens[i], "w-%u-%d", b % 300, i);
            params[i][0] = (billord_param){"InstanceId", ecs_instances[(b + (uint32_t)i) % 9]};
            params[i][1] = (billord_param){"Period", "1"};
            params[i][2] = (billord_param){"ClientToken", tokens[i]};
            commands[i] = (billord_command){.kind = BILLORD_COMMAND_REQUEST,
                                            .now_ms = DEMO_CLOCK_MS + (int64_t)b * 60000,
                                            .account = "1234567890123456",
                                            .action = "RenewInstance",
                                            .param_count = 3,
                                            .params = params[i]};
            snprintf(commands[i].request_id, sizeof commands[i].request_id,
                     "00000000-0000-4000-8000-%012X", b * PER_BATCH + (uint32_t)i);
        }
        billord_db_execute_many(db, commands, PER_BATCH, outcomes);
    }
    billord_db_close(db);
}

/* DATA, a durable db of `batches` batches with its archive at DIR/archive. */
static void build_data(char archive[TEMPDIR_PATH_BYTES], uint32_t batches)
{
    tempdir_join(archive, replay_dir, "archive");
    build_db_dir(replay_data, archive, batches);
}

Test(replay, the_log_of_a_db_replays_to_the_same_digest)
{
    char archive[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES], replayed[TEMPDIR_PATH_BYTES];
    build_data(archive, 700);
    tempdir_join(wal, replay_data, "wal");
    tempdir_join(replayed, replay_dir, "replayed");
    const char *inputs[] = {archive, wal};
    replay_result *result = replay_run_ok(&(replay_args){.data_dir = replayed,
                                                         .fixture = REPLAY_DEMO_FIXTURE,
                                                         .inputs = inputs, .input_count = 2,
                                                         .from_wal = true,
                                                         .map_bytes = MAP_BYTES});
    cr_assert(result->stats.wal_records > 0);
    cr_assert(eq(u64, result->stats.wal_commands, 700u * 4u));
    replay_result_free(result);
    replay_assert_same_digest(replay_data, replayed, "the log replays to its state");
}

/* ---- verify -------------------------------------------------------------------------------- */

/* Verify DATA with its archive: problems, the first of them holding text. */
static void expect_first_problem(const char *archive, const char *text)
{
    replay_found *found = replay_verify(replay_data, archive, NULL);
    cr_assert(found->count > 0);
    cr_assert(replay_found_first_has(found, text), "%s", found->text);
    free(found);
}

/* An account_orders row of an order that does not exist. */
static void plant_orphan_index_row(void)
{
    raw_store r;
    raw_open(&r, replay_data);
    uint8_t key[64];
    size_t bytes = billord__key_pair(key, sizeof key, REPLAY_MAIN_ACCOUNT, "");
    billord__be64_put(key + bytes, 299999999999999ULL);
    raw_put(&r, BILLORD_DB_ACCOUNT_ORDERS, key, bytes + 8, "", 0);
    raw_commit(&r);
}

static void plant_money(void)
{
    raw_store r;
    raw_open(&r, replay_data);
    billord_account account = raw_account(&r, REPLAY_MAIN_ACCOUNT);
    account.balance_micros += 1;    /* one micro from nowhere */
    raw_put_account(&r, &account);
    raw_commit(&r);
}

Test(replay, verify_passes_a_healthy_directory_and_finds_planted_faults)
{
    char archive[TEMPDIR_PATH_BYTES];
    build_data(archive, 40);
    replay_found *found = replay_verify(replay_data, archive, NULL);
    cr_assert(eq(u64, found->count, 0), "healthy: %s", found->text);
    free(found);

    plant_orphan_index_row();
    expect_first_problem(archive, "account_orders");
}

Test(replay, verify_finds_money_that_does_not_add_up)
{
    char archive[TEMPDIR_PATH_BYTES];
    build_data(archive, 10);
    plant_money();
    expect_first_problem(archive, "money: account " REPLAY_MAIN_ACCOUNT);
}

Test(replay, verify_finds_a_flipped_byte_in_a_log_record)
{
    char archive[TEMPDIR_PATH_BYTES], wal[TEMPDIR_PATH_BYTES];
    build_data(archive, 10);
    tempdir_join(wal, replay_data, "wal");
    /* a byte inside the first record's payload: records after it still verify */
    replay_flip_first_record_byte(wal);
    expect_first_problem(archive, "log:");
}

/* ---- bad lines --------------------------------------------------------------------------- */

Test(replay, malformed_lines_are_named_and_skipped)
{
    static const struct {
        const char *text;
        const char *error;
    } cases[] = {
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"RenewInstance\"", "not JSON"},
        {"[1,2]", "$: must be an object"},
        {"{\"account\":\"a\",\"action\":\"X\"}", "$.ts_ms: missing"},
        {"{\"ts_ms\":\"1\",\"account\":\"a\",\"action\":\"X\"}", "$.ts_ms"},
        {"{\"ts_ms\":-5,\"account\":\"a\",\"action\":\"X\"}", "$.ts_ms"},
        {"{\"ts_ms\":1,\"account\":7,\"action\":\"X\"}", "$.account: must be a string"},
        {"{\"ts_ms\":1,\"account\":\"a\"}", "$.action: missing"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":[]}", "$.params"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"params\":{\"Period\":1}}",
         "$.params.Period: must be a string"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"request_id\":\"abc\"}",
         "$.request_id"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":99,"
         "\"body\":{}}}",
         "$.response.status"},
        {"{\"ts_ms\":1,\"account\":\"a\",\"action\":\"X\",\"response\":{\"status\":200}}",
         "$.response.body"},
        {"{\"ts_ms\":1,\"ts_ms\":2,\"account\":\"a\",\"action\":\"X\"}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        replay_expect_line_refused(cases[i].text, BILLORD_E_INVALID_ARGUMENT, cases[i].error);
    }
    /* a huge line */
    size_t huge_bytes = BILLORD_REPLAY_LINE_BYTES_MAX + 10;
    char *huge = malloc(huge_bytes);
    memset(huge, ' ', huge_bytes);
    billord_replay_line line;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    cr_expect(billord_replay_line_parse(huge, huge_bytes, &line, error_text, sizeof error_text) ==
              BILLORD_E_TOO_LARGE);
    free(huge);
    /* and a good one */
    const char *good = "{\"ts_ms\":5,\"account\":\"a\",\"action\":\"RenewInstance\","
                       "\"params\":{\"Period\":\"1\"},\"request_id\":"
                       "\"0A000000-0000-4000-8000-000000000000\",\"extra\":true}";
    cr_assert(billord_replay_line_parse(good, strlen(good), &line, error_text,
                                        sizeof error_text) == BILLORD_OK, "%s", error_text);
    cr_assert(eq(i64, line.ts_ms, 5));
    cr_assert(eq(u32, line.param_count, 1));
    cr_assert(line.has_request_id && !line.has_response);
    billord_replay_line_free(&line);
}

Test(replay, a_log_with_bad_lines_replays_the_good_ones_and_strict_stops)
{
    char log[TEMPDIR_PATH_BYTES], a[TEMPDIR_PATH_BYTES], b[TEMPDIR_PATH_BYTES];
    tempdir_join(log, replay_dir, "bad.ndjson");
    tempdir_join(a, replay_dir, "a");
    tempdir_join(b, replay_dir, "b");
    FILE *file = fopen(log, "w");
    cr_assert(file != NULL);
    fprintf(file, "{\"ts_ms\":%lld,\"account\":\"1234567890123456\",\"action\":\"RenewInstance\","
                  "\"params\":{\"InstanceId\":\"i-acc0001\",\"Period\":\"1\"}}\n",
            DEMO_CLOCK_MS);
    fprintf(file, "{\"ts_ms\":1,\"account\":\"1234567890123456\",\"act\n");
    fprintf(file, "\n{\"ts_ms\":2,\"account\":\"1234567890123456\",\"action\":\"Nope\"}\n");
    for (int i = 0; i < 2 * (int)BILLORD_REPLAY_LINE_BYTES_MAX; i++) {
        fputc('x', file);
    }
    fprintf(file, "\n{\"ts_ms\":3,\"account\":\"1234567890123456\",\"action\":\"DescribeOrders\"}");
    fclose(file);
    replay_result *result = replay_run_ok(&(replay_args){.data_dir = a,
                                                         .fixture = REPLAY_DEMO_FIXTURE,
                                                         .input = log, .map_bytes = MAP_BYTES});
    cr_assert(eq(u64, result->stats.malformed, 2));
    cr_assert(eq(u64, result->stats.requests, 3));
    cr_assert(eq(u64, replay_count_of(&result->stats, "Nope", BILLORD_API_ACTION_NOT_FOUND), 1));
    replay_result_free(result);
    result = replay_run(&(replay_args){.data_dir = b, .strict = true, .input = log});
    cr_assert(result->err == BILLORD_E_INVALID_ARGUMENT);
    cr_assert(strstr(result->error_text, "bad.ndjson:2:") != NULL, "%s", result->error_text);
    replay_result_free(result);
}

Test(replay, derived_request_ids_are_stable_uuids)
{
    char first[BILLORD_REQUEST_ID_BYTES + 1], again[BILLORD_REQUEST_ID_BYTES + 1];
    char other[BILLORD_REQUEST_ID_BYTES + 1];
    billord_replay_request_id_derive(0, 17, first);
    billord_replay_request_id_derive(0, 17, again);
    billord_replay_request_id_derive(1, 17, other);
    cr_assert(eq(str, first, again));
    cr_assert(ne(str, first, other));
    cr_assert(eq(sz, strlen(first), BILLORD_REQUEST_ID_BYTES));
    cr_assert(first[8] == '-' && first[13] == '-' && first[18] == '-' && first[23] == '-');
    for (size_t i = 0; i < BILLORD_REQUEST_ID_BYTES; i++) {
        cr_assert(first[i] == '-' || (first[i] >= '0' && first[i] <= '9') ||
                  (first[i] >= 'A' && first[i] <= 'F'));
    }
}
