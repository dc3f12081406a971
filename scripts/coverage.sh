#!/usr/bin/env bash
# Line and branch coverage of src/ by the unit suites (gcc --coverage, lcov).
# Builds build-cov/ (-DBILLORD_COVERAGE=ON, Debug), runs every tests/unit suite there,
# then prints line and branch coverage overall and for the areas the hardening issue
# names: the log (src/wal/), the durable db and recovery (src/db/), and the ClientToken
# state machine (src/engine/engine.c, src/engine/pending.c). Per-file figures and an
# HTML report go to build-cov/coverage/ (index.html).
# Usage: scripts/coverage.sh [suite...]    (default: every tests/unit/test_*.c)
#   BILLORD_COV_BUILD=dir  another build directory (default build-cov), so that several
#                          coverage runs of chosen suites can go on at once.
# Exits non-zero only when the build fails or a suite fails: the figures are reported,
# not enforced (see tests/fuzz/README.md, "Coverage").
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
build=${BILLORD_COV_BUILD:-build-cov}
out=$build/coverage
suites=("$@")
if [ "${#suites[@]}" -eq 0 ]; then
  for source in tests/unit/test_*.c; do
    suites+=("$(basename "$source" .c)")
  done
fi

echo "== coverage: configure and build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBILLORD_COVERAGE=ON >/dev/null
# Everything, or the chosen suites and the programs some suites run (billordctl, billord).
if [ "$#" -eq 0 ]; then
  cmake --build "$build" -j"$jobs"
else
  cmake --build "$build" -j"$jobs" --target billord billordctl "${suites[@]}"
fi
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
# The same counts without the branches on BILLORD_ASSERT lines (the "fail" arm of an
# always-on assertion is never taken in a passing run) nor lines marked LCOV_EXCL_BR_LINE.
rc_noassert=("${rc[@]}" --rc 'lcov_excl_br_line=BILLORD_ASSERT|LCOV_EXCL_BR_LINE')
# --initial: a zero baseline of every compiled file, so that a file no suite ever loads
# counts as uncovered rather than vanishing from the totals.
for variant in "" "-noassert"; do
  opts=("${rc[@]}")
  [ -n "$variant" ] && opts=("${rc_noassert[@]}")
  lcov --quiet "${opts[@]}" --capture --initial --directory "$build" --base-directory . \
    --output-file "$out/base$variant.info" 2>/dev/null
  lcov --quiet "${opts[@]}" --capture --directory "$build" --base-directory . \
    --output-file "$out/run$variant.info" 2>/dev/null
  lcov --quiet "${opts[@]}" --add-tracefile "$out/base$variant.info" \
    --add-tracefile "$out/run$variant.info" --output-file "$out/all$variant.info"
done
lcov --quiet "${rc[@]}" --extract "$out/all.info" "$PWD/src/*" --output-file "$out/src.info"
lcov --quiet "${rc[@]}" --extract "$out/all-noassert.info" "$PWD/src/*" \
  --output-file "$out/src-noassert.info"
figure() {   # tracefile, lines|branches
  lcov "${rc[@]}" --summary "$1" 2>&1 | sed -n "s/^ *$2\\.*: *\\([0-9.]*%\\) (\\([0-9]*\\) of \\([0-9]*\\).*/\\1 \\2\\/\\3/p" || true
}
summary() {   # name, tracefile, tracefile without assertion branches
  printf '   %-32s %-18s %-18s %s\n' "$1" "$(figure "$2" lines)" "$(figure "$2" branches)" \
    "$(figure "$3" branches)"
}
area() {   # name, pattern...
  local name=$1 file
  shift
  file=$out/area-$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_')
  local patterns=()
  for p in "$@"; do patterns+=("$PWD/$p"); done
  lcov --quiet "${rc[@]}" --extract "$out/src.info" "${patterns[@]}" \
    --output-file "$file.info" >/dev/null 2>&1 || true
  lcov --quiet "${rc[@]}" --extract "$out/src-noassert.info" "${patterns[@]}" \
    --output-file "$file-noassert.info" >/dev/null 2>&1 || true
  summary "$name" "$file.info" "$file-noassert.info"
}
echo "== coverage (unit suites; gcc --coverage, Debug)"
printf '   %-32s %-18s %-18s %s\n' "" "lines" "branches" "branches w/o asserts"
summary "src/ (overall)" "$out/src.info" "$out/src-noassert.info"
area "src/wal/" "src/wal/*"
area "src/wal/wal_record.c (decoder)" "src/wal/wal_record.c"
area "src/db/ (durable db, recovery)" "src/db/*"
area "recovery (src/db/, wal.c, wal_reader.c)" "src/db/*" "src/wal/wal.c" "src/wal/wal_reader.c"
area "token state machine" "src/engine/engine.c" "src/engine/pending.c"
area "src/engine/" "src/engine/*"
area "src/http/" "src/http/*"
area "src/store/" "src/store/*"
area "src/replay/" "src/replay/*"
area "src/server/" "src/server/*"
lcov "${rc[@]}" --list "$out/src.info" > "$out/files.txt" 2>/dev/null || true
genhtml --quiet "${rc[@]}" --output-directory "$out/html" "$out/src.info" >/dev/null 2>&1 || true
echo "   per file: $out/files.txt; HTML: $out/html/index.html"

# The hardening issue's targets, from the tracefile without assertion arms: 100% of the
# branches of the WAL decoder, of recovery and of the ClientToken state machine; at least
# 90% of the lines of every other file.
targets_missed=0
if [ "${#suites[@]}" -eq "$(ls tests/unit/test_*.c | wc -l)" ]; then
  echo "== coverage targets (every suite; branches without assertion arms)"
  report=$(awk -v root="$PWD/src/" '
    function flush() {
      if (file == "") return
      full = (file ~ /^wal\/wal_record\.c$/ || file ~ /^db\// || file ~ /^wal\/wal\.c$/ ||
              file ~ /^wal\/wal_reader\.c$/ || file ~ /^engine\/engine\.c$/ ||
              file ~ /^engine\/pending\.c$/)
      if (full) {
        status = (branches_hit == branches_found) ? "met" : "MISSED"
        printf "   %-6s %-34s branches %d/%d\n", status, file, branches_hit, branches_found
      } else if (lines_found > 0 && lines_hit * 10 < lines_found * 9) {
        printf "   MISSED %-34s lines %d/%d (below 90%%)\n", file, lines_hit, lines_found
      } else {
        others++
      }
    }
    /^SF:/ { flush(); file = substr($0, 4); sub(root, "", file); lines_found = lines_hit = 0
             branches_found = branches_hit = 0 }
    /^LF:/ { lines_found = substr($0, 4) + 0 }
    /^LH:/ { lines_hit = substr($0, 4) + 0 }
    /^BRF:/ { branches_found = substr($0, 5) + 0 }
    /^BRH:/ { branches_hit = substr($0, 5) + 0 }
    END { flush(); printf "   met    %d other files at 90%% of lines or more\n", others }
  ' "$out/src-noassert.info")
  echo "$report"
  targets_missed=$(printf '%s\n' "$report" | grep -c MISSED || true)
  echo "coverage targets: $targets_missed missed"
fi
echo "coverage: ${#suites[@]} suites, $failed failed"
# BILLORD_COVERAGE_ENFORCE=1: a missed target fails the run too.
if [ "${BILLORD_COVERAGE_ENFORCE:-0}" = "1" ] && [ "$targets_missed" -ne 0 ]; then
  exit 1
fi
[ "$failed" -eq 0 ]
