/*
 * nonce_guard.c: the fixed-capacity set of recently seen signature nonces.
 *
 * Layout: a ring of entries in insertion order (the oldest at ring_head), and
 * an open-addressing table (linear probing, at most half full) whose slots
 * hold ring positions + 1, 0 being empty. Eviction takes the ring's head once
 * it has expired and removes its slot with backward-shift deletion, so the
 * table never needs tombstones and a lookup stops at the first empty slot.
 *
 * Promise: a nonce is refused as replayed for as long as it is stored, and a
 * stored nonce is only dropped once its expiry has passed; with no room, the
 * guard says "full" instead of forgetting an unexpired nonce.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/assert.h"
#include <billord/http_sign.h>

#define SLOT_EMPTY 0u

typedef struct nonce_entry {
    uint8_t digest[BILLORD_NONCE_DIGEST_BYTES];
    int64_t expiry_ms;
} nonce_entry;

struct billord_nonce_guard {
    nonce_entry *ring;        /* capacity entries; live ones from ring_head, count of them */
    uint32_t *slots;          /* slot_count slots: ring position + 1, or SLOT_EMPTY */
    uint32_t capacity;
    uint32_t count;
    uint32_t ring_head;
    uint32_t slot_count;      /* a power of two >= 2 * capacity */
    unsigned slot_bits;       /* log2(slot_count) */
    uint64_t seed;
};

static_assert((uint64_t)BILLORD_NONCE_GUARD_CAPACITY_MAX * 2u <= UINT32_MAX,
              "slot indices and ring positions + 1 fit in uint32_t");
static_assert(BILLORD_NONCE_GUARD_CAPACITY_DEFAULT <= BILLORD_NONCE_GUARD_CAPACITY_MAX,
              "the default capacity is allowed");

void billord_nonce_digest(const char *nonce, size_t nonce_bytes,
                          uint8_t out_digest[BILLORD_NONCE_DIGEST_BYTES])
{
    BILLORD_ASSERT(nonce != NULL || nonce_bytes == 0);
    BILLORD_ASSERT(out_digest != NULL);
    static const char empty_nonce[1] = {0};
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_bytes = 0;
    int const ok = EVP_Digest(nonce != NULL ? nonce : empty_nonce, nonce_bytes, digest,
                              &digest_bytes, EVP_sha256(), NULL);
    /* SHA-256 of bytes in memory cannot fail short of a broken OpenSSL. */
    BILLORD_ASSERT(ok == 1);
    BILLORD_ASSERT(digest_bytes >= BILLORD_NONCE_DIGEST_BYTES);
    memcpy(out_digest, digest, BILLORD_NONCE_DIGEST_BYTES);
}

billord_err billord_nonce_guard_create(uint32_t capacity, uint64_t seed,
                                       billord_nonce_guard **out_guard)
{
    BILLORD_ASSERT(out_guard != NULL);
    if (capacity == 0 || capacity > BILLORD_NONCE_GUARD_CAPACITY_MAX) {
        return BILLORD_E_INVALID_ARGUMENT;
    }
    unsigned slot_bits = 1;
    while ((1u << slot_bits) < 2u * capacity) {   /* at most 25 turns */
        slot_bits++;
    }
    billord_nonce_guard *guard = calloc(1, sizeof *guard);
    if (guard == NULL) {
        return BILLORD_E_NOMEM;
    }
    guard->ring = calloc(capacity, sizeof guard->ring[0]);
    guard->slots = calloc((size_t)1u << slot_bits, sizeof guard->slots[0]);
    if (guard->ring == NULL || guard->slots == NULL) {
        billord_nonce_guard_destroy(guard);
        return BILLORD_E_NOMEM;
    }
    guard->capacity = capacity;
    guard->slot_count = 1u << slot_bits;
    guard->slot_bits = slot_bits;
    guard->seed = seed;
    *out_guard = guard;
    return BILLORD_OK;
}

void billord_nonce_guard_destroy(billord_nonce_guard *guard)
{
    if (guard == NULL) {
        return;
    }
    free(guard->ring);
    free(guard->slots);
    free(guard);
}

/* The home slot: the digest is uniform, and the secret seed keeps clients from aiming. */
static uint32_t slot_home(const billord_nonce_guard *guard,
                          const uint8_t digest[BILLORD_NONCE_DIGEST_BYTES])
{
    uint64_t word = 0;
    memcpy(&word, digest, sizeof word);
    word ^= guard->seed;
    word *= 0x9E3779B97F4A7C15ull;   /* Fibonacci hashing: the top bits mix every input bit */
    return (uint32_t)(word >> (64u - guard->slot_bits));
}

static const nonce_entry *slot_entry(const billord_nonce_guard *guard, uint32_t slot_index)
{
    uint32_t const ring_position = guard->slots[slot_index] - 1u;
    BILLORD_ASSERT(ring_position < guard->capacity);
    return &guard->ring[ring_position];
}

/* The slot holding digest, or slot_count when absent. */
static uint32_t slot_find(const billord_nonce_guard *guard,
                          const uint8_t digest[BILLORD_NONCE_DIGEST_BYTES])
{
    uint32_t const mask = guard->slot_count - 1u;
    uint32_t slot_index = slot_home(guard, digest);
    for (uint32_t probe = 0; probe < guard->slot_count; probe++) {
        if (guard->slots[slot_index] == SLOT_EMPTY) {
            return guard->slot_count;
        }
        if (memcmp(slot_entry(guard, slot_index)->digest, digest, BILLORD_NONCE_DIGEST_BYTES) ==
            0) {
            return slot_index;
        }
        slot_index = (slot_index + 1u) & mask;
    }
    return guard->slot_count;   /* unreachable: the table is never full */
}

/* Backward-shift deletion (Knuth 6.4, algorithm R) keeps every probe chain unbroken. */
static void slot_delete(billord_nonce_guard *guard, uint32_t hole)
{
    uint32_t const mask = guard->slot_count - 1u;
    uint32_t next = hole;
    for (uint32_t probe = 0; probe < guard->slot_count; probe++) {
        next = (next + 1u) & mask;
        if (guard->slots[next] == SLOT_EMPTY) {
            break;
        }
        uint32_t const home = slot_home(guard, slot_entry(guard, next)->digest);
        /* The entry at next may fill the hole unless its home lies cyclically in (hole, next]. */
        bool const home_after_hole = next > hole ? (home > hole && home <= next)
                                                 : (home > hole || home <= next);
        if (!home_after_hole) {
            guard->slots[hole] = guard->slots[next];
            hole = next;
        }
    }
    guard->slots[hole] = SLOT_EMPTY;
}

static void evict_expired(billord_nonce_guard *guard, int64_t now_ms)
{
    uint32_t const count_before = guard->count;
    for (uint32_t evicted = 0; evicted < count_before; evicted++) {
        const nonce_entry *oldest = &guard->ring[guard->ring_head];
        if (oldest->expiry_ms > now_ms) {
            return;
        }
        uint32_t const slot_index = slot_find(guard, oldest->digest);
        BILLORD_ASSERT(slot_index < guard->slot_count);
        slot_delete(guard, slot_index);
        guard->ring_head = (guard->ring_head + 1u) % guard->capacity;
        guard->count--;
    }
}

billord_nonce_result billord_nonce_guard_insert_digest(
    billord_nonce_guard *guard, const uint8_t digest[BILLORD_NONCE_DIGEST_BYTES],
    int64_t expiry_ms, int64_t now_ms)
{
    BILLORD_ASSERT(guard != NULL);
    BILLORD_ASSERT(digest != NULL);
    evict_expired(guard, now_ms);
    if (slot_find(guard, digest) < guard->slot_count) {
        return BILLORD_NONCE_REPLAYED;
    }
    if (guard->count == guard->capacity) {
        return BILLORD_NONCE_FULL;
    }
    uint32_t const ring_position = (guard->ring_head + guard->count) % guard->capacity;
    nonce_entry *entry = &guard->ring[ring_position];
    memcpy(entry->digest, digest, BILLORD_NONCE_DIGEST_BYTES);
    entry->expiry_ms = expiry_ms;
    uint32_t const mask = guard->slot_count - 1u;
    uint32_t slot_index = slot_home(guard, digest);
    for (uint32_t probe = 0; probe < guard->slot_count; probe++) {
        if (guard->slots[slot_index] == SLOT_EMPTY) {
            break;
        }
        slot_index = (slot_index + 1u) & mask;
    }
    BILLORD_ASSERT(guard->slots[slot_index] == SLOT_EMPTY);   /* at most half full */
    guard->slots[slot_index] = ring_position + 1u;
    guard->count++;
    return BILLORD_NONCE_ACCEPTED;
}

billord_nonce_result billord_nonce_guard_check_and_insert(billord_nonce_guard *guard,
                                                          const char *nonce, size_t nonce_bytes,
                                                          int64_t expiry_ms, int64_t now_ms)
{
    uint8_t digest[BILLORD_NONCE_DIGEST_BYTES];
    billord_nonce_digest(nonce, nonce_bytes, digest);
    return billord_nonce_guard_insert_digest(guard, digest, expiry_ms, now_ms);
}

uint32_t billord_nonce_guard_count(const billord_nonce_guard *guard)
{
    BILLORD_ASSERT(guard != NULL);
    return guard->count;
}

billord_err billord_nonce_guard_entry(const billord_nonce_guard *guard, uint32_t entry_index,
                                      uint8_t out_digest[BILLORD_NONCE_DIGEST_BYTES],
                                      int64_t *out_expiry_ms)
{
    BILLORD_ASSERT(guard != NULL);
    BILLORD_ASSERT(out_digest != NULL);
    BILLORD_ASSERT(out_expiry_ms != NULL);
    if (entry_index >= guard->count) {
        return BILLORD_E_NOT_FOUND;
    }
    const nonce_entry *entry = &guard->ring[(guard->ring_head + entry_index) % guard->capacity];
    memcpy(out_digest, entry->digest, BILLORD_NONCE_DIGEST_BYTES);
    *out_expiry_ms = entry->expiry_ms;
    return BILLORD_OK;
}
