//! The reports: [`SegmentReport`] (what one segment holds and every issue
//! found in it), [`PartitionReport`], and [`VerifySummary`], totals over
//! reports.

use std::path::{Path, PathBuf};

use super::indexes::past_log;
use super::issue::{IndexKind, Issue, IssueKind, Severity};
use crate::index::{AbortedTxn, IndexStatus, OffsetIndex, TimeIndex};
use crate::log_dir::TopicPartition;
use crate::segment::Segment;

/// What verification found in one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    /// The `.log` file.
    pub path: PathBuf,
    /// Its base offset.
    pub base_offset: i64,
    /// Its size in bytes.
    pub size: u64,
    /// Complete batches read.
    pub batches: u64,
    /// Records decoded (control records included).
    pub records: u64,
    /// The first offset in the segment (first record, or an empty batch's base offset).
    pub first_offset: Option<i64>,
    /// The last offset in the segment (of the last batch).
    pub last_offset: Option<i64>,
    /// Bytes of complete batches before a torn tail or corruption (the
    /// size when the segment is clean).
    pub valid_bytes: u64,
    /// What opening the `.index` found; `None` when indexes were not checked.
    pub offset_index: Option<IndexStatus>,
    /// What opening the `.timeindex` found; `None` when not checked.
    pub time_index: Option<IndexStatus>,
    /// What opening the `.txnindex` found; `None` when not checked.
    pub txn_index: Option<IndexStatus>,
    /// Everything found, in file order (index issues last).
    pub issues: Vec<Issue>,
}

impl SegmentReport {
    pub(super) fn new(segment: &Segment) -> Self {
        SegmentReport {
            path: segment.path().to_path_buf(),
            base_offset: segment.base_offset(),
            size: segment.size(),
            batches: 0,
            records: 0,
            first_offset: None,
            last_offset: None,
            valid_bytes: 0,
            offset_index: None,
            time_index: None,
            txn_index: None,
            issues: Vec::new(),
        }
    }

    /// The worst severity found, `None` when the segment is clean.
    pub fn worst(&self) -> Option<Severity> {
        self.issues.iter().map(|i| i.severity).max()
    }

    /// Whether nothing at all was found.
    pub fn is_ok(&self) -> bool {
        self.issues.is_empty()
    }

    /// Number of issues of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.issues
            .iter()
            .filter(|i| i.severity == severity)
            .count()
    }

    pub(super) fn push(
        &mut self,
        severity: Severity,
        path: &Path,
        position: Option<u64>,
        offset: Option<i64>,
        kind: IssueKind,
    ) {
        self.issues.push(Issue {
            severity,
            path: path.to_path_buf(),
            position,
            offset,
            kind,
        });
    }

    pub(super) fn problem(&mut self, position: u64, offset: Option<i64>, kind: IssueKind) {
        let path = self.path.clone();
        self.push(Severity::Problem, &path, Some(position), offset, kind);
    }

    pub(super) fn index_issue(
        &mut self,
        severity: Severity,
        path: &Path,
        entry: usize,
        offset: Option<i64>,
        index: IndexKind,
        detail: String,
    ) {
        let position = (entry as u64).saturating_mul(match index {
            IndexKind::Offset => OffsetIndex::ENTRY_SIZE as u64,
            IndexKind::Time => TimeIndex::ENTRY_SIZE as u64,
            IndexKind::Transaction => AbortedTxn::TOTAL_SIZE as u64,
        });
        self.push(
            severity,
            path,
            Some(position),
            offset,
            IssueKind::BadIndexEntry {
                index,
                entry: entry as u64,
                detail,
            },
        );
    }

    /// Turns what opening an index found into issues: a file that fails
    /// Kafka's sanity check is a problem, entries dropped after the valid
    /// ones a problem (except offset index entries in the last segment: a
    /// crash leaves entries pointing past a log that lost its tail), an
    /// unreadable file a warning. Missing and empty indexes are fine.
    pub(super) fn index_status(
        &mut self,
        path: &Path,
        index: IndexKind,
        status: &IndexStatus,
        is_last: bool,
    ) {
        let (severity, detail) = match status {
            IndexStatus::Insane(reason) => (Severity::Problem, format!("fails the sanity check: {reason}")),
            IndexStatus::Unreadable(reason) => (Severity::Warning, format!("unreadable: {reason}")),
            IndexStatus::Valid { dropped_bytes, .. } if *dropped_bytes > 0 => (
                past_log(is_last && index == IndexKind::Offset),
                format!("has {dropped_bytes} bytes of entries after the valid ones, out of order or past the log"),
            ),
            _ => return,
        };
        self.push(
            severity,
            path,
            None,
            None,
            IssueKind::BadIndex { index, detail },
        );
    }
}

/// What verification found in one partition (or one segment file given alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReport {
    /// The topic and partition.
    pub topic_partition: TopicPartition,
    /// The partition directory (or, for a segment file given alone, its parent).
    pub dir: PathBuf,
    /// One report per segment, in base-offset order.
    pub segments: Vec<SegmentReport>,
}

impl PartitionReport {
    /// Every issue of every segment.
    pub fn issues(&self) -> impl Iterator<Item = &Issue> {
        self.segments.iter().flat_map(|s| s.issues.iter())
    }

    /// The worst severity found, `None` when clean.
    pub fn worst(&self) -> Option<Severity> {
        self.segments.iter().filter_map(SegmentReport::worst).max()
    }
}

/// Totals over reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifySummary {
    /// Partitions verified.
    pub partitions: u64,
    /// Segments verified.
    pub segments: u64,
    /// Bytes of segment files.
    pub bytes: u64,
    /// Batches read.
    pub batches: u64,
    /// Records decoded.
    pub records: u64,
    /// Problems found.
    pub problems: u64,
    /// Warnings found.
    pub warnings: u64,
}

impl VerifySummary {
    /// Adds one partition's report.
    pub fn add(&mut self, report: &PartitionReport) {
        self.partitions += 1;
        for s in &report.segments {
            self.add_segment(s);
        }
    }

    /// Adds one segment's report (not counting a partition).
    pub fn add_segment(&mut self, report: &SegmentReport) {
        self.segments += 1;
        self.bytes += report.size;
        self.batches += report.batches;
        self.records += report.records;
        self.problems += report.count(Severity::Problem) as u64;
        self.warnings += report.count(Severity::Warning) as u64;
    }

    /// The worst severity counted, `None` when clean.
    pub fn worst(&self) -> Option<Severity> {
        if self.problems > 0 {
            Some(Severity::Problem)
        } else if self.warnings > 0 {
            Some(Severity::Warning)
        } else {
            None
        }
    }

    /// Totals over `reports`.
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a PartitionReport>) -> Self {
        let mut summary = VerifySummary::default();
        for r in reports {
            summary.add(r);
        }
        summary
    }
}
