/*
 * payment.c: prices and the payment waterfall (SPEC section 5).
 *
 * Promise: a payment is one step. It is planned completely on copies first (coupons
 * by earliest expiry, then balance, then credit when enabled), and only a plan that
 * covers the whole amount is written; a short plan takes nothing. Every sum is
 * overflow-checked.
 */
#include <string.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

billord_err billord__price_amount(const billord_price *price, billord_period_unit unit,
                                  uint32_t count, int64_t *out_amount_micros)
{
    BILLORD_ASSERT(count > 0);
    int64_t unit_micros = 0;
    int64_t multiplier = count;
    switch (unit) {
    case BILLORD_PERIOD_WEEK:
        unit_micros = price->week_micros;
        break;
    case BILLORD_PERIOD_MONTH:
        /* A whole number of years is sold at the year price. */
        unit_micros = count % 12 == 0 ? price->year_micros : price->month_micros;
        multiplier = count % 12 == 0 ? count / 12 : count;
        break;
    case BILLORD_PERIOD_YEAR:
        unit_micros = price->year_micros;
        break;
    default:
        return BILLORD_E_INVALID_ARGUMENT;
    }
    int64_t amount_micros = 0;
    if (unit_micros < 0 || __builtin_mul_overflow(unit_micros, multiplier, &amount_micros)) {
        return BILLORD_E_OVERFLOW;
    }
    *out_amount_micros = amount_micros;
    return BILLORD_OK;
}

static bool coupon_before(const billord_coupon *a, const billord_coupon *b)
{
    if (a->expires_ms != b->expires_ms) {
        return a->expires_ms < b->expires_ms;
    }
    return strcmp(a->id, b->id) < 0;
}

/* Keep the coupons usable now for product, sorted earliest expiry first (then by id). */
static size_t usable_coupons(billord_coupon *coupons, size_t count, billord_product product,
                             int64_t now_ms)
{
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        billord_coupon candidate = coupons[i];
        if (candidate.amount_micros <= 0 || now_ms >= candidate.expires_ms ||
            (candidate.product_mask & BILLORD_PRODUCT_BIT(product)) == 0) {
            continue;
        }
        size_t at = kept;
        while (at > 0 && coupon_before(&candidate, &coupons[at - 1])) {
            coupons[at] = coupons[at - 1];
            at--;
        }
        coupons[at] = candidate;
        kept++;
    }
    return kept;
}

/* Plan the split; returns false when the account cannot cover amount_micros. */
static bool plan_split(const billord_account *account, const billord_coupon *coupons,
                       size_t coupon_count, int64_t amount_micros, payment_split *out_split)
{
    int64_t left_micros = amount_micros;
    payment_split split = {0, 0, 0};
    for (size_t i = 0; i < coupon_count && left_micros > 0; i++) {
        int64_t take = coupons[i].amount_micros < left_micros ? coupons[i].amount_micros
                                                              : left_micros;
        split.coupon_micros += take;
        left_micros -= take;
    }
    int64_t balance_micros = account->balance_micros > 0 ? account->balance_micros : 0;
    split.balance_micros = balance_micros < left_micros ? balance_micros : left_micros;
    left_micros -= split.balance_micros;
    if (left_micros > 0 && account->credit_payment) {
        int64_t credit_left = account->credit_limit_micros - account->credit_used_micros;
        credit_left = credit_left > 0 ? credit_left : 0;
        split.credit_micros = credit_left < left_micros ? credit_left : left_micros;
        left_micros -= split.credit_micros;
    }
    BILLORD_ASSERT(left_micros >= 0);
    *out_split = split;
    return left_micros == 0;
}

static billord_err write_coupons(engine_ctx *ctx, billord_coupon *coupons, size_t coupon_count,
                                 int64_t coupon_micros)
{
    int64_t left_micros = coupon_micros;
    for (size_t i = 0; i < coupon_count && left_micros > 0; i++) {
        int64_t take = coupons[i].amount_micros < left_micros ? coupons[i].amount_micros
                                                              : left_micros;
        coupons[i].amount_micros -= take;
        left_micros -= take;
        billord_err err = billord__store_coupon_put(ctx->store, ctx->txn, &coupons[i]);
        if (err != BILLORD_OK) {
            return err;
        }
    }
    BILLORD_ASSERT(left_micros == 0);
    return BILLORD_OK;
}

billord_err billord__payment_take(engine_ctx *ctx, const char *account_id, billord_product product,
                                  int64_t amount_micros, bool *out_paid, payment_split *out_split)
{
    BILLORD_ASSERT(amount_micros >= 0);
    billord_account account;
    billord_err err = billord__store_account_get(ctx->store, ctx->txn, account_id, &account);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    billord_coupon *coupons = ctx->engine->coupon_scratch;
    size_t coupon_count = 0;
    err = billord__store_coupons_of_account(ctx->store, ctx->txn, account_id, coupons,
                                            BILLORD_COUPONS_PER_ACCOUNT_MAX, &coupon_count);
    if (err != BILLORD_OK) {
        return err;
    }
    coupon_count = usable_coupons(coupons, coupon_count, product, ctx->now_ms);
    payment_split split;
    if (!plan_split(&account, coupons, coupon_count, amount_micros, &split)) {
        *out_paid = false;
        return BILLORD_OK;
    }
    BILLORD_ASSERT(split.coupon_micros + split.balance_micros + split.credit_micros ==
                   amount_micros);
    err = write_coupons(ctx, coupons, coupon_count, split.coupon_micros);
    if (err != BILLORD_OK) {
        return err;
    }
    account.balance_micros -= split.balance_micros;
    account.credit_used_micros += split.credit_micros;
    BILLORD_ASSERT(account.credit_used_micros <= account.credit_limit_micros ||
                   split.credit_micros == 0);
    if (split.balance_micros != 0 || split.credit_micros != 0) {
        err = billord__store_account_put(ctx->store, ctx->txn, &account);
    }
    if (err == BILLORD_OK) {
        *out_paid = true;
        *out_split = split;
    }
    return err;
}
