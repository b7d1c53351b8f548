"""kreplay.Consumer against Kafka's consumer semantics: every conformance
case polled to its end gives expected.jsonl (and what kreplay.read gives);
max_records bounds each poll and positions move past exactly what was
returned; members of one group split the partitions, each record delivered
once; groups are independent; a commit is the next offset to read and a new
member resumes there; seek/position; read_committed; errors name file,
position and offset."""

import json
import shutil

import pyarrow as pa
import pytest

import kreplay
from conftest import ROOT, cases, expected_records, topics_of
from test_read import as_expected, by_partition

CASES = cases("corpus")
FOUR = ROOT / "fixtures/conformance/corpus/v2-four-partitions"


def drain(consumer, max_records=None, commit=False):
    """Polls until every assigned partition is at its end; the batches."""
    batches = []
    while True:
        batch = consumer.poll(max_records)
        assert batch.schema == kreplay.SCHEMA
        if commit:
            consumer.commit()
        if batch.num_rows:
            batches.append(batch)
        elif consumer.at_end():
            return batches


def table(batches):
    return pa.Table.from_batches(batches, schema=kreplay.SCHEMA)


def keys(t):
    return list(zip(t.column("topic").to_pylist(), t.column("partition").to_pylist(),
                    t.column("offset").to_pylist()))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.parent.parent.name}/{c.name}")
def test_every_case_polls_as_expected(case):
    with kreplay.Consumer(case, max_poll_records=7) as consumer:
        consumer.subscribe(topics_of(case))
        got = table(drain(consumer))
    assert by_partition(as_expected(got)) == by_partition(expected_records(case))
    read = kreplay.read(case, topics_of(case)).read_all()
    assert by_partition(as_expected(read)) == by_partition(as_expected(got))


def test_max_records_bounds_each_poll_and_positions_follow(demo):
    with kreplay.Consumer(demo, max_poll_records=50) as consumer:
        consumer.assign([("metrics", 0), ("metrics", 1)])
        expected = keys(kreplay.read(demo, "metrics", partitions=[0, 1]).read_all())
        seen = []
        while True:
            batch = consumer.poll(max_records=7)
            assert batch.num_rows <= 7
            seen.extend(keys(pa.Table.from_batches([batch])))
            # The position is past the last record returned and not past
            # the next one (offsets have gaps: control records, compaction).
            for tp in consumer.assignment():
                mine = [o for t, p, o in seen if (t, p) == tp]
                if mine:
                    rest = [o for t, p, o in expected if (t, p) == tp and o > mine[-1]]
                    nxt = rest[0] if rest else consumer.end_offsets([tp])[tp]
                    assert mine[-1] < consumer.position(*tp) <= nxt
            if batch.num_rows == 0 and consumer.at_end():
                break
        assert sorted(seen) == sorted(expected)
        assert len(seen) == len(set(seen))
        # Larger than max_poll_records: max_poll_records still bounds it.
        consumer.seek_to_beginning()
        assert consumer.poll(max_records=10_000).num_rows == 50
        with pytest.raises(ValueError):
            consumer.poll(max_records=0)


def test_iteration_yields_every_record(demo):
    with kreplay.Consumer(demo) as consumer:
        consumer.subscribe("metrics")
        got = table(list(consumer))
    assert sorted(keys(got)) == sorted(keys(kreplay.read(demo, "metrics").read_all()))


@pytest.mark.parametrize("assignor", ["range", "roundrobin", "sticky", "cooperative-sticky"])
def test_one_group_splits_the_partitions_and_delivers_each_record_once(demo, tmp_path, assignor):
    state = tmp_path / "state"
    everything = sorted(keys(kreplay.read(demo, "metrics").read_all()))
    a, b = (
        kreplay.Consumer(demo, group_id="g", state_dir=state, max_poll_records=100,
                         partition_assignment_strategy=assignor, group_instance_id=name)
        for name in ("a", "b"))
    a.subscribe("metrics")
    b.subscribe("metrics")
    assert a.member_id and b.member_id and a.member_id != b.member_id
    seen = {"a": [], "b": []}
    done = set()
    # Alternate polls (committing each, as `kreplay consume` does), until
    # both members are at the end of what they own.
    for _ in range(10_000):
        for name, c in (("a", a), ("b", b)):
            batch = c.poll(timeout=0.05)
            c.commit()
            seen[name].extend(keys(pa.Table.from_batches([batch])))
            if batch.num_rows == 0 and c.at_end() and c.assignment():
                done.add(name)
        if len(done) == 2:
            break
    owned_a, owned_b = set(a.assignment()), set(b.assignment())
    # Each partition has one owner; together they own all three.
    assert owned_a and owned_b and not owned_a & owned_b
    assert owned_a | owned_b == set(a.partitions_for("metrics"))
    # Every record once, across both members.
    union = seen["a"] + seen["b"]
    assert sorted(union) == everything
    assert {(t, p) for t, p, _ in seen["b"]} <= owned_b
    a.close()
    b.close()


def test_groups_are_independent_and_a_commit_is_where_the_group_resumes(demo, tmp_path):
    state = tmp_path / "state"
    expected = keys(kreplay.read(demo, "metrics", partitions=[0]).read_all())
    with kreplay.Consumer(demo, group_id="g1", state_dir=state) as c:
        c.subscribe("metrics")
        got = []
        while len(got) < 100:
            got.extend(keys(pa.Table.from_batches([c.poll(max_records=10)])))
        positions = {tp: c.position(*tp) for tp in c.assignment()}
        c.commit()
        # A commit stores the next offset to read: the position.
        assert c.committed() == positions
        # Polled after the commit, not committed: delivered again below.
        c.poll(max_records=10)
    with kreplay.Consumer(demo, group_id="g1", state_dir=state) as c:
        c.subscribe("metrics")
        batch = c.poll(max_records=5)
        while batch.num_rows == 0:
            batch = c.poll(max_records=5)
        t, p, o = keys(pa.Table.from_batches([batch]))[0]
        assert o == positions[(t, p)]
        assert c.committed([("metrics", 0)]) == {("metrics", 0): positions[("metrics", 0)]}
    # Another group has its own offsets: it starts from the beginning.
    with kreplay.Consumer(demo, group_id="g2", state_dir=state) as c:
        assert c.committed([("metrics", 0)]) == {("metrics", 0): None}
        c.assign([("metrics", 0)])
        assert keys(table(drain(c))) == expected
        c.commit({("metrics", 0): (5, "halfway")})  # (offset, metadata)
        assert c.committed([("metrics", 0)]) == {("metrics", 0): 5}
    # g1's commit was not moved by g2's.
    with kreplay.Consumer(demo, group_id="g1", state_dir=state) as c:
        assert c.committed([("metrics", 0)])[("metrics", 0)] == positions[("metrics", 0)]
        # A manual assignment starts at the committed offset too.
        c.assign([("metrics", 0)])
        assert c.position("metrics", 0) == positions[("metrics", 0)]


def test_auto_commit_commits_what_earlier_polls_returned_and_at_close(demo, tmp_path):
    state = tmp_path / "state"
    tp = ("metrics", 0)
    with kreplay.Consumer(demo, group_id="auto", state_dir=state,
                          enable_auto_commit=True, auto_commit_interval_ms=0) as c:
        c.assign([tp])
        first = c.poll(max_records=10)
        after_first = c.position(*tp)
        assert first.num_rows == 10
        c.poll(max_records=10)
        # The second poll committed the first one's records, not its own.
        assert c.committed([tp]) == {tp: after_first}
        c.poll(max_records=10)
        positions = c.position(*tp)
    # close (the context manager's exit) committed the rest.
    with kreplay.Consumer(demo, group_id="auto", state_dir=state) as c:
        assert c.committed([tp]) == {tp: positions}
    # Within the interval nothing is committed until close; off, never.
    for enabled, group in [(True, "hourly"), (False, "off")]:
        c = kreplay.Consumer(demo, group_id=group, state_dir=state,
                             enable_auto_commit=enabled, auto_commit_interval_ms=3_600_000)
        c.assign([tp])
        for _ in range(3):
            c.poll(max_records=10)
        assert c.committed([tp]) == {tp: None}
        positions = c.position(*tp)
        c.close()
        with kreplay.Consumer(demo, group_id=group, state_dir=state) as reader:
            assert reader.committed([tp]) == {tp: positions if enabled else None}


def test_seek_position_pause_and_offsets():
    (topic,) = topics_of(FOUR)
    expected = by_partition(expected_records(FOUR))
    with kreplay.Consumer(FOUR, auto_offset_reset="latest") as c:
        c.assign([(topic, 0), (topic, 1)])
        end = c.end_offsets([(topic, 0)])[(topic, 0)]
        assert c.position(topic, 0) == end
        assert c.poll(timeout=0).num_rows == 0
        c.seek(topic, 0, 3)
        assert c.position(topic, 0) == 3
        got = as_expected(table(drain(c)))
        assert [r for r in got if r["partition"] == 0] == [
            r for r in expected[(topic, 0)] if r["offset"] >= 3]
        c.seek_to_beginning([(topic, 1)])
        assert c.position(topic, 1) == c.beginning_offsets([(topic, 1)])[(topic, 1)]
        c.seek_to_beginning()
        c.pause([(topic, 0)])
        assert c.paused() == [(topic, 0)]
        got = as_expected(table(drain(c)))
        assert {r["partition"] for r in got} == {1}
        c.resume([(topic, 0)])
        got = as_expected(table(drain(c)))
        assert got == expected[(topic, 0)]
        c.seek_to_end()
        assert c.poll(timeout=0).num_rows == 0
    with kreplay.Consumer(FOUR, auto_offset_reset="none") as c:
        c.assign([(topic, 2)])
        with pytest.raises(kreplay.KreplayError, match="no committed offset"):
            c.position(topic, 2)


def test_read_committed_hides_aborted_records():
    case = ROOT / "fixtures/conformance/corpus/v2-transactional"
    read = kreplay.read(case, topics_of(case), isolation_level="read_committed").read_all()
    everything = kreplay.read(case, topics_of(case)).read_all()
    with kreplay.Consumer(case, isolation_level="read_committed", max_poll_records=3) as c:
        c.subscribe(topics_of(case))
        got = table(drain(c))
    assert 0 < got.num_rows < everything.num_rows
    assert by_partition(as_expected(got)) == by_partition(as_expected(read))
    with pytest.raises(ValueError, match="isolation_level"):
        kreplay.Consumer(case, isolation_level="read_everything")


def test_engine_errors_raise_kreplay_error(demo, tmp_path):
    with pytest.raises(kreplay.KreplayError, match="no-such-dir"):
        kreplay.Consumer(tmp_path / "no-such-dir")
    with kreplay.Consumer(demo) as c:
        with pytest.raises(kreplay.KreplayError, match="no-such-topic"):
            c.subscribe("no-such-topic")
        with pytest.raises(kreplay.KreplayError, match="not assigned"):
            c.position("metrics", 0)
        with pytest.raises(kreplay.KreplayError, match="group id"):
            c.commit()
    with pytest.raises(kreplay.KreplayError, match="state dir"):
        kreplay.Consumer(demo, group_id="g")
    with pytest.raises(ValueError, match="partition_assignment_strategy"):
        kreplay.Consumer(demo, partition_assignment_strategy="random")
    c = kreplay.Consumer(demo)
    c.close()
    assert c.closed
    with pytest.raises(kreplay.KreplayError, match="closed"):
        c.poll()


def test_corruption_raises_after_the_valid_records():
    case = ROOT / "fixtures/conformance/corpus-bad/crc-flipped-byte"
    info = json.loads((case / "case.json").read_text())
    error = info["segments"][0]["error"]
    seen = []
    with kreplay.Consumer(case, max_poll_records=1) as c:
        c.subscribe(topics_of(case))
        with pytest.raises(kreplay.KreplayError) as raised:
            for batch in c:
                seen.extend(batch.column("offset").to_pylist())
    message = str(raised.value)
    assert error["segment"] in message
    assert str(error["file_position"]) in message
    assert str(error["batch_base_offset"]) in message
    assert seen == list(range(info["records"]))


def test_a_log_dir_is_never_written(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(FOUR, case)
    before = {p: p.stat().st_mtime_ns for p in case.rglob("*")}
    with kreplay.Consumer(case, group_id="g", state_dir=tmp_path / "state") as c:
        c.subscribe(topics_of(case))
        drain(c, commit=True)
    assert {p: p.stat().st_mtime_ns for p in case.rglob("*")} == before
