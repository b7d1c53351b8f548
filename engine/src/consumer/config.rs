//! The consumer's configuration: [`ConsumerConfig`] with Kafka's config
//! names and defaults, and the policy enums it holds.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::{AbortedTxnSource, OnDamage};
use crate::group::Assignor;
use crate::mmap::ReadStrategy;
use crate::partition::ReadOptions;
use crate::prefetch::IoMode;
use crate::record::DEFAULT_MAX_INFLATED_BYTES;

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
#[non_exhaustive]
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
    /// and report it through [`Consumer::take_damage`](super::Consumer::take_damage) (the default), or
    /// stop there with an error.
    pub on_damage: OnDamage,
    /// `enable.auto.commit`: [`Consumer::poll`](super::Consumer::poll) commits the positions of
    /// the records earlier polls returned once `auto_commit_interval` has
    /// passed, as do a revocation and [`Consumer::close`](super::Consumer::close). False here
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

    pub(super) fn read_options(&self) -> ReadOptions {
        ReadOptions {
            strategy: self.read_strategy,
            check_crcs: self.check_crcs,
            max_inflated_bytes: self.max_inflated_bytes,
            use_indexes: true,
        }
    }
}
