/* harness.c: an engine on a throw-away data directory for tests (harness.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <billord/fixture.h>
#include <billord/timeutil.h>

#include "support/harness.h"

static void die(const char *what, billord_err err)
{
    fprintf(stderr, "harness: %s: %s\n", what, billord_err_message(err));
    abort();
}

static void engine_open(harness *h)
{
    billord_engine_config config = {.data_dir = h->dir, .map_bytes = 64ULL << 20};
    billord_err err = billord_engine_open(&config, &h->engine);
    if (err != BILLORD_OK) {
        die("open", err);
    }
}

void harness_open(harness *h, const char *fixture_path)
{
    memset(h, 0, sizeof *h);
    tempdir_make(h->dir);
    engine_open(h);
    h->now_ms = HARNESS_DEMO_CLOCK_MS;
    if (fixture_path == NULL) {
        return;
    }
    char path[TEMPDIR_PATH_BYTES];
    tempdir_source_path(path, fixture_path);
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err err = billord_fixture_parse_file(path, &fixture, error_text, sizeof error_text);
    if (err != BILLORD_OK) {
        fprintf(stderr, "harness: %s: %s\n", path, error_text);
        abort();
    }
    if (fixture.has_clock) {
        h->now_ms = fixture.clock_ms;
    }
    err = billord_engine_seed(h->engine, &fixture);
    billord_fixture_free(&fixture);
    if (err != BILLORD_OK) {
        die("seed", err);
    }
}

void harness_reopen(harness *h)
{
    billord_engine_close(h->engine);
    h->engine = NULL;
    engine_open(h);
}

void harness_close(harness *h)
{
    billord_engine_close(h->engine);
    h->engine = NULL;
    tempdir_remove(h->dir);
}

static uint32_t collect_params(billord_param *storage, const char *first_name, va_list args)
{
    uint32_t count = 0;
    for (const char *name = first_name; name != NULL; name = va_arg(args, const char *)) {
        if (count == HARNESS_PARAMS_MAX) {
            abort();
        }
        storage[count].name = name;
        storage[count].value = va_arg(args, const char *);
        count++;
    }
    return count;
}

static billord_command command_make(harness *h, const char *account, const char *action,
                                    billord_param *storage, uint32_t count)
{
    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.now_ms = h->now_ms;
    h->request_counter++;
    snprintf(command.request_id, sizeof command.request_id, "00000000-0000-4000-8000-%012llX",
             (unsigned long long)h->request_counter);
    command.account = account;
    command.action = action;
    command.param_count = count;
    command.params = storage;
    return command;
}

billord_command harness_command(harness *h, const char *account, const char *action,
                                billord_param *params_storage, const char *first_name, ...)
{
    va_list args;
    va_start(args, first_name);
    uint32_t count = collect_params(params_storage, first_name, args);
    va_end(args);
    return command_make(h, account, action, params_storage, count);
}

static billord_outcome call_with(harness *h, billord_command *command, json_t **out_fields)
{
    billord_outcome outcome;
    if (billord_action_is_read(command->action)) {
        json_t *fields = NULL;
        billord_err err = billord_engine_query(h->engine, command, &outcome, &fields);
        if (err != BILLORD_OK) {
            die("query", err);
        }
        if (out_fields != NULL) {
            *out_fields = fields;
        } else {
            json_decref(fields);
        }
        return outcome;
    }
    billord_err err = billord_engine_submit(h->engine, command, 1, 0, NULL, &outcome, NULL);
    if (err != BILLORD_OK) {
        die("submit", err);
    }
    return outcome;
}

billord_outcome harness_call(harness *h, const char *account, const char *action,
                             const char *first_name, ...)
{
    billord_param storage[HARNESS_PARAMS_MAX];
    va_list args;
    va_start(args, first_name);
    uint32_t count = collect_params(storage, first_name, args);
    va_end(args);
    billord_command command = command_make(h, account, action, storage, count);
    return call_with(h, &command, NULL);
}

billord_outcome harness_query(harness *h, const char *account, const char *action,
                              json_t **out_fields, const char *first_name, ...)
{
    billord_param storage[HARNESS_PARAMS_MAX];
    va_list args;
    va_start(args, first_name);
    uint32_t count = collect_params(storage, first_name, args);
    va_end(args);
    billord_command command = command_make(h, account, action, storage, count);
    *out_fields = NULL;
    return call_with(h, &command, out_fields);
}

uint32_t harness_tick(harness *h, int64_t now_ms)
{
    h->now_ms = now_ms;
    uint32_t ticks = 0;
    for (;;) {
        billord_command tick = command_make(h, "", "", NULL, 0);
        tick.kind = BILLORD_COMMAND_TICK;
        billord_outcome outcome;
        billord_err err = billord_engine_submit(h->engine, &tick, 1, 0, NULL, &outcome, NULL);
        if (err != BILLORD_OK || outcome.code != BILLORD_API_OK) {
            die("tick", err);
        }
        ticks++;
        if (!outcome.tick_more_due) {
            return ticks;
        }
    }
}

void harness_batch(harness *h, const billord_command *commands, size_t count,
                   billord_outcome *outcomes)
{
    billord_err err = billord_engine_submit(h->engine, commands, count, 0, NULL, outcomes, NULL);
    if (err != BILLORD_OK) {
        die("submit batch", err);
    }
}

char *harness_render(const char *action, const billord_outcome *outcome)
{
    size_t bytes = 0;
    return billord_render(action, outcome, NULL, BILLORD_FORMAT_JSON, &bytes);
}

static json_t *inspect(harness *h, billord_inspect_kind kind, const char *id)
{
    json_t *record = NULL;
    billord_err err = billord_engine_inspect(h->engine, kind, id, &record);
    if (err != BILLORD_OK) {
        die(id != NULL ? id : "summary", err);
    }
    return record;
}

static int64_t time_field(const json_t *record, const char *key)
{
    const json_t *value = json_object_get(record, key);
    int64_t unix_ms = 0;
    if (json_is_string(value)) {
        billord_time_parse_rfc3339(json_string_value(value), &unix_ms);
    }
    return unix_ms;
}

billord_account harness_account(harness *h, const char *id)
{
    json_t *record = inspect(h, BILLORD_INSPECT_ACCOUNT, id);
    billord_account account;
    memset(&account, 0, sizeof account);
    snprintf(account.id, sizeof account.id, "%s", id);
    account.balance_micros = json_integer_value(json_object_get(record, "balance_micros"));
    account.balance_initial_micros =
        json_integer_value(json_object_get(record, "balance_initial_micros"));
    account.credit_limit_micros = json_integer_value(json_object_get(record, "credit_limit_micros"));
    account.credit_used_micros = json_integer_value(json_object_get(record, "credit_used_micros"));
    account.credit_payment = json_is_true(json_object_get(record, "credit_payment"));
    account.payment_method = json_is_true(json_object_get(record, "payment_method"));
    json_decref(record);
    return account;
}

billord_instance harness_instance(harness *h, const char *id)
{
    json_t *record = inspect(h, BILLORD_INSPECT_INSTANCE, id);
    billord_instance instance;
    memset(&instance, 0, sizeof instance);
    snprintf(instance.id, sizeof instance.id, "%s", id);
    snprintf(instance.account, sizeof instance.account, "%s",
             json_string_value(json_object_get(record, "account")));
    billord_product_parse(json_string_value(json_object_get(record, "product")), &instance.product);
    billord_charge_type_parse(json_string_value(json_object_get(record, "charge_type")),
                              &instance.charge_type);
    billord_instance_status_parse(json_string_value(json_object_get(record, "status")),
                                  &instance.status);
    billord_renewal_status_parse(json_string_value(json_object_get(record, "renewal_status")),
                                 &instance.renewal_status);
    billord_period_unit_parse(json_string_value(json_object_get(record, "auto_renew_period_unit")),
                              &instance.auto_renew_period_unit);
    instance.auto_renew_duration =
        (uint32_t)json_integer_value(json_object_get(record, "auto_renew_duration"));
    instance.expires_ms = time_field(record, "expires");
    instance.unpaid_order_count =
        (uint32_t)json_integer_value(json_object_get(record, "unpaid_order_count"));
    json_decref(record);
    return instance;
}

bool harness_order(harness *h, uint64_t id, billord_order *out)
{
    char id_text[32];
    snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)id);
    json_t *record = NULL;
    billord_err err = billord_engine_inspect(h->engine, BILLORD_INSPECT_ORDER, id_text, &record);
    if (err == BILLORD_E_NOT_FOUND) {
        return false;
    }
    if (err != BILLORD_OK) {
        die("order", err);
    }
    memset(out, 0, sizeof *out);
    out->id = id;
    snprintf(out->account, sizeof out->account, "%s",
             json_string_value(json_object_get(record, "account")));
    snprintf(out->instance, sizeof out->instance, "%s",
             json_string_value(json_object_get(record, "instance")));
    billord_order_kind_parse(json_string_value(json_object_get(record, "kind")), &out->kind);
    billord_order_status_parse(json_string_value(json_object_get(record, "status")), &out->status);
    billord_period_unit_parse(json_string_value(json_object_get(record, "period_unit")),
                              &out->period_unit);
    out->period_count = (uint32_t)json_integer_value(json_object_get(record, "period"));
    out->amount_micros = json_integer_value(json_object_get(record, "amount_micros"));
    out->coupon_paid_micros = json_integer_value(json_object_get(record, "coupon_paid_micros"));
    out->balance_paid_micros = json_integer_value(json_object_get(record, "balance_paid_micros"));
    out->credit_paid_micros = json_integer_value(json_object_get(record, "credit_paid_micros"));
    out->created_ms = time_field(record, "created");
    out->paid_ms = time_field(record, "paid");
    out->cancelled_ms = time_field(record, "cancelled");
    snprintf(out->client_token, sizeof out->client_token, "%s",
             json_string_value(json_object_get(record, "client_token")));
    json_decref(record);
    return true;
}

static int64_t summary_count(harness *h, const char *key)
{
    json_t *record = inspect(h, BILLORD_INSPECT_SUMMARY, NULL);
    int64_t count = json_integer_value(json_object_get(record, key));
    json_decref(record);
    return count;
}

int64_t harness_order_count(harness *h)
{
    return summary_count(h, "orders");
}

int64_t harness_token_count(harness *h)
{
    return summary_count(h, "tokens");
}

int64_t harness_coupon_left(harness *h, const char *account, const char *coupon_id)
{
    json_t *record = inspect(h, BILLORD_INSPECT_ACCOUNT, account);
    size_t index;
    json_t *coupon;
    int64_t left = -1;
    json_array_foreach(json_object_get(record, "coupons"), index, coupon) {
        if (strcmp(json_string_value(json_object_get(coupon, "id")), coupon_id) == 0) {
            left = json_integer_value(json_object_get(coupon, "amount_micros"));
        }
    }
    json_decref(record);
    return left;
}
