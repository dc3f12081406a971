#!/usr/bin/env bash
# Installs, from Debian's packages, what bench/peers needs and is missing: PostgreSQL 15
# (server, contrib, libpq headers for peerbench), Redis 7 and gnuplot (no X11).
# Usage: bench/peers/install.sh [--help]. Runs apt-get as root, or through sudo.
# Services are not started by the install (a temporary policy-rc.d, if none exists): the
# benchmark starts its own servers on throw-away data directories.
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
packages=(postgresql-15 postgresql-contrib libpq-dev redis-server gnuplot-nox)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install: all present (${packages[*]})"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo -n)
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
cleanup() {
  if [ "$made_policy" = 1 ]; then
    "${sudo[@]}" rm -f "$policy"
  fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# bench/peers/install.sh: no service starts during this install\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  made_policy=1
fi
echo "install: apt-get install ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
echo "install: done"
