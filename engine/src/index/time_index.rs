//! The `.timeindex` file: [`TimeIndex`], timestamp → offset, and the rules
//! its valid prefix follows.

use std::path::{Path, PathBuf};

use super::sanity::{
    classify, field, largest_lower_bound_slot, not_a_multiple, open_mapping, valid_bytes, Prefix,
    TailPolicy,
};
use super::IndexStatus;
use crate::mmap::{Mapping, ReadStrategy};

/// A time index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// The largest timestamp (ms) of the records before `offset` and of `offset`'s batch.
    pub timestamp: i64,
    /// The (absolute) offset.
    pub offset: i64,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use crate::index::test_support::{assert_insane, time_index, time_index_bytes, ts, valid};
    use proptest::prelude::*;

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

    proptest! {
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
    }
}
