//! Kafka's compression codecs: gzip, snappy (xerial-framed as the Java client
//! writes it, or raw), lz4 (frame format, including the broken header checksum
//! of magic 0 producers, KAFKA-3160) and zstd. Inflation goes into a buffer the
//! caller reuses across batches, bounded by a cap.
//!
//! This is the one place where the engine copies record bytes, so it avoids
//! copying twice: gzip and zstd stream into the spare capacity of the output
//! buffer through contexts kept in [`Decompressor`]; snappy and lz4 blocks are
//! decoded straight from the input slice into it (the gzip, xerial and lz4
//! framings are parsed here for that reason). The output buffer grows
//! geometrically, never past the cap plus one byte, and a size declared up
//! front (zstd and lz4 content size, snappy block length) is checked against
//! the cap before anything is allocated.
//!
//! One file per codec (`gzip`, `snappy`, `lz4`, `zstandard`: the decoder,
//! its framing and the writer side's encoder), `buffer` for the bounded,
//! reused output buffer; this file holds the [`Decompressor`] that
//! dispatches to them, [`compress`], and [`Compression::from_id`] (the
//! enum itself is `crate::codec`'s, re-exported here).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::fmt;
use std::io::{self, Write};

use zstd::zstd_safe::DCtx;

use crate::error::Corruption;

mod buffer;
mod gzip;
mod lz4;
mod snappy;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod zstandard;

pub use crate::codec::Compression;

use buffer::{reserve_bounded, Reused};
use gzip::gunzip;
use lz4::{lz4_compress, unlz4};
use snappy::{unsnappy, xerial_compress};
use zstandard::{unzstd, zstd_compress};

impl Compression {
    /// The codec for a Kafka codec id (attributes & 0x07).
    pub fn from_id(id: u8) -> Result<Self, Corruption> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(Corruption::UnknownCodec(other)),
        }
    }
}

/// Reusable decompression state, one per reading thread.
///
/// Holds the codec contexts that are worth keeping between batches: a raw
/// deflate state for gzip and a zstd decompression context, both created on
/// first use. lz4 and snappy decode straight from the input slice into the
/// output buffer and need no state. After the first few batches, inflating
/// allocates nothing beyond growing the caller's output buffer.
///
/// One allocation is zstd's own: a frame without a content size (the Java
/// producer streams its frames, so it never writes one) makes the context
/// allocate the frame's window, at most 128 MiB by zstd's default limit (which
/// the Java client keeps too), once; later frames reuse it. Only the part of
/// it that output passes through is ever touched.
#[derive(Default)]
pub struct Decompressor {
    /// Raw deflate state for gzip members (the gzip framing is parsed here).
    inflate: Option<flate2::Decompress>,
    /// zstd decompression context.
    zstd: Option<DCtx<'static>>,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor").finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor with fresh codec state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inflates `input` (compressed with `codec`) into `out`, replacing what
    /// it held (for lz4 and snappy those bytes are written over rather than
    /// zeroed first, so pass the same buffer back) and keeping its capacity
    /// across calls. At most `max_bytes` are
    /// produced: a declared or actual size past it is
    /// [`Corruption::InflatedTooLarge`], found before allocating that much.
    /// `legacy_lz4` accepts the wrong lz4 frame-header checksum written by
    /// Kafka 0.8/0.9 producers (magic 0 messages).
    ///
    /// What is accepted follows Kafka's Java consumer:
    ///
    /// - gzip: one or more concatenated members; bytes after a complete member
    ///   that do not start another member are ignored, as
    ///   `java.util.zip.GZIPInputStream` does.
    /// - snappy: snappy-java's stream framing (the xerial header and
    ///   length-prefixed blocks) when the input starts with its magic,
    ///   otherwise one raw snappy block.
    /// - lz4: one LZ4 frame; bytes after its end mark are ignored, as Kafka's
    ///   `Lz4BlockInputStream` does. Block and content checksums are verified
    ///   when present. Linked blocks are accepted too (Java refuses them).
    /// - zstd: one or more frames, skippable frames included; a frame that
    ///   declares its content size must hold exactly that many bytes.
    ///
    /// # Errors
    ///
    /// [`Corruption::InflatedTooLarge`] past the cap,
    /// [`Corruption::Decompress`] (with a lower-case reason) for input that is
    /// truncated, corrupt or uses a feature Kafka never writes (lz4
    /// dictionary ids, for one). On error `out` is left empty (its capacity is
    /// kept).
    pub fn decompress(
        &mut self,
        codec: Compression,
        input: &[u8],
        out: &mut Vec<u8>,
        max_bytes: usize,
        legacy_lz4: bool,
    ) -> Result<(), Corruption> {
        let result = match codec {
            // These two write into an initialized slice: what `out` held is
            // overwritten rather than cleared and zeroed again (`Reused`).
            Compression::Snappy => unsnappy(input, &mut Reused::new(out), max_bytes),
            Compression::Lz4 => unlz4(input, &mut Reused::new(out), max_bytes, legacy_lz4),
            Compression::None => {
                out.clear();
                copy(input, out, max_bytes)
            }
            Compression::Gzip => {
                out.clear();
                let inflate = self
                    .inflate
                    .get_or_insert_with(|| flate2::Decompress::new(false));
                gunzip(inflate, input, out, max_bytes)
            }
            Compression::Zstd => {
                out.clear();
                self.zstd_context()
                    .and_then(|dctx| unzstd(dctx, input, out, max_bytes))
            }
        };
        result.map_err(|fault| {
            out.clear();
            match fault {
                Fault::TooLarge => Corruption::InflatedTooLarge {
                    codec,
                    cap: max_bytes,
                },
                Fault::Bad(reason) => Corruption::Decompress { codec, reason },
            }
        })
    }

    /// The zstd context, created on first use.
    fn zstd_context(&mut self) -> Result<&mut DCtx<'static>, Fault> {
        if self.zstd.is_none() {
            self.zstd = DCtx::try_create();
        }
        self.zstd
            .as_mut()
            .ok_or_else(|| Fault::bad("cannot create a zstd context"))
    }
}

/// Compresses `input` with `codec` the way the Java client does (gzip member,
/// xerial-framed snappy, lz4 frame with independent blocks, zstd frame),
/// appending to `out`.
///
/// - gzip: one member, deflate level 6 (`Deflater.DEFAULT_COMPRESSION`).
/// - snappy: snappy-java's `SnappyOutputStream` framing: the 16-byte header
///   (version 1, compatible version 1), then each 32 KiB of input as a raw
///   snappy block behind its big-endian `i32` length.
/// - lz4: Kafka's `Lz4BlockOutputStream` layout: one frame, 64 KiB
///   independent blocks, no content size, no checksums besides a correct
///   header checksum; a block that does not shrink is stored uncompressed.
/// - zstd: one frame at level 3, with its content size.
/// - none: `input` as is.
///
/// Unlike [`Decompressor::decompress`], this sets up codec state on every
/// call: it serves the writer and tests, not the read path.
///
/// # Errors
///
/// Only if a codec library fails, which it does not for any input that fits
/// in memory.
pub fn compress(codec: Compression, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    match codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(&mut *out, flate2::Compression::new(6));
            encoder.write_all(input)?;
            encoder.finish().map(drop)
        }
        Compression::Snappy => xerial_compress(input, out),
        Compression::Lz4 => lz4_compress(input, out),
        Compression::Zstd => zstd_compress(input, out),
    }
}

/// Why a codec gave up, before the codec and the cap are attached.
#[derive(Debug)]
enum Fault {
    /// The output would pass `max_bytes`.
    TooLarge,
    /// Anything else: truncated, corrupt or unsupported input (lower case).
    Bad(String),
}

impl Fault {
    fn bad(reason: impl fmt::Display) -> Self {
        Fault::Bad(reason.to_string().to_lowercase())
    }
}

type Inflated = Result<(), Fault>;

/// `Compression::None`: the bytes themselves, still bounded.
fn copy(input: &[u8], out: &mut Vec<u8>, max_bytes: usize) -> Inflated {
    if input.len() > max_bytes {
        return Err(Fault::TooLarge);
    }
    reserve_bounded(out, input.len(), max_bytes);
    out.extend_from_slice(input);
    Ok(())
}
