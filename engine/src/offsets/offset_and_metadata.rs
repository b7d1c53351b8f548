//! One committed position, [`OffsetAndMetadata`], and the checks every
//! entry of a commit passes.

use super::names::short;
use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;

/// The largest metadata, in bytes, a commit may carry: Kafka's default
/// `offset.metadata.max.bytes`.
pub const MAX_METADATA_BYTES: usize = 4096;

/// A committed position: the next offset to read, with optional metadata
/// (Kafka's `OffsetAndMetadata`).
///
/// `metadata: None` and `Some("")` are different and both survive a round
/// trip through the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OffsetAndMetadata {
    /// The next offset to read (the last processed offset + 1), `>= 0`.
    pub offset: i64,
    /// Free-form text committed with the offset, at most
    /// [`MAX_METADATA_BYTES`] bytes.
    pub metadata: Option<String>,
}

impl OffsetAndMetadata {
    /// An offset without metadata.
    pub fn new(offset: i64) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: None,
        }
    }

    /// An offset with metadata.
    pub fn with_metadata(offset: i64, metadata: impl Into<String>) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: Some(metadata.into()),
        }
    }
}

/// Checks one entry of a commit.
pub(super) fn validate_entry(
    topic_partition: &TopicPartition,
    offset: &OffsetAndMetadata,
) -> Result<()> {
    if topic_partition.topic.is_empty() {
        return Err(Error::Config(
            "cannot commit an offset for an empty topic name".into(),
        ));
    }
    if topic_partition.partition < 0 {
        return Err(Error::Config(format!(
            "cannot commit an offset for negative partition {} of topic {:?}",
            topic_partition.partition,
            short(&topic_partition.topic)
        )));
    }
    if offset.offset < 0 {
        return Err(Error::Config(format!(
            "invalid negative offset {} for {}",
            offset.offset, topic_partition
        )));
    }
    if let Some(metadata) = &offset.metadata {
        if metadata.len() > MAX_METADATA_BYTES {
            return Err(Error::Config(format!(
                "offset metadata for {} is {} bytes, over the limit of {MAX_METADATA_BYTES} bytes",
                topic_partition,
                metadata.len()
            )));
        }
    }
    Ok(())
}
