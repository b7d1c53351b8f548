//! A segment truncated by another process while it is mapped: the reader
//! must not die of SIGBUS. The pages past the new end read as zeros (the
//! engine's SIGBUS guard), which the reader reports as the end of the data
//! or as corruption, like any other damaged tail.

use std::fs::OpenOptions;
use std::path::Path;
use std::time::Duration;

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    list_partitions, shrunk_mapping_faults, AutoOffsetReset, Consumer, ConsumerConfig, Partition,
    ReadOptions, SegmentEnd,
};

fn write(dir: &Path) -> std::path::PathBuf {
    let mut writer = PartitionWriter::open(dir, "t", 0, WriterOptions::default()).unwrap();
    for batch in 0..400 {
        let mut specs: Vec<RecordSpec> = (0..50)
            .map(|i| RecordSpec::new(batch * 50 + i, None, Some(&[b'x'; 100][..])))
            .collect();
        fill_offset_deltas(&mut specs);
        writer.append(&specs).unwrap();
    }
    writer.close().unwrap();
    dir.join("t-0").join("00000000000000000000.log")
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_segment_truncated_under_the_reader_reads_as_a_damaged_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path());
    let dirs = list_partitions(dir.path()).unwrap();
    let partition = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    let segment = partition.open_segment(0).unwrap();
    let faults = shrunk_mapping_faults();
    truncate(&log, 64 << 10);
    let mut batches = 0;
    let mut error = None;
    let mut iter = segment.batches();
    for batch in iter.by_ref() {
        match batch {
            Ok(_) => batches += 1,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(shrunk_mapping_faults() > faults, "no page was repaired");
    // Everything before the new end was read; what lay past it is gone.
    assert!(batches > 0 && batches < 400, "{batches} batches");
    match (error, iter.end()) {
        (Some(e), _) => assert!(e.is_corruption(), "{e}"),
        (None, Some(SegmentEnd::TornTail(_))) => {}
        (None, end) => panic!("ended {end:?} after {batches} batches"),
    }
}

#[test]
fn a_consumer_whose_segment_shrinks_goes_on_without_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path());
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = 100;
    config.max_partition_fetch_bytes = 64 << 10;
    config.fetch_max_bytes = 128 << 10;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let first = consumer.poll(Duration::from_secs(5)).unwrap();
    assert!(!first.is_empty());
    truncate(&log, 200 << 10);
    let mut offsets = Vec::new();
    for _ in 0..1_000 {
        match consumer.poll(Duration::from_millis(200)) {
            Ok(records) => {
                let empty = records.is_empty();
                for r in &records {
                    match r {
                        Ok(r) => offsets.push(r.offset()),
                        Err(e) => assert!(e.is_corruption(), "{e}"),
                    }
                }
                if empty && consumer.at_end() {
                    break;
                }
            }
            Err(e) => {
                assert!(e.is_corruption(), "{e}");
                break;
            }
        }
    }
    // Offsets stay in order; nothing past the new end was invented.
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    assert!(offsets.len() < 20_000);
}
