//! [`PartitionVerifier`]: a partition's segments in order, every batch's
//! CRC and header fields, every record decoded, offsets strictly
//! increasing across records, batches and segments; then, when asked, the
//! index files beside each segment against what it found.

use std::path::PathBuf;

use super::indexes::{check_offset_index, check_time_index, check_txn_index};
use super::issue::{IndexKind, IssueKind, Severity};
use super::report::SegmentReport;
use super::VerifyOptions;
use crate::error::{Corruption, Error, Result};
use crate::index::{OffsetIndex, TimeIndex, TransactionIndex};
use crate::partition::Partition;
use crate::record::{Inflater, MAGIC_V2};
use crate::segment::{FileBatch, Segment, SegmentEnd};

/// Where a batch is and what it holds, for checking indexes against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BatchSummary {
    pub(super) position: u64,
    /// First record's offset (the base offset for v2, and for an empty batch).
    pub(super) first_offset: i64,
    pub(super) last_offset: i64,
    /// Largest timestamp of the batch (header and records), -1 when none.
    pub(super) max_timestamp: i64,
}

/// Verifies the segments of one partition in order, carrying the offset
/// continuity check from one segment to the next.
#[derive(Debug)]
pub struct PartitionVerifier {
    options: VerifyOptions,
    inflater: Inflater,
    /// The highest offset seen so far in the partition.
    last_offset: Option<i64>,
}

impl PartitionVerifier {
    /// A verifier for one partition.
    pub fn new(options: VerifyOptions) -> Self {
        PartitionVerifier {
            options,
            inflater: Inflater::new(options.max_inflated_bytes, true),
            last_offset: None,
        }
    }

    /// Verifies segment `n` of `partition` with the index files beside it.
    /// I/O errors (a file that cannot be opened) are errors; everything
    /// wrong with the bytes is in the report.
    pub fn verify_partition_segment(
        &mut self,
        partition: &Partition,
        n: usize,
    ) -> Result<SegmentReport> {
        let segment = partition.open_segment(n)?;
        let is_last = n + 1 == partition.segments().len();
        let files = partition.segments().get(n).map(|file| IndexFiles {
            offset: file.index_path("index"),
            time: file.index_path("timeindex"),
            txn: file.index_path("txnindex"),
        });
        Ok(self.verify_segment_and_indexes(&segment, is_last, files.as_ref()))
    }

    /// Verifies one segment's log: batches, records and offsets. A torn
    /// tail is a warning when `is_last` (the partition's last segment), a
    /// problem otherwise.
    pub fn verify_segment(&mut self, segment: &Segment, is_last: bool) -> SegmentReport {
        let (report, _) = self.verify_log(segment, is_last, false);
        report
    }

    /// Verifies one segment's log, then (when the options say so and
    /// `files` are given) its index files against it.
    pub(super) fn verify_segment_and_indexes(
        &mut self,
        segment: &Segment,
        is_last: bool,
        files: Option<&IndexFiles>,
    ) -> SegmentReport {
        let files = files.filter(|_| self.options.check_indexes);
        let (mut report, batches) = self.verify_log(segment, is_last, files.is_some());
        let Some(files) = files else {
            return report;
        };
        let strategy = self.options.strategy;
        let base_offset = segment.base_offset();
        let (index, status) =
            OffsetIndex::open(&files.offset, strategy, base_offset, segment.size());
        report.index_status(&files.offset, IndexKind::Offset, &status, is_last);
        report.offset_index = Some(status);
        if let Some(index) = index {
            check_offset_index(&index, &files.offset, &batches, is_last, &mut report);
        }
        let (index, status) = TimeIndex::open(&files.time, strategy, base_offset, None);
        report.index_status(&files.time, IndexKind::Time, &status, is_last);
        report.time_index = Some(status);
        if let Some(index) = index {
            check_time_index(&index, &files.time, &batches, is_last, &mut report);
        }
        let (index, status) = TransactionIndex::open(&files.txn, strategy, base_offset);
        report.index_status(&files.txn, IndexKind::Transaction, &status, is_last);
        report.txn_index = Some(status);
        if let Some(index) = index {
            check_txn_index(&index, &files.txn, is_last, &mut report);
        }
        report
    }

    pub(super) fn verify_log(
        &mut self,
        segment: &Segment,
        is_last: bool,
        summarize: bool,
    ) -> (SegmentReport, Vec<BatchSummary>) {
        let mut report = SegmentReport::new(segment);
        let mut summaries = Vec::new();
        let mut batches = segment.batches_from(0, true);
        while let Some(item) = batches.next() {
            match item {
                Ok(batch) => {
                    report.batches += 1;
                    let summary = self.check_batch(segment, &batch, &mut report);
                    if summarize {
                        summaries.push(summary);
                    }
                }
                Err(Error::Corrupt {
                    position,
                    offset,
                    kind,
                    ..
                }) => report.problem(position, offset, IssueKind::Corrupt(kind)),
                Err(other) => {
                    // The batch iterator only yields corruption; keep anything
                    // else visible rather than dropping it.
                    report.problem(
                        batches.position(),
                        None,
                        IssueKind::Corrupt(Corruption::Malformed {
                            what: "segment",
                            detail: other.to_string(),
                        }),
                    );
                }
            }
        }
        report.valid_bytes = match batches.end() {
            Some(SegmentEnd::TornTail(tail)) => {
                let severity = if is_last {
                    Severity::Warning
                } else {
                    Severity::Problem
                };
                let path = report.path.clone();
                report.push(
                    severity,
                    &path,
                    Some(tail.valid_bytes),
                    report.last_offset.map(|o| o.saturating_add(1)),
                    IssueKind::TornTail(*tail),
                );
                tail.valid_bytes
            }
            Some(SegmentEnd::Corrupt { position }) => *position,
            Some(SegmentEnd::Clean) | None => batches.position(),
        };
        (report, summaries)
    }

    /// Checks one batch: offsets against the segment and what came before,
    /// header fields against the decoded records.
    fn check_batch(
        &mut self,
        segment: &Segment,
        batch: &FileBatch<'_>,
        report: &mut SegmentReport,
    ) -> BatchSummary {
        let position = batch.position;
        let base_offset = batch.base_offset();
        let last_offset = batch.last_offset();
        let is_v2 = batch.magic() == MAGIC_V2;
        let header_max_timestamp = batch.max_timestamp().unwrap_or(-1);
        let mut summary = BatchSummary {
            position,
            first_offset: base_offset,
            last_offset,
            max_timestamp: header_max_timestamp,
        };
        if is_v2 {
            if last_offset < base_offset {
                report.problem(
                    position,
                    Some(base_offset),
                    IssueKind::LastOffsetMismatch {
                        last_offset,
                        last_record_offset: None,
                    },
                );
            }
            check_offset(self.last_offset, segment, report, position, base_offset);
        }
        let records = match batch.records(&mut self.inflater) {
            Ok(records) => records,
            Err(kind) => {
                report.problem(position, Some(base_offset), IssueKind::Corrupt(kind));
                self.advance(report, summary.first_offset, last_offset);
                return summary;
            }
        };
        let mut decoded = 0u64;
        let mut first_record = None;
        let mut previous_record: Option<i64> = None;
        let mut failed = false;
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(kind) => {
                    report.problem(position, Some(base_offset), IssueKind::Corrupt(kind));
                    failed = true;
                    break;
                }
            };
            decoded += 1;
            let offset = record.offset();
            if let Some(ts) = record.timestamp() {
                summary.max_timestamp = summary.max_timestamp.max(ts);
            }
            if first_record.is_none() {
                first_record = Some(offset);
            }
            // Within the batch: inside its range, strictly increasing.
            let lowest = if is_v2 { base_offset } else { i64::MIN };
            if offset < lowest || offset > last_offset {
                report.problem(
                    position,
                    Some(offset),
                    IssueKind::RecordOutsideBatch {
                        offset,
                        base_offset: if is_v2 {
                            base_offset
                        } else {
                            first_record.unwrap_or(offset)
                        },
                        last_offset,
                    },
                );
            }
            match previous_record {
                Some(previous) if offset <= previous => report.problem(
                    position,
                    Some(offset),
                    IssueKind::OffsetNotIncreasing {
                        previous,
                        found: offset,
                    },
                ),
                // A legacy batch's first record continues from the batches
                // before (a v2 batch was checked by its base offset).
                None if !is_v2 => check_offset(self.last_offset, segment, report, position, offset),
                _ => {}
            }
            previous_record = Some(offset);
        }
        if !failed {
            if let (true, Some(declared)) = (is_v2, batch.records_count()) {
                if u64::try_from(declared).ok() != Some(decoded) {
                    report.problem(
                        position,
                        Some(base_offset),
                        IssueKind::RecordsCountMismatch { declared, decoded },
                    );
                }
            }
            // A legacy compressed wrapper carries its last inner offset. (A
            // v2 batch may hold less than its last offset delta says: the
            // cleaner keeps it for producer state.)
            if !is_v2 && previous_record.is_some_and(|last| last != last_offset) {
                report.problem(
                    position,
                    Some(last_offset),
                    IssueKind::LastOffsetMismatch {
                        last_offset,
                        last_record_offset: previous_record,
                    },
                );
            }
        }
        if !is_v2 {
            if let Some(first) = first_record {
                summary.first_offset = first;
            }
        }
        report.records += decoded;
        self.advance(
            report,
            summary.first_offset,
            last_offset.max(previous_record.unwrap_or(last_offset)),
        );
        summary
    }

    fn advance(&mut self, report: &mut SegmentReport, first_offset: i64, last_offset: i64) {
        if report.first_offset.is_none() {
            report.first_offset = Some(first_offset);
        }
        report.last_offset = Some(
            report
                .last_offset
                .map_or(last_offset, |l| l.max(last_offset)),
        );
        self.last_offset = Some(self.last_offset.map_or(last_offset, |l| l.max(last_offset)));
    }
}

/// Checks that `offset` is past `last_offset` (everything seen before) and
/// not below the segment's base offset.
fn check_offset(
    last_offset: Option<i64>,
    segment: &Segment,
    report: &mut SegmentReport,
    position: u64,
    offset: i64,
) {
    if offset < segment.base_offset() {
        report.problem(
            position,
            Some(offset),
            IssueKind::OffsetBelowSegmentBase {
                segment_base_offset: segment.base_offset(),
                found: offset,
            },
        );
    }
    if let Some(previous) = last_offset {
        if offset <= previous {
            report.problem(
                position,
                Some(offset),
                IssueKind::OffsetNotIncreasing {
                    previous,
                    found: offset,
                },
            );
        }
    }
}

/// The index files beside a segment.
#[derive(Debug)]
pub(super) struct IndexFiles {
    pub(super) offset: PathBuf,
    pub(super) time: PathBuf,
    pub(super) txn: PathBuf,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::log_dir::TopicPartition;
    use crate::verify::test_support::{batch, kinds, plain, segment, verify};
    use crate::verify::{PartitionReport, VerifySummary};

    #[test]
    fn clean_log_has_no_issues() {
        let s0 = segment(0, &[plain(0, 3, 100), plain(3, 2, 200)]);
        // A gap between segments and inside a batch is fine (compaction).
        let s1 = segment(10, &[batch(10, &[0, 2, 5], 5, 300), plain(16, 1, 400)]);
        let reports = verify(&[s0, s1]);
        assert!(reports.iter().all(SegmentReport::is_ok), "{reports:#?}");
        assert_eq!((reports[0].batches, reports[0].records), (2, 5));
        assert_eq!(
            (reports[0].first_offset, reports[0].last_offset),
            (Some(0), Some(4))
        );
        assert_eq!(
            (reports[1].first_offset, reports[1].last_offset),
            (Some(10), Some(16))
        );
        assert_eq!(reports[1].valid_bytes, reports[1].size);
        let summary = VerifySummary::of([&PartitionReport {
            topic_partition: TopicPartition::new("t", 0),
            dir: PathBuf::new(),
            segments: reports,
        }]);
        assert_eq!(
            (summary.segments, summary.batches, summary.records),
            (2, 4, 9)
        );
        assert_eq!(summary.worst(), None);
    }

    #[test]
    fn overlapping_offsets_are_problems() {
        let s = segment(0, &[plain(0, 3, 0), plain(2, 3, 0)]);
        let reports = verify(&[s]);
        assert_eq!(
            kinds(&reports[0]),
            [("offset_not_increasing", Severity::Problem)]
        );
        let issue = &reports[0].issues[0];
        assert_eq!(issue.offset, Some(2));
        assert_eq!(issue.position, Some(plain(0, 3, 0).len() as u64));
        let text = issue.to_string();
        assert!(
            text.contains("00000000000000000000.log") && text.contains("offset 2"),
            "{text}"
        );

        // Across segments, too.
        let reports = verify(&[segment(0, &[plain(0, 5, 0)]), segment(4, &[plain(4, 1, 0)])]);
        assert!(reports[0].is_ok());
        assert_eq!(
            kinds(&reports[1]),
            [("offset_not_increasing", Severity::Problem)]
        );
    }

    #[test]
    fn offset_below_segment_base() {
        let reports = verify(&[segment(10, &[plain(5, 2, 0)])]);
        assert_eq!(
            kinds(&reports[0]),
            [("offset_below_segment_base", Severity::Problem)]
        );
    }

    #[test]
    fn record_outside_its_batch() {
        // last_offset_delta 1, but a record at delta 4.
        let reports = verify(&[segment(0, &[batch(0, &[0, 4], 1, 0)])]);
        assert_eq!(
            kinds(&reports[0]),
            [("record_outside_batch", Severity::Problem)]
        );
        assert_eq!(reports[0].issues[0].offset, Some(4));
    }

    #[test]
    fn records_out_of_order_inside_a_batch() {
        let reports = verify(&[segment(0, &[batch(0, &[1, 0], 1, 0)])]);
        assert_eq!(
            kinds(&reports[0]),
            [("offset_not_increasing", Severity::Problem)]
        );
    }

    #[test]
    fn crc_mismatch_names_position_and_offset() {
        let good = plain(0, 2, 0);
        let mut bad = plain(2, 2, 0);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let reports = verify(&[segment(0, &[good.clone(), bad, plain(4, 1, 0)])]);
        let report = &reports[0];
        assert_eq!(kinds(report), [("crc_mismatch", Severity::Problem)]);
        assert_eq!(report.issues[0].position, Some(good.len() as u64));
        assert_eq!(report.issues[0].offset, Some(2));
        assert_eq!(report.valid_bytes, good.len() as u64);
        assert_eq!(report.records, 2);
    }

    #[test]
    fn torn_tail_is_a_warning_only_at_the_end() {
        let mut torn = plain(0, 2, 0);
        torn.extend_from_slice(&plain(2, 2, 0)[..30]);
        let reports = verify(&[segment(0, &[torn.clone()])]);
        assert_eq!(kinds(&reports[0]), [("torn_tail", Severity::Warning)]);
        assert_eq!(
            reports[0].issues[0].position,
            Some(plain(0, 2, 0).len() as u64)
        );
        let reports = verify(&[segment(0, &[torn]), segment(2, &[plain(2, 1, 0)])]);
        assert_eq!(kinds(&reports[0]), [("torn_tail", Severity::Problem)]);
        assert!(reports[1].is_ok());
    }

    #[test]
    fn empty_segment_is_clean() {
        let reports = verify(&[segment(0, &[])]);
        assert!(reports[0].is_ok());
        assert_eq!(reports[0].first_offset, None);
    }
}
