//! The `.txnindex` file: [`TransactionIndex`], the transactions aborted by
//! markers in a segment ([`AbortedTxn`]), Kafka's queries over them, and
//! the rules the whole file must follow.

use std::path::{Path, PathBuf};

use super::sanity::{classify, field, open_mapping, valid_bytes, Prefix, TailPolicy};
use super::IndexStatus;
use crate::mmap::{Mapping, ReadStrategy};

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
    use crate::index::test_support::{assert_insane, txn, txn_index_bytes, valid};
    use proptest::prelude::*;

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

    proptest! {
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
    }
}
