"""The PySpark data source (kreplay.spark) in local mode: every conformance
case read through Spark gives expected.jsonl's counts and sums; the demo
log reads with one split per partition, or per offset range with
maxRecordsPerSplit, each record exactly once; filters on partition, offset
and timestamp give the rows they would without pushdown."""

import base64
import datetime as dt

import pytest

pyspark = pytest.importorskip("pyspark")
from pyspark.sql import functions as F  # noqa: E402

import kreplay  # noqa: E402
from conftest import cases, expected_records, topics_of  # noqa: E402

CASES = cases("corpus")


def load(spark, path, topics, **options):
    reader = spark.read.format("kreplay").option("path", str(path)).option("topics", ",".join(topics))
    for key, value in options.items():
        reader = reader.option(key, str(value))
    return reader.load()


def test_every_case_counts_and_sums_as_expected(spark):
    for case in CASES:
        expected = expected_records(case)
        df = load(spark, case, topics_of(case))
        row = df.agg(
            F.count("*").alias("n"),
            F.sum("offset").alias("offsets"),
            F.sum(F.length("value")).alias("value_bytes"),
            F.sum(F.size("headers")).alias("headers"),
            F.count("key").alias("keys"),
        ).collect()[0]
        values = [base64.b64decode(r["value"]) for r in expected if r["value"] is not None]
        assert row["n"] == len(expected), case
        assert (row["offsets"] or 0) == sum(r["offset"] for r in expected), case
        assert (row["value_bytes"] or 0) == sum(len(v) for v in values), case
        assert (row["headers"] or 0) == sum(len(r["headers"]) for r in expected), case
        assert row["keys"] == sum(r["key"] is not None for r in expected), case


def keys(rows):
    return [(r["topic"], r["partition"], r["offset"]) for r in rows]


def test_one_split_per_partition_or_per_range_each_record_once(spark, demo):
    truth = kreplay.read(demo, ["metrics", "orders"]).read_all()
    expected = sorted(
        zip(truth.column("topic").to_pylist(), truth.column("partition").to_pylist(),
            truth.column("offset").to_pylist())
    )
    partitions = [p for p in kreplay.ls(demo) if p.topic in ("metrics", "orders")]
    for options, splits in [({}, len(partitions)), ({"maxRecordsPerSplit": 500}, None)]:
        df = load(spark, demo, ["metrics", "orders"], **options)
        n = df.rdd.getNumPartitions()
        if splits is None:
            assert n > len(partitions), n
        else:
            assert n == splits
        got = sorted(keys(df.select("topic", "partition", "offset").collect()))
        assert got == expected, options


def test_pushed_down_filters_give_the_rows_spark_would(spark, demo):
    df = load(spark, demo, ["metrics"])
    all_rows = df.select("partition", "offset", "timestamp").collect()
    middle = sorted(r["timestamp"] for r in all_rows)[len(all_rows) // 2]
    queries = [
        (F.col("partition") == 1, lambda r: r["partition"] == 1),
        (F.col("partition").isin(0, 2), lambda r: r["partition"] in (0, 2)),
        ((F.col("offset") >= 100) & (F.col("offset") < 250), lambda r: 100 <= r["offset"] < 250),
        (F.col("offset") == 7, lambda r: r["offset"] == 7),
        (F.col("offset") > 1990, lambda r: r["offset"] > 1990),
        (F.col("offset") <= 3, lambda r: r["offset"] <= 3),
        (F.col("timestamp") >= middle, lambda r: r["timestamp"] >= middle),
        (F.col("timestamp") > middle, lambda r: r["timestamp"] > middle),
    ]
    for condition, keep in queries:
        got = sorted((r["partition"], r["offset"]) for r in df.where(condition).collect())
        want = sorted((r["partition"], r["offset"]) for r in all_rows if keep(r))
        assert got == want, str(condition)
        assert got, str(condition)
    # A partition filter reads fewer splits.
    assert load(spark, demo, ["metrics"]).where(F.col("partition") == 1).rdd.getNumPartitions() == 1


def test_read_committed_and_bad_options(spark):
    case = next(c for c in CASES if c.name == "v2-transactional")
    committed = load(spark, case, topics_of(case), isolationLevel="read_committed").count()
    assert committed == kreplay.read(case, topics_of(case), isolation_level="read_committed").read_all().num_rows
    assert committed < load(spark, case, topics_of(case)).count()
    with pytest.raises(Exception, match="topics"):
        spark.read.format("kreplay").option("path", str(case)).load().count()
    with pytest.raises(Exception, match="no partitions"):
        load(spark, case, ["nosuch"]).count()


def test_timestamps_are_spark_timestamps(spark, demo):
    df = load(spark, demo, ["metrics"])
    row = df.select("*", F.unix_millis("timestamp").alias("ms")).orderBy("offset").first()
    assert isinstance(row["timestamp"], dt.datetime)
    assert row["topic"] == "metrics"
    first = kreplay.read(demo, ["metrics"], partitions=[row["partition"]]).read_next_batch()
    assert row["ms"] == first.column("timestamp").cast("int64")[0].as_py()
