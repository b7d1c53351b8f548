//! `state::compacted::compacted_offsets`: a written `__consumer_offsets`
//! partition compacts as a group coordinator loads it; the real partitions
//! compact with no warning.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use kreplay::state::compacted::compacted_offsets;
use kreplay::writer::{
    fill_offset_deltas, group_metadata_record, offset_commit_record, offset_commit_tombstone,
    PartitionWriter, RecordSpec, StateRecord, WriterOptions,
};
use kreplay::{list_partitions, ReadOptions};

fn specs(records: &[StateRecord]) -> Vec<RecordSpec> {
    let mut specs: Vec<RecordSpec> = records
        .iter()
        .map(|r| RecordSpec::new(1_700_000_000_000, r.key(), r.value()))
        .collect();
    fill_offset_deltas(&mut specs);
    specs
}

#[test]
fn last_value_wins_tombstones_delete_transactions_wait_for_markers() {
    let root = tempfile::tempdir().unwrap();
    let mut w = PartitionWriter::open(
        root.path(),
        "__consumer_offsets",
        0,
        WriterOptions::default(),
    )
    .unwrap();
    let group = kreplay::state::consumer_offsets::GroupMetadataValue {
        version: 3,
        protocol_type: "consumer".into(),
        ..Default::default()
    };
    w.append(&specs(&[
        offset_commit_record("billing", "orders", 0, 10, "", 1).unwrap(),
        offset_commit_record("billing", "orders", 1, 5, "", 1).unwrap(),
        offset_commit_record("audit", "orders", 0, 3, "", 1).unwrap(),
        group_metadata_record("billing", Some(&group)).unwrap(),
        group_metadata_record("audit", Some(&group)).unwrap(),
    ]))
    .unwrap();
    w.append(&specs(&[
        offset_commit_record("billing", "orders", 0, 20, "", 2).unwrap(),
        offset_commit_tombstone("billing", "orders", 1).unwrap(),
        group_metadata_record("audit", None).unwrap(),
    ]))
    .unwrap();
    // A committed transaction moves audit/orders-1; an aborted one would
    // have moved billing/orders-0 back.
    w.append_transactional(
        7,
        0,
        &specs(&[offset_commit_record("audit", "orders", 1, 9, "", 3).unwrap()]),
    )
    .unwrap();
    w.append_transactional(
        8,
        0,
        &specs(&[offset_commit_record("billing", "orders", 0, 1, "", 3).unwrap()]),
    )
    .unwrap();
    w.commit(7).unwrap();
    w.abort(8).unwrap();
    // Still open at the end: never applied.
    w.append_transactional(
        9,
        0,
        &specs(&[offset_commit_record("audit", "orders", 2, 4, "", 4).unwrap()]),
    )
    .unwrap();
    w.close().unwrap();

    let dir = list_partitions(root.path()).unwrap().remove(0);
    let view = compacted_offsets(&dir, ReadOptions::default()).unwrap();
    let offsets: Vec<(String, String, i32, i64)> = view
        .offsets
        .iter()
        .map(|((g, t, p), c)| (g.clone(), t.clone(), *p, c.value.offset))
        .collect();
    assert_eq!(
        offsets,
        [
            ("audit".into(), "orders".into(), 0, 3),
            ("audit".into(), "orders".into(), 1, 9),
            ("billing".into(), "orders".into(), 0, 20),
        ]
    );
    assert_eq!(view.groups.keys().collect::<Vec<_>>(), ["billing"]);
    assert_eq!(view.deleted_groups.iter().collect::<Vec<_>>(), ["audit"]);
    assert_eq!(view.pending.keys().collect::<Vec<_>>(), [&9]);
    assert!(view.warnings.is_empty());
    assert_eq!(view.group_offsets("billing").len(), 1);
}

#[test]
fn real_offsets_partitions_compact_without_warnings() {
    let Some(shared) = common::shared_conformance() else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let log_dir = shared.join("real/nomanazeem__Kafka-java/kafka-logs");
    if !log_dir.is_dir() {
        eprintln!("skipped: {} is not present", log_dir.display());
        return;
    }
    let dir = list_partitions(&log_dir)
        .unwrap()
        .into_iter()
        .find(|d| d.topic_partition.topic == "__consumer_offsets")
        .unwrap();
    let view = compacted_offsets(&dir, ReadOptions::default()).unwrap();
    assert!(view.warnings.is_empty(), "{:?}", view.warnings);
    let demo = view.group_offsets("demo-group");
    assert!(!demo.is_empty());
    assert!(
        demo.keys().all(|(topic, _)| topic == "demo-topic"),
        "{demo:?}"
    );
    assert!(view.groups.contains_key("demo-group"));
}
