//! Kafka's consumer groups as a log dir holds them: every
//! `__consumer_offsets-N` partition of one or more log dirs (a broker's
//! `log.dirs`), each compacted as its group coordinator loads it
//! ([`compacted_offsets`]), then merged. A group lives in one partition
//! (`abs(hash(group)) % partitions`), so the partitions do not overlap unless
//! the topic's partition count changed; then the latest commit of a
//! partition wins (by commit timestamp) and [`KafkaGroups::partitions_of`]
//! says where the group was found.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::compacted::{compacted_offsets, CommittedOffset, CompactedOffsets, ConsumerGroupView};
use super::consumer_offsets::GroupMetadataValue;
use crate::{list_partitions, Error, PartitionDir, ReadOptions};

/// Kafka's own topic of group state.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// A group's state as its coordinator would load it, Kafka's names in
/// lower case (as `kreplay group list` prints kreplay's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaGroupState {
    /// Metadata with members (the coordinator loads it `Stable` and waits
    /// for them to heartbeat).
    Stable,
    /// Metadata without members, or committed offsets and no metadata (a
    /// group whose consumers `assign` and commit).
    Empty,
    /// The group's metadata was deleted (a tombstone).
    Dead,
}

impl KafkaGroupState {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            KafkaGroupState::Stable => "stable",
            KafkaGroupState::Empty => "empty",
            KafkaGroupState::Dead => "dead",
        }
    }
}

/// One `__consumer_offsets` partition read.
#[derive(Debug, Clone)]
pub struct OffsetsPartition {
    /// Its directory.
    pub dir: PartitionDir,
    /// Its compacted view.
    pub view: CompactedOffsets,
}

/// Every `__consumer_offsets` partition of some log dirs, compacted.
#[derive(Debug, Clone, Default)]
pub struct KafkaGroups {
    /// The partitions, by partition number.
    pub partitions: Vec<OffsetsPartition>,
}

impl KafkaGroups {
    /// Reads every `__consumer_offsets-N` directory of `log_dirs`. The same
    /// partition in two of them is refused ([`Error::InvalidPath`]), as a
    /// broker refuses to start with it: give one broker's log dirs at a
    /// time. A record that breaks its schema is an error naming the file,
    /// the batch's byte position and the record's offset.
    pub fn load(log_dirs: &[PathBuf], options: ReadOptions) -> Result<KafkaGroups, Error> {
        let mut dirs: BTreeMap<i32, PartitionDir> = BTreeMap::new();
        for log_dir in log_dirs {
            for dir in list_partitions(log_dir)? {
                if dir.topic_partition.topic != CONSUMER_OFFSETS_TOPIC {
                    continue;
                }
                if let Some(first) = dirs.get(&dir.topic_partition.partition) {
                    return Err(Error::InvalidPath {
                        path: dir.path.clone(),
                        reason: format!(
                            "{} is also in {}: give the log dirs of one broker at a time",
                            dir.topic_partition,
                            first.path.display()
                        ),
                    });
                }
                dirs.insert(dir.topic_partition.partition, dir);
            }
        }
        let mut partitions = Vec::with_capacity(dirs.len());
        for dir in dirs.into_values() {
            let view = compacted_offsets(&dir, options)?;
            partitions.push(OffsetsPartition { dir, view });
        }
        Ok(KafkaGroups { partitions })
    }

    /// Every group id found: with committed offsets, metadata, a deleted
    /// metadata or pending transactional commits.
    pub fn group_ids(&self) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for p in &self.partitions {
            ids.extend(p.view.offsets.keys().map(|(g, _, _)| g.clone()));
            ids.extend(p.view.groups.keys().cloned());
            ids.extend(p.view.consumer_groups.keys().cloned());
            ids.extend(p.view.deleted_groups.iter().cloned());
            ids.extend(
                p.view
                    .pending
                    .values()
                    .flatten()
                    .map(|((g, _, _), _)| g.clone()),
            );
        }
        ids
    }

    /// The `__consumer_offsets` partitions that hold something of `group`
    /// (one, unless the topic's partition count changed).
    pub fn partitions_of(&self, group: &str) -> Vec<i32> {
        self.partitions
            .iter()
            .filter(|p| {
                p.view.groups.contains_key(group)
                    || p.view.consumer_groups.contains_key(group)
                    || p.view.deleted_groups.contains(group)
                    || p.view.offsets.keys().any(|(g, _, _)| g == group)
            })
            .map(|p| p.dir.topic_partition.partition)
            .collect()
    }

    /// `group`'s committed offsets: (topic, partition) → the commit and the
    /// `__consumer_offsets` partition it was read from. Found in several
    /// partitions, the latest commit timestamp wins.
    pub fn group_offsets(&self, group: &str) -> BTreeMap<(String, i32), (i32, &CommittedOffset)> {
        let mut merged: BTreeMap<(String, i32), (i32, &CommittedOffset)> = BTreeMap::new();
        for p in &self.partitions {
            let number = p.dir.topic_partition.partition;
            for (key, committed) in p.view.group_offsets(group) {
                let newer = merged.get(&key).is_none_or(|(_, current)| {
                    committed.value.commit_timestamp > current.value.commit_timestamp
                });
                if newer {
                    merged.insert(key, (number, committed));
                }
            }
        }
        merged
    }

    /// `group`'s last metadata, if one is in place.
    pub fn metadata(&self, group: &str) -> Option<&GroupMetadataValue> {
        self.partitions
            .iter()
            .find_map(|p| p.view.groups.get(group))
    }

    /// `group`'s KIP-848 (`consumer` protocol) records, if it has any.
    pub fn consumer_group(&self, group: &str) -> Option<&ConsumerGroupView> {
        self.partitions
            .iter()
            .find_map(|p| p.view.consumer_groups.get(group))
    }

    /// `group`'s state as its coordinator would load it, `None` for a group
    /// not found at all.
    pub fn state(&self, group: &str) -> Option<KafkaGroupState> {
        if let Some(metadata) = self.metadata(group) {
            return Some(if metadata.members.is_empty() {
                KafkaGroupState::Empty
            } else {
                KafkaGroupState::Stable
            });
        }
        if let Some(view) = self.consumer_group(group) {
            return Some(if view.members.is_empty() {
                KafkaGroupState::Empty
            } else {
                KafkaGroupState::Stable
            });
        }
        if self
            .partitions
            .iter()
            .any(|p| p.view.offsets.keys().any(|(g, _, _)| g == group))
        {
            return Some(KafkaGroupState::Empty);
        }
        if self
            .partitions
            .iter()
            .any(|p| p.view.deleted_groups.contains(group))
        {
            return Some(KafkaGroupState::Dead);
        }
        None
    }

    /// `group`'s transactional commits still waiting for their marker:
    /// (`__consumer_offsets` partition, producer id, topic, partition, the
    /// commit — `None` for a tombstone).
    pub fn pending(&self, group: &str) -> Vec<PendingCommit<'_>> {
        let mut found = Vec::new();
        for p in &self.partitions {
            for (&producer_id, commits) in &p.view.pending {
                for ((g, topic, partition), committed) in commits {
                    if g == group {
                        found.push(PendingCommit {
                            offsets_partition: p.dir.topic_partition.partition,
                            producer_id,
                            topic,
                            partition: *partition,
                            committed: committed.as_ref(),
                        });
                    }
                }
            }
        }
        found
    }
}

/// A transactional offset commit whose transaction has no marker yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingCommit<'a> {
    /// The `__consumer_offsets` partition holding it.
    pub offsets_partition: i32,
    /// The transaction's producer.
    pub producer_id: i64,
    /// The committed topic.
    pub topic: &'a str,
    /// The committed partition.
    pub partition: i32,
    /// The commit (`None`: a tombstone).
    pub committed: Option<&'a CommittedOffset>,
}
