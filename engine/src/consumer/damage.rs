//! Damage the consumer stepped over: a segment that ends in a partial batch
//! although a later segment follows (a truncated or torn segment in the
//! middle of a log). Kafka's log recovery would truncate the log there and
//! drop every later segment; a replay of a damaged copy serves what is valid
//! instead, and says what it could not serve.
//!
//! Damage is found at segment boundaries, never per record. What to do with
//! it is the caller's [`OnDamage`] policy: report it and go on with the next
//! segment ([`Consumer::take_damage`](super::Consumer::take_damage)), or
//! stop there with an [`Error::Corrupt`](crate::Error::Corrupt).

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use crate::error::Corruption;
use crate::log_dir::TopicPartition;

/// What the consumer does on damage between segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDamage {
    /// Serve the next segment and report the damage through
    /// [`Consumer::take_damage`](super::Consumer::take_damage) (the default:
    /// no valid record is withheld, no gap passes unreported).
    #[default]
    Skip,
    /// Raise an [`Error::Corrupt`](crate::Error::Corrupt) at the damage, once
    /// the records before it are returned, like a corrupt batch.
    Stop,
}

/// A stretch of a partition the consumer could not read and stepped over.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damage {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// The damaged segment file.
    pub path: PathBuf,
    /// Byte position in that file where the unreadable bytes start.
    pub position: u64,
    /// The offsets that could not be read (between the last complete batch
    /// and the next segment's base offset); `None` when no offset is missing.
    pub missing_offsets: Option<RangeInclusive<i64>>,
    /// What is wrong there.
    pub kind: Corruption,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: position {}: {}",
            self.path.display(),
            self.position,
            self.kind
        )?;
        match &self.missing_offsets {
            Some(missing) => write!(
                f,
                "; offsets {}..={} of {} missing, skipped to the next segment",
                missing.start(),
                missing.end(),
                self.topic_partition
            ),
            None => write!(f, "; no offset missing, continued with the next segment"),
        }
    }
}
