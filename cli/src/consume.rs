//! `kreplay consume`: the engine's [`Consumer`] with kcat's habits.
//!
//! One loop: poll, format every record of the poll into one reused buffer
//! ([`RecordWriter`]), hand it to the [`Sink`] (stdout: one `write_all` and a
//! flush; `--exec`: a command that must exit 0), then — with a group —
//! commit. A commit therefore never covers a record that was not written: a
//! closed pipe fails the write, the command ends quietly (status 0), and the
//! group's committed offsets are those of the last poll written; an `--exec`
//! command that fails every retry ends the command with status 1, its batch
//! uncommitted.
//!
//! With a group, the starting positions are committed before the first poll,
//! and every poll written whole commits every partition's position. A poll
//! cut short (by `-c`, or by a corrupt record) commits only the partitions it
//! wrote records of, each just after its last record written; the others
//! keep their previous commit, which is where that poll started for them.
//!
//! With a group and no `-p`, the consumer subscribes: it is a member of the
//! group, reading the partitions the group assigns to it, and `--members N`
//! runs N members as threads. `-o` positions a partition the first time this
//! member gets it. Nothing is committed on revocation: every poll delivered
//! was committed right after, so the next owner starts exactly after it.
//!
//! `--commit-interval` trades that per-poll commit (two `fsync`s) for one
//! every interval: a poll written whole then leaves its commit pending, and
//! every way out commits exactly what was written — a revocation commits the
//! revoked partitions' positions (every poll before it was written), and an
//! exit commits the positions as they were before the poll that was not
//! written whole (with the partitions it did write, just after their last
//! record written). Only a crash replays up to an interval's records again.

mod args;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use kreplay::{
    Consumer, ConsumerRebalanceListener, ConsumerRecords, OffsetAndMetadata, TopicPartition,
};

use self::args::{AtEnd, Verbosity};
pub use self::args::{ConsumeArgs, ConsumeConfig, CONSUME_HELP};

use crate::output::format_timestamp;
use crate::record_format::{write_text, RecordWriter};
use crate::shared_args::StartOffset;
use crate::sink::{Batch, Delivery, OffsetRange, Sink};
use crate::status::{self, Diagnostics, Status};

/// How long one poll waits for records when none are ready (following a
/// live log, or while the fetcher catches up).
const POLL_TIMEOUT: Duration = Duration::from_millis(500);

/// Runs `kreplay consume`: one consumer, or `--members` members of the
/// group as threads (the worst status of them).
pub fn run(config: &ConsumeConfig) -> anyhow::Result<Status> {
    status::init_logging(config.verbosity == Verbosity::Verbose);
    if config.members <= 1 {
        return run_member(config);
    }
    // Each member thread its own config: a static member's instance id gets
    // the member's number (`box` → `box-0`, `box-1`, ...), as each Kafka
    // consumer needs its own.
    let configs: Vec<ConsumeConfig> = (0..config.members)
        .map(|i| {
            let mut member = config.clone();
            if let Some(id) = &config.consumer.group_instance_id {
                member.consumer.group_instance_id = Some(format!("{id}-{i}"));
            }
            member
        })
        .collect();
    std::thread::scope(|scope| {
        let members: Vec<_> = configs
            .iter()
            .map(|member| scope.spawn(move || run_member(member)))
            .collect();
        let mut status = Status::Ok;
        for member in members {
            match member.join() {
                Ok(Ok(s)) => status = status.worst(s),
                Ok(Err(e)) => return Err(e),
                Err(_) => anyhow::bail!("a member thread panicked"),
            }
        }
        Ok(status)
    })
}

/// One consumer: built, positioned, polled until done. Dropping it at the
/// end leaves the group (without committing anything more).
fn run_member(config: &ConsumeConfig) -> anyhow::Result<Status> {
    let diagnostics = Diagnostics::new(false);
    let mut consumer = match start(config) {
        Ok(consumer) => consumer,
        Err(error) => {
            let status = error
                .downcast_ref::<kreplay::Error>()
                .map_or(Status::Failure, Status::of_error);
            diagnostics.error(status::chain(&error));
            return Ok(status);
        }
    };
    if config.verbosity == Verbosity::Verbose {
        match consumer.member_id() {
            Some(member) => diagnostics.note(format_args!(
                "joined group '{}' as member {member}, prefetch {}, state dir {}",
                config.consumer.group_id.as_deref().unwrap_or_default(),
                consumer.io_mode(),
                config
                    .consumer
                    .state_dir
                    .as_deref()
                    .map_or_else(|| "-".into(), |d| d.display().to_string())
            )),
            None => diagnostics.note(format_args!(
                "consuming {} partition(s), prefetch {}",
                consumer.assignment().len(),
                consumer.io_mode()
            )),
        }
    }
    let mut session = Session {
        grouped: config.consumer.group_id.is_some(),
        records_left: config.max_records,
        written: 0,
        idle_committed: false,
        damaged: false,
        diagnostics,
        commit_interval: config.commit_interval,
        last_commit: Instant::now(),
        pending: false,
        commits: 0,
    };
    let mut status = session.run(&mut consumer, config)?;
    for damage in consumer.take_damage() {
        session.diagnostics.error(&damage);
        session.damaged = true;
    }
    if session.damaged {
        // Every valid record was delivered; the gaps were reported.
        status = status.worst(Status::DataError);
    }
    if config.verbosity == Verbosity::Verbose {
        if session.grouped {
            session.diagnostics.note(format_args!(
                "{} record(s) written, {} commit(s)",
                session.written, session.commits
            ));
        } else {
            session
                .diagnostics
                .note(format_args!("{} record(s) written", session.written));
        }
    }
    Ok(status)
}

/// Builds the consumer: a group member subscribed to the topics (with a
/// group and no `-p`), else assigned the partitions and positioned per `-o`;
/// with a group, commits those starting positions.
fn start(config: &ConsumeConfig) -> anyhow::Result<Consumer> {
    let mut consumer = Consumer::new(config.consumer.clone())?;
    let partitions = select_partitions(
        &consumer,
        &config.topics,
        config.partition,
        &config.consumer.log_dirs,
    )?;
    if config.consumer.group_id.is_some() && config.partition.is_none() {
        let listener = Listener {
            start: config.start,
            commit_on_revoke: !config.commit_interval.is_zero(),
            positioned: BTreeSet::new(),
            verbose: config.verbosity == Verbosity::Verbose,
            diagnostics: Diagnostics::new(false),
        };
        consumer.subscribe_with_listener(&config.topics, Box::new(listener))?;
        return Ok(consumer);
    }
    consumer.assign(&partitions)?;
    position(&mut consumer, &partitions, config.start)?;
    if config.consumer.group_id.is_some() {
        consumer
            .commit_sync()
            .context("committing the starting offsets")?;
    }
    Ok(consumer)
}

/// Tells of rebalances (with `-v`); the first time this member gets a
/// partition, positions it per `-o` and commits that starting position (as
/// consume does without membership), so `group describe` shows its lag.
struct Listener {
    start: StartOffset,
    /// Commits are not made after every poll (`--commit-interval`): the
    /// revoked partitions' positions are committed before they go.
    commit_on_revoke: bool,
    /// Partitions `-o` was applied to.
    positioned: BTreeSet<TopicPartition>,
    verbose: bool,
    diagnostics: Diagnostics,
}

impl Listener {
    fn event(&self, consumer: &Consumer, what: &str, partitions: &[TopicPartition]) {
        if !self.verbose {
            return;
        }
        let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
        // RFC 3339 in UTC, to the microsecond: members' notes order across processes.
        let at = humantime::format_rfc3339_micros(SystemTime::now());
        self.diagnostics.note(format_args!(
            "group member {} generation {}: {what} {} (at {at})",
            consumer.member_id().unwrap_or("-"),
            consumer.generation().unwrap_or(0),
            names.join(",")
        ));
    }
}

impl ConsumerRebalanceListener for Listener {
    fn on_partitions_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.event(consumer, "revoked", partitions);
        if !self.commit_on_revoke {
            return;
        }
        // Revocation comes inside a poll: every record polled before it was
        // written, so the positions are exactly what was delivered.
        let offsets = positions(consumer, partitions);
        if let Err(error) = consumer.commit_offsets(&offsets) {
            // Fenced or failed: the next owner starts at the last commit
            // and delivers those records again (at least once).
            self.diagnostics.warning(format_args!(
                "committing revoked partitions {partitions:?}: {error}"
            ));
        }
    }

    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.event(consumer, "assigned", partitions);
        let fresh: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !self.positioned.contains(*tp))
            .cloned()
            .collect();
        if fresh.is_empty() {
            return;
        }
        self.positioned.extend(fresh.iter().cloned());
        let positioned = position(consumer, &fresh, self.start).and_then(|()| {
            let offsets = positions(consumer, &fresh);
            Ok(consumer.commit_offsets(&offsets)?)
        });
        if let Err(error) = positioned {
            self.diagnostics.error(format_args!(
                "positioning {fresh:?} per -o: {}",
                status::chain(&error)
            ));
        }
    }

    fn on_partitions_lost(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.event(consumer, "lost", partitions);
    }
}

/// The positions of `partitions` (those positioned) as offsets to commit.
fn positions(
    consumer: &Consumer,
    partitions: &[TopicPartition],
) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
    partitions
        .iter()
        .filter_map(|tp| {
            let offset = consumer.position(tp).ok()?;
            Some((tp.clone(), OffsetAndMetadata::new(offset)))
        })
        .collect()
}

/// Positions `partitions` per `-o`.
pub(crate) fn position(
    consumer: &mut Consumer,
    partitions: &[TopicPartition],
    start: StartOffset,
) -> anyhow::Result<()> {
    match start {
        StartOffset::Stored => {}
        StartOffset::Beginning => consumer.seek_to_beginning(partitions)?,
        StartOffset::End => consumer.seek_to_end(partitions)?,
        StartOffset::Offset(offset) => {
            for tp in partitions {
                consumer.seek(tp, offset)?;
            }
        }
        StartOffset::FromEnd(n) => {
            let starts = consumer.beginning_offsets(partitions)?;
            for (tp, end) in consumer.end_offsets(partitions)? {
                let start = starts.get(&tp).copied().unwrap_or(0);
                consumer.seek(&tp, end.saturating_sub(n).max(start))?;
            }
        }
        StartOffset::Timestamp(timestamp) => {
            let query = partitions
                .iter()
                .map(|tp| (tp.clone(), timestamp))
                .collect();
            let found = consumer.offsets_for_times(&query)?;
            let ends = consumer.end_offsets(partitions)?;
            for tp in partitions {
                // No record at or after the timestamp: the log end (as kcat).
                let offset = match found.get(tp) {
                    Some(Some(found)) => found.offset,
                    _ => {
                        let last = match last_timestamp(&consumer.config().log_dirs, tp) {
                            Some(last) => {
                                format!("its last timestamp is {last} ({})", format_timestamp(last))
                            }
                            None => "it has no timestamped record".to_string(),
                        };
                        Diagnostics::new(false).note(format_args!(
                            "{tp}: no record at or after timestamp {timestamp} ({}); {last}: starting at its end",
                            format_timestamp(timestamp)
                        ));
                        ends.get(tp).copied().unwrap_or(0)
                    }
                };
                consumer.seek(tp, offset)?;
            }
        }
    }
    Ok(())
}

/// The largest batch timestamp of a partition (batch headers only), for the
/// note of `-o s@TS` past the end; `None` when it has none or is unreadable
/// (the note is a hint, the read itself reports any damage).
fn last_timestamp(log_dirs: &[std::path::PathBuf], tp: &TopicPartition) -> Option<i64> {
    let dir = log_dirs
        .iter()
        .filter_map(|d| kreplay::list_partitions(d).ok())
        .flatten()
        .find(|d| &d.topic_partition == tp)?;
    let partition = kreplay::Partition::open(&dir, kreplay::ReadOptions::default()).ok()?;
    let mut last = None;
    for n in 0..partition.segments().len() {
        let Ok(segment) = partition.open_segment(n) else {
            continue;
        };
        for batch in segment.batches_from(0, false).map_while(Result::ok) {
            last = last.max(batch.max_timestamp());
        }
    }
    last
}

/// The partitions of the topics (only `partition` of each, when given), in
/// the order the topics were named.
pub(crate) fn select_partitions(
    consumer: &Consumer,
    topics: &[String],
    partition: Option<i32>,
    log_dirs: &[std::path::PathBuf],
) -> anyhow::Result<Vec<TopicPartition>> {
    let dirs: Vec<String> = log_dirs.iter().map(|d| d.display().to_string()).collect();
    let dirs = dirs.join(", ");
    let mut selected = Vec::new();
    for topic in topics {
        let found = consumer.partitions_for(topic);
        if found.is_empty() {
            let topics: BTreeSet<&str> =
                consumer.partitions().map(|tp| tp.topic.as_str()).collect();
            let topics: Vec<&str> = topics.into_iter().collect();
            let have = if topics.is_empty() {
                "no topics".to_string()
            } else {
                format!("topics: {}", topics.join(", "))
            };
            anyhow::bail!("topic '{topic}' has no partitions in {dirs} (it has {have})");
        }
        match partition {
            None => selected.extend(found),
            Some(partition) => {
                if !found.iter().any(|tp| tp.partition == partition) {
                    let numbers: Vec<String> =
                        found.iter().map(|tp| tp.partition.to_string()).collect();
                    anyhow::bail!(
                        "topic '{topic}' has no partition {partition} in {dirs} (it has {})",
                        numbers.join(", ")
                    );
                }
                selected.push(TopicPartition::new(topic.clone(), partition));
            }
        }
    }
    Ok(selected)
}

/// What formatting one poll gave.
#[derive(Debug)]
pub(crate) struct Formatted {
    /// Records written into the buffer.
    pub(crate) records: u64,
    /// The poll had no records.
    empty: bool,
    /// Per partition written, the offsets of its first and last records
    /// written.
    partitions: BTreeMap<TopicPartition, OffsetRange>,
    /// Not every record of the poll was written (`-c` reached, or a record
    /// that does not decode).
    cut: bool,
    /// A record that does not decode.
    pub(crate) error: Option<kreplay::Error>,
}

/// The consume loop's state.
struct Session {
    grouped: bool,
    /// `-c`: records still to write.
    records_left: Option<u64>,
    /// Records written so far.
    written: u64,
    /// The positions were committed since the last poll with records (an
    /// empty poll at the end commits once: positions may have moved past
    /// control batches and aborted transactions).
    idle_committed: bool,
    /// Damage was stepped over and reported: the run ends with status 1.
    damaged: bool,
    diagnostics: Diagnostics,
    /// `--commit-interval` (zero: after every poll).
    commit_interval: Duration,
    /// When the positions were last committed.
    last_commit: Instant,
    /// Polls written whole since the last commit: their positions are not
    /// committed yet.
    pending: bool,
    /// Commits made (the `-v` summary).
    commits: u64,
}

impl Session {
    fn run(&mut self, consumer: &mut Consumer, config: &ConsumeConfig) -> anyhow::Result<Status> {
        let mut writer = RecordWriter::new(config.format.clone());
        let mut buffer: Vec<u8> = Vec::with_capacity(256 * 1024);
        let mut sink = Sink::new(&config.sink, config.consumer.group_id.as_deref());
        loop {
            if self.records_left == Some(0) {
                // The last poll was written whole (a cut one returned).
                return Ok(self.commit_pending(consumer, None));
            }
            buffer.clear();
            // With commits pending, where this poll starts: what an exit
            // before it is written whole commits.
            let before = self
                .pending
                .then(|| positions(consumer, &consumer.assignment()));
            let formatted = match consumer.poll(POLL_TIMEOUT) {
                Ok(records) => format_poll(&records, &mut writer, &mut buffer, self.records_left),
                Err(error) => {
                    self.diagnostics.error(&error);
                    let status = self.commit_pending(consumer, before);
                    return Ok(Status::of_error(&error).worst(status));
                }
            };
            for damage in consumer.take_damage() {
                self.diagnostics.error(&damage);
                self.damaged = true;
            }
            if formatted.records > 0 {
                let batch = Batch {
                    bytes: &buffer,
                    records: formatted.records,
                    partitions: &formatted.partitions,
                };
                // A closed pipe fails here, and a failing --exec command
                // refuses, before anything of this poll is committed.
                match sink.deliver(&batch, &self.diagnostics) {
                    Ok(Delivery::Accepted) => {}
                    Ok(Delivery::Refused(refusal)) => {
                        self.diagnostics.error(refusal);
                        self.commit_pending(consumer, before);
                        return Ok(Status::DataError);
                    }
                    Err(error) => {
                        self.commit_pending(consumer, before);
                        return Err(error.into());
                    }
                }
            }
            self.written += formatted.records;
            if let Some(left) = &mut self.records_left {
                *left = left.saturating_sub(formatted.records);
            }
            if self.grouped {
                let committed = if formatted.cut {
                    // Each partition written, just after its last record
                    // written; with commits pending, the others where this
                    // poll started.
                    let mut offsets = before.unwrap_or_default();
                    offsets.extend(
                        formatted.partitions.iter().map(|(tp, range)| {
                            (tp.clone(), OffsetAndMetadata::new(range.last + 1))
                        }),
                    );
                    self.commit(consumer, Some(&offsets))
                } else if formatted.empty {
                    let at_end = consumer.at_end();
                    let due = self.pending && self.last_commit.elapsed() >= self.commit_interval;
                    if (at_end && (self.pending || !self.idle_committed)) || due {
                        self.idle_committed = at_end;
                        self.commit(consumer, None)
                    } else {
                        Ok(())
                    }
                } else {
                    self.idle_committed = false;
                    if self.last_commit.elapsed() >= self.commit_interval {
                        self.commit(consumer, None)
                    } else {
                        self.pending = true;
                        Ok(())
                    }
                };
                match committed {
                    Ok(()) => {}
                    // Fenced: the group moved the partitions while this poll
                    // was delivered (this member was evicted). Their next
                    // owner delivers them again (at least once); this member
                    // rejoins at its next poll.
                    Err(error @ kreplay::Error::Group { .. }) => {
                        self.diagnostics.warning(format_args!("{error}"));
                    }
                    Err(error) => {
                        self.diagnostics
                            .error(format_args!("committing offsets: {error}"));
                        return Ok(Status::Failure);
                    }
                }
            }
            if let Some(error) = formatted.error {
                self.diagnostics.error(&error);
                return Ok(Status::of_error(&error));
            }
            if formatted.cut {
                return Ok(Status::Ok);
            }
            if formatted.empty && config.at_end == AtEnd::Exit && consumer.at_end() {
                // Positions may have moved past control batches or aborted
                // transactions at the end: commit them too.
                self.pending = true;
                let status = self.commit_pending(consumer, None);
                if status != Status::Ok {
                    return Ok(status);
                }
                // A member leaves only at the end of the group's current
                // generation: if another left since this one's last sync,
                // this one reads what the group gives it now (without a
                // group, `leave_at_end` is true).
                match consumer.leave_at_end() {
                    Ok(true) => return Ok(status),
                    Ok(false) => {}
                    Err(error) => {
                        self.diagnostics
                            .warning(format_args!("leaving the group: {error}"));
                        return Ok(status);
                    }
                }
            }
        }
    }

    /// Commits `offsets`, or every position when `None`; the positions are
    /// committed then (nothing pending).
    fn commit(
        &mut self,
        consumer: &mut Consumer,
        offsets: Option<&BTreeMap<TopicPartition, OffsetAndMetadata>>,
    ) -> kreplay::Result<()> {
        let committed = match offsets {
            Some(offsets) => consumer.commit_offsets(offsets),
            None => consumer.commit_sync(),
        };
        self.pending = false;
        self.last_commit = Instant::now();
        self.commits += 1;
        committed
    }

    /// On the way out: commits what is pending, `before` (the positions
    /// where the poll that was not written whole started) or, without it,
    /// every position. Status 2 when that commit fails.
    fn commit_pending(
        &mut self,
        consumer: &mut Consumer,
        before: Option<BTreeMap<TopicPartition, OffsetAndMetadata>>,
    ) -> Status {
        if !(self.grouped && self.pending) {
            return Status::Ok;
        }
        match self.commit(consumer, before.as_ref()) {
            Ok(()) => Status::Ok,
            Err(error) => {
                self.diagnostics
                    .error(format_args!("committing offsets: {error}"));
                Status::Failure
            }
        }
    }
}

/// Formats the records of one poll into `buffer`, at most `limit` of them.
pub(crate) fn format_poll(
    records: &ConsumerRecords<'_>,
    writer: &mut RecordWriter,
    buffer: &mut Vec<u8>,
    limit: Option<u64>,
) -> Formatted {
    let total = records.count() as u64;
    let limit = limit.unwrap_or(u64::MAX).min(total);
    let mut written: u64 = 0;
    // The partition of the run of records being written, and the offsets of
    // its first and last records; earlier runs in `runs` (a poll may hold
    // several partitions). Cheap: one comparison per record.
    let mut current: Option<(&TopicPartition, OffsetRange)> = None;
    let mut runs: Vec<(&TopicPartition, OffsetRange)> = Vec::new();
    let mut error = None;
    if limit == total {
        // A whole poll: internal iteration (`for_each`, the records' fast
        // path), with the text writer inlined.
        let (n, e) = match writer.text() {
            Some(bytes) => write_each(records, &mut current, &mut runs, |record| {
                write_text(buffer, bytes, &record.record)
            }),
            None => write_each(records, &mut current, &mut runs, |record| {
                writer.write(buffer, record.topic_partition, &record.record)
            }),
        };
        written = n;
        error = e;
    } else if limit > 0 {
        for item in records {
            match item {
                Ok(record) => {
                    writer.write(buffer, record.topic_partition, &record.record);
                    note_offset(
                        &mut current,
                        &mut runs,
                        record.topic_partition,
                        record.offset(),
                    );
                    written += 1;
                    if written == limit {
                        break;
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
    }
    let mut partitions: BTreeMap<TopicPartition, OffsetRange> = BTreeMap::new();
    for (tp, range) in runs.into_iter().chain(current) {
        partitions
            .entry(tp.clone())
            .and_modify(|known| known.last = range.last)
            .or_insert(range);
    }
    Formatted {
        records: written,
        empty: total == 0,
        partitions,
        cut: written < total,
        error,
    }
}

/// Notes `offset` of `tp` in the run being written, or starts a new run.
#[inline(always)]
fn note_offset<'a>(
    current: &mut Option<(&'a TopicPartition, OffsetRange)>,
    runs: &mut Vec<(&'a TopicPartition, OffsetRange)>,
    tp: &'a TopicPartition,
    offset: i64,
) {
    match current {
        Some((run_tp, range)) if std::ptr::eq(*run_tp, tp) => range.last = offset,
        _ => {
            runs.extend(current.take());
            let range = OffsetRange {
                first: offset,
                last: offset,
            };
            *current = Some((tp, range));
        }
    }
}

/// Writes every record of a poll with `write` through internal iteration
/// (the records' fast path), noting the offsets written: the records
/// written, and the error that ended the iteration, if any.
#[inline(always)]
fn write_each<'a>(
    records: &ConsumerRecords<'a>,
    current: &mut Option<(&'a TopicPartition, OffsetRange)>,
    runs: &mut Vec<(&'a TopicPartition, OffsetRange)>,
    mut write: impl FnMut(&kreplay::ConsumerRecord<'a>),
) -> (u64, Option<kreplay::Error>) {
    let (mut written, mut error) = (0, None);
    records.iter().for_each(|item| match item {
        Ok(record) => {
            write(&record);
            note_offset(current, runs, record.topic_partition, record.offset());
            written += 1;
        }
        Err(e) => error = error.take().or(Some(e)),
    });
    (written, error)
}
