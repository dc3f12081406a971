/*
 * test_payment.c: prices and the payment waterfall (SPEC section 5).
 *
 * Method: tiny fixtures built for each case (tests/fixtures/payment.json) so that every
 * micro can be predicted: coupons by earliest expiry and product, partial coupon use,
 * balance, credit only when enabled, nothing taken when short, overflow rejected.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "engine/engine_internal.h"
#include "support/harness.h"

#define PAY_ACCOUNT "5000000000000005"
#define CREDIT_ACCOUNT "6000000000000006"
#define CREDIT_OFF_ACCOUNT "7000000000000007"

static harness h;

static void open_payment(void)
{
    harness_open(&h, "tests/fixtures/payment.json");
}

static void close_payment(void)
{
    harness_close(&h);
}

TestSuite(payment, .init = open_payment, .fini = close_payment, .timeout = 30);

static billord_outcome renew(const char *account, const char *instance, const char *period,
                             const char *unit)
{
    return harness_call(&h, account, "RenewInstance", "InstanceId", instance, "Period", period,
                        "PeriodUnit", unit, NULL);
}

Test(payment, coupons_first_by_earliest_expiry_then_balance)
{
    /* 100 owed: coupon "b-early" (30, expires first) then "a-late" (50), then 20 balance. */
    billord_outcome paid = renew(PAY_ACCOUNT, "i-pay0001", "1", "Month");
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    billord_order order;
    cr_assert(harness_order(&h, paid.order_id, &order));
    cr_expect(eq(i64, order.amount_micros, 100000000));
    cr_expect(eq(i64, order.coupon_paid_micros, 80000000));
    cr_expect(eq(i64, order.balance_paid_micros, 20000000));
    cr_expect(eq(i64, order.credit_paid_micros, 0));
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "b-early"), 0));
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "a-late"), 0));
    cr_expect(eq(i64, harness_account(&h, PAY_ACCOUNT).balance_micros, 980000000));
}

Test(payment, partial_coupon_use_leaves_the_rest)
{
    /* One week costs 25: all from "b-early" (30), which keeps 5. */
    billord_outcome paid = renew(PAY_ACCOUNT, "i-pay0001", "1", "Week");
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "b-early"), 5000000));
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "a-late"), 50000000));
    cr_expect(eq(i64, harness_account(&h, PAY_ACCOUNT).balance_micros, 1000000000));
}

Test(payment, coupon_for_another_product_is_not_used)
{
    /* "rds-only" (40) must not pay for ECS. */
    renew(PAY_ACCOUNT, "i-pay0001", "1", "Month");
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "rds-only"), 40000000));
}

Test(payment, expired_coupon_is_not_used)
{
    renew(PAY_ACCOUNT, "i-pay0001", "1", "Month");
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "expired"), 70000000));
}

Test(payment, coupon_expiring_at_now_is_not_used)
{
    h.now_ms = 1797120000000LL;   /* 2026-12-13T00:00:00Z: "b-early" expires exactly now */
    billord_outcome paid = renew(PAY_ACCOUNT, "i-pay0001", "1", "Week");
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "b-early"), 30000000));
    cr_expect(eq(i64, harness_coupon_left(&h, PAY_ACCOUNT, "a-late"), 25000000));
}

Test(payment, credit_covers_the_rest_when_enabled)
{
    /* Balance 10, credit limit 300: 100 owed = 10 balance + 90 credit. */
    billord_outcome paid = renew(CREDIT_ACCOUNT, "i-credit0001", "1", "Month");
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    billord_order order;
    cr_assert(harness_order(&h, paid.order_id, &order));
    cr_expect(eq(i64, order.balance_paid_micros, 10000000));
    cr_expect(eq(i64, order.credit_paid_micros, 90000000));
    billord_account account = harness_account(&h, CREDIT_ACCOUNT);
    cr_expect(eq(i64, account.balance_micros, 0));
    cr_expect(eq(i64, account.credit_used_micros, 90000000));
}

Test(payment, credit_limit_is_a_hard_ceiling)
{
    /* 3 months = 300 > 10 balance + 290 credit? limit is 300, so 10 + 290 = 300 pays. */
    billord_outcome first = renew(CREDIT_ACCOUNT, "i-credit0001", "3", "Month");
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    /* Now 10 credit is left: one more week (25) is short, and nothing is taken. */
    billord_account before = harness_account(&h, CREDIT_ACCOUNT);
    billord_outcome second = renew(CREDIT_ACCOUNT, "i-credit0001", "1", "Week");
    cr_assert(eq(int, second.code, BILLORD_API_NOT_ENOUGH_BALANCE));
    billord_account after = harness_account(&h, CREDIT_ACCOUNT);
    cr_expect(eq(i64, after.credit_used_micros, before.credit_used_micros));
    cr_expect(eq(i64, after.balance_micros, before.balance_micros));
}

Test(payment, credit_not_used_when_disabled_and_nothing_taken)
{
    int64_t orders = harness_order_count(&h);
    billord_outcome refused = renew(CREDIT_OFF_ACCOUNT, "i-credoff0001", "1", "Month");
    cr_assert(eq(int, refused.code, BILLORD_API_NOT_ENOUGH_BALANCE));
    cr_assert(eq(int, billord_api_code_status(refused.code), 403));
    billord_account account = harness_account(&h, CREDIT_OFF_ACCOUNT);
    cr_expect(eq(i64, account.balance_micros, 10000000));
    cr_expect(eq(i64, account.credit_used_micros, 0));
    cr_expect(eq(i64, harness_coupon_left(&h, CREDIT_OFF_ACCOUNT, "small"), 5000000),
              "a short payment takes no coupon either");
    cr_expect(eq(i64, harness_order_count(&h), orders));
}

Test(payment, exact_balance_pays)
{
    /* 10 balance + 5 coupon = 15 would not pay a week (25); a cheaper type: 15 exactly. */
    billord_outcome paid = renew(CREDIT_OFF_ACCOUNT, "i-credoff0002", "1", "Week");
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    billord_account account = harness_account(&h, CREDIT_OFF_ACCOUNT);
    cr_expect(eq(i64, account.balance_micros, 0));
    cr_expect(eq(i64, harness_coupon_left(&h, CREDIT_OFF_ACCOUNT, "small"), 0));
}

Test(payment, twelve_months_is_the_year_price)
{
    billord_outcome paid = renew(PAY_ACCOUNT, "i-pay0001", "12", "Month");
    cr_assert(eq(int, paid.code, BILLORD_API_OK));
    billord_order order;
    cr_assert(harness_order(&h, paid.order_id, &order));
    cr_expect(eq(i64, order.amount_micros, 900000000));
}

Test(payment, twenty_four_months_is_two_year_prices)
{
    /* 2 x 900 = 1800 > funds (80 coupons + 1000): refused, nothing taken. */
    billord_outcome refused = renew(PAY_ACCOUNT, "i-pay0001", "24", "Month");
    cr_assert(eq(int, refused.code, BILLORD_API_NOT_ENOUGH_BALANCE));
    cr_expect(eq(i64, harness_account(&h, PAY_ACCOUNT).balance_micros, 1000000000));
}

Test(payment, amount_overflow_is_an_error_not_a_wrap)
{
    billord_price price = {.week_micros = INT64_MAX / 2, .month_micros = INT64_MAX / 3,
                           .year_micros = INT64_MAX};
    int64_t amount = -1;
    cr_assert(eq(int, billord__price_amount(&price, BILLORD_PERIOD_WEEK, 3, &amount),
                 BILLORD_E_OVERFLOW));
    cr_assert(eq(i64, amount, -1));
    cr_assert(eq(int, billord__price_amount(&price, BILLORD_PERIOD_MONTH, 24, &amount),
                 BILLORD_E_OVERFLOW));
    cr_assert(eq(int, billord__price_amount(&price, BILLORD_PERIOD_MONTH, 2, &amount), BILLORD_OK));
    cr_assert(eq(i64, amount, (INT64_MAX / 3) * 2));
}

Test(payment, overflowing_price_gives_internal_error_and_changes_nothing)
{
    int64_t orders = harness_order_count(&h);
    billord_outcome failed = renew(PAY_ACCOUNT, "i-huge0001", "9", "Month");
    cr_assert(eq(int, failed.code, BILLORD_API_INTERNAL_ERROR));
    cr_expect(eq(i64, harness_order_count(&h), orders));
    cr_expect(eq(i64, harness_account(&h, PAY_ACCOUNT).balance_micros, 1000000000));
}

Test(payment, money_invariant_holds_after_mixed_payments)
{
    renew(PAY_ACCOUNT, "i-pay0001", "1", "Week");
    renew(PAY_ACCOUNT, "i-pay0001", "2", "Month");
    renew(CREDIT_ACCOUNT, "i-credit0001", "1", "Month");
    static const char *const accounts[] = {PAY_ACCOUNT, CREDIT_ACCOUNT};
    for (size_t a = 0; a < 2; a++) {
        billord_account account = harness_account(&h, accounts[a]);
        int64_t balance_paid = 0;
        int64_t credit_paid = 0;
        for (uint64_t id = BILLORD_ORDER_ID_FIRST; id < BILLORD_ORDER_ID_FIRST + 10; id++) {
            billord_order order;
            if (harness_order(&h, id, &order) && strcmp(order.account, accounts[a]) == 0) {
                balance_paid += order.balance_paid_micros;
                credit_paid += order.credit_paid_micros;
            }
        }
        cr_expect(eq(i64, account.balance_initial_micros, account.balance_micros + balance_paid));
        cr_expect(eq(i64, account.credit_used_micros, credit_paid));
    }
}
