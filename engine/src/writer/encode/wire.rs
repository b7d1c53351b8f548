//! The encoders' field writers: fixed-size big-endian fields into a header
//! ([`FieldWriter`]), zigzag varints and their sizes, nullable byte fields
//! with a varint length.

use crate::error::{Error, Result};

/// Writes fixed-size big-endian fields into a header array.
pub(super) struct FieldWriter<'a> {
    buf: &'a mut [u8],
    position: usize,
}

impl<'a> FieldWriter<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        FieldWriter { buf, position: 0 }
    }

    pub(super) fn at(buf: &'a mut [u8], position: usize) -> Self {
        FieldWriter { buf, position }
    }

    pub(super) fn put(&mut self, bytes: &[u8]) {
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

pub(super) fn length_i32(len: usize, what: &str) -> Result<i32> {
    i32::try_from(len).map_err(|_| {
        Error::Config(format!(
            "{what} of {len} bytes does not fit a 32-bit length"
        ))
    })
}

/// Size of a nullable byte field with a varint length.
#[inline]
pub(super) fn size_of_nullable(bytes: Option<&[u8]>, what: &str) -> Result<usize> {
    Ok(match bytes {
        None => 1,
        Some(bytes) => size_of_varint(length_i32(bytes.len(), what)?) + bytes.len(),
    })
}

#[inline]
pub(super) fn put_nullable(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(bytes) => {
            // Lengths were checked by the size computation.
            put_varint(out, bytes.len() as i32);
            out.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

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
}
