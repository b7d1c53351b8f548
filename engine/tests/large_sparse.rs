//! Segment files at the edges of what a disk holds: a segment that is
//! sparse up to Kafka's 2 GiB limit (valid batches, then a hole, as a
//! preallocated or crashed file looks), and a zero-length segment. Neither
//! costs memory, loses the valid batches or ends in anything but a clear
//! end of data.

use std::fs::OpenOptions;
use std::time::Duration;

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    list_partitions, AutoOffsetReset, Consumer, ConsumerConfig, Partition, ReadOptions, SegmentEnd,
};

fn write(dir: &std::path::Path, topic: &str) -> std::path::PathBuf {
    let mut writer = PartitionWriter::open(dir, topic, 0, WriterOptions::default()).unwrap();
    let mut specs: Vec<RecordSpec> = (0..100)
        .map(|i| RecordSpec::new(i, None, Some(b"v")))
        .collect();
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
    dir.join(format!("{topic}-0"))
        .join("00000000000000000000.log")
}

fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_segment_sparse_to_the_2_gib_limit_reads_its_batches_then_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "sparse");
    let valid = std::fs::metadata(&log).unwrap().len();
    // Kafka's limit in release builds (`cargo test --release -p kreplay
    // --test large_sparse`); debug builds (CI) scan a 64 MiB hole, the same
    // path at a size a debug build reads in seconds.
    let limit = if cfg!(debug_assertions) {
        64 << 20
    } else {
        (1u64 << 31) - 1
    };
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(limit)
        .unwrap();
    let before = rss_anon_kib();
    let dirs = list_partitions(dir.path()).unwrap();
    let partition = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    let segment = partition.open_segment(0).unwrap();
    let mut iter = segment.batches();
    let records: usize = iter
        .by_ref()
        .map(|b| b.unwrap().batch.records_count().unwrap_or(0) as usize)
        .sum();
    assert_eq!(records, 100);
    match iter.end() {
        Some(SegmentEnd::TornTail(tail)) => {
            let text = tail.to_string();
            assert!(text.contains(&valid.to_string()), "{text}");
        }
        other => panic!("ended {other:?}"),
    }
    // The consumer reads the 100 records and ends.
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["sparse"]).unwrap();
    let mut got = 0;
    loop {
        let polled = consumer.poll(Duration::from_secs(10)).unwrap();
        let empty = polled.is_empty();
        got += polled.iter().count();
        if empty && consumer.at_end() {
            break;
        }
    }
    assert_eq!(got, 100);
    let grown = rss_anon_kib().saturating_sub(before);
    eprintln!("{limit}-byte sparse segment: {grown} KiB more anonymous memory");
    assert!(grown < 64 << 10, "{grown} KiB");
}

#[test]
fn a_zero_length_segment_is_an_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "empty");
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let dirs = list_partitions(dir.path()).unwrap();
    let partition = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    let segment = partition.open_segment(0).unwrap();
    let mut iter = segment.batches();
    assert!(iter.next().is_none());
    assert!(
        matches!(iter.end(), Some(SegmentEnd::Clean)),
        "{:?}",
        iter.end()
    );
    assert_eq!(partition.log_end_offset().unwrap(), 0);
}
