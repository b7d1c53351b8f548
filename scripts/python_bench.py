"""kreplay.read into Python, records/s, beside baselines in the same run.

Usage: python_bench.py KREPLAY_BIN [--records N] [--rounds R] [--dir D]

Generates (once, under --dir) a log dir of ~100 B uncompressed records in
two partitions with `kreplay gen`, exports it to an Arrow IPC file with
`kreplay export --format arrow`, then times, each round after the files are
warm in the page cache, medians of --rounds:

- read/binary: kreplay.read(layout="binary"), every batch pulled into
  Python (keys and values copied into Arrow buffers), a thread per core;
- read/view: kreplay.read(layout="view") (no payload byte copied);
- read/binary/1, read/view/1: the same with threads=1 (one partition at a
  time: one reading thread, and the engine's fetcher thread);
- ipc/pyarrow: pyarrow reading the same records from the Arrow IPC files
  (pa.ipc.open_file(...).read_all(), from the page cache): what loading a
  file already in Arrow's layout costs;
- duckdb/view: DuckDB's count(*), sum(octet_length(value)) over the view
  stream.

Prints one line per case, records/s and the ratio to read/binary.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

import duckdb
import pyarrow as pa

import kreplay


def timed(fn, rounds):
    times = []
    result = None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kreplay")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default="/tmp/kreplay-python-bench")
    args = parser.parse_args()
    root = pathlib.Path(args.dir)
    log_dir = root / f"log-{args.records}"
    ipc_dir = root / f"ipc-{args.records}"
    if not log_dir.exists():
        subprocess.run(
            [args.kreplay, "gen", str(log_dir), "--partitions", "2", "--records",
             str(args.records), "--key-size", "10", "--value-size", "80"],
            check=True, stdout=subprocess.DEVNULL)
    if not ipc_dir.exists():
        subprocess.run(
            [args.kreplay, "export", "--log-dir", str(log_dir), "-t", "metrics",
             "--format", "arrow", "--out-dir", str(ipc_dir)],
            check=True, stdout=subprocess.DEVNULL)
    ipc_files = sorted(ipc_dir.glob("*.arrow"))

    def read(layout, threads=None):
        rows = 0
        for batch in kreplay.read(log_dir, "metrics", layout=layout, threads=threads):
            rows += batch.num_rows
        return rows

    def ipc():
        rows = 0
        for path in ipc_files:
            with pa.OSFile(str(path)) as f:
                rows += pa.ipc.open_file(f).read_all().num_rows
        return rows

    def duck():
        reader = kreplay.read(log_dir, "metrics", layout="view")
        return duckdb.sql(
            "SELECT count(*), sum(octet_length(value)) FROM reader").fetchall()[0][0]

    read("binary")  # warm the page cache
    cases = [("read/binary", lambda: read("binary")), ("read/view", lambda: read("view")),
             ("read/binary/1", lambda: read("binary", 1)), ("read/view/1", lambda: read("view", 1)),
             ("ipc/pyarrow", ipc), ("duckdb/view", duck)]
    results = {}
    load = os.getloadavg()[0]
    for name, fn in cases:
        seconds, rows = timed(fn, args.rounds)
        if rows != args.records:
            sys.exit(f"{name}: {rows} rows, expected {args.records}")
        results[name] = seconds
    base = results["read/binary"]
    print(f"{args.records} records of ~100 B, 2 partitions, warm; medians of "
          f"{args.rounds}; load {load:.2f}")
    for name, seconds in results.items():
        print(f"{name:14} {seconds:7.3f} s  {args.records / seconds / 1e6:6.1f} M records/s  "
              f"{base / seconds:5.2f}x read/binary")


if __name__ == "__main__":
    main()
