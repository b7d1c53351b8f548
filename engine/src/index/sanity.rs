//! What the three index kinds share: mapping a file into a status, entry
//! fields, Kafka's binary search over slots, and [`classify`], which turns
//! a valid prefix and the bytes after it (zero tail, dropped entries) into
//! an [`IndexStatus`].

use std::io;
use std::path::Path;

use super::IndexStatus;
use crate::error::Error;
use crate::mmap::{Mapping, ReadStrategy};

/// Maps the file, turning "not found" and other I/O errors into statuses.
pub(super) fn open_mapping(path: &Path, strategy: ReadStrategy) -> Result<Mapping, IndexStatus> {
    match Mapping::open(path, strategy) {
        Ok(bytes) => Ok(bytes),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Err(IndexStatus::Missing)
        }
        Err(Error::Io { source, .. }) => Err(IndexStatus::Unreadable(source.to_string())),
        Err(other) => Err(IndexStatus::Unreadable(other.to_string())),
    }
}

pub(super) fn not_a_multiple(length: usize, entry_size: usize) -> IndexStatus {
    IndexStatus::Insane(format!(
        "length {length} is not a multiple of the entry size {entry_size}"
    ))
}

/// `N` bytes of `bytes` at `at`.
pub(super) fn field<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The bytes of the first `entries` entries.
pub(super) fn valid_bytes(bytes: &[u8], entries: usize, entry_size: usize) -> &[u8] {
    entries
        .checked_mul(entry_size)
        .and_then(|end| bytes.get(..end))
        .unwrap_or_default()
}

/// Kafka's `largestLowerBoundSlotFor`: the largest slot `n < len` whose key is
/// `<= target`, for keys ascending with `n`. `key` returning `None` (which a
/// validated index never does) counts as above the target.
pub(super) fn largest_lower_bound_slot(
    len: usize,
    target: i64,
    key: impl Fn(usize) -> Option<i64>,
) -> Option<usize> {
    let (mut low, mut high) = (0, len);
    while low < high {
        let mid = low + (high - low) / 2;
        match key(mid) {
            Some(k) if k <= target => low = mid + 1,
            _ => high = mid,
        }
    }
    low.checked_sub(1)
}

/// The valid prefix of an index: how many entries, and why it ended before
/// the last whole entry (`None`: it did not).
pub(super) struct Prefix {
    pub(super) entries: usize,
    pub(super) stop: Option<String>,
}

impl Prefix {
    pub(super) fn stop(entries: usize, reason: String) -> Prefix {
        Prefix {
            entries,
            stop: Some(format!("entry {entries}: {reason}")),
        }
    }
}

/// What a rule break before non-zero bytes means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TailPolicy {
    /// The entries before the break still form a correct index (offset and
    /// time indexes: they only speed up a scan).
    PrefixIsValid,
    /// The index is only correct whole (transaction index: a missing
    /// aborted transaction would show aborted records).
    WholeFile,
}

/// Turns a valid prefix into a status: splits the bytes after it into the
/// non-zero part (dropped, whole entries) and the zero tail.
pub(super) fn classify(
    bytes: &[u8],
    entry_size: usize,
    prefix: Prefix,
    policy: TailPolicy,
) -> IndexStatus {
    let length = bytes.len();
    let prefix_end = prefix.entries.saturating_mul(entry_size).min(length);
    let tail = bytes.get(prefix_end..).unwrap_or_default();
    let nonzero_end = match last_nonzero(tail) {
        Some(i) => prefix_end
            .saturating_add(i + 1)
            .div_ceil(entry_size)
            .saturating_mul(entry_size)
            .min(length),
        None => prefix_end,
    };
    let dropped_bytes = nonzero_end - prefix_end;
    if dropped_bytes > 0 {
        let insane = match &prefix.stop {
            Some(_) => prefix.entries == 0 || policy == TailPolicy::WholeFile,
            // Only a partial entry follows (a torn `.txnindex` append).
            None => prefix.entries == 0,
        };
        if insane {
            let reason = prefix.stop.unwrap_or_else(|| {
                format!("{dropped_bytes} bytes do not make a whole entry of {entry_size}")
            });
            return IndexStatus::Insane(reason);
        }
    }
    if prefix.entries == 0 {
        return IndexStatus::Empty;
    }
    IndexStatus::Valid {
        entries: prefix.entries,
        zero_tail_bytes: (length - nonzero_end) as u64,
        dropped_bytes: dropped_bytes as u64,
    }
}

/// The index of the last non-zero byte. Works in blocks so that a 10 MiB
/// zero tail costs a vectorised OR per block.
fn last_nonzero(bytes: &[u8]) -> Option<usize> {
    let mut end = bytes.len();
    for block in bytes.rchunks(4096) {
        let start = end - block.len();
        if block.iter().fold(0u8, |acc, &b| acc | b) != 0 {
            return block.iter().rposition(|&b| b != 0).map(|i| start + i);
        }
        end = start;
    }
    None
}
