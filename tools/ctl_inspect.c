/* ctl_inspect.c: billordctl inspect --data DIR [--json] [KIND ID]. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void inspect_usage(FILE *out)
{
    fprintf(out, "usage: billordctl inspect --data DIR [--json] [summary | account ID | instance ID |\n"
                 "                          order ID | token ACCOUNT:TOKEN]\n"
                 "Print one record of the data directory DIR (or, without KIND, a summary of the\n"
                 "whole store) as text for people, or with --json as one JSON object.\n");
}

static bool kind_parse(const char *text, billord_inspect_kind *out)
{
    static const struct {
        const char *name;
        billord_inspect_kind kind;
    } kinds[] = {{"summary", BILLORD_INSPECT_SUMMARY},   {"account", BILLORD_INSPECT_ACCOUNT},
                 {"instance", BILLORD_INSPECT_INSTANCE}, {"order", BILLORD_INSPECT_ORDER},
                 {"token", BILLORD_INSPECT_TOKEN}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(text, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return true;
        }
    }
    return false;
}

int ctl_inspect(int argc, char **argv)
{
    const char *data_dir = NULL;
    const char *positional[2] = {NULL, NULL};
    int positional_count = 0;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            inspect_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else if (argv[i][0] != '-' && positional_count < 2) {
            positional[positional_count++] = argv[i];
        } else {
            fprintf(stderr, "billordctl inspect: unexpected argument '%s'\n", argv[i]);
            return CTL_EXIT_USAGE;
        }
    }
    billord_inspect_kind kind = BILLORD_INSPECT_SUMMARY;
    if (data_dir == NULL || (positional[0] != NULL && !kind_parse(positional[0], &kind)) ||
        (kind != BILLORD_INSPECT_SUMMARY && positional[1] == NULL)) {
        inspect_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    billord_engine *engine = NULL;
    if (!ctl_open_engine("billordctl inspect", data_dir, &engine)) {
        return CTL_EXIT_FAILED;
    }
    json_t *record = NULL;
    billord_err err = billord_engine_inspect(engine, kind, positional[1], &record);
    billord_engine_close(engine);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl inspect: %s%s%s: %s\n",
                positional[0] != NULL ? positional[0] : "summary",
                positional[1] != NULL ? " " : "", positional[1] != NULL ? positional[1] : "",
                err == BILLORD_E_NOT_FOUND ? "not found" : billord_err_message(err));
        return CTL_EXIT_FAILED;
    }
    if (as_json) {
        char *text = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text != NULL ? text : "{}");
        free(text);
    } else {
        ctl_print_human(stdout, record, 0);
    }
    json_decref(record);
    return CTL_EXIT_OK;
}
