/* error.c: names and messages of billord_err and the API catalog (billord/error.h). */
#include <stdbool.h>
#include <assert.h>
#include <string.h>

#include <billord/error.h>

static const char *const err_names[] = {
#define BILLORD_ERR_NAME(name, message) [name] = #name,
    BILLORD_ERROR_LIST(BILLORD_ERR_NAME)
#undef BILLORD_ERR_NAME
};
static const char *const err_messages[] = {
#define BILLORD_ERR_MESSAGE(name, message) [name] = message,
    BILLORD_ERROR_LIST(BILLORD_ERR_MESSAGE)
#undef BILLORD_ERR_MESSAGE
};
static_assert(sizeof err_names / sizeof err_names[0] == BILLORD_ERR_COUNT, "every error has a name");
static_assert(sizeof err_messages / sizeof err_messages[0] == BILLORD_ERR_COUNT,
              "every error has a message");

const char *billord_err_name(billord_err err)
{
    return (unsigned)err < BILLORD_ERR_COUNT ? err_names[err] : "BILLORD_E_UNKNOWN";
}

const char *billord_err_message(billord_err err)
{
    return (unsigned)err < BILLORD_ERR_COUNT ? err_messages[err] : "unknown billord_err";
}

typedef struct api_code_row {
    const char *text;
    int http_status;
    const char *message;
} api_code_row;

static const api_code_row api_codes[] = {
#define BILLORD_API_ROW(name, code, status, message) [name] = {code, status, message},
    BILLORD_API_CODE_LIST(BILLORD_API_ROW)
#undef BILLORD_API_ROW
};
static_assert(sizeof api_codes / sizeof api_codes[0] == BILLORD_API_CODE_COUNT,
              "every API code has a row");

const char *billord_api_code_text(billord_api_code code)
{
    return (unsigned)code < BILLORD_API_CODE_COUNT ? api_codes[code].text : "InternalError";
}

int billord_api_code_status(billord_api_code code)
{
    return (unsigned)code < BILLORD_API_CODE_COUNT ? api_codes[code].http_status : 500;
}

const char *billord_api_code_message(billord_api_code code)
{
    return (unsigned)code < BILLORD_API_CODE_COUNT ? api_codes[code].message : "";
}

billord_api_code billord_api_code_find(const char *code_text, int http_status)
{
    for (unsigned i = 0; i < BILLORD_API_CODE_COUNT; i++) {
        if (api_codes[i].http_status == http_status && strcmp(api_codes[i].text, code_text) == 0) {
            return (billord_api_code)i;
        }
    }
    return BILLORD_API_CODE_COUNT;
}

billord_api_code billord_err_failure_code(billord_err err)
{
    bool const transient = err == BILLORD_E_IO || err == BILLORD_E_NOMEM ||
                           err == BILLORD_E_MAP_FULL || err == BILLORD_E_DISK_FULL;
    return transient ? BILLORD_API_SERVICE_UNAVAILABLE : BILLORD_API_INTERNAL_ERROR;
}
