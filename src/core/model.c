/*
 * model.c: wire names of the model's enums (SPEC section 1 and the API).
 *
 * One table per enum, indexed by the enum value, so a name and its parser
 * cannot drift apart. A name lookup never fails (an out-of-range value gives
 * "Unknown", like billord_err_name) because it is used while formatting
 * answers and logs, where crashing on a corrupt value would hide the cause.
 * Parsing is exact and case-sensitive: the names are part of the contract.
 */
#include <billord/model.h>

#include <stddef.h>
#include <string.h>

#define MODEL_UNKNOWN_NAME "Unknown"

static const char *const product_names[] = {
    [BILLORD_PRODUCT_ECS] = "ecs",
    [BILLORD_PRODUCT_RDS] = "rds",
    [BILLORD_PRODUCT_HSS] = "hss",
};

static const char *const charge_type_names[] = {
    [BILLORD_CHARGE_PREPAID] = "PrePaid",
    [BILLORD_CHARGE_POSTPAID] = "PostPaid",
};

static const char *const instance_status_names[] = {
    [BILLORD_STATUS_RUNNING] = "Running",   [BILLORD_STATUS_STOPPED] = "Stopped",
    [BILLORD_STATUS_EXPIRED] = "Expired",   [BILLORD_STATUS_LOCKED] = "Locked",
    [BILLORD_STATUS_FROZEN] = "Frozen",     [BILLORD_STATUS_RELEASED] = "Released",
};

static const char *const renewal_status_names[] = {
    [BILLORD_RENEWAL_NORMAL] = "Normal",
    [BILLORD_RENEWAL_AUTO] = "AutoRenewal",
    [BILLORD_RENEWAL_NOT] = "NotRenewal",
};

static const char *const period_unit_names[] = {
    [BILLORD_PERIOD_WEEK] = "Week",
    [BILLORD_PERIOD_MONTH] = "Month",
    [BILLORD_PERIOD_YEAR] = "Year",
};

static const char *const order_kind_names[] = {
    [BILLORD_ORDER_RENEW] = "Renew",
    [BILLORD_ORDER_AUTO_RENEW] = "AutoRenew",
    [BILLORD_ORDER_CHANGE_PAY_TYPE] = "ChangePayType",
};

static const char *const order_status_names[] = {
    [BILLORD_ORDER_UNPAID] = "Unpaid",
    [BILLORD_ORDER_PAID] = "Paid",
    [BILLORD_ORDER_CANCELLED] = "Cancelled",
};

#define MODEL_COUNT(table) (sizeof(table) / sizeof((table)[0]))

static const char *model_name(const char *const *names, size_t name_count, int value)
{
    if (value <= 0 || (size_t)value >= name_count || names[value] == NULL) {
        return MODEL_UNKNOWN_NAME;
    }
    return names[value];
}

/* Index 0 is never a valid value: every enum starts at 1, so a zeroed record is caught. */
static bool model_parse(const char *const *names, size_t name_count, const char *text,
                        int *out_value)
{
    if (text == NULL) {
        return false;
    }
    for (size_t index = 1; index < name_count; index++) {
        if (names[index] != NULL && strcmp(names[index], text) == 0) {
            *out_value = (int)index;
            return true;
        }
    }
    return false;
}

/* Defines the name/parse pair of one enum over its table. */
#define MODEL_NAME_AND_PARSE(prefix, type, table)                                   \
    const char *billord_##prefix##_name(type value)                                 \
    {                                                                               \
        return model_name(table, MODEL_COUNT(table), (int)value);                   \
    }                                                                               \
    bool billord_##prefix##_parse(const char *text, type *out)                      \
    {                                                                               \
        int value = 0;                                                              \
        if (!model_parse(table, MODEL_COUNT(table), text, &value)) {                \
            return false;                                                           \
        }                                                                           \
        *out = (type)value;                                                         \
        return true;                                                                \
    }

MODEL_NAME_AND_PARSE(product, billord_product, product_names)
MODEL_NAME_AND_PARSE(charge_type, billord_charge_type, charge_type_names)
MODEL_NAME_AND_PARSE(instance_status, billord_instance_status, instance_status_names)
MODEL_NAME_AND_PARSE(renewal_status, billord_renewal_status, renewal_status_names)
MODEL_NAME_AND_PARSE(period_unit, billord_period_unit, period_unit_names)
MODEL_NAME_AND_PARSE(order_kind, billord_order_kind, order_kind_names)
MODEL_NAME_AND_PARSE(order_status, billord_order_status, order_status_names)
