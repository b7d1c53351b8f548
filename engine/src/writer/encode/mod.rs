//! Byte encoders: v2 record batches (`DefaultRecordBatch` / `DefaultRecord`),
//! transaction-marker control batches (`EndTransactionMarker`) and legacy
//! magic 0/1 message sets (`LegacyRecord`), byte for byte as Kafka's
//! `MemoryRecordsBuilder` lays them out.
//!
//! This file holds the batch encoders ([`BatchEncoder`]); below it, importing
//! nothing from here: `spec` (what they encode: [`RecordSpec`], [`BatchSpec`],
//! [`LegacySpec`], the transaction marker), `record` (one v2 record, one
//! legacy message) and `wire` (big-endian header fields, varints, nullable
//! byte fields).

use crate::compression::{compress, Compression};
use crate::error::{Error, Result};
use crate::record::TimestampType;
pub(crate) use crate::record::{LOG_OVERHEAD, RECORD_BATCH_OVERHEAD};

mod record;
mod spec;
mod wire;

use self::record::{write_legacy_message, write_record};
pub use self::spec::{
    fill_offset_deltas, BatchSpec, EndTransactionMarker, LegacySpec, RecordSpec, TransactionResult,
};
use self::wire::FieldWriter;

/// Position of the attributes field in a v2 batch: the CRC covers from here.
const ATTRIBUTES_OFFSET: usize = 21;
/// Position of the CRC field in a v2 batch.
const CRC_OFFSET: usize = 17;

const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;
const ATTR_DELETE_HORIZON: i16 = 0x40;
const LEGACY_ATTR_TIMESTAMP_TYPE: u8 = 0x08;

/// Kafka's `RecordBatch.NO_TIMESTAMP`.
const NO_TIMESTAMP: i64 = -1;

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
        all_or_nothing(out, |out| self.encode_v2(spec, false, records, out))
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
        all_or_nothing(out, |out| {
            self.encode_v2(&control_spec, true, std::slice::from_ref(&record), out)
        })
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
        all_or_nothing(out, |out| self.encode_v2(spec, true, records, out))
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
        all_or_nothing(out, |out| self.encode_legacy(spec, records, out))
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

/// Runs `encode`, which appends to `out`; when it fails, `out` is cut back
/// to what it held before (the encoders' "leaving `out` as it was").
fn all_or_nothing(
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    let start = out.len();
    let result = encode(out);
    if result.is_err() {
        out.truncate(start);
    }
    result
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

    #[test]
    fn naive_crcs_match_known_check_values() {
        assert_eq!(naive_crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(naive_crc32(b"123456789"), 0xCBF4_3926);
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
