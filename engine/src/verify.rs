//! Verification of partition logs, as `kreplay verify` runs it: every batch's
//! CRC and every record decoded, offsets strictly increasing across records,
//! batches and segments, batch header fields consistent with the records, and
//! the offset and time indexes consistent with the log when they are present.
//!
//! The functions here return report structs and print nothing; a
//! [`SegmentReport`] lists [`Issue`]s, each naming the file, the byte position
//! and the offset it is about. An issue is a [`Severity::Problem`] (the data
//! is corrupt or inconsistent) or a [`Severity::Warning`] (a torn tail at the
//! end of the last segment, which a crash leaves and Kafka's recovery trims).
//! Offset gaps are fine: compaction and transaction markers leave them.
//!
//! ```no_run
//! # fn main() -> kreplay::Result<()> {
//! use kreplay::{classify, verify_path, LogPath, VerifyOptions};
//! let reports = verify_path(&classify("/var/lib/kafka/data/orders-0".as_ref())?, &VerifyOptions::default())?;
//! for report in &reports {
//!     for issue in report.issues() {
//!         eprintln!("{issue}");
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Corruption, Error, Result};
use crate::index::{
    index_paths, AbortedTxn, IndexStatus, OffsetIndex, TimeIndex, TransactionIndex,
};
use crate::log_dir::{list_partitions, LogPath, TopicPartition};
use crate::mmap::ReadStrategy;
use crate::partition::{Partition, ReadOptions};
use crate::record::{Inflater, DEFAULT_MAX_INFLATED_BYTES, MAGIC_V2};
use crate::segment::{FileBatch, Segment, SegmentEnd, TornTail};

/// How to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Map or read the files.
    pub strategy: ReadStrategy,
    /// Cap on one compressed batch's inflated size.
    pub max_inflated_bytes: usize,
    /// Check `.index` and `.timeindex` files against the log when present.
    pub check_indexes: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            strategy: ReadStrategy::Mmap,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            check_indexes: true,
        }
    }
}

impl VerifyOptions {
    /// The read options verification uses (CRCs always checked).
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            strategy: self.strategy,
            check_crcs: true,
            max_inflated_bytes: self.max_inflated_bytes,
            use_indexes: false,
        }
    }
}

/// How bad an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, not corruption (a torn tail at the end of the log).
    Warning,
    /// Corrupt or inconsistent data.
    Problem,
}

impl Severity {
    /// `warning` or `problem`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Problem => "problem",
        }
    }
}

/// Which index file an index issue is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// The `.index` file (offset → position).
    Offset,
    /// The `.timeindex` file (timestamp → offset).
    Time,
    /// The `.txnindex` file (aborted transactions).
    Transaction,
}

impl IndexKind {
    /// The file suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            IndexKind::Offset => "index",
            IndexKind::Time => "timeindex",
            IndexKind::Transaction => "txnindex",
        }
    }
}

/// What an [`Issue`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueKind {
    /// A batch or record that does not decode (CRC mismatch, impossible
    /// length, unknown magic, malformed fields, failed decompression).
    Corrupt(Corruption),
    /// The segment ends with bytes that are not a complete batch. A warning
    /// in the last segment of a partition, a problem in an earlier one.
    TornTail(TornTail),
    /// An offset not above the one before it (batches and records must
    /// strictly increase, across segments too).
    OffsetNotIncreasing {
        /// The highest offset seen before.
        previous: i64,
        /// The offset found.
        found: i64,
    },
    /// An offset below the segment's base offset (its file name).
    OffsetBelowSegmentBase {
        /// The segment's base offset.
        segment_base_offset: i64,
        /// The offset found.
        found: i64,
    },
    /// A v2 batch whose `records_count` differs from the records decoded.
    RecordsCountMismatch {
        /// `records_count` in the header.
        declared: i32,
        /// Records decoded.
        decoded: u64,
    },
    /// A record whose offset lies outside its batch's `base_offset..=last_offset`.
    RecordOutsideBatch {
        /// The record's offset.
        offset: i64,
        /// The batch's base offset.
        base_offset: i64,
        /// The batch's last offset.
        last_offset: i64,
    },
    /// A batch whose last offset does not match its records: a negative v2
    /// `last_offset_delta`, or a legacy compressed wrapper whose offset is
    /// not its last inner message's.
    LastOffsetMismatch {
        /// The batch's last offset (v2 `base_offset + last_offset_delta`; a
        /// legacy wrapper's own offset).
        last_offset: i64,
        /// The offset of the batch's last record, when it has records.
        last_record_offset: Option<i64>,
    },
    /// An index entry inconsistent with the log.
    BadIndexEntry {
        /// Which index.
        index: IndexKind,
        /// The entry's number in the file.
        entry: u64,
        /// What is wrong.
        detail: String,
    },
    /// An index file that cannot be used at all.
    BadIndex {
        /// Which index.
        index: IndexKind,
        /// What is wrong.
        detail: String,
    },
}

impl IssueKind {
    /// A stable snake_case name for machines (`crc_mismatch`, `torn_tail`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            IssueKind::Corrupt(Corruption::CrcMismatch { .. }) => "crc_mismatch",
            IssueKind::Corrupt(Corruption::UnsupportedMagic(_)) => "unsupported_magic",
            IssueKind::Corrupt(Corruption::ImpossibleLength { .. }) => "impossible_length",
            IssueKind::Corrupt(Corruption::UnknownCodec(_)) => "unknown_codec",
            IssueKind::Corrupt(Corruption::Decompress { .. }) => "decompression_failed",
            IssueKind::Corrupt(Corruption::InflatedTooLarge { .. }) => "inflated_too_large",
            IssueKind::Corrupt(_) => "malformed",
            IssueKind::TornTail(_) => "torn_tail",
            IssueKind::OffsetNotIncreasing { .. } => "offset_not_increasing",
            IssueKind::OffsetBelowSegmentBase { .. } => "offset_below_segment_base",
            IssueKind::RecordsCountMismatch { .. } => "records_count_mismatch",
            IssueKind::RecordOutsideBatch { .. } => "record_outside_batch",
            IssueKind::LastOffsetMismatch { .. } => "last_offset_mismatch",
            IssueKind::BadIndexEntry { .. } => "bad_index_entry",
            IssueKind::BadIndex { .. } => "bad_index",
        }
    }
}

impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueKind::Corrupt(kind) => write!(f, "{kind}"),
            IssueKind::TornTail(tail) => write!(f, "{tail}"),
            IssueKind::OffsetNotIncreasing { previous, found } => {
                write!(f, "offset {found} does not increase past {previous}")
            }
            IssueKind::OffsetBelowSegmentBase {
                segment_base_offset,
                found,
            } => write!(
                f,
                "offset {found} is below the segment's base offset {segment_base_offset}"
            ),
            IssueKind::RecordsCountMismatch { declared, decoded } => write!(
                f,
                "batch declares {declared} records, {decoded} decoded"
            ),
            IssueKind::RecordOutsideBatch {
                offset,
                base_offset,
                last_offset,
            } => write!(
                f,
                "record offset {offset} is outside its batch's offsets {base_offset}..={last_offset}"
            ),
            IssueKind::LastOffsetMismatch {
                last_offset,
                last_record_offset: Some(record),
            } => write!(
                f,
                "batch last offset {last_offset} does not match its last record's offset {record}"
            ),
            IssueKind::LastOffsetMismatch {
                last_offset,
                last_record_offset: None,
            } => write!(f, "batch last offset {last_offset} is below its base offset"),
            IssueKind::BadIndexEntry {
                index,
                entry,
                detail,
            } => write!(f, "{} entry {entry}: {detail}", index.suffix()),
            IssueKind::BadIndex { index, detail } => write!(f, "{} {detail}", index.suffix()),
        }
    }
}

/// One thing verification found, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Problem or warning.
    pub severity: Severity,
    /// The file it is in (the `.log`, or the index file for index issues).
    pub path: PathBuf,
    /// Byte position in that file, when it is about a place in it.
    pub position: Option<u64>,
    /// The offset of the batch or record concerned, when known.
    pub offset: Option<i64>,
    /// What was found.
    pub kind: IssueKind,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity.name(), self.path.display())?;
        if let Some(position) = self.position {
            write!(f, ": position {position}")?;
        }
        if let Some(offset) = self.offset {
            let sep = if self.position.is_some() { ", " } else { ": " };
            write!(f, "{sep}offset {offset}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

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
    fn new(segment: &Segment) -> Self {
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

    fn push(
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

    fn problem(&mut self, position: u64, offset: Option<i64>, kind: IssueKind) {
        let path = self.path.clone();
        self.push(Severity::Problem, &path, Some(position), offset, kind);
    }

    fn index_issue(
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
    fn index_status(&mut self, path: &Path, index: IndexKind, status: &IndexStatus, is_last: bool) {
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

/// Where a batch is and what it holds, for checking indexes against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchSummary {
    position: u64,
    /// First record's offset (the base offset for v2, and for an empty batch).
    first_offset: i64,
    last_offset: i64,
    /// Largest timestamp of the batch (header and records), -1 when none.
    max_timestamp: i64,
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
    fn verify_segment_and_indexes(
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

    fn verify_log(
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
struct IndexFiles {
    offset: PathBuf,
    time: PathBuf,
    txn: PathBuf,
}

/// The severity of an index entry that reaches past the log: a warning in
/// the last segment (a crash can leave index entries for a tail the log
/// lost), a problem elsewhere.
fn past_log(is_last: bool) -> Severity {
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
fn check_offset_index(
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
fn check_time_index(
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
fn check_txn_index(
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

/// Verifies every segment of a partition.
pub fn verify_partition(partition: &Partition, options: &VerifyOptions) -> Result<PartitionReport> {
    let mut verifier = PartitionVerifier::new(*options);
    let mut segments = Vec::with_capacity(partition.segments().len());
    for n in 0..partition.segments().len() {
        segments.push(verifier.verify_partition_segment(partition, n)?);
    }
    Ok(PartitionReport {
        topic_partition: partition.topic_partition().clone(),
        dir: partition.dir().to_path_buf(),
        segments,
    })
}

/// Verifies one segment file on its own (as the last segment of its
/// partition: a torn tail is a warning), with the index files beside it.
pub fn verify_segment_file(path: &Path, options: &VerifyOptions) -> Result<PartitionReport> {
    let segment = Segment::open(path, options.strategy)?;
    let mut verifier = PartitionVerifier::new(*options);
    let (offset, time, txn) = index_paths(path);
    let files = IndexFiles { offset, time, txn };
    let report = verifier.verify_segment_and_indexes(&segment, true, Some(&files));
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(PartitionReport {
        topic_partition: topic_partition_of_dir(&dir),
        dir,
        segments: vec![report],
    })
}

/// Verifies what `path` is: every partition of a log dir, one partition, or
/// one segment file.
pub fn verify_path(path: &LogPath, options: &VerifyOptions) -> Result<Vec<PartitionReport>> {
    match path {
        LogPath::LogDir(dir) => list_partitions(dir)?
            .iter()
            .map(|p| verify_partition(&Partition::open(p, options.read_options())?, options))
            .collect(),
        LogPath::PartitionDir(dir) => Ok(vec![verify_partition(
            &Partition::open(dir, options.read_options())?,
            options,
        )?]),
        LogPath::Segment(file) => Ok(vec![verify_segment_file(file, options)?]),
    }
}

/// The topic-partition a directory name says (`orders-3`), or the whole name
/// as the topic with partition 0, as [`crate::classify`] does.
fn topic_partition_of_dir(dir: &Path) -> TopicPartition {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .unwrap_or_default();
    TopicPartition::parse_dir_name(&name).unwrap_or_else(|| TopicPartition::new(name, 0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::mmap::Mapping;
    use crate::record::{crc32c, write_varint, write_varlong};

    /// A v2 batch (no compression, no producer) holding one record per
    /// offset delta, timestamps `base_timestamp + i`.
    fn batch(
        base_offset: i64,
        deltas: &[i32],
        last_offset_delta: i32,
        base_timestamp: i64,
    ) -> Vec<u8> {
        let mut records = Vec::new();
        for (i, &delta) in deltas.iter().enumerate() {
            let mut body = vec![0u8];
            write_varlong(i as i64, &mut body);
            write_varint(delta, &mut body);
            write_varint(1, &mut body);
            body.push(b'k');
            write_varint(1, &mut body);
            body.push(b'v');
            write_varint(0, &mut body);
            write_varint(body.len() as i32, &mut records);
            records.extend(body);
        }
        let mut b = Vec::new();
        b.extend(base_offset.to_be_bytes());
        b.extend(((49 + records.len()) as i32).to_be_bytes());
        b.extend(0i32.to_be_bytes());
        b.push(2);
        b.extend(0u32.to_be_bytes());
        b.extend(0i16.to_be_bytes());
        b.extend(last_offset_delta.to_be_bytes());
        b.extend(base_timestamp.to_be_bytes());
        b.extend((base_timestamp + deltas.len() as i64 - 1).to_be_bytes());
        b.extend((-1i64).to_be_bytes());
        b.extend((-1i16).to_be_bytes());
        b.extend((-1i32).to_be_bytes());
        b.extend((deltas.len() as i32).to_be_bytes());
        b.extend(records);
        let crc = crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// A batch of `n` consecutive offsets.
    fn plain(base_offset: i64, n: i32, base_timestamp: i64) -> Vec<u8> {
        let deltas: Vec<i32> = (0..n).collect();
        batch(base_offset, &deltas, n - 1, base_timestamp)
    }

    fn segment(base_offset: i64, batches: &[Vec<u8>]) -> Segment {
        Segment::from_mapping(
            format!("{base_offset:020}.log"),
            base_offset,
            Mapping::from_vec(batches.concat()),
        )
    }

    fn verify(segments: &[Segment]) -> Vec<SegmentReport> {
        let mut verifier = PartitionVerifier::new(VerifyOptions::default());
        segments
            .iter()
            .enumerate()
            .map(|(n, s)| verifier.verify_segment(s, n + 1 == segments.len()))
            .collect()
    }

    fn kinds(report: &SegmentReport) -> Vec<(&'static str, Severity)> {
        report
            .issues
            .iter()
            .map(|i| (i.kind.code(), i.severity))
            .collect()
    }

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
