//! The consumer against the conformance corpus and naive expectations:
//! full replays, isolation levels, poll bounds and order.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig, IsolationLevel, TopicPartition};
use serde_json::Value;

fn config(log_dir: &std::path::Path) -> ConsumerConfig {
    let mut config = ConsumerConfig::new([log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config
}

/// Polls until every partition is at its end; returns the records as
/// conformance JSON, and the largest poll seen.
fn drain(consumer: &mut Consumer) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut largest = 0;
    for _ in 0..1_000_000 {
        let records = consumer.poll(Duration::from_secs(5)).unwrap();
        largest = largest.max(records.count());
        let empty = records.is_empty();
        for r in &records {
            let r = r.unwrap();
            out.push(record_json(
                &r.topic_partition.topic,
                r.topic_partition.partition,
                &r,
            ));
        }
        if empty && consumer.at_end() {
            return (out, largest);
        }
    }
    panic!("never reached the end");
}

/// Groups records by partition, keeping their order.
fn by_partition(records: &[Value]) -> BTreeMap<(String, i64), Vec<Value>> {
    let mut map: BTreeMap<(String, i64), Vec<Value>> = BTreeMap::new();
    for r in records {
        let key = (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_i64().unwrap(),
        );
        map.entry(key).or_default().push(r.clone());
    }
    map
}

#[test]
fn full_replay_equals_expected_without_control_records() {
    let mut checked = 0;
    for root in corpus_roots("corpus") {
        for case in cases_under(&root) {
            let expected: Vec<Value> = read_expected(&case)
                .into_iter()
                .filter(|r| r["is_control"] == false)
                .collect();
            for max_poll_records in [1, 7, 500] {
                let mut config = config(&case);
                config.max_poll_records = max_poll_records;
                config.max_partition_fetch_bytes = 4096;
                let mut consumer = Consumer::new(config).unwrap();
                let topics: Vec<String> =
                    consumer.partitions().map(|tp| tp.topic.clone()).collect();
                consumer.subscribe(&topics).unwrap();
                let (got, largest) = drain(&mut consumer);
                assert!(
                    largest <= max_poll_records,
                    "{}: poll of {largest}",
                    case.display()
                );
                // Order holds within each partition; partitions interleave.
                assert_eq!(
                    by_partition(&got),
                    by_partition(&expected),
                    "{} ({max_poll_records})",
                    case.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 26);
}

#[test]
fn read_committed_hides_aborted_transactions() {
    let case = workspace_root().join("fixtures/conformance/corpus/v2-transactional");
    let offsets = |isolation| {
        let mut config = config(&case);
        config.isolation_level = isolation;
        let mut consumer = Consumer::new(config).unwrap();
        consumer.subscribe(&["txn"]).unwrap();
        let (got, _) = drain(&mut consumer);
        let position = consumer.position(&TopicPartition::new("txn", 0)).unwrap();
        (
            got.iter()
                .map(|r| r["offset"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            position,
        )
    };
    // Layout (cases.md): 0-4 txn A, 5-7 plain, 8-9 txn A, 10 COMMIT A,
    // 11-15 txn B, 16-18 idempotent, 19 ABORT B, 20-21 plain.
    let (committed, position) = offsets(IsolationLevel::ReadCommitted);
    let mut want: Vec<i64> = (0..=9).chain(16..=18).chain(20..=21).collect();
    want.sort();
    assert_eq!(committed, want);
    assert_eq!(
        position, 22,
        "the position moves past control and aborted batches"
    );
    let (uncommitted, _) = offsets(IsolationLevel::ReadUncommitted);
    let want: Vec<i64> = (0..=21).filter(|o| *o != 10 && *o != 19).collect();
    assert_eq!(uncommitted, want);
}

/// A partition whose first batch is damaged cannot be given a start
/// position by `auto_offset_reset`: poll raises the damage (naming the
/// file), not a "no committed offset" that sends the caller to `seek`.
#[test]
fn a_damaged_first_batch_is_raised_not_taken_for_a_missing_offset() {
    use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PartitionWriter::open(dir.path(), "damaged", 0, WriterOptions::default()).unwrap();
    let mut specs: Vec<RecordSpec> = (0..10)
        .map(|i| RecordSpec::new(i, None, Some(format!("v{i}").as_bytes())))
        .collect();
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
    let log = dir.path().join("damaged-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[16] = 9; // the magic byte of the first batch
    std::fs::write(&log, &bytes).unwrap();

    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["damaged"]).unwrap();
    let error = consumer
        .poll(Duration::from_millis(100))
        .map(|records| records.count())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("00000000000000000000.log") && !error.contains("no committed offset"),
        "{error}"
    );
}
