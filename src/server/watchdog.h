/*
 * watchdog.h: cutting off connections whose request arrives too slowly.
 *
 * libmicrohttpd's connection timeout is an idle timeout: any byte resets it, so a client
 * sending its headers one byte per second would hold a connection thread forever. The
 * watchdog gives each connection a read deadline while it waits for a request (from the
 * connection's start, or the end of its previous request, until the request is fully
 * received) and shuts the socket down when the deadline passes; the connection's thread
 * then sees the peer gone and closes it. While a request is being executed or answered
 * there is no deadline.
 *
 * Threads: every function may be called from any thread. A connection is removed
 * (billord__watchdog_remove) before its socket is closed, and shutdown happens under the
 * same mutex, so the watchdog never touches a closed or reused descriptor.
 */
#ifndef BILLORD_SERVER_WATCHDOG_H
#define BILLORD_SERVER_WATCHDOG_H

#include <stdint.h>

#include <billord/error.h>

#define SERVER_WATCHDOG_PERIOD_MS 100u

typedef struct server_watchdog server_watchdog;
typedef struct server_watch server_watch;   /* one connection */

billord_err billord__watchdog_start(uint32_t read_timeout_ms, server_watchdog **out_watchdog);
void billord__watchdog_stop(server_watchdog *watchdog);

/** Watch a new connection's socket; its read deadline starts now. NULL on ENOMEM. */
server_watch *billord__watchdog_add(server_watchdog *watchdog, int fd);
/** The request has fully arrived: no deadline until billord__watchdog_await. */
void billord__watchdog_received(server_watchdog *watchdog, server_watch *watch);
/** The connection waits for its next request: the deadline starts now. */
void billord__watchdog_await(server_watchdog *watchdog, server_watch *watch);
/** The connection is closing; frees watch. NULL is allowed. */
void billord__watchdog_remove(server_watchdog *watchdog, server_watch *watch);

/** How many connections the watchdog has cut off (for tests and logs). */
uint64_t billord__watchdog_cut_count(server_watchdog *watchdog);

#endif
