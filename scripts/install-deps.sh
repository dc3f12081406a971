#!/usr/bin/env bash
# Installs every Debian package billord needs to build, test and run.
# Idempotent: packages already present are left as they are.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  liblmdb-dev lmdb-utils libxxhash-dev libmsgpack-dev libjansson-dev
  libmicrohttpd-dev libssl-dev libcriterion-dev
  curl
  clang libclang-rt-14-dev lcov
)
# Node.js and npm run the official SDK suite (tests/compat); the machine image usually has
# them, Debian's packages otherwise.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} packages present"
