//! Records of Kafka's state topics, encoded as the broker writes them, for
//! [`PartitionWriter`](super::PartitionWriter): a `__consumer_offsets`
//! partition in tests and fixtures. Any record of `kreplay::state` encodes
//! with its own `encode`; these build the common ones.

use crate::state::consumer_offsets::{
    GroupMetadataKey, GroupMetadataValue, OffsetCommitKey, OffsetCommitValue, OffsetsKey,
    OffsetsValue,
};
use crate::state::wire::WireError;

/// A state record's key and value bytes (`None`: a tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// The key.
    pub key: Vec<u8>,
    /// The value, `None` for a tombstone.
    pub value: Option<Vec<u8>>,
}

impl StateRecord {
    /// Encodes a key and an optional value.
    pub fn new(key: &OffsetsKey, value: Option<&OffsetsValue>) -> Result<Self, WireError> {
        Ok(Self {
            key: key.encode()?,
            value: value.map(OffsetsValue::encode).transpose()?,
        })
    }

    /// The key as `RecordSpec::new` takes it.
    pub fn key(&self) -> Option<&[u8]> {
        Some(&self.key)
    }

    /// The value as `RecordSpec::new` takes it.
    pub fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }
}

fn commit_key(group: &str, topic: &str, partition: i32) -> OffsetsKey {
    OffsetsKey::OffsetCommit(OffsetCommitKey {
        version: 1,
        group: group.to_owned(),
        topic: topic.to_owned(),
        partition,
    })
}

/// An offset commit as Kafka 3.x writes it: key version 1, value version 3
/// (no leader epoch: −1).
pub fn offset_commit_record(
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
    metadata: &str,
    commit_timestamp: i64,
) -> Result<StateRecord, WireError> {
    let value = OffsetsValue::OffsetCommit(OffsetCommitValue {
        version: 3,
        offset,
        leader_epoch: -1,
        metadata: metadata.to_owned(),
        commit_timestamp,
        expire_timestamp: -1,
        unknown_tagged_fields: Vec::new(),
    });
    StateRecord::new(&commit_key(group, topic, partition), Some(&value))
}

/// The tombstone that deletes a group's committed offset for a partition.
pub fn offset_commit_tombstone(
    group: &str,
    topic: &str,
    partition: i32,
) -> Result<StateRecord, WireError> {
    StateRecord::new(&commit_key(group, topic, partition), None)
}

/// A classic group's metadata record (`value: None` for the tombstone that
/// deletes the group).
pub fn group_metadata_record(
    group: &str,
    value: Option<&GroupMetadataValue>,
) -> Result<StateRecord, WireError> {
    let key = OffsetsKey::GroupMetadata(GroupMetadataKey {
        group: group.to_owned(),
    });
    let value = value.cloned().map(OffsetsValue::GroupMetadata);
    StateRecord::new(&key, value.as_ref())
}
