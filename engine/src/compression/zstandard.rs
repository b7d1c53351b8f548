//! zstd (Zstandard), streamed through the `Decompressor`'s reused context,
//! one or more frames, each held to the content size it declares; and the
//! one-frame encoder.

use std::io;

use zstd::zstd_safe::{self, DCtx};

use super::buffer::{make_room, reserve_bounded};
use super::{Fault, Inflated};

/// The level Kafka's producer uses by default.
const ZSTD_LEVEL: i32 = 3;
/// Above this ratio of declared to compressed size, a zstd frame does not get
/// its declared size reserved up front.
pub(super) const ZSTD_PLAUSIBLE_RATIO: usize = 1024;

fn zstd_fault(code: usize) -> Fault {
    Fault::bad(zstd_safe::get_error_name(code))
}

pub(super) fn unzstd(
    dctx: &mut DCtx<'static>,
    input: &[u8],
    out: &mut Vec<u8>,
    max_bytes: usize,
) -> Inflated {
    let limit = max_bytes.saturating_add(1);
    // Also clears an error a previous call may have left the context in.
    dctx.reset(zstd_safe::ResetDirective::SessionOnly)
        .map_err(zstd_fault)?;
    // Frames from the Java producer are streamed and carry no content size;
    // when one is declared it is checked now, and reserving it lets zstd
    // decode the frame in a single pass straight into `out` (unless the
    // claimed ratio is implausible: then the frame is streamed like the rest).
    let mut declared = zstd_declared_size(input);
    if let Some(size) = declared {
        let size = usize::try_from(size)
            .ok()
            .filter(|&size| size <= max_bytes)
            .ok_or(Fault::TooLarge)?;
        if size <= input.len().saturating_mul(ZSTD_PLAUSIBLE_RATIO) {
            reserve_bounded(out, size, limit);
        }
    }
    // Where the current frame's output starts.
    let mut frame_start = 0;
    let mut src = zstd_safe::InBuffer::around(input);
    loop {
        if !make_room(out, limit) {
            return Err(Fault::TooLarge);
        }
        let before = (src.pos(), out.len());
        let hint = {
            let len = out.len();
            let mut dst = zstd_safe::OutBuffer::around_pos(out, len);
            dctx.decompress_stream(&mut dst, &mut src)
                .map_err(zstd_fault)?
        };
        if out.len() > max_bytes {
            return Err(Fault::TooLarge);
        }
        if hint == 0 {
            // A frame ended. It must hold what its header declares: zstd
            // checks that only when it decodes a frame in one pass (when the
            // output buffer happens to have room for the declared size), so
            // without this the verdict on a lying frame would depend on how
            // large earlier batches made the reused buffer.
            let held = out.len().saturating_sub(frame_start);
            if let Some(size) = declared.filter(|&size| u64::try_from(held) != Ok(size)) {
                return Err(Fault::bad(format!(
                    "zstd frame declares {size} bytes of content but holds {held}"
                )));
            }
            if src.pos() == input.len() {
                return Ok(()); // the frame ended with the input
            }
            declared = zstd_declared_size(input.get(src.pos()..).unwrap_or_default());
            frame_start = out.len();
        }
        if (src.pos(), out.len()) == before {
            return Err(Fault::bad("truncated zstd frame"));
        }
    }
}

/// The content size the zstd frame at the start of `input` declares, if any
/// (0 for a skippable frame).
fn zstd_declared_size(input: &[u8]) -> Option<u64> {
    zstd_safe::get_frame_content_size(input).ok().flatten()
}

pub(super) fn zstd_compress(input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    out.reserve(zstd_safe::compress_bound(input.len()));
    let at = out.len() as u64;
    let mut cursor = io::Cursor::new(&mut *out);
    cursor.set_position(at);
    zstd_safe::compress(&mut cursor, input, ZSTD_LEVEL)
        .map(drop)
        .map_err(|code| io::Error::other(zstd_safe::get_error_name(code).to_lowercase()))
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
    use crate::compression::test_support::{inflate, packed, reason, zstd_streamed, NO_CAP};
    use crate::compression::{Compression, Decompressor};
    use crate::error::Corruption;

    #[test]
    fn zstd_frames() {
        let data = b"zstd frames, zstd frames, zstd frames".repeat(100);
        // Streamed (no content size, as Java writes them), with and without checksum.
        for checksum in [false, true] {
            let frame = zstd_streamed(&data, checksum);
            assert!(matches!(
                zstd_safe::get_frame_content_size(&frame),
                Ok(None)
            ));
            assert_eq!(inflate(Compression::Zstd, &frame, NO_CAP).unwrap(), data);
        }
        // Concatenated frames and a skippable frame.
        let mut frames = packed(Compression::Zstd, b"one ");
        frames.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        frames.extend(zstd_streamed(b"two", true));
        assert_eq!(
            inflate(Compression::Zstd, &frames, NO_CAP).unwrap(),
            b"one two"
        );
        // A corrupt frame, then a good one through the same context.
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        let mut corrupt = zstd_streamed(&data, true);
        let n = corrupt.len();
        corrupt[n / 2] ^= 0x55;
        assert!(decompressor
            .decompress(Compression::Zstd, &corrupt, &mut out, NO_CAP, false)
            .is_err());
        assert!(out.is_empty());
        let good = zstd_streamed(&data, false);
        decompressor
            .decompress(Compression::Zstd, &good[..n / 2], &mut out, NO_CAP, false)
            .unwrap_err();
        decompressor
            .decompress(Compression::Zstd, &good, &mut out, NO_CAP, false)
            .unwrap();
        assert_eq!(out, data);
        assert_eq!(
            reason(inflate(Compression::Zstd, b"", NO_CAP)),
            "truncated zstd frame"
        );
        assert_eq!(
            reason(inflate(Compression::Zstd, b"not zstd", NO_CAP)),
            "unknown frame descriptor"
        );
    }

    /// Found by the `decompress` fuzz target: a frame whose header declares
    /// 65834 bytes holds one RLE block of 24571. zstd's streaming decoder
    /// accepts it unless the output buffer has room for the declared size;
    /// the verdict must not depend on the reused buffer.
    #[test]
    fn zstd_frame_holding_less_than_it_declares_is_corrupt_whatever_the_buffer() {
        let frame = [
            0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x2a, 0x01, 0x01, 0x00, 0xda, 0xff, 0x02, 0x00, 0x01,
            0x00, 0x00,
        ];
        for capacity in [0, 7, 1 << 20] {
            let mut out = Vec::with_capacity(capacity);
            let result =
                Decompressor::new().decompress(Compression::Zstd, &frame, &mut out, NO_CAP, false);
            assert!(
                matches!(result, Err(Corruption::Decompress { .. })),
                "{capacity}: {result:?}"
            );
            assert!(out.is_empty());
        }
        // One that holds more than it declares (4), likewise.
        let frame = [
            0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x04, 0x5b, 0x00, 0x00, 0x00, 0x00, 0x47, 0x35,
        ];
        for capacity in [0, 7, 1 << 20] {
            let mut out = Vec::with_capacity(capacity);
            let result =
                Decompressor::new().decompress(Compression::Zstd, &frame, &mut out, NO_CAP, false);
            assert!(result.is_err(), "{capacity}: {result:?}");
        }
    }
}
