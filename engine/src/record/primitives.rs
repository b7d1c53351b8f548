//! The primitive types of the record formats: bounds-checked big-endian
//! reads, the two CRCs, and Kafka's zigzag varints (a [`Cursor`],
//! position-based decoders for the record hot loop, and the writers).

// ---------------------------------------------------------------------------
// Byte helpers: every read is bounds-checked and returns None past the end.

#[inline]
pub(super) fn be_i16(bytes: &[u8], at: usize) -> Option<i16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(i16::from_be_bytes(b.try_into().ok()?))
}

#[inline]
pub(super) fn be_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes(b.try_into().ok()?))
}

#[inline]
pub(super) fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

#[inline]
pub(super) fn be_i64(bytes: &[u8], at: usize) -> Option<i64> {
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
    pub(super) bytes: &'a [u8],
    pub(super) position: usize,
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
    pub(super) fn byte(&mut self) -> Option<u8> {
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
    pub(super) fn nullable_bytes(&mut self, len: i32) -> Result<Option<&'a [u8]>, &'static str> {
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

// Record decoding works on a slice and a position held in locals (never a
// `&mut Cursor`), so that both stay in registers through the hot loop; the
// rare long varints go to out-of-line functions that take them by value.

#[inline(always)]
pub(super) fn zigzag32(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

#[inline(always)]
pub(super) fn zigzag64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

/// The unsigned varint at `at` (at most 5 bytes, fitting 32 bits) and the
/// position after it. One and two bytes (lengths below 8 KiB, deltas below
/// 8192: what record fields mostly hold) are decoded inline.
#[inline(always)]
pub(super) fn uvarint32_at(bytes: &[u8], at: usize) -> Result<(u32, usize), &'static str> {
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
pub(super) fn uvarint64_at(bytes: &[u8], at: usize) -> Result<(u64, usize), &'static str> {
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
pub(super) fn nullable_at(bytes: &[u8], at: usize, len: i32) -> Option<(Option<&[u8]>, usize)> {
    if len < 0 {
        return Some((None, at));
    }
    // As in `decode_v2_record`: cannot wrap, and `get` refuses a wrapped end.
    let end = at.wrapping_add(len as usize);
    Some((Some(bytes.get(at..end)?), end))
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
}
