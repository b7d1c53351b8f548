#!/usr/bin/env bash
# Cross-checks kreplay's writer against another implementation: writes log
# dirs in every format the writer supports (engine/tests/writer_oracle.rs) and
# decodes them with kafka-python through the conformance oracle, comparing
# record counts and content. Exit status 0 when every record matches.
#
# Environment:
#   CONFORMANCE_DIR   dir holding oracle.py and requirements.lock
#                     (default fixtures/conformance, the project's copy)
#   ORACLE_VENV       Python venv with the pinned kafka-python, created if
#                     missing (default .venv at the repository root)
#   KREPLAY_ORACLE_OUT  keep the written log dirs there (default: temp dirs)
set -euo pipefail

cd "$(dirname "$0")/.."
CONFORMANCE_DIR="$(realpath "${CONFORMANCE_DIR:-fixtures/conformance}")"
ORACLE_VENV="$(realpath -m "${ORACLE_VENV:-.venv}")"

if ! "$ORACLE_VENV/bin/python" -c 'import kafka, lz4, snappy, zstandard, xxhash' 2>/dev/null; then
    echo "setting up $ORACLE_VENV" >&2
    [ -x "$ORACLE_VENV/bin/python" ] || python3 -m venv "$ORACLE_VENV"
    "$ORACLE_VENV/bin/pip" install -q -r "$CONFORMANCE_DIR/requirements.lock"
fi

export KREPLAY_ORACLE_PYTHON="$ORACLE_VENV/bin/python"
export KREPLAY_ORACLE="$CONFORMANCE_DIR/oracle.py"
exec cargo test -p kreplay --test writer_oracle -- --ignored --nocapture --test-threads=1
