/* faulty_alloc.c: allocations that fail on command (faulty_alloc.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stddef.h>

#include "support/faulty_alloc.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAULTY_ALLOC_SUPPORTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAULTY_ALLOC_SUPPORTED 0
#endif
#endif
#ifndef FAULTY_ALLOC_SUPPORTED
#define FAULTY_ALLOC_SUPPORTED 1
#endif

static _Atomic int faulty_armed;                /* 0: off, 1: counting or failing */
static _Atomic uint64_t faulty_fail_at_call;
static _Atomic int faulty_persistent;
static _Atomic int faulty_all_threads;
static _Atomic uint64_t faulty_call_count;
static _Atomic uint64_t faulty_failure_count;
static _Atomic size_t faulty_bytes;             /* 0: any size */
static pthread_t faulty_owner;

bool faulty_alloc_supported(void)
{
    return FAULTY_ALLOC_SUPPORTED != 0;
}

void faulty_alloc_fail_at(uint64_t call_index, bool persistent, bool all_threads)
{
    faulty_armed = 0;
    faulty_owner = pthread_self();
    faulty_fail_at_call = call_index;
    faulty_persistent = persistent;
    faulty_all_threads = all_threads;
    faulty_call_count = 0;
    faulty_failure_count = 0;
    faulty_bytes = 0;
    faulty_armed = call_index != 0;
}

void faulty_alloc_fail_sized(uint64_t call_index, size_t bytes)
{
    faulty_alloc_fail_at(0, false, false);
    faulty_bytes = bytes;
    faulty_fail_at_call = call_index;
    faulty_armed = call_index != 0;
}

void faulty_alloc_reset(void)
{
    faulty_armed = 0;
}

void faulty_alloc_count(bool all_threads)
{
    faulty_alloc_fail_at(0, false, all_threads);
    faulty_armed = 1;
}

uint64_t faulty_alloc_calls(void)
{
    return faulty_call_count;
}

uint64_t faulty_alloc_failures(void)
{
    return faulty_failure_count;
}

#if FAULTY_ALLOC_SUPPORTED
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);

/* Whether this allocation of bytes fails. */
static bool should_fail(size_t bytes)
{
    if (!faulty_armed) {
        return false;
    }
    size_t const only_bytes = faulty_bytes;
    if (only_bytes != 0 && bytes != only_bytes) {
        return false;
    }
    if (!faulty_all_threads && !pthread_equal(pthread_self(), faulty_owner)) {
        return false;
    }
    uint64_t call = ++faulty_call_count;
    uint64_t at = faulty_fail_at_call;
    if (at != 0 && (call == at || (faulty_persistent && call > at))) {
        faulty_failure_count++;
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *malloc(size_t size)
{
    return should_fail(size) ? NULL : __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    return should_fail(count * size) ? NULL : __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size)
{
    return should_fail(size) ? NULL : __libc_realloc(pointer, size);
}
#endif
