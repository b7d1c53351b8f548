#!/usr/bin/env bash
# Builds and runs the engine's examples (engine/examples/) on the bundled
# fixtures, checking what each prints: they are the library's documentation
# and must keep working. Also runs the benches' callgrind driver
# (benches/examples/) on a small partition, and fails if any example file
# is not run here.
set -euo pipefail
# This script's own path, for the guard at the end (read before the cd).
self=$(realpath "$0")
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Every example built once, as .ci/run builds them (one feature set: running
# them with `cargo run -p kreplay` alone would build the engine again).
cargo build -q --release -p kreplay -p kreplay-benches --examples
run() { local name=$1; shift; "${CARGO_TARGET_DIR:-target}/release/examples/$name" "$@"; }

# A custom reader: the two records of v2-headers with a trace-id header.
out=$(run header_filter fixtures/conformance/corpus/v2-headers trace-id 2>"$tmp/err")
expected=$(printf 'headers-0@1\thv-1\nheaders-0@10\thv-10')
[ "$out" = "$expected" ] || { echo "header_filter printed: $out"; exit 1; }
grep -q '^2 of 18 records carry header "trace-id"$' "$tmp/err"

# A group member: 1000 records, then the rest, then nothing new.
first=$(run group_member fixtures/demo "$tmp/state" 1000)
rest=$(run group_member fixtures/demo "$tmp/state")
again=$(run group_member fixtures/demo "$tmp/state")
n1=$(sed -n 's/^read \([0-9]*\) records.*/\1/p' <<<"$first")
n2=$(sed -n 's/^read \([0-9]*\) records.*/\1/p' <<<"$rest")
total=$(cargo run -q --release -p kreplay-cli -- consume --log-dir fixtures/demo -t orders -e -o beginning --format text | wc -l)
[ "$n1" -ge 1000 ] && [ $((n1 + n2)) -eq "$total" ] || {
    echo "group_member read $n1 then $n2 records, the topic holds $total"; exit 1; }
grep -q '^read 0 records' <<<"$again" || { echo "third run: $again"; exit 1; }
grep -q $'^orders-0\tcommitted 2004$' <<<"$again"

# A throughput loop over every partition of the demo log dir.
run throughput fixtures/demo | grep -E '^12000 records, [0-9]+ value bytes from 6 partitions'

# The disaster-recovery walkthrough's broker disk, then its groups.
run dead_broker_disk "$tmp/broker" >/dev/null
cargo run -q --release -p kreplay-cli -- group list --from-log-dir "$tmp/broker" | grep -q '^billing'

# The callgrind driver (benches/examples/callgrind_records.rs): a small
# partition, then a consumer polling all of it. `setup` prints nothing.
cg=${CARGO_TARGET_DIR:-target}/release/examples/callgrind_records
CG_RECORDS=2000 "$cg" "$tmp/cg" setup
[ -s "$tmp/cg/bench-0/00000000000000000000.log" ] || {
    echo "callgrind_records setup wrote no segment"; exit 1; }
out=$(CG_RECORDS=2000 "$cg" "$tmp/cg" poll)
grep -qE '^poll: 2000 records, acc [0-9]+$' <<<"$out" || {
    echo "callgrind_records poll printed: $out"; exit 1; }

# Every example is run above: a new one must be added to this script.
for f in engine/examples/*.rs benches/examples/*.rs; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .rs)
    grep -qE "(run |examples/)$name\b" "$self" || {
        echo "example $f is not run by scripts/examples-check.sh: add a run of $name"
        exit 1
    }
done
echo "examples: ok"
