//! The lz4 frame format (<https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md>),
//! parsed here so that blocks decode straight from the input into the
//! output buffer, with the broken header checksum of magic 0 producers
//! (KAFKA-3160); and the encoder of Kafka's `Lz4BlockOutputStream` layout.

use std::io;

use twox_hash::XxHash32;

use super::buffer::Reused;
use super::{Fault, Inflated};

const LZ4_MAGIC: u32 = 0x184D_2204;
const LZ4_FLG_VERSION_MASK: u8 = 0b1100_0000;
const LZ4_FLG_VERSION_01: u8 = 0b0100_0000;
const LZ4_FLG_INDEPENDENT_BLOCKS: u8 = 0b0010_0000;
const LZ4_FLG_BLOCK_CHECKSUM: u8 = 0b0001_0000;
const LZ4_FLG_CONTENT_SIZE: u8 = 0b0000_1000;
const LZ4_FLG_CONTENT_CHECKSUM: u8 = 0b0000_0100;
const LZ4_FLG_RESERVED: u8 = 0b0000_0010;
const LZ4_FLG_DICT_ID: u8 = 0b0000_0001;
const LZ4_BD_RESERVED: u8 = 0b1000_1111;
/// Set in a block's size word when the block is stored uncompressed.
pub(super) const LZ4_UNCOMPRESSED: u32 = 0x8000_0000;
/// How far back a match may reach, so how much of the previous output a
/// linked block can use.
const LZ4_WINDOW: usize = 64 * 1024;
/// The largest output one compressed byte can stand for (a match-length
/// continuation byte of 255).
pub(super) const LZ4_MAX_RATIO: usize = 255;
/// Block size Kafka's producer writes.
const LZ4_BLOCK_SIZE: usize = 64 * 1024;
/// The frame header Kafka's producer writes: magic, FLG (version 01,
/// independent blocks), BD (64 KiB blocks), header checksum.
pub(super) const LZ4_HEADER: [u8; 7] = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];

/// The header checksum byte over a frame descriptor (FLG up to, not
/// including, HC): the second byte of its xxh32.
pub(super) fn lz4_header_checksum(descriptor: &[u8]) -> u8 {
    ((XxHash32::oneshot(0, descriptor) >> 8) & 0xff) as u8
}

pub(super) fn unlz4(
    input: &[u8],
    out: &mut Reused<'_>,
    max_bytes: usize,
    legacy: bool,
) -> Inflated {
    const TRUNCATED: &str = "truncated lz4 frame";
    let truncated = || Fault::bad(TRUNCATED);
    let limit = max_bytes.saturating_add(1);

    let (magic, rest) = input.split_first_chunk::<4>().ok_or_else(truncated)?;
    let magic = u32::from_le_bytes(*magic);
    if magic != LZ4_MAGIC {
        return Err(Fault::bad(format!(
            "not an lz4 frame (magic {magic:#010x})"
        )));
    }
    let &[flg, bd] = rest.first_chunk::<2>().ok_or_else(truncated)?;
    if flg & LZ4_FLG_VERSION_MASK != LZ4_FLG_VERSION_01 {
        return Err(Fault::bad(format!(
            "unsupported lz4 frame version in flg {flg:#04x}"
        )));
    }
    if flg & LZ4_FLG_RESERVED != 0 || bd & LZ4_BD_RESERVED != 0 {
        return Err(Fault::bad("lz4 frame descriptor has reserved bits set"));
    }
    if flg & LZ4_FLG_DICT_ID != 0 {
        return Err(Fault::bad(
            "lz4 frames with a dictionary id are not supported",
        ));
    }
    let block_max: usize = match (bd >> 4) & 0b111 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        id => return Err(Fault::bad(format!("unsupported lz4 block size id {id}"))),
    };
    let content_size_field = flg & LZ4_FLG_CONTENT_SIZE != 0;
    let (descriptor, rest) = rest
        .split_at_checked(if content_size_field { 10 } else { 2 })
        .ok_or_else(truncated)?;
    let (&header_checksum, mut rest) = rest.split_first().ok_or_else(truncated)?;
    // Kafka 0.8/0.9 hashed the magic number too (KAFKA-3160). Java's consumer
    // skips the byte for magic 0 messages, whatever it holds, and so do we.
    if !legacy && header_checksum != lz4_header_checksum(descriptor) {
        return Err(Fault::bad("lz4 frame header checksum mismatch"));
    }
    let content_size = match descriptor.get(2..).map(<[u8]>::first_chunk::<8>) {
        Some(Some(size)) => {
            let size = u64::from_le_bytes(*size);
            let size = usize::try_from(size)
                .ok()
                .filter(|&size| size <= max_bytes)
                .ok_or(Fault::TooLarge)?;
            // No more than the blocks can hold, whatever the header claims.
            let most = input.len().saturating_mul(LZ4_MAX_RATIO);
            out.reserve(size.min(most), limit);
            Some(size)
        }
        _ => None,
    };
    let linked = flg & LZ4_FLG_INDEPENDENT_BLOCKS == 0;

    loop {
        let (word, tail) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        rest = tail;
        let word = u32::from_le_bytes(*word);
        if word == 0 {
            break; // end mark
        }
        let length = usize::try_from(word & !LZ4_UNCOMPRESSED).unwrap_or(usize::MAX);
        if length > block_max {
            return Err(Fault::bad(format!(
                "lz4 block of {length} bytes in a frame of {block_max}-byte blocks"
            )));
        }
        let (data, tail) = rest.split_at_checked(length).ok_or_else(truncated)?;
        rest = tail;
        if flg & LZ4_FLG_BLOCK_CHECKSUM != 0 {
            let (checksum, tail) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
            rest = tail;
            if XxHash32::oneshot(0, data) != u32::from_le_bytes(*checksum) {
                return Err(Fault::bad("lz4 block checksum mismatch"));
            }
        }
        if word & LZ4_UNCOMPRESSED != 0 {
            if out.len().saturating_add(data.len()) > max_bytes {
                return Err(Fault::TooLarge);
            }
            out.push(data, limit);
        } else {
            lz4_block(data, out, block_max, limit, linked)?;
        }
    }

    if flg & LZ4_FLG_CONTENT_CHECKSUM != 0 {
        let checksum = rest.first_chunk::<4>().ok_or_else(truncated)?;
        if XxHash32::oneshot(0, out.written()) != u32::from_le_bytes(*checksum) {
            return Err(Fault::bad("lz4 content checksum mismatch"));
        }
    }
    if let Some(size) = content_size {
        if out.len() != size {
            return Err(Fault::bad(format!(
                "lz4 frame declares {size} bytes of content but holds {}",
                out.len()
            )));
        }
    }
    // Whatever follows the frame is ignored, as Kafka's Lz4BlockInputStream does.
    Ok(())
}

/// Decodes one compressed lz4 block onto the end of `out`.
fn lz4_block(
    data: &[u8],
    out: &mut Reused<'_>,
    block_max: usize,
    limit: usize,
    linked: bool,
) -> Inflated {
    let start = out.len();
    let most = block_max.min(data.len().saturating_mul(LZ4_MAX_RATIO));
    let room = most.min(limit.saturating_sub(start));
    let (before, dst) = out.split_room(room, limit);
    let decoded = if linked {
        let window = before
            .get(start.saturating_sub(LZ4_WINDOW)..)
            .unwrap_or_default();
        lz4_flex::block::decompress_into_with_dict(data, dst, window)
    } else {
        lz4_flex::block::decompress_into(data, dst)
    };
    match decoded {
        Ok(written) => {
            out.advance(written);
            if out.len() >= limit {
                return Err(Fault::TooLarge);
            }
            Ok(())
        }
        // The room was cut short by the cap, not by the block size.
        Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) if room < most => {
            Err(Fault::TooLarge)
        }
        Err(error) => Err(Fault::bad(format!("lz4 block: {error}"))),
    }
}

pub(super) fn lz4_compress(input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(&LZ4_HEADER);
    let mut table = lz4_flex::block::CompressTable::default();
    for chunk in input.chunks(LZ4_BLOCK_SIZE) {
        let at = out.len();
        let body = at.saturating_add(4);
        let bound = lz4_flex::block::get_maximum_output_size(chunk.len());
        out.resize(body.saturating_add(bound), 0);
        let written = lz4_flex::block::compress_into_with_table(
            chunk,
            out.get_mut(body..).unwrap_or_default(),
            &mut table,
        )
        .map_err(io::Error::other)?;
        if written < chunk.len() {
            out.truncate(body.saturating_add(written));
            let word = u32::try_from(written).map_err(io::Error::other)?;
            if let Some(field) = out.get_mut(at..body) {
                field.copy_from_slice(&word.to_le_bytes());
            }
        } else {
            // Incompressible: stored as is, like Lz4BlockOutputStream does.
            out.truncate(at);
            let word = u32::try_from(chunk.len()).map_err(io::Error::other)? | LZ4_UNCOMPRESSED;
            out.extend_from_slice(&word.to_le_bytes());
            out.extend_from_slice(chunk);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // end mark
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

    use std::io::Read;

    use proptest::prelude::*;

    use super::*;
    use crate::compression::test_support::{
        inflate, lz4_frame, noise, packed, payload, reason, NO_CAP,
    };
    use crate::compression::{Compression, Decompressor};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Naive oracle: lz4_flex's own frame reader on frames of every shape
        /// its writer makes (block sizes, linked blocks, checksums, content
        /// size) gives the same bytes as ours; and it reads our frames.
        #[test]
        fn lz4_matches_lz4_flex(
            data in payload(300 * 1024),
            block_size in prop::sample::select(vec![
                lz4_flex::frame::BlockSize::Max64KB,
                lz4_flex::frame::BlockSize::Max256KB,
                lz4_flex::frame::BlockSize::Max1MB,
                lz4_flex::frame::BlockSize::Max4MB,
            ]),
            linked in any::<bool>(),
            block_checksums in any::<bool>(),
            content_checksum in any::<bool>(),
            content_size in any::<bool>(),
        ) {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(block_size)
                .block_mode(if linked {
                    lz4_flex::frame::BlockMode::Linked
                } else {
                    lz4_flex::frame::BlockMode::Independent
                })
                .block_checksums(block_checksums)
                .content_checksum(content_checksum)
                .content_size(content_size.then_some(data.len() as u64));
            let frame = lz4_frame(&data, info);
            prop_assert!(inflate(Compression::Lz4, &frame, NO_CAP).unwrap() == data);

            let mut theirs = Vec::new();
            lz4_flex::frame::FrameDecoder::new(&packed(Compression::Lz4, &data)[..])
                .read_to_end(&mut theirs)
                .unwrap();
            prop_assert!(theirs == data);
        }
    }

    #[test]
    fn lz4_header_is_kafkas() {
        // Magic, then FLG 0x60 (version 01, independent blocks) and BD 0x40
        // (64 KiB blocks), as Lz4BlockOutputStream writes them.
        assert_eq!(lz4_header_checksum(&LZ4_HEADER[4..6]), LZ4_HEADER[6]);
        let compressed = packed(Compression::Lz4, b"");
        assert_eq!(&compressed[..7], &LZ4_HEADER[..]);
        assert_eq!(&compressed[7..], &[0, 0, 0, 0]);
        // Incompressible blocks are stored as they are.
        let compressed = packed(Compression::Lz4, &noise(1000));
        assert_eq!(
            &compressed[7..11],
            &(1000u32 | LZ4_UNCOMPRESSED).to_le_bytes()
        );
    }

    #[test]
    fn lz4_frame_checks() {
        let data = b"lz4 frame checks, lz4 frame checks, lz4 frame checks".repeat(50);
        let frame = |info: lz4_flex::frame::FrameInfo| lz4_frame(&data, info);
        let plain = lz4_flex::frame::FrameInfo::new();

        // Bad header checksum: refused, unless legacy (Java skips the byte for magic 0).
        let mut bad_hc = frame(plain.clone());
        bad_hc[6] ^= 0xff;
        assert_eq!(
            reason(inflate(Compression::Lz4, &bad_hc, NO_CAP)),
            "lz4 frame header checksum mismatch"
        );
        let mut out = Vec::new();
        Decompressor::new()
            .decompress(Compression::Lz4, &bad_hc, &mut out, NO_CAP, true)
            .unwrap();
        assert_eq!(out, data);

        // Block checksum.
        let mut bad_block = frame(plain.clone().block_checksums(true));
        let at = bad_block.len() - 9; // the last block's checksum
        bad_block[at] ^= 1;
        assert_eq!(
            reason(inflate(Compression::Lz4, &bad_block, NO_CAP)),
            "lz4 block checksum mismatch"
        );

        // Content checksum.
        let mut bad_content = frame(plain.clone().content_checksum(true));
        let n = bad_content.len();
        bad_content[n - 1] ^= 1;
        assert_eq!(
            reason(inflate(Compression::Lz4, &bad_content, NO_CAP)),
            "lz4 content checksum mismatch"
        );

        // Content size that does not match the blocks.
        let mut wrong_size = frame(plain.clone().content_size(Some(data.len() as u64)));
        wrong_size[6] = wrong_size[6].wrapping_sub(1); // size - 1, still under the cap
        wrong_size[14] = lz4_header_checksum(&wrong_size[4..14]);
        assert_eq!(
            reason(inflate(Compression::Lz4, &wrong_size, NO_CAP)),
            format!(
                "lz4 frame declares {} bytes of content but holds {}",
                data.len() - 1,
                data.len()
            )
        );

        // Dictionary ids and reserved bits.
        let mut dict_id = frame(plain.clone());
        dict_id[4] |= LZ4_FLG_DICT_ID;
        assert_eq!(
            reason(inflate(Compression::Lz4, &dict_id, NO_CAP)),
            "lz4 frames with a dictionary id are not supported"
        );
        let mut reserved = frame(plain.clone());
        reserved[5] |= 0x01;
        assert_eq!(
            reason(inflate(Compression::Lz4, &reserved, NO_CAP)),
            "lz4 frame descriptor has reserved bits set"
        );

        // A block longer than the frame's block size.
        let mut oversized = LZ4_HEADER.to_vec();
        oversized.extend_from_slice(&(70_000u32 | LZ4_UNCOMPRESSED).to_le_bytes());
        oversized.extend(vec![0u8; 70_000]);
        oversized.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            reason(inflate(Compression::Lz4, &oversized, NO_CAP)),
            "lz4 block of 70000 bytes in a frame of 65536-byte blocks"
        );

        // Bytes after the frame are ignored, as Java does; a missing end mark is not.
        let mut trailing = frame(plain.clone());
        trailing.extend_from_slice(b"trailing");
        assert_eq!(inflate(Compression::Lz4, &trailing, NO_CAP).unwrap(), data);
        let whole = frame(plain);
        assert_eq!(
            reason(inflate(Compression::Lz4, &whole[..whole.len() - 4], NO_CAP)),
            "truncated lz4 frame"
        );
        assert_eq!(
            reason(inflate(Compression::Lz4, b"\x02\x21\x4c\x18legacy", NO_CAP)),
            "not an lz4 frame (magic 0x184c2102)"
        );
    }
}
