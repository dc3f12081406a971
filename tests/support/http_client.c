/* http_client.c: raw HTTP and SDK-style signing for server tests (http_client.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <billord/http_params.h>
#include <billord/http_sign.h>

#include "support/http_client.h"

#define CLIENT_ARENA_BYTES (256u * 1024u)
#define CLIENT_TEXT_BYTES (256u * 1024u)
#define DEFAULT_KEY_ID "LTAI5tDemoKey0001"
#define DEFAULT_SECRET "demo-secret-0001"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int http_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(connect(fd, (struct sockaddr *)&address, sizeof address) == 0, "connect: %s",
              strerror(errno));
    return fd;
}

bool http_send(int fd, const void *bytes, size_t bytes_len)
{
    size_t sent_bytes = 0;
    while (sent_bytes < bytes_len) {
        ssize_t n = send(fd, (const char *)bytes + sent_bytes, bytes_len - sent_bytes,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        sent_bytes += (size_t)n;
    }
    return true;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Read at least one byte into buffer; -1 on timeout or error, 0 on EOF. */
static ssize_t read_some(int fd, char *buffer, size_t capacity, int64_t deadline_ms)
{
    for (;;) {
        int64_t left_ms = deadline_ms - now_ms();
        if (left_ms <= 0) {
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)left_ms);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
            return -1;
        }
        ssize_t n = recv(fd, buffer, capacity, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n < 0 ? 0 : n;
    }
}

bool http_read(int fd, http_response *out, int timeout_ms)
{
    memset(out, 0, sizeof *out);
    int64_t deadline_ms = now_ms() + timeout_ms;
    char buffer[HTTP_CLIENT_HEAD_BYTES_MAX];
    size_t used = 0;
    char *head_end = NULL;
    while (head_end == NULL) {
        if (used == sizeof buffer - 1) {
            return false;
        }
        ssize_t n = read_some(fd, buffer + used, 1, deadline_ms);  /* byte by byte: no over-read */
        if (n <= 0) {
            return false;
        }
        used += (size_t)n;
        buffer[used] = '\0';
        head_end = strstr(buffer, "\r\n\r\n");
    }
    size_t head_bytes = (size_t)(head_end - buffer) + 4;
    memcpy(out->head, buffer, head_bytes);
    out->head[head_bytes] = '\0';
    if (sscanf(out->head, "HTTP/1.%*d %d", &out->status) != 1) {
        return false;
    }
    char length_text[32];
    size_t length = 0;
    if (http_header(out, "Content-Length", length_text, sizeof length_text)) {
        length = (size_t)strtoull(length_text, NULL, 10);
    }
    out->body = calloc(1, length + 1);
    while (out->body_bytes < length) {
        ssize_t n = read_some(fd, out->body + out->body_bytes, length - out->body_bytes,
                              deadline_ms);
        if (n <= 0) {
            return false;
        }
        out->body_bytes += (size_t)n;
    }
    return true;
}

bool http_header(const http_response *response, const char *name, char *out, size_t out_bytes)
{
    const char *line = strstr(response->head, "\r\n");
    size_t name_bytes = strlen(name);
    while (line != NULL && line[2] != '\r') {
        line += 2;
        if (strncasecmp(line, name, name_bytes) == 0 && line[name_bytes] == ':') {
            const char *value = line + name_bytes + 1;
            while (*value == ' ') {
                value++;
            }
            const char *end = strstr(value, "\r\n");
            snprintf(out, out_bytes, "%.*s", (int)(end - value), value);
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

void http_response_free(http_response *response)
{
    free(response->body);
    response->body = NULL;
}

bool http_wait_closed(int fd, int timeout_ms)
{
    int64_t deadline_ms = now_ms() + timeout_ms;
    char buffer[4096];
    for (;;) {
        ssize_t n = read_some(fd, buffer, sizeof buffer, deadline_ms);
        if (n == 0) {
            return true;
        }
        if (n < 0) {
            return false;
        }
    }
}

bool http_roundtrip(uint16_t port, const char *raw, size_t raw_bytes, http_response *out)
{
    int fd = http_connect(port);
    bool ok = http_send(fd, raw, raw_bytes) && http_read(fd, out, HTTP_CLIENT_TIMEOUT_MS);
    close(fd);
    return ok;
}

void http_timestamp(int64_t offset_s, char out[21])
{
    time_t when = time(NULL) + (time_t)offset_s;
    struct tm utc;
    gmtime_r(&when, &utc);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

void http_nonce(char out[33])
{
    uint8_t bytes[16];
    cr_assert(getrandom(bytes, sizeof bytes, 0) == (ssize_t)sizeof bytes);
    for (size_t i = 0; i < sizeof bytes; i++) {
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    }
}

/* ---- building requests ------------------------------------------------------------------ */

typedef struct client_params {
    billord_params params;
    char arena[CLIENT_ARENA_BYTES];
} client_params;

static void add(client_params *list, const char *name, const char *value,
                billord_http_param_source source)
{
    billord_params_status status = billord_params_add(&list->params, name, strlen(name), value,
                                                      strlen(value), source, NULL);
    cr_assert(status == BILLORD_PARAMS_OK, "add %s: %s", name,
              billord_params_status_name(status));
}

static void add_pairs(client_params *list, billord_http_param_source source, const char *first_name,
                      va_list args)
{
    for (const char *name = first_name; name != NULL; name = va_arg(args, const char *)) {
        const char *value = va_arg(args, const char *);
        add(list, name, value, source);
    }
}

static char *encode(const client_params *list, billord_http_param_source source)
{
    char *text = malloc(CLIENT_TEXT_BYTES);
    size_t text_bytes = 0;
    cr_assert(billord_params_encode(&list->params, source, text, CLIENT_TEXT_BYTES, &text_bytes)
              == BILLORD_OK);
    return text;
}

char *http_v1_request(const v1_options *options, size_t *out_bytes, const char *first_name,
                      ...)
{
    const char *method = options->method != NULL ? options->method : "GET";
    billord_http_param_source source =
        options->form ? BILLORD_PARAM_SOURCE_BODY : BILLORD_PARAM_SOURCE_QUERY;
    client_params *list = malloc(sizeof *list);
    billord_params_init(&list->params, list->arena, sizeof list->arena);
    va_list args;
    va_start(args, first_name);
    add_pairs(list, source, first_name, args);
    va_end(args);
    char nonce[33];
    char timestamp[21];
    http_nonce(nonce);
    http_timestamp(0, timestamp);
    const char *format = options->format != NULL ? options->format : "JSON";
    if (format[0] != '\0') {
        add(list, "Format", format, source);
    }
    add(list, "Version", "2014-05-26", source);
    add(list, "AccessKeyId", options->key_id != NULL ? options->key_id : DEFAULT_KEY_ID, source);
    add(list, "SignatureMethod", "HMAC-SHA1", source);
    add(list, "SignatureVersion", "1.0", source);
    add(list, "SignatureNonce", options->nonce != NULL ? options->nonce : nonce, source);
    add(list, "Timestamp", options->timestamp != NULL ? options->timestamp : timestamp, source);
    const char *secret = options->secret != NULL ? options->secret : DEFAULT_SECRET;
    char signature[BILLORD_SIGN_V1_SIGNATURE_BYTES + 1];
    cr_assert(billord_sign_v1_compute(&list->params, method, secret, strlen(secret), signature)
              == BILLORD_SIGN_OK);
    if (options->corrupt_signature) {
        signature[0] = signature[0] == 'A' ? 'B' : 'A';
    }
    add(list, "Signature", signature, source);
    char *encoded = encode(list, source);
    char *raw = malloc(CLIENT_TEXT_BYTES + 1024);
    const char *extra = options->extra_header != NULL ? options->extra_header : "";
    int raw_bytes;
    if (options->form) {
        raw_bytes = snprintf(raw, CLIENT_TEXT_BYTES + 1024,
                             "%s / HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                             "Content-Type: application/x-www-form-urlencoded\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             method, extra, strlen(encoded), encoded);
    } else {
        raw_bytes = snprintf(raw, CLIENT_TEXT_BYTES + 1024,
                             "%s /?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n", method, encoded,
                             extra, strcmp(method, "POST") == 0 ? "Content-Length: 0\r\n" : "");
    }
    free(encoded);
    free(list);
    *out_bytes = (size_t)raw_bytes;
    return raw;
}

char *http_v3_request(const v3_options *options, size_t *out_bytes, const char *first_name,
                      ...)
{
    client_params *list = malloc(sizeof *list);
    billord_params_init(&list->params, list->arena, sizeof list->arena);
    va_list args;
    va_start(args, first_name);
    add_pairs(list, BILLORD_PARAM_SOURCE_QUERY, first_name, args);
    va_end(args);
    char nonce[33];
    char timestamp[21];
    char host[32];
    http_nonce(nonce);
    http_timestamp(0, timestamp);
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)options->port);
    const char *nonce_value = options->nonce != NULL ? options->nonce : nonce;
    const char *date_value = options->timestamp != NULL ? options->timestamp : timestamp;
    billord_http_header headers[] = {
        {"host", 4, host, strlen(host)},
        {"x-acs-action", 12, options->action, strlen(options->action)},
        {"x-acs-content-sha256", 20, EMPTY_SHA256, strlen(EMPTY_SHA256)},
        {"x-acs-credentials-provider", 26, "static_ak", 9},
        {"x-acs-date", 10, date_value, strlen(date_value)},
        {"x-acs-signature-nonce", 21, nonce_value, strlen(nonce_value)},
        {"x-acs-version", 13, "2014-05-26", 10},
    };
    static const char signed_headers[] =
        "host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version";
    billord_sign_v3_request request = {
        .method = "POST",
        .params = &list->params,
        .headers = headers,
        .header_count = sizeof headers / sizeof headers[0],
        .signed_headers = signed_headers,
        .signed_headers_bytes = sizeof signed_headers - 1,
    };
    const char *secret = options->secret != NULL ? options->secret : DEFAULT_SECRET;
    char signature[BILLORD_SIGN_V3_SIGNATURE_HEX_BYTES + 1];
    cr_assert(billord_sign_v3_compute(&request, secret, strlen(secret), signature, NULL) ==
              BILLORD_SIGN_OK);
    char *encoded = encode(list, BILLORD_PARAM_SOURCE_QUERY);
    char *raw = malloc(CLIENT_TEXT_BYTES + 4096);
    int raw_bytes = snprintf(
        raw, CLIENT_TEXT_BYTES + 4096,
        "POST /?%s HTTP/1.1\r\nhost: %s\r\nx-acs-action: %s\r\nx-acs-content-sha256: %s\r\n"
        "x-acs-credentials-provider: static_ak\r\nx-acs-date: %s\r\n"
        "x-acs-signature-nonce: %s\r\nx-acs-version: 2014-05-26\r\naccept: application/json\r\n"
        "authorization: ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s\r\n"
        "Content-Length: 0\r\n\r\n",
        encoded, host, options->action, EMPTY_SHA256, date_value, nonce_value,
        options->key_id != NULL ? options->key_id : DEFAULT_KEY_ID, signed_headers, signature);
    free(encoded);
    free(list);
    *out_bytes = (size_t)raw_bytes;
    return raw;
}

char *http_plain_request(const char *extra_headers, size_t *out_bytes, const char *first_name,
                         ...)
{
    client_params *list = malloc(sizeof *list);
    billord_params_init(&list->params, list->arena, sizeof list->arena);
    va_list args;
    va_start(args, first_name);
    add_pairs(list, BILLORD_PARAM_SOURCE_QUERY, first_name, args);
    va_end(args);
    char *encoded = encode(list, BILLORD_PARAM_SOURCE_QUERY);
    char *raw = malloc(CLIENT_TEXT_BYTES + 1024);
    int raw_bytes = snprintf(raw, CLIENT_TEXT_BYTES + 1024,
                             "GET /?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", encoded,
                             extra_headers);
    free(encoded);
    free(list);
    *out_bytes = (size_t)raw_bytes;
    return raw;
}
