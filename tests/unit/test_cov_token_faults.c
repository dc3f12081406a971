/*
 * test_cov_token_faults.c: the engine's batch executor and ClientToken state machine
 * (src/engine/engine.c) when LMDB fails under it (tests/support/faulty_lmdb.h).
 *
 * The promise under test (engine.c, SPEC section 4): a command whose failure comes before
 * any write is answered alone (ServiceUnavailable, or InternalError for damaged data)
 * and the batch goes on; a failure after a write, or while the batch is being finished,
 * fails the whole batch and stores nothing of it. A failure is never memoized under its
 * ClientToken: the same token is decided again once the store works. An order id taken
 * by a command that failed is given back.
 *
 * Method: the demo fixture, batches of renewals. Where a fault must hit the k-th call of
 * some LMDB function, the calls are first counted on a twin engine that runs the same
 * batch (the engine is deterministic), so the tests do not hard-code call counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>

#include <lmdb.h>

#include "support/faulty_lmdb.h"
#include "support/harness.h"
#include "support/tempdir.h"

#define FIXTURE "fixtures/demo.json"
#define BATCH_MAX 4u
#define EXPIRED_AT_MS 1797465600000LL   /* 2026-12-17T00:00:00Z: i-acc0002 has expired */

static harness h;

static void open_demo(void)
{
    harness_open(&h, FIXTURE);
}

static void close_demo(void)
{
    faulty_lmdb_reset();
    harness_close(&h);
}

TestSuite(cov_token_faults, .init = open_demo, .fini = close_demo, .timeout = 60);

/* A RenewInstance of one month with a ClientToken; params must outlive the command. */
static billord_command renew_command(harness *on, billord_param params[3], const char *instance,
                                     const char *token)
{
    return harness_command(on, ACCOUNT_MAIN, "RenewInstance", params, "InstanceId", instance,
                           "Period", "1", "ClientToken", token, NULL);
}

static billord_outcome renew(const char *instance, const char *token)
{
    return harness_call(&h, ACCOUNT_MAIN, "RenewInstance", "InstanceId", instance, "Period", "1",
                        "ClientToken", token, NULL);
}

/*
 * How many calls of the ops in op_mask the batch makes on a fresh demo engine; the batch
 * must succeed there. (Commands are plain data: the same ones can be submitted twice.)
 */
static uint64_t calls_of_batch(const billord_command *commands, size_t count,
                               uint64_t applied_lsn, uint32_t op_mask)
{
    harness twin;
    harness_open(&twin, FIXTURE);
    billord_outcome outcomes[BATCH_MAX];
    faulty_lmdb_count(op_mask);
    billord_err err = billord_engine_submit(twin.engine, commands, count, applied_lsn, NULL,
                                            outcomes, NULL);
    uint64_t calls = faulty_lmdb_calls();
    faulty_lmdb_reset();
    cr_assert(eq(int, err, BILLORD_OK));
    for (size_t i = 0; i < count; i++) {
        cr_assert(eq(int, outcomes[i].code, BILLORD_API_OK), "twin command %zu", i);
    }
    harness_close(&twin);
    cr_assert(calls > 0);
    return calls;
}

/* What a failed batch must leave: every command answered with the failure, nothing stored. */
static void expect_batch_failed(const billord_command *commands, const billord_outcome *outcomes,
                                size_t count, billord_api_code code)
{
    for (size_t i = 0; i < count; i++) {
        cr_expect(eq(int, outcomes[i].code, code), "command %zu", i);
        cr_expect(not(outcomes[i].has_order_id), "command %zu", i);
        cr_expect(not(outcomes[i].idempotent_replay), "command %zu", i);
        cr_expect(eq(str, (char *)outcomes[i].request_id, (char *)commands[i].request_id));
    }
}

/* Submit the batch to h's engine with the call_index-th call of the ops in op_mask failing
 * with mdb_rc: the batch answers err and the fault was met once (then it is disarmed). */
static void submit_with_fault(const billord_command *commands, size_t count, uint64_t applied_lsn,
                              uint64_t call_index, uint32_t op_mask, int mdb_rc, billord_err err,
                              billord_outcome *outcomes)
{
    faulty_lmdb_fail_at(call_index, op_mask, mdb_rc, false);
    billord_err got = billord_engine_submit(h.engine, commands, count, applied_lsn, NULL, outcomes,
                                            NULL);
    uint64_t failures = faulty_lmdb_failures();
    faulty_lmdb_reset();
    cr_assert(eq(int, got, err), "call %llu", (unsigned long long)call_index);
    cr_assert(eq(u64, failures, 1), "call %llu", (unsigned long long)call_index);
}

/* The engine's clock (the time of the last committed batch). */
static int64_t engine_clock_ms(void)
{
    int64_t clock = 0;
    cr_assert(eq(int, billord_engine_clock_ms(h.engine, &clock), BILLORD_OK));
    return clock;
}

/* ---- a failure before any write: this command only --------------------------------- */

typedef struct read_fault {
    int mdb_rc;
    billord_api_code code;
} read_fault;

ParameterizedTestParameters(cov_token_faults, a_token_read_that_fails_answers_that_command_only)
{
    static read_fault faults[] = {
        {EIO, BILLORD_API_SERVICE_UNAVAILABLE},
        {ENOSPC, BILLORD_API_SERVICE_UNAVAILABLE},
        {ENOMEM, BILLORD_API_SERVICE_UNAVAILABLE},
        {MDB_MAP_FULL, BILLORD_API_SERVICE_UNAVAILABLE},
        {MDB_CORRUPTED, BILLORD_API_INTERNAL_ERROR},
    };
    return cr_make_param_array(read_fault, faults, sizeof faults / sizeof faults[0]);
}

ParameterizedTest(read_fault *fault, cov_token_faults,
                  a_token_read_that_fails_answers_that_command_only)
{
    int64_t orders_before = harness_order_count(&h);
    billord_param params[2][3];
    billord_command commands[2] = {
        renew_command(&h, params[0], "i-acc0001", "tok-a"),
        renew_command(&h, params[1], "i-acc0005", "tok-b"),
    };
    billord_outcome outcomes[2];
    /* The first read of a command with a token is its token record. */
    submit_with_fault(commands, 2, 0, 1, FAULTY_LMDB_MASK(FAULTY_LMDB_GET), fault->mdb_rc,
                      BILLORD_OK, outcomes);
    cr_expect(eq(int, outcomes[0].code, fault->code));
    cr_expect(not(outcomes[0].has_order_id));
    cr_expect(not(outcomes[0].idempotent_replay));
    cr_expect(eq(int, outcomes[1].code, BILLORD_API_OK));   /* the batch went on */
    cr_expect(outcomes[1].has_order_id);
    cr_expect(eq(i64, harness_order_count(&h), orders_before + 1));
    cr_expect(eq(i64, harness_token_count(&h), 1));         /* the failure is not memoized */

    /* The same token is decided again: a new order, not a replay of the failure. */
    billord_outcome again = renew("i-acc0001", "tok-a");
    cr_expect(eq(int, again.code, BILLORD_API_OK));
    cr_expect(not(again.idempotent_replay));
    cr_expect(eq(u64, again.order_id, outcomes[1].order_id + 1));
    cr_expect(eq(i64, harness_order_count(&h), orders_before + 2));
}

Test(cov_token_faults, a_read_that_fails_after_the_order_id_is_taken_gives_the_id_back)
{
    billord_outcome first = renew("i-acc0009", "tok-0");
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    int64_t orders_before = harness_order_count(&h);
    int64_t balance_before = harness_account(&h, ACCOUNT_MAIN).balance_micros;
    billord_param params[2][3];
    billord_command commands[2] = {
        renew_command(&h, params[0], "i-acc0001", "tok-a"),
        renew_command(&h, params[1], "i-acc0005", "tok-b"),
    };
    billord_outcome outcomes[2];
    /* Reads of a renewal: its token, the instance, the account, the price; then the order
     * id is taken and the payment rereads the account (the fifth read). */
    submit_with_fault(commands, 2, 0, 5, FAULTY_LMDB_MASK(FAULTY_LMDB_GET), EIO, BILLORD_OK,
                      outcomes);
    cr_expect(eq(int, outcomes[0].code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(not(outcomes[0].has_order_id));
    cr_expect(eq(int, outcomes[1].code, BILLORD_API_OK));
    /* The second renewal got the id the first one had taken. */
    cr_expect(eq(u64, outcomes[1].order_id, first.order_id + 1));
    cr_expect(eq(i64, harness_order_count(&h), orders_before + 1));
    cr_expect(eq(i64, harness_token_count(&h), 2));
    cr_expect(harness_account(&h, ACCOUNT_MAIN).balance_micros < balance_before);

    billord_outcome again = renew("i-acc0001", "tok-a");
    cr_expect(eq(int, again.code, BILLORD_API_OK));
    cr_expect(not(again.idempotent_replay));
    cr_expect(eq(u64, again.order_id, first.order_id + 2));
}

/* ---- a failure after a write: the whole batch --------------------------------------- */

/* Every write of a renewal (order, events, account, coupons, instance, schedule, the token
 * record and its expiry row) failing in turn: the batch fails and nothing of it stays. */
Test(cov_token_faults, a_write_that_fails_fails_the_whole_batch)
{
    billord_param params[2][3];
    billord_command commands[2] = {
        renew_command(&h, params[0], "i-acc0001", "tok-a"),
        renew_command(&h, params[1], "i-acc0005", "tok-b"),
    };
    uint32_t put = FAULTY_LMDB_MASK(FAULTY_LMDB_PUT);
    uint64_t batch_puts = calls_of_batch(commands, 2, 0, put);
    /* What the batch answers where nothing fails. */
    billord_outcome reference[2];
    harness twin;
    harness_open(&twin, FIXTURE);
    harness_batch(&twin, commands, 2, reference);
    harness_close(&twin);
    /* The first renewal's puts, the second's, then the batch's counters. */
    for (uint64_t k = 1; k <= batch_puts; k++) {
        harness_close(&h);
        harness_open(&h, FIXTURE);
        int64_t orders_before = harness_order_count(&h);
        int64_t balance_before = harness_account(&h, ACCOUNT_MAIN).balance_micros;
        int64_t clock_before = engine_clock_ms();
        billord_outcome outcomes[2];
        submit_with_fault(commands, 2, 0, k, put, EIO, BILLORD_E_IO, outcomes);
        expect_batch_failed(commands, outcomes, 2, BILLORD_API_SERVICE_UNAVAILABLE);
        cr_expect(eq(i64, harness_order_count(&h), orders_before), "put %llu",
                  (unsigned long long)k);
        cr_expect(eq(i64, harness_token_count(&h), 0));
        cr_expect(eq(i64, harness_account(&h, ACCOUNT_MAIN).balance_micros, balance_before));
        cr_expect(eq(i64, engine_clock_ms(), clock_before));
        /* The same batch again: decided afresh, with the same order ids as the first try
         * would have had. */
        billord_outcome retried[2];
        harness_batch(&h, commands, 2, retried);
        for (size_t i = 0; i < 2; i++) {
            cr_expect(eq(int, retried[i].code, BILLORD_API_OK));
            cr_expect(not(retried[i].idempotent_replay));
            cr_expect(eq(u64, retried[i].order_id, reference[i].order_id));
        }
        cr_expect(eq(i64, harness_order_count(&h), orders_before + 2));
    }
}

/* ---- ticks --------------------------------------------------------------------------- */

static billord_command tick_command(int64_t now_ms)
{
    billord_command tick = harness_command(&h, "", "", NULL, NULL);
    tick.kind = BILLORD_COMMAND_TICK;
    tick.now_ms = now_ms;
    return tick;
}

Test(cov_token_faults, a_tick_whose_first_read_fails_answers_only_the_tick)
{
    billord_command tick = tick_command(EXPIRED_AT_MS);
    billord_outcome outcome;
    /* The tick's first read (the schedule) fails; the batch's own bookkeeping runs after. */
    submit_with_fault(&tick, 1, 0, 1, FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_OPEN), EIO, BILLORD_OK,
                      &outcome);
    cr_expect(eq(int, outcome.code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(not(outcome.tick_more_due));
    cr_expect(eq(int, harness_instance(&h, "i-acc0002").status, BILLORD_STATUS_RUNNING));
    /* Time has passed all the same (the batch committed); the next tick does the work. */
    cr_expect(eq(i64, engine_clock_ms(), EXPIRED_AT_MS));
    harness_tick(&h, EXPIRED_AT_MS);
    cr_expect(eq(int, harness_instance(&h, "i-acc0002").status, BILLORD_STATUS_EXPIRED));
}

Test(cov_token_faults, a_tick_whose_write_fails_fails_its_batch)
{
    int64_t clock_before = engine_clock_ms();
    billord_command tick = tick_command(EXPIRED_AT_MS);
    billord_outcome outcome;
    submit_with_fault(&tick, 1, 0, 1, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), EIO, BILLORD_E_IO,
                      &outcome);
    expect_batch_failed(&tick, &outcome, 1, BILLORD_API_SERVICE_UNAVAILABLE);
    cr_expect(not(outcome.tick_more_due));
    cr_expect(eq(int, harness_instance(&h, "i-acc0002").status, BILLORD_STATUS_RUNNING));
    cr_expect(eq(i64, engine_clock_ms(), clock_before));   /* the tick's time was taken back too */
    harness_tick(&h, EXPIRED_AT_MS);
    cr_expect(eq(int, harness_instance(&h, "i-acc0002").status, BILLORD_STATUS_EXPIRED));
}

/* ---- finishing a batch: token pruning and the engine's counters ----------------------- */

static void expect_nothing_of_the_batch(int64_t orders_before, int64_t clock_before)
{
    cr_expect(eq(i64, harness_order_count(&h), orders_before));
    cr_expect(eq(i64, harness_token_count(&h), 0));
    cr_expect(eq(i64, engine_clock_ms(), clock_before));
    uint64_t lsn = 99;
    cr_assert(eq(int, billord_engine_applied_lsn(h.engine, &lsn), BILLORD_OK));
    cr_expect(eq(u64, lsn, 0));
}

/*
 * A renewal a second on, as a batch of its own with applied_lsn, whose from_last-th last
 * call of the ops in op_mask (counted on a twin) fails with mdb_rc while the batch is
 * finished: the batch answers err, the renewal code, and nothing of it stays. Returns the
 * command (its params in params).
 */
static billord_command renewal_failing_as_its_batch_ends(billord_param params[3],
                                                         uint64_t applied_lsn, uint32_t op_mask,
                                                         uint64_t from_last, int mdb_rc,
                                                         billord_err err, billord_api_code code)
{
    billord_command command = renew_command(&h, params, "i-acc0001", "tok-a");
    command.now_ms = h.now_ms + 1000;
    uint64_t calls = calls_of_batch(&command, 1, applied_lsn, op_mask);
    int64_t orders_before = harness_order_count(&h);
    int64_t clock_before = engine_clock_ms();
    billord_outcome outcome;
    submit_with_fault(&command, 1, applied_lsn, calls - from_last, op_mask, mdb_rc, err,
                      &outcome);
    expect_batch_failed(&command, &outcome, 1, code);
    expect_nothing_of_the_batch(orders_before, clock_before);
    return command;
}

Test(cov_token_faults, token_pruning_that_fails_fails_the_batch)
{
    billord_param params[3];
    /* Pruning opens the batch's last cursor. */
    renewal_failing_as_its_batch_ends(params, 0, FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_OPEN), 0,
                                      MDB_CORRUPTED, BILLORD_E_CORRUPT,
                                      BILLORD_API_INTERNAL_ERROR);
}

/* The batch's last four writes: next_order_id, next_event_seq, clock_ms, applied_lsn. */
ParameterizedTestParameters(cov_token_faults, a_counter_that_cannot_be_stored_fails_the_batch)
{
    static uint64_t from_last[] = {3, 2, 1, 0};
    return cr_make_param_array(uint64_t, from_last, sizeof from_last / sizeof from_last[0]);
}

ParameterizedTest(uint64_t *from_last, cov_token_faults,
                  a_counter_that_cannot_be_stored_fails_the_batch)
{
    billord_param params[3];
    billord_command command = renewal_failing_as_its_batch_ends(
        params, 7, FAULTY_LMDB_MASK(FAULTY_LMDB_PUT), *from_last, ENOSPC, BILLORD_E_DISK_FULL,
        BILLORD_API_SERVICE_UNAVAILABLE);
    /* The order id was given back: the retry takes the one a fresh engine would. */
    billord_outcome reference;
    harness twin;
    harness_open(&twin, FIXTURE);
    harness_batch(&twin, &command, 1, &reference);
    harness_close(&twin);
    billord_outcome retried;
    cr_assert(eq(int, billord_engine_submit(h.engine, &command, 1, 7, NULL, &retried, NULL),
                 BILLORD_OK));
    cr_expect(eq(int, retried.code, BILLORD_API_OK));
    cr_expect(eq(u64, retried.order_id, reference.order_id));
    uint64_t lsn = 0;
    cr_assert(eq(int, billord_engine_applied_lsn(h.engine, &lsn), BILLORD_OK));
    cr_expect(eq(u64, lsn, 7));
}

/* ---- reads --------------------------------------------------------------------------- */

Test(cov_token_faults, a_read_submitted_with_the_writes_whose_query_fails)
{
    billord_param params[1];
    billord_command read = harness_command(&h, ACCOUNT_MAIN, "DescribeOrders", params, NULL);
    billord_param renew_params[3];
    billord_command commands[2] = {read, renew_command(&h, renew_params, "i-acc0001", "tok-a")};
    billord_outcome outcomes[2];
    /* The query's reads fail; the batch's other commands and its commit do not. */
    submit_with_fault(commands, 2, 0, 1,
                      FAULTY_LMDB_MASK(FAULTY_LMDB_CURSOR_OPEN) | FAULTY_LMDB_MASK(FAULTY_LMDB_GET),
                      EIO, BILLORD_OK, outcomes);
    cr_expect(eq(int, outcomes[0].code, BILLORD_API_SERVICE_UNAVAILABLE));
    cr_expect(eq(int, outcomes[1].code, BILLORD_API_OK));
    cr_expect(outcomes[1].has_order_id);
}

Test(cov_token_faults, reads_whose_transaction_cannot_begin)
{
    uint32_t begin = FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN);
    billord_param params[1];
    billord_command read = harness_command(&h, ACCOUNT_MAIN, "DescribeOrders", params, NULL);
    billord_outcome outcome;
    json_t *fields = NULL;
    faulty_lmdb_fail_at(1, begin, EIO, false);
    cr_expect(eq(int, billord_engine_query(h.engine, &read, &outcome, &fields), BILLORD_E_IO));
    cr_expect(fields == NULL);

    char account[BILLORD_ACCOUNT_ID_BYTES_MAX + 1] = "";
    char secret[BILLORD_ACCESS_KEY_SECRET_BYTES_MAX + 1] = "";
    faulty_lmdb_fail_at(1, begin, EIO, false);
    cr_expect(eq(int, billord_engine_access_key_find(h.engine, "LTAI5tDemoKey0001", account,
                                                     secret),
                 BILLORD_E_IO));
    cr_expect(eq(str, account, ""));

    uint64_t lsn = 5;
    faulty_lmdb_fail_at(1, begin, EIO, false);
    cr_expect(eq(int, billord_engine_applied_lsn(h.engine, &lsn), BILLORD_E_IO));

    char path[TEMPDIR_PATH_BYTES];
    tempdir_join(path, h.dir, "snapshot.mdb");
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    faulty_lmdb_fail_at(1, begin, ENOMEM, false);
    cr_expect(eq(int, billord_engine_snapshot(h.engine, fd, &lsn), BILLORD_E_NOMEM));
    cr_expect(eq(u64, faulty_lmdb_failures(), 1));
    faulty_lmdb_reset();
    struct stat st;
    cr_assert(eq(int, fstat(fd, &st), 0));
    cr_expect(eq(i64, (int64_t)st.st_size, 0));     /* nothing was copied */
    close(fd);

    /* Once LMDB works the same calls answer. */
    cr_expect(eq(int, billord_engine_query(h.engine, &read, &outcome, &fields), BILLORD_OK));
    cr_expect(eq(int, outcome.code, BILLORD_API_OK));
    json_decref(fields);
    cr_expect(eq(int, billord_engine_access_key_find(h.engine, "LTAI5tDemoKey0001", account,
                                                     secret),
                 BILLORD_OK));
    cr_expect(eq(str, account, ACCOUNT_MAIN));
    cr_expect(eq(str, secret, "demo-secret-0001"));
}

/* ---- opening ------------------------------------------------------------------------- */

static billord_err open_engine(billord_engine **out_engine)
{
    billord_engine_config config = {.data_dir = h.dir, .map_bytes = 64ULL << 20};
    return billord_engine_open(&config, out_engine);
}

/* How many calls of the ops in op_mask opening the demo store makes. */
static uint64_t calls_of_open(uint32_t op_mask)
{
    billord_engine *engine = NULL;
    faulty_lmdb_count(op_mask);
    billord_err err = open_engine(&engine);
    uint64_t calls = faulty_lmdb_calls();
    faulty_lmdb_reset();
    cr_assert(eq(int, err, BILLORD_OK));
    billord_engine_close(engine);
    return calls;
}

Test(cov_token_faults, an_engine_whose_counters_cannot_be_read_does_not_open)
{
    billord_outcome first = renew("i-acc0001", "tok-a");
    cr_assert(eq(int, first.code, BILLORD_API_OK));
    billord_engine_close(h.engine);
    h.engine = NULL;
    /* The last transaction opening begins reads the counters, with the last three reads:
     * next_order_id, next_event_seq, clock_ms. */
    uint32_t begin = FAULTY_LMDB_MASK(FAULTY_LMDB_TXN_BEGIN);
    uint32_t get = FAULTY_LMDB_MASK(FAULTY_LMDB_GET);
    uint64_t begins = calls_of_open(begin);
    uint64_t gets = calls_of_open(get);
    cr_assert(gets >= 3);
    struct {
        uint32_t mask;
        uint64_t at;
    } faults[] = {{begin, begins}, {get, gets - 2}, {get, gets - 1}, {get, gets}};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        billord_engine *engine = NULL;
        faulty_lmdb_fail_at(faults[i].at, faults[i].mask, EIO, false);
        cr_expect(eq(int, open_engine(&engine), BILLORD_E_IO), "fault %zu", i);
        cr_expect(eq(u64, faulty_lmdb_failures(), 1), "fault %zu", i);
        cr_expect(engine == NULL);
        faulty_lmdb_reset();
    }
    /* Nothing was damaged: the engine opens and goes on from where it was. */
    harness_reopen(&h);
    billord_outcome replay = renew("i-acc0001", "tok-a");
    cr_expect(replay.idempotent_replay);
    cr_expect(eq(u64, replay.order_id, first.order_id));
    billord_outcome next = renew("i-acc0001", "tok-b");
    cr_expect(eq(u64, next.order_id, first.order_id + 1));
}
