//! The segments of one `<topic>-<partition>` directory, in base-offset order.
//!
//! Which files are segments: `<20 digits>.log`. Files Kafka is deleting
//! (`.deleted`) or cleaning (`.cleaned`) are ignored. A `.log.swap` file is a
//! complete replacement written by the log cleaner or a segment split; Kafka's
//! recovery renames it over the segments it replaces. kreplay never renames
//! anything in a log dir, so it reads the original `.log` when one with the
//! same base offset exists (its records are a superset of the cleaned ones)
//! and the `.swap` only when the original is already gone.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::index::{OffsetIndex, TimeIndex};
use crate::log_dir::{
    read_offset_checkpoint, PartitionDir, TopicPartition, LOG_START_OFFSET_CHECKPOINT,
};
use crate::mmap::ReadStrategy;
use crate::record::{Inflater, DEFAULT_MAX_INFLATED_BYTES, MAGIC_V2};
use crate::segment::{base_offset_from_file_name, Batches, Segment};
use crate::storage::{self, EntryKind};

/// How segment files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Map or read the files.
    pub strategy: ReadStrategy,
    /// Verify batch CRCs (Kafka's `check.crcs`, on by default).
    pub check_crcs: bool,
    /// Cap on one compressed batch's inflated size.
    pub max_inflated_bytes: usize,
    /// Use `.index` / `.timeindex` files when they are sane (else scan).
    pub use_indexes: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            strategy: ReadStrategy::Mmap,
            check_crcs: true,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            use_indexes: true,
        }
    }
}

impl ReadOptions {
    /// An [`Inflater`] configured from these options.
    pub fn inflater(&self) -> Inflater {
        Inflater::new(self.max_inflated_bytes, self.check_crcs)
    }
}

/// A segment file of a partition, not yet opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    /// The base offset from the file name.
    pub base_offset: i64,
    /// The `.log` (or `.log.swap`) file.
    pub path: PathBuf,
    /// Its size when the partition was opened.
    pub size: u64,
}

impl SegmentFile {
    /// The path of an index file beside this segment (`index`, `timeindex`, `txnindex`).
    pub fn index_path(&self, suffix: &str) -> PathBuf {
        self.path
            .with_file_name(crate::segment::segment_file_name(self.base_offset, suffix))
    }
}

/// A position in a partition: a segment and a byte position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    /// Index into [`Partition::segments`].
    pub segment: usize,
    /// Byte position of a batch start in that segment.
    pub position: u64,
}

/// A record found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampAndOffset {
    /// The record's timestamp.
    pub timestamp: i64,
    /// The record's offset.
    pub offset: i64,
}

/// One partition directory.
#[derive(Debug, Clone)]
pub struct Partition {
    topic_partition: TopicPartition,
    dir: PathBuf,
    segments: Vec<SegmentFile>,
    checkpoint_log_start_offset: Option<i64>,
    options: ReadOptions,
}

impl Partition {
    /// Opens a partition directory: lists its segments (nothing is mapped yet)
    /// and reads the log dir's `log-start-offset-checkpoint` when present.
    pub fn open(dir: &PartitionDir, options: ReadOptions) -> Result<Partition> {
        let segments = list_segments(&dir.path)?;
        let checkpoint = dir
            .path
            .parent()
            .and_then(|root| checkpointed_log_start(root, &dir.topic_partition));
        Ok(Partition {
            topic_partition: dir.topic_partition.clone(),
            dir: dir.path.clone(),
            segments,
            checkpoint_log_start_offset: checkpoint,
            options,
        })
    }

    /// The topic and partition.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic_partition.topic
    }

    /// The partition number.
    pub fn partition(&self) -> i32 {
        self.topic_partition.partition
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The read options.
    pub fn options(&self) -> &ReadOptions {
        &self.options
    }

    /// The segment files in base-offset order.
    pub fn segments(&self) -> &[SegmentFile] {
        &self.segments
    }

    /// Opens (maps) segment `n`.
    pub fn open_segment(&self, n: usize) -> Result<Segment> {
        let file = self.segments.get(n).ok_or_else(|| Error::InvalidPath {
            path: self.dir.clone(),
            reason: format!("no segment number {n}"),
        })?;
        if let Some(next) = self.segments.get(n + 1) {
            // A store fetching over the network starts on the next one now.
            crate::mmap::will_open(&next.path);
        }
        let mut segment = Segment::open(&file.path, self.options.strategy)?;
        if segment.base_offset() != file.base_offset {
            segment = Segment::from_mapping(
                file.path.clone(),
                file.base_offset,
                segment.mapping().clone(),
            );
        }
        Ok(segment)
    }

    /// The log start offset from `log-start-offset-checkpoint`, when the log
    /// dir has one with an entry for this partition.
    pub fn checkpoint_log_start_offset(&self) -> Option<i64> {
        self.checkpoint_log_start_offset
    }

    /// The log start offset: as Kafka's log loader, the larger of the
    /// checkpointed value and the first batch's base offset (the first
    /// segment's base offset when the log holds no batch).
    pub fn log_start_offset(&self) -> Result<i64> {
        let mut first = None;
        for n in 0..self.segments.len() {
            let segment = self.open_segment(n)?;
            if let Some(batch) = segment.batches_from(0, false).next() {
                let batch = batch?;
                first = Some(
                    if batch.magic() < MAGIC_V2 && batch.compression() != Compression::None {
                        // A legacy wrapper's offset is its last inner offset:
                        // the first record's offset is inside.
                        let mut inflater = self.options.inflater();
                        let corrupt =
                            |kind| segment.corrupt(batch.position, Some(batch.base_offset()), kind);
                        match batch.records(&mut inflater).map_err(corrupt)?.next() {
                            Some(record) => record.map_err(corrupt)?.offset(),
                            None => batch.base_offset(),
                        }
                    } else {
                        batch.base_offset()
                    },
                );
                break;
            }
        }
        let first = first
            .or_else(|| self.segments.first().map(|s| s.base_offset))
            .unwrap_or(0);
        Ok(self
            .checkpoint_log_start_offset
            .map_or(first, |c| c.max(first)))
    }

    /// The log end offset: the offset after the last complete batch (the last
    /// segment's base offset when it holds none). Corruption on the way is an error.
    pub fn log_end_offset(&self) -> Result<i64> {
        for n in (0..self.segments.len()).rev() {
            let segment = self.open_segment(n)?;
            let start = self.index_position(n, &segment, i64::MAX);
            let mut last = None;
            for batch in self.batches_from_index(&segment, start, false) {
                last = Some(batch?.next_offset());
            }
            if let Some(next) = last {
                return Ok(next);
            }
        }
        Ok(self.segments.last().map_or(0, |s| s.base_offset))
    }

    /// Batches from a position an index gave. An index that passed the
    /// sanity checks can still point inside a batch (a damaged file whose
    /// entries stay ordered): when the batch at `start` does not parse, the
    /// segment is scanned from its start instead, so a lying index costs
    /// time, never records.
    fn batches_from_index<'s>(
        &self,
        segment: &'s Segment,
        start: u64,
        check_crcs: bool,
    ) -> Batches<'s> {
        if start > 0 && !matches!(segment.batches_from(start, true).next(), Some(Ok(_)) | None) {
            log::debug!(
                "{}: index position {start} is not a batch start; scanning the log",
                segment.path().display()
            );
            return segment.batches_from(0, check_crcs);
        }
        segment.batches_from(start, check_crcs)
    }

    /// Byte position in segment `n` from which to scan for `target_offset`:
    /// the offset index's floor entry when the index is sane, else 0.
    fn index_position(&self, n: usize, segment: &Segment, target_offset: i64) -> u64 {
        if !self.options.use_indexes {
            return 0;
        }
        let Some(file) = self.segments.get(n) else {
            return 0;
        };
        if target_offset <= file.base_offset {
            // The segment's first batch: no index needed (a seek to the
            // beginning, or into a segment whose base offset it passed).
            return 0;
        }
        let (index, status) = OffsetIndex::open(
            &file.index_path("index"),
            self.options.strategy,
            file.base_offset,
            segment.size(),
        );
        match index {
            Some(index) => u64::from(index.lookup(target_offset).position),
            None => {
                log::debug!(
                    "{}: offset index not used ({status}); scanning the log",
                    file.path.display()
                );
                0
            }
        }
    }

    /// Byte position in segment `n` before which every record's timestamp is
    /// below `timestamp`: from the time index entry with the largest
    /// timestamp strictly below it (entries hold the maximum timestamp so far,
    /// so every earlier record is at most that), through the offset index.
    fn time_index_position(&self, n: usize, segment: &Segment, timestamp: i64) -> u64 {
        if !self.options.use_indexes {
            return 0;
        }
        let Some(file) = self.segments.get(n) else {
            return 0;
        };
        let (index, status) = TimeIndex::open(
            &file.index_path("timeindex"),
            self.options.strategy,
            file.base_offset,
            None,
        );
        let Some(index) = index else {
            log::debug!(
                "{}: time index not used ({status}); scanning the log",
                file.path.display()
            );
            return 0;
        };
        match index.lookup(timestamp.saturating_sub(1)) {
            Some(entry) => self.index_position(n, segment, entry.offset),
            None => 0,
        }
    }

    /// Finds the batch holding the first record with offset >= `offset`
    /// (offsets inside a compressed batch or a compaction gap land on the next
    /// record that exists). Returns `None` when `offset` is past the last record.
    pub fn seek(&self, offset: i64) -> Result<Option<LogPosition>> {
        let found = self.seek_open(offset, |n| self.open_segment(n))?;
        Ok(found.map(|(position, _)| position))
    }

    /// [`Partition::seek`], with the segment it lands in, opened by `open`
    /// (`open(n)` gives segment `n`: a reader that holds one open hands it
    /// back instead of mapping the file anew).
    pub(crate) fn seek_open(
        &self,
        offset: i64,
        mut open: impl FnMut(usize) -> Result<Segment>,
    ) -> Result<Option<(LogPosition, Segment)>> {
        // The last segment whose base offset is <= offset, or the first.
        let first = self
            .segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        for n in first..self.segments.len() {
            let segment = open(n)?;
            let start = self.index_position(n, &segment, offset);
            let mut found = None;
            for batch in self.batches_from_index(&segment, start, false) {
                let batch = batch?;
                if batch.last_offset() >= offset {
                    found = Some(LogPosition {
                        segment: n,
                        position: batch.position,
                    });
                    break;
                }
            }
            if let Some(position) = found {
                return Ok(Some((position, segment)));
            }
        }
        Ok(None)
    }

    /// Kafka's `offsetsForTimes`: the first record (in offset order) whose
    /// timestamp is >= `timestamp`, or `None` when there is none. Timestamps
    /// are not monotonic, so this scans batch headers (v2 `max_timestamp`)
    /// and decodes only the batch that holds the answer; legacy batches are
    /// decoded (a wrapper's timestamp need not be its inner maximum).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampAndOffset>> {
        let mut inflater = self.options.inflater();
        for n in 0..self.segments.len() {
            let segment = self.open_segment(n)?;
            let start = self.time_index_position(n, &segment, timestamp);
            for batch in self.batches_from_index(&segment, start, self.options.check_crcs) {
                let batch = batch?;
                if batch.magic() == MAGIC_V2 && batch.max_timestamp().is_some_and(|m| m < timestamp)
                {
                    continue;
                }
                let records = batch.records(&mut inflater).map_err(|kind| {
                    segment.corrupt(batch.position, Some(batch.base_offset()), kind)
                })?;
                for record in records {
                    let record = record.map_err(|kind| {
                        segment.corrupt(batch.position, Some(batch.base_offset()), kind)
                    })?;
                    if record.is_control() {
                        continue;
                    }
                    if let Some(ts) = record.timestamp() {
                        if ts >= timestamp {
                            return Ok(Some(TimestampAndOffset {
                                timestamp: ts,
                                offset: record.offset(),
                            }));
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Lists the segment files of a partition directory in base-offset order.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>> {
    let mut logs = Vec::new();
    let mut swaps = Vec::new();
    if let Some(remote) = storage::remote(dir) {
        for entry in remote.list(dir)? {
            if entry.kind != EntryKind::File {
                continue;
            }
            let path = storage::join(dir, &entry.name);
            let is_log = entry.name.len() == 24 && entry.name.ends_with(".log");
            let is_swap = entry.name.len() == 29 && entry.name.ends_with(".log.swap");
            let Some(base_offset) = base_offset_from_file_name(&path) else {
                continue;
            };
            let file = SegmentFile {
                base_offset,
                path,
                size: entry.len,
            };
            match (is_log, is_swap) {
                (true, _) => logs.push(file),
                (_, true) => swaps.push(file),
                _ => {}
            }
        }
        return Ok(prefer_originals(logs, swaps));
    }
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_log = name.len() == 24 && name.ends_with(".log");
        let is_swap = name.len() == 29 && name.ends_with(".log.swap");
        if !(is_log || is_swap) {
            continue;
        }
        let Some(base_offset) = base_offset_from_file_name(&path) else {
            continue;
        };
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            // Deleted (retention) between the listing and now.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        if meta.is_symlink() {
            // A broker never links segments; one could lead anywhere.
            log::warn!("skipping {}: a symlink, not a segment file", path.display());
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let file = SegmentFile {
            base_offset,
            path,
            size: meta.len(),
        };
        if is_log {
            logs.push(file);
        } else {
            swaps.push(file);
        }
    }
    Ok(prefer_originals(logs, swaps))
}

/// The segments in base-offset order: every `.log`, and each `.log.swap`
/// whose original is gone.
fn prefer_originals(mut logs: Vec<SegmentFile>, swaps: Vec<SegmentFile>) -> Vec<SegmentFile> {
    for swap in swaps {
        if logs.iter().any(|l| l.base_offset == swap.base_offset) {
            log::debug!(
                "ignoring {}: its original segment is present",
                swap.path.display()
            );
        } else {
            logs.push(swap);
        }
    }
    logs.sort_by_key(|s| s.base_offset);
    logs
}

/// The log start offset the log dir's `log-start-offset-checkpoint` gives
/// `tp`. The parsed file is kept per log dir (and read again when its size
/// or mtime change): a broker's log dir holds one entry per partition, and
/// reading it for each of 10 000 partitions would be quadratic.
fn checkpointed_log_start(log_dir: &Path, tp: &TopicPartition) -> Option<i64> {
    type Parsed = Arc<HashMap<TopicPartition, i64>>;
    /// Per checkpoint file: its size and mtime when parsed, and the entries.
    type Cache = HashMap<PathBuf, (u64, Option<SystemTime>, Parsed)>;
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let path = log_dir.join(LOG_START_OFFSET_CHECKPOINT);
    let stamp = match storage::remote(&path) {
        Some(remote) => (remote.file_len(&path).ok()??, None),
        None => {
            let meta = std::fs::metadata(&path).ok()?;
            (meta.len(), meta.modified().ok())
        }
    };
    let mut cache = CACHE.lock().ok()?;
    let cache = cache.get_or_insert_with(HashMap::new);
    let parsed = match cache.get(&path) {
        Some((len, modified, parsed)) if (*len, *modified) == stamp => Arc::clone(parsed),
        _ => {
            let entries = match read_offset_checkpoint(&path) {
                Ok(entries) => entries.unwrap_or_default(),
                Err(e) => {
                    log::warn!("ignoring the log start offset checkpoint: {e}");
                    Vec::new()
                }
            };
            let mut first = HashMap::with_capacity(entries.len());
            for (entry_tp, offset) in entries {
                // As before: the first entry of a partition counts.
                first.entry(entry_tp).or_insert(offset);
            }
            let parsed: Parsed = Arc::new(first);
            if cache.len() >= 64 {
                cache.clear();
            }
            cache.insert(path, (stamp.0, stamp.1, Arc::clone(&parsed)));
            parsed
        }
    };
    parsed.get(tp).copied()
}
