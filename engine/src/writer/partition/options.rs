//! [`WriterOptions`](super::WriterOptions): how a writer lays out its partition.

use super::*;

/// How a [`PartitionWriter`] lays out its partition. `Default` is Kafka's
/// broker defaults, uncompressed, CreateTime, leader epoch 0, starting at
/// offset 0.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterOptions {
    /// Codec of the batches [`PartitionWriter::append`] and friends write.
    pub compression: Compression,
    /// Kafka's `segment.bytes`: a batch that would push the active segment
    /// past it goes to a new segment. At most `i32::MAX`.
    pub segment_bytes: u32,
    /// Kafka's `index.interval.bytes`: an index entry is added for the first
    /// batch appended after more than this many bytes since the last entry.
    pub index_interval_bytes: u32,
    /// Kafka's `segment.index.bytes`: index capacity (a full index rolls the
    /// segment) and the preallocated index size.
    pub max_index_bytes: u32,
    /// Base offset of the first segment of a new partition (a log whose
    /// earlier segments were deleted starts above 0).
    pub start_offset: i64,
    /// Leader epoch stamped on every batch the convenience methods write;
    /// `None` writes -1.
    pub partition_leader_epoch: Option<i32>,
    /// CreateTime, or LogAppendTime: batches then carry the broker's append
    /// time as `max_timestamp`, here the largest record timestamp so far.
    pub timestamp_type: TimestampType,
    /// Coordinator epoch written in markers by [`PartitionWriter::commit`]
    /// and [`PartitionWriter::abort`].
    pub coordinator_epoch: i32,
    /// Leave the last segment's `.index` and `.timeindex` at their full
    /// preallocated size, zero-filled past the entries and without the final
    /// time index entry, as a broker leaves an active segment (or a crash
    /// does). Rolled segments are trimmed either way, as Kafka trims them.
    pub preallocate_indexes: bool,
    /// Open a partition dir that already holds segments and append after its
    /// last batch. Without it, existing segments are an error.
    pub append: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression: Compression::None,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            max_index_bytes: DEFAULT_MAX_INDEX_BYTES,
            start_offset: 0,
            partition_leader_epoch: Some(0),
            timestamp_type: TimestampType::CreateTime,
            coordinator_epoch: 0,
            preallocate_indexes: false,
            append: false,
        }
    }
}
