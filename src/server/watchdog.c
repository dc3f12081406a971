/* watchdog.c: read deadlines for connections (watchdog.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "core/assert.h"
#include "server/server_internal.h"
#include "server/watchdog.h"

struct server_watch {
    server_watch *prev;
    server_watch *next;
    int fd;
    int64_t deadline_ms;                /* monotonic; 0: none */
};

struct server_watchdog {
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    pthread_t thread;
    bool stopping;
    uint32_t read_timeout_ms;
    server_watch *head;
    uint64_t cut_count;
};

static void sweep(server_watchdog *watchdog, int64_t now_ms)
{
    for (server_watch *watch = watchdog->head; watch != NULL; watch = watch->next) {
        if (watch->deadline_ms != 0 && now_ms >= watch->deadline_ms) {
            watch->deadline_ms = 0;
            (void)shutdown(watch->fd, SHUT_RDWR);
            watchdog->cut_count++;
        }
    }
}

static void *watchdog_main(void *arg)
{
    server_watchdog *watchdog = arg;
    pthread_mutex_lock(&watchdog->mutex);
    while (!watchdog->stopping) {
        sweep(watchdog, billord__server_monotonic_ms());
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)SERVER_WATCHDOG_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&watchdog->wake, &watchdog->mutex, &until);
    }
    pthread_mutex_unlock(&watchdog->mutex);
    return NULL;
}

billord_err billord__watchdog_start(uint32_t read_timeout_ms, server_watchdog **out_watchdog)
{
    BILLORD_ASSERT(read_timeout_ms > 0);
    server_watchdog *watchdog = calloc(1, sizeof *watchdog);
    if (watchdog == NULL) {
        return BILLORD_E_NOMEM;
    }
    watchdog->read_timeout_ms = read_timeout_ms;
    pthread_mutex_init(&watchdog->mutex, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&watchdog->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&watchdog->thread, NULL, watchdog_main, watchdog) != 0) {
        pthread_cond_destroy(&watchdog->wake);
        pthread_mutex_destroy(&watchdog->mutex);
        free(watchdog);
        return BILLORD_E_NOMEM;
    }
    *out_watchdog = watchdog;
    return BILLORD_OK;
}

void billord__watchdog_stop(server_watchdog *watchdog)
{
    if (watchdog == NULL) {
        return;
    }
    pthread_mutex_lock(&watchdog->mutex);
    watchdog->stopping = true;
    pthread_cond_signal(&watchdog->wake);
    pthread_mutex_unlock(&watchdog->mutex);
    pthread_join(watchdog->thread, NULL);
    /* Connections are all closed by now (the daemon stopped first). */
    BILLORD_ASSERT(watchdog->head == NULL);
    pthread_cond_destroy(&watchdog->wake);
    pthread_mutex_destroy(&watchdog->mutex);
    free(watchdog);
}

server_watch *billord__watchdog_add(server_watchdog *watchdog, int fd)
{
    server_watch *watch = calloc(1, sizeof *watch);
    if (watch == NULL) {
        return NULL;
    }
    watch->fd = fd;
    pthread_mutex_lock(&watchdog->mutex);
    watch->deadline_ms = billord__server_monotonic_ms() + watchdog->read_timeout_ms;
    watch->next = watchdog->head;
    if (watchdog->head != NULL) {
        watchdog->head->prev = watch;
    }
    watchdog->head = watch;
    pthread_mutex_unlock(&watchdog->mutex);
    return watch;
}

void billord__watchdog_received(server_watchdog *watchdog, server_watch *watch)
{
    if (watch == NULL) {
        return;
    }
    pthread_mutex_lock(&watchdog->mutex);
    watch->deadline_ms = 0;
    pthread_mutex_unlock(&watchdog->mutex);
}

void billord__watchdog_await(server_watchdog *watchdog, server_watch *watch)
{
    if (watch == NULL) {
        return;
    }
    pthread_mutex_lock(&watchdog->mutex);
    watch->deadline_ms = billord__server_monotonic_ms() + watchdog->read_timeout_ms;
    pthread_mutex_unlock(&watchdog->mutex);
}

void billord__watchdog_remove(server_watchdog *watchdog, server_watch *watch)
{
    if (watch == NULL) {
        return;
    }
    pthread_mutex_lock(&watchdog->mutex);
    if (watch->prev != NULL) {
        watch->prev->next = watch->next;
    } else {
        watchdog->head = watch->next;
    }
    if (watch->next != NULL) {
        watch->next->prev = watch->prev;
    }
    pthread_mutex_unlock(&watchdog->mutex);
    free(watch);
}

uint64_t billord__watchdog_cut_count(server_watchdog *watchdog)
{
    pthread_mutex_lock(&watchdog->mutex);
    uint64_t count = watchdog->cut_count;
    pthread_mutex_unlock(&watchdog->mutex);
    return count;
}
