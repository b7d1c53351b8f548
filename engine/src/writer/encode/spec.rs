//! What the encoders take: [`RecordSpec`] (one record), [`BatchSpec`] (a v2
//! batch's header fields), [`LegacySpec`] (a magic 0/1 message set) and the
//! transaction marker of a control batch.

use crate::compression::Compression;
use crate::record::TimestampType;

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
