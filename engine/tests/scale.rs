//! Many partitions and many segments: the consumer keeps its open
//! descriptors and mappings bounded (the fetcher closes the oldest readers'
//! segments past a limit and finds their place again), and every record
//! still arrives exactly once, in order.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig, Partition, ReadOptions};

fn write(
    dir: &Path,
    topic: &str,
    partition: i32,
    records: usize,
    per_batch: usize,
    options: WriterOptions,
) {
    let mut writer = PartitionWriter::open(dir, topic, partition, options).unwrap();
    let all: Vec<usize> = (0..records).collect();
    for chunk in all.chunks(per_batch) {
        let mut specs: Vec<RecordSpec> = chunk
            .iter()
            .map(|i| RecordSpec::new(*i as i64, None, Some(format!("{partition}-{i}").as_bytes())))
            .collect();
        fill_offset_deltas(&mut specs);
        writer.append(&specs).unwrap();
    }
    writer.close().unwrap();
}

/// Descriptors and maps are counted for the whole process: the tests of
/// this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn maps() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| m.lines().count())
}

#[test]
fn a_thousand_partitions_are_read_with_bounded_descriptors_and_maps() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let partitions = 1_000;
    for p in 0..partitions {
        write(dir.path(), "wide", p, 40, 4, WriterOptions::default());
    }
    let (fds_before, maps_before) = (open_fds(), maps());
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    // Small fetches: each partition is fetched several times, so readers are
    // closed and found again.
    config.max_partition_fetch_bytes = 200;
    config.max_poll_records = 97;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["wide"]).unwrap();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let (mut peak_fds, mut peak_maps) = (0, 0);
    let mut total = 0;
    for _ in 0..100_000 {
        let records = consumer.poll(Duration::from_secs(5)).unwrap();
        let empty = records.is_empty();
        for r in &records {
            let r = r.unwrap();
            let p = r.topic_partition.partition;
            let expected = next.entry(p).or_insert(0);
            assert_eq!(r.offset(), *expected, "partition {p}");
            assert_eq!(r.value().unwrap(), format!("{p}-{expected}").as_bytes());
            *expected += 1;
            total += 1;
        }
        peak_fds = peak_fds.max(open_fds());
        peak_maps = peak_maps.max(maps());
        if empty && consumer.at_end() {
            break;
        }
    }
    assert_eq!(total, 40 * partitions as usize);
    assert!(next.values().all(|&n| n == 40));
    let (fds, maps) = (peak_fds - fds_before, peak_maps.saturating_sub(maps_before));
    eprintln!("1000 partitions: peak {fds} more descriptors, {maps} more maps");
    // The fetcher's limit, plus fetches in the ring (64) and in the consumer.
    assert!(fds < 400, "{fds} descriptors");
    assert!(maps < 500, "{maps} maps");
}

#[test]
fn a_partition_of_thousands_of_segments_is_read_in_order_and_seeks_anywhere() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions::default().with_segment_bytes(512);
    write(dir.path(), "deep", 0, 20_000, 5, options);
    let dirs = kreplay::list_partitions(dir.path()).unwrap();
    let partition = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    let segments = partition.segments().len();
    assert!(segments > 1_000, "{segments} segments");
    let fds_before = open_fds();
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["deep"]).unwrap();
    let mut expected = 0i64;
    let mut peak = 0;
    loop {
        let records = consumer.poll(Duration::from_secs(5)).unwrap();
        let empty = records.is_empty();
        for r in &records {
            assert_eq!(r.unwrap().offset(), expected);
            expected += 1;
        }
        peak = peak.max(open_fds());
        if empty && consumer.at_end() {
            break;
        }
    }
    assert_eq!(expected, 20_000);
    eprintln!(
        "{segments} segments: peak {} more descriptors",
        peak - fds_before
    );
    assert!(peak - fds_before < 200);
    // Seeking into the middle of any segment lands on the right record.
    let tp = kreplay::TopicPartition::new("deep", 0);
    for target in [0, 1, 4_999, 12_345, 19_999] {
        consumer.seek(&tp, target).unwrap();
        let records = consumer.poll(Duration::from_secs(5)).unwrap();
        let first = records.iter().next().unwrap().unwrap();
        assert_eq!(first.offset(), target);
    }
}
