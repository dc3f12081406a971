/*
 * pending.c: the tokens of commands accepted into the batch being applied and not
 * yet durable. A second command with such a token is answered LastTokenProcessing at
 * once, without touching the store (SPEC section 4). Open addressing on the XXH3-64 of
 * (account, token); the table holds at most one batch, so it never fills.
 */
#include <string.h>

#include <xxhash.h>

#include "core/assert.h"
#include "engine/engine_internal.h"

static uint64_t token_hash(const char *account, const char *token)
{
    uint8_t key[BILLORD_STORE_KEY_BYTES_MAX];
    size_t key_bytes = billord__key_pair(key, sizeof key, account, token);
    uint64_t hash = XXH3_64bits(key, key_bytes);
    return hash != 0 ? hash : 1;    /* 0 marks an empty slot */
}

void billord__pending_clear(engine_pending *pending)
{
    if (pending->used_count != 0) {
        memset(pending->hashes, 0, sizeof pending->hashes);
        pending->used_count = 0;
    }
}

/* The slot holding (account, token), or the empty slot where it would go. */
static uint32_t slot_of(const engine_pending *pending, uint64_t hash, const char *account,
                        const char *token)
{
    uint32_t slot = (uint32_t)hash & (ENGINE_PENDING_SLOTS - 1);
    for (uint32_t probe = 0; probe < ENGINE_PENDING_SLOTS; probe++) {
        if (pending->hashes[slot] == 0) {
            return slot;
        }
        if (pending->hashes[slot] == hash &&
            strcmp(pending->commands[slot]->account, account) == 0 &&
            strcmp(pending->tokens[slot], token) == 0) {
            return slot;
        }
        slot = (slot + 1) & (ENGINE_PENDING_SLOTS - 1);
    }
    BILLORD_ASSERT(!"pending table full");
    return 0;
}

bool billord__pending_contains(const engine_pending *pending, const char *account,
                               const char *token)
{
    uint64_t hash = token_hash(account, token);
    return pending->hashes[slot_of(pending, hash, account, token)] != 0;
}

void billord__pending_add(engine_pending *pending, const billord_command *command,
                          const char *token)
{
    BILLORD_ASSERT(pending->used_count < BILLORD_BATCH_COMMANDS_MAX);
    uint64_t hash = token_hash(command->account, token);
    uint32_t slot = slot_of(pending, hash, command->account, token);
    if (pending->hashes[slot] != 0) {
        return;
    }
    pending->hashes[slot] = hash;
    pending->commands[slot] = command;
    pending->tokens[slot] = token;
    pending->used_count++;
}
