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
//!
//! The code: `issue` holds what a report says ([`Severity`], [`IssueKind`],
//! [`Issue`]); `report` the reports and their totals; `verifier` the
//! [`PartitionVerifier`], which walks a segment's batches and records;
//! `indexes` the checks of the index files against what it found. This
//! file holds [`VerifyOptions`] and the entry points.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::Path;

use crate::error::Result;
use crate::index::index_paths;
use crate::log_dir::{list_partitions, LogPath, TopicPartition};
use crate::mmap::ReadStrategy;
use crate::partition::{Partition, ReadOptions};
use crate::record::DEFAULT_MAX_INFLATED_BYTES;
use crate::segment::Segment;

mod indexes;
mod issue;
mod report;
#[cfg(test)]
mod test_support;
mod verifier;

pub use issue::{IndexKind, Issue, IssueKind, Severity};
pub use report::{PartitionReport, SegmentReport, VerifySummary};
pub use verifier::PartitionVerifier;

use verifier::IndexFiles;

/// How to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    // A path in object storage has no canonical form: its own name counts.
    let name = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .unwrap_or_default();
    TopicPartition::parse_dir_name(&name).unwrap_or_else(|| TopicPartition::new(name, 0))
}
