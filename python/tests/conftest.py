"""Where the conformance corpus is: the project's copy in fixtures/, and
../shared/conformance beside the checkout when it is present (skipped, and
said so, when not)."""

import json
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "conformance"


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
