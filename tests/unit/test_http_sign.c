/*
 * test_http_sign.c: V1 and V3 signatures, timestamps and the nonce guard
 * (billord/http_sign.h).
 *
 * Contract under test: the SDK-WIRE.md vectors exactly; every single-byte
 * change of a signed request is rejected (V1: each parameter name and value
 * byte and the method; V3: each signed header, the query text and the body);
 * missing parts are "incomplete", not "mismatch"; the skew window's edges; a
 * nonce is never accepted twice while stored, and a full guard refuses.
 * Method: requests are built from the vectors, mutated one byte at a time
 * (+1, which keeps them valid UTF-8), and verified again.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <openssl/evp.h>

#include <billord/http_sign.h>

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

#define SECRET "testsecret"
#define SECRET_BYTES (sizeof SECRET - 1u)
#define ARENA_BYTES (64u * 1024u)

typedef struct kv {
    const char *name;
    const char *value;
} kv;

/* SDK-WIRE's V1 test vector, GET. */
static const kv v1_vector[] = {
    {"AccessKeyId", "testak"},
    {"Action", "RenewInstance"},
    {"ClientToken", "tok-1"},
    {"Format", "JSON"},
    {"InstanceId", "i-acc0001"},
    {"Period", "1"},
    {"PeriodUnit", "Month"},
    {"SignatureMethod", "HMAC-SHA1"},
    {"SignatureNonce", "0123456789abcdef"},
    {"SignatureVersion", "1.0"},
    {"Timestamp", "2025-01-02T03:04:05Z"},
    {"Version", "2014-05-26"},
};
#define V1_VECTOR_COUNT (sizeof v1_vector / sizeof v1_vector[0])
#define V1_GET_SIGNATURE  "rQ3pw9TEbrLLeF7d8kokrxuU6Ec="
#define V1_POST_SIGNATURE "RJ5VxTu/Bo6VglHrWicPWU4I1N8="
#define CLIENT_TOKEN_ODD  "a b*\xC3\xBC~'"

static char arena[ARENA_BYTES];

/* Build params from a table; client_token (may be NULL) replaces ClientToken's value. */
static void v1_params_build(billord_params *params, const kv *table, size_t table_count,
                            const char *client_token, billord_http_param_source source)
{
    billord_params_init(params, arena, sizeof arena);
    for (size_t i = 0; i < table_count; i++) {
        const char *value = table[i].value;
        if (client_token != NULL && strcmp(table[i].name, "ClientToken") == 0) {
            value = client_token;
        }
        cr_assert(eq(int, billord_params_add(params, table[i].name, strlen(table[i].name), value,
                                             strlen(value), source, NULL),
                     BILLORD_PARAMS_OK));
    }
}

static void signature_add(billord_params *params, const char *signature,
                          billord_http_param_source source)
{
    cr_assert(eq(int, billord_params_add(params, "Signature", 9, signature, strlen(signature),
                                         source, NULL),
                 BILLORD_PARAMS_OK));
}

/* ---- V1 vectors ------------------------------------------------------------------------- */

Test(http_sign, v1_get_vector, .timeout = 5)
{
    billord_params params;
    v1_params_build(&params, v1_vector, V1_VECTOR_COUNT, NULL, BILLORD_PARAM_SOURCE_QUERY);
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    cr_assert(eq(int, billord_sign_v1_compute(&params, "GET", SECRET, SECRET_BYTES, signature),
                 BILLORD_SIGN_OK));
    cr_expect(eq(str, signature, V1_GET_SIGNATURE));
    signature_add(&params, V1_GET_SIGNATURE, BILLORD_PARAM_SOURCE_QUERY);
    cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", SECRET, SECRET_BYTES, NULL),
                 BILLORD_SIGN_OK));
}

Test(http_sign, v1_post_vector_with_odd_client_token, .timeout = 5)
{
    billord_params params;
    v1_params_build(&params, v1_vector, V1_VECTOR_COUNT, CLIENT_TOKEN_ODD,
                    BILLORD_PARAM_SOURCE_BODY);
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    cr_assert(eq(int, billord_sign_v1_compute(&params, "POST", SECRET, SECRET_BYTES, signature),
                 BILLORD_SIGN_OK));
    cr_expect(eq(str, signature, V1_POST_SIGNATURE));
    signature_add(&params, V1_POST_SIGNATURE, BILLORD_PARAM_SOURCE_BODY);
    cr_expect(eq(int, billord_sign_v1_verify(&params, "POST", SECRET, SECRET_BYTES, NULL),
                 BILLORD_SIGN_OK));
}

Test(http_sign, v1_string_to_sign_is_double_encoded, .timeout = 5)
{
    billord_params params;
    v1_params_build(&params, v1_vector, V1_VECTOR_COUNT, CLIENT_TOKEN_ODD,
                    BILLORD_PARAM_SOURCE_QUERY);
    signature_add(&params, "ignored", BILLORD_PARAM_SOURCE_QUERY);
    char text[2048];
    size_t text_bytes = 0;
    cr_assert(eq(int, billord_sign_v1_string_to_sign(&params, "GET", text, sizeof text,
                                                     &text_bytes),
                 BILLORD_OK));
    cr_expect(eq(int, strncmp(text, "GET&%2F&AccessKeyId%3Dtestak%26Action%3DRenewInstance%26", 56),
                 0), "%s", text);
    cr_expect(not(eq(ptr, strstr(text, "ClientToken%3Da%2520b%252A%25C3%25BC~%2527%26"), NULL)));
    cr_expect(not(eq(ptr, strstr(text, "Timestamp%3D2025-01-02T03%253A04%253A05Z"), NULL)));
    cr_expect(eq(ptr, strstr(text, "Signature%3D"), NULL), "Signature is not signed");
    cr_expect(eq(sz, text_bytes, strlen(text)));
    cr_expect(eq(int, billord_sign_v1_string_to_sign(&params, "GET", text, 20, &text_bytes),
                 BILLORD_E_TOO_LARGE));
}

/* The new clients' v2 mode: Node's querystring leaves ' and * raw; decoding makes them equal. */
Test(http_sign, v1_verifies_from_raw_query_text, .timeout = 5)
{
    static const char query[] =
        "SignatureNonce=0123456789abcdef&Action=RenewInstance&Format=JSON&Version=2014-05-26"
        "&AccessKeyId=testak&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0"
        "&Timestamp=2025-01-02T03%3A04%3A05Z&ClientToken=a%20b*%C3%BC~'&InstanceId=i-acc0001"
        "&Period=1&PeriodUnit=Month&Signature=RJ5VxTu%2FBo6VglHrWicPWU4I1N8%3D";
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    cr_assert(eq(int, billord_params_parse(&params, query, sizeof query - 1u,
                                           BILLORD_PARAM_SOURCE_QUERY, NULL),
                 BILLORD_PARAMS_OK));
    cr_expect(eq(int, billord_sign_v1_verify(&params, "POST", SECRET, SECRET_BYTES, NULL),
                 BILLORD_SIGN_OK));
    cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", SECRET, SECRET_BYTES, NULL),
                 BILLORD_SIGN_E_MISMATCH), "the method is signed");
}

Test(http_sign, v1_signs_query_and_body_together, .timeout = 5)
{
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    for (size_t i = 0; i < V1_VECTOR_COUNT; i++) {
        billord_http_param_source const source =
            i % 2 == 0 ? BILLORD_PARAM_SOURCE_QUERY : BILLORD_PARAM_SOURCE_BODY;
        cr_assert(eq(int, billord_params_add(&params, v1_vector[i].name, strlen(v1_vector[i].name),
                                             v1_vector[i].value, strlen(v1_vector[i].value),
                                             source, NULL),
                     BILLORD_PARAMS_OK));
    }
    signature_add(&params, V1_GET_SIGNATURE, BILLORD_PARAM_SOURCE_BODY);
    cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", SECRET, SECRET_BYTES, NULL),
                 BILLORD_SIGN_OK));
}

/* ---- V1 mutations ----------------------------------------------------------------------- */

typedef struct mutable_kv {
    char name[64];
    char value[64];
} mutable_kv;

static mutable_kv v1_signed[V1_VECTOR_COUNT + 1u];

static void v1_signed_fill(void)
{
    for (size_t i = 0; i < V1_VECTOR_COUNT; i++) {
        snprintf(v1_signed[i].name, sizeof v1_signed[i].name, "%s", v1_vector[i].name);
        snprintf(v1_signed[i].value, sizeof v1_signed[i].value, "%s",
                 strcmp(v1_vector[i].name, "ClientToken") == 0 ? CLIENT_TOKEN_ODD
                                                               : v1_vector[i].value);
    }
    snprintf(v1_signed[V1_VECTOR_COUNT].name, 64, "Signature");
    snprintf(v1_signed[V1_VECTOR_COUNT].value, 64, V1_POST_SIGNATURE);
}

/* OK only if the request built from v1_signed parses and verifies. */
static billord_sign_status v1_signed_verify(const char *method)
{
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    for (size_t i = 0; i <= V1_VECTOR_COUNT; i++) {
        if (billord_params_add(&params, v1_signed[i].name, strlen(v1_signed[i].name),
                               v1_signed[i].value, strlen(v1_signed[i].value),
                               BILLORD_PARAM_SOURCE_BODY, NULL) != BILLORD_PARAMS_OK) {
            return BILLORD_SIGN_E_MISMATCH;   /* the parser refused it: rejected too */
        }
    }
    return billord_sign_v1_verify(&params, method, SECRET, SECRET_BYTES, NULL);
}

static uint32_t v1_mutate_each_byte(char *text)
{
    uint32_t tried = 0;
    size_t const text_bytes = strlen(text);
    for (size_t j = 0; j < text_bytes; j++) {
        char const saved = text[j];
        text[j] = (char)(saved + 1);
        cr_expect(not(eq(int, v1_signed_verify("POST"), BILLORD_SIGN_OK)), "byte %zu of %s", j,
                  text);
        text[j] = saved;
        tried++;
    }
    return tried;
}

Test(http_sign, v1_every_single_byte_change_is_rejected, .timeout = 30)
{
    v1_signed_fill();
    cr_assert(eq(int, v1_signed_verify("POST"), BILLORD_SIGN_OK), "the unmutated request passes");
    uint32_t tried = 0;
    for (size_t i = 0; i <= V1_VECTOR_COUNT; i++) {
        tried += v1_mutate_each_byte(v1_signed[i].name);
        tried += v1_mutate_each_byte(v1_signed[i].value);
    }
    cr_expect(gt(u32, tried, 250));
    static const char *const methods[] = {"GET", "PUT", "post", "POSU", "", "POST "};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        cr_expect(eq(int, v1_signed_verify(methods[i]), BILLORD_SIGN_E_MISMATCH), "%s", methods[i]);
    }
}

Test(http_sign, v1_wrong_secret_or_signature_shape_mismatches, .timeout = 5)
{
    billord_params params;
    v1_params_build(&params, v1_vector, V1_VECTOR_COUNT, NULL, BILLORD_PARAM_SOURCE_QUERY);
    signature_add(&params, V1_GET_SIGNATURE, BILLORD_PARAM_SOURCE_QUERY);
    billord_http_detail detail;
    cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", "testsecreu", 10, &detail),
                 BILLORD_SIGN_E_MISMATCH));
    cr_expect(eq(str, detail.text, "Signature"));
    cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", SECRET "&", SECRET_BYTES + 1u, NULL),
                 BILLORD_SIGN_E_MISMATCH));
    static const char *const wrong[] = {"rQ3pw9TEbrLLeF7d8kokrxuU6Ec",
                                        "rQ3pw9TEbrLLeF7d8kokrxuU6Ec==",
                                        "RQ3PW9TEBRLLEF7D8KOKRXUU6EC="};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        v1_params_build(&params, v1_vector, V1_VECTOR_COUNT, NULL, BILLORD_PARAM_SOURCE_QUERY);
        signature_add(&params, wrong[i], BILLORD_PARAM_SOURCE_QUERY);
        cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", SECRET, SECRET_BYTES, NULL),
                     BILLORD_SIGN_E_MISMATCH), "%s", wrong[i]);
    }
}

/* ---- V1 completeness -------------------------------------------------------------------- */

typedef struct v1_incomplete_case {
    char name[32];        /* the parameter to change */
    char value[32];       /* its new value; "-" removes it */
    char detail_expected[32];
} v1_incomplete_case;

ParameterizedTestParameters(http_sign, v1_incomplete)
{
    static v1_incomplete_case cases[] = {
        {"AccessKeyId", "-", "AccessKeyId"},
        {"AccessKeyId", "", "AccessKeyId"},
        {"Signature", "-", "Signature"},
        {"Signature", "", "Signature"},
        {"SignatureMethod", "-", "SignatureMethod"},
        {"SignatureMethod", "HMAC-SHA256", "SignatureMethod"},
        {"SignatureMethod", "hmac-sha1", "SignatureMethod"},
        {"SignatureVersion", "-", "SignatureVersion"},
        {"SignatureVersion", "2.0", "SignatureVersion"},
        {"SignatureNonce", "-", "SignatureNonce"},
        {"SignatureNonce", "", "SignatureNonce"},
        {"Timestamp", "-", "Timestamp"},
    };
    return cr_make_param_array(v1_incomplete_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(v1_incomplete_case *c, http_sign, v1_incomplete, .timeout = 5)
{
    kv table[V1_VECTOR_COUNT + 1u];
    size_t table_count = 0;
    for (size_t i = 0; i < V1_VECTOR_COUNT; i++) {
        table[table_count++] = v1_vector[i];
    }
    table[table_count++] = (kv){"Signature", V1_GET_SIGNATURE};
    size_t kept = 0;
    for (size_t i = 0; i < table_count; i++) {
        if (strcmp(table[i].name, c->name) == 0) {
            if (strcmp(c->value, "-") == 0) {
                continue;
            }
            table[i].value = c->value;
        }
        table[kept++] = table[i];
    }
    billord_params params;
    v1_params_build(&params, table, kept, NULL, BILLORD_PARAM_SOURCE_QUERY);
    billord_http_detail detail;
    cr_expect(eq(int, billord_sign_v1_check_complete(&params, &detail), BILLORD_SIGN_E_INCOMPLETE));
    cr_expect(eq(str, detail.text, c->detail_expected));
    cr_expect(eq(int, billord_sign_v1_verify(&params, "GET", SECRET, SECRET_BYTES, &detail),
                 BILLORD_SIGN_E_INCOMPLETE));
    cr_expect(eq(str, detail.text, c->detail_expected));
}

/* ---- V3 --------------------------------------------------------------------------------- */

#define V3_QUERY "ClientToken=tok-1&InstanceId=i-acc0001&Period=1&PeriodUnit=Month"
#define V3_SIGNED_HEADERS                                                                       \
    "host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"          \
    "x-acs-signature-nonce;x-acs-version"
#define V3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define V3_CANONICAL_SHA256 "a2e34c55dac72d023f9535cdd478669e9f1b78a4b507dea12c2c4c9babf6d16a"
#define V3_SIGNATURE "7ceeaa7888b588eedec22d129baa6373f72036d68bef44495c4e33823f48a2cd"

static const char v3_canonical_expected[] =
    "POST\n"
    "/\n"
    V3_QUERY "\n"
    "host:127.0.0.1:8080\n"
    "x-acs-action:RenewInstance\n"
    "x-acs-content-sha256:" V3_EMPTY_SHA256 "\n"
    "x-acs-credentials-provider:static_ak\n"
    "x-acs-date:2025-01-02T03:04:05Z\n"
    "x-acs-signature-nonce:0123456789abcdef\n"
    "x-acs-version:2014-05-26\n"
    "\n"
    V3_SIGNED_HEADERS "\n"
    V3_EMPTY_SHA256;

#define V3_HEADERS_MAX 16u

/* A V3 request whose pieces a test may change in place. */
typedef struct v3_fixture {
    char header_names[V3_HEADERS_MAX][64];
    char header_values[V3_HEADERS_MAX][256];
    billord_http_header headers[V3_HEADERS_MAX];
    size_t header_count;
    char query[512];
    char signed_headers[512];
    char body[256];
    size_t body_bytes;
    char method[16];
    billord_params params;
} v3_fixture;

static v3_fixture fixture;

static void v3_header_add(const char *name, const char *value)
{
    cr_assert(lt(sz, fixture.header_count, V3_HEADERS_MAX));
    snprintf(fixture.header_names[fixture.header_count], 64, "%s", name);
    snprintf(fixture.header_values[fixture.header_count], 256, "%s", value);
    fixture.header_count++;
}

static void v3_fixture_vector(void)
{
    memset(&fixture, 0, sizeof fixture);
    snprintf(fixture.method, sizeof fixture.method, "POST");
    snprintf(fixture.query, sizeof fixture.query, "%s", V3_QUERY);
    snprintf(fixture.signed_headers, sizeof fixture.signed_headers, "%s", V3_SIGNED_HEADERS);
    v3_header_add("host", "127.0.0.1:8080");
    v3_header_add("x-acs-action", "RenewInstance");
    v3_header_add("x-acs-content-sha256", V3_EMPTY_SHA256);
    v3_header_add("x-acs-credentials-provider", "static_ak");
    v3_header_add("x-acs-date", "2025-01-02T03:04:05Z");
    v3_header_add("x-acs-signature-nonce", "0123456789abcdef");
    v3_header_add("x-acs-version", "2014-05-26");
    v3_header_add("accept", "application/json");
    v3_header_add("user-agent", "AlibabaCloud (linux; x64) Node.js/v20 Core/1.7 TeaDSL/1");
    v3_header_add("authorization", "ACS3-HMAC-SHA256 Credential=testak,SignedHeaders="
                                   V3_SIGNED_HEADERS ",Signature=" V3_SIGNATURE);
}

/* Point the request at the fixture's current text; false when the query does not parse. */
static bool v3_request_make(billord_sign_v3_request *request)
{
    for (size_t i = 0; i < fixture.header_count; i++) {
        fixture.headers[i] = (billord_http_header){
            fixture.header_names[i], strlen(fixture.header_names[i]), fixture.header_values[i],
            strlen(fixture.header_values[i])};
    }
    billord_params_init(&fixture.params, arena, sizeof arena);
    if (billord_params_parse(&fixture.params, fixture.query, strlen(fixture.query),
                             BILLORD_PARAM_SOURCE_QUERY, NULL) != BILLORD_PARAMS_OK) {
        return false;
    }
    *request = (billord_sign_v3_request){
        .method = fixture.method,
        .params = &fixture.params,
        .headers = fixture.headers,
        .header_count = fixture.header_count,
        .signed_headers = fixture.signed_headers,
        .signed_headers_bytes = strlen(fixture.signed_headers),
        .body = (const uint8_t *)fixture.body,
        .body_bytes = fixture.body_bytes,
    };
    return true;
}

/* Parse the fixture's authorization header and verify; a query that does not parse is a reject. */
static billord_sign_status v3_fixture_verify(billord_http_detail *detail)
{
    billord_sign_v3_request request;
    if (!v3_request_make(&request)) {
        return BILLORD_SIGN_E_MISMATCH;
    }
    const billord_http_header *authorization =
        billord_http_header_find(request.headers, request.header_count, "Authorization");
    cr_assert(not(eq(ptr, (void *)authorization, NULL)));
    billord_sign_v3_auth auth;
    billord_sign_status const status = billord_sign_v3_parse_authorization(
        authorization->value, authorization->value_bytes, &auth, detail);
    if (status != BILLORD_SIGN_OK) {
        return status;
    }
    return billord_sign_v3_verify(&request, &auth, SECRET, SECRET_BYTES, detail);
}

static void sha256_hex(const void *bytes, size_t bytes_len, char out[65])
{
    uint8_t digest[32];
    unsigned int digest_bytes = 0;
    cr_assert(eq(int, EVP_Digest(bytes, bytes_len, digest, &digest_bytes, EVP_sha256(), NULL), 1));
    for (size_t i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    }
}

Test(http_sign, v3_vector_canonical_request_hash_and_signature, .timeout = 5)
{
    v3_fixture_vector();
    billord_sign_v3_request request;
    cr_assert(v3_request_make(&request));
    char canonical[2048];
    size_t canonical_bytes = 0;
    cr_assert(eq(int, billord_sign_v3_canonical_request(&request, canonical, sizeof canonical,
                                                        &canonical_bytes),
                 BILLORD_OK));
    cr_expect(eq(str, canonical, (char *)v3_canonical_expected));
    char hash[65];
    sha256_hex(canonical, canonical_bytes, hash);
    cr_expect(eq(str, hash, V3_CANONICAL_SHA256));
    char signature[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u];
    cr_assert(eq(int, billord_sign_v3_compute(&request, SECRET, SECRET_BYTES, signature, NULL),
                 BILLORD_SIGN_OK));
    cr_expect(eq(str, signature, V3_SIGNATURE));
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK));
    cr_expect(eq(int, billord_sign_v3_canonical_request(&request, canonical, 100, &canonical_bytes),
                 BILLORD_E_TOO_LARGE));
}

Test(http_sign, v3_query_order_and_encoding_do_not_matter, .timeout = 5)
{
    v3_fixture_vector();
    snprintf(fixture.query, sizeof fixture.query,
             "Period=1&PeriodUnit=%%4Donth&InstanceId=i-acc0001&ClientToken=tok-1");
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK));
}

Test(http_sign, v3_header_values_are_trimmed_and_names_any_case, .timeout = 5)
{
    v3_fixture_vector();
    snprintf(fixture.header_values[1], 256, "  RenewInstance \t");
    snprintf(fixture.header_names[0], 64, "Host");
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK));
}

Test(http_sign, v3_every_signed_header_byte_change_is_rejected, .timeout = 30)
{
    uint32_t tried = 0;
    for (size_t h = 0; h < 7; h++) {   /* the seven signed headers */
        v3_fixture_vector();
        size_t const value_bytes = strlen(fixture.header_values[h]);
        for (size_t j = 0; j < value_bytes; j++) {
            char const saved = fixture.header_values[h][j];
            fixture.header_values[h][j] = (char)(saved + 1);
            cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH), "%s byte %zu",
                      fixture.header_names[h], j);
            fixture.header_values[h][j] = saved;
            tried++;
        }
        size_t const name_bytes = strlen(fixture.header_names[h]);
        for (size_t j = 0; j < name_bytes; j++) {
            char const saved = fixture.header_names[h][j];
            fixture.header_names[h][j] = (char)(saved + 1);
            cr_expect(not(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK)), "name %s",
                      fixture.header_names[h]);
            fixture.header_names[h][j] = saved;
            tried++;
        }
    }
    cr_expect(gt(u32, tried, 200));
}

Test(http_sign, v3_unsigned_headers_are_not_covered, .timeout = 5)
{
    v3_fixture_vector();
    snprintf(fixture.header_values[8], 256, "curl/8");   /* user-agent */
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK));
}

Test(http_sign, v3_every_query_byte_change_is_rejected, .timeout = 30)
{
    v3_fixture_vector();
    size_t const query_bytes = strlen(fixture.query);
    for (size_t j = 0; j < query_bytes; j++) {
        char const saved = fixture.query[j];
        fixture.query[j] = (char)(saved + 1);
        cr_expect(not(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK)), "%s", fixture.query);
        fixture.query[j] = saved;
    }
    fixture.query[0] = '\0';
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH), "dropping the query");
    snprintf(fixture.query, sizeof fixture.query, "%s&Extra=1", V3_QUERY);
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH), "adding a parameter");
}

Test(http_sign, v3_body_params_are_not_in_the_canonical_query, .timeout = 5)
{
    v3_fixture_vector();
    billord_sign_v3_request request;
    cr_assert(v3_request_make(&request));
    cr_assert(eq(int, billord_params_add(&fixture.params, "Extra", 5, "1", 1,
                                         BILLORD_PARAM_SOURCE_BODY, NULL),
                 BILLORD_PARAMS_OK));
    char signature[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u];
    cr_assert(eq(int, billord_sign_v3_compute(&request, SECRET, SECRET_BYTES, signature, NULL),
                 BILLORD_SIGN_OK));
    cr_expect(eq(str, signature, V3_SIGNATURE), "the body is covered by its hash instead");
}

/* A form body signed by its hash: content-type signed, x-acs-content-sha256 as sent. */
static void v3_fixture_with_body(const char *body, bool with_content_sha256)
{
    v3_fixture_vector();
    fixture.header_count = 0;
    snprintf(fixture.body, sizeof fixture.body, "%s", body);
    fixture.body_bytes = strlen(body);
    char body_hash[65];
    sha256_hex(fixture.body, fixture.body_bytes, body_hash);
    v3_header_add("host", "127.0.0.1:8080");
    v3_header_add("content-type", "application/x-www-form-urlencoded");
    v3_header_add("x-acs-action", "RenewInstance");
    if (with_content_sha256) {
        v3_header_add("x-acs-content-sha256", body_hash);
    }
    v3_header_add("x-acs-date", "2025-01-02T03:04:05Z");
    v3_header_add("x-acs-signature-nonce", "0123456789abcdef");
    snprintf(fixture.signed_headers, sizeof fixture.signed_headers, "%s",
             with_content_sha256
                 ? "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
                   "x-acs-signature-nonce"
                 : "content-type;host;x-acs-action;x-acs-date;x-acs-signature-nonce");
    billord_sign_v3_request request;
    cr_assert(v3_request_make(&request));
    char signature[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u];
    cr_assert(eq(int, billord_sign_v3_compute(&request, SECRET, SECRET_BYTES, signature, NULL),
                 BILLORD_SIGN_OK));
    char authorization[1024];
    snprintf(authorization, sizeof authorization,
             "ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=%s,Signature=%s",
             fixture.signed_headers, signature);
    v3_header_add("authorization", authorization);
}

Test(http_sign, v3_every_body_byte_change_is_rejected, .timeout = 30)
{
    for (int with_hash = 0; with_hash <= 1; with_hash++) {
        v3_fixture_with_body("InstanceId=i-1&ClientToken=a%20b", with_hash == 1);
        cr_assert(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_OK));
        for (size_t j = 0; j < fixture.body_bytes; j++) {
            char const saved = fixture.body[j];
            fixture.body[j] = (char)(saved + 1);
            billord_http_detail detail;
            cr_expect(eq(int, v3_fixture_verify(&detail), BILLORD_SIGN_E_MISMATCH));
            cr_expect(eq(str, detail.text, with_hash ? "x-acs-content-sha256" : "Signature"));
            fixture.body[j] = saved;
        }
        fixture.body_bytes--;
        cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH), "truncated body");
    }
}

Test(http_sign, v3_method_and_signature_bytes_are_covered, .timeout = 10)
{
    v3_fixture_vector();
    snprintf(fixture.method, sizeof fixture.method, "GET");
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH));
    v3_fixture_vector();
    char *signature = strstr(fixture.header_values[9], "Signature=") + 10;
    for (size_t j = 0; j < BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES; j++) {
        char const saved = signature[j];
        signature[j] = (char)(saved + 1);
        cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH));
        signature[j] = saved;
    }
    for (size_t j = 0; j < BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES; j++) {
        if (signature[j] >= 'a' && signature[j] <= 'f') {
            signature[j] = (char)(signature[j] - 'a' + 'A');
        }
    }
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH), "uppercase hex");
    signature[63] = '\0';
    cr_expect(eq(int, v3_fixture_verify(NULL), BILLORD_SIGN_E_MISMATCH), "63 digits");
}

Test(http_sign, v3_wrong_secret_mismatches, .timeout = 5)
{
    v3_fixture_vector();
    billord_sign_v3_request request;
    cr_assert(v3_request_make(&request));
    billord_sign_v3_auth auth;
    cr_assert(eq(int, billord_sign_v3_parse_authorization(fixture.header_values[9],
                                                          strlen(fixture.header_values[9]), &auth,
                                                          NULL),
                 BILLORD_SIGN_OK));
    billord_http_detail detail;
    cr_expect(eq(int, billord_sign_v3_verify(&request, &auth, "testsecret&", 11, &detail),
                 BILLORD_SIGN_E_MISMATCH), "V3 uses the secret without '&'");
    cr_expect(eq(str, detail.text, "Signature"));
}

Test(http_sign, v3_body_hash_header_must_match_the_body, .timeout = 5)
{
    v3_fixture_vector();
    fixture.body_bytes = 1;   /* a body of one NUL, while the header claims the empty body */
    billord_http_detail detail;
    cr_expect(eq(int, v3_fixture_verify(&detail), BILLORD_SIGN_E_MISMATCH));
    cr_expect(eq(str, detail.text, "x-acs-content-sha256"));
}

typedef struct v3_incomplete_case {
    char signed_headers[256];
    char extra_name[32];     /* "" for none */
    char extra_value[64];
    billord_sign_status status_expected;
    char detail_expected[32];
} v3_incomplete_case;

ParameterizedTestParameters(http_sign, v3_incomplete)
{
    static v3_incomplete_case cases[] = {
        {"x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
         "x-acs-signature-nonce;x-acs-version", "", "", BILLORD_SIGN_E_INCOMPLETE, "host"},
        {"host;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
         "x-acs-signature-nonce;x-acs-version", "", "", BILLORD_SIGN_E_INCOMPLETE, "x-acs-action"},
        {"host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;"
         "x-acs-signature-nonce;x-acs-version", "", "", BILLORD_SIGN_E_INCOMPLETE, "x-acs-date"},
        {"host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
         "x-acs-version", "", "", BILLORD_SIGN_E_INCOMPLETE, "x-acs-signature-nonce"},
        {"host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
         "x-acs-signature-nonce", "", "", BILLORD_SIGN_E_INCOMPLETE, "x-acs-version"},
        {V3_SIGNED_HEADERS, "x-acs-caller-uid", "123", BILLORD_SIGN_E_INCOMPLETE,
         "x-acs-caller-uid"},
        {V3_SIGNED_HEADERS, "Content-Type", "application/json", BILLORD_SIGN_E_INCOMPLETE,
         "Content-Type"},
        {V3_SIGNED_HEADERS, "X-Acs-Action", "DeleteInstance", BILLORD_SIGN_E_MISMATCH,
         "x-acs-action"},
        {V3_SIGNED_HEADERS ";x-acs-absent", "", "", BILLORD_SIGN_E_INCOMPLETE, "x-acs-absent"},
        {"host;host;" V3_SIGNED_HEADERS, "", "", BILLORD_SIGN_E_INCOMPLETE, "SignedHeaders"},
        {"Host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
         "x-acs-signature-nonce;x-acs-version", "", "", BILLORD_SIGN_E_INCOMPLETE, "SignedHeaders"},
        {V3_SIGNED_HEADERS ";", "", "", BILLORD_SIGN_E_INCOMPLETE, "SignedHeaders"},
        {"host;;x-acs-action", "", "", BILLORD_SIGN_E_INCOMPLETE, "SignedHeaders"},
        {"", "", "", BILLORD_SIGN_E_INCOMPLETE, "SignedHeaders"},
        {V3_SIGNED_HEADERS, "accept-language", "en", BILLORD_SIGN_OK, ""},
    };
    return cr_make_param_array(v3_incomplete_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(v3_incomplete_case *c, http_sign, v3_incomplete, .timeout = 5)
{
    v3_fixture_vector();
    snprintf(fixture.signed_headers, sizeof fixture.signed_headers, "%s", c->signed_headers);
    if (c->extra_name[0] != '\0') {
        v3_header_add(c->extra_name, c->extra_value);
    }
    billord_sign_v3_request request;
    cr_assert(v3_request_make(&request));
    billord_http_detail detail;
    billord_sign_status const status = billord_sign_v3_check_complete(&request, &detail);
    cr_expect(eq(int, status, c->status_expected), "got %s", billord_sign_status_name(status));
    cr_expect(eq(str, detail.text, c->detail_expected));
    char signature[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1u];
    cr_expect(eq(int, billord_sign_v3_compute(&request, SECRET, SECRET_BYTES, signature, NULL),
                 c->status_expected), "compute refuses what verify would refuse");
}

typedef struct authorization_case {
    char value[400];
    billord_sign_status status_expected;
    char detail_expected[32];
} authorization_case;

ParameterizedTestParameters(http_sign, v3_parse_authorization)
{
    static authorization_case cases[] = {
        {"ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=host;x-acs-date,Signature=abc",
         BILLORD_SIGN_OK, ""},
        {"ACS3-HMAC-SHA256 Credential=testak, SignedHeaders=host;x-acs-date, Signature=abc",
         BILLORD_SIGN_OK, ""},
        {"ACS3-HMAC-SHA256 Signature=abc,Credential=testak,SignedHeaders=host;x-acs-date",
         BILLORD_SIGN_OK, ""},
        {"ACS3-HMAC-SHA256", BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
        {"ACS3-HMAC-SHA256 ", BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
        {"ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=abc", BILLORD_SIGN_E_INCOMPLETE,
         "Authorization"},
        {"acs3-hmac-sha256 Credential=a,SignedHeaders=host,Signature=abc",
         BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
        {"ACS3-HMAC-SHA256Credential=a,SignedHeaders=host,Signature=abc",
         BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
        {"ACS3-HMAC-SHA256 SignedHeaders=host,Signature=abc", BILLORD_SIGN_E_INCOMPLETE,
         "Credential"},
        {"ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=abc",
         BILLORD_SIGN_E_INCOMPLETE, "Credential"},
        {"ACS3-HMAC-SHA256 Credential=a,Signature=abc", BILLORD_SIGN_E_INCOMPLETE,
         "SignedHeaders"},
        {"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host", BILLORD_SIGN_E_INCOMPLETE,
         "Signature"},
        {"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=", BILLORD_SIGN_E_INCOMPLETE,
         "Signature"},
        {"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=abc,Foo=1",
         BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
        {"ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature=abc",
         BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
        {"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=abc,",
         BILLORD_SIGN_E_INCOMPLETE, "Authorization"},
    };
    return cr_make_param_array(authorization_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(authorization_case *c, http_sign, v3_parse_authorization, .timeout = 5)
{
    billord_sign_v3_auth auth = {0};
    billord_http_detail detail;
    billord_sign_status const status =
        billord_sign_v3_parse_authorization(c->value, strlen(c->value), &auth, &detail);
    cr_assert(eq(int, status, c->status_expected), "%s", c->value);
    cr_expect(eq(str, detail.text, c->detail_expected));
    if (status == BILLORD_SIGN_OK) {
        cr_expect(eq(sz, auth.access_key_id_bytes, 6));
        cr_expect(eq(int, memcmp(auth.access_key_id, "testak", 6), 0));
        cr_expect(eq(sz, auth.signed_headers_bytes, 15));
        cr_expect(eq(int, memcmp(auth.signed_headers, "host;x-acs-date", 15), 0));
        cr_expect(eq(sz, auth.signature_hex_bytes, 3));
    } else {
        cr_expect(eq(ptr, (void *)auth.access_key_id, NULL), "out_auth untouched on error");
    }
}

/* ---- Timestamps ------------------------------------------------------------------------- */

typedef struct timestamp_case {
    char text[32];
    billord_err err_expected;
    int64_t unix_ms_expected;
} timestamp_case;

ParameterizedTestParameters(http_sign, timestamp_parse)
{
    static timestamp_case cases[] = {
        {"2025-01-02T03:04:05Z", BILLORD_OK, 1735787045000LL},
        {"1970-01-01T00:00:00Z", BILLORD_OK, 0},
        {"2000-02-29T23:59:59Z", BILLORD_OK, 951868799000LL},
        {"2024-12-31T23:59:59Z", BILLORD_OK, 1735689599000LL},
        {"9999-12-31T23:59:59Z", BILLORD_OK, 253402300799000LL},
        {"2023-02-29T00:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"1900-02-29T00:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"1969-12-31T23:59:59Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-13-01T00:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-00-01T00:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-04-31T00:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-00T00:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T24:00:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:60:00Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:04:60Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02t03:04:05Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:04:05z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:04:05", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:04:05.000Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:04:05+00:00", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02 03:04:05Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025/01/02T03:04:05Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"+025-01-02T03:04:05Z", BILLORD_E_INVALID_ARGUMENT, 0},
        {"2025-01-02T03:04:0aZ", BILLORD_E_INVALID_ARGUMENT, 0},
        {"", BILLORD_E_INVALID_ARGUMENT, 0},
    };
    return cr_make_param_array(timestamp_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(timestamp_case *c, http_sign, timestamp_parse, .timeout = 5)
{
    int64_t unix_ms = -1;
    billord_err const err = billord_sign_timestamp_parse(c->text, strlen(c->text), &unix_ms);
    cr_assert(eq(int, err, c->err_expected), "%s", c->text);
    cr_expect(eq(i64, unix_ms, c->err_expected == BILLORD_OK ? c->unix_ms_expected : -1));
}

Test(http_sign, timestamp_window_edges, .timeout = 5)
{
    int64_t const ts_ms = 1735787045000LL;
    int64_t const skew_ms = BILLORD_SIGNATURE_SKEW_MS_MAX;
    cr_expect(eq(i64, skew_ms, 15 * 60 * 1000));
    cr_expect(billord_sign_timestamp_fresh(ts_ms, ts_ms));
    cr_expect(billord_sign_timestamp_fresh(ts_ms, ts_ms + skew_ms));
    cr_expect(billord_sign_timestamp_fresh(ts_ms, ts_ms - skew_ms));
    cr_expect(not(billord_sign_timestamp_fresh(ts_ms, ts_ms + skew_ms + 1)));
    cr_expect(not(billord_sign_timestamp_fresh(ts_ms, ts_ms - skew_ms - 1)));
    cr_expect(not(billord_sign_timestamp_fresh(INT64_MIN, INT64_MAX)), "no overflow");
    cr_expect(not(billord_sign_timestamp_fresh(INT64_MAX, INT64_MIN)));
    cr_expect(billord_sign_timestamp_fresh(INT64_MAX, INT64_MAX));
    cr_expect(eq(i64, billord_sign_nonce_expiry_ms(ts_ms), ts_ms + skew_ms));
    cr_expect(eq(i64, billord_sign_nonce_expiry_ms(INT64_MAX - 1), INT64_MAX));
}

/* ---- Nonce guard ------------------------------------------------------------------------ */

Test(http_sign, nonce_reuse_is_replayed, .timeout = 5)
{
    billord_nonce_guard *guard = NULL;
    cr_assert(eq(int, billord_nonce_guard_create(16, 42, &guard), BILLORD_OK));
    int64_t const now_ms = 1000000;
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "n1", 2, now_ms + 100, now_ms),
                 BILLORD_NONCE_ACCEPTED));
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "n1", 2, now_ms + 100, now_ms),
                 BILLORD_NONCE_REPLAYED));
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "n2", 2, now_ms + 100, now_ms),
                 BILLORD_NONCE_ACCEPTED));
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "n1", 2, now_ms + 500,
                                                           now_ms + 99),
                 BILLORD_NONCE_REPLAYED), "still stored just before expiry");
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "n1", 2, now_ms + 500,
                                                           now_ms + 100),
                 BILLORD_NONCE_ACCEPTED), "evicted at its expiry");
    cr_expect(eq(u32, billord_nonce_guard_count(guard), 1));
    billord_nonce_guard_destroy(guard);
    billord_nonce_guard_destroy(NULL);
}

Test(http_sign, nonce_guard_full_of_unexpired_refuses, .timeout = 5)
{
    billord_nonce_guard *guard = NULL;
    cr_assert(eq(int, billord_nonce_guard_create(4, 7, &guard), BILLORD_OK));
    char nonce[16];
    for (int i = 0; i < 4; i++) {
        int const n = snprintf(nonce, sizeof nonce, "nonce-%d", i);
        /* The oldest expires last: eviction waits for it, even though others expire earlier. */
        cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, nonce, (size_t)n,
                                                               i == 0 ? 5000 : 1000 + i, 0),
                     BILLORD_NONCE_ACCEPTED));
    }
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "new", 3, 9000, 0),
                 BILLORD_NONCE_FULL));
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "new", 3, 9000, 4000),
                 BILLORD_NONCE_FULL), "the oldest has not expired yet");
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "nonce-0", 7, 9000, 4000),
                 BILLORD_NONCE_REPLAYED), "full does not hide a replay");
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(guard, "new", 3, 9000, 5000),
                 BILLORD_NONCE_ACCEPTED), "all four evicted at 5000");
    cr_expect(eq(u32, billord_nonce_guard_count(guard), 1));
    billord_nonce_guard_destroy(guard);
}

Test(http_sign, nonce_guard_capacity_is_checked, .timeout = 5)
{
    billord_nonce_guard *guard = NULL;
    cr_expect(eq(int, billord_nonce_guard_create(0, 0, &guard), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(eq(int, billord_nonce_guard_create(BILLORD_NONCE_GUARD_CAPACITY_MAX + 1u, 0, &guard),
                 BILLORD_E_INVALID_ARGUMENT));
    cr_expect(eq(ptr, guard, NULL));
}

Test(http_sign, nonce_guard_persists_and_restores, .timeout = 5)
{
    billord_nonce_guard *first = NULL;
    billord_nonce_guard *second = NULL;
    cr_assert(eq(int, billord_nonce_guard_create(32, 1, &first), BILLORD_OK));
    cr_assert(eq(int, billord_nonce_guard_create(32, 99, &second), BILLORD_OK));
    char nonce[16];
    for (int i = 0; i < 10; i++) {
        int const n = snprintf(nonce, sizeof nonce, "n%d", i);
        cr_assert(eq(int, billord_nonce_guard_check_and_insert(first, nonce, (size_t)n, 100 + i, 0),
                     BILLORD_NONCE_ACCEPTED));
    }
    uint8_t digest[BILLORD_NONCE_DIGEST_BYTES];
    int64_t expiry_ms = 0;
    for (uint32_t i = 0; i < billord_nonce_guard_count(first); i++) {
        cr_assert(eq(int, billord_nonce_guard_entry(first, i, digest, &expiry_ms), BILLORD_OK));
        cr_expect(eq(i64, expiry_ms, 100 + (int64_t)i), "oldest first");
        cr_expect(eq(int, billord_nonce_guard_insert_digest(second, digest, expiry_ms, 0),
                     BILLORD_NONCE_ACCEPTED));
    }
    cr_expect(eq(int, billord_nonce_guard_entry(first, 10, digest, &expiry_ms),
                 BILLORD_E_NOT_FOUND));
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(second, "n3", 2, 500, 50),
                 BILLORD_NONCE_REPLAYED), "a restart does not open a replay");
    cr_expect(eq(int, billord_nonce_guard_check_and_insert(second, "n10", 3, 500, 50),
                 BILLORD_NONCE_ACCEPTED));
    uint8_t expected[BILLORD_NONCE_DIGEST_BYTES];
    billord_nonce_digest("n0", 2, expected);
    cr_assert(eq(int, billord_nonce_guard_entry(second, 0, digest, &expiry_ms), BILLORD_OK));
    cr_expect(eq(int, memcmp(digest, expected, sizeof digest), 0));
    billord_nonce_guard_destroy(first);
    billord_nonce_guard_destroy(second);
}

/* A shadow model (a plain FIFO) checked against the guard over many random steps,
 * with a small table so that probe chains collide and wrap and deletion shifts. */
#define MODEL_CAPACITY 64u
#define MODEL_NONCES 200u
#define MODEL_STEPS 20000u

typedef struct model_entry {
    uint32_t nonce;
    int64_t expiry_ms;
} model_entry;

static uint64_t xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

Test(http_sign, nonce_guard_matches_a_fifo_model, .timeout = 30)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        billord_nonce_guard *guard = NULL;
        cr_assert(eq(int, billord_nonce_guard_create(MODEL_CAPACITY, seed * 977, &guard),
                     BILLORD_OK));
        model_entry model[MODEL_CAPACITY];
        uint32_t model_count = 0;
        uint64_t random_state = seed * 0x9E3779B97F4A7C15ull;
        int64_t now_ms = 0;
        for (uint32_t step = 0; step < MODEL_STEPS; step++) {
            now_ms += (int64_t)(xorshift(&random_state) % 3u);
            uint32_t const nonce = (uint32_t)(xorshift(&random_state) % MODEL_NONCES);
            int64_t const expiry_ms = now_ms + (int64_t)(xorshift(&random_state) % 120u);
            uint32_t evicted = 0;
            while (evicted < model_count && model[evicted].expiry_ms <= now_ms) {
                evicted++;
            }
            memmove(model, model + evicted, (model_count - evicted) * sizeof model[0]);
            model_count -= evicted;
            billord_nonce_result expected = BILLORD_NONCE_ACCEPTED;
            for (uint32_t i = 0; i < model_count; i++) {
                if (model[i].nonce == nonce) {
                    expected = BILLORD_NONCE_REPLAYED;
                }
            }
            if (expected == BILLORD_NONCE_ACCEPTED && model_count == MODEL_CAPACITY) {
                expected = BILLORD_NONCE_FULL;
            }
            if (expected == BILLORD_NONCE_ACCEPTED) {
                model[model_count++] = (model_entry){nonce, expiry_ms};
            }
            char text[16];
            int const text_bytes = snprintf(text, sizeof text, "%u", (unsigned)nonce);
            billord_nonce_result const got = billord_nonce_guard_check_and_insert(
                guard, text, (size_t)text_bytes, expiry_ms, now_ms);
            cr_assert(eq(int, got, expected), "seed %llu step %u", (unsigned long long)seed,
                      (unsigned)step);
            cr_assert(eq(u32, billord_nonce_guard_count(guard), model_count));
        }
        billord_nonce_guard_destroy(guard);
    }
}

/* ---- Status table and programmer errors ------------------------------------------------- */

Test(http_sign, statuses_map_to_the_api_catalog, .timeout = 5)
{
    cr_expect(eq(int, billord_sign_status_api_code(BILLORD_SIGN_E_INCOMPLETE),
                 BILLORD_API_INCOMPLETE_SIGNATURE));
    cr_expect(eq(int, billord_sign_status_api_code(BILLORD_SIGN_E_MISMATCH),
                 BILLORD_API_SIGNATURE_DOES_NOT_MATCH));
    cr_expect(eq(int, billord_sign_status_api_code(BILLORD_SIGN_E_CRYPTO),
                 BILLORD_API_INTERNAL_ERROR));
    cr_expect(eq(str, (char *)billord_sign_status_name(BILLORD_SIGN_E_MISMATCH),
                 "BILLORD_SIGN_E_MISMATCH"));
    cr_expect(eq(str, (char *)billord_sign_status_name(BILLORD_SIGN_STATUS_COUNT),
                 "BILLORD_SIGN_E_UNKNOWN"));
}

Test(http_sign, v1_secret_over_the_limit_is_a_programmer_error, .signal = SIGABRT, .timeout = 5)
{
    static char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1u];
    billord_params params;
    billord_params_init(&params, arena, sizeof arena);
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1u];
    (void)billord_sign_v1_compute(&params, "GET", secret, sizeof secret, signature);
}
