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
//! [`Error`]: a broken index never stops a read.
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

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::mmap::{Mapping, ReadStrategy};

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

/// An offset index entry, or the start of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    /// The (absolute) offset.
    pub offset: i64,
    /// Byte position in the `.log` of a batch start at or before `offset`.
    pub position: u32,
}

/// A time index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// The largest timestamp (ms) of the records before `offset` and of `offset`'s batch.
    pub timestamp: i64,
    /// The (absolute) offset.
    pub offset: i64,
}

/// A `.txnindex` entry: one aborted transaction whose abort marker is in
/// this segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// Entry format version (only 0 exists).
    pub version: i16,
    /// The transactional producer.
    pub producer_id: i64,
    /// The transaction's first offset (possibly in an earlier segment).
    pub first_offset: i64,
    /// The offset of the abort marker.
    pub last_offset: i64,
    /// The partition's last stable offset right after the abort.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    /// Bytes per entry.
    pub const TOTAL_SIZE: usize = 34;
    /// The one entry version Kafka writes.
    pub const CURRENT_VERSION: i16 = 0;

    fn parse(chunk: &[u8]) -> Option<AbortedTxn> {
        Some(AbortedTxn {
            version: i16::from_be_bytes(field(chunk, 0)?),
            producer_id: i64::from_be_bytes(field(chunk, 2)?),
            first_offset: i64::from_be_bytes(field(chunk, 10)?),
            last_offset: i64::from_be_bytes(field(chunk, 18)?),
            last_stable_offset: i64::from_be_bytes(field(chunk, 26)?),
        })
    }
}

/// What [`TransactionIndex::collect_aborted_txns`] found (Kafka's
/// `TxnIndexSearchResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnIndexSearchResult {
    /// The aborted transactions overlapping the range, in index order.
    pub aborted_transactions: Vec<AbortedTxn>,
    /// True when an entry's last stable offset reached the range's upper
    /// bound, so no later segment can hold an overlapping transaction.
    pub is_complete: bool,
}

/// A segment's `.index`: offset → position of a batch start in the `.log`.
#[derive(Debug, Clone)]
pub struct OffsetIndex {
    path: Option<PathBuf>,
    base_offset: i64,
    bytes: Mapping,
    entries: usize,
}

impl OffsetIndex {
    /// Bytes per entry.
    pub const ENTRY_SIZE: usize = 8;

    /// Opens the `.index` of the segment at `base_offset` whose `.log` is
    /// `log_size` bytes long. Returns an index only with
    /// [`IndexStatus::Valid`].
    pub fn open(
        path: &Path,
        strategy: ReadStrategy,
        base_offset: i64,
        log_size: u64,
    ) -> (Option<OffsetIndex>, IndexStatus) {
        match open_mapping(path, strategy) {
            Ok(bytes) => {
                let (index, status) = OffsetIndex::from_bytes(bytes, base_offset, log_size);
                let index = index.map(|index| OffsetIndex {
                    path: Some(path.to_path_buf()),
                    ..index
                });
                (index, status)
            }
            Err(status) => (None, status),
        }
    }

    /// Checks `bytes` as the `.index` of the segment at `base_offset` whose
    /// `.log` is `log_size` bytes long (see [`OffsetIndex::open`]).
    pub fn from_bytes(
        bytes: Mapping,
        base_offset: i64,
        log_size: u64,
    ) -> (Option<OffsetIndex>, IndexStatus) {
        let length = bytes.len();
        if length % Self::ENTRY_SIZE != 0 {
            return (None, not_a_multiple(length, Self::ENTRY_SIZE));
        }
        let prefix = offset_index_prefix(&bytes, base_offset, log_size);
        let entries = prefix.entries;
        let status = classify(&bytes, Self::ENTRY_SIZE, prefix, TailPolicy::PrefixIsValid);
        let index = status.is_valid().then(|| OffsetIndex {
            path: None,
            base_offset,
            bytes,
            entries,
        });
        (index, status)
    }

    /// The file, when opened from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The segment's base offset.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Number of valid entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether there are no valid entries (never, for an index returned by
    /// [`OffsetIndex::open`]).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The `n`th entry.
    pub fn entry(&self, n: usize) -> Option<OffsetPosition> {
        if n >= self.entries {
            return None;
        }
        let chunk = self.bytes.get(n * Self::ENTRY_SIZE..)?;
        self.parse(chunk)
    }

    /// The last entry (Kafka's `lastOffset` is its offset).
    pub fn last_entry(&self) -> Option<OffsetPosition> {
        self.entry(self.entries.checked_sub(1)?)
    }

    /// The valid entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = OffsetPosition> + '_ {
        valid_bytes(&self.bytes, self.entries, Self::ENTRY_SIZE)
            .chunks_exact(Self::ENTRY_SIZE)
            .filter_map(|chunk| self.parse(chunk))
    }

    /// The entry with the largest offset `<= target_offset`, or the start of
    /// the segment (`base_offset`, position 0) when there is none. Scanning
    /// the `.log` from the returned position reaches `target_offset`.
    pub fn lookup(&self, target_offset: i64) -> OffsetPosition {
        largest_lower_bound_slot(self.entries, target_offset, |n| {
            self.entry(n).map(|entry| entry.offset)
        })
        .and_then(|n| self.entry(n))
        .unwrap_or(OffsetPosition {
            offset: self.base_offset,
            position: 0,
        })
    }

    fn parse(&self, chunk: &[u8]) -> Option<OffsetPosition> {
        let relative_offset = i32::from_be_bytes(field(chunk, 0)?);
        let position = i32::from_be_bytes(field(chunk, 4)?);
        Some(OffsetPosition {
            offset: self.base_offset.checked_add(i64::from(relative_offset))?,
            position: u32::try_from(position).ok()?,
        })
    }
}

/// A segment's `.timeindex`: timestamp → offset.
#[derive(Debug, Clone)]
pub struct TimeIndex {
    path: Option<PathBuf>,
    base_offset: i64,
    bytes: Mapping,
    entries: usize,
}

impl TimeIndex {
    /// Bytes per entry.
    pub const ENTRY_SIZE: usize = 12;

    /// Opens the `.timeindex` of the segment at `base_offset`. `next_offset`,
    /// when known, is the offset after the segment's last record (the next
    /// segment's base offset, or the log end offset): entries at or past it
    /// are dropped. Returns an index only with [`IndexStatus::Valid`].
    pub fn open(
        path: &Path,
        strategy: ReadStrategy,
        base_offset: i64,
        next_offset: Option<i64>,
    ) -> (Option<TimeIndex>, IndexStatus) {
        match open_mapping(path, strategy) {
            Ok(bytes) => {
                let (index, status) = TimeIndex::from_bytes(bytes, base_offset, next_offset);
                let index = index.map(|index| TimeIndex {
                    path: Some(path.to_path_buf()),
                    ..index
                });
                (index, status)
            }
            Err(status) => (None, status),
        }
    }

    /// Checks `bytes` as the `.timeindex` of the segment at `base_offset`
    /// (see [`TimeIndex::open`]).
    pub fn from_bytes(
        bytes: Mapping,
        base_offset: i64,
        next_offset: Option<i64>,
    ) -> (Option<TimeIndex>, IndexStatus) {
        let length = bytes.len();
        if length % Self::ENTRY_SIZE != 0 {
            return (None, not_a_multiple(length, Self::ENTRY_SIZE));
        }
        let prefix = time_index_prefix(&bytes, base_offset, next_offset);
        let entries = prefix.entries;
        let status = classify(&bytes, Self::ENTRY_SIZE, prefix, TailPolicy::PrefixIsValid);
        let index = status.is_valid().then(|| TimeIndex {
            path: None,
            base_offset,
            bytes,
            entries,
        });
        (index, status)
    }

    /// The file, when opened from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The segment's base offset.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Number of valid entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether there are no valid entries (never, for an index returned by
    /// [`TimeIndex::open`]).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The `n`th entry.
    pub fn entry(&self, n: usize) -> Option<TimestampOffset> {
        if n >= self.entries {
            return None;
        }
        let chunk = self.bytes.get(n * Self::ENTRY_SIZE..)?;
        self.parse(chunk)
    }

    /// The last entry: the segment's largest indexed timestamp.
    pub fn last_entry(&self) -> Option<TimestampOffset> {
        self.entry(self.entries.checked_sub(1)?)
    }

    /// The valid entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = TimestampOffset> + '_ {
        valid_bytes(&self.bytes, self.entries, Self::ENTRY_SIZE)
            .chunks_exact(Self::ENTRY_SIZE)
            .filter_map(|chunk| self.parse(chunk))
    }

    /// The entry with the largest timestamp `<= target_timestamp`. `None`
    /// when every entry is later (Kafka returns `(NO_TIMESTAMP, baseOffset)`):
    /// the search for the first record at or after `target_timestamp` then
    /// starts at [`TimeIndex::base_offset`].
    pub fn lookup(&self, target_timestamp: i64) -> Option<TimestampOffset> {
        largest_lower_bound_slot(self.entries, target_timestamp, |n| {
            self.entry(n).map(|entry| entry.timestamp)
        })
        .and_then(|n| self.entry(n))
    }

    fn parse(&self, chunk: &[u8]) -> Option<TimestampOffset> {
        let timestamp = i64::from_be_bytes(field(chunk, 0)?);
        let relative_offset = i32::from_be_bytes(field(chunk, 8)?);
        Some(TimestampOffset {
            timestamp,
            offset: self.base_offset.checked_add(i64::from(relative_offset))?,
        })
    }
}

/// A segment's `.txnindex`: the transactions aborted by markers in this
/// segment.
#[derive(Debug, Clone)]
pub struct TransactionIndex {
    path: Option<PathBuf>,
    base_offset: i64,
    bytes: Mapping,
    entries: usize,
}

impl TransactionIndex {
    /// Opens the `.txnindex` of the segment at `base_offset`. Returns an
    /// index only with [`IndexStatus::Valid`]; [`IndexStatus::Missing`] and
    /// [`IndexStatus::Empty`] mean the segment has no aborted transactions
    /// (Kafka creates the file on the first one).
    pub fn open(
        path: &Path,
        strategy: ReadStrategy,
        base_offset: i64,
    ) -> (Option<TransactionIndex>, IndexStatus) {
        match open_mapping(path, strategy) {
            Ok(bytes) => {
                let (index, status) = TransactionIndex::from_bytes(bytes, base_offset);
                let index = index.map(|index| TransactionIndex {
                    path: Some(path.to_path_buf()),
                    ..index
                });
                (index, status)
            }
            Err(status) => (None, status),
        }
    }

    /// Checks `bytes` as the `.txnindex` of the segment at `base_offset`
    /// (see [`TransactionIndex::open`]).
    pub fn from_bytes(bytes: Mapping, base_offset: i64) -> (Option<TransactionIndex>, IndexStatus) {
        let prefix = txn_index_prefix(&bytes, base_offset);
        let entries = prefix.entries;
        let status = classify(
            &bytes,
            AbortedTxn::TOTAL_SIZE,
            prefix,
            TailPolicy::WholeFile,
        );
        let index = status.is_valid().then(|| TransactionIndex {
            path: None,
            base_offset,
            bytes,
            entries,
        });
        (index, status)
    }

    /// The file, when opened from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The segment's base offset.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether there are no entries (never, for an index returned by
    /// [`TransactionIndex::open`]).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Every entry, in order of `last_offset` (Kafka's `allAbortedTxns`).
    pub fn aborted_txns(&self) -> impl Iterator<Item = AbortedTxn> + '_ {
        valid_bytes(&self.bytes, self.entries, AbortedTxn::TOTAL_SIZE)
            .chunks_exact(AbortedTxn::TOTAL_SIZE)
            .filter_map(AbortedTxn::parse)
    }

    /// The entries overlapping the offsets `[fetch_offset, upper_bound_offset)`:
    /// `last_offset >= fetch_offset && first_offset < upper_bound_offset`.
    pub fn overlapping(
        &self,
        fetch_offset: i64,
        upper_bound_offset: i64,
    ) -> impl Iterator<Item = AbortedTxn> + '_ {
        self.aborted_txns()
            .filter(move |txn| overlaps(txn, fetch_offset, upper_bound_offset))
    }

    /// Kafka's `collectAbortedTxns`: the overlapping entries (as
    /// [`TransactionIndex::overlapping`]) up to and including the first
    /// entry whose last stable offset is `>= upper_bound_offset`, which makes
    /// the search complete (later segments need not be searched).
    pub fn collect_aborted_txns(
        &self,
        fetch_offset: i64,
        upper_bound_offset: i64,
    ) -> TxnIndexSearchResult {
        let mut aborted_transactions = Vec::new();
        for txn in self.aborted_txns() {
            if overlaps(&txn, fetch_offset, upper_bound_offset) {
                aborted_transactions.push(txn);
            }
            if txn.last_stable_offset >= upper_bound_offset {
                return TxnIndexSearchResult {
                    aborted_transactions,
                    is_complete: true,
                };
            }
        }
        TxnIndexSearchResult {
            aborted_transactions,
            is_complete: false,
        }
    }
}

fn overlaps(txn: &AbortedTxn, fetch_offset: i64, upper_bound_offset: i64) -> bool {
    txn.last_offset >= fetch_offset && txn.first_offset < upper_bound_offset
}

/// Maps the file, turning "not found" and other I/O errors into statuses.
fn open_mapping(path: &Path, strategy: ReadStrategy) -> Result<Mapping, IndexStatus> {
    match Mapping::open(path, strategy) {
        Ok(bytes) => Ok(bytes),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Err(IndexStatus::Missing)
        }
        Err(Error::Io { source, .. }) => Err(IndexStatus::Unreadable(source.to_string())),
        Err(other) => Err(IndexStatus::Unreadable(other.to_string())),
    }
}

fn not_a_multiple(length: usize, entry_size: usize) -> IndexStatus {
    IndexStatus::Insane(format!(
        "length {length} is not a multiple of the entry size {entry_size}"
    ))
}

/// `N` bytes of `bytes` at `at`.
fn field<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The bytes of the first `entries` entries.
fn valid_bytes(bytes: &[u8], entries: usize, entry_size: usize) -> &[u8] {
    entries
        .checked_mul(entry_size)
        .and_then(|end| bytes.get(..end))
        .unwrap_or_default()
}

/// Kafka's `largestLowerBoundSlotFor`: the largest slot `n < len` whose key is
/// `<= target`, for keys ascending with `n`. `key` returning `None` (which a
/// validated index never does) counts as above the target.
fn largest_lower_bound_slot(
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
struct Prefix {
    entries: usize,
    stop: Option<String>,
}

impl Prefix {
    fn stop(entries: usize, reason: String) -> Prefix {
        Prefix {
            entries,
            stop: Some(format!("entry {entries}: {reason}")),
        }
    }
}

/// What a rule break before non-zero bytes means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TailPolicy {
    /// The entries before the break still form a correct index (offset and
    /// time indexes: they only speed up a scan).
    PrefixIsValid,
    /// The index is only correct whole (transaction index: a missing
    /// aborted transaction would show aborted records).
    WholeFile,
}

/// Turns a valid prefix into a status: splits the bytes after it into the
/// non-zero part (dropped, whole entries) and the zero tail.
fn classify(bytes: &[u8], entry_size: usize, prefix: Prefix, policy: TailPolicy) -> IndexStatus {
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

fn offset_index_prefix(bytes: &[u8], base_offset: i64, log_size: u64) -> Prefix {
    let mut previous: Option<OffsetPosition> = None;
    for (n, chunk) in bytes.chunks_exact(OffsetIndex::ENTRY_SIZE).enumerate() {
        let (Some(relative_offset), Some(position)) = (field(chunk, 0), field(chunk, 4)) else {
            return Prefix::stop(n, "unreadable".to_owned());
        };
        let relative_offset = i32::from_be_bytes(relative_offset);
        let position = i32::from_be_bytes(position);
        if previous.is_none() && relative_offset == 0 && position == 0 {
            return Prefix::stop(n, "all zeros (a preallocated slot)".to_owned());
        }
        if relative_offset < 0 {
            return Prefix::stop(
                n,
                format!("relative offset {relative_offset} puts the offset below the base offset {base_offset}"),
            );
        }
        let Some(offset) = base_offset.checked_add(i64::from(relative_offset)) else {
            return Prefix::stop(
                n,
                format!(
                    "relative offset {relative_offset} overflows the base offset {base_offset}"
                ),
            );
        };
        let Ok(position) = u32::try_from(position) else {
            return Prefix::stop(n, format!("negative position {position}"));
        };
        if u64::from(position) >= log_size {
            return Prefix::stop(
                n,
                format!("position {position} is not below the log size {log_size}"),
            );
        }
        if let Some(previous) = previous {
            if offset <= previous.offset {
                return Prefix::stop(
                    n,
                    format!(
                        "offset {offset} is not above the previous entry's {}",
                        previous.offset
                    ),
                );
            }
            if position <= previous.position {
                return Prefix::stop(
                    n,
                    format!(
                        "position {position} is not above the previous entry's {}",
                        previous.position
                    ),
                );
            }
        }
        previous = Some(OffsetPosition { offset, position });
    }
    Prefix {
        entries: bytes.len() / OffsetIndex::ENTRY_SIZE,
        stop: None,
    }
}

fn time_index_prefix(bytes: &[u8], base_offset: i64, next_offset: Option<i64>) -> Prefix {
    let mut previous: Option<TimestampOffset> = None;
    for (n, chunk) in bytes.chunks_exact(TimeIndex::ENTRY_SIZE).enumerate() {
        let (Some(timestamp), Some(relative_offset)) = (field(chunk, 0), field(chunk, 8)) else {
            return Prefix::stop(n, "unreadable".to_owned());
        };
        let timestamp = i64::from_be_bytes(timestamp);
        let relative_offset = i32::from_be_bytes(relative_offset);
        if previous.is_none() && timestamp == 0 && relative_offset == 0 {
            // Could be a record stamped 1970-01-01T00:00:00Z at the base
            // offset; far more likely a preallocated slot. Either way,
            // scanning from the base offset is correct.
            return Prefix::stop(n, "all zeros (a preallocated slot)".to_owned());
        }
        if timestamp < 0 {
            // Kafka only indexes timestamps above NO_TIMESTAMP (-1).
            return Prefix::stop(n, format!("negative timestamp {timestamp}"));
        }
        if relative_offset < 0 {
            return Prefix::stop(
                n,
                format!("relative offset {relative_offset} puts the offset below the base offset {base_offset}"),
            );
        }
        let Some(offset) = base_offset.checked_add(i64::from(relative_offset)) else {
            return Prefix::stop(
                n,
                format!(
                    "relative offset {relative_offset} overflows the base offset {base_offset}"
                ),
            );
        };
        if let Some(next_offset) = next_offset {
            if offset >= next_offset {
                return Prefix::stop(
                    n,
                    format!("offset {offset} is not below the segment's next offset {next_offset}"),
                );
            }
        }
        if let Some(previous) = previous {
            if timestamp <= previous.timestamp {
                return Prefix::stop(
                    n,
                    format!(
                        "timestamp {timestamp} is not above the previous entry's {}",
                        previous.timestamp
                    ),
                );
            }
            if offset < previous.offset {
                return Prefix::stop(
                    n,
                    format!(
                        "offset {offset} is below the previous entry's {}",
                        previous.offset
                    ),
                );
            }
        }
        previous = Some(TimestampOffset { timestamp, offset });
    }
    Prefix {
        entries: bytes.len() / TimeIndex::ENTRY_SIZE,
        stop: None,
    }
}

fn txn_index_prefix(bytes: &[u8], base_offset: i64) -> Prefix {
    let mut previous_last_offset: Option<i64> = None;
    for (n, chunk) in bytes.chunks_exact(AbortedTxn::TOTAL_SIZE).enumerate() {
        let Some(txn) = AbortedTxn::parse(chunk) else {
            return Prefix::stop(n, "unreadable".to_owned());
        };
        if chunk.iter().all(|&b| b == 0) {
            // Producer 0 aborting at offset 0 a transaction that began there
            // with a last stable offset of 0 is impossible: the LSO after an
            // abort is past the marker unless another transaction began earlier.
            return Prefix::stop(n, "all zeros".to_owned());
        }
        if txn.version != AbortedTxn::CURRENT_VERSION {
            return Prefix::stop(
                n,
                format!(
                    "version {}, expected {}",
                    txn.version,
                    AbortedTxn::CURRENT_VERSION
                ),
            );
        }
        if txn.last_offset < base_offset {
            return Prefix::stop(
                n,
                format!(
                    "last offset {} is below the base offset {base_offset}",
                    txn.last_offset
                ),
            );
        }
        if txn.first_offset > txn.last_offset {
            return Prefix::stop(
                n,
                format!(
                    "first offset {} is above the last offset {}",
                    txn.first_offset, txn.last_offset
                ),
            );
        }
        if let Some(previous) = previous_last_offset {
            if txn.last_offset <= previous {
                return Prefix::stop(
                    n,
                    format!(
                        "last offset {} is not above the previous entry's {previous}",
                        txn.last_offset
                    ),
                );
            }
        }
        previous_last_offset = Some(txn.last_offset);
    }
    Prefix {
        entries: bytes.len() / AbortedTxn::TOTAL_SIZE,
        stop: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use proptest::prelude::*;

    const STRATEGIES: [ReadStrategy; 2] = [ReadStrategy::Mmap, ReadStrategy::Read];

    fn offset_index_bytes(entries: &[(i32, i32)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &(relative_offset, position) in entries {
            bytes.extend_from_slice(&relative_offset.to_be_bytes());
            bytes.extend_from_slice(&position.to_be_bytes());
        }
        bytes
    }

    fn time_index_bytes(entries: &[(i64, i32)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &(timestamp, relative_offset) in entries {
            bytes.extend_from_slice(&timestamp.to_be_bytes());
            bytes.extend_from_slice(&relative_offset.to_be_bytes());
        }
        bytes
    }

    fn txn(producer_id: i64, first_offset: i64, last_offset: i64, lso: i64) -> AbortedTxn {
        AbortedTxn {
            version: 0,
            producer_id,
            first_offset,
            last_offset,
            last_stable_offset: lso,
        }
    }

    fn txn_index_bytes(entries: &[AbortedTxn]) -> Vec<u8> {
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

    fn offset_index(
        bytes: Vec<u8>,
        base: i64,
        log_size: u64,
    ) -> (Option<OffsetIndex>, IndexStatus) {
        OffsetIndex::from_bytes(Mapping::from_vec(bytes), base, log_size)
    }

    fn time_index(
        bytes: Vec<u8>,
        base: i64,
        next: Option<i64>,
    ) -> (Option<TimeIndex>, IndexStatus) {
        TimeIndex::from_bytes(Mapping::from_vec(bytes), base, next)
    }

    fn valid(entries: usize, zero_tail_bytes: u64, dropped_bytes: u64) -> IndexStatus {
        IndexStatus::Valid {
            entries,
            zero_tail_bytes,
            dropped_bytes,
        }
    }

    fn op(offset: i64, position: u32) -> OffsetPosition {
        OffsetPosition { offset, position }
    }

    fn ts(timestamp: i64, offset: i64) -> TimestampOffset {
        TimestampOffset { timestamp, offset }
    }

    fn assert_insane(status: &IndexStatus, needle: &str) {
        match status {
            IndexStatus::Insane(reason) => assert!(
                reason.contains(needle),
                "reason {reason:?} does not mention {needle:?}"
            ),
            other => panic!("expected insane ({needle}), got {other:?}"),
        }
    }

    #[test]
    fn index_paths_beside_the_log() {
        let (index, time, txn) = index_paths(Path::new("/d/t-0/00000000000000001234.log"));
        assert_eq!(index, Path::new("/d/t-0/00000000000000001234.index"));
        assert_eq!(time, Path::new("/d/t-0/00000000000000001234.timeindex"));
        assert_eq!(txn, Path::new("/d/t-0/00000000000000001234.txnindex"));
    }

    #[test]
    fn offset_index_valid_lookups() {
        let bytes = offset_index_bytes(&[(33, 4220), (62, 8418), (91, 12680)]);
        let (index, status) = offset_index(bytes, 1000, 20_000);
        assert_eq!(status, valid(3, 0, 0));
        assert_eq!(status.to_string(), "valid, 3 entries");
        let index = index.unwrap();
        assert_eq!(index.len(), 3);
        assert!(!index.is_empty());
        assert_eq!(index.base_offset(), 1000);
        assert_eq!(index.path(), None);
        assert_eq!(index.entry(1), Some(op(1062, 8418)));
        assert_eq!(index.entry(3), None);
        assert_eq!(index.entry(usize::MAX), None);
        assert_eq!(index.last_entry(), Some(op(1091, 12680)));
        assert_eq!(
            index.entries().collect::<Vec<_>>(),
            vec![op(1033, 4220), op(1062, 8418), op(1091, 12680)]
        );
        assert_eq!(index.lookup(i64::MIN), op(1000, 0));
        assert_eq!(index.lookup(999), op(1000, 0));
        assert_eq!(index.lookup(1032), op(1000, 0));
        assert_eq!(index.lookup(1033), op(1033, 4220));
        assert_eq!(index.lookup(1061), op(1033, 4220));
        assert_eq!(index.lookup(1062), op(1062, 8418));
        assert_eq!(index.lookup(1091), op(1091, 12680));
        assert_eq!(index.lookup(i64::MAX), op(1091, 12680));
    }

    #[test]
    fn offset_index_preallocated_zero_tail() {
        let mut bytes = offset_index_bytes(&[(33, 4220), (62, 8418)]);
        bytes.resize(bytes.len() + 64 * 1024, 0);
        let (index, status) = offset_index(bytes, 0, 10_000);
        assert_eq!(status, valid(2, 64 * 1024, 0));
        assert_eq!(
            status.to_string(),
            "valid, 2 entries, 65536 zero bytes of preallocation"
        );
        let index = index.unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.lookup(1_000_000), op(62, 8418));
    }

    #[test]
    fn offset_index_all_zero_or_empty_is_empty() {
        let (index, status) = offset_index(Vec::new(), 0, 100);
        assert!(index.is_none());
        assert_eq!(status, IndexStatus::Empty);
        let (index, status) = offset_index(vec![0; 64 * 1024], 0, 100);
        assert!(index.is_none());
        assert_eq!(status, IndexStatus::Empty);
        let (_, status) = OffsetIndex::from_bytes(Mapping::empty(), 0, 0);
        assert_eq!(status, IndexStatus::Empty);
    }

    #[test]
    fn offset_index_length_not_a_multiple_is_insane() {
        let mut bytes = offset_index_bytes(&[(33, 4220)]);
        bytes.push(0);
        let (index, status) = offset_index(bytes, 0, 10_000);
        assert!(index.is_none());
        assert_insane(&status, "length 9 is not a multiple of the entry size 8");
    }

    #[test]
    fn offset_index_out_of_order_entries_are_dropped() {
        // Offsets go back at entry 2; zeros after.
        let mut bytes = offset_index_bytes(&[(10, 5000), (20, 9000), (15, 12000), (30, 20000)]);
        bytes.resize(bytes.len() + 80, 0);
        let (index, status) = offset_index(bytes, 0, 100_000);
        assert_eq!(status, valid(2, 80, 16));
        assert!(status.to_string().ends_with(", 16 bytes dropped"));
        assert_eq!(index.unwrap().lookup(100), op(20, 9000));

        // Positions go back.
        let bytes = offset_index_bytes(&[(10, 5000), (20, 4000)]);
        assert_eq!(offset_index(bytes, 0, 100_000).1, valid(1, 0, 8));
        // Equal offsets.
        let bytes = offset_index_bytes(&[(10, 5000), (10, 9000)]);
        assert_eq!(offset_index(bytes, 0, 100_000).1, valid(1, 0, 8));
        // Garbage in the middle of the zero tail (an unflushed page).
        let mut bytes = offset_index_bytes(&[(10, 5000)]);
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&offset_index_bytes(&[(-7, 0x5eed)]));
        bytes.extend_from_slice(&[0; 24]);
        assert_eq!(offset_index(bytes, 0, 100_000).1, valid(1, 24, 24));
        // A negative position later on.
        let bytes = offset_index_bytes(&[(10, 5000), (20, -1)]);
        assert_eq!(offset_index(bytes, 0, 100_000).1, valid(1, 0, 8));
    }

    #[test]
    fn offset_index_bad_first_entry_is_insane() {
        let bytes = offset_index_bytes(&[(-1, 5000), (20, 9000)]);
        assert_insane(
            &offset_index(bytes, 100, 100_000).1,
            "below the base offset 100",
        );
        let bytes = offset_index_bytes(&[(10, -5000)]);
        assert_insane(&offset_index(bytes, 0, 100_000).1, "negative position");
        let bytes = offset_index_bytes(&[(0, 0), (20, 9000)]);
        assert_insane(&offset_index(bytes, 0, 100_000).1, "entry 0: all zeros");
        let bytes = offset_index_bytes(&[(i32::MAX, 10)]);
        assert_insane(&offset_index(bytes, i64::MAX - 5, 100_000).1, "overflows");
    }

    #[test]
    fn offset_index_positions_past_the_log_are_dropped() {
        let mut bytes = offset_index_bytes(&[(10, 5000), (20, 9000), (30, 13000)]);
        bytes.resize(bytes.len() + 40, 0);
        let (index, status) = offset_index(bytes.clone(), 0, 9001);
        assert_eq!(status, valid(2, 40, 8));
        assert_eq!(index.unwrap().lookup(30), op(20, 9000));
        // A position equal to the log size is past it.
        assert_eq!(offset_index(bytes.clone(), 0, 9000).1, valid(1, 40, 16));
        // The log was truncated before the first entry.
        let (index, status) = offset_index(bytes, 0, 4096);
        assert!(index.is_none());
        assert_insane(
            &status,
            "entry 0: position 5000 is not below the log size 4096",
        );
    }

    #[test]
    fn files_through_every_read_path() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("00000000000000001000.log");
        let (index_path, time_path, txn_path) = index_paths(&log);
        let mut bytes = offset_index_bytes(&[(33, 4220), (62, 8418)]);
        bytes.resize(bytes.len() + 4096, 0);
        std::fs::write(&index_path, bytes).unwrap();
        let mut bytes = time_index_bytes(&[(1_700_000_000_000, 33), (1_700_000_000_100, 62)]);
        bytes.resize(bytes.len() + 4092, 0);
        std::fs::write(&time_path, bytes).unwrap();
        std::fs::write(&txn_path, txn_index_bytes(&[txn(7, 1040, 1050, 1051)])).unwrap();

        for strategy in STRATEGIES {
            let (index, status) = OffsetIndex::open(&index_path, strategy, 1000, 10_000);
            assert_eq!(status, valid(2, 4096, 0), "{strategy:?}");
            let index = index.unwrap();
            assert_eq!(index.path(), Some(index_path.as_path()));
            assert_eq!(index.lookup(1070), op(1062, 8418));

            let (index, status) = TimeIndex::open(&time_path, strategy, 1000, Some(1100));
            assert_eq!(status, valid(2, 4092, 0), "{strategy:?}");
            let index = index.unwrap();
            assert_eq!(index.path(), Some(time_path.as_path()));
            assert_eq!(
                index.lookup(1_700_000_000_050),
                Some(ts(1_700_000_000_000, 1033))
            );

            let (index, status) = TransactionIndex::open(&txn_path, strategy, 1000);
            assert_eq!(status, valid(1, 0, 0), "{strategy:?}");
            let index = index.unwrap();
            assert_eq!(index.path(), Some(txn_path.as_path()));
            assert_eq!(
                index.aborted_txns().collect::<Vec<_>>(),
                vec![txn(7, 1040, 1050, 1051)]
            );
        }
    }

    #[test]
    fn missing_empty_and_unreadable_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("00000000000000000000.index");
        let empty = dir.path().join("00000000000000000000.timeindex");
        std::fs::write(&empty, b"").unwrap();
        for strategy in STRATEGIES {
            let (index, status) = OffsetIndex::open(&missing, strategy, 0, 100);
            assert!(index.is_none());
            assert_eq!(status, IndexStatus::Missing);
            assert_eq!(status.to_string(), "missing");
            assert_eq!(
                TimeIndex::open(&missing, strategy, 0, None).1,
                IndexStatus::Missing
            );
            assert_eq!(
                TransactionIndex::open(&missing, strategy, 0).1,
                IndexStatus::Missing
            );

            assert_eq!(
                OffsetIndex::open(&empty, strategy, 0, 100).1,
                IndexStatus::Empty
            );
            assert_eq!(
                TimeIndex::open(&empty, strategy, 0, None).1,
                IndexStatus::Empty
            );
            assert_eq!(
                TransactionIndex::open(&empty, strategy, 0).1,
                IndexStatus::Empty
            );
        }
        // A file that cannot be read: a path through a regular file ("not a
        // directory"), which holds even when the tests run as root.
        let unreadable = empty.join("00000000000000000000.index");
        for strategy in STRATEGIES {
            let (index, status) = OffsetIndex::open(&unreadable, strategy, 0, 100);
            assert!(index.is_none());
            match &status {
                IndexStatus::Unreadable(reason) => assert!(!reason.is_empty()),
                other => panic!("expected unreadable, got {other:?}"),
            }
            assert!(status.to_string().starts_with("unreadable: "));
        }
    }

    #[test]
    fn time_index_valid_lookups() {
        let bytes = time_index_bytes(&[(100, 5), (200, 9), (300, 9), (450, 20)]);
        let (index, status) = time_index(bytes, 1000, None);
        // Equal offsets with rising timestamps are allowed (Kafka's maybeAppend).
        assert_eq!(status, valid(4, 0, 0));
        let index = index.unwrap();
        assert_eq!(index.len(), 4);
        assert_eq!(index.last_entry(), Some(ts(450, 1020)));
        assert_eq!(index.entry(2), Some(ts(300, 1009)));
        assert_eq!(index.entry(4), None);
        assert_eq!(index.entries().count(), 4);
        assert_eq!(index.lookup(i64::MIN), None);
        assert_eq!(index.lookup(99), None);
        assert_eq!(index.lookup(100), Some(ts(100, 1005)));
        assert_eq!(index.lookup(299), Some(ts(200, 1009)));
        assert_eq!(index.lookup(300), Some(ts(300, 1009)));
        assert_eq!(index.lookup(i64::MAX), Some(ts(450, 1020)));
    }

    #[test]
    fn time_index_zero_tail_and_breaks() {
        let mut bytes = time_index_bytes(&[(100, 5), (200, 9)]);
        bytes.resize(bytes.len() + 64 * 1024 - 4, 0);
        assert_eq!(time_index(bytes, 0, None).1, valid(2, 64 * 1024 - 4, 0));

        // Timestamp not rising.
        let bytes = time_index_bytes(&[(100, 5), (200, 9), (200, 12)]);
        assert_eq!(time_index(bytes, 0, None).1, valid(2, 0, 12));
        // Offset going back.
        let bytes = time_index_bytes(&[(100, 5), (200, 9), (300, 8)]);
        assert_eq!(time_index(bytes, 0, None).1, valid(2, 0, 12));
        // Offsets at or past the segment's next offset.
        let bytes = time_index_bytes(&[(100, 5), (200, 9), (300, 10)]);
        assert_eq!(time_index(bytes.clone(), 0, Some(10)).1, valid(2, 0, 12));
        assert_eq!(time_index(bytes.clone(), 0, Some(11)).1, valid(3, 0, 0));
        assert_insane(
            &time_index(bytes, 0, Some(5)).1,
            "entry 0: offset 5 is not below",
        );
        // A first entry below the base offset or with a negative timestamp.
        let bytes = time_index_bytes(&[(100, -5), (200, 9)]);
        assert_insane(&time_index(bytes, 0, None).1, "below the base offset");
        let bytes = time_index_bytes(&[(-1, 5)]);
        assert_insane(&time_index(bytes, 0, None).1, "negative timestamp");
        // Not a multiple of 12.
        assert_insane(
            &time_index(vec![0; 24 + 8], 0, None).1,
            "length 32 is not a multiple of the entry size 12",
        );
        // All zeros.
        assert_eq!(time_index(vec![0; 1200], 0, None).1, IndexStatus::Empty);
        // A zero first entry followed by data.
        let bytes = time_index_bytes(&[(0, 0), (200, 9)]);
        assert_insane(&time_index(bytes, 0, None).1, "all zeros");
        // Timestamp 0 at a later offset is a real entry.
        let bytes = time_index_bytes(&[(0, 3), (200, 9)]);
        assert_eq!(time_index(bytes, 0, None).1, valid(2, 0, 0));
    }

    #[test]
    fn transaction_index_entries_and_queries() {
        let entries = [
            txn(1, 90, 110, 95),
            txn(2, 105, 120, 121),
            txn(3, 130, 140, 141),
        ];
        let (index, status) =
            TransactionIndex::from_bytes(Mapping::from_vec(txn_index_bytes(&entries)), 100);
        assert_eq!(status, valid(3, 0, 0));
        let index = index.unwrap();
        assert_eq!(index.len(), 3);
        assert!(!index.is_empty());
        assert_eq!(index.base_offset(), 100);
        assert_eq!(index.aborted_txns().collect::<Vec<_>>(), entries);
        let overlapping: Vec<_> = index.overlapping(111, 125).collect();
        assert_eq!(overlapping, vec![entries[1]]);
        assert_eq!(index.overlapping(0, 90).count(), 0);
        assert_eq!(index.overlapping(141, 1000).count(), 0);

        let result = index.collect_aborted_txns(100, 121);
        assert_eq!(
            result,
            TxnIndexSearchResult {
                aborted_transactions: vec![entries[0], entries[1]],
                is_complete: true,
            }
        );
        let result = index.collect_aborted_txns(100, 1000);
        assert_eq!(result.aborted_transactions, entries);
        assert!(!result.is_complete);
    }

    #[test]
    fn transaction_index_checks() {
        let good = [txn(1, 90, 110, 95), txn(2, 105, 120, 121)];
        let check = |bytes: Vec<u8>| TransactionIndex::from_bytes(Mapping::from_vec(bytes), 100);

        // A torn last entry is ignored, as Kafka's reader ignores it.
        let mut bytes = txn_index_bytes(&good);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(check(bytes).1, valid(2, 0, 8));
        // Only a torn entry.
        assert_insane(&check(vec![0, 0, 1]).1, "do not make a whole entry");
        // Zeros at the end (a filesystem that lost the data after a crash).
        let mut bytes = txn_index_bytes(&good);
        bytes.extend_from_slice(&[0; 34 * 2 + 5]);
        assert_eq!(check(bytes).1, valid(2, 34 * 2 + 5, 0));
        assert_eq!(check(vec![0; 34 * 3]).1, IndexStatus::Empty);
        assert_eq!(check(Vec::new()).1, IndexStatus::Empty);
        // Any rule break before the last non-zero byte: the whole file is insane.
        let bad_version = AbortedTxn {
            version: 1,
            ..txn(3, 130, 140, 141)
        };
        let bytes = txn_index_bytes(&[good[0], good[1], bad_version]);
        let (index, status) = check(bytes);
        assert!(index.is_none());
        assert_insane(&status, "entry 2: version 1, expected 0");
        let bytes = txn_index_bytes(&[good[0], good[1], txn(3, 1, 99, 100)]);
        assert_insane(
            &check(bytes).1,
            "last offset 99 is below the base offset 100",
        );
        let bytes = txn_index_bytes(&[good[1], good[0]]);
        assert_insane(&check(bytes).1, "entry 1: last offset 110 is not above");
        let bytes = txn_index_bytes(&[txn(3, 150, 140, 141)]);
        assert_insane(
            &check(bytes).1,
            "first offset 150 is above the last offset 140",
        );
        let mut bytes = txn_index_bytes(&good);
        bytes.extend_from_slice(&[0; 34]);
        bytes.extend_from_slice(&txn_index_bytes(&[txn(3, 130, 140, 141)]));
        assert_insane(&check(bytes).1, "entry 2: all zeros");
    }

    /// Builds an offset index from strictly increasing (relative offset,
    /// position) pairs.
    fn sorted_offset_entries() -> impl Strategy<Value = Vec<(i32, i32)>> {
        prop::collection::vec((1..50i32, 1..10_000i32), 0..300).prop_map(|steps| {
            let (mut offset, mut position) = (0i32, 0i32);
            steps
                .into_iter()
                .map(|(d_offset, d_position)| {
                    offset += d_offset;
                    position += d_position;
                    (offset, position)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn offset_lookup_matches_linear_scan(
            entries in sorted_offset_entries(),
            zero_tail in 0..100usize,
            base in 0..1_000_000i64,
            targets in prop::collection::vec(-10..20_000i64, 1..40),
        ) {
            let mut bytes = offset_index_bytes(&entries);
            bytes.resize(bytes.len() + zero_tail * 8, 0);
            let (index, status) = offset_index(bytes, base, u64::MAX);
            if entries.is_empty() {
                prop_assert_eq!(status, IndexStatus::Empty);
                return Ok(());
            }
            prop_assert_eq!(status, valid(entries.len(), zero_tail as u64 * 8, 0));
            let index = index.unwrap();
            let expected: Vec<OffsetPosition> = entries
                .iter()
                .map(|&(r, p)| op(base + i64::from(r), p as u32))
                .collect();
            prop_assert_eq!(index.entries().collect::<Vec<_>>(), expected.clone());
            for target in targets {
                let target = base + target;
                let naive = expected
                    .iter()
                    .rev()
                    .find(|e| e.offset <= target)
                    .copied()
                    .unwrap_or(op(base, 0));
                prop_assert_eq!(index.lookup(target), naive);
            }
        }

        #[test]
        fn offset_index_log_size_cuts_the_prefix(
            entries in sorted_offset_entries(),
            log_size in 0..2_000_000u64,
        ) {
            let (index, status) = offset_index(offset_index_bytes(&entries), 0, log_size);
            let kept = entries.iter().take_while(|&&(_, p)| (p as u64) < log_size).count();
            match index {
                Some(index) => {
                    prop_assert_eq!(index.len(), kept);
                    prop_assert_eq!(status, valid(kept, 0, (entries.len() - kept) as u64 * 8));
                }
                None => prop_assert!(kept == 0),
            }
        }

        #[test]
        fn time_lookup_matches_linear_scan(
            steps in prop::collection::vec((1..1000i64, 0..5i32), 0..300),
            zero_tail in 0..100usize,
            base in 0..1_000_000i64,
            targets in prop::collection::vec(-10..400_000i64, 1..40),
        ) {
            let (mut timestamp, mut offset) = (1i64, 1i32);
            let entries: Vec<(i64, i32)> = steps
                .iter()
                .map(|&(d_timestamp, d_offset)| {
                    timestamp += d_timestamp;
                    offset += d_offset;
                    (timestamp, offset)
                })
                .collect();
            let mut bytes = time_index_bytes(&entries);
            bytes.resize(bytes.len() + zero_tail * 12, 0);
            let (index, status) = time_index(bytes, base, None);
            if entries.is_empty() {
                prop_assert_eq!(status, IndexStatus::Empty);
                return Ok(());
            }
            prop_assert_eq!(status, valid(entries.len(), zero_tail as u64 * 12, 0));
            let index = index.unwrap();
            let expected: Vec<TimestampOffset> = entries
                .iter()
                .map(|&(t, r)| ts(t, base + i64::from(r)))
                .collect();
            prop_assert_eq!(index.entries().collect::<Vec<_>>(), expected.clone());
            for target in targets {
                let naive = expected.iter().rev().find(|e| e.timestamp <= target).copied();
                prop_assert_eq!(index.lookup(target), naive);
            }
        }

        #[test]
        fn txn_queries_match_naive_filter(
            raw in prop::collection::vec((0..100i64, 1..50i64, 0..60i64, 0..20i64), 0..60),
            ranges in prop::collection::vec((0..3000i64, 0..500i64), 1..20),
        ) {
            let base = 100i64;
            let mut last_offset = base;
            let entries: Vec<AbortedTxn> = raw
                .iter()
                .map(|&(producer_id, step, length, lso_back)| {
                    last_offset += step;
                    txn(producer_id, last_offset - length, last_offset, last_offset + 1 - lso_back)
                })
                .collect();
            let (index, status) =
                TransactionIndex::from_bytes(Mapping::from_vec(txn_index_bytes(&entries)), base);
            if entries.is_empty() {
                prop_assert_eq!(status, IndexStatus::Empty);
                return Ok(());
            }
            prop_assert_eq!(status, valid(entries.len(), 0, 0));
            let index = index.unwrap();
            prop_assert_eq!(index.aborted_txns().collect::<Vec<_>>(), entries.clone());
            for (fetch_offset, length) in ranges {
                let upper = fetch_offset + length;
                let naive: Vec<AbortedTxn> = entries
                    .iter()
                    .filter(|t| t.last_offset >= fetch_offset && t.first_offset < upper)
                    .copied()
                    .collect();
                prop_assert_eq!(index.overlapping(fetch_offset, upper).collect::<Vec<_>>(), naive.clone());

                // Kafka's loop, written out: stop after the first LSO >= upper.
                let stop = entries.iter().position(|t| t.last_stable_offset >= upper);
                let scanned = stop.map_or(entries.len(), |i| i + 1);
                let kafka: Vec<AbortedTxn> = entries[..scanned]
                    .iter()
                    .filter(|t| t.last_offset >= fetch_offset && t.first_offset < upper)
                    .copied()
                    .collect();
                let result = index.collect_aborted_txns(fetch_offset, upper);
                prop_assert_eq!(result.aborted_transactions, kafka);
                prop_assert_eq!(result.is_complete, stop.is_some());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            base in any::<i64>(),
            log_size in any::<u64>(),
            next in any::<Option<i64>>(),
            target in any::<i64>(),
        ) {
            let (index, status) = offset_index(bytes.clone(), base, log_size);
            prop_assert_eq!(index.is_some(), status.is_valid());
            if let Some(index) = index {
                let all: Vec<_> = index.entries().collect();
                prop_assert_eq!(all.len(), index.len());
                prop_assert!(all.windows(2).all(|w| w[0].offset < w[1].offset && w[0].position < w[1].position));
                prop_assert!(all.iter().all(|e| e.offset >= base && u64::from(e.position) < log_size));
                let _ = index.lookup(target);
            }
            let (index, status) = time_index(bytes.clone(), base, next);
            prop_assert_eq!(index.is_some(), status.is_valid());
            if let Some(index) = index {
                let all: Vec<_> = index.entries().collect();
                prop_assert_eq!(all.len(), index.len());
                prop_assert!(all.windows(2).all(|w| w[0].timestamp < w[1].timestamp && w[0].offset <= w[1].offset));
                let _ = index.lookup(target);
            }
            let (index, status) = TransactionIndex::from_bytes(Mapping::from_vec(bytes), base);
            prop_assert_eq!(index.is_some(), status.is_valid());
            if let Some(index) = index {
                prop_assert_eq!(index.aborted_txns().count(), index.len());
                let _ = index.collect_aborted_txns(target, target.saturating_add(100));
            }
        }
    }

    // ---- real broker-written files (read in place, never copied) ----

    /// `../shared/conformance/real` beside the checkout, as the
    /// integration tests find it.
    fn real_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/real")
    }

    /// `<real_dir>/*/*/*/` partition directories.
    fn real_partition_dirs() -> Option<Vec<PathBuf>> {
        let root = real_dir();
        let root = root.as_path();
        if !root.is_dir() {
            return None;
        }
        let subdirs = |dir: &Path| -> Vec<PathBuf> {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(|entry| entry.ok().map(|e| e.path()))
                        .filter(|path| path.is_dir())
                        .collect()
                })
                .unwrap_or_default();
            dirs.sort();
            dirs
        };
        let mut partitions = Vec::new();
        for repo in subdirs(root) {
            for log_dir in subdirs(&repo) {
                partitions.extend(subdirs(&log_dir));
            }
        }
        Some(partitions)
    }

    /// The batch start positions of a `.log` and its next offset, by walking
    /// the batch lengths (enough for the broker-written, untorn files here).
    fn walk_log(log: &[u8]) -> (Vec<u32>, i64) {
        let mut starts = Vec::new();
        let mut position = 0usize;
        let mut next_offset = 0i64;
        while position + 17 <= log.len() {
            let base = i64::from_be_bytes(log[position..position + 8].try_into().unwrap());
            let length = i32::from_be_bytes(log[position + 8..position + 12].try_into().unwrap());
            let magic = log[position + 16];
            let last = if magic == 2 {
                let delta =
                    i32::from_be_bytes(log[position + 23..position + 27].try_into().unwrap());
                base + i64::from(delta)
            } else {
                base
            };
            starts.push(position as u32);
            next_offset = last + 1;
            position += 12 + length as usize;
        }
        assert_eq!(
            position,
            log.len(),
            "the log walk ends at the end of the file"
        );
        (starts, next_offset)
    }

    #[test]
    fn real_broker_index_files() {
        let Some(partitions) = real_partition_dirs() else {
            eprintln!("skipped: ../shared/conformance/real is not present");
            return;
        };
        let mut checked_offset = 0;
        let mut checked_time = 0;
        for dir in partitions {
            let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    p.extension().is_some_and(|e| e == "log")
                        && p.file_name().unwrap().to_string_lossy().starts_with('0')
                })
                .collect();
            logs.sort();
            for log_path in logs {
                let stem = log_path.file_stem().unwrap().to_string_lossy().into_owned();
                let base: i64 = stem.parse().unwrap();
                let log = std::fs::read(&log_path).unwrap();
                let log_size = log.len() as u64;
                let (starts, next_offset) = walk_log(&log);
                let (index_path, time_path, txn_path) = index_paths(&log_path);

                if index_path.exists() {
                    for strategy in STRATEGIES {
                        let (index, status) =
                            OffsetIndex::open(&index_path, strategy, base, log_size);
                        let length = std::fs::metadata(&index_path).unwrap().len();
                        if length == 0 {
                            assert_eq!(status, IndexStatus::Empty, "{}", index_path.display());
                            continue;
                        }
                        assert_eq!(
                            status,
                            valid((length / 8) as usize, 0, 0),
                            "{}",
                            index_path.display()
                        );
                        let index = index.unwrap();
                        let all: Vec<_> = index.entries().collect();
                        let mut previous = op(base - 1, 0);
                        for entry in &all {
                            assert!(
                                entry.offset > previous.offset
                                    && entry.position > previous.position
                            );
                            assert!(u64::from(entry.position) < log_size);
                            assert!(entry.offset < next_offset);
                            // Every entry points at a batch start whose base
                            // offset lies after the previous entry's offset.
                            assert!(starts.binary_search(&entry.position).is_ok(), "{entry:?}");
                            let p = entry.position as usize;
                            let batch_base = i64::from_be_bytes(log[p..p + 8].try_into().unwrap());
                            assert!(previous.offset < batch_base && batch_base <= entry.offset);
                            assert_eq!(index.lookup(entry.offset), *entry);
                            assert_eq!(index.lookup(entry.offset + 1), *entry);
                            previous = *entry;
                        }
                        assert_eq!(index.lookup(base), op(base, 0));
                        checked_offset += 1;
                    }
                }

                if time_path.exists() {
                    for strategy in STRATEGIES {
                        let (index, status) =
                            TimeIndex::open(&time_path, strategy, base, Some(next_offset));
                        let length = std::fs::metadata(&time_path).unwrap().len();
                        if length == 0 {
                            assert_eq!(status, IndexStatus::Empty, "{}", time_path.display());
                            continue;
                        }
                        assert_eq!(
                            status,
                            valid((length / 12) as usize, 0, 0),
                            "{}",
                            time_path.display()
                        );
                        let index = index.unwrap();
                        let all: Vec<_> = index.entries().collect();
                        for pair in all.windows(2) {
                            assert!(pair[0].timestamp < pair[1].timestamp);
                            assert!(pair[0].offset <= pair[1].offset);
                        }
                        for entry in &all {
                            // Plausible wall-clock milliseconds (2015..2100).
                            assert!(
                                (1_420_000_000_000..4_102_444_800_000).contains(&entry.timestamp)
                            );
                            assert!(entry.offset >= base && entry.offset < next_offset);
                            assert_eq!(index.lookup(entry.timestamp), Some(*entry));
                        }
                        checked_time += 1;
                    }
                }

                if txn_path.exists() {
                    for strategy in STRATEGIES {
                        let (_, status) = TransactionIndex::open(&txn_path, strategy, base);
                        assert!(
                            matches!(status, IndexStatus::Valid { .. } | IndexStatus::Empty),
                            "{}: {status}",
                            txn_path.display()
                        );
                    }
                }
            }
        }
        eprintln!("checked {checked_offset} offset and {checked_time} time index opens");
        assert!(checked_offset > 0 && checked_time > 0);
    }
}
