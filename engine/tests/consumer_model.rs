//! The consumer against a naive model of the log: random logs (gaps,
//! codecs, transactions), random poll sizes, seeks and pauses, every IoMode;
//! resume through commits; following a log while a writer appends.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kreplay::writer::{fill_offset_deltas, BatchSpec, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    AutoOffsetReset, Compression, Consumer, ConsumerConfig, IoMode, IsolationLevel, TopicPartition,
};
use proptest::prelude::*;

/// One record as the model sees it: (offset, value), plus whether it belongs
/// to an aborted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelRecord {
    offset: i64,
    value: Vec<u8>,
    aborted: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Batch {
        codec: Compression,
        gap: i64,
        records: usize,
    },
    Txn {
        abort: bool,
        records: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::sample::select(Compression::ALL.to_vec()), 0i64..4, 1usize..40)
            .prop_map(|(codec, gap, records)| Op::Batch { codec, gap, records }),
        1 => (any::<bool>(), 1usize..10).prop_map(|(abort, records)| Op::Txn { abort, records }),
    ]
}

/// Writes `ops` to `<dir>/<topic>-<partition>` and returns the model.
fn write(dir: &Path, topic: &str, partition: i32, ops: &[Op]) -> Vec<ModelRecord> {
    let options = WriterOptions::default()
        .with_segment_bytes(8 * 1024)
        .with_index_interval_bytes(512);
    let mut writer = PartitionWriter::open(dir, topic, partition, options).unwrap();
    let mut model = Vec::new();
    let mut n = 0u64;
    for op in ops {
        let count = match op {
            Op::Batch { records, .. } | Op::Txn { records, .. } => *records,
        };
        let mut specs: Vec<RecordSpec> = (0..count)
            .map(|_| {
                n += 1;
                let value = format!("{topic}-{partition}-v{n}").into_bytes();
                RecordSpec::new(1_700_000_000_000 + n as i64, Some(b"k"), Some(&value))
            })
            .collect();
        fill_offset_deltas(&mut specs);
        match op {
            Op::Batch { codec, gap, .. } => {
                let base_offset = writer.next_offset() + gap;
                let spec = BatchSpec {
                    base_offset,
                    compression: *codec,
                    ..BatchSpec::default()
                };
                writer.append_batch(&spec, &specs).unwrap();
                for (i, s) in specs.iter().enumerate() {
                    model.push(ModelRecord {
                        offset: base_offset + i as i64,
                        value: s.value.clone().unwrap(),
                        aborted: false,
                    });
                }
            }
            Op::Txn { abort, .. } => {
                let info = writer.append_transactional(77, 0, &specs).unwrap();
                for (i, s) in specs.iter().enumerate() {
                    model.push(ModelRecord {
                        offset: info.base_offset + i as i64,
                        value: s.value.clone().unwrap(),
                        aborted: *abort,
                    });
                }
                if *abort {
                    writer.abort(77).unwrap();
                } else {
                    writer.commit(77).unwrap();
                }
            }
        }
    }
    writer.close().unwrap();
    model
}

fn consumer(
    dir: &Path,
    max_poll_records: usize,
    fetch_bytes: u64,
    isolation: IsolationLevel,
    io_mode: IoMode,
) -> Consumer {
    let mut config = ConsumerConfig::new([dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = max_poll_records;
    config.max_partition_fetch_bytes = fetch_bytes;
    config.fetch_max_bytes = 4 * fetch_bytes;
    config.isolation_level = isolation;
    config.io_mode = io_mode;
    Consumer::new(config).unwrap()
}

type Seen = BTreeMap<TopicPartition, Vec<(i64, Vec<u8>)>>;

/// Polls until at end; checks each poll's bound; returns records per partition.
fn drain(consumer: &mut Consumer, max_poll_records: usize, seen: &mut Seen) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no end in sight");
        let records = consumer.poll(Duration::from_secs(2)).unwrap();
        assert!(records.count() <= max_poll_records);
        let empty = records.is_empty();
        for r in &records {
            let r = r.unwrap();
            seen.entry(r.topic_partition.clone())
                .or_default()
                .push((r.offset(), r.value().unwrap().to_vec()));
        }
        if empty && consumer.at_end() {
            return;
        }
    }
}

fn expected(model: &[ModelRecord], isolation: IsolationLevel, from: i64) -> Vec<(i64, Vec<u8>)> {
    model
        .iter()
        .filter(|r| r.offset >= from)
        .filter(|r| isolation == IsolationLevel::ReadUncommitted || !r.aborted)
        .map(|r| (r.offset, r.value.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn poll_matches_the_model(
        ops0 in proptest::collection::vec(op(), 1..12),
        ops1 in proptest::collection::vec(op(), 0..6),
        max_poll_records in prop_oneof![Just(1usize), 1usize..50, Just(500usize)],
        fetch_bytes in prop_oneof![Just(100u64), Just(2048u64), Just(1u64 << 20)],
        read_committed in any::<bool>(),
        io_mode in proptest::sample::select(vec![IoMode::Auto, IoMode::Uring, IoMode::Madvise, IoMode::Pread, IoMode::Off]),
        seek_to in any::<u16>(),
        pause_first in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let m0 = write(dir.path(), "a", 0, &ops0);
        let m1 = write(dir.path(), "a", 1, &ops1);
        let isolation = if read_committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted };
        let p0 = TopicPartition::new("a", 0);
        let p1 = TopicPartition::new("a", 1);

        // Full replay.
        let mut c = consumer(dir.path(), max_poll_records, fetch_bytes, isolation, io_mode);
        c.subscribe(&["a"]).unwrap();
        let mut seen = Seen::new();
        drain(&mut c, max_poll_records, &mut seen);
        prop_assert_eq!(seen.remove(&p0).unwrap_or_default(), expected(&m0, isolation, 0));
        prop_assert_eq!(seen.remove(&p1).unwrap_or_default(), expected(&m1, isolation, 0));

        // Seek partition 0 somewhere (possibly into a gap or a batch), and
        // pause partition 1 for a while: only p0 from the target comes back.
        let end = m0.last().map_or(0, |r| r.offset + 1);
        let target = i64::from(seek_to) % (end + 1);
        c.seek(&p0, target).unwrap();
        if pause_first {
            c.pause(std::slice::from_ref(&p1)).unwrap();
        }
        c.seek(&p1, 0).unwrap();
        let mut seen = Seen::new();
        drain(&mut c, max_poll_records, &mut seen);
        prop_assert_eq!(seen.remove(&p0).unwrap_or_default(), expected(&m0, isolation, target));
        if pause_first {
            prop_assert!(seen.remove(&p1).is_none(), "paused partition returned records");
            c.resume(std::slice::from_ref(&p1)).unwrap();
            let mut seen = Seen::new();
            drain(&mut c, max_poll_records, &mut seen);
            prop_assert_eq!(seen.remove(&p1).unwrap_or_default(), expected(&m1, isolation, 0));
        } else {
            prop_assert_eq!(seen.remove(&p1).unwrap_or_default(), expected(&m1, isolation, 0));
        }
        prop_assert_eq!(c.position(&p0).unwrap(), c.end_offsets(std::slice::from_ref(&p0)).unwrap()[&p0]);
    }
}

/// Consume part with commits, drop, reopen with the group, continue: the
/// concatenation is one full replay with no gap and no duplicate.
#[test]
fn resume_from_commit_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let ops: Vec<Op> = (0..30)
        .map(|i| Op::Batch {
            codec: Compression::ALL[i % 5],
            gap: (i % 3) as i64,
            records: 17,
        })
        .collect();
    let model = write(dir.path(), "r", 0, &ops);
    let open = || {
        let mut config = ConsumerConfig::new([dir.path()]);
        config.auto_offset_reset = AutoOffsetReset::Earliest;
        config.max_poll_records = 13;
        config.group_id = Some("g".into());
        config.state_dir = Some(state.path().to_path_buf());
        let mut c = Consumer::new(config).unwrap();
        c.subscribe(&["r"]).unwrap();
        c
    };
    let mut got = Vec::new();
    // Records processed but never committed by the previous "crashed" run.
    let mut uncommitted: Vec<(i64, Vec<u8>)> = Vec::new();
    for round in 0..100 {
        let mut c = open();
        // A few polls, committing after each, then "crash" (drop); in odd
        // rounds the last poll's records are processed but not committed.
        for poll in 0..3 {
            let records = c.poll(Duration::from_secs(2)).unwrap();
            let batch: Vec<(i64, Vec<u8>)> = records
                .iter()
                .map(|r| {
                    let r = r.unwrap();
                    (r.offset(), r.value().unwrap().to_vec())
                })
                .collect();
            if poll == 0 && !uncommitted.is_empty() {
                // At-least-once: the uncommitted records come again, first.
                assert!(batch.starts_with(&uncommitted[..uncommitted.len().min(batch.len())]));
                uncommitted.clear();
            }
            if poll == 2 && round % 2 == 1 {
                uncommitted = batch;
                break; // processed, not committed
            }
            got.extend(batch);
            c.commit_sync().unwrap();
        }
        if c.at_end() && got.len() >= model.len() {
            break;
        }
    }
    let want: Vec<(i64, Vec<u8>)> = model.iter().map(|r| (r.offset, r.value.clone())).collect();
    assert_eq!(got, want);
}

/// A writer appends and rolls segments while a consumer follows: every
/// record arrives exactly once, in order.
#[test]
fn follow_sees_every_appended_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    // The partition must exist before the consumer starts.
    let mut writer = PartitionWriter::open(
        &path,
        "live",
        0,
        WriterOptions::default().with_segment_bytes(4096),
    )
    .unwrap();
    let mut first = vec![RecordSpec::new(1, None, Some(b"v0"))];
    fill_offset_deltas(&mut first);
    writer.append(&first).unwrap();
    writer.flush().unwrap();
    const TOTAL: usize = 2000;
    let producer = std::thread::spawn(move || {
        for i in 1..TOTAL {
            let value = format!("v{i}");
            let mut records = vec![RecordSpec::new(i as i64, None, Some(value.as_bytes()))];
            fill_offset_deltas(&mut records);
            writer.append(&records).unwrap();
            writer.flush().unwrap();
            if i % 200 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        writer.close().unwrap();
    });
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.follow = true;
    let mut c = Consumer::new(config).unwrap();
    c.subscribe(&["live"]).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < TOTAL && Instant::now() < deadline {
        let records = c.poll(Duration::from_millis(200)).unwrap();
        for r in &records {
            let r = r.unwrap();
            got.push((
                r.offset(),
                String::from_utf8(r.value().unwrap().to_vec()).unwrap(),
            ));
        }
    }
    producer.join().unwrap();
    let want: Vec<(i64, String)> = (0..TOTAL).map(|i| (i as i64, format!("v{i}"))).collect();
    assert_eq!(got, want);
}
