//! Kafka's consumer model over partition logs on disk.
//!
//! A [`Consumer`] is built from log dirs and a [`ConsumerConfig`] (Kafka's
//! config names where they exist). It is given partitions with
//! [`Consumer::assign`] or topics with [`Consumer::subscribe`], then
//! [`Consumer::poll`] returns [`ConsumerRecords`]: at most
//! `max_poll_records` records, in offset order within each partition, as
//! views that borrow the consumer until the next `poll`. A fetcher thread
//! works ahead (see `fetcher`), so CRC checks and inflation overlap with the
//! caller's processing. Positions advance past what `poll` returned;
//! [`Consumer::commit_sync`] stores them for the group (at-least-once, as in
//! Kafka).
//!
//! With a `group_id`, [`Consumer::subscribe`] makes the consumer a member of
//! the group (see `group::membership`): `poll` takes part in rebalances,
//! tells a [`ConsumerRebalanceListener`] what is revoked, lost and
//! assigned, and reads only partitions it owns.

mod auto_commit;
mod config;
mod damage;
mod fetcher;
mod position;
mod records;
mod subscription;
mod txn;

pub use config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
pub use damage::{Damage, OnDamage};
use records::advance;
pub use records::{
    ConsumerBatch, ConsumerBatches, ConsumerRecord, ConsumerRecordIter, ConsumerRecords,
};
pub use txn::AbortedTxnSource;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::group::membership::{Membership, MembershipConfig};
use crate::log_dir::{list_partitions, PartitionDir, TopicPartition};
use crate::offsets::{OffsetAndMetadata, OffsetStore};
use crate::partition::Partition;
use crate::prefetch::IoMode;
use crate::record::ResumePoint;

use fetcher::{is_not_found, Command, CompletedFetch, FetchEnd, FetcherConfig, FetcherHandle};

/// One assigned partition, as the consumer sees it.
#[derive(Debug)]
struct Assigned {
    topic_partition: TopicPartition,
    dir: PartitionDir,
    /// The next offset `poll` returns.
    position: i64,
    /// Whether `position` is known: false for a partition with no committed
    /// offset under `auto_offset_reset` none, until a seek.
    positioned: bool,
    /// Bumped by every seek: fetches made for an older epoch are dropped.
    epoch: u64,
    paused: bool,
    /// The partition was read to its end (or last stable offset) at the
    /// current position.
    at_end: bool,
    /// A corrupt batch waits at the position: raised by the next poll.
    error: Option<Error>,
}

/// A fetch being consumed: the next batch, and where in it the next record is.
#[derive(Debug)]
struct Buffered {
    fetch: CompletedFetch,
    batch: usize,
    /// Records of the batch already returned.
    record: u32,
    /// Where the next record of a partly returned batch starts.
    resume: ResumePoint,
    /// Every batch was returned and how the fetch ended was noted: it can
    /// be released at the next poll.
    done: bool,
}

/// A run of records of one batch handed out by a poll.
#[derive(Debug, Clone, Copy)]
struct Span {
    fetch: usize,
    batch: usize,
    /// Where in the batch the first returned record starts.
    resume: ResumePoint,
    count: u32,
}

/// Replays partitions with Kafka's consumer semantics.
pub struct Consumer {
    config: ConsumerConfig,
    /// Every partition found in the log dirs.
    catalog: BTreeMap<TopicPartition, PartitionDir>,
    assigned: Vec<Assigned>,
    fetcher: FetcherHandle,
    buffered: VecDeque<Buffered>,
    /// Damage stepped over and not yet taken by the caller.
    damage: Vec<Damage>,
    spans: Vec<Span>,
    offsets: Option<OffsetStore>,
    /// Source of position epochs: unique per consumer, so a fetch made
    /// before any seek or reassignment can never match a later one.
    epochs: u64,
    /// The group membership of a subscribed consumer with a group id.
    membership: Option<Membership>,
    /// Topics of the subscription.
    subscription: Vec<String>,
    listener: Option<Box<dyn ConsumerRebalanceListener>>,
    /// A listener callback is running (poll is refused meanwhile).
    in_callback: bool,
    /// When to next try to take pending partitions.
    next_acquire: Instant,
    /// When `enable_auto_commit` last committed (or the consumer was made).
    last_auto_commit: Instant,
}

/// Kafka's `ConsumerRebalanceListener`: told, from inside
/// [`Consumer::poll`], when the group moves partitions.
///
/// Each callback gets the consumer, to commit or seek. A partition is
/// revoked before another member can take it, so committing in
/// [`on_partitions_revoked`](Self::on_partitions_revoked) hands over exactly
/// where this member stopped. Partitions reported lost were taken from this
/// member without asking (it was evicted, or its group deleted): commits for
/// them are refused.
pub trait ConsumerRebalanceListener: Send {
    /// Partitions this member is about to give up; it still owns them.
    fn on_partitions_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }

    /// Partitions this member now owns, positioned at the group's committed
    /// offsets (else per `auto_offset_reset`). With an eager assignor they
    /// may arrive over several polls, as their previous owners let go.
    fn on_partitions_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let _ = (consumer, partitions);
    }

    /// Partitions this member lost without being asked. As in Kafka, the
    /// default calls [`on_partitions_revoked`](Self::on_partitions_revoked)
    /// (whose commits are refused).
    fn on_partitions_lost(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.on_partitions_revoked(consumer, partitions);
    }
}

/// Which listener callback to run.
#[derive(Debug, Clone, Copy)]
enum Callback {
    Revoked,
    Assigned,
    Lost,
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("group_id", &self.config.group_id)
            .field("assigned", &self.assigned.len())
            .field("io_mode", &self.fetcher.io_mode)
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// A consumer over the partitions of `config.log_dirs`, assigned nothing yet.
    pub fn new(config: ConsumerConfig) -> Result<Consumer> {
        if config.max_poll_records == 0 {
            return Err(Error::Config("max_poll_records must be at least 1".into()));
        }
        let mut catalog = BTreeMap::new();
        for log_dir in &config.log_dirs {
            for dir in discover(log_dir)? {
                if let Some(previous) = catalog.get(&dir.topic_partition) {
                    let previous: &PartitionDir = previous;
                    log::warn!(
                        "{} appears in {} and {}; using the first",
                        dir.topic_partition,
                        previous.path.display(),
                        dir.path.display()
                    );
                    continue;
                }
                catalog.insert(dir.topic_partition.clone(), dir);
            }
        }
        let offsets = match (&config.group_id, &config.state_dir) {
            (Some(_), Some(state_dir)) => Some(OffsetStore::open(state_dir, &config.log_dirs)?),
            (Some(group), None) => {
                return Err(Error::Config(format!(
                    "group '{group}' needs a state dir for its committed offsets"
                )))
            }
            _ => None,
        };
        let fetcher = FetcherHandle::start(FetcherConfig {
            read: config.read_options(),
            fetch_max_bytes: config.fetch_max_bytes,
            max_partition_fetch_bytes: config.max_partition_fetch_bytes,
            isolation_level: config.isolation_level,
            aborted_txn_source: config.aborted_txn_source,
            follow: config.follow,
            io_mode: config.io_mode,
            ring_capacity: config.fetch_queue,
            on_damage: config.on_damage,
        })?;
        Ok(Consumer {
            config,
            catalog,
            assigned: Vec::new(),
            fetcher,
            buffered: VecDeque::new(),
            damage: Vec::new(),
            spans: Vec::new(),
            offsets,
            epochs: 0,
            membership: None,
            subscription: Vec::new(),
            listener: None,
            in_callback: false,
            next_acquire: Instant::now(),
            last_auto_commit: Instant::now(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The prefetch mode the fetcher uses (after probing).
    pub fn io_mode(&self) -> IoMode {
        self.fetcher.io_mode
    }

    /// Every partition of the log dirs.
    pub fn partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.catalog.keys()
    }

    /// The partitions of `topic`.
    pub fn partitions_for(&self, topic: &str) -> Vec<TopicPartition> {
        self.catalog
            .keys()
            .filter(|tp| tp.topic == topic)
            .cloned()
            .collect()
    }

    /// Leaves the group (see [`unsubscribe`](Self::unsubscribe)) and stops
    /// the fetcher.
    pub fn close(mut self) -> Result<()> {
        self.auto_commit_on_close()?;
        self.unsubscribe()
    }

    /// Whether every assigned, unpaused partition was read to its end (or
    /// last stable offset) at its position: kcat's `-e`.
    /// A group member with partitions assigned but not yet taken over is
    /// not at its end.
    pub fn at_end(&self) -> bool {
        self.assigned.iter().all(|a| a.paused || a.at_end)
            && self
                .membership
                .as_ref()
                .is_none_or(|m| m.pending().next().is_none())
    }

    /// The damage stepped over since the last call (`OnDamage::Skip`), in
    /// the order the positions passed it: each a file, a byte position and
    /// the offsets that could not be read. Reported when the position reaches
    /// it, so after the records before it were returned by a poll.
    pub fn take_damage(&mut self) -> Vec<Damage> {
        std::mem::take(&mut self.damage)
    }

    /// Records from the assigned partitions: at most `max_poll_records`, in
    /// offset order within each partition. Waits up to `timeout` when none
    /// are ready. The records borrow the consumer until the next call.
    pub fn poll(&mut self, timeout: Duration) -> Result<ConsumerRecords<'_>> {
        if self.in_callback {
            return Err(Error::Config(
                "poll cannot be called from a rebalance listener".into(),
            ));
        }
        self.release_consumed();
        self.maybe_auto_commit();
        self.group_step()?;
        if let Some(error) = self.take_error() {
            return Err(error);
        }
        if let Some(a) = self.assigned.iter().find(|a| !a.positioned && !a.paused) {
            return Err(no_offset(&a.topic_partition));
        }
        // Taken when the first wait begins: a poll that finds records
        // buffered reads no clock.
        let mut deadline = None;
        let mut synced_at_end = false;
        loop {
            self.receive();
            self.gather();
            if self.spans.is_empty() && self.at_end() && !self.config.follow && !synced_at_end {
                // A group member at the end of its partitions first makes
                // sure they are still its partitions: another member may
                // have left (or joined) since the last sync, and a caller
                // that stops at the end (kcat's -e) must not stop on a
                // stale assignment, leaving partitions nobody reads.
                synced_at_end = true;
                if let Some(membership) = self.membership.as_mut() {
                    membership.sync_now();
                    self.group_step()?;
                    continue;
                }
            }
            if !self.spans.is_empty() || (self.at_end() && !self.config.follow) {
                break;
            }
            if let Some(error) = self.take_error() {
                return Err(error);
            }
            let now = Instant::now();
            let deadline = *deadline.get_or_insert(now + timeout);
            if now >= deadline {
                break;
            }
            let mut wake = deadline;
            if let Some(membership) = &self.membership {
                wake = wake.min(membership.next_sync());
                if membership.pending().next().is_some() {
                    wake = wake.min(self.next_acquire);
                }
            }
            if wake <= now {
                self.group_step()?;
                if let Some(a) = self.assigned.iter().find(|a| !a.positioned && !a.paused) {
                    return Err(no_offset(&a.topic_partition));
                }
                continue;
            }
            self.wait(wake - now);
        }
        Ok(ConsumerRecords {
            spans: &self.spans,
            buffered: &self.buffered,
            assigned: &self.assigned,
            check_crcs: self.config.check_crcs,
        })
    }

    /// A corrupt batch at a partition's position, raised once.
    fn take_error(&mut self) -> Option<Error> {
        self.assigned.iter_mut().find_map(|a| a.error.take())
    }

    /// Moves completed fetches from the ring into the buffer, dropping stale
    /// ones (made before a seek) and noting the ends they report.
    fn receive(&mut self) {
        while let Ok(fetch) = self.fetcher.ring.pop() {
            let Some(assigned) = self.assigned.get_mut(fetch.partition) else {
                self.fetcher.release(fetch);
                continue;
            };
            if fetch.epoch != assigned.epoch {
                self.fetcher.release(fetch);
                continue;
            }
            if !fetch.batches.is_empty() {
                // New data (following a live log): no longer at the end.
                assigned.at_end = false;
            }
            self.buffered.push_back(Buffered {
                fetch,
                batch: 0,
                record: 0,
                resume: ResumePoint::default(),
                done: false,
            });
        }
    }

    /// Waits for the fetcher to push something.
    fn wait(&mut self, timeout: Duration) {
        // Spin a little first: the next fetch usually comes sooner than a
        // parked caller is woken, and waking one costs the fetcher a system
        // call (10-30 µs on a VM, longer than a fetch takes to make).
        let spin_until = Instant::now() + WAIT_SPIN.min(timeout);
        loop {
            if !self.fetcher.ring.is_empty() {
                return;
            }
            if Instant::now() >= spin_until {
                break;
            }
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        }
        // Nothing came while spinning: a fetcher sleeping on its budget
        // timer may have set it for longer than this caller took to catch up.
        self.fetcher.wake_napping_fetcher();
        let shared = &self.fetcher.shared;
        if let Ok(mut waiter) = shared.waiter.lock() {
            *waiter = Some(std::thread::current());
        }
        if self.fetcher.ring.is_empty() {
            std::thread::park_timeout(timeout.min(Duration::from_millis(100)));
        }
        if let Ok(mut waiter) = shared.waiter.lock() {
            *waiter = None;
        }
    }

    /// Picks the records of this poll from the buffered fetches and advances
    /// the positions past them.
    fn gather(&mut self) {
        self.spans.clear();
        let check_crcs = self.config.check_crcs;
        let mut budget = self.config.max_poll_records as u32;
        for (fetch_index, buffered) in self.buffered.iter_mut().enumerate() {
            if budget == 0 && buffered.batch < buffered.fetch.batches.len() {
                break;
            }
            let Some(assigned) = self.assigned.get_mut(buffered.fetch.partition) else {
                continue;
            };
            if assigned.paused || assigned.error.is_some() {
                continue;
            }
            while budget > 0 {
                let Some(batch) = buffered.fetch.batches.get(buffered.batch).copied() else {
                    break;
                };
                let left = if batch.deliver {
                    batch.records.saturating_sub(buffered.record)
                } else {
                    0
                };
                if left == 0 {
                    assigned.position = assigned.position.max(batch.next_offset);
                    buffered.batch += 1;
                    buffered.record = 0;
                    buffered.resume = ResumePoint::default();
                    continue;
                }
                if buffered.record == 0 && batch.skip > 0 && buffered.resume.consumed() == 0 {
                    // The first records of the batch are below the fetch offset.
                    let (after_skip, _) = advance(
                        &buffered.fetch,
                        &batch,
                        ResumePoint::default(),
                        batch.skip,
                        check_crcs,
                    );
                    buffered.resume = after_skip;
                }
                let take = left.min(budget);
                self.spans.push(Span {
                    fetch: fetch_index,
                    batch: buffered.batch,
                    resume: buffered.resume,
                    count: take,
                });
                budget -= take;
                if take == left {
                    assigned.position = assigned.position.max(batch.next_offset);
                    buffered.batch += 1;
                    buffered.record = 0;
                    buffered.resume = ResumePoint::default();
                } else {
                    // Partly returned: the position is the next record's
                    // offset, and the next poll resumes there.
                    let (resume, next) =
                        advance(&buffered.fetch, &batch, buffered.resume, take, check_crcs);
                    buffered.record += take;
                    buffered.resume = resume;
                    if let Some(next) = next {
                        assigned.position = next;
                    }
                }
            }
            if buffered.batch >= buffered.fetch.batches.len() && !buffered.done {
                buffered.done = true;
                // Consumed: note how the fetch ended.
                match &mut buffered.fetch.end {
                    FetchEnd::EndOfLog => assigned.at_end = true,
                    FetchEnd::Error(_) => {
                        if let FetchEnd::Error(e) =
                            std::mem::replace(&mut buffered.fetch.end, FetchEnd::More)
                        {
                            assigned.error = Some(e);
                        }
                    }
                    FetchEnd::More => {}
                }
                if let Some(damage) = buffered.fetch.damage.take() {
                    if let Some(missing) = &damage.missing_offsets {
                        assigned.position = assigned.position.max(missing.end() + 1);
                    }
                    self.damage.push(damage);
                }
            }
        }
    }

    /// Drops fetches the previous poll consumed entirely.
    fn release_consumed(&mut self) {
        while let Some(front) = self.buffered.front() {
            if !front.done {
                break;
            }
            if let Some(done) = self.buffered.pop_front() {
                self.fetcher.release(done.fetch);
            }
        }
        // A consumed fetch behind an unconsumed one (another partition) is
        // released too.
        let mut i = 0;
        while i < self.buffered.len() {
            if self.buffered[i].done {
                if let Some(done) = self.buffered.remove(i) {
                    self.fetcher.release(done.fetch);
                }
            } else {
                i += 1;
            }
        }
    }

    fn drop_buffered(&mut self) {
        while let Some(done) = self.buffered.pop_front() {
            self.fetcher.release(done.fetch);
        }
        // Fetches still in the ring carry old epochs and are dropped on receipt.
    }

    fn drop_buffered_of(&mut self, index: usize) {
        let mut i = 0;
        while i < self.buffered.len() {
            if self.buffered[i].fetch.partition == index {
                if let Some(done) = self.buffered.remove(i) {
                    self.fetcher.release(done.fetch);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Bytes the fetcher holds ahead of the caller.
    pub fn buffered_bytes(&self) -> u64 {
        self.fetcher.shared.outstanding.load(Ordering::Acquire)
    }
}

impl Drop for Consumer {
    /// Leaves the group without calling the listener (use
    /// [`Consumer::close`] for a hand-over that commits).
    fn drop(&mut self) {
        if let Some(membership) = self.membership.take() {
            if let Err(e) = membership.leave() {
                log::warn!("leaving the group: {e}");
            }
        }
    }
}

/// How often a member tries again to take partitions whose previous owner
/// has not let go yet.
const ACQUIRE_RETRY: Duration = Duration::from_millis(10);

/// How long a caller waiting for a fetch spins before it parks.
const WAIT_SPIN: Duration = Duration::from_micros(50);

/// Kafka's NoOffsetForPartitionException.
fn no_offset(tp: &TopicPartition) -> Error {
    Error::Config(format!(
        "no committed offset for {tp} and auto_offset_reset is none: seek it first"
    ))
}

/// The partition dirs of a path that is a log dir or one partition dir.
fn discover(path: &std::path::Path) -> Result<Vec<PartitionDir>> {
    match crate::log_dir::classify(path)? {
        crate::log_dir::LogPath::LogDir(dir) => list_partitions(&dir),
        crate::log_dir::LogPath::PartitionDir(dir) => Ok(vec![dir]),
        crate::log_dir::LogPath::Segment(file) => Err(Error::InvalidPath {
            path: file,
            reason: "a consumer reads log dirs or partition dirs, not a single segment".into(),
        }),
    }
}
