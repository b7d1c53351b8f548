//! `kreplay group describe` prints, per committed partition only, the
//! committed offset, the log end offset and their difference, exactly; a
//! commit past the log end shows a lag of 0 with a note.

mod common;
mod group_common;

use group_common::*;

#[test]
fn describe_shows_current_offset_log_end_and_lag() {
    let state = tempfile::tempdir().unwrap();
    assert_eq!(consume_group(state.path(), "g", "orders", 0, 3), [0, 1, 2]);
    assert_eq!(consume_group(state.path(), "g", "metrics", 1, 5).len(), 5);
    let ends = log_offsets();
    let run = kreplay([
        "group",
        "describe",
        "g",
        "--log-dir",
        s(&demo()),
        "--state-dir",
        s(state.path()),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2, "only committed partitions: {}", run.stdout);
    for (line, (topic, partition, current)) in
        lines.iter().zip([("metrics", 1, 5), ("orders", 0, 3)])
    {
        let end = ends[&tp(topic, partition)].1;
        assert_eq!(line["group"], "g");
        assert_eq!(line["topic"], topic);
        assert_eq!(line["partition"], partition);
        assert_eq!(line["current_offset"], current);
        assert_eq!(line["log_end_offset"], end);
        assert_eq!(line["lag"], end - current);
        assert!(line["consumer_id"].is_null());
    }

    let run = kreplay([
        "group",
        "describe",
        "g",
        "--log-dir",
        s(&demo()),
        "--state-dir",
        s(state.path()),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let end = ends[&tp("orders", 0)].1;
    assert_eq!(
        rows[2],
        [
            "g",
            "orders",
            "0",
            "3",
            &end.to_string(),
            &(end - 3).to_string(),
            "-",
            "-",
            "-"
        ]
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn a_commit_past_the_log_end_has_lag_zero_and_a_note() {
    let state = tempfile::tempdir().unwrap();
    let store = kreplay::OffsetStore::open(state.path(), &[demo()]).unwrap();
    let orders_2 = kreplay::TopicPartition::new("orders", 2);
    let offsets =
        std::collections::BTreeMap::from([(orders_2, kreplay::OffsetAndMetadata::new(1_000_000))]);
    store.commit("ahead", &offsets).unwrap();
    let run = kreplay([
        "group",
        "describe",
        "ahead",
        "--log-dir",
        s(&demo()),
        "--state-dir",
        s(state.path()),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["current_offset"], 1_000_000);
    assert_eq!(
        lines[0]["log_end_offset"],
        log_offsets()[&tp("orders", 2)].1
    );
    assert_eq!(lines[0]["lag"], 0);
    assert!(run.stderr.contains("past the log end"), "{}", run.stderr);
}
