/*
 * scheduler.h: the server's clock for the lifecycle (docs/lifecycle.md). With
 * --clock system a thread submits Tick(now) through the durable db every
 * BILLORD_SCHEDULER_INTERVAL_MS, repeating at once while a tick leaves due work, so
 * auto-renew charges, reminders and expiries happen on time and are logged.
 */
#ifndef BILLORD_SERVER_SCHEDULER_H
#define BILLORD_SERVER_SCHEDULER_H

#include <billord/clock.h>
#include <billord/db.h>

#define BILLORD_SCHEDULER_INTERVAL_MS 1000u
#define BILLORD_SCHEDULER_TICKS_PER_ROUND_MAX 100000u

typedef struct server_scheduler server_scheduler;

/** Start the thread; clock must outlive it. */
billord_err billord__scheduler_start(billord_db *db, const billord_clock *clock,
                                     server_scheduler **out_scheduler);
/** Stop and join; NULL is allowed. */
void billord__scheduler_stop(server_scheduler *scheduler);

/**
 * Submit ticks at now_ms until none leaves due work (at most
 * BILLORD_SCHEDULER_TICKS_PER_ROUND_MAX), each with a fresh request id. Returns the
 * last tick's outcome code.
 */
billord_api_code billord__scheduler_tick_until_done(billord_db *db, int64_t now_ms);

#endif
