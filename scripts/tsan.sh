#!/usr/bin/env bash
# Builds billord with ThreadSanitizer in build-tsan/ (-DBILLORD_TSAN=ON; BILLORD_TSAN_BUILD
# names another dir) and runs, each with halt_on_error or a check of the reports:
#   1. the server under load: build-tsan/billord serve, driven by a TSan-built
#      billord-httpbench (keep-alive connections, new/replayed/mismatched ClientTokens):
#      HTTP threads, the nonce store, the db queue and its group-committing writer, the
#      log, the request log and the lifecycle scheduler all run at once;
#   2. the stress programs tests/stress/stress_*.c (plain C, no Criterion): many threads
#      through the durable db (new, repeated, mismatched and in-flight ClientTokens, a full
#      queue, reads, lifecycle ticks, the snapshotter) and close while callers wait in the
#      queue; each checks every answer and, after reopening, every order;
#   3. the Criterion suites that exercise threads (test_db, test_crash, test_server,
#      test_lifecycle_durable). Criterion 2.4 cannot start under TSan by itself: its
#      sandbox maps an arena at a random fixed address that TSan's memory layout mostly
#      refuses (Snaipe/Criterion#274). tests/stress/tsan_criterion_arena.c, preloaded into
#      these suites only, makes that address one TSan allows (see that file). test_crash
#      forks a child that starts threads from a process that already runs threads (as
#      Criterion's test processes do), which TSan refuses unless die_after_fork=0; it runs
#      fewer kill cycles here (BILLORD_CRASH_CYCLES=20 per LMDB mode, not 100 and 50).
# Any TSan report fails; tests/tsan.supp lists what is suppressed (libraries only), and why.
# About 2 minutes on 2 cores once built (server 2 x 10 s, stress programs about 10 s, suites
# about 35 s).
# Usage: scripts/tsan.sh [--seconds N]   (load time per server run, default 10)
# Prints "tsan: N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
build=${BILLORD_TSAN_BUILD:-build-tsan}
seconds=10
if [ "${1:-}" = "--seconds" ]; then seconds=$2; fi
suites=()
for suite in test_db test_crash test_server test_lifecycle_durable; do
  [ -f "tests/unit/$suite.c" ] && suites+=("$suite")
done
stress=()
for source in tests/stress/stress_*.c; do
  [ -f "$source" ] && stress+=("$(basename "$source" .c)")
done

echo "== tsan: configure and build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBILLORD_TSAN=ON >/dev/null
cmake --build "$build" -j"$jobs" --target billord billord-httpbench "${stress[@]}" "${suites[@]}"
arena_shim="$PWD/$build/libtsan_criterion_arena.so"
${CC:-cc} -O2 -Wall -Wextra -Werror -shared -fPIC -o "$arena_shim" tests/stress/tsan_criterion_arena.c

tsan_common="second_deadlock_stack=1 history_size=4 suppressions=$PWD/tests/tsan.supp"
total_passed=0
total_failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== tsan: billord serve under billord-httpbench load (${seconds}s per run)"
for run in "8 replay=30,mismatch=10" "32 replay=50,mismatch=20"; do
  set -- $run
  status=0
  # exitcode=66: the server exits with it at SIGTERM when TSan reported anything, which
  # httpbench checks; the reports themselves go to the log.
  TSAN_OPTIONS="halt_on_error=0 exitcode=66 $tsan_common" \
    timeout 300 "$build/billord-httpbench" --server "$build/billord" --connections "$1" \
    --seconds "$seconds" --instances 50 --mix "$2" >"$log" 2>&1 || status=$?
  races=$(grep -a -c 'WARNING: ThreadSanitizer' "$log" || true)
  rate=$(grep -a -o 'http_req_per_s=[0-9]*' "$log" | tail -1)
  if [ "$status" -eq 0 ] && [ "$races" -eq 0 ]; then
    total_passed=$((total_passed + 1))
    printf '   %-28s ok     (%s connections, %s, %s)\n' "serve+httpbench" "$1" "$2" "${rate:-?}"
  else
    total_failed=$((total_failed + 1))
    printf '   %-28s FAILED (%s connections, %s: exit %d, %d tsan reports)\n' "serve+httpbench" "$1" "$2" "$status" "$races"
    grep -a -v '^\s*$' "$log" | head -200
  fi
done

echo "== tsan: stress programs (tests/stress)"
for program in "${stress[@]}"; do
  status=0
  started=$SECONDS
  # --seconds 2: long enough for every path to be seen several times under TSan's slowdown.
  TSAN_OPTIONS="halt_on_error=1 $tsan_common" BILLORD_SOURCE_DIR="$PWD" \
    timeout 600 "$build/$program" --seconds 2 >"$log" 2>&1 || status=$?
  races=$(grep -a -c 'WARNING: ThreadSanitizer' "$log" || true)
  if [ "$status" -eq 0 ] && [ "$races" -eq 0 ]; then
    total_passed=$((total_passed + 1))
    printf '   %-28s ok     (%d s)\n' "$program" "$((SECONDS - started))"
  else
    total_failed=$((total_failed + 1))
    printf '   %-28s FAILED (exit %d, %d tsan reports)\n' "$program" "$status" "$races"
    grep -a -v '^\s*$' "$log" | head -200
  fi
done

echo "== tsan: concurrent Criterion suites"
for suite in "${suites[@]}"; do
  status=0
  started=$SECONDS
  options="halt_on_error=1 $tsan_common"
  if [ "$suite" = "test_crash" ]; then options="die_after_fork=0 $options"; fi
  # --jobs 2: TSan slows a test down 5-15x, which the suites' timeouts allow for two at a
  # time (the slowest test_server tests mostly wait for the server's own timers).
  (cd "$build" && LD_PRELOAD="$arena_shim" TSAN_OPTIONS="$options" BILLORD_SOURCE_DIR="$PWD/.." \
    BILLORD_BUILD_DIR="$PWD" BILLORD_CRASH_CYCLES=20 \
    timeout 900 "./$suite" --jobs 2 --short-filename) >"$log" 2>&1 || status=$?
  synthesis=$(grep -a 'Synthesis:' "$log" | tail -1 || true)
  passed=$(echo "$synthesis" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
  failed=$(echo "$synthesis" | sed -n 's/.*Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2/p' | awk '{print $1 + $2}')
  passed=${passed:-0}
  failed=${failed:-0}
  races=$(grep -a -c 'WARNING: ThreadSanitizer' "$log" || true)
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  if [ "$races" -gt 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  # A suite that ran no test (Criterion could not start) fails: it would hide every race.
  if [ -z "$synthesis" ] || [ "$passed" -eq 0 ]; then failed=$((failed > 0 ? failed : 1)); fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  printf '   %-28s %5s passed %3s failed %3s tsan reports (%d s)\n' "$suite" "$passed" "$failed" "$races" "$((SECONDS - started))"
  if [ "$failed" -ne 0 ]; then
    grep -a -v '^\s*$' "$log" | head -150
  fi
done
echo "tsan: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
