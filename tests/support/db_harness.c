/* db_harness.c: a durable billord_db on a throw-away directory (db_harness.h). */
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "db/snapshot.h"
#include "support/db_harness.h"

billord_fixture db_harness_fixture(const char *fixture_path)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_source_path(path, fixture_path);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    if (billord_fixture_parse_file(path, &fixture, error_text, sizeof error_text) != BILLORD_OK) {
        fprintf(stderr, "db_harness: %s: %s\n", path, error_text);
        abort();
    }
    return fixture;
}

void db_harness_seed(const char *dir, const char *fixture_path)
{
    billord_fixture fixture = db_harness_fixture(fixture_path);
    billord_db *db = db_harness_open(dir, NULL, NULL, NULL, NULL);
    billord_err err = billord_db_seed(db, &fixture);
    billord_fixture_free(&fixture);
    billord_db_close(db);
    if (err != BILLORD_OK) {
        fprintf(stderr, "db_harness: seed: %s\n", billord_err_message(err));
        abort();
    }
}

static void quiet_log(void *log_ctx, const char *line)
{
    (void)log_ctx;
    (void)line;
}

/* Open with config; aborts on failure unless out_err is given. */
static billord_db *open_config(const billord_db_config *config, billord_db_recovery *out_info,
                               billord_err *out_err)
{
    billord_db *db = NULL;
    billord_err err = billord_db_open(config, &db, out_info);
    if (out_err != NULL) {
        *out_err = err;
        return err == BILLORD_OK ? db : NULL;
    }
    if (err != BILLORD_OK) {
        fprintf(stderr, "db_harness: open %s: %s\n", config->data_dir, billord_err_message(err));
        abort();
    }
    return db;
}

billord_db *db_harness_open(const char *dir, const billord_fs *fs, const char *archive_dir,
                            billord_db_recovery *out_info, billord_err *out_err)
{
    billord_db_config config = {.data_dir = dir,
                                .map_bytes = 256ULL << 20,
                                .wal_segment_bytes = 1ULL << 20,
                                .archive_dir = archive_dir,
                                .fs = fs,
                                .wal_preparer_inline = fs != NULL,
                                .log_line = quiet_log};
    return open_config(&config, out_info, out_err);
}

billord_db *db_harness_open_mode(const char *dir, billord_lmdb_mode mode,
                                 uint64_t snapshot_log_bytes, billord_db_recovery *out_info,
                                 billord_err *out_err)
{
    billord_db_config config = {.data_dir = dir,
                                .map_bytes = 256ULL << 20,
                                .wal_segment_bytes = 1ULL << 20,
                                .lmdb_mode = mode,
                                .snapshot_log_bytes = snapshot_log_bytes,
                                .log_line = quiet_log};
    return open_config(&config, out_info, out_err);
}

void db_harness_expect_refused_open(const char *dir, billord_err err, const char *reason,
                                    billord_db_recovery *out_info)
{
    static billord_db_recovery local;
    billord_db_recovery *info = out_info != NULL ? out_info : &local;
    billord_err got = BILLORD_OK;
    billord_db *db = db_harness_open(dir, NULL, NULL, info, &got);
    cr_expect(db == NULL, "the refused open handed out a db");
    cr_expect(eq(int, got, err), "open: %s (%s)", billord_err_name(got), info->error_text);
    if (reason != NULL) {
        cr_expect(strstr(info->error_text, reason) != NULL, "%s", info->error_text);
    }
}

billord_outcome db_harness_renew(billord_db *db, const char *instance, const char *token,
                                 int64_t now_ms)
{
    billord_param params[] = {{"InstanceId", instance}, {"Period", "1"}, {"PeriodUnit", "Week"},
                              {"ClientToken", token}};
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST,
                               .now_ms = now_ms,
                               .account = CRASH_ACCOUNT,
                               .action = "RenewInstance",
                               .param_count = 4,
                               .params = params};
    snprintf(command.request_id, sizeof command.request_id, "RID-%.31s", token);
    billord_outcome outcome;
    billord_db_execute(db, &command, &outcome);
    return outcome;
}

int db_harness_renew_many(billord_db *db, const char *instance, const char *prefix, int count,
                          int64_t now_ms)
{
    int acknowledged = 0;
    for (int i = 0; i < count; i++) {
        char token[64];
        snprintf(token, sizeof token, "%s-%d", prefix, i);
        acknowledged += db_harness_renew(db, instance, token, now_ms).code == BILLORD_API_OK;
    }
    return acknowledged;
}

static json_t *summary(billord_db *db)
{
    json_t *record = NULL;
    if (billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_SUMMARY, NULL, &record) !=
        BILLORD_OK) {
        abort();
    }
    return record;
}

int64_t db_harness_order_count(billord_db *db)
{
    json_t *record = summary(db);
    int64_t count = json_integer_value(json_object_get(record, "orders"));
    json_decref(record);
    return count;
}

uint64_t db_harness_next_order_id(billord_db *db)
{
    json_t *record = summary(db);
    uint64_t next = (uint64_t)json_integer_value(json_object_get(record, "next_order_id"));
    json_decref(record);
    return next;
}

bool db_harness_order_token(billord_db *db, uint64_t order_id, char *token_out, size_t token_bytes)
{
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)order_id);
    json_t *record = NULL;
    billord_err err = billord_engine_inspect(billord_db_engine(db), BILLORD_INSPECT_ORDER, id_text,
                                             &record);
    if (err == BILLORD_E_NOT_FOUND) {
        return false;
    }
    if (err != BILLORD_OK) {
        abort();
    }
    snprintf(token_out, token_bytes, "%s", json_string_value(json_object_get(record, "client_token")));
    json_decref(record);
    return true;
}

void db_harness_dir_open(char dir[TEMPDIR_PATH_BYTES])
{
    tempdir_make(dir);
    db_harness_seed(dir, "tests/fixtures/crash.json");
}

void db_harness_dir_close(const char *dir)
{
    if (dir[0] != '\0') {
        chmod(dir, 0700);
    }
    tempdir_remove(dir);
}

void db_harness_copy_tree(const char *from, const char *to)
{
    char command[3 * TEMPDIR_PATH_BYTES + 32];
    snprintf(command, sizeof command, "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    cr_assert(eq(int, system(command), 0), "%s", command);
}

void db_harness_reboot(const char *dir)
{
    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, dir, BILLORD_BOOT_ID_FILE);
    FILE *file = fopen(path, "w");
    cr_assert(file != NULL, "%s", path);
    fputs("00000000-0000-0000-0000-000000000000\n", file);
    cr_assert(eq(int, fclose(file), 0));
}

void db_harness_permission_checks(bool on)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) {
        perror("db_harness: capget");
        abort();
    }
    uint32_t bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER);
    if (on) {
        data[0].effective &= ~bits;
    } else {
        data[0].effective |= data[0].permitted & bits;
    }
    if (syscall(SYS_capset, &header, data) != 0) {
        perror("db_harness: capset");
        abort();
    }
}
