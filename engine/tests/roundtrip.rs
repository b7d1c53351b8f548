//! Writer → reader round trips over random logs, and seek / offset-for-time
//! against a naive linear scan, with and without indexes.

use std::path::Path;

use kreplay::writer::{fill_offset_deltas, BatchSpec, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    list_partitions, Compression, LogPosition, Partition, ReadOptions, ReadStrategy,
    TimestampAndOffset,
};
use proptest::prelude::*;

type Bytes = Option<Vec<u8>>;

#[derive(Debug, Clone)]
struct Rec {
    key: Bytes,
    value: Bytes,
    headers: Vec<(String, Bytes)>,
    timestamp: i64,
    /// Added to the previous offset delta (1 = consecutive, more = a gap).
    step: i32,
}

#[derive(Debug, Clone)]
enum Op {
    /// A v2 batch; `gap` offsets are skipped before it.
    Batch {
        codec: Compression,
        gap: i64,
        records: Vec<Rec>,
    },
    /// A legacy message set (magic 0 or 1).
    Legacy {
        magic: i8,
        codec: Compression,
        records: Vec<Rec>,
    },
    /// A transaction of one batch, committed or aborted.
    Txn {
        producer_id: i64,
        abort: bool,
        records: Vec<Rec>,
    },
}

/// What a reader must give back for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    offset: i64,
    timestamp: Option<i64>,
    key: Bytes,
    value: Bytes,
    headers: Vec<(String, Bytes)>,
    is_control: bool,
}

fn bytes_strategy() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Vec::new())),
        6 => proptest::collection::vec(any::<u8>(), 1..300).prop_map(Some),
        // Compressible text, so codecs do real work.
        2 => (0usize..2000).prop_map(|n| Some(format!("{{\"cpu\":{n},\"host\":\"web-{n}\"}}").repeat(1 + n % 7).into_bytes())),
    ]
}

fn rec_strategy(allow_gaps: bool) -> impl Strategy<Value = Rec> {
    let max_step = if allow_gaps { 4 } else { 1 };
    (
        bytes_strategy(),
        bytes_strategy(),
        proptest::collection::vec(("[a-zé-]{0,8}", bytes_strategy()), 0..3),
        1_700_000_000_000i64..1_700_000_100_000,
        1..=max_step,
    )
        .prop_map(|(key, value, headers, timestamp, step)| Rec {
            key,
            value,
            headers,
            timestamp,
            step,
        })
}

fn codec() -> impl Strategy<Value = Compression> {
    proptest::sample::select(Compression::ALL.to_vec())
}

fn legacy_codec() -> impl Strategy<Value = Compression> {
    proptest::sample::select(vec![
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
    ])
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (codec(), 0i64..5, proptest::collection::vec(rec_strategy(true), 0..25))
            .prop_map(|(codec, gap, records)| Op::Batch { codec, gap, records }),
        1 => (0i8..=1, legacy_codec(), proptest::collection::vec(rec_strategy(false), 1..10))
            .prop_map(|(magic, codec, mut records)| {
                // Legacy messages have no headers.
                records.iter_mut().for_each(|r| r.headers.clear());
                Op::Legacy { magic, codec, records }
            }),
        1 => (1000i64..1003, any::<bool>(), proptest::collection::vec(rec_strategy(false), 1..10))
            .prop_map(|(producer_id, abort, records)| Op::Txn { producer_id, abort, records }),
    ]
}

fn specs(records: &[Rec], consecutive: bool) -> Vec<RecordSpec> {
    let mut delta = -1;
    records
        .iter()
        .map(|r| {
            delta += if consecutive { 1 } else { r.step };
            RecordSpec {
                offset_delta: delta,
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r.headers.clone(),
            }
        })
        .collect()
}

fn expected_of(base_offset: i64, specs: &[RecordSpec], magic: i8) -> Vec<Expected> {
    specs
        .iter()
        .map(|s| Expected {
            offset: base_offset + i64::from(s.offset_delta),
            timestamp: (magic > 0).then_some(s.timestamp),
            key: s.key.clone(),
            value: s.value.clone(),
            headers: if magic == 2 {
                s.headers.clone()
            } else {
                Vec::new()
            },
            is_control: false,
        })
        .collect()
}

/// Writes `ops` into `log_dir/t-0` and returns every record a reader must see.
fn write_log(log_dir: &Path, ops: &[Op], options: WriterOptions) -> Vec<Expected> {
    let mut writer = PartitionWriter::open(log_dir, "t", 0, options).unwrap();
    let mut expected = Vec::new();
    for op in ops {
        match op {
            Op::Batch {
                codec,
                gap,
                records,
            } => {
                let specs = specs(records, false);
                let base_offset = writer.next_offset() + gap;
                let spec = BatchSpec {
                    base_offset,
                    compression: *codec,
                    ..BatchSpec::default()
                };
                writer.append_batch(&spec, &specs).unwrap();
                expected.extend(expected_of(base_offset, &specs, 2));
            }
            Op::Legacy {
                magic,
                codec,
                records,
            } => {
                // The legacy codec comes from the writer's options: reopen
                // the partition in append mode with that codec.
                let mut specs = specs(records, true);
                fill_offset_deltas(&mut specs);
                let base_offset = writer.next_offset();
                let mut legacy_options = writer.options().clone();
                legacy_options.compression = *codec;
                legacy_options.append = true;
                writer.close().unwrap();
                writer = PartitionWriter::open(log_dir, "t", 0, legacy_options).unwrap();
                writer.append_legacy(*magic, &specs).unwrap();
                expected.extend(expected_of(base_offset, &specs, *magic));
            }
            Op::Txn {
                producer_id,
                abort,
                records,
            } => {
                let mut specs = specs(records, true);
                fill_offset_deltas(&mut specs);
                let info = writer
                    .append_transactional(*producer_id, 0, &specs)
                    .unwrap();
                expected.extend(expected_of(info.base_offset, &specs, 2));
                let marker = if *abort {
                    writer.abort(*producer_id).unwrap()
                } else {
                    writer.commit(*producer_id).unwrap()
                };
                expected.push(Expected {
                    offset: marker.base_offset,
                    timestamp: None,
                    key: Some(vec![0, 0, 0, u8::from(!*abort)]),
                    value: None,
                    headers: Vec::new(),
                    is_control: true,
                });
            }
        }
    }
    writer.close().unwrap();
    expected
}

/// Every record of the only partition under `log_dir`, plus each batch's
/// (segment, position, last offset) for the naive seek.
fn read_log(log_dir: &Path, options: ReadOptions) -> (Vec<Expected>, Vec<(LogPosition, i64)>) {
    let dirs = list_partitions(log_dir).unwrap();
    assert_eq!(dirs.len(), 1);
    let partition = Partition::open(&dirs[0], options).unwrap();
    let mut inflater = options.inflater();
    let mut records = Vec::new();
    let mut batches = Vec::new();
    for n in 0..partition.segments().len() {
        let segment = partition.open_segment(n).unwrap();
        let mut iter = segment.batches();
        for batch in iter.by_ref() {
            let batch = batch.unwrap();
            batches.push((
                LogPosition {
                    segment: n,
                    position: batch.position,
                },
                batch.last_offset(),
            ));
            for r in batch.records(&mut inflater).unwrap() {
                let r = r.unwrap();
                records.push(Expected {
                    offset: r.offset(),
                    timestamp: if r.is_control() { None } else { r.timestamp() },
                    key: r.key().map(<[u8]>::to_vec),
                    value: if r.is_control() {
                        None
                    } else {
                        r.value().map(<[u8]>::to_vec)
                    },
                    headers: r
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                String::from_utf8(h.key.to_vec()).unwrap(),
                                h.value.map(<[u8]>::to_vec),
                            )
                        })
                        .collect(),
                    is_control: r.is_control(),
                });
            }
        }
        assert_eq!(iter.end(), Some(&kreplay::SegmentEnd::Clean));
    }
    (records, batches)
}

fn naive_seek(batches: &[(LogPosition, i64)], target: i64) -> Option<LogPosition> {
    batches
        .iter()
        .find(|(_, last)| *last >= target)
        .map(|(p, _)| *p)
}

fn naive_offset_for_timestamp(records: &[Expected], ts: i64) -> Option<TimestampAndOffset> {
    records
        .iter()
        .filter(|r| !r.is_control)
        .find(|r| r.timestamp.is_some_and(|t| t >= ts))
        .map(|r| TimestampAndOffset {
            timestamp: r.timestamp.unwrap_or_default(),
            offset: r.offset,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn writer_reader_round_trip(
        ops in proptest::collection::vec(op_strategy(), 1..12),
        segment_bytes in prop_oneof![Just(40_000u32), Just(90_000u32), Just(1u32 << 30)],
        index_interval_bytes in prop_oneof![Just(1u32), Just(300u32), Just(4096u32)],
        preallocate_indexes in any::<bool>(),
        start_offset in prop_oneof![Just(0i64), Just(1_000_000i64)],
        seeks in proptest::collection::vec(any::<u16>(), 8),
        times in proptest::collection::vec(0i64..110_000, 6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions::default().with_segment_bytes(segment_bytes).with_index_interval_bytes(index_interval_bytes).with_preallocate_indexes(preallocate_indexes).with_start_offset(start_offset);
        let expected = write_log(dir.path(), &ops, options);

        for strategy in [ReadStrategy::Mmap, ReadStrategy::Read] {
            let read = ReadOptions::default().with_strategy(strategy);
            let (got, _) = read_log(dir.path(), read);
            prop_assert_eq!(&got, &expected);
        }

        let with_index = ReadOptions::default();
        let without_index = ReadOptions::default().with_use_indexes(false);
        let (records, batches) = read_log(dir.path(), with_index);
        let dirs = list_partitions(dir.path()).unwrap();
        let indexed = Partition::open(&dirs[0], with_index).unwrap();
        let scanned = Partition::open(&dirs[0], without_index).unwrap();

        let end = records.last().map_or(start_offset, |r| r.offset + 1);
        prop_assert_eq!(indexed.log_end_offset().unwrap(), batches.last().map_or(start_offset, |(_, last)| last + 1));
        prop_assert!(indexed.log_end_offset().unwrap() >= end);
        prop_assert_eq!(indexed.log_start_offset().unwrap(), scanned.log_start_offset().unwrap());

        let span = (end - start_offset + 4) as u64;
        for s in seeks {
            let target = start_offset - 2 + (u64::from(s) % span) as i64;
            let naive = naive_seek(&batches, target);
            prop_assert_eq!(indexed.seek(target).unwrap(), naive, "seek {} with index", target);
            prop_assert_eq!(scanned.seek(target).unwrap(), naive, "seek {} by scan", target);
        }
        for t in times {
            let ts = 1_700_000_000_000 - 5_000 + t;
            let naive = naive_offset_for_timestamp(&records, ts);
            prop_assert_eq!(indexed.offset_for_timestamp(ts).unwrap(), naive, "time {} with index", ts);
            prop_assert_eq!(scanned.offset_for_timestamp(ts).unwrap(), naive, "time {} by scan", ts);
        }
    }
}

/// Found by the property test: a writer that stopped without closing (as a
/// crashed broker: no final time index entry) and was reopened in append
/// mode must still index the segment's true maximum timestamp, or a time
/// lookup through the index skips the record that holds it.
#[test]
fn reopen_after_unclean_stop_keeps_max_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions::default().with_index_interval_bytes(1);
    let mut first = PartitionWriter::open(dir.path(), "t", 0, options.clone()).unwrap();
    first
        .append(&[RecordSpec::new(1_700_000_096_243, None, None)])
        .unwrap();
    first.flush().unwrap();
    std::mem::forget(first); // no close: the final time index entry is never written
    let mut again = PartitionWriter::open(dir.path(), "t", 0, options.with_append(true)).unwrap();
    // Two later batches, so the offset index gets an entry past offset 0.
    for timestamp in [1_700_000_040_000, 1_700_000_050_000] {
        let mut late = vec![RecordSpec::new(timestamp, None, Some(b"x")); 3];
        fill_offset_deltas(&mut late);
        again.append(&late).unwrap();
    }
    again.close().unwrap();
    let dirs = list_partitions(dir.path()).unwrap();
    let partition = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    assert_eq!(
        partition.offset_for_timestamp(1_700_000_096_243).unwrap(),
        Some(TimestampAndOffset {
            timestamp: 1_700_000_096_243,
            offset: 0
        })
    );
}
