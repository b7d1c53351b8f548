#!/usr/bin/env bash
# Builds the Python package (python/, PyO3 + maturin) into a venv and runs
# its pytest suite: the conformance corpus through kreplay.read, DuckDB and
# Polars over the stream. Installs the pinned packages when missing.
#
# Environment:
#   PYTHON_VENV  Python venv (default .venv-python at the repository root)
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON_VENV="$(realpath -m "${PYTHON_VENV:-.venv-python}")"
if ! "$PYTHON_VENV/bin/python" -c 'import duckdb, polars, pyarrow, pyspark, pytest' 2>/dev/null \
    || [ ! -x "$PYTHON_VENV/bin/maturin" ]; then
    echo "setting up $PYTHON_VENV" >&2
    [ -x "$PYTHON_VENV/bin/python" ] || python3 -m venv "$PYTHON_VENV"
    "$PYTHON_VENV/bin/pip" install -q -r python/tests/requirements.lock
fi
# A debug build (as `cargo test`'s): the tests check behaviour, not speed.
VIRTUAL_ENV="$PYTHON_VENV" PATH="$PYTHON_VENV/bin:$PATH" \
    maturin develop -q --manifest-path python/Cargo.toml
# From outside python/, so that `import kreplay` is the installed package.
cd /
exec "$PYTHON_VENV/bin/pytest" -q -rs "$OLDPWD/python/tests"
