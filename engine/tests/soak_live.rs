//! A live log under several consumer groups: a writer thread appends
//! batches to every partition, rolls segments and deletes the oldest ones
//! as Kafka's retention does (the `.log`, `.index`, `.timeindex` files, then
//! `log-start-offset-checkpoint`), while groups of member threads follow the
//! log, commit after every poll, and leave and rejoin now and then.
//!
//! Checked: nothing panics (a mapped segment deleted, an index rewritten
//! under a reader); every value is the one written at its offset; within
//! one ownership of a partition a member reads offsets in order without a
//! gap, except records deleted before they were read (below the log start
//! offset when the gap is seen); a member's first offset after it is
//! assigned a partition is the group's committed offset (or, when that was
//! deleted, the log start); committed offsets never go backwards; and in
//! the end every group delivered every record still in the log (so
//! duplicates come only from hand-overs after a member change; counted).
//!
//! A segment deleted by retention between the fetcher's listing of the
//! partition and its open of the file is listed again and read on from the
//! new log start; a join that meets such a race (listing the partitions it
//! is assigned) fails and is tried again, counted.
//!
//! Runs for `KREPLAY_SOAK_SECONDS` (20 by default) of writing, then lets
//! the groups catch up. For a long soak:
//!
//! ```sh
//! KREPLAY_SOAK_SECONDS=600 cargo test --release -p kreplay --test soak_live -- --nocapture
//! ```
//!
//! The members map segments (the default) unless
//! `KREPLAY_SOAK_READ_STRATEGY=read`. The writer rewrites the active
//! segment's `.index` in place (truncating it) on every flush, as a broker
//! trims an index at a roll: a reader mapping it meets pages that are gone,
//! which the engine's SIGBUS guard turns into zeros (see ARCHITECTURE.md,
//! "Choices worth knowing").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    list_segments, AutoOffsetReset, Consumer, ConsumerConfig, ConsumerRebalanceListener,
    OffsetStore, ReadStrategy, TopicPartition,
};

const TOPIC: &str = "soak";
const PARTITIONS: i32 = 3;
const GROUPS: usize = 3;
const MEMBERS: usize = 2;
/// Segments a partition keeps; older ones are deleted.
const RETAINED_SEGMENTS: usize = 3;

fn read_strategy() -> ReadStrategy {
    match std::env::var("KREPLAY_SOAK_READ_STRATEGY").as_deref() {
        Ok("read") => ReadStrategy::Read,
        _ => ReadStrategy::Mmap,
    }
}

fn soak_seconds() -> u64 {
    std::env::var("KREPLAY_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// What the writer tells the readers: each partition's log start offset
/// (raised before a segment is deleted) and end offset (after an append).
struct Log {
    dir: PathBuf,
    log_start: Vec<AtomicI64>,
    log_end: Vec<AtomicI64>,
    writing: AtomicBool,
    deleted_segments: AtomicUsize,
    /// Joins failed by [`retention_race`] (and tried again).
    retention_races: AtomicUsize,
}

impl Log {
    fn log_start(&self, partition: i32) -> i64 {
        self.log_start[partition as usize].load(Ordering::SeqCst)
    }
}

fn value(partition: i32, offset: i64) -> String {
    format!(
        "{partition}:{offset}:{}",
        "x".repeat((offset % 23) as usize)
    )
}

/// Appends batches round the partitions until `seconds` pass; rolls (by
/// segment size and now and then by hand) and deletes the oldest segments.
fn write(log: &Log, seconds: u64) -> u64 {
    let options = WriterOptions::default()
        .with_segment_bytes(24 << 10)
        .with_index_interval_bytes(512);
    let mut writers: Vec<PartitionWriter> = (0..PARTITIONS)
        .map(|p| PartitionWriter::open(&log.dir, TOPIC, p, options.clone()).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut appends = 0u64;
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    while Instant::now() < deadline {
        for (p, writer) in writers.iter_mut().enumerate() {
            let partition = p as i32;
            let base = writer.next_offset();
            let count = 1 + next(20) as i64;
            let mut records: Vec<RecordSpec> = (base..base + count)
                .map(|o| RecordSpec::new(o, None, Some(value(partition, o).as_bytes())))
                .collect();
            fill_offset_deltas(&mut records);
            writer.append(&records).unwrap();
            if next(50) == 0 {
                writer.roll().unwrap();
            }
            // Indexes are rewritten on every flush, under the readers.
            writer.flush().unwrap();
            log.log_end[p].store(writer.next_offset(), Ordering::SeqCst);
            appends += 1;
            retention(log, writer.dir(), partition);
        }
        thread::sleep(Duration::from_millis(2));
    }
    for writer in writers {
        writer.close().unwrap();
    }
    log.writing.store(false, Ordering::SeqCst);
    appends
}

/// Deletes the oldest segments beyond [`RETAINED_SEGMENTS`]: the log start
/// offset is raised first, then the files go, then the checkpoint is
/// written (as Kafka's `deleteOldSegments`).
fn retention(log: &Log, dir: &Path, partition: i32) {
    let segments = list_segments(dir).unwrap();
    if segments.len() <= RETAINED_SEGMENTS {
        return;
    }
    let excess = segments.len() - RETAINED_SEGMENTS;
    let new_start = segments[excess].base_offset;
    log.log_start[partition as usize].store(new_start, Ordering::SeqCst);
    for segment in &segments[..excess] {
        for suffix in ["log", "index", "timeindex", "txnindex"] {
            let _ = std::fs::remove_file(segment.path.with_extension(suffix));
        }
        log.deleted_segments.fetch_add(1, Ordering::SeqCst);
    }
    let entries: Vec<(&str, i32, i64)> = (0..PARTITIONS)
        .map(|p| (TOPIC, p, log.log_start(p)))
        .collect();
    kreplay::writer::write_log_start_offset_checkpoint(&log.dir, &entries).unwrap();
}

/// A segment file retention deleted while a joining member listed its
/// partitions: the join fails with `NotFound` and is tried again.
fn retention_race(error: &kreplay::Error) -> bool {
    matches!(error, kreplay::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// One member's view: the next offset it expects per owned partition.
#[derive(Default)]
struct Tracker {
    next: BTreeMap<i32, i64>,
    /// Offsets delivered, per partition.
    delivered: BTreeMap<i32, Vec<i64>>,
    assignments: usize,
}

struct Listener {
    tracker: Arc<Mutex<Tracker>>,
    log: Arc<Log>,
}

impl ConsumerRebalanceListener for Listener {
    fn on_partitions_revoked(&mut self, _consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let mut tracker = self.tracker.lock().unwrap();
        for tp in partitions {
            tracker.next.remove(&tp.partition);
        }
    }

    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        // Owned now: nobody else can commit them, so the group's committed
        // offset is where this member must start (unless it was deleted).
        let committed = consumer.committed(partitions).unwrap();
        let mut tracker = self.tracker.lock().unwrap();
        tracker.assignments += 1;
        for tp in partitions {
            let position = consumer.position(tp).unwrap();
            let log_start = self.log.log_start(tp.partition);
            match committed.get(tp) {
                Some(c) if c.offset == position => {}
                other => assert!(
                    other.is_none_or(|c| c.offset < position) && position <= log_start.max(0),
                    "{tp}: assigned at {position}, committed {other:?}, log start {log_start}"
                ),
            }
            tracker.next.insert(tp.partition, position);
        }
    }
}

/// A member thread: follows the log, checks and commits every poll, and
/// (when `churn`) leaves and rejoins the group now and then.
fn member(
    log: Arc<Log>,
    state: PathBuf,
    group: String,
    churn: bool,
    done: Arc<AtomicBool>,
) -> Arc<Mutex<Tracker>> {
    let tracker = Arc::new(Mutex::new(Tracker::default()));
    let mut rejoins = 0u64;
    while !done.load(Ordering::SeqCst) {
        let mut config = ConsumerConfig::new([&log.dir]);
        config.group_id = Some(group.clone());
        config.state_dir = Some(state.clone());
        config.follow = true;
        config.read_strategy = read_strategy();
        config.auto_offset_reset = AutoOffsetReset::Earliest;
        config.max_poll_records = 64;
        config.heartbeat_interval = Duration::from_millis(50);
        // Long enough that a busy machine never evicts a member.
        config.session_timeout = Duration::from_secs(30);
        config.partition_assignment_strategy = if group.ends_with('1') {
            kreplay::Assignor::CooperativeSticky
        } else {
            kreplay::Assignor::Range
        };
        let listener = Listener {
            tracker: Arc::clone(&tracker),
            log: Arc::clone(&log),
        };
        let mut consumer = match Consumer::new(config).and_then(|mut consumer| {
            consumer.subscribe_with_listener(&[TOPIC], Box::new(listener))?;
            Ok(consumer)
        }) {
            Ok(consumer) => consumer,
            Err(error) if retention_race(&error) => {
                log.retention_races.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            Err(error) => panic!("{group}: join: {error}"),
        };
        let stay = Duration::from_millis(if churn {
            2_000 + (rejoins * 700) % 2_000
        } else {
            u64::MAX / 4
        });
        let joined = Instant::now();
        while !done.load(Ordering::SeqCst) && joined.elapsed() < stay {
            let records = match consumer.poll(Duration::from_millis(50)) {
                Ok(records) => records,
                Err(error) => panic!("{group}: poll: {error}"),
            };
            if records.is_empty() {
                continue;
            }
            let mut tracker = tracker.lock().unwrap();
            for record in &records {
                let record = record.unwrap();
                let p = record.topic_partition.partition;
                let offset = record.offset();
                assert_eq!(
                    record.value(),
                    Some(value(p, offset).as_bytes()),
                    "{group}: value at {p}:{offset}"
                );
                let expected = *tracker
                    .next
                    .get(&p)
                    .unwrap_or_else(|| panic!("{group}: a record of {p}, not assigned"));
                assert!(
                    offset >= expected,
                    "{group}: {p}:{offset} after {p}:{} (a record again within one ownership)",
                    expected - 1
                );
                if offset > expected {
                    // A gap: only records retention deleted before they were read.
                    let log_start = log.log_start(p);
                    assert!(
                        offset <= log_start,
                        "{group}: {p}: offsets {expected}..{offset} skipped, log start {log_start}"
                    );
                }
                tracker.next.insert(p, offset + 1);
                tracker.delivered.entry(p).or_default().push(offset);
            }
            drop(tracker);
            consumer.commit_sync().unwrap();
        }
        consumer.close().unwrap();
        rejoins += 1;
    }
    tracker
}

#[test]
fn groups_follow_a_live_log_with_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log {
        dir: tmp.path().join("logs"),
        log_start: (0..PARTITIONS).map(|_| AtomicI64::new(0)).collect(),
        log_end: (0..PARTITIONS).map(|_| AtomicI64::new(0)).collect(),
        writing: AtomicBool::new(true),
        deleted_segments: AtomicUsize::new(0),
        retention_races: AtomicUsize::new(0),
    });
    std::fs::create_dir_all(&log.dir).unwrap();
    let state = tmp.path().join("state");
    let seconds = soak_seconds();
    let started = Instant::now();
    let writer = {
        let log = Arc::clone(&log);
        thread::spawn(move || write(&log, seconds))
    };
    // The partitions exist (and hold records) before the members subscribe.
    while log.log_end.iter().any(|e| e.load(Ordering::SeqCst) == 0) {
        thread::sleep(Duration::from_millis(5));
    }
    let done = Arc::new(AtomicBool::new(false));
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("group-{g}")).collect();
    let mut members = Vec::new();
    for group in &groups {
        for m in 0..MEMBERS {
            let (log, state, group, done) = (
                Arc::clone(&log),
                state.clone(),
                group.clone(),
                Arc::clone(&done),
            );
            members.push(thread::spawn(move || {
                member(log, state, group, m == 1, done)
            }));
        }
    }

    // Committed offsets never go backwards.
    let store = OffsetStore::open(&state, std::slice::from_ref(&log.dir)).unwrap();
    let mut committed: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let sample = |committed: &mut BTreeMap<(String, i32), i64>| -> bool {
        let mut caught_up = true;
        for group in &groups {
            let now = store.committed_all(group).unwrap();
            for p in 0..PARTITIONS {
                let offset = now
                    .get(&TopicPartition::new(TOPIC, p))
                    .map_or(-1, |o| o.offset);
                let before = committed.insert((group.clone(), p), offset).unwrap_or(-1);
                assert!(
                    offset >= before,
                    "{group} {p}: commit went {before} -> {offset}"
                );
                caught_up &= offset == log.log_end[p as usize].load(Ordering::SeqCst);
            }
        }
        caught_up
    };
    while log.writing.load(Ordering::SeqCst) {
        sample(&mut committed);
        thread::sleep(Duration::from_millis(100));
    }
    let appends = writer.join().unwrap();
    // The groups catch up with the end of the log.
    let deadline = Instant::now() + Duration::from_secs(60 + seconds);
    while !sample(&mut committed) {
        assert!(
            Instant::now() < deadline,
            "the groups never caught up: {committed:?}"
        );
        assert!(
            members.iter().all(|m| !m.is_finished()),
            "a member thread ended early"
        );
        thread::sleep(Duration::from_millis(100));
    }
    done.store(true, Ordering::SeqCst);
    let trackers: Vec<Arc<Mutex<Tracker>>> = members
        .into_iter()
        .map(|m| m.join().expect("a member panicked"))
        .collect();

    let mut duplicates = 0usize;
    let mut assignments = 0usize;
    let mut total = 0usize;
    for (g, group) in groups.iter().enumerate() {
        let mut seen: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for tracker in &trackers[g * MEMBERS..(g + 1) * MEMBERS] {
            let tracker = tracker.lock().unwrap();
            assignments += tracker.assignments;
            for (p, offsets) in &tracker.delivered {
                seen.entry(*p).or_default().extend(offsets);
            }
        }
        for p in 0..PARTITIONS {
            let offsets = seen.remove(&p).unwrap_or_default();
            total += offsets.len();
            let unique: BTreeSet<i64> = offsets.iter().copied().collect();
            duplicates += offsets.len() - unique.len();
            let (start, end) = (
                log.log_start(p),
                log.log_end[p as usize].load(Ordering::SeqCst),
            );
            let missing: Vec<i64> = (start..end).filter(|o| !unique.contains(o)).collect();
            assert!(
                missing.is_empty(),
                "{group} {p}: {} records in the log never delivered (first {:?})",
                missing.len(),
                missing.first()
            );
        }
    }
    let ends: Vec<i64> = log
        .log_end
        .iter()
        .map(|e| e.load(Ordering::SeqCst))
        .collect();
    eprintln!(
        "soak ({:?}): {seconds} s of writing ({:.1} s in all): {appends} batches, end offsets {ends:?}, \
         {} segments deleted; {GROUPS} groups x {MEMBERS} members: {total} deliveries, \
         {assignments} assignments, {duplicates} duplicates, {} joins retried after a retention race",
        read_strategy(),
        started.elapsed().as_secs_f64(),
        log.deleted_segments.load(Ordering::SeqCst),
        log.retention_races.load(Ordering::SeqCst)
    );
}
