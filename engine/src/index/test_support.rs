//! Helpers of the index tests: index files built from entries, and short
//! constructors of the expected values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::mmap::{Mapping, ReadStrategy};

pub(super) const STRATEGIES: [ReadStrategy; 2] = [ReadStrategy::Mmap, ReadStrategy::Read];

pub(super) fn offset_index_bytes(entries: &[(i32, i32)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for &(relative_offset, position) in entries {
        bytes.extend_from_slice(&relative_offset.to_be_bytes());
        bytes.extend_from_slice(&position.to_be_bytes());
    }
    bytes
}

pub(super) fn time_index_bytes(entries: &[(i64, i32)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for &(timestamp, relative_offset) in entries {
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&relative_offset.to_be_bytes());
    }
    bytes
}

pub(super) fn txn(producer_id: i64, first_offset: i64, last_offset: i64, lso: i64) -> AbortedTxn {
    AbortedTxn {
        version: 0,
        producer_id,
        first_offset,
        last_offset,
        last_stable_offset: lso,
    }
}

pub(super) fn txn_index_bytes(entries: &[AbortedTxn]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for t in entries {
        bytes.extend_from_slice(&t.version.to_be_bytes());
        bytes.extend_from_slice(&t.producer_id.to_be_bytes());
        bytes.extend_from_slice(&t.first_offset.to_be_bytes());
        bytes.extend_from_slice(&t.last_offset.to_be_bytes());
        bytes.extend_from_slice(&t.last_stable_offset.to_be_bytes());
    }
    bytes
}

pub(super) fn offset_index(
    bytes: Vec<u8>,
    base: i64,
    log_size: u64,
) -> (Option<OffsetIndex>, IndexStatus) {
    OffsetIndex::from_bytes(Mapping::from_vec(bytes), base, log_size)
}

pub(super) fn time_index(
    bytes: Vec<u8>,
    base: i64,
    next: Option<i64>,
) -> (Option<TimeIndex>, IndexStatus) {
    TimeIndex::from_bytes(Mapping::from_vec(bytes), base, next)
}

pub(super) fn valid(entries: usize, zero_tail_bytes: u64, dropped_bytes: u64) -> IndexStatus {
    IndexStatus::Valid {
        entries,
        zero_tail_bytes,
        dropped_bytes,
    }
}

pub(super) fn op(offset: i64, position: u32) -> OffsetPosition {
    OffsetPosition { offset, position }
}

pub(super) fn ts(timestamp: i64, offset: i64) -> TimestampOffset {
    TimestampOffset { timestamp, offset }
}

pub(super) fn assert_insane(status: &IndexStatus, needle: &str) {
    match status {
        IndexStatus::Insane(reason) => assert!(
            reason.contains(needle),
            "reason {reason:?} does not mention {needle:?}"
        ),
        other => panic!("expected insane ({needle}), got {other:?}"),
    }
}
