//! Index files are trusted only when sane: missing, garbage, cut, zero-padded
//! (preallocated) or lying indexes must give the same seeks, time lookups
//! and records as the pristine ones — by falling back to a scan of the log.

use std::fs;
use std::path::Path;

use kreplay::index::{IndexStatus, OffsetIndex};
use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    list_partitions, LogPosition, Partition, ReadOptions, ReadStrategy, TimestampAndOffset,
};

/// Several segments of 40 batches of 10 records, an index entry every batch;
/// timestamps wander (not monotonic) so time lookups must scan forward.
fn write_log(dir: &Path) {
    let options = WriterOptions::default()
        .with_segment_bytes(16 * 1024)
        .with_index_interval_bytes(1);
    let mut writer = PartitionWriter::open(dir, "idx", 0, options).unwrap();
    for b in 0..40i64 {
        let mut records: Vec<RecordSpec> = (0..10i64)
            .map(|i| {
                let n = b * 10 + i;
                let ts = 1_700_000_000_000 + n * 10 + (n % 7) * 25;
                RecordSpec::new(ts, Some(format!("k{n}").as_bytes()), Some(&[b'v'; 120]))
            })
            .collect();
        fill_offset_deltas(&mut records);
        writer.append(&records).unwrap();
    }
    writer.close().unwrap();
}

/// What seeks and time lookups return: the reference every damaged variant
/// must reproduce.
fn answers(
    log_dir: &Path,
) -> (
    Vec<Option<LogPosition>>,
    Vec<Option<TimestampAndOffset>>,
    i64,
) {
    let dirs = list_partitions(log_dir).unwrap();
    let partition = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    let seeks = (-1..=401).map(|o| partition.seek(o).unwrap()).collect();
    let times = (0..=4100)
        .step_by(37)
        .map(|t| {
            partition
                .offset_for_timestamp(1_700_000_000_000 + t)
                .unwrap()
        })
        .collect();
    (seeks, times, partition.log_end_offset().unwrap())
}

fn index_files(log_dir: &Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(log_dir.join("idx-0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == suffix))
        .collect();
    files.sort();
    files
}

fn damaged(name: &str, damage: impl Fn(&Path)) {
    let pristine = tempfile::tempdir().unwrap();
    write_log(pristine.path());
    let expected = answers(pristine.path());

    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    for suffix in ["index", "timeindex"] {
        for file in index_files(dir.path(), suffix) {
            damage(&file);
        }
    }
    assert_eq!(answers(dir.path()), expected, "{name}");
    // And with indexes switched off entirely.
    let dirs = list_partitions(dir.path()).unwrap();
    let scanned = Partition::open(
        &dirs[0],
        ReadOptions::default()
            .with_use_indexes(false)
            .with_strategy(ReadStrategy::Read),
    )
    .unwrap();
    assert_eq!(scanned.seek(250).unwrap(), expected.0[251], "{name}");
}

#[test]
fn pristine_indexes_are_used() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    let files = index_files(dir.path(), "index");
    assert!(files.len() >= 3, "several segments: {}", files.len());
    for file in files {
        let base = kreplay::base_offset_from_file_name(&file).unwrap();
        let log_size = fs::metadata(file.with_extension("log")).unwrap().len();
        let (index, status) = OffsetIndex::open(&file, ReadStrategy::Mmap, base, log_size);
        assert!(matches!(status, IndexStatus::Valid { .. }), "{status:?}");
        assert!(index.unwrap().len() > 5);
    }
}

#[test]
fn missing_indexes() {
    damaged("missing", |f| fs::remove_file(f).unwrap());
}

#[test]
fn empty_indexes() {
    damaged("empty", |f| fs::write(f, b"").unwrap());
}

#[test]
fn garbage_indexes() {
    damaged("garbage", |f| {
        let len = fs::metadata(f).unwrap().len() as usize;
        let garbage: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
        fs::write(f, garbage).unwrap();
    });
}

#[test]
fn cut_indexes() {
    damaged("cut to an odd length", |f| {
        let bytes = fs::read(f).unwrap();
        fs::write(f, &bytes[..bytes.len() - 3]).unwrap();
    });
}

#[test]
fn preallocated_zero_tails() {
    damaged("zero tail", |f| {
        let mut bytes = fs::read(f).unwrap();
        bytes.resize(bytes.len() + 64 * 1024, 0);
        fs::write(f, bytes).unwrap();
    });
}

#[test]
fn entries_past_the_log() {
    damaged("positions past the log", |f| {
        if f.extension().is_some_and(|e| e == "index") {
            let mut bytes = fs::read(f).unwrap();
            // Every entry claims a position far past the end of the .log.
            for entry in bytes.chunks_exact_mut(8) {
                entry[4..8].copy_from_slice(&(1i32 << 30).to_be_bytes());
            }
            fs::write(f, bytes).unwrap();
        }
    });
}

#[test]
fn out_of_order_entries() {
    damaged("entries out of order", |f| {
        let mut bytes = fs::read(f).unwrap();
        let size = if f.extension().is_some_and(|e| e == "index") {
            8
        } else {
            12
        };
        let entries: Vec<Vec<u8>> = bytes.chunks_exact(size).map(<[u8]>::to_vec).rev().collect();
        bytes = entries.concat();
        fs::write(f, bytes).unwrap();
    });
}

#[test]
fn entries_off_batch_boundaries() {
    damaged("positions inside batches", |f| {
        if f.extension().is_some_and(|e| e == "index") {
            let mut bytes = fs::read(f).unwrap();
            // In range and in order, but 5 bytes into each batch.
            for entry in bytes.chunks_exact_mut(8) {
                let position = i32::from_be_bytes(entry[4..8].try_into().unwrap());
                entry[4..8].copy_from_slice(&(position + 5).to_be_bytes());
            }
            fs::write(f, bytes).unwrap();
        }
    });
}
