/*
 * test_cov_db_batch.c: the batch payload of a log record (src/db/wal_batch.c,
 * docs/wal-payload.md) keeps every rule of its format on both sides: the encoder refuses a
 * batch or a command over a limit, and the decoder refuses every payload that breaks a
 * rule (wrong shape, type, count, size, NUL byte) with BILLORD_E_CORRUPT and a zeroed
 * batch, so recovery stops at that record instead of applying a command it misread.
 *
 * Method: payloads are built with msgpack-c's packer, one deviation at a time from a valid
 * command; each is decoded and the status and the zeroed output checked.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/wal_batch.h>

#include "support/batch_codec.h"

#define NOW_MS 1795305600000LL

TestSuite(cov_db_batch, .timeout = 30);

/* ---- encoding ------------------------------------------------------------------------ */

static billord_command request(const char *account, const char *action, uint32_t param_count,
                               const billord_param *params)
{
    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = BILLORD_COMMAND_REQUEST;
    command.now_ms = NOW_MS;
    strcpy(command.request_id, "0A1B2C3D-0000-4000-8000-00000000ABCD");
    command.account = account;
    command.action = action;
    command.param_count = param_count;
    command.params = params;
    return command;
}

static billord_err encode(const billord_command *commands, size_t count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    billord_err err = billord_wal_batch_encode(&buffer, commands, count);
    msgpack_sbuffer_destroy(&buffer);
    return err;
}

static char *text_of(size_t bytes, char fill)
{
    char *text = malloc(bytes + 1);
    cr_assert(text != NULL);
    memset(text, fill, bytes);
    text[bytes] = '\0';
    return text;
}

Test(cov_db_batch, an_empty_or_oversized_batch_is_refused)
{
    billord_command *commands = calloc(BILLORD_BATCH_COMMANDS_MAX + 1, sizeof *commands);
    cr_assert(commands != NULL);
    for (size_t i = 0; i <= BILLORD_BATCH_COMMANDS_MAX; i++) {
        commands[i] = request("acct", "RenewInstance", 0, NULL);
    }
    cr_expect(eq(int, encode(commands, 0), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(eq(int, encode(commands, BILLORD_BATCH_COMMANDS_MAX + 1), BILLORD_E_INVALID_ARGUMENT));
    cr_expect(eq(int, encode(commands, BILLORD_BATCH_COMMANDS_MAX), BILLORD_OK));
    free(commands);
}

Test(cov_db_batch, a_command_over_any_limit_is_refused_and_one_at_every_limit_is_kept)
{
    char *account_max = text_of(BILLORD_ACCOUNT_ID_BYTES_MAX, 'a');
    char *account_over = text_of(BILLORD_ACCOUNT_ID_BYTES_MAX + 1, 'a');
    char *action_max = text_of(BILLORD_ACTION_BYTES_MAX, 'b');
    char *action_over = text_of(BILLORD_ACTION_BYTES_MAX + 1, 'b');
    char *name_max = text_of(BILLORD_PARAM_NAME_BYTES_MAX, 'n');
    char *name_over = text_of(BILLORD_PARAM_NAME_BYTES_MAX + 1, 'n');
    char *value_max = text_of(BILLORD_PARAM_VALUE_BYTES_MAX, 'v');
    char *value_over = text_of(BILLORD_PARAM_VALUE_BYTES_MAX + 1, 'v');
    billord_param params[BILLORD_PARAMS_MAX + 1];
    for (uint32_t i = 0; i <= BILLORD_PARAMS_MAX; i++) {
        params[i] = (billord_param){name_max, value_max};
    }
    billord_param long_name[2] = {{"Ok", "1"}, {name_over, "1"}};
    billord_param long_value[2] = {{"Ok", "1"}, {"Name", value_over}};

    billord_command at_limits = request(account_max, action_max, BILLORD_PARAMS_MAX, params);
    billord_command refused[] = {
        request("acct", "RenewInstance", BILLORD_PARAMS_MAX + 1, params),
        request(account_over, "RenewInstance", 0, NULL),
        request("acct", action_over, 0, NULL),
        request("acct", "RenewInstance", 2, long_name),
        request("acct", "RenewInstance", 2, long_value),
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        cr_expect(eq(int, encode(&refused[i], 1), BILLORD_E_INVALID_ARGUMENT), "command %zu", i);
        /* Behind a valid command too: the whole batch is refused. */
        billord_command pair[2] = {at_limits, refused[i]};
        cr_expect(eq(int, encode(pair, 2), BILLORD_E_INVALID_ARGUMENT), "second command %zu", i);
    }

    msgpack_sbuffer buffer;
    billord_wal_batch batch;
    batch_codec_round_trip(&at_limits, 1, &buffer, &batch);
    const billord_command *back = &batch.commands[0];
    cr_expect(eq(str, (char *)back->account, account_max));
    cr_expect(eq(str, (char *)back->action, action_max));
    cr_assert(eq(u32, back->param_count, BILLORD_PARAMS_MAX));
    cr_expect(eq(str, (char *)back->params[BILLORD_PARAMS_MAX - 1].name, name_max));
    cr_expect(eq(str, (char *)back->params[BILLORD_PARAMS_MAX - 1].value, value_max));
    billord_wal_batch_free(&batch);
    msgpack_sbuffer_destroy(&buffer);
    free(account_max);
    free(account_over);
    free(action_max);
    free(action_over);
    free(name_max);
    free(name_over);
    free(value_max);
    free(value_over);
}

Test(cov_db_batch, a_tick_without_account_or_action_round_trips_with_empty_strings)
{
    billord_command tick;
    memset(&tick, 0, sizeof tick);
    tick.kind = BILLORD_COMMAND_TICK;
    tick.now_ms = NOW_MS;                   /* account, action: NULL */
    billord_command commands[2] = {tick, request("acct", "RenewInstance", 0, NULL)};
    commands[1].now_ms = -5;
    msgpack_sbuffer buffer;
    billord_wal_batch batch;
    batch_codec_round_trip(commands, 2, &buffer, &batch);
    cr_expect(eq(int, batch.commands[0].kind, BILLORD_COMMAND_TICK));
    cr_expect(eq(i64, batch.commands[0].now_ms, NOW_MS));
    cr_expect(eq(str, (char *)batch.commands[0].account, ""));
    cr_expect(eq(str, (char *)batch.commands[0].action, ""));
    cr_expect(eq(u32, batch.commands[0].param_count, 0));
    cr_expect(eq(int, batch.commands[1].kind, BILLORD_COMMAND_REQUEST));
    cr_expect(eq(i64, batch.commands[1].now_ms, -5));
    cr_expect(eq(str, batch.commands[1].request_id, commands[1].request_id));
    billord_wal_batch_free(&batch);
    billord_wal_batch_free(NULL);
    msgpack_sbuffer_destroy(&buffer);
}

/* ---- decoding ------------------------------------------------------------------------ */

/* One command, field by field; a field left NULL is packed as the valid default. */
typedef enum field_kind { FIELD_VALID = 0, FIELD_NIL, FIELD_STR, FIELD_UINT, FIELD_INT } field_kind;

typedef struct command_spec {
    uint32_t fields;                        /* 6 for a valid command */
    field_kind kind_as;
    uint64_t kind_value;
    field_kind time_as;
    field_kind request_id_as;
    const char *request_id;                 /* with FIELD_STR */
    size_t request_id_bytes;
    field_kind account_as;
    const char *account;
    size_t account_bytes;
    field_kind action_as;
    field_kind params_as;                   /* FIELD_NIL: not an array */
    uint32_t param_strings;                 /* with FIELD_VALID: strings in the params array */
    size_t param_name_bytes;                /* 0: "Name" */
    size_t param_value_bytes;               /* 0: "Value" */
} command_spec;

static void pack_text(msgpack_packer *packer, const char *text, size_t bytes)
{
    msgpack_pack_str(packer, bytes);
    msgpack_pack_str_body(packer, text, bytes);
}

static void pack_filled(msgpack_packer *packer, size_t bytes, char fill)
{
    char *text = text_of(bytes, fill);
    pack_text(packer, text, bytes);
    free(text);
}

static void pack_command(msgpack_packer *packer, const command_spec *spec)
{
    uint32_t fields = spec->fields != 0 ? spec->fields : 6u;
    msgpack_pack_array(packer, fields);
    for (uint32_t f = 0; f < fields; f++) {
        switch (f) {
        case 0:
            if (spec->kind_as == FIELD_STR) {
                pack_text(packer, "1", 1);
            } else {
                msgpack_pack_uint64(packer, spec->kind_as == FIELD_UINT ? spec->kind_value
                                                                        : BILLORD_COMMAND_REQUEST);
            }
            break;
        case 1:
            if (spec->time_as == FIELD_STR) {
                pack_text(packer, "now", 3);
            } else if (spec->time_as == FIELD_INT) {
                msgpack_pack_int64(packer, -NOW_MS);
            } else {
                msgpack_pack_int64(packer, NOW_MS);
            }
            break;
        case 2:
            if (spec->request_id_as == FIELD_NIL) {
                msgpack_pack_nil(packer);
            } else if (spec->request_id_as == FIELD_STR) {
                pack_text(packer, spec->request_id, spec->request_id_bytes);
            } else {
                pack_text(packer, "0A1B2C3D-0000-4000-8000-00000000ABCD", BILLORD_REQUEST_ID_BYTES);
            }
            break;
        case 3:
            if (spec->account_as == FIELD_STR) {
                pack_text(packer, spec->account, spec->account_bytes);
            } else {
                pack_text(packer, "9000000000000009", 16);
            }
            break;
        case 4:
            if (spec->action_as == FIELD_UINT) {
                msgpack_pack_uint32(packer, 7);
            } else {
                pack_text(packer, "RenewInstance", 13);
            }
            break;
        case 5:
            if (spec->params_as == FIELD_NIL) {
                msgpack_pack_nil(packer);
                break;
            }
            msgpack_pack_array(packer, spec->param_strings);
            for (uint32_t p = 0; p < spec->param_strings; p++) {
                size_t bytes = p % 2 == 0 ? spec->param_name_bytes : spec->param_value_bytes;
                if (bytes == 0) {
                    pack_text(packer, p % 2 == 0 ? "Name" : "Value", p % 2 == 0 ? 4 : 5);
                } else {
                    pack_filled(packer, bytes, p % 2 == 0 ? 'n' : 'v');
                }
            }
            break;
        default:
            msgpack_pack_nil(packer);
            break;
        }
    }
}

/* [version, specs...] into buffer. */
static void pack_batch(msgpack_sbuffer *buffer, uint64_t version, const command_spec *specs,
                       size_t count)
{
    msgpack_sbuffer_clear(buffer);
    msgpack_packer packer;
    msgpack_packer_init(&packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_array(&packer, count + 1);
    msgpack_pack_uint64(&packer, version);
    for (size_t i = 0; i < count; i++) {
        pack_command(&packer, &specs[i]);
    }
}

static billord_err decode_expecting_zeroed_on_failure(const msgpack_sbuffer *buffer)
{
    billord_wal_batch batch;
    memset(&batch, 0x5A, sizeof batch);
    billord_err err = billord_wal_batch_decode((const uint8_t *)buffer->data, buffer->size, &batch);
    if (err != BILLORD_OK) {
        cr_expect(eq(sz, batch.count, 0));
        cr_expect(batch.commands == NULL && batch.params == NULL && batch.arena == NULL);
    }
    billord_wal_batch_free(&batch);
    return err;
}

static billord_err decode_one(const command_spec *spec)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION, spec, 1);
    billord_err err = decode_expecting_zeroed_on_failure(&buffer);
    msgpack_sbuffer_destroy(&buffer);
    return err;
}

Test(cov_db_batch, the_valid_shapes_decode)
{
    command_spec tick = {.kind_as = FIELD_UINT, .kind_value = BILLORD_COMMAND_TICK};
    command_spec negative_time = {.time_as = FIELD_INT};
    command_spec with_params = {.param_strings = 4};
    cr_expect(eq(int, decode_one(&(command_spec){0}), BILLORD_OK));
    cr_expect(eq(int, decode_one(&tick), BILLORD_OK));
    cr_expect(eq(int, decode_one(&negative_time), BILLORD_OK));
    cr_expect(eq(int, decode_one(&with_params), BILLORD_OK));

    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    command_spec three[3] = {tick, negative_time, with_params};
    pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION, three, 3);
    billord_wal_batch batch;
    cr_assert(eq(int, billord_wal_batch_decode((const uint8_t *)buffer.data, buffer.size, &batch),
                 BILLORD_OK));
    cr_assert(eq(sz, batch.count, 3));
    cr_expect(eq(int, batch.commands[0].kind, BILLORD_COMMAND_TICK));
    cr_expect(eq(i64, batch.commands[1].now_ms, -NOW_MS));
    cr_assert(eq(u32, batch.commands[2].param_count, 2));
    cr_expect(eq(str, (char *)batch.commands[2].params[1].name, "Name"));
    cr_expect(eq(str, (char *)batch.commands[2].params[1].value, "Value"));
    billord_wal_batch_free(&batch);
    msgpack_sbuffer_destroy(&buffer);
}

Test(cov_db_batch, every_broken_command_field_is_corrupt)
{
    static const char with_nul[] = {'9', '0', '\0', '1'};
    command_spec broken[] = {
        {.fields = 5},                                              /* too few fields */
        {.fields = 7},                                              /* too many */
        {.kind_as = FIELD_STR},                                     /* kind not a uint */
        {.kind_as = FIELD_UINT, .kind_value = 3},                   /* no such kind */
        {.kind_as = FIELD_UINT, .kind_value = 0},
        {.time_as = FIELD_STR},                                     /* time not an int */
        {.params_as = FIELD_NIL},                                   /* params not an array */
        {.param_strings = 3},                                       /* a name without value */
        {.param_strings = 2 * (BILLORD_PARAMS_MAX + 1)},            /* too many params */
        {.request_id_as = FIELD_NIL},                               /* request id not a str */
        {.request_id_as = FIELD_STR, .request_id = "0A1B2C3D-0000-4000-8000-00000000ABCDE",
         .request_id_bytes = BILLORD_REQUEST_ID_BYTES + 1},          /* too long */
        {.account_as = FIELD_STR, .account = with_nul, .account_bytes = sizeof with_nul},
        {.account_as = FIELD_STR, .account = "90000000000000090000000000000009000000000000000900000000000000099",
         .account_bytes = BILLORD_ACCOUNT_ID_BYTES_MAX + 1},
        {.action_as = FIELD_UINT},                                  /* action not a str */
        {.param_strings = 2, .param_name_bytes = BILLORD_PARAM_NAME_BYTES_MAX + 1},
        {.param_strings = 2, .param_value_bytes = BILLORD_PARAM_VALUE_BYTES_MAX + 1},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        cr_expect(eq(int, decode_one(&broken[i]), BILLORD_E_CORRUPT), "case %zu", i);
        /* Behind a valid command too: nothing of the batch is returned. */
        msgpack_sbuffer buffer;
        msgpack_sbuffer_init(&buffer);
        command_spec pair[2] = {{0}, broken[i]};
        pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION, pair, 2);
        cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT),
                  "second command, case %zu", i);
        msgpack_sbuffer_destroy(&buffer);
    }
    /* The limits themselves are kept. */
    command_spec at_limits[] = {
        {.param_strings = 2 * BILLORD_PARAMS_MAX},
        {.param_strings = 2, .param_name_bytes = BILLORD_PARAM_NAME_BYTES_MAX,
         .param_value_bytes = BILLORD_PARAM_VALUE_BYTES_MAX},
        {.request_id_as = FIELD_STR, .request_id = "", .request_id_bytes = 0},
    };
    for (size_t i = 0; i < sizeof at_limits / sizeof at_limits[0]; i++) {
        cr_expect(eq(int, decode_one(&at_limits[i]), BILLORD_OK), "limit case %zu", i);
    }
}

Test(cov_db_batch, a_broken_batch_envelope_is_corrupt)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    msgpack_packer packer;
    msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
    command_spec valid = {0};

    /* Not an array. */
    msgpack_pack_uint32(&packer, 1);
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    /* The version alone, no command. */
    pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION, NULL, 0);
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    /* Another version. */
    pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION + 1, &valid, 1);
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    /* The version not an unsigned integer. */
    msgpack_sbuffer_clear(&buffer);
    msgpack_pack_array(&packer, 2);
    pack_text(&packer, "1", 1);
    pack_command(&packer, &valid);
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    /* A command that is not an array. */
    msgpack_sbuffer_clear(&buffer);
    msgpack_pack_array(&packer, 3);
    msgpack_pack_uint32(&packer, BILLORD_WAL_BATCH_VERSION);
    pack_command(&packer, &valid);
    msgpack_pack_nil(&packer);
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    /* One command more than a batch holds. */
    msgpack_sbuffer_clear(&buffer);
    msgpack_pack_array(&packer, BILLORD_BATCH_COMMANDS_MAX + 2);
    msgpack_pack_uint32(&packer, BILLORD_WAL_BATCH_VERSION);
    for (uint32_t i = 0; i <= BILLORD_BATCH_COMMANDS_MAX; i++) {
        pack_command(&packer, &valid);
    }
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    /* ... while a full batch decodes. */
    msgpack_sbuffer_clear(&buffer);
    msgpack_pack_array(&packer, BILLORD_BATCH_COMMANDS_MAX + 1);
    msgpack_pack_uint32(&packer, BILLORD_WAL_BATCH_VERSION);
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        pack_command(&packer, &valid);
    }
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_OK));
    /* A valid batch with a byte after it, and cut short by a byte. */
    pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION, &valid, 1);
    msgpack_pack_nil(&packer);
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    pack_batch(&buffer, BILLORD_WAL_BATCH_VERSION, &valid, 1);
    buffer.size--;
    cr_expect(eq(int, decode_expecting_zeroed_on_failure(&buffer), BILLORD_E_CORRUPT));
    msgpack_sbuffer_destroy(&buffer);
}
