/*
 * pending.c: the tokens of commands accepted into the batch being applied and not
 * yet durable. A second command with such a token is answered LastTokenProcessing at
 * once, without touching the store (SPEC section 4). Open addressing from the XXH3-64
 * of (account, token), keys compared in full (two keys with one hash are two entries);
 * the table holds at most one batch in twice as many slots, so it never fills and an
 * empty slot ends every probe.
 */
#include <string.h>

#include <xxhash.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

static uint32_t home_slot(const char *account, const char *token)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = billord__key_pair(key, sizeof key, account, token);
    return (uint32_t)XXH3_64bits(key, key_bytes) & (ENGINE_PENDING_SLOTS - 1);
}

void billord__pending_clear(engine_pending *pending)
{
    if (pending->used_count != 0) {
        memset(pending->tokens, 0, sizeof pending->tokens);
        pending->used_count = 0;
    }
}

/* The slot holding (account, token), or the empty slot where it would go. */
static uint32_t slot_of(const engine_pending *pending, const char *account, const char *token)
{
    static_assert(ENGINE_PENDING_SLOTS > BILLORD_BATCH_COMMANDS_MAX, "an empty slot ends a probe");
    uint32_t slot = home_slot(account, token);
    while (pending->tokens[slot] != NULL &&
           (strcmp(pending->tokens[slot], token) != 0 ||
            strcmp(pending->commands[slot]->account, account) != 0)) {
        slot = (slot + 1) & (ENGINE_PENDING_SLOTS - 1);
    }
    return slot;
}

bool billord__pending_contains(const engine_pending *pending, const char *account,
                               const char *token)
{
    return pending->tokens[slot_of(pending, account, token)] != NULL;
}

void billord__pending_add(engine_pending *pending, const billord_command *command,
                          const char *token)
{
    BILLORD_ASSERT(pending->used_count < BILLORD_BATCH_COMMANDS_MAX);
    uint32_t slot = slot_of(pending, command->account, token);
    if (pending->tokens[slot] != NULL) {
        return;
    }
    pending->commands[slot] = command;
    pending->tokens[slot] = token;
    pending->used_count++;
}
