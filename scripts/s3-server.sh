#!/usr/bin/env bash
# Starts an S3-compatible server (moto's, from PyPI, in .venv-s3) on a free
# loopback port and prints its endpoint; the object-storage tests
# (objstore/tests/s3.rs, cli/tests/s3.rs) read it from
# KREPLAY_TEST_S3_ENDPOINT. Meant to be sourced by .ci/run:
#   source scripts/s3-server.sh   # sets KREPLAY_TEST_S3_ENDPOINT, S3_SERVER_PID
set -euo pipefail
S3_VENV="${S3_VENV:-.venv-s3}"
[ -x "$S3_VENV/bin/moto_server" ] || {
    python3 -m venv "$S3_VENV"
    "$S3_VENV/bin/pip" install -q -r objstore/tests/requirements.lock
}
s3_port=$("$S3_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
s3_log=$(mktemp)
"$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$s3_log" 2>&1 &
S3_SERVER_PID=$!
"$S3_VENV/bin/python" - "$s3_port" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("the S3 server did not answer within 30 s")
PY
export KREPLAY_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
echo "S3 server (moto) at $KREPLAY_TEST_S3_ENDPOINT, pid $S3_SERVER_PID, log $s3_log"
