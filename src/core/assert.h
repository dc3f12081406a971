/*
 * assert.h: billord's always-on assertion (STYLE habit 6).
 *
 * BILLORD_ASSERT stays on in every build: a billing engine that goes on after a
 * broken invariant can double-charge, while a crash is recovered from the log.
 * Expensive checks go behind BILLORD_DEBUG_ASSERT.
 */
#ifndef BILLORD_CORE_ASSERT_H
#define BILLORD_CORE_ASSERT_H

_Noreturn void billord__assert_fail(const char *condition_text, const char *file_path, int line,
                                    const char *function_name);

#define BILLORD_ASSERT(condition)                                                               \
    ((condition) ? (void)0 : billord__assert_fail(#condition, __FILE__, __LINE__, __func__))

#ifdef BILLORD_DEBUG
#define BILLORD_DEBUG_ASSERT(condition) BILLORD_ASSERT(condition)
#else
#define BILLORD_DEBUG_ASSERT(condition) ((void)0)
#endif

#endif
