/*
 * params.c: strict parsing of parameter values. Values arrive as strings (SPEC
 * section 2): "1" is an integer, "01", " 1", "+1" and "1.0" are not.
 */
#include <string.h>
#include <strings.h>

#include "engine/engine_internal.h"

const char *billord__param_get(const billord_command *command, const char *name)
{
    for (uint32_t i = 0; i < command->param_count; i++) {
        if (strcmp(command->params[i].name, name) == 0) {
            return command->params[i].value;
        }
    }
    return NULL;
}

bool billord__parse_uint(const char *text, uint64_t *out)
{
    size_t length = strlen(text);
    if (length == 0 || length > ENGINE_INTEGER_DIGITS_MAX || (text[0] == '0' && length > 1)) {
        return false;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        value = value * 10 + (uint64_t)(text[i] - '0');
    }
    *out = value;
    return true;
}

bool billord__parse_bool(const char *text, bool *out)
{
    if (strcasecmp(text, "true") == 0) {
        *out = true;
        return true;
    }
    if (strcasecmp(text, "false") == 0) {
        *out = false;
        return true;
    }
    return false;
}

bool billord__client_token_valid(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || length > BILLORD_CLIENT_TOKEN_BYTES_MAX) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

bool billord__param_client_token(const billord_command *command, const char **out_token,
                                 billord_outcome *outcome)
{
    const char *token = billord__param_get(command, "ClientToken");
    if (token != NULL && !billord__client_token_valid(token)) {
        billord__outcome_error(outcome, BILLORD_API_INVALID_CLIENT_TOKEN, NULL);
        return false;
    }
    *out_token = token;
    return true;
}
