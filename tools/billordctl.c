/* billordctl: operator tools (SPEC section 8). Thin: parse options, call the library, print. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: billordctl COMMAND [OPTIONS]\n"
                 "commands:\n"
                 "  seed --data DIR FILE            load a fixture into an empty data directory\n"
                 "  inspect --data DIR KIND ID      print an account, instance, order or token\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "billordctl: unknown command '%s' (see --help)\n", argv[1]);
    return 2;
}
