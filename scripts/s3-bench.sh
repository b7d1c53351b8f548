#!/usr/bin/env bash
# Object-store replay beside local replay, in one run: a generated log dir
# read by `kreplay consume` and `kreplay verify` from disk and from a copy
# in an S3-compatible server on loopback (moto's, started here), fetching
# ahead on and off. Prints medians of ROUNDS runs and the ratios.
#   scripts/s3-bench.sh [RECORDS (default 2000000)] [ROUNDS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-2000000}
rounds=${2:-3}
cargo build -q --release -p kreplay-cli
bin=target/release/kreplay
work=$(mktemp -d)
source scripts/s3-server.sh
trap 'kill "$S3_SERVER_PID" 2>/dev/null || true; rm -rf "$work"' EXIT
$bin gen "$work/log" --topics bench --partitions 4 --records "$records" \
    --value-size 100 --segment-bytes $((16 << 20)) >/dev/null
size=$(du -sb "$work/log" | cut -f1)
"$S3_VENV/bin/python" - "$KREPLAY_TEST_S3_ENDPOINT" "$work/log" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
s3.create_bucket(Bucket="bench")
root = sys.argv[2]
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        # public-read: the curl ceiling below fetches unsigned
        s3.upload_file(p, "bench", "log/" + os.path.relpath(p, root), ExtraArgs={"ACL": "public-read"})
PY
export AWS_ENDPOINT_URL=$KREPLAY_TEST_S3_ENDPOINT AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
# median wall seconds and max RSS (MiB) of `"$@"` over $rounds runs
measure() {
    local times=() rss=0 t
    for _ in $(seq "$rounds"); do
        local start end
        start=$(date +%s.%N)
        /usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>"$work/err" \
            || { cat "$work/err" >&2; return 1; }
        end=$(date +%s.%N)
        t="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') $(tail -1 "$work/time")"
        times+=("${t% *}")
        rss=$(( ${t#* } > rss ? ${t#* } : rss ))
    done
    printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (rounds + 1) / 2 ))p")" $((rss / 1024))
}
echo "uptime: $(uptime)"
echo "log: $records records of 100 B in 4 partitions, $((size >> 20)) MiB, 16 MiB segments"
printf '%-44s %8s %10s %9s %8s\n' run seconds "records/s" "vs local" "RSS MiB"
row() {
    local name=$1 base=$2; shift 2
    read -r secs rss < <(measure "$@")
    local rate ratio
    rate=$(awk -v n="$records" -v s="$secs" 'BEGIN { printf "%.2f M", n / s / 1e6 }')
    ratio=$(awk -v b="$base" -v s="$secs" 'BEGIN { if (b == "") print "1.00"; else printf "%.2f", b / s }')
    printf '%-44s %8s %10s %9s %8s\n' "$name" "$secs" "$rate" "$ratio" "$rss"
    last=$secs
}
row "consume, local (warm page cache)" "" $bin consume --log-dir "$work/log" -t bench -e --format text; local_consume=$last
row "consume, s3 (8 ranged GETs in flight, 2 ahead)" "$local_consume" $bin consume --log-dir s3://bench/log -t bench -e --format text
KREPLAY_S3_FILES_AHEAD=0 row "consume, s3, no segment fetched ahead" "$local_consume" $bin consume --log-dir s3://bench/log -t bench -e --format text
KREPLAY_S3_REQUESTS_IN_FLIGHT=1 KREPLAY_S3_FILES_AHEAD=0 \
    row "consume, s3, one GET at a time, none ahead" "$local_consume" $bin consume --log-dir s3://bench/log -t bench -e --format text
# The ceiling: only fetching the objects, 4 at a time, with curl.
keys=$(cd "$work/log" && find . -type f | sed 's#^\./##')
fetch_all() { printf '%s\n' $keys | xargs -P 4 -I{} curl -sf -o /dev/null "$AWS_ENDPOINT_URL/bench/log/{}"; }
export -f fetch_all; export keys
row "fetch only: curl GET of every object, 4 at once" "$local_consume" bash -c fetch_all
row "verify, local" "" $bin verify "$work/log"; local_verify=$last
row "verify, s3" "$local_verify" $bin verify s3://bench/log
