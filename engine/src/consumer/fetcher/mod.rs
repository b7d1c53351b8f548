//! The fetcher: a thread that walks the assigned partitions ahead of the
//! caller and pushes [`CompletedFetch`]es into a bounded single-producer
//! single-consumer ring (`rtrb`).
//!
//! A completed fetch is a run of whole batches of one segment: the shared
//! mapping, the batches' positions, their inflated buffers when compressed,
//! and what to do with each batch (deliver, or skip as control / aborted).
//! CRCs are verified and compressed batches inflated here, so on two cores
//! that work overlaps with the caller's. Work ahead is bounded in bytes
//! (`fetch_max_bytes`, soft as in KIP-74: a fetch whose first batch is larger
//! still goes through) and in fetches (the ring's capacity).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::compression::Decompressor;
use crate::error::{Corruption, Error, Result};
use crate::log_dir::PartitionDir;
use crate::mmap::Mapping;
use crate::partition::{Partition, ReadOptions};
use crate::prefetch::{IoMode, Prefetcher};
use crate::record::{ControlRecordType, RecordBatch};
use crate::segment::{Segment, SegmentEnd};

use super::damage::{Damage, OnDamage};
use super::txn::{AbortedIndex, AbortedTxnSource, IndexedTxns, TxnOutcome};
use super::IsolationLevel;

mod isolation;
use isolation::{txn_fate, Fate, TxnSource};

/// How long the fetcher sleeps when it has nothing to do and is following
/// live logs (it is woken earlier by any command).
const FOLLOW_RECHECK: Duration = Duration::from_millis(50);

/// A fetcher out of budget sleeps on a timer and looks again, up to
/// [`BUDGET_RECHECKS`] times before it parks until the caller wakes it. The
/// caller gives budget back as it reads; a wake-up from it is a system call
/// on its path (10-30 µs on a VM, a tenth of the time it takes to read the
/// half budget that triggers it), a timer on the fetcher's CPU is not. The
/// first sleep is most of the previous wait for budget (a few wake-ups a
/// wait, not dozens: on a busy machine each preempts a thread), the next
/// ones [`BUDGET_RECHECK`].
const BUDGET_RECHECK: Duration = Duration::from_micros(20);
const BUDGET_RECHECKS: u32 = 50;
const BUDGET_FIRST_SLEEP_MAX: Duration = Duration::from_millis(1);

/// Timer slack of the fetcher thread (Linux's default is 50 µs, longer than
/// [`BUDGET_RECHECK`]).
const TIMER_SLACK_NS: u64 = 5_000;

/// Fetches the fetcher may always hold ahead of the caller, whatever their
/// size (`fetch_max_bytes` is soft): with one, a batch larger than the
/// budget would be fetched only once the caller is done with the previous
/// one, and the two threads would take turns instead of overlapping.
pub(crate) const MIN_FETCHES_AHEAD: u64 = 2;

/// How far ahead of a partition's next fetch pages are prefetched.
const PREFETCH_AHEAD: u64 = 8 << 20;

/// One batch of a completed fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchBatch {
    /// Byte position of the batch in the segment.
    pub(crate) position: usize,
    /// Size in bytes, log overhead included.
    pub(crate) size: usize,
    /// Index into [`CompletedFetch::inflated`] for a compressed batch.
    pub(crate) inflated: Option<usize>,
    /// Whether the batch's records go to the caller (false for control
    /// batches and, under read_committed, aborted transactional batches).
    pub(crate) deliver: bool,
    /// Records at the start of the batch below the fetch offset (a seek into
    /// the middle of a batch), never delivered.
    pub(crate) skip: u32,
    /// Records the batch holds (after `skip`) when delivered.
    pub(crate) records: u32,
    /// The offset after this batch.
    pub(crate) next_offset: i64,
}

/// What ended a fetch besides running out of budget.
#[derive(Debug)]
pub(crate) enum FetchEnd {
    /// More batches may follow in the next fetch.
    More,
    /// The partition is read to its end (or to its last stable offset).
    EndOfLog,
    /// The batch after the last one here is corrupt: raised when the caller's
    /// position reaches it.
    Error(Error),
}

/// A run of whole batches of one partition's segment, ready for `poll`.
#[derive(Debug)]
pub(crate) struct CompletedFetch {
    /// Index of the partition in the consumer's assignment.
    pub(crate) partition: usize,
    /// The partition's position epoch this fetch was made for; a seek bumps
    /// the epoch and stale fetches are dropped.
    pub(crate) epoch: u64,
    /// The segment the batches are in (a shared mapping).
    pub(crate) segment: Segment,
    pub(crate) batches: Vec<FetchBatch>,
    /// The inflated buffers of the compressed batches, as mappings of
    /// owned bytes so that callers may keep views of them past the poll
    /// ([`crate::SharedBytes`]).
    pub(crate) inflated: Vec<Mapping>,
    /// Bytes this fetch holds against the `fetch_max_bytes` budget.
    pub(crate) budget_bytes: u64,
    pub(crate) end: FetchEnd,
    /// Damage stepped over after this fetch's batches (`OnDamage::Skip`).
    pub(crate) damage: Option<Damage>,
}

impl CompletedFetch {
    /// The bytes of batch `n`.
    pub(crate) fn batch_bytes(&self, batch: &FetchBatch) -> &[u8] {
        self.segment
            .mapping()
            .get(batch.position..batch.position + batch.size)
            .unwrap_or_default()
    }

    /// The inflated buffer of a compressed batch (empty otherwise).
    pub(crate) fn inflated_of(&self, batch: &FetchBatch) -> &[u8] {
        batch
            .inflated
            .and_then(|i| self.inflated.get(i))
            .map_or(&[][..], Mapping::as_slice)
    }
}

/// Commands from the consumer.
#[derive(Debug)]
pub(crate) enum Command {
    /// Replace the assignment: (dir, fetch offset, epoch) per partition
    /// index; a partition without an offset waits for a seek.
    Assign(Vec<(PartitionDir, Option<i64>, u64)>),
    /// Fetch partition `index` from `offset` on, for `epoch`.
    Seek {
        index: usize,
        offset: i64,
        epoch: u64,
    },
    /// Stop or restart fetching a partition.
    Pause { index: usize, paused: bool },
}

/// State shared by the consumer and the fetcher thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Bytes pushed and not yet released by the consumer.
    pub(crate) outstanding: AtomicU64,
    /// Fetches pushed and not yet released by the consumer.
    pub(crate) outstanding_fetches: AtomicU64,
    /// The fetcher is parked until the consumer gives budget back.
    blocked: AtomicBool,
    /// The fetcher sleeps on its own timer between looks at the budget
    /// ([`BUDGET_RECHECKS`]). A consumer about to wait for a fetch wakes it:
    /// the consumer has nothing else to do then, and the timer may have been
    /// set for longer than the consumer took to catch up.
    napping: AtomicBool,
    /// Once blocked, the fetcher is woken when the bytes outstanding fall
    /// below this (half the budget): one wake-up per few fetches released,
    /// not one per fetch (each costs both threads a context switch).
    resume_below: u64,
    pub(crate) stop: AtomicBool,
    /// The consumer thread, while it waits for a fetch.
    pub(crate) waiter: Mutex<Option<Thread>>,
    /// Inflate buffers of released fetches, for the next fetches to reuse:
    /// each compressed batch would otherwise allocate (and page-fault) its
    /// buffer anew.
    spare: Mutex<SpareBuffers>,
    /// Capacity the spare buffers may hold together (the fetch budget: what
    /// the fetches in flight hold at most).
    spare_limit: usize,
}

#[derive(Debug, Default)]
struct SpareBuffers {
    buffers: Vec<Vec<u8>>,
    /// Their capacities, summed.
    bytes: usize,
}

impl Shared {
    /// Whether a fetch may be made with this much outstanding.
    fn may_fetch(bytes: u64, fetches: u64, fetch_max_bytes: u64) -> bool {
        // The budget is soft: a few fetches may always be ahead, so that
        // batches larger than the budget still overlap with the caller.
        bytes < fetch_max_bytes || fetches < MIN_FETCHES_AHEAD
    }

    /// Whether a blocked fetcher should go on with this much outstanding.
    fn may_resume(&self, bytes: u64, fetches: u64) -> bool {
        bytes < self.resume_below || fetches < MIN_FETCHES_AHEAD
    }

    /// An empty byte buffer, reused when one is spare.
    fn take_buffer(&self) -> Vec<u8> {
        let Ok(mut spare) = self.spare.lock() else {
            return Vec::new();
        };
        let buffer = spare.buffers.pop().unwrap_or_default();
        spare.bytes -= buffer.capacity();
        buffer
    }

    /// Keeps a released fetch's inflate buffers for reuse (those that no
    /// caller still holds).
    fn recycle(&self, inflated: Vec<Mapping>) {
        if inflated.is_empty() {
            return;
        }
        let Ok(mut spare) = self.spare.lock() else {
            return;
        };
        for buffer in inflated.into_iter().filter_map(|m| m.try_into_vec().ok()) {
            if spare.bytes + buffer.capacity() > self.spare_limit {
                break;
            }
            // Not cleared: lz4 and snappy overwrite the stale bytes instead
            // of zeroing fresh ones (see `Decompressor::decompress`).
            spare.bytes += buffer.capacity();
            spare.buffers.push(buffer);
        }
    }

    fn wake_consumer(&self) {
        if let Ok(waiter) = self.waiter.lock() {
            if let Some(thread) = waiter.as_ref() {
                thread.unpark();
            }
        }
    }
}

/// Settings the fetcher works with.
#[derive(Debug, Clone)]
pub(crate) struct FetcherConfig {
    pub(crate) read: ReadOptions,
    pub(crate) fetch_max_bytes: u64,
    pub(crate) max_partition_fetch_bytes: u64,
    pub(crate) isolation_level: IsolationLevel,
    pub(crate) aborted_txn_source: AbortedTxnSource,
    pub(crate) follow: bool,
    pub(crate) io_mode: IoMode,
    pub(crate) ring_capacity: usize,
    pub(crate) on_damage: OnDamage,
}

/// The consumer's handle on its fetcher thread: the ring's read end, the
/// command channel, and the thread (joined on drop).
#[derive(Debug)]
pub(crate) struct FetcherHandle {
    pub(crate) ring: rtrb::Consumer<CompletedFetch>,
    commands: mpsc::Sender<Command>,
    pub(crate) shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The prefetch mode the fetcher settled on.
    pub(crate) io_mode: IoMode,
}

impl FetcherHandle {
    /// Starts the fetcher thread.
    pub(crate) fn start(config: FetcherConfig) -> Result<FetcherHandle> {
        let (producer, ring) = rtrb::RingBuffer::new(config.ring_capacity.max(1));
        let (commands, receiver) = mpsc::channel();
        let shared = Arc::new(Shared {
            resume_below: config.fetch_max_bytes / 2,
            spare_limit: usize::try_from(config.fetch_max_bytes).unwrap_or(usize::MAX),
            ..Shared::default()
        });
        let (mode_tx, mode_rx) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("kreplay-fetcher".into())
            .spawn(move || {
                let prefetcher = Prefetcher::new(config.io_mode, PREFETCH_AHEAD);
                let _ = mode_tx.send(prefetcher.mode());
                Fetcher {
                    config,
                    ring: producer,
                    commands: receiver,
                    shared: thread_shared,
                    partitions: Vec::new(),
                    open: VecDeque::new(),
                    next: 0,
                    decompressor: Decompressor::new(),
                    prefetcher,
                    rechecks: 0,
                    waited_since: None,
                    last_wait: Duration::ZERO,
                }
                .run();
            })
            .map_err(|e| Error::Config(format!("cannot start the fetcher thread: {e}")))?;
        let io_mode = mode_rx.recv().unwrap_or(IoMode::Off);
        Ok(FetcherHandle {
            ring,
            commands,
            shared,
            thread: Some(thread),
            io_mode,
        })
    }

    /// Sends a command and wakes the fetcher.
    pub(crate) fn send(&self, command: Command) {
        let _ = self.commands.send(command);
        self.wake_fetcher();
    }

    /// Gives a fetch's budget back (and its buffers, for reuse), and wakes
    /// the fetcher if it waits for budget and enough is back.
    pub(crate) fn release(&self, fetch: CompletedFetch) {
        let shared = &self.shared;
        let bytes = fetch.budget_bytes;
        shared.recycle(fetch.inflated);
        let bytes_left = shared
            .outstanding
            .fetch_sub(bytes, Ordering::SeqCst)
            .saturating_sub(bytes);
        let fetches_left = shared
            .outstanding_fetches
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        // SeqCst with the fetcher's store of `blocked` and its load of the
        // counters: either it sees what was given back, or this sees it
        // blocked (no wake-up is lost).
        if shared.blocked.load(Ordering::SeqCst) && shared.may_resume(bytes_left, fetches_left) {
            self.wake_fetcher();
        }
    }

    /// Wakes the fetcher if it sleeps on its budget timer (see
    /// [`Shared::napping`]); called by a consumer about to wait for a fetch.
    pub(crate) fn wake_napping_fetcher(&self) {
        if self.shared.napping.load(Ordering::SeqCst) {
            self.wake_fetcher();
        }
    }

    pub(crate) fn wake_fetcher(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }
}

impl Drop for FetcherHandle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.wake_fetcher();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Fetches still in the ring are dropped with it: their mappings and
        // buffers go too.
    }
}

/// Where a partition's reader is.
#[derive(Debug)]
struct Reader {
    dir: PartitionDir,
    partition: Option<Partition>,
    epoch: u64,
    paused: bool,
    /// Whether the fetch offset is known (else the partition waits for a seek).
    positioned: bool,
    /// The next offset to fetch.
    fetch_offset: i64,
    /// The open segment and the byte position of the next batch in it,
    /// once the fetch offset has been located.
    location: Option<(usize, Segment, u64)>,
    /// The segment `location` held before a seek: the seek's search reuses
    /// it when it lands in the same file, unchanged, instead of mapping the
    /// file anew (and the kernel filling its page tables again).
    kept: Option<Segment>,
    /// Caught up with the log (or blocked at the last stable offset).
    at_end: bool,
    /// A corrupt batch was reported: nothing more until a seek.
    failed: bool,
    /// read_committed: producer id → (marker offset, aborted) of the
    /// transaction the reader is inside.
    txns: HashMap<i64, (i64, bool)>,
    /// read_committed: where aborted transactions are learnt, for the
    /// partition as opened now.
    txn_source: TxnSource,
    /// In the fetcher's queue of readers holding an open segment.
    queued: bool,
}

/// Segments the fetcher keeps open at most (each holds a descriptor and a
/// mapping); a reader beyond it closes its segment and finds its place again
/// (through the offset index) at its next fetch. Fetches in the ring and in
/// the consumer hold theirs too, so a consumer's descriptors stay below this
/// plus the ring's capacity, however many partitions it reads.
pub(crate) const MAX_OPEN_SEGMENTS: usize = 256;

struct Fetcher {
    config: FetcherConfig,
    ring: rtrb::Producer<CompletedFetch>,
    commands: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    partitions: Vec<Reader>,
    /// Readers holding an open segment, oldest first (at most
    /// [`MAX_OPEN_SEGMENTS`]).
    open: VecDeque<usize>,
    /// Round-robin cursor over the partitions.
    next: usize,
    decompressor: Decompressor,
    prefetcher: Prefetcher,
    /// Looks at the budget since the last fetch ([`BUDGET_RECHECKS`]).
    rechecks: u32,
    /// When the current wait for budget began, and how long the last took.
    waited_since: Option<Instant>,
    last_wait: Duration,
}

impl Fetcher {
    fn run(mut self) {
        #[cfg(target_os = "linux")]
        {
            // Best effort: without it the rechecks only sleep longer.
            let _ =
                rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(TIMER_SLACK_NS));
        }
        while !self.shared.stop.load(Ordering::Acquire) {
            self.drain_commands();
            self.prefetcher.reap();
            let shared = &self.shared;
            let budget_left = Shared::may_fetch(
                shared.outstanding.load(Ordering::SeqCst),
                shared.outstanding_fetches.load(Ordering::SeqCst),
                self.config.fetch_max_bytes,
            );
            if !budget_left || self.ring.is_full() {
                if self.rechecks < BUDGET_RECHECKS {
                    let sleep = if self.rechecks == 0 {
                        self.waited_since = Some(Instant::now());
                        (self.last_wait * 4 / 5).clamp(BUDGET_RECHECK, BUDGET_FIRST_SLEEP_MAX)
                    } else {
                        BUDGET_RECHECK
                    };
                    self.rechecks += 1;
                    shared.napping.store(true, Ordering::SeqCst);
                    // Looked at again after the flag is up: a consumer that
                    // released budget and then found the flag down did not
                    // wake this thread, so what it gave back must be seen.
                    if !Shared::may_fetch(
                        shared.outstanding.load(Ordering::SeqCst),
                        shared.outstanding_fetches.load(Ordering::SeqCst),
                        self.config.fetch_max_bytes,
                    ) || self.ring.is_full()
                    {
                        thread::park_timeout(sleep);
                    }
                    shared.napping.store(false, Ordering::SeqCst);
                    continue;
                }
                // The caller has stopped reading for a while: wait until half
                // the budget is back (or the ring drains, which the
                // consumer's release also reports).
                shared.blocked.store(true, Ordering::SeqCst);
                let resume = shared.may_resume(
                    shared.outstanding.load(Ordering::SeqCst),
                    shared.outstanding_fetches.load(Ordering::SeqCst),
                ) && !self.ring.is_full();
                if !resume {
                    thread::park_timeout(FOLLOW_RECHECK);
                }
                shared.blocked.store(false, Ordering::SeqCst);
                continue;
            }
            // Whatever it finds, the wait for budget (if any) is over.
            if let Some(since) = self.waited_since.take() {
                self.last_wait = since.elapsed();
            }
            self.rechecks = 0;
            match self.fetch_one() {
                Some(fetch) => {
                    self.shared
                        .outstanding
                        .fetch_add(fetch.budget_bytes, Ordering::AcqRel);
                    self.shared
                        .outstanding_fetches
                        .fetch_add(1, Ordering::AcqRel);
                    if self.ring.push(fetch).is_err() {
                        // Full despite the check: cannot happen with one producer.
                        thread::park_timeout(FOLLOW_RECHECK);
                    }
                    self.shared.wake_consumer();
                }
                None => {
                    // Nothing to fetch: every partition is paused, failed or
                    // at its end. Following, look again after a while.
                    self.shared.wake_consumer();
                    thread::park_timeout(if self.config.follow {
                        FOLLOW_RECHECK
                    } else {
                        Duration::from_secs(1)
                    });
                    if self.config.follow {
                        for reader in &mut self.partitions {
                            if reader.at_end && !reader.failed {
                                reader.at_end = false;
                                reader.partition = None; // relist segments
                                reader.location = None;
                            }
                        }
                    }
                }
            }
        }
    }

    fn drain_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Assign(list) => {
                    self.partitions = list
                        .into_iter()
                        .map(|(dir, fetch_offset, epoch)| Reader {
                            dir,
                            partition: None,
                            epoch,
                            paused: false,
                            positioned: fetch_offset.is_some(),
                            fetch_offset: fetch_offset.unwrap_or(0),
                            location: None,
                            kept: None,
                            at_end: false,
                            failed: false,
                            txns: HashMap::new(),
                            txn_source: TxnSource::initial(self.config.aborted_txn_source),
                            queued: false,
                        })
                        .collect();
                    self.open.clear();
                    self.next = 0;
                }
                Command::Seek {
                    index,
                    offset,
                    epoch,
                } => {
                    if let Some(reader) = self.partitions.get_mut(index) {
                        reader.positioned = true;
                        reader.fetch_offset = offset;
                        reader.epoch = epoch;
                        reader.kept = reader.location.take().map(|(_, segment, _)| segment);
                        reader.at_end = false;
                        reader.failed = false;
                        reader.txns.clear();
                        reader.txn_source = TxnSource::initial(self.config.aborted_txn_source);
                    }
                }
                Command::Pause { index, paused } => {
                    if let Some(reader) = self.partitions.get_mut(index) {
                        reader.paused = paused;
                    }
                }
            }
        }
    }

    /// Queues reader `index` if it holds an open segment, and closes the
    /// oldest readers' segments beyond [`MAX_OPEN_SEGMENTS`].
    fn note_open(&mut self, index: usize) {
        let Some(reader) = self.partitions.get_mut(index) else {
            return;
        };
        if reader.location.is_none() || reader.queued {
            return;
        }
        reader.queued = true;
        self.open.push_back(index);
        while self.open.len() > MAX_OPEN_SEGMENTS {
            let Some(oldest) = self.open.pop_front() else {
                break;
            };
            if let Some(reader) = self.partitions.get_mut(oldest) {
                reader.queued = false;
                reader.location = None;
            }
        }
    }

    /// Makes one fetch from the next partition that has something to give.
    fn fetch_one(&mut self) -> Option<CompletedFetch> {
        let count = self.partitions.len();
        for _ in 0..count {
            let index = self.next % count;
            self.next = self.next.wrapping_add(1);
            let ready = self
                .partitions
                .get(index)
                .is_some_and(|r| r.positioned && !r.paused && !r.at_end && !r.failed);
            if !ready {
                continue;
            }
            let fetch = self.fetch_partition(index);
            self.note_open(index);
            if let Some(fetch) = fetch {
                return Some(fetch);
            }
        }
        None
    }

    /// A fetch from partition `index`, or `None` when it has nothing now (it
    /// is then marked at its end).
    fn fetch_partition(&mut self, index: usize) -> Option<CompletedFetch> {
        let config = self.config.clone();
        let reader = self.partitions.get_mut(index)?;
        let epoch = reader.epoch;
        let fail = |reader: &mut Reader, segment: Segment, error: Error| {
            reader.failed = true;
            Some(empty_fetch(index, epoch, segment, FetchEnd::Error(error)))
        };
        let mut located = locate(reader, &config.read);
        if located.as_ref().is_err_and(is_not_found) {
            // A segment listed a moment ago is gone: retention deleted it.
            // List the partition again and go on from the fetch offset (or
            // the new log start past it), as Kafka's consumer does.
            log::info!(
                "{}: a segment was deleted while being located; listing the partition again",
                reader.dir.path.display()
            );
            reader.partition = None;
            reader.location = None;
            located = locate(reader, &config.read);
        }
        if let Err(error) = located {
            let segment = Segment::from_mapping(reader.dir.path.clone(), 0, Mapping::empty());
            return fail(reader, segment, error);
        }
        let Some((segment_index, segment, position)) = reader.location.clone() else {
            // Past the last record: tell the consumer once, with an empty fetch.
            reader.at_end = true;
            let segment = Segment::from_mapping(reader.dir.path.clone(), 0, Mapping::empty());
            return Some(empty_fetch(index, epoch, segment, FetchEnd::EndOfLog));
        };
        let mut batches = Vec::new();
        let mut inflated = Vec::new();
        let mut bytes = 0u64;
        let mut end = FetchEnd::More;
        let mut iter = segment.batches_from(position, config.read.check_crcs);
        let mut next_position = position;
        let mut damage = None;
        loop {
            if bytes >= config.max_partition_fetch_bytes && !batches.is_empty() {
                break;
            }
            let Some(item) = iter.next() else {
                break;
            };
            let batch = match item {
                Ok(batch) => batch,
                Err(error) => {
                    end = FetchEnd::Error(error);
                    reader.failed = true;
                    break;
                }
            };
            if batch.last_offset() < reader.fetch_offset {
                // Entirely below the fetch offset (the seek's batch search
                // lands on the batch holding it; this covers what precedes).
                next_position = batch.position + batch.size_in_bytes() as u64;
                continue;
            }
            let fate = match config.isolation_level {
                IsolationLevel::ReadUncommitted if batch.is_control_batch() => Fate::Skip,
                IsolationLevel::ReadUncommitted => Fate::Deliver,
                IsolationLevel::ReadCommitted => {
                    match txn_fate(
                        reader,
                        &segment,
                        segment_index,
                        &batch.batch,
                        batch.position,
                        &config.read,
                    ) {
                        Ok(fate) => fate,
                        Err(error) => {
                            end = FetchEnd::Error(error);
                            reader.failed = true;
                            break;
                        }
                    }
                }
            };
            if matches!(fate, Fate::Blocked) {
                end = FetchEnd::EndOfLog;
                reader.at_end = true;
                break;
            }
            let deliver = matches!(fate, Fate::Deliver);
            let mut entry = FetchBatch {
                position: batch.position as usize,
                size: batch.size_in_bytes(),
                inflated: None,
                deliver,
                skip: 0,
                records: 0,
                next_offset: batch.next_offset(),
            };
            if deliver {
                if let Err(kind) = fill_counts(
                    &mut entry,
                    &batch.batch,
                    reader.fetch_offset,
                    &mut self.decompressor,
                    &mut inflated,
                    &self.shared,
                    &config.read,
                ) {
                    end = FetchEnd::Error(segment.corrupt(
                        batch.position,
                        Some(batch.base_offset()),
                        kind,
                    ));
                    reader.failed = true;
                    break;
                }
            }
            bytes += entry.size as u64
                + entry
                    .inflated
                    .and_then(|i| inflated.get(i))
                    .map_or(0, |b| b.len() as u64);
            next_position = batch.position + entry.size as u64;
            reader.fetch_offset = entry.next_offset;
            batches.push(entry);
        }
        let segment_end = iter.end().cloned();
        // Where the next fetch starts.
        match (&end, segment_end) {
            (FetchEnd::More, Some(segment_end @ (SegmentEnd::Clean | SegmentEnd::TornTail(_)))) => {
                if let SegmentEnd::TornTail(tail) = segment_end {
                    let next_base_offset = reader
                        .partition
                        .as_ref()
                        .and_then(|p| p.segments().get(segment_index + 1))
                        .map(|next| next.base_offset);
                    if let Some(next_base_offset) = next_base_offset {
                        // Not the end of the log: damage, reported with the
                        // offsets it hides (or raised, under `OnDamage::Stop`).
                        let kind = Corruption::TornTailBeforeNextSegment { tail };
                        match config.on_damage {
                            OnDamage::Stop => {
                                end = FetchEnd::Error(segment.corrupt(
                                    tail.valid_bytes,
                                    Some(reader.fetch_offset),
                                    kind,
                                ));
                                reader.failed = true;
                            }
                            OnDamage::Skip => {
                                let first = reader.fetch_offset;
                                damage = Some(Damage {
                                    topic_partition: reader.dir.topic_partition.clone(),
                                    path: segment.path().to_path_buf(),
                                    position: tail.valid_bytes,
                                    missing_offsets: (first < next_base_offset)
                                        .then(|| first..=next_base_offset - 1),
                                    kind,
                                });
                            }
                        }
                    }
                }
                let has_next = reader
                    .partition
                    .as_ref()
                    .is_some_and(|p| segment_index + 1 < p.segments().len());
                if reader.failed {
                    reader.location = Some((segment_index, segment.clone(), next_position));
                } else if has_next {
                    let next = segment_index + 1;
                    match reader.partition.as_ref().map(|p| p.open_segment(next)) {
                        Some(Ok(seg)) => reader.location = Some((next, seg, 0)),
                        Some(Err(error)) if is_not_found(&error) => {
                            // Deleted by retention since the listing: list
                            // again at the next fetch.
                            reader.partition = None;
                            reader.location = None;
                        }
                        Some(Err(error)) => {
                            end = FetchEnd::Error(error);
                            reader.failed = true;
                        }
                        None => reader.location = None,
                    }
                } else {
                    reader.at_end = true;
                    reader.location = Some((segment_index, segment.clone(), next_position));
                    end = FetchEnd::EndOfLog;
                }
            }
            _ => {
                reader.location = Some((segment_index, segment.clone(), next_position));
            }
        }
        if let Some((_, next_segment, next_pos)) = &reader.location {
            // Warm the pages the next fetches will read (the prefetcher
            // requests only what it has not requested yet).
            let len = (4 * config.max_partition_fetch_bytes).max(PREFETCH_AHEAD);
            self.prefetcher
                .prefetch(next_segment.mapping(), *next_pos, len);
        }
        if batches.is_empty() && matches!(end, FetchEnd::More) && damage.is_none() {
            // Moved to the next segment without a batch: fetch again later.
            return self.fetch_partition(index);
        }
        Some(CompletedFetch {
            partition: index,
            epoch,
            segment,
            batches,
            inflated,
            budget_bytes: bytes,
            end,
            damage,
        })
    }
}

/// A file that is not there (any more).
pub(super) fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

fn empty_fetch(partition: usize, epoch: u64, segment: Segment, end: FetchEnd) -> CompletedFetch {
    CompletedFetch {
        partition,
        epoch,
        segment,
        batches: Vec::new(),
        inflated: Vec::new(),
        budget_bytes: 0,
        end,
        damage: None,
    }
}

/// Opens the partition and finds the batch holding the fetch offset, if not
/// done yet. Leaves `location` `None` when the offset is past the log's end.
fn locate(reader: &mut Reader, read: &ReadOptions) -> Result<()> {
    if reader.partition.is_none() {
        reader.partition = Some(Partition::open(&reader.dir, *read)?);
        // New segments may have new `.txnindex` entries (and the look-ahead
        // state belongs to the old listing).
        if !matches!(reader.txn_source, TxnSource::Markers) {
            reader.txn_source = TxnSource::Unloaded;
        }
    }
    if reader.location.is_some() {
        return Ok(());
    }
    let Some(partition) = reader.partition.as_ref() else {
        return Ok(());
    };
    let kept = reader.kept.take();
    let open = |n: usize| match &kept {
        Some(segment)
            if partition.segments().get(n).map(|f| f.path.as_path()) == Some(segment.path())
                && unchanged(segment) =>
        {
            Ok(segment.clone())
        }
        _ => partition.open_segment(n),
    };
    if let Some((position, segment)) = partition.seek_open(reader.fetch_offset, open)? {
        reader.location = Some((position.segment, segment, position.position));
    }
    Ok(())
}

/// Whether a segment's file still has the length it was mapped with (a
/// segment that grew, or was truncated and rewritten, is mapped again). An
/// object store's segment is immutable once written.
fn unchanged(segment: &Segment) -> bool {
    crate::storage::is_mounted(segment.path())
        || std::fs::metadata(segment.path()).is_ok_and(|m| m.len() == segment.size())
}

/// Counts a delivered batch's records, inflating it when compressed, and the
/// records below the fetch offset at its start.
fn fill_counts(
    entry: &mut FetchBatch,
    batch: &RecordBatch<'_>,
    fetch_offset: i64,
    decompressor: &mut Decompressor,
    inflated: &mut Vec<Mapping>,
    spare: &Shared,
    read: &ReadOptions,
) -> std::result::Result<(), crate::error::Corruption> {
    let mut buffer = Vec::new();
    if batch.needs_inflation() {
        buffer = spare.take_buffer();
        batch.inflate_into(decompressor, &mut buffer, read.max_inflated_bytes)?;
    }
    let header_count = batch.records_count();
    let needs_walk = batch.base_offset() < fetch_offset || header_count.is_none();
    if needs_walk {
        let mut skip = 0u32;
        let mut total = 0u32;
        for record in batch.records_with(&buffer, read.check_crcs)? {
            let record = record?;
            if record.offset() < fetch_offset {
                skip += 1;
            }
            total += 1;
        }
        entry.skip = skip;
        entry.records = total - skip;
    } else {
        entry.records = header_count.unwrap_or(0).max(0) as u32;
    }
    if batch.needs_inflation() {
        entry.inflated = Some(inflated.len());
        inflated.push(Mapping::from_vec(buffer));
    }
    Ok(())
}
