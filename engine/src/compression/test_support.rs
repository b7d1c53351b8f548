//! Helpers of the codec tests: compress and inflate in one call, payload
//! strategies, and frames made by the codec libraries' own encoders.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use std::io::Write;

use proptest::prelude::*;

use super::{compress, Compression, Decompressor};
use crate::error::Corruption;

pub(super) const NO_CAP: usize = usize::MAX;

pub(super) fn packed(codec: Compression, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    compress(codec, data, &mut out).unwrap();
    out
}

pub(super) fn inflate(
    codec: Compression,
    input: &[u8],
    max_bytes: usize,
) -> Result<Vec<u8>, Corruption> {
    let mut out = Vec::new();
    Decompressor::new()
        .decompress(codec, input, &mut out, max_bytes, false)
        .map(|()| out)
}

pub(super) fn reason(result: Result<Vec<u8>, Corruption>) -> String {
    match result {
        Err(Corruption::Decompress { reason, .. }) => reason,
        other => panic!("expected a decompression error, got {other:?}"),
    }
}

/// Random bytes (incompressible), bytes from a tiny alphabet, or a
/// repeated unit (very compressible): up to 200 KiB.
pub(super) fn payload(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..max_len),
        prop::collection::vec(0u8..4, 0..max_len),
        (prop::collection::vec(any::<u8>(), 1..64), 0..max_len / 64)
            .prop_map(|(unit, times)| unit.repeat(times)),
    ]
}

pub(super) fn lz4_frame(data: &[u8], info: lz4_flex::frame::FrameInfo) -> Vec<u8> {
    let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Incompressible bytes (xorshift64).
pub(super) fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

pub(super) fn zstd_streamed(data: &[u8], checksum: bool) -> Vec<u8> {
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    encoder.include_checksum(checksum).unwrap();
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}
