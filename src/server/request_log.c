/* request_log.c: NDJSON lines of every request and its answer (request_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/assert.h"
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

static json_t *entry_json(const server_request_log_entry *entry)
{
    json_t *params = json_object();
    for (uint32_t i = 0; i < entry->param_count; i++) {
        json_object_set_new(params, entry->params[i].name,
                            json_string(entry->params[i].value));
    }
    json_t *body = json_loadb(entry->body_json, entry->body_json_bytes, 0, NULL);
    if (body == NULL) {
        body = json_stringn(entry->body_json, entry->body_json_bytes);
    }
    json_t *response = json_object();
    json_object_set_new(response, "status", json_integer(entry->status));
    json_object_set_new(response, "body", body);
    json_t *line = json_object();
    json_object_set_new(line, "ts_ms", json_integer(entry->ts_ms));
    json_object_set_new(line, "account", json_string(entry->account));
    json_object_set_new(line, "action", json_string(entry->action));
    json_object_set_new(line, "params", params);
    json_object_set_new(line, "response", response);
    json_object_set_new(line, "request_id", json_string(entry->request_id));
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
    char *text = line != NULL ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(line);
    if (text == NULL) {
        return BILLORD_E_NOMEM;
    }
    size_t text_bytes = strlen(text);
    /* Replace the NUL by the newline: the line goes out in one write. */
    char *framed = realloc(text, text_bytes + 2);
    if (framed == NULL) {
        free(text);
        return BILLORD_E_NOMEM;
    }
    framed[text_bytes] = '\n';
    framed[text_bytes + 1] = '\0';
    pthread_mutex_lock(&log->mutex);
    bool ok = write_all(log->fd, framed, text_bytes + 1);
    pthread_mutex_unlock(&log->mutex);
    free(framed);
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
