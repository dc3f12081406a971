/* ctl_events.c: billordctl events --data DIR [--since SEQ] [--limit N] [--json]. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define EVENTS_LIMIT_DEFAULT 1000u
#define EVENTS_LIMIT_MAX 100000u

static void events_usage(FILE *out)
{
    fprintf(out, "usage: billordctl events --data DIR [--since SEQ] [--limit N] [--json]\n"
                 "Print the outbox events (reminders, renewals, expiry, orders) with sequence\n"
                 "numbers above SEQ (default 0), oldest first, at most N (default %u). A notifier\n"
                 "keeps the last sequence it handled and passes it as --since next time.\n",
            EVENTS_LIMIT_DEFAULT);
}

static bool parse_count(const char *text, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || value > max) {
        return false;
    }
    *out = value;
    return true;
}

static void print_line(const json_t *event)
{
    const json_t *order = json_object_get(event, "order_id");
    printf("%" JSON_INTEGER_FORMAT " %s %-20s %s %s", json_integer_value(json_object_get(event, "seq")),
           json_string_value(json_object_get(event, "time")),
           json_string_value(json_object_get(event, "kind")),
           json_string_value(json_object_get(event, "account")),
           json_string_value(json_object_get(event, "instance")));
    if (json_is_integer(order)) {
        printf(" order=%" JSON_INTEGER_FORMAT, json_integer_value(order));
    }
    const char *detail = json_string_value(json_object_get(event, "detail"));
    printf("%s%s\n", detail[0] != '\0' ? " " : "", detail);
}

int ctl_events(int argc, char **argv)
{
    const char *data_dir = NULL;
    uint64_t since = 0, limit = EVENTS_LIMIT_DEFAULT;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            events_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc &&
                   parse_count(argv[i + 1], UINT64_MAX, &since)) {
            i++;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
                   parse_count(argv[i + 1], EVENTS_LIMIT_MAX, &limit)) {
            i++;
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else {
            fprintf(stderr, "billordctl events: unexpected or bad argument '%s'\n", argv[i]);
            events_usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (data_dir == NULL) {
        events_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    billord_engine *engine = NULL;
    if (!ctl_open_engine("billordctl events", data_dir, &engine)) {
        return CTL_EXIT_FAILED;
    }
    json_t *events = NULL;
    billord_err err = billord_engine_events(engine, since, (uint32_t)limit, &events);
    billord_engine_close(engine);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl events: --data %s: %s\n", data_dir, billord_err_message(err));
        return CTL_EXIT_FAILED;
    }
    size_t index;
    json_t *event;
    json_array_foreach(events, index, event) {
        if (as_json) {
            char *line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("%s\n", line);
            free(line);
        } else {
            print_line(event);
        }
    }
    json_decref(events);
    return CTL_EXIT_OK;
}
