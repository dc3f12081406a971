/* scheduler.c: Tick commands on the system clock (scheduler.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <billord/http_params.h>

#include "core/assert.h"
#include "server/scheduler.h"

struct server_scheduler {
    billord_db *db;
    const billord_clock *clock;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

billord_api_code billord__scheduler_tick_until_done(billord_db *db, int64_t now_ms)
{
    billord_outcome outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.code = BILLORD_API_SERVICE_UNAVAILABLE;
    for (uint32_t round = 0; round < BILLORD_SCHEDULER_TICKS_PER_ROUND_MAX; round++) {
        billord_command command;
        memset(&command, 0, sizeof command);
        command.kind = BILLORD_COMMAND_TICK;
        command.now_ms = now_ms;
        uint8_t random_bytes[16] = {0};
        if (getrandom(random_bytes, sizeof random_bytes, 0) != (ssize_t)sizeof random_bytes) {
            random_bytes[0] = (uint8_t)round;
        }
        billord_request_id_format(random_bytes, command.request_id);
        command.account = "";
        command.action = "";
        if (billord_db_execute(db, &command, &outcome) != BILLORD_OK ||
            outcome.code != BILLORD_API_OK || !outcome.tick_more_due) {
            break;
        }
    }
    return outcome.code;
}

static void *scheduler_main(void *arg)
{
    server_scheduler *scheduler = arg;
    pthread_mutex_lock(&scheduler->lock);
    while (!scheduler->stopping) {
        pthread_mutex_unlock(&scheduler->lock);
        billord__scheduler_tick_until_done(scheduler->db, billord_clock_now_ms(scheduler->clock));
        pthread_mutex_lock(&scheduler->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += BILLORD_SCHEDULER_INTERVAL_MS / 1000u;
        until.tv_nsec += (long)(BILLORD_SCHEDULER_INTERVAL_MS % 1000u) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!scheduler->stopping &&
               pthread_cond_timedwait(&scheduler->wake, &scheduler->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&scheduler->lock);
    return NULL;
}

billord_err billord__scheduler_start(billord_db *db, const billord_clock *clock,
                                     server_scheduler **out_scheduler)
{
    BILLORD_ASSERT(db != NULL && clock != NULL && out_scheduler != NULL);
    server_scheduler *scheduler = calloc(1, sizeof *scheduler);
    if (scheduler == NULL) {
        return BILLORD_E_NOMEM;
    }
    scheduler->db = db;
    scheduler->clock = clock;
    pthread_mutex_init(&scheduler->lock, NULL);
    pthread_cond_init(&scheduler->wake, NULL);
    if (pthread_create(&scheduler->thread, NULL, scheduler_main, scheduler) != 0) {
        pthread_cond_destroy(&scheduler->wake);
        pthread_mutex_destroy(&scheduler->lock);
        free(scheduler);
        return BILLORD_E_NOMEM;
    }
    *out_scheduler = scheduler;
    return BILLORD_OK;
}

void billord__scheduler_stop(server_scheduler *scheduler)
{
    if (scheduler == NULL) {
        return;
    }
    pthread_mutex_lock(&scheduler->lock);
    scheduler->stopping = true;
    pthread_cond_signal(&scheduler->wake);
    pthread_mutex_unlock(&scheduler->lock);
    pthread_join(scheduler->thread, NULL);
    pthread_cond_destroy(&scheduler->wake);
    pthread_mutex_destroy(&scheduler->lock);
    free(scheduler);
}
