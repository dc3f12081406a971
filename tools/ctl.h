/* ctl.h: the subcommands of billordctl, one file each (tools/ctl_*.c). */
#ifndef BILLORD_TOOLS_CTL_H
#define BILLORD_TOOLS_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include <billord/engine.h>

/* Exit statuses of every billord program (SPEC section 1). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILED 1
#define CTL_EXIT_USAGE 2

/* Each takes the arguments after the subcommand name (argv[0] is the subcommand). */
int ctl_seed(int argc, char **argv);
int ctl_inspect(int argc, char **argv);
int ctl_sign(int argc, char **argv);
int ctl_replay(int argc, char **argv);
int ctl_digest(int argc, char **argv);
int ctl_verify(int argc, char **argv);
int ctl_wal(int argc, char **argv);
int ctl_events(int argc, char **argv);

/** Print a JSON object as indented "key: value" lines for people. */
void ctl_print_human(FILE *out, const json_t *value, int indent);

/** Open an existing data directory's engine, printing a one-line error on failure. */
bool ctl_open_engine(const char *program, const char *data_dir, billord_engine **out_engine);

#endif
