//! [`PartitionWriter`]: one `<topic>-<partition>` dir of segments and
//! indexes, appended the way Kafka's `UnifiedLog` / `LogSegment` append.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::compression::Compression;
use crate::error::{Corruption, Error, Result};
pub use crate::log_dir::LOG_START_OFFSET_CHECKPOINT;
use crate::mmap::ReadStrategy;
use crate::record::{read_log_overhead, ControlRecordType, RecordBatch, TimestampType};
use crate::segment::{Segment, SegmentEnd};

use super::encode::{
    BatchEncoder, BatchSpec, EndTransactionMarker, LegacySpec, RecordSpec, TransactionResult,
    LOG_OVERHEAD,
};

mod checkpoint;
mod options;
mod segment;

pub use checkpoint::{write_log_start_offset_checkpoint, write_offset_checkpoint};
pub use options::WriterOptions;
use segment::*;

/// Kafka's `segment.bytes` default (1 GiB).
pub const DEFAULT_SEGMENT_BYTES: u32 = 1 << 30;
/// Kafka's `index.interval.bytes` default.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u32 = 4096;
/// Kafka's `segment.index.bytes` default (10 MiB): the preallocated size of
/// an active segment's `.index` (and, rounded down to whole entries,
/// `.timeindex`).
pub const DEFAULT_MAX_INDEX_BYTES: u32 = 10 << 20;

const OFFSET_INDEX_ENTRY: usize = 8;
const TIME_INDEX_ENTRY: usize = 12;
/// Kafka's `LegacyRecord.RECORD_OVERHEAD_V0`, the smallest `segment.bytes`.
const MIN_SEGMENT_BYTES: u32 = 14;

/// Where an append went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record (for a batch with leading gaps, of the
    /// batch's base offset).
    pub base_offset: i64,
    /// Offset of the last record (`base_offset + last_offset_delta`).
    pub last_offset: i64,
    /// The largest `max_timestamp` of the appended batches (-1 if none).
    pub max_timestamp: i64,
    /// Base offset of the segment the bytes went to.
    pub segment_base_offset: i64,
    /// Byte position of the appended bytes in that segment's `.log`.
    pub position: u64,
    /// Bytes appended.
    pub size_in_bytes: u64,
}

/// A transaction marker to write: producer, outcome and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkerSpec {
    /// The producer whose transaction ends.
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// Commit or abort, and the coordinator epoch.
    pub marker: EndTransactionMarker,
    /// The coordinator's time, written as the batch timestamp.
    pub timestamp: i64,
}

/// Writes one partition: `<log_dir>/<topic>-<partition>/` with segments
/// `<20-digit base offset>.log` and their `.index`, `.timeindex` and (for
/// aborted transactions) `.txnindex`, byte for byte as a broker would.
///
/// Offsets are assigned like a partition leader does: each append starts at
/// the log end offset unless given an explicit (larger) base offset. The
/// indexes follow Kafka's `LogSegment.append`: after more than
/// `index_interval_bytes` since the last entry, the next batch gets an offset
/// index entry (its last offset, its position) and a time index entry (the
/// largest timestamp so far and its batch's last offset) if that timestamp
/// grew. A batch that would push the segment past `segment_bytes` (or that a
/// full index or a 32-bit relative offset cannot take) starts a new segment;
/// a rolled or closed segment gets a final time index entry and trimmed
/// indexes. An ABORT marker adds an `AbortedTxn` entry to the `.txnindex` of
/// the segment holding it.
///
/// This is current Kafka (4.x): index decisions are made per batch
/// (KAFKA-806), and a time index entry names the last offset of the batch
/// holding the max timestamp (KAFKA-16310, 3.8). Brokers up to 3.7 decided
/// per produce request and, for uncompressed batches, named the offset of the
/// record itself; on the broker-written segments of the conformance corpus
/// the offset indexes come out identical and the time indexes differ only in
/// that offset.
///
/// Bytes go through a buffered writer; indexes are written on
/// [`flush`](Self::flush), [`roll`](Self::roll) and [`close`](Self::close).
/// Dropping the writer closes it, ignoring errors; call `close` to see them.
#[derive(Debug)]
pub struct PartitionWriter {
    dir: PathBuf,
    topic: String,
    partition: i32,
    options: WriterOptions,
    encoder: BatchEncoder,
    buffer: Vec<u8>,
    segment: Option<ActiveSegment>,
    segment_count: usize,
    log_start_offset: i64,
    next_offset: i64,
    /// Largest batch max timestamp written so far in the partition.
    max_timestamp: i64,
    producers: BTreeMap<i64, ProducerState>,
    /// Open transactions: producer id -> first offset.
    open_txns: BTreeMap<i64, i64>,
}

#[derive(Debug, Clone, Copy)]
struct ProducerState {
    epoch: i16,
    next_sequence: i32,
}

impl PartitionWriter {
    /// Creates (or, with [`WriterOptions::append`], reopens) the partition
    /// dir `<log_dir>/<topic>-<partition>` and its first (or last) segment.
    /// Fails if the dir already holds segments and `append` is not set.
    pub fn open(
        log_dir: impl AsRef<Path>,
        topic: &str,
        partition: i32,
        options: WriterOptions,
    ) -> Result<Self> {
        validate_topic(topic)?;
        if partition < 0 {
            return Err(Error::Config(format!("negative partition {partition}")));
        }
        validate_options(&options)?;
        let dir = log_dir.as_ref().join(format!("{topic}-{partition}"));
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let existing = list_segments(&dir)?;
        let mut writer = PartitionWriter {
            dir,
            topic: topic.to_string(),
            partition,
            options,
            encoder: BatchEncoder::new(),
            buffer: Vec::new(),
            segment: None,
            segment_count: 0,
            log_start_offset: 0,
            next_offset: 0,
            max_timestamp: -1,
            producers: BTreeMap::new(),
            open_txns: BTreeMap::new(),
        };
        if existing.is_empty() {
            let start = writer.options.start_offset;
            writer.log_start_offset = start;
            writer.next_offset = start;
            writer.segment = Some(writer.create_segment(start)?);
            writer.segment_count = 1;
        } else if writer.options.append {
            writer.reopen(&existing)?;
        } else {
            return Err(Error::InvalidPath {
                path: writer.dir.clone(),
                reason: format!(
                    "partition dir already holds {} segment(s); set the append option to add to it",
                    existing.len()
                ),
            });
        }
        Ok(writer)
    }

    /// The partition dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The options the writer was opened with.
    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    /// The log end offset: the offset the next append gets.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Base offset of the first segment.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Base offset of the segment being appended to.
    pub fn active_segment_base_offset(&self) -> i64 {
        self.segment
            .as_ref()
            .map_or(self.next_offset, |s| s.state.base_offset)
    }

    /// Number of segments in the partition dir.
    pub fn segment_count(&self) -> usize {
        self.segment_count
    }

    /// Whether `producer_id` has a transaction without its marker yet.
    pub fn has_open_transaction(&self, producer_id: i64) -> bool {
        self.open_txns.contains_key(&producer_id)
    }

    /// Appends one batch of `records` at the log end offset, with the
    /// writer's codec, timestamp type and leader epoch and no producer id.
    /// The records' offset deltas are used as they are (see
    /// [`fill_offset_deltas`](super::fill_offset_deltas)).
    pub fn append(&mut self, records: &[RecordSpec]) -> Result<AppendInfo> {
        let spec = self.default_spec(self.next_offset, records);
        self.append_batch(&spec, records)
    }

    /// Like [`append`](Self::append) at an explicit base offset at or above
    /// the log end offset: the offsets in between are a gap, as a compacted
    /// or replicated log has.
    pub fn append_at(&mut self, base_offset: i64, records: &[RecordSpec]) -> Result<AppendInfo> {
        let spec = self.default_spec(base_offset, records);
        self.append_batch(&spec, records)
    }

    /// Appends a transactional batch for `producer_id` at the log end
    /// offset, opening its transaction if none is open; the base sequence
    /// continues the producer's previous batches.
    pub fn append_transactional(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        records: &[RecordSpec],
    ) -> Result<AppendInfo> {
        let mut spec = self.default_spec(self.next_offset, records);
        spec.is_transactional = true;
        spec.producer_id = Some(producer_id);
        spec.producer_epoch = Some(producer_epoch);
        spec.base_sequence = Some(match self.producers.get(&producer_id) {
            Some(state) if state.epoch == producer_epoch => state.next_sequence,
            _ => 0,
        });
        self.append_batch(&spec, records)
    }

    /// Appends one batch exactly as `spec` says (codec, producer fields,
    /// timestamps, leader epoch...). `spec.base_offset` must be at or above
    /// the log end offset. Producer state (sequences, open transactions) is
    /// tracked from the batch as a broker does.
    pub fn append_batch(&mut self, spec: &BatchSpec, records: &[RecordSpec]) -> Result<AppendInfo> {
        self.check_base_offset(spec.base_offset)?;
        if let Some(producer_id) = spec.producer_id {
            if !spec.is_transactional && self.open_txns.contains_key(&producer_id) {
                return Err(Error::Config(format!(
                    "producer id {producer_id} has an open transaction; a non-transactional batch from it is invalid"
                )));
            }
        }
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let encoded = self.encoder.encode_batch(spec, records, &mut buffer);
        let result = encoded.and_then(|()| self.append_bytes(&buffer, spec.base_offset));
        self.buffer = buffer;
        let info = result?;
        if let Some(producer_id) = spec.producer_id {
            let last_offset_delta = info.last_offset - info.base_offset;
            let epoch = spec.producer_epoch.unwrap_or(-1);
            let next_sequence = spec.base_sequence.map_or(0, |base| {
                // Kafka's DefaultRecordBatch.incrementSequence wraps at i32::MAX.
                let next = i64::from(base) + last_offset_delta + 1;
                (next % (i64::from(i32::MAX) + 1)) as i32
            });
            self.producers.insert(
                producer_id,
                ProducerState {
                    epoch,
                    next_sequence,
                },
            );
            if spec.is_transactional {
                self.open_txns
                    .entry(producer_id)
                    .or_insert(info.base_offset);
            }
        }
        Ok(info)
    }

    /// Appends a legacy magic 0/1 message set at the log end offset with the
    /// writer's codec (zstd is refused) and timestamp type. Uncompressed, each
    /// message is its own batch for the indexes, as in Kafka.
    pub fn append_legacy(&mut self, magic: i8, records: &[RecordSpec]) -> Result<AppendInfo> {
        let base_offset = self.next_offset;
        let spec = LegacySpec {
            magic,
            compression: self.options.compression,
            base_offset,
            timestamp_type: if magic == 0 {
                TimestampType::CreateTime
            } else {
                self.options.timestamp_type
            },
            log_append_time: None,
        };
        if records.is_empty() {
            return Err(Error::Config(
                "a legacy message set needs at least one record".into(),
            ));
        }
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let encoded = self
            .encoder
            .encode_legacy_message_set(&spec, records, &mut buffer);
        let result = encoded.and_then(|()| self.append_bytes(&buffer, base_offset));
        self.buffer = buffer;
        result
    }

    /// Writes a transaction marker at the log end offset. An open
    /// transaction of the producer ends; an ABORT adds an `AbortedTxn` entry
    /// (first offset, the marker's offset, the last stable offset: the first
    /// offset of the earliest other open transaction, else the marker's
    /// offset + 1) to the `.txnindex` of the segment the marker lands in. A
    /// marker without an open transaction is written as a broker would
    /// accept it, and completes nothing.
    pub fn write_marker(&mut self, marker: &MarkerSpec) -> Result<AppendInfo> {
        let base_offset = self.next_offset;
        let spec = BatchSpec {
            base_offset,
            partition_leader_epoch: self.options.partition_leader_epoch,
            timestamp_type: self.options.timestamp_type,
            producer_id: Some(marker.producer_id),
            producer_epoch: Some(marker.producer_epoch),
            ..BatchSpec::default()
        };
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let encoded =
            self.encoder
                .encode_control_batch(&spec, &marker.marker, marker.timestamp, &mut buffer);
        let result = encoded.and_then(|()| self.append_bytes(&buffer, base_offset));
        self.buffer = buffer;
        let info = result?;
        self.complete_transaction(marker.producer_id, marker.marker.result, info.base_offset);
        self.producers
            .entry(marker.producer_id)
            .and_modify(|state| state.epoch = marker.producer_epoch)
            .or_insert(ProducerState {
                epoch: marker.producer_epoch,
                next_sequence: 0,
            });
        Ok(info)
    }

    /// Commits the open transaction of `producer_id` (see
    /// [`write_marker`](Self::write_marker)), with the producer's last
    /// epoch, the configured coordinator epoch and the largest timestamp
    /// written so far.
    pub fn commit(&mut self, producer_id: i64) -> Result<AppendInfo> {
        self.end_transaction(producer_id, TransactionResult::Commit)
    }

    /// Aborts the open transaction of `producer_id`; see
    /// [`commit`](Self::commit).
    pub fn abort(&mut self, producer_id: i64) -> Result<AppendInfo> {
        self.end_transaction(producer_id, TransactionResult::Abort)
    }

    fn end_transaction(
        &mut self,
        producer_id: i64,
        result: TransactionResult,
    ) -> Result<AppendInfo> {
        let Some(state) = self.producers.get(&producer_id) else {
            return Err(Error::Config(format!(
                "producer id {producer_id} has written nothing to this partition"
            )));
        };
        let marker = MarkerSpec {
            producer_id,
            producer_epoch: state.epoch,
            marker: EndTransactionMarker {
                result,
                coordinator_epoch: self.options.coordinator_epoch,
            },
            timestamp: self.max_timestamp.max(0),
        };
        self.write_marker(&marker)
    }

    /// Starts a new segment at the log end offset, as Kafka's `roll` does
    /// (final time index entry and trimmed indexes for the old one). Nothing
    /// happens if the active segment is empty.
    pub fn roll(&mut self) -> Result<()> {
        if self.segment.as_ref().is_some_and(|s| s.state.size == 0) {
            return Ok(());
        }
        self.roll_to(self.next_offset)
    }

    /// Writes buffered bytes and the active segment's indexes to disk (no
    /// fsync).
    pub fn flush(&mut self) -> Result<()> {
        let preallocate = self.options.preallocate_indexes;
        let max_index_bytes = self.options.max_index_bytes;
        if let Some(segment) = self.segment.as_mut() {
            segment.flush_log()?;
            segment
                .state
                .write_indexes(&self.dir, preallocate.then_some(max_index_bytes))?;
        }
        Ok(())
    }

    /// Flushes and closes the partition. A cleanly closed segment gets its
    /// final time index entry and trimmed indexes, unless
    /// `preallocate_indexes` keeps it as an active segment.
    pub fn close(mut self) -> Result<()> {
        self.close_active()
    }

    fn close_active(&mut self) -> Result<()> {
        let preallocate = self.options.preallocate_indexes;
        let max_index_bytes = self.options.max_index_bytes;
        if let Some(mut segment) = self.segment.take() {
            segment.flush_log()?;
            if preallocate {
                segment
                    .state
                    .write_indexes(&self.dir, Some(max_index_bytes))?;
            } else {
                segment.state.become_inactive();
                segment.state.write_indexes(&self.dir, None)?;
            }
        }
        Ok(())
    }

    fn default_spec(&self, base_offset: i64, records: &[RecordSpec]) -> BatchSpec {
        let log_append_time = self.options.timestamp_type == TimestampType::LogAppendTime;
        BatchSpec {
            base_offset,
            partition_leader_epoch: self.options.partition_leader_epoch,
            compression: self.options.compression,
            timestamp_type: self.options.timestamp_type,
            max_timestamp: log_append_time.then(|| {
                // The broker's clock: never behind what it stamped before.
                records
                    .iter()
                    .map(|r| r.timestamp)
                    .fold(self.max_timestamp, i64::max)
            }),
            ..BatchSpec::default()
        }
    }

    fn check_base_offset(&self, base_offset: i64) -> Result<()> {
        if base_offset < self.next_offset {
            return Err(Error::Config(format!(
                "base offset {base_offset} is below the log end offset {}",
                self.next_offset
            )));
        }
        Ok(())
    }

    fn complete_transaction(
        &mut self,
        producer_id: i64,
        result: TransactionResult,
        marker_offset: i64,
    ) {
        let Some(first_offset) = self.open_txns.remove(&producer_id) else {
            return;
        };
        if result != TransactionResult::Abort {
            return;
        }
        let last_stable_offset = self
            .open_txns
            .values()
            .copied()
            .min()
            .unwrap_or(marker_offset + 1);
        if let Some(segment) = self.segment.as_mut() {
            let entry = &mut segment.state.txn_index;
            entry.extend_from_slice(&0i16.to_be_bytes());
            entry.extend_from_slice(&producer_id.to_be_bytes());
            entry.extend_from_slice(&first_offset.to_be_bytes());
            entry.extend_from_slice(&marker_offset.to_be_bytes());
            entry.extend_from_slice(&last_stable_offset.to_be_bytes());
        }
    }

    /// Appends encoded batches (one v2 batch or a legacy message set) that
    /// start at `first_offset`: rolls if needed, writes, updates the indexes.
    fn append_bytes(&mut self, bytes: &[u8], first_offset: i64) -> Result<AppendInfo> {
        let size = bytes.len() as u64;
        let mut metas = Vec::with_capacity(1);
        let mut position = 0usize;
        while let Some(rest) = bytes.get(position..).filter(|rest| !rest.is_empty()) {
            let meta = batch_meta(rest)
                .ok_or_else(|| Error::Config("encoder produced a malformed batch".into()))?;
            position += meta.size as usize;
            metas.push(meta);
        }
        let Some(last) = metas.last() else {
            return Err(Error::Config("nothing to append".into()));
        };
        let last_offset = last.last_offset;
        if size > u64::from(self.options.segment_bytes) {
            return Err(Error::Config(format!(
                "a batch of {size} bytes is larger than segment_bytes ({})",
                self.options.segment_bytes
            )));
        }
        self.maybe_roll(size, first_offset, last_offset)?;

        let interval = u64::from(self.options.index_interval_bytes);
        let dir = &self.dir;
        let Some(segment) = self.segment.as_mut() else {
            return Err(Error::InvalidPath {
                path: dir.clone(),
                reason: "the partition writer is closed".into(),
            });
        };
        let start_position = segment.state.size;
        segment
            .log
            .write_all(bytes)
            .map_err(|e| Error::io(&segment.log_path, e))?;
        let mut batch_position = start_position;
        let mut max_timestamp = -1;
        for meta in &metas {
            segment.state.index_batch(meta, batch_position, interval);
            batch_position += meta.size;
            max_timestamp = max_timestamp.max(meta.max_timestamp);
        }
        segment.state.size += size;
        self.next_offset = last_offset + 1;
        self.max_timestamp = self.max_timestamp.max(max_timestamp);
        Ok(AppendInfo {
            base_offset: first_offset,
            last_offset,
            max_timestamp,
            segment_base_offset: segment.state.base_offset,
            position: start_position,
            size_in_bytes: size,
        })
    }

    /// Kafka's `LogSegment.shouldRoll` (without time-based rolling).
    fn maybe_roll(&mut self, size: u64, first_offset: i64, last_offset: i64) -> Result<()> {
        let max_index_bytes = self.options.max_index_bytes as usize;
        let segment_bytes = u64::from(self.options.segment_bytes);
        let Some(segment) = self.segment.as_ref().map(|s| &s.state) else {
            return Ok(());
        };
        let offset_overflow = last_offset - segment.base_offset > i64::from(i32::MAX);
        let should_roll = segment.size + size > segment_bytes
            || segment.offset_index.len() / OFFSET_INDEX_ENTRY
                >= max_index_bytes / OFFSET_INDEX_ENTRY
            || segment.time_index.len() / TIME_INDEX_ENTRY >= max_index_bytes / TIME_INDEX_ENTRY
            || offset_overflow;
        if !should_roll {
            return Ok(());
        }
        if segment.size == 0 {
            if offset_overflow {
                // An empty segment whose base is too far below the batch:
                // replace it by one starting at the batch.
                let old = self.segment.take();
                if let Some(old) = old {
                    let base = old.state.base_offset;
                    drop(old);
                    for ext in ["log", "index", "timeindex", "txnindex"] {
                        let path = segment_path(&self.dir, base, ext);
                        match fs::remove_file(&path) {
                            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                                return Err(Error::io(path, e))
                            }
                            _ => {}
                        }
                    }
                    if base == self.log_start_offset {
                        self.log_start_offset = first_offset;
                    }
                    self.segment = Some(self.create_segment(first_offset)?);
                }
            }
            return Ok(());
        }
        // Kafka: max(first offset of the append, log end offset).
        self.roll_to(first_offset.max(self.next_offset))
    }

    fn roll_to(&mut self, base_offset: i64) -> Result<()> {
        if let Some(mut old) = self.segment.take() {
            old.flush_log()?;
            old.state.become_inactive();
            old.state.write_indexes(&self.dir, None)?;
        }
        self.segment = Some(self.create_segment(base_offset)?);
        self.segment_count += 1;
        Ok(())
    }

    fn create_segment(&self, base_offset: i64) -> Result<ActiveSegment> {
        let log_path = segment_path(&self.dir, base_offset, "log");
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let segment = ActiveSegment {
            log_path,
            log: BufWriter::with_capacity(1 << 20, file),
            state: SegmentState::new(base_offset),
        };
        // A broker creates both indexes with the segment.
        let preallocate = self
            .options
            .preallocate_indexes
            .then_some(self.options.max_index_bytes);
        segment.state.write_indexes(&self.dir, preallocate)?;
        Ok(segment)
    }

    /// Restores state from existing segments (the `append` option): producer
    /// state and open transactions from every batch, index state of the last
    /// segment as Kafka loads it.
    fn reopen(&mut self, existing: &[i64]) -> Result<()> {
        let (Some(&first), Some(&last)) = (existing.first(), existing.last()) else {
            return Ok(());
        };
        self.log_start_offset = first;
        self.next_offset = last;
        self.segment_count = existing.len();
        let interval = u64::from(self.options.index_interval_bytes);
        let mut state = SegmentState::new(last);
        for &base in existing {
            let path = segment_path(&self.dir, base, "log");
            let is_last = base == last;
            scan_segment(&path, |position, batch| {
                self.restore_from_batch(batch);
                if is_last {
                    state.index_batch(&batch.meta, position, interval);
                    state.size = position + batch.meta.size;
                }
            })?;
        }
        if !self.load_clean_indexes(&mut state)? {
            // Preallocated or inconsistent indexes: Kafka's recovery rebuilds
            // them (as done above) and appends the final time index entry.
            state.become_inactive();
        }
        // A reopened segment counts index bytes from zero, as a freshly
        // loaded LogSegment does.
        state.bytes_since_last_index_entry = 0;
        let txn_path = segment_path(&self.dir, last, "txnindex");
        match fs::read(&txn_path) {
            Ok(bytes) => state.txn_index = bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(txn_path, e)),
        }
        let log_path = segment_path(&self.dir, last, "log");
        let file = OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        self.segment = Some(ActiveSegment {
            log_path,
            log: BufWriter::with_capacity(1 << 20, file),
            state,
        });
        Ok(())
    }

    /// Loads the last segment's index files if they look like a clean
    /// shutdown left them (trimmed, entries increasing and within the log):
    /// Kafka then keeps them and counts index bytes afresh. Returns false if
    /// the rebuilt state should be used instead.
    fn load_clean_indexes(&self, state: &mut SegmentState) -> Result<bool> {
        let read = |ext: &str| -> Result<Option<Vec<u8>>> {
            let path = segment_path(&self.dir, state.base_offset, ext);
            match fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(path, e)),
            }
        };
        let (Some(offset_index), Some(time_index)) = (read("index")?, read("timeindex")?) else {
            return Ok(false);
        };
        if offset_index.len() % OFFSET_INDEX_ENTRY != 0 || time_index.len() % TIME_INDEX_ENTRY != 0
        {
            return Ok(false);
        }
        let max_relative = self.next_offset - 1 - state.base_offset;
        let mut previous = -1i64;
        for entry in offset_index.chunks_exact(OFFSET_INDEX_ENTRY) {
            let relative = i64::from(be_i32(entry, 0));
            let position = u64::try_from(be_i32(entry, 4)).unwrap_or(u64::MAX);
            if relative <= previous || relative > max_relative || position >= state.size {
                return Ok(false);
            }
            previous = relative;
        }
        let mut previous = (-1i64, -1i64);
        for entry in time_index.chunks_exact(TIME_INDEX_ENTRY) {
            let timestamp = be_i64(entry, 0);
            let relative = i64::from(be_i32(entry, 8));
            if timestamp <= previous.0 || relative < previous.1 || relative > max_relative {
                return Ok(false);
            }
            previous = (timestamp, relative);
        }
        let last_entry = match time_index.chunks_exact(TIME_INDEX_ENTRY).last() {
            Some(last) => (
                be_i64(last, 0),
                state.base_offset + i64::from(be_i32(last, 8)),
            ),
            None => (-1, state.base_offset),
        };
        if state.max_timestamp_so_far.0 > last_entry.0 {
            // The segment holds a larger timestamp than the index's last
            // entry: it was not closed cleanly (a clean close appends the
            // final entry), so the rebuilt state is the true one.
            return Ok(false);
        }
        state.last_time_entry = last_entry;
        state.max_timestamp_so_far = last_entry;
        state.offset_index = offset_index;
        state.time_index = time_index;
        state.bytes_since_last_index_entry = 0;
        Ok(true)
    }

    fn restore_from_batch(&mut self, batch: &ScannedBatch) {
        self.next_offset = batch.meta.last_offset + 1;
        self.max_timestamp = self.max_timestamp.max(batch.meta.max_timestamp);
        let Some(producer_id) = batch.producer_id else {
            return;
        };
        if batch.is_control {
            // Commit (1) and abort (0) markers end the producer's transaction.
            if matches!(batch.control_type, Some(0 | 1)) {
                self.open_txns.remove(&producer_id);
            }
            self.producers
                .entry(producer_id)
                .and_modify(|state| state.epoch = batch.producer_epoch)
                .or_insert(ProducerState {
                    epoch: batch.producer_epoch,
                    next_sequence: 0,
                });
            return;
        }
        let next_sequence = batch.base_sequence.map_or(0, |base| {
            let next = i64::from(base) + (batch.meta.last_offset - batch.base_offset) + 1;
            (next % (i64::from(i32::MAX) + 1)) as i32
        });
        self.producers.insert(
            producer_id,
            ProducerState {
                epoch: batch.producer_epoch,
                next_sequence,
            },
        );
        if batch.is_transactional {
            self.open_txns
                .entry(producer_id)
                .or_insert(batch.base_offset);
        }
    }
}

impl Drop for PartitionWriter {
    fn drop(&mut self) {
        if let Err(e) = self.close_active() {
            log::warn!("closing partition writer for {}: {e}", self.dir.display());
        }
    }
}

#[cfg(test)]
mod tests;
