/*
 * action_auto_renew.c: ModifyInstanceAutoRenewAttribute (ECS, seeds 001 and 002) and
 * DescribeInstanceAutoRenewAttribute (SPEC section 3).
 *
 * The change is all-or-nothing across the list: every id is read and checked before
 * any is written. It takes no ClientToken (setting the same attributes twice is the
 * same state).
 */
#include <string.h>

#include <billord/timeutil.h>

#include "core/assert.h"
#include "core/text_buffer.h"
#include "engine/engine_internal.h"

/*
 * Split "i-a,i-b" into args->instance_ids: 1..BILLORD_IDS_PER_CALL_MAX ids, none empty,
 * none repeated, none longer than an instance id can be. On failure the outcome names
 * the first bad id (or the whole list when it is too long).
 */
static bool split_instance_ids(const char *list, auto_renew_args *args, billord_outcome *outcome)
{
    args->instance_count = 0;
    const char *start = list;
    for (;;) {
        const char *comma = strchr(start, ',');
        size_t id_bytes = comma != NULL ? (size_t)(comma - start) : strlen(start);
        if (args->instance_count == BILLORD_IDS_PER_CALL_MAX) {
            billord__outcome_error(outcome, BILLORD_API_INVALID_INSTANCE_ID_PARAM,
                                   "more than 100 instance ids");
            return false;
        }
        char *id = args->instance_ids[args->instance_count];
        size_t copy_bytes = id_bytes <= BILLORD_INSTANCE_ID_BYTES_MAX ? id_bytes
                                                                      : BILLORD_INSTANCE_ID_BYTES_MAX;
        memcpy(id, start, copy_bytes);
        id[copy_bytes] = '\0';
        if (id_bytes == 0 || id_bytes > BILLORD_INSTANCE_ID_BYTES_MAX) {
            billord__outcome_error(outcome, BILLORD_API_INVALID_INSTANCE_ID_PARAM,
                                   id_bytes == 0 ? "empty instance id" : id);
            return false;
        }
        for (uint32_t i = 0; i < args->instance_count; i++) {
            if (strcmp(args->instance_ids[i], id) == 0) {
                billord__outcome_error(outcome, BILLORD_API_INVALID_INSTANCE_ID_PARAM, id);
                return false;
            }
        }
        args->instance_count++;
        if (comma == NULL) {
            return true;
        }
        start = comma + 1;
    }
}

static bool ids_and_region(engine_request *request, billord_outcome *outcome)
{
    auto_renew_args *args = &request->as.auto_renew;
    const char *list = billord__param_get(request->command, "InstanceId");
    if (list == NULL || list[0] == '\0') {
        billord__outcome_error(outcome, BILLORD_API_MISSING_INSTANCE_ID, NULL);
        return false;
    }
    if (!split_instance_ids(list, args, outcome)) {
        return false;
    }
    args->region = billord__param_get(request->command, "RegionId");
    if (args->region == NULL || args->region[0] == '\0') {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "RegionId");
        return false;
    }
    return true;
}

static bool duration_valid(billord_period_unit unit, uint64_t duration)
{
    if (unit == BILLORD_PERIOD_YEAR) {
        return duration >= 1 && duration <= 3;
    }
    return duration == 1 || duration == 2 || duration == 3 || duration == 6 || duration == 12;
}

/* RenewalStatus wins over AutoRenew; AutoRenew defaults to false (Normal). */
static bool renewal_status_of(const billord_command *command, billord_renewal_status *out,
                              billord_outcome *outcome)
{
    const char *auto_renew_text = billord__param_get(command, "AutoRenew");
    bool auto_renew = false;
    if (auto_renew_text != NULL && !billord__parse_bool(auto_renew_text, &auto_renew)) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PARAMETER, "AutoRenew");
        return false;
    }
    const char *status_text = billord__param_get(command, "RenewalStatus");
    if (status_text == NULL) {
        *out = auto_renew ? BILLORD_RENEWAL_AUTO : BILLORD_RENEWAL_NORMAL;
        return true;
    }
    if (!billord_renewal_status_parse(status_text, out)) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_RENEWAL_STATUS, status_text);
        return false;
    }
    return true;
}

static void modify_validate(engine_request *request, billord_outcome *outcome)
{
    auto_renew_args *args = &request->as.auto_renew;
    if (!ids_and_region(request, outcome)) {
        return;
    }
    const char *unit_text = billord__param_get(request->command, "PeriodUnit");
    if (unit_text == NULL) {
        unit_text = "Month";
    }
    if (strcmp(unit_text, "Month") != 0 && strcmp(unit_text, "Year") != 0) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PERIOD_UNIT_403, NULL);
        return;
    }
    args->period_unit = unit_text[0] == 'Y' ? BILLORD_PERIOD_YEAR : BILLORD_PERIOD_MONTH;
    const char *duration_text = billord__param_get(request->command, "Duration");
    uint64_t duration = 1;
    if (duration_text != NULL && (!billord__parse_uint(duration_text, &duration) ||
                                  !duration_valid(args->period_unit, duration))) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_DURATION, duration_text);
        return;
    }
    args->duration = (uint32_t)duration;
    renewal_status_of(request->command, &args->renewal_status, outcome);
}

/* Read and check one instance; false with the outcome set when it refuses the change. */
static billord_err modify_check(engine_ctx *ctx, const auto_renew_args *args, const char *id,
                                billord_instance *out_instance, bool *out_allowed,
                                billord_outcome *outcome)
{
    *out_allowed = false;
    billord_err err = billord__store_instance_get(ctx->store, ctx->txn, id, out_instance);
    if (err == BILLORD_E_NOT_FOUND ||
        (err == BILLORD_OK && (strcmp(out_instance->account, ctx->command->account) != 0 ||
                               strcmp(out_instance->region, args->region) != 0))) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_INSTANCE_ID_PARAM, id);
        return BILLORD_OK;
    }
    if (err != BILLORD_OK) {
        return err;
    }
    billord_instance_status status = out_instance->status;
    bool enabling = args->renewal_status == BILLORD_RENEWAL_AUTO;
    bool cannot_enable = status == BILLORD_STATUS_EXPIRED || status == BILLORD_STATUS_LOCKED ||
                         status == BILLORD_STATUS_FROZEN ||
                         out_instance->charge_type == BILLORD_CHARGE_POSTPAID;
    if (status == BILLORD_STATUS_RELEASED || (enabling && cannot_enable)) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_INSTANCE_STATUS, NULL);
        return BILLORD_OK;
    }
    *out_allowed = true;
    return BILLORD_OK;
}

static billord_err modify_apply(engine_ctx *ctx, engine_request *request, billord_outcome *outcome)
{
    const auto_renew_args *args = &request->as.auto_renew;
    for (uint32_t i = 0; i < args->instance_count; i++) {
        billord_instance instance;
        bool allowed = false;
        billord_err err = modify_check(ctx, args, args->instance_ids[i], &instance, &allowed,
                                       outcome);
        if (err != BILLORD_OK || !allowed) {
            return err;
        }
    }
    /* Every id passed: now write them all. */
    for (uint32_t i = 0; i < args->instance_count; i++) {
        billord_instance instance;
        billord_err err = billord__store_instance_get(ctx->store, ctx->txn,
                                                      args->instance_ids[i], &instance);
        if (err != BILLORD_OK) {
            return err;
        }
        bool was_auto = instance.renewal_status == BILLORD_RENEWAL_AUTO;
        bool is_auto = args->renewal_status == BILLORD_RENEWAL_AUTO;
        if (was_auto && !is_auto) {
            /* Switching auto-renewal off cancels its open order: the caller renews by hand. */
            err = billord__auto_order_cancel(ctx, &instance);
        } else if (is_auto && !was_auto) {
            /* Charges start at the first slot from now, for the current expiry. */
            instance.auto_renew_from_ms = ctx->now_ms;
            instance.auto_renew_attempted = false;
        }
        if (instance.renewal_status != args->renewal_status) {
            /* Reminder windows already past for the new mode are not sent late. */
            instance.reminders_sent_mask |=
                billord__reminders_already_past(instance.expires_ms, ctx->now_ms);
        }
        instance.renewal_status = args->renewal_status;
        instance.auto_renew_duration = args->duration;
        instance.auto_renew_period_unit = args->period_unit;
        if (err == BILLORD_OK) {
            err = billord__instance_save(ctx, &instance);
        }
        if (err != BILLORD_OK) {
            return err;
        }
    }
    billord__outcome_ok(outcome);
    return BILLORD_OK;
}

const action_def billord__action_modify_auto_renew = {
    .name = "ModifyInstanceAutoRenewAttribute",
    .is_read = false,
    .takes_token = false,
    .validate = modify_validate,
    .apply = modify_apply,
    .query = NULL,
};

/* ---- DescribeInstanceAutoRenewAttribute ------------------------------------------- */

static void describe_validate(engine_request *request, billord_outcome *outcome)
{
    ids_and_region(request, outcome);
}

/* An instance's attributes, or NULL with *out_err set: the schedule could not be read, or
 * BILLORD_E_NOMEM when any member could not be made. */
static json_t *renew_attribute(engine_ctx *ctx, const billord_instance *instance,
                               billord_err *out_err)
{
    int64_t next_attempt_ms = 0, lock_ms = 0, release_ms = 0;
    *out_err = billord__lifecycle_view(ctx, instance, &next_attempt_ms, &lock_ms, &release_ms);
    if (*out_err != BILLORD_OK) {
        return NULL;
    }
    bool ok = true;
    json_t *item = json_object();
    billord__json_set_member(item, "InstanceId", json_string(instance->id), &ok);
    billord__json_set_member(item, "AutoRenewEnabled",
                             json_boolean(instance->renewal_status == BILLORD_RENEWAL_AUTO), &ok);
    billord__json_set_member(item, "Duration", json_integer(instance->auto_renew_duration), &ok);
    const char *unit_name = billord_period_unit_name(instance->auto_renew_period_unit);
    billord__json_set_member(item, "PeriodUnit", json_string(unit_name), &ok);
    billord__json_set_member(item, "RenewalStatus",
                             json_string(billord_renewal_status_name(instance->renewal_status)),
                             &ok);
    billord__json_set_member(item, "ExpiredTime", billord__json_time_or_null(instance->expires_ms),
                             &ok);
    billord__json_set_member(item, "NextAutoRenewAttempt",
                             billord__json_time_or_null(next_attempt_ms), &ok);
    billord__json_set_member(item, "LockTime", billord__json_time_or_null(lock_ms), &ok);
    billord__json_set_member(item, "ReleaseTime", billord__json_time_or_null(release_ms), &ok);
    if (!ok) {
        json_decref(item);
        *out_err = BILLORD_E_NOMEM;
        return NULL;
    }
    return item;
}

/* The answer's fields, or NULL when any of them could not be made (list is consumed). */
static json_t *attribute_fields(const auto_renew_args *args, json_t *list)
{
    bool ok = true;
    json_t *wrapper = json_object();
    billord__json_set_member(wrapper, "InstanceRenewAttribute", list, &ok);
    json_t *fields = json_object();
    billord__json_set_member(fields, "TotalCount", json_integer(args->instance_count), &ok);
    billord__json_set_member(fields, "PageNumber", json_integer(1), &ok);
    billord__json_set_member(fields, "PageSize", json_integer(args->instance_count), &ok);
    billord__json_set_member(fields, "InstanceRenewAttributes", wrapper, &ok);
    if (!ok) {
        json_decref(fields);
        return NULL;
    }
    return fields;
}

static billord_err describe_query(engine_ctx *ctx, engine_request *request,
                                  billord_outcome *outcome, json_t **out_fields)
{
    const auto_renew_args *args = &request->as.auto_renew;
    json_t *list = json_array();
    if (list == NULL) {
        return BILLORD_E_NOMEM;
    }
    for (uint32_t i = 0; i < args->instance_count; i++) {
        billord_instance instance;
        billord_err err = billord__store_instance_get(ctx->store, ctx->txn,
                                                      args->instance_ids[i], &instance);
        if (err == BILLORD_E_NOT_FOUND ||
            (err == BILLORD_OK && (strcmp(instance.account, ctx->command->account) != 0 ||
                                   strcmp(instance.region, args->region) != 0))) {
            json_decref(list);
            billord__outcome_error(outcome, BILLORD_API_INSTANCE_NOT_FOUND, NULL);
            return BILLORD_OK;
        }
        json_t *item = err == BILLORD_OK ? renew_attribute(ctx, &instance, &err) : NULL;
        bool ok = err == BILLORD_OK;
        if (ok) {
            billord__json_append_item(list, item, &ok);
            err = ok ? BILLORD_OK : BILLORD_E_NOMEM;
        }
        if (err != BILLORD_OK) {
            json_decref(list);
            return err;
        }
    }
    json_t *fields = attribute_fields(args, list);
    if (fields == NULL) {
        return BILLORD_E_NOMEM;
    }
    billord__outcome_ok(outcome);
    *out_fields = fields;
    return BILLORD_OK;
}

const action_def billord__action_describe_auto_renew = {
    .name = "DescribeInstanceAutoRenewAttribute",
    .is_read = true,
    .takes_token = false,
    .validate = describe_validate,
    .apply = NULL,
    .query = describe_query,
};
