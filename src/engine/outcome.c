/* outcome.c: filling a billord_outcome from the API catalog. */
#include <string.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

void billord__outcome_ok(billord_outcome *outcome)
{
    outcome->code = BILLORD_API_OK;
    outcome->message[0] = '\0';
}

/* Copy template into the message, replacing its one "%s" by arg. */
static void message_fill(char *out, size_t out_bytes, const char *template_text, const char *arg)
{
    const char *hole = arg != NULL ? strstr(template_text, "%s") : NULL;
    size_t used = 0;
    const char *parts[3] = {template_text, arg, hole != NULL ? hole + 2 : NULL};
    size_t part_bytes[3] = {hole != NULL ? (size_t)(hole - template_text) : strlen(template_text),
                            hole != NULL ? strlen(arg) : 0, hole != NULL ? strlen(hole + 2) : 0};
    for (int i = 0; i < 3; i++) {
        size_t take = part_bytes[i];
        if (take > out_bytes - 1 - used) {
            take = out_bytes - 1 - used;
        }
        if (take > 0) {
            memcpy(out + used, parts[i], take);
            used += take;
        }
    }
    out[used] = '\0';
}

void billord__outcome_error(billord_outcome *outcome, billord_api_code code, const char *arg)
{
    BILLORD_ASSERT(code != BILLORD_API_OK && code < BILLORD_API_CODE_COUNT);
    outcome->code = code;
    outcome->has_order_id = false;
    outcome->order_id = 0;
    message_fill(outcome->message, sizeof outcome->message, billord_api_code_message(code),
                 arg != NULL ? arg : "");
}

bool billord__outcome_failed(const billord_outcome *outcome)
{
    return outcome->code != BILLORD_API_OK;
}
