/* ctl_digest.c: billordctl digest --data DIR [--json]: one hash of the whole logical state. */
#include <string.h>

#include <billord/replay.h>

#include "ctl.h"
#include "ctl_replay.h"

static void digest_usage(FILE *out)
{
    fprintf(out, "usage: billordctl digest --data DIR [--json]\n"
                 "Print digest=<hex>: XXH3-128 over every named database of DIR's store, every\n"
                 "key/value pair in key order, meta's applied_lsn left out. Equal states give\n"
                 "equal digests whatever their page layout, insertion order or log position, so\n"
                 "a replay into a fresh directory can be compared with the original. Read-only:\n"
                 "safe beside a running server.\n");
}

int ctl_digest(int argc, char **argv)
{
    const char *data_dir = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            digest_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else {
            fprintf(stderr, "billordctl digest: unexpected argument '%s'\n", argv[i]);
            digest_usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (data_dir == NULL) {
        digest_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    char hex[BILLORD_DIGEST_HEX_BYTES + 1];
    uint64_t pairs = 0;
    char error_text[CTL_ERROR_BYTES];
    billord_err err = billord_replay_digest(data_dir, hex, &pairs, error_text, sizeof error_text);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl digest: %s\n", error_text);
        return CTL_EXIT_FAILED;
    }
    if (as_json) {
        printf("{\"digest\":\"%s\",\"pairs\":%llu}\n", hex, (unsigned long long)pairs);
    } else {
        printf("digest=%s\n", hex);
    }
    return CTL_EXIT_OK;
}
