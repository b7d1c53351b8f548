//! `LogDir` and the partition and segment readers against the conformance
//! corpus: every good case reads to its expected.jsonl (minus transaction
//! markers, which a Kafka consumer never returns) through each way of
//! reading, from every offset and timestamp; the bad cases give their valid
//! records and then an error naming file, position and offset, again on
//! every later call; a torn tail before another segment is an error.

mod common;

use std::path::Path;

use common::*;
use kreplay::writer::{PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{Corruption, Error, LogDir, ReadOptions, ReadStrategy, Record, SegmentEnd, StartAt};
use serde_json::Value;

/// The data records of a case's expected.jsonl.
fn expected_data(case: &Path) -> Vec<Value> {
    read_expected(case)
        .into_iter()
        .filter(|r| r["is_control"] == false)
        .collect()
}

fn json(topic: &str, partition: i32, record: Record<'_>) -> Value {
    record_json(topic, partition, &record)
}

/// Every record of every partition through `for_each`.
fn read_for_each(log_dir: &LogDir, start: impl Fn(&kreplay::Partition) -> StartAt) -> Vec<Value> {
    let mut out = Vec::new();
    for partition in log_dir.partitions() {
        let (topic, number) = (partition.topic(), partition.partition());
        partition
            .reader(start(partition))
            .unwrap()
            .for_each(|record| out.push(json(topic, number, record)))
            .unwrap_or_else(|e| panic!("{topic}-{number}: {e}"));
    }
    out
}

/// Every record through `next_batch` and the batch's iterator.
fn read_batches(log_dir: &LogDir) -> Vec<Value> {
    let mut out = Vec::new();
    for partition in log_dir.partitions() {
        let mut reader = partition.reader(StartAt::Beginning).unwrap();
        let mut last_next = reader.next_offset();
        loop {
            let Some(batch) = reader.next_batch().unwrap() else {
                break;
            };
            assert!(batch.batch().next_offset() > last_next);
            assert!(!batch.batch().is_control_batch());
            last_next = batch.batch().next_offset();
            for record in batch {
                out.push(json(
                    partition.topic(),
                    partition.partition(),
                    record.unwrap(),
                ));
            }
            assert_eq!(reader.next_offset(), last_next);
        }
        assert!(
            reader.next_batch().unwrap().is_none(),
            "the end stays the end"
        );
    }
    out
}

/// Every record through each segment's own reader.
fn read_segments(log_dir: &LogDir, options: &ReadOptions) -> Vec<Value> {
    let mut out = Vec::new();
    for partition in log_dir.partitions() {
        for n in 0..partition.segments().len() {
            let segment = partition.open_segment(n).unwrap();
            let mut reader = segment.reader(options);
            reader
                .for_each(|r| out.push(json(partition.topic(), partition.partition(), r)))
                .unwrap();
            assert_eq!(
                reader.end(),
                Some(SegmentEnd::Clean),
                "{}",
                segment.path().display()
            );
        }
    }
    out
}

fn good_cases() -> Vec<std::path::PathBuf> {
    let mut cases = Vec::new();
    for root in corpus_roots("corpus")
        .into_iter()
        .chain(corpus_roots("real"))
    {
        cases.extend(cases_under(&root));
    }
    cases
}

#[test]
fn every_good_case_reads_to_its_expected_records_each_way() {
    let mut failures = Vec::new();
    let cases = good_cases();
    for case in &cases {
        let expected = expected_data(case);
        for strategy in [ReadStrategy::Mmap, ReadStrategy::Read] {
            let options = ReadOptions::default().with_strategy(strategy);
            let log_dir = LogDir::open_with([case], options).unwrap();
            failures.extend(records_diff(
                case,
                &read_for_each(&log_dir, |_| StartAt::Beginning),
                &expected,
            ));
            failures.extend(records_diff(case, &read_batches(&log_dir), &expected));
            failures.extend(records_diff(
                case,
                &read_segments(&log_dir, &options),
                &expected,
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 26, "only {} cases", cases.len());
}

/// `StartAt::Offset(k)` gives exactly the data records at or past `k`, for
/// every `k` from before the first to past the last (inside compressed and
/// legacy batches, in compaction gaps, on transaction markers).
#[test]
fn every_start_offset_gives_the_records_from_it() {
    let mut checked = 0;
    for case in good_cases() {
        let expected = expected_data(&case);
        let all = read_expected(&case);
        if all.len() > 400 {
            continue;
        }
        let log_dir = LogDir::open([&case]).unwrap();
        for partition in log_dir.partitions() {
            let mine = |r: &&Value| {
                r["topic"] == partition.topic() && r["partition"] == partition.partition()
            };
            let offsets: Vec<i64> = all
                .iter()
                .filter(mine)
                .map(|r| r["offset"].as_i64().unwrap())
                .collect();
            let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
                continue;
            };
            // Every offset of a small partition; of a larger one, the ends
            // and a spread of about 60 between them.
            let stride = ((last - first) / 60).max(1) as usize;
            let ks = (first - 2..=first + 2)
                .chain((first..=last).step_by(stride))
                .chain(last - 2..=last + 2);
            for k in ks {
                let want: Vec<Value> = expected
                    .iter()
                    .filter(mine)
                    .filter(|r| r["offset"].as_i64().unwrap() >= k)
                    .cloned()
                    .collect();
                let mut got = Vec::new();
                let mut reader = partition.reader(StartAt::Offset(k)).unwrap();
                reader
                    .for_each(|r| got.push(json(partition.topic(), partition.partition(), r)))
                    .unwrap();
                if let Some(diff) = records_diff(&case, &got, &want) {
                    panic!("{} from offset {k}: {diff}", partition.dir().display());
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 800, "only {checked} start offsets checked");
}

/// `StartAt::Timestamp(t)` starts where Kafka's `offsetsForTimes` says:
/// the first data record in offset order whose timestamp is at least `t`.
#[test]
fn every_start_timestamp_gives_the_records_from_offsets_for_times() {
    let mut checked = 0;
    for case in good_cases() {
        let expected = expected_data(&case);
        if expected.len() > 400 {
            continue;
        }
        let log_dir = LogDir::open([&case]).unwrap();
        for partition in log_dir.partitions() {
            let mine: Vec<&Value> = expected
                .iter()
                .filter(|r| {
                    r["topic"] == partition.topic() && r["partition"] == partition.partition()
                })
                .collect();
            let mut stamps: Vec<i64> = mine
                .iter()
                .filter_map(|r| r["timestamp"].as_i64())
                .collect();
            stamps.sort_unstable();
            stamps.dedup();
            let stride = (stamps.len() / 40).max(1);
            let probes = stamps
                .iter()
                .step_by(stride)
                .flat_map(|t| [t - 1, *t, t + 1])
                .chain([i64::MIN, i64::MAX]);
            for t in probes {
                let start = mine
                    .iter()
                    .position(|r| r["timestamp"].as_i64().is_some_and(|ts| ts >= t));
                let want: Vec<Value> = match start {
                    Some(n) => mine[n..].iter().map(|r| (*r).clone()).collect(),
                    None => Vec::new(),
                };
                let mut got = Vec::new();
                let mut reader = partition.reader(StartAt::Timestamp(t)).unwrap();
                reader
                    .for_each(|r| got.push(json(partition.topic(), partition.partition(), r)))
                    .unwrap();
                if let Some(diff) = records_diff(&case, &got, &want) {
                    panic!("{} from timestamp {t}: {diff}", partition.dir().display());
                }
                if start.is_none() {
                    assert_eq!(reader.next_offset(), partition.log_end_offset().unwrap());
                }
                // One segment: its own reader from the timestamp agrees.
                if partition.segments().len() == 1 {
                    let segment = partition.open_segment(0).unwrap();
                    let mut from_segment = Vec::new();
                    segment
                        .reader(partition.options())
                        .from_timestamp(t)
                        .unwrap()
                        .for_each(|r| {
                            from_segment.push(json(partition.topic(), partition.partition(), r))
                        })
                        .unwrap();
                    if let Some(diff) = records_diff(&case, &from_segment, &want) {
                        panic!(
                            "{} segment from timestamp {t}: {diff}",
                            partition.dir().display()
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 400, "only {checked} timestamps checked");
}

/// A bad case gives every valid record, then (for damage that is not a
/// torn tail) an error naming the file, the position and the batch's base
/// offset, and the same error on every later call: nothing past it is
/// skipped to silently.
#[test]
fn bad_cases_give_their_valid_records_then_a_lasting_error() {
    let mut checked = 0;
    for root in corpus_roots("corpus-bad") {
        for case in cases_under(&root) {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            let expected = expected_data(&case);
            let info = read_case_json(&case);
            let seg = &info["segments"][0];
            let valid_bytes = seg["valid_bytes"].as_u64().unwrap();
            let log_dir = LogDir::open([&case]).unwrap();
            let partition = &log_dir.partitions()[0];
            let mut got = Vec::new();
            let mut reader = partition.reader(StartAt::Beginning).unwrap();
            let result = reader.try_for_each(|r| {
                got.push(json(partition.topic(), partition.partition(), r));
                Ok::<(), Error>(())
            });
            assert_records_eq(&case, &got, &expected);
            // What each case must be, per cases.md (as in conformance.rs).
            let torn = match name.as_str() {
                "crc-flipped-byte"
                | "crc-flipped-legacy"
                | "negative-length"
                | "bad-magic"
                | "garbage-appended-plausible"
                | "absurd-length"
                | "garbage-appended" => false,
                "truncated-final-batch"
                | "truncated-mid-header"
                | "zero-padding-tail"
                | "empty-log" => true,
                other => panic!("unknown bad case {other}: add its expectation"),
            };
            match (result, torn) {
                (Ok(()), true) => {}
                (Err(error), false) => {
                    let Error::Corrupt {
                        path,
                        position,
                        offset,
                        ..
                    } = &error
                    else {
                        panic!("{name}: {error}");
                    };
                    assert!(path.ends_with("00000000000000000000.log"), "{name}");
                    assert_eq!(*position, valid_bytes, "{name}: {error}");
                    if let Some(o) = seg["error"]["batch_base_offset"].as_i64() {
                        assert_eq!(*offset, Some(o), "{name}: {error}");
                    }
                    let again = reader.next_batch().err().map(|e| e.to_string());
                    assert_eq!(again, Some(error.to_string()), "{name}: the error stays");
                }
                (result, _) => panic!("{name}: {result:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 11, "only {checked} bad cases");
}

/// Writes `records` records into a temporary partition dir `t-0`, in
/// batches of 5 and segments of `per_segment` records.
fn write_partition(records: i64, per_segment: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionWriter::open(dir.path(), "t", 0, WriterOptions::default()).unwrap();
    for start in (0..records).step_by(5) {
        let specs: Vec<RecordSpec> = (start..(start + 5).min(records))
            .map(|n| {
                let value = format!("value-{n}");
                RecordSpec::new(1_000 + n, Some(b"k"), Some(value.as_bytes()))
                    .with_offset_delta((n - start) as i32)
            })
            .collect();
        writer.append(&specs).unwrap();
        if (start + 5) % per_segment == 0 && start + 5 < records {
            writer.roll().unwrap();
        }
    }
    writer.close().unwrap();
    dir
}

#[test]
fn a_torn_tail_before_another_segment_is_an_error_not_the_end() {
    let dir = write_partition(30, 10);
    let log_dir = LogDir::open([dir.path()]).unwrap();
    let partition = log_dir.partition("t", 0).unwrap();
    assert!(partition.segments().len() >= 2);
    let first = partition.segments()[0].path.clone();
    let mut bytes = std::fs::read(&first).unwrap();
    let valid = bytes.len() as u64;
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 1]);
    std::fs::write(&first, bytes).unwrap();
    let log_dir = LogDir::open([dir.path()]).unwrap();
    let partition = log_dir.partition("t", 0).unwrap();
    let mut offsets = Vec::new();
    let error = partition
        .reader(StartAt::Beginning)
        .unwrap()
        .for_each(|r| offsets.push(r.offset()))
        .unwrap_err();
    assert_eq!(
        offsets,
        (0..partition.segments()[1].base_offset).collect::<Vec<_>>()
    );
    match &error {
        Error::Corrupt {
            path,
            position,
            kind: Corruption::TornTailBeforeNextSegment { .. },
            ..
        } => {
            assert_eq!(path, &first);
            assert_eq!(*position, valid);
        }
        other => panic!("{other}"),
    }
    // The segment alone just ends there.
    let segment = partition.open_segment(0).unwrap();
    let mut reader = segment.reader(&ReadOptions::default());
    let mut count = 0;
    reader.for_each(|_| count += 1).unwrap();
    assert_eq!(count, partition.segments()[1].base_offset);
    assert!(matches!(reader.end(), Some(SegmentEnd::TornTail(t)) if t.valid_bytes == valid));
}

#[test]
fn readers_go_across_segments_and_stop_early_on_the_callers_error() {
    let dir = write_partition(95, 10);
    let log_dir = LogDir::open([dir.path()]).unwrap();
    let partition = log_dir.get(&kreplay::TopicPartition::new("t", 0)).unwrap();
    let mut offsets = Vec::new();
    partition
        .reader(StartAt::Offset(37))
        .unwrap()
        .for_each(|r| {
            assert_eq!(r.value(), Some(format!("value-{}", r.offset()).as_bytes()));
            offsets.push(r.offset())
        })
        .unwrap();
    assert_eq!(offsets, (37..95).collect::<Vec<_>>());

    #[derive(Debug)]
    #[allow(dead_code)] // the engine's error is only printed
    enum Mine {
        Enough,
        Engine(Error),
    }
    impl From<Error> for Mine {
        fn from(e: Error) -> Self {
            Mine::Engine(e)
        }
    }
    let mut seen = 0;
    let mut reader = partition.reader(StartAt::Beginning).unwrap();
    let result = reader.try_for_each(|r| {
        seen += 1;
        if r.offset() == 41 {
            return Err(Mine::Enough);
        }
        Ok(())
    });
    assert!(matches!(result, Err(Mine::Enough)));
    assert_eq!(seen, 42, "no record passed after the caller's error");
    // It goes on after the record the caller stopped at, inside its batch.
    assert_eq!(reader.next_offset(), 42);
    let mut rest = Vec::new();
    reader.for_each(|r| rest.push(r.offset())).unwrap();
    assert_eq!(rest, (42..95).collect::<Vec<_>>());

    // A batch dropped after two of its records: the next one starts at the third.
    let mut reader = partition.reader(StartAt::Offset(11)).unwrap();
    let mut batch = reader.next_batch().unwrap().unwrap();
    assert_eq!(batch.batch().base_offset(), 10);
    let first_two: Vec<i64> = batch
        .by_ref()
        .take(2)
        .map(|r| r.unwrap().offset())
        .collect();
    assert_eq!(first_two, [11, 12]);
    drop(batch);
    assert_eq!(reader.next_offset(), 13);
    let next: Vec<i64> = reader
        .next_batch()
        .unwrap()
        .unwrap()
        .map(|r| r.unwrap().offset())
        .collect();
    assert_eq!(next, [13, 14]);
    assert_eq!(reader.next_offset(), 15);

    // The segment reader from an offset inside it.
    let segment = partition.open_segment(2).unwrap();
    let mut got = Vec::new();
    segment
        .reader(&ReadOptions::default())
        .from_offset(25)
        .for_each(|r| got.push(r.offset()))
        .unwrap();
    assert_eq!(got, (25..30).collect::<Vec<_>>());
    // ... and from a timestamp (record n has timestamp 1000 + n).
    for (timestamp, want) in [(1_025, 25..30), (0, 20..30), (1_029, 29..30), (5_000, 0..0)] {
        let mut got = Vec::new();
        segment
            .reader(&ReadOptions::default())
            .from_timestamp(timestamp)
            .unwrap()
            .for_each(|r| got.push(r.offset()))
            .unwrap();
        assert_eq!(got, want.collect::<Vec<_>>(), "from timestamp {timestamp}");
    }
}

#[test]
fn log_dirs_list_topics_and_refuse_what_is_not_one() {
    let demo = workspace_root().join("fixtures/demo");
    let log_dir = LogDir::open([&demo]).unwrap();
    assert_eq!(log_dir.topics(), ["metrics", "orders"]);
    assert_eq!(log_dir.topic("orders").count(), 3);
    assert_eq!(log_dir.partitions().len(), 6);
    assert!(log_dir.partition("orders", 2).is_some());
    assert!(log_dir.partition("orders", 3).is_none());
    let missing = log_dir
        .get(&kreplay::TopicPartition::new("nope", 0))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("no partition nope-0 under") && missing.contains("demo"),
        "{missing}"
    );

    // One partition dir given twice, or beside its log dir: refused.
    let orders0 = demo.join("orders-0");
    let twice = LogDir::open([&demo, &orders0]).unwrap_err().to_string();
    assert!(twice.contains("orders-0 is also under"), "{twice}");
    // A segment file is not a log dir.
    let segment = std::fs::read_dir(&orders0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .unwrap();
    let file = LogDir::open([&segment]).unwrap_err().to_string();
    assert!(file.contains("a segment file, not a log dir"), "{file}");
    // A partition dir alone.
    let one = LogDir::open([&orders0]).unwrap();
    assert_eq!(one.topics(), ["orders"]);
}
