//! The writer's unit tests: layouts, rolls, indexes, transactions, reopening.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::super::encode::fill_offset_deltas;
use super::super::test_support::*;
use super::*;

fn records(count: usize, first_timestamp: i64, value_len: usize) -> Vec<RecordSpec> {
    let mut out: Vec<RecordSpec> = (0..count)
        .map(|i| {
            let value = vec![b'a' + (i % 26) as u8; value_len];
            RecordSpec::new(
                first_timestamp + i as i64,
                Some(format!("k{i}").as_bytes()),
                Some(&value),
            )
        })
        .collect();
    fill_offset_deltas(&mut out);
    out
}

/// Kafka's placement rule, checked as properties of the files: each
/// offset index entry sits at the first batch starting more than
/// `interval` bytes after the previous entry (or the segment start), none
/// is missing, and time index entries carry the running max timestamp.
/// `left_active`: the last segment was left as an active one (no final
/// time index entry, zero-filled tail).
fn check_indexes(dir: &Path, interval: u64, left_active: bool) {
    let segs = segments(dir);
    for (i, (base, log_path)) in segs.iter().enumerate() {
        let base = *base;
        let final_time_entry = !(left_active && i + 1 == segs.len());
        let batches = read_log(log_path);
        let mut offset_index = read_offset_index(&log_path.with_extension("index"));
        let mut time_index = read_time_index(&log_path.with_extension("timeindex"));
        while offset_index.last() == Some(&(0, 0)) {
            offset_index.pop();
        }
        while time_index.last() == Some(&(0, 0)) {
            time_index.pop();
        }
        let mut expected_offsets = Vec::new();
        let mut expected_times = Vec::new();
        let mut last_entry_position = 0u64;
        let mut running_max = (-1i64, base);
        let mut last_time = -1i64;
        for batch in &batches {
            if batch.max_timestamp > running_max.0 {
                running_max = (batch.max_timestamp, batch.last_offset);
            }
            if batch.position - last_entry_position > interval {
                expected_offsets.push(((batch.last_offset - base) as i32, batch.position as i32));
                last_entry_position = batch.position;
                if running_max.0 > last_time {
                    expected_times.push((running_max.0, (running_max.1 - base) as i32));
                    last_time = running_max.0;
                }
            }
        }
        if final_time_entry && running_max.0 > last_time {
            expected_times.push((running_max.0, (running_max.1 - base) as i32));
        }
        assert_eq!(
            offset_index,
            expected_offsets,
            "offset index of {}",
            log_path.display()
        );
        assert_eq!(
            time_index,
            expected_times,
            "time index of {}",
            log_path.display()
        );
        for pair in offset_index.windows(2) {
            assert!(pair[0].0 < pair[1].0 && pair[1].1 - pair[0].1 > interval as i32);
        }
        for pair in time_index.windows(2) {
            assert!(pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1);
        }
    }
}

#[test]
fn segments_roll_at_segment_bytes_and_indexes_follow_kafka() {
    let tmp = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        segment_bytes: 64 * 1024,
        ..WriterOptions::default()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "orders", 3, options).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut timestamp = 1_700_000_000_000i64;
    let mut expected_next = 0i64;
    for _ in 0..400 {
        let count = rng.usize(1..=10);
        // Now and then a batch from the past: the time index must not move back.
        let first = if rng.u8(..) < 30 {
            timestamp - 5000
        } else {
            timestamp
        };
        let batch = records(count, first, rng.usize(20..400));
        timestamp += 20;
        let info = writer.append(&batch).unwrap();
        assert_eq!(info.base_offset, expected_next);
        assert_eq!(info.last_offset, expected_next + count as i64 - 1);
        expected_next += count as i64;
    }
    assert_eq!(writer.next_offset(), expected_next);
    let segment_count = writer.segment_count();
    writer.close().unwrap();

    let dir = tmp.path().join("orders-3");
    let segs = segments(&dir);
    assert_eq!(segs.len(), segment_count);
    assert!(
        segs.len() > 3,
        "expected several segments, got {}",
        segs.len()
    );
    let mut next = 0;
    for (i, (base, path)) in segs.iter().enumerate() {
        assert_eq!(*base, next, "segment base offsets follow on");
        let batches = read_log(path);
        let size: u64 = batches.iter().map(|b| b.size).sum();
        assert!(size <= 64 * 1024);
        if let Some((_, next_path)) = segs.get(i + 1) {
            let first_next = &read_log(next_path)[0];
            assert!(size + first_next.size > 64 * 1024, "rolled too early");
        }
        next = batches.last().unwrap().last_offset + 1;
        for batch in &batches {
            let crc =
                crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, &batch.bytes[21..]) as u32;
            assert_eq!(
                crc,
                u32::from_be_bytes(batch.bytes[17..21].try_into().unwrap())
            );
        }
    }
    assert_eq!(next, expected_next);
    check_indexes(&dir, 4096, false);
    // Index entries exist at all (the rule is not vacuous).
    assert!(!read_offset_index(&segs[0].1.with_extension("index")).is_empty());
}

#[test]
fn preallocated_indexes_stay_full_size_on_the_last_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        segment_bytes: 20_000,
        index_interval_bytes: 1000,
        preallocate_indexes: true,
        ..WriterOptions::default()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "t", 0, options).unwrap();
    let dir = writer.dir().to_path_buf();
    // A fresh segment already has its preallocated indexes.
    let index = segment_path(&dir, 0, "index");
    assert_eq!(fs::metadata(&index).unwrap().len(), 10 << 20);
    for i in 0..60 {
        writer.append(&records(3, 1000 + i * 10, 200)).unwrap();
    }
    writer.close().unwrap();
    let segs = segments(&dir);
    assert!(segs.len() >= 2);
    for (i, (_, path)) in segs.iter().enumerate() {
        let index_len = fs::metadata(path.with_extension("index")).unwrap().len();
        let time_len = fs::metadata(path.with_extension("timeindex"))
            .unwrap()
            .len();
        if i + 1 == segs.len() {
            assert_eq!(index_len, 10_485_760);
            assert_eq!(time_len, 10_485_756);
            let entries = read_offset_index(&path.with_extension("index"));
            let valid = entries.iter().take_while(|e| **e != (0, 0)).count();
            assert!(valid > 0);
            assert!(entries[valid..].iter().all(|e| *e == (0, 0)));
        } else {
            assert_eq!(index_len % 8, 0);
            assert!(index_len < 10_485_760);
            assert_eq!(time_len % 12, 0);
        }
    }
    // Rolled segments: trimmed, with the final time entry. The active
    // one: no final entry (as a running or crashed broker leaves it).
    check_indexes(&dir, 1000, true);
}

#[test]
fn aborted_transactions_go_to_the_txnindex_of_the_marker_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer = PartitionWriter::open(tmp.path(), "tx", 0, WriterOptions::default()).unwrap();
    let a = writer
        .append_transactional(1, 0, &records(5, 100, 10))
        .unwrap(); // 0-4
    let b = writer
        .append_transactional(2, 3, &records(5, 110, 10))
        .unwrap(); // 5-9
    assert_eq!((a.base_offset, b.base_offset), (0, 5));
    assert!(writer.has_open_transaction(1) && writer.has_open_transaction(2));
    writer.roll().unwrap();
    let abort_a = writer.abort(1).unwrap(); // 10
    assert_eq!(abort_a.base_offset, 10);
    assert_eq!(abort_a.segment_base_offset, 10);
    writer.commit(2).unwrap(); // 11
    writer.append(&records(2, 120, 10)).unwrap(); // 12-13
    writer
        .append_transactional(3, 0, &records(2, 130, 10))
        .unwrap(); // 14-15
    writer
        .append_transactional(3, 0, &records(1, 140, 10))
        .unwrap(); // 16, same txn
    writer.abort(3).unwrap(); // 17
    assert!(!writer.has_open_transaction(3));
    // A producer may not mix in a plain batch while its transaction is open.
    writer
        .append_transactional(4, 0, &records(1, 150, 10))
        .unwrap(); // 18
    let plain = BatchSpec {
        base_offset: writer.next_offset(),
        producer_id: Some(4),
        producer_epoch: Some(0),
        base_sequence: Some(1),
        ..BatchSpec::default()
    };
    assert!(writer.append_batch(&plain, &records(1, 160, 10)).is_err());
    writer.close().unwrap();

    let dir = tmp.path().join("tx-0");
    assert!(!segment_path(&dir, 0, "txnindex").exists());
    let entries = read_txn_index(&segment_path(&dir, 10, "txnindex"));
    // A: first 0, marker 10, LSO = first offset of B's still-open txn.
    // C: first 14, marker 17, nothing else open (4 starts later) -> 18.
    assert_eq!(entries, vec![(0, 1, 0, 10, 5), (0, 3, 14, 17, 18)]);

    let batches = read_log(&segment_path(&dir, 0, "log"));
    assert_eq!(batches[1].attributes, 0x10);
    assert_eq!((batches[1].producer_id, batches[1].base_sequence), (2, 0));
    let batches = read_log(&segment_path(&dir, 10, "log"));
    let markers: Vec<&TestBatch> = batches
        .iter()
        .filter(|b| b.attributes & 0x20 != 0)
        .collect();
    assert_eq!(markers.len(), 3);
    let marker_types: Vec<(i64, Option<Vec<u8>>)> = markers
        .iter()
        .map(|b| (b.base_offset, records_of(b)[0].key.clone()))
        .collect();
    assert_eq!(
        marker_types,
        vec![
            (10, Some(vec![0, 0, 0, 0])),
            (11, Some(vec![0, 0, 0, 1])),
            (17, Some(vec![0, 0, 0, 0]))
        ]
    );
    // The second batch of producer 3 continues its sequence.
    let c2 = batches.iter().find(|b| b.base_offset == 16).unwrap();
    assert_eq!(c2.base_sequence, 2);
}

#[test]
fn gaps_start_offset_and_invalid_appends() {
    let tmp = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        start_offset: 1_000_000,
        segment_bytes: 4096,
        ..WriterOptions::default()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "gaps", 0, options).unwrap();
    assert_eq!(writer.next_offset(), 1_000_000);
    writer.append(&records(3, 0, 10)).unwrap();
    let mut sparse = records(3, 10, 10);
    sparse[1].offset_delta = 4;
    sparse[2].offset_delta = 9;
    let info = writer.append_at(1_000_020, &sparse).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (1_000_020, 1_000_029));
    assert_eq!(writer.next_offset(), 1_000_030);
    assert!(writer.append_at(1_000_029, &records(1, 0, 1)).is_err());
    // Bad records leave the log untouched.
    let mut bad = records(2, 0, 1);
    bad[1].offset_delta = 0;
    assert!(writer.append(&bad).is_err());
    assert!(
        writer.append(&records(1, 0, 5000)).is_err(),
        "larger than segment_bytes"
    );
    assert_eq!(writer.next_offset(), 1_000_030);
    // A roll caused by a gap starts the segment at the batch's base offset.
    let info = writer.append_at(1_000_100, &records(35, 0, 100)).unwrap();
    assert_eq!(info.segment_base_offset, 1_000_100);
    writer.close().unwrap();
    let dir = tmp.path().join("gaps-0");
    let segs: Vec<i64> = segments(&dir).into_iter().map(|s| s.0).collect();
    assert_eq!(segs, vec![1_000_000, 1_000_100]);
    let all: Vec<i64> = read_log(&segment_path(&dir, 1_000_000, "log"))
        .iter()
        .flat_map(records_of)
        .map(|r| r.offset)
        .collect();
    assert_eq!(
        all,
        vec![1_000_000, 1_000_001, 1_000_002, 1_000_020, 1_000_024, 1_000_029]
    );

    assert!(PartitionWriter::open(tmp.path(), "bad/topic", 0, WriterOptions::default()).is_err());
    assert!(PartitionWriter::open(tmp.path(), "t", -1, WriterOptions::default()).is_err());
    let tiny = WriterOptions {
        segment_bytes: 13,
        ..WriterOptions::default()
    };
    assert!(PartitionWriter::open(tmp.path(), "t", 0, tiny).is_err());
}

#[test]
fn existing_segments_need_the_append_option() {
    let tmp = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        segment_bytes: 8000,
        ..WriterOptions::default()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "re", 0, options.clone()).unwrap();
    for i in 0..20 {
        writer.append(&records(4, i * 10, 100)).unwrap();
    }
    writer
        .append_transactional(9, 2, &records(3, 500, 10))
        .unwrap();
    let end = writer.next_offset();
    writer.close().unwrap();
    let dir = tmp.path().join("re-0");
    let before: Vec<Vec<u8>> = segments(&dir)
        .iter()
        .map(|s| fs::read(&s.1).unwrap())
        .collect();

    let err = PartitionWriter::open(tmp.path(), "re", 0, options.clone()).unwrap_err();
    assert!(err.to_string().contains("append"), "{err}");
    let append = WriterOptions {
        append: true,
        ..options
    };
    let mut writer = PartitionWriter::open(tmp.path(), "re", 0, append.clone()).unwrap();
    assert_eq!(writer.next_offset(), end);
    assert!(writer.has_open_transaction(9));
    let info = writer
        .append_transactional(9, 2, &records(2, 600, 10))
        .unwrap();
    writer.abort(9).unwrap();
    for i in 0..20 {
        writer.append(&records(4, 1000 + i * 10, 100)).unwrap();
    }
    writer.close().unwrap();

    // Earlier bytes untouched, new ones after them.
    let after: Vec<Vec<u8>> = segments(&dir)
        .iter()
        .map(|s| fs::read(&s.1).unwrap())
        .collect();
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(&new[..old.len()], &old[..]);
    }
    let batches: Vec<TestBatch> = segments(&dir).iter().flat_map(|s| read_log(&s.1)).collect();
    let continued = batches
        .iter()
        .find(|b| b.base_offset == info.base_offset)
        .unwrap();
    assert_eq!(
        continued.base_sequence, 3,
        "sequence continues after reopening"
    );
    let txn_entries: Vec<_> = segments(&dir)
        .iter()
        .map(|s| s.1.with_extension("txnindex"))
        .filter(|p| p.exists())
        .flat_map(|p| read_txn_index(&p))
        .collect();
    assert_eq!(txn_entries, vec![(0, 9, end - 3, end + 2, end + 3)]);
    // Indexes still hold Kafka's invariants; the reopened segment's
    // entries start counting afresh, so only check the rolled ones exactly.
    for (_, path) in segments(&dir) {
        let idx = read_offset_index(&path.with_extension("index"));
        for pair in idx.windows(2) {
            assert!(pair[0].0 < pair[1].0 && pair[0].1 < pair[1].1);
        }
    }

    // Reopening a crashed (preallocated) segment rebuilds its indexes.
    let crashed = WriterOptions {
        preallocate_indexes: true,
        ..append.clone()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "re", 0, crashed).unwrap();
    writer.append(&records(1, 5000, 10)).unwrap();
    drop(writer);
    let mut writer = PartitionWriter::open(tmp.path(), "re", 0, append).unwrap();
    writer.append(&records(1, 6000, 10)).unwrap();
    writer.close().unwrap();
    let (_, last) = segments(&dir).pop().unwrap();
    let idx = read_offset_index(&last.with_extension("index"));
    assert!(
        idx.iter().skip(1).all(|e| *e != (0, 0)),
        "no zero tail after recovery"
    );
}

#[test]
fn torn_tail_refuses_append() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer =
        PartitionWriter::open(tmp.path(), "torn", 0, WriterOptions::default()).unwrap();
    writer.append(&records(3, 0, 10)).unwrap();
    writer.close().unwrap();
    let log = tmp.path().join("torn-0").join("00000000000000000000.log");
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(&bytes.clone()[..30]);
    fs::write(&log, bytes).unwrap();
    let append = WriterOptions {
        append: true,
        ..WriterOptions::default()
    };
    let err = PartitionWriter::open(tmp.path(), "torn", 0, append).unwrap_err();
    assert!(err.is_corruption(), "{err}");
}

#[test]
fn log_append_time_stamps_batches_with_the_append_time() {
    let tmp = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        timestamp_type: TimestampType::LogAppendTime,
        partition_leader_epoch: Some(5),
        ..WriterOptions::default()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "lat", 0, options).unwrap();
    writer.append(&records(3, 1000, 10)).unwrap();
    writer.append(&records(3, 500, 10)).unwrap(); // older records: the clock does not go back
    writer.close().unwrap();
    let batches = read_log(&tmp.path().join("lat-0").join("00000000000000000000.log"));
    for batch in &batches {
        assert_eq!(batch.attributes & 0x08, 0x08);
        assert_eq!(
            i32::from_be_bytes(batch.bytes[12..16].try_into().unwrap()),
            5
        );
        assert_eq!(batch.max_timestamp, 1002);
    }
}

#[test]
fn legacy_sets_are_indexed_per_message() {
    let tmp = tempfile::tempdir().unwrap();
    let options = WriterOptions {
        index_interval_bytes: 100,
        ..WriterOptions::default()
    };
    let mut writer = PartitionWriter::open(tmp.path(), "legacy", 0, options).unwrap();
    let info = writer.append_legacy(1, &records(10, 1000, 40)).unwrap();
    assert_eq!((info.base_offset, info.last_offset), (0, 9));
    writer.append_legacy(0, &records(5, 0, 40)).unwrap();
    assert!(writer.append_legacy(1, &[]).is_err());
    writer.append(&records(2, 2000, 40)).unwrap();
    writer.close().unwrap();
    let dir = tmp.path().join("legacy-0");
    let batches = read_log(&segment_path(&dir, 0, "log"));
    assert_eq!(batches.len(), 16);
    assert_eq!(
        batches.iter().map(|b| b.last_offset).collect::<Vec<_>>(),
        (0..=16).filter(|o| *o != 15).collect::<Vec<_>>()
    );
    check_indexes(&dir, 100, false);
}

#[test]
fn checkpoint_file_format() {
    let tmp = tempfile::tempdir().unwrap();
    write_log_start_offset_checkpoint(tmp.path(), &[("orders", 0, 0), ("orders", 1, 1_000_000)])
        .unwrap();
    let text = fs::read_to_string(tmp.path().join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
    assert_eq!(text, "0\n2\norders 0 0\norders 1 1000000\n");
    assert!(!tmp.path().join("log-start-offset-checkpoint.tmp").exists());
    write_log_start_offset_checkpoint(tmp.path(), &[]).unwrap();
    let text = fs::read_to_string(tmp.path().join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
    assert_eq!(text, "0\n0\n");
}

#[test]
fn roll_on_an_empty_segment_does_nothing_and_empty_partitions_have_empty_files() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer =
        PartitionWriter::open(tmp.path(), "empty", 2, WriterOptions::default()).unwrap();
    writer.roll().unwrap();
    assert_eq!(writer.segment_count(), 1);
    writer.close().unwrap();
    let dir = tmp.path().join("empty-2");
    for ext in ["log", "index", "timeindex"] {
        assert_eq!(
            fs::metadata(segment_path(&dir, 0, ext)).unwrap().len(),
            0,
            "{ext}"
        );
    }
    assert!(!segment_path(&dir, 0, "txnindex").exists());
}
