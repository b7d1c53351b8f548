"""Reads kreplay's exported files with other engines: DuckDB, pyarrow and
Polars must see, in every conformance case and the demo log dir, exactly the
records `kreplay consume --format json --bytes base64` prints (counts, offset
sums, payload lengths, nulls, headers), in Parquet and in Arrow IPC.

Usage: export_check.py KREPLAY_BINARY CORPUS_DIR... (exit status 0 when every
case agrees; each disagreement is printed)."""

import base64
import glob
import json
import os
import subprocess
import sys
import tempfile

import duckdb
import polars
import pyarrow.ipc
import pyarrow.parquet


def topics_of(case):
    topics = set()
    for name in os.listdir(case):
        topic, _, n = name.rpartition("-")
        if n.isdigit() and os.path.isdir(os.path.join(case, name)):
            topics.add(topic)
    return sorted(topics)


def topic_flags(case):
    return [flag for t in topics_of(case) for flag in ("-t", t)]


def consumed(kreplay, case, extra):
    out = subprocess.run(
        [kreplay, "consume", "--log-dir", case, *topic_flags(case), "-e",
         "--format", "json", "--bytes", "base64", *extra],
        check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def summary_of_json(records):
    """Per (topic, partition): count, offset sum, value bytes, null keys,
    null values, headers."""
    out = {}
    for r in records:
        s = out.setdefault((r["topic"], r["partition"]), [0, 0, 0, 0, 0, 0])
        s[0] += 1
        s[1] += r["offset"]
        s[2] += len(base64.b64decode(r["value"])) if r["value"] is not None else 0
        s[3] += r["key"] is None
        s[4] += r["value"] is None
        s[5] += len(r["headers"])
    return out


SUMMARY = """
    SELECT topic, partition, count(*), sum("offset"),
           coalesce(sum(octet_length(value)), 0),
           count(*) FILTER (WHERE key IS NULL), count(*) FILTER (WHERE value IS NULL),
           coalesce(sum(len(headers)), 0)
    FROM {source} GROUP BY topic, partition
"""


def summary_of_rows(rows):
    return {(r[0], r[1]): [int(x) for x in r[2:]] for r in rows}


def summary_of_table(table):
    con = duckdb.connect()
    con.register("t", table)
    return summary_of_rows(con.execute(SUMMARY.format(source="t")).fetchall())


def check(kreplay, case, extra, failures):
    want = summary_of_json(consumed(kreplay, case, extra))
    with tempfile.TemporaryDirectory() as out:
        for fmt in ("parquet", "arrow"):
            d = os.path.join(out, fmt)
            subprocess.run(
                [kreplay, "export", "--log-dir", case, *topic_flags(case),
                 "--format", fmt, "--out-dir", d, *extra],
                check=True, capture_output=True)
            files = sorted(glob.glob(os.path.join(d, "*." + fmt)))
            if fmt == "parquet":
                got = {
                    "duckdb": summary_of_rows(duckdb.sql(SUMMARY.format(
                        source=f"read_parquet('{d}/*.parquet')") if files else
                        "SELECT 1 WHERE false").fetchall()),
                    "pyarrow": summary_of_table(pyarrow.parquet.read_table(files)) if files else {},
                    "polars": summary_of_table(polars.read_parquet(files).to_arrow()) if files else {},
                }
            else:
                tables = [pyarrow.ipc.open_file(f).read_all() for f in files]
                got = {
                    "pyarrow": summary_of_table(pyarrow.concat_tables(tables)) if tables else {},
                    "polars": summary_of_table(polars.concat(
                        [polars.read_ipc(f) for f in files]).to_arrow()) if files else {},
                }
            for engine, summary in got.items():
                if summary != want:
                    failures.append(f"{case} {fmt} {engine} {extra}: {summary} != {want}")


def main():
    kreplay, roots = sys.argv[1], sys.argv[2:]
    failures, checked = [], 0
    for root in roots:
        for case in sorted(glob.glob(os.path.join(root, "*"))):
            if not os.path.isfile(os.path.join(case, "expected.jsonl")):
                continue
            check(kreplay, case, [], failures)
            checked += 1
    demo = os.path.join(os.path.dirname(__file__), "..", "fixtures", "demo")
    check(kreplay, demo, ["--isolation-level", "read_committed"], failures)
    for f in failures:
        print(f)
    print(f"{checked} conformance cases and the demo log dir read by DuckDB, pyarrow and Polars:"
          f" {len(failures)} disagreement(s)")
    sys.exit(1 if failures or checked < 26 else 0)


if __name__ == "__main__":
    main()
