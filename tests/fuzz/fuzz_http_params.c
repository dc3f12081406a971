/*
 * fuzz_http_params: the query-string / form-body parser, percent decoding and encoding,
 * and pop-core's indexed arrays (include/billord/http_params.h).
 *
 * Input: first byte selects the source (query or body); the rest is the text.
 * Properties:
 *   - parse never overreads, and on error leaves the list exactly as it was;
 *   - every parsed name and value is NUL-terminated UTF-8 of the stated length, no NUL;
 *   - round trip: encode(parse(text)) parses again to the same list (names, values);
 *   - percent_decode(percent_encode(x)) == x for the raw input bytes;
 *   - join_indexed over every name holding a "." keeps its contract (outputs untouched
 *     on error, value within BILLORD_PARAM_VALUE_BYTES_MAX).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <billord/http_params.h>

#include "fuzz_common.h"

static void check_list(const billord_params *params)
{
    BILLORD_ASSERT(params->count <= BILLORD_PARAMS_MAX);
    BILLORD_ASSERT(params->arena_used_bytes <= params->arena_bytes);
    for (uint32_t i = 0; i < params->count; i++) {
        const billord_http_param *p = &params->items[i];
        BILLORD_ASSERT(p->name_bytes >= 1 && p->name_bytes <= BILLORD_PARAM_NAME_BYTES_MAX);
        BILLORD_ASSERT(p->value_bytes <= BILLORD_PARAM_VALUE_BYTES_MAX);
        BILLORD_ASSERT(strlen(p->name) == p->name_bytes);
        BILLORD_ASSERT(strlen(p->value) == p->value_bytes);
        for (uint32_t j = 0; j < i; j++) {
            BILLORD_ASSERT(strcmp(params->items[j].name, p->name) != 0);
        }
    }
}

static void check_join(const billord_params *params)
{
    for (uint32_t i = 0; i < params->count; i++) {
        const char *dot = strrchr(params->items[i].name, '.');
        if (dot == NULL) {
            continue;
        }
        char base[BILLORD_PARAM_NAME_BYTES_MAX + 1];
        size_t const base_bytes = (size_t)(dot - params->items[i].name);
        if (base_bytes == 0) {
            continue;  /* a base name is never empty (the callers' precondition) */
        }
        memcpy(base, params->items[i].name, base_bytes);
        base[base_bytes] = '\0';
        static char joined[BILLORD_PARAMS_JOINED_BYTES];
        memset(joined, 0x5A, sizeof joined);
        size_t joined_bytes = 12345;
        uint32_t element_count = 777;
        billord_http_detail detail;
        billord_params_status const status = billord_params_join_indexed(
            params, base, joined, &joined_bytes, &element_count, &detail);
        BILLORD_ASSERT(memchr(detail.text, '\0', sizeof detail.text) != NULL || status == BILLORD_PARAMS_OK);
        if (status != BILLORD_PARAMS_OK) {
            BILLORD_ASSERT(joined_bytes == 12345 && element_count == 777);
            continue;
        }
        BILLORD_ASSERT(element_count <= BILLORD_PARAMS_MAX);
        if (element_count > 0) {
            BILLORD_ASSERT(joined_bytes <= BILLORD_PARAM_VALUE_BYTES_MAX);
            BILLORD_ASSERT(strlen(joined) == joined_bytes);
        }
    }
}

static void check_percent_round_trip(const uint8_t *data, size_t size)
{
    size_t const enc_bytes = billord_percent_encoded_bytes(data, size);
    BILLORD_ASSERT(enc_bytes >= size && enc_bytes <= 3 * size);
    char *enc = malloc(enc_bytes + 1);
    char *dec = malloc(size + 1);
    BILLORD_ASSERT(enc != NULL && dec != NULL);
    size_t out_bytes = 0;
    /* One byte short must be refused, the exact size accepted. */
    BILLORD_ASSERT(billord_percent_encode(data, size, enc, enc_bytes, &out_bytes) ==
                   BILLORD_E_TOO_LARGE);
    BILLORD_ASSERT(billord_percent_encode(data, size, enc, enc_bytes + 1, &out_bytes) ==
                   BILLORD_OK);
    BILLORD_ASSERT(out_bytes == enc_bytes && enc[enc_bytes] == '\0');
    for (size_t i = 0; i < enc_bytes; i++) {
        BILLORD_ASSERT(enc[i] != '+' && enc[i] != ' ');
    }
    size_t dec_bytes = 0;
    BILLORD_ASSERT(billord_percent_decode(enc, enc_bytes, dec, size + 1, &dec_bytes) == BILLORD_OK);
    BILLORD_ASSERT(dec_bytes == size && memcmp(dec, data, size) == 0);
    /* Decoding the raw bytes as text: never grows, never overreads. */
    size_t raw_bytes = 0;
    if (billord_percent_decode((const char *)data, size, dec, size + 1, &raw_bytes) == BILLORD_OK) {
        BILLORD_ASSERT(raw_bytes <= size);
    }
    free(enc);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * BILLORD_BODY_BYTES_MAX) {
        return 0;
    }
    fuzz_input in = {data, size};
    billord_http_param_source const source =
        (fuzz_byte(&in) & 1) ? BILLORD_PARAM_SOURCE_BODY : BILLORD_PARAM_SOURCE_QUERY;
    /* An exact-size heap copy, so ASan sees any read past the text. */
    char *text = malloc(in.size ? in.size : 1);
    BILLORD_ASSERT(text != NULL);
    memcpy(text, in.data, in.size);

    size_t const arena_bytes = BILLORD_PARAMS_ARENA_BYTES(in.size);
    char *arena = malloc(arena_bytes);
    BILLORD_ASSERT(arena != NULL);
    static billord_params params;
    billord_params_init(&params, arena, arena_bytes);
    billord_http_detail detail;
    billord_params_status const status =
        billord_params_parse(&params, text, in.size, source, &detail);
    BILLORD_ASSERT(status < BILLORD_PARAMS_STATUS_COUNT);
    BILLORD_ASSERT(billord_params_status_name(status) != NULL);
    BILLORD_ASSERT(memchr(detail.text, '\0', sizeof detail.text) != NULL);
    if (status != BILLORD_PARAMS_OK) {
        BILLORD_ASSERT(params.count == 0 && params.arena_used_bytes == 0);
    }
    check_list(&params);
    for (uint32_t i = 0; i < params.count; i++) {
        BILLORD_ASSERT(params.items[i].source == source);
    }

    if (status == BILLORD_PARAMS_OK) {
        /* Round trip through the client-side encoder. */
        size_t enc_capacity = 1;
        for (uint32_t i = 0; i < params.count; i++) {
            enc_capacity += 3u * (params.items[i].name_bytes + params.items[i].value_bytes) + 2u;
        }
        char *enc = malloc(enc_capacity);
        BILLORD_ASSERT(enc != NULL);
        size_t enc_bytes = 0;
        BILLORD_ASSERT(billord_params_encode(&params, source, enc, enc_capacity, &enc_bytes) ==
                       BILLORD_OK);
        BILLORD_ASSERT(enc_bytes < enc_capacity && enc[enc_bytes] == '\0');
        size_t const arena2_bytes = BILLORD_PARAMS_ARENA_BYTES(enc_bytes);
        char *arena2 = malloc(arena2_bytes);
        BILLORD_ASSERT(arena2 != NULL);
        static billord_params again;
        billord_params_init(&again, arena2, arena2_bytes);
        BILLORD_ASSERT(billord_params_parse(&again, enc, enc_bytes, source, NULL) ==
                       BILLORD_PARAMS_OK);
        BILLORD_ASSERT(again.count == params.count);
        for (uint32_t i = 0; i < params.count; i++) {
            BILLORD_ASSERT(again.items[i].name_bytes == params.items[i].name_bytes);
            BILLORD_ASSERT(again.items[i].value_bytes == params.items[i].value_bytes);
            BILLORD_ASSERT(memcmp(again.items[i].name, params.items[i].name,
                                  params.items[i].name_bytes) == 0);
            BILLORD_ASSERT(memcmp(again.items[i].value, params.items[i].value,
                                  params.items[i].value_bytes) == 0);
            BILLORD_ASSERT(billord_params_find(&again, params.items[i].name) == &again.items[i]);
        }
        /* Adding each parameter again one by one builds the same list, and a second add
         * of the same name is refused as a duplicate. */
        billord_params_init(&again, arena2, arena2_bytes);
        for (uint32_t i = 0; i < params.count; i++) {
            BILLORD_ASSERT(billord_params_add(&again, params.items[i].name,
                                              params.items[i].name_bytes, params.items[i].value,
                                              params.items[i].value_bytes, source,
                                              NULL) == BILLORD_PARAMS_OK);
        }
        if (params.count > 0) {
            /* Refused: as a duplicate, or first for a limit (64 parameters, a full arena). */
            billord_params_status const dup = billord_params_add(
                &again, params.items[0].name, params.items[0].name_bytes, "", 0, source, NULL);
            BILLORD_ASSERT(dup == BILLORD_PARAMS_E_DUPLICATE || dup == BILLORD_PARAMS_E_TOO_MANY ||
                           dup == BILLORD_PARAMS_E_ARENA_FULL);
            BILLORD_ASSERT(again.count == params.count);
        }
        free(arena2);
        free(enc);
        check_join(&params);
    }

    /* A second parse into a list that already holds something: errors keep it intact. */
    if (status == BILLORD_PARAMS_OK && params.count > 0) {
        uint32_t const count_before = params.count;
        size_t const used_before = params.arena_used_bytes;
        billord_params_status const again = billord_params_parse(
            &params, text, in.size,
            source == BILLORD_PARAM_SOURCE_QUERY ? BILLORD_PARAM_SOURCE_BODY
                                                 : BILLORD_PARAM_SOURCE_QUERY,
            NULL);
        /* The same names again are duplicates (every parameter has a name). */
        BILLORD_ASSERT(again != BILLORD_PARAMS_OK);
        BILLORD_ASSERT(params.count == count_before && params.arena_used_bytes == used_before);
    }

    /* A smaller arena than promised: either fits or says so, never overflows. */
    if (in.size > 0) {
        char small_arena[64];
        static billord_params small;
        billord_params_init(&small, small_arena, sizeof small_arena);
        (void)billord_params_parse(&small, text, in.size, source, NULL);
        check_list(&small);
    }

    check_percent_round_trip(in.data, in.size < 4096 ? in.size : 4096);
    free(arena);
    free(text);
    return 0;
}
