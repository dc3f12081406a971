/*
 * codec.c: msgpack encoding of store records (docs/store-layout.md).
 *
 * Every value is [version, field...]. A field reader walks the array and fails closed:
 * the first wrong type, out-of-range number or over-long string marks the whole decode
 * corrupt, so a damaged value can never be half-read into the engine.
 */
#include <string.h>

#include "core/assert.h"
#include "core/msgpack_read.h"
#include "store/codec.h"

/* ---- writing ---------------------------------------------------------------------- */

typedef struct field_writer {
    msgpack_packer packer;
} field_writer;

static void writer_begin(field_writer *writer, msgpack_sbuffer *buffer, uint32_t field_count)
{
    msgpack_sbuffer_clear(buffer);
    msgpack_packer_init(&writer->packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_array(&writer->packer, field_count + 1);
    msgpack_pack_uint32(&writer->packer, BILLORD_RECORD_VERSION);
}

static void put_i64(field_writer *writer, int64_t value)
{
    msgpack_pack_int64(&writer->packer, value);
}

static void put_u64(field_writer *writer, uint64_t value)
{
    msgpack_pack_uint64(&writer->packer, value);
}

static void put_bool(field_writer *writer, bool value)
{
    if (value) {
        msgpack_pack_true(&writer->packer);
    } else {
        msgpack_pack_false(&writer->packer);
    }
}

static void put_str(field_writer *writer, const char *text)
{
    size_t text_bytes = strlen(text);
    msgpack_pack_str(&writer->packer, text_bytes);
    msgpack_pack_str_body(&writer->packer, text, text_bytes);
}

static void put_bin(field_writer *writer, const void *bytes, size_t bytes_len)
{
    msgpack_pack_bin(&writer->packer, bytes_len);
    msgpack_pack_bin_body(&writer->packer, bytes, bytes_len);
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct field_reader {
    msgpack_unpacked unpacked;
    const msgpack_object *items;
    uint32_t item_count;
    uint32_t item_index;
    bool failed;
    billord_err unpack_err;     /* BILLORD_E_NOMEM: the value was never looked at */
} field_reader;

static void reader_begin(field_reader *reader, const void *bytes, size_t bytes_len,
                         uint32_t field_count)
{
    memset(reader, 0, sizeof *reader);
    msgpack_unpacked_init(&reader->unpacked);
    reader->unpack_err = billord__msgpack_unpack_one(&reader->unpacked, bytes, bytes_len);
    const msgpack_object *root = &reader->unpacked.data;
    if (reader->unpack_err != BILLORD_OK || root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != field_count + 1) {
        reader->failed = true;
        return;
    }
    reader->items = root->via.array.ptr;
    reader->item_count = root->via.array.size;
    const msgpack_object *version = &reader->items[0];
    if (version->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        version->via.u64 != BILLORD_RECORD_VERSION) {
        reader->failed = true;
        return;
    }
    reader->item_index = 1;
}

static const msgpack_object *next_item(field_reader *reader)
{
    if (reader->failed || reader->item_index >= reader->item_count) {
        reader->failed = true;
        return NULL;
    }
    return &reader->items[reader->item_index++];
}

static int64_t get_i64(field_reader *reader)
{
    const msgpack_object *item = next_item(reader);
    if (item == NULL) {
        return 0;
    }
    if (item->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return item->via.i64;
    }
    if (item->type == MSGPACK_OBJECT_POSITIVE_INTEGER && item->via.u64 <= INT64_MAX) {
        return (int64_t)item->via.u64;
    }
    reader->failed = true;
    return 0;
}

static uint64_t get_u64(field_reader *reader)
{
    const msgpack_object *item = next_item(reader);
    if (item == NULL) {
        return 0;
    }
    if (item->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return item->via.u64;
    }
    reader->failed = true;
    return 0;
}

/* An enumeration or small count: must lie in [min, max]. */
static uint32_t get_ranged(field_reader *reader, uint32_t min, uint32_t max)
{
    uint64_t value = get_u64(reader);
    if (value < min || value > max) {
        reader->failed = true;
        return min;
    }
    return (uint32_t)value;
}

static bool get_bool(field_reader *reader)
{
    const msgpack_object *item = next_item(reader);
    if (item == NULL || item->type != MSGPACK_OBJECT_BOOLEAN) {
        reader->failed = true;
        return false;
    }
    return item->via.boolean;
}

static void copy_str(field_reader *reader, const msgpack_object *item, char *out,
                     size_t out_bytes)
{
    /* msgpack-c gives an empty str a NULL ptr: memchr and memcpy must not see it. */
    if (item == NULL || item->type != MSGPACK_OBJECT_STR || item->via.str.size >= out_bytes ||
        (item->via.str.size > 0 && memchr(item->via.str.ptr, '\0', item->via.str.size) != NULL)) {
        reader->failed = true;
        out[0] = '\0';
        return;
    }
    if (item->via.str.size > 0) {
        memcpy(out, item->via.str.ptr, item->via.str.size);
    }
    out[item->via.str.size] = '\0';
}

static void get_str(field_reader *reader, char *out, size_t out_bytes)
{
    copy_str(reader, next_item(reader), out, out_bytes);
}

static uint32_t get_bin(field_reader *reader, uint8_t *out, size_t out_bytes)
{
    const msgpack_object *item = next_item(reader);
    if (item == NULL || item->type != MSGPACK_OBJECT_BIN || item->via.bin.size > out_bytes) {
        reader->failed = true;
        return 0;
    }
    if (item->via.bin.size > 0) {   /* an empty bin has a NULL ptr */
        memcpy(out, item->via.bin.ptr, item->via.bin.size);
    }
    return item->via.bin.size;
}

static billord_err reader_end(field_reader *reader)
{
    bool ok = !reader->failed && reader->item_index == reader->item_count;
    msgpack_unpacked_destroy(&reader->unpacked);
    if (reader->unpack_err == BILLORD_E_NOMEM) {
        return BILLORD_E_NOMEM;
    }
    return ok ? BILLORD_OK : BILLORD_E_CORRUPT;
}

static void copy_id(char *out, size_t out_bytes, const char *id)
{
    size_t id_bytes = strlen(id);
    BILLORD_ASSERT(id_bytes < out_bytes);
    memcpy(out, id, id_bytes + 1);
}

/* ---- accounts --------------------------------------------------------------------- */

void billord__encode_account(msgpack_sbuffer *buffer, const billord_account *account)
{
    BILLORD_ASSERT(account->access_key_count <= BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX);
    field_writer writer;
    writer_begin(&writer, buffer, 7);
    put_i64(&writer, account->balance_micros);
    put_i64(&writer, account->balance_initial_micros);
    put_i64(&writer, account->credit_limit_micros);
    put_i64(&writer, account->credit_used_micros);
    put_bool(&writer, account->credit_payment);
    put_bool(&writer, account->payment_method);
    msgpack_pack_array(&writer.packer, account->access_key_count);
    for (uint32_t i = 0; i < account->access_key_count; i++) {
        msgpack_pack_array(&writer.packer, 2);
        put_str(&writer, account->access_keys[i].id);
        put_str(&writer, account->access_keys[i].secret);
    }
}

static void get_access_keys(field_reader *reader, billord_account *out)
{
    const msgpack_object *list = next_item(reader);
    if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY ||
        list->via.array.size > BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX) {
        reader->failed = true;
        return;
    }
    out->access_key_count = list->via.array.size;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *pair = &list->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2) {
            reader->failed = true;
            return;
        }
        copy_str(reader, &pair->via.array.ptr[0], out->access_keys[i].id,
                 sizeof out->access_keys[i].id);
        copy_str(reader, &pair->via.array.ptr[1], out->access_keys[i].secret,
                 sizeof out->access_keys[i].secret);
    }
}

billord_err billord__decode_account(const void *bytes, size_t bytes_len, const char *id,
                                    billord_account *out)
{
    billord_account account;
    memset(&account, 0, sizeof account);
    copy_id(account.id, sizeof account.id, id);
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 7);
    account.balance_micros = get_i64(&reader);
    account.balance_initial_micros = get_i64(&reader);
    account.credit_limit_micros = get_i64(&reader);
    account.credit_used_micros = get_i64(&reader);
    account.credit_payment = get_bool(&reader);
    account.payment_method = get_bool(&reader);
    get_access_keys(&reader, &account);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = account;
    }
    return err;
}

void billord__encode_access_key(msgpack_sbuffer *buffer, const billord_access_key_record *key)
{
    field_writer writer;
    writer_begin(&writer, buffer, 2);
    put_str(&writer, key->account);
    put_str(&writer, key->secret);
}

billord_err billord__decode_access_key(const void *bytes, size_t bytes_len,
                                       billord_access_key_record *out)
{
    billord_access_key_record key;
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 2);
    get_str(&reader, key.account, sizeof key.account);
    get_str(&reader, key.secret, sizeof key.secret);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = key;
    }
    return err;
}

/* ---- coupons and prices ----------------------------------------------------------- */

void billord__encode_coupon(msgpack_sbuffer *buffer, const billord_coupon *coupon)
{
    field_writer writer;
    writer_begin(&writer, buffer, 4);
    put_i64(&writer, coupon->amount_micros);
    put_i64(&writer, coupon->amount_initial_micros);
    put_i64(&writer, coupon->expires_ms);
    put_u64(&writer, coupon->product_mask);
}

billord_err billord__decode_coupon(const void *bytes, size_t bytes_len, billord_coupon *out)
{
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 4);
    int64_t amount_micros = get_i64(&reader);
    int64_t amount_initial_micros = get_i64(&reader);
    int64_t expires_ms = get_i64(&reader);
    uint32_t product_mask = get_ranged(&reader, 0, UINT32_MAX);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        out->amount_micros = amount_micros;
        out->amount_initial_micros = amount_initial_micros;
        out->expires_ms = expires_ms;
        out->product_mask = product_mask;
    }
    return err;
}

void billord__encode_price(msgpack_sbuffer *buffer, const billord_price *price)
{
    field_writer writer;
    writer_begin(&writer, buffer, 4);
    put_i64(&writer, price->week_micros);
    put_i64(&writer, price->month_micros);
    put_i64(&writer, price->year_micros);
    put_bool(&writer, price->phased_out);
}

billord_err billord__decode_price(const void *bytes, size_t bytes_len, billord_price *out)
{
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 4);
    int64_t week_micros = get_i64(&reader);
    int64_t month_micros = get_i64(&reader);
    int64_t year_micros = get_i64(&reader);
    bool phased_out = get_bool(&reader);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        out->week_micros = week_micros;
        out->month_micros = month_micros;
        out->year_micros = year_micros;
        out->phased_out = phased_out;
    }
    return err;
}

/* ---- instances -------------------------------------------------------------------- */

void billord__encode_instance(msgpack_sbuffer *buffer, const billord_instance *instance)
{
    field_writer writer;
    writer_begin(&writer, buffer, 21);
    put_str(&writer, instance->account);
    put_u64(&writer, instance->product);
    put_str(&writer, instance->region);
    put_str(&writer, instance->instance_type);
    put_u64(&writer, instance->charge_type);
    put_u64(&writer, instance->status);
    put_i64(&writer, instance->expires_ms);
    put_bool(&writer, instance->locked_for_security);
    put_bool(&writer, instance->has_dedicated_host);
    put_i64(&writer, instance->dedicated_host_expires_ms);
    put_u64(&writer, instance->renewal_status);
    put_u64(&writer, instance->auto_renew_duration);
    put_u64(&writer, instance->auto_renew_period_unit);
    put_u64(&writer, instance->unpaid_order_count);
    put_u64(&writer, instance->charge_days_before);
    put_i64(&writer, instance->lifecycle_expires_ms);
    put_u64(&writer, instance->reminders_sent_mask);
    put_bool(&writer, instance->auto_renew_attempted);
    put_u64(&writer, instance->auto_renew_order_id);
    put_i64(&writer, instance->schedule_due_ms);
    put_i64(&writer, instance->auto_renew_from_ms);
}

billord_err billord__decode_instance(const void *bytes, size_t bytes_len, const char *id,
                                     billord_instance *out)
{
    billord_instance instance;
    memset(&instance, 0, sizeof instance);
    copy_id(instance.id, sizeof instance.id, id);
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 21);
    get_str(&reader, instance.account, sizeof instance.account);
    instance.product = get_ranged(&reader, BILLORD_PRODUCT_ECS, BILLORD_PRODUCT_HSS);
    get_str(&reader, instance.region, sizeof instance.region);
    get_str(&reader, instance.instance_type, sizeof instance.instance_type);
    instance.charge_type = get_ranged(&reader, BILLORD_CHARGE_PREPAID, BILLORD_CHARGE_POSTPAID);
    instance.status = get_ranged(&reader, BILLORD_STATUS_RUNNING, BILLORD_STATUS_RELEASED);
    instance.expires_ms = get_i64(&reader);
    instance.locked_for_security = get_bool(&reader);
    instance.has_dedicated_host = get_bool(&reader);
    instance.dedicated_host_expires_ms = get_i64(&reader);
    instance.renewal_status = get_ranged(&reader, BILLORD_RENEWAL_NORMAL, BILLORD_RENEWAL_NOT);
    instance.auto_renew_duration = get_ranged(&reader, 0, 1000);
    instance.auto_renew_period_unit = get_ranged(&reader, BILLORD_PERIOD_WEEK, BILLORD_PERIOD_YEAR);
    instance.unpaid_order_count = get_ranged(&reader, 0, UINT32_MAX);
    instance.charge_days_before = get_ranged(&reader, 0, 7);
    instance.lifecycle_expires_ms = get_i64(&reader);
    instance.reminders_sent_mask = get_ranged(&reader, 0, 0xf);
    instance.auto_renew_attempted = get_bool(&reader);
    instance.auto_renew_order_id = get_u64(&reader);
    instance.schedule_due_ms = get_i64(&reader);
    instance.auto_renew_from_ms = get_i64(&reader);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = instance;
    }
    return err;
}

/* ---- orders ----------------------------------------------------------------------- */

void billord__encode_order(msgpack_sbuffer *buffer, const billord_order *order)
{
    field_writer writer;
    writer_begin(&writer, buffer, 18);
    put_str(&writer, order->account);
    put_str(&writer, order->instance);
    put_u64(&writer, order->kind);
    put_u64(&writer, order->period_count);
    put_u64(&writer, order->period_unit);
    put_i64(&writer, order->amount_micros);
    put_i64(&writer, order->coupon_paid_micros);
    put_i64(&writer, order->balance_paid_micros);
    put_i64(&writer, order->credit_paid_micros);
    put_u64(&writer, order->status);
    put_i64(&writer, order->created_ms);
    put_i64(&writer, order->paid_ms);
    put_i64(&writer, order->cancelled_ms);
    put_str(&writer, order->client_token);
    put_str(&writer, order->request_id);
    put_i64(&writer, order->first_attempt_ms);
    put_i64(&writer, order->attempts_until_ms);
    put_u64(&writer, order->attempt_count);
}

billord_err billord__decode_order(const void *bytes, size_t bytes_len, uint64_t id,
                                  billord_order *out)
{
    billord_order order;
    memset(&order, 0, sizeof order);
    order.id = id;
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 18);
    get_str(&reader, order.account, sizeof order.account);
    get_str(&reader, order.instance, sizeof order.instance);
    order.kind = get_ranged(&reader, BILLORD_ORDER_RENEW, BILLORD_ORDER_CHANGE_PAY_TYPE);
    order.period_count = get_ranged(&reader, 0, 1000);
    order.period_unit = get_ranged(&reader, BILLORD_PERIOD_WEEK, BILLORD_PERIOD_YEAR);
    order.amount_micros = get_i64(&reader);
    order.coupon_paid_micros = get_i64(&reader);
    order.balance_paid_micros = get_i64(&reader);
    order.credit_paid_micros = get_i64(&reader);
    order.status = get_ranged(&reader, BILLORD_ORDER_UNPAID, BILLORD_ORDER_CANCELLED);
    order.created_ms = get_i64(&reader);
    order.paid_ms = get_i64(&reader);
    order.cancelled_ms = get_i64(&reader);
    get_str(&reader, order.client_token, sizeof order.client_token);
    get_str(&reader, order.request_id, sizeof order.request_id);
    order.first_attempt_ms = get_i64(&reader);
    order.attempts_until_ms = get_i64(&reader);
    order.attempt_count = get_ranged(&reader, 0, 100000);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = order;
    }
    return err;
}

/* ---- tokens ----------------------------------------------------------------------- */

void billord__encode_token(msgpack_sbuffer *buffer, const billord_token_record *token)
{
    BILLORD_ASSERT(token->canonical_bytes <= BILLORD_CANONICAL_BYTES_MAX);
    field_writer writer;
    writer_begin(&writer, buffer, 8);
    put_bin(&writer, token->fingerprint, BILLORD_FINGERPRINT_BYTES);
    put_bin(&writer, token->canonical, token->canonical_bytes);
    put_u64(&writer, (uint64_t)token->http_status);
    put_str(&writer, token->code_text);
    put_str(&writer, token->message);
    put_str(&writer, token->request_id);
    put_u64(&writer, token->order_id);
    put_i64(&writer, token->created_ms);
}

billord_err billord__decode_token(const void *bytes, size_t bytes_len, billord_token_record *out)
{
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 8);
    uint32_t fingerprint_bytes = get_bin(&reader, out->fingerprint, BILLORD_FINGERPRINT_BYTES);
    out->canonical_bytes = get_bin(&reader, out->canonical, BILLORD_CANONICAL_BYTES_MAX);
    out->http_status = (int)get_ranged(&reader, 100, 599);
    get_str(&reader, out->code_text, sizeof out->code_text);
    get_str(&reader, out->message, sizeof out->message);
    get_str(&reader, out->request_id, sizeof out->request_id);
    out->order_id = get_u64(&reader);
    out->created_ms = get_i64(&reader);
    if (fingerprint_bytes != BILLORD_FINGERPRINT_BYTES) {
        reader.failed = true;
    }
    return reader_end(&reader);
}

/* ---- outbox events ---------------------------------------------------------------- */

void billord__encode_event(msgpack_sbuffer *buffer, const billord_event *event)
{
    field_writer writer;
    writer_begin(&writer, buffer, 6);
    put_str(&writer, event->kind);
    put_str(&writer, event->account);
    put_str(&writer, event->instance);
    put_i64(&writer, event->at_ms);
    put_u64(&writer, event->order_id);
    put_str(&writer, event->detail);
}

billord_err billord__decode_event(const void *bytes, size_t bytes_len, uint64_t seq,
                                  billord_event *out)
{
    billord_event event;
    memset(&event, 0, sizeof event);
    event.seq = seq;
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 6);
    get_str(&reader, event.kind, sizeof event.kind);
    get_str(&reader, event.account, sizeof event.account);
    get_str(&reader, event.instance, sizeof event.instance);
    event.at_ms = get_i64(&reader);
    event.order_id = get_u64(&reader);
    get_str(&reader, event.detail, sizeof event.detail);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = event;
    }
    return err;
}

/* ---- meta scalars ----------------------------------------------------------------- */

void billord__encode_u64(msgpack_sbuffer *buffer, uint64_t value)
{
    field_writer writer;
    writer_begin(&writer, buffer, 1);
    put_u64(&writer, value);
}

billord_err billord__decode_u64(const void *bytes, size_t bytes_len, uint64_t *out)
{
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 1);
    uint64_t value = get_u64(&reader);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = value;
    }
    return err;
}

void billord__encode_i64(msgpack_sbuffer *buffer, int64_t value)
{
    field_writer writer;
    writer_begin(&writer, buffer, 1);
    put_i64(&writer, value);
}

billord_err billord__decode_i64(const void *bytes, size_t bytes_len, int64_t *out)
{
    field_reader reader;
    reader_begin(&reader, bytes, bytes_len, 1);
    int64_t value = get_i64(&reader);
    billord_err err = reader_end(&reader);
    if (err == BILLORD_OK) {
        *out = value;
    }
    return err;
}
