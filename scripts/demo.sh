#!/usr/bin/env bash
# The main job: the billord server on 127.0.0.1:8080 with an embedded data directory
# (demo-data/, seeded once from fixtures/demo.json). Run after the build (see README.md).
# Environment: BILLORD_DEMO_DATA (default demo-data), BILLORD_DEMO_LISTEN (127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${BILLORD_DEMO_DATA:-demo-data}
listen=${BILLORD_DEMO_LISTEN:-127.0.0.1:8080}
cat <<TEXT
billord demo: data in $data_dir, seeded from fixtures/demo.json on first start.
Try it from another terminal (each call signs afresh: a nonce is good once):

  curl "\$(build/billordctl sign --url http://$listen --key LTAI5tDemoKey0001 --secret demo-secret-0001 \\
         Action=RenewInstance InstanceId=i-acc0001 Period=1 ClientToken=demo-1)"

Run it twice: the second answer is the first, byte for byte, with the header
x-billord-idempotent-replay: true. Change Period=1 to Period=2 for IdempotenceParamNotMatch.
  build/billordctl inspect --data $data_dir instance i-acc0001     (after stopping the server)
Stop the server with Ctrl-C.

TEXT
exec ./build/billord serve --data "$data_dir" --fixtures fixtures/demo.json --listen "$listen" \
  --request-log "$data_dir.requests.ndjson" --log-level info
