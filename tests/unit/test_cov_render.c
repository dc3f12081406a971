/*
 * test_cov_render.c: an answer is never partial (billord/render.h, src/core/render.c,
 * src/core/text_buffer.c).
 *
 * Under memory pressure, members of an answer used to vanish silently, and jansson's dump
 * (which ignores a failed write of an object key) could put out malformed JSON. Now:
 *   - every allocation of a render failing in turn (tests/support/faulty_alloc.h) yields
 *     the complete normal body or NULL, never anything else, in both formats;
 *   - a member that cannot be made (a message that is not UTF-8) refuses the body;
 *   - the failure answer of billord_render_failure() is the very bytes billord_render()
 *     makes of that error, is a well-formed error in either format, echoes only request
 *     ids billord makes, and is made without any allocation;
 *   - the shared text buffer refuses a text once an append failed (fixed or growable).
 * Sanitizer builds own the allocator: there the allocation-failure tests skip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jansson.h>

#include <billord/render.h>

#include "core/text_buffer.h"
#include "support/faulty_alloc.h"
#include "support/server_fixture.h"

/* Criterion 2.4.1's runner leaks a small allocation per test that has a .timeout (in
 * libcriterion, not in billord); LeakSanitizer reads these suppressions at exit. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

#define REQUEST_ID "0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0"
#define NO_REQUEST_ID "00000000-0000-4000-8000-000000000000"

static void fini(void)
{
    faulty_alloc_reset();
}

TestSuite(cov_render, .fini = fini, .timeout = 60);

static void need_faulty_alloc(void)
{
    if (!faulty_alloc_supported()) {
        cr_skip_test("allocations cannot be made to fail in a sanitizer build");
    }
}

static billord_outcome outcome_of(billord_api_code code, const char *message)
{
    billord_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.code = code;
    snprintf(outcome.message, sizeof outcome.message, "%s", message);
    snprintf(outcome.request_id, sizeof outcome.request_id, "%s", REQUEST_ID);
    return outcome;
}

/* ---- every allocation of a render ------------------------------------------------------ */

/* Fields with all the shapes an answer has: nested objects, arrays of objects, text to
 * escape, numbers, booleans, null, and names long enough that the text grows while a name
 * (an object key) is written. */
static json_t *rich_fields(void)
{
    json_t *fields = json_pack(
        "{s:i, s:i, s:{s:[{s:I, s:s, s:b, s:n}, {s:I, s:s, s:b, s:n}]}, s:s}", "TotalCount", 2,
        "PageNumber", 1, "Orders", "Order", "OrderId", (json_int_t)205395023430729,
        "InstanceId", "i-<acc>&\"0001\"", "Paid", 1, "PaidTime", "OrderId",
        (json_int_t)205395023430730, "InstanceId", "i-acc0002 'quoted'", "Paid", 0,
        "PaidTime", "Note", "\xe4\xb8\xad\xe6\x96\x87 text");
    cr_assert(fields != NULL);
    for (int i = 0; i < 6; i++) {
        char name[200];
        int used = snprintf(name, sizeof name, "LongName%d-", i);
        memset(name + used, 'n', sizeof name - 1 - (size_t)used);
        name[sizeof name - 1] = '\0';
        cr_assert(json_object_set_new(fields, name, json_integer(i)) == 0);
    }
    return fields;
}

/* Render action/outcome/fields with every allocation failing in turn: each result is NULL
 * or the body rendered without failures, byte for byte. */
static void each_allocation_may_fail(const char *action, const billord_outcome *outcome,
                                     const json_t *fields, billord_format format)
{
    size_t normal_bytes = 0;
    faulty_alloc_count(false);
    char *normal = billord_render(action, outcome, fields, format, &normal_bytes);
    uint64_t allocations = faulty_alloc_calls();
    faulty_alloc_reset();
    cr_assert(normal != NULL);
    cr_assert(allocations > 3, "%llu allocations", (unsigned long long)allocations);
    uint64_t refused = 0;
    for (uint64_t k = 1; k <= allocations; k++) {
        size_t bytes = 0;
        faulty_alloc_fail_at(k, false, false);
        char *body = billord_render(action, outcome, fields, format, &bytes);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        cr_expect(eq(u64, failures, 1), "allocation %llu was made", (unsigned long long)k);
        if (body == NULL) {
            refused++;
            continue;
        }
        cr_expect(eq(sz, bytes, normal_bytes), "allocation %llu", (unsigned long long)k);
        cr_expect(eq(str, body, normal), "allocation %llu", (unsigned long long)k);
        free(body);
    }
    cr_expect(refused > 0, "a failed allocation refuses the body");
    free(normal);
}

Test(cov_render, a_success_answer_is_whole_or_refused_in_both_formats)
{
    need_faulty_alloc();
    billord_outcome outcome = outcome_of(BILLORD_API_OK, "");
    outcome.has_order_id = true;
    outcome.order_id = 205395023430729;
    json_t *fields = rich_fields();
    each_allocation_may_fail("DescribeOrders", &outcome, fields, BILLORD_FORMAT_JSON);
    each_allocation_may_fail("DescribeOrders", &outcome, fields, BILLORD_FORMAT_XML);
    cr_expect(eq(int, (int)fields->refcount, 1), "fields are not retained, also on failure");
    json_decref(fields);
}

Test(cov_render, an_error_answer_is_whole_or_refused_in_both_formats)
{
    need_faulty_alloc();
    billord_outcome outcome =
        outcome_of(BILLORD_API_INVALID_PERIOD, "The specified parameter \"Period\" is not valid.");
    each_allocation_may_fail("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON);
    each_allocation_may_fail("RenewInstance", &outcome, NULL, BILLORD_FORMAT_XML);
}

/* Regression: a member that jansson refuses (text that is not UTF-8) was left out, and the
 * error went out without its Message. */
Test(cov_render, a_member_that_cannot_be_made_refuses_the_body)
{
    billord_outcome outcome = outcome_of(BILLORD_API_INVALID_PARAMETER, "bad \xff value");
    size_t bytes = 0;
    cr_expect(billord_render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON, &bytes) ==
              NULL);
    cr_expect(billord_render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_XML, &bytes) ==
              NULL);
    /* The same outcome with a message that is UTF-8 renders. */
    snprintf(outcome.message, sizeof outcome.message, "bad \xc3\xbf value");
    char *body = billord_render("RenewInstance", &outcome, NULL, BILLORD_FORMAT_JSON, &bytes);
    cr_assert(body != NULL);
    json_t *members = answer_json_error(body, bytes);
    cr_expect(members != NULL, "%s", body);
    json_decref(members);
    free(body);
}

/* ---- the failure answer ------------------------------------------------------------------ */

typedef struct failure_case {
    billord_api_code code;
    billord_format format;
} failure_case;

static const failure_case failure_cases[] = {
    {BILLORD_API_INTERNAL_ERROR, BILLORD_FORMAT_JSON},
    {BILLORD_API_INTERNAL_ERROR, BILLORD_FORMAT_XML},
    {BILLORD_API_SERVICE_UNAVAILABLE, BILLORD_FORMAT_JSON},
    {BILLORD_API_SERVICE_UNAVAILABLE, BILLORD_FORMAT_XML},
};
#define FAILURE_CASE_COUNT (sizeof failure_cases / sizeof failure_cases[0])

/* The members of a failure answer in its format (NULL unless it is a well-formed error). */
static json_t *failure_members(const char *body, size_t bytes, billord_format format)
{
    return format == BILLORD_FORMAT_XML ? answer_xml_error(body, bytes)
                                        : answer_json_error(body, bytes);
}

Test(cov_render, the_failure_answer_is_what_render_makes_of_that_error)
{
    for (size_t i = 0; i < FAILURE_CASE_COUNT; i++) {
        const failure_case *c = &failure_cases[i];
        billord_outcome outcome = outcome_of(c->code, billord_api_code_message(c->code));
        size_t rendered_bytes = 0;
        char *rendered =
            billord_render("RenewInstance", &outcome, NULL, c->format, &rendered_bytes);
        cr_assert(rendered != NULL);
        char out[BILLORD_RENDER_FAILURE_BYTES];
        memset(out, 'x', sizeof out);
        size_t bytes = billord_render_failure(c->code, REQUEST_ID, c->format, out);
        cr_expect(eq(sz, bytes, strlen(out)), "case %zu: NUL-terminated", i);
        cr_expect(bytes < sizeof out, "case %zu", i);
        cr_expect(eq(sz, bytes, rendered_bytes), "case %zu", i);
        cr_expect(eq(str, out, rendered), "case %zu", i);
        json_t *members = failure_members(out, bytes, c->format);
        cr_assert(members != NULL, "case %zu: %s", i, out);
        cr_expect(eq(str, (char *)json_string_value(json_object_get(members, "Code")),
                     (char *)billord_api_code_text(c->code)));
        cr_expect(eq(str, (char *)json_string_value(json_object_get(members, "RequestId")),
                     REQUEST_ID));
        cr_expect(eq(str, (char *)json_string_value(json_object_get(members, "Message")),
                     (char *)billord_api_code_message(c->code)));
        json_decref(members);
        free(rendered);
    }
}

Test(cov_render, the_failure_answer_echoes_only_request_ids_billord_makes)
{
    static const struct {
        const char *given;
        const char *answered;
    } ids[] = {
        {REQUEST_ID, REQUEST_ID},
        {"replayed-request-7", "replayed-request-7"},
        {NULL, NO_REQUEST_ID},
        {"", NO_REQUEST_ID},
        {"id\"with-quote", NO_REQUEST_ID},
        {"<id>", NO_REQUEST_ID},
        {"id with blank", NO_REQUEST_ID},
        {"k\xc3\xa4ufer", NO_REQUEST_ID},
        /* 36 characters fit, 37 are no request id of billord's. */
        {"ABCDEFGHIJ-KLMNOPQRST-UVWXYZ-0123456", "ABCDEFGHIJ-KLMNOPQRST-UVWXYZ-0123456"},
        {"ABCDEFGHIJ-KLMNOPQRST-UVWXYZ-01234567", NO_REQUEST_ID},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (size_t c = 0; c < FAILURE_CASE_COUNT; c++) {
            char out[BILLORD_RENDER_FAILURE_BYTES];
            size_t bytes = billord_render_failure(failure_cases[c].code, ids[i].given,
                                                  failure_cases[c].format, out);
            json_t *members = failure_members(out, bytes, failure_cases[c].format);
            cr_assert(members != NULL, "id %zu: %s", i, out);
            cr_expect(eq(str, (char *)json_string_value(json_object_get(members, "RequestId")),
                         (char *)ids[i].answered), "id %zu, case %zu", i, c);
            json_decref(members);
        }
    }
}

Test(cov_render, the_failure_answer_needs_no_allocation)
{
    need_faulty_alloc();
    for (size_t c = 0; c < FAILURE_CASE_COUNT; c++) {
        char out[BILLORD_RENDER_FAILURE_BYTES];
        faulty_alloc_fail_at(1, true, false);
        size_t bytes = billord_render_failure(failure_cases[c].code, REQUEST_ID,
                                              failure_cases[c].format, out);
        uint64_t failures = faulty_alloc_failures();
        faulty_alloc_reset();
        cr_expect(eq(u64, failures, 0), "case %zu: nothing was allocated", c);
        json_t *members = failure_members(out, bytes, failure_cases[c].format);
        cr_expect(members != NULL, "case %zu: %s", c, out);
        json_decref(members);
    }
}

/* ---- the text buffer ------------------------------------------------------------------- */

Test(cov_render, a_full_fixed_text_refuses_every_later_append)
{
    char storage[8];
    billord_text text;
    billord__text_init_fixed(&text, storage, sizeof storage);
    cr_expect(eq(str, storage, ""));
    cr_expect(billord__text_append_str(&text, "abc"));
    cr_expect(billord__text_append(&text, "defg", 4));
    cr_expect(eq(str, storage, "abcdefg"));
    cr_expect(not(billord__text_append(&text, "h", 1)), "no room for it and the NUL");
    cr_expect(text.failed);
    cr_expect(not(billord__text_append(&text, "", 0)), "refused once failed");
    cr_expect(eq(str, storage, "abcdefg"), "the bytes before are left as they were");
    cr_expect(eq(sz, text.used, 7));

    /* A dump whose object key does not fit: jansson goes on after it, the text does not. */
    char small[4];
    billord_text dump;
    billord__text_init_fixed(&dump, small, sizeof small);
    json_t *object = json_pack("{s:i}", "a-key-that-does-not-fit", 1);
    cr_expect(not(billord__text_dump_json(&dump, object, JSON_COMPACT)));
    cr_expect(dump.failed);
    json_decref(object);
}

Test(cov_render, a_growable_text_is_handed_over_whole_or_not_at_all)
{
    billord_text text;
    billord__text_init(&text);
    size_t bytes = 99;
    char *empty = billord__text_take(&text, &bytes);
    cr_assert(empty != NULL, "an empty text is \"\"");
    cr_expect(eq(str, empty, ""));
    cr_expect(eq(sz, bytes, 0));
    free(empty);

    billord__text_init(&text);
    json_t *object = json_pack("{s:s, s:[i, i]}", "key", "value", "list", 1, 2);
    cr_assert(billord__text_dump_json(&text, object, JSON_COMPACT | JSON_PRESERVE_ORDER));
    cr_assert(billord__text_append_str(&text, "\n"));
    char *line = billord__text_take(&text, &bytes);
    cr_expect(eq(str, line, "{\"key\":\"value\",\"list\":[1,2]}\n"));
    cr_expect(eq(sz, bytes, strlen(line)));
    cr_expect(text.bytes == NULL && text.used == 0, "empty after the hand-over");
    free(line);
    json_decref(object);
}

Test(cov_render, a_growable_text_that_cannot_grow_is_refused)
{
    need_faulty_alloc();
    billord_text text;
    billord__text_init(&text);
    cr_assert(billord__text_append_str(&text, "kept"));
    char big[1024];
    memset(big, 'b', sizeof big);
    faulty_alloc_fail_at(1, false, false);
    bool grew = billord__text_append(&text, big, sizeof big);
    faulty_alloc_reset();
    cr_expect(not(grew));
    cr_expect(eq(str, text.bytes, "kept"));
    cr_expect(not(billord__text_append_str(&text, "x")), "refused once failed");
    size_t bytes = 0;
    cr_expect(billord__text_take(&text, &bytes) == NULL, "a refused text is not handed over");
    cr_expect(text.bytes == NULL, "and is freed");
    billord__text_release(&text);
}
