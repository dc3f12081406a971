/*
 * fuzz_engine_validate: action parameter validation (billord_engine_validate in
 * include/billord/engine.h), which is pure: no store, no clock.
 *
 * Input: byte 0 picks the kind and the action (one of the known ones, or the next
 * field as a raw action name); then 0xFF-separated fields: the account, then name,
 * value, name, value, ... A one-byte name field stands for a known parameter name, so
 * the fuzzer reaches the checks behind each name without guessing it; an account or
 * action field of the one byte 0xFE is a NULL pointer (refused, never an abort).
 * Properties: validation is deterministic; a refusal carries an error code and a
 * NUL-terminated message, an acceptance BILLORD_API_OK; the ClientToken handed back is
 * the command's own ClientToken value (or NULL); the request id is copied as given.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <billord/engine.h>
#include <billord/model.h>

#include "fuzz_common.h"

static const char *const actions[] = {
    "RenewInstance",
    "ModifyInstanceAutoRenewAttribute",
    "DescribeInstanceAutoRenewAttribute",
    "ModifyDBInstancePayType",
    "DescribeOrders",
    "PayOrder",
    "CancelOrder",
};
#define ACTION_COUNT (sizeof actions / sizeof actions[0])

static const char *const names[] = {
    "InstanceId", "ClientToken", "Period",       "PeriodUnit",  "RegionId",
    "AutoRenew",  "Duration",    "RenewalStatus", "PayType",    "DBInstanceId",
    "UsedTime",   "OrderId",     "PageNumber",   "PageSize",    "Status",
    "OrderType",  "CreateTimeStart", "CreateTimeEnd", "InstanceId.1", "ProductCode",
    "ProductType", "SubscriptionType", "Action",  "Version",     "BusinessStatus",
};
#define NAME_COUNT (sizeof names / sizeof names[0])

/* A field as a NUL-terminated string in the arena (cut at an embedded NUL). */
static const char *field_string(fuzz_input *in, char **arena, char *arena_end, bool *out_null)
{
    *out_null = false;
    const uint8_t *bytes;
    size_t bytes_len;
    fuzz_field(in, &bytes, &bytes_len);
    if (bytes_len == 1 && bytes[0] < 0x40) {
        return names[bytes[0] % NAME_COUNT];
    }
    if (bytes_len == 1 && bytes[0] == 0xFE) {
        *out_null = true;   /* an account or action that is not there at all */
        return NULL;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64u * 1024u) {
        return 0;
    }
    static char arena_storage[64u * 1024u + 2u * 256u];
    char *arena = arena_storage;
    char *const arena_end = arena_storage + sizeof arena_storage;
    fuzz_input in = {data, size};
    uint8_t const selector = fuzz_byte(&in);

    billord_command command;
    memset(&command, 0, sizeof command);
    command.kind = (selector & 0x80u) ? BILLORD_COMMAND_TICK : BILLORD_COMMAND_REQUEST;
    command.now_ms = 1735787045000LL + (int64_t)(selector & 0x0Fu) * 86400000LL;
    memcpy(command.request_id, "0B1C2D3E-4F50-4617-8829-3A4B5C6D7E8F",
           BILLORD_REQUEST_ID_BYTES + 1u);
    unsigned const action_pick = selector & 0x7Fu;
    bool action_null = false, account_null = false;
    if (action_pick < ACTION_COUNT * 8u) {
        command.action = actions[action_pick % ACTION_COUNT];
    } else {
        command.action = field_string(&in, &arena, arena_end, &action_null);
    }
    command.account = field_string(&in, &arena, arena_end, &account_null);
    if ((command.account == NULL && !account_null) || (command.action == NULL && !action_null)) {
        return 0;
    }
    static billord_param params[BILLORD_PARAMS_MAX];
    uint32_t count = 0;
    while (in.size > 0 && count < BILLORD_PARAMS_MAX) {
        bool null_name, null_value;
        const char *name = field_string(&in, &arena, arena_end, &null_name);
        const char *value = field_string(&in, &arena, arena_end, &null_value);
        if (name == NULL || value == NULL) {
            break;
        }
        params[count++] = (billord_param){name, value};
    }
    command.param_count = count;
    command.params = params;

    billord_outcome outcome;
    const char *token = (const char *)"unset";
    bool const valid = billord_engine_validate(&command, &outcome, &token);
    BILLORD_ASSERT(memcmp(outcome.request_id, command.request_id,
                          BILLORD_REQUEST_ID_BYTES + 1u) == 0);
    BILLORD_ASSERT(memchr(outcome.message, '\0', sizeof outcome.message) != NULL);
    if (valid) {
        BILLORD_ASSERT(outcome.code == BILLORD_API_OK);
        BILLORD_ASSERT(outcome.message[0] == '\0');
    } else {
        BILLORD_ASSERT(outcome.code != BILLORD_API_OK);
        BILLORD_ASSERT(token == NULL);
        BILLORD_ASSERT(!outcome.idempotent_replay);
    }
    if (command.kind == BILLORD_COMMAND_TICK) {
        BILLORD_ASSERT(valid && token == NULL);
    }
    if (token != NULL) {
        /* The first ClientToken of the command, as given. */
        const char *first = NULL;
        for (uint32_t i = 0; i < count; i++) {
            if (strcmp(params[i].name, "ClientToken") == 0) {
                first = params[i].value;
                break;
            }
        }
        BILLORD_ASSERT(token == first);
        size_t const token_bytes = strlen(token);
        BILLORD_ASSERT(token_bytes > 0 && token_bytes <= BILLORD_CLIENT_TOKEN_BYTES_MAX);
    }
    if (command.kind == BILLORD_COMMAND_REQUEST) {
        bool const known = billord_action_is_known(command.action) && command.account != NULL;
        if (!known) {
            BILLORD_ASSERT(!valid && outcome.code == BILLORD_API_ACTION_NOT_FOUND);
        }
        (void)billord_action_is_read(command.action);
    }

    /* Deterministic: the same command, the same answer. */
    billord_outcome again;
    const char *token_again = NULL;
    bool const valid_again = billord_engine_validate(&command, &again, &token_again);
    BILLORD_ASSERT(valid_again == valid && token_again == token);
    BILLORD_ASSERT(again.code == outcome.code);
    BILLORD_ASSERT(strcmp(again.message, outcome.message) == 0);
    return 0;
}
