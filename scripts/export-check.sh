#!/usr/bin/env bash
# Reads `kreplay export`'s Parquet and Arrow files with DuckDB, pyarrow and
# Polars (scripts/export_check.py) over the conformance corpus and the demo
# log dir. Installs the pinned packages into a venv when missing.
#
# Environment:
#   EXPORT_VENV  Python venv (default .venv-export at the repository root)
set -euo pipefail

cd "$(dirname "$0")/.."
EXPORT_VENV="$(realpath -m "${EXPORT_VENV:-.venv-export}")"
if ! "$EXPORT_VENV/bin/python" -c 'import duckdb, polars, pyarrow' 2>/dev/null; then
    echo "setting up $EXPORT_VENV" >&2
    [ -x "$EXPORT_VENV/bin/python" ] || python3 -m venv "$EXPORT_VENV"
    "$EXPORT_VENV/bin/pip" install -q -r scripts/export-requirements.lock
fi
cargo build -q -p kreplay-cli
roots=(fixtures/conformance/corpus)
if [ -d ../shared/conformance/corpus ]; then
    roots+=(../shared/conformance/corpus)
fi
exec "$EXPORT_VENV/bin/python" scripts/export_check.py target/debug/kreplay "${roots[@]}"
