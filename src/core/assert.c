/* assert.c: report a broken invariant and abort. */
#include <stdio.h>
#include <stdlib.h>

#include "core/assert.h"

_Noreturn void billord__assert_fail(const char *condition_text, const char *file_path, int line,
                                    const char *function_name)
{
    fprintf(stderr, "billord: assertion failed: %s (%s:%d in %s)\n", condition_text, file_path,
            line, function_name);
    fflush(stderr);
    abort();
}
