//! Helpers of the verification tests: v2 batches built by hand, segments
//! over them, and a partition's segments verified in order.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::mmap::Mapping;
use crate::record::{crc32c, write_varint, write_varlong};

/// A v2 batch (no compression, no producer) holding one record per
/// offset delta, timestamps `base_timestamp + i`.
pub(super) fn batch(
    base_offset: i64,
    deltas: &[i32],
    last_offset_delta: i32,
    base_timestamp: i64,
) -> Vec<u8> {
    let mut records = Vec::new();
    for (i, &delta) in deltas.iter().enumerate() {
        let mut body = vec![0u8];
        write_varlong(i as i64, &mut body);
        write_varint(delta, &mut body);
        write_varint(1, &mut body);
        body.push(b'k');
        write_varint(1, &mut body);
        body.push(b'v');
        write_varint(0, &mut body);
        write_varint(body.len() as i32, &mut records);
        records.extend(body);
    }
    let mut b = Vec::new();
    b.extend(base_offset.to_be_bytes());
    b.extend(((49 + records.len()) as i32).to_be_bytes());
    b.extend(0i32.to_be_bytes());
    b.push(2);
    b.extend(0u32.to_be_bytes());
    b.extend(0i16.to_be_bytes());
    b.extend(last_offset_delta.to_be_bytes());
    b.extend(base_timestamp.to_be_bytes());
    b.extend((base_timestamp + deltas.len() as i64 - 1).to_be_bytes());
    b.extend((-1i64).to_be_bytes());
    b.extend((-1i16).to_be_bytes());
    b.extend((-1i32).to_be_bytes());
    b.extend((deltas.len() as i32).to_be_bytes());
    b.extend(records);
    let crc = crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// A batch of `n` consecutive offsets.
pub(super) fn plain(base_offset: i64, n: i32, base_timestamp: i64) -> Vec<u8> {
    let deltas: Vec<i32> = (0..n).collect();
    batch(base_offset, &deltas, n - 1, base_timestamp)
}

pub(super) fn segment(base_offset: i64, batches: &[Vec<u8>]) -> Segment {
    Segment::from_mapping(
        format!("{base_offset:020}.log"),
        base_offset,
        Mapping::from_vec(batches.concat()),
    )
}

pub(super) fn verify(segments: &[Segment]) -> Vec<SegmentReport> {
    let mut verifier = PartitionVerifier::new(VerifyOptions::default());
    segments
        .iter()
        .enumerate()
        .map(|(n, s)| verifier.verify_segment(s, n + 1 == segments.len()))
        .collect()
}

pub(super) fn kinds(report: &SegmentReport) -> Vec<(&'static str, Severity)> {
    report
        .issues
        .iter()
        .map(|i| (i.kind.code(), i.severity))
        .collect()
}
