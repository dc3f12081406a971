/*
 * test_lifecycle.c: golden timelines of the subscription lifecycle (docs/lifecycle.md).
 *
 * Method: tests/fixtures/lifecycle.json (clock 2026-11-01, every instance expiring at
 * T = 2026-12-31T16:00:00Z, i.e. 2027-01-01 00:00 UTC+8) on an engine with a manual clock;
 * time passes only through Tick commands, and each test asserts the exact instants of
 * charges, reminders and state changes from the outbox and the records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/timeutil.h>

#include "support/harness.h"

#define RICH "7100000000000001"
#define POOR "7100000000000002"
#define NOPAY "7100000000000003"

static harness h;

static void open_lifecycle(void)
{
    harness_open(&h, "tests/fixtures/lifecycle.json");
}

static void close_lifecycle(void)
{
    harness_close(&h);
}

TestSuite(lifecycle, .init = open_lifecycle, .fini = close_lifecycle, .timeout = 60);

static int64_t at(const char *rfc3339)
{
    int64_t unix_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339(rfc3339, &unix_ms), BILLORD_OK), "%s", rfc3339);
    return unix_ms;
}

/* Tick every hour from the harness clock up to until_ms (inclusive of the end). */
static void tick_hourly(int64_t until_ms)
{
    for (int64_t t = h.now_ms + BILLORD_MS_PER_HOUR; t < until_ms; t += BILLORD_MS_PER_HOUR) {
        harness_tick(&h, t);
    }
    harness_tick(&h, until_ms);
}

/* The events of one instance, "kind@time[detail]" joined by spaces. */
static char *events_of(const char *instance)
{
    json_t *events = NULL;
    cr_assert(eq(int, billord_engine_events(h.engine, 0, 100000, &events), BILLORD_OK));
    size_t capacity = 16384, used = 0;
    char *text = calloc(1, capacity);
    size_t index;
    json_t *event;
    json_array_foreach(events, index, event) {
        if (strcmp(json_string_value(json_object_get(event, "instance")), instance) != 0) {
            continue;
        }
        const char *detail = json_string_value(json_object_get(event, "detail"));
        int written = snprintf(text + used, capacity - used, "%s%s@%s%s%s%s", used ? " " : "",
                               json_string_value(json_object_get(event, "kind")),
                               json_string_value(json_object_get(event, "time")),
                               detail[0] ? "[" : "", detail, detail[0] ? "]" : "");
        cr_assert(written > 0 && (size_t)written < capacity - used);
        used += (size_t)written;
    }
    json_decref(events);
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at_text = strstr(text, needle); at_text != NULL;
         at_text = strstr(at_text + 1, needle)) {
        count++;
    }
    return count;
}

Test(lifecycle, ecs_charges_at_t_minus_9_days_0800_utc8_and_moves_expiry)
{
    tick_hourly(at("2026-12-22T23:00:00Z"));
    cr_assert(eq(str, events_of("i-auto"), ""), "nothing before the first slot");
    harness_tick(&h, at("2026-12-23T00:00:00Z"));
    char *events = events_of("i-auto");
    cr_assert(strstr(events, "OrderCreated@2026-12-23T00:00:00Z") != NULL, "%s", events);
    cr_assert(strstr(events, "RenewalSucceeded@2026-12-23T00:00:00Z[attempt=1]") != NULL, "%s",
              events);
    free(events);
    billord_instance instance = harness_instance(&h, "i-auto");
    cr_assert(eq(i64, instance.expires_ms, at("2027-01-31T16:00:00Z")));
    cr_assert(eq(int, instance.status, BILLORD_STATUS_RUNNING));
    cr_assert(eq(u32, instance.unpaid_order_count, 0));
}

Test(lifecycle, month_end_renewal_clamps_to_february)
{
    tick_hourly(at("2027-01-23T00:00:00Z"));
    billord_instance instance = harness_instance(&h, "i-auto-jan31");
    cr_assert(eq(i64, instance.expires_ms, at("2027-02-28T16:00:00Z")));
}

Test(lifecycle, ecs_retries_daily_then_cancels_at_expiry_and_releases)
{
    tick_hourly(at("2027-01-16T00:00:00Z"));
    char *events = events_of("i-poor");
    cr_assert(eq(sz, count_of(events, "OrderCreated@"), 1), "%s", events);
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 9), "%s", events);
    for (int day = 23; day <= 31; day++) {
        char needle[64];
        snprintf(needle, sizeof needle, "RenewalFailed@2026-12-%02dT00:00:00Z[attempt=%d]", day,
                 day - 22);
        cr_expect(strstr(events, needle) != NULL, "missing %s in %s", needle, events);
    }
    cr_assert(strstr(events, "OrderCancelled@2026-12-31T16:00:00Z") != NULL, "%s", events);
    cr_assert(strstr(events, "Expired@2026-12-31T16:00:00Z") != NULL, "%s", events);
    cr_assert(strstr(events, "Released@2027-01-15T16:00:00Z") != NULL, "%s", events);
    free(events);
    billord_instance instance = harness_instance(&h, "i-poor");
    cr_assert(eq(int, instance.status, BILLORD_STATUS_RELEASED));
    cr_assert(eq(u32, instance.unpaid_order_count, 0));
    billord_outcome refused = harness_call(&h, POOR, "RenewInstance", "InstanceId", "i-poor",
                                           "Period", "1", NULL);
    cr_assert(eq(int, refused.code, BILLORD_API_INCORRECT_INSTANCE_STATUS));
}

Test(lifecycle, unpaid_auto_renew_order_blocks_manual_renewal_until_settled)
{
    tick_hourly(at("2026-12-24T01:00:00Z"));
    billord_instance instance = harness_instance(&h, "i-poor");
    cr_assert(eq(u32, instance.unpaid_order_count, 1));
    billord_outcome blocked = harness_call(&h, POOR, "RenewInstance", "InstanceId", "i-poor",
                                           "Period", "1", NULL);
    cr_assert(eq(int, blocked.code, BILLORD_API_INSTANCE_UNPAID_ORDER));
    json_t *fields = NULL;
    billord_outcome listed = harness_query(&h, POOR, "DescribeOrders", &fields, "InstanceId",
                                           "i-poor", "Status", "Unpaid", NULL);
    cr_assert(eq(int, listed.code, BILLORD_API_OK));
    json_t *order = json_array_get(json_object_get(json_object_get(fields, "Orders"), "Order"), 0);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(order, "OrderType")), "AutoRenew"));
    char order_id[32];
    snprintf(order_id, sizeof order_id, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(order, "OrderId")));
    json_decref(fields);
    billord_outcome cancelled = harness_call(&h, POOR, "CancelOrder", "OrderId", order_id, NULL);
    cr_assert(eq(int, cancelled.code, BILLORD_API_OK));
    cr_assert(eq(u32, harness_instance(&h, "i-poor").unpaid_order_count, 0));
    /* Cancelled by hand: no retry for this expiry. */
    tick_hourly(at("2026-12-27T00:00:00Z"));
    char *events = events_of("i-poor");
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 2), "%s", events);
    free(events);
}

Test(lifecycle, normal_instance_gets_three_reminders_once_each)
{
    tick_hourly(at("2027-01-02T00:00:00Z"));
    char *events = events_of("i-normal");
    cr_assert(eq(str, events,
                 "ExpiryReminder@2026-12-24T16:00:00Z[days_before=7] "
                 "ExpiryReminder@2026-12-28T16:00:00Z[days_before=3] "
                 "ExpiryReminder@2026-12-30T16:00:00Z[days_before=1] "
                 "Expired@2026-12-31T16:00:00Z"));
    free(events);
}

Test(lifecycle, not_renewal_gets_one_reminder_at_t_minus_3_days)
{
    tick_hourly(at("2027-01-02T00:00:00Z"));
    char *events = events_of("i-not");
    cr_assert(eq(str, events,
                 "NonRenewalReminder@2026-12-28T16:00:00Z[days_before=3] "
                 "Expired@2026-12-31T16:00:00Z"));
    free(events);
}

Test(lifecycle, one_big_jump_runs_every_step_at_its_own_time)
{
    harness_tick(&h, at("2027-03-01T00:00:00Z"));
    char *events = events_of("i-normal");
    cr_assert(eq(str, events,
                 "ExpiryReminder@2026-12-24T16:00:00Z[days_before=7] "
                 "ExpiryReminder@2026-12-28T16:00:00Z[days_before=3] "
                 "ExpiryReminder@2026-12-30T16:00:00Z[days_before=1] "
                 "Expired@2026-12-31T16:00:00Z Released@2027-01-15T16:00:00Z"));
    free(events);
}

Test(lifecycle, rds_charges_at_t_minus_3_days_and_locks_at_expiry)
{
    tick_hourly(at("2027-01-16T00:00:00Z"));
    char *events = events_of("rm-poor");
    cr_assert(strstr(events, "RenewalFailed@2026-12-29T00:00:00Z[attempt=1]") != NULL, "%s", events);
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 3), "%s", events);
    cr_assert(strstr(events, "Locked@2026-12-31T16:00:00Z") != NULL, "%s", events);
    cr_assert(strstr(events, "Released@2027-01-15T16:00:00Z") != NULL, "%s", events);
    free(events);
}

Test(lifecycle, hss_charges_at_0300_then_grace_frozen_released)
{
    tick_hourly(at("2027-02-01T00:00:00Z"));
    char *events = events_of("sas-poor");
    /* T-7d local date 2026-12-25, 03:00 UTC+8 = 2026-12-24T19:00:00Z. */
    cr_assert(strstr(events, "RenewalFailed@2026-12-24T19:00:00Z[attempt=1]") != NULL, "%s", events);
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 7), "%s", events);
    cr_assert(strstr(events, "Expired@2026-12-31T16:00:00Z") != NULL, "%s", events);
    cr_assert(strstr(events, "Frozen@2027-01-15T16:00:00Z") != NULL, "%s", events);
    cr_assert(strstr(events, "Released@2027-01-30T16:00:00Z") != NULL, "%s", events);
    free(events);
}

Test(lifecycle, hss_payment_day_is_chosen_per_instance)
{
    tick_hourly(at("2027-01-01T00:00:00Z"));
    char *events = events_of("sas-day2");
    /* days_before 2: local date 2026-12-30, 03:00 UTC+8 = 2026-12-29T19:00:00Z, then daily. */
    cr_assert(strstr(events, "RenewalFailed@2026-12-29T19:00:00Z[attempt=1]") != NULL, "%s", events);
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 2), "%s", events);
    free(events);
}

Test(lifecycle, no_payment_method_fails_every_attempt)
{
    tick_hourly(at("2026-12-25T00:00:00Z"));
    char *events = events_of("i-nopay");
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 3), "%s", events);
    free(events);
}

Test(lifecycle, renewal_during_grace_counts_from_original_expiry)
{
    tick_hourly(at("2027-01-05T00:00:00Z"));
    cr_assert(eq(int, harness_instance(&h, "i-normal").status, BILLORD_STATUS_EXPIRED));
    billord_outcome renewed = harness_call(&h, RICH, "RenewInstance", "InstanceId", "i-normal",
                                           "Period", "1", NULL);
    cr_assert(eq(int, renewed.code, BILLORD_API_OK));
    billord_instance instance = harness_instance(&h, "i-normal");
    cr_assert(eq(int, instance.status, BILLORD_STATUS_RUNNING));
    cr_assert(eq(i64, instance.expires_ms, at("2027-01-31T16:00:00Z")));
    /* The new expiry's round: no release at the old T+15d, reminders before the new T. */
    tick_hourly(at("2027-01-28T00:00:00Z"));
    char *events = events_of("i-normal");
    cr_assert(strstr(events, "Released@") == NULL, "%s", events);
    cr_assert(strstr(events, "ExpiryReminder@2027-01-24T16:00:00Z[days_before=7]") != NULL, "%s",
              events);
    free(events);
}

Test(lifecycle, switching_auto_renew_off_cancels_the_open_order_and_retries)
{
    tick_hourly(at("2026-12-24T01:00:00Z"));
    billord_outcome off = harness_call(&h, POOR, "ModifyInstanceAutoRenewAttribute", "InstanceId",
                                       "i-poor", "RegionId", "cn-hangzhou", "AutoRenew", "false",
                                       NULL);
    cr_assert(eq(int, off.code, BILLORD_API_OK));
    cr_assert(eq(u32, harness_instance(&h, "i-poor").unpaid_order_count, 0));
    tick_hourly(at("2026-12-27T00:00:00Z"));
    char *events = events_of("i-poor");
    cr_assert(eq(sz, count_of(events, "RenewalFailed@"), 2), "%s", events);
    cr_assert(eq(sz, count_of(events, "OrderCancelled@2026-12-24T01:00:00Z"), 1), "%s", events);
    cr_assert(eq(sz, count_of(events, "ExpiryReminder@2026-12-24T16:00:00Z"), 1),
              "Normal now: the T-7d window was still ahead: %s", events);
    free(events);
    /* Back on at 2026-12-27T00:00Z, itself a slot: a new order at once, its own retries. */
    harness_call(&h, POOR, "ModifyInstanceAutoRenewAttribute", "InstanceId", "i-poor", "RegionId",
                 "cn-hangzhou", "AutoRenew", "true", NULL);
    tick_hourly(at("2026-12-28T00:00:00Z"));
    events = events_of("i-poor");
    cr_assert(eq(sz, count_of(events, "OrderCreated@"), 2), "%s", events);
    cr_assert(strstr(events, "RenewalFailed@2026-12-27T00:00:00Z[attempt=1]") != NULL, "%s", events);
    cr_assert(strstr(events, "RenewalFailed@2026-12-28T00:00:00Z[attempt=2]") != NULL, "%s", events);
    free(events);
}

Test(lifecycle, the_schedule_is_visible_in_describe)
{
    json_t *fields = NULL;
    billord_outcome described = harness_query(&h, POOR, "DescribeInstanceAutoRenewAttribute",
                                              &fields, "InstanceId", "i-poor", "RegionId",
                                              "cn-hangzhou", NULL);
    cr_assert(eq(int, described.code, BILLORD_API_OK));
    json_t *item = json_array_get(
        json_object_get(json_object_get(fields, "InstanceRenewAttributes"), "InstanceRenewAttribute"),
        0);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(item, "NextAutoRenewAttempt")),
                 "2026-12-23T00:00:00Z"));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(item, "LockTime")),
                 "2026-12-31T16:00:00Z"));
    cr_assert(eq(str, (char *)json_string_value(json_object_get(item, "ReleaseTime")),
                 "2027-01-15T16:00:00Z"));
    json_decref(fields);
    tick_hourly(at("2026-12-23T05:00:00Z"));
    described = harness_query(&h, POOR, "DescribeInstanceAutoRenewAttribute", &fields,
                              "InstanceId", "i-poor", "RegionId", "cn-hangzhou", NULL);
    item = json_array_get(
        json_object_get(json_object_get(fields, "InstanceRenewAttributes"), "InstanceRenewAttribute"),
        0);
    cr_assert(eq(str, (char *)json_string_value(json_object_get(item, "NextAutoRenewAttempt")),
                 "2026-12-24T00:00:00Z"), "the retry after a failed first charge");
    json_decref(fields);
}

Test(lifecycle, a_large_tick_runs_in_bounded_pieces)
{
    /* Every lifecycle instance of the fixture is due at once; the tick limit is 256 per
     * command, so this is one command here; tests/unit/test_lifecycle_scale.c covers many. */
    uint32_t ticks = harness_tick(&h, at("2027-03-01T00:00:00Z"));
    cr_assert(eq(u32, ticks, 1));
    cr_assert(eq(int, harness_instance(&h, "i-poor").status, BILLORD_STATUS_RELEASED));
}

Test(lifecycle, ticks_are_idempotent_in_time)
{
    tick_hourly(at("2027-01-02T00:00:00Z"));
    char *before = events_of("i-normal");
    harness_tick(&h, at("2027-01-02T00:00:00Z"));
    harness_tick(&h, at("2027-01-01T00:00:00Z"));     /* an older tick changes nothing */
    char *after = events_of("i-normal");
    cr_assert(eq(str, after, before));
    free(before);
    free(after);
}
