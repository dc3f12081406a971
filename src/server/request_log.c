/* request_log.c: NDJSON lines of every request and its answer (request_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/assert.h"
#include "core/text_buffer.h"
#include "server/request_log.h"

#define WRITE_ATTEMPTS_MAX 64u

struct server_request_log {
    pthread_mutex_t mutex;
    int fd;
};

billord_err billord__request_log_open(const char *path, server_request_log **out_log)
{
    BILLORD_ASSERT(path != NULL);
    server_request_log *log = calloc(1, sizeof *log);
    if (log == NULL) {
        return BILLORD_E_NOMEM;
    }
    log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log->fd < 0) {
        free(log);
        return BILLORD_E_IO;
    }
    pthread_mutex_init(&log->mutex, NULL);
    *out_log = log;
    return BILLORD_OK;
}

/* The line, or NULL when any member could not be made (out of memory): a line is written
 * whole or not at all, never without one of its members. */
static json_t *entry_json(const server_request_log_entry *entry)
{
    bool ok = true;
    json_t *params = json_object();
    for (uint32_t i = 0; i < entry->param_count; i++) {
        billord__json_set_member(params, entry->params[i].name,
                                 json_string(entry->params[i].value), &ok);
    }
    json_t *body = json_loadb(entry->body_json, entry->body_json_bytes, 0, NULL);
    if (body == NULL) {
        body = json_stringn(entry->body_json, entry->body_json_bytes);
    }
    json_t *response = json_object();
    billord__json_set_member(response, "status", json_integer(entry->status), &ok);
    billord__json_set_member(response, "body", body, &ok);
    json_t *line = json_object();
    billord__json_set_member(line, "ts_ms", json_integer(entry->ts_ms), &ok);
    billord__json_set_member(line, "account", json_string(entry->account), &ok);
    billord__json_set_member(line, "action", json_string(entry->action), &ok);
    billord__json_set_member(line, "params", params, &ok);
    billord__json_set_member(line, "response", response, &ok);
    billord__json_set_member(line, "request_id", json_string(entry->request_id), &ok);
    if (!ok) {
        json_decref(line);
        return NULL;
    }
    return line;
}

static bool write_all(int fd, const char *bytes, size_t bytes_len)
{
    size_t written_bytes = 0;
    for (uint32_t attempt = 0; attempt < WRITE_ATTEMPTS_MAX && written_bytes < bytes_len;
         attempt++) {
        ssize_t result = write(fd, bytes + written_bytes, bytes_len - written_bytes);
        if (result < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        written_bytes += (size_t)result;
    }
    return written_bytes == bytes_len;
}

billord_err billord__request_log_write(server_request_log *log,
                                       const server_request_log_entry *entry)
{
    BILLORD_ASSERT(log != NULL);
    BILLORD_ASSERT(entry != NULL);
    json_t *line = entry_json(entry);
    /* The line's text, made whole or not at all (text_buffer.h says why jansson's result
     * alone is not enough); the newline with the rest: the line goes out in one write. */
    billord_text text;
    billord__text_init(&text);
    bool made = line != NULL &&
                billord__text_dump_json(&text, line, JSON_COMPACT | JSON_PRESERVE_ORDER) &&
                billord__text_append(&text, "\n", 1);
    json_decref(line);
    if (!made) {
        billord__text_release(&text);
        return BILLORD_E_NOMEM;
    }
    pthread_mutex_lock(&log->mutex);
    bool ok = write_all(log->fd, text.bytes, text.used);
    pthread_mutex_unlock(&log->mutex);
    billord__text_release(&text);
    return ok ? BILLORD_OK : BILLORD_E_IO;
}

void billord__request_log_close(server_request_log *log)
{
    if (log == NULL) {
        return;
    }
    close(log->fd);
    pthread_mutex_destroy(&log->mutex);
    free(log);
}
