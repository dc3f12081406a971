/*
 * test_http_params.c: percent-encoding, the parameter parser and its limits,
 * pop-core's array style and the RequestId format (billord/http_params.h).
 *
 * Contract under test: enc is SDK-WIRE's; every limit and every malformation
 * answers its own status and leaves the list untouched; what parses is what
 * billord_params_encode writes back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <billord/http_params.h>

/*
 * Criterion 2.4 leaks a few of its own bookkeeping blocks in the runner process
 * when tests with .timeout finish concurrently (--jobs 2, as CTest runs them),
 * and LeakSanitizer would fail the suite for it. Leaks that involve libcriterion
 * are therefore suppressed in the runner only. The tests run in child processes
 * (Criterion marks them with BXFI_MAP), where nothing is suppressed, so a leak
 * of ours still fails the run.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return getenv("BXFI_MAP") != NULL ? "" : "leak:libcriterion.so\n";
}

#define TEST_ARENA_BYTES                                                                        \
    (BILLORD_PARAMS_ARENA_BYTES(BILLORD_HEADERS_BYTES_MAX + BILLORD_BODY_BYTES_MAX))

static char test_arena[TEST_ARENA_BYTES];

static void params_fresh(billord_params *params)
{
    billord_params_init(params, test_arena, sizeof test_arena);
}

static billord_params_status parse_text(billord_params *params, const char *text,
                                        billord_http_detail *detail)
{
    return billord_params_parse(params, text, strlen(text), BILLORD_PARAM_SOURCE_QUERY, detail);
}

/* ---- Percent-encoding ------------------------------------------------------------------- */

typedef struct encode_case {
    char in[96];
    char encoded_expected[96];
} encode_case;

ParameterizedTestParameters(http_params, percent_encode_table)
{
    static encode_case cases[] = {
        {"", ""},
        {"abcXYZ019", "abcXYZ019"},
        {"-_.~", "-_.~"},
        {"a b*\xC3\xBC~'", "a%20b%2A%C3%BC~%27"},   /* SDK-WIRE's example */
        {"/", "%2F"},
        {"+", "%2B"},
        {"!'()*", "%21%27%28%29%2A"},
        {"a=b&c", "a%3Db%26c"},
        {"\x7F\xFF", "%7F%FF"},
        {"2025-01-02T03:04:05Z", "2025-01-02T03%3A04%3A05Z"},
    };
    return cr_make_param_array(encode_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(encode_case *c, http_params, percent_encode_table, .timeout = 5)
{
    char out[128];
    size_t out_bytes = 0;
    cr_assert(eq(int, billord_percent_encode(c->in, strlen(c->in), out, sizeof out, &out_bytes),
                 BILLORD_OK));
    cr_expect(eq(str, out, (char *)c->encoded_expected));
    cr_expect(eq(sz, out_bytes, strlen(c->encoded_expected)));
    cr_expect(eq(sz, billord_percent_encoded_bytes(c->in, strlen(c->in)), out_bytes));
}

Test(http_params, percent_encode_needs_room_for_the_nul, .timeout = 5)
{
    char out[8];
    size_t out_bytes = 99;
    /* "a b" -> "a%20b": 5 bytes and a NUL. */
    cr_expect(eq(int, billord_percent_encode("a b", 3, out, 5, &out_bytes), BILLORD_E_TOO_LARGE));
    cr_expect(eq(sz, out_bytes, 99), "out_bytes untouched on error");
    cr_expect(eq(int, billord_percent_encode("a b", 3, out, 6, &out_bytes), BILLORD_OK));
    cr_expect(eq(str, out, "a%20b"));
}

Test(http_params, percent_every_byte_round_trips, .timeout = 5)
{
    uint8_t bytes[256];
    for (size_t i = 0; i < sizeof bytes; i++) {
        bytes[i] = (uint8_t)i;
    }
    char encoded[3 * 256 + 1];
    size_t encoded_bytes = 0;
    cr_assert(eq(int, billord_percent_encode(bytes, sizeof bytes, encoded, sizeof encoded,
                                             &encoded_bytes),
                 BILLORD_OK));
    cr_expect(eq(sz, encoded_bytes, 66u + 3u * 190u), "66 unreserved bytes, 190 escaped");
    char decoded[256];
    size_t decoded_bytes = 0;
    cr_assert(eq(int, billord_percent_decode(encoded, encoded_bytes, decoded, sizeof decoded,
                                             &decoded_bytes),
                 BILLORD_OK));
    cr_assert(eq(sz, decoded_bytes, sizeof bytes));
    cr_expect(eq(int, memcmp(decoded, bytes, sizeof bytes), 0));
}

typedef struct decode_case {
    char in[96];
    billord_err err_expected;
    char decoded_expected[96];
} decode_case;

ParameterizedTestParameters(http_params, percent_decode_table)
{
    static decode_case cases[] = {
        {"", BILLORD_OK, ""},
        {"%41%42", BILLORD_OK, "AB"},
        {"%6a%6A", BILLORD_OK, "jj"},          /* either case */
        {"a+b", BILLORD_OK, "a b"},            /* '+' is a space */
        {"a%2Bb", BILLORD_OK, "a+b"},
        {"*'()!", BILLORD_OK, "*'()!"},        /* Node's querystring leaves these */
        {"%", BILLORD_E_INVALID_ARGUMENT, ""},
        {"%4", BILLORD_E_INVALID_ARGUMENT, ""},
        {"%G1", BILLORD_E_INVALID_ARGUMENT, ""},
        {"%1G", BILLORD_E_INVALID_ARGUMENT, ""},
        {"%%41", BILLORD_E_INVALID_ARGUMENT, ""},
        {"abc%", BILLORD_E_INVALID_ARGUMENT, ""},
        {"% 1", BILLORD_E_INVALID_ARGUMENT, ""},
    };
    return cr_make_param_array(decode_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(decode_case *c, http_params, percent_decode_table, .timeout = 5)
{
    char out[64];
    size_t out_bytes = 999;
    billord_err const err = billord_percent_decode(c->in, strlen(c->in), out, sizeof out,
                                                   &out_bytes);
    cr_assert(eq(int, err, c->err_expected), "input %s", c->in);
    if (c->err_expected == BILLORD_OK) {
        cr_expect(eq(sz, out_bytes, strlen(c->decoded_expected)));
        cr_expect(eq(int, memcmp(out, c->decoded_expected, out_bytes), 0));
    } else {
        cr_expect(eq(sz, out_bytes, 999), "out_bytes untouched on error");
    }
}

Test(http_params, percent_decode_respects_capacity, .timeout = 5)
{
    char out[2];
    size_t out_bytes = 0;
    cr_expect(eq(int, billord_percent_decode("abc", 3, out, 2, &out_bytes), BILLORD_E_TOO_LARGE));
    cr_expect(eq(int, billord_percent_decode("%41b", 4, out, 2, &out_bytes), BILLORD_OK));
    cr_expect(eq(sz, out_bytes, 2));
}

/* ---- Parsing ---------------------------------------------------------------------------- */

Test(http_params, parse_keeps_order_and_decodes, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, parse_text(&params, "b=2&a=x+y&c=%C3%BC", NULL), BILLORD_PARAMS_OK));
    cr_assert(eq(u32, params.count, 3));
    cr_expect(eq(str, (char *)params.items[0].name, "b"));
    cr_expect(eq(str, (char *)params.items[1].value, "x y"));
    cr_expect(eq(str, (char *)params.items[2].value, "\xC3\xBC"));
    cr_expect(eq(u32, params.items[2].value_bytes, 2));
    cr_expect(eq(int, params.items[0].source, BILLORD_PARAM_SOURCE_QUERY));
    const billord_http_param *found = billord_params_find(&params, "a");
    cr_assert(not(eq(ptr, (void *)found, NULL)));
    cr_expect(eq(str, (char *)found->value, "x y"));
    cr_expect(eq(ptr, (void *)billord_params_find(&params, "d"), NULL));
    cr_expect(eq(ptr, (void *)billord_params_find(&params, "A"), NULL), "names are case-sensitive");
}

Test(http_params, parse_accepts_what_node_querystring_sends, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, parse_text(&params, "ClientToken=a%20b*%C3%BC~'", NULL), BILLORD_PARAMS_OK));
    cr_expect(eq(str, (char *)params.items[0].value, "a b*\xC3\xBC~'"));
}

Test(http_params, parse_skips_empty_segments_and_allows_missing_values, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, parse_text(&params, "&a=1&&flag&b=x=y&", NULL), BILLORD_PARAMS_OK));
    cr_assert(eq(u32, params.count, 3));
    cr_expect(eq(str, (char *)params.items[1].name, "flag"));
    cr_expect(eq(str, (char *)params.items[1].value, ""));
    cr_expect(eq(str, (char *)params.items[2].value, "x=y"), "only the first '=' splits");
    params_fresh(&params);
    cr_expect(eq(int, parse_text(&params, "", NULL), BILLORD_PARAMS_OK));
    cr_expect(eq(u32, params.count, 0));
}

typedef struct parse_error_case {
    char text[96];
    billord_params_status status_expected;
    char detail_expected[96];
} parse_error_case;

ParameterizedTestParameters(http_params, parse_rejects)
{
    static parse_error_case cases[] = {
        {"a=%ZZ", BILLORD_PARAMS_E_BAD_PERCENT, "a"},
        {"a=1%", BILLORD_PARAMS_E_BAD_PERCENT, "a"},
        {"%ZZ=1", BILLORD_PARAMS_E_BAD_PERCENT, "%ZZ"},
        {"a=%FF", BILLORD_PARAMS_E_BAD_UTF8, "a"},
        {"a=%C0%80", BILLORD_PARAMS_E_BAD_UTF8, "a"},          /* overlong NUL */
        {"a=%E0%80%80", BILLORD_PARAMS_E_BAD_UTF8, "a"},       /* overlong */
        {"a=%ED%A0%80", BILLORD_PARAMS_E_BAD_UTF8, "a"},       /* surrogate */
        {"a=%F4%90%80%80", BILLORD_PARAMS_E_BAD_UTF8, "a"},    /* above U+10FFFF */
        {"a=%E2%82", BILLORD_PARAMS_E_BAD_UTF8, "a"},          /* cut short */
        {"a=%80", BILLORD_PARAMS_E_BAD_UTF8, "a"},             /* lone continuation */
        {"%FF=1", BILLORD_PARAMS_E_BAD_UTF8, "%FF"},
        {"a=x%00y", BILLORD_PARAMS_E_NUL, "a"},
        {"%00=1", BILLORD_PARAMS_E_NUL, "%00"},
        {"=1", BILLORD_PARAMS_E_EMPTY_NAME, ""},
        {"a=1&a=2", BILLORD_PARAMS_E_DUPLICATE, "a"},
        {"a=1&%61=2", BILLORD_PARAMS_E_DUPLICATE, "a"},        /* the same name, encoded */
        {"InstanceId.1=a&InstanceId.1=b", BILLORD_PARAMS_E_DUPLICATE, "InstanceId.1"},
    };
    return cr_make_param_array(parse_error_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(parse_error_case *c, http_params, parse_rejects, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    billord_http_detail detail;
    billord_params_status const status = parse_text(&params, c->text, &detail);
    cr_assert(eq(int, status, c->status_expected), "%s: got %s", c->text,
              billord_params_status_name(status));
    cr_expect(eq(str, detail.text, (char *)c->detail_expected));
    cr_expect(eq(u32, params.count, 0), "nothing kept on error");
    cr_expect(eq(sz, params.arena_used_bytes, 0));
}

Test(http_params, utf8_accepts_every_sequence_length, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_expect(eq(int, parse_text(&params, "a=%7F%C2%80%E0%A0%80%EF%BF%BF%F0%90%80%80%F4%8F%BF%BF",
                                 NULL),
                 BILLORD_PARAMS_OK));
}

static size_t params_text_make(char *text, size_t text_capacity, uint32_t param_count)
{
    size_t written = 0;
    for (uint32_t i = 0; i < param_count; i++) {
        int const n = snprintf(text + written, text_capacity - written, "%sp%u=%u",
                               i > 0 ? "&" : "", (unsigned)i, (unsigned)i);
        cr_assert(n > 0 && (size_t)n < text_capacity - written);
        written += (size_t)n;
    }
    return written;
}

Test(http_params, limit_params_max_is_64_and_65_is_too_many, .timeout = 5)
{
    char text[2048];
    billord_params params;
    params_fresh(&params);
    size_t text_bytes = params_text_make(text, sizeof text, BILLORD_PARAMS_MAX);
    cr_assert(eq(int, billord_params_parse(&params, text, text_bytes, BILLORD_PARAM_SOURCE_QUERY,
                                           NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(u32, params.count, BILLORD_PARAMS_MAX));

    params_fresh(&params);
    text_bytes = params_text_make(text, sizeof text, BILLORD_PARAMS_MAX + 1u);
    billord_http_detail detail;
    billord_params_status const status =
        billord_params_parse(&params, text, text_bytes, BILLORD_PARAM_SOURCE_QUERY, &detail);
    cr_expect(eq(int, status, BILLORD_PARAMS_E_TOO_MANY));
    cr_expect(eq(int, billord_params_status_api_code(status), BILLORD_API_REQUEST_TOO_LARGE));
    cr_expect(eq(u32, params.count, 0));
}

Test(http_params, limit_counts_query_and_body_together, .timeout = 5)
{
    char text[2048];
    billord_params params;
    params_fresh(&params);
    size_t const text_bytes = params_text_make(text, sizeof text, BILLORD_PARAMS_MAX);
    cr_assert(eq(int, billord_params_parse(&params, text, text_bytes, BILLORD_PARAM_SOURCE_QUERY,
                                           NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(int, billord_params_parse(&params, "z=1", 3, BILLORD_PARAM_SOURCE_BODY, NULL),
                 BILLORD_PARAMS_E_TOO_MANY));
    cr_expect(eq(u32, params.count, BILLORD_PARAMS_MAX), "the query's parameters stay");
}

static char long_text[4u * BILLORD_PARAM_VALUE_BYTES_MAX * 3u];

/* name=vvvv... with value_bytes bytes, each written as escape ("A" or "%41"). */
static size_t long_value_text(const char *name, size_t value_bytes, const char *escape)
{
    size_t written = (size_t)snprintf(long_text, sizeof long_text, "%s=", name);
    size_t const escape_bytes = strlen(escape);
    for (size_t i = 0; i < value_bytes; i++) {
        cr_assert(written + escape_bytes < sizeof long_text);
        memcpy(long_text + written, escape, escape_bytes);
        written += escape_bytes;
    }
    return written;
}

typedef struct length_case {
    size_t value_bytes;
    char escape[96];
    billord_params_status status_expected;
} length_case;

ParameterizedTestParameters(http_params, limit_value_bytes)
{
    static length_case cases[] = {
        {BILLORD_PARAM_VALUE_BYTES_MAX, "A", BILLORD_PARAMS_OK},
        {BILLORD_PARAM_VALUE_BYTES_MAX, "%41", BILLORD_PARAMS_OK},
        {BILLORD_PARAM_VALUE_BYTES_MAX + 1u, "A", BILLORD_PARAMS_E_VALUE_TOO_LONG},
        {BILLORD_PARAM_VALUE_BYTES_MAX + 1u, "%41", BILLORD_PARAMS_E_VALUE_TOO_LONG},
        {2u * BILLORD_PARAM_VALUE_BYTES_MAX, "+", BILLORD_PARAMS_E_VALUE_TOO_LONG},
    };
    return cr_make_param_array(length_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(length_case *c, http_params, limit_value_bytes, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    size_t const text_bytes = long_value_text("ClientToken", c->value_bytes, c->escape);
    billord_http_detail detail;
    billord_params_status const status = billord_params_parse(
        &params, long_text, text_bytes, BILLORD_PARAM_SOURCE_BODY, &detail);
    cr_assert(eq(int, status, c->status_expected), "got %s", billord_params_status_name(status));
    if (status == BILLORD_PARAMS_OK) {
        cr_expect(eq(u32, params.items[0].value_bytes, c->value_bytes));
    } else {
        cr_expect(eq(str, detail.text, "ClientToken"), "the detail names the parameter");
        cr_expect(eq(int, billord_params_status_api_code(status), BILLORD_API_REQUEST_TOO_LARGE));
    }
}

Test(http_params, limit_name_bytes_is_128, .timeout = 5)
{
    char name[BILLORD_PARAM_NAME_BYTES_MAX + 2u];
    memset(name, 'n', sizeof name);
    billord_params params;
    params_fresh(&params);
    cr_expect(eq(int, billord_params_parse(&params, name, BILLORD_PARAM_NAME_BYTES_MAX,
                                           BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_OK));
    params_fresh(&params);
    cr_expect(eq(int, billord_params_parse(&params, name, BILLORD_PARAM_NAME_BYTES_MAX + 1u,
                                           BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_E_NAME_TOO_LONG));
}

Test(http_params, duplicate_across_query_and_body, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, billord_params_parse(&params, "Action=A", 8, BILLORD_PARAM_SOURCE_QUERY,
                                           NULL),
                 BILLORD_PARAMS_OK));
    billord_http_detail detail;
    cr_expect(eq(int, billord_params_parse(&params, "x=1&Action=B", 12, BILLORD_PARAM_SOURCE_BODY,
                                           &detail),
                 BILLORD_PARAMS_E_DUPLICATE));
    cr_expect(eq(str, detail.text, "Action"));
    cr_expect(eq(u32, params.count, 1), "x=1 was rolled back with the rest of the body");
}

Test(http_params, failed_parse_leaves_the_list_as_it_was, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, parse_text(&params, "a=1", NULL), BILLORD_PARAMS_OK));
    billord_params const before = params;
    cr_expect(eq(int, parse_text(&params, "b=2&c=%ZZ", NULL), BILLORD_PARAMS_E_BAD_PERCENT));
    cr_expect(eq(u32, params.count, before.count));
    cr_expect(eq(sz, params.arena_used_bytes, before.arena_used_bytes));
    cr_expect(eq(int, parse_text(&params, "b=2", NULL), BILLORD_PARAMS_OK), "still usable");
}

Test(http_params, arena_bytes_macro_is_enough_in_the_worst_case, .timeout = 5)
{
    /* 64 one-byte names without '=' or a trailing '&' need 2 bytes more than they take. */
    char text[256];
    size_t written = 0;
    for (uint32_t i = 0; i < BILLORD_PARAMS_MAX; i++) {
        if (i > 0) {
            text[written++] = '&';
        }
        text[written++] = (char)(i < 26 ? 'a' + i : i < 52 ? 'A' + i - 26 : '0' + i - 52);
    }
    char arena[BILLORD_PARAMS_ARENA_BYTES(256)];
    billord_params params;
    billord_params_init(&params, arena, BILLORD_PARAMS_ARENA_BYTES(written));
    cr_expect(eq(int, billord_params_parse(&params, text, written, BILLORD_PARAM_SOURCE_QUERY,
                                           NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(u32, params.count, BILLORD_PARAMS_MAX));
}

Test(http_params, arena_too_small_is_reported, .timeout = 5)
{
    char arena[6];
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    billord_params_status const status = parse_text(&params, "abc=defgh", NULL);
    cr_expect(eq(int, status, BILLORD_PARAMS_E_ARENA_FULL));
    cr_expect(eq(int, billord_params_status_api_code(status), BILLORD_API_INTERNAL_ERROR));
    billord_params_init(&params, NULL, 0);
    cr_expect(eq(int, parse_text(&params, "a", NULL), BILLORD_PARAMS_E_ARENA_FULL));
}

Test(http_params, add_copies_raw_bytes_with_the_same_checks, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_expect(eq(int, billord_params_add(&params, "ClientToken", 11, "a b%", 4,
                                         BILLORD_PARAM_SOURCE_BODY, NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(str, (char *)params.items[0].value, "a b%"), "no decoding");
    cr_expect(eq(int, params.items[0].source, BILLORD_PARAM_SOURCE_BODY));
    cr_expect(eq(int, billord_params_add(&params, "x", 1, "\xFF", 1, BILLORD_PARAM_SOURCE_BODY,
                                         NULL),
                 BILLORD_PARAMS_E_BAD_UTF8));
    cr_expect(eq(int, billord_params_add(&params, "x", 1, "a\0b", 3, BILLORD_PARAM_SOURCE_BODY,
                                         NULL),
                 BILLORD_PARAMS_E_NUL));
    cr_expect(eq(int, billord_params_add(&params, "ClientToken", 11, "", 0,
                                         BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_E_DUPLICATE));
    cr_expect(eq(int, billord_params_add(&params, "", 0, "v", 1, BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_E_EMPTY_NAME));
    cr_expect(eq(u32, params.count, 1));
}

Test(http_params, encode_then_parse_round_trips, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, parse_text(&params, "b=x+y&a=%C3%BC%2A&c=&d=%26%3D%2B", NULL),
                 BILLORD_PARAMS_OK));
    cr_assert(eq(int, billord_params_add(&params, "e", 1, "body", 4, BILLORD_PARAM_SOURCE_BODY,
                                         NULL),
                 BILLORD_PARAMS_OK));
    char query[256];
    size_t query_bytes = 0;
    cr_assert(eq(int, billord_params_encode(&params, BILLORD_PARAM_SOURCE_QUERY, query,
                                            sizeof query, &query_bytes),
                 BILLORD_OK));
    cr_expect(eq(str, query, "b=x%20y&a=%C3%BC%2A&c=&d=%26%3D%2B"), "body parameters left out");
    char arena[512];
    billord_params again;
    billord_params_init(&again, arena, sizeof arena);
    cr_assert(eq(int, billord_params_parse(&again, query, query_bytes, BILLORD_PARAM_SOURCE_QUERY,
                                           NULL),
                 BILLORD_PARAMS_OK));
    cr_assert(eq(u32, again.count, 4));
    for (uint32_t i = 0; i < again.count; i++) {
        cr_expect(eq(str, (char *)again.items[i].name, (char *)params.items[i].name));
        cr_expect(eq(str, (char *)again.items[i].value, (char *)params.items[i].value));
    }
    cr_expect(eq(int, billord_params_encode(&params, BILLORD_PARAM_SOURCE_QUERY, query, 10,
                                            &query_bytes),
                 BILLORD_E_TOO_LARGE));
}

/* ---- Arrays ----------------------------------------------------------------------------- */

typedef struct join_case {
    char text[96];
    billord_params_status status_expected;
    uint32_t element_count_expected;
    char joined_or_detail_expected[96];   /* the value on success, the detail on error */
} join_case;

ParameterizedTestParameters(http_params, join_indexed_table)
{
    static join_case cases[] = {
        {"InstanceId.1=i-a&InstanceId.2=i-b", BILLORD_PARAMS_OK, 2, "i-a,i-b"},
        {"InstanceId.2=i-b&InstanceId.1=i-a", BILLORD_PARAMS_OK, 2, "i-a,i-b"},
        {"InstanceId.1=i-a", BILLORD_PARAMS_OK, 1, "i-a"},
        {"InstanceIds=x&InstanceId.1=i-a&Other.1=z", BILLORD_PARAMS_OK, 1, "i-a"},
        {"InstanceId=i-a,i-b", BILLORD_PARAMS_OK, 0, ""},
        {"Action=X", BILLORD_PARAMS_OK, 0, ""},
        {"InstanceId.1=a&InstanceId.3=c", BILLORD_PARAMS_E_ARRAY_GAP, 0, "InstanceId.2"},
        {"InstanceId.2=b", BILLORD_PARAMS_E_ARRAY_GAP, 0, "InstanceId.1"},
        {"InstanceId.0=a", BILLORD_PARAMS_E_ARRAY_INDEX, 0, "InstanceId.0"},
        {"InstanceId.1=a&InstanceId.01=b", BILLORD_PARAMS_E_ARRAY_INDEX, 0, "InstanceId.01"},
        {"InstanceId.x=a", BILLORD_PARAMS_E_ARRAY_INDEX, 0, "InstanceId.x"},
        {"InstanceId.=a", BILLORD_PARAMS_E_ARRAY_INDEX, 0, "InstanceId."},
        {"InstanceId.65=a", BILLORD_PARAMS_E_ARRAY_INDEX, 0, "InstanceId.65"},
        {"InstanceId.1.Key=a", BILLORD_PARAMS_E_ARRAY_INDEX, 0, "InstanceId.1.Key"},
        {"InstanceId=a&InstanceId.1=b", BILLORD_PARAMS_E_ARRAY_CONFLICT, 0, "InstanceId"},
        {"InstanceId.1=", BILLORD_PARAMS_E_ARRAY_ELEMENT, 0, "InstanceId.1"},
        {"InstanceId.1=a&InstanceId.2=b,c", BILLORD_PARAMS_E_ARRAY_ELEMENT, 0, "InstanceId.2"},
    };
    return cr_make_param_array(join_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(join_case *c, http_params, join_indexed_table, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, parse_text(&params, c->text, NULL), BILLORD_PARAMS_OK));
    char joined[BILLORD_PARAMS_JOINED_BYTES] = "untouched";
    size_t joined_bytes = 12345;
    uint32_t element_count = 999;
    billord_http_detail detail;
    billord_params_status const status = billord_params_join_indexed(
        &params, "InstanceId", joined, &joined_bytes, &element_count, &detail);
    cr_assert(eq(int, status, c->status_expected), "%s: got %s", c->text,
              billord_params_status_name(status));
    if (status != BILLORD_PARAMS_OK) {
        cr_expect(eq(str, detail.text, (char *)c->joined_or_detail_expected));
        cr_expect(eq(u32, element_count, 999), "outputs untouched on error");
        cr_expect(eq(str, joined, "untouched"));
        return;
    }
    cr_expect(eq(u32, element_count, c->element_count_expected));
    if (c->element_count_expected == 0) {
        cr_expect(eq(str, joined, "untouched"));
        cr_expect(eq(sz, joined_bytes, 12345));
    } else {
        cr_expect(eq(str, joined, (char *)c->joined_or_detail_expected));
        cr_expect(eq(sz, joined_bytes, strlen(c->joined_or_detail_expected)));
    }
}

Test(http_params, join_indexed_in_index_order_up_to_64, .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    char name[32];
    char value[32];
    for (uint32_t i = BILLORD_PARAMS_MAX; i >= 1; i--) {   /* backwards on purpose */
        int const name_bytes = snprintf(name, sizeof name, "InstanceId.%u", (unsigned)i);
        int const value_bytes = snprintf(value, sizeof value, "i-%u", (unsigned)i);
        cr_assert(eq(int, billord_params_add(&params, name, (size_t)name_bytes, value,
                                             (size_t)value_bytes, BILLORD_PARAM_SOURCE_QUERY,
                                             NULL),
                     BILLORD_PARAMS_OK));
    }
    char joined[BILLORD_PARAMS_JOINED_BYTES];
    size_t joined_bytes = 0;
    uint32_t element_count = 0;
    cr_assert(eq(int, billord_params_join_indexed(&params, "InstanceId", joined, &joined_bytes,
                                                  &element_count, NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(u32, element_count, BILLORD_PARAMS_MAX));
    cr_expect(eq(int, strncmp(joined, "i-1,i-2,i-3,", 12), 0));
    cr_expect(eq(str, joined + joined_bytes - 9, "i-63,i-64"), "%s", joined);
}

Test(http_params, join_indexed_keeps_the_value_limit, .timeout = 5)
{
    static char value[BILLORD_PARAM_VALUE_BYTES_MAX];
    memset(value, 'v', sizeof value);
    billord_params params;
    params_fresh(&params);
    cr_assert(eq(int, billord_params_add(&params, "InstanceId.1", 12, value, 2048,
                                         BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_OK));
    cr_assert(eq(int, billord_params_add(&params, "InstanceId.2", 12, value, 2047,
                                         BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_OK));
    char joined[BILLORD_PARAMS_JOINED_BYTES];
    size_t joined_bytes = 0;
    uint32_t element_count = 0;
    cr_expect(eq(int, billord_params_join_indexed(&params, "InstanceId", joined, &joined_bytes,
                                                  &element_count, NULL),
                 BILLORD_PARAMS_OK), "2048 + 1 + 2047 = 4096 fits");
    cr_assert(eq(int, billord_params_add(&params, "InstanceId.3", 12, value, 1,
                                         BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(int, billord_params_join_indexed(&params, "InstanceId", joined, &joined_bytes,
                                                  &element_count, NULL),
                 BILLORD_PARAMS_E_VALUE_TOO_LONG));
}

/* ---- Status table ----------------------------------------------------------------------- */

Test(http_params, every_status_has_a_name_text_and_answer, .timeout = 5)
{
    for (int status = 0; status < BILLORD_PARAMS_STATUS_COUNT; status++) {
        cr_expect(eq(int, strncmp(billord_params_status_name(status), "BILLORD_PARAMS_", 15), 0));
        cr_expect(gt(sz, strlen(billord_params_status_text(status)), 0));
        billord_api_code const code = billord_params_status_api_code(status);
        cr_expect(lt(int, code, BILLORD_API_CODE_COUNT));
        cr_expect(eq(int, code == BILLORD_API_OK, status == BILLORD_PARAMS_OK));
    }
    cr_expect(eq(str, (char *)billord_params_status_name(BILLORD_PARAMS_STATUS_COUNT),
                 "BILLORD_PARAMS_E_UNKNOWN"));
}

Test(http_params, limit_texts_carry_the_real_numbers, .timeout = 5)
{
    char number[32];
    snprintf(number, sizeof number, "%u ", (unsigned)BILLORD_PARAMS_MAX);
    cr_expect(not(eq(ptr, strstr(billord_params_status_text(BILLORD_PARAMS_E_TOO_MANY), number),
                     NULL)));
    snprintf(number, sizeof number, "%u bytes", (unsigned)BILLORD_PARAM_NAME_BYTES_MAX);
    cr_expect(not(eq(ptr, strstr(billord_params_status_text(BILLORD_PARAMS_E_NAME_TOO_LONG),
                                 number),
                     NULL)));
    snprintf(number, sizeof number, "%u bytes", (unsigned)BILLORD_PARAM_VALUE_BYTES_MAX);
    cr_expect(not(eq(ptr, strstr(billord_params_status_text(BILLORD_PARAMS_E_VALUE_TOO_LONG),
                                 number),
                     NULL)));
}

/* ---- RequestId -------------------------------------------------------------------------- */

typedef struct request_id_case {
    uint8_t random_bytes[BILLORD_REQUEST_ID_RANDOM_BYTES];
    char id_expected[96];
} request_id_case;

ParameterizedTestParameters(http_params, request_id_format_table)
{
    static request_id_case cases[] = {
        {{0}, "00000000-0000-4000-8000-000000000000"},
        {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
          0xFF},
         "FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF"},
        {{0x47, 0x34, 0x69, 0xC7, 0xAB, 0xCD, 0x1E, 0xF0, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE,
          0xF0},
         "473469C7-ABCD-4EF0-9234-56789ABCDEF0"},
    };
    return cr_make_param_array(request_id_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(request_id_case *c, http_params, request_id_format_table, .timeout = 5)
{
    char id[BILLORD_REQUEST_ID_BYTES + 1u];
    billord_request_id_format(c->random_bytes, id);
    cr_expect(eq(str, id, (char *)c->id_expected));
    cr_expect(eq(sz, strlen(id), BILLORD_REQUEST_ID_BYTES));
}

/* ---- Programmer errors ------------------------------------------------------------------ */

Test(http_params, parse_without_a_list_is_a_programmer_error, .signal = SIGABRT, .timeout = 5)
{
    (void)billord_params_parse(NULL, "a=1", 3, BILLORD_PARAM_SOURCE_QUERY, NULL);
}

Test(http_params, parse_with_an_unknown_source_is_a_programmer_error, .signal = SIGABRT,
     .timeout = 5)
{
    billord_params params;
    params_fresh(&params);
    (void)billord_params_parse(&params, "a=1", 3, (billord_http_param_source)7, NULL);
}
