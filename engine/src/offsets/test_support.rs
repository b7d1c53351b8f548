//! What the offsets store's unit tests share: a store in a temporary
//! dir and shorthands for partitions and commits.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::{OffsetAndMetadata, OffsetStore};
use crate::log_dir::TopicPartition;

pub(super) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

pub(super) fn store() -> (tempfile::TempDir, OffsetStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = OffsetStore::open(&dir.path().join("state"), &[]).unwrap();
    (dir, store)
}

pub(super) fn one(
    topic_partition: TopicPartition,
    offset: OffsetAndMetadata,
) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
    BTreeMap::from([(topic_partition, offset)])
}
