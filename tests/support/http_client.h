/*
 * http_client.h: a raw HTTP/1.1 client for server tests: one socket, bytes as given,
 * answers parsed by Content-Length; plus requests signed as the SDKs sign them (V1 in
 * the query or a form body, V3 in the Authorization header).
 */
#ifndef BILLORD_TESTS_HTTP_CLIENT_H
#define BILLORD_TESTS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CLIENT_HEAD_BYTES_MAX 16384u
#define HTTP_CLIENT_TIMEOUT_MS 10000

typedef struct http_response {
    int status;                          /* 0 when nothing arrived */
    char head[HTTP_CLIENT_HEAD_BYTES_MAX];   /* status line and headers */
    char *body;                          /* malloc'd, NUL-terminated */
    size_t body_bytes;
} http_response;

/** Connect to 127.0.0.1:port; aborts the test on failure. */
int http_connect(uint16_t port);
/** Write all bytes; false when the peer is gone. */
bool http_send(int fd, const void *bytes, size_t bytes_len);
/** Read one answer; false on EOF, timeout or a malformed answer. */
bool http_read(int fd, http_response *out, int timeout_ms);
/** Value of a header of the answer (case-insensitive) into out; false when absent. */
bool http_header(const http_response *response, const char *name, char *out, size_t out_bytes);
void http_response_free(http_response *response);
/** True when the peer closed the connection within timeout_ms (reads and drops bytes). */
bool http_wait_closed(int fd, int timeout_ms);

/** Connect, send, read one answer, close. */
bool http_roundtrip(uint16_t port, const char *raw, size_t raw_bytes, http_response *out);

/** "YYYY-MM-DDTHH:MM:SSZ" of now + offset_s (real time). */
void http_timestamp(int64_t offset_s, char out[21]);
/** 32 random hex characters. */
void http_nonce(char out[33]);

typedef struct v1_options {
    const char *method;                  /* "GET" (default) or "POST" */
    bool form;                           /* POST: parameters in a form body */
    const char *key_id;                  /* default LTAI5tDemoKey0001 */
    const char *secret;                  /* default demo-secret-0001 */
    const char *nonce;                   /* default random */
    const char *timestamp;               /* default now */
    const char *format;                  /* default JSON; "" leaves it out */
    bool corrupt_signature;              /* flip the signature */
    const char *extra_header;            /* e.g. "x-acs-caller-uid: 1\r\n"; may be NULL */
} v1_options;

/**
 * A V1-signed request (malloc'd text, *out_bytes). pairs: name, value, ..., NULL; the
 * common parameters are added (Version, AccessKeyId, SignatureMethod, ...).
 */
char *http_v1_request(const v1_options *options, size_t *out_bytes, const char *first_name,
                      ...);

typedef struct v3_options {
    const char *key_id;                  /* default LTAI5tDemoKey0001 */
    const char *secret;                  /* default demo-secret-0001 */
    const char *action;                  /* x-acs-action */
    const char *nonce;                   /* default random */
    const char *timestamp;               /* default now */
    uint16_t port;                       /* for the host header */
} v3_options;

/** A V3-signed POST with the parameters in the query and an empty body. */
char *http_v3_request(const v3_options *options, size_t *out_bytes, const char *first_name,
                      ...);

/** A request with no signature, for gateway mode: extra_headers ends in "\r\n" or is "". */
char *http_plain_request(const char *extra_headers, size_t *out_bytes, const char *first_name,
                         ...);

#endif
