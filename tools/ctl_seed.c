/* ctl_seed.c: billordctl seed --data DIR FILE (load a fixture into an empty directory). */
#include <string.h>

#include <billord/fixture.h>

#include "ctl.h"

static void seed_usage(FILE *out)
{
    fprintf(out, "usage: billordctl seed --data DIR FILE\n"
                 "Load the fixture FILE (docs/fixtures.md) into the data directory DIR, which is\n"
                 "created if missing and must hold no state yet. All or nothing: a fixture with any\n"
                 "error loads nothing and the error names its JSON path.\n");
}

int ctl_seed(int argc, char **argv)
{
    const char *data_dir = NULL;
    const char *fixture_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            seed_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (argv[i][0] != '-' && fixture_path == NULL) {
            fixture_path = argv[i];
        } else {
            fprintf(stderr, "billordctl seed: unexpected argument '%s'\n", argv[i]);
            seed_usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (data_dir == NULL || fixture_path == NULL) {
        seed_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    billord_fixture fixture;
    char error_text[BILLORD_FIXTURE_ERROR_BYTES];
    billord_err err = billord_fixture_parse_file(fixture_path, &fixture, error_text,
                                                 sizeof error_text);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl seed: %s: %s\n", fixture_path, error_text);
        billord_fixture_free(&fixture);
        return CTL_EXIT_FAILED;
    }
    billord_engine_config config = {.data_dir = data_dir};
    billord_engine *engine = NULL;
    err = billord_engine_open(&config, &engine);
    if (err == BILLORD_OK) {
        err = billord_engine_seed(engine, &fixture);
    }
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl seed: --data %s: %s\n", data_dir, billord_err_message(err));
    } else {
        printf("seeded %s from %s: %zu prices, %zu accounts, %zu coupons, %zu instances, "
               "%zu orders\n",
               data_dir, fixture_path, fixture.price_count, fixture.account_count,
               fixture.coupon_count, fixture.instance_count, fixture.order_count);
    }
    billord_engine_close(engine);
    billord_fixture_free(&fixture);
    return err == BILLORD_OK ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
