//! The `.index` file: [`OffsetIndex`], offset → position of a batch start
//! in the `.log`, and the rules its valid prefix follows.

use std::path::{Path, PathBuf};

use super::sanity::{
    classify, field, largest_lower_bound_slot, not_a_multiple, open_mapping, valid_bytes, Prefix,
    TailPolicy,
};
use super::IndexStatus;
use crate::mmap::{Mapping, ReadStrategy};

/// An offset index entry, or the start of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    /// The (absolute) offset.
    pub offset: i64,
    /// Byte position in the `.log` of a batch start at or before `offset`.
    pub position: u32,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use crate::index::test_support::{assert_insane, offset_index, offset_index_bytes, op, valid};
    use proptest::prelude::*;

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
    }
}
