//! [`RecordBatch`]: one batch as a segment stores it, a v2 record batch or
//! one legacy message, parsed once; its header fields read in place; its
//! records iterated, after inflating them when the batch is compressed.

use std::fmt;

use super::legacy::{LegacyInner, LegacyMessage};
use super::primitives::{
    be_i16, be_i32, be_i64, be_u32, crc32_ieee, crc32c, read_log_overhead, read_magic, Cursor,
};
use super::records::{BatchContext, Legacy, Records, V2Records};
use super::{
    Inflater, TimestampType, ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_DELETE_HORIZON,
    ATTR_TIMESTAMP_TYPE, ATTR_TRANSACTIONAL, LOG_OVERHEAD, MAGIC_V0, MAGIC_V1, MAGIC_V2,
    RECORD_BATCH_OVERHEAD,
};
use crate::compression::{Compression, Decompressor};
use crate::error::Corruption;

/// One batch as stored in a segment: a v2 record batch, or one legacy message
/// (magic 0 or 1; a compressed one wraps an inner message set).
#[derive(Clone, Copy)]
pub struct RecordBatch<'a> {
    /// The whole batch, from `base_offset` to its end.
    bytes: &'a [u8],
    pub(super) magic: i8,
    attributes: i16,
    pub(super) base_offset: i64,
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
    /// [`Record::is_control`](super::Record::is_control) set; skipping them is
    /// the consumer's business.
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;

    proptest! {
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
}
