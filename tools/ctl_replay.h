/* ctl_replay.h: what the two halves of billordctl replay share (ctl_replay.c, ctl_replay_http.c). */
#ifndef BILLORD_TOOLS_CTL_REPLAY_H
#define BILLORD_TOOLS_CTL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <billord/replay.h>

#define CTL_REPLAY_CONCURRENCY_MAX 256u
#define CTL_ERROR_BYTES 1024u

typedef struct ctl_replay_args {
    const char *data_dir;
    const char *fixtures_path;
    const char *target;             /* http://HOST:PORT */
    const char *keys_path;
    const char *record_path;        /* --record FILE: the replayed responses as a request log */
    const char *rate;               /* NULL: the recorded pace; "max"; or requests per second */
    uint64_t concurrency;           /* 0: 1 */
    uint64_t map_bytes;
    bool expect, strict, from_wal, as_json;
    const char **inputs;
    size_t input_count;
} ctl_replay_args;

/** The summary of a replay, as text for people or one JSON object. */
void ctl_replay_print_summary(FILE *out, const billord_replay_stats *stats, bool expect,
                              bool as_json);

/** replay --target: send the logs to a running server (ctl_replay_http.c). */
int ctl_replay_http(const ctl_replay_args *args);

#endif
