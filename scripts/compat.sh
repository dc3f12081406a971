#!/usr/bin/env bash
# The official Alibaba Cloud SDKs (pop-core, ecs20140526, rds20140815; pinned in
# tests/compat/package-lock.json) against an existing build of `billord serve`.
# Installs the Node dependencies with `npm ci`, then runs `node --test` on tests/compat/.
# Environment:
#   BILLORD_BUILD_DIR            build directory holding billord, relative to the repository
#                                root or absolute (default: build)
#   BILLORD_COMPAT_SKIP_INSTALL  1: reuse tests/compat/node_modules as it is (offline runs)
# Exit status: 0 when every test passed, non-zero otherwise.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
compat_dir="$repo_root/tests/compat"
build_dir=${BILLORD_BUILD_DIR:-build}
case "$build_dir" in
  /*) ;;
  *) build_dir="$repo_root/$build_dir" ;;
esac

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "compat.sh: $tool is not installed (Node 20 or later)" >&2; exit 2; }
done
if [ ! -x "$build_dir/billord" ]; then
  echo "compat.sh: $build_dir/billord is missing: build billord first (or set BILLORD_BUILD_DIR)" >&2
  exit 2
fi

if [ "${BILLORD_COMPAT_SKIP_INSTALL:-0}" != "1" ]; then
  echo "== compat: npm ci ($compat_dir)"
  (cd "$compat_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== compat: node --test tests/compat/ against $build_dir/billord"
cd "$repo_root"
BILLORD_BUILD_DIR="$build_dir" node --test tests/compat/*.test.mjs
