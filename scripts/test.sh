#!/usr/bin/env bash
# Everything CI runs (about 12 minutes on 2 cores):
#   build/       optimised with debug info: every Criterion suite, then the stress programs
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer: every suite and stress program again
#   the official Node SDKs against build/billord (tests/compat)
#   billord beside PostgreSQL and Redis, smoke mode (bench/peers)
#   fuzz corpus regression + a short fuzz run per decoder, ThreadSanitizer on the server
#   under load, the stress programs and the concurrent suites, and line/branch coverage
#   (tests/fuzz/README.md)
# Environment (local iteration only): BILLORD_TEST_SKIP_ASAN=1, BILLORD_TEST_SKIP_HARDENING=1,
# BILLORD_CI_COVERAGE=0, BILLORD_FUZZ_SECONDS=N.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

run_suites() {
  local build_dir=$1 label=$2
  echo "== $label: configure and build ($build_dir)"
  cmake -S . -B "$build_dir" "${@:3}" >/dev/null
  cmake --build "$build_dir" -j"$jobs"
  echo "== $label: run"
  local log passed failed suite_count=0
  log=$(mktemp)
  for suite in "$build_dir"/test_*; do
    [ -x "$suite" ] || continue
    suite_count=$((suite_count + 1))
    local status=0
    (cd "$build_dir" && BILLORD_SOURCE_DIR="$PWD/.." BILLORD_BUILD_DIR="$PWD" "./$(basename "$suite")" --jobs "$jobs" --short-filename) >"$log" 2>&1 || status=$?
    local synthesis
    synthesis=$(grep -a 'Synthesis:' "$log" | tail -1 || true)
    passed=$(echo "$synthesis" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    failed=$(echo "$synthesis" | sed -n 's/.*Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2/p' | awk '{print $1 + $2}')
    passed=${passed:-0}
    failed=${failed:-0}
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    printf '   %-28s %5s passed %3s failed\n' "$(basename "$suite")" "$passed" "$failed"
    if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
      cat "$log"
    fi
  done
  rm -f "$log"
  echo "== $label: $suite_count suites"
  run_stress "$build_dir" "$label"
}

# The stress programs (tests/stress/stress_*.c, plain C): many threads through the durable
# db, then every answer and order checked; each counts as one test. --seconds 1 keeps them
# to a few seconds per build; scripts/tsan.sh runs them longer under ThreadSanitizer.
run_stress() {
  local build_dir=$1 label=$2 log program status started
  echo "== $label: stress programs (tests/stress)"
  log=$(mktemp)
  for program in "$build_dir"/stress_*; do
    [ -x "$program" ] || continue
    status=0
    started=$SECONDS
    BILLORD_SOURCE_DIR="$PWD" timeout 300 "$program" --seconds 1 >"$log" 2>&1 || status=$?
    if [ "$status" -eq 0 ]; then
      total_passed=$((total_passed + 1))
      printf '   %-28s ok     (%d s)\n' "$(basename "$program")" "$((SECONDS - started))"
    else
      total_failed=$((total_failed + 1))
      printf '   %-28s FAILED (exit %d)\n' "$(basename "$program")" "$status"
      cat "$log"
    fi
  done
  rm -f "$log"
}

total_passed=0
total_failed=0
run_suites build "release" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${BILLORD_TEST_SKIP_ASAN:-0}" != "1" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
    run_suites build-asan "asan+ubsan" -DCMAKE_BUILD_TYPE=Debug -DBILLORD_SANITIZE=ON
fi
echo "== the official SDKs against build/billord (tests/compat)"
if BILLORD_BUILD_DIR=build scripts/compat.sh; then
  echo "   compat: passed"
else
  echo "   compat: FAILED"
  total_failed=$((total_failed + 1))
fi
echo "== billord beside PostgreSQL and Redis, smoke (bench/peers/run-all.sh --smoke)"
if BILLORD_BUILD_DIR=build bench/peers/run-all.sh --smoke; then
  echo "   peers smoke: passed"
else
  echo "   peers smoke: FAILED"
  total_failed=$((total_failed + 1))
fi
# Hardening (tests/fuzz/README.md): every decoder's fuzz corpus plus a short fuzz run,
# ThreadSanitizer on the server under load, and coverage figures (BILLORD_CI_COVERAGE=0 skips).
# BILLORD_TEST_SKIP_HARDENING=1 skips them (local iteration only).
if [ "${BILLORD_TEST_SKIP_HARDENING:-0}" != "1" ]; then
  echo "== fuzz: corpus regression + ${BILLORD_FUZZ_SECONDS:-10}s per target (scripts/fuzz.sh)"
  if scripts/fuzz.sh --seconds "${BILLORD_FUZZ_SECONDS:-10}"; then
    echo "   fuzz: passed"
  else
    echo "   fuzz: FAILED"
    total_failed=$((total_failed + 1))
  fi
  echo "== ThreadSanitizer (scripts/tsan.sh)"
  if scripts/tsan.sh; then
    echo "   tsan: passed"
  else
    echo "   tsan: FAILED"
    total_failed=$((total_failed + 1))
  fi
  if [ "${BILLORD_CI_COVERAGE:-1}" = "1" ]; then
    echo "== coverage (scripts/coverage.sh)"
    if scripts/coverage.sh; then
      echo "   coverage: passed"
    else
      echo "   coverage: FAILED"
      total_failed=$((total_failed + 1))
    fi
  fi
fi
echo "tests: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
