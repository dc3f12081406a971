/*
 * seed.c: load a parsed fixture into an empty store in one transaction (all or nothing).
 */
#include <string.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

static billord_err seed_accounts(billord_store *store, MDB_txn *txn,
                                 const billord_fixture *fixture)
{
    for (size_t i = 0; i < fixture->account_count; i++) {
        const billord_account *account = &fixture->accounts[i];
        billord_err err = billord__store_account_put(store, txn, account);
        for (uint32_t k = 0; err == BILLORD_OK && k < account->access_key_count; k++) {
            billord_access_key_record key;
            memset(&key, 0, sizeof key);
            memcpy(key.account, account->id, sizeof key.account);
            memcpy(key.secret, account->access_keys[k].secret, sizeof key.secret);
            err = billord__store_access_key_put(store, txn, account->access_keys[k].id, &key);
        }
        if (err != BILLORD_OK) {
            return err;
        }
    }
    return BILLORD_OK;
}

/* Coupons per account are bounded (the payment step reads them all). */
static billord_err seed_coupons(billord_store *store, MDB_txn *txn, const billord_fixture *fixture)
{
    for (size_t i = 0; i < fixture->coupon_count; i++) {
        size_t same_account = 0;
        for (size_t j = 0; j < fixture->coupon_count; j++) {
            same_account += strcmp(fixture->coupons[j].account, fixture->coupons[i].account) == 0;
        }
        if (same_account > BILLORD_COUPONS_PER_ACCOUNT_MAX) {
            return BILLORD_E_TOO_LARGE;
        }
        billord_err err = billord__store_coupon_put(store, txn, &fixture->coupons[i]);
        if (err != BILLORD_OK) {
            return err;
        }
    }
    return BILLORD_OK;
}

static billord_err seed_rest(billord_engine *engine, MDB_txn *txn, const billord_fixture *fixture)
{
    billord_store *store = engine->store;
    billord_err err = BILLORD_OK;
    for (size_t i = 0; i < fixture->price_count && err == BILLORD_OK; i++) {
        err = billord__store_price_put(store, txn, &fixture->prices[i]);
    }
    /* Instances go through instance_save so that each gets its schedule row. */
    engine_ctx ctx = {engine, store, txn, NULL, fixture->has_clock ? fixture->clock_ms : 0};
    for (size_t i = 0; i < fixture->instance_count && err == BILLORD_OK; i++) {
        billord_instance instance = fixture->instances[i];
        if (instance.renewal_status == BILLORD_RENEWAL_AUTO && instance.auto_renew_from_ms == 0) {
            /* Charges start from the seed: none is made for a slot before billord knew it. */
            instance.auto_renew_from_ms = ctx.now_ms;
        }
        err = billord__instance_save(&ctx, &instance);
    }
    uint64_t next_order_id = BILLORD_ORDER_ID_FIRST;
    for (size_t i = 0; i < fixture->order_count && err == BILLORD_OK; i++) {
        const billord_order *order = &fixture->orders[i];
        if (order->id >= next_order_id) {
            next_order_id = order->id + 1;
        }
        err = billord__store_order_put(store, txn, order, true);
    }
    if (err == BILLORD_OK && next_order_id >= BILLORD_ORDER_ID_LIMIT) {
        err = BILLORD_E_TOO_LARGE;
    }
    if (err == BILLORD_OK) {
        err = billord__store_meta_put_u64(store, txn, "next_order_id", next_order_id);
    }
    if (err == BILLORD_OK) {
        err = billord__store_meta_put_i64(store, txn, "clock_ms",
                                          fixture->has_clock ? fixture->clock_ms : 0);
    }
    if (err == BILLORD_OK) {
        engine->next_order_id = next_order_id;
        engine->clock_ms = fixture->has_clock ? fixture->clock_ms : 0;
    }
    return err;
}

billord_err billord_engine_seed(billord_engine *engine, const billord_fixture *fixture)
{
    BILLORD_ASSERT(engine != NULL && fixture != NULL);
    MDB_txn *txn = NULL;
    billord_err err = billord__store_begin(engine->store, NULL, false, &txn);
    if (err != BILLORD_OK) {
        return err;
    }
    bool empty = false;
    err = billord__store_is_empty(engine->store, txn, &empty);
    if (err == BILLORD_OK && !empty) {
        err = BILLORD_E_NOT_EMPTY;
    }
    uint64_t next_order_id_before = engine->next_order_id;
    int64_t clock_before_ms = engine->clock_ms;
    if (err == BILLORD_OK) {
        err = seed_accounts(engine->store, txn, fixture);
    }
    if (err == BILLORD_OK) {
        err = seed_coupons(engine->store, txn, fixture);
    }
    if (err == BILLORD_OK) {
        err = seed_rest(engine, txn, fixture);
    }
    if (err != BILLORD_OK) {
        mdb_txn_abort(txn);
        engine->next_order_id = next_order_id_before;
        engine->clock_ms = clock_before_ms;
        return err;
    }
    err = billord__store_err(mdb_txn_commit(txn));
    /* The seed is not in the log: it must be on disk before any logged command builds on it,
     * whatever LMDB's sync mode. */
    return err == BILLORD_OK ? billord__store_err(mdb_env_sync(engine->store->env, 1)) : err;
}
