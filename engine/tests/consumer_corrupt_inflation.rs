//! A compressed batch whose CRC is right but whose payload does not inflate,
//! in the middle of a fetch: every record before the batch is delivered,
//! then an error naming the file, the batch's position and its base offset,
//! and nothing after it, from whichever offset the read started.

use std::path::Path;
use std::time::Duration;

use kreplay::writer::{generate, GenConfig};
use kreplay::{
    crc32c, AutoOffsetReset, Compression, Consumer, ConsumerConfig, ReadStrategy, Segment,
    TopicPartition,
};

/// 40 000 lz4 records of `t-0` in batches of 200 (one segment, ~8 MiB).
fn log(dir: &Path) -> std::path::PathBuf {
    let log_dir = dir.join("logs");
    generate(
        &GenConfig::default()
            .with_log_dir(log_dir.clone())
            .with_topics(vec!["t".into()])
            .with_partitions(1)
            .with_records_per_topic(40_000)
            .with_records_per_batch(200)
            .with_compression(Compression::Lz4)
            .with_segment_bytes(1 << 30),
    )
    .unwrap();
    log_dir
}

/// Breaks the lz4 magic of batch `n` of `file` and fixes its CRC again;
/// returns the batch's position and base offset.
fn break_batch(file: &Path, n: usize) -> (u64, i64) {
    let (position, base_offset, size) = {
        let segment = Segment::open(file, ReadStrategy::Read).unwrap();
        let batch = segment.batches().nth(n).unwrap().unwrap();
        (batch.position, batch.base_offset(), batch.size_in_bytes())
    };
    let mut bytes = std::fs::read(file).unwrap();
    let batch = &mut bytes[position as usize..position as usize + size];
    // v2: the records (here the lz4 frame) start 61 bytes in.
    assert_eq!(&batch[61..65], &[0x04, 0x22, 0x4d, 0x18]);
    batch[61] ^= 0xff;
    let crc = crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(file, bytes).unwrap();
    (position, base_offset)
}

fn drain(log_dir: &Path, start: i64) -> (Vec<i64>, Option<kreplay::Error>) {
    let mut config = ConsumerConfig::new([log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer.assign(std::slice::from_ref(&tp)).unwrap();
    consumer.seek(&tp, start).unwrap();
    let mut offsets = Vec::new();
    for _ in 0..100_000 {
        match consumer.poll(Duration::from_secs(5)) {
            Ok(records) => {
                let empty = records.is_empty();
                offsets.extend(records.iter().map(|r| r.unwrap().offset()));
                if empty && consumer.at_end() {
                    return (offsets, None);
                }
            }
            Err(error) => return (offsets, Some(error)),
        }
    }
    panic!("never reached the end");
}

#[test]
fn records_before_a_batch_that_does_not_inflate_arrive_then_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = log(dir.path());
    let file = log_dir.join("t-0/00000000000000000000.log");
    // Early (the first fetch), in the middle and near the end of the log.
    for n in [3, 101, 190] {
        let copy = dir.path().join(format!("copy-{n}"));
        std::fs::create_dir_all(copy.join("t-0")).unwrap();
        std::fs::copy(&file, copy.join("t-0/00000000000000000000.log")).unwrap();
        let (position, base_offset) = break_batch(&copy.join("t-0/00000000000000000000.log"), n);
        assert_eq!(base_offset, n as i64 * 200);
        for start in [0, base_offset - 300, base_offset] {
            let (offsets, error) = drain(&copy, start.max(0));
            assert_eq!(
                offsets,
                (start.max(0)..base_offset).collect::<Vec<_>>(),
                "batch {n}, from {start}"
            );
            let message = error.expect("an error at the broken batch").to_string();
            for part in [
                "00000000000000000000.log".to_string(),
                format!("position {position}"),
                format!("offset {base_offset}"),
                "lz4".to_string(),
            ] {
                assert!(message.contains(&part), "{message:?} lacks {part:?}");
            }
        }
    }
    // The intact log gives every record.
    let (offsets, error) = drain(&log_dir, 0);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(offsets, (0..40_000).collect::<Vec<_>>());
}
