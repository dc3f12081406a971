#!/usr/bin/env bash
# billord side by side with PostgreSQL 15 and Redis 7 on the same idempotency workload.
#
# Usage: bench/peers/run-all.sh [--smoke] [options]
#   --smoke            CI: installs what is missing, 2-second runs at 1 and 8 clients, tiny
#                      store sizes, results in a temp dir (removed); checks, not timings
#   --seconds S        length of each timed run (default 10; smoke 2)
#   --clients "LIST"   client counts (default "1 8 32 64"; smoke "1 8")
#   --rounds N         repetitions of the whole interleaved matrix (default 1)
#   --sizes "LIST"     billord store sizes for the store-size plot (default
#                      "10000 100000 1000000 10000000"; smoke "10000 100000")
#   --engine-csv FILE  take the store-size rows from this bench/run-engine-matrix.sh CSV
#                      instead of running it
#   --out DIR          where peers.csv and the PNGs go (default bench/results; smoke: temp)
#   --no-install       do not run bench/peers/install.sh
#   --plot-only        no runs: redraw the PNGs and the summary from DIR's CSVs (--out)
#   --help             this text
# Environment: BILLORD_BUILD_DIR (default build): where billord, billord-bench and
# billord-httpbench are (built with cmake when missing).
#
# Systems, each with durability equal to billord's (acknowledged = fsynced):
#   billord-inprocess  build/billord-bench -P 1 (one command in flight per thread)
#   billord-http       build/billord-httpbench --server build/billord (fresh server per run)
#   postgresql         peerbench --system postgres: renew_instance() of schema.sql, 1 round trip
#   redis              peerbench --system redis: renew.lua by EVALSHA, appendfsync always
# Mixes: "new" (every token new) and "replay20-mismatch5". Each (clients, mix) cell runs all
# four systems back to back, in an order rotated from cell to cell, so drift hits all alike.
#
# First a correctness check on fixed-count workloads (4 clients x 100 requests): every side
# must create the same number of orders (all new: 400; replay=75,mismatch=25: 4, one per
# client; replay=20,mismatch=5: the same count for billord-inprocess, PostgreSQL and Redis,
# whose request streams are identical; billord over HTTP draws its own random stream, so
# there only the answers are checked). Exit non-zero when any check fails or a side
# produced no rows. Servers are stopped by pid and temp dirs removed on every exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
peers=$repo/bench/peers
cd "$repo"

usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; }

plot_only=0 smoke=0 seconds="" clients_list="" rounds=1 sizes="" engine_csv="" out="" install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --seconds) seconds=${2:?}; shift ;;
    --clients) clients_list=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    --sizes) sizes=${2:?}; shift ;;
    --engine-csv) engine_csv=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --no-install) install=0 ;;
    --plot-only) plot_only=1 install=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-all: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$smoke" = 1 ]; then
  seconds=${seconds:-2} clients_list=${clients_list:-"1 8"} sizes=${sizes:-"10000 100000"}
  engine_commands=20000
else
  seconds=${seconds:-10} clients_list=${clients_list:-"1 8 32 64"}
  sizes=${sizes:-"10000 100000 1000000 10000000"}
  engine_commands=100000
fi
[[ $seconds =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "run-all: bad --seconds" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run-all: bad --rounds" >&2; exit 2; }
for c in $clients_list; do
  [[ $c =~ ^[1-9][0-9]*$ ]] && [ "$c" -le 512 ] || { echo "run-all: bad client count '$c'" >&2; exit 2; }
done
build=${BILLORD_BUILD_DIR:-build}
started_at=$(date +%s)

# ---- clean-up of everything we start, on every exit -------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/billord-peers-XXXXXX")
chmod 755 "$work"       # the PostgreSQL server runs as user postgres and must reach its dir
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  "$peers/redis.sh" stop "$work/redis" || true
  "$peers/postgres.sh" stop "$work/pg" || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ -n "$out" ] || { if [ "$smoke" = 1 ]; then out=$work/results; else out=$repo/bench/results; fi; }
mkdir -p "$out"

say() { printf '== %s\n' "$*"; }
fail() { printf 'run-all: FAILED: %s\n' "$*" >&2; exit 1; }

csv=$out/peers.csv
size_csv=$out/peers-store-size.csv
systems=(billord-inprocess billord-http postgresql redis)
if [ "$plot_only" = 0 ]; then
# ---- install, build --------------------------------------------------------------------------
if [ "$install" = 1 ]; then
  "$peers/install.sh"
fi
for tool in billord billord-bench billord-httpbench; do
  if [ ! -x "$build/$tool" ]; then
    say "building $build ($tool missing)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target billord billord-bench billord-httpbench >/dev/null
    break
  fi
done
pg_include=$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
cc -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 \
  -I"$pg_include" -o "$work/peerbench" "$peers/peerbench.c" -lpq -lpthread -lm
peerbench=$work/peerbench

# ---- servers ---------------------------------------------------------------------------------
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}
redis_port=$(free_port)
pg_port=$(free_port)
[ "$redis_port" != "$pg_port" ] || pg_port=$((pg_port + 1))
"$peers/redis.sh" start "$work/redis" "$redis_port"
PGOPTIONS='-c client_min_messages=warning' "$peers/postgres.sh" start "$work/pg" "$pg_port"

# ---- one run of one system: prints "requests seconds orders req_per_s p50_ms p99_ms" ----------
# (called with its output redirected to a file, never in a subshell: a failure ends the script)
mix_args() {   # mix label -> --mix value
  case "$1" in
    new) echo "replay=0,mismatch=0" ;;
    replay20-mismatch5) echo "replay=20,mismatch=5" ;;
    reuse75-25) echo "replay=75,mismatch=25" ;;
    *) return 1 ;;
  esac
}
declare -A inproc_rate=()
run_inprocess() {   # clients mix [commands]
  local clients=$1 mix=$2 commands=${3:-}
  if [ -z "$commands" ]; then
    local rate=${inproc_rate[$clients]:-$((clients * 250 < 8000 ? clients * 250 : 8000))}
    commands=$(awk -v r="$rate" -v s="$seconds" -v c="$clients" 'BEGIN { n = int(r * s); if (n < 20 * c) n = 20 * c; print n }')
  fi
  local csv=$work/inproc.csv log=$work/inproc.log
  rm -f "$csv"
  "$build/billord-bench" -t "$clients" -P 1 -n "$commands" -m "$(mix_args "$mix")" -d "$work" -c "$csv" >"$log" 2>&1 ||
    { cat "$log" >&2; fail "billord-bench ($clients clients, $mix)"; }
  local orders
  orders=$(sed -n 's/.*outcomes: \([0-9]*\) new orders.*/\1/p' "$log")
  # commands seconds commands_per_s p50_us p99_us
  tail -1 "$csv" | awk -F, -v o="$orders" '{ printf "%d %.3f %d %.1f %.3f %.3f\n", $9, $10, o, $11, $15 / 1000, $16 / 1000 }'
  inproc_rate[$clients]=$(tail -1 "$csv" | cut -d, -f11)
}
run_http() {   # clients mix [requests]
  local clients=$1 mix=$2 requests=${3:-}
  local csv=$work/http.csv log=$work/http.log
  local stop=(--seconds "$seconds")
  [ -z "$requests" ] || stop=(--requests "$requests")
  rm -f "$csv"
  TMPDIR=$work "$build/billord-httpbench" --server "$build/billord" --connections "$clients" "${stop[@]}" \
    --mix "$(mix_args "$mix")" --csv "$csv" --label "peers-$mix-c$clients" >"$log" 2>&1 ||
    { cat "$log" >&2; fail "billord-httpbench ($clients connections, $mix)"; }
  local row
  row=$(tail -1 "$csv")
  # 5xx and transport errors are failures, not outcomes
  [ "$(echo "$row" | cut -d, -f16)" = 0 ] && [ "$(echo "$row" | cut -d, -f17)" = 0 ] ||
    { cat "$log" >&2; fail "billord-httpbench: 5xx or transport errors ($clients connections, $mix)"; }
  echo "$row" | awk -F, '{ printf "%d %.3f %d %.1f %.3f %.3f\n", $10, $11, $13, $12, $18 / 1000, $20 / 1000 }'
}
run_peer() {   # system clients mix [requests]
  local system=$1 clients=$2 mix=$3 requests=${4:-}
  local port=$redis_port log=$work/peer.log
  [ "$system" = postgres ] && port=$pg_port
  local stop=(--seconds "$seconds" --requests 20000000)
  [ -z "$requests" ] || stop=(--requests "$requests")
  "$peerbench" --system "$system" --port "$port" --lua "$peers/renew.lua" --clients "$clients" "${stop[@]}" \
    --mix "$(mix_args "$mix")" --reset >"$log" 2>&1 || { cat "$log" >&2; fail "peerbench $system ($clients clients, $mix)"; }
  awk -F= '{ v[$1] = $2 } END { printf "%d %.3f %d %.1f %.3f %.3f\n", v["requests"], v["seconds"], v["orders_created"], v["req_per_s"], v["p50_ms"], v["p99_ms"] }' "$log"
}
run_system() {   # system clients mix [count]
  case "$1" in
    billord-inprocess) run_inprocess "${@:2}" ;;
    billord-http) run_http "${@:2}" ;;
    postgresql) run_peer postgres "${@:2}" ;;
    redis) run_peer redis "${@:2}" ;;
  esac
}

# ---- 1. correctness: the same fixed workload creates the same orders everywhere ---------------
say "check: fixed workloads of 4 clients x 100 requests on every side"
check_failed=0
for mix in new reuse75-25 replay20-mismatch5; do
  declare -A orders_of=()
  for system in "${systems[@]}"; do
    run_system "$system" 4 "$mix" 400 >"$work/result"
    read -r requests _ orders _ _ _ <"$work/result"
    orders_of[$system]=$orders
    [ "$requests" = 400 ] || { echo "   $system answered $requests of 400 requests"; check_failed=1; }
  done
  case "$mix" in
    new) expected=400 ;;
    reuse75-25) expected=4 ;;
    *) expected=${orders_of[billord-inprocess]} ;;
  esac
  line=$(printf '%-20s' "$mix")
  for system in "${systems[@]}"; do
    line+=$(printf ' %s=%s' "$system" "${orders_of[$system]}")
    if [ "$mix" = replay20-mismatch5 ] && [ "$system" = billord-http ]; then
      continue   # its own random stream: answered 400, no 5xx (checked in run_http)
    fi
    [ "${orders_of[$system]}" = "$expected" ] || { line+=" (expected $expected)"; check_failed=1; }
  done
  echo "   orders created, $line"
  unset orders_of
done
[ "$check_failed" = 0 ] || fail "the sides disagree on the orders a workload creates"
echo "   check: passed (every side created the same orders for the same workload)"

# ---- 2. the timed matrix, interleaved -------------------------------------------------------
echo "system,mix,clients,seconds,requests,orders_created,req_per_s,p50_ms,p99_ms" >"$csv"
cell=0
for round in $(seq 1 "$rounds"); do
  for clients in $clients_list; do
    for mix in new replay20-mismatch5; do
      for k in 0 1 2 3; do
        system=${systems[$(((cell + k) % 4))]}
        run_system "$system" "$clients" "$mix" >"$work/result"
        read -r requests secs orders rps p50 p99 <"$work/result"
        [ "${requests:-0}" -gt 0 ] || fail "$system produced no requests ($clients clients, $mix)"
        echo "$system,$mix,$clients,$secs,$requests,$orders,$rps,$p50,$p99" >>"$csv"
        printf '   round %s  %-18s %-19s %3s clients: %9.1f req/s  p50 %7.2f ms  p99 %8.2f ms  (%s orders)\n' \
          "$round" "$system" "$mix" "$clients" "$rps" "$p50" "$p99" "$orders"
      done
      cell=$((cell + 1))
    done
  done
done
for system in "${systems[@]}"; do
  grep -q "^$system," "$csv" || fail "no rows for $system"
done

# ---- 3. billord throughput against store size ----------------------------------------------
if [ -n "$engine_csv" ]; then
  [ "$engine_csv" -ef "$size_csv" ] || cp "$engine_csv" "$size_csv"
else
  say "billord-bench against store size ($sizes; $engine_commands commands, 32 threads x pipeline 32)"
  rm -f "$size_csv"
  TMPDIR=$work SIZES=$sizes COMMANDS=$engine_commands bench/run-engine-matrix.sh "$size_csv" |
    grep -E '^== |durable commands/s' || true
fi
fi   # plot_only
[ "$(grep -c '^billord-inprocess' "$size_csv" || true)" -gt 0 ] || fail "no store-size rows in $size_csv"
for system in "${systems[@]}"; do
  grep -q "^$system," "$csv" || fail "no rows for $system in $csv"
done

# ---- 4. plots --------------------------------------------------------------------------------
plot=$work/plot
mkdir -p "$plot"
for system in "${systems[@]}"; do
  for mix in new replay20-mismatch5; do
    # mean over the rounds: clients req_per_s p50_ms p99_ms
    awk -F, -v s="$system" -v m="$mix" '$1 == s && $2 == m { n[$3]++; r[$3] += $7; a[$3] += $8; b[$3] += $9 }
      END { for (c in n) printf "%d %.1f %.3f %.3f\n", c, r[c] / n[c], a[c] / n[c], b[c] / n[c] }' "$csv" |
      sort -n >"$plot/$system-$mix.dat"
  done
done
for replay in 0 20; do
  awk -F, -v r="$replay" 'NR > 1 && $6 == r { print $5, $11 }' "$size_csv" | sort -n >"$plot/size-replay$replay.dat"
done
gnuplot -e "dir='$plot'; out='$out'" "$peers/plots.gp"
for png in peers-throughput.png peers-latency.png billord-store-size.png; do
  [ -s "$out/$png" ] || fail "gnuplot did not write $out/$png"
done

# ---- 5. summary: best against best -----------------------------------------------------------
say "results: $csv, $size_csv, $out/peers-throughput.png, $out/peers-latency.png, $out/billord-store-size.png"
best() {  # system [mix]: the highest req_per_s, and its client count
  awk -F, -v s="$1" -v m="${2:-}" '$1 == s && (m == "" || $2 == m) && $7 > b { b = $7; c = $3 }
    END { printf "%.1f %d\n", b, c }' "$csv"
}
printf '%-20s %13s %13s %13s %13s %9s %9s %9s %9s\n' "mix" "billord-inproc" "billord-http" "postgresql" \
  "redis" "inproc/pg" "inproc/rd" "http/pg" "http/rd"
for mix in new replay20-mismatch5 ""; do
  read -r bi ci < <(best billord-inprocess "$mix")
  read -r bh ch < <(best billord-http "$mix")
  read -r bp cp < <(best postgresql "$mix")
  read -r br cr < <(best redis "$mix")
  awk -v m="${mix:-all (best of both)}" -v bi="$bi" -v bh="$bh" -v bp="$bp" -v br="$br" \
    -v ci="$ci" -v ch="$ch" -v cp="$cp" -v cr="$cr" 'BEGIN {
      printf "%-20s %8.0f (%3d) %8.0f (%3d) %8.0f (%3d) %8.0f (%3d) %9.2f %9.2f %9.2f %9.2f\n", m, bi, ci, bh, ch,
        bp, cp, br, cr, bi / bp, bi / br, bh / bp, bh / br }'
done
echo "(req/s, best over the client counts, the count in parentheses; ratios are billord / peer)"
echo "run-all: done in $(($(date +%s) - started_at)) s"
