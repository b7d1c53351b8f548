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
mod damage;
mod fetcher;
mod records;
mod txn;

pub use damage::{Damage, OnDamage};
use records::advance;
pub use records::{
    ConsumerBatch, ConsumerBatches, ConsumerRecord, ConsumerRecordIter, ConsumerRecords,
};
pub use txn::AbortedTxnSource;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::group::membership::{Membership, MembershipConfig};
use crate::group::Assignor;
use crate::log_dir::{list_partitions, PartitionDir, TopicPartition};
use crate::mmap::ReadStrategy;
use crate::offsets::{OffsetAndMetadata, OffsetStore};
use crate::partition::{Partition, ReadOptions};
use crate::prefetch::IoMode;
use crate::record::{ResumePoint, DEFAULT_MAX_INFLATED_BYTES};

use fetcher::{is_not_found, Command, CompletedFetch, FetchEnd, FetcherConfig, FetcherHandle};

/// Kafka's `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Every data record, aborted transactions included (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Records of aborted transactions hidden; reading stops at the first
    /// open transaction (the last stable offset).
    ReadCommitted,
}

impl FromStr for IsolationLevel {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "read_uncommitted" => Ok(IsolationLevel::ReadUncommitted),
            "read_committed" => Ok(IsolationLevel::ReadCommitted),
            other => Err(format!(
                "unknown isolation level '{other}' (expected read_uncommitted or read_committed)"
            )),
        }
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        })
    }
}

/// Kafka's `auto.offset.reset`: where to start when there is no committed
/// offset, or the committed one is no longer in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The log end offset (Kafka's default).
    #[default]
    Latest,
    /// No reset: an error.
    None,
}

impl FromStr for AutoOffsetReset {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "earliest" => Ok(AutoOffsetReset::Earliest),
            "latest" => Ok(AutoOffsetReset::Latest),
            "none" => Ok(AutoOffsetReset::None),
            other => Err(format!(
                "unknown auto offset reset '{other}' (expected earliest, latest or none)"
            )),
        }
    }
}

/// How a consumer reads, with Kafka's consumer config names.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The log dirs holding the partitions.
    pub log_dirs: Vec<PathBuf>,
    /// `group.id`: commits need one.
    pub group_id: Option<String>,
    /// Where committed offsets live (never inside a log dir). Required with a group.
    pub state_dir: Option<PathBuf>,
    /// `max.poll.records` (500).
    pub max_poll_records: usize,
    /// `fetch.max.bytes`: bytes the fetcher may hold ahead of the caller
    /// (soft: two fetches are always allowed, whatever their size).
    /// 4 MiB here, where Kafka's default of 50 MiB hides network round trips
    /// a local replay does not have: a fetcher further ahead only pushes the
    /// bytes the caller is about to read out of the CPU caches, and one
    /// closer (1 MiB) leaves the caller waiting for it to be woken (see
    /// README, "Performance").
    pub fetch_max_bytes: u64,
    /// `max.partition.fetch.bytes`: bytes per fetch of one partition
    /// (128 KiB here, Kafka's 1 MiB; soft: a larger batch is fetched whole).
    pub max_partition_fetch_bytes: u64,
    /// `check.crcs` (true).
    pub check_crcs: bool,
    /// `isolation.level` (read_uncommitted).
    pub isolation_level: IsolationLevel,
    /// Where read_committed learns which transactions were aborted: the
    /// `.txnindex` files, checked against the markers (the default), or the
    /// markers alone.
    pub aborted_txn_source: AbortedTxnSource,
    /// `auto.offset.reset` (latest).
    pub auto_offset_reset: AutoOffsetReset,
    /// How the fetcher prefetches pages.
    pub io_mode: IoMode,
    /// Map segments or read them.
    pub read_strategy: ReadStrategy,
    /// Keep polling a live log for appended data instead of ending at its end.
    pub follow: bool,
    /// Cap on one compressed batch's inflated size.
    pub max_inflated_bytes: usize,
    /// Completed fetches the ring holds.
    pub fetch_queue: usize,
    /// `client.id` ("kreplay"): part of member ids, shown by `group describe`.
    pub client_id: String,
    /// `group.instance.id`: makes the member static.
    pub group_instance_id: Option<String>,
    /// `partition.assignment.strategy` (range).
    pub partition_assignment_strategy: Assignor,
    /// `session.timeout.ms` (45 s): a member that stops heartbeating is
    /// evicted after this long; a static member's partitions wait this long
    /// for it to come back. A member whose process dies is seen at once.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (3 s): how often a member heartbeats and
    /// checks the group for membership changes (so a dead member's
    /// partitions are taken over within about this long).
    pub heartbeat_interval: Duration,
    /// What to do on damage between segments (a segment that ends in a
    /// partial batch although a later one follows): skip to the next segment
    /// and report it through [`Consumer::take_damage`] (the default), or
    /// stop there with an error.
    pub on_damage: OnDamage,
    /// `enable.auto.commit`: [`Consumer::poll`] commits the positions of
    /// the records earlier polls returned once `auto_commit_interval` has
    /// passed, as do a revocation and [`Consumer::close`]. False here
    /// (Kafka: true with a group id): a replay commits when its caller says.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (5 s).
    pub auto_commit_interval: Duration,
}

impl ConsumerConfig {
    /// Kafka's defaults over these log dirs.
    pub fn new(log_dirs: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        ConsumerConfig {
            log_dirs: log_dirs.into_iter().map(Into::into).collect(),
            group_id: None,
            state_dir: None,
            max_poll_records: 500,
            fetch_max_bytes: 4 << 20,
            max_partition_fetch_bytes: 128 << 10,
            check_crcs: true,
            isolation_level: IsolationLevel::ReadUncommitted,
            aborted_txn_source: AbortedTxnSource::TxnIndex,
            auto_offset_reset: AutoOffsetReset::Latest,
            io_mode: IoMode::Auto,
            read_strategy: ReadStrategy::Mmap,
            follow: false,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            fetch_queue: 64,
            client_id: "kreplay".into(),
            group_instance_id: None,
            partition_assignment_strategy: Assignor::Range,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            on_damage: OnDamage::Skip,
            enable_auto_commit: false,
            auto_commit_interval: Duration::from_secs(5),
        }
    }

    fn read_options(&self) -> ReadOptions {
        ReadOptions {
            strategy: self.read_strategy,
            check_crcs: self.check_crcs,
            max_inflated_bytes: self.max_inflated_bytes,
            use_indexes: true,
        }
    }
}

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

    /// Subscribes to whole topics. With a `group_id` the consumer joins the
    /// group: `poll` takes part in its rebalances and reads the partitions
    /// the group assigns to it (none until the first poll). Without one,
    /// every partition of the topics is assigned.
    pub fn subscribe<S: AsRef<str>>(&mut self, topics: &[S]) -> Result<()> {
        self.subscribe_inner(topics, None)
    }

    /// [`subscribe`](Self::subscribe), telling `listener` of every rebalance.
    pub fn subscribe_with_listener<S: AsRef<str>>(
        &mut self,
        topics: &[S],
        listener: Box<dyn ConsumerRebalanceListener>,
    ) -> Result<()> {
        self.subscribe_inner(topics, Some(listener))
    }

    fn subscribe_inner<S: AsRef<str>>(
        &mut self,
        topics: &[S],
        listener: Option<Box<dyn ConsumerRebalanceListener>>,
    ) -> Result<()> {
        let topics: BTreeSet<&str> = topics.iter().map(AsRef::as_ref).collect();
        let mut partitions = Vec::new();
        let mut counts = BTreeMap::new();
        for topic in &topics {
            let found = self.partitions_for(topic);
            let Some(last) = found.last() else {
                return Err(Error::Config(format!(
                    "topic '{topic}' has no partitions in the log dirs"
                )));
            };
            counts.insert(topic.to_string(), last.partition.saturating_add(1));
            partitions.extend(found);
        }
        let (Some(group), Some(store)) = (self.config.group_id.clone(), self.offsets.clone())
        else {
            self.listener = listener;
            return self.reassign(partitions.into_iter().collect());
        };
        self.unsubscribe()?;
        self.listener = listener;
        self.membership = Some(Membership::join(
            &store,
            MembershipConfig {
                group,
                group_instance_id: self.config.group_instance_id.clone(),
                client_id: self.config.client_id.clone(),
                assignor: self.config.partition_assignment_strategy,
                session_timeout: self.config.session_timeout,
                heartbeat_interval: self.config.heartbeat_interval,
                topics: counts,
            },
        )?);
        self.subscription = topics.iter().map(|t| t.to_string()).collect();
        Ok(())
    }

    /// Leaves the group (after `on_partitions_revoked` for everything owned)
    /// and drops every partition. A dynamic member's partitions go to the
    /// other members at once.
    pub fn unsubscribe(&mut self) -> Result<()> {
        if self.membership.is_some() {
            let owned = self.assignment();
            if !owned.is_empty() {
                self.callback(Callback::Revoked, &owned);
            }
            self.reassign(BTreeSet::new())?;
            if let Some(membership) = self.membership.take() {
                membership.leave()?;
            }
        }
        self.subscription.clear();
        self.listener = None;
        Ok(())
    }

    /// The subscribed topics.
    pub fn subscription(&self) -> &[String] {
        &self.subscription
    }

    /// This consumer's member id in its group, once subscribed.
    pub fn member_id(&self) -> Option<&str> {
        self.membership.as_ref().map(Membership::member_id)
    }

    /// The generation of the assignment this member follows (0 before the
    /// first rebalance; `None` without group membership).
    pub fn generation(&self) -> Option<i32> {
        self.membership.as_ref().map(Membership::generation)
    }

    /// Assigns exactly these partitions (Kafka's manual assignment; not
    /// with a subscription). Partitions already assigned keep their
    /// positions; the others start at the group's committed offset, else
    /// where `auto_offset_reset` says. With a group id, commits are refused
    /// while the group has live members (Kafka's standalone consumer).
    pub fn assign(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if self.membership.is_some() {
            return Err(Error::Config(
                "assign and subscribe are mutually exclusive: unsubscribe first".into(),
            ));
        }
        self.reassign(partitions.iter().cloned().collect())
    }

    /// Makes `partitions` the assignment: kept partitions keep their
    /// positions, new ones start at the committed offset (or the reset
    /// position). Every fetch in flight is dropped.
    fn reassign(&mut self, partitions: BTreeSet<TopicPartition>) -> Result<()> {
        let current: BTreeSet<&TopicPartition> =
            self.assigned.iter().map(|a| &a.topic_partition).collect();
        let new: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !current.contains(tp))
            .cloned()
            .collect();
        drop(current);
        let committed = match (&self.offsets, &self.config.group_id) {
            (Some(store), Some(group)) if !new.is_empty() => store.committed(group, &new)?,
            _ => BTreeMap::new(),
        };
        let mut old: BTreeMap<TopicPartition, Assigned> = self
            .assigned
            .drain(..)
            .map(|a| (a.topic_partition.clone(), a))
            .collect();
        let mut assigned = Vec::with_capacity(partitions.len());
        for tp in partitions {
            self.epochs += 1;
            if let Some(mut kept) = old.remove(&tp) {
                kept.epoch = self.epochs;
                kept.at_end = false;
                kept.error = None;
                assigned.push(kept);
                continue;
            }
            let dir =
                self.catalog.get(&tp).cloned().ok_or_else(|| {
                    Error::Config(format!("partition {tp} is not in the log dirs"))
                })?;
            // As Kafka, a partition with no usable offset and no reset policy
            // is not an error until poll: a seek may position it first.
            // Any other failure (a damaged first batch) is raised by poll.
            let (position, error) =
                match self.initial_position(&dir, committed.get(&tp).map(|c| c.offset)) {
                    Ok(position) => (position, None),
                    Err(error) => (None, Some(error)),
                };
            assigned.push(Assigned {
                topic_partition: tp,
                dir,
                position: position.unwrap_or(-1),
                positioned: position.is_some(),
                epoch: self.epochs,
                paused: false,
                at_end: false,
                error,
            });
        }
        self.assigned = assigned;
        self.drop_buffered();
        self.fetcher.send(Command::Assign(
            self.assigned
                .iter()
                .map(|a| (a.dir.clone(), a.positioned.then_some(a.position), a.epoch))
                .collect(),
        ));
        Ok(())
    }

    /// Runs a listener callback with the consumer.
    fn callback(&mut self, which: Callback, partitions: &[TopicPartition]) {
        if matches!(which, Callback::Revoked) {
            self.auto_commit_revoked(partitions);
        }
        let Some(mut listener) = self.listener.take() else {
            return;
        };
        self.in_callback = true;
        match which {
            Callback::Revoked => listener.on_partitions_revoked(self, partitions),
            Callback::Assigned => listener.on_partitions_assigned(self, partitions),
            Callback::Lost => listener.on_partitions_lost(self, partitions),
        }
        self.in_callback = false;
        if self.listener.is_none() {
            self.listener = Some(listener);
        }
    }

    /// The group's part of a poll: sync with the group when due (give up
    /// what is revoked or lost), then take the partitions whose previous
    /// owners let go.
    fn group_step(&mut self) -> Result<()> {
        let now = Instant::now();
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        if membership.sync_due(now) {
            let outcome = membership.sync()?;
            if !outcome.lost.is_empty() {
                let kept: BTreeSet<TopicPartition> = self
                    .assignment()
                    .into_iter()
                    .filter(|tp| !outcome.lost.contains(tp))
                    .collect();
                self.reassign(kept)?;
                self.callback(Callback::Lost, &outcome.lost);
            }
            if !outcome.revoke.is_empty() {
                // Still owned during the callback: it may commit them.
                self.callback(Callback::Revoked, &outcome.revoke);
                let kept: BTreeSet<TopicPartition> = self
                    .assignment()
                    .into_iter()
                    .filter(|tp| !outcome.revoke.contains(tp))
                    .collect();
                self.reassign(kept)?;
                if let Some(membership) = self.membership.as_mut() {
                    membership.release(&outcome.revoke);
                }
            }
            if outcome.new_generation {
                self.next_acquire = now;
            }
        }
        let Some(membership) = self.membership.as_mut() else {
            return Ok(());
        };
        if membership.pending().next().is_none() || now < self.next_acquire {
            return Ok(());
        }
        self.next_acquire = now + ACQUIRE_RETRY;
        let taken = membership.acquire_pending()?;
        if taken.is_empty() {
            return Ok(());
        }
        let (readable, missing): (Vec<TopicPartition>, Vec<TopicPartition>) = taken
            .into_iter()
            .partition(|tp| self.catalog.contains_key(tp));
        for tp in &missing {
            log::warn!("{tp} is assigned to this member but not in its log dirs: not read");
        }
        let mut all: BTreeSet<TopicPartition> = self.assignment().into_iter().collect();
        all.extend(readable.iter().cloned());
        self.reassign(all)?;
        self.callback(Callback::Assigned, &readable);
        Ok(())
    }

    /// Partitions the group assigned to this member that it does not own
    /// yet (their previous owner has not let go).
    pub fn pending_partitions(&self) -> Vec<TopicPartition> {
        self.membership
            .as_ref()
            .map(|m| m.pending().cloned().collect())
            .unwrap_or_default()
    }

    /// Leaves the group (see [`unsubscribe`](Self::unsubscribe)) and stops
    /// the fetcher.
    pub fn close(mut self) -> Result<()> {
        self.auto_commit_on_close()?;
        self.unsubscribe()
    }

    /// Where a newly assigned partition starts: `committed` when it is in
    /// the log, else the reset position; `None` when there is no reset
    /// policy. A segment that retention deletes between listing and
    /// reading makes it list the partition again.
    fn initial_position(&self, dir: &PartitionDir, committed: Option<i64>) -> Result<Option<i64>> {
        const RETENTION_RETRIES: usize = 8;
        let mut attempt = 0;
        loop {
            let found = Partition::open(dir, self.config.read_options()).and_then(|partition| {
                match committed {
                    Some(offset) => self.valid_or_reset(&partition, offset),
                    None => self.reset_position(&partition),
                }
            });
            match found {
                Ok(position) => return Ok(Some(position)),
                Err(Error::Config(_)) if self.config.auto_offset_reset == AutoOffsetReset::None => {
                    return Ok(None)
                }
                Err(error) if is_not_found(&error) && attempt < RETENTION_RETRIES => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned
            .iter()
            .map(|a| a.topic_partition.clone())
            .collect()
    }

    fn reset_position(&self, partition: &Partition) -> Result<i64> {
        match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => partition.log_start_offset(),
            AutoOffsetReset::Latest => partition.log_end_offset(),
            AutoOffsetReset::None => Err(Error::Config(format!(
                "no committed offset for {} and auto_offset_reset is none",
                partition.topic_partition()
            ))),
        }
    }

    /// `offset` when it is within [log start, log end], else the reset
    /// position (Kafka's out-of-range handling).
    fn valid_or_reset(&self, partition: &Partition, offset: i64) -> Result<i64> {
        let start = partition.log_start_offset()?;
        let end = partition.log_end_offset()?;
        if (start..=end).contains(&offset) {
            Ok(offset)
        } else {
            log::info!(
                "{}: offset {offset} is out of range [{start}, {end}]; resetting ({:?})",
                partition.topic_partition(),
                self.config.auto_offset_reset
            );
            self.reset_position(partition).map_err(|_| {
                Error::Config(format!(
                    "offset {offset} of {} is out of range [{start}, {end}] and auto_offset_reset is none",
                    partition.topic_partition()
                ))
            })
        }
    }

    fn index_of(&self, tp: &TopicPartition) -> Result<usize> {
        self.assigned
            .iter()
            .position(|a| &a.topic_partition == tp)
            .ok_or_else(|| Error::Config(format!("partition {tp} is not assigned")))
    }

    /// The next offset `poll` returns for `tp`.
    pub fn position(&self, tp: &TopicPartition) -> Result<i64> {
        let assigned = &self.assigned[self.index_of(tp)?];
        if !assigned.positioned {
            return Err(no_offset(tp));
        }
        Ok(assigned.position)
    }

    /// Moves `tp`'s position: the next poll returns records from `offset`
    /// (the next existing record at or after it). An offset outside the log
    /// follows `auto_offset_reset`, as a fetch out of range does in Kafka.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        let index = self.index_of(tp)?;
        let partition = Partition::open(&self.assigned[index].dir, self.config.read_options())?;
        let offset = self.valid_or_reset(&partition, offset)?;
        self.set_position(index, offset);
        Ok(())
    }

    fn set_position(&mut self, index: usize, offset: i64) {
        let assigned = &mut self.assigned[index];
        assigned.position = offset;
        assigned.positioned = true;
        self.epochs += 1;
        assigned.epoch = self.epochs;
        assigned.at_end = false;
        assigned.error = None;
        let epoch = assigned.epoch;
        self.drop_buffered_of(index);
        self.fetcher.send(Command::Seek {
            index,
            offset,
            epoch,
        });
    }

    /// Seeks to the log start offsets.
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for (tp, offset) in self.beginning_offsets(partitions)? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    /// Seeks to the log end offsets.
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for (tp, offset) in self.end_offsets(partitions)? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    fn open_partition(&self, tp: &TopicPartition) -> Result<Partition> {
        let dir = self
            .catalog
            .get(tp)
            .ok_or_else(|| Error::Config(format!("partition {tp} is not in the log dirs")))?;
        Partition::open(dir, self.config.read_options())
    }

    /// Log start offsets (Kafka's `beginningOffsets`).
    pub fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), self.open_partition(tp)?.log_start_offset()?)))
            .collect()
    }

    /// Log end offsets (Kafka's `endOffsets`).
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), self.open_partition(tp)?.log_end_offset()?)))
            .collect()
    }

    /// Kafka's `offsetsForTimes`: per partition, the first record with a
    /// timestamp >= the given one (`None` when there is none).
    pub fn offsets_for_times(
        &self,
        timestamps: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, Option<crate::partition::TimestampAndOffset>>> {
        timestamps
            .iter()
            .map(|(tp, &ts)| {
                Ok((
                    tp.clone(),
                    self.open_partition(tp)?.offset_for_timestamp(ts)?,
                ))
            })
            .collect()
    }

    /// Stops returning records of these partitions until resumed.
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, true)
    }

    /// Resumes paused partitions.
    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, false)
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.assigned
            .iter()
            .filter(|a| a.paused)
            .map(|a| a.topic_partition.clone())
            .collect()
    }

    fn set_paused(&mut self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        for tp in partitions {
            let index = self.index_of(tp)?;
            self.assigned[index].paused = paused;
            self.fetcher.send(Command::Pause { index, paused });
        }
        Ok(())
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
        let deadline = Instant::now() + timeout;
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

    /// Commits the current positions of every assigned partition for the
    /// group ("next offset to read", as Kafka).
    pub fn commit_sync(&mut self) -> Result<()> {
        let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = self
            .assigned
            .iter()
            .filter(|a| a.positioned)
            .map(|a| {
                (
                    a.topic_partition.clone(),
                    OffsetAndMetadata::new(a.position),
                )
            })
            .collect();
        self.commit_offsets(&offsets)
    }

    /// Commits the given offsets for the group.
    pub fn commit_offsets(
        &mut self,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        let (Some(store), Some(group)) = (&self.offsets, &self.config.group_id) else {
            return Err(Error::Config(
                "commit needs a group id and a state dir".into(),
            ));
        };
        let Some(lock) = store.lock(group, true)? else {
            return Err(Error::Config("group dir vanished".into()));
        };
        match &self.membership {
            Some(membership) => membership.check_commit(&lock, offsets.keys())?,
            None => crate::group::refuse_live_members(
                group,
                &lock.dir,
                "a consumer with a manual assignment cannot commit",
            )?,
        }
        store.commit_locked(&lock, offsets)
    }

    /// The group's committed offsets for these partitions.
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        let (Some(store), Some(group)) = (&self.offsets, &self.config.group_id) else {
            return Err(Error::Config(
                "committed offsets need a group id and a state dir".into(),
            ));
        };
        store.committed(group, partitions)
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
