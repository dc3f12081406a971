/*
 * params.c: query and form parameters into one ordered list in a caller arena.
 *
 * Promise: a list holds only parameters that passed every check (limits, %
 * syntax, UTF-8, no NUL, non-empty unique names); a call that fails leaves the
 * list exactly as it was. No allocation: decoded text goes into the caller's
 * arena, which BILLORD_PARAMS_ARENA_BYTES sizes.
 */
#include <stdio.h>
#include <string.h>

#include "core/assert.h"
#include "http/http_internal.h"

typedef struct status_row {
    const char *name;
    billord_api_code api_code;
    const char *text;
} status_row;

static const status_row status_rows[] = {
#define BILLORD_PARAMS_STATUS_ROW(name, api_code, text) [name] = {#name, api_code, text},
    BILLORD_PARAMS_STATUS_LIST(BILLORD_PARAMS_STATUS_ROW)
#undef BILLORD_PARAMS_STATUS_ROW
};
static_assert(sizeof status_rows / sizeof status_rows[0] == BILLORD_PARAMS_STATUS_COUNT,
              "every params status has a row");
static_assert(BILLORD_PARAMS_MAX <= UINT8_MAX, "a parameter index fits in uint8_t");
static_assert(BILLORD_PARAM_VALUE_BYTES_MAX <= UINT32_MAX, "a value length fits in uint32_t");

const char *billord_params_status_name(billord_params_status status)
{
    return (unsigned)status < BILLORD_PARAMS_STATUS_COUNT ? status_rows[status].name
                                                          : "BILLORD_PARAMS_E_UNKNOWN";
}

const char *billord_params_status_text(billord_params_status status)
{
    return (unsigned)status < BILLORD_PARAMS_STATUS_COUNT ? status_rows[status].text
                                                          : "unknown parameter status";
}

billord_api_code billord_params_status_api_code(billord_params_status status)
{
    return (unsigned)status < BILLORD_PARAMS_STATUS_COUNT ? status_rows[status].api_code
                                                          : BILLORD_API_INTERNAL_ERROR;
}

void billord__http_detail_set(billord_http_detail *detail, const char *text, size_t text_bytes)
{
    if (detail == NULL) {
        return;
    }
    size_t const kept_bytes =
        text_bytes < sizeof detail->text - 1u ? text_bytes : sizeof detail->text - 1u;
    if (kept_bytes > 0) {
        memcpy(detail->text, text, kept_bytes);
    }
    detail->text[kept_bytes] = '\0';
}

/* Strict UTF-8: shortest form only, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *bytes, size_t bytes_len)
{
    size_t i = 0;
    while (i < bytes_len) {   /* i grows by 1..4 each turn */
        uint8_t const lead = bytes[i];
        if (lead < 0x80u) {
            i++;
            continue;
        }
        size_t sequence_bytes = 0;
        uint32_t code_point = 0;
        uint32_t code_point_min = 0;
        if ((lead & 0xE0u) == 0xC0u) {
            sequence_bytes = 2, code_point = lead & 0x1Fu, code_point_min = 0x80u;
        } else if ((lead & 0xF0u) == 0xE0u) {
            sequence_bytes = 3, code_point = lead & 0x0Fu, code_point_min = 0x800u;
        } else if ((lead & 0xF8u) == 0xF0u) {
            sequence_bytes = 4, code_point = lead & 0x07u, code_point_min = 0x10000u;
        } else {
            return false;
        }
        if (bytes_len - i < sequence_bytes) {
            return false;
        }
        for (size_t k = 1; k < sequence_bytes; k++) {
            if ((bytes[i + k] & 0xC0u) != 0x80u) {
                return false;
            }
            code_point = (code_point << 6) | (bytes[i + k] & 0x3Fu);
        }
        if (code_point < code_point_min || code_point > 0x10FFFFu) {
            return false;
        }
        if (code_point >= 0xD800u && code_point <= 0xDFFFu) {
            return false;
        }
        i += sequence_bytes;
    }
    return true;
}

static billord_params_status text_check(const char *text, size_t text_bytes)
{
    if (text_bytes > 0 && memchr(text, '\0', text_bytes) != NULL) {
        return BILLORD_PARAMS_E_NUL;
    }
    if (!utf8_valid((const uint8_t *)text, text_bytes)) {
        return BILLORD_PARAMS_E_BAD_UTF8;
    }
    return BILLORD_PARAMS_OK;
}

void billord_params_init(billord_params *params, char *arena, size_t arena_bytes)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(arena != NULL || arena_bytes == 0);
    memset(params, 0, sizeof *params);
    params->arena = arena;
    params->arena_bytes = arena_bytes;
}

/*
 * Put raw (decoded first when decode is set) into the arena, NUL-terminated.
 * Only the arena's free part is written; arena_used_bytes moves on success.
 */
static billord_params_status arena_take(billord_params *params, const char *raw, size_t raw_bytes,
                                        bool decode, size_t limit_bytes,
                                        billord_params_status too_long_status,
                                        const char **out_text, uint32_t *out_text_bytes)
{
    BILLORD_ASSERT(params->arena_used_bytes <= params->arena_bytes);
    size_t const free_bytes = params->arena_bytes - params->arena_used_bytes;
    char *const destination = params->arena + params->arena_used_bytes;
    /* One byte of the free part is kept for the NUL. */
    size_t const room_bytes = free_bytes == 0 ? 0 : free_bytes - 1u;
    size_t const capacity_bytes = room_bytes < limit_bytes ? room_bytes : limit_bytes;
    billord_params_status const full_status =
        limit_bytes <= room_bytes ? too_long_status : BILLORD_PARAMS_E_ARENA_FULL;
    size_t text_bytes = 0;
    if (decode) {
        billord_err const err =
            billord_percent_decode(raw, raw_bytes, destination, capacity_bytes, &text_bytes);
        if (err == BILLORD_E_INVALID_ARGUMENT) {
            return BILLORD_PARAMS_E_BAD_PERCENT;
        }
        if (err != BILLORD_OK) {
            return full_status;
        }
    } else {
        if (raw_bytes > capacity_bytes) {
            return full_status;
        }
        if (raw_bytes > 0) {
            memcpy(destination, raw, raw_bytes);
        }
        text_bytes = raw_bytes;
    }
    if (free_bytes == 0) {
        return BILLORD_PARAMS_E_ARENA_FULL;   /* not even room for the NUL */
    }
    BILLORD_ASSERT(text_bytes <= limit_bytes);
    destination[text_bytes] = '\0';
    params->arena_used_bytes += text_bytes + 1u;
    *out_text = destination;
    *out_text_bytes = (uint32_t)text_bytes;
    return BILLORD_PARAMS_OK;
}

static const billord_http_param *find_bytes(const billord_params *params, const char *name,
                                       size_t name_bytes)
{
    for (uint32_t i = 0; i < params->count; i++) {
        const billord_http_param *param = &params->items[i];
        if (param->name_bytes == name_bytes && memcmp(param->name, name, name_bytes) == 0) {
            return param;
        }
    }
    return NULL;
}

/* Append one parameter; on error the caller restores count and arena_used_bytes. */
static billord_params_status append(billord_params *params, const char *name, size_t name_bytes,
                                    const char *value, size_t value_bytes, bool decode,
                                    billord_http_param_source source, billord_http_detail *detail)
{
    if (params->count == BILLORD_PARAMS_MAX) {
        billord__http_detail_set(detail, "", 0);
        return BILLORD_PARAMS_E_TOO_MANY;
    }
    billord_http_param param = {.source = source};
    billord__http_detail_set(detail, name, name_bytes);   /* the raw name, until decoded */
    billord_params_status status =
        arena_take(params, name, name_bytes, decode, BILLORD_PARAM_NAME_BYTES_MAX,
                   BILLORD_PARAMS_E_NAME_TOO_LONG, &param.name, &param.name_bytes);
    if (status != BILLORD_PARAMS_OK) {
        return status;
    }
    if (param.name_bytes == 0) {
        return BILLORD_PARAMS_E_EMPTY_NAME;
    }
    status = text_check(param.name, param.name_bytes);
    if (status != BILLORD_PARAMS_OK) {
        return status;
    }
    billord__http_detail_set(detail, param.name, param.name_bytes);
    status = arena_take(params, value, value_bytes, decode, BILLORD_PARAM_VALUE_BYTES_MAX,
                        BILLORD_PARAMS_E_VALUE_TOO_LONG, &param.value, &param.value_bytes);
    if (status != BILLORD_PARAMS_OK) {
        return status;
    }
    status = text_check(param.value, param.value_bytes);
    if (status != BILLORD_PARAMS_OK) {
        return status;
    }
    if (find_bytes(params, param.name, param.name_bytes) != NULL) {
        return BILLORD_PARAMS_E_DUPLICATE;
    }
    params->items[params->count++] = param;
    billord__http_detail_set(detail, "", 0);
    return BILLORD_PARAMS_OK;
}

static void source_check(billord_http_param_source source)
{
    BILLORD_ASSERT(source == BILLORD_PARAM_SOURCE_QUERY || source == BILLORD_PARAM_SOURCE_BODY);
}

billord_params_status billord_params_parse(billord_params *params, const char *text,
                                           size_t text_bytes, billord_http_param_source source,
                                           billord_http_detail *out_detail)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(text != NULL || text_bytes == 0);
    source_check(source);
    billord__http_detail_set(out_detail, "", 0);
    uint32_t const count_before = params->count;
    size_t const arena_used_before = params->arena_used_bytes;
    size_t position = 0;
    while (position < text_bytes) {   /* position grows by at least 1 each turn */
        const char *segment = text + position;
        const char *ampersand = memchr(segment, '&', text_bytes - position);
        size_t const segment_bytes =
            ampersand != NULL ? (size_t)(ampersand - segment) : text_bytes - position;
        position += segment_bytes + 1u;
        if (segment_bytes == 0) {
            continue;   /* "a=1&&b=2" and a trailing "&", as Node's querystring */
        }
        const char *equals = memchr(segment, '=', segment_bytes);
        size_t const name_bytes = equals != NULL ? (size_t)(equals - segment) : segment_bytes;
        const char *value = equals != NULL ? equals + 1 : segment + segment_bytes;
        size_t const value_bytes = equals != NULL ? segment_bytes - name_bytes - 1u : 0;
        billord_params_status const status = append(params, segment, name_bytes, value,
                                                     value_bytes, true, source, out_detail);
        if (status != BILLORD_PARAMS_OK) {
            params->count = count_before;
            params->arena_used_bytes = arena_used_before;
            return status;
        }
    }
    return BILLORD_PARAMS_OK;
}

billord_params_status billord_params_add(billord_params *params, const char *name,
                                         size_t name_bytes, const char *value, size_t value_bytes,
                                         billord_http_param_source source,
                                         billord_http_detail *out_detail)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(name != NULL || name_bytes == 0);
    BILLORD_ASSERT(value != NULL || value_bytes == 0);
    source_check(source);
    uint32_t const count_before = params->count;
    size_t const arena_used_before = params->arena_used_bytes;
    billord_params_status const status =
        append(params, name, name_bytes, value, value_bytes, false, source, out_detail);
    if (status != BILLORD_PARAMS_OK) {
        params->count = count_before;
        params->arena_used_bytes = arena_used_before;
    }
    return status;
}

const billord_http_param *billord_params_find(const billord_params *params, const char *name)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(name != NULL);
    return find_bytes(params, name, strlen(name));
}

billord_err billord_params_encode(const billord_params *params, billord_http_param_source source,
                                  char *out, size_t out_capacity, size_t *out_bytes)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(out_bytes != NULL);
    source_check(source);
    billord__sink sink;
    billord__sink_init_text(&sink, out, out_capacity);
    bool first = true;
    for (uint32_t i = 0; i < params->count; i++) {
        const billord_http_param *param = &params->items[i];
        if (param->source != source) {
            continue;
        }
        if (!first) {
            billord__sink_str(&sink, "&");
        }
        first = false;
        billord__sink_enc(&sink, param->name, param->name_bytes);
        billord__sink_str(&sink, "=");
        billord__sink_enc(&sink, param->value, param->value_bytes);
    }
    if (!billord__sink_finish(&sink)) {
        return BILLORD_E_TOO_LARGE;
    }
    *out_bytes = sink.text_bytes;
    return BILLORD_OK;
}

/* "12" -> 12; 0 for anything but 1..BILLORD_PARAMS_MAX without leading zeros. */
static uint32_t array_index_parse(const char *text, size_t text_bytes)
{
    if (text_bytes == 0 || text_bytes > 2 || text[0] == '0') {
        return 0;   /* BILLORD_PARAMS_MAX has two digits */
    }
    uint32_t index = 0;
    for (size_t i = 0; i < text_bytes; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return 0;
        }
        index = index * 10u + (uint32_t)(text[i] - '0');
    }
    return index <= BILLORD_PARAMS_MAX ? index : 0;
}
static_assert(BILLORD_PARAMS_MAX >= 10u && BILLORD_PARAMS_MAX <= 99u,
              "array_index_parse reads at most two digits");

/* Find base.1 .. base.n: element_items[k] is the item of index k + 1, or -1. */
static billord_params_status array_collect(const billord_params *params, const char *base_name,
                                           size_t base_bytes,
                                           int16_t element_items[BILLORD_PARAMS_MAX],
                                           uint32_t *out_index_max, bool *out_has_plain,
                                           billord_http_detail *detail)
{
    uint32_t index_max = 0;
    for (uint32_t i = 0; i < params->count; i++) {
        const billord_http_param *param = &params->items[i];
        if (param->name_bytes < base_bytes || memcmp(param->name, base_name, base_bytes) != 0) {
            continue;
        }
        if (param->name_bytes == base_bytes) {
            *out_has_plain = true;
            continue;
        }
        if (param->name[base_bytes] != '.') {
            continue;   /* "InstanceIds" is another parameter */
        }
        uint32_t const index = array_index_parse(param->name + base_bytes + 1u,
                                                 param->name_bytes - base_bytes - 1u);
        if (index == 0) {
            billord__http_detail_set(detail, param->name, param->name_bytes);
            return BILLORD_PARAMS_E_ARRAY_INDEX;
        }
        /* Names are unique and indices canonical, so no index comes twice. */
        BILLORD_ASSERT(element_items[index - 1u] < 0);
        element_items[index - 1u] = (int16_t)i;
        index_max = index > index_max ? index : index_max;
    }
    *out_index_max = index_max;
    return BILLORD_PARAMS_OK;
}

/* Gaps, bad elements and the joined length, before anything is written. */
static billord_params_status array_check(const billord_params *params, const char *base_name,
                                         const int16_t element_items[BILLORD_PARAMS_MAX],
                                         uint32_t index_max, billord_http_detail *detail)
{
    size_t joined_bytes = index_max - 1u;   /* the commas */
    char element_name[BILLORD_HTTP_DETAIL_BYTES + 8u];
    for (uint32_t k = 0; k < index_max; k++) {
        int const written = snprintf(element_name, sizeof element_name, "%s.%u", base_name,
                                     (unsigned)(k + 1u));
        BILLORD_ASSERT(written > 0);
        if (element_items[k] < 0) {
            billord__http_detail_set(detail, element_name, strlen(element_name));
            return BILLORD_PARAMS_E_ARRAY_GAP;
        }
        const billord_http_param *element = &params->items[element_items[k]];
        if (element->value_bytes == 0 || memchr(element->value, ',', element->value_bytes)) {
            billord__http_detail_set(detail, element_name, strlen(element_name));
            return BILLORD_PARAMS_E_ARRAY_ELEMENT;
        }
        joined_bytes += element->value_bytes;
    }
    if (joined_bytes > BILLORD_PARAM_VALUE_BYTES_MAX) {
        billord__http_detail_set(detail, base_name, strlen(base_name));
        return BILLORD_PARAMS_E_VALUE_TOO_LONG;
    }
    return BILLORD_PARAMS_OK;
}

billord_params_status billord_params_join_indexed(const billord_params *params,
                                                  const char *base_name,
                                                  char out_value[BILLORD_PARAMS_JOINED_BYTES],
                                                  size_t *out_value_bytes,
                                                  uint32_t *out_element_count,
                                                  billord_http_detail *out_detail)
{
    BILLORD_ASSERT(params != NULL);
    BILLORD_ASSERT(base_name != NULL);
    BILLORD_ASSERT(out_value != NULL);
    BILLORD_ASSERT(out_value_bytes != NULL);
    BILLORD_ASSERT(out_element_count != NULL);
    size_t const base_bytes = strlen(base_name);
    BILLORD_ASSERT(base_bytes > 0 && base_bytes <= BILLORD_PARAM_NAME_BYTES_MAX);
    billord__http_detail_set(out_detail, "", 0);

    int16_t element_items[BILLORD_PARAMS_MAX];
    for (uint32_t k = 0; k < BILLORD_PARAMS_MAX; k++) {
        element_items[k] = -1;
    }
    uint32_t index_max = 0;
    bool has_plain = false;
    billord_params_status status = array_collect(params, base_name, base_bytes, element_items,
                                                 &index_max, &has_plain, out_detail);
    if (status != BILLORD_PARAMS_OK) {
        return status;
    }
    if (index_max == 0) {
        *out_element_count = 0;
        return BILLORD_PARAMS_OK;
    }
    if (has_plain) {
        billord__http_detail_set(out_detail, base_name, base_bytes);
        return BILLORD_PARAMS_E_ARRAY_CONFLICT;
    }
    status = array_check(params, base_name, element_items, index_max, out_detail);
    if (status != BILLORD_PARAMS_OK) {
        return status;
    }
    size_t written = 0;
    for (uint32_t k = 0; k < index_max; k++) {
        const billord_http_param *element = &params->items[element_items[k]];
        if (k > 0) {
            out_value[written++] = ',';
        }
        memcpy(out_value + written, element->value, element->value_bytes);
        written += element->value_bytes;
    }
    BILLORD_ASSERT(written <= BILLORD_PARAM_VALUE_BYTES_MAX);
    out_value[written] = '\0';
    *out_value_bytes = written;
    *out_element_count = index_max;
    return BILLORD_PARAMS_OK;
}
