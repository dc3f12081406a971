/*
 * fuzz_wal_batch: the payload of a log record, one msgpack batch of commands
 * (include/billord/wal_batch.h).
 *
 * Each input is used twice:
 *   1. as a raw payload: decode must fail closed or give commands within every limit,
 *      and then encode(decode(x)) decodes to the same commands and re-encodes to the
 *      same bytes (a fixed point after one round);
 *   2. as 0xFF-separated fields that build commands (kind/time byte, account, action,
 *      then name/value pairs; a 0xFE field starts the next command): encode then decode
 *      must give back exactly the commands (decode(encode(x)) == x).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <billord/wal_batch.h>

#include "fuzz_common.h"

static bool str_eq(const char *a, const char *b)
{
    /* The encoder writes NULL as "", which decodes as "". */
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static void check_same(const billord_command *a, const billord_command *b)
{
    BILLORD_ASSERT(a->kind == b->kind);
    BILLORD_ASSERT(a->now_ms == b->now_ms);
    BILLORD_ASSERT(strcmp(a->request_id, b->request_id) == 0);
    BILLORD_ASSERT(str_eq(a->account, b->account));
    BILLORD_ASSERT(str_eq(a->action, b->action));
    BILLORD_ASSERT(a->param_count == b->param_count);
    for (uint32_t i = 0; i < a->param_count; i++) {
        BILLORD_ASSERT(strcmp(a->params[i].name, b->params[i].name) == 0);
        BILLORD_ASSERT(strcmp(a->params[i].value, b->params[i].value) == 0);
    }
}

static void check_within_limits(const billord_wal_batch *batch)
{
    BILLORD_ASSERT(batch->count >= 1 && batch->count <= BILLORD_BATCH_COMMANDS_MAX);
    for (size_t i = 0; i < batch->count; i++) {
        const billord_command *c = &batch->commands[i];
        BILLORD_ASSERT(c->kind == BILLORD_COMMAND_REQUEST || c->kind == BILLORD_COMMAND_TICK);
        BILLORD_ASSERT(strlen(c->request_id) <= BILLORD_REQUEST_ID_BYTES);
        BILLORD_ASSERT(c->account != NULL && strlen(c->account) <= BILLORD_ACCOUNT_ID_BYTES_MAX);
        BILLORD_ASSERT(c->action != NULL && strlen(c->action) <= BILLORD_ACTION_BYTES_MAX);
        BILLORD_ASSERT(c->param_count <= BILLORD_PARAMS_MAX);
        for (uint32_t p = 0; p < c->param_count; p++) {
            BILLORD_ASSERT(strlen(c->params[p].name) <= BILLORD_PARAM_NAME_BYTES_MAX);
            BILLORD_ASSERT(strlen(c->params[p].value) <= BILLORD_PARAM_VALUE_BYTES_MAX);
        }
    }
}

/* decode(encode(commands)) == commands; returns the encoding's status. */
static billord_err round_trip(const billord_command *commands, size_t count,
                              msgpack_sbuffer *encoded)
{
    billord_err const err = billord_wal_batch_encode(encoded, commands, count);
    if (err != BILLORD_OK) {
        BILLORD_ASSERT(err == BILLORD_E_INVALID_ARGUMENT);
        return err;
    }
    billord_wal_batch batch;
    BILLORD_ASSERT(billord_wal_batch_decode((const uint8_t *)encoded->data, encoded->size,
                                            &batch) == BILLORD_OK);
    BILLORD_ASSERT(batch.count == count);
    for (size_t i = 0; i < count; i++) {
        check_same(&commands[i], &batch.commands[i]);
    }
    billord_wal_batch_free(&batch);
    return BILLORD_OK;
}

static void raw_payload(const uint8_t *data, size_t size)
{
    uint8_t *payload = malloc(size ? size : 1);   /* exact size: ASan sees overreads */
    BILLORD_ASSERT(payload != NULL);
    memcpy(payload, data, size);
    billord_wal_batch batch;
    billord_err const err = billord_wal_batch_decode(payload, size, &batch);
    if (err != BILLORD_OK) {
        BILLORD_ASSERT(err == BILLORD_E_CORRUPT || err == BILLORD_E_NOMEM);
        BILLORD_ASSERT(batch.count == 0 && batch.commands == NULL && batch.arena == NULL);
        billord_wal_batch_free(&batch);
        free(payload);
        return;
    }
    check_within_limits(&batch);
    msgpack_sbuffer first;
    msgpack_sbuffer_init(&first);
    BILLORD_ASSERT(round_trip(batch.commands, batch.count, &first) == BILLORD_OK);
    /* One more round gives the same bytes. */
    billord_wal_batch again;
    BILLORD_ASSERT(billord_wal_batch_decode((const uint8_t *)first.data, first.size, &again) ==
                   BILLORD_OK);
    msgpack_sbuffer second;
    msgpack_sbuffer_init(&second);
    BILLORD_ASSERT(billord_wal_batch_encode(&second, again.commands, again.count) == BILLORD_OK);
    BILLORD_ASSERT(second.size == first.size && memcmp(second.data, first.data, first.size) == 0);
    msgpack_sbuffer_destroy(&second);
    msgpack_sbuffer_destroy(&first);
    billord_wal_batch_free(&again);
    billord_wal_batch_free(&batch);
    free(payload);
}

#define COMMANDS_MAX 16u

static char *field_string(fuzz_input *in, char **arena, char *arena_end, bool *out_next_command)
{
    const uint8_t *bytes;
    size_t bytes_len;
    fuzz_field(in, &bytes, &bytes_len);
    *out_next_command = bytes_len == 1 && bytes[0] == 0xFE;
    const uint8_t *nul = memchr(bytes, '\0', bytes_len);
    if (nul != NULL) {
        bytes_len = (size_t)(nul - bytes);  /* C strings: cut at a NUL */
    }
    if ((size_t)(arena_end - *arena) < bytes_len + 1u) {
        return NULL;
    }
    char *out = *arena;
    memcpy(out, bytes, bytes_len);
    out[bytes_len] = '\0';
    *arena += bytes_len + 1u;
    return out;
}

static void built_commands(const uint8_t *data, size_t size)
{
    static char arena_storage[2u * 64u * 1024u];
    char *arena = arena_storage;
    char *const arena_end = arena_storage + sizeof arena_storage;
    static billord_command commands[COMMANDS_MAX];
    static billord_param params[COMMANDS_MAX][BILLORD_PARAMS_MAX + 1u];
    size_t count = 0;
    fuzz_input in = {data, size};
    while (count < COMMANDS_MAX && (count == 0 || in.size > 0)) {
        billord_command *c = &commands[count];
        memset(c, 0, sizeof *c);
        uint8_t const kind = fuzz_byte(&in);
        c->kind = (kind & 1u) ? BILLORD_COMMAND_TICK : BILLORD_COMMAND_REQUEST;
        int64_t now = 0;
        for (int i = 0; i < 8; i++) {
            now = (int64_t)((uint64_t)now << 8 | fuzz_byte(&in));
        }
        c->now_ms = now;
        if (kind & 2u) {
            memcpy(c->request_id, "0B1C2D3E-4F50-4617-8829-3A4B5C6D7E8F",
                   BILLORD_REQUEST_ID_BYTES + 1u);
        }
        bool next = false;
        c->account = field_string(&in, &arena, arena_end, &next);
        c->action = field_string(&in, &arena, arena_end, &next);
        if (kind & 4u) {
            c->account = NULL;   /* the encoder writes a missing string as "" */
        }
        c->params = params[count];
        while (!next && in.size > 0 && c->param_count <= BILLORD_PARAMS_MAX) {
            char *name = field_string(&in, &arena, arena_end, &next);
            if (next || name == NULL) {
                break;
            }
            char *value = field_string(&in, &arena, arena_end, &next);
            if (value == NULL) {
                break;
            }
            params[count][c->param_count++] = (billord_param){name, value};
        }
        count++;
        if (c->account == NULL && !(kind & 4u)) {
            break;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (commands[i].action == NULL) {
            commands[i].action = "";
        }
    }
    msgpack_sbuffer encoded;
    msgpack_sbuffer_init(&encoded);
    (void)round_trip(commands, count, &encoded);
    msgpack_sbuffer_destroy(&encoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256u * 1024u) {
        return 0;
    }
    raw_payload(data, size);
    built_commands(data, size);
    return 0;
}
