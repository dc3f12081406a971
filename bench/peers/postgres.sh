#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server on 127.0.0.1 for the peer benchmark.
#   bench/peers/postgres.sh start DIR PORT   initdb DIR/pgdata, start, create database "bench"
#                                           (user "bench", trust on loopback), load schema.sql
#   bench/peers/postgres.sh stop DIR         fast shutdown of the postmaster in DIR/pgdata,
#                                           by the pid in its postmaster.pid
# Durability as billord's: fsync = on, synchronous_commit = on, full_page_writes = on, WAL
# fdatasync on commit. The server runs as user "postgres" when we are root (it refuses root).
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
command=${1:-}
case "$command" in
  start)
    [ $# -eq 3 ] || { usage >&2; exit 2; }
    dir=$2 port=$3
    data=$dir/pgdata
    mkdir -p "$data"
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$data"
    fi
    chmod 700 "$data"
    if ! as_owner test -w "$data"; then
      echo "postgres: $data is not reachable by the server's user (make its parents world-executable)" >&2
      exit 1
    fi
    as_owner "$bin/initdb" -D "$data" -U bench --auth=trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 320
fsync = on
synchronous_commit = on
full_page_writes = on
wal_sync_method = fdatasync
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
logging_collector = off
CONF
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
      { cat "$data/server.log" >&2; exit 1; }
    "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U bench -d postgres -c 'CREATE DATABASE bench' >/dev/null
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U bench -d bench -f "$here/schema.sql" >/dev/null
    echo "postgres: pid $(head -1 "$data/postmaster.pid") on 127.0.0.1:$port, data $data"
    ;;
  stop)
    [ $# -eq 2 ] || { usage >&2; exit 2; }
    pidfile=$2/pgdata/postmaster.pid
    [ -f "$pidfile" ] || exit 0
    pid=$(head -1 "$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || exit 0
    kill -INT "$pid" 2>/dev/null || exit 0     # fast shutdown
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || exit 0
      # a daemon whose parent is gone and not yet reaped has exited all the same
      [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || exit 0
      sleep 0.1
    done
    echo "postgres: pid $pid still running after 30 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
