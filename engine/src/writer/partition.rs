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

/// How a [`PartitionWriter`] lays out its partition. `Default` is Kafka's
/// broker defaults, uncompressed, CreateTime, leader epoch 0, starting at
/// offset 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// Codec of the batches [`PartitionWriter::append`] and friends write.
    pub compression: Compression,
    /// Kafka's `segment.bytes`: a batch that would push the active segment
    /// past it goes to a new segment. At most `i32::MAX`.
    pub segment_bytes: u32,
    /// Kafka's `index.interval.bytes`: an index entry is added for the first
    /// batch appended after more than this many bytes since the last entry.
    pub index_interval_bytes: u32,
    /// Kafka's `segment.index.bytes`: index capacity (a full index rolls the
    /// segment) and the preallocated index size.
    pub max_index_bytes: u32,
    /// Base offset of the first segment of a new partition (a log whose
    /// earlier segments were deleted starts above 0).
    pub start_offset: i64,
    /// Leader epoch stamped on every batch the convenience methods write;
    /// `None` writes -1.
    pub partition_leader_epoch: Option<i32>,
    /// CreateTime, or LogAppendTime: batches then carry the broker's append
    /// time as `max_timestamp`, here the largest record timestamp so far.
    pub timestamp_type: TimestampType,
    /// Coordinator epoch written in markers by [`PartitionWriter::commit`]
    /// and [`PartitionWriter::abort`].
    pub coordinator_epoch: i32,
    /// Leave the last segment's `.index` and `.timeindex` at their full
    /// preallocated size, zero-filled past the entries and without the final
    /// time index entry, as a broker leaves an active segment (or a crash
    /// does). Rolled segments are trimmed either way, as Kafka trims them.
    pub preallocate_indexes: bool,
    /// Open a partition dir that already holds segments and append after its
    /// last batch. Without it, existing segments are an error.
    pub append: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression: Compression::None,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            max_index_bytes: DEFAULT_MAX_INDEX_BYTES,
            start_offset: 0,
            partition_leader_epoch: Some(0),
            timestamp_type: TimestampType::CreateTime,
            coordinator_epoch: 0,
            preallocate_indexes: false,
            append: false,
        }
    }
}

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

/// The one segment being appended to.
#[derive(Debug)]
struct ActiveSegment {
    log_path: PathBuf,
    log: BufWriter<File>,
    state: SegmentState,
}

/// A segment's size and index entries, kept in memory until written.
#[derive(Debug)]
struct SegmentState {
    base_offset: i64,
    size: u64,
    offset_index: Vec<u8>,
    time_index: Vec<u8>,
    txn_index: Vec<u8>,
    /// Last time index entry (timestamp, offset); (-1, base) when none.
    last_time_entry: (i64, i64),
    bytes_since_last_index_entry: u64,
    /// Largest batch max timestamp in the segment and the last offset of its
    /// batch; (-1, base) at first.
    max_timestamp_so_far: (i64, i64),
}

/// What a walk over batches needs of each one.
#[derive(Debug, Clone, Copy)]
struct BatchMeta {
    size: u64,
    last_offset: i64,
    max_timestamp: i64,
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

impl SegmentState {
    fn new(base_offset: i64) -> Self {
        SegmentState {
            base_offset,
            size: 0,
            offset_index: Vec::new(),
            time_index: Vec::new(),
            txn_index: Vec::new(),
            last_time_entry: (-1, base_offset),
            bytes_since_last_index_entry: 0,
            max_timestamp_so_far: (-1, base_offset),
        }
    }

    /// One batch of Kafka's `LogSegment.append` loop.
    fn index_batch(&mut self, meta: &BatchMeta, position: u64, index_interval_bytes: u64) {
        if meta.max_timestamp > self.max_timestamp_so_far.0 {
            self.max_timestamp_so_far = (meta.max_timestamp, meta.last_offset);
        }
        if self.bytes_since_last_index_entry > index_interval_bytes {
            let relative = (meta.last_offset - self.base_offset) as i32;
            self.offset_index.extend_from_slice(&relative.to_be_bytes());
            self.offset_index
                .extend_from_slice(&(position as i32).to_be_bytes());
            self.maybe_append_time_entry();
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += meta.size;
    }

    /// Kafka's `TimeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar)`:
    /// only a timestamp larger than the last entry's is added.
    fn maybe_append_time_entry(&mut self) {
        let (timestamp, offset) = self.max_timestamp_so_far;
        if timestamp > self.last_time_entry.0 {
            let relative = (offset - self.base_offset) as i32;
            self.time_index.extend_from_slice(&timestamp.to_be_bytes());
            self.time_index.extend_from_slice(&relative.to_be_bytes());
            self.last_time_entry = (timestamp, offset);
        }
    }

    /// Kafka's `onBecomeInactiveSegment` / `close`: the final time index
    /// entry for the largest timestamp.
    fn become_inactive(&mut self) {
        self.maybe_append_time_entry();
    }

    /// Writes `.index`, `.timeindex` (zero-filled to their capacity when
    /// `preallocate` gives one) and, when it has entries, `.txnindex`.
    fn write_indexes(&self, dir: &Path, preallocate: Option<u32>) -> Result<()> {
        let max = preallocate.map(|bytes| bytes as usize);
        write_index(
            &segment_path(dir, self.base_offset, "index"),
            &self.offset_index,
            max.map(|m| m / OFFSET_INDEX_ENTRY * OFFSET_INDEX_ENTRY),
        )?;
        write_index(
            &segment_path(dir, self.base_offset, "timeindex"),
            &self.time_index,
            max.map(|m| m / TIME_INDEX_ENTRY * TIME_INDEX_ENTRY),
        )?;
        if !self.txn_index.is_empty() {
            write_index(
                &segment_path(dir, self.base_offset, "txnindex"),
                &self.txn_index,
                None,
            )?;
        }
        Ok(())
    }
}

impl ActiveSegment {
    fn flush_log(&mut self) -> Result<()> {
        self.log.flush().map_err(|e| Error::io(&self.log_path, e))
    }
}

fn write_index(path: &Path, entries: &[u8], preallocated_len: Option<usize>) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::io(path, e))?;
    file.write_all(entries).map_err(|e| Error::io(path, e))?;
    if let Some(len) = preallocated_len {
        if len > entries.len() {
            file.set_len(len as u64).map_err(|e| Error::io(path, e))?;
        }
    }
    Ok(())
}

/// `<dir>/<20-digit base offset>.<ext>`.
pub(crate) fn segment_path(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// Base offsets of the `.log` files in a partition dir, sorted.
fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".log") else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(base) = stem.parse::<i64>() {
                bases.push(base);
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

fn validate_topic(topic: &str) -> Result<()> {
    let legal = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if legal {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "illegal topic name '{topic}' (1 to 249 of [a-zA-Z0-9._-], not '.' or '..')"
        )))
    }
}

fn validate_options(options: &WriterOptions) -> Result<()> {
    if options.segment_bytes < MIN_SEGMENT_BYTES || options.segment_bytes > i32::MAX as u32 {
        return Err(Error::Config(format!(
            "segment_bytes {} is outside {MIN_SEGMENT_BYTES}..={}",
            options.segment_bytes,
            i32::MAX
        )));
    }
    if options.index_interval_bytes > i32::MAX as u32 {
        return Err(Error::Config(format!(
            "index_interval_bytes {} is above {}",
            options.index_interval_bytes,
            i32::MAX
        )));
    }
    if (options.max_index_bytes as usize) < TIME_INDEX_ENTRY
        || options.max_index_bytes > i32::MAX as u32
    {
        return Err(Error::Config(format!(
            "max_index_bytes {} is outside {TIME_INDEX_ENTRY}..={}",
            options.max_index_bytes,
            i32::MAX
        )));
    }
    if options.start_offset < 0 {
        return Err(Error::Config(format!(
            "negative start offset {}",
            options.start_offset
        )));
    }
    Ok(())
}

#[inline]
fn be_i32(bytes: &[u8], at: usize) -> i32 {
    let mut b = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        b.copy_from_slice(src);
    }
    i32::from_be_bytes(b)
}

#[inline]
fn be_i64(bytes: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        b.copy_from_slice(src);
    }
    i64::from_be_bytes(b)
}

/// Size, last offset and max timestamp of the batch (or legacy message) at
/// the start of `bytes`, from its header; `None` if the header is cut short
/// or the length is impossible.
fn batch_meta(bytes: &[u8]) -> Option<BatchMeta> {
    let (_, length) = read_log_overhead(bytes)?;
    let size = usize::try_from(length).ok()?.checked_add(LOG_OVERHEAD)?;
    let batch = RecordBatch::parse(bytes.get(..size)?).ok()?;
    Some(meta_of(&batch))
}

fn meta_of(batch: &RecordBatch<'_>) -> BatchMeta {
    BatchMeta {
        size: batch.size_in_bytes() as u64,
        last_offset: batch.last_offset(),
        max_timestamp: batch.max_timestamp().unwrap_or(-1),
    }
}

/// One batch of an existing segment, as far as reopening needs it.
#[derive(Debug)]
struct ScannedBatch {
    meta: BatchMeta,
    base_offset: i64,
    producer_id: Option<i64>,
    producer_epoch: i16,
    base_sequence: Option<i32>,
    is_transactional: bool,
    is_control: bool,
    /// Control record type of an (uncompressed) control batch.
    control_type: Option<i16>,
}

/// Walks the batches of a `.log` file (the engine's own framing, no CRC
/// check), calling `f(position, batch)`. Corruption or a torn tail is an
/// error: the writer does not append after damage.
fn scan_segment(path: &Path, mut f: impl FnMut(u64, &ScannedBatch)) -> Result<()> {
    let segment = Segment::open(path, ReadStrategy::Read)?;
    let mut batches = segment.batches_from(0, false);
    let mut inflater = crate::record::Inflater::default();
    for batch in batches.by_ref() {
        let batch = batch?;
        let control_type = if batch.is_control_batch() {
            let records = batch
                .records(&mut inflater)
                .map_err(|kind| segment.corrupt(batch.position, Some(batch.base_offset()), kind))?;
            records
                .flatten()
                .next()
                .and_then(|r| r.control_type())
                .map(control_type_id)
        } else {
            None
        };
        let scanned = ScannedBatch {
            meta: meta_of(&batch),
            base_offset: batch.base_offset(),
            producer_id: batch.producer_id(),
            producer_epoch: batch.producer_epoch().unwrap_or(-1),
            base_sequence: batch.base_sequence(),
            is_transactional: batch.is_transactional(),
            is_control: batch.is_control_batch(),
            control_type,
        };
        f(batch.position, &scanned);
    }
    match batches.end() {
        Some(SegmentEnd::TornTail(tail)) => Err(Error::Corrupt {
            path: path.to_path_buf(),
            position: tail.valid_bytes,
            offset: None,
            kind: Corruption::malformed("batch", format!("{tail}; refusing to append after it")),
        }),
        _ => Ok(()),
    }
}

/// Kafka's control record type id.
fn control_type_id(kind: ControlRecordType) -> i16 {
    match kind {
        ControlRecordType::Abort => 0,
        ControlRecordType::Commit => 1,
        ControlRecordType::LeaderChange => 2,
        ControlRecordType::SnapshotHeader => 3,
        ControlRecordType::SnapshotFooter => 4,
        ControlRecordType::KRaftVersion => 5,
        ControlRecordType::KRaftVoters => 6,
        ControlRecordType::Unknown(id) => id,
    }
}

/// Writes a Kafka offset checkpoint file (the format of
/// `log-start-offset-checkpoint`, `recovery-point-offset-checkpoint`,
/// `replication-offset-checkpoint`): a line `0` (version), a line with the
/// entry count, then one `topic partition offset` line per entry. Written to
/// `<path>.tmp` and renamed into place, as Kafka does.
pub fn write_offset_checkpoint(path: &Path, entries: &[(&str, i32, i64)]) -> Result<()> {
    let mut text = format!("0\n{}\n", entries.len());
    for (topic, partition, offset) in entries {
        validate_topic(topic)?;
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes `<log_dir>/log-start-offset-checkpoint` with the given
/// `(topic, partition, log start offset)` entries.
pub fn write_log_start_offset_checkpoint(
    log_dir: &Path,
    entries: &[(&str, i32, i64)],
) -> Result<()> {
    write_offset_checkpoint(&log_dir.join(LOG_START_OFFSET_CHECKPOINT), entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::super::encode::fill_offset_deltas;
    use super::super::test_support::*;
    use super::*;

    fn records(count: usize, first_timestamp: i64, value_len: usize) -> Vec<RecordSpec> {
        let mut out: Vec<RecordSpec> = (0..count)
            .map(|i| {
                let value = vec![b'a' + (i % 26) as u8; value_len];
                RecordSpec::new(
                    first_timestamp + i as i64,
                    Some(format!("k{i}").as_bytes()),
                    Some(&value),
                )
            })
            .collect();
        fill_offset_deltas(&mut out);
        out
    }

    /// Kafka's placement rule, checked as properties of the files: each
    /// offset index entry sits at the first batch starting more than
    /// `interval` bytes after the previous entry (or the segment start), none
    /// is missing, and time index entries carry the running max timestamp.
    /// `left_active`: the last segment was left as an active one (no final
    /// time index entry, zero-filled tail).
    fn check_indexes(dir: &Path, interval: u64, left_active: bool) {
        let segs = segments(dir);
        for (i, (base, log_path)) in segs.iter().enumerate() {
            let base = *base;
            let final_time_entry = !(left_active && i + 1 == segs.len());
            let batches = read_log(log_path);
            let mut offset_index = read_offset_index(&log_path.with_extension("index"));
            let mut time_index = read_time_index(&log_path.with_extension("timeindex"));
            while offset_index.last() == Some(&(0, 0)) {
                offset_index.pop();
            }
            while time_index.last() == Some(&(0, 0)) {
                time_index.pop();
            }
            let mut expected_offsets = Vec::new();
            let mut expected_times = Vec::new();
            let mut last_entry_position = 0u64;
            let mut running_max = (-1i64, base);
            let mut last_time = -1i64;
            for batch in &batches {
                if batch.max_timestamp > running_max.0 {
                    running_max = (batch.max_timestamp, batch.last_offset);
                }
                if batch.position - last_entry_position > interval {
                    expected_offsets
                        .push(((batch.last_offset - base) as i32, batch.position as i32));
                    last_entry_position = batch.position;
                    if running_max.0 > last_time {
                        expected_times.push((running_max.0, (running_max.1 - base) as i32));
                        last_time = running_max.0;
                    }
                }
            }
            if final_time_entry && running_max.0 > last_time {
                expected_times.push((running_max.0, (running_max.1 - base) as i32));
            }
            assert_eq!(
                offset_index,
                expected_offsets,
                "offset index of {}",
                log_path.display()
            );
            assert_eq!(
                time_index,
                expected_times,
                "time index of {}",
                log_path.display()
            );
            for pair in offset_index.windows(2) {
                assert!(pair[0].0 < pair[1].0 && pair[1].1 - pair[0].1 > interval as i32);
            }
            for pair in time_index.windows(2) {
                assert!(pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1);
            }
        }
    }

    #[test]
    fn segments_roll_at_segment_bytes_and_indexes_follow_kafka() {
        let tmp = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            segment_bytes: 64 * 1024,
            ..WriterOptions::default()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "orders", 3, options).unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut timestamp = 1_700_000_000_000i64;
        let mut expected_next = 0i64;
        for _ in 0..400 {
            let count = rng.usize(1..=10);
            // Now and then a batch from the past: the time index must not move back.
            let first = if rng.u8(..) < 30 {
                timestamp - 5000
            } else {
                timestamp
            };
            let batch = records(count, first, rng.usize(20..400));
            timestamp += 20;
            let info = writer.append(&batch).unwrap();
            assert_eq!(info.base_offset, expected_next);
            assert_eq!(info.last_offset, expected_next + count as i64 - 1);
            expected_next += count as i64;
        }
        assert_eq!(writer.next_offset(), expected_next);
        let segment_count = writer.segment_count();
        writer.close().unwrap();

        let dir = tmp.path().join("orders-3");
        let segs = segments(&dir);
        assert_eq!(segs.len(), segment_count);
        assert!(
            segs.len() > 3,
            "expected several segments, got {}",
            segs.len()
        );
        let mut next = 0;
        for (i, (base, path)) in segs.iter().enumerate() {
            assert_eq!(*base, next, "segment base offsets follow on");
            let batches = read_log(path);
            let size: u64 = batches.iter().map(|b| b.size).sum();
            assert!(size <= 64 * 1024);
            if let Some((_, next_path)) = segs.get(i + 1) {
                let first_next = &read_log(next_path)[0];
                assert!(size + first_next.size > 64 * 1024, "rolled too early");
            }
            next = batches.last().unwrap().last_offset + 1;
            for batch in &batches {
                let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, &batch.bytes[21..])
                    as u32;
                assert_eq!(
                    crc,
                    u32::from_be_bytes(batch.bytes[17..21].try_into().unwrap())
                );
            }
        }
        assert_eq!(next, expected_next);
        check_indexes(&dir, 4096, false);
        // Index entries exist at all (the rule is not vacuous).
        assert!(!read_offset_index(&segs[0].1.with_extension("index")).is_empty());
    }

    #[test]
    fn preallocated_indexes_stay_full_size_on_the_last_segment() {
        let tmp = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            segment_bytes: 20_000,
            index_interval_bytes: 1000,
            preallocate_indexes: true,
            ..WriterOptions::default()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "t", 0, options).unwrap();
        let dir = writer.dir().to_path_buf();
        // A fresh segment already has its preallocated indexes.
        let index = segment_path(&dir, 0, "index");
        assert_eq!(fs::metadata(&index).unwrap().len(), 10 << 20);
        for i in 0..60 {
            writer.append(&records(3, 1000 + i * 10, 200)).unwrap();
        }
        writer.close().unwrap();
        let segs = segments(&dir);
        assert!(segs.len() >= 2);
        for (i, (_, path)) in segs.iter().enumerate() {
            let index_len = fs::metadata(path.with_extension("index")).unwrap().len();
            let time_len = fs::metadata(path.with_extension("timeindex"))
                .unwrap()
                .len();
            if i + 1 == segs.len() {
                assert_eq!(index_len, 10_485_760);
                assert_eq!(time_len, 10_485_756);
                let entries = read_offset_index(&path.with_extension("index"));
                let valid = entries.iter().take_while(|e| **e != (0, 0)).count();
                assert!(valid > 0);
                assert!(entries[valid..].iter().all(|e| *e == (0, 0)));
            } else {
                assert_eq!(index_len % 8, 0);
                assert!(index_len < 10_485_760);
                assert_eq!(time_len % 12, 0);
            }
        }
        // Rolled segments: trimmed, with the final time entry. The active
        // one: no final entry (as a running or crashed broker leaves it).
        check_indexes(&dir, 1000, true);
    }

    #[test]
    fn aborted_transactions_go_to_the_txnindex_of_the_marker_segment() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(tmp.path(), "tx", 0, WriterOptions::default()).unwrap();
        let a = writer
            .append_transactional(1, 0, &records(5, 100, 10))
            .unwrap(); // 0-4
        let b = writer
            .append_transactional(2, 3, &records(5, 110, 10))
            .unwrap(); // 5-9
        assert_eq!((a.base_offset, b.base_offset), (0, 5));
        assert!(writer.has_open_transaction(1) && writer.has_open_transaction(2));
        writer.roll().unwrap();
        let abort_a = writer.abort(1).unwrap(); // 10
        assert_eq!(abort_a.base_offset, 10);
        assert_eq!(abort_a.segment_base_offset, 10);
        writer.commit(2).unwrap(); // 11
        writer.append(&records(2, 120, 10)).unwrap(); // 12-13
        writer
            .append_transactional(3, 0, &records(2, 130, 10))
            .unwrap(); // 14-15
        writer
            .append_transactional(3, 0, &records(1, 140, 10))
            .unwrap(); // 16, same txn
        writer.abort(3).unwrap(); // 17
        assert!(!writer.has_open_transaction(3));
        // A producer may not mix in a plain batch while its transaction is open.
        writer
            .append_transactional(4, 0, &records(1, 150, 10))
            .unwrap(); // 18
        let plain = BatchSpec {
            base_offset: writer.next_offset(),
            producer_id: Some(4),
            producer_epoch: Some(0),
            base_sequence: Some(1),
            ..BatchSpec::default()
        };
        assert!(writer.append_batch(&plain, &records(1, 160, 10)).is_err());
        writer.close().unwrap();

        let dir = tmp.path().join("tx-0");
        assert!(!segment_path(&dir, 0, "txnindex").exists());
        let entries = read_txn_index(&segment_path(&dir, 10, "txnindex"));
        // A: first 0, marker 10, LSO = first offset of B's still-open txn.
        // C: first 14, marker 17, nothing else open (4 starts later) -> 18.
        assert_eq!(entries, vec![(0, 1, 0, 10, 5), (0, 3, 14, 17, 18)]);

        let batches = read_log(&segment_path(&dir, 0, "log"));
        assert_eq!(batches[1].attributes, 0x10);
        assert_eq!((batches[1].producer_id, batches[1].base_sequence), (2, 0));
        let batches = read_log(&segment_path(&dir, 10, "log"));
        let markers: Vec<&TestBatch> = batches
            .iter()
            .filter(|b| b.attributes & 0x20 != 0)
            .collect();
        assert_eq!(markers.len(), 3);
        let marker_types: Vec<(i64, Option<Vec<u8>>)> = markers
            .iter()
            .map(|b| (b.base_offset, records_of(b)[0].key.clone()))
            .collect();
        assert_eq!(
            marker_types,
            vec![
                (10, Some(vec![0, 0, 0, 0])),
                (11, Some(vec![0, 0, 0, 1])),
                (17, Some(vec![0, 0, 0, 0]))
            ]
        );
        // The second batch of producer 3 continues its sequence.
        let c2 = batches.iter().find(|b| b.base_offset == 16).unwrap();
        assert_eq!(c2.base_sequence, 2);
    }

    #[test]
    fn gaps_start_offset_and_invalid_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            start_offset: 1_000_000,
            segment_bytes: 4096,
            ..WriterOptions::default()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "gaps", 0, options).unwrap();
        assert_eq!(writer.next_offset(), 1_000_000);
        writer.append(&records(3, 0, 10)).unwrap();
        let mut sparse = records(3, 10, 10);
        sparse[1].offset_delta = 4;
        sparse[2].offset_delta = 9;
        let info = writer.append_at(1_000_020, &sparse).unwrap();
        assert_eq!((info.base_offset, info.last_offset), (1_000_020, 1_000_029));
        assert_eq!(writer.next_offset(), 1_000_030);
        assert!(writer.append_at(1_000_029, &records(1, 0, 1)).is_err());
        // Bad records leave the log untouched.
        let mut bad = records(2, 0, 1);
        bad[1].offset_delta = 0;
        assert!(writer.append(&bad).is_err());
        assert!(
            writer.append(&records(1, 0, 5000)).is_err(),
            "larger than segment_bytes"
        );
        assert_eq!(writer.next_offset(), 1_000_030);
        // A roll caused by a gap starts the segment at the batch's base offset.
        let info = writer.append_at(1_000_100, &records(35, 0, 100)).unwrap();
        assert_eq!(info.segment_base_offset, 1_000_100);
        writer.close().unwrap();
        let dir = tmp.path().join("gaps-0");
        let segs: Vec<i64> = segments(&dir).into_iter().map(|s| s.0).collect();
        assert_eq!(segs, vec![1_000_000, 1_000_100]);
        let all: Vec<i64> = read_log(&segment_path(&dir, 1_000_000, "log"))
            .iter()
            .flat_map(records_of)
            .map(|r| r.offset)
            .collect();
        assert_eq!(
            all,
            vec![1_000_000, 1_000_001, 1_000_002, 1_000_020, 1_000_024, 1_000_029]
        );

        assert!(
            PartitionWriter::open(tmp.path(), "bad/topic", 0, WriterOptions::default()).is_err()
        );
        assert!(PartitionWriter::open(tmp.path(), "t", -1, WriterOptions::default()).is_err());
        let tiny = WriterOptions {
            segment_bytes: 13,
            ..WriterOptions::default()
        };
        assert!(PartitionWriter::open(tmp.path(), "t", 0, tiny).is_err());
    }

    #[test]
    fn existing_segments_need_the_append_option() {
        let tmp = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            segment_bytes: 8000,
            ..WriterOptions::default()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "re", 0, options.clone()).unwrap();
        for i in 0..20 {
            writer.append(&records(4, i * 10, 100)).unwrap();
        }
        writer
            .append_transactional(9, 2, &records(3, 500, 10))
            .unwrap();
        let end = writer.next_offset();
        writer.close().unwrap();
        let dir = tmp.path().join("re-0");
        let before: Vec<Vec<u8>> = segments(&dir)
            .iter()
            .map(|s| fs::read(&s.1).unwrap())
            .collect();

        let err = PartitionWriter::open(tmp.path(), "re", 0, options.clone()).unwrap_err();
        assert!(err.to_string().contains("append"), "{err}");
        let append = WriterOptions {
            append: true,
            ..options
        };
        let mut writer = PartitionWriter::open(tmp.path(), "re", 0, append.clone()).unwrap();
        assert_eq!(writer.next_offset(), end);
        assert!(writer.has_open_transaction(9));
        let info = writer
            .append_transactional(9, 2, &records(2, 600, 10))
            .unwrap();
        writer.abort(9).unwrap();
        for i in 0..20 {
            writer.append(&records(4, 1000 + i * 10, 100)).unwrap();
        }
        writer.close().unwrap();

        // Earlier bytes untouched, new ones after them.
        let after: Vec<Vec<u8>> = segments(&dir)
            .iter()
            .map(|s| fs::read(&s.1).unwrap())
            .collect();
        for (old, new) in before.iter().zip(&after) {
            assert_eq!(&new[..old.len()], &old[..]);
        }
        let batches: Vec<TestBatch> = segments(&dir).iter().flat_map(|s| read_log(&s.1)).collect();
        let continued = batches
            .iter()
            .find(|b| b.base_offset == info.base_offset)
            .unwrap();
        assert_eq!(
            continued.base_sequence, 3,
            "sequence continues after reopening"
        );
        let txn_entries: Vec<_> = segments(&dir)
            .iter()
            .map(|s| s.1.with_extension("txnindex"))
            .filter(|p| p.exists())
            .flat_map(|p| read_txn_index(&p))
            .collect();
        assert_eq!(txn_entries, vec![(0, 9, end - 3, end + 2, end + 3)]);
        // Indexes still hold Kafka's invariants; the reopened segment's
        // entries start counting afresh, so only check the rolled ones exactly.
        for (_, path) in segments(&dir) {
            let idx = read_offset_index(&path.with_extension("index"));
            for pair in idx.windows(2) {
                assert!(pair[0].0 < pair[1].0 && pair[0].1 < pair[1].1);
            }
        }

        // Reopening a crashed (preallocated) segment rebuilds its indexes.
        let crashed = WriterOptions {
            preallocate_indexes: true,
            ..append.clone()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "re", 0, crashed).unwrap();
        writer.append(&records(1, 5000, 10)).unwrap();
        drop(writer);
        let mut writer = PartitionWriter::open(tmp.path(), "re", 0, append).unwrap();
        writer.append(&records(1, 6000, 10)).unwrap();
        writer.close().unwrap();
        let (_, last) = segments(&dir).pop().unwrap();
        let idx = read_offset_index(&last.with_extension("index"));
        assert!(
            idx.iter().skip(1).all(|e| *e != (0, 0)),
            "no zero tail after recovery"
        );
    }

    #[test]
    fn torn_tail_refuses_append() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(tmp.path(), "torn", 0, WriterOptions::default()).unwrap();
        writer.append(&records(3, 0, 10)).unwrap();
        writer.close().unwrap();
        let log = tmp.path().join("torn-0").join("00000000000000000000.log");
        let mut bytes = fs::read(&log).unwrap();
        bytes.extend_from_slice(&bytes.clone()[..30]);
        fs::write(&log, bytes).unwrap();
        let append = WriterOptions {
            append: true,
            ..WriterOptions::default()
        };
        let err = PartitionWriter::open(tmp.path(), "torn", 0, append).unwrap_err();
        assert!(err.is_corruption(), "{err}");
    }

    #[test]
    fn log_append_time_stamps_batches_with_the_append_time() {
        let tmp = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            timestamp_type: TimestampType::LogAppendTime,
            partition_leader_epoch: Some(5),
            ..WriterOptions::default()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "lat", 0, options).unwrap();
        writer.append(&records(3, 1000, 10)).unwrap();
        writer.append(&records(3, 500, 10)).unwrap(); // older records: the clock does not go back
        writer.close().unwrap();
        let batches = read_log(&tmp.path().join("lat-0").join("00000000000000000000.log"));
        for batch in &batches {
            assert_eq!(batch.attributes & 0x08, 0x08);
            assert_eq!(
                i32::from_be_bytes(batch.bytes[12..16].try_into().unwrap()),
                5
            );
            assert_eq!(batch.max_timestamp, 1002);
        }
    }

    #[test]
    fn legacy_sets_are_indexed_per_message() {
        let tmp = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            index_interval_bytes: 100,
            ..WriterOptions::default()
        };
        let mut writer = PartitionWriter::open(tmp.path(), "legacy", 0, options).unwrap();
        let info = writer.append_legacy(1, &records(10, 1000, 40)).unwrap();
        assert_eq!((info.base_offset, info.last_offset), (0, 9));
        writer.append_legacy(0, &records(5, 0, 40)).unwrap();
        assert!(writer.append_legacy(1, &[]).is_err());
        writer.append(&records(2, 2000, 40)).unwrap();
        writer.close().unwrap();
        let dir = tmp.path().join("legacy-0");
        let batches = read_log(&segment_path(&dir, 0, "log"));
        assert_eq!(batches.len(), 16);
        assert_eq!(
            batches.iter().map(|b| b.last_offset).collect::<Vec<_>>(),
            (0..=16).filter(|o| *o != 15).collect::<Vec<_>>()
        );
        check_indexes(&dir, 100, false);
    }

    #[test]
    fn checkpoint_file_format() {
        let tmp = tempfile::tempdir().unwrap();
        write_log_start_offset_checkpoint(
            tmp.path(),
            &[("orders", 0, 0), ("orders", 1, 1_000_000)],
        )
        .unwrap();
        let text = fs::read_to_string(tmp.path().join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n2\norders 0 0\norders 1 1000000\n");
        assert!(!tmp.path().join("log-start-offset-checkpoint.tmp").exists());
        write_log_start_offset_checkpoint(tmp.path(), &[]).unwrap();
        let text = fs::read_to_string(tmp.path().join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n0\n");
    }

    #[test]
    fn roll_on_an_empty_segment_does_nothing_and_empty_partitions_have_empty_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer =
            PartitionWriter::open(tmp.path(), "empty", 2, WriterOptions::default()).unwrap();
        writer.roll().unwrap();
        assert_eq!(writer.segment_count(), 1);
        writer.close().unwrap();
        let dir = tmp.path().join("empty-2");
        for ext in ["log", "index", "timeindex"] {
            assert_eq!(
                fs::metadata(segment_path(&dir, 0, ext)).unwrap().len(),
                0,
                "{ext}"
            );
        }
        assert!(!segment_path(&dir, 0, "txnindex").exists());
    }
}
