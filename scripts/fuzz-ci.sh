#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time and fails on any crash.
#
#   FUZZ_SECONDS=30 scripts/fuzz-ci.sh            # all targets, 30 s each (CI)
#   FUZZ_SECONDS=300 scripts/fuzz-ci.sh segment   # one target, longer
#
# Works on the stable toolchain: cargo-fuzz passes a few `-Z` flags to rustc,
# which stable accepts under RUSTC_BOOTSTRAP=1 (no nightly download needed).
# No sanitizer: the engine's parsing code is safe Rust, and overflow checks
# and debug assertions stay on (cargo-fuzz's default). Installs cargo-fuzz
# if it is missing; builds into fuzz/target, never the workspace's target/.
#
# Each target starts from the committed seeds (fuzz/corpus/<target>), the
# extra seeds fuzz/seed.py builds from the fixtures (and ../shared/conformance
# when present) and what earlier runs on this machine found
# (fuzz/target/ci-corpus/<target>). A crashing input is saved under
# fuzz/artifacts/<target>/ and printed in base64 so CI logs keep it.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
CARGO_FUZZ_VERSION=0.13.2
ALL_TARGETS=(record_batch segment decompress index checkpoint group_state writer_roundtrip cluster_metadata state_offsets state_transaction)
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi

# Largest input libFuzzer makes per target (seeds above it are cut).
max_len() {
    case "$1" in
        segment) echo 131072 ;;
        record_batch | decompress) echo 65536 ;;
        *) echo 16384 ;;
    esac
}

started=$(date +%s)
export RUSTC_BOOTSTRAP=1
# The same flags for every build, so a rebuild only compiles what changed.
BUILD_FLAGS=(--sanitizer none --codegen-units 16)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
cargo fuzz --version

python3 fuzz/seed.py --full fuzz/target/seeds

(cd fuzz && cargo fuzz build "${BUILD_FLAGS[@]}")
built=$(date +%s)
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$triple/release

failed=()
rows=()
for target in "${TARGETS[@]}"; do
    corpus=fuzz/target/ci-corpus/$target
    artifacts=fuzz/artifacts/$target
    log=fuzz/target/ci-logs/$target.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    seeds=()
    for dir in fuzz/corpus/$target fuzz/target/seeds/$target; do
        [ -d "$dir" ] && seeds+=("$dir")
    done
    echo "fuzz: $target for ${FUZZ_SECONDS}s"
    t0=$(date +%s)
    status=ok
    # One process, one job: the machine's two cores are shared.
    if ! "$bin_dir/$target" \
        -max_total_time="$FUZZ_SECONDS" \
        -max_len="$(max_len "$target")" \
        -timeout=30 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1; then
        status=CRASH
        failed+=("$target")
        echo "fuzz: $target FAILED; the end of its log:"
        tail -n 60 "$log"
        for crash in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
            if [ -f "$crash" ] && [ "$(stat -c %s "$crash")" -le 65536 ]; then
                echo "fuzz: $crash, base64:"
                base64 -w 76 "$crash"
            fi
        done
    fi
    seconds=$(($(date +%s) - t0))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    fi
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)
    files=$(find "$corpus" -type f | wc -l)
    rows+=("$(printf '%-18s %-6s %12s %10s %8s %8s %6s' "$target" "$status" \
        "${runs:--}" "${rate:--}" "${added:--}" "$files" "$seconds")")
done

echo
printf '%-18s %-6s %12s %10s %8s %8s %6s\n' TARGET STATUS EXECUTIONS EXEC/S NEW CORPUS SECONDS
printf '%s\n' "${rows[@]}"
echo "fuzz: build $((built - started)) s, total $(($(date +%s) - started)) s"

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> --sanitizer none <crash file>)"
    exit 1
fi
