/*
 * inspect.c: records as JSON for operators (billordctl inspect, admin endpoints).
 * Secrets of access keys are never shown.
 */
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

static json_t *account_json(billord_store *store, MDB_txn *txn, const billord_account *account,
                            billord_err *out_err)
{
    json_t *object = json_object();
    json_object_set_new(object, "id", json_string(account->id));
    json_object_set_new(object, "balance_micros", json_integer(account->balance_micros));
    json_object_set_new(object, "balance_initial_micros",
                        json_integer(account->balance_initial_micros));
    json_object_set_new(object, "credit_limit_micros", json_integer(account->credit_limit_micros));
    json_object_set_new(object, "credit_used_micros", json_integer(account->credit_used_micros));
    json_object_set_new(object, "credit_payment", json_boolean(account->credit_payment));
    json_object_set_new(object, "payment_method", json_boolean(account->payment_method));
    json_t *keys = json_array();
    for (uint32_t i = 0; i < account->access_key_count; i++) {
        json_array_append_new(keys, json_string(account->access_keys[i].id));
    }
    json_object_set_new(object, "access_keys", keys);
    billord_coupon *list = malloc(BILLORD_COUPONS_PER_ACCOUNT_MAX * sizeof *list);
    size_t count = 0;
    *out_err = list == NULL ? BILLORD_E_NOMEM
                            : billord__store_coupons_of_account(store, txn, account->id, list,
                                                                BILLORD_COUPONS_PER_ACCOUNT_MAX,
                                                                &count);
    json_t *coupon_array = json_array();
    for (size_t i = 0; *out_err == BILLORD_OK && i < count; i++) {
        json_t *coupon = json_object();
        json_object_set_new(coupon, "id", json_string(list[i].id));
        json_object_set_new(coupon, "amount_micros", json_integer(list[i].amount_micros));
        json_object_set_new(coupon, "amount_initial_micros",
                            json_integer(list[i].amount_initial_micros));
        json_object_set_new(coupon, "expires", billord__json_time_or_null(list[i].expires_ms));
        json_array_append_new(coupon_array, coupon);
    }
    free(list);
    json_object_set_new(object, "coupons", coupon_array);
    return object;
}

static json_t *instance_json(engine_ctx *ctx, const billord_instance *instance, billord_err *out_err)
{
    int64_t next_attempt_ms = 0, lock_ms = 0, release_ms = 0;
    *out_err = billord__lifecycle_view(ctx, instance, &next_attempt_ms, &lock_ms, &release_ms);
    json_t *object = json_object();
    json_object_set_new(object, "id", json_string(instance->id));
    json_object_set_new(object, "account", json_string(instance->account));
    json_object_set_new(object, "product", json_string(billord_product_name(instance->product)));
    json_object_set_new(object, "region", json_string(instance->region));
    json_object_set_new(object, "instance_type", json_string(instance->instance_type));
    json_object_set_new(object, "charge_type",
                        json_string(billord_charge_type_name(instance->charge_type)));
    json_object_set_new(object, "status", json_string(billord_instance_status_name(instance->status)));
    json_object_set_new(object, "expires", billord__json_time_or_null(instance->expires_ms));
    json_object_set_new(object, "locked_for_security", json_boolean(instance->locked_for_security));
    json_object_set_new(object, "dedicated_host_expires",
                        instance->has_dedicated_host
                            ? billord__json_time_or_null(instance->dedicated_host_expires_ms)
                            : json_null());
    json_object_set_new(object, "renewal_status",
                        json_string(billord_renewal_status_name(instance->renewal_status)));
    json_object_set_new(object, "auto_renew_duration", json_integer(instance->auto_renew_duration));
    json_object_set_new(object, "auto_renew_period_unit",
                        json_string(billord_period_unit_name(instance->auto_renew_period_unit)));
    json_object_set_new(object, "unpaid_order_count", json_integer(instance->unpaid_order_count));
    json_object_set_new(object, "next_auto_renew_attempt", billord__json_time_or_null(next_attempt_ms));
    json_object_set_new(object, "lock_time", billord__json_time_or_null(lock_ms));
    json_object_set_new(object, "release_time", billord__json_time_or_null(release_ms));
    json_object_set_new(object, "open_auto_renew_order",
                        instance->auto_renew_order_id != 0
                            ? json_integer((json_int_t)instance->auto_renew_order_id)
                            : json_null());
    json_object_set_new(object, "next_lifecycle_step", billord__json_time_or_null(instance->schedule_due_ms));
    return object;
}

static json_t *order_json(const billord_order *order)
{
    json_t *object = json_object();
    json_object_set_new(object, "id", json_integer((json_int_t)order->id));
    json_object_set_new(object, "account", json_string(order->account));
    json_object_set_new(object, "instance", json_string(order->instance));
    json_object_set_new(object, "kind", json_string(billord_order_kind_name(order->kind)));
    json_object_set_new(object, "period", json_integer(order->period_count));
    json_object_set_new(object, "period_unit", json_string(billord_period_unit_name(order->period_unit)));
    json_object_set_new(object, "amount_micros", json_integer(order->amount_micros));
    json_object_set_new(object, "coupon_paid_micros", json_integer(order->coupon_paid_micros));
    json_object_set_new(object, "balance_paid_micros", json_integer(order->balance_paid_micros));
    json_object_set_new(object, "credit_paid_micros", json_integer(order->credit_paid_micros));
    json_object_set_new(object, "status", json_string(billord_order_status_name(order->status)));
    json_object_set_new(object, "created", billord__json_time_or_null(order->created_ms));
    json_object_set_new(object, "paid", billord__json_time_or_null(order->paid_ms));
    json_object_set_new(object, "cancelled", billord__json_time_or_null(order->cancelled_ms));
    json_object_set_new(object, "client_token", json_string(order->client_token));
    json_object_set_new(object, "request_id", json_string(order->request_id));
    return object;
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
    json_t *object = json_object();
    json_object_set_new(object, "account", json_string(account));
    json_object_set_new(object, "client_token", json_string(token));
    json_object_set_new(object, "fingerprint", json_string(fingerprint_hex));
    json_object_set_new(object, "http_status", json_integer(record->http_status));
    json_object_set_new(object, "code", json_string(record->code_text));
    json_object_set_new(object, "message", json_string(record->message));
    json_object_set_new(object, "request_id", json_string(record->request_id));
    json_object_set_new(object, "order_id",
                        record->order_id != 0 ? json_integer((json_int_t)record->order_id)
                                              : json_null());
    json_object_set_new(object, "created", billord__json_time_or_null(record->created_ms));
    return object;
}

static billord_err summary_json(billord_engine *engine, MDB_txn *txn, json_t **out_json)
{
    json_t *object = json_object();
    static const billord_db_id counted[] = {BILLORD_DB_ACCOUNTS, BILLORD_DB_INSTANCES,
                                            BILLORD_DB_ORDERS, BILLORD_DB_TOKENS,
                                            BILLORD_DB_COUPONS, BILLORD_DB_PRICES};
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        MDB_stat stat;
        int rc = mdb_stat(txn, engine->store->dbis[counted[i]], &stat);
        if (rc != MDB_SUCCESS) {
            json_decref(object);
            return billord__store_err(rc);
        }
        json_object_set_new(object, billord__store_db_name(counted[i]),
                            json_integer((json_int_t)stat.ms_entries));
    }
    uint64_t value = 0;
    int64_t clock_ms = 0;
    if (billord__store_meta_get_u64(engine->store, txn, "next_order_id", &value) != BILLORD_OK) {
        value = BILLORD_ORDER_ID_FIRST;
    }
    json_object_set_new(object, "next_order_id", json_integer((json_int_t)value));
    if (billord__store_meta_get_u64(engine->store, txn, "applied_lsn", &value) != BILLORD_OK) {
        value = 0;
    }
    json_object_set_new(object, "applied_lsn", json_integer((json_int_t)value));
    if (billord__store_meta_get_i64(engine->store, txn, "clock_ms", &clock_ms) != BILLORD_OK) {
        clock_ms = 0;
    }
    json_object_set_new(object, "clock", billord__json_time_or_null(clock_ms));
    if (billord__store_meta_get_u64(engine->store, txn, "next_event_seq", &value) != BILLORD_OK) {
        value = 1;
    }
    json_object_set_new(object, "events", json_integer((json_int_t)(value - 1)));
    *out_json = object;
    return BILLORD_OK;
}

static billord_err inspect_in(billord_engine *engine, MDB_txn *txn, billord_inspect_kind kind,
                              const char *id, json_t **out_json)
{
    billord_store *store = engine->store;
    billord_err err = BILLORD_E_INVALID_ARGUMENT;
    if (kind == BILLORD_INSPECT_SUMMARY) {
        return summary_json(engine, txn, out_json);
    }
    if (kind == BILLORD_INSPECT_ACCOUNT) {
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
    return err;
}

billord_err billord_engine_inspect(billord_engine *engine, billord_inspect_kind kind,
                                   const char *id, json_t **out_json)
{
    BILLORD_ASSERT(engine != NULL && out_json != NULL);
    if (kind != BILLORD_INSPECT_SUMMARY && (id == NULL || id[0] == '\0')) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, true, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    *out_json = NULL;
    err = inspect_in(engine, txn, kind, id, out_json);
    mdb_txn_abort(txn);
    if (err != BILLORD_OK && *out_json != NULL) {
        json_decref(*out_json);
        *out_json = NULL;
    }
    return err;
}
