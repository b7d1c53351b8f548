//! snappy: snappy-java's stream framing ("xerial", as the Java client
//! writes it) or one raw block, decoded straight into the output buffer;
//! and the xerial encoder.

use std::io;

use super::buffer::Reused;
use super::{Fault, Inflated};

/// snappy-java's stream magic: the marker byte, `SNAPPY`, a NUL.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// The magic, then version 1 and compatible version 1 (big-endian `i32`s).
pub(super) const XERIAL_HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];
/// How much input snappy-java puts in one block.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

pub(super) fn unsnappy(input: &[u8], out: &mut Reused<'_>, max_bytes: usize) -> Inflated {
    let Some(stream) = input.strip_prefix(XERIAL_MAGIC.as_slice()) else {
        return snappy_block(input, out, max_bytes);
    };
    // The two version fields: snappy-java has only ever written 1 and 1, and
    // some producers write them little-endian, so they are not checked.
    let (_versions, mut rest) = stream
        .split_first_chunk::<8>()
        .ok_or_else(|| Fault::bad("truncated xerial snappy header"))?;
    while !rest.is_empty() {
        let (length, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| Fault::bad("truncated xerial snappy block length"))?;
        let length = i32::from_be_bytes(*length);
        let (block, tail) = usize::try_from(length)
            .ok()
            .and_then(|length| tail.split_at_checked(length))
            .ok_or_else(|| {
                Fault::bad(format!(
                    "xerial snappy block length {length} with {} bytes left",
                    tail.len()
                ))
            })?;
        snappy_block(block, out, max_bytes)?;
        rest = tail;
    }
    Ok(())
}

fn snappy_fault(error: snap::Error) -> Fault {
    let message = error.to_string();
    Fault::bad(message.strip_prefix("snappy: ").unwrap_or(&message))
}

/// Appends one raw snappy block to `out`, checking its declared length first.
fn snappy_block(block: &[u8], out: &mut Reused<'_>, max_bytes: usize) -> Inflated {
    let declared = snap::raw::decompress_len(block).map_err(snappy_fault)?;
    out.len()
        .checked_add(declared)
        .filter(|&end| end <= max_bytes)
        .ok_or(Fault::TooLarge)?;
    let (_, room) = out.split_room(declared, max_bytes);
    let written = snap::raw::Decoder::new()
        .decompress(block, room)
        .map_err(snappy_fault)?;
    out.advance(written);
    Ok(())
}

pub(super) fn xerial_compress(input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(&XERIAL_HEADER);
    let mut encoder = snap::raw::Encoder::new();
    for chunk in input.chunks(XERIAL_BLOCK_SIZE) {
        let at = out.len();
        let body = at.saturating_add(4);
        out.resize(
            body.saturating_add(snap::raw::max_compress_len(chunk.len())),
            0,
        );
        let written = encoder
            .compress(chunk, out.get_mut(body..).unwrap_or_default())
            .map_err(io::Error::other)?;
        out.truncate(body.saturating_add(written));
        let length = i32::try_from(written).map_err(io::Error::other)?;
        if let Some(field) = out.get_mut(at..body) {
            field.copy_from_slice(&length.to_be_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation
    )]

    use super::*;
    use crate::compression::test_support::{inflate, packed, reason, NO_CAP};
    use crate::compression::{Compression, Decompressor};
    use crate::error::Corruption;

    #[test]
    fn xerial_framing() {
        assert_eq!(&packed(Compression::Snappy, b"")[..], &XERIAL_HEADER[..]);
        assert_eq!(
            inflate(Compression::Snappy, &XERIAL_HEADER, NO_CAP).unwrap(),
            b""
        );
        assert_eq!(
            reason(inflate(Compression::Snappy, &XERIAL_HEADER[..12], NO_CAP)),
            "truncated xerial snappy header"
        );
        // Blocks hold 32 KiB of input each.
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let compressed = packed(Compression::Snappy, &data);
        let mut rest = &compressed[16..];
        let mut blocks = 0;
        while !rest.is_empty() {
            let length = i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let inflated = snap::raw::decompress_len(&rest[4..4 + length]).unwrap();
            assert!(inflated == XERIAL_BLOCK_SIZE || rest.len() == 4 + length);
            rest = &rest[4 + length..];
            blocks += 1;
        }
        assert_eq!(blocks, 4);

        let mut negative = XERIAL_HEADER.to_vec();
        negative.extend_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(
            reason(inflate(Compression::Snappy, &negative, NO_CAP)),
            "xerial snappy block length -5 with 0 bytes left"
        );
        let mut past_end = XERIAL_HEADER.to_vec();
        past_end.extend_from_slice(&1000i32.to_be_bytes());
        past_end.extend_from_slice(b"short");
        assert_eq!(
            reason(inflate(Compression::Snappy, &past_end, NO_CAP)),
            "xerial snappy block length 1000 with 5 bytes left"
        );
        let mut partial_length = XERIAL_HEADER.to_vec();
        partial_length.extend_from_slice(&[0, 0]);
        assert_eq!(
            reason(inflate(Compression::Snappy, &partial_length, NO_CAP)),
            "truncated xerial snappy block length"
        );
    }

    #[test]
    fn raw_snappy_declared_length_is_checked_before_allocating() {
        // A varint length of 2^31 and nothing else.
        let mut out = Vec::new();
        let result = Decompressor::new().decompress(
            Compression::Snappy,
            &[0x80, 0x80, 0x80, 0x80, 0x08],
            &mut out,
            1 << 20,
            false,
        );
        assert_eq!(
            result,
            Err(Corruption::InflatedTooLarge {
                codec: Compression::Snappy,
                cap: 1 << 20
            })
        );
        assert_eq!(out.capacity(), 0);
    }
}
