//! Legacy messages (magic 0 and 1): one message's fields and CRC, and the
//! inner message set of a compressed wrapper, iterated record by record.

use super::batch::RecordBatch;
use super::headers::Headers;
use super::primitives::{be_i32, be_i64, be_u32, crc32_ieee, read_log_overhead, Cursor};
use super::records::Record;
use super::{
    TimestampType, LOG_OVERHEAD, MAGIC_V0, MAGIC_V1, RECORD_OVERHEAD_V0, RECORD_OVERHEAD_V1,
};
use crate::compression::Compression;
use crate::error::Corruption;

/// One parsed legacy message (after the 12-byte log overhead).
#[derive(Debug, Clone, Copy)]
pub(super) struct LegacyMessage<'a> {
    crc: u32,
    /// magic..end, what the CRC covers.
    crc_covered: &'a [u8],
    magic: i8,
    pub(super) attributes: i8,
    pub(super) compression: Compression,
    timestamp: Option<i64>,
    key: Option<&'a [u8]>,
    pub(super) value: Option<&'a [u8]>,
}

impl<'a> LegacyMessage<'a> {
    /// `bytes` is the message after offset and size: crc, magic, attributes...
    pub(super) fn parse(bytes: &'a [u8], expected_magic: i8) -> Result<Self, Corruption> {
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
    pub(super) fn into_record(
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
pub(super) struct LegacyInner<'s> {
    pub(super) cursor: Cursor<'s>,
    pub(super) consumed: u32,
    /// Added to each inner offset (v1: wrapper offset - last inner relative offset; v0: 0).
    offset_base: i64,
    wrapper_timestamp: Option<i64>,
    wrapper_timestamp_type: Option<TimestampType>,
    magic: i8,
    check_crcs: bool,
    failed: bool,
}

impl<'s> LegacyInner<'s> {
    pub(super) fn new(
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

    pub(super) fn next_record(&mut self) -> Option<Result<Record<'s>, Corruption>> {
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
