#!/usr/bin/env bash
# The engine benchmark matrix of docs/durability.md: store sizes x workloads, one CSV.
# Usage: bench/run-engine-matrix.sh [CSV] (default bench/results/engine.csv).
# Environment: SIZES (default "1000000 10000000"), COMMANDS (default 300000), THREADS (32),
# PIPELINE (32), LMDB (snapshot, as billord serve).
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${1:-bench/results/engine.csv}
for size in ${SIZES:-1000000 10000000}; do
  for mix in "replay=0" "replay=20"; do
    echo "== prefill $size, mix $mix"
    ./build/billord-bench -p "$size" -n "${COMMANDS:-300000}" -t "${THREADS:-32}" \
      -P "${PIPELINE:-32}" -m "$mix" -l "${LMDB:-snapshot}" -c "$csv" 2>&1 | tr '\r' '\n' | grep -v '^prefill: ' || true
  done
done
