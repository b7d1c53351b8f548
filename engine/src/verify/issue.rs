//! What a verification report says: [`Severity`], [`IndexKind`],
//! [`IssueKind`] (each kind with a stable code) and [`Issue`], which names
//! the file, the byte position and the offset.

use std::fmt;
use std::path::PathBuf;

use crate::error::Corruption;
use crate::segment::TornTail;

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
