/*
 * test_server_nonces.c: how many signature nonces a server remembers (billord serve
 * --nonce-capacity, billord_server_config.nonce_capacity), what it answers when they are
 * all taken, and that a restart with a smaller capacity never lets a captured request be
 * replayed: the nonces that no longer fit are forgotten, so every request signed before
 * the start is refused instead.
 */
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <billord/http_sign.h>
#include <billord/server.h>

#include "support/server_fixture.h"

TestSuite(server_nonces, .timeout = 60);

/* A signed read of the demo fixture with this nonce and timestamp (the same bytes each
 * time: a captured request sent again). */
static char *describe(const char *nonce, const char *timestamp, size_t *out_bytes)
{
    v1_options options = {.nonce = nonce, .timestamp = timestamp};
    return http_v1_request(&options, out_bytes, "Action", "DescribeInstanceAutoRenewAttribute",
                           "InstanceId", "i-acc0001", "RegionId", "cn-hangzhou", NULL);
}

static void expect_describe(const test_server *t, const char *nonce, const char *timestamp,
                            int status, const char *code)
{
    size_t raw_bytes = 0;
    char *raw = describe(nonce, timestamp, &raw_bytes);
    server_expect_built(t, raw, raw_bytes, status, code);
}

/* A signature-checking server remembering capacity nonces; *timestamp is now. */
static void nonce_server_up(test_server *t, uint32_t capacity, char timestamp[21])
{
    server_init(t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    t->config.nonce_capacity = capacity;
    server_start(t);
    http_timestamp(0, timestamp);
}

Test(server_nonces, a_server_remembers_as_many_nonces_as_configured)
{
    test_server t;
    char timestamp[21];
    nonce_server_up(&t, 3, timestamp);
    expect_describe(&t, "nonce-0001", timestamp, 200, "");
    expect_describe(&t, "nonce-0002", timestamp, 200, "");
    expect_describe(&t, "nonce-0003", timestamp, 200, "");
    /* Full: a new nonce cannot be remembered, so it is not accepted. */
    expect_describe(&t, "nonce-0004", timestamp, 503, "ServiceUnavailable");
    /* A replay is still recognised as one. */
    expect_describe(&t, "nonce-0002", timestamp, 400, "SignatureNonceUsed");
    server_down(&t);
}

Test(server_nonces, a_smaller_capacity_after_a_restart_refuses_what_was_signed_before)
{
    test_server t;
    char before[21];
    nonce_server_up(&t, 4, before);
    expect_describe(&t, "captured-1", before, 200, "");
    expect_describe(&t, "captured-2", before, 200, "");
    expect_describe(&t, "captured-3", before, 200, "");
    server_stop(&t);
    sleep(1);   /* the refusal has second resolution, as the SDKs' timestamps */

    /* Same capacity: every nonce comes back; a replay is refused as one. */
    server_start(&t);
    cr_assert(not(server_log_contains(&t, "do not fit")), "%s", server_log_text(&t));
    expect_describe(&t, "captured-3", before, 400, "SignatureNonceUsed");
    server_stop(&t);

    /* Room for one: two nonces are forgotten, so nothing signed before the start is taken,
     * whatever its nonce. What is signed now is judged on its nonce (and the one nonce
     * remembered fills the room until it expires). */
    t.config.nonce_capacity = 1;
    server_start(&t);
    cr_assert(server_log_contains(&t, "2 unexpired signature nonces do not fit the nonce "
                                      "capacity of 1"), "%s", server_log_text(&t));
    expect_describe(&t, "captured-1", before, 400, "InvalidTimeStamp.Expired");
    expect_describe(&t, "captured-3", before, 400, "InvalidTimeStamp.Expired");
    expect_describe(&t, "never-seen", before, 400, "InvalidTimeStamp.Expired");
    char now[21];
    http_timestamp(0, now);
    expect_describe(&t, "fresh-1", now, 503, "ServiceUnavailable");
    server_down(&t);
}

Test(server_nonces, a_capacity_past_the_limit_is_refused_at_start)
{
    test_server t;
    server_init(&t, BILLORD_SERVER_AUTH_SIGNATURE, BILLORD_SERVER_CLOCK_SYSTEM);
    t.config.nonce_capacity = BILLORD_NONCE_GUARD_CAPACITY_MAX + 1u;
    server_expect_start_fails(&t, BILLORD_E_INVALID_ARGUMENT, "nonce capacity");
    server_down(&t);
}
