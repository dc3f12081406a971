/*
 * inspect.c: records as JSON for operators (billordctl inspect, admin endpoints).
 * Secrets of access keys are never shown.
 */
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/text_buffer.h"
#include "engine/engine_internal.h"

/* Each builder answers its object, or NULL when any member could not be made (out of memory:
 * a record is never shown without one of its members). */

/* object when ok, else NULL (object freed). */
static json_t *whole_or_null(json_t *object, bool ok)
{
    if (!ok) {
        json_decref(object);
        return NULL;
    }
    return object;
}

static json_t *coupon_json(const billord_coupon *coupon)
{
    bool ok = true;
    json_t *object = json_object();
    billord__json_set_member(object, "id", json_string(coupon->id), &ok);
    billord__json_set_member(object, "amount_micros", json_integer(coupon->amount_micros), &ok);
    billord__json_set_member(object, "amount_initial_micros",
                             json_integer(coupon->amount_initial_micros), &ok);
    billord__json_set_member(object, "expires", billord__json_time_or_null(coupon->expires_ms),
                             &ok);
    return whole_or_null(object, ok);
}

/* The account's coupons; NULL with *out_err set when they cannot be read, or with
 * *out_err BILLORD_OK when the array could not be made. */
static json_t *coupons_json(billord_store *store, MDB_txn *txn, const char *account_id,
                            billord_err *out_err)
{
    billord_coupon *list = malloc(BILLORD_COUPONS_PER_ACCOUNT_MAX * sizeof *list);
    size_t count = 0;
    *out_err = list == NULL ? BILLORD_E_NOMEM
                            : billord__store_coupons_of_account(store, txn, account_id, list,
                                                                BILLORD_COUPONS_PER_ACCOUNT_MAX,
                                                                &count);
    json_t *coupon_array = NULL;
    if (*out_err == BILLORD_OK) {
        bool ok = true;
        coupon_array = json_array();
        for (size_t i = 0; ok && i < count; i++) {
            billord__json_append_item(coupon_array, coupon_json(&list[i]), &ok);
        }
        coupon_array = whole_or_null(coupon_array, ok);
    }
    free(list);
    return coupon_array;
}

/* NULL with *out_err set when the coupons cannot be read; NULL with *out_err BILLORD_OK when
 * a member could not be made. */
static json_t *account_json(billord_store *store, MDB_txn *txn, const billord_account *account,
                            billord_err *out_err)
{
    *out_err = BILLORD_OK;
    bool ok = true;
    json_t *object = json_object();
    billord__json_set_member(object, "id", json_string(account->id), &ok);
    billord__json_set_member(object, "balance_micros", json_integer(account->balance_micros), &ok);
    billord__json_set_member(object, "balance_initial_micros",
                             json_integer(account->balance_initial_micros), &ok);
    billord__json_set_member(object, "credit_limit_micros",
                             json_integer(account->credit_limit_micros), &ok);
    billord__json_set_member(object, "credit_used_micros",
                             json_integer(account->credit_used_micros), &ok);
    billord__json_set_member(object, "credit_payment", json_boolean(account->credit_payment), &ok);
    billord__json_set_member(object, "payment_method", json_boolean(account->payment_method), &ok);
    json_t *keys = json_array();
    for (uint32_t i = 0; i < account->access_key_count; i++) {
        billord__json_append_item(keys, json_string(account->access_keys[i].id), &ok);
    }
    billord__json_set_member(object, "access_keys", keys, &ok);
    if (ok) {
        json_t *coupons = coupons_json(store, txn, account->id, out_err);
        if (*out_err == BILLORD_OK) {
            billord__json_set_member(object, "coupons", coupons, &ok);
        }
    }
    return whole_or_null(object, ok && *out_err == BILLORD_OK);
}

/* NULL with *out_err set when the schedule cannot be read; NULL with *out_err BILLORD_OK
 * when a member could not be made. */
static json_t *instance_json(engine_ctx *ctx, const billord_instance *instance, billord_err *out_err)
{
    int64_t next_attempt_ms = 0, lock_ms = 0, release_ms = 0;
    *out_err = billord__lifecycle_view(ctx, instance, &next_attempt_ms, &lock_ms, &release_ms);
    if (*out_err != BILLORD_OK) {
        return NULL;
    }
    bool ok = true;
    json_t *object = json_object();
    billord__json_set_member(object, "id", json_string(instance->id), &ok);
    billord__json_set_member(object, "account", json_string(instance->account), &ok);
    billord__json_set_member(object, "product",
                             json_string(billord_product_name(instance->product)), &ok);
    billord__json_set_member(object, "region", json_string(instance->region), &ok);
    billord__json_set_member(object, "instance_type", json_string(instance->instance_type), &ok);
    billord__json_set_member(object, "charge_type",
                             json_string(billord_charge_type_name(instance->charge_type)), &ok);
    billord__json_set_member(object, "status",
                             json_string(billord_instance_status_name(instance->status)), &ok);
    billord__json_set_member(object, "expires", billord__json_time_or_null(instance->expires_ms),
                             &ok);
    billord__json_set_member(object, "locked_for_security",
                             json_boolean(instance->locked_for_security), &ok);
    billord__json_set_member(object, "dedicated_host_expires",
                             instance->has_dedicated_host
                                 ? billord__json_time_or_null(instance->dedicated_host_expires_ms)
                                 : json_null(),
                             &ok);
    billord__json_set_member(object, "renewal_status",
                             json_string(billord_renewal_status_name(instance->renewal_status)),
                             &ok);
    billord__json_set_member(object, "auto_renew_duration",
                             json_integer(instance->auto_renew_duration), &ok);
    const char *unit_name = billord_period_unit_name(instance->auto_renew_period_unit);
    billord__json_set_member(object, "auto_renew_period_unit", json_string(unit_name), &ok);
    billord__json_set_member(object, "unpaid_order_count",
                             json_integer(instance->unpaid_order_count), &ok);
    billord__json_set_member(object, "next_auto_renew_attempt",
                             billord__json_time_or_null(next_attempt_ms), &ok);
    billord__json_set_member(object, "lock_time", billord__json_time_or_null(lock_ms), &ok);
    billord__json_set_member(object, "release_time", billord__json_time_or_null(release_ms), &ok);
    billord__json_set_member(object, "open_auto_renew_order",
                             instance->auto_renew_order_id != 0
                                 ? json_integer((json_int_t)instance->auto_renew_order_id)
                                 : json_null(),
                             &ok);
    billord__json_set_member(object, "next_lifecycle_step",
                             billord__json_time_or_null(instance->schedule_due_ms), &ok);
    return whole_or_null(object, ok);
}

static json_t *order_json(const billord_order *order)
{
    bool ok = true;
    json_t *object = json_object();
    billord__json_set_member(object, "id", json_integer((json_int_t)order->id), &ok);
    billord__json_set_member(object, "account", json_string(order->account), &ok);
    billord__json_set_member(object, "instance", json_string(order->instance), &ok);
    billord__json_set_member(object, "kind", json_string(billord_order_kind_name(order->kind)),
                             &ok);
    billord__json_set_member(object, "period", json_integer(order->period_count), &ok);
    billord__json_set_member(object, "period_unit",
                             json_string(billord_period_unit_name(order->period_unit)), &ok);
    billord__json_set_member(object, "amount_micros", json_integer(order->amount_micros), &ok);
    billord__json_set_member(object, "coupon_paid_micros", json_integer(order->coupon_paid_micros),
                             &ok);
    billord__json_set_member(object, "balance_paid_micros",
                             json_integer(order->balance_paid_micros), &ok);
    billord__json_set_member(object, "credit_paid_micros", json_integer(order->credit_paid_micros),
                             &ok);
    billord__json_set_member(object, "status",
                             json_string(billord_order_status_name(order->status)), &ok);
    billord__json_set_member(object, "created", billord__json_time_or_null(order->created_ms), &ok);
    billord__json_set_member(object, "paid", billord__json_time_or_null(order->paid_ms), &ok);
    billord__json_set_member(object, "cancelled", billord__json_time_or_null(order->cancelled_ms),
                             &ok);
    billord__json_set_member(object, "client_token", json_string(order->client_token), &ok);
    billord__json_set_member(object, "request_id", json_string(order->request_id), &ok);
    return whole_or_null(object, ok);
}

static json_t *token_json(const char *account, const char *token,
                          const billord_token_record *record)
{
    static const char hex_digits[] = "0123456789abcdef";
    char fingerprint_hex[2 * BILLORD_FINGERPRINT_BYTES + 1];
    for (unsigned i = 0; i < BILLORD_FINGERPRINT_BYTES; i++) {
        fingerprint_hex[2 * i] = hex_digits[record->fingerprint[i] >> 4];
        fingerprint_hex[2 * i + 1] = hex_digits[record->fingerprint[i] & 15];
    }
    fingerprint_hex[2 * BILLORD_FINGERPRINT_BYTES] = '\0';
    bool ok = true;
    json_t *object = json_object();
    billord__json_set_member(object, "account", json_string(account), &ok);
    billord__json_set_member(object, "client_token", json_string(token), &ok);
    billord__json_set_member(object, "fingerprint", json_string(fingerprint_hex), &ok);
    billord__json_set_member(object, "http_status", json_integer(record->http_status), &ok);
    billord__json_set_member(object, "code", json_string(record->code_text), &ok);
    billord__json_set_member(object, "message", json_string(record->message), &ok);
    billord__json_set_member(object, "request_id", json_string(record->request_id), &ok);
    billord__json_set_member(object, "order_id",
                             record->order_id != 0 ? json_integer((json_int_t)record->order_id)
                                                   : json_null(),
                             &ok);
    billord__json_set_member(object, "created", billord__json_time_or_null(record->created_ms),
                             &ok);
    return whole_or_null(object, ok);
}

/* A meta value, or fallback when the store has none; other failures are reported (a summary
 * never shows a default in place of a value it could not read). */
static billord_err meta_u64_or(billord_store *store, MDB_txn *txn, const char *name,
                               uint64_t fallback, uint64_t *out)
{
    billord_err err = billord__store_meta_get_u64(store, txn, name, out);
    if (err == BILLORD_E_NOT_FOUND) {
        *out = fallback;
        err = BILLORD_OK;
    }
    return err;
}

static billord_err summary_json(billord_engine *engine, MDB_txn *txn, json_t **out_json)
{
    billord_store *store = engine->store;
    bool ok = true;
    json_t *object = json_object();
    static const billord_db_id counted[] = {BILLORD_DB_ACCOUNTS, BILLORD_DB_INSTANCES,
                                            BILLORD_DB_ORDERS, BILLORD_DB_TOKENS,
                                            BILLORD_DB_COUPONS, BILLORD_DB_PRICES};
    billord_err err = BILLORD_OK;
    for (size_t i = 0; err == BILLORD_OK && i < sizeof counted / sizeof counted[0]; i++) {
        MDB_stat stat;
        err = billord__store_err(mdb_stat(txn, store->dbis[counted[i]], &stat));
        if (err == BILLORD_OK) {
            billord__json_set_member(object, billord__store_db_name(counted[i]),
                                     json_integer((json_int_t)stat.ms_entries), &ok);
        }
    }
    uint64_t next_order_id = 0, applied_lsn = 0, next_event_seq = 0;
    int64_t clock_ms = 0;
    if (err == BILLORD_OK) {
        err = meta_u64_or(store, txn, "next_order_id", BILLORD_ORDER_ID_FIRST, &next_order_id);
    }
    if (err == BILLORD_OK) {
        err = meta_u64_or(store, txn, "applied_lsn", 0, &applied_lsn);
    }
    if (err == BILLORD_OK) {
        err = billord__store_meta_get_i64(store, txn, "clock_ms", &clock_ms);
        err = err == BILLORD_E_NOT_FOUND ? BILLORD_OK : err;     /* 0: no clock yet */
    }
    if (err == BILLORD_OK) {
        err = meta_u64_or(store, txn, "next_event_seq", 1, &next_event_seq);
    }
    if (err != BILLORD_OK) {
        json_decref(object);
        return err;
    }
    billord__json_set_member(object, "next_order_id", json_integer((json_int_t)next_order_id),
                             &ok);
    billord__json_set_member(object, "applied_lsn", json_integer((json_int_t)applied_lsn), &ok);
    billord__json_set_member(object, "clock", billord__json_time_or_null(clock_ms), &ok);
    billord__json_set_member(object, "events", json_integer((json_int_t)(next_event_seq - 1)),
                             &ok);
    *out_json = whole_or_null(object, ok);
    return BILLORD_OK;
}

static billord_err inspect_in(billord_engine *engine, MDB_txn *txn, billord_inspect_kind kind,
                              const char *id, json_t **out_json)
{
    billord_store *store = engine->store;
    billord_err err = BILLORD_E_INVALID_ARGUMENT;
    if (kind == BILLORD_INSPECT_SUMMARY) {
        err = summary_json(engine, txn, out_json);
    } else if (kind == BILLORD_INSPECT_ACCOUNT) {
        billord_account account;
        err = billord__store_account_get(store, txn, id, &account);
        if (err == BILLORD_OK) {
            *out_json = account_json(store, txn, &account, &err);
        }
    } else if (kind == BILLORD_INSPECT_INSTANCE) {
        billord_instance instance;
        err = billord__store_instance_get(store, txn, id, &instance);
        if (err == BILLORD_OK) {
            engine_ctx ctx = {engine, store, txn, NULL, engine->clock_ms};
            *out_json = instance_json(&ctx, &instance, &err);
        }
    } else if (kind == BILLORD_INSPECT_ORDER) {
        uint64_t order_id = 0;
        billord_order order;
        err = billord__parse_uint(id, &order_id) ? billord__store_order_get(store, txn, order_id, &order)
                                                  : BILLORD_E_INVALID_ARGUMENT;
        if (err == BILLORD_OK) {
            *out_json = order_json(&order);
        }
    } else if (kind == BILLORD_INSPECT_TOKEN) {
        const char *colon = strchr(id, ':');
        char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1];
        size_t account_bytes = colon != NULL ? (size_t)(colon - id) : 0;
        if (colon == NULL || account_bytes == 0 || account_bytes > BILLORD_ACCOUNT_ID_BYTES_MAX ||
            !billord__client_token_valid(colon + 1)) {
            return BILLORD_E_INVALID_ARGUMENT;
        }
        memcpy(account, id, account_bytes);
        account[account_bytes] = '\0';
        billord_token_record *record = malloc(sizeof *record);
        err = record == NULL ? BILLORD_E_NOMEM
                             : billord__store_token_get(store, txn, account, colon + 1, record);
        if (err == BILLORD_OK) {
            *out_json = token_json(account, colon + 1, record);
        }
        free(record);
    }
    if (err == BILLORD_OK && *out_json == NULL) {
        err = BILLORD_E_NOMEM;      /* a record that could not be made whole */
    }
    return err;
}

billord_err billord_engine_inspect(billord_engine *engine, billord_inspect_kind kind,
                                   const char *id, json_t **out_json)
{
    BILLORD_ASSERT(engine != NULL && out_json != NULL);
    *out_json = NULL;
    if (kind != BILLORD_INSPECT_SUMMARY && (id == NULL || id[0] == '\0')) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    err = inspect_in(engine, txn, kind, id, out_json);
    mdb_txn_abort(txn);
    /* The builders free what they made when they fail: an answer is whole or absent. */
    BILLORD_ASSERT(err == BILLORD_OK || *out_json == NULL);
    return err;
}
