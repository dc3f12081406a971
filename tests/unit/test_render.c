/*
 * tests/unit/test_render.c: the bytes of an answer (SPEC section 2) and the error
 * catalog (SPEC section 10).
 *
 * JSON success is {"RequestId", "OrderId" when there is one, ...fields} with no Code;
 * an error is {"RequestId", "HostId", "Code", "Message", "Recommend"} in that order with
 * the catalog's HTTP status; XML wraps the same tree in <ActionResponse> or <Error>,
 * escapes <>&"' in every text node and repeats array items as elements. Format=XML
 * (any case) selects XML, anything else JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/render.h>

#include "support/harness.h"

#define REQUEST_ID "0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0"
#define XML_DECLARATION "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static billord_outcome ok_outcome(bool has_order_id, uint64_t order_id)
{
    billord_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.code = BILLORD_API_OK;
    snprintf(outcome.request_id, sizeof outcome.request_id, "%s", REQUEST_ID);
    outcome.has_order_id = has_order_id;
    outcome.order_id = order_id;
    return outcome;
}

static billord_outcome error_outcome(billord_api_code code, const char *message)
{
    billord_outcome outcome = ok_outcome(false, 0);
    outcome.code = code;
    snprintf(outcome.message, sizeof outcome.message, "%s", message);
    return outcome;
}

/* Render and check that out_bytes is the body's length. */
static char *render(const char *action, const billord_outcome *outcome, const json_t *fields,
                    billord_format format)
{
    size_t bytes = 0;
    char *body = billord_render(action, outcome, fields, format, &bytes);
    cr_assert(ne(ptr, body, NULL));
    cr_expect(eq(sz, bytes, strlen(body)), "out_bytes is the body length");
    return body;
}

static void expect_body(char *body, const char *expected)
{
    cr_expect(eq(str, body, (char *)expected));
    free(body);
}

/* ---- the catalog (SPEC section 10) -------------------------------------------------- */

typedef struct catalog_case {
    int code;
    char text[48];
    int status;
} catalog_case;

ParameterizedTestParameters(catalog, code_text_and_status)
{
    static catalog_case cases[] = {
        {BILLORD_API_OK, "OK", 200},
        {BILLORD_API_MISSING_PARAMETER, "MissingParameter", 400},
        {BILLORD_API_INVALID_PARAMETER, "InvalidParameter", 400},
        {BILLORD_API_INVALID_PERIOD, "InvalidPeriod", 400},
        {BILLORD_API_INVALID_PERIOD_UNIT, "InvalidPeriodUnit.ValueNotSupported", 400},
        {BILLORD_API_INVALID_PERIOD_UNIT_403, "InvalidPeriodUnit.ValueNotSupported", 403},
        {BILLORD_API_INVALID_CLIENT_TOKEN, "InvalidClientToken.ValueNotSupported", 400},
        {BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH, "IdempotenceParamNotMatch", 400},
        {BILLORD_API_INVALID_PAYMENT_METHOD_MISSING, "InvalidPaymentMethod.Missing", 400},
        {BILLORD_API_INVALID_PAY_TYPE, "InvalidPayType", 400},
        {BILLORD_API_INVALID_USED_TIME, "InvalidUsedTime", 400},
        {BILLORD_API_SIGNATURE_DOES_NOT_MATCH, "SignatureDoesNotMatch", 400},
        {BILLORD_API_INCOMPLETE_SIGNATURE, "IncompleteSignature", 400},
        {BILLORD_API_INVALID_TIMESTAMP_EXPIRED, "InvalidTimeStamp.Expired", 400},
        {BILLORD_API_SIGNATURE_NONCE_USED, "SignatureNonceUsed", 400},
        {BILLORD_API_LAST_TOKEN_PROCESSING, "LastTokenProcessing", 403},
        {BILLORD_API_CHARGE_TYPE_VIOLATION, "ChargeTypeViolation", 403},
        {BILLORD_API_INCORRECT_INSTANCE_STATUS, "IncorrectInstanceStatus", 403},
        {BILLORD_API_INSTANCE_UNPAID_ORDER, "Instance.UnPaidOrder", 403},
        {BILLORD_API_INSTANCE_LOCKED_FOR_SECURITY, "InstanceLockedForSecurity", 403},
        {BILLORD_API_NOT_ENOUGH_BALANCE, "InvalidAccountStatus.NotEnoughBalance", 403},
        {BILLORD_API_MISSING_INSTANCE_ID, "MissingParameter.InstanceId", 403},
        {BILLORD_API_INVALID_INSTANCE_ID_PARAM, "InvalidParameter.InvalidInstanceId", 403},
        {BILLORD_API_INVALID_DURATION, "InvalidParameter.Duration", 403},
        {BILLORD_API_INVALID_RENEWAL_STATUS, "InvalidParameter.RenewalStatus", 403},
        {BILLORD_API_INCORRECT_DB_PAY_TYPE, "IncorrectDBInstancePayType", 403},
        {BILLORD_API_INCORRECT_DB_STATE, "IncorrectDBInstanceState", 403},
        {BILLORD_API_DB_CLASS_PHASED_OUT, "DBInstanceClass.PhasedOut", 403},
        {BILLORD_API_INCORRECT_ORDER_STATUS, "IncorrectOrderStatus", 403},
        {BILLORD_API_INSTANCE_NOT_FOUND, "InvalidInstanceId.NotFound", 404},
        {BILLORD_API_DB_INSTANCE_NOT_FOUND, "InvalidDBInstanceId.NotFound", 404},
        {BILLORD_API_ORDER_NOT_FOUND, "InvalidOrderId.NotFound", 404},
        {BILLORD_API_ACCESS_KEY_NOT_FOUND, "InvalidAccessKeyId.NotFound", 404},
        {BILLORD_API_ACTION_NOT_FOUND, "InvalidAction.NotFound", 404},
        {BILLORD_API_REQUEST_TOO_LARGE, "RequestTooLarge", 413},
        {BILLORD_API_INTERNAL_ERROR, "InternalError", 500},
        {BILLORD_API_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503},
    };
    return cr_make_param_array(catalog_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(catalog_case *c, catalog, code_text_and_status, .timeout = 30)
{
    billord_api_code code = (billord_api_code)c->code;
    cr_expect(eq(str, (char *)billord_api_code_text(code), c->text));
    cr_expect(eq(int, billord_api_code_status(code), c->status), "%s", c->text);
    cr_expect(eq(int, (int)billord_api_code_find(c->text, c->status), c->code), "%s %d", c->text,
              c->status);
    billord_outcome outcome = error_outcome(code, "m");
    cr_expect(eq(int, billord_render_status(&outcome), c->status), "%s", c->text);
    if (code != BILLORD_API_OK) {
        /* Every error has a fixed English message. */
        cr_expect(gt(sz, strlen(billord_api_code_message(code)), 10), "%s", c->text);
    }
}

Test(catalog, the_list_has_every_code_of_the_spec, .timeout = 30)
{
    cr_expect(eq(int, (int)BILLORD_API_CODE_COUNT, 37));
    cr_expect(eq(int, (int)billord_api_code_find("InvalidPeriod", 403),
                 (int)BILLORD_API_CODE_COUNT), "no InvalidPeriod with 403");
    cr_expect(eq(int, (int)billord_api_code_find("NoSuchCode", 400), (int)BILLORD_API_CODE_COUNT));
}

/* ---- JSON ----------------------------------------------------------------------------- */

Test(render_json, success_without_order_id_is_only_the_request_id, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    expect_body(render("ModifyInstanceAutoRenewAttribute", &outcome, NULL, BILLORD_FORMAT_JSON),
                "{\"RequestId\":\"" REQUEST_ID "\"}");
}

Test(render_json, success_with_order_id_has_it_as_a_number, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(true, 205395023430729ULL);
    expect_body(render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON),
                "{\"RequestId\":\"" REQUEST_ID "\",\"OrderId\":205395023430729}");
}

Test(render_json, largest_order_id_stays_exact, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(true, (1ULL << 53) - 1);
    expect_body(render("PayOrder", &outcome, NULL, BILLORD_FORMAT_JSON),
                "{\"RequestId\":\"" REQUEST_ID "\",\"OrderId\":9007199254740991}");
}

Test(render_json, fields_follow_in_their_order, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    json_t *fields = json_pack("{s:i, s:i, s:{s:[{s:s}, {s:s}]}}", "TotalCount", 2, "PageNumber", 1,
                               "Orders", "Order", "OrderId", "a", "OrderId", "b");
    cr_assert(ne(ptr, fields, NULL));
    expect_body(render("DescribeOrders", &outcome, fields, BILLORD_FORMAT_JSON),
                "{\"RequestId\":\"" REQUEST_ID "\",\"TotalCount\":2,\"PageNumber\":1,"
                "\"Orders\":{\"Order\":[{\"OrderId\":\"a\"},{\"OrderId\":\"b\"}]}}");
    cr_expect(eq(int, (int)fields->refcount, 1), "fields are not retained");
    json_decref(fields);
}

Test(render_json, error_has_the_five_fields_in_order_and_no_order_id, .timeout = 30)
{
    billord_outcome outcome = error_outcome(BILLORD_API_INVALID_PERIOD,
                                            "The specified period is not valid.");
    outcome.has_order_id = true;        /* never shown on an error */
    outcome.order_id = 42;
    char *body = render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON);
    const char *keys[] = {"\"RequestId\":", "\"HostId\":", "\"Code\":", "\"Message\":",
                          "\"Recommend\":"};
    const char *last = body;
    for (size_t i = 0; i < 5; i++) {
        const char *at = strstr(body, keys[i]);
        cr_assert(ne(ptr, (void *)at, NULL), "%s in %s", keys[i], body);
        cr_expect(eq(int, at > last || (i == 0 && at == body + 1) ? 1 : 0, 1), "%s in order: %s",
                  keys[i], body);
        last = at;
    }
    cr_expect(eq(ptr, strstr(body, "OrderId"), NULL), "%s", body);
    json_error_t error;
    json_t *tree = json_loads(body, 0, &error);
    cr_assert(ne(ptr, tree, NULL), "valid JSON: %s", error.text);
    cr_expect(eq(sz, json_object_size(tree), 5));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "RequestId")),
                 REQUEST_ID));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "HostId")),
                 BILLORD_HOST_ID));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "Code")),
                 "InvalidPeriod"));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "Message")),
                 "The specified period is not valid."));
    const char *recommend = json_string_value(json_object_get(tree, "Recommend"));
    cr_assert(ne(ptr, (void *)recommend, NULL));
    cr_expect(gt(sz, strlen(recommend), 0));
    json_decref(tree);
    free(body);
}

Test(render_json, error_ignores_success_fields, .timeout = 30)
{
    billord_outcome outcome = error_outcome(BILLORD_API_INTERNAL_ERROR, "x");
    json_t *fields = json_pack("{s:i}", "TotalCount", 3);
    char *body = render("DescribeOrders", &outcome, fields, BILLORD_FORMAT_JSON);
    cr_expect(eq(ptr, strstr(body, "TotalCount"), NULL), "%s", body);
    json_decref(fields);
    free(body);
}

Test(render_json, message_with_quotes_and_controls_is_escaped, .timeout = 30)
{
    const char *message = "The specified parameter \"A\\B\" is not valid.\n<&'>";
    billord_outcome outcome = error_outcome(BILLORD_API_INVALID_PARAMETER, message);
    char *body = render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON);
    cr_expect(eq(ptr, strchr(body, '\n'), NULL), "one line: %s", body);
    json_t *tree = json_loads(body, 0, NULL);
    cr_assert(ne(ptr, tree, NULL), "%s", body);
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "Message")),
                 (char *)message));
    json_decref(tree);
    free(body);
}

Test(render_json, rendering_is_pure, .timeout = 30)
{
    billord_outcome outcome = error_outcome(BILLORD_API_NOT_ENOUGH_BALANCE,
                                            "Your account does not have enough balance.");
    char *first = render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON);
    char *second = render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON);
    cr_expect(eq(str, first, second));
    free(first);
    free(second);
}

Test(render_json, an_engine_answer_renders_its_catalog_message, .timeout = 30)
{
    harness h;
    harness_open(&h, "fixtures/demo.json");
    billord_outcome o = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001",
                                     NULL);
    char *body = harness_render("RenewInstance", &o);
    json_t *tree = json_loads(body, 0, NULL);
    cr_assert(ne(ptr, tree, NULL));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "Code")),
                 "MissingParameter"));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "Message")),
                 "The input parameter \"Period\" that is mandatory for processing this request "
                 "is not supplied."));
    cr_expect(eq(str, (char *)json_string_value(json_object_get(tree, "RequestId")),
                 o.request_id));
    json_decref(tree);
    free(body);
    o = harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", "i-acc0001", "Period", "1",
                     NULL);
    body = harness_render("RenewInstance", &o);
    char expected[128];
    snprintf(expected, sizeof expected, "{\"RequestId\":\"%s\",\"OrderId\":%llu}", o.request_id,
             (unsigned long long)o.order_id);
    expect_body(body, expected);
    harness_close(&h);
}

/* ---- XML ------------------------------------------------------------------------------ */

Test(render_xml, success_is_wrapped_in_the_action_response, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(true, 205395023430729ULL);
    expect_body(render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_XML),
                XML_DECLARATION "<RenewInstanceResponse><RequestId>" REQUEST_ID
                                "</RequestId><OrderId>205395023430729</OrderId>"
                                "</RenewInstanceResponse>");
}

Test(render_xml, success_without_order_id, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    expect_body(render("ModifyInstanceAutoRenewAttribute", &outcome, NULL, BILLORD_FORMAT_XML),
                XML_DECLARATION "<ModifyInstanceAutoRenewAttributeResponse><RequestId>" REQUEST_ID
                                "</RequestId></ModifyInstanceAutoRenewAttributeResponse>");
}

Test(render_xml, error_is_an_error_element_with_five_children_in_order, .timeout = 30)
{
    billord_outcome outcome = error_outcome(BILLORD_API_CHARGE_TYPE_VIOLATION,
                                            "The operation is not permitted due to charge type "
                                            "of the instance.");
    char *body = render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_XML);
    const char *prefix = XML_DECLARATION "<Error><RequestId>" REQUEST_ID "</RequestId>"
                                         "<HostId>" BILLORD_HOST_ID "</HostId>"
                                         "<Code>ChargeTypeViolation</Code>"
                                         "<Message>The operation is not permitted due to charge "
                                         "type of the instance.</Message><Recommend>";
    cr_expect(eq(int, strncmp(body, prefix, strlen(prefix)), 0), "%s", body);
    const char *suffix = "</Recommend></Error>";
    size_t length = strlen(body);
    cr_assert(gt(sz, length, strlen(suffix)));
    cr_expect(eq(str, body + length - strlen(suffix), (char *)suffix));
    free(body);
}

Test(render_xml, error_of_an_unknown_action_is_an_error_element, .timeout = 30)
{
    billord_outcome outcome = error_outcome(BILLORD_API_ACTION_NOT_FOUND,
                                            "The specified action is not valid.");
    char *body = render(NULL, &outcome, NULL, BILLORD_FORMAT_XML);
    cr_expect(eq(int, strncmp(body, XML_DECLARATION "<Error>", strlen(XML_DECLARATION) + 7), 0),
              "%s", body);
    cr_expect(ne(ptr, strstr(body, "<Code>InvalidAction.NotFound</Code>"), NULL), "%s", body);
    free(body);
}

typedef struct escape_case {
    char raw[32];
    char escaped[64];
} escape_case;

ParameterizedTestParameters(render_xml, text_is_escaped)
{
    static escape_case cases[] = {
        {"<", "&lt;"},
        {">", "&gt;"},
        {"&", "&amp;"},
        {"\"", "&quot;"},
        {"'", "&apos;"},
        {"a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;"},
        {"&amp;", "&amp;amp;"},
        {"plain text", "plain text"},
    };
    return cr_make_param_array(escape_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(escape_case *c, render_xml, text_is_escaped, .timeout = 30)
{
    /* In an error message ... */
    billord_outcome outcome = error_outcome(BILLORD_API_INVALID_INSTANCE_ID_PARAM, c->raw);
    char *body = render("ModifyInstanceAutoRenewAttribute", &outcome, NULL, BILLORD_FORMAT_XML);
    char expected[128];
    snprintf(expected, sizeof expected, "<Message>%s</Message>", c->escaped);
    cr_expect(ne(ptr, strstr(body, expected), NULL), "%s in %s", expected, body);
    free(body);
    /* ... and in a success field. */
    billord_outcome ok = ok_outcome(false, 0);
    json_t *fields = json_pack("{s:s}", "InstanceId", c->raw);
    body = render("DescribeInstanceAutoRenewAttribute", &ok, fields, BILLORD_FORMAT_XML);
    snprintf(expected, sizeof expected, "<InstanceId>%s</InstanceId>", c->escaped);
    cr_expect(ne(ptr, strstr(body, expected), NULL), "%s in %s", expected, body);
    json_decref(fields);
    free(body);
}

Test(render_xml, arrays_are_repeated_elements, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    json_t *fields = json_pack("{s:i, s:{s:[{s:I, s:s}, {s:I, s:s}]}}", "TotalCount", 2, "Orders",
                               "Order", "OrderId", (json_int_t)1, "Status", "Paid", "OrderId",
                               (json_int_t)2, "Status", "Unpaid");
    expect_body(render("DescribeOrders", &outcome, fields, BILLORD_FORMAT_XML),
                XML_DECLARATION "<DescribeOrdersResponse><RequestId>" REQUEST_ID "</RequestId>"
                                "<TotalCount>2</TotalCount><Orders>"
                                "<Order><OrderId>1</OrderId><Status>Paid</Status></Order>"
                                "<Order><OrderId>2</OrderId><Status>Unpaid</Status></Order>"
                                "</Orders></DescribeOrdersResponse>");
    json_decref(fields);
}

Test(render_xml, empty_array_has_no_elements, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    json_t *fields = json_pack("{s:i, s:{s:[]}}", "TotalCount", 0, "Orders", "Order");
    expect_body(render("DescribeOrders", &outcome, fields, BILLORD_FORMAT_XML),
                XML_DECLARATION "<DescribeOrdersResponse><RequestId>" REQUEST_ID "</RequestId>"
                                "<TotalCount>0</TotalCount><Orders></Orders>"
                                "</DescribeOrdersResponse>");
    json_decref(fields);
}

Test(render_xml, scalars_booleans_and_null, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    json_t *fields = json_pack("{s:b, s:b, s:n, s:I, s:s}", "AutoRenewEnabled", 1, "Other", 0,
                               "LockTime", "Balance", (json_int_t)-5, "ExpiredTime",
                               "2026-12-31T16:00:00Z");
    expect_body(render("DescribeInstanceAutoRenewAttribute", &outcome, fields, BILLORD_FORMAT_XML),
                XML_DECLARATION "<DescribeInstanceAutoRenewAttributeResponse><RequestId>" REQUEST_ID
                                "</RequestId><AutoRenewEnabled>true</AutoRenewEnabled>"
                                "<Other>false</Other><LockTime></LockTime><Balance>-5</Balance>"
                                "<ExpiredTime>2026-12-31T16:00:00Z</ExpiredTime>"
                                "</DescribeInstanceAutoRenewAttributeResponse>");
    json_decref(fields);
}

Test(render_json, scalars_booleans_and_null, .timeout = 30)
{
    billord_outcome outcome = ok_outcome(false, 0);
    json_t *fields = json_pack("{s:b, s:n}", "AutoRenewEnabled", 1, "LockTime");
    expect_body(render("DescribeInstanceAutoRenewAttribute", &outcome, fields, BILLORD_FORMAT_JSON),
                "{\"RequestId\":\"" REQUEST_ID "\",\"AutoRenewEnabled\":true,\"LockTime\":null}");
    json_decref(fields);
}

/* ---- Format -------------------------------------------------------------------------- */

typedef struct format_case {
    char value[16];
    bool is_null;
    int format;
} format_case;

ParameterizedTestParameters(render_format, from_param)
{
    static format_case cases[] = {
        {"XML", false, BILLORD_FORMAT_XML},
        {"xml", false, BILLORD_FORMAT_XML},
        {"Xml", false, BILLORD_FORMAT_XML},
        {"JSON", false, BILLORD_FORMAT_JSON},
        {"json", false, BILLORD_FORMAT_JSON},
        {"", false, BILLORD_FORMAT_JSON},
        {"", true, BILLORD_FORMAT_JSON},
        {"XMLX", false, BILLORD_FORMAT_JSON},
        {" XML", false, BILLORD_FORMAT_JSON},
        {"XML ", false, BILLORD_FORMAT_JSON},
        {"text/xml", false, BILLORD_FORMAT_JSON},
    };
    return cr_make_param_array(format_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(format_case *c, render_format, from_param, .timeout = 30)
{
    billord_format format = billord_format_from_param(c->is_null ? NULL : c->value);
    cr_expect(eq(int, (int)format, c->format), "\"%s\"%s", c->value, c->is_null ? " (NULL)" : "");
}
