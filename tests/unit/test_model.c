/* tests/unit/test_model.c: every enum has exactly one wire name, and parsing is its inverse. */
#include <stddef.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/model.h>

/* One row per enum value: the name function and the parser under test are chosen by kind. */
typedef enum model_kind {
    MODEL_PRODUCT,
    MODEL_CHARGE_TYPE,
    MODEL_INSTANCE_STATUS,
    MODEL_RENEWAL_STATUS,
    MODEL_PERIOD_UNIT,
    MODEL_ORDER_KIND,
    MODEL_ORDER_STATUS,
} model_kind;

typedef struct name_case {
    model_kind kind;
    int value;
    char name[16];   /* an array, not a pointer: Criterion copies parameters into a new process */
} name_case;

static const char *model_test_name(model_kind kind, int value)
{
    switch (kind) {
    case MODEL_PRODUCT: return billord_product_name((billord_product)value);
    case MODEL_CHARGE_TYPE: return billord_charge_type_name((billord_charge_type)value);
    case MODEL_INSTANCE_STATUS:
        return billord_instance_status_name((billord_instance_status)value);
    case MODEL_RENEWAL_STATUS: return billord_renewal_status_name((billord_renewal_status)value);
    case MODEL_PERIOD_UNIT: return billord_period_unit_name((billord_period_unit)value);
    case MODEL_ORDER_KIND: return billord_order_kind_name((billord_order_kind)value);
    case MODEL_ORDER_STATUS: return billord_order_status_name((billord_order_status)value);
    }
    return NULL;
}

/* Parses text as kind; -1 when the parser refuses it. */
static int model_test_parse(model_kind kind, const char *text)
{
    bool ok = false;
    int value = -1;
#define MODEL_TEST_PARSE(type, parse_function)                                                   \
    do {                                                                                         \
        type parsed = (type)0;                                                                   \
        ok = parse_function(text, &parsed);                                                      \
        value = (int)parsed;                                                                     \
    } while (0)
    switch (kind) {
    case MODEL_PRODUCT: MODEL_TEST_PARSE(billord_product, billord_product_parse); break;
    case MODEL_CHARGE_TYPE: MODEL_TEST_PARSE(billord_charge_type, billord_charge_type_parse); break;
    case MODEL_INSTANCE_STATUS:
        MODEL_TEST_PARSE(billord_instance_status, billord_instance_status_parse);
        break;
    case MODEL_RENEWAL_STATUS:
        MODEL_TEST_PARSE(billord_renewal_status, billord_renewal_status_parse);
        break;
    case MODEL_PERIOD_UNIT: MODEL_TEST_PARSE(billord_period_unit, billord_period_unit_parse); break;
    case MODEL_ORDER_KIND: MODEL_TEST_PARSE(billord_order_kind, billord_order_kind_parse); break;
    case MODEL_ORDER_STATUS:
        MODEL_TEST_PARSE(billord_order_status, billord_order_status_parse);
        break;
    }
#undef MODEL_TEST_PARSE
    return ok ? value : -1;
}

static name_case name_cases[] = {
    {MODEL_PRODUCT, BILLORD_PRODUCT_ECS, "ecs"},
    {MODEL_PRODUCT, BILLORD_PRODUCT_RDS, "rds"},
    {MODEL_PRODUCT, BILLORD_PRODUCT_HSS, "hss"},
    {MODEL_CHARGE_TYPE, BILLORD_CHARGE_PREPAID, "PrePaid"},
    {MODEL_CHARGE_TYPE, BILLORD_CHARGE_POSTPAID, "PostPaid"},
    {MODEL_INSTANCE_STATUS, BILLORD_STATUS_RUNNING, "Running"},
    {MODEL_INSTANCE_STATUS, BILLORD_STATUS_STOPPED, "Stopped"},
    {MODEL_INSTANCE_STATUS, BILLORD_STATUS_EXPIRED, "Expired"},
    {MODEL_INSTANCE_STATUS, BILLORD_STATUS_LOCKED, "Locked"},
    {MODEL_INSTANCE_STATUS, BILLORD_STATUS_FROZEN, "Frozen"},
    {MODEL_INSTANCE_STATUS, BILLORD_STATUS_RELEASED, "Released"},
    {MODEL_RENEWAL_STATUS, BILLORD_RENEWAL_NORMAL, "Normal"},
    {MODEL_RENEWAL_STATUS, BILLORD_RENEWAL_AUTO, "AutoRenewal"},
    {MODEL_RENEWAL_STATUS, BILLORD_RENEWAL_NOT, "NotRenewal"},
    {MODEL_PERIOD_UNIT, BILLORD_PERIOD_WEEK, "Week"},
    {MODEL_PERIOD_UNIT, BILLORD_PERIOD_MONTH, "Month"},
    {MODEL_PERIOD_UNIT, BILLORD_PERIOD_YEAR, "Year"},
    {MODEL_ORDER_KIND, BILLORD_ORDER_RENEW, "Renew"},
    {MODEL_ORDER_KIND, BILLORD_ORDER_AUTO_RENEW, "AutoRenew"},
    {MODEL_ORDER_KIND, BILLORD_ORDER_CHANGE_PAY_TYPE, "ChangePayType"},
    {MODEL_ORDER_STATUS, BILLORD_ORDER_UNPAID, "Unpaid"},
    {MODEL_ORDER_STATUS, BILLORD_ORDER_PAID, "Paid"},
    {MODEL_ORDER_STATUS, BILLORD_ORDER_CANCELLED, "Cancelled"},
};

ParameterizedTestParameters(model, name_is_the_wire_name)
{
    return cr_make_param_array(name_case, name_cases, sizeof(name_cases) / sizeof(name_cases[0]));
}

ParameterizedTest(name_case *row, model, name_is_the_wire_name)
{
    cr_assert(eq(str, (char *)model_test_name(row->kind, row->value), row->name));
}

ParameterizedTestParameters(model, parse_inverts_name)
{
    return cr_make_param_array(name_case, name_cases, sizeof(name_cases) / sizeof(name_cases[0]));
}

ParameterizedTest(name_case *row, model, parse_inverts_name)
{
    cr_assert(eq(int, model_test_parse(row->kind, row->name), row->value));
}

typedef struct rejected_case {
    model_kind kind;
    char text[16];
} rejected_case;

ParameterizedTestParameters(model, parse_rejects_near_misses)
{
    static rejected_case cases[] = {
        {MODEL_PRODUCT, "ECS"},           {MODEL_PRODUCT, "ecs "},
        {MODEL_PRODUCT, ""},              {MODEL_PRODUCT, "vpc"},
        {MODEL_CHARGE_TYPE, "Prepaid"},   {MODEL_CHARGE_TYPE, "prepaid"},
        {MODEL_INSTANCE_STATUS, "running"}, {MODEL_INSTANCE_STATUS, "Unknown"},
        {MODEL_RENEWAL_STATUS, "Auto"},   {MODEL_RENEWAL_STATUS, "autorenewal"},
        {MODEL_PERIOD_UNIT, "Day"},       {MODEL_PERIOD_UNIT, "month"},
        {MODEL_ORDER_KIND, "renew"},      {MODEL_ORDER_KIND, "Unknown"},
        {MODEL_ORDER_STATUS, "Canceled"}, {MODEL_ORDER_STATUS, "paid"},
    };
    return cr_make_param_array(rejected_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(rejected_case *row, model, parse_rejects_near_misses)
{
    cr_assert(eq(int, model_test_parse(row->kind, row->text), -1), "accepted \"%s\"", row->text);
}

Test(model, parse_rejects_null_text)
{
    billord_product product = BILLORD_PRODUCT_RDS;
    cr_assert(not(billord_product_parse(NULL, &product)));
    cr_assert(eq(int, product, BILLORD_PRODUCT_RDS), "out stays untouched");
}

Test(model, parse_leaves_out_untouched_on_failure)
{
    billord_order_status status = BILLORD_ORDER_PAID;
    cr_assert(not(billord_order_status_parse("Open", &status)));
    cr_assert(eq(int, status, BILLORD_ORDER_PAID));
}

Test(model, out_of_range_value_names_unknown)
{
    for (model_kind kind = MODEL_PRODUCT; kind <= MODEL_ORDER_STATUS; kind++) {
        cr_expect(eq(str, (char *)model_test_name(kind, 0), "Unknown"));
        cr_expect(eq(str, (char *)model_test_name(kind, 99), "Unknown"));
        cr_expect(eq(str, (char *)model_test_name(kind, -1), "Unknown"));
    }
}

Test(model, zero_is_never_a_parsed_value)
{
    /* A zeroed record must not look valid: enums start at 1 and "Unknown" does not parse. */
    for (model_kind kind = MODEL_PRODUCT; kind <= MODEL_ORDER_STATUS; kind++) {
        cr_expect(eq(int, model_test_parse(kind, "Unknown"), -1));
    }
}

Test(model, product_bits_are_distinct)
{
    const unsigned ecs_bit = BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_ECS);
    const unsigned rds_bit = BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_RDS);
    const unsigned hss_bit = BILLORD_PRODUCT_BIT(BILLORD_PRODUCT_HSS);
    cr_assert(eq(u32, ecs_bit & rds_bit, 0));
    cr_assert(eq(u32, ecs_bit & hss_bit, 0));
    cr_assert(eq(u32, rds_bit & hss_bit, 0));
}
