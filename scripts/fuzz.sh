#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) in build-fuzz/ with clang
# (-DBILLORD_FUZZ=ON: libFuzzer + ASan + UBSan), then for every target:
#   1. regression: runs each input of tests/fuzz/corpus/<target>/ once (-runs=0);
#   2. fuzzing: N seconds of new inputs (default 10), starting from that corpus.
# Fails on any crash, failed assertion, sanitizer report, leak or timeout; the input
# that did it is saved as build-fuzz/artifacts/<target>/crash-* (tests/fuzz/README.md
# says how to add it to the corpus). New inputs go to a scratch directory, never into
# the committed corpus.
# Usage: scripts/fuzz.sh [--seconds N] [--target fuzz_NAME]...
#   --seconds 0 runs the corpus regression only.
# Prints "fuzz: N passed, N failed" (one per target) last.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    --target) only+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds needs a whole number" >&2; exit 2 ;; esac
jobs=$(nproc 2>/dev/null || echo 2)
build=build-fuzz

targets=()
if [ "${#only[@]}" -gt 0 ]; then
  targets=("${only[@]}")
else
  for source in tests/fuzz/fuzz_*.c; do
    targets+=("$(basename "$source" .c)")
  done
fi

echo "== fuzz: configure and build ($build, clang)"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DBILLORD_FUZZ=ON -DBILLORD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

# msgpack-c allocates count * 24 bytes up front for an array header it has not yet
# checked against the input; a corrupt 5-byte value can ask for ~100 GB. Production's
# malloc then fails and the decoder fails closed: let ASan's malloc fail the same way
# (tests/fuzz/README.md, "Known limits").
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
scratch=$(mktemp -d /dev/shm/billord-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$target
  artifacts=$build/artifacts/$target
  mkdir -p "$artifacts" "$scratch/$target" "$corpus"
  log=$scratch/$target.log
  status=0
  "$build/$target" -runs=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" \
    "$corpus" >"$log" 2>&1 || status=$?
  runs=$(grep -a -o 'Done [0-9]* runs' "$log" | tail -1 | awk '{print $2}')
  result="corpus ${runs:-?} inputs"
  if [ "$status" -eq 0 ] && [ "$seconds" -gt 0 ]; then
    "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 "$scratch/$target" "$corpus" \
      >>"$log" 2>&1 || status=$?
    execs=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
    result="$result, ${seconds}s ${execs:-?} execs"
  fi
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    printf '   %-24s ok      (%s)\n' "$target" "$result"
  else
    failed=$((failed + 1))
    printf '   %-24s FAILED  (%s, exit %d)\n' "$target" "$result" "$status"
    grep -a -v '^INFO:\|^#[0-9]' "$log" | tail -40
    ls "$artifacts" 2>/dev/null | sed 's/^/      saved: /'
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
