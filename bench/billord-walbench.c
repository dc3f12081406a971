/*
 * billord-walbench: throughput of the write-ahead log through its public API.
 *
 * Appends N records of S bytes to a fresh log in a temp directory, syncing once every
 * B records (group commit), and prints records/s, MB/s, syncs/s and sync latency
 * percentiles. Segment preparation runs on the log's background thread as in
 * production, so rotations are included in the time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <billord/wal.h>

#define WALBENCH_RECORDS_DEFAULT  1000000ull
#define WALBENCH_BYTES_DEFAULT    256u
#define WALBENCH_BATCH_DEFAULT    1024u
#define WALBENCH_PATH_BYTES       512u

typedef struct walbench_options {
    uint64_t record_count;
    uint32_t record_bytes;
    uint32_t batch_records;
    uint64_t segment_bytes;
    const char *parent_dir;
    int keep;
    int append_latency;
} walbench_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: billord-walbench [options]\n"
            "  -n, --records N        records to append (default %llu)\n"
            "  -s, --bytes S          payload bytes per record (default %u, max %u)\n"
            "  -b, --batch B          records per sync (default %u)\n"
            "  -g, --segment-bytes G  segment size (default %llu)\n"
            "  -d, --dir PATH         parent of the temp log directory (default $TMPDIR or /tmp)\n"
            "  -k, --keep             keep the log directory afterwards\n"
            "  -a, --append-latency   also time every append (max shows rotation stalls;\n"
            "                         costs two clock reads per record)\n"
            "  -h, --help             this text\n",
            (unsigned long long)WALBENCH_RECORDS_DEFAULT, WALBENCH_BYTES_DEFAULT,
            BILLORD_WAL_RECORD_BYTES_MAX, WALBENCH_BATCH_DEFAULT,
            (unsigned long long)BILLORD_WAL_SEGMENT_BYTES_DEFAULT);
}

static int parse_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return -1;
    }
    *out = value;
    return 0;
}

static int parse_options(int argc, char **argv, walbench_options *options)
{
    static const struct option long_options[] = {
        {"records", required_argument, NULL, 'n'}, {"bytes", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},   {"segment-bytes", required_argument, NULL, 'g'},
        {"dir", required_argument, NULL, 'd'},     {"keep", no_argument, NULL, 'k'},
        {"append-latency", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    for (;;) {
        int option = getopt_long(argc, argv, "n:s:b:g:d:kah", long_options, NULL);
        if (option == -1) {
            break;
        }
        uint64_t value = 0;
        switch (option) {
        case 'n':
            if (parse_u64(optarg, &options->record_count) != 0) {
                return -1;
            }
            break;
        case 's':
            if (parse_u64(optarg, &value) != 0 || value == 0 || value > BILLORD_WAL_RECORD_BYTES_MAX) {
                return -1;
            }
            options->record_bytes = (uint32_t)value;
            break;
        case 'b':
            if (parse_u64(optarg, &value) != 0 || value == 0 || value > UINT32_MAX) {
                return -1;
            }
            options->batch_records = (uint32_t)value;
            break;
        case 'g':
            if (parse_u64(optarg, &options->segment_bytes) != 0) {
                return -1;
            }
            break;
        case 'd':
            options->parent_dir = optarg;
            break;
        case 'k':
            options->keep = 1;
            break;
        case 'a':
            options->append_latency = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double const left = *(const double *)a;
    double const right = *(const double *)b;
    return left < right ? -1 : left > right ? 1 : 0;
}

static void remove_log(const char *dir_path)
{
    char command[WALBENCH_PATH_BYTES + 16];
    snprintf(command, sizeof command, "rm -rf '%s'", dir_path);
    if (system(command) != 0) {
        fprintf(stderr, "billord-walbench: could not remove %s\n", dir_path);
    }
}

typedef struct walbench_result {
    double seconds;
    uint64_t sync_count;
    double *sync_seconds;
    double append_seconds_max;
} walbench_result;

static int run(const walbench_options *options, const char *dir_path, walbench_result *result)
{
    billord_wal_config config = {.dir_path = dir_path, .segment_bytes = options->segment_bytes};
    billord_wal *wal = NULL;
    billord_wal_recovery info;
    billord_err err = billord_wal_open(&config, &wal, &info);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billord-walbench: open: %s %s\n", billord_err_name(err), info.error_text);
        return -1;
    }
    uint8_t *payload = malloc(options->record_bytes);
    uint64_t const syncs_max = options->record_count / options->batch_records + 1u;
    result->sync_seconds = calloc(syncs_max, sizeof *result->sync_seconds);
    if (payload == NULL || result->sync_seconds == NULL) {
        free(payload);
        billord_wal_close(wal);
        return -1;
    }
    for (uint32_t i = 0; i < options->record_bytes; i++) {
        payload[i] = (uint8_t)(i * 7u);
    }
    double const start = now_seconds();
    for (uint64_t i = 0; i < options->record_count && err == BILLORD_OK; i++) {
        uint64_t lsn = 0;
        if (options->append_latency) {
            /* Rotation happens inside an append: its stall shows here, not in the syncs. */
            double const append_start = now_seconds();
            err = billord_wal_append(wal, payload, options->record_bytes, &lsn);
            double const append_seconds = now_seconds() - append_start;
            if (append_seconds > result->append_seconds_max) {
                result->append_seconds_max = append_seconds;
            }
        } else {
            err = billord_wal_append(wal, payload, options->record_bytes, &lsn);
        }
        if (err == BILLORD_OK && (i + 1u) % options->batch_records == 0) {
            double const sync_start = now_seconds();
            err = billord_wal_sync(wal);
            result->sync_seconds[result->sync_count++] = now_seconds() - sync_start;
        }
    }
    if (err == BILLORD_OK && options->record_count % options->batch_records != 0) {
        double const sync_start = now_seconds();
        err = billord_wal_sync(wal);
        result->sync_seconds[result->sync_count++] = now_seconds() - sync_start;
    }
    result->seconds = now_seconds() - start;
    if (err != BILLORD_OK) {
        fprintf(stderr, "billord-walbench: %s: %s\n", billord_err_name(err), billord_wal_last_error(wal));
    }
    free(payload);
    billord_wal_close(wal);
    return err == BILLORD_OK ? 0 : -1;
}

static void report(const walbench_options *options, const walbench_result *result)
{
    double const bytes = (double)options->record_count * options->record_bytes;
    qsort(result->sync_seconds, result->sync_count, sizeof result->sync_seconds[0], compare_double);
    double p50 = 0.0;
    double p99 = 0.0;
    double max = 0.0;
    if (result->sync_count > 0) {
        p50 = result->sync_seconds[result->sync_count / 2u];
        p99 = result->sync_seconds[(result->sync_count * 99u) / 100u];
        max = result->sync_seconds[result->sync_count - 1u];
    }
    printf("records %" PRIu64 "  bytes %u  batch %u  segment_bytes %" PRIu64 "\n",
           options->record_count, options->record_bytes, options->batch_records,
           options->segment_bytes != 0 ? options->segment_bytes
                                       : (uint64_t)BILLORD_WAL_SEGMENT_BYTES_DEFAULT);
    printf("elapsed_s %.3f\n", result->seconds);
    printf("records_per_s %.0f\n", (double)options->record_count / result->seconds);
    printf("mb_per_s %.1f\n", bytes / result->seconds / 1e6);
    printf("syncs_per_s %.0f  (syncs %" PRIu64 ")\n", (double)result->sync_count / result->seconds,
           result->sync_count);
    printf("sync_ms p50 %.3f  p99 %.3f  max %.3f\n", p50 * 1e3, p99 * 1e3, max * 1e3);
    if (options->append_latency) {
        printf("append_ms max %.3f  (includes segment rotations)\n", result->append_seconds_max * 1e3);
    }
}

int main(int argc, char **argv)
{
    walbench_options options = {.record_count = WALBENCH_RECORDS_DEFAULT,
                                .record_bytes = WALBENCH_BYTES_DEFAULT,
                                .batch_records = WALBENCH_BATCH_DEFAULT};
    if (parse_options(argc, argv, &options) != 0) {
        usage(stderr);
        return 2;
    }
    const char *parent = options.parent_dir;
    if (parent == NULL) {
        parent = getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR") : "/tmp";
    }
    char dir_path[WALBENCH_PATH_BYTES];
    snprintf(dir_path, sizeof dir_path, "%s/billord-walbench-XXXXXX", parent);
    if (mkdtemp(dir_path) == NULL) {
        perror("billord-walbench: mkdtemp");
        return 1;
    }
    walbench_result result = {0};
    int status = run(&options, dir_path, &result);
    if (status == 0) {
        report(&options, &result);
    }
    free(result.sync_seconds);
    if (!options.keep) {
        remove_log(dir_path);
    } else {
        printf("log kept in %s\n", dir_path);
    }
    return status == 0 ? 0 : 1;
}
