/*
 * billord-bench: durable commands per second of the engine in-process, through the real
 * submit queue, group commit, write-ahead log and fdatasync (SPEC section 9).
 *
 * 1. Builds a data directory: a generated fixture (one account, --instances instances),
 *    then --prefill tokens (and their orders) loaded fast through the engine alone in
 *    large batches (no log: this is set-up, not the measured path).
 * 2. Opens the durable db and runs --threads producers for --commands commands of the
 *    --mix (new tokens, replays of earlier tokens, mismatches, concurrent duplicates).
 * 3. Reports durable commands/s, new orders/s, batch sizes, latency percentiles and
 *    bytes synced per command, appends a CSV row, and ends with durable_orders_per_s=N.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <billord/db.h>
#include <billord/engine.h>
#include <billord/fixture.h>

#define BENCH_ACCOUNT "8000000000000008"
#define BENCH_NOW_MS 1795305600000LL
#define BENCH_PREFILL_BATCH 1024u
#define BENCH_PATH_BYTES 512u
#define BENCH_TOKEN_BYTES 40u
#define BENCH_RECENT_TOKENS 256u

typedef struct bench_options {
    uint32_t threads;
    uint64_t commands;
    uint64_t prefill;
    uint32_t instances;
    uint32_t percent_replay;
    uint32_t percent_mismatch;
    uint32_t percent_duplicate;
    uint32_t pipeline;
    bool tick_bench;                    /* --tick-instances: all instances auto-renew at once */
    billord_lmdb_mode lmdb_mode;
    const char *lmdb_name;
    const char *parent_dir;
    const char *csv_path;
    bool keep;
} bench_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: billord-bench [options]\n"
            "  -t, --threads N       producer threads (default 64)\n"
            "  -n, --commands N      measured commands (default 1000000)\n"
            "  -p, --prefill N       tokens (with orders) in the store before measuring (default 0)\n"
            "  -i, --instances N     instances the renewals spread over (default 10000)\n"
            "  -m, --mix SPEC        replay=R,mismatch=M,dup=D percentages; the rest are new\n"
            "                        tokens (default replay=0,mismatch=0,dup=0)\n"
            "  -P, --pipeline D      commands each producer submits per call (default 1; more\n"
            "                        shares one wake-up among D commands: billord_db_execute_many)\n"
            "  -T, --tick-instances N  lifecycle: N auto-renewing instances all due at one slot;\n"
            "                        one thread ticks until done while the producers run, and\n"
            "                        the tick's duration is reported (sets --instances N)\n"
            "  -l, --lmdb MODE       snapshot (default, as billord serve: no LMDB syncs, snapshots\n"
            "                        + rebuild after power loss), nometasync (safe, one LMDB sync\n"
            "                        per batch), sync (safe, slower),\n"
            "                        nosync (unsafe on power loss: for comparison only)\n"
            "  -d, --dir PATH        parent of the temp data directory (default $TMPDIR or /tmp)\n"
            "  -c, --csv FILE        append a CSV row (header written when the file is new)\n"
            "  -k, --keep            keep the data directory\n"
            "  -h, --help            this text\n"
            "The last line is durable_orders_per_s=N (new orders acknowledged per second).\n");
}

static bool parse_mix(const char *text, bench_options *options)
{
    char copy[128];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *part = strtok(copy, ","); part != NULL; part = strtok(NULL, ",")) {
        unsigned value = 0;
        if (sscanf(part, "replay=%u", &value) == 1) {
            options->percent_replay = value;
        } else if (sscanf(part, "mismatch=%u", &value) == 1) {
            options->percent_mismatch = value;
        } else if (sscanf(part, "dup=%u", &value) == 1) {
            options->percent_duplicate = value;
        } else {
            return false;
        }
    }
    return options->percent_replay + options->percent_mismatch + options->percent_duplicate <= 100;
}

static bool parse_lmdb(const char *text, bench_options *options)
{
    options->lmdb_name = text;
    if (strcmp(text, "nometasync") == 0) {
        options->lmdb_mode = BILLORD_LMDB_NOMETASYNC;
    } else if (strcmp(text, "sync") == 0) {
        options->lmdb_mode = BILLORD_LMDB_SYNC;
    } else if (strcmp(text, "nosync") == 0) {
        options->lmdb_mode = BILLORD_LMDB_NOSYNC_UNSAFE;
    } else if (strcmp(text, "snapshot") == 0) {
        options->lmdb_mode = BILLORD_LMDB_SNAPSHOT;
    } else {
        return false;
    }
    return true;
}

static int parse_options(int argc, char **argv, bench_options *options)
{
    static const struct option long_options[] = {
        {"threads", required_argument, NULL, 't'}, {"commands", required_argument, NULL, 'n'},
        {"prefill", required_argument, NULL, 'p'}, {"instances", required_argument, NULL, 'i'},
        {"mix", required_argument, NULL, 'm'},     {"lmdb", required_argument, NULL, 'l'},
        {"pipeline", required_argument, NULL, 'P'},
        {"tick-instances", required_argument, NULL, 'T'},
        {"dir", required_argument, NULL, 'd'},     {"csv", required_argument, NULL, 'c'},
        {"keep", no_argument, NULL, 'k'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *options = (bench_options){.threads = 64, .commands = 1000000, .instances = 10000,
                               .pipeline = 1, .lmdb_mode = BILLORD_LMDB_SNAPSHOT,
                               .lmdb_name = "snapshot"};
    int option;
    while ((option = getopt_long(argc, argv, "t:n:p:i:m:l:d:c:P:T:kh", long_options, NULL)) != -1) {
        bool ok = true;
        switch (option) {
        case 't': options->threads = (uint32_t)strtoul(optarg, NULL, 10); ok = options->threads > 0 && options->threads <= 4096; break;
        case 'n': options->commands = strtoull(optarg, NULL, 10); ok = options->commands > 0; break;
        case 'p': options->prefill = strtoull(optarg, NULL, 10); break;
        case 'i': options->instances = (uint32_t)strtoul(optarg, NULL, 10); ok = options->instances > 0; break;
        case 'm': ok = parse_mix(optarg, options); break;
        case 'T': options->instances = (uint32_t)strtoul(optarg, NULL, 10); options->tick_bench = true; ok = options->instances > 0; break;
        case 'P': options->pipeline = (uint32_t)strtoul(optarg, NULL, 10); ok = options->pipeline >= 1 && options->pipeline <= BILLORD_DB_EXECUTE_MANY_MAX; break;
        case 'l': ok = parse_lmdb(optarg, options); break;
        case 'd': options->parent_dir = optarg; break;
        case 'c': options->csv_path = optarg; break;
        case 'k': options->keep = true; break;
        case 'h': usage(stdout); exit(0);
        default: ok = false; break;
        }
        if (!ok) {
            fprintf(stderr, "billord-bench: bad value for -%c (see --help)\n", option);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "billord-bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* ---- set-up ----------------------------------------------------------------------- */

static billord_fixture make_fixture(uint32_t instance_count, bool auto_renew)
{
    billord_fixture fixture;
    memset(&fixture, 0, sizeof fixture);
    fixture.has_clock = true;
    fixture.clock_ms = BENCH_NOW_MS;
    fixture.price_count = 1;
    fixture.prices = calloc(1, sizeof *fixture.prices);
    fixture.prices[0] = (billord_price){.product = BILLORD_PRODUCT_ECS, .week_micros = 1000,
                                        .month_micros = 4000, .year_micros = 40000};
    snprintf(fixture.prices[0].instance_type, sizeof fixture.prices[0].instance_type, "ecs.bench");
    fixture.account_count = 1;
    fixture.accounts = calloc(1, sizeof *fixture.accounts);
    snprintf(fixture.accounts[0].id, sizeof fixture.accounts[0].id, BENCH_ACCOUNT);
    fixture.accounts[0].balance_micros = 4000000000000000000LL;
    fixture.accounts[0].balance_initial_micros = fixture.accounts[0].balance_micros;
    fixture.accounts[0].payment_method = true;
    fixture.instance_count = instance_count;
    fixture.instances = calloc(instance_count, sizeof *fixture.instances);
    for (uint32_t i = 0; i < instance_count; i++) {
        billord_instance *instance = &fixture.instances[i];
        snprintf(instance->id, sizeof instance->id, "i-bench%07u", i);
        snprintf(instance->account, sizeof instance->account, BENCH_ACCOUNT);
        snprintf(instance->region, sizeof instance->region, "cn-hangzhou");
        snprintf(instance->instance_type, sizeof instance->instance_type, "ecs.bench");
        instance->product = BILLORD_PRODUCT_ECS;
        instance->charge_type = BILLORD_CHARGE_PREPAID;
        instance->status = BILLORD_STATUS_RUNNING;
        instance->expires_ms = BENCH_NOW_MS + 30LL * 86400000;
        instance->renewal_status = auto_renew ? BILLORD_RENEWAL_AUTO : BILLORD_RENEWAL_NORMAL;
        instance->auto_renew_duration = 1;
        instance->auto_renew_period_unit = BILLORD_PERIOD_MONTH;
    }
    return fixture;
}

static void renew_command(billord_command *command, billord_param *params, const char *instance,
                          const char *token, const char *period, uint64_t request_number)
{
    params[0] = (billord_param){"InstanceId", instance};
    params[1] = (billord_param){"Period", period};
    params[2] = (billord_param){"PeriodUnit", "Week"};
    params[3] = (billord_param){"ClientToken", token};
    memset(command, 0, sizeof *command);
    command->kind = BILLORD_COMMAND_REQUEST;
    command->now_ms = BENCH_NOW_MS;
    snprintf(command->request_id, sizeof command->request_id, "00000000-0000-4000-8000-%012llX",
             (unsigned long long)(request_number & 0xFFFFFFFFFFFFULL));
    command->account = BENCH_ACCOUNT;
    command->action = "RenewInstance";
    command->param_count = 4;
    command->params = params;
}

static int prefill(const char *dir, const bench_options *options)
{
    billord_engine_config config = {.data_dir = dir, .map_bytes = BILLORD_MAP_BYTES_MAX,
                                    .lmdb_mode = BILLORD_LMDB_NOSYNC_UNSAFE};
    billord_engine *engine = NULL;
    if (billord_engine_open(&config, &engine) != BILLORD_OK) {
        fprintf(stderr, "billord-bench: cannot open %s\n", dir);
        return 1;
    }
    billord_fixture fixture = make_fixture(options->instances, options->tick_bench);
    billord_err err = billord_engine_seed(engine, &fixture);
    billord_fixture_free(&fixture);
    static billord_command commands[BENCH_PREFILL_BATCH];
    static billord_param params[BENCH_PREFILL_BATCH][4];
    static char tokens[BENCH_PREFILL_BATCH][BENCH_TOKEN_BYTES];
    static char instances[BENCH_PREFILL_BATCH][32];
    static billord_outcome outcomes[BENCH_PREFILL_BATCH];
    double started = seconds_now();
    for (uint64_t done = 0; err == BILLORD_OK && done < options->prefill;) {
        size_t count = 0;
        for (; count < BENCH_PREFILL_BATCH && done + count < options->prefill; count++) {
            uint64_t n = done + count;
            snprintf(tokens[count], sizeof tokens[count], "pre-%llu", (unsigned long long)n);
            snprintf(instances[count], sizeof instances[count], "i-bench%07u",
                     (uint32_t)(n % options->instances));
            renew_command(&commands[count], params[count], instances[count], tokens[count], "1",
                          n + 1);
        }
        err = billord_engine_submit(engine, commands, count, 0, NULL, outcomes, NULL);
        done += count;
        if (done % (256u * BENCH_PREFILL_BATCH) < count || done == options->prefill) {
            fprintf(stderr, "\rprefill: %llu / %llu tokens (%.0f/s)", (unsigned long long)done,
                    (unsigned long long)options->prefill, (double)done / (seconds_now() - started));
        }
    }
    if (options->prefill > 0) {
        fprintf(stderr, "\n");
    }
    if (err == BILLORD_OK) {
        err = billord_engine_sync(engine);
    }
    billord_engine_close(engine);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billord-bench: prefill: %s\n", billord_err_message(err));
        return 1;
    }
    return 0;
}

/* ---- the measured run ------------------------------------------------------------- */

typedef struct producer {
    billord_db *db;
    const bench_options *options;
    uint32_t index;
    uint64_t command_count;
    uint64_t *shared_counter;           /* tokens for concurrent duplicates */
    uint64_t seed;
    double *latencies_us;
    uint64_t new_orders;
    uint64_t replays;
    uint64_t mismatches;
    uint64_t in_flight;
    uint64_t other_errors;
} producer;

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void record_outcome(producer *p, const billord_outcome *outcome)
{
    if (outcome->code == BILLORD_API_OK && !outcome->idempotent_replay) {
        p->new_orders++;
    } else if (outcome->code == BILLORD_API_OK) {
        p->replays++;
    } else if (outcome->code == BILLORD_API_IDEMPOTENCE_PARAM_NOT_MATCH) {
        p->mismatches++;
    } else if (outcome->code == BILLORD_API_LAST_TOKEN_PROCESSING) {
        p->in_flight++;
    } else {
        p->other_errors++;
    }
}

/* The instance a producer's token number renews: fixed, so a replay repeats its original. */
static uint32_t instance_of(const producer *p, uint64_t token_number)
{
    return (uint32_t)((token_number * 2654435761ULL + p->index * 40503ULL) % p->options->instances);
}

/* One command of the mix into (command, params, token, instance) storage. */
static void next_command(producer *p, uint64_t *issued, uint64_t sequence, billord_command *command,
                         billord_param *params, char *token, char *instance)
{
    const bench_options *options = p->options;
    uint32_t roll = (uint32_t)(next_random(&p->seed) % 100);
    const char *period = "1";
    uint64_t token_number = 0;
    if (roll < options->percent_replay + options->percent_mismatch && *issued > 0) {
        /* An earlier token of this producer: same parameters (replay) or another Period. */
        token_number = next_random(&p->seed) % *issued;
        snprintf(token, BENCH_TOKEN_BYTES, "t%u-%llu", p->index, (unsigned long long)token_number);
        period = roll < options->percent_replay ? "1" : "2";
    } else if (roll >= options->percent_replay + options->percent_mismatch &&
               roll < options->percent_replay + options->percent_mismatch + options->percent_duplicate) {
        /* (A replay or mismatch roll before this producer has a token is a new token, not a dup.) */
        uint64_t shared = __atomic_fetch_add(p->shared_counter, 1, __ATOMIC_RELAXED);
        token_number = shared / 2;
        snprintf(token, BENCH_TOKEN_BYTES, "dup-%llu", (unsigned long long)token_number);
    } else {
        token_number = (*issued)++;
        snprintf(token, BENCH_TOKEN_BYTES, "t%u-%llu", p->index, (unsigned long long)token_number);
    }
    snprintf(instance, 32, "i-bench%07u", instance_of(p, token_number));
    renew_command(command, params, instance, token, period, ((uint64_t)p->index << 40) | sequence);
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    uint32_t depth = p->options->pipeline;
    billord_command *commands = calloc(depth, sizeof *commands);
    billord_param (*params)[4] = calloc(depth, sizeof *params);
    char (*tokens)[BENCH_TOKEN_BYTES] = calloc(depth, sizeof *tokens);
    char (*instances)[32] = calloc(depth, sizeof *instances);
    billord_outcome *outcomes = calloc(depth, sizeof *outcomes);
    uint64_t issued = 0;
    for (uint64_t i = 0; i < p->command_count;) {
        uint32_t count = (uint32_t)(p->command_count - i < depth ? p->command_count - i : depth);
        for (uint32_t k = 0; k < count; k++) {
            next_command(p, &issued, i + k, &commands[k], params[k], tokens[k], instances[k]);
        }
        double started = seconds_now();
        if (count == 1) {
            billord_db_execute(p->db, &commands[0], &outcomes[0]);
        } else {
            billord_db_execute_many(p->db, commands, count, outcomes);
        }
        double elapsed_us = (seconds_now() - started) * 1e6;
        for (uint32_t k = 0; k < count; k++) {
            p->latencies_us[i + k] = elapsed_us;
            record_outcome(p, &outcomes[k]);
        }
        i += count;
    }
    free(commands);
    free(params);
    free(tokens);
    free(instances);
    free(outcomes);
    return NULL;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void write_csv(const bench_options *options, double seconds, const producer *total,
                      const billord_db_stats *stats, const double *percentiles_us)
{
    if (options->csv_path == NULL) {
        return;
    }
    FILE *probe = fopen(options->csv_path, "r");
    bool is_new = probe == NULL;
    if (probe != NULL) {
        fclose(probe);
    }
    FILE *csv = fopen(options->csv_path, "a");
    if (csv == NULL) {
        fprintf(stderr, "billord-bench: cannot write %s\n", options->csv_path);
        return;
    }
    if (is_new) {
        fprintf(csv, "system,lmdb,threads,pipeline,prefill,replay_pct,mismatch_pct,dup_pct,commands,seconds,"
                     "commands_per_s,new_orders_per_s,batches,avg_batch,p50_us,p99_us,p999_us,"
                     "synced_bytes_per_command\n");
    }
    fprintf(csv, "billord-inprocess,%s,%u,%u,%llu,%u,%u,%u,%llu,%.3f,%.0f,%.0f,%llu,%.1f,%.0f,%.0f,%.0f,%.1f\n",
            options->lmdb_name, options->threads, options->pipeline,
            (unsigned long long)options->prefill,
            options->percent_replay, options->percent_mismatch, options->percent_duplicate,
            (unsigned long long)options->commands, seconds, (double)options->commands / seconds,
            (double)total->new_orders / seconds, (unsigned long long)stats->batches,
            (double)stats->commands / (double)(stats->batches ? stats->batches : 1),
            percentiles_us[0], percentiles_us[1], percentiles_us[2],
            (double)stats->synced_bytes / (double)(stats->commands ? stats->commands : 1));
    fclose(csv);
}

/* The lifecycle tick of --tick-instances: every instance's first charge is due. */
typedef struct ticker {
    billord_db *db;
    double seconds;
    uint32_t ticks;
} ticker;

#define BENCH_TICK_AT_MS (BENCH_NOW_MS + 25LL * 86400000)   /* after T-9d, before T-7d */

static void *ticker_main(void *arg)
{
    ticker *t = arg;
    double started = seconds_now();
    for (;;) {
        billord_command command = {.kind = BILLORD_COMMAND_TICK, .now_ms = BENCH_TICK_AT_MS,
                                   .account = "", .action = ""};
        snprintf(command.request_id, sizeof command.request_id, "TICK-%u", t->ticks);
        billord_outcome outcome;
        billord_db_execute(t->db, &command, &outcome);
        t->ticks++;
        if (outcome.code != BILLORD_API_OK || !outcome.tick_more_due) {
            break;
        }
    }
    t->seconds = seconds_now() - started;
    return NULL;
}

static int measure(const char *dir, const bench_options *options)
{
    billord_db_config config = {.data_dir = dir, .map_bytes = BILLORD_MAP_BYTES_MAX,
                                .lmdb_mode = options->lmdb_mode};
    billord_db *db = NULL;
    billord_err err = billord_db_open(&config, &db, NULL);
    if (err != BILLORD_OK) {
        fprintf(stderr, "billord-bench: open: %s\n", billord_err_message(err));
        return 1;
    }
    producer *producers = calloc(options->threads, sizeof *producers);
    pthread_t *threads = calloc(options->threads, sizeof *threads);
    double *latencies_us = calloc(options->commands, sizeof *latencies_us);
    uint64_t shared_counter = 0;
    uint64_t offset = 0;
    double started = seconds_now();
    for (uint32_t t = 0; t < options->threads; t++) {
        uint64_t share = options->commands / options->threads +
                         (t < options->commands % options->threads ? 1 : 0);
        producers[t] = (producer){.db = db, .options = options, .index = t, .command_count = share,
                                  .shared_counter = &shared_counter,
                                  .seed = 0x9E3779B97F4A7C15ULL * (t + 1),
                                  .latencies_us = latencies_us + offset};
        offset += share;
        pthread_create(&threads[t], NULL, producer_main, &producers[t]);
    }
    ticker tick = {db, 0, 0};
    pthread_t tick_thread;
    if (options->tick_bench) {
        pthread_create(&tick_thread, NULL, ticker_main, &tick);
    }
    producer total = {0};
    for (uint32_t t = 0; t < options->threads; t++) {
        pthread_join(threads[t], NULL);
        total.new_orders += producers[t].new_orders;
        total.replays += producers[t].replays;
        total.mismatches += producers[t].mismatches;
        total.in_flight += producers[t].in_flight;
        total.other_errors += producers[t].other_errors;
    }
    double seconds = seconds_now() - started;
    if (options->tick_bench) {
        pthread_join(tick_thread, NULL);
        printf("  lifecycle tick: %u instances charged by %u tick commands in %.2f s "
               "(%.0f instances/s), requests running alongside\n",
               options->instances, tick.ticks, tick.seconds,
               (double)options->instances / (tick.seconds > 0 ? tick.seconds : 1));
    }
    billord_db_stats stats;
    billord_db_stats_get(db, &stats);
    billord_db_close(db);
    qsort(latencies_us, options->commands, sizeof *latencies_us, compare_doubles);
    double percentiles_us[3] = {latencies_us[options->commands / 2],
                                latencies_us[options->commands * 99 / 100],
                                latencies_us[options->commands * 999 / 1000]};
    printf("billord-bench: %u threads x pipeline %u, lmdb %s, prefill %llu tokens, mix replay=%u%% "
           "mismatch=%u%% dup=%u%%\n",
           options->threads, options->pipeline, options->lmdb_name, (unsigned long long)options->prefill,
           options->percent_replay, options->percent_mismatch, options->percent_duplicate);
    printf("  %llu commands in %.2f s: %.0f durable commands/s\n",
           (unsigned long long)options->commands, seconds, (double)options->commands / seconds);
    printf("  outcomes: %llu new orders, %llu replays, %llu mismatches, %llu in flight, %llu other\n",
           (unsigned long long)total.new_orders, (unsigned long long)total.replays,
           (unsigned long long)total.mismatches, (unsigned long long)total.in_flight,
           (unsigned long long)total.other_errors);
    printf("  %llu batches (syncs), %.1f commands per batch on average, %llu at most\n",
           (unsigned long long)stats.batches,
           (double)stats.commands / (double)(stats.batches ? stats.batches : 1),
           (unsigned long long)stats.batch_commands_max);
    printf("  latency p50 %.0f us, p99 %.0f us, p999 %.0f us; %.1f bytes synced per command\n",
           percentiles_us[0], percentiles_us[1], percentiles_us[2],
           (double)stats.synced_bytes / (double)(stats.commands ? stats.commands : 1));
    write_csv(options, seconds, &total, &stats, percentiles_us);
    printf("durable_orders_per_s=%.0f\n", (double)total.new_orders / seconds);
    free(latencies_us);
    free(producers);
    free(threads);
    return total.other_errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    bench_options options;
    int status = parse_options(argc, argv, &options);
    if (status != 0) {
        return status;
    }
    const char *parent = options.parent_dir != NULL ? options.parent_dir : getenv("TMPDIR");
    char dir[BENCH_PATH_BYTES];
    snprintf(dir, sizeof dir, "%s/billord-bench-XXXXXX", parent != NULL && parent[0] ? parent : "/tmp");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "billord-bench: mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    status = prefill(dir, &options);
    if (status == 0) {
        status = measure(dir, &options);
    }
    if (!options.keep) {
        char command[BENCH_PATH_BYTES + 16];
        snprintf(command, sizeof command, "rm -rf '%s'", dir);
        if (system(command) != 0) {
            fprintf(stderr, "billord-bench: could not remove %s\n", dir);
        }
    } else {
        fprintf(stderr, "billord-bench: kept %s\n", dir);
    }
    return status;
}
