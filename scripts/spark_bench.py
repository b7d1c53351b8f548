"""Spark reading a generated log through the kreplay data source, beside
`kreplay export` of the same log in one process and Spark's own JSON reader
over the same records as JSON lines, in one run (issue 13).

Usage: spark_bench.py KREPLAY_BIN [--records N] [--partitions P] [--rounds R]
                      [--dir D] [--s3-endpoint URL]

Generates (once, under --dir) a log dir of ~100 B uncompressed records in
P partitions (default 8) with `kreplay gen`, and the same records as JSON
lines with `kreplay consume --format json` (one file per partition). Then,
each round after the files are warm in the page cache, medians of --rounds:

- spark/kreplay: `spark.read.format("kreplay")` on local[2], count(*) and
  sum(length(value)) — one Spark split per Kafka partition;
- spark/json: `spark.read.json` over the JSON lines (its schema given, so
  there is no inference pass), the same aggregate;
- export/parquet: `kreplay export --format parquet --jobs 2`, one process;
- with --s3-endpoint, spark/kreplay-s3: the same Spark read of a copy of
  the log in that S3-compatible server (uploaded once with boto3).

Prints one line per case: seconds, records/s, and the ratio to spark/json.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time


def timed(fn, rounds):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kreplay")
    parser.add_argument("--records", type=int, default=16_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default="/tmp/kreplay-spark-bench")
    parser.add_argument("--s3-endpoint")
    args = parser.parse_args()
    root = pathlib.Path(args.dir)
    log_dir = root / f"log-{args.records}"
    json_dir = root / f"json-{args.records}"
    if not log_dir.exists():
        subprocess.run(
            [args.kreplay, "gen", str(log_dir), "--topics", "bench", "--partitions",
             str(args.partitions), "--records", str(args.records), "--value-size", "100",
             "--segment-bytes", str(256 << 20)],
            check=True, stdout=subprocess.DEVNULL)
    if not json_dir.exists():
        json_dir.mkdir(parents=True)
        for p in range(args.partitions):
            with open(json_dir / f"bench-{p}.json", "wb") as out:
                subprocess.run(
                    [args.kreplay, "consume", "--log-dir", str(log_dir), "-t", "bench",
                     "-p", str(p), "-e", "--format", "json"], check=True, stdout=out)
    log_bytes = sum(f.stat().st_size for f in log_dir.rglob("*.log"))
    json_bytes = sum(f.stat().st_size for f in json_dir.iterdir())

    from pyspark.sql import SparkSession, functions as F, types as T
    from kreplay.spark import register

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    s3_path = None
    if args.s3_endpoint:
        import boto3
        creds = dict(aws_access_key_id="bench", aws_secret_access_key="bench")
        s3 = boto3.client("s3", endpoint_url=args.s3_endpoint, region_name="us-east-1", **creds)
        s3.create_bucket(Bucket="spark-bench")
        for path in log_dir.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), "spark-bench", f"log/{path.relative_to(log_dir)}")
        os.environ.update(AWS_ENDPOINT_URL=args.s3_endpoint, AWS_REGION="us-east-1",
                          AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        s3_path = "s3://spark-bench/log"
    spark = (SparkSession.builder.master("local[2]").appName("kreplay-spark-bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.python.filterPushdown.enabled", "true")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    register(spark)
    agg = [F.count("*").alias("n"), F.sum(F.length("value")).alias("bytes")]

    def kreplay_read(path):
        df = spark.read.format("kreplay").option("path", path).option("topics", "bench").load()
        return df.agg(*agg).collect()[0]["n"]

    schema = T.StructType([
        T.StructField("topic", T.StringType()), T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()), T.StructField("timestamp", T.LongType()),
        T.StructField("timestamp_type", T.IntegerType()), T.StructField("key", T.StringType()),
        T.StructField("value", T.StringType()),
        T.StructField("headers", T.ArrayType(T.ArrayType(T.StringType())))])

    def json_read():
        return spark.read.schema(schema).json(str(json_dir)).agg(*agg).collect()[0]["n"]

    def export():
        out = root / "parquet-out"
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([args.kreplay, "export", "--log-dir", str(log_dir), "-t", "bench",
                        "--format", "parquet", "--jobs", "2", "--out-dir", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        return args.records

    cases = [("spark/kreplay", lambda: kreplay_read(str(log_dir))),
             ("spark/json", json_read), ("export/parquet", export)]
    if s3_path:
        cases.append(("spark/kreplay-s3", lambda: kreplay_read(s3_path)))
    json_read()  # warm the page cache and the JVM
    kreplay_read(str(log_dir))
    load = os.getloadavg()[0]
    results = {}
    for name, fn in cases:
        seconds, rows = timed(fn, args.rounds)
        if rows != args.records:
            sys.exit(f"{name}: {rows} rows, expected {args.records}")
        results[name] = seconds
    spark.stop()
    base = results["spark/json"]
    print(f"{args.records} records of ~100 B in {args.partitions} partitions: "
          f"log {log_bytes / 2**30:.2f} GiB, JSON lines {json_bytes / 2**30:.2f} GiB; "
          f"local[2]; medians of {args.rounds}; load {load:.2f} at the start")
    for name, seconds in results.items():
        print(f"{name:17} {seconds:7.2f} s  {args.records / seconds / 1e6:6.2f} M records/s  "
              f"{base / seconds:5.2f}x spark/json")


if __name__ == "__main__":
    main()
