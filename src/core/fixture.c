/*
 * fixture.c: the fixture file (SPEC section 1, docs/fixtures.md).
 *
 * The whole document is parsed by jansson (duplicate keys rejected), then
 * walked once, section by section in dependency order (prices, accounts,
 * instances, orders), into plain model records. Validation is fail-fast: the
 * first error is reported with the JSON path of the offending value, because a
 * fixture is written by hand and one precise message is what its author needs.
 * Nothing is written anywhere; loading into a store is the caller's step, so a
 * fixture with any error loads nothing.
 *
 * Lookups (duplicate ids, "must exist" references) use jansson objects as hash
 * sets, so a large fixture validates in linear time without a hand-made table.
 */
#include <billord/fixture.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <billord/timeutil.h>

#include "core/assert.h"

#define FIXTURE_PATH_BYTES_MAX 256u
#define FIXTURE_VALUE_SHOWN_BYTES_MAX 64   /* of a bad value quoted in a message */
#define FIXTURE_READ_CHUNK_BYTES (64u * 1024u)
#define FIXTURE_ORDER_ID_MAX ((json_int_t)(BILLORD_ORDER_ID_LIMIT - 1))
#define FIXTURE_PERIOD_COUNT_MAX ((json_int_t)UINT32_MAX)
#define FIXTURE_KEY_SEPARATOR "\n"   /* joins composite set keys; not in product names */

typedef struct fixture_parser {
    billord_fixture *fixture;
    char *error_text;
    size_t error_text_bytes;
    billord_err err;                    /* BILLORD_OK until the first failure */
    char path[FIXTURE_PATH_BYTES_MAX];  /* "$.accounts[0].coupons[1]" */
    size_t path_length;
    int64_t money_total_micros;         /* every seeded amount, to prove sums fit */
    json_t *account_index;              /* account id -> index */
    json_t *instance_index;             /* instance id -> index */
    json_t *price_set;                  /* "product\ninstance_type" -> true */
    json_t *access_key_set;             /* access key id -> true, across accounts */
    json_t *order_set;                  /* decimal order id -> true */
} fixture_parser;

/* ------------------------------------------------------------------------ */
/* Paths and errors                                                          */

/* Appends to the path; returns the length to restore with fixture_path_pop. */
static size_t fixture_path_push_key(fixture_parser *parser, const char *key)
{
    const size_t saved_length = parser->path_length;
    const size_t room_bytes = sizeof(parser->path) - saved_length;
    const int written = snprintf(parser->path + saved_length, room_bytes, ".%s", key);
    /* A very long key is cut short: the path stays a readable prefix. */
    parser->path_length = (written < 0 || (size_t)written >= room_bytes)
                              ? sizeof(parser->path) - 1
                              : saved_length + (size_t)written;
    return saved_length;
}

static size_t fixture_path_push_index(fixture_parser *parser, size_t index)
{
    const size_t saved_length = parser->path_length;
    const size_t room_bytes = sizeof(parser->path) - saved_length;
    const int written = snprintf(parser->path + saved_length, room_bytes, "[%zu]", index);
    parser->path_length = (written < 0 || (size_t)written >= room_bytes)
                              ? sizeof(parser->path) - 1
                              : saved_length + (size_t)written;
    return saved_length;
}

static void fixture_path_pop(fixture_parser *parser, size_t saved_length)
{
    BILLORD_ASSERT(saved_length <= parser->path_length);
    parser->path_length = saved_length;
    parser->path[saved_length] = '\0';
}

/* The message is one line: control characters from JSON strings become '?'. */
static void fixture_error_make_one_line(char *text)
{
    for (char *cursor = text; *cursor != '\0'; cursor++) {
        if ((unsigned char)*cursor < 0x20 || *cursor == 0x7f) {
            *cursor = '?';
        }
    }
}

__attribute__((format(printf, 2, 3)))
static bool fixture_fail(fixture_parser *parser, const char *format, ...)
{
    BILLORD_ASSERT(parser->err == BILLORD_OK);
    parser->err = BILLORD_E_FIXTURE;
    const int prefix_length = snprintf(parser->error_text, parser->error_text_bytes, "%s: ",
                                 parser->path);
    if (prefix_length >= 0 && (size_t)prefix_length < parser->error_text_bytes) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(parser->error_text + prefix_length,
                  parser->error_text_bytes - (size_t)prefix_length, format, arguments);
        va_end(arguments);
    }
    fixture_error_make_one_line(parser->error_text);
    return false;
}

/* Fails with the path of one key of the current object. */
__attribute__((format(printf, 3, 4)))
static bool fixture_fail_at_key(fixture_parser *parser, const char *key, const char *format, ...)
{
    const size_t saved_length = fixture_path_push_key(parser, key);
    char message[BILLORD_FIXTURE_ERROR_BYTES];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof(message), format, arguments);
    va_end(arguments);
    fixture_fail(parser, "%s", message);
    fixture_path_pop(parser, saved_length);
    return false;
}

static bool fixture_fail_nomem(fixture_parser *parser)
{
    if (parser->err == BILLORD_OK) {
        snprintf(parser->error_text, parser->error_text_bytes, "%s: out of memory", parser->path);
    }
    parser->err = BILLORD_E_NOMEM;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Typed getters: each checks presence, type and range, and names the path.  */

static bool fixture_check_object(fixture_parser *parser, const json_t *value)
{
    return json_is_object(value) ? true : fixture_fail(parser, "must be an object");
}

static bool fixture_key_is_allowed(const char *key, const char *const *allowed_keys,
                                   size_t allowed_key_count)
{
    for (size_t index = 0; index < allowed_key_count; index++) {
        if (strcmp(key, allowed_keys[index]) == 0) {
            return true;
        }
    }
    return false;
}

/* Unknown keys are errors: a misspelt optional key would otherwise be silently ignored. */
static bool fixture_check_keys(fixture_parser *parser, json_t *object,
                               const char *const *allowed_keys, size_t allowed_key_count)
{
    const char *key = NULL;
    json_t *value = NULL;
    json_object_foreach(object, key, value) {
        if (!fixture_key_is_allowed(key, allowed_keys, allowed_key_count)) {
            return fixture_fail_at_key(parser, key, "unknown key");
        }
    }
    return true;
}

#define FIXTURE_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* *out_value is NULL when the key is absent and optional. */
static bool fixture_get(fixture_parser *parser, json_t *object, const char *key, bool required,
                        json_t **out_value)
{
    *out_value = json_object_get(object, key);
    if (*out_value == NULL && required) {
        return fixture_fail_at_key(parser, key, "missing required key");
    }
    return true;
}

/* A non-empty string of at most bytes_max bytes, without NUL, copied into out. */
static bool fixture_get_string(fixture_parser *parser, json_t *object, const char *key,
                               size_t bytes_max, char *out)
{
    json_t *value = NULL;
    if (!fixture_get(parser, object, key, true, &value)) {
        return false;
    }
    if (!json_is_string(value)) {
        return fixture_fail_at_key(parser, key, "must be a string");
    }
    const char *text = json_string_value(value);
    const size_t length = json_string_length(value);
    if (length == 0 || length > bytes_max) {
        return fixture_fail_at_key(parser, key, "must be 1 to %zu bytes", bytes_max);
    }
    if (strlen(text) != length) {
        return fixture_fail_at_key(parser, key, "must not contain NUL");
    }
    memcpy(out, text, length + 1);
    return true;
}

/* A string naming an enum value; the caller parses it. */
static bool fixture_get_name(fixture_parser *parser, json_t *object, const char *key,
                             bool required, const char **out_text)
{
    json_t *value = NULL;
    *out_text = NULL;
    if (!fixture_get(parser, object, key, required, &value) || value == NULL) {
        return parser->err == BILLORD_OK;
    }
    if (!json_is_string(value)) {
        return fixture_fail_at_key(parser, key, "must be a string");
    }
    *out_text = json_string_value(value);
    return true;
}

static bool fixture_get_integer(fixture_parser *parser, json_t *object, const char *key,
                                json_int_t minimum, json_int_t maximum, json_int_t *out)
{
    json_t *value = NULL;
    if (!fixture_get(parser, object, key, true, &value)) {
        return false;
    }
    if (!json_is_integer(value) || json_integer_value(value) < minimum ||
        json_integer_value(value) > maximum) {
        return fixture_fail_at_key(parser, key, "must be an integer from %lld to %lld",
                                   (long long)minimum, (long long)maximum);
    }
    *out = json_integer_value(value);
    return true;
}

static bool fixture_add_money_total(fixture_parser *parser, const char *key, int64_t micros)
{
    if (__builtin_add_overflow(parser->money_total_micros, micros, &parser->money_total_micros)) {
        return fixture_fail_at_key(parser, key, "the fixture's money sum overflows int64");
    }
    return true;
}

/* A non-negative integer of micros (a price: not money anyone holds). */
static bool fixture_get_micros(fixture_parser *parser, json_t *object, const char *key,
                               int64_t *out_micros)
{
    json_t *value = NULL;
    if (!fixture_get(parser, object, key, true, &value)) {
        return false;
    }
    if (!json_is_integer(value) || json_integer_value(value) < 0) {
        return fixture_fail_at_key(parser, key, "must be a non-negative integer");
    }
    *out_micros = (int64_t)json_integer_value(value);
    return true;
}

/*
 * Money held or owed (balances, credit limits, coupons, order amounts): also
 * counted in the fixture's total, so any sum the engine or a digest forms over
 * seeded money fits in int64.
 */
static bool fixture_get_money(fixture_parser *parser, json_t *object, const char *key,
                              int64_t *out_micros)
{
    return fixture_get_micros(parser, object, key, out_micros) &&
           fixture_add_money_total(parser, key, *out_micros);
}

static bool fixture_get_bool(fixture_parser *parser, json_t *object, const char *key,
                             bool required, bool default_value, bool *out)
{
    json_t *value = NULL;
    if (!fixture_get(parser, object, key, required, &value)) {
        return false;
    }
    if (value == NULL) {
        *out = default_value;
        return true;
    }
    if (!json_is_boolean(value)) {
        return fixture_fail_at_key(parser, key, "must be a boolean");
    }
    *out = json_is_true(value);
    return true;
}

/* An RFC 3339 time; null or absence (when allowed) leaves *out_present false. */
static bool fixture_get_time(fixture_parser *parser, json_t *object, const char *key,
                             bool required, int64_t *out_unix_ms, bool *out_present)
{
    json_t *value = NULL;
    *out_present = false;
    if (!fixture_get(parser, object, key, required, &value)) {
        return false;
    }
    if (value == NULL || (json_is_null(value) && !required)) {
        return true;
    }
    if (!json_is_string(value) ||
        billord_time_parse_rfc3339(json_string_value(value), out_unix_ms) != BILLORD_OK) {
        return fixture_fail_at_key(parser, key, "not an RFC 3339 time");
    }
    *out_present = true;
    return true;
}

static bool fixture_get_required_time(fixture_parser *parser, json_t *object, const char *key,
                                      int64_t *out_unix_ms)
{
    bool present = false;
    return fixture_get_time(parser, object, key, true, out_unix_ms, &present);
}

/* An optional array; *out_array is NULL when absent. */
static bool fixture_get_array(fixture_parser *parser, json_t *object, const char *key,
                              bool required, json_t **out_array)
{
    if (!fixture_get(parser, object, key, required, out_array) || *out_array == NULL) {
        return parser->err == BILLORD_OK;
    }
    if (!json_is_array(*out_array)) {
        return fixture_fail_at_key(parser, key, "must be an array");
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Sets and indexes                                                          */

/* Adds key to set; false (and *out_duplicate) if it was there already. */
static bool fixture_set_insert(fixture_parser *parser, json_t *set, const char *key,
                               json_int_t index, bool *out_duplicate)
{
    *out_duplicate = json_object_get(set, key) != NULL;
    if (*out_duplicate) {
        return true;
    }
    if (json_object_set_new(set, key, json_integer(index)) != 0) {
        return fixture_fail_nomem(parser);
    }
    return true;
}

static bool fixture_set_lookup(json_t *set, const char *key, size_t *out_index)
{
    const json_t *value = json_object_get(set, key);
    if (value == NULL) {
        return false;
    }
    *out_index = (size_t)json_integer_value(value);
    return true;
}

/* An id that must be unique within set: fails naming key and the repeated id. */
static bool fixture_claim_id(fixture_parser *parser, json_t *set, const char *key,
                             const char *id, size_t index, const char *what)
{
    bool duplicate = false;
    if (!fixture_set_insert(parser, set, id, (json_int_t)index, &duplicate)) {
        return false;
    }
    if (duplicate) {
        return fixture_fail_at_key(parser, key, "duplicate %s \"%.*s\"", what,
                                   FIXTURE_VALUE_SHOWN_BYTES_MAX, id);
    }
    return true;
}

static void fixture_price_key(billord_product product, const char *instance_type,
                              char out[BILLORD_INSTANCE_TYPE_BYTES_MAX + 16])
{
    snprintf(out, BILLORD_INSTANCE_TYPE_BYTES_MAX + 16, "%s" FIXTURE_KEY_SEPARATOR "%s",
             billord_product_name(product), instance_type);
}

/* Allocates count zeroed records; a zero count allocates nothing. */
static bool fixture_allocate(fixture_parser *parser, size_t count, size_t record_bytes,
                             void **out_records)
{
    *out_records = NULL;
    if (count == 0) {
        return true;
    }
    *out_records = calloc(count, record_bytes);
    return *out_records != NULL ? true : fixture_fail_nomem(parser);
}

/* ------------------------------------------------------------------------ */
/* Enum fields                                                               */

#define FIXTURE_DEFINE_ENUM_GETTER(function_name, type, parse_function, what)               \
    static bool function_name(fixture_parser *parser, json_t *object, const char *key,      \
                              bool required, type default_value, type *out)                 \
    {                                                                                       \
        const char *text = NULL;                                                            \
        if (!fixture_get_name(parser, object, key, required, &text)) {                      \
            return false;                                                                   \
        }                                                                                   \
        if (text == NULL) {                                                                 \
            *out = default_value;                                                           \
            return true;                                                                    \
        }                                                                                   \
        if (!parse_function(text, out)) {                                                   \
            return fixture_fail_at_key(parser, key, "unknown " what " \"%.*s\"",           \
                                       FIXTURE_VALUE_SHOWN_BYTES_MAX, text);                \
        }                                                                                   \
        return true;                                                                        \
    }

FIXTURE_DEFINE_ENUM_GETTER(fixture_get_product, billord_product, billord_product_parse,
                           "product")
FIXTURE_DEFINE_ENUM_GETTER(fixture_get_charge_type, billord_charge_type,
                           billord_charge_type_parse, "charge type")
FIXTURE_DEFINE_ENUM_GETTER(fixture_get_status, billord_instance_status,
                           billord_instance_status_parse, "instance status")
FIXTURE_DEFINE_ENUM_GETTER(fixture_get_renewal_status, billord_renewal_status,
                           billord_renewal_status_parse, "renewal status")
FIXTURE_DEFINE_ENUM_GETTER(fixture_get_period_unit, billord_period_unit,
                           billord_period_unit_parse, "period unit")
FIXTURE_DEFINE_ENUM_GETTER(fixture_get_order_kind, billord_order_kind,
                           billord_order_kind_parse, "order kind")
FIXTURE_DEFINE_ENUM_GETTER(fixture_get_order_status, billord_order_status,
                           billord_order_status_parse, "order status")

/* ------------------------------------------------------------------------ */
/* Sections                                                                  */

typedef bool (*fixture_element_parser)(fixture_parser *parser, json_t *element, size_t index);

/* Runs parse_element over every element of array with "[index]" on the path. */
static bool fixture_for_each(fixture_parser *parser, json_t *array,
                             fixture_element_parser parse_element)
{
    for (size_t index = 0; index < json_array_size(array); index++) {
        const size_t saved_length = fixture_path_push_index(parser, index);
        json_t *element = json_array_get(array, index);
        const bool ok = fixture_check_object(parser, element) &&
                        parse_element(parser, element, index);
        if (!ok) {
            return false;
        }
        fixture_path_pop(parser, saved_length);
    }
    return true;
}

/* A top-level section: pushes ".key", allocates one record per element, parses each. */
static bool fixture_section(fixture_parser *parser, json_t *root, const char *key,
                            size_t record_bytes, void **out_records, size_t *out_count,
                            fixture_element_parser parse_element)
{
    json_t *array = NULL;
    if (!fixture_get_array(parser, root, key, false, &array) || array == NULL) {
        return parser->err == BILLORD_OK;
    }
    if (!fixture_allocate(parser, json_array_size(array), record_bytes, out_records)) {
        return false;
    }
    *out_count = json_array_size(array);
    const size_t saved_length = fixture_path_push_key(parser, key);
    if (!fixture_for_each(parser, array, parse_element)) {
        return false;
    }
    fixture_path_pop(parser, saved_length);
    return true;
}

/* prices[] */

static bool fixture_parse_price(fixture_parser *parser, json_t *element, size_t index)
{
    static const char *const keys[] = {"product",      "instance_type", "week_micros",
                                       "month_micros", "year_micros",   "phased_out"};
    billord_price *price = &parser->fixture->prices[index];
    char price_key[BILLORD_INSTANCE_TYPE_BYTES_MAX + 16];
    if (!fixture_check_keys(parser, element, keys, FIXTURE_COUNT(keys)) ||
        !fixture_get_product(parser, element, "product", true, BILLORD_PRODUCT_ECS,
                             &price->product) ||
        !fixture_get_string(parser, element, "instance_type", BILLORD_INSTANCE_TYPE_BYTES_MAX,
                            price->instance_type) ||
        !fixture_get_micros(parser, element, "week_micros", &price->week_micros) ||
        !fixture_get_micros(parser, element, "month_micros", &price->month_micros) ||
        !fixture_get_micros(parser, element, "year_micros", &price->year_micros) ||
        !fixture_get_bool(parser, element, "phased_out", false, false, &price->phased_out)) {
        return false;
    }
    fixture_price_key(price->product, price->instance_type, price_key);
    bool duplicate = false;
    if (!fixture_set_insert(parser, parser->price_set, price_key, (json_int_t)index,
                            &duplicate)) {
        return false;
    }
    if (duplicate) {
        return fixture_fail_at_key(parser, "instance_type",
                                   "duplicate price for product %s and instance type \"%s\"",
                                   billord_product_name(price->product), price->instance_type);
    }
    return true;
}

/* accounts[].access_keys[] */

static bool fixture_parse_access_keys(fixture_parser *parser, json_t *account_object,
                                      billord_account *account)
{
    static const char *const keys[] = {"id", "secret"};
    json_t *array = NULL;
    if (!fixture_get_array(parser, account_object, "access_keys", true, &array)) {
        return false;
    }
    if (json_array_size(array) > BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX) {
        return fixture_fail_at_key(parser, "access_keys", "at most %u access keys",
                                   BILLORD_ACCESS_KEYS_PER_ACCOUNT_MAX);
    }
    const size_t saved_length = fixture_path_push_key(parser, "access_keys");
    for (size_t index = 0; index < json_array_size(array); index++) {
        const size_t element_length = fixture_path_push_index(parser, index);
        json_t *element = json_array_get(array, index);
        billord_access_key *access_key = &account->access_keys[index];
        if (!fixture_check_object(parser, element) ||
            !fixture_check_keys(parser, element, keys, FIXTURE_COUNT(keys)) ||
            !fixture_get_string(parser, element, "id", BILLORD_ACCESS_KEY_ID_BYTES_MAX,
                                access_key->id) ||
            !fixture_get_string(parser, element, "secret", BILLORD_ACCESS_KEY_SECRET_BYTES_MAX,
                                access_key->secret) ||
            !fixture_claim_id(parser, parser->access_key_set, "id", access_key->id, index,
                              "access key id")) {
            return false;
        }
        fixture_path_pop(parser, element_length);
    }
    account->access_key_count = (uint32_t)json_array_size(array);
    fixture_path_pop(parser, saved_length);
    return true;
}

/* accounts[].coupons[].products */

static bool fixture_parse_coupon_products(fixture_parser *parser, json_t *coupon_object,
                                          uint32_t *out_product_mask)
{
    json_t *array = NULL;
    if (!fixture_get_array(parser, coupon_object, "products", true, &array)) {
        return false;
    }
    if (json_array_size(array) == 0) {
        return fixture_fail_at_key(parser, "products", "must name at least one product");
    }
    const size_t saved_length = fixture_path_push_key(parser, "products");
    uint32_t product_mask = 0;
    for (size_t index = 0; index < json_array_size(array); index++) {
        const json_t *element = json_array_get(array, index);
        billord_product product = BILLORD_PRODUCT_ECS;
        const size_t element_length = fixture_path_push_index(parser, index);
        if (!json_is_string(element)) {
            return fixture_fail(parser, "must be a string");
        }
        if (!billord_product_parse(json_string_value(element), &product)) {
            return fixture_fail(parser, "unknown product \"%.*s\"", FIXTURE_VALUE_SHOWN_BYTES_MAX,
                                json_string_value(element));
        }
        product_mask |= BILLORD_PRODUCT_BIT(product);
        fixture_path_pop(parser, element_length);
    }
    fixture_path_pop(parser, saved_length);
    *out_product_mask = product_mask;
    return true;
}

/* accounts[].coupons[]: flattened into fixture->coupons. */

static bool fixture_parse_coupon(fixture_parser *parser, json_t *element,
                                 const billord_account *account, json_t *coupon_set,
                                 size_t index, int64_t *funds_micros)
{
    static const char *const keys[] = {"id", "amount_micros", "expires", "products"};
    billord_fixture *fixture = parser->fixture;
    billord_coupon *coupon = &fixture->coupons[fixture->coupon_count];
    if (!fixture_check_object(parser, element) ||
        !fixture_check_keys(parser, element, keys, FIXTURE_COUNT(keys)) ||
        !fixture_get_string(parser, element, "id", BILLORD_COUPON_ID_BYTES_MAX, coupon->id) ||
        !fixture_claim_id(parser, coupon_set, "id", coupon->id, index, "coupon id") ||
        !fixture_get_money(parser, element, "amount_micros", &coupon->amount_micros) ||
        !fixture_get_required_time(parser, element, "expires", &coupon->expires_ms) ||
        !fixture_parse_coupon_products(parser, element, &coupon->product_mask)) {
        return false;
    }
    if (__builtin_add_overflow(*funds_micros, coupon->amount_micros, funds_micros)) {
        return fixture_fail_at_key(parser, "amount_micros",
                                   "the account's money sum overflows int64");
    }
    memcpy(coupon->account, account->id, sizeof(coupon->account));
    coupon->amount_initial_micros = coupon->amount_micros;
    fixture->coupon_count++;
    return true;
}

static bool fixture_parse_coupons(fixture_parser *parser, json_t *account_object,
                                  const billord_account *account, int64_t *funds_micros)
{
    json_t *array = NULL;
    if (!fixture_get_array(parser, account_object, "coupons", false, &array) || array == NULL) {
        return parser->err == BILLORD_OK;
    }
    json_t *coupon_set = json_object();
    if (coupon_set == NULL) {
        return fixture_fail_nomem(parser);
    }
    const size_t saved_length = fixture_path_push_key(parser, "coupons");
    bool ok = true;
    for (size_t index = 0; ok && index < json_array_size(array); index++) {
        const size_t element_length = fixture_path_push_index(parser, index);
        ok = fixture_parse_coupon(parser, json_array_get(array, index), account, coupon_set,
                                  index, funds_micros);
        if (ok) {
            fixture_path_pop(parser, element_length);
        }
    }
    json_decref(coupon_set);
    if (ok) {
        fixture_path_pop(parser, saved_length);
    }
    return ok;
}

/* accounts[] */

static bool fixture_parse_account(fixture_parser *parser, json_t *element, size_t index)
{
    static const char *const keys[] = {"id",          "access_keys",    "balance_micros",
                                       "credit_limit_micros", "credit_payment",
                                       "payment_method", "coupons"};
    billord_account *account = &parser->fixture->accounts[index];
    if (!fixture_check_keys(parser, element, keys, FIXTURE_COUNT(keys)) ||
        !fixture_get_string(parser, element, "id", BILLORD_ACCOUNT_ID_BYTES_MAX, account->id) ||
        !fixture_claim_id(parser, parser->account_index, "id", account->id, index,
                          "account id") ||
        !fixture_parse_access_keys(parser, element, account) ||
        !fixture_get_money(parser, element, "balance_micros", &account->balance_micros) ||
        !fixture_get_money(parser, element, "credit_limit_micros",
                           &account->credit_limit_micros) ||
        !fixture_get_bool(parser, element, "credit_payment", true, false,
                          &account->credit_payment) ||
        !fixture_get_bool(parser, element, "payment_method", true, false,
                          &account->payment_method)) {
        return false;
    }
    account->balance_initial_micros = account->balance_micros;
    account->credit_used_micros = 0;
    /* What one payment can draw (coupons + balance + credit) must be summable. */
    int64_t funds_micros = 0;
    if (__builtin_add_overflow(account->balance_micros, account->credit_limit_micros,
                               &funds_micros)) {
        return fixture_fail_at_key(parser, "credit_limit_micros",
                                   "the account's money sum overflows int64");
    }
    return fixture_parse_coupons(parser, element, account, &funds_micros);
}

/* Coupons are flattened, so their total count is known only after a first look. */
static bool fixture_allocate_coupons(fixture_parser *parser, json_t *accounts)
{
    size_t coupon_count = 0;
    for (size_t index = 0; index < json_array_size(accounts); index++) {
        const json_t *coupons = json_object_get(json_array_get(accounts, index), "coupons");
        if (json_is_array(coupons)) {
            coupon_count += json_array_size(coupons);
        }
    }
    return fixture_allocate(parser, coupon_count, sizeof(billord_coupon),
                            (void **)&parser->fixture->coupons);
}

static bool fixture_parse_accounts(fixture_parser *parser, json_t *root)
{
    json_t *accounts = json_object_get(root, "accounts");
    if (json_is_array(accounts) && !fixture_allocate_coupons(parser, accounts)) {
        return false;
    }
    return fixture_section(parser, root, "accounts", sizeof(billord_account),
                           (void **)&parser->fixture->accounts, &parser->fixture->account_count,
                           fixture_parse_account);
}

/* instances[].auto_renew */

static bool fixture_check_duration(fixture_parser *parser, billord_period_unit unit,
                                   json_int_t duration)
{
    static const json_int_t month_durations[] = {1, 2, 3, 6, 12};
    if (unit == BILLORD_PERIOD_YEAR) {
        return duration >= 1 && duration <= 3
                   ? true
                   : fixture_fail_at_key(parser, "duration", "must be 1, 2 or 3 for Year");
    }
    for (size_t index = 0; index < FIXTURE_COUNT(month_durations); index++) {
        if (duration == month_durations[index]) {
            return true;
        }
    }
    return fixture_fail_at_key(parser, "duration", "must be 1, 2, 3, 6 or 12 for Month");
}

static bool fixture_parse_auto_renew_object(fixture_parser *parser, json_t *object,
                                            billord_instance *instance)
{
    static const char *const keys[] = {"renewal_status", "duration", "period_unit", "days_before"};
    json_int_t duration = 1;
    json_int_t days_before = 0;
    if (!fixture_check_object(parser, object) ||
        !fixture_check_keys(parser, object, keys, FIXTURE_COUNT(keys)) ||
        !fixture_get_renewal_status(parser, object, "renewal_status", false,
                                    BILLORD_RENEWAL_NORMAL, &instance->renewal_status) ||
        !fixture_get_period_unit(parser, object, "period_unit", false, BILLORD_PERIOD_MONTH,
                                 &instance->auto_renew_period_unit)) {
        return false;
    }
    if (instance->auto_renew_period_unit == BILLORD_PERIOD_WEEK) {
        return fixture_fail_at_key(parser, "period_unit", "must be Month or Year");
    }
    if (json_object_get(object, "duration") != NULL &&
        !fixture_get_integer(parser, object, "duration", 1, 12, &duration)) {
        return false;
    }
    if (!fixture_check_duration(parser, instance->auto_renew_period_unit, duration)) {
        return false;
    }
    instance->auto_renew_duration = (uint32_t)duration;
    /* HSS lets each instance choose its payment day, 1-7 days before expiry. */
    if (json_object_get(object, "days_before") != NULL) {
        if (instance->product != BILLORD_PRODUCT_HSS) {
            return fixture_fail_at_key(parser, "days_before", "is only for hss instances");
        }
        if (!fixture_get_integer(parser, object, "days_before", 1, 7, &days_before)) {
            return false;
        }
    }
    instance->charge_days_before = (uint32_t)days_before;
    return true;
}

static bool fixture_parse_auto_renew(fixture_parser *parser, json_t *instance_object,
                                     billord_instance *instance)
{
    instance->renewal_status = BILLORD_RENEWAL_NORMAL;
    instance->auto_renew_duration = 1;
    instance->auto_renew_period_unit = BILLORD_PERIOD_MONTH;
    json_t *object = json_object_get(instance_object, "auto_renew");
    if (object == NULL || json_is_null(object)) {
        return true;
    }
    const size_t saved_length = fixture_path_push_key(parser, "auto_renew");
    if (!fixture_parse_auto_renew_object(parser, object, instance)) {
        return false;
    }
    fixture_path_pop(parser, saved_length);
    return true;
}

/* instances[] */

static bool fixture_check_instance_refs(fixture_parser *parser, const billord_instance *instance)
{
    size_t account_index = 0;
    if (!fixture_set_lookup(parser->account_index, instance->account, &account_index)) {
        return fixture_fail_at_key(parser, "account", "no account \"%s\"", instance->account);
    }
    char price_key[BILLORD_INSTANCE_TYPE_BYTES_MAX + 16];
    size_t price_index = 0;
    fixture_price_key(instance->product, instance->instance_type, price_key);
    if (!fixture_set_lookup(parser->price_set, price_key, &price_index)) {
        return fixture_fail_at_key(parser, "instance_type",
                                   "no price for product %s and instance type \"%s\"",
                                   billord_product_name(instance->product),
                                   instance->instance_type);
    }
    return true;
}

static bool fixture_parse_instance_times(fixture_parser *parser, json_t *element,
                                         billord_instance *instance)
{
    const bool prepaid = instance->charge_type == BILLORD_CHARGE_PREPAID;
    bool has_expiry = false;
    if (!fixture_get_time(parser, element, "expires", prepaid, &instance->expires_ms,
                          &has_expiry) ||
        !fixture_get_time(parser, element, "dedicated_host_expires", false,
                          &instance->dedicated_host_expires_ms,
                          &instance->has_dedicated_host)) {
        return false;
    }
    if (!has_expiry) {
        instance->expires_ms = 0;
    }
    return true;
}

static bool fixture_parse_instance(fixture_parser *parser, json_t *element, size_t index)
{
    static const char *const keys[] = {
        "id",     "account", "product",             "region",
        "instance_type",     "charge_type",         "status",
        "expires",           "locked_for_security", "dedicated_host_expires",
        "auto_renew"};
    billord_instance *instance = &parser->fixture->instances[index];
    return fixture_check_keys(parser, element, keys, FIXTURE_COUNT(keys)) &&
           fixture_get_string(parser, element, "id", BILLORD_INSTANCE_ID_BYTES_MAX,
                              instance->id) &&
           fixture_claim_id(parser, parser->instance_index, "id", instance->id, index,
                            "instance id") &&
           fixture_get_string(parser, element, "account", BILLORD_ACCOUNT_ID_BYTES_MAX,
                              instance->account) &&
           fixture_get_product(parser, element, "product", true, BILLORD_PRODUCT_ECS,
                               &instance->product) &&
           fixture_get_string(parser, element, "region", BILLORD_REGION_BYTES_MAX,
                              instance->region) &&
           fixture_get_string(parser, element, "instance_type", BILLORD_INSTANCE_TYPE_BYTES_MAX,
                              instance->instance_type) &&
           fixture_check_instance_refs(parser, instance) &&
           fixture_get_charge_type(parser, element, "charge_type", true,
                                   BILLORD_CHARGE_PREPAID, &instance->charge_type) &&
           fixture_get_status(parser, element, "status", true, BILLORD_STATUS_RUNNING,
                              &instance->status) &&
           fixture_parse_instance_times(parser, element, instance) &&
           fixture_get_bool(parser, element, "locked_for_security", false, false,
                            &instance->locked_for_security) &&
           fixture_parse_auto_renew(parser, element, instance);
}

/* orders[] */

static bool fixture_claim_order_id(fixture_parser *parser, billord_order *order, size_t index)
{
    char id_text[24];
    snprintf(id_text, sizeof(id_text), "%llu", (unsigned long long)order->id);
    bool duplicate = false;
    if (!fixture_set_insert(parser, parser->order_set, id_text, (json_int_t)index, &duplicate)) {
        return false;
    }
    return duplicate ? fixture_fail_at_key(parser, "id", "duplicate order id %s", id_text) : true;
}

/* The order's account must exist and own its instance. */
static bool fixture_check_order_refs(fixture_parser *parser, const billord_order *order,
                                     billord_instance **out_instance)
{
    size_t account_index = 0;
    size_t instance_index = 0;
    if (!fixture_set_lookup(parser->account_index, order->account, &account_index)) {
        return fixture_fail_at_key(parser, "account", "no account \"%s\"", order->account);
    }
    if (!fixture_set_lookup(parser->instance_index, order->instance, &instance_index)) {
        return fixture_fail_at_key(parser, "instance", "no instance \"%s\"", order->instance);
    }
    billord_instance *instance = &parser->fixture->instances[instance_index];
    if (strcmp(instance->account, order->account) != 0) {
        return fixture_fail_at_key(parser, "instance", "instance \"%s\" belongs to account \"%s\"",
                                   order->instance, instance->account);
    }
    *out_instance = instance;
    return true;
}

/* "paid" only on a Paid order, "cancelled" only on a Cancelled one; each defaults to created. */
static bool fixture_parse_order_end_time(fixture_parser *parser, json_t *element,
                                         const char *key, bool applies, int64_t created_ms,
                                         int64_t *out_unix_ms)
{
    bool present = false;
    *out_unix_ms = 0;
    if (!fixture_get_time(parser, element, key, false, out_unix_ms, &present)) {
        return false;
    }
    if (present && !applies) {
        return fixture_fail_at_key(parser, key, "does not match the order's status");
    }
    if (present && *out_unix_ms < created_ms) {
        return fixture_fail_at_key(parser, key, "must not be before created");
    }
    if (!present && applies) {
        *out_unix_ms = created_ms;
    }
    return true;
}

static bool fixture_parse_order_period(fixture_parser *parser, json_t *element,
                                       billord_order *order)
{
    json_int_t period_count = 1;
    if (json_object_get(element, "period") != NULL &&
        !fixture_get_integer(parser, element, "period", 1, FIXTURE_PERIOD_COUNT_MAX,
                             &period_count)) {
        return false;
    }
    order->period_count = (uint32_t)period_count;
    return fixture_get_period_unit(parser, element, "period_unit", false, BILLORD_PERIOD_MONTH,
                                   &order->period_unit);
}

static bool fixture_parse_order_fields(fixture_parser *parser, json_t *element,
                                       billord_order *order, size_t index)
{
    json_int_t id = 0;
    if (!fixture_get_integer(parser, element, "id", 1, FIXTURE_ORDER_ID_MAX, &id)) {
        return false;
    }
    order->id = (uint64_t)id;
    return fixture_claim_order_id(parser, order, index) &&
           fixture_get_string(parser, element, "account", BILLORD_ACCOUNT_ID_BYTES_MAX,
                              order->account) &&
           fixture_get_string(parser, element, "instance", BILLORD_INSTANCE_ID_BYTES_MAX,
                              order->instance) &&
           fixture_get_order_kind(parser, element, "kind", true, BILLORD_ORDER_RENEW,
                                  &order->kind) &&
           fixture_get_money(parser, element, "amount_micros", &order->amount_micros) &&
           fixture_get_order_status(parser, element, "status", true, BILLORD_ORDER_UNPAID,
                                    &order->status) &&
           fixture_get_required_time(parser, element, "created", &order->created_ms) &&
           fixture_parse_order_period(parser, element, order) &&
           fixture_parse_order_end_time(parser, element, "paid",
                                        order->status == BILLORD_ORDER_PAID, order->created_ms,
                                        &order->paid_ms) &&
           fixture_parse_order_end_time(parser, element, "cancelled",
                                        order->status == BILLORD_ORDER_CANCELLED,
                                        order->created_ms, &order->cancelled_ms);
}

static bool fixture_parse_order(fixture_parser *parser, json_t *element, size_t index)
{
    static const char *const keys[] = {"id",     "account", "instance", "kind",
                                       "amount_micros", "status", "created", "period",
                                       "period_unit",   "paid",   "cancelled"};
    billord_order *order = &parser->fixture->orders[index];
    billord_instance *instance = NULL;
    if (!fixture_check_keys(parser, element, keys, FIXTURE_COUNT(keys)) ||
        !fixture_parse_order_fields(parser, element, order, index) ||
        !fixture_check_order_refs(parser, order, &instance)) {
        return false;
    }
    if (order->status == BILLORD_ORDER_UNPAID) {
        instance->unpaid_order_count++;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Document                                                                  */

static bool fixture_parse_root(fixture_parser *parser, json_t *root)
{
    static const char *const keys[] = {"clock", "prices", "accounts", "instances", "orders"};
    billord_fixture *fixture = parser->fixture;
    return fixture_check_object(parser, root) &&
           fixture_check_keys(parser, root, keys, FIXTURE_COUNT(keys)) &&
           fixture_get_time(parser, root, "clock", false, &fixture->clock_ms,
                            &fixture->has_clock) &&
           fixture_section(parser, root, "prices", sizeof(billord_price),
                           (void **)&fixture->prices, &fixture->price_count,
                           fixture_parse_price) &&
           fixture_parse_accounts(parser, root) &&
           fixture_section(parser, root, "instances", sizeof(billord_instance),
                           (void **)&fixture->instances, &fixture->instance_count,
                           fixture_parse_instance) &&
           fixture_section(parser, root, "orders", sizeof(billord_order),
                           (void **)&fixture->orders, &fixture->order_count,
                           fixture_parse_order);
}

static bool fixture_parser_open(fixture_parser *parser)
{
    parser->account_index = json_object();
    parser->instance_index = json_object();
    parser->price_set = json_object();
    parser->access_key_set = json_object();
    parser->order_set = json_object();
    return parser->account_index != NULL && parser->instance_index != NULL &&
           parser->price_set != NULL && parser->access_key_set != NULL &&
           parser->order_set != NULL;
}

static void fixture_parser_close(fixture_parser *parser)
{
    json_decref(parser->account_index);
    json_decref(parser->instance_index);
    json_decref(parser->price_set);
    json_decref(parser->access_key_set);
    json_decref(parser->order_set);
}

/* jansson's syntax errors carry line and column, not a path: name those instead. */
static json_t *fixture_load_json(fixture_parser *parser, const char *text, size_t text_bytes)
{
    json_error_t json_error;
    json_t *root = json_loadb(text, text_bytes, JSON_REJECT_DUPLICATES, &json_error);
    if (root != NULL) {
        return root;
    }
    if (json_error_code(&json_error) == json_error_out_of_memory) {
        fixture_fail_nomem(parser);
        return NULL;
    }
    fixture_fail(parser, "JSON syntax error at line %d, column %d: %s", json_error.line,
                 json_error.column, json_error.text);
    return NULL;
}

billord_err billord_fixture_parse(const char *text, size_t text_bytes,
                                  billord_fixture *out_fixture,
                                  char *error_text, size_t error_text_bytes)
{
    BILLORD_ASSERT(text != NULL || text_bytes == 0);
    BILLORD_ASSERT(out_fixture != NULL);
    BILLORD_ASSERT(error_text != NULL && error_text_bytes >= 1);
    memset(out_fixture, 0, sizeof(*out_fixture));
    error_text[0] = '\0';
    fixture_parser parser = {
        .fixture = out_fixture,
        .error_text = error_text,
        .error_text_bytes = error_text_bytes,
        .err = BILLORD_OK,
        .path = "$",
        .path_length = 1,
    };
    if (text_bytes > BILLORD_FIXTURE_BYTES_MAX) {
        fixture_fail(&parser, "larger than %u bytes", BILLORD_FIXTURE_BYTES_MAX);
        return parser.err;
    }
    json_t *root = NULL;
    if (!fixture_parser_open(&parser)) {
        fixture_fail_nomem(&parser);
    } else if ((root = fixture_load_json(&parser, text == NULL ? "" : text, text_bytes)) != NULL) {
        fixture_parse_root(&parser, root);
    }
    json_decref(root);
    fixture_parser_close(&parser);
    if (parser.err != BILLORD_OK) {
        billord_fixture_free(out_fixture);
    }
    return parser.err;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* The caller names the file (it prints "<file>: <error>"), so the text does not repeat it. */
static billord_err fixture_fail_io(int error_number, char *error_text, size_t error_text_bytes)
{
    char reason[128];
    snprintf(error_text, error_text_bytes, "cannot read: %s",
             strerror_r(error_number, reason, sizeof(reason)));
    fixture_error_make_one_line(error_text);
    return BILLORD_E_IO;
}

/* Reads at most BILLORD_FIXTURE_BYTES_MAX + 1 bytes, so an oversize file is detected. */
static billord_err fixture_read_all(FILE *file, char **out_text, size_t *out_bytes)
{
    const size_t capacity_limit_bytes = (size_t)BILLORD_FIXTURE_BYTES_MAX + 1;
    size_t capacity_bytes = FIXTURE_READ_CHUNK_BYTES;
    size_t length_bytes = 0;
    char *text = malloc(capacity_bytes);
    if (text == NULL) {
        return BILLORD_E_NOMEM;
    }
    for (;;) {
        if (length_bytes == capacity_bytes) {
            if (capacity_bytes == capacity_limit_bytes) {
                free(text);
                return BILLORD_E_TOO_LARGE;
            }
            const size_t next_bytes = capacity_bytes * 2 < capacity_limit_bytes
                                          ? capacity_bytes * 2
                                          : capacity_limit_bytes;
            char *grown = realloc(text, next_bytes);
            if (grown == NULL) {
                free(text);
                return BILLORD_E_NOMEM;
            }
            text = grown;
            capacity_bytes = next_bytes;
        }
        const size_t read_bytes =
            fread(text + length_bytes, 1, capacity_bytes - length_bytes, file);
        length_bytes += read_bytes;
        if (read_bytes == 0) {
            break;
        }
    }
    if (ferror(file)) {
        free(text);
        return BILLORD_E_IO;
    }
    *out_text = text;
    *out_bytes = length_bytes;
    return BILLORD_OK;
}

billord_err billord_fixture_parse_file(const char *file_path, billord_fixture *out_fixture,
                                       char *error_text, size_t error_text_bytes)
{
    BILLORD_ASSERT(file_path != NULL && out_fixture != NULL);
    BILLORD_ASSERT(error_text != NULL && error_text_bytes >= 1);
    memset(out_fixture, 0, sizeof(*out_fixture));
    FILE *file = fopen(file_path, "rb");
    if (file == NULL) {
        return fixture_fail_io(errno, error_text, error_text_bytes);
    }
    char *text = NULL;
    size_t text_bytes = 0;
    errno = 0;
    const billord_err read_err = fixture_read_all(file, &text, &text_bytes);
    const int read_errno = errno;
    fclose(file);
    if (read_err == BILLORD_E_IO) {
        return fixture_fail_io(read_errno, error_text, error_text_bytes);
    }
    if (read_err != BILLORD_OK) {
        snprintf(error_text, error_text_bytes, "%s",
                 read_err == BILLORD_E_TOO_LARGE ? "$: larger than the fixture limit"
                                                 : "$: out of memory");
        return read_err == BILLORD_E_TOO_LARGE ? BILLORD_E_FIXTURE : BILLORD_E_NOMEM;
    }
    const billord_err err =
        billord_fixture_parse(text, text_bytes, out_fixture, error_text, error_text_bytes);
    free(text);
    return err;
}

void billord_fixture_free(billord_fixture *fixture)
{
    if (fixture == NULL) {
        return;
    }
    free(fixture->prices);
    free(fixture->accounts);
    free(fixture->coupons);
    free(fixture->instances);
    free(fixture->orders);
    memset(fixture, 0, sizeof(*fixture));
}
