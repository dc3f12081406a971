/*
 * util.c: the small shared pieces of the server: operator log lines, the monotonic clock,
 * message completion and random bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/assert.h"
#include "server/server_internal.h"

#define RANDOM_ATTEMPTS_MAX 8u

void billord__server_logger_init(server_logger *logger, billord_server_log_level level,
                                 void (*log_line)(void *log_ctx, const char *line),
                                 void *log_ctx)
{
    BILLORD_ASSERT(logger != NULL);
    logger->level = level;
    logger->log_line = log_line;
    logger->log_ctx = log_ctx;
    pthread_mutex_init(&logger->mutex, NULL);
}

void billord__server_logger_destroy(server_logger *logger)
{
    pthread_mutex_destroy(&logger->mutex);
}

static void emit(server_logger *logger, const char *line)
{
    pthread_mutex_lock(&logger->mutex);
    if (logger->log_line != NULL) {
        logger->log_line(logger->log_ctx, line);
    } else {
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
    pthread_mutex_unlock(&logger->mutex);
}

void billord__server_log(server_logger *logger, billord_server_log_level level,
                         const char *format, ...)
{
    BILLORD_ASSERT(logger != NULL);
    if (level > logger->level) {
        return;
    }
    char line[SERVER_LOG_LINE_BYTES];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    emit(logger, line);
}

void billord__server_log_forward(void *logger_ctx, const char *line)
{
    emit(logger_ctx, line);
}

int64_t billord__server_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void billord__server_message(billord_api_code code, const char *detail, char *out,
                             size_t out_bytes)
{
    BILLORD_ASSERT(out != NULL);
    BILLORD_ASSERT(out_bytes > 0);
    const char *template_text = billord_api_code_message(code);
    const char *hole = strstr(template_text, "%s");
    if (hole == NULL) {
        snprintf(out, out_bytes, "%s", template_text);
        return;
    }
    snprintf(out, out_bytes, "%.*s%s%s", (int)(hole - template_text), template_text,
             detail != NULL ? detail : "", hole + 2);
}

bool billord__server_random(uint8_t *out, size_t out_bytes)
{
    size_t filled_bytes = 0;
    for (uint32_t attempt = 0; attempt < RANDOM_ATTEMPTS_MAX && filled_bytes < out_bytes;
         attempt++) {
        ssize_t got = getrandom(out + filled_bytes, out_bytes - filled_bytes, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        filled_bytes += (size_t)got;
    }
    return filled_bytes == out_bytes;
}
