/* ctl_verify.c: billordctl verify --data DIR [--archive DIR] [--json]. */
#include <stdlib.h>
#include <string.h>

#include <billord/replay.h>

#include "ctl.h"

#define VERIFY_PROBLEMS_PRINTED_MAX 1000u

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: billordctl verify --data DIR [--archive DIR] [--json]\n"
            "Check a data directory, read-only: the log in DIR/wal (and the archive) verifies\n"
            "record by record, its LSNs are continuous and reach the state's applied LSN (a\n"
            "torn tail, never acknowledged, is reported but is not a problem); every LMDB value\n"
            "decodes; account_orders, instance_orders and token_expiry agree with their tables\n"
            "both ways; per account balance_initial = balance + balance paid, credit_used =\n"
            "credit paid <= limit, coupons only shrink and what they lost = coupon paid; each\n"
            "instance's unpaid_order_count is right. Lists each problem; exit 1 if any.\n");
}

typedef struct verify_output {
    json_t *problems;               /* --json: collected; else printed */
    uint64_t printed;
} verify_output;

static void on_problem(void *ctx, const char *text)
{
    verify_output *output = ctx;
    if (output->problems != NULL) {
        json_array_append_new(output->problems, json_string(text));
    } else if (output->printed++ < VERIFY_PROBLEMS_PRINTED_MAX) {
        printf("problem: %s\n", text);
    }
}

static void print_report(const billord_verify_report *report, verify_output *output,
                         bool as_json)
{
    if (as_json) {
        json_t *root = json_pack(
            "{s:b, s:I, s:b, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:O}", "ok",
            report->problems == 0, "problems_count", (json_int_t)report->problems, "wal_present",
            report->wal_present, "wal_records", (json_int_t)report->wal_records, "wal_lsn_first",
            (json_int_t)report->wal_lsn_first, "wal_lsn_last", (json_int_t)report->wal_lsn_last,
            "wal_torn_tail", report->wal_torn_tail, "applied_lsn",
            (json_int_t)report->applied_lsn, "lmdb_values", (json_int_t)report->lmdb_values,
            "accounts", (json_int_t)report->accounts, "instances",
            (json_int_t)report->instances, "orders", (json_int_t)report->orders, "tokens",
            (json_int_t)report->tokens, "problems", output->problems);
        char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", text != NULL ? text : "{}");
        free(text);
        json_decref(root);
        return;
    }
    if (output->printed > VERIFY_PROBLEMS_PRINTED_MAX) {
        printf("problem: ... and %llu more\n",
               (unsigned long long)(output->printed - VERIFY_PROBLEMS_PRINTED_MAX));
    }
    printf("log: %s, %llu records (LSN %llu..%llu)%s; state: applied LSN %llu, %llu values, "
           "%llu accounts, %llu instances, %llu orders, %llu tokens\n",
           report->wal_present ? "present" : "none (a replayed directory)",
           (unsigned long long)report->wal_records, (unsigned long long)report->wal_lsn_first,
           (unsigned long long)report->wal_lsn_last,
           report->wal_torn_tail ? ", torn tail (never acknowledged)" : "",
           (unsigned long long)report->applied_lsn, (unsigned long long)report->lmdb_values,
           (unsigned long long)report->accounts, (unsigned long long)report->instances,
           (unsigned long long)report->orders, (unsigned long long)report->tokens);
    printf("verify: %s (%llu problems)\n", report->problems == 0 ? "ok" : "FAILED",
           (unsigned long long)report->problems);
}

int ctl_verify(int argc, char **argv)
{
    const char *data_dir = NULL, *archive_dir = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            verify_usage(stdout);
            return CTL_EXIT_OK;
        } else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data_dir = argv[++i];
        } else if (strcmp(argv[i], "--archive") == 0 && i + 1 < argc) {
            archive_dir = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            as_json = true;
        } else {
            fprintf(stderr, "billordctl verify: unexpected argument '%s'\n", argv[i]);
            verify_usage(stderr);
            return CTL_EXIT_USAGE;
        }
    }
    if (data_dir == NULL) {
        verify_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    verify_output output = {.problems = as_json ? json_array() : NULL};
    billord_verify_report report;
    billord_err err = billord_verify(data_dir, archive_dir, on_problem, &output, &report);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billordctl verify: --data %s: %s\n", data_dir,
                err == BILLORD_E_NOT_FOUND ? "no such data directory" : billord_err_message(err));
        json_decref(output.problems);
        return CTL_EXIT_FAILED;
    }
    print_report(&report, &output, as_json);
    json_decref(output.problems);
    return report.problems == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
