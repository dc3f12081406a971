#!/usr/bin/env bash
# Line and branch coverage of src/ by the unit suites (gcc --coverage, lcov).
# Builds build-cov/ (-DBILLORD_COVERAGE=ON, Debug), runs every tests/unit suite there,
# then prints line and branch coverage overall and for the areas the hardening issue
# names: the log (src/wal/), the durable db and recovery (src/db/), and the ClientToken
# state machine (src/engine/engine.c, src/engine/pending.c). Per-file figures and an
# HTML report go to build-cov/coverage/ (index.html).
# Usage: scripts/coverage.sh [suite...]    (default: every tests/unit/test_*.c)
# Exits non-zero only when the build fails or a suite fails: the figures are reported,
# not enforced (see tests/fuzz/README.md, "Coverage").
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
build=build-cov
out=$build/coverage
suites=("$@")
if [ "${#suites[@]}" -eq 0 ]; then
  for source in tests/unit/test_*.c; do
    suites+=("$(basename "$source" .c)")
  done
fi

echo "== coverage: configure and build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBILLORD_COVERAGE=ON >/dev/null
cmake --build "$build" -j"$jobs" --target "${suites[@]}"
find "$build" -name '*.gcda' -delete
mkdir -p "$out"

echo "== coverage: run ${#suites[@]} suites"
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for suite in "${suites[@]}"; do
  status=0
  (cd "$build" && BILLORD_SOURCE_DIR="$PWD/.." BILLORD_BUILD_DIR="$PWD" \
    "./$suite" --jobs "$jobs" --short-filename) >"$log" 2>&1 || status=$?
  synthesis=$(grep -a 'Synthesis:' "$log" | tail -1 || true)
  printf '   %-28s %s\n' "$suite" "${synthesis#*Synthesis: }"
  if [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
    grep -a -v '^\[----\]' "$log" | tail -40
  fi
done

rc=(--rc lcov_branch_coverage=1)
lcov --quiet "${rc[@]}" --capture --directory "$build" --base-directory . \
  --output-file "$out/all.info" 2>/dev/null
lcov --quiet "${rc[@]}" --extract "$out/all.info" "$PWD/src/*" --output-file "$out/src.info"
# Assertion failure branches (BILLORD_ASSERT's "fail" arm) are never taken in a passing
# run; they count as untaken branches here, like any other.
area() {   # name, pattern...
  local name=$1
  shift
  local patterns=()
  for p in "$@"; do patterns+=("$PWD/$p"); done
  lcov --quiet "${rc[@]}" --extract "$out/src.info" "${patterns[@]}" \
    --output-file "$out/$name.info" >/dev/null 2>&1 || true
  summary "$name" "$out/$name.info"
}
summary() {   # name, tracefile
  local lines branches
  lines=$(lcov "${rc[@]}" --summary "$2" 2>&1 | sed -n 's/^ *lines\.*: *\(.*\)/\1/p')
  branches=$(lcov "${rc[@]}" --summary "$2" 2>&1 | sed -n 's/^ *branches\.*: *\(.*\)/\1/p')
  printf '   %-34s lines %-30s branches %s\n' "$1" "${lines:-none}" "${branches:-none}"
}
echo "== coverage (unit suites; gcc --coverage, Debug)"
summary "src/ (overall)" "$out/src.info"
area "src/wal/" "src/wal/*"
area "src/wal/wal_record.c (decoder)" "src/wal/wal_record.c"
area "src/db/ (durable db, recovery)" "src/db/*"
area "token state machine" "src/engine/engine.c" "src/engine/pending.c"
area "src/http/" "src/http/*"
area "src/store/" "src/store/*"
area "src/replay/" "src/replay/*"
area "src/server/" "src/server/*"
lcov "${rc[@]}" --list "$out/src.info" > "$out/files.txt" 2>/dev/null || true
genhtml --quiet "${rc[@]}" --output-directory "$out/html" "$out/src.info" >/dev/null 2>&1 || true
echo "   per file: $out/files.txt; HTML: $out/html/index.html"
echo "coverage: ${#suites[@]} suites, $failed failed"
[ "$failed" -eq 0 ]
