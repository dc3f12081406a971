#!/usr/bin/env bash
# The main job: seed a demo data directory from fixtures/demo.json (once) and show what
# it holds. Run after the build (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${BILLORD_DEMO_DATA:-demo-data}
if [ ! -d "$data_dir/state" ]; then
  ./build/billordctl seed --data "$data_dir" fixtures/demo.json
fi
echo "--- billordctl inspect --data $data_dir"
./build/billordctl inspect --data "$data_dir"
echo "--- billordctl inspect --data $data_dir account 1234567890123456"
./build/billordctl inspect --data "$data_dir" account 1234567890123456
echo "--- billordctl inspect --data $data_dir instance i-acc0001"
./build/billordctl inspect --data "$data_dir" instance i-acc0001
