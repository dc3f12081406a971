#!/usr/bin/env bash
# Cross-checks peerbench's PostgreSQL driver against pgbench on the same server and the same
# transaction (new tokens only): a throw-away server, then for each client count peerbench and
# pgbench -M prepared, S seconds each, and the orders each created.
# Usage: bench/peers/pgbench-check.sh [--seconds S] [--clients "LIST"] [--help]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
peers=$repo/bench/peers
seconds=10 clients_list="8 64"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?}; shift ;;
    --clients) clients_list=${2:?}; shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pgbench-check: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
work=$(mktemp -d "${TMPDIR:-/tmp}/billord-pgcheck-XXXXXX")
chmod 755 "$work"
cleanup() { "$peers/postgres.sh" stop "$work/pg" || true; rm -rf "$work"; }
trap cleanup EXIT
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$(pg_config --includedir)" -o "$work/peerbench" "$peers/peerbench.c" -lpq -lpthread -lm
port=$((20000 + RANDOM % 30000))
PGOPTIONS='-c client_min_messages=warning' "$peers/postgres.sh" start "$work/pg" "$port"
psql=(/usr/lib/postgresql/15/bin/psql -X -qAt -h 127.0.0.1 -p "$port" -U bench -d bench)
for clients in $clients_list; do
  "$work/peerbench" --system postgres --port "$port" --clients "$clients" --seconds "$seconds" \
    --requests 20000000 --reset >"$work/peer.log"
  echo "peerbench c=$clients: $(grep -E '^(req_per_s|orders_created|p50_ms|p99_ms)=' "$work/peer.log" | tr '\n' ' ')"
  "${psql[@]}" -c 'TRUNCATE orders, idempotency_keys RESTART IDENTITY' -c 'CHECKPOINT'
  /usr/lib/postgresql/15/bin/pgbench -n -h 127.0.0.1 -p "$port" -U bench -M prepared -c "$clients" -j 2 \
    -T "$seconds" -f "$peers/pgbench-new.sql" bench >"$work/pgbench.log" 2>&1 || { cat "$work/pgbench.log" >&2; exit 1; }
  echo "pgbench   c=$clients: $(grep -E '^(tps|latency average)' "$work/pgbench.log" | tr '\n' ' ') orders=$("${psql[@]}" -c 'SELECT count(*) FROM orders')"
done
