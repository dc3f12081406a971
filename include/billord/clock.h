/*
 * billord/clock.h: the injectable clock.
 *
 * The engine itself never reads a clock: every command carries its time.
 * Programs (server, replay, tests) stamp commands from a billord_clock, read
 * once per request at the edge, so one request sees one instant and a replay
 * can feed recorded instants back.
 */
#ifndef BILLORD_CLOCK_H
#define BILLORD_CLOCK_H

#include <stdint.h>

typedef struct billord_clock {
    int64_t (*now_unix_ms)(void *clock_ctx);     /* wall time, ms since the epoch, UTC */
    void *clock_ctx;
} billord_clock;

/** The system's real-time clock (CLOCK_REALTIME). Static; never NULL. */
const billord_clock *billord_clock_system(void);

/** A clock that answers *now_unix_ms_cell (a cell the caller owns and moves). */
billord_clock billord_clock_manual(int64_t *now_unix_ms_cell);

static inline int64_t billord_clock_now_ms(const billord_clock *clock)
{
    return clock->now_unix_ms(clock->clock_ctx);
}

#endif
