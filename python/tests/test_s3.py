"""Log dirs in an S3-compatible bucket (moto's server on loopback, started
by .ci/run, endpoint in KREPLAY_TEST_S3_ENDPOINT): kreplay.read, kreplay.ls
and the Spark data source take s3:// paths and give what they give from the
same files on disk."""

import os
import pathlib

import pytest

import kreplay
from conftest import ROOT, cases, expected_records, topics_of
from test_read import as_expected, by_partition

ENDPOINT = os.environ.get("KREPLAY_TEST_S3_ENDPOINT")
pytestmark = pytest.mark.skipif(
    not ENDPOINT, reason="KREPLAY_TEST_S3_ENDPOINT is not set (.ci/run starts a server)"
)
BUCKET = "kreplay-python"
CASES = cases("corpus")


@pytest.fixture(scope="module")
def bucket():
    boto3 = pytest.importorskip("boto3")
    s3 = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="kreplay-test",
        aws_secret_access_key="kreplay-test",
    )
    s3.create_bucket(Bucket=BUCKET)
    for prefix, local in [("demo", ROOT / "fixtures" / "demo")] + [
        (f"corpus/{c.name}", c) for c in CASES
    ]:
        for path in pathlib.Path(local).rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(local)}")
    # The engine's S3 client reads the AWS_* settings conftest.py put in
    # the environment.
    return f"s3://{BUCKET}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_case_reads_from_the_bucket_as_expected(bucket, case):
    table = kreplay.read(f"{bucket}/corpus/{case.name}", topics_of(case), batch_records=100).read_all()
    assert by_partition(as_expected(table)) == by_partition(expected_records(case))


def test_ls_and_read_committed_from_the_bucket_equal_disk(bucket):
    demo = ROOT / "fixtures" / "demo"
    assert kreplay.ls(f"{bucket}/demo") == kreplay.ls(demo)
    topics = ["metrics", "orders"]
    remote = kreplay.read(f"{bucket}/demo", topics, isolation_level="read_committed").read_all()
    local = kreplay.read(demo, topics, isolation_level="read_committed").read_all()
    assert remote.num_rows == local.num_rows > 0
    assert by_partition(as_expected(remote)) == by_partition(as_expected(local))


def test_a_missing_prefix_is_an_error_naming_it(bucket):
    with pytest.raises(kreplay.KreplayError, match=f"{bucket}/nothing"):
        kreplay.read(f"{bucket}/nothing", ["metrics"]).read_all()


def test_spark_reads_the_bucket_split_per_partition(bucket, spark):
    from pyspark.sql import functions as F

    def counts(path):
        df = spark.read.format("kreplay").option("path", path).option("topics", "metrics,orders").load()
        rows = df.groupBy("topic", "partition").agg(F.count("*").alias("n"), F.sum("offset").alias("o"))
        return df.rdd.getNumPartitions(), sorted(tuple(r) for r in rows.collect())

    remote = counts(f"{bucket}/demo")
    local = counts(str(ROOT / "fixtures" / "demo"))
    assert remote == local
    assert remote[0] == 6
