/* billordctl: operator tools (SPEC section 8). Thin: parse options, call the library, print. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"seed", ctl_seed, "seed --data DIR FILE            load a fixture into an empty data directory"},
    {"inspect", ctl_inspect,
     "inspect --data DIR [KIND ID]    print the store's summary or an account, instance, order, token"},
    {"events", ctl_events, "events --data DIR [--since SEQ]  print outbox events (reminders, renewals, expiry)"},
    {"sign", ctl_sign, "sign --key K --secret S NAME=VALUE...  print a V1-signed request URL"},
    {"replay", ctl_replay,
     "replay --data DIR [--expect] LOG...  apply recorded request logs or log segments\n"
     "  replay --target URL --keys FILE LOG...  send recorded request logs to a server"},
    {"digest", ctl_digest, "digest --data DIR                one hash of the whole state"},
    {"verify", ctl_verify,
     "verify --data DIR               check the log, LMDB, indexes and money invariants"},
    {"wal", ctl_wal, "wal list|dump --data DIR|PATH    list or dump log records"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: billordctl COMMAND [OPTIONS]   (COMMAND --help for its options)\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(out, "  %s\n", commands[i].summary);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CTL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "billordctl: unknown command '%s' (see billordctl --help)\n", argv[1]);
    return CTL_EXIT_USAGE;
}
