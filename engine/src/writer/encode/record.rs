//! One record's bytes: a v2 record (`DefaultRecord.writeTo`) and a legacy
//! message with its log overhead (`LegacyRecord.write`).

use super::spec::RecordSpec;
use super::wire::{
    length_i32, put_nullable, put_varint, put_varlong, size_of_nullable, size_of_varint,
    size_of_varlong,
};
use crate::error::Result;
use crate::record::LOG_OVERHEAD;

/// Position of the CRC field in a legacy message.
const LEGACY_CRC_OFFSET: usize = 12;
/// Legacy message overhead after the log overhead: crc, magic, attributes,
/// key length, value length (magic 0) plus the timestamp (magic 1).
const LEGACY_RECORD_OVERHEAD_V0: usize = 14;
const LEGACY_RECORD_OVERHEAD_V1: usize = 22;

/// Appends one v2 record (`DefaultRecord.writeTo`): length varint, then the
/// body.
pub(super) fn write_record(
    out: &mut Vec<u8>,
    record: &RecordSpec,
    base_timestamp: i64,
) -> Result<()> {
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
pub(super) fn write_legacy_message(
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
