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
//!
//! The code is cut along the formats: `batch` ([`RecordBatch`], one batch
//! of either format), `records` ([`Record`], [`Records`] and the v2 record
//! decoder), `legacy` (magic 0 and 1 messages and compressed wrappers'
//! inner message sets), `headers` ([`Headers`]) and `primitives`
//! (bounds-checked reads, CRCs, varints).

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt;

use crate::compression::Decompressor;

mod batch;
mod headers;
mod legacy;
mod primitives;
mod records;

pub use batch::RecordBatch;
pub use headers::{Header, HeaderIter, Headers};
pub use primitives::{
    crc32_ieee, crc32c, read_log_overhead, read_magic, write_varint, write_varlong,
};
pub use records::{Record, Records, ResumePoint};

use primitives::be_i16;

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
