/*
 * replay_fixture.c: the shared set-up and helpers of the replay, digest and verify suites
 * (replay_fixture.h).
 */
#include "support/replay_fixture.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/fixture.h>
#include <billord/wal.h>

#include "store/codec.h"

char replay_dir[TEMPDIR_PATH_BYTES];
char replay_data[TEMPDIR_PATH_BYTES];

void replay_fixture_setup(void)
{
    tempdir_make(replay_dir);
    tempdir_join(replay_data, replay_dir, "data");
}

void replay_fixture_teardown(void)
{
    tempdir_remove(replay_dir);
}

/* ---- replays ----------------------------------------------------------------------------- */

replay_result *replay_run(const replay_args *args)
{
    replay_result *result = calloc(1, sizeof *result);
    cr_assert(result != NULL);
    char fixture_path[TEMPDIR_PATH_BYTES];
    if (args->fixture != NULL) {
        tempdir_source_path(fixture_path, args->fixture);
    }
    FILE *record = args->record;
    if (args->record_path != NULL) {
        record = fopen(args->record_path, "w");
        cr_assert(record != NULL, "%s", args->record_path);
    }
    size_t out_bytes = 0, err_bytes = 0;
    FILE *out = open_memstream(&result->out, &out_bytes);
    FILE *err = open_memstream(&result->err_text, &err_bytes);
    cr_assert(out != NULL && err != NULL);
    bool one_input = args->input != NULL;
    billord_replay_options options = {
        .data_dir = args->data_dir,
        .fixtures_path = args->fixture != NULL ? fixture_path : NULL,
        .map_bytes = args->map_bytes != 0 ? args->map_bytes : REPLAY_MAP_BYTES,
        .expect = args->expect,
        .strict = args->strict,
        .from_wal = args->from_wal,
        .inputs = one_input ? &args->input : args->inputs,
        .input_count = one_input ? 1 : args->input_count,
        .out = out,
        .err = err,
        .record = record,
        .progress = args->progress};
    result->err = billord_replay_run(&options, &result->stats, result->error_text,
                                     sizeof result->error_text);
    fclose(out);
    fclose(err);
    if (args->record_path != NULL) {
        fclose(record);
    }
    return result;
}

replay_result *replay_run_ok(const replay_args *args)
{
    replay_result *result = replay_run(args);
    cr_assert(eq(int, result->err, BILLORD_OK), "%s", result->error_text);
    return result;
}

void replay_result_free(replay_result *result)
{
    free(result->out);
    free(result->err_text);
    free(result);
}

void replay_expect_line_refused(const char *text, billord_err code, const char *part)
{
    billord_replay_line line;
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    cr_expect(eq(int, billord_replay_line_parse(text, strlen(text), &line, error_text,
                                                sizeof error_text),
                 code), "%.100s", text);
    cr_expect(strstr(error_text, part) != NULL, "'%s' lacks '%s'", error_text, part);
    cr_expect(line.root == NULL && line.account == NULL, "a refused line is zeroed: %.100s", text);
}

void replay_seed_only(const char *data_dir, const char *fixture)
{
    replay_result_free(replay_run_ok(&(replay_args){.data_dir = data_dir, .fixture = fixture}));
}

uint64_t replay_count_of(const billord_replay_stats *stats, const char *action,
                         billord_api_code code)
{
    for (size_t i = 0; i < stats->count_entries; i++) {
        if (strcmp(stats->counts[i].action, action) == 0 && stats->counts[i].code == code) {
            return stats->counts[i].count;
        }
    }
    return 0;
}

void replay_digest_of(const char *data_dir, char hex[BILLORD_DIGEST_HEX_BYTES + 1])
{
    char error_text[BILLORD_REPLAY_ERROR_BYTES];
    billord_err err = billord_replay_digest(data_dir, hex, NULL, error_text, sizeof error_text);
    cr_assert(eq(int, err, BILLORD_OK), "digest %s: %s", data_dir, error_text);
}

void replay_assert_same_digest(const char *data_dir_a, const char *data_dir_b, const char *why)
{
    char digest_a[BILLORD_DIGEST_HEX_BYTES + 1], digest_b[BILLORD_DIGEST_HEX_BYTES + 1];
    replay_digest_of(data_dir_a, digest_a);
    replay_digest_of(data_dir_b, digest_b);
    cr_assert(eq(str, digest_a, digest_b), "%s (%s, %s)", why, data_dir_a, data_dir_b);
}

void replay_write_text(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL, "%s", path);
    fputs(text, file);
    fclose(file);
}

size_t replay_count_lines(const char *text)
{
    size_t lines = 0;
    for (const char *p = text; *p != '\0'; p++) {
        lines += *p == '\n';
    }
    return lines;
}

void replay_quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* ---- seeded data directories ----------------------------------------------------------- */

static void parse_fixture(const char *fixture_path, billord_fixture *fixture)
{
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    cr_assert(eq(int, billord_fixture_parse_file(fixture_path, fixture, error_text,
                                                 sizeof error_text),
                 BILLORD_OK), "%s: %s", fixture_path, error_text);
}

billord_engine *replay_engine_seeded(const char *data_dir, const char *fixture_path)
{
    billord_fixture fixture;
    parse_fixture(fixture_path, &fixture);
    billord_engine_config config = {.data_dir = data_dir, .map_bytes = REPLAY_MAP_BYTES};
    billord_engine *engine = NULL;
    cr_assert(eq(int, billord_engine_open(&config, &engine), BILLORD_OK), "%s", data_dir);
    cr_assert(eq(int, billord_engine_seed(engine, &fixture), BILLORD_OK));
    billord_fixture_free(&fixture);
    return engine;
}

billord_db *replay_db_seeded(const char *data_dir, const char *archive_dir, uint64_t segment_bytes,
                             uint64_t map_bytes)
{
    char fixture_path[TEMPDIR_PATH_BYTES];
    tempdir_source_path(fixture_path, REPLAY_DEMO_FIXTURE);
    mkdir(data_dir, 0755);
    if (archive_dir != NULL) {
        mkdir(archive_dir, 0755);
    }
    billord_db_config config = {.data_dir = data_dir,
                                .map_bytes = map_bytes,
                                .wal_segment_bytes = segment_bytes,
                                .archive_dir = archive_dir,
                                .log_line = replay_quiet};
    billord_db *db = NULL;
    cr_assert(eq(int, billord_db_open(&config, &db, NULL), BILLORD_OK), "%s", data_dir);
    billord_fixture fixture;
    parse_fixture(fixture_path, &fixture);
    cr_assert(eq(int, billord_db_seed(db, &fixture), BILLORD_OK));
    billord_fixture_free(&fixture);
    return db;
}

void replay_renewal_init(replay_renewal *renewal, const char *account, const char *instance,
                         const char *unit, const char *token, uint32_t n)
{
    snprintf(renewal->token, sizeof renewal->token, "%s", token);
    renewal->params[0] = (billord_param){"InstanceId", instance};
    renewal->params[1] = (billord_param){"Period", "1"};
    renewal->params[2] = (billord_param){"ClientToken", renewal->token};
    renewal->params[3] = (billord_param){"PeriodUnit", unit};
    renewal->command = (billord_command){.kind = BILLORD_COMMAND_REQUEST,
                                         .now_ms = REPLAY_CLOCK_MS + n,
                                         .account = account,
                                         .action = "RenewInstance",
                                         .param_count = unit != NULL ? 4 : 3,
                                         .params = renewal->params};
    snprintf(renewal->command.request_id, sizeof renewal->command.request_id,
             "0D000000-0000-4000-8000-%012u", n);
}

void replay_make_db(const char *data_dir, uint32_t renewals, uint64_t segment_bytes)
{
    billord_db *db = replay_db_seeded(data_dir, NULL, segment_bytes, REPLAY_MAP_BYTES);
    for (uint32_t i = 0; i < renewals; i++) {
        char token[32];
        snprintf(token, sizeof token, "log-%u", i);
        replay_renewal renewal;
        replay_renewal_init(&renewal, REPLAY_MAIN_ACCOUNT, "i-acc0001", "Week", token, i);
        billord_outcome outcome;
        billord_db_execute(db, &renewal.command, &outcome);
        cr_assert(eq(int, outcome.code, BILLORD_API_OK), "%s", outcome.message);
    }
    billord_db_close(db);
}

/* ---- a log -------------------------------------------------------------------------------- */

replay_last_record replay_find_last_record(const char *wal_dir)
{
    replay_last_record last = {0};
    billord_wal_reader *reader = NULL;
    cr_assert(eq(int, billord_wal_reader_open(wal_dir, NULL, &reader), BILLORD_OK), "%s",
              wal_dir);
    billord_wal_record record;
    while (billord_wal_reader_next(reader, &record) == BILLORD_OK) {
        snprintf(last.segment, sizeof last.segment, "%s", record.segment_path);
        last.offset = record.offset_bytes;
        last.end = record.offset_bytes + BILLORD_WAL_RECORD_HEADER_BYTES + record.payload_bytes;
        last.lsn = record.lsn;
        last.records++;
    }
    billord_wal_reader_close(reader);
    cr_assert(last.records > 0 && last.lsn > 0, "%s holds no record", wal_dir);
    return last;
}

void replay_tear_tail(const replay_last_record *last)
{
    int fd = open(last->segment, O_WRONLY);
    cr_assert(fd >= 0, "%s", last->segment);
    static const uint8_t partial[7] = {0x10, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00};
    cr_assert(eq(sz, (size_t)pwrite(fd, partial, sizeof partial, (off_t)last->end),
                 sizeof partial));
    close(fd);
}

void replay_flip_first_record_byte(const char *wal_dir)
{
    char segment[TEMPDIR_PATH_BYTES];
    tempdir_join(segment, wal_dir, "00000000000000000001.seg");
    FILE *file = fopen(segment, "r+b");
    cr_assert(file != NULL, "%s", segment);
    /* past the segment header (64 bytes) and the record header (20) */
    const long offset = 64 + 20 + 10;
    fseek(file, offset, SEEK_SET);
    int byte = fgetc(file);
    fseek(file, offset, SEEK_SET);
    fputc(byte ^ 0x40, file);
    fclose(file);
}

uint64_t replay_append_not_a_batch(const char *wal_dir)
{
    billord_wal_config config = {.dir_path = wal_dir, .preparer_inline = true};
    billord_wal *log = NULL;
    billord_wal_recovery info;
    cr_assert(eq(int, billord_wal_open(&config, &log, &info), BILLORD_OK), "%s", wal_dir);
    static const uint8_t not_batch[] = {0x93, 0x01, 0xc1};   /* msgpack's never-used byte */
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_wal_append(log, not_batch, sizeof not_batch, &lsn), BILLORD_OK));
    cr_assert(eq(int, billord_wal_sync(log), BILLORD_OK));
    billord_wal_close(log);
    return lsn;
}

/* ---- verify ------------------------------------------------------------------------------- */

void replay_found_add(void *ctx, const char *text)
{
    replay_found *found = ctx;
    found->count++;
    size_t used = strlen(found->text);
    snprintf(found->text + used, sizeof found->text - used, "%s\n", text);
}

replay_found *replay_verify(const char *data_dir, const char *archive_dir,
                            billord_verify_report *report)
{
    replay_found *found = calloc(1, sizeof *found);
    cr_assert(found != NULL);
    billord_verify_report local;
    billord_verify_report *r = report != NULL ? report : &local;
    cr_assert(eq(int, billord_verify(data_dir, archive_dir, replay_found_add, found, r),
                 BILLORD_OK));
    cr_assert(eq(u64, r->problems, found->count));
    return found;
}

bool replay_found_first_has(const replay_found *found, const char *text)
{
    const char *at = strstr(found->text, text);
    const char *first_end = strchr(found->text, '\n');
    return at != NULL && first_end != NULL && at < first_end;
}

/* ---- raw LMDB writes ------------------------------------------------------------------- */

void raw_open(raw_store *r, const char *data_dir)
{
    char state[TEMPDIR_PATH_BYTES];
    tempdir_join(state, data_dir, "state");
    cr_assert(eq(int, mdb_env_create(&r->env), 0));
    mdb_env_set_maxdbs(r->env, BILLORD_DB_COUNT);
    mdb_env_set_mapsize(r->env, REPLAY_MAP_BYTES);
    cr_assert(eq(int, mdb_env_open(r->env, state, 0, 0644), 0), "%s", state);
    cr_assert(eq(int, mdb_txn_begin(r->env, NULL, 0, &r->txn), 0));
    for (unsigned db = 0; db < BILLORD_DB_COUNT; db++) {
        cr_assert(eq(int, mdb_dbi_open(r->txn, billord__store_db_name((billord_db_id)db),
                                       MDB_CREATE, &r->dbis[db]),
                     0));
    }
    msgpack_sbuffer_init(&r->buffer);
}

void raw_commit(raw_store *r)
{
    cr_assert(eq(int, mdb_txn_commit(r->txn), 0));
    mdb_env_close(r->env);
    msgpack_sbuffer_destroy(&r->buffer);
}

void raw_put(raw_store *r, billord_db_id db, const void *key, size_t key_bytes, const void *value,
             size_t value_bytes)
{
    MDB_val k = {key_bytes, (void *)key}, v = {value_bytes, (void *)value};
    cr_assert(eq(int, mdb_put(r->txn, r->dbis[db], &k, &v, 0), 0));
}

void raw_put_encoded(raw_store *r, billord_db_id db, const void *key, size_t key_bytes)
{
    raw_put(r, db, key, key_bytes, r->buffer.data, r->buffer.size);
}

void raw_get(raw_store *r, billord_db_id db, const void *key, size_t key_bytes, MDB_val *out)
{
    MDB_val k = {key_bytes, (void *)key};
    cr_assert(eq(int, mdb_get(r->txn, r->dbis[db], &k, out), 0), "%s", billord__store_db_name(db));
}

billord_account raw_account(raw_store *r, const char *id)
{
    MDB_val v;
    raw_get(r, BILLORD_DB_ACCOUNTS, id, strlen(id), &v);
    billord_account account;
    cr_assert(eq(int, billord__decode_account(v.mv_data, v.mv_size, id, &account), BILLORD_OK));
    return account;
}

void raw_put_account(raw_store *r, const billord_account *account)
{
    billord__encode_account(&r->buffer, account);
    raw_put_encoded(r, BILLORD_DB_ACCOUNTS, account->id, strlen(account->id));
}
