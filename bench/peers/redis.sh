#!/usr/bin/env bash
# A throw-away Redis 7 server on 127.0.0.1 for the peer benchmark.
#   bench/peers/redis.sh start DIR PORT   redis-server with its own config, dir and AOF in DIR
#   bench/peers/redis.sh stop DIR         SIGTERM to the pid in DIR/redis.pid, wait for it
# Durability as billord's: appendonly yes, appendfsync always (a write is fsynced before its
# reply), no RDB snapshots.
set -euo pipefail
usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
command=${1:-}
case "$command" in
  start)
    [ $# -eq 3 ] || { usage >&2; exit 2; }
    dir=$2 port=$3
    mkdir -p "$dir"
    cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
protected-mode yes
port $port
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
save ""
appendonly yes
appendfsync always
maxclients 1000
CONF
    redis-server "$dir/redis.conf"
    for _ in $(seq 1 100); do
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ] && [ -s "$dir/redis.pid" ]; then
        echo "redis: pid $(cat "$dir/redis.pid") on 127.0.0.1:$port, dir $dir"
        exit 0
      fi
      sleep 0.1
    done
    echo "redis: did not start" >&2
    cat "$dir/redis.log" >&2 || true
    exit 1
    ;;
  stop)
    [ $# -eq 2 ] || { usage >&2; exit 2; }
    pidfile=$2/redis.pid
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || exit 0
    kill -TERM "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || exit 0
      # a daemon whose parent is gone and not yet reaped has exited all the same
      [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || exit 0
      sleep 0.1
    done
    echo "redis: pid $pid still running after 30 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
