//! Tests across the index kinds: paths, every read path, missing and
//! unreadable files, arbitrary bytes, and files a real broker wrote.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::test_support::*;
use super::*;
use crate::mmap::Mapping;
use proptest::prelude::*;

#[test]
fn index_paths_beside_the_log() {
    let (index, time, txn) = index_paths(Path::new("/d/t-0/00000000000000001234.log"));
    assert_eq!(index, Path::new("/d/t-0/00000000000000001234.index"));
    assert_eq!(time, Path::new("/d/t-0/00000000000000001234.timeindex"));
    assert_eq!(txn, Path::new("/d/t-0/00000000000000001234.txnindex"));
}

#[test]
fn files_through_every_read_path() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("00000000000000001000.log");
    let (index_path, time_path, txn_path) = index_paths(&log);
    let mut bytes = offset_index_bytes(&[(33, 4220), (62, 8418)]);
    bytes.resize(bytes.len() + 4096, 0);
    std::fs::write(&index_path, bytes).unwrap();
    let mut bytes = time_index_bytes(&[(1_700_000_000_000, 33), (1_700_000_000_100, 62)]);
    bytes.resize(bytes.len() + 4092, 0);
    std::fs::write(&time_path, bytes).unwrap();
    std::fs::write(&txn_path, txn_index_bytes(&[txn(7, 1040, 1050, 1051)])).unwrap();

    for strategy in STRATEGIES {
        let (index, status) = OffsetIndex::open(&index_path, strategy, 1000, 10_000);
        assert_eq!(status, valid(2, 4096, 0), "{strategy:?}");
        let index = index.unwrap();
        assert_eq!(index.path(), Some(index_path.as_path()));
        assert_eq!(index.lookup(1070), op(1062, 8418));

        let (index, status) = TimeIndex::open(&time_path, strategy, 1000, Some(1100));
        assert_eq!(status, valid(2, 4092, 0), "{strategy:?}");
        let index = index.unwrap();
        assert_eq!(index.path(), Some(time_path.as_path()));
        assert_eq!(
            index.lookup(1_700_000_000_050),
            Some(ts(1_700_000_000_000, 1033))
        );

        let (index, status) = TransactionIndex::open(&txn_path, strategy, 1000);
        assert_eq!(status, valid(1, 0, 0), "{strategy:?}");
        let index = index.unwrap();
        assert_eq!(index.path(), Some(txn_path.as_path()));
        assert_eq!(
            index.aborted_txns().collect::<Vec<_>>(),
            vec![txn(7, 1040, 1050, 1051)]
        );
    }
}

#[test]
fn missing_empty_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("00000000000000000000.index");
    let empty = dir.path().join("00000000000000000000.timeindex");
    std::fs::write(&empty, b"").unwrap();
    for strategy in STRATEGIES {
        let (index, status) = OffsetIndex::open(&missing, strategy, 0, 100);
        assert!(index.is_none());
        assert_eq!(status, IndexStatus::Missing);
        assert_eq!(status.to_string(), "missing");
        assert_eq!(
            TimeIndex::open(&missing, strategy, 0, None).1,
            IndexStatus::Missing
        );
        assert_eq!(
            TransactionIndex::open(&missing, strategy, 0).1,
            IndexStatus::Missing
        );

        assert_eq!(
            OffsetIndex::open(&empty, strategy, 0, 100).1,
            IndexStatus::Empty
        );
        assert_eq!(
            TimeIndex::open(&empty, strategy, 0, None).1,
            IndexStatus::Empty
        );
        assert_eq!(
            TransactionIndex::open(&empty, strategy, 0).1,
            IndexStatus::Empty
        );
    }
    // A file that cannot be read: a path through a regular file ("not a
    // directory"), which holds even when the tests run as root.
    let unreadable = empty.join("00000000000000000000.index");
    for strategy in STRATEGIES {
        let (index, status) = OffsetIndex::open(&unreadable, strategy, 0, 100);
        assert!(index.is_none());
        match &status {
            IndexStatus::Unreadable(reason) => assert!(!reason.is_empty()),
            other => panic!("expected unreadable, got {other:?}"),
        }
        assert!(status.to_string().starts_with("unreadable: "));
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        base in any::<i64>(),
        log_size in any::<u64>(),
        next in any::<Option<i64>>(),
        target in any::<i64>(),
    ) {
        let (index, status) = offset_index(bytes.clone(), base, log_size);
        prop_assert_eq!(index.is_some(), status.is_valid());
        if let Some(index) = index {
            let all: Vec<_> = index.entries().collect();
            prop_assert_eq!(all.len(), index.len());
            prop_assert!(all.windows(2).all(|w| w[0].offset < w[1].offset && w[0].position < w[1].position));
            prop_assert!(all.iter().all(|e| e.offset >= base && u64::from(e.position) < log_size));
            let _ = index.lookup(target);
        }
        let (index, status) = time_index(bytes.clone(), base, next);
        prop_assert_eq!(index.is_some(), status.is_valid());
        if let Some(index) = index {
            let all: Vec<_> = index.entries().collect();
            prop_assert_eq!(all.len(), index.len());
            prop_assert!(all.windows(2).all(|w| w[0].timestamp < w[1].timestamp && w[0].offset <= w[1].offset));
            let _ = index.lookup(target);
        }
        let (index, status) = TransactionIndex::from_bytes(Mapping::from_vec(bytes), base);
        prop_assert_eq!(index.is_some(), status.is_valid());
        if let Some(index) = index {
            prop_assert_eq!(index.aborted_txns().count(), index.len());
            let _ = index.collect_aborted_txns(target, target.saturating_add(100));
        }
    }
}

// ---- real broker-written files (read in place, never copied) ----

/// `../shared/conformance/real` beside the checkout, as the
/// integration tests find it.
fn real_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/real")
}

/// `<real_dir>/*/*/*/` partition directories.
fn real_partition_dirs() -> Option<Vec<PathBuf>> {
    let root = real_dir();
    let root = root.as_path();
    if !root.is_dir() {
        return None;
    }
    let subdirs = |dir: &Path| -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .filter(|path| path.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        dirs
    };
    let mut partitions = Vec::new();
    for repo in subdirs(root) {
        for log_dir in subdirs(&repo) {
            partitions.extend(subdirs(&log_dir));
        }
    }
    Some(partitions)
}

/// The batch start positions of a `.log` and its next offset, by walking
/// the batch lengths (enough for the broker-written, untorn files here).
fn walk_log(log: &[u8]) -> (Vec<u32>, i64) {
    let mut starts = Vec::new();
    let mut position = 0usize;
    let mut next_offset = 0i64;
    while position + 17 <= log.len() {
        let base = i64::from_be_bytes(log[position..position + 8].try_into().unwrap());
        let length = i32::from_be_bytes(log[position + 8..position + 12].try_into().unwrap());
        let magic = log[position + 16];
        let last = if magic == 2 {
            let delta = i32::from_be_bytes(log[position + 23..position + 27].try_into().unwrap());
            base + i64::from(delta)
        } else {
            base
        };
        starts.push(position as u32);
        next_offset = last + 1;
        position += 12 + length as usize;
    }
    assert_eq!(
        position,
        log.len(),
        "the log walk ends at the end of the file"
    );
    (starts, next_offset)
}

#[test]
fn real_broker_index_files() {
    let Some(partitions) = real_partition_dirs() else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let mut checked_offset = 0;
    let mut checked_time = 0;
    for dir in partitions {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "log")
                    && p.file_name().unwrap().to_string_lossy().starts_with('0')
            })
            .collect();
        logs.sort();
        for log_path in logs {
            let stem = log_path.file_stem().unwrap().to_string_lossy().into_owned();
            let base: i64 = stem.parse().unwrap();
            let log = std::fs::read(&log_path).unwrap();
            let log_size = log.len() as u64;
            let (starts, next_offset) = walk_log(&log);
            let (index_path, time_path, txn_path) = index_paths(&log_path);

            if index_path.exists() {
                for strategy in STRATEGIES {
                    let (index, status) = OffsetIndex::open(&index_path, strategy, base, log_size);
                    let length = std::fs::metadata(&index_path).unwrap().len();
                    if length == 0 {
                        assert_eq!(status, IndexStatus::Empty, "{}", index_path.display());
                        continue;
                    }
                    assert_eq!(
                        status,
                        valid((length / 8) as usize, 0, 0),
                        "{}",
                        index_path.display()
                    );
                    let index = index.unwrap();
                    let all: Vec<_> = index.entries().collect();
                    let mut previous = op(base - 1, 0);
                    for entry in &all {
                        assert!(
                            entry.offset > previous.offset && entry.position > previous.position
                        );
                        assert!(u64::from(entry.position) < log_size);
                        assert!(entry.offset < next_offset);
                        // Every entry points at a batch start whose base
                        // offset lies after the previous entry's offset.
                        assert!(starts.binary_search(&entry.position).is_ok(), "{entry:?}");
                        let p = entry.position as usize;
                        let batch_base = i64::from_be_bytes(log[p..p + 8].try_into().unwrap());
                        assert!(previous.offset < batch_base && batch_base <= entry.offset);
                        assert_eq!(index.lookup(entry.offset), *entry);
                        assert_eq!(index.lookup(entry.offset + 1), *entry);
                        previous = *entry;
                    }
                    assert_eq!(index.lookup(base), op(base, 0));
                    checked_offset += 1;
                }
            }

            if time_path.exists() {
                for strategy in STRATEGIES {
                    let (index, status) =
                        TimeIndex::open(&time_path, strategy, base, Some(next_offset));
                    let length = std::fs::metadata(&time_path).unwrap().len();
                    if length == 0 {
                        assert_eq!(status, IndexStatus::Empty, "{}", time_path.display());
                        continue;
                    }
                    assert_eq!(
                        status,
                        valid((length / 12) as usize, 0, 0),
                        "{}",
                        time_path.display()
                    );
                    let index = index.unwrap();
                    let all: Vec<_> = index.entries().collect();
                    for pair in all.windows(2) {
                        assert!(pair[0].timestamp < pair[1].timestamp);
                        assert!(pair[0].offset <= pair[1].offset);
                    }
                    for entry in &all {
                        // Plausible wall-clock milliseconds (2015..2100).
                        assert!((1_420_000_000_000..4_102_444_800_000).contains(&entry.timestamp));
                        assert!(entry.offset >= base && entry.offset < next_offset);
                        assert_eq!(index.lookup(entry.timestamp), Some(*entry));
                    }
                    checked_time += 1;
                }
            }

            if txn_path.exists() {
                for strategy in STRATEGIES {
                    let (_, status) = TransactionIndex::open(&txn_path, strategy, base);
                    assert!(
                        matches!(status, IndexStatus::Valid { .. } | IndexStatus::Empty),
                        "{}: {status}",
                        txn_path.display()
                    );
                }
            }
        }
    }
    eprintln!("checked {checked_offset} offset and {checked_time} time index opens");
    assert!(checked_offset > 0 && checked_time > 0);
}
