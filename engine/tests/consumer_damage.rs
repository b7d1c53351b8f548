//! A segment that ends in a partial batch although later segments follow:
//! the consumer returns every valid record of every segment and reports the
//! gap to its caller through `take_damage` (file, byte position, missing
//! offsets); under `OnDamage::Stop` the poll after the valid records fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kreplay::writer::{generate, GenConfig};
use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig, Damage, OnDamage, TopicPartition};

/// 2000 records of `t-0`, 100 per batch, 5 batches per segment; the first
/// segment loses its last 123 bytes.
fn damaged_log(dir: &Path) -> (PathBuf, PathBuf) {
    let log_dir = dir.join("logs");
    generate(
        &GenConfig::default()
            .with_log_dir(log_dir.clone())
            .with_topics(vec!["t".into()])
            .with_partitions(1)
            .with_records_per_topic(2000)
            .with_records_per_batch(100)
            .with_segment_bytes(150_000),
    )
    .unwrap();
    let first = log_dir.join("t-0/00000000000000000000.log");
    assert!(log_dir.join("t-0/00000000000000000500.log").exists());
    let len = std::fs::metadata(&first).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(len - 123)
        .unwrap();
    (log_dir, first)
}

fn consumer(log_dir: &Path, on_damage: OnDamage) -> Consumer {
    let mut config = ConsumerConfig::new([log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.on_damage = on_damage;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.assign(&[TopicPartition::new("t", 0)]).unwrap();
    consumer
}

/// Polls to the end: the offsets returned, the damage taken after each poll,
/// and the first error.
fn drain(consumer: &mut Consumer) -> (Vec<i64>, Vec<Damage>, Option<kreplay::Error>) {
    let mut offsets = Vec::new();
    let mut damage = Vec::new();
    for _ in 0..100_000 {
        let records = match consumer.poll(Duration::from_secs(5)) {
            Ok(records) => records,
            Err(error) => return (offsets, damage, Some(error)),
        };
        let empty = records.is_empty();
        for record in &records {
            offsets.push(record.unwrap().offset());
        }
        damage.extend(consumer.take_damage());
        if empty && consumer.at_end() {
            return (offsets, damage, None);
        }
    }
    panic!("never reached the end");
}

#[test]
fn skip_returns_every_valid_record_and_reports_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (log_dir, first) = damaged_log(dir.path());
    let mut consumer = consumer(&log_dir, OnDamage::Skip);
    let (offsets, damage, error) = drain(&mut consumer);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(offsets, (0..400).chain(500..2000).collect::<Vec<_>>());
    assert_eq!(damage.len(), 1, "{damage:?}");
    let d = &damage[0];
    assert_eq!(d.path, first);
    assert_eq!(d.missing_offsets, Some(400..=499));
    assert!(d.position < std::fs::metadata(&first).unwrap().len());
    assert_eq!(d.topic_partition, TopicPartition::new("t", 0));
    // The position moved past the gap.
    assert_eq!(
        consumer.position(&TopicPartition::new("t", 0)).unwrap(),
        2000
    );
}

#[test]
fn stop_fails_after_the_valid_records_before_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (log_dir, first) = damaged_log(dir.path());
    let mut consumer = consumer(&log_dir, OnDamage::Stop);
    let (offsets, damage, error) = drain(&mut consumer);
    assert_eq!(offsets, (0..400).collect::<Vec<_>>());
    assert!(damage.is_empty());
    match error {
        Some(kreplay::Error::Corrupt { path, offset, .. }) => {
            assert_eq!(path, first);
            assert_eq!(offset, Some(400));
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}
