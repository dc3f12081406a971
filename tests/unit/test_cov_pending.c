/*
 * test_cov_pending.c: the in-flight ClientToken table of the token state machine
 * (src/engine/pending.c) on its own: adding a token twice keeps one entry, tokens are
 * per account, many tokens probe past each other, and clear empties it.
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
