/*
 * test_cov_pending.c: the in-flight ClientToken table of the token state machine
 * (src/engine/pending.c) on its own: adding a token twice keeps one entry, tokens are
 * per account, many tokens probe past each other, and clear empties it. Keys are compared
 * in full, so entries that share a slot (as two keys with one hash would) stay apart:
 * a full batch of one token under as many accounts, and of as many tokens under one
 * account, fills the table's probe chains with near misses of both kinds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "engine/engine_internal.h"

Test(cov_pending, a_token_added_twice_is_one_entry, .timeout = 5)
{
    engine_pending *pending = calloc(1, sizeof *pending);
    cr_assert(pending != NULL);
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST, .account = "acc-1"};
    billord_command other = {.kind = BILLORD_COMMAND_REQUEST, .account = "acc-2"};
    cr_expect(not(billord__pending_contains(pending, "acc-1", "tok")));
    billord__pending_add(pending, &command, "tok");
    billord__pending_add(pending, &command, "tok");
    cr_expect(eq(u32, pending->used_count, 1));
    cr_expect(billord__pending_contains(pending, "acc-1", "tok"));
    cr_expect(not(billord__pending_contains(pending, "acc-2", "tok")));
    billord__pending_add(pending, &other, "tok");
    cr_expect(eq(u32, pending->used_count, 2));
    billord__pending_clear(pending);
    cr_expect(eq(u32, pending->used_count, 0));
    cr_expect(not(billord__pending_contains(pending, "acc-1", "tok")));
    billord__pending_clear(pending);            /* already empty */
    free(pending);
}

Test(cov_pending, a_full_batch_of_tokens_is_found_again, .timeout = 10)
{
    engine_pending *pending = calloc(1, sizeof *pending);
    cr_assert(pending != NULL);
    static char tokens[BILLORD_BATCH_COMMANDS_MAX][16];
    billord_command command = {.kind = BILLORD_COMMAND_REQUEST, .account = "acc-1"};
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        snprintf(tokens[i], sizeof tokens[i], "t-%u", i);
        billord__pending_add(pending, &command, tokens[i]);
    }
    cr_expect(eq(u32, pending->used_count, BILLORD_BATCH_COMMANDS_MAX));
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        cr_expect(billord__pending_contains(pending, "acc-1", tokens[i]), "token %u", i);
    }
    cr_expect(not(billord__pending_contains(pending, "acc-1", "t-absent")));
    free(pending);
}

Test(cov_pending, one_token_under_a_full_batch_of_accounts, .timeout = 10)
{
    engine_pending *pending = calloc(1, sizeof *pending);
    cr_assert(pending != NULL);
    static char accounts[BILLORD_BATCH_COMMANDS_MAX][24];
    static billord_command commands[BILLORD_BATCH_COMMANDS_MAX];
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        snprintf(accounts[i], sizeof accounts[i], "%016u", 1000000u + i);
        commands[i] = (billord_command){.kind = BILLORD_COMMAND_REQUEST, .account = accounts[i]};
    }
    /* Every even account holds the token; odd accounts and other tokens are absent. */
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i += 2) {
        billord__pending_add(pending, &commands[i], "tok");
    }
    cr_expect(eq(u32, pending->used_count, BILLORD_BATCH_COMMANDS_MAX / 2));
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        cr_expect(eq(int, billord__pending_contains(pending, accounts[i], "tok"), i % 2 == 0),
                  "account %u", i);
        cr_expect(not(billord__pending_contains(pending, accounts[i], "tok2")), "account %u", i);
    }
    /* The other half: every account holds it now, each once. */
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        billord__pending_add(pending, &commands[i], "tok");
    }
    cr_expect(eq(u32, pending->used_count, BILLORD_BATCH_COMMANDS_MAX));
    for (uint32_t i = 0; i < BILLORD_BATCH_COMMANDS_MAX; i++) {
        cr_expect(billord__pending_contains(pending, accounts[i], "tok"), "account %u", i);
    }
    cr_expect(not(billord__pending_contains(pending, "0000000000000000", "tok")));
    free(pending);
}
