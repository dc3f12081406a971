/* clock.c: the system clock and the manual (test, replay) clock. */
#include <time.h>

#include <billord/clock.h>

static int64_t system_now_unix_ms(void *clock_ctx)
{
    (void)clock_ctx;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static const billord_clock system_clock = {system_now_unix_ms, NULL};

const billord_clock *billord_clock_system(void)
{
    return &system_clock;
}

static int64_t manual_now_unix_ms(void *clock_ctx)
{
    return *(const int64_t *)clock_ctx;
}

billord_clock billord_clock_manual(int64_t *now_unix_ms_cell)
{
    billord_clock clock = {manual_now_unix_ms, now_unix_ms_cell};
    return clock;
}
