//! `__transaction_state` records: `TransactionLogKey` (version 0) and
//! `TransactionLogValue` (versions 0–1, 1 flexible with tagged fields 0
//! `PreviousProducerId`, 1 `NextProducerId`, 2 `ClientTransactionVersion`),
//! from `transaction-coordinator/src/main/resources/common/message/`.
//! A null value is a tombstone (an expired transactional id).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::{json, Map, Value};

use super::consumer_offsets::trailing_warning;
use super::wire::{RawTaggedField, Reader, WireError, Writer};
use super::{raw_json, read_tags, tagged_json, write_tags, Part, StateError};

/// The key of a `__transaction_state` record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionLogKey {
    /// Version 0: `TransactionalId`.
    V0 {
        /// `TransactionalId`.
        transactional_id: String,
    },
    /// A key version this decoder does not know: the key's bytes.
    Unknown {
        /// The key's leading int16.
        version: i16,
        /// The whole key.
        bytes: Vec<u8>,
    },
}

/// `PartitionsSchema` of a `TransactionLogValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransactionPartitions {
    /// `Topic`.
    pub topic: String,
    /// `PartitionIds`.
    pub partition_ids: Vec<i32>,
    /// Unknown tagged fields (version 1+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `TransactionLogValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransactionLogValue {
    /// The value's version.
    pub version: i16,
    /// `ProducerId`.
    pub producer_id: i64,
    /// `PreviousProducerId` (tag 0, version 1+; −1 when absent).
    pub previous_producer_id: i64,
    /// `NextProducerId` (tag 1, version 1+; −1 when absent).
    pub next_producer_id: i64,
    /// `ProducerEpoch`.
    pub producer_epoch: i16,
    /// `TransactionTimeoutMs`.
    pub transaction_timeout_ms: i32,
    /// `TransactionStatus` (see [`transaction_status_name`]).
    pub transaction_status: i8,
    /// `TransactionPartitions` (nullable).
    pub transaction_partitions: Option<Vec<TransactionPartitions>>,
    /// `TransactionLastUpdateTimestampMs`.
    pub transaction_last_update_timestamp_ms: i64,
    /// `TransactionStartTimestampMs`.
    pub transaction_start_timestamp_ms: i64,
    /// `ClientTransactionVersion` (tag 2, version 1+; 0 when absent).
    pub client_transaction_version: i16,
    /// Tagged fields not known (version 1+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The value of a `__transaction_state` record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionLogRecordValue {
    /// Versions 0 and 1.
    Known(TransactionLogValue),
    /// A value version this decoder does not know.
    Unknown {
        /// The value's leading int16, when it has two bytes.
        version: Option<i16>,
        /// The whole value.
        bytes: Vec<u8>,
    },
}

/// One `__transaction_state` record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionLogRecord {
    /// The key.
    pub key: TransactionLogKey,
    /// The value; `None` is a tombstone.
    pub value: Option<TransactionLogRecordValue>,
    /// What was kept raw or ignored.
    pub warnings: Vec<String>,
}

/// Kafka's `TransactionState` name for a `TransactionStatus` byte.
pub fn transaction_status_name(status: i8) -> &'static str {
    match status {
        0 => "Empty",
        1 => "Ongoing",
        2 => "PrepareCommit",
        3 => "PrepareAbort",
        4 => "CompleteCommit",
        5 => "CompleteAbort",
        6 => "Dead",
        7 => "PrepareEpochFence",
        _ => "Unknown",
    }
}

/// Decodes one `__transaction_state` record (a null key is an error).
pub fn decode_transaction_log_record(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<TransactionLogRecord, StateError> {
    let mut warnings = Vec::new();
    let key = TransactionLogKey::decode(key.ok_or_else(StateError::null_key)?, &mut warnings)
        .map_err(|e| StateError::new(Part::Key, e))?;
    let value = match value {
        None => None,
        Some(bytes) => Some(
            TransactionLogRecordValue::decode(bytes, &mut warnings)
                .map_err(|e| StateError::new(Part::Value, e))?,
        ),
    };
    Ok(TransactionLogRecord {
        key,
        value,
        warnings,
    })
}

impl TransactionLogRecord {
    /// Whether the value is null.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    /// `{"key": …, "value": … or null, "tombstone": bool}`.
    pub fn to_json(&self) -> Value {
        json!({
            "key": self.key.to_json(),
            "value": self.value.as_ref().map(TransactionLogRecordValue::to_json),
            "tombstone": self.is_tombstone(),
        })
    }
}

impl TransactionLogKey {
    /// Decodes a key; an unknown version is kept raw with a warning.
    pub fn decode(bytes: &[u8], warnings: &mut Vec<String>) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        match r.i16("version")? {
            0 => {
                let transactional_id = r.string("TransactionalId")?.to_owned();
                trailing_warning(&r, "key", warnings);
                Ok(Self::V0 { transactional_id })
            }
            version => {
                warnings.push(format!("unknown key version {version}: kept raw"));
                Ok(Self::Unknown {
                    version,
                    bytes: bytes.to_vec(),
                })
            }
        }
    }

    /// Encodes the key.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut w = Writer::new();
        match self {
            Self::V0 { transactional_id } => {
                w.i16(0).string("TransactionalId", transactional_id);
            }
            Self::Unknown { bytes, .. } => {
                w.raw(bytes);
            }
        }
        w.finish()
    }

    fn to_json(&self) -> Value {
        match self {
            Self::V0 { transactional_id } => json!({
                "type": "transaction_log", "version": 0, "TransactionalId": transactional_id,
            }),
            Self::Unknown { version, bytes } => raw_json(Some(*version), bytes),
        }
    }
}

impl TransactionLogRecordValue {
    /// Decodes a value; an unknown version is kept raw with a warning.
    pub fn decode(bytes: &[u8], warnings: &mut Vec<String>) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("version")?;
        if !(0..=1).contains(&version) {
            warnings.push(format!("unknown value version {version}: kept raw"));
            return Ok(Self::Unknown {
                version: Some(version),
                bytes: bytes.to_vec(),
            });
        }
        let value = TransactionLogValue::read(version, &mut r)?;
        trailing_warning(&r, "value", warnings);
        Ok(Self::Known(value))
    }

    /// Encodes the value.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        match self {
            Self::Known(v) => v.encode(),
            Self::Unknown { bytes, .. } => Ok(bytes.clone()),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Known(v) => v.to_json(),
            Self::Unknown { version, bytes } => raw_json(*version, bytes),
        }
    }
}

impl TransactionLogValue {
    fn read(version: i16, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let flexible = version >= 1;
        let mut v = Self {
            version,
            previous_producer_id: -1,
            next_producer_id: -1,
            ..Self::default()
        };
        v.producer_id = r.i64("ProducerId")?;
        v.producer_epoch = r.i16("ProducerEpoch")?;
        v.transaction_timeout_ms = r.i32("TransactionTimeoutMs")?;
        v.transaction_status = r.i8("TransactionStatus")?;
        v.transaction_partitions = match r.nullable_array_len(
            "TransactionPartitions",
            flexible,
            if flexible { 3 } else { 6 },
        )? {
            None => None,
            Some(n) => {
                let mut partitions = Vec::with_capacity(n);
                for _ in 0..n {
                    let topic = r.string_as("TransactionPartitions[].Topic", flexible)?;
                    let ids =
                        r.array_of("PartitionIds", flexible, 4, |r| r.i32("PartitionIds[]"))?;
                    let unknown = if flexible {
                        read_tags(r, &[])?.1
                    } else {
                        Vec::new()
                    };
                    partitions.push(TransactionPartitions {
                        topic: topic.to_owned(),
                        partition_ids: ids,
                        unknown_tagged_fields: unknown,
                    });
                }
                Some(partitions)
            }
        };
        v.transaction_last_update_timestamp_ms = r.i64("TransactionLastUpdateTimestampMs")?;
        v.transaction_start_timestamp_ms = r.i64("TransactionStartTimestampMs")?;
        if flexible {
            let (known, unknown) = read_tags(r, &[0, 1, 2])?;
            for field in known {
                let mut fr = field.reader();
                match field.tag {
                    0 => v.previous_producer_id = fr.i64("PreviousProducerId")?,
                    1 => v.next_producer_id = fr.i64("NextProducerId")?,
                    _ => v.client_transaction_version = fr.i16("ClientTransactionVersion")?,
                }
            }
            v.unknown_tagged_fields = unknown;
        }
        Ok(v)
    }

    /// Encodes the value, version first; in version 1 the tagged fields
    /// that differ from their defaults, as Kafka writes them.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let flexible = self.version >= 1;
        let mut w = Writer::new();
        w.i16(self.version)
            .i64(self.producer_id)
            .i16(self.producer_epoch);
        w.i32(self.transaction_timeout_ms)
            .i8(self.transaction_status);
        match &self.transaction_partitions {
            None => {
                w.array_len("TransactionPartitions", None, flexible);
            }
            Some(partitions) => {
                w.array_of("TransactionPartitions", partitions, flexible, |w, p| {
                    w.string_as("Topic", &p.topic, flexible);
                    w.array_of("PartitionIds", &p.partition_ids, flexible, |w, id| {
                        w.i32(*id);
                    });
                    if flexible {
                        write_tags(w, Vec::new(), &p.unknown_tagged_fields);
                    }
                });
            }
        }
        w.i64(self.transaction_last_update_timestamp_ms);
        w.i64(self.transaction_start_timestamp_ms);
        if flexible {
            let mut known = Vec::new();
            if self.previous_producer_id != -1 {
                known.push((0, self.previous_producer_id.to_be_bytes().to_vec()));
            }
            if self.next_producer_id != -1 {
                known.push((1, self.next_producer_id.to_be_bytes().to_vec()));
            }
            if self.client_transaction_version != 0 {
                known.push((2, self.client_transaction_version.to_be_bytes().to_vec()));
            }
            write_tags(&mut w, known, &self.unknown_tagged_fields);
        }
        w.finish()
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("version".into(), json!(self.version));
        o.insert("ProducerId".into(), json!(self.producer_id));
        if self.version >= 1 {
            o.insert(
                "PreviousProducerId".into(),
                json!(self.previous_producer_id),
            );
            o.insert("NextProducerId".into(), json!(self.next_producer_id));
        }
        o.insert("ProducerEpoch".into(), json!(self.producer_epoch));
        o.insert(
            "TransactionTimeoutMs".into(),
            json!(self.transaction_timeout_ms),
        );
        o.insert("TransactionStatus".into(), json!(self.transaction_status));
        o.insert(
            "TransactionStatusName".into(),
            json!(transaction_status_name(self.transaction_status)),
        );
        let partitions = self.transaction_partitions.as_ref().map(|ps| {
            let ps = ps.iter().map(|p| {
                let mut m = Map::new();
                m.insert("Topic".into(), json!(p.topic));
                m.insert("PartitionIds".into(), json!(p.partition_ids));
                tagged_json(&mut m, &p.unknown_tagged_fields);
                Value::Object(m)
            });
            Value::Array(ps.collect())
        });
        o.insert("TransactionPartitions".into(), json!(partitions));
        o.insert(
            "TransactionLastUpdateTimestampMs".into(),
            json!(self.transaction_last_update_timestamp_ms),
        );
        o.insert(
            "TransactionStartTimestampMs".into(),
            json!(self.transaction_start_timestamp_ms),
        );
        if self.version >= 1 {
            o.insert(
                "ClientTransactionVersion".into(),
                json!(self.client_transaction_version),
            );
        }
        tagged_json(&mut o, &self.unknown_tagged_fields);
        Value::Object(o)
    }
}
