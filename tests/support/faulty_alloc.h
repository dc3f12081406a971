/*
 * faulty_alloc.h: malloc, calloc and realloc that fail on command (tests only).
 *
 * A test that calls any function declared here links faulty_alloc.c, which defines
 * malloc, calloc and realloc for the whole test executable; each forwards to glibc's
 * (__libc_malloc, ...) unless armed. Armed, the Nth counted allocation (1-based, from
 * any thread, after arming) returns NULL with errno ENOMEM, once or persistently. Only
 * allocations on the thread that armed it are counted unless all_threads is set.
 *
 * Sanitizer builds (AddressSanitizer, ThreadSanitizer) own the allocator, so there the
 * interposer is not compiled and faulty_alloc_supported() is false: tests skip.
 */
#ifndef BILLORD_TESTS_FAULTY_ALLOC_H
#define BILLORD_TESTS_FAULTY_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Whether allocations can be made to fail in this build. */
bool faulty_alloc_supported(void);
/** Fail the call_index-th counted allocation (0: disarm); resets the counts. */
void faulty_alloc_fail_at(uint64_t call_index, bool persistent, bool all_threads);
/** Like faulty_alloc_fail_at (once, this thread), counting only allocations of exactly
 *  bytes bytes (count x size for calloc). */
void faulty_alloc_fail_sized(uint64_t call_index, size_t bytes);
/** Disarm. */
void faulty_alloc_reset(void);
/** Count allocations without failing any (to learn how many a step makes). */
void faulty_alloc_count(bool all_threads);
/** Counted allocations since arming. */
uint64_t faulty_alloc_calls(void);
/** Failures injected since arming. */
uint64_t faulty_alloc_failures(void);

#endif
