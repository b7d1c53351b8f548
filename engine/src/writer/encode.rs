//! Byte encoders: v2 record batches (`DefaultRecordBatch` / `DefaultRecord`),
//! transaction-marker control batches (`EndTransactionMarker`) and legacy
//! magic 0/1 message sets (`LegacyRecord`), byte for byte as Kafka's
//! `MemoryRecordsBuilder` lays them out.

use crate::compression::{compress, Compression};
use crate::error::{Error, Result};
use crate::record::TimestampType;
pub(crate) use crate::record::{LOG_OVERHEAD, RECORD_BATCH_OVERHEAD};

/// Position of the attributes field in a v2 batch: the CRC covers from here.
const ATTRIBUTES_OFFSET: usize = 21;
/// Position of the CRC field in a v2 batch.
const CRC_OFFSET: usize = 17;
/// Position of the CRC field in a legacy message.
const LEGACY_CRC_OFFSET: usize = 12;
/// Legacy message overhead after the log overhead: crc, magic, attributes,
/// key length, value length (magic 0) plus the timestamp (magic 1).
const LEGACY_RECORD_OVERHEAD_V0: usize = 14;
const LEGACY_RECORD_OVERHEAD_V1: usize = 22;

const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;
const ATTR_DELETE_HORIZON: i16 = 0x40;
const LEGACY_ATTR_TIMESTAMP_TYPE: u8 = 0x08;

/// Kafka's `RecordBatch.NO_TIMESTAMP`.
const NO_TIMESTAMP: i64 = -1;

/// One record to encode, owned and simple. `None` key or value is Kafka's
/// null (length -1); `Some(vec![])` is an empty, non-null one.
///
/// A record carries its own `offset_delta` (from the batch's base offset) and
/// absolute `timestamp`, so compacted gaps and arbitrary timestamps can be
/// written; [`fill_offset_deltas`] numbers a slice 0, 1, 2, ...
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordSpec {
    /// Offset of the record minus the batch's base offset. Must increase
    /// strictly within a batch.
    pub offset_delta: i32,
    /// The record's timestamp (CreateTime), in milliseconds since the epoch.
    pub timestamp: i64,
    /// The key; `None` is a null key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a null value (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in order: a UTF-8 key (never null) and a nullable value.
    /// Magic 0 and 1 have no headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl RecordSpec {
    /// A record with offset delta 0 and no headers.
    pub fn new(timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Self {
        RecordSpec {
            offset_delta: 0,
            timestamp,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
        }
    }

    /// Sets the offset delta.
    pub fn with_offset_delta(mut self, offset_delta: i32) -> Self {
        self.offset_delta = offset_delta;
        self
    }

    /// Appends a header.
    pub fn with_header(mut self, key: impl Into<String>, value: Option<&[u8]>) -> Self {
        self.headers.push((key.into(), value.map(<[u8]>::to_vec)));
        self
    }
}

/// Numbers the records' offset deltas 0, 1, 2, ... (consecutive offsets, as a
/// producer writes them).
pub fn fill_offset_deltas(records: &mut [RecordSpec]) {
    for (delta, record) in records.iter_mut().enumerate() {
        record.offset_delta = i32::try_from(delta).unwrap_or(i32::MAX);
    }
}

/// The header fields of one v2 batch. `None` stands for Kafka's -1
/// sentinels (`NO_PRODUCER_ID`, `NO_PARTITION_LEADER_EPOCH`, ...).
///
/// `Default` is a plain, non-transactional, uncompressed CreateTime batch at
/// base offset 0 with partition leader epoch 0 and no producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSpec {
    /// Offset of the batch's first record (offset delta 0).
    pub base_offset: i64,
    /// The leader epoch the broker stamps on every batch; `None` writes -1.
    pub partition_leader_epoch: Option<i32>,
    /// The codec; with one, the records are compressed as one stream.
    pub compression: Compression,
    /// CreateTime, or LogAppendTime (attributes bit 3: readers then report
    /// `max_timestamp` as every record's timestamp).
    pub timestamp_type: TimestampType,
    /// `max_timestamp` to write. `None`: the largest record timestamp (-1 if
    /// there is none or all are below -1), which for LogAppendTime stands for
    /// the broker's append time. For an empty batch this is also the base
    /// timestamp, as the log cleaner writes one.
    pub max_timestamp: Option<i64>,
    /// Attributes bit 4.
    pub is_transactional: bool,
    /// The producer id; required when transactional.
    pub producer_id: Option<i64>,
    /// The producer epoch.
    pub producer_epoch: Option<i16>,
    /// Sequence number of the first record.
    pub base_sequence: Option<i32>,
    /// Sets attributes bit 6 and writes this as the base timestamp (record
    /// timestamp deltas are then relative to it, as Kafka's cleaner does).
    pub delete_horizon_ms: Option<i64>,
    /// `last_offset_delta` to write; `None`: the last record's offset delta
    /// (0 for an empty batch). Larger values keep the offsets of records a
    /// compaction removed from the end of the batch.
    pub last_offset_delta: Option<i32>,
}

impl Default for BatchSpec {
    fn default() -> Self {
        BatchSpec {
            base_offset: 0,
            partition_leader_epoch: Some(0),
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            max_timestamp: None,
            is_transactional: false,
            producer_id: None,
            producer_epoch: None,
            base_sequence: None,
            delete_horizon_ms: None,
            last_offset_delta: None,
        }
    }
}

/// Outcome of a transaction (Kafka's `TransactionResult`), the type of an
/// end-transaction marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionResult {
    /// An ABORT marker (control record type 0).
    Abort,
    /// A COMMIT marker (control record type 1).
    Commit,
}

impl TransactionResult {
    /// Kafka's control record type id: 0 for abort, 1 for commit.
    pub fn control_type_id(self) -> i16 {
        match self {
            TransactionResult::Abort => 0,
            TransactionResult::Commit => 1,
        }
    }
}

/// The content of a transaction marker (Kafka's `EndTransactionMarker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndTransactionMarker {
    /// Commit or abort.
    pub result: TransactionResult,
    /// Epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

/// The fields of a legacy (magic 0 or 1) message set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySpec {
    /// 0 or 1.
    pub magic: i8,
    /// None, gzip, snappy or lz4 (zstd does not exist for magic 0/1). With a
    /// codec the set is one wrapper message around the compressed inner set.
    pub compression: Compression,
    /// Offset of the first record (offset delta 0).
    pub base_offset: i64,
    /// CreateTime, or LogAppendTime (magic 1 only).
    pub timestamp_type: TimestampType,
    /// LogAppendTime only: the broker's append time, written as every
    /// message's timestamp. `None`: the largest record timestamp.
    pub log_append_time: Option<i64>,
}

impl Default for LegacySpec {
    fn default() -> Self {
        LegacySpec {
            magic: 1,
            compression: Compression::None,
            base_offset: 0,
            timestamp_type: TimestampType::CreateTime,
            log_append_time: None,
        }
    }
}

/// Encodes batches with reused scratch buffers (compression input, legacy
/// inner message sets), so a loop of encodes allocates nothing once warm.
#[derive(Debug, Default)]
pub struct BatchEncoder {
    scratch: Vec<u8>,
    compressed: Vec<u8>,
}

/// Encodes one v2 record batch of `records` after `out`. See
/// [`BatchEncoder::encode_batch`].
pub fn encode_batch(spec: &BatchSpec, records: &[RecordSpec], out: &mut Vec<u8>) -> Result<()> {
    BatchEncoder::new().encode_batch(spec, records, out)
}

/// Encodes one transaction-marker control batch after `out`. See
/// [`BatchEncoder::encode_control_batch`].
pub fn encode_control_batch(
    spec: &BatchSpec,
    marker: &EndTransactionMarker,
    timestamp: i64,
    out: &mut Vec<u8>,
) -> Result<()> {
    BatchEncoder::new().encode_control_batch(spec, marker, timestamp, out)
}

/// Encodes a legacy magic 0/1 message set after `out`. See
/// [`BatchEncoder::encode_legacy_message_set`].
pub fn encode_legacy_message_set(
    spec: &LegacySpec,
    records: &[RecordSpec],
    out: &mut Vec<u8>,
) -> Result<()> {
    BatchEncoder::new().encode_legacy_message_set(spec, records, out)
}

impl BatchEncoder {
    /// An encoder with empty scratch buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one v2 record batch to `out`: the 61-byte header, then the
    /// records (compressed as one stream when `spec.compression` is not
    /// none), with the CRC-32C over attributes..end.
    ///
    /// The base timestamp is the first record's timestamp (or
    /// `delete_horizon_ms`); record timestamps are written as deltas from it.
    /// Fails, leaving `out` as it was, on offset deltas that do not increase,
    /// a transactional batch without a producer id, a length that does not
    /// fit Kafka's 32-bit fields, or a compression error.
    pub fn encode_batch(
        &mut self,
        spec: &BatchSpec,
        records: &[RecordSpec],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        let result = self.encode_v2(spec, false, records, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Appends one transaction-marker control batch to `out`, the way a
    /// transaction coordinator writes it (Kafka's
    /// `MemoryRecords.withEndTransactionMarker`): transactional and control
    /// attributes, uncompressed, `base_sequence` -1, one record whose key is
    /// version 0 + the control type and whose value is version 0 + the
    /// coordinator epoch; `timestamp` is the base and max timestamp.
    ///
    /// From `spec` only `base_offset`, `partition_leader_epoch`,
    /// `timestamp_type` (a LogAppendTime topic stamps markers too),
    /// `producer_id` (required) and `producer_epoch` are used.
    pub fn encode_control_batch(
        &mut self,
        spec: &BatchSpec,
        marker: &EndTransactionMarker,
        timestamp: i64,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if spec.producer_id.is_none() {
            return Err(Error::Config(
                "an end-transaction marker needs a producer id".into(),
            ));
        }
        let mut key = Vec::with_capacity(4);
        key.extend_from_slice(&0i16.to_be_bytes());
        key.extend_from_slice(&marker.result.control_type_id().to_be_bytes());
        let mut value = Vec::with_capacity(6);
        value.extend_from_slice(&0i16.to_be_bytes());
        value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
        let record = RecordSpec {
            offset_delta: 0,
            timestamp,
            key: Some(key),
            value: Some(value),
            headers: Vec::new(),
        };
        let control_spec = BatchSpec {
            base_offset: spec.base_offset,
            partition_leader_epoch: spec.partition_leader_epoch,
            compression: Compression::None,
            timestamp_type: spec.timestamp_type,
            max_timestamp: Some(timestamp),
            is_transactional: true,
            producer_id: spec.producer_id,
            producer_epoch: spec.producer_epoch,
            base_sequence: None,
            delete_horizon_ms: None,
            last_offset_delta: None,
        };
        let start = out.len();
        let result = self.encode_v2(&control_spec, true, std::slice::from_ref(&record), out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Appends a control batch of `records` (their keys and values as
    /// given: KRaft's leader change, snapshot header and footer...) to `out`.
    /// `spec` is used as for [`BatchEncoder::encode_batch`].
    pub fn encode_control_records(
        &mut self,
        spec: &BatchSpec,
        records: &[RecordSpec],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        let result = self.encode_v2(spec, true, records, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Appends a legacy message set to `out`. Uncompressed: one message per
    /// record at offset `base_offset + offset_delta`. Compressed: one wrapper
    /// message whose offset is that of the last record and whose value is
    /// the compressed inner set; inner offsets are absolute for magic 0 and
    /// the offset deltas (relative) for magic 1. Magic 1 wrappers carry the
    /// largest inner timestamp (or the log append time). Magic 0 has no
    /// timestamps: record timestamps are ignored.
    ///
    /// An empty `records` writes nothing (Kafka has no empty legacy set).
    /// Fails on headers, zstd, LogAppendTime with magic 0 or a magic other
    /// than 0 and 1.
    pub fn encode_legacy_message_set(
        &mut self,
        spec: &LegacySpec,
        records: &[RecordSpec],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        let result = self.encode_legacy(spec, records, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_v2(
        &mut self,
        spec: &BatchSpec,
        is_control: bool,
        records: &[RecordSpec],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if spec.is_transactional && spec.producer_id.is_none() {
            return Err(Error::Config(
                "a transactional batch needs a producer id".into(),
            ));
        }
        let last_record_delta = check_offset_deltas(records)?;
        let last_offset_delta = match (spec.last_offset_delta, last_record_delta) {
            (Some(given), Some(last)) if given < last => {
                return Err(Error::Config(format!(
                    "last offset delta {given} is below the last record's offset delta {last}"
                )))
            }
            (Some(given), _) if given < 0 => {
                return Err(Error::Config(format!("negative last offset delta {given}")))
            }
            (Some(given), _) => given,
            (None, last) => last.unwrap_or(0),
        };
        let max_timestamp = spec.max_timestamp.unwrap_or_else(|| {
            records
                .iter()
                .fold(NO_TIMESTAMP, |max, record| max.max(record.timestamp))
        });
        let base_timestamp = match (spec.delete_horizon_ms, records.first()) {
            (Some(horizon), _) => horizon,
            (None, Some(first)) => first.timestamp,
            (None, None) => max_timestamp,
        };
        let records_count = i32::try_from(records.len()).map_err(|_| {
            Error::Config(format!("{} records do not fit one batch", records.len()))
        })?;

        let start = out.len();
        out.resize(start + RECORD_BATCH_OVERHEAD, 0);
        if spec.compression == Compression::None {
            for record in records {
                write_record(out, record, base_timestamp)?;
            }
        } else {
            self.scratch.clear();
            for record in records {
                write_record(&mut self.scratch, record, base_timestamp)?;
            }
            compress(spec.compression, &self.scratch, out)
                .map_err(|e| compression_error(spec.compression, &e))?;
        }
        let size = out.len() - start;
        let batch_length = i32::try_from(size - LOG_OVERHEAD).map_err(|_| {
            Error::Config(format!(
                "batch of {size} bytes does not fit a 32-bit length"
            ))
        })?;

        let mut attributes = spec.compression.id() as i16;
        if spec.timestamp_type == TimestampType::LogAppendTime {
            attributes |= ATTR_TIMESTAMP_TYPE;
        }
        if spec.is_transactional || is_control {
            attributes |= ATTR_TRANSACTIONAL;
        }
        if is_control {
            attributes |= ATTR_CONTROL;
        }
        if spec.delete_horizon_ms.is_some() {
            attributes |= ATTR_DELETE_HORIZON;
        }

        let mut header = [0u8; RECORD_BATCH_OVERHEAD];
        let mut w = FieldWriter::new(&mut header);
        w.put(&spec.base_offset.to_be_bytes());
        w.put(&batch_length.to_be_bytes());
        w.put(&spec.partition_leader_epoch.unwrap_or(-1).to_be_bytes());
        w.put(&[2u8]);
        w.put(&0u32.to_be_bytes()); // crc, filled below
        w.put(&attributes.to_be_bytes());
        w.put(&last_offset_delta.to_be_bytes());
        w.put(&base_timestamp.to_be_bytes());
        w.put(&max_timestamp.to_be_bytes());
        w.put(&spec.producer_id.unwrap_or(-1).to_be_bytes());
        w.put(&spec.producer_epoch.unwrap_or(-1).to_be_bytes());
        w.put(&spec.base_sequence.unwrap_or(-1).to_be_bytes());
        w.put(&records_count.to_be_bytes());

        let mut digest = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32Iscsi);
        digest.update(header.get(ATTRIBUTES_OFFSET..).unwrap_or_default());
        digest.update(out.get(start + RECORD_BATCH_OVERHEAD..).unwrap_or_default());
        // CRC-32C is a 32-bit value carried in a u64.
        let crc = digest.finalize() as u32;
        FieldWriter::at(&mut header, CRC_OFFSET).put(&crc.to_be_bytes());
        if let Some(slot) = out.get_mut(start..start + RECORD_BATCH_OVERHEAD) {
            slot.copy_from_slice(&header);
        }
        Ok(())
    }

    fn encode_legacy(
        &mut self,
        spec: &LegacySpec,
        records: &[RecordSpec],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let magic = spec.magic;
        if magic != 0 && magic != 1 {
            return Err(Error::Config(format!(
                "legacy message sets have magic 0 or 1, not {magic}"
            )));
        }
        if spec.compression == Compression::Zstd {
            return Err(Error::Config(format!(
                "zstd is not defined for magic {magic}"
            )));
        }
        let log_append_time = spec.timestamp_type == TimestampType::LogAppendTime;
        if log_append_time && magic == 0 {
            return Err(Error::Config("magic 0 has no timestamp type".into()));
        }
        if records.iter().any(|record| !record.headers.is_empty()) {
            return Err(Error::Config(format!(
                "magic {magic} does not support record headers"
            )));
        }
        let Some(last_delta) = check_offset_deltas(records)? else {
            return Ok(());
        };
        let max_record_timestamp = records
            .iter()
            .fold(NO_TIMESTAMP, |max, record| max.max(record.timestamp));
        let append_time = spec.log_append_time.unwrap_or(max_record_timestamp);
        let timestamp_of = |record: &RecordSpec| {
            if log_append_time {
                append_time
            } else {
                record.timestamp
            }
        };
        let inner_attributes = if log_append_time {
            LEGACY_ATTR_TIMESTAMP_TYPE
        } else {
            0
        };

        if spec.compression == Compression::None {
            for record in records {
                let offset = spec
                    .base_offset
                    .wrapping_add(i64::from(record.offset_delta));
                write_legacy_message(
                    out,
                    offset,
                    magic,
                    inner_attributes,
                    timestamp_of(record),
                    record.key.as_deref(),
                    record.value.as_deref(),
                )?;
            }
            return Ok(());
        }

        self.scratch.clear();
        for record in records {
            let inner_offset = if magic == 0 {
                spec.base_offset
                    .wrapping_add(i64::from(record.offset_delta))
            } else {
                i64::from(record.offset_delta)
            };
            write_legacy_message(
                &mut self.scratch,
                inner_offset,
                magic,
                inner_attributes,
                timestamp_of(record),
                record.key.as_deref(),
                record.value.as_deref(),
            )?;
        }
        self.compressed.clear();
        compress(spec.compression, &self.scratch, &mut self.compressed)
            .map_err(|e| compression_error(spec.compression, &e))?;
        let wrapper_offset = spec.base_offset.wrapping_add(i64::from(last_delta));
        let wrapper_timestamp = if log_append_time {
            append_time
        } else {
            max_record_timestamp
        };
        write_legacy_message(
            out,
            wrapper_offset,
            magic,
            inner_attributes | spec.compression.id(),
            wrapper_timestamp,
            None,
            Some(&self.compressed),
        )
    }
}

fn compression_error(codec: Compression, e: &std::io::Error) -> Error {
    Error::Config(format!("{codec} compression failed: {e}"))
}

/// Checks that offset deltas are non-negative and strictly increasing;
/// returns the last one.
fn check_offset_deltas(records: &[RecordSpec]) -> Result<Option<i32>> {
    let mut previous: Option<i32> = None;
    for (index, record) in records.iter().enumerate() {
        let delta = record.offset_delta;
        let ok = match previous {
            None => delta >= 0,
            Some(previous) => delta > previous,
        };
        if !ok {
            return Err(Error::Config(format!(
                "offset deltas must increase from 0 or more: record {index} has {delta} after {}",
                previous.map_or_else(|| "the batch start".to_string(), |p| p.to_string())
            )));
        }
        previous = Some(delta);
    }
    Ok(previous)
}

/// Writes fixed-size big-endian fields into a header array.
struct FieldWriter<'a> {
    buf: &'a mut [u8],
    position: usize,
}

impl<'a> FieldWriter<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        FieldWriter { buf, position: 0 }
    }

    fn at(buf: &'a mut [u8], position: usize) -> Self {
        FieldWriter { buf, position }
    }

    fn put(&mut self, bytes: &[u8]) {
        let end = self.position + bytes.len();
        if let Some(slot) = self.buf.get_mut(self.position..end) {
            slot.copy_from_slice(bytes);
        }
        self.position = end;
    }
}

// ---------------------------------------------------------------------------
// Varints (Kafka's ByteUtils.writeVarint / writeVarlong: zigzag, then 7 bits
// per byte, low group first).

/// Appends `value` as a zigzag varint (the engine's one encoder, in
/// `record`, with the writer's argument order).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i32) {
    crate::record::write_varint(value, out);
}

/// Appends `value` as a zigzag varlong.
#[inline]
pub(crate) fn put_varlong(out: &mut Vec<u8>, value: i64) {
    crate::record::write_varlong(value, out);
}

/// Bytes `put_varint(value)` writes.
#[inline]
pub(crate) fn size_of_varint(value: i32) -> usize {
    let v = ((value << 1) ^ (value >> 31)) as u32;
    // 1 byte per started group of 7 bits, at least one.
    let bits = 32 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Bytes `put_varlong(value)` writes.
#[inline]
pub(crate) fn size_of_varlong(value: i64) -> usize {
    let v = ((value << 1) ^ (value >> 63)) as u64;
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

fn length_i32(len: usize, what: &str) -> Result<i32> {
    i32::try_from(len).map_err(|_| {
        Error::Config(format!(
            "{what} of {len} bytes does not fit a 32-bit length"
        ))
    })
}

/// Size of a nullable byte field with a varint length.
#[inline]
fn size_of_nullable(bytes: Option<&[u8]>, what: &str) -> Result<usize> {
    Ok(match bytes {
        None => 1,
        Some(bytes) => size_of_varint(length_i32(bytes.len(), what)?) + bytes.len(),
    })
}

#[inline]
fn put_nullable(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(bytes) => {
            // Lengths were checked by the size computation.
            put_varint(out, bytes.len() as i32);
            out.extend_from_slice(bytes);
        }
    }
}

/// Appends one v2 record (`DefaultRecord.writeTo`): length varint, then the
/// body.
fn write_record(out: &mut Vec<u8>, record: &RecordSpec, base_timestamp: i64) -> Result<()> {
    let timestamp_delta = record.timestamp.wrapping_sub(base_timestamp);
    let key = record.key.as_deref();
    let value = record.value.as_deref();
    let mut body = 1 // attributes
        + size_of_varlong(timestamp_delta)
        + size_of_varint(record.offset_delta)
        + size_of_nullable(key, "key")?
        + size_of_nullable(value, "value")?
        + size_of_varint(length_i32(record.headers.len(), "header count")?);
    for (header_key, header_value) in &record.headers {
        body += size_of_varint(length_i32(header_key.len(), "header key")?) + header_key.len();
        body += size_of_nullable(header_value.as_deref(), "header value")?;
    }
    let body_length = length_i32(body, "record")?;
    out.reserve(body + 5);
    put_varint(out, body_length);
    out.push(0); // attributes: unused
    put_varlong(out, timestamp_delta);
    put_varint(out, record.offset_delta);
    put_nullable(out, key);
    put_nullable(out, value);
    put_varint(out, record.headers.len() as i32);
    for (header_key, header_value) in &record.headers {
        put_varint(out, header_key.len() as i32);
        out.extend_from_slice(header_key.as_bytes());
        put_nullable(out, header_value.as_deref());
    }
    Ok(())
}

/// Appends one legacy message with its log overhead (`LegacyRecord.write`):
/// offset, size, crc (CRC-32 over magic..end), magic, attributes, timestamp
/// (magic 1), key, value; lengths i32 with -1 for null.
fn write_legacy_message(
    out: &mut Vec<u8>,
    offset: i64,
    magic: i8,
    attributes: u8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<()> {
    let overhead = if magic == 0 {
        LEGACY_RECORD_OVERHEAD_V0
    } else {
        LEGACY_RECORD_OVERHEAD_V1
    };
    let key_len = key.map_or(0, <[u8]>::len);
    let value_len = value.map_or(0, <[u8]>::len);
    let size = length_i32(overhead + key_len + value_len, "message")?;
    let start = out.len();
    out.reserve(LOG_OVERHEAD + overhead + key_len + value_len);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes()); // crc, filled below
    out.push(magic as u8);
    out.push(attributes);
    if magic > 0 {
        out.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    let crc = crc32fast::hash(out.get(start + LEGACY_CRC_OFFSET + 4..).unwrap_or_default());
    if let Some(slot) = out.get_mut(start + LEGACY_CRC_OFFSET..start + LEGACY_CRC_OFFSET + 4) {
        slot.copy_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Bit-by-bit reflected CRC-32 with the given polynomial, independent of
    /// crc-fast and crc32fast.
    fn naive_crc(polynomial: u32, bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ polynomial
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// CRC-32C (Castagnoli, reflected 0x82F63B78).
    fn naive_crc32c(bytes: &[u8]) -> u32 {
        naive_crc(0x82F6_3B78, bytes)
    }

    /// CRC-32 (IEEE, reflected 0xEDB88320).
    fn naive_crc32(bytes: &[u8]) -> u32 {
        naive_crc(0xEDB8_8320, bytes)
    }

    /// Naive zigzag varint: 7 bits at a time through a u128, no shortcuts.
    fn naive_varlong(value: i64) -> Vec<u8> {
        let mut zigzag: u128 = if value >= 0 {
            (value as u128) * 2
        } else {
            ((-(value as i128)) as u128) * 2 - 1
        };
        let mut out = Vec::new();
        loop {
            let group = (zigzag % 128) as u8;
            zigzag /= 128;
            if zigzag == 0 {
                out.push(group);
                return out;
            }
            out.push(group + 128);
        }
    }

    #[test]
    fn naive_crcs_match_known_check_values() {
        assert_eq!(naive_crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(naive_crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn varint_edge_values() {
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
            (8191, &[0xfe, 0x7f]),
            (-8193, &[0x81, 0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for &(value, expected) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out, expected, "varint {value}");
            assert_eq!(
                size_of_varint(value),
                expected.len(),
                "size of varint {value}"
            );
            assert_eq!(naive_varlong(i64::from(value)), expected, "naive {value}");
        }
        for value in [
            0,
            -1,
            1,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::from(i32::MAX) + 1,
            (1 << 62) - 1,
            1 << 62,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            assert_eq!(out, naive_varlong(value), "varlong {value}");
            assert_eq!(size_of_varlong(value), out.len(), "size of varlong {value}");
        }
        let mut out = Vec::new();
        put_varlong(&mut out, i64::MIN);
        assert_eq!(
            out,
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    proptest::proptest! {
        #[test]
        fn varints_match_the_naive_encoder(value: i64, small: i32) {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            proptest::prop_assert_eq!(&out, &naive_varlong(value));
            proptest::prop_assert_eq!(size_of_varlong(value), out.len());
            out.clear();
            put_varint(&mut out, small);
            proptest::prop_assert_eq!(&out, &naive_varlong(i64::from(small)));
            proptest::prop_assert_eq!(size_of_varint(small), out.len());
        }
    }

    /// Builds the expected record bytes field by field.
    fn manual_record(
        offset_delta: u8,
        timestamp_delta: u8,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Vec<u8> {
        // All lengths in this test are < 64, so every varint is one byte:
        // zigzag(n) = 2n, zigzag(-1) = 1.
        let mut body = vec![0u8, timestamp_delta * 2, offset_delta * 2];
        for field in [key, value] {
            match field {
                None => body.push(1),
                Some(b) => {
                    body.push(b.len() as u8 * 2);
                    body.extend_from_slice(b);
                }
            }
        }
        body.push(headers.len() as u8 * 2);
        for (k, v) in headers {
            body.push(k.len() as u8 * 2);
            body.extend_from_slice(k.as_bytes());
            match v {
                None => body.push(1),
                Some(b) => {
                    body.push(b.len() as u8 * 2);
                    body.extend_from_slice(b);
                }
            }
        }
        let mut out = vec![body.len() as u8 * 2];
        out.extend(body);
        out
    }

    #[test]
    fn v2_header_layout_and_crc_match_a_manual_construction() {
        let records = vec![
            RecordSpec::new(1_700_000_000_000, Some(b"k0"), Some(b"value-0")),
            RecordSpec::new(1_700_000_000_007, None, Some(b""))
                .with_offset_delta(1)
                .with_header("h", Some(b"x"))
                .with_header("n", None),
            RecordSpec::new(1_700_000_000_003, Some(b""), None).with_offset_delta(4),
        ];
        let spec = BatchSpec {
            base_offset: 1_000_000,
            partition_leader_epoch: Some(7),
            is_transactional: true,
            producer_id: Some(4242),
            producer_epoch: Some(3),
            base_sequence: Some(10),
            last_offset_delta: Some(5),
            ..BatchSpec::default()
        };
        let mut out = vec![0xAA]; // encoding appends after existing bytes
        encode_batch(&spec, &records, &mut out).unwrap();
        assert_eq!(out[0], 0xAA);
        let batch = &out[1..];

        let mut records_bytes = manual_record(0, 0, Some(b"k0"), Some(b"value-0"), &[]);
        records_bytes.extend(manual_record(
            1,
            7,
            None,
            Some(b""),
            &[("h", Some(b"x")), ("n", None)],
        ));
        records_bytes.extend(manual_record(4, 3, Some(b""), None, &[]));

        let mut after_crc = Vec::new();
        after_crc.extend_from_slice(&0x0010i16.to_be_bytes()); // transactional
        after_crc.extend_from_slice(&5i32.to_be_bytes());
        after_crc.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        after_crc.extend_from_slice(&1_700_000_000_007i64.to_be_bytes());
        after_crc.extend_from_slice(&4242i64.to_be_bytes());
        after_crc.extend_from_slice(&3i16.to_be_bytes());
        after_crc.extend_from_slice(&10i32.to_be_bytes());
        after_crc.extend_from_slice(&3i32.to_be_bytes());
        after_crc.extend_from_slice(&records_bytes);

        let mut expected = Vec::new();
        expected.extend_from_slice(&1_000_000i64.to_be_bytes());
        expected.extend_from_slice(&((after_crc.len() + 9) as i32).to_be_bytes());
        expected.extend_from_slice(&7i32.to_be_bytes());
        expected.push(2);
        expected.extend_from_slice(&naive_crc32c(&after_crc).to_be_bytes());
        expected.extend_from_slice(&after_crc);

        assert_eq!(batch, &expected[..]);
        assert_eq!(batch.len(), 61 + records_bytes.len());
    }

    #[test]
    fn empty_batch_and_defaults_write_sentinels() {
        let spec = BatchSpec {
            base_offset: 30,
            producer_id: Some(77),
            producer_epoch: Some(0),
            max_timestamp: Some(1234),
            partition_leader_epoch: None,
            ..BatchSpec::default()
        };
        let mut out = Vec::new();
        encode_batch(&spec, &[], &mut out).unwrap();
        assert_eq!(out.len(), 61);
        assert_eq!(&out[8..12], &49i32.to_be_bytes());
        assert_eq!(&out[12..16], &(-1i32).to_be_bytes());
        assert_eq!(&out[23..27], &0i32.to_be_bytes()); // last offset delta
        assert_eq!(&out[27..35], &1234i64.to_be_bytes()); // base = max
        assert_eq!(&out[35..43], &1234i64.to_be_bytes());
        assert_eq!(&out[53..57], &(-1i32).to_be_bytes()); // base sequence
        assert_eq!(&out[57..61], &0i32.to_be_bytes());
        assert_eq!(&out[17..21], &naive_crc32c(&out[21..]).to_be_bytes());
    }

    #[test]
    fn log_append_time_and_delete_horizon_attributes() {
        let records = [
            RecordSpec::new(100, None, Some(b"a")),
            RecordSpec::new(90, None, Some(b"b")).with_offset_delta(1),
        ];
        let spec = BatchSpec {
            timestamp_type: TimestampType::LogAppendTime,
            max_timestamp: Some(5000),
            delete_horizon_ms: Some(50),
            ..BatchSpec::default()
        };
        let mut out = Vec::new();
        encode_batch(&spec, &records, &mut out).unwrap();
        assert_eq!(i16::from_be_bytes([out[21], out[22]]), 0x48);
        assert_eq!(&out[27..35], &50i64.to_be_bytes());
        assert_eq!(&out[35..43], &5000i64.to_be_bytes());
        // First record: length, attributes, timestamp delta 100 - 50 = 50.
        assert_eq!(out[61 + 2], 100);
    }

    #[test]
    fn control_batch_layout() {
        let spec = BatchSpec {
            base_offset: 19,
            producer_id: Some(5151),
            producer_epoch: Some(0),
            base_sequence: Some(99),        // ignored: markers carry -1
            compression: Compression::Gzip, // ignored: markers are uncompressed
            ..BatchSpec::default()
        };
        let marker = EndTransactionMarker {
            result: TransactionResult::Abort,
            coordinator_epoch: 9,
        };
        let mut out = Vec::new();
        encode_control_batch(&spec, &marker, 777, &mut out).unwrap();
        assert_eq!(i16::from_be_bytes([out[21], out[22]]), 0x30);
        assert_eq!(&out[27..35], &777i64.to_be_bytes());
        assert_eq!(&out[35..43], &777i64.to_be_bytes());
        assert_eq!(&out[43..51], &5151i64.to_be_bytes());
        assert_eq!(&out[53..57], &(-1i32).to_be_bytes());
        assert_eq!(&out[57..61], &1i32.to_be_bytes());
        let expected_record =
            manual_record(0, 0, Some(&[0, 0, 0, 0]), Some(&[0, 0, 0, 0, 0, 9]), &[]);
        assert_eq!(&out[61..], &expected_record[..]);
        assert_eq!(&out[17..21], &naive_crc32c(&out[21..]).to_be_bytes());

        let no_producer = BatchSpec::default();
        assert!(encode_control_batch(&no_producer, &marker, 0, &mut Vec::new()).is_err());
    }

    #[test]
    fn invalid_input_is_an_error_and_leaves_out_untouched() {
        let mut out = vec![1, 2, 3];
        let decreasing = [
            RecordSpec::new(0, None, None).with_offset_delta(1),
            RecordSpec::new(0, None, None).with_offset_delta(1),
        ];
        assert!(encode_batch(&BatchSpec::default(), &decreasing, &mut out).is_err());
        let negative = [RecordSpec::new(0, None, None).with_offset_delta(-1)];
        assert!(encode_batch(&BatchSpec::default(), &negative, &mut out).is_err());
        let transactional = BatchSpec {
            is_transactional: true,
            ..BatchSpec::default()
        };
        assert!(encode_batch(&transactional, &[], &mut out).is_err());
        let short_last = BatchSpec {
            last_offset_delta: Some(0),
            ..BatchSpec::default()
        };
        let two = [
            RecordSpec::new(0, None, None),
            RecordSpec::new(0, None, None).with_offset_delta(1),
        ];
        assert!(encode_batch(&short_last, &two, &mut out).is_err());
        let with_header = [RecordSpec::new(0, None, None).with_header("h", None)];
        assert!(encode_legacy_message_set(&LegacySpec::default(), &with_header, &mut out).is_err());
        let zstd = LegacySpec {
            compression: Compression::Zstd,
            ..LegacySpec::default()
        };
        assert!(encode_legacy_message_set(&zstd, &two, &mut out).is_err());
        let v0_lat = LegacySpec {
            magic: 0,
            timestamp_type: TimestampType::LogAppendTime,
            ..LegacySpec::default()
        };
        assert!(encode_legacy_message_set(&v0_lat, &two, &mut out).is_err());
        let magic2 = LegacySpec {
            magic: 2,
            ..LegacySpec::default()
        };
        assert!(encode_legacy_message_set(&magic2, &two, &mut out).is_err());
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn legacy_messages_match_a_manual_construction() {
        let records = [
            RecordSpec::new(1000, Some(b"k"), Some(b"v1")),
            RecordSpec::new(1005, None, None).with_offset_delta(2),
        ];
        for magic in [0i8, 1] {
            let spec = LegacySpec {
                magic,
                base_offset: 40,
                ..LegacySpec::default()
            };
            let mut out = Vec::new();
            encode_legacy_message_set(&spec, &records, &mut out).unwrap();

            let mut expected = Vec::new();
            for (offset, timestamp, key, value) in [
                (40i64, 1000i64, Some(&b"k"[..]), Some(&b"v1"[..])),
                (42, 1005, None, None),
            ] {
                let mut body = vec![magic as u8, 0];
                if magic == 1 {
                    body.extend_from_slice(&timestamp.to_be_bytes());
                }
                for field in [key, value] {
                    match field {
                        None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                        Some(b) => {
                            body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                            body.extend_from_slice(b);
                        }
                    }
                }
                expected.extend_from_slice(&offset.to_be_bytes());
                expected.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
                expected.extend_from_slice(&naive_crc32(&body).to_be_bytes());
                expected.extend_from_slice(&body);
            }
            assert_eq!(out, expected, "magic {magic}");
        }
        // Nothing for an empty set.
        let mut out = Vec::new();
        encode_legacy_message_set(&LegacySpec::default(), &[], &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn legacy_log_append_time_stamps_every_message() {
        let records = [
            RecordSpec::new(1000, None, Some(b"a")),
            RecordSpec::new(1005, None, Some(b"b")).with_offset_delta(1),
        ];
        let spec = LegacySpec {
            magic: 1,
            timestamp_type: TimestampType::LogAppendTime,
            log_append_time: Some(9999),
            ..LegacySpec::default()
        };
        let mut out = Vec::new();
        encode_legacy_message_set(&spec, &records, &mut out).unwrap();
        let second = 12 + 22 + 1; // first message: overhead + value "a"
        for start in [0, second] {
            assert_eq!(out[start + 17], 0x08);
            assert_eq!(&out[start + 18..start + 26], &9999i64.to_be_bytes());
        }
    }
}
