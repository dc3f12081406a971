/* json_time.c: RFC 3339 JSON values for response fields. */
#include <billord/timeutil.h>

#include "engine/engine_internal.h"

json_t *billord__json_time_or_null(int64_t unix_ms)
{
    char text[BILLORD_RFC3339_BYTES_MAX];
    if (unix_ms <= 0 || billord_time_format_rfc3339(unix_ms, text) == 0) {
        return json_null();
    }
    return json_string(text);
}
