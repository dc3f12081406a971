/*
 * action_orders.c: DescribeOrders, PayOrder and CancelOrder (SPEC section 3, "Orders").
 *
 * An order of another account is answered exactly as a missing one.
 */
#include <string.h>

#include <billord/timeutil.h>

#include "core/assert.h"
#include "core/text_buffer.h"
#include "engine/engine_internal.h"

/* ---- PayOrder and CancelOrder ----------------------------------------------------- */

static void order_validate(engine_request *request, billord_outcome *outcome)
{
    const char *order_text = billord__param_get(request->command, "OrderId");
    if (order_text == NULL || order_text[0] == '\0') {
        billord__outcome_error(outcome, BILLORD_API_MISSING_PARAMETER, "OrderId");
        return;
    }
    uint64_t order_id = 0;
    if (!billord__parse_uint(order_text, &order_id) || order_id == 0 ||
        order_id >= BILLORD_ORDER_ID_LIMIT) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PARAMETER, "OrderId");
        return;
    }
    if (!billord__param_client_token(request->command, &request->client_token, outcome)) {
        return;
    }
    request->as.order.order_id = order_id;
    billord__canonical_add(&request->canonical, "OrderId", order_text);
}

/* Load the caller's Unpaid order and its instance; false with the outcome set otherwise. */
static billord_err open_order_load(engine_ctx *ctx, uint64_t order_id, billord_order *order,
                                   billord_instance *instance, bool *out_found,
                                   billord_outcome *outcome)
{
    *out_found = false;
    billord_err err = billord__store_order_get(ctx->store, ctx->txn, order_id, order);
    if (err == BILLORD_E_NOT_FOUND ||
        (err == BILLORD_OK && strcmp(order->account, ctx->command->account) != 0)) {
        billord__outcome_error(outcome, BILLORD_API_ORDER_NOT_FOUND, NULL);
        return BILLORD_OK;
    }
    if (err != BILLORD_OK) {
        return err;
    }
    if (order->status != BILLORD_ORDER_UNPAID) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_ORDER_STATUS, NULL);
        return BILLORD_OK;
    }
    err = billord__store_instance_get(ctx->store, ctx->txn, order->instance, instance);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    BILLORD_ASSERT(instance->unpaid_order_count > 0);
    *out_found = true;
    return BILLORD_OK;
}

static bool pay_allowed(const billord_order *order, const billord_instance *instance,
                        billord_outcome *outcome)
{
    if (instance->status == BILLORD_STATUS_RELEASED) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_INSTANCE_STATUS, NULL);
        return false;
    }
    if (order->kind == BILLORD_ORDER_CHANGE_PAY_TYPE &&
        instance->charge_type == BILLORD_CHARGE_PREPAID) {
        billord__outcome_error(outcome, BILLORD_API_INCORRECT_DB_PAY_TYPE, NULL);
        return false;
    }
    return true;
}

static billord_err pay_apply(engine_ctx *ctx, engine_request *request, billord_outcome *outcome)
{
    billord_order order;
    billord_instance instance;
    bool found = false;
    billord_err err = open_order_load(ctx, request->as.order.order_id, &order, &instance,
                                      &found, outcome);
    if (err != BILLORD_OK || !found || !pay_allowed(&order, &instance, outcome)) {
        return err;
    }
    billord_account account;
    err = billord__store_account_get(ctx->store, ctx->txn, order.account, &account);
    if (err != BILLORD_OK) {
        return err == BILLORD_E_NOT_FOUND ? BILLORD_E_CORRUPT : err;
    }
    if (!account.payment_method) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PAYMENT_METHOD_MISSING, NULL);
        return BILLORD_OK;
    }
    billord_instance updated;
    err = billord__order_effect_plan(&order, &instance, ctx->now_ms, &updated);
    if (err != BILLORD_OK) {
        return err;                         /* before any write: this command only */
    }
    bool paid = false;
    payment_split split;
    err = billord__payment_take(ctx, order.account, instance.product, order.amount_micros, &paid,
                                &split);
    if (err != BILLORD_OK) {
        return err;
    }
    if (!paid) {
        billord__outcome_error(outcome, BILLORD_API_NOT_ENOUGH_BALANCE, NULL);
        return BILLORD_OK;
    }
    billord__order_mark_paid(ctx, &order, &split);
    BILLORD_ASSERT(updated.unpaid_order_count > 0);
    updated.unpaid_order_count--;
    if (updated.auto_renew_order_id == order.id) {
        updated.auto_renew_order_id = 0;
    }
    err = billord__store_order_put(ctx->store, ctx->txn, &order, false);
    if (err == BILLORD_OK) {
        err = billord__event_emit(ctx, "OrderPaid", &updated, order.id, NULL);
    }
    if (err == BILLORD_OK) {
        err = billord__instance_save(ctx, &updated);
    }
    if (err == BILLORD_OK) {
        billord__outcome_order(outcome, order.id);
    }
    return err;
}

static billord_err cancel_apply(engine_ctx *ctx, engine_request *request,
                                billord_outcome *outcome)
{
    billord_order order;
    billord_instance instance;
    bool found = false;
    billord_err err = open_order_load(ctx, request->as.order.order_id, &order, &instance,
                                      &found, outcome);
    if (err != BILLORD_OK || !found) {
        return err;
    }
    order.status = BILLORD_ORDER_CANCELLED;
    order.cancelled_ms = ctx->now_ms;
    instance.unpaid_order_count--;
    if (instance.auto_renew_order_id == order.id) {
        instance.auto_renew_order_id = 0;
    }
    err = billord__store_order_put(ctx->store, ctx->txn, &order, false);
    if (err == BILLORD_OK) {
        err = billord__event_emit(ctx, "OrderCancelled", &instance, order.id, NULL);
    }
    if (err == BILLORD_OK) {
        err = billord__instance_save(ctx, &instance);
    }
    if (err == BILLORD_OK) {
        billord__outcome_order(outcome, order.id);
    }
    return err;
}

const action_def billord__action_pay_order = {
    .name = "PayOrder",
    .is_read = false,
    .takes_token = true,
    .validate = order_validate,
    .apply = pay_apply,
    .query = NULL,
};

const action_def billord__action_cancel_order = {
    .name = "CancelOrder",
    .is_read = false,
    .takes_token = true,
    .validate = order_validate,
    .apply = cancel_apply,
    .query = NULL,
};

/* ---- DescribeOrders --------------------------------------------------------------- */

static bool page_param(const billord_command *command, const char *name, uint32_t default_value,
                       uint32_t max_value, uint32_t *out, billord_outcome *outcome)
{
    const char *text = billord__param_get(command, name);
    uint64_t value = default_value;
    if (text != NULL && (!billord__parse_uint(text, &value) || value < 1 || value > max_value)) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PARAMETER, name);
        return false;
    }
    *out = (uint32_t)value;
    return true;
}

static void describe_orders_validate(engine_request *request, billord_outcome *outcome)
{
    describe_orders_args *args = &request->as.describe_orders;
    const billord_command *command = request->command;
    args->instance_id = billord__param_get(command, "InstanceId");
    if (args->instance_id != NULL && args->instance_id[0] == '\0') {
        args->instance_id = NULL;
    }
    const char *status_text = billord__param_get(command, "Status");
    args->has_status = status_text != NULL;
    if (status_text != NULL && !billord_order_status_parse(status_text, &args->status)) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_PARAMETER, "Status");
        return;
    }
    if (!page_param(command, "PageNumber", 1, 1000000, &args->page_number, outcome)) {
        return;
    }
    page_param(command, "PageSize", BILLORD_PAGE_SIZE_DEFAULT, BILLORD_PAGE_SIZE_MAX,
               &args->page_size, outcome);
}

/* An order of the page, or NULL when any member could not be made. */
static json_t *order_json(const billord_order *order)
{
    bool ok = true;
    json_t *item = json_object();
    billord__json_set_member(item, "OrderId", json_integer((json_int_t)order->id), &ok);
    billord__json_set_member(item, "InstanceId", json_string(order->instance), &ok);
    billord__json_set_member(item, "OrderType", json_string(billord_order_kind_name(order->kind)),
                             &ok);
    billord__json_set_member(item, "Period", json_integer(order->period_count), &ok);
    billord__json_set_member(item, "PeriodUnit",
                             json_string(billord_period_unit_name(order->period_unit)), &ok);
    billord__json_set_member(item, "AmountMicros", json_integer(order->amount_micros), &ok);
    billord__json_set_member(item, "CouponPaidMicros", json_integer(order->coupon_paid_micros),
                             &ok);
    billord__json_set_member(item, "BalancePaidMicros", json_integer(order->balance_paid_micros),
                             &ok);
    billord__json_set_member(item, "CreditPaidMicros", json_integer(order->credit_paid_micros),
                             &ok);
    billord__json_set_member(item, "Status", json_string(billord_order_status_name(order->status)),
                             &ok);
    billord__json_set_member(item, "CreatedTime", billord__json_time_or_null(order->created_ms),
                             &ok);
    billord__json_set_member(item, "PaidTime", billord__json_time_or_null(order->paid_ms), &ok);
    billord__json_set_member(item, "CancelledTime",
                             billord__json_time_or_null(order->cancelled_ms), &ok);
    if (!ok) {
        json_decref(item);
        return NULL;
    }
    return item;
}

typedef struct order_page {
    engine_ctx *ctx;
    const describe_orders_args *args;
    uint64_t matched_count;
    json_t *list;
    billord_err err;
} order_page;

static bool visit_order(uint64_t order_id, void *page_ctx)
{
    order_page *page = page_ctx;
    billord_order order;
    page->err = billord__store_order_get(page->ctx->store, page->ctx->txn, order_id, &order);
    if (page->err != BILLORD_OK) {
        return false;
    }
    if (strcmp(order.account, page->ctx->command->account) != 0 ||
        (page->args->has_status && order.status != page->args->status)) {
        return true;
    }
    uint64_t first = (uint64_t)(page->args->page_number - 1) * page->args->page_size;
    if (page->matched_count >= first && page->matched_count < first + page->args->page_size) {
        bool ok = true;
        billord__json_append_item(page->list, order_json(&order), &ok);
        if (!ok) {
            page->err = BILLORD_E_NOMEM;    /* never a page short of an order */
            return false;
        }
    }
    page->matched_count++;
    return true;
}

/* The answer's fields, or NULL when any of them could not be made (list is consumed). */
static json_t *page_fields(const order_page *page, json_t *list)
{
    bool ok = true;
    json_t *wrapper = json_object();
    billord__json_set_member(wrapper, "Order", list, &ok);
    json_t *fields = json_object();
    billord__json_set_member(fields, "TotalCount", json_integer((json_int_t)page->matched_count),
                             &ok);
    billord__json_set_member(fields, "PageNumber", json_integer(page->args->page_number), &ok);
    billord__json_set_member(fields, "PageSize", json_integer(page->args->page_size), &ok);
    billord__json_set_member(fields, "Orders", wrapper, &ok);
    if (!ok) {
        json_decref(fields);
        return NULL;
    }
    return fields;
}

static billord_err describe_orders_query(engine_ctx *ctx, engine_request *request,
                                         billord_outcome *outcome, json_t **out_fields)
{
    const describe_orders_args *args = &request->as.describe_orders;
    order_page page = {ctx, args, 0, json_array(), BILLORD_OK};
    if (page.list == NULL) {
        return BILLORD_E_NOMEM;
    }
    billord_err err = billord__store_order_ids(ctx->store, ctx->txn, ctx->command->account,
                                               args->instance_id, visit_order, &page);
    if (err == BILLORD_OK) {
        err = page.err;
    }
    if (err != BILLORD_OK) {
        json_decref(page.list);
        return err;
    }
    json_t *fields = page_fields(&page, page.list);
    if (fields == NULL) {
        return BILLORD_E_NOMEM;
    }
    billord__outcome_ok(outcome);
    *out_fields = fields;
    return BILLORD_OK;
}

const action_def billord__action_describe_orders = {
    .name = "DescribeOrders",
    .is_read = true,
    .takes_token = false,
    .validate = describe_orders_validate,
    .apply = NULL,
    .query = describe_orders_query,
};
