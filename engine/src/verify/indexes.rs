//! The index files checked against the log: each valid entry of an
//! `.index`, `.timeindex` and `.txnindex` against the batches its segment
//! holds, with the severity of an entry that reaches past the log.

use std::path::Path;

use super::issue::{IndexKind, Severity};
use super::report::SegmentReport;
use super::verifier::BatchSummary;
use crate::index::{OffsetIndex, TimeIndex, TransactionIndex};

/// The severity of an index entry that reaches past the log: a warning in
/// the last segment (a crash can leave index entries for a tail the log
/// lost), a problem elsewhere.
pub(super) fn past_log(is_last: bool) -> Severity {
    if is_last {
        Severity::Warning
    } else {
        Severity::Problem
    }
}

/// Checks the valid entries of an offset index against the batches of its
/// segment (in file order). An entry `(offset, position)` must point at a
/// batch start whose first offset is at most `offset`, and `offset` must be
/// below the first offset of the batch the next entry points at (Kafka
/// indexes the last offset of an append at the position of its first batch;
/// old brokers appended several batches at once) or, for the last entry, at
/// most the segment's last offset.
pub(super) fn check_offset_index(
    index: &OffsetIndex,
    path: &Path,
    batches: &[BatchSummary],
    is_last: bool,
    report: &mut SegmentReport,
) {
    let batch_at = |position: u32| {
        batches
            .binary_search_by_key(&u64::from(position), |b| b.position)
            .ok()
            .and_then(|n| batches.get(n))
    };
    let last_offset = report.last_offset;
    let valid_bytes = report.valid_bytes;
    let mut entries = index.entries().enumerate().peekable();
    while let Some((n, entry)) = entries.next() {
        let next = entries.peek().map(|(_, e)| *e);
        let Some(batch) = batch_at(entry.position) else {
            if u64::from(entry.position) >= valid_bytes {
                report.index_issue(
                    past_log(is_last),
                    path,
                    n,
                    Some(entry.offset),
                    IndexKind::Offset,
                    format!(
                        "position {} is past the last complete batch (at {valid_bytes} bytes)",
                        entry.position
                    ),
                );
            } else {
                report.index_issue(
                    Severity::Problem,
                    path,
                    n,
                    Some(entry.offset),
                    IndexKind::Offset,
                    format!("position {} is not the start of a batch", entry.position),
                );
            }
            continue;
        };
        if entry.offset < batch.first_offset {
            report.index_issue(
                Severity::Problem,
                path,
                n,
                Some(entry.offset),
                IndexKind::Offset,
                format!(
                    "offset {} is below the first offset {} of the batch at position {}",
                    entry.offset, batch.first_offset, entry.position
                ),
            );
        }
        match next.map(|next| (next, batch_at(next.position))) {
            Some((next, Some(next_batch))) if entry.offset >= next_batch.first_offset => report.index_issue(
                Severity::Problem,
                path,
                n,
                Some(entry.offset),
                IndexKind::Offset,
                format!(
                    "offset {} reaches the batch at position {} (first offset {}) the next entry points at",
                    entry.offset, next.position, next_batch.first_offset
                ),
            ),
            None if last_offset.is_some_and(|last| entry.offset > last) => report.index_issue(
                past_log(is_last),
                path,
                n,
                Some(entry.offset),
                IndexKind::Offset,
                format!(
                    "offset {} is past the segment's last offset {}",
                    entry.offset,
                    last_offset.unwrap_or_default()
                ),
            ),
            _ => {}
        }
    }
}

/// Checks the valid entries of a time index against the batches of its
/// segment: an entry `(timestamp, offset)` must name an offset within the
/// segment, and some batch at or before `offset` must reach `timestamp` (the
/// entry holds the largest timestamp so far and where it was reached).
pub(super) fn check_time_index(
    index: &TimeIndex,
    path: &Path,
    batches: &[BatchSummary],
    is_last: bool,
    report: &mut SegmentReport,
) {
    // Running maximum of the batches' timestamps, in file (offset) order.
    let mut running = Vec::with_capacity(batches.len());
    let mut max = i64::MIN;
    for b in batches {
        max = max.max(b.max_timestamp);
        running.push(max);
    }
    let last_offset = report.last_offset;
    for (n, entry) in index.entries().enumerate() {
        if last_offset.is_none_or(|last| entry.offset > last) {
            report.index_issue(
                past_log(is_last),
                path,
                n,
                Some(entry.offset),
                IndexKind::Time,
                match last_offset {
                    Some(last) => format!(
                        "offset {} is past the segment's last offset {last}",
                        entry.offset
                    ),
                    None => format!("offset {} is in a segment without batches", entry.offset),
                },
            );
            continue;
        }
        let upto = batches.partition_point(|b| b.first_offset <= entry.offset);
        let reached = upto.checked_sub(1).and_then(|i| running.get(i)).copied();
        match reached {
            Some(max) if max >= entry.timestamp => {}
            Some(max) => report.index_issue(
                Severity::Problem,
                path,
                n,
                Some(entry.offset),
                IndexKind::Time,
                format!(
                    "timestamp {} is above the largest timestamp {max} of the batches up to offset {}",
                    entry.timestamp, entry.offset
                ),
            ),
            None => report.index_issue(
                Severity::Problem,
                path,
                n,
                Some(entry.offset),
                IndexKind::Time,
                format!("offset {} precedes every batch of the segment", entry.offset),
            ),
        }
    }
}

/// Checks a transaction index: each aborted transaction's marker offset
/// (`last_offset`) lies in the segment, and its first offset is not after it.
pub(super) fn check_txn_index(
    index: &TransactionIndex,
    path: &Path,
    is_last: bool,
    report: &mut SegmentReport,
) {
    let base_offset = report.base_offset;
    let last_offset = report.last_offset;
    for (n, txn) in index.aborted_txns().enumerate() {
        let (severity, detail) = if txn.first_offset > txn.last_offset {
            (
                Severity::Problem,
                format!(
                    "first offset {} is after the marker offset {}",
                    txn.first_offset, txn.last_offset
                ),
            )
        } else if txn.last_offset < base_offset {
            (
                Severity::Problem,
                format!(
                    "marker offset {} is below the segment's base offset {base_offset}",
                    txn.last_offset
                ),
            )
        } else if last_offset.is_none_or(|last| txn.last_offset > last) {
            (
                past_log(is_last),
                format!(
                    "marker offset {} is past the segment's last offset",
                    txn.last_offset
                ),
            )
        } else {
            continue;
        };
        report.index_issue(
            severity,
            path,
            n,
            Some(txn.last_offset),
            IndexKind::Transaction,
            detail,
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::index::IndexStatus;
    use crate::mmap::Mapping;
    use crate::verify::test_support::{kinds, plain, segment};
    use crate::verify::{PartitionVerifier, VerifyOptions};

    fn offset_index(entries: &[(i32, i32)], base_offset: i64, log_size: u64) -> OffsetIndex {
        let mut bytes = Vec::new();
        for (relative_offset, position) in entries {
            bytes.extend(relative_offset.to_be_bytes());
            bytes.extend(position.to_be_bytes());
        }
        bytes.resize(bytes.len() + 16, 0);
        OffsetIndex::from_bytes(Mapping::from_vec(bytes), base_offset, log_size)
            .0
            .unwrap()
    }

    fn time_index(entries: &[(i64, i32)], base_offset: i64) -> TimeIndex {
        let mut bytes = Vec::new();
        for (timestamp, relative_offset) in entries {
            bytes.extend(timestamp.to_be_bytes());
            bytes.extend(relative_offset.to_be_bytes());
        }
        TimeIndex::from_bytes(Mapping::from_vec(bytes), base_offset, None)
            .0
            .unwrap()
    }

    /// A segment at 100 of four 3-record batches, its log report and batch summaries.
    fn indexed_segment(is_last: bool) -> (Vec<u64>, SegmentReport, Vec<BatchSummary>) {
        let batches: Vec<Vec<u8>> = (0..4)
            .map(|i| plain(100 + 3 * i, 3, 1000 * (i + 1)))
            .collect();
        let mut positions = vec![0u64];
        for b in &batches {
            positions.push(positions.last().unwrap() + b.len() as u64);
        }
        let s = segment(100, &batches);
        let mut verifier = PartitionVerifier::new(VerifyOptions::default());
        let (report, summaries) = verifier.verify_log(&s, is_last, true);
        assert!(report.is_ok());
        (positions, report, summaries)
    }

    #[test]
    fn offset_index_consistent_with_the_log() {
        let (pos, mut report, batches) = indexed_segment(false);
        let p = |n: usize| pos[n] as i32;
        // Entries at batch starts with the batch's last offset, and one
        // (old brokers) with the last offset of a later batch of the same append.
        let index = offset_index(&[(5, p(1)), (8, p(2)), (11, p(3))], 100, report.size);
        check_offset_index(&index, Path::new("x.index"), &batches, false, &mut report);
        assert!(report.is_ok(), "{:#?}", report.issues);
        let index = offset_index(&[(2, p(0)), (8, p(1))], 100, report.size);
        check_offset_index(&index, Path::new("x.index"), &batches, false, &mut report);
        assert!(report.is_ok(), "{:#?}", report.issues);
    }

    #[test]
    fn offset_index_inconsistencies() {
        let (pos, report, batches) = indexed_segment(false);
        let p = |n: usize| pos[n] as i32;
        let check = |entries: &[(i32, i32)], is_last: bool| {
            let mut report = report.clone();
            let index = offset_index(entries, 100, report.size);
            check_offset_index(&index, Path::new("x.index"), &batches, is_last, &mut report);
            report.issues
        };
        // Not a batch start.
        let issues = check(&[(5, p(1) + 1)], false);
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0].to_string().contains("not the start of a batch"),
            "{}",
            issues[0]
        );
        assert_eq!(issues[0].position, Some(0));
        // Offset below the batch it points at.
        let issues = check(&[(2, p(1))], false);
        assert!(
            issues[0].to_string().contains("below the first offset 103"),
            "{}",
            issues[0]
        );
        // Offset reaching into the batch the next entry points at.
        let issues = check(&[(7, p(1)), (9, p(2))], false);
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0].to_string().contains("reaches the batch"),
            "{}",
            issues[0]
        );
        assert_eq!(issues[0].offset, Some(107));
        // Past the last offset: a problem, but a warning in the last segment.
        let issues = check(&[(20, p(3))], false);
        assert_eq!(issues[0].severity, Severity::Problem);
        let issues = check(&[(20, p(3))], true);
        assert_eq!(issues[0].severity, Severity::Warning);
    }

    #[test]
    fn time_index_consistent_with_the_log() {
        let (_, mut report, batches) = indexed_segment(false);
        // Batch i (offsets 100+3i..) has timestamps 1000(i+1) .. +2.
        let index = time_index(&[(1002, 2), (2002, 5), (4002, 11)], 100);
        check_time_index(
            &index,
            Path::new("x.timeindex"),
            &batches,
            false,
            &mut report,
        );
        assert!(report.is_ok(), "{:#?}", report.issues);
    }

    #[test]
    fn time_index_inconsistencies() {
        let (_, report, batches) = indexed_segment(false);
        let check = |entries: &[(i64, i32)]| {
            let mut report = report.clone();
            let index = time_index(entries, 100);
            check_time_index(
                &index,
                Path::new("x.timeindex"),
                &batches,
                false,
                &mut report,
            );
            report.issues
        };
        // A timestamp no batch up to the offset reaches.
        let issues = check(&[(3000, 4)]);
        assert_eq!(issues.len(), 1);
        assert!(
            issues[0]
                .to_string()
                .contains("above the largest timestamp 2002"),
            "{}",
            issues[0]
        );
        // An offset past the segment.
        let issues = check(&[(1000, 12)]);
        assert!(
            issues[0]
                .to_string()
                .contains("past the segment's last offset 111"),
            "{}",
            issues[0]
        );
    }

    #[test]
    fn index_status_severity() {
        let (_, mut report, _) = indexed_segment(true);
        report.index_status(
            Path::new("x.index"),
            IndexKind::Offset,
            &IndexStatus::Missing,
            true,
        );
        report.index_status(
            Path::new("x.index"),
            IndexKind::Offset,
            &IndexStatus::Empty,
            true,
        );
        assert!(report.is_ok());
        let dropped = IndexStatus::Valid {
            entries: 1,
            zero_tail_bytes: 0,
            dropped_bytes: 8,
        };
        report.index_status(Path::new("x.index"), IndexKind::Offset, &dropped, true);
        report.index_status(Path::new("x.timeindex"), IndexKind::Time, &dropped, true);
        report.index_status(
            Path::new("x.index"),
            IndexKind::Offset,
            &IndexStatus::Insane("x".into()),
            true,
        );
        assert_eq!(
            kinds(&report),
            [
                ("bad_index", Severity::Warning),
                ("bad_index", Severity::Problem),
                ("bad_index", Severity::Problem)
            ]
        );
    }
}
