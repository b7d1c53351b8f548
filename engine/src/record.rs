//! Zero-copy views over Kafka's on-disk record formats.
//!
//! A [`RecordBatch`] is what Kafka's `FileLogInputStream` calls a batch: for
//! magic 2 a record batch (61-byte header, then records), for magic 0 and 1 one
//! legacy message, which may be a compressed wrapper around an inner message
//! set. Both are borrowed from the segment's bytes; [`RecordBatch::records`]
//! iterates the [`Record`]s, borrowing either the same bytes or, for a
//! compressed batch, the [`Inflater`]'s reused buffer.
//!
//! Layouts (big-endian; Kafka's `DefaultRecordBatch`, `DefaultRecord`,
//! `LegacyRecord`):
//!
//! ```text
//! v2 batch:  base_offset i64 | batch_length i32 | partition_leader_epoch i32 | magic i8
//!            | crc u32 (CRC-32C of attributes..end) | attributes i16 | last_offset_delta i32
//!            | base_timestamp i64 | max_timestamp i64 | producer_id i64 | producer_epoch i16
//!            | base_sequence i32 | records_count i32 | records...
//! v2 record: length varint | attributes i8 | timestamp_delta varlong | offset_delta varint
//!            | key_length varint | key | value_length varint | value
//!            | header_count varint | (key_length varint | key | value_length varint | value)*
//! legacy:    offset i64 | message_size i32 | crc u32 (CRC-32 of magic..end) | magic i8
//!            | attributes i8 | timestamp i64 (magic 1 only) | key_length i32 | key
//!            | value_length i32 | value
//! ```

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt;

use crate::compression::{Compression, Decompressor};
use crate::error::Corruption;

/// Legacy message format without timestamps.
pub const MAGIC_V0: i8 = 0;
/// Legacy message format with timestamps.
pub const MAGIC_V1: i8 = 1;
/// The record batch format (Kafka 0.11 and later).
pub const MAGIC_V2: i8 = 2;

/// `base_offset` and `batch_length` / `message_size`: the bytes before a
/// batch's length-counted part.
pub const LOG_OVERHEAD: usize = 12;
/// Bytes up to and including the magic byte, the same for every magic.
pub const HEADER_SIZE_UP_TO_MAGIC: usize = 17;
/// Size of a v2 batch header.
pub const RECORD_BATCH_OVERHEAD: usize = 61;
/// Minimum size of a magic 0 message after the log overhead.
pub const RECORD_OVERHEAD_V0: usize = 14;
/// Minimum size of a magic 1 message after the log overhead.
pub const RECORD_OVERHEAD_V1: usize = 22;
/// Inflated bytes allowed for one compressed batch unless configured otherwise.
pub const DEFAULT_MAX_INFLATED_BYTES: usize = 256 << 20;

const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;
const ATTR_DELETE_HORIZON: i16 = 0x40;

/// Where a record's timestamp comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampType {
    /// Set by the producer (Kafka id 0).
    CreateTime,
    /// Set by the broker when it appended the batch (Kafka id 1).
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's id: 0 for CreateTime, 1 for LogAppendTime.
    pub fn id(self) -> u8 {
        match self {
            TimestampType::CreateTime => 0,
            TimestampType::LogAppendTime => 1,
        }
    }

    /// Kafka's name for it.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

impl fmt::Display for TimestampType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a control record, from its key (Kafka's `ControlRecordType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// Transaction abort marker (0).
    Abort,
    /// Transaction commit marker (1).
    Commit,
    /// KRaft leader change (2).
    LeaderChange,
    /// KRaft snapshot header (3).
    SnapshotHeader,
    /// KRaft snapshot footer (4).
    SnapshotFooter,
    /// KRaft version (5).
    KRaftVersion,
    /// KRaft voters (6).
    KRaftVoters,
    /// A type this reader does not know (still a control record).
    Unknown(i16),
}

impl ControlRecordType {
    /// Parses the key of a control record: version i16, type i16.
    pub fn parse(key: &[u8]) -> Option<ControlRecordType> {
        let type_id = be_i16(key, 2)?;
        Some(match type_id {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            2 => ControlRecordType::LeaderChange,
            3 => ControlRecordType::SnapshotHeader,
            4 => ControlRecordType::SnapshotFooter,
            5 => ControlRecordType::KRaftVersion,
            6 => ControlRecordType::KRaftVoters,
            other => ControlRecordType::Unknown(other),
        })
    }
}

// ---------------------------------------------------------------------------
// Byte helpers: every read is bounds-checked and returns None past the end.

#[inline]
fn be_i16(bytes: &[u8], at: usize) -> Option<i16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(i16::from_be_bytes(b.try_into().ok()?))
}

#[inline]
fn be_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes(b.try_into().ok()?))
}

#[inline]
fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

#[inline]
fn be_i64(bytes: &[u8], at: usize) -> Option<i64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(i64::from_be_bytes(b.try_into().ok()?))
}

/// Reads the `base_offset` and length fields at the start of `bytes` (the 12
/// bytes every batch or message starts with).
pub fn read_log_overhead(bytes: &[u8]) -> Option<(i64, i32)> {
    Some((be_i64(bytes, 0)?, be_i32(bytes, 8)?))
}

/// Reads the magic byte of the batch starting at `bytes`.
pub fn read_magic(bytes: &[u8]) -> Option<i8> {
    bytes.get(16).map(|&b| b as i8)
}

/// CRC-32C (Castagnoli), as v2 batches use.
#[inline]
pub fn crc32c(bytes: &[u8]) -> u32 {
    // The algorithm produces a 32-bit value in a u64.
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32
}

/// CRC-32 (IEEE), as legacy messages use.
#[inline]
pub fn crc32_ieee(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

// ---------------------------------------------------------------------------
// Varints (zigzag, as Kafka's ByteUtils.readVarint / readVarlong).

/// A forward cursor over a byte slice that reads Kafka's primitive types.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, position: 0 }
    }

    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.position)?;
        self.position += 1;
        Some(b)
    }

    /// An unsigned LEB128 value of at most `max_bytes` bytes.
    #[inline(always)]
    fn unsigned_varint(&mut self, max_bytes: u32) -> Result<u64, &'static str> {
        let first = self.byte().ok_or("varint past the end")?;
        if first & 0x80 == 0 {
            return Ok(u64::from(first));
        }
        let mut value = u64::from(first & 0x7f);
        let mut shift = 7;
        for _ in 1..max_bytes {
            let b = self.byte().ok_or("varint past the end")?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
        Err("varint is too long")
    }

    /// A zigzag-encoded 32-bit varint.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<i32, &'static str> {
        let raw = self.unsigned_varint(5)?;
        let raw = u32::try_from(raw).map_err(|_| "varint is too long")?;
        Ok(zigzag32(raw))
    }

    /// A zigzag-encoded 64-bit varint.
    #[cfg(test)]
    pub(crate) fn varlong(&mut self) -> Result<i64, &'static str> {
        let raw = self.unsigned_varint(10)?;
        Ok(zigzag64(raw))
    }

    /// The next `len` bytes.
    #[inline(always)]
    pub(crate) fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(len)?;
        let out = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(out)
    }

    /// Bytes of a length-prefixed field (`-1` length is null).
    #[inline(always)]
    fn nullable_bytes(&mut self, len: i32) -> Result<Option<&'a [u8]>, &'static str> {
        if len < 0 {
            return Ok(None);
        }
        self.take(len as usize)
            .map(Some)
            .ok_or("field past the end")
    }
}

/// Zigzag-encodes `value` as a varint into `out` (for the writer and tests).
#[inline]
pub fn write_varint(value: i32, out: &mut Vec<u8>) {
    write_unsigned(((value << 1) ^ (value >> 31)) as u32 as u64, out);
}

/// Zigzag-encodes `value` as a varlong into `out`.
#[inline]
pub fn write_varlong(value: i64, out: &mut Vec<u8>) {
    write_unsigned(((value << 1) ^ (value >> 63)) as u64, out);
}

#[inline]
fn write_unsigned(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

// ---------------------------------------------------------------------------
// Batches.

/// One batch as stored in a segment: a v2 record batch, or one legacy message
/// (magic 0 or 1; a compressed one wraps an inner message set).
#[derive(Clone, Copy)]
pub struct RecordBatch<'a> {
    /// The whole batch, from `base_offset` to its end.
    bytes: &'a [u8],
    magic: i8,
    attributes: i16,
    base_offset: i64,
    last_offset: i64,
}

impl fmt::Debug for RecordBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatch")
            .field("magic", &self.magic)
            .field("base_offset", &self.base_offset())
            .field("last_offset", &self.last_offset())
            .field("size", &self.size_in_bytes())
            .field("compression", &self.compression())
            .finish_non_exhaustive()
    }
}

impl<'a> RecordBatch<'a> {
    /// Parses the batch that starts at `bytes[0]` and is exactly `bytes.len()`
    /// bytes long (log overhead included), checking its structure but not its
    /// CRC ([`RecordBatch::ensure_valid`] does that).
    pub fn parse(bytes: &'a [u8]) -> Result<RecordBatch<'a>, Corruption> {
        let (base_offset, length) = read_log_overhead(bytes)
            .ok_or_else(|| Corruption::malformed("batch header", "fewer than 12 bytes"))?;
        if length < 0 || (length as usize).checked_add(LOG_OVERHEAD) != Some(bytes.len()) {
            return Err(Corruption::malformed(
                "batch header",
                format!(
                    "length field {length} does not match the {} bytes given",
                    bytes.len()
                ),
            ));
        }
        let magic = read_magic(bytes)
            .ok_or_else(|| Corruption::malformed("batch header", "no magic byte"))?;
        match magic {
            MAGIC_V2 => Self::parse_v2(bytes, base_offset),
            MAGIC_V0 | MAGIC_V1 => Self::parse_legacy(bytes, base_offset, magic),
            other => Err(Corruption::UnsupportedMagic(other)),
        }
    }

    fn parse_v2(bytes: &'a [u8], base_offset: i64) -> Result<RecordBatch<'a>, Corruption> {
        if bytes.len() < RECORD_BATCH_OVERHEAD {
            return Err(Corruption::ImpossibleLength {
                length: bytes.len() as i64 - LOG_OVERHEAD as i64,
                reason: "smaller than the 61-byte record batch header",
            });
        }
        let short = || Corruption::malformed("batch header", "truncated");
        let attributes = be_i16(bytes, 21).ok_or_else(short)?;
        let last_offset_delta = be_i32(bytes, 23).ok_or_else(short)?;
        let records_count = be_i32(bytes, 57).ok_or_else(short)?;
        if records_count < 0 {
            return Err(Corruption::malformed(
                "batch header",
                format!("negative records count {records_count}"),
            ));
        }
        Compression::from_id((attributes & ATTR_COMPRESSION_MASK) as u8)?;
        Ok(RecordBatch {
            bytes,
            magic: MAGIC_V2,
            attributes,
            base_offset,
            last_offset: base_offset.wrapping_add(i64::from(last_offset_delta)),
        })
    }

    fn parse_legacy(
        bytes: &'a [u8],
        offset: i64,
        magic: i8,
    ) -> Result<RecordBatch<'a>, Corruption> {
        let message = LegacyMessage::parse(bytes.get(LOG_OVERHEAD..).unwrap_or_default(), magic)?;
        if message.compression == Compression::Zstd {
            return Err(Corruption::malformed(
                "message",
                "zstd is not allowed before magic 2",
            ));
        }
        Ok(RecordBatch {
            bytes,
            magic,
            attributes: i16::from(message.attributes),
            base_offset: offset,
            last_offset: offset,
        })
    }

    /// The batch's bytes, log overhead included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Size in bytes, log overhead included.
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// 0, 1 or 2.
    pub fn magic(&self) -> i8 {
        self.magic
    }

    /// The batch's first offset. For a legacy message this is the message's
    /// offset, which for a compressed wrapper is the offset of its *last*
    /// inner message (as Kafka's `AbstractLegacyRecordBatch.baseOffset` would
    /// need the inner messages to tell).
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// The batch's last offset (`base_offset + last_offset_delta` in v2).
    pub fn last_offset(&self) -> i64 {
        self.last_offset
    }

    /// The offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset.wrapping_add(1)
    }

    /// The attributes field (a legacy message's attributes byte, widened).
    pub fn attributes(&self) -> i16 {
        self.attributes
    }

    /// The compression codec.
    pub fn compression(&self) -> Compression {
        // Validated at parse time; None is unreachable but keeps this total.
        Compression::from_id((self.attributes & ATTR_COMPRESSION_MASK) as u8).unwrap_or_default()
    }

    /// The timestamp type; `None` for magic 0, which has no timestamps.
    pub fn timestamp_type(&self) -> Option<TimestampType> {
        if self.magic == MAGIC_V0 {
            None
        } else if self.attributes & ATTR_TIMESTAMP_TYPE != 0 {
            Some(TimestampType::LogAppendTime)
        } else {
            Some(TimestampType::CreateTime)
        }
    }

    /// Whether this is a transactional batch (v2 only).
    pub fn is_transactional(&self) -> bool {
        self.magic == MAGIC_V2 && self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Whether this is a control batch (v2 only): its records are markers,
    /// never data.
    pub fn is_control_batch(&self) -> bool {
        self.magic == MAGIC_V2 && self.attributes & ATTR_CONTROL != 0
    }

    /// Whether the batch carries a delete horizon (v2, set by the cleaner).
    pub fn has_delete_horizon_ms(&self) -> bool {
        self.magic == MAGIC_V2 && self.attributes & ATTR_DELETE_HORIZON != 0
    }

    fn v2_i64(&self, at: usize) -> Option<i64> {
        if self.magic == MAGIC_V2 {
            be_i64(self.bytes, at)
        } else {
            None
        }
    }

    fn v2_i32(&self, at: usize) -> Option<i32> {
        if self.magic == MAGIC_V2 {
            be_i32(self.bytes, at)
        } else {
            None
        }
    }

    /// The partition leader epoch (v2), `None` when absent (-1) or legacy.
    pub fn partition_leader_epoch(&self) -> Option<i32> {
        self.v2_i32(12).filter(|&e| e >= 0)
    }

    /// The CRC stored in the batch (v2: CRC-32C; legacy: the message's CRC-32).
    pub fn checksum(&self) -> u32 {
        be_u32(self.bytes, 12 + usize::from(self.magic == MAGIC_V2) * 5).unwrap_or(0)
    }

    /// Computes the CRC over the bytes the stored one covers.
    pub fn compute_checksum(&self) -> u32 {
        if self.magic == MAGIC_V2 {
            crc32c(self.bytes.get(21..).unwrap_or_default())
        } else {
            crc32_ieee(self.bytes.get(16..).unwrap_or_default())
        }
    }

    /// Checks the CRC (and, for a legacy wrapper, only the wrapper's; inner
    /// messages are checked as they are iterated).
    pub fn ensure_valid(&self) -> Result<(), Corruption> {
        let stored = self.checksum();
        let computed = self.compute_checksum();
        if stored == computed {
            Ok(())
        } else {
            Err(Corruption::CrcMismatch { stored, computed })
        }
    }

    /// `last_offset_delta` (v2).
    pub fn last_offset_delta(&self) -> i32 {
        self.v2_i32(23).unwrap_or(0)
    }

    /// The first record's timestamp (v2 `base_timestamp`; a legacy message's
    /// own timestamp). `None` for magic 0.
    pub fn base_timestamp(&self) -> Option<i64> {
        match self.magic {
            MAGIC_V2 => self.v2_i64(27),
            MAGIC_V1 => be_i64(self.bytes, 18),
            _ => None,
        }
    }

    /// The largest timestamp in the batch (v2 `max_timestamp`, which for
    /// LogAppendTime is the append time). `None` for magic 0. For a legacy
    /// wrapper this is the wrapper's timestamp.
    pub fn max_timestamp(&self) -> Option<i64> {
        match self.magic {
            MAGIC_V2 => self.v2_i64(35),
            MAGIC_V1 => be_i64(self.bytes, 18),
            _ => None,
        }
    }

    /// The producer id (v2), `None` when absent (-1).
    pub fn producer_id(&self) -> Option<i64> {
        self.v2_i64(43).filter(|&p| p >= 0)
    }

    /// The producer epoch (v2), `None` when absent (-1).
    pub fn producer_epoch(&self) -> Option<i16> {
        if self.magic == MAGIC_V2 {
            be_i16(self.bytes, 51).filter(|&e| e >= 0)
        } else {
            None
        }
    }

    /// The base sequence (v2), `None` when absent (-1).
    pub fn base_sequence(&self) -> Option<i32> {
        self.v2_i32(53).filter(|&s| s >= 0)
    }

    /// The number of records the header declares (v2); 1 for an uncompressed
    /// legacy message; `None` for a legacy wrapper (known only after inflating).
    pub fn records_count(&self) -> Option<i32> {
        match self.magic {
            MAGIC_V2 => self.v2_i32(57),
            _ if self.compression() == Compression::None => Some(1),
            _ => None,
        }
    }

    /// The records area (v2: after the header; legacy: the message's value).
    fn payload(&self) -> &'a [u8] {
        if self.magic == MAGIC_V2 {
            self.bytes.get(RECORD_BATCH_OVERHEAD..).unwrap_or_default()
        } else {
            LegacyMessage::parse(
                self.bytes.get(LOG_OVERHEAD..).unwrap_or_default(),
                self.magic,
            )
            .ok()
            .and_then(|m| m.value)
            .unwrap_or_default()
        }
    }

    /// Iterates the batch's records. Uncompressed records borrow the batch's
    /// bytes; a compressed batch is inflated once into `inflater`'s buffer and
    /// its records borrow that. Records of a control batch are returned with
    /// [`Record::is_control`] set; skipping them is the consumer's business.
    pub fn records<'s>(&self, inflater: &'s mut Inflater) -> Result<Records<'s>, Corruption>
    where
        'a: 's,
    {
        let check_crcs = inflater.check_crcs;
        if self.needs_inflation() {
            let Inflater {
                decompressor,
                buffer,
                max_inflated_bytes,
                ..
            } = inflater;
            self.inflate_into(decompressor, buffer, *max_inflated_bytes)?;
            self.records_with(buffer, check_crcs)
        } else {
            self.records_with(&[], check_crcs)
        }
    }

    /// Whether [`records`](Self::records) must inflate this batch first
    /// (compressed, and not an empty v2 batch).
    pub fn needs_inflation(&self) -> bool {
        self.compression() != Compression::None
            && (self.magic != MAGIC_V2 || self.records_count().unwrap_or(0) > 0)
    }

    /// Inflates this batch's compressed records (v2) or inner message set
    /// (legacy wrapper) into `out`, at most `max_inflated_bytes`. For a batch
    /// that does not [need inflation](Self::needs_inflation), clears `out`.
    pub fn inflate_into(
        &self,
        decompressor: &mut Decompressor,
        out: &mut Vec<u8>,
        max_inflated_bytes: usize,
    ) -> Result<(), Corruption> {
        if !self.needs_inflation() {
            out.clear();
            return Ok(());
        }
        decompressor.decompress(
            self.compression(),
            self.payload(),
            out,
            max_inflated_bytes,
            self.magic == MAGIC_V0,
        )
    }

    /// Iterates the records, taking a compressed batch's records from
    /// `inflated`, what [`inflate_into`](Self::inflate_into) produced for this
    /// batch (ignored for a batch that needs no inflation). `check_crcs`
    /// checks the CRCs of a legacy wrapper's inner messages.
    pub fn records_with<'s>(
        &self,
        inflated: &'s [u8],
        check_crcs: bool,
    ) -> Result<Records<'s>, Corruption>
    where
        'a: 's,
    {
        let compressed = self.needs_inflation();
        if self.magic == MAGIC_V2 {
            let count = self.records_count().unwrap_or(0);
            // As Java's DefaultRecordBatch.iterator(): an empty batch (kept by
            // the cleaner for producer state) yields nothing, whatever follows
            // its header (nothing, or an empty compressed stream).
            let area: &'s [u8] = if count == 0 {
                &[]
            } else if compressed {
                inflated
            } else {
                self.payload()
            };
            let timestamp_type = self.timestamp_type().unwrap_or(TimestampType::CreateTime);
            return Ok(Records {
                v2: V2Records {
                    cursor: Cursor::new(area),
                    remaining: count as u32,
                    consumed: 0,
                    batch: BatchContext {
                        base_offset: self.base_offset,
                        base_timestamp: self.base_timestamp().unwrap_or(-1),
                        max_timestamp: self.max_timestamp().unwrap_or(-1),
                        timestamp_type,
                        is_control: self.is_control_batch(),
                    },
                    failed: false,
                },
                legacy: Legacy::None,
                slow: None,
            });
        }
        let message = LegacyMessage::parse(
            self.bytes.get(LOG_OVERHEAD..).unwrap_or_default(),
            self.magic,
        )?;
        if !compressed {
            let record = message.into_record(self.base_offset, None);
            return Ok(Records {
                v2: V2Records::EMPTY,
                legacy: Legacy::Single(Some(record)),
                slow: None,
            });
        }
        LegacyInner::new(inflated, self, &message, check_crcs).map(|inner| Records {
            v2: V2Records::EMPTY,
            legacy: Legacy::Inner(inner),
            slow: None,
        })
    }
}

// ---------------------------------------------------------------------------
// Legacy messages.

/// One parsed legacy message (after the 12-byte log overhead).
#[derive(Debug, Clone, Copy)]
struct LegacyMessage<'a> {
    crc: u32,
    /// magic..end, what the CRC covers.
    crc_covered: &'a [u8],
    magic: i8,
    attributes: i8,
    compression: Compression,
    timestamp: Option<i64>,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

impl<'a> LegacyMessage<'a> {
    /// `bytes` is the message after offset and size: crc, magic, attributes...
    fn parse(bytes: &'a [u8], expected_magic: i8) -> Result<Self, Corruption> {
        let min = if expected_magic == MAGIC_V0 {
            RECORD_OVERHEAD_V0
        } else {
            RECORD_OVERHEAD_V1
        };
        if bytes.len() < min {
            return Err(Corruption::ImpossibleLength {
                length: bytes.len() as i64,
                reason: "smaller than the legacy message overhead",
            });
        }
        let mut c = Cursor::new(bytes);
        let bad = |detail: &'static str| Corruption::malformed("message", detail);
        let crc = c
            .take(4)
            .and_then(|b| be_u32(b, 0))
            .ok_or_else(|| bad("truncated"))?;
        let crc_covered = bytes.get(4..).unwrap_or_default();
        let magic = c.byte().ok_or_else(|| bad("truncated"))? as i8;
        if magic != expected_magic {
            return Err(Corruption::UnsupportedMagic(magic));
        }
        let attributes = c.byte().ok_or_else(|| bad("truncated"))? as i8;
        let compression = Compression::from_id((attributes as u8) & 0x07)?;
        let timestamp = if magic == MAGIC_V1 {
            Some(
                c.take(8)
                    .and_then(|b| be_i64(b, 0))
                    .ok_or_else(|| bad("truncated"))?,
            )
        } else {
            None
        };
        let key_len = c
            .take(4)
            .and_then(|b| be_i32(b, 0))
            .ok_or_else(|| bad("truncated"))?;
        let key = c
            .nullable_bytes(key_len)
            .map_err(|_| bad("key length past the end of the message"))?;
        let value_len = c
            .take(4)
            .and_then(|b| be_i32(b, 0))
            .ok_or_else(|| bad("truncated key or value length"))?;
        let value = c
            .nullable_bytes(value_len)
            .map_err(|_| bad("value length past the end of the message"))?;
        if c.remaining() != 0 {
            return Err(Corruption::malformed(
                "message",
                format!("{} bytes after the value", c.remaining()),
            ));
        }
        Ok(LegacyMessage {
            crc,
            crc_covered,
            magic,
            attributes,
            compression,
            timestamp,
            key,
            value,
        })
    }

    fn ensure_valid(&self) -> Result<(), Corruption> {
        let computed = crc32_ieee(self.crc_covered);
        if computed == self.crc {
            Ok(())
        } else {
            Err(Corruption::CrcMismatch {
                stored: self.crc,
                computed,
            })
        }
    }

    fn timestamp_type(&self) -> Option<TimestampType> {
        if self.magic == MAGIC_V0 {
            None
        } else if self.attributes & 0x08 != 0 {
            Some(TimestampType::LogAppendTime)
        } else {
            Some(TimestampType::CreateTime)
        }
    }

    /// The record this message is; `wrapper` gives the wrapper's
    /// (timestamp, type) when that is LogAppendTime, which then overrides.
    fn into_record(
        self,
        offset: i64,
        wrapper: Option<(Option<i64>, Option<TimestampType>)>,
    ) -> Record<'a> {
        let (timestamp, timestamp_type) = match wrapper {
            _ if self.magic == MAGIC_V0 => (None, None),
            Some((ts, Some(ty))) => (
                if ty == TimestampType::LogAppendTime {
                    ts
                } else {
                    self.timestamp
                },
                Some(ty),
            ),
            _ => (self.timestamp, self.timestamp_type()),
        };
        Record {
            offset,
            timestamp,
            timestamp_type,
            key: self.key,
            value: self.value,
            headers: Headers::EMPTY,
            is_control: false,
        }
    }
}

/// Iterates the inner message set of a compressed legacy wrapper.
#[derive(Debug)]
struct LegacyInner<'s> {
    cursor: Cursor<'s>,
    consumed: u32,
    /// Added to each inner offset (v1: wrapper offset - last inner relative offset; v0: 0).
    offset_base: i64,
    wrapper_timestamp: Option<i64>,
    wrapper_timestamp_type: Option<TimestampType>,
    magic: i8,
    check_crcs: bool,
    failed: bool,
}

impl<'s> LegacyInner<'s> {
    fn new(
        inner: &'s [u8],
        wrapper: &RecordBatch<'_>,
        message: &LegacyMessage<'_>,
        check_crcs: bool,
    ) -> Result<Self, Corruption> {
        // Walk the inner set once to validate its framing and find the last
        // inner offset (v1 offsets are relative to it).
        let mut cursor = Cursor::new(inner);
        let mut last_inner = None;
        while cursor.remaining() > 0 {
            let (offset, size) = next_inner_frame(&mut cursor)?;
            last_inner = Some(offset);
            let _ = size;
        }
        let last_inner = last_inner.ok_or_else(|| {
            Corruption::malformed("message", "compressed wrapper holds no inner messages")
        })?;
        let offset_base = if wrapper.magic > MAGIC_V0 {
            wrapper.base_offset.wrapping_sub(last_inner)
        } else {
            0
        };
        Ok(LegacyInner {
            cursor: Cursor::new(inner),
            consumed: 0,
            offset_base,
            wrapper_timestamp: message.timestamp,
            wrapper_timestamp_type: message.timestamp_type(),
            magic: wrapper.magic,
            check_crcs,
            failed: false,
        })
    }

    fn next_record(&mut self) -> Option<Result<Record<'s>, Corruption>> {
        if self.failed || self.cursor.remaining() == 0 {
            return None;
        }
        self.consumed += 1;
        let result = (|| {
            let start = self.cursor.position();
            let (offset, size) = next_inner_frame(&mut self.cursor)?;
            let body = self
                .cursor
                .bytes
                .get(start + LOG_OVERHEAD..start + LOG_OVERHEAD + size)
                .unwrap_or_default();
            let magic = read_magic_of_message(body)?;
            let message = LegacyMessage::parse(body, magic)?;
            if self.check_crcs {
                message.ensure_valid()?;
            }
            if message.compression != Compression::None {
                return Err(Corruption::malformed(
                    "message",
                    "compressed message inside a compressed wrapper",
                ));
            }
            let _ = self.magic;
            Ok(message.into_record(
                self.offset_base.wrapping_add(offset),
                Some((self.wrapper_timestamp, self.wrapper_timestamp_type)),
            ))
        })();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

fn read_magic_of_message(body: &[u8]) -> Result<i8, Corruption> {
    body.get(4)
        .map(|&m| m as i8)
        .ok_or_else(|| Corruption::malformed("message", "truncated inner message"))
}

/// Reads one inner message's (offset, size) and moves past it.
fn next_inner_frame(cursor: &mut Cursor<'_>) -> Result<(i64, usize), Corruption> {
    let header = cursor
        .take(LOG_OVERHEAD)
        .ok_or_else(|| Corruption::malformed("message", "truncated inner message header"))?;
    let (offset, size) = read_log_overhead(header)
        .ok_or_else(|| Corruption::malformed("message", "truncated inner message header"))?;
    if size < RECORD_OVERHEAD_V0 as i32 {
        return Err(Corruption::malformed(
            "message",
            format!("inner message size {size} is below the minimum overhead"),
        ));
    }
    cursor.take(size as usize).ok_or_else(|| {
        Corruption::malformed(
            "message",
            format!("inner message size {size} runs past the inflated data"),
        )
    })?;
    Ok((offset, size as usize))
}

// ---------------------------------------------------------------------------
// Records.

/// One record: a borrowed view, valid while the batch's bytes (or the
/// inflater's buffer) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    offset: i64,
    timestamp: Option<i64>,
    timestamp_type: Option<TimestampType>,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: Headers<'a>,
    is_control: bool,
}

impl<'a> Record<'a> {
    /// The record's offset.
    #[inline]
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// The timestamp; `None` for magic 0 messages, which have none.
    #[inline]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The timestamp type; `None` for magic 0.
    #[inline]
    pub fn timestamp_type(&self) -> Option<TimestampType> {
        self.timestamp_type
    }

    /// The key: `None` when null, `Some(&[])` when empty.
    #[inline]
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }

    /// The value: `None` when null (a tombstone), `Some(&[])` when empty.
    #[inline]
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }

    /// The headers (always empty before magic 2).
    #[inline]
    pub fn headers(&self) -> Headers<'a> {
        self.headers
    }

    /// Whether this is a control record (a transaction marker or a KRaft
    /// control record), never data for a consumer.
    #[inline]
    pub fn is_control(&self) -> bool {
        self.is_control
    }

    /// The control record's type, for control records.
    pub fn control_type(&self) -> Option<ControlRecordType> {
        if self.is_control {
            self.key.and_then(ControlRecordType::parse)
        } else {
            None
        }
    }
}

/// The headers of a record: validated at decode time, iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    bytes: &'a [u8],
    count: u32,
}

impl<'a> Headers<'a> {
    const EMPTY: Headers<'static> = Headers {
        bytes: &[],
        count: 0,
    };

    /// The number of headers.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the headers in order (duplicates kept).
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter {
            cursor: Cursor::new(self.bytes),
            remaining: self.count,
        }
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// One record header. The key is UTF-8 when the producer followed the
/// protocol; it is exposed as bytes because disks hold what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header key.
    pub key: &'a [u8],
    /// The header value; `None` when null.
    pub value: Option<&'a [u8]>,
}

/// Iterator over [`Headers`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    cursor: Cursor<'a>,
    remaining: u32,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // Validated when the record was decoded: these cannot fail.
        read_header(&mut self.cursor).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

#[inline]
fn read_header<'a>(c: &mut Cursor<'a>) -> Result<Header<'a>, &'static str> {
    let key_len = c.varint()?;
    if key_len < 0 {
        return Err("negative header key length");
    }
    let key = c
        .take(key_len as usize)
        .ok_or("header key past the end of the record")?;
    let value_len = c.varint()?;
    let value = c
        .nullable_bytes(value_len)
        .map_err(|_| "header value past the end of the record")?;
    Ok(Header { key, value })
}

/// Iterator over the records of one batch; yields an error at most once and
/// then stops.
///
/// The records of a v2 batch are decoded by the state in `v2`, checked
/// first on every call (the hot path); a legacy batch keeps `v2` empty and
/// iterates through `legacy`.
#[derive(Debug)]
pub struct Records<'s> {
    v2: V2Records<'s>,
    legacy: Legacy<'s>,
    /// The next item when it does not come from the v2 fast path (a legacy
    /// record, an error, the end), put here by out-of-line code so that the
    /// fast path's record never goes through memory.
    slow: Option<Result<Record<'s>, Corruption>>,
}

/// The legacy part of [`Records`].
#[derive(Debug)]
enum Legacy<'s> {
    /// A v2 batch.
    None,
    /// An uncompressed legacy message: its one record, until taken.
    Single(Option<Record<'s>>),
    /// The inner messages of a compressed legacy wrapper.
    Inner(LegacyInner<'s>),
}

/// Where an iteration over a batch's records stands, so a later iteration
/// can continue there without decoding the records before it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResumePoint {
    /// Byte position of the next record in the records area.
    position: usize,
    /// Records already passed.
    consumed: u32,
}

impl ResumePoint {
    /// Records passed before this point.
    pub fn consumed(&self) -> u32 {
        self.consumed
    }
}

impl<'s> Records<'s> {
    /// An iteration over no records.
    pub(crate) const EMPTY: Records<'static> = Records {
        v2: V2Records::EMPTY,
        legacy: Legacy::None,
        slow: None,
    };

    /// Where this iteration stands.
    pub fn resume_point(&self) -> ResumePoint {
        match &self.legacy {
            Legacy::None => ResumePoint {
                position: self.v2.cursor.position(),
                consumed: self.v2.consumed,
            },
            Legacy::Single(one) => ResumePoint {
                position: 0,
                consumed: u32::from(one.is_none()),
            },
            Legacy::Inner(inner) => ResumePoint {
                position: inner.cursor.position(),
                consumed: inner.consumed,
            },
        }
    }

    /// Continues from `point`, taken by [`resume_point`](Self::resume_point)
    /// on an iteration over the same batch and bytes.
    pub fn resume(mut self, point: ResumePoint) -> Self {
        match &mut self.legacy {
            Legacy::None => {
                let v2 = &mut self.v2;
                v2.cursor.position = point.position;
                v2.remaining = v2.remaining.saturating_sub(point.consumed);
                v2.consumed = point.consumed;
            }
            Legacy::Single(one) => {
                if point.consumed > 0 {
                    *one = None;
                }
            }
            Legacy::Inner(inner) => {
                inner.cursor.position = point.position;
                inner.consumed = point.consumed;
            }
        }
        self
    }
}

impl<'s> Iterator for Records<'s> {
    type Item = Result<Record<'s>, Corruption>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.v2.remaining > 0 {
            let v2 = &mut self.v2;
            v2.remaining -= 1;
            v2.consumed += 1;
            match decode_v2_record(v2.cursor.bytes, v2.cursor.position, &v2.batch) {
                Ok((record, next)) => {
                    v2.cursor.position = next;
                    return Some(Ok(record));
                }
                Err(detail) => self.fail(detail),
            }
        } else {
            self.next_past_v2();
        }
        self.slow.take()
    }

    /// Internal iteration (`for_each`, `sum`, `count`, ...): a v2 batch's
    /// records are decoded with the iteration state in locals (see
    /// `fold_v2`); a record that does not decode, the end
    /// and legacy batches go through `next`.
    fn fold<B, F>(mut self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let (mut acc, _) = self.fold_v2(u32::MAX, init, |acc, record| f(acc, Ok(record)));
        for item in self.by_ref() {
            acc = f(acc, item);
        }
        acc
    }
}

impl<'s> Records<'s> {
    /// Passes up to `limit` records of a v2 batch to `f`, decoded with the
    /// iteration state in locals (so in registers, not reloaded and stored
    /// for every record as `next` must), and returns how many it passed.
    /// It stops early at a record that does not decode, leaving it for
    /// `next` to report; legacy batches pass nothing.
    #[inline(always)]
    pub(crate) fn fold_v2<B>(
        &mut self,
        limit: u32,
        mut acc: B,
        mut f: impl FnMut(B, Record<'s>) -> B,
    ) -> (B, u32) {
        if !matches!(self.legacy, Legacy::None) {
            return (acc, 0);
        }
        let bytes = self.v2.cursor.bytes;
        let batch = self.v2.batch;
        let mut position = self.v2.cursor.position;
        let todo = self.v2.remaining.min(limit);
        let mut left = todo;
        while left > 0 {
            let Ok((record, next)) = decode_v2_record(bytes, position, &batch) else {
                break;
            };
            position = next;
            left -= 1;
            acc = f(acc, record);
        }
        let passed = todo - left;
        let v2 = &mut self.v2;
        v2.remaining -= passed;
        v2.consumed += passed;
        v2.cursor.position = position;
        (acc, passed)
    }

    /// Puts the next item past a v2 batch's records in `slow`: the end (or
    /// an error for bytes left over), or a legacy batch's next record.
    #[inline(never)]
    fn next_past_v2(&mut self) {
        self.slow = match &mut self.legacy {
            Legacy::None => self.v2.end(),
            Legacy::Single(one) => one.take().map(Ok),
            Legacy::Inner(inner) => inner.next_record(),
        };
    }

    /// Ends the iteration on a v2 record that does not decode (the
    /// position stays at that record), with the error in `slow`.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, detail: &'static str) {
        let v2 = &mut self.v2;
        v2.failed = true;
        v2.remaining = 0;
        self.slow = Some(Err(Corruption::malformed("record", detail)));
    }
}

#[derive(Debug)]
struct V2Records<'s> {
    cursor: Cursor<'s>,
    remaining: u32,
    consumed: u32,
    batch: BatchContext,
    failed: bool,
}

/// The batch fields every record of a v2 batch needs.
#[derive(Debug, Clone, Copy)]
struct BatchContext {
    base_offset: i64,
    base_timestamp: i64,
    max_timestamp: i64,
    timestamp_type: TimestampType,
    is_control: bool,
}

impl<'s> V2Records<'s> {
    /// No records (the v2 part of a legacy batch's [`Records`]).
    const EMPTY: V2Records<'static> = V2Records {
        cursor: Cursor {
            bytes: &[],
            position: 0,
        },
        remaining: 0,
        consumed: 0,
        batch: BatchContext {
            base_offset: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            timestamp_type: TimestampType::CreateTime,
            is_control: false,
        },
        failed: false,
    };

    /// Past the declared records: bytes left over are an error (once).
    #[cold]
    fn end(&mut self) -> Option<Result<Record<'s>, Corruption>> {
        if self.failed || self.cursor.remaining() == 0 {
            return None;
        }
        self.failed = true;
        Some(Err(Corruption::malformed(
            "batch",
            format!(
                "{} bytes remain after the declared records",
                self.cursor.remaining()
            ),
        )))
    }
}

// Record decoding works on a slice and a position held in locals (never a
// `&mut Cursor`), so that both stay in registers through the hot loop; the
// rare long varints go to out-of-line functions that take them by value.

#[inline(always)]
fn zigzag32(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

#[inline(always)]
fn zigzag64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

/// The unsigned varint at `at` (at most 5 bytes, fitting 32 bits) and the
/// position after it. One and two bytes (lengths below 8 KiB, deltas below
/// 8192: what record fields mostly hold) are decoded inline.
#[inline(always)]
fn uvarint32_at(bytes: &[u8], at: usize) -> Result<(u32, usize), &'static str> {
    if let Some(&first) = bytes.get(at) {
        if first < 0x80 {
            return Ok((u32::from(first), at + 1));
        }
        if let Some(&second) = bytes.get(at + 1) {
            if second < 0x80 {
                return Ok((u32::from(first & 0x7f) | (u32::from(second) << 7), at + 2));
            }
        }
    }
    long_uvarint32_at(bytes, at)
}

#[cold]
#[inline(never)]
fn long_uvarint32_at(bytes: &[u8], at: usize) -> Result<(u32, usize), &'static str> {
    let mut c = Cursor {
        bytes,
        position: at,
    };
    let raw = c.unsigned_varint(5)?;
    let raw = u32::try_from(raw).map_err(|_| "varint is too long")?;
    Ok((raw, c.position))
}

/// [`uvarint32_at`] for a varlong (at most 10 bytes).
#[inline(always)]
fn uvarint64_at(bytes: &[u8], at: usize) -> Result<(u64, usize), &'static str> {
    if let Some(&first) = bytes.get(at) {
        if first < 0x80 {
            return Ok((u64::from(first), at + 1));
        }
        if let Some(&second) = bytes.get(at + 1) {
            if second < 0x80 {
                return Ok((u64::from(first & 0x7f) | (u64::from(second) << 7), at + 2));
            }
        }
    }
    long_uvarint64_at(bytes, at)
}

#[cold]
#[inline(never)]
fn long_uvarint64_at(bytes: &[u8], at: usize) -> Result<(u64, usize), &'static str> {
    let mut c = Cursor {
        bytes,
        position: at,
    };
    let raw = c.unsigned_varint(10)?;
    Ok((raw, c.position))
}

/// The `len` bytes at `at` (`None` for a negative length: null) and the
/// position after them; `None` past the end of `bytes`.
#[inline(always)]
fn nullable_at(bytes: &[u8], at: usize, len: i32) -> Option<(Option<&[u8]>, usize)> {
    if len < 0 {
        return Some((None, at));
    }
    // As in `decode_v2_record`: cannot wrap, and `get` refuses a wrapped end.
    let end = at.wrapping_add(len as usize);
    Some((Some(bytes.get(at..end)?), end))
}

/// Decodes the record at `at` of a v2 batch's records area (Kafka's
/// `DefaultRecord.readFrom`) and returns it with the position of the next
/// record. Every field is checked against the record's declared length, and
/// the record's length against the area.
#[inline(always)]
fn decode_v2_record<'s>(
    area: &'s [u8],
    at: usize,
    batch: &BatchContext,
) -> Result<(Record<'s>, usize), &'static str> {
    let (raw, body_start) = uvarint32_at(area, at)?;
    let length = zigzag32(raw);
    if length < 0 {
        return Err("negative record length");
    }
    // Cannot wrap (a position in a slice plus at most 2^31); a wrapped end
    // would be refused by `get` anyway.
    let next = body_start.wrapping_add(length as usize);
    let body = area
        .get(body_start..next)
        .ok_or("record length past the end of the batch")?;
    // The attributes byte (unused by any Kafka version) comes first.
    if body.is_empty() {
        return Err("record shorter than its attributes");
    }
    let (raw, p) = uvarint64_at(body, 1)?;
    let timestamp_delta = zigzag64(raw);
    let (raw, p) = uvarint32_at(body, p)?;
    let offset_delta = zigzag32(raw);
    let (raw, p) = uvarint32_at(body, p)?;
    let (key, p) = nullable_at(body, p, zigzag32(raw)).ok_or("key past the end of the record")?;
    let (raw, p) = uvarint32_at(body, p)?;
    let (value, p) =
        nullable_at(body, p, zigzag32(raw)).ok_or("value past the end of the record")?;
    let (raw, p) = uvarint32_at(body, p)?;
    let header_count = zigzag32(raw);
    let headers = if header_count == 0 {
        if p != body.len() {
            return Err("record length does not match its fields");
        }
        Headers::EMPTY
    } else {
        validate_headers(body, p, header_count)?
    };
    let timestamp = match batch.timestamp_type {
        TimestampType::LogAppendTime => batch.max_timestamp,
        TimestampType::CreateTime => batch.base_timestamp.wrapping_add(timestamp_delta),
    };
    Ok((
        Record {
            offset: batch.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: Some(timestamp),
            timestamp_type: Some(batch.timestamp_type),
            key,
            value,
            headers,
            is_control: batch.is_control,
        },
        next,
    ))
}

/// Checks the `count` headers at `at`, which must end the record `body`,
/// and returns them (iterated lazily later, without checks).
#[inline(never)]
fn validate_headers(body: &[u8], at: usize, count: i32) -> Result<Headers<'_>, &'static str> {
    if count < 0 {
        return Err("negative header count");
    }
    let mut c = Cursor {
        bytes: body,
        position: at,
    };
    if count as usize > c.remaining() {
        return Err("header count larger than the record");
    }
    for _ in 0..count {
        read_header(&mut c)?;
    }
    if c.remaining() != 0 {
        return Err("record length does not match its fields");
    }
    Ok(Headers {
        bytes: body.get(at..).unwrap_or_default(),
        count: count as u32,
    })
}

// ---------------------------------------------------------------------------
// Inflation state.

/// Per-reader state for compressed batches: codec contexts, the reused
/// inflation buffer, the inflation cap and whether to check legacy inner CRCs.
#[derive(Debug)]
pub struct Inflater {
    decompressor: Decompressor,
    buffer: Vec<u8>,
    max_inflated_bytes: usize,
    check_crcs: bool,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater::new(DEFAULT_MAX_INFLATED_BYTES, true)
    }
}

impl Inflater {
    /// An inflater that refuses batches inflating past `max_inflated_bytes`.
    pub fn new(max_inflated_bytes: usize, check_crcs: bool) -> Self {
        Inflater {
            decompressor: Decompressor::new(),
            buffer: Vec::new(),
            max_inflated_bytes,
            check_crcs,
        }
    }

    /// The cap on one batch's inflated size.
    pub fn max_inflated_bytes(&self) -> usize {
        self.max_inflated_bytes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;

    /// Naive varint decoder: the obvious loop, for comparison.
    fn naive_unsigned(bytes: &[u8]) -> Option<(u64, usize)> {
        let mut value = 0u64;
        for (i, &b) in bytes.iter().enumerate().take(10) {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some((value, i + 1));
            }
        }
        None
    }

    proptest! {
        #[test]
        fn varint_round_trip(v in any::<i32>()) {
            let mut out = Vec::new();
            write_varint(v, &mut out);
            let mut c = Cursor::new(&out);
            prop_assert_eq!(c.varint().unwrap(), v);
            prop_assert_eq!(c.remaining(), 0);
            let (raw, used) = naive_unsigned(&out).unwrap();
            prop_assert_eq!(used, out.len());
            prop_assert_eq!(((raw >> 1) as i64) ^ -((raw & 1) as i64), i64::from(v));
        }

        #[test]
        fn varlong_round_trip(v in any::<i64>()) {
            let mut out = Vec::new();
            write_varlong(v, &mut out);
            let mut c = Cursor::new(&out);
            prop_assert_eq!(c.varlong().unwrap(), v);
            prop_assert_eq!(c.remaining(), 0);
        }

        #[test]
        fn varint_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut c = Cursor::new(&bytes);
            let _ = c.varint();
            let mut c = Cursor::new(&bytes);
            let _ = c.varlong();
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(batch) = RecordBatch::parse(&bytes) {
                let _ = batch.ensure_valid();
                let mut inflater = Inflater::new(1 << 20, true);
                if let Ok(records) = batch.records(&mut inflater) {
                    for r in records.take(1000).flatten() {
                        let _ = r.headers().iter().count();
                    }
                }
            }
        }
    }

    /// Naive oracle for `decode_v2_record`: the obvious decoder over a
    /// `Cursor`, one field after the other, as the record layout reads.
    fn naive_decode_v2_record<'s>(
        cursor: &mut Cursor<'s>,
        batch: &BatchContext,
    ) -> Result<Record<'s>, &'static str> {
        let length = cursor.varint()?;
        if length < 0 {
            return Err("negative record length");
        }
        let body = cursor
            .take(length as usize)
            .ok_or("record length past the end of the batch")?;
        let mut c = Cursor::new(body);
        c.byte().ok_or("record shorter than its attributes")?;
        let timestamp_delta = c.varlong()?;
        let offset_delta = c.varint()?;
        let key_len = c.varint()?;
        let key = c
            .nullable_bytes(key_len)
            .map_err(|_| "key past the end of the record")?;
        let value_len = c.varint()?;
        let value = c
            .nullable_bytes(value_len)
            .map_err(|_| "value past the end of the record")?;
        let header_count = c.varint()?;
        if header_count < 0 {
            return Err("negative header count");
        }
        let headers_start = c.position();
        if header_count as usize > c.remaining() {
            return Err("header count larger than the record");
        }
        for _ in 0..header_count {
            read_header(&mut c)?;
        }
        if c.remaining() != 0 {
            return Err("record length does not match its fields");
        }
        Ok(Record {
            offset: batch.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: Some(match batch.timestamp_type {
                TimestampType::LogAppendTime => batch.max_timestamp,
                TimestampType::CreateTime => batch.base_timestamp.wrapping_add(timestamp_delta),
            }),
            timestamp_type: Some(batch.timestamp_type),
            key,
            value,
            headers: Headers {
                bytes: &body[headers_start..],
                count: header_count as u32,
            },
            is_control: batch.is_control,
        })
    }

    type HeaderSpec = (Vec<u8>, Option<Vec<u8>>);

    /// Encodes one v2 record (any field values, so long varints too).
    fn encode_record(
        timestamp_delta: i64,
        offset_delta: i32,
        key: &Option<Vec<u8>>,
        value: &Option<Vec<u8>>,
        headers: &[HeaderSpec],
        out: &mut Vec<u8>,
    ) {
        fn nullable(field: &Option<Vec<u8>>, out: &mut Vec<u8>) {
            match field {
                None => write_varint(-1, out),
                Some(b) => {
                    write_varint(b.len() as i32, out);
                    out.extend_from_slice(b);
                }
            }
        }
        let mut body = vec![0u8];
        write_varlong(timestamp_delta, &mut body);
        write_varint(offset_delta, &mut body);
        nullable(key, &mut body);
        nullable(value, &mut body);
        write_varint(headers.len() as i32, &mut body);
        for (k, v) in headers {
            nullable(&Some(k.clone()), &mut body);
            nullable(v, &mut body);
        }
        write_varint(body.len() as i32, out);
        out.extend_from_slice(&body);
    }

    fn record_area() -> impl Strategy<Value = Vec<u8>> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..150));
        let header = (proptest::collection::vec(any::<u8>(), 0..4), bytes());
        let record = (
            prop_oneof![any::<i64>(), -3000i64..3000],
            prop_oneof![any::<i32>(), -3000i32..3000],
            bytes(),
            bytes(),
            proptest::collection::vec(header, 0..3),
        );
        (
            proptest::collection::vec(record, 0..6),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(records, flips, cut, truncate)| {
                let mut area = Vec::new();
                for (ts, od, key, value, headers) in &records {
                    encode_record(*ts, *od, key, value, headers, &mut area);
                }
                if !area.is_empty() {
                    for (at, byte) in flips {
                        let i = at.index(area.len());
                        area[i] = byte;
                    }
                    if truncate {
                        area.truncate(cut.index(area.len()));
                    }
                }
                area
            })
    }

    proptest! {
        /// The fast record decoder agrees with the naive oracle on valid
        /// records (long varints included) and on corrupted ones: the same
        /// records, the same positions, the same errors.
        #[test]
        fn decode_matches_naive_oracle(area in record_area(), log_append_time in any::<bool>()) {
            let batch = BatchContext {
                base_offset: 1_000,
                base_timestamp: 5,
                max_timestamp: 9,
                timestamp_type: if log_append_time {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                },
                is_control: false,
            };
            let mut naive = Cursor::new(&area);
            let mut at = 0;
            while naive.remaining() > 0 {
                let expected = naive_decode_v2_record(&mut naive, &batch);
                let got = decode_v2_record(&area, at, &batch);
                match (expected, got) {
                    (Ok(e), Ok((g, next))) => {
                        prop_assert_eq!(e, g);
                        prop_assert_eq!(
                            e.headers().iter().collect::<Vec<_>>(),
                            g.headers().iter().collect::<Vec<_>>()
                        );
                        prop_assert_eq!(naive.position(), next);
                        at = next;
                    }
                    (Err(e), Err(g)) => {
                        prop_assert_eq!(e, g);
                        break;
                    }
                    (e, g) => prop_assert!(false, "naive {:?}, fast {:?}", e, g),
                }
            }
        }

        /// Internal iteration (`fold`) yields what `next` does, from the
        /// start or after some records, errors and trailing bytes included.
        #[test]
        fn fold_equals_next(area in record_area(), count in 0u32..8, first in 0usize..3) {
            let records = || Records {
                v2: V2Records {
                    cursor: Cursor::new(&area),
                    remaining: count,
                    consumed: 0,
                    batch: V2Records::EMPTY.batch,
                    failed: false,
                },
                legacy: Legacy::None,
                slow: None,
            };
            let expected: Vec<String> = records().map(|r| format!("{r:?}")).collect();
            let mut iter = records();
            let mut got: Vec<String> = iter.by_ref().take(first).map(|r| format!("{r:?}")).collect();
            iter.for_each(|r| got.push(format!("{r:?}")));
            prop_assert_eq!(got, expected);
        }

        /// The position-based varint readers agree with the naive loop.
        #[test]
        fn varint_at_matches_naive(bytes in proptest::collection::vec(any::<u8>(), 0..12), at in 0usize..3) {
            let naive = bytes.get(at..).and_then(naive_unsigned);
            match uvarint64_at(&bytes, at) {
                Ok((raw, next)) => prop_assert_eq!(naive, Some((raw, next - at))),
                Err(_) => prop_assert_eq!(naive, None),
            }
            match uvarint32_at(&bytes, at) {
                Ok((raw, next)) => {
                    prop_assert_eq!(naive, Some((u64::from(raw), next - at)));
                    prop_assert!(next - at <= 5);
                }
                Err(_) => prop_assert!(naive.is_none_or(|(raw, used)| used > 5 || raw > u64::from(u32::MAX))),
            }
        }
    }

    #[test]
    fn varint_edge_values() {
        for (v, expected) in [
            (0, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (63, vec![126]),
            (64, vec![128, 1]),
        ] {
            let mut out = Vec::new();
            write_varint(v, &mut out);
            assert_eq!(out, expected, "{v}");
        }
        // Five bytes with the continuation bit on the fifth is too long.
        let mut c = Cursor::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(c.varint(), Err("varint is too long"));
        let mut c = Cursor::new(&[0x80]);
        assert_eq!(c.varint(), Err("varint past the end"));
    }

    #[test]
    fn control_types() {
        assert_eq!(
            ControlRecordType::parse(&[0, 0, 0, 1]),
            Some(ControlRecordType::Commit)
        );
        assert_eq!(
            ControlRecordType::parse(&[0, 0, 0, 0]),
            Some(ControlRecordType::Abort)
        );
        assert_eq!(
            ControlRecordType::parse(&[0, 0, 0, 2]),
            Some(ControlRecordType::LeaderChange)
        );
        assert_eq!(
            ControlRecordType::parse(&[0, 0, 0, 99]),
            Some(ControlRecordType::Unknown(99))
        );
        assert_eq!(ControlRecordType::parse(&[0, 0, 1]), None);
    }
}
