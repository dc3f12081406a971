/*
 * test_lifecycle_catchup.c: a tick that comes long after an instance's steps fell due (a
 * server stopped for a year, a manual clock advanced by 540 days). One instance takes at
 * most BILLORD_LIFECYCLE_STEPS_MAX steps per tick command; the tick must then say more is
 * due, so that the caller ticks again until the instance has caught up, instead of
 * leaving the rest until some later tick.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/lifecycle.h>
#include <billord/timeutil.h>

#include "support/harness.h"

static harness h;

static void setup(void)
{
    harness_open(&h, "fixtures/demo.json");
}

static void teardown(void)
{
    harness_close(&h);
}

TestSuite(lifecycle_catchup, .init = setup, .fini = teardown, .timeout = 60);

static int64_t at(const char *rfc3339)
{
    int64_t unix_ms = 0;
    cr_assert(eq(int, billord_time_parse_rfc3339(rfc3339, &unix_ms), BILLORD_OK), "%s", rfc3339);
    return unix_ms;
}

/* i-acc0008 renews monthly from 2026-11-28: by 2028-06-01 about 19 renewals are due, more
 * than one tick command may take for one instance. */
Test(lifecycle_catchup, an_instance_with_more_steps_due_than_one_tick_takes_catches_up)
{
    int64_t const tick_ms = at("2028-06-01T00:00:00Z");
    billord_instance before = harness_instance(&h, "i-acc0008");
    cr_assert(before.expires_ms < tick_ms);
    uint32_t ticks = harness_tick(&h, tick_ms);
    cr_assert(ticks >= 2u, "%u tick commands: the first one must report more due", ticks);
    billord_instance after = harness_instance(&h, "i-acc0008");
    cr_assert(after.expires_ms > tick_ms, "expires %lld, tick %lld", (long long)after.expires_ms,
              (long long)tick_ms);
    cr_assert(eq(int, after.status, BILLORD_STATUS_RUNNING));
    /* Caught up: a tick at the same time finds nothing more to do. */
    cr_assert(eq(u32, harness_tick(&h, tick_ms), 1));
    billord_instance again = harness_instance(&h, "i-acc0008");
    cr_assert(eq(i64, again.expires_ms, after.expires_ms));
}
