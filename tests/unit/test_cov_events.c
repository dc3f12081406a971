/*
 * test_cov_events.c: reading the outbox through billord_engine_events (src/engine/events.c).
 *
 * Why: notifiers and tools page through the outbox with (after_seq, max_count), and a
 * read that fails must fail whole: an error code and no half-filled array. The events
 * come from lifecycle ticks on tests/fixtures/lifecycle.json; LMDB failures are injected
 * with tests/support/faulty_lmdb.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <lmdb.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/timeutil.h>

#include "support/faulty_lmdb.h"
#include "support/harness.h"

static harness h;

static void setup(void)
{
    harness_open(&h, "tests/fixtures/lifecycle.json");
    /* Past every expiry of the fixture: reminders, charges and expiries are emitted. */
    harness_tick(&h, h.now_ms + 120LL * BILLORD_MS_PER_DAY);
}

static void teardown(void)
{
    faulty_lmdb_reset();
    harness_close(&h);
}

TestSuite(cov_events, .init = setup, .fini = teardown, .timeout = 60);

static json_t *events_page(uint64_t after_seq, uint32_t max_count)
{
    json_t *events = NULL;
    cr_assert(eq(int, billord_engine_events(h.engine, after_seq, max_count, &events), BILLORD_OK));
    bool const is_array = json_is_array(events);
    cr_assert(is_array);
    return events;
}

Test(cov_events, pages_follow_the_sequence)
{
    json_t *all = events_page(0, 100000);
    size_t const total = json_array_size(all);
    cr_assert(total >= 4, "the ticks emitted events (%zu)", total);
    for (size_t i = 0; i < total; i++) {
        json_t *event = json_array_get(all, i);
        cr_expect(eq(i64, json_integer_value(json_object_get(event, "seq")), (int64_t)i + 1));
        bool const has_kind = json_is_string(json_object_get(event, "kind"));
        bool const has_time = json_is_string(json_object_get(event, "time"));
        json_t *order_id = json_object_get(event, "order_id");
        bool const order_id_ok = json_is_null(order_id) || json_integer_value(order_id) > 0;
        cr_expect(has_kind);
        cr_expect(has_time);
        cr_expect(order_id_ok);
    }
    json_t *page = events_page(1, 2);
    cr_assert(eq(sz, json_array_size(page), 2));
    cr_expect(eq(i64, json_integer_value(json_object_get(json_array_get(page, 0), "seq")), 2));
    cr_expect(json_equal(json_array_get(page, 1), json_array_get(all, 2)));
    json_decref(page);
    page = events_page((uint64_t)total, 10);
    cr_expect(eq(sz, json_array_size(page), 0), "nothing after the last event");
    json_decref(page);
    json_decref(all);
}

Test(cov_events, a_read_that_cannot_begin_fails_without_an_answer)
{
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN), MDB_READERS_FULL, false);
    json_t *events = NULL;
    cr_expect(eq(int, billord_engine_events(h.engine, 0, 10, &events), BILLORD_E_IO));
    cr_expect(events == NULL);
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
}

Test(cov_events, a_read_that_fails_midway_returns_the_error_and_no_partial_page)
{
    json_t *events = NULL;
    faulty_lmdb_fail_at(1, FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_OPEN), ENOMEM, false);
    cr_expect(eq(int, billord_engine_events(h.engine, 0, 10, &events), BILLORD_E_NOMEM));
    cr_expect(events == NULL);
    /* The third step of the cursor fails after two events were read. */
    faulty_lmdb_fail_at(3, FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_GET), MDB_CORRUPTED, false);
    cr_expect(eq(int, billord_engine_events(h.engine, 0, 10, &events), BILLORD_E_CORRUPT));
    cr_expect(events == NULL);
    faulty_lmdb_reset();
    /* The failed reads changed nothing. */
    json_t *page = events_page(0, 10);
    cr_expect(eq(sz, json_array_size(page), 10));
    json_decref(page);
}
