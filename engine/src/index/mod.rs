//! Read-only views over a segment's index files: `.index` ([`OffsetIndex`]),
//! `.timeindex` ([`TimeIndex`]) and `.txnindex` ([`TransactionIndex`]).
//!
//! A broker keeps three index files beside each `<base offset>.log`. The
//! offset and time indexes are sparse: an entry every `index.interval.bytes`
//! (4096 by default) of appended batches. They only speed up a seek; the
//! `.log` alone is enough to find any offset or timestamp by scanning. So an
//! index here is a hint that has passed checks, never a source of truth. When
//! it is missing or fails the checks the caller gets an [`IndexStatus`] to
//! log (at debug level) and scans the `.log` instead. None of that is an
//! [`Error`](crate::Error): a broken index never stops a read.
//!
//! # Formats (all fields big-endian)
//!
//! | file | entry | bytes |
//! |---|---|---|
//! | `.index` | relative offset `i32`, position `i32` | 8 |
//! | `.timeindex` | timestamp `i64`, relative offset `i32` | 12 |
//! | `.txnindex` | version `i16`, producer id `i64`, first offset `i64`, last offset `i64`, last stable offset `i64` | 34 |
//!
//! A relative offset is `offset - base_offset`. An offset index entry
//! `(offset, position)` says a batch starts at byte `position` of the `.log`
//! and the batches appended from there reach `offset`. A time index entry
//! `(timestamp, offset)` says no record before `offset` has a larger
//! timestamp than `timestamp`.
//!
//! # What is trusted
//!
//! The `.index` and `.timeindex` of the active segment (or of any segment of
//! a broker that crashed) are preallocated, 10 MiB by default, and
//! zero-filled past the valid entries. Kafka itself only trims them on a
//! clean close and rebuilds them after a crash; a reader of a copied or dead
//! broker's log dir sees them as they were. Opening an index therefore finds
//! its valid prefix, in one pass:
//!
//! - entries must ascend as Kafka appends them: offsets strictly (offset
//!   index) or not decreasing (time index, whose `maybeAppend` accepts an
//!   equal offset), positions strictly, timestamps strictly;
//! - an offset index position must lie below the `.log` size, a time index
//!   offset below the segment's next offset when the caller knows it;
//! - an all-zero first entry is a preallocated slot, not an entry (Kafka's
//!   first offset index entry comes after more than 4096 bytes, so never at
//!   position 0);
//! - the prefix ends at the first entry that breaks a rule. Bytes after it
//!   are the zero tail or dropped entries, both reported in
//!   [`IndexStatus::Valid`].
//!
//! Kafka's own `sanityCheck` (the length is a multiple of the entry size;
//! the last offset is not below the base offset; the last timestamp is not
//! below the first) holds for any such prefix, except a length that is not
//! a multiple of the entry size and a negative first relative offset: those
//! make the index [`IndexStatus::Insane`], as does a file whose first entry
//! already breaks a rule while non-zero bytes follow.
//!
//! A `.txnindex` is not preallocated and Kafka creates it only when the
//! segment gets its first aborted transaction, so a missing one is normal.
//! Unlike the other two, a prefix of it is not a correct answer: it must hold
//! every aborted transaction, so any entry that breaks a rule before the end
//! of its non-zero bytes makes the whole file insane. A partial entry at the
//! end (a torn write) is ignored, as Kafka's reader ignores it.
//!
//! Opening costs one pass over the valid entries and over the zero tail;
//! lookups are binary searches over the mapped bytes, nothing is copied.
//!
//! # Example
//!
//! ```
//! use kreplay::index::{IndexStatus, OffsetIndex, OffsetPosition};
//! use kreplay::Mapping;
//!
//! // Two entries, then a preallocated zero tail of three slots.
//! let mut bytes = Vec::new();
//! for (relative_offset, position) in [(33i32, 4220i32), (62, 8418)] {
//!     bytes.extend_from_slice(&relative_offset.to_be_bytes());
//!     bytes.extend_from_slice(&position.to_be_bytes());
//! }
//! bytes.resize(bytes.len() + 3 * OffsetIndex::ENTRY_SIZE, 0);
//!
//! let (index, status) = OffsetIndex::from_bytes(Mapping::from_vec(bytes), 1000, 20_000);
//! assert_eq!(status, IndexStatus::Valid { entries: 2, zero_tail_bytes: 24, dropped_bytes: 0 });
//! let index = index.unwrap();
//! assert_eq!(index.lookup(1050), OffsetPosition { offset: 1033, position: 4220 });
//! // Below the first entry: scan from the start of the segment.
//! assert_eq!(index.lookup(1010), OffsetPosition { offset: 1000, position: 0 });
//! ```
//!
//! The code: `offset_index`, `time_index` and `txn_index` hold one file
//! kind each (its entry type, its view, its valid-prefix rules); `sanity`
//! holds what they share (mapping a file into a status, entry fields,
//! binary search, and turning a valid prefix and the bytes after it into an
//! [`IndexStatus`]).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt;
use std::path::{Path, PathBuf};

mod offset_index;
mod sanity;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod time_index;
mod txn_index;

pub use offset_index::{OffsetIndex, OffsetPosition};
pub use time_index::{TimeIndex, TimestampOffset};
pub use txn_index::{AbortedTxn, TransactionIndex, TxnIndexSearchResult};

/// The `.index`, `.timeindex` and `.txnindex` paths beside a segment's
/// `<20-digit base offset>.log` (the extension is replaced, whatever it is).
pub fn index_paths(log_path: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        log_path.with_extension("index"),
        log_path.with_extension("timeindex"),
        log_path.with_extension("txnindex"),
    )
}

/// What opening an index found. Only [`IndexStatus::Valid`] comes with an
/// index; every other status means "scan the `.log`" (or, for a missing
/// `.txnindex`, usually "no aborted transactions"). The `Display` form is
/// meant for a debug log line after the file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// At least one usable entry.
    Valid {
        /// Entries in the valid prefix.
        entries: usize,
        /// Zero bytes at the end of the file (preallocation).
        zero_tail_bytes: u64,
        /// Bytes between the valid prefix and the zero tail: entries out of
        /// order, past the end of the `.log`, or a partial `.txnindex` entry.
        dropped_bytes: u64,
    },
    /// No entries: a zero-length file, or only a preallocated zero tail.
    Empty,
    /// The file does not exist.
    Missing,
    /// The file exists but could not be read; the I/O error's text.
    Unreadable(String),
    /// The file fails a sanity check; what is wrong.
    Insane(String),
}

impl IndexStatus {
    /// Whether the index is usable.
    pub fn is_valid(&self) -> bool {
        matches!(self, IndexStatus::Valid { .. })
    }
}

impl fmt::Display for IndexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexStatus::Valid {
                entries,
                zero_tail_bytes,
                dropped_bytes,
            } => {
                write!(f, "valid, {entries} entries")?;
                if *zero_tail_bytes > 0 {
                    write!(f, ", {zero_tail_bytes} zero bytes of preallocation")?;
                }
                if *dropped_bytes > 0 {
                    write!(f, ", {dropped_bytes} bytes dropped")?;
                }
                Ok(())
            }
            IndexStatus::Empty => f.write_str("empty"),
            IndexStatus::Missing => f.write_str("missing"),
            IndexStatus::Unreadable(reason) => write!(f, "unreadable: {reason}"),
            IndexStatus::Insane(reason) => write!(f, "not sane: {reason}"),
        }
    }
}
