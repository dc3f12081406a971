/*
 * server_internal.h: types shared by the files of src/server/ (never installed).
 *
 * The server is split along one seam: the HTTP half (front.c, nonce_store.c, server.c)
 * includes billord/http_params.h and billord/http_sign.h, the engine half (exec.c)
 * includes billord/engine.h, db.h and render.h. The two halves meet only through the
 * plain types below, so neither depends on the other's headers.
 */
#ifndef BILLORD_SERVER_INTERNAL_H
#define BILLORD_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <billord/error.h>
#include <billord/limits.h>
#include <billord/server.h>

/* One decoded request parameter as the engine gets it (pointers borrowed). */
typedef struct server_kv {
    const char *name;
    const char *value;
} server_kv;

/* Operator output: one line per call, serialised, filtered by level. */
typedef struct server_logger {
    billord_server_log_level level;
    void (*log_line)(void *log_ctx, const char *line);
    void *log_ctx;
    pthread_mutex_t mutex;
} server_logger;

#define SERVER_LOG_LINE_BYTES 2048u

void billord__server_logger_init(server_logger *logger, billord_server_log_level level,
                                 void (*log_line)(void *log_ctx, const char *line),
                                 void *log_ctx);
void billord__server_logger_destroy(server_logger *logger);
/** printf-style; prints when level <= the logger's level. */
void billord__server_log(server_logger *logger, billord_server_log_level level,
                         const char *format, ...) __attribute__((format(printf, 3, 4)));
/** The same for a log_line callback alone (no filtering), e.g. for the db's output. */
void billord__server_log_forward(void *logger_ctx, const char *line);

/** Monotonic milliseconds, for deadlines and durations. */
int64_t billord__server_monotonic_ms(void);

/**
 * Complete an API message template: its first "%s" becomes detail (truncated to fit);
 * a template without "%s" is copied as it is.
 */
void billord__server_message(billord_api_code code, const char *detail, char *out,
                             size_t out_bytes);

/** 16 bytes from getrandom(); false when the kernel refused. */
bool billord__server_random(uint8_t *out, size_t out_bytes);

#endif
