//! read_committed through the `.txnindex` files gives the records the
//! transaction markers give: on the conformance corpus, on writer logs of
//! interleaved producers (against a naive oracle of the script that wrote
//! them, from the start and after seeks), and with indexes that are
//! damaged, out of order, past their segment, or that lie — which fall back
//! to the markers with a warning.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::Duration;

use common::*;
use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    AbortedTxnSource, AutoOffsetReset, Consumer, ConsumerConfig, IsolationLevel, TopicPartition,
};
use serde_json::Value;

// ---- warnings, captured per log dir (tests run in parallel threads, and
// the warning comes from the fetcher's thread) ----

static MESSAGES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());
static LOGGER: Capture = Capture;
static INIT: Once = Once::new();

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            MESSAGES
                .lock()
                .unwrap()
                .push((record.level(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

fn capture_warnings() {
    INIT.call_once(|| {
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The messages at `level` naming a path under `dir`.
fn messages_about(dir: &Path, level: log::Level) -> Vec<String> {
    let dir = dir.display().to_string();
    MESSAGES
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, m)| *l == level && m.contains(&dir))
        .map(|(_, m)| m.clone())
        .collect()
}

/// The warnings naming a path under `dir`.
fn warnings_about(dir: &Path) -> Vec<String> {
    messages_about(dir, log::Level::Warn)
}

/// Whether a read of `dir` used its `.txnindex` files.
fn used_the_txnindex(dir: &Path) -> bool {
    messages_about(dir, log::Level::Debug)
        .iter()
        .any(|m| m.contains("read_committed uses the .txnindex files"))
}

// ---- reading ----

/// Records by partition (as conformance JSON), and the positions at the end.
type Replay = (
    BTreeMap<TopicPartition, Vec<Value>>,
    Vec<(TopicPartition, i64)>,
);

/// Every record read_committed gives from `log_dir` (as conformance JSON,
/// by partition), each partition from `start` (its log start when absent),
/// and the positions at the end.
fn read_committed(log_dir: &Path, source: AbortedTxnSource, start: Option<i64>) -> Replay {
    let mut config = ConsumerConfig::new([log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.isolation_level = IsolationLevel::ReadCommitted;
    config.aborted_txn_source = source;
    config.max_partition_fetch_bytes = 2048;
    config.max_poll_records = 7;
    let mut consumer = Consumer::new(config).unwrap();
    let partitions: Vec<TopicPartition> = consumer.partitions().cloned().collect();
    consumer.assign(&partitions).unwrap();
    if let Some(offset) = start {
        for tp in &partitions {
            consumer.seek(tp, offset).unwrap();
        }
    }
    let mut out: BTreeMap<TopicPartition, Vec<Value>> = BTreeMap::new();
    for _ in 0..1_000_000 {
        let records = consumer.poll(Duration::from_secs(5)).unwrap();
        let empty = records.is_empty();
        for r in &records {
            let r = r.unwrap();
            out.entry(r.topic_partition.clone())
                .or_default()
                .push(record_json(
                    &r.topic_partition.topic,
                    r.topic_partition.partition,
                    &r,
                ));
        }
        if empty && consumer.at_end() {
            let positions = partitions
                .iter()
                .map(|tp| (tp.clone(), consumer.position(tp).unwrap()))
                .collect();
            return (out, positions);
        }
    }
    panic!("{}: never reached the end", log_dir.display());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn offsets(records: &BTreeMap<TopicPartition, Vec<Value>>) -> Vec<i64> {
    records
        .values()
        .flatten()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect()
}

// ---- the conformance corpus ----

#[test]
fn corpus_reads_the_same_through_the_txnindex_and_the_markers() {
    capture_warnings();
    let mut cases = 0;
    for root in corpus_roots("corpus") {
        for case in cases_under(&root) {
            let with_index = read_committed(&case, AbortedTxnSource::TxnIndex, None);
            let markers = read_committed(&case, AbortedTxnSource::Markers, None);
            assert_eq!(with_index, markers, "{}", case.display());
            cases += 1;
        }
    }
    assert!(cases >= 20, "only {cases} corpus cases");
}

/// The transactional case has no `.txnindex` (its generator writes none),
/// like a log copied without its index files: the index says "no aborted
/// transaction", the abort marker says otherwise, and the reader goes back
/// to the markers before delivering anything of the aborted transaction.
/// With the entry a broker would have written, the index is used.
#[test]
fn the_corpus_transactional_case_with_and_without_its_txnindex() {
    capture_warnings();
    let case = workspace_root().join("fixtures/conformance/corpus/v2-transactional");
    // Layout (cases.md): 0-4 txn A, 5-7 plain, 8-9 txn A, 10 COMMIT A,
    // 11-15 txn B (pid 5151), 16-18 idempotent, 19 ABORT B, 20-21 plain.
    let want: Vec<i64> = (0..=9).chain(16..=18).chain(20..=21).collect();

    let copied = tempfile::tempdir().unwrap();
    copy_dir(&case, copied.path());
    let (records, positions) = read_committed(copied.path(), AbortedTxnSource::TxnIndex, None);
    assert_eq!(offsets(&records), want);
    assert_eq!(positions[0].1, 22);
    let warnings = warnings_about(copied.path());
    assert!(
        warnings.iter().any(
            |w| w.contains("abort marker of producer 5151 at offset 19 has no .txnindex entry")
        ),
        "{warnings:?}"
    );

    let indexed = tempfile::tempdir().unwrap();
    copy_dir(&case, indexed.path());
    let txnindex = indexed.path().join("txn-0/00000000000000000000.txnindex");
    std::fs::write(&txnindex, aborted_txn(5151, 11, 19, 20)).unwrap();
    let (records, positions) = read_committed(indexed.path(), AbortedTxnSource::TxnIndex, None);
    assert_eq!(offsets(&records), want);
    assert_eq!(positions[0].1, 22);
    assert_eq!(warnings_about(indexed.path()), Vec::<String>::new());
    assert!(used_the_txnindex(indexed.path()));
}

/// One `.txnindex` entry in Kafka's format.
fn aborted_txn(producer_id: i64, first: i64, last: i64, last_stable: i64) -> Vec<u8> {
    let mut entry = Vec::with_capacity(34);
    entry.extend_from_slice(&0i16.to_be_bytes());
    entry.extend_from_slice(&producer_id.to_be_bytes());
    entry.extend_from_slice(&first.to_be_bytes());
    entry.extend_from_slice(&last.to_be_bytes());
    entry.extend_from_slice(&last_stable.to_be_bytes());
    entry
}

// ---- writer logs of interleaved producers, against a naive oracle ----

/// What a script wrote, for the oracle: every data batch (offsets, producer
/// when transactional, the transaction's outcome once known).
#[derive(Debug, Default)]
struct Written {
    /// (base offset, last offset, transaction id when transactional).
    batches: Vec<(i64, i64, Option<usize>)>,
    /// Per transaction: `Some(committed)` once ended, `None` while open.
    outcomes: Vec<Option<bool>>,
}

impl Written {
    /// The offsets read_committed gives from `start`: records of plain and
    /// committed batches, from `start` up to the first batch of a
    /// transaction still open that ends at or after `start` (where the
    /// reader stops).
    fn expected(&self, start: i64) -> Vec<i64> {
        let stop = self
            .batches
            .iter()
            .filter(|(_, last, txn)| {
                *last >= start && txn.is_some_and(|t| self.outcomes[t].is_none())
            })
            .map(|(base, _, _)| *base)
            .min()
            .unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for &(base, last, txn) in &self.batches {
            let delivered = txn.is_none_or(|t| self.outcomes[t] == Some(true));
            if delivered && base < stop {
                out.extend((base..=last).filter(|o| *o >= start));
            }
        }
        out.sort_unstable();
        out
    }
}

/// Writes a partition of `producers` interleaved transactional producers,
/// plain and idempotent batches, commits, aborts (some of transactions
/// spanning segments, some ending nothing), leaving some transactions open
/// when `leave_open`.
fn write_script(dir: &Path, seed: u64, producers: i64, steps: usize, leave_open: bool) -> Written {
    let mut rng = fastrand::Rng::with_seed(seed);
    let options = WriterOptions::default().with_segment_bytes(1 + rng.u32(600..4000));
    let mut writer = PartitionWriter::open(dir, "txn", 0, options).unwrap();
    let mut written = Written::default();
    let mut open: HashMap<i64, usize> = HashMap::new();
    let mut has_written: Vec<i64> = Vec::new();
    let records = |n: usize, tag: &str| {
        let mut specs: Vec<RecordSpec> = (0..n)
            .map(|i| {
                RecordSpec::new(
                    1_700_000_000_000,
                    None,
                    Some(format!("{tag}-{i}").as_bytes()),
                )
            })
            .collect();
        fill_offset_deltas(&mut specs);
        specs
    };
    for step in 0..steps {
        let producer = 7000 + rng.i64(0..producers);
        let count = rng.usize(1..6);
        match rng.u32(0..10) {
            0 | 1 => {
                let info = writer
                    .append(&records(count, &format!("plain{step}")))
                    .unwrap();
                written
                    .batches
                    .push((info.base_offset, info.last_offset, None));
            }
            2..=5 => {
                let txn = *open.entry(producer).or_insert_with(|| {
                    written.outcomes.push(None);
                    written.outcomes.len() - 1
                });
                let info = writer
                    .append_transactional(producer, 0, &records(count, &format!("txn{step}")))
                    .unwrap();
                written
                    .batches
                    .push((info.base_offset, info.last_offset, Some(txn)));
                has_written.push(producer);
            }
            6 | 7 => {
                if let Some(txn) = open.remove(&producer) {
                    writer.commit(producer).unwrap();
                    written.outcomes[txn] = Some(true);
                }
            }
            8 => {
                if let Some(txn) = open.remove(&producer) {
                    writer.abort(producer).unwrap();
                    written.outcomes[txn] = Some(false);
                } else if has_written.contains(&producer) {
                    // An abort ending no transaction.
                    writer.abort(producer).unwrap();
                }
            }
            _ => writer.roll().unwrap(),
        }
    }
    if !leave_open {
        let mut ending: Vec<(i64, usize)> = open.drain().collect();
        ending.sort_unstable();
        for (producer, txn) in ending {
            let commit = rng.bool();
            if commit {
                writer.commit(producer).unwrap();
            } else {
                writer.abort(producer).unwrap();
            }
            written.outcomes[txn] = Some(commit);
        }
    }
    writer.close().unwrap();
    written
}

#[test]
fn writer_logs_read_the_same_through_the_txnindex_the_markers_and_the_oracle() {
    capture_warnings();
    let mut with_entries = 0;
    for seed in 0..24u64 {
        let dir = tempfile::tempdir().unwrap();
        let producers = 1 + (seed % 5) as i64;
        let written = write_script(dir.path(), seed, producers, 160, seed % 3 == 0);
        let txnindexes = std::fs::read_dir(dir.path().join("txn-0"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "txnindex")
            })
            .count();
        with_entries += usize::from(txnindexes > 0);
        let end = written.batches.iter().map(|b| b.1).max().unwrap_or(0);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut starts = vec![None];
        starts.extend((0..3).map(|_| Some(rng.i64(0..=end + 1))));
        for start in starts {
            let with_index = read_committed(dir.path(), AbortedTxnSource::TxnIndex, start);
            let markers = read_committed(dir.path(), AbortedTxnSource::Markers, start);
            assert_eq!(
                offsets(&with_index.0),
                written.expected(start.unwrap_or(0)),
                "seed {seed}, start {start:?}"
            );
            assert_eq!(with_index, markers, "seed {seed}, start {start:?}");
        }
        // The writer's indexes are right: nothing falls back.
        assert_eq!(
            warnings_about(dir.path()),
            Vec::<String>::new(),
            "seed {seed}"
        );
        assert!(used_the_txnindex(dir.path()), "seed {seed}");
    }
    assert!(with_entries >= 12, "only {with_entries} logs with aborts");
}

// ---- indexes that cannot be trusted ----

/// A log of three segments: producer 1's transaction spans segments 0 and 1
/// and is aborted in segment 1, producer 2's is committed, producer 3's
/// aborted inside segment 2, plain records between.
fn three_segment_log(dir: &Path) -> (Vec<i64>, Vec<PathBuf>) {
    let mut writer = PartitionWriter::open(dir, "txn", 0, WriterOptions::default()).unwrap();
    let batch = |tag: &str| {
        let mut specs: Vec<RecordSpec> = (0..3)
            .map(|i| {
                RecordSpec::new(
                    1_700_000_000_000,
                    None,
                    Some(format!("{tag}{i}").as_bytes()),
                )
            })
            .collect();
        fill_offset_deltas(&mut specs);
        specs
    };
    writer.append_transactional(1, 0, &batch("a")).unwrap(); // 0-2 aborted
    writer.append(&batch("p")).unwrap(); // 3-5
    writer.append_transactional(2, 0, &batch("b")).unwrap(); // 6-8 committed
    writer.roll().unwrap();
    writer.append_transactional(1, 0, &batch("a")).unwrap(); // 9-11 aborted
    writer.commit(2).unwrap(); // 12
    writer.abort(1).unwrap(); // 13, entry (1, 0, 13) in segment 9
    writer.roll().unwrap();
    writer.append_transactional(3, 0, &batch("c")).unwrap(); // 14-16 aborted
    writer.append(&batch("p")).unwrap(); // 17-19
    writer.abort(3).unwrap(); // 20, entry (3, 14, 20) in segment 14
    writer.append(&batch("p")).unwrap(); // 21-23
    writer.close().unwrap();
    let want = (3..=8).chain(17..=19).chain(21..=23).collect();
    let part = dir.join("txn-0");
    let txnindexes = vec![
        part.join("00000000000000000009.txnindex"),
        part.join("00000000000000000014.txnindex"),
    ];
    (want, txnindexes)
}

#[test]
fn the_three_segment_log_reads_through_its_txnindex() {
    capture_warnings();
    let dir = tempfile::tempdir().unwrap();
    let (want, txnindexes) = three_segment_log(dir.path());
    assert_eq!(
        std::fs::read(&txnindexes[0]).unwrap(),
        aborted_txn(1, 0, 13, 14)
    );
    assert_eq!(
        std::fs::read(&txnindexes[1]).unwrap(),
        aborted_txn(3, 14, 20, 21)
    );
    for start in [None, Some(1), Some(9), Some(13), Some(15)] {
        let (records, positions) = read_committed(dir.path(), AbortedTxnSource::TxnIndex, start);
        let from = start.unwrap_or(0);
        let want: Vec<i64> = want.iter().copied().filter(|o| *o >= from).collect();
        assert_eq!(offsets(&records), want, "start {start:?}");
        assert_eq!(positions[0].1, 24);
    }
    assert_eq!(warnings_about(dir.path()), Vec::<String>::new());
    assert!(used_the_txnindex(dir.path()));
}

/// Each way of spoiling the index: the records stay right, and a warning
/// says why the markers were used.
#[test]
fn an_untrustworthy_txnindex_falls_back_to_the_markers_with_a_warning() {
    capture_warnings();
    type Spoil = fn(&[PathBuf]);
    let cases: Vec<(&str, Spoil, &str)> = vec![
        (
            "truncated entry",
            |f| {
                let bytes = std::fs::read(&f[0]).unwrap();
                std::fs::write(&f[0], &bytes[..20]).unwrap();
            },
            "not sane",
        ),
        (
            "unknown version",
            |f| {
                let mut bytes = std::fs::read(&f[0]).unwrap();
                bytes[1] = 7;
                std::fs::write(&f[0], bytes).unwrap();
            },
            "not sane",
        ),
        (
            "entries out of order",
            |f| {
                let mut bytes = aborted_txn(1, 0, 13, 14);
                bytes.extend(aborted_txn(9, 10, 10, 11));
                std::fs::write(&f[0], bytes).unwrap();
            },
            "txnindex",
        ),
        (
            "marker offset past the segment's end",
            |f| {
                let mut bytes = aborted_txn(1, 0, 13, 14);
                bytes.extend(aborted_txn(9, 15, 15, 16));
                std::fs::write(&f[0], bytes).unwrap();
            },
            "past the segment's end",
        ),
        (
            "first offset after the last",
            |f| std::fs::write(&f[0], aborted_txn(1, 20, 13, 14)).unwrap(),
            "first offset 20",
        ),
        (
            "a deleted txnindex (copied without index files)",
            |f| std::fs::remove_file(&f[0]).unwrap(),
            "abort marker of producer 1 at offset 13 has no .txnindex entry",
        ),
        (
            "an entry for the committed transaction",
            |f| {
                let mut bytes = std::fs::read(&f[0]).unwrap();
                bytes.splice(0..0, aborted_txn(2, 6, 12, 13));
                std::fs::write(&f[0], bytes).unwrap();
            },
            "commit marker of producer 2 at offset 12 has a .txnindex entry",
        ),
        (
            "an entry of the wrong producer",
            |f| std::fs::write(&f[1], aborted_txn(4, 14, 20, 21)).unwrap(),
            "producer 3's, its .txnindex entry producer 4's",
        ),
        (
            "an entry that begins too late",
            |f| std::fs::write(&f[0], aborted_txn(1, 9, 13, 14)).unwrap(),
            "begins at 9",
        ),
        (
            "an entry at an offset with no marker",
            |f| {
                let mut bytes = aborted_txn(1, 0, 11, 14);
                bytes.extend(aborted_txn(1, 12, 13, 14));
                std::fs::write(&f[0], bytes).unwrap();
            },
            "aborting at offset 11 matches no abort marker",
        ),
    ];
    for (what, spoil, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (want, txnindexes) = three_segment_log(dir.path());
        spoil(&txnindexes);
        let (records, positions) = read_committed(dir.path(), AbortedTxnSource::TxnIndex, None);
        assert_eq!(offsets(&records), want, "{what}");
        assert_eq!(positions[0].1, 24, "{what}");
        let warnings = warnings_about(dir.path());
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("falls back") && w.contains(reason)),
            "{what}: {warnings:?}"
        );
        let markers = read_committed(dir.path(), AbortedTxnSource::Markers, None);
        assert_eq!(offsets(&markers.0), want, "{what}");
    }
}

/// An entry past the end of the last segment decides nothing (no marker
/// was passed at or after it) and the records stay right, though it claims
/// the committed transaction of producer 2 (6-8, committed at 12).
#[test]
fn an_entry_past_the_log_end_decides_nothing() {
    capture_warnings();
    let dir = tempfile::tempdir().unwrap();
    let (want, txnindexes) = three_segment_log(dir.path());
    let mut bytes = std::fs::read(&txnindexes[1]).unwrap();
    bytes.extend(aborted_txn(2, 6, 90, 91));
    std::fs::write(&txnindexes[1], bytes).unwrap();
    let (records, _) = read_committed(dir.path(), AbortedTxnSource::TxnIndex, None);
    assert_eq!(offsets(&records), want);
}

// ---- following a live log ----

/// Polls until `want` records arrived (or a deadline): their values.
fn collect_values(consumer: &mut Consumer, want: usize) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while got.len() < want && std::time::Instant::now() < deadline {
        let records = consumer.poll(Duration::from_millis(50)).unwrap();
        for r in &records {
            got.push(String::from_utf8(r.unwrap().value().unwrap().to_vec()).unwrap());
        }
    }
    got
}

/// Following: an open transaction holds back what follows it; its abort
/// (and the `.txnindex` entry written with it) releases the plain records
/// after it, and a later committed transaction arrives, through either
/// source.
#[test]
fn following_waits_at_an_open_transaction_then_goes_on() {
    capture_warnings();
    for source in [AbortedTxnSource::TxnIndex, AbortedTxnSource::Markers] {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(dir.path(), "live", 0, WriterOptions::default()).unwrap();
        let batch = |tag: &str| {
            let mut specs: Vec<RecordSpec> = (0..2)
                .map(|i| {
                    RecordSpec::new(
                        1_700_000_000_000,
                        None,
                        Some(format!("{tag}{i}").as_bytes()),
                    )
                })
                .collect();
            fill_offset_deltas(&mut specs);
            specs
        };
        writer.append(&batch("before")).unwrap();
        writer
            .append_transactional(1, 0, &batch("aborted"))
            .unwrap();
        writer.append(&batch("held")).unwrap();
        writer.flush().unwrap();

        let mut config = ConsumerConfig::new([dir.path()]);
        config.auto_offset_reset = AutoOffsetReset::Earliest;
        config.isolation_level = IsolationLevel::ReadCommitted;
        config.aborted_txn_source = source;
        config.follow = true;
        let mut consumer = Consumer::new(config).unwrap();
        consumer.subscribe(&["live"]).unwrap();
        assert_eq!(collect_values(&mut consumer, 2), ["before0", "before1"]);
        // Held at the open transaction.
        assert_eq!(collect_values(&mut consumer, 0), Vec::<String>::new());
        let extra = {
            let deadline = std::time::Instant::now() + Duration::from_millis(300);
            let mut n = 0;
            while std::time::Instant::now() < deadline {
                n += consumer.poll(Duration::from_millis(50)).unwrap().count();
            }
            n
        };
        assert_eq!(extra, 0, "{source:?}: records past the open transaction");

        writer.abort(1).unwrap();
        writer
            .append_transactional(2, 0, &batch("committed"))
            .unwrap();
        writer.append(&batch("plain")).unwrap();
        writer.commit(2).unwrap();
        writer.flush().unwrap();
        assert_eq!(
            collect_values(&mut consumer, 6),
            [
                "held0",
                "held1",
                "committed0",
                "committed1",
                "plain0",
                "plain1"
            ],
            "{source:?}"
        );
        writer.close().unwrap();
    }
}
