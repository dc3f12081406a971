/*
 * wal_batch.c: encode and decode the batch payload of a log record
 * (docs/wal-payload.md). Pure; decoding fails closed on any deviation.
 */
#include <stdlib.h>
#include <string.h>

#include <billord/wal_batch.h>

#include "core/assert.h"
#include "core/msgpack_read.h"

#define BATCH_COMMAND_FIELDS 6u

static void pack_str(msgpack_packer *packer, const char *text)
{
    size_t text_bytes = text != NULL ? strlen(text) : 0;
    msgpack_pack_str(packer, text_bytes);
    msgpack_pack_str_body(packer, text != NULL ? text : "", text_bytes);
}

static bool command_within_limits(const billord_command *command)
{
    if (command->param_count > BILLORD_PARAMS_MAX ||
        (command->account != NULL && strlen(command->account) > BILLORD_ACCOUNT_ID_BYTES_MAX) ||
        (command->action != NULL && strlen(command->action) > BILLORD_ACTION_BYTES_MAX)) {
        return false;
    }
    for (uint32_t i = 0; i < command->param_count; i++) {
        if (strlen(command->params[i].name) > BILLORD_PARAM_NAME_BYTES_MAX ||
            strlen(command->params[i].value) > BILLORD_PARAM_VALUE_BYTES_MAX) {
            return false;
        }
    }
    return true;
}

billord_err billord_wal_batch_encode(msgpack_sbuffer *buffer, const billord_command *commands,
                                     size_t count)
{
    BILLORD_ASSERT(buffer != NULL && commands != NULL);
    if (count == 0 || count > BILLORD_BATCH_COMMANDS_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    msgpack_sbuffer_clear(buffer);
    msgpack_packer packer;
    msgpack_packer_init(&packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_array(&packer, count + 1);
    msgpack_pack_uint32(&packer, BILLORD_WAL_BATCH_VERSION);
    for (size_t i = 0; i < count; i++) {
        const billord_command *command = &commands[i];
        if (!command_within_limits(command)) {
            return BILLORD_E_INVALID_ARGUMENT;
        }
        msgpack_pack_array(&packer, BATCH_COMMAND_FIELDS);
        msgpack_pack_uint32(&packer, (uint32_t)command->kind);
        msgpack_pack_int64(&packer, command->now_ms);
        pack_str(&packer, command->request_id);
        pack_str(&packer, command->account);
        pack_str(&packer, command->action);
        msgpack_pack_array(&packer, 2 * command->param_count);
        for (uint32_t p = 0; p < command->param_count; p++) {
            pack_str(&packer, command->params[p].name);
            pack_str(&packer, command->params[p].value);
        }
    }
    return BILLORD_OK;
}

/* ---- decoding --------------------------------------------------------------------- */

typedef struct decoder {
    char *arena;
    size_t arena_used;
    size_t arena_bytes;
    bool failed;
} decoder;

/* Copy a msgpack str into the arena with a NUL; NULL (and failed) when it breaks a rule. */
static char *take_str(decoder *d, const msgpack_object *item, size_t max_bytes)
{
    /* msgpack-c gives an empty str a NULL ptr: memchr and memcpy must not see it. */
    if (d->failed || item->type != MSGPACK_OBJECT_STR || item->via.str.size > max_bytes ||
        (item->via.str.size > 0 && memchr(item->via.str.ptr, '\0', item->via.str.size) != NULL)) {
        d->failed = true;
        return NULL;
    }
    /* decode_root sized the arena for every string of the payload plus its NUL. */
    BILLORD_ASSERT(d->arena_used + item->via.str.size + 1 <= d->arena_bytes);
    char *out = d->arena + d->arena_used;
    if (item->via.str.size > 0) {
        memcpy(out, item->via.str.ptr, item->via.str.size);
    }
    out[item->via.str.size] = '\0';
    d->arena_used += item->via.str.size + 1;
    return out;
}

static bool decode_command(decoder *d, const msgpack_object *item, billord_command *command,
                           billord_param *params)
{
    if (item->type != MSGPACK_OBJECT_ARRAY || item->via.array.size != BATCH_COMMAND_FIELDS) {
        return false;
    }
    const msgpack_object *fields = item->via.array.ptr;
    const msgpack_object *param_list = &fields[5];
    bool kind_ok = fields[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                   (fields[0].via.u64 == BILLORD_COMMAND_REQUEST ||
                    fields[0].via.u64 == BILLORD_COMMAND_TICK);
    bool time_ok = fields[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                   fields[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    if (!kind_ok || !time_ok || param_list->type != MSGPACK_OBJECT_ARRAY ||
        param_list->via.array.size % 2 != 0 ||
        param_list->via.array.size / 2 > BILLORD_PARAMS_MAX) {
        return false;
    }
    memset(command, 0, sizeof *command);
    command->kind = (billord_command_kind)fields[0].via.u64;
    command->now_ms = fields[1].via.i64;
    const char *request_id = take_str(d, &fields[2], BILLORD_REQUEST_ID_BYTES);
    if (request_id != NULL) {
        memcpy(command->request_id, request_id, strlen(request_id) + 1);
    }
    command->account = take_str(d, &fields[3], BILLORD_ACCOUNT_ID_BYTES_MAX);
    command->action = take_str(d, &fields[4], BILLORD_ACTION_BYTES_MAX);
    command->param_count = param_list->via.array.size / 2;
    command->params = params;
    for (uint32_t p = 0; p < command->param_count; p++) {
        params[p].name = take_str(d, &param_list->via.array.ptr[2 * p], BILLORD_PARAM_NAME_BYTES_MAX);
        params[p].value = take_str(d, &param_list->via.array.ptr[2 * p + 1],
                                   BILLORD_PARAM_VALUE_BYTES_MAX);
    }
    return !d->failed;
}

void billord_wal_batch_free(billord_wal_batch *batch)
{
    if (batch == NULL) {
        return;
    }
    free(batch->commands);
    free(batch->params);
    free(batch->arena);
    memset(batch, 0, sizeof *batch);
}

static billord_err decode_root(const msgpack_object *root, size_t payload_bytes,
                               billord_wal_batch *batch)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2 ||
        root->via.array.size - 1 > BILLORD_BATCH_COMMANDS_MAX ||
        root->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        root->via.array.ptr[0].via.u64 != BILLORD_WAL_BATCH_VERSION) {
        return BILLORD_E_CORRUPT;
    }
    batch->count = root->via.array.size - 1;
    size_t param_total = 0;
    for (size_t i = 0; i < batch->count; i++) {
        const msgpack_object *item = &root->via.array.ptr[i + 1];
        if (item->type == MSGPACK_OBJECT_ARRAY && item->via.array.size == BATCH_COMMAND_FIELDS &&
            item->via.array.ptr[5].type == MSGPACK_OBJECT_ARRAY) {
            param_total += item->via.array.ptr[5].via.array.size / 2;
        }
    }
    /* Every string's bytes are in the payload, and each needs one NUL more. */
    decoder d = {malloc(payload_bytes + 4 * batch->count + 2 * param_total + 1), 0,
                 payload_bytes + 4 * batch->count + 2 * param_total + 1, false};
    batch->arena = d.arena;
    batch->commands = calloc(batch->count, sizeof *batch->commands);
    batch->params = calloc(param_total + 1, sizeof *batch->params);
    if (d.arena == NULL || batch->commands == NULL || batch->params == NULL) {
        return BILLORD_E_NOMEM;
    }
    size_t param_index = 0;
    for (size_t i = 0; i < batch->count; i++) {
        if (!decode_command(&d, &root->via.array.ptr[i + 1], &batch->commands[i],
                            &batch->params[param_index])) {
            return BILLORD_E_CORRUPT;
        }
        param_index += batch->commands[i].param_count;
    }
    return BILLORD_OK;
}

billord_err billord_wal_batch_decode(const uint8_t *payload, size_t payload_bytes,
                                     billord_wal_batch *out_batch)
{
    BILLORD_ASSERT(payload != NULL && out_batch != NULL);
    memset(out_batch, 0, sizeof *out_batch);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    billord_err err = billord__msgpack_unpack_one(&unpacked, payload, payload_bytes);
    if (err == BILLORD_OK) {
        err = decode_root(&unpacked.data, payload_bytes, out_batch);
    }
    msgpack_unpacked_destroy(&unpacked);
    if (err != BILLORD_OK) {
        billord_wal_batch_free(out_batch);
    }
    return err;
}
