/* events.c: reading the outbox (billord_engine_events) for notifiers and tools. */
#include "core/assert.h"
#include "engine/engine_internal.h"

static bool append_event(const billord_event *event, void *ctx)
{
    json_t *object = json_object();
    json_object_set_new(object, "seq", json_integer((json_int_t)event->seq));
    json_object_set_new(object, "kind", json_string(event->kind));
    json_object_set_new(object, "account", json_string(event->account));
    json_object_set_new(object, "instance", json_string(event->instance));
    json_object_set_new(object, "time", billord__json_time_or_null(event->at_ms));
    json_object_set_new(object, "order_id",
                        event->order_id != 0 ? json_integer((json_int_t)event->order_id) : json_null());
    json_object_set_new(object, "detail", json_string(event->detail));
    json_array_append_new((json_t *)ctx, object);
    return true;
}

billord_err billord_engine_events(billord_engine *engine, uint64_t after_seq, uint32_t max_count,
                                  json_t **out_events)
{
    BILLORD_ASSERT(engine != NULL && out_events != NULL);
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    json_t *events = json_array();
    err = billord__store_events(engine->store, txn, after_seq, max_count, append_event, events);
    mdb_txn_abort(txn);
    if (err != BILLORD_OK) {
        json_decref(events);
        return err;
    }
    *out_events = events;
    return BILLORD_OK;
}
