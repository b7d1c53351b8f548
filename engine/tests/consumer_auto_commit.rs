//! `enable_auto_commit`, as Kafka's consumer: a poll commits the positions of
//! the records earlier polls returned once the interval has passed; a
//! revocation commits the revoked partitions (so the next owner starts right
//! after them); `close` commits an assigned consumer's positions. Off, it
//! commits nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig, TopicPartition};

const TOPIC: &str = "t";

fn write_topic(dir: &Path, partitions: i32, per_partition: i64) {
    for p in 0..partitions {
        let mut writer = PartitionWriter::open(dir, TOPIC, p, WriterOptions::default()).unwrap();
        let mut specs: Vec<RecordSpec> = (0..per_partition)
            .map(|i| RecordSpec::new(i, None, Some(format!("p{p}-{i}").as_bytes())))
            .collect();
        for chunk in specs.chunks_mut(10) {
            fill_offset_deltas(chunk);
            writer.append(chunk).unwrap();
        }
        writer.close().unwrap();
    }
}

fn config(log: &Path, state: &Path, interval: Duration) -> ConsumerConfig {
    let mut config = ConsumerConfig::new([log]);
    config.group_id = Some("g".into());
    config.state_dir = Some(state.to_path_buf());
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = 7;
    config.enable_auto_commit = true;
    config.auto_commit_interval = interval;
    config.heartbeat_interval = Duration::from_millis(20);
    config.session_timeout = Duration::from_millis(2_000);
    config
}

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new(TOPIC, p)
}

/// Polls once; the (partition, offset) of its records.
fn poll(consumer: &mut Consumer) -> Vec<(i32, i64)> {
    let records = consumer.poll(Duration::from_millis(200)).unwrap();
    records
        .iter()
        .map(|r| {
            let r = r.unwrap();
            (r.topic_partition.partition, r.offset())
        })
        .collect()
}

fn committed(consumer: &Consumer, partitions: &[TopicPartition]) -> BTreeMap<TopicPartition, i64> {
    consumer
        .committed(partitions)
        .unwrap()
        .into_iter()
        .map(|(tp, o)| (tp, o.offset))
        .collect()
}

#[test]
fn a_poll_commits_what_the_polls_before_it_returned() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, state) = (tmp.path().join("log"), tmp.path().join("state"));
    write_topic(&log, 1, 50);
    let mut consumer = Consumer::new(config(&log, &state, Duration::ZERO)).unwrap();
    consumer.assign(&[tp(0)]).unwrap();
    let first = poll(&mut consumer);
    assert_eq!(first.len(), 7);
    let second = poll(&mut consumer);
    // The second poll committed the first one's records, not its own.
    assert_eq!(committed(&consumer, &[tp(0)])[&tp(0)], first[6].1 + 1);
    assert_eq!(second[0].1, first[6].1 + 1);
    poll(&mut consumer);
    assert_eq!(committed(&consumer, &[tp(0)])[&tp(0)], second[6].1 + 1);
}

#[test]
fn within_the_interval_nothing_is_committed_until_close() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, state) = (tmp.path().join("log"), tmp.path().join("state"));
    write_topic(&log, 2, 30);
    let partitions = [tp(0), tp(1)];
    let mut consumer = Consumer::new(config(&log, &state, Duration::from_secs(3600))).unwrap();
    consumer.assign(&partitions).unwrap();
    for _ in 0..4 {
        poll(&mut consumer);
    }
    assert!(committed(&consumer, &partitions).is_empty());
    let positions: BTreeMap<TopicPartition, i64> = partitions
        .iter()
        .map(|tp| (tp.clone(), consumer.position(tp).unwrap()))
        .collect();
    assert!(positions.values().any(|p| *p > 0));
    consumer.close().unwrap();
    let reader = Consumer::new(config(&log, &state, Duration::from_secs(3600))).unwrap();
    assert_eq!(committed(&reader, &partitions), positions);
}

#[test]
fn off_commits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, state) = (tmp.path().join("log"), tmp.path().join("state"));
    write_topic(&log, 1, 30);
    let mut off = config(&log, &state, Duration::ZERO);
    off.enable_auto_commit = false;
    let mut consumer = Consumer::new(off.clone()).unwrap();
    consumer.assign(&[tp(0)]).unwrap();
    for _ in 0..3 {
        poll(&mut consumer);
    }
    consumer.close().unwrap();
    let reader = Consumer::new(off).unwrap();
    assert!(committed(&reader, &[tp(0)]).is_empty());
}

/// Two members, no listener: the first reads alone, the second joins, and
/// the revocation's commit makes the second start right after what the
/// first returned: every record once, none twice.
#[test]
fn a_revocation_commits_so_the_next_owner_starts_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, state) = (tmp.path().join("log"), tmp.path().join("state"));
    write_topic(&log, 4, 40);
    let interval = Duration::from_secs(3600);
    let mut a = Consumer::new(config(&log, &state, interval)).unwrap();
    a.subscribe(&[TOPIC]).unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.extend(poll(&mut a));
    }
    assert!(!seen.is_empty());
    let mut b = Consumer::new(config(&log, &state, interval)).unwrap();
    b.subscribe(&[TOPIC]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < 160 && Instant::now() < deadline {
        seen.extend(poll(&mut a));
        seen.extend(poll(&mut b));
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "a record was delivered twice");
    assert_eq!(n, 160, "records missing");
    assert!(
        !b.assignment().is_empty(),
        "the second member never got a partition"
    );
}
