/* action_rows.c: shared helpers of the table-driven action suites (action_rows.h). */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/timeutil.h>

#include "support/action_rows.h"

billord_outcome action_call_rows(harness *h, const char *account, const char *action,
                                 const param_row *rows, size_t row_count, json_t **out_fields)
{
    billord_param storage[ACTION_ROWS_PARAMS_MAX];
    uint32_t count = 0;
    cr_assert(row_count <= ACTION_ROWS_PARAMS_MAX);
    if (out_fields != NULL) {
        *out_fields = NULL;
    }
    for (size_t i = 0; i < row_count; i++) {
        if (rows[i].name[0] != '\0') {
            storage[count].name = rows[i].name;
            storage[count].value = rows[i].value;
            count++;
        }
    }
    billord_command command = harness_command(h, account, action, storage, NULL);
    command.param_count = count;
    command.params = storage;
    billord_outcome outcome;
    if (billord_action_is_read(action)) {
        json_t *fields = NULL;
        cr_assert(eq(int, billord_engine_query(h->engine, &command, &outcome, &fields), BILLORD_OK));
        if (out_fields != NULL) {
            *out_fields = fields;
        } else {
            json_decref(fields);
        }
        return outcome;
    }
    harness_batch(h, &command, 1, &outcome);
    return outcome;
}

void action_expect_code(const billord_outcome *o, const char *code, int status, const char *label)
{
    cr_expect(eq(int, strcmp(billord_api_code_text(o->code), code), 0),
              "%s: code %s, expected %s (%s)", label, billord_api_code_text(o->code), code,
              o->message);
    cr_expect(eq(int, billord_api_code_status(o->code), status), "%s: status %d, expected %d",
              label, billord_api_code_status(o->code), status);
    if (status != 200) {
        cr_expect(not(o->has_order_id), "%s: an error carries no OrderId", label);
    }
}

void action_expect_time(int64_t actual_ms, const char *expected, const char *label)
{
    char text[BILLORD_RFC3339_BYTES_MAX];
    if (actual_ms == 0) {
        snprintf(text, sizeof text, "none");
    } else {
        billord_time_format_rfc3339(actual_ms, text);
    }
    cr_expect(eq(int, strcmp(text, expected), 0), "%s: time %s, expected %s", label, text,
              expected);
}

static const char *const world_instance_ids[ACTION_WORLD_INSTANCES] = {
    "i-acc0001",   "i-acc0002",   "i-acc0003",   "i-acc0004",  "i-acc0005",  "i-acc0006",
    "i-acc0007",   "i-acc0008",   "i-acc0009",   "rm-acc0001", "rm-acc0002", "rm-acc0003",
    "rm-acc0004",  "rm-acc0005",  "sas-acc0001", "sas-acc0002", "sas-acc0003", "i-nopay0001",
    "rm-nopay0001", "i-poor0001", "rm-poor0001", "i-broke0001",
};
static const char *const world_account_ids[ACTION_WORLD_ACCOUNTS] = {
    ACCOUNT_MAIN, ACCOUNT_NOPAY, ACCOUNT_POOR, ACCOUNT_BROKE};

const char *action_world_instance_id(size_t index)
{
    cr_assert(index < ACTION_WORLD_INSTANCES);
    return world_instance_ids[index];
}

void action_world_take(harness *h, action_world *w)
{
    memset(w, 0, sizeof *w);
    w->order_count = harness_order_count(h);
    w->token_count = harness_token_count(h);
    w->coupon_left[0] = harness_coupon_left(h, ACCOUNT_MAIN, "cp-1");
    w->coupon_left[1] = harness_coupon_left(h, ACCOUNT_MAIN, "cp-2");
    w->coupon_left[2] = harness_coupon_left(h, ACCOUNT_MAIN, "cp-expired");
    for (size_t i = 0; i < ACTION_WORLD_ACCOUNTS; i++) {
        w->accounts[i] = harness_account(h, world_account_ids[i]);
    }
    for (size_t i = 0; i < ACTION_WORLD_INSTANCES; i++) {
        w->instances[i] = harness_instance(h, world_instance_ids[i]);
    }
}

void action_world_expect_unchanged(harness *h, const action_world *before, const char *label)
{
    action_world after;
    action_world_take(h, &after);
    cr_expect(eq(i64, after.order_count, before->order_count), "%s: order count changed", label);
    cr_expect(eq(i64, after.token_count, before->token_count), "%s: token count changed", label);
    for (size_t i = 0; i < 3; i++) {
        cr_expect(eq(i64, after.coupon_left[i], before->coupon_left[i]), "%s: coupon changed",
                  label);
    }
    for (size_t i = 0; i < ACTION_WORLD_ACCOUNTS; i++) {
        cr_expect(eq(i64, after.accounts[i].balance_micros, before->accounts[i].balance_micros),
                  "%s: balance of %s changed", label, world_account_ids[i]);
        cr_expect(eq(i64, after.accounts[i].credit_used_micros,
                     before->accounts[i].credit_used_micros),
                  "%s: credit of %s changed", label, world_account_ids[i]);
    }
    for (size_t i = 0; i < ACTION_WORLD_INSTANCES; i++) {
        const billord_instance *a = &after.instances[i];
        const billord_instance *b = &before->instances[i];
        cr_expect(eq(i64, a->expires_ms, b->expires_ms), "%s: expiry of %s changed", label,
                  world_instance_ids[i]);
        cr_expect(eq(int, (int)a->status, (int)b->status), "%s: status of %s changed", label,
                  world_instance_ids[i]);
        cr_expect(eq(int, memcmp(a, b, sizeof *a), 0), "%s: %s changed", label,
                  world_instance_ids[i]);
    }
}
