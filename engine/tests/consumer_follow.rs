//! Following a live log: a batch half-written at the tail is waited for,
//! not reported as corruption; a segment deleted by retention while it is
//! being read is read to its end and the consumer moves on.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use kreplay::writer::{
    encode_batch, fill_offset_deltas, BatchSpec, PartitionWriter, RecordSpec, WriterOptions,
};
use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig};

fn records(from: usize, n: usize) -> Vec<RecordSpec> {
    let mut specs: Vec<RecordSpec> = (from..from + n)
        .map(|i| RecordSpec::new(i as i64, None, Some(format!("v{i}").as_bytes())))
        .collect();
    fill_offset_deltas(&mut specs);
    specs
}

fn follower(dir: &Path, max_poll_records: usize) -> Consumer {
    let mut config = ConsumerConfig::new([dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.follow = true;
    config.max_poll_records = max_poll_records;
    config.max_partition_fetch_bytes = 512;
    config.fetch_max_bytes = 1024;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["live"]).unwrap();
    consumer
}

/// Polls until `want` records arrived (or a deadline), returning their values.
fn collect(consumer: &mut Consumer, want: usize) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < want && Instant::now() < deadline {
        let batch = consumer.poll(Duration::from_millis(100)).unwrap();
        for r in &batch {
            got.push(String::from_utf8(r.unwrap().value().unwrap().to_vec()).unwrap());
        }
    }
    got
}

fn values(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("v{i}")).collect()
}

/// Records `from..from + n` as one batch at base offset `from`.
fn encoded(from: usize, n: usize) -> Vec<u8> {
    let mut batch = Vec::new();
    let spec = BatchSpec {
        base_offset: from as i64,
        ..BatchSpec::default()
    };
    encode_batch(&spec, &records(from, n), &mut batch).unwrap();
    batch
}

/// The `live-0` segment, opened for appending.
fn open_to_append(dir: &Path) -> std::fs::File {
    let log = dir.join("live-0/00000000000000000000.log");
    OpenOptions::new().append(true).open(log).unwrap()
}

#[test]
fn half_written_batch_at_the_tail_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PartitionWriter::open(dir.path(), "live", 0, WriterOptions::default()).unwrap();
    writer.append(&records(0, 10)).unwrap();
    writer.close().unwrap();
    let mut consumer = follower(dir.path(), 100);
    assert_eq!(collect(&mut consumer, 10), values(0, 10));

    // A producer's batch lands in two writes, with a pause between them.
    let batch = encoded(10, 5);
    let mut file = open_to_append(dir.path());
    file.write_all(&batch[..batch.len() / 2]).unwrap();
    file.flush().unwrap();
    for _ in 0..5 {
        // No error, no record: the torn tail is the live end of the log.
        let polled = consumer.poll(Duration::from_millis(60)).unwrap();
        assert!(polled.is_empty());
    }
    file.write_all(&batch[batch.len() / 2..]).unwrap();
    file.flush().unwrap();
    assert_eq!(collect(&mut consumer, 5), values(10, 15));
}

#[test]
fn segment_deleted_by_retention_while_read() {
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions::default().with_segment_bytes(512);
    let mut writer = PartitionWriter::open(dir.path(), "live", 0, options).unwrap();
    for b in 0..12 {
        writer.append(&records(b * 10, 10)).unwrap();
    }
    writer.close().unwrap();
    let partition_dir = dir.path().join("live-0");
    let mut segments: Vec<_> = std::fs::read_dir(&partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    assert!(segments.len() >= 3, "{} segments", segments.len());

    let mut consumer = follower(dir.path(), 3);
    let mut got = collect(&mut consumer, 3);
    // Retention deletes the oldest segment (and its indexes) while it is mapped.
    let first = &segments[0];
    for suffix in ["log", "index", "timeindex"] {
        let _ = std::fs::remove_file(first.with_extension(suffix));
    }
    got.extend(collect(&mut consumer, 120 - got.len()));
    assert_eq!(
        got,
        values(0, 120),
        "the deleted segment is read to its end, then the rest"
    );
}

/// Records below the log start offset (Kafka's log-start-offset-checkpoint:
/// deleted by DeleteRecords or retention) are never returned; a committed
/// or sought offset below it follows auto_offset_reset.
#[test]
fn records_below_the_log_start_offset_are_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PartitionWriter::open(dir.path(), "live", 0, WriterOptions::default()).unwrap();
    writer.append(&records(0, 40)).unwrap();
    writer.close().unwrap();
    kreplay::writer::write_log_start_offset_checkpoint(dir.path(), &[("live", 0, 25)]).unwrap();
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config.clone()).unwrap();
    consumer.subscribe(&["live"]).unwrap();
    let tp = kreplay::TopicPartition::new("live", 0);
    assert_eq!(consumer.position(&tp).unwrap(), 25);
    let drain = |consumer: &mut Consumer| {
        let mut got = Vec::new();
        loop {
            let batch = consumer.poll(Duration::from_secs(2)).unwrap();
            let empty = batch.is_empty();
            got.extend(batch.iter().map(|r| r.unwrap().offset()));
            if empty && consumer.at_end() {
                return got;
            }
        }
    };
    assert_eq!(drain(&mut consumer), (25..40).collect::<Vec<i64>>());
    consumer.seek(&tp, 3).unwrap();
    assert_eq!(
        consumer.position(&tp).unwrap(),
        25,
        "below the log start: reset to earliest"
    );
    assert_eq!(drain(&mut consumer), (25..40).collect::<Vec<i64>>());
    // With no reset policy, the missing position is raised by poll (as
    // Kafka's NoOffsetForPartitionException), unless a seek positions it.
    config.auto_offset_reset = AutoOffsetReset::None;
    let mut strict = Consumer::new(config).unwrap();
    strict.assign(std::slice::from_ref(&tp)).unwrap();
    assert!(strict.position(&tp).is_err());
    let err = strict
        .poll(Duration::from_millis(10))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no committed offset"), "{err}");
    strict.seek(&tp, 30).unwrap();
    assert_eq!(drain(&mut strict), (30..40).collect::<Vec<i64>>());
}

/// After a seek the fetcher reuses the segment it had mapped only while the
/// file is as it was: a segment that grew is mapped again, so a seek back
/// reads what was appended (not the shorter, stale mapping).
#[test]
fn seek_after_the_segment_grew_reads_the_appended_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        PartitionWriter::open(dir.path(), "live", 0, WriterOptions::default()).unwrap();
    writer.append(&records(0, 10)).unwrap();
    writer.close().unwrap();
    let mut config = ConsumerConfig::new([dir.path()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).unwrap();
    consumer.subscribe(&["live"]).unwrap();
    assert_eq!(collect(&mut consumer, 10), values(0, 10));

    open_to_append(dir.path())
        .write_all(&encoded(10, 5))
        .unwrap();
    let assignment = consumer.assignment();
    consumer.seek_to_beginning(&assignment).unwrap();
    assert_eq!(collect(&mut consumer, 15), values(0, 15));
    // And again, with nothing changed: the kept mapping is the whole file.
    consumer.seek_to_beginning(&assignment).unwrap();
    assert_eq!(collect(&mut consumer, 15), values(0, 15));
}
