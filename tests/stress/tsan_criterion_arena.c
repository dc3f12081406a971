/*
 * tsan_criterion_arena.c: lets Criterion 2.4 suites start under ThreadSanitizer.
 * scripts/tsan.sh builds it as a small shared library (no TSan instrumentation) and
 * LD_PRELOADs it into the TSan-built suites only; nothing else links it.
 *
 * Why: Criterion's sandbox (BoxFort 0.1) maps its shared arena with MAP_FIXED at
 *     0x200000000000 + (rand_r(&seed) & 0x3fffff) * 16 MiB
 * and probes each candidate with msync(). On x86-64 ThreadSanitizer reserves most of that
 * range for its shadow and meta memory; only [0x550000000000, 0x568000000000) (where PIE
 * programs load) is application memory there, and TSan's mmap interceptor refuses a fixed
 * mapping anywhere else. So most starts (17 of 20, then 29 of 30, when measured) die
 * with "Could not initialize inheritable arena" or a SEGV in libcriterion
 * (Snaipe/Criterion#274).
 *
 * What: BoxFort's candidate offset is the only rand_r() call in these processes (billord
 * itself never calls it), so this rand_r() returns offsets that land in that application
 * range: 0x350000..0x367eff, i.e. [0x550000000000, 0x567f00000000). It still varies with
 * the seed, and BoxFort's msync() probe still skips a candidate that is in use (the program
 * is mapped in the same range). The arena's address is the only thing that changes; tests
 * run as they would without TSan.
 */
#include <stdint.h>
#include <stdlib.h>

#define ARENA_OFFSET_FIRST 0x350000u        /* (0x550000000000 - 0x200000000000) >> 24 */
#define ARENA_OFFSETS 0x17f00u              /* up to 0x567f00000000, below 0x568000000000 */

int rand_r(unsigned int *seed)
{
    uint32_t x = *seed != 0 ? *seed : 0x9e3779b9u;
    x ^= x << 13;                           /* xorshift32 */
    x ^= x >> 17;
    x ^= x << 5;
    *seed = x;
    return (int)(ARENA_OFFSET_FIRST + x % ARENA_OFFSETS);
}
