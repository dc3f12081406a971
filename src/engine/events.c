/* events.c: reading the outbox (billord_engine_events) for notifiers and tools. */
#include "core/assert.h"
#include "core/text_buffer.h"
#include "engine/engine_internal.h"

/* The page being read: the array, and whether every event went into it whole. */
typedef struct events_page {
    json_t *events;
    bool ok;
} events_page;

static bool append_event(const billord_event *event, void *ctx)
{
    events_page *page = ctx;
    json_t *object = json_object();
    bool ok = true;
    billord__json_set_member(object, "seq", json_integer((json_int_t)event->seq), &ok);
    billord__json_set_member(object, "kind", json_string(event->kind), &ok);
    billord__json_set_member(object, "account", json_string(event->account), &ok);
    billord__json_set_member(object, "instance", json_string(event->instance), &ok);
    billord__json_set_member(object, "time", billord__json_time_or_null(event->at_ms), &ok);
    billord__json_set_member(object, "order_id",
                             event->order_id != 0 ? json_integer((json_int_t)event->order_id)
                                                  : json_null(),
                             &ok);
    billord__json_set_member(object, "detail", json_string(event->detail), &ok);
    if (!ok) {
        json_decref(object);
    } else {
        billord__json_append_item(page->events, object, &ok);
    }
    page->ok = ok;
    return ok;      /* an event that could not be made stops the page: it is never sent short */
}

billord_err billord_engine_events(billord_engine *engine, uint64_t after_seq, uint32_t max_count,
                                  json_t **out_events)
{
    BILLORD_ASSERT(engine != NULL && out_events != NULL);
    *out_events = NULL;
    events_page page = {json_array(), true};
    if (page.events == NULL) {
        return BILLORD_E_NOMEM;
    }
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err == BILLORD_OK) {
        err = billord__store_events(engine->store, txn, after_seq, max_count, append_event,
                                    &page);
        mdb_txn_abort(txn);
    }
    if (err == BILLORD_OK && !page.ok) {
        err = BILLORD_E_NOMEM;
    }
    if (err != BILLORD_OK) {
        json_decref(page.events);
        return err;
    }
    *out_events = page.events;
    return BILLORD_OK;
}
