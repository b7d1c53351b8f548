"""Where the conformance corpus is: the project's copy in fixtures/, and
../shared/conformance beside the checkout when it is present (skipped, and
said so, when not)."""

import json
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "conformance"

# The S3 server of the object-storage tests (test_s3.py): its settings go
# into the environment now, before any Spark JVM (and its Python workers,
# which inherit it) starts.
S3_ENDPOINT = os.environ.get("KREPLAY_TEST_S3_ENDPOINT")
if S3_ENDPOINT:
    os.environ.update(
        AWS_ENDPOINT_URL=S3_ENDPOINT,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="kreplay-test",
        AWS_SECRET_ACCESS_KEY="kreplay-test",
    )


@pytest.fixture(scope="session")
def spark():
    """One Spark session (local[2]) for the Spark tests, kreplay registered."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from kreplay.spark import register

    # Spark's Python workers run this interpreter, where kreplay is installed.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("kreplay-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.python.filterPushdown.enabled", "true")
        .getOrCreate()
    )
    register(session)
    yield session
    session.stop()


def corpus_roots(kind):
    roots = [ROOT / "fixtures" / "conformance" / kind]
    if (SHARED / kind).is_dir():
        roots.append(SHARED / kind)
    else:
        print(f"skipped: ../shared/conformance/{kind} is not present")
    return [r for r in roots if r.is_dir()]


def cases(kind):
    found = []
    for root in corpus_roots(kind):
        for dirpath, _, files in os.walk(root):
            if "expected.jsonl" in files:
                found.append(pathlib.Path(dirpath))
    return sorted(found)


def topics_of(case):
    topics = set()
    for entry in case.iterdir():
        topic, _, n = entry.name.rpartition("-")
        if entry.is_dir() and n.isdigit():
            topics.add(topic)
    return sorted(topics)


def expected_records(case):
    """expected.jsonl without control records (a consumer never sees them)."""
    out = []
    with open(case / "expected.jsonl") as f:
        for line in f:
            r = json.loads(line)
            if not r.pop("is_control"):
                out.append(r)
    return out


@pytest.fixture
def demo():
    return ROOT / "fixtures" / "demo"
