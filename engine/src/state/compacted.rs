//! The compacted view of a `__consumer_offsets` partition: what a group
//! coordinator loads from it. Records apply in log order; the last value per
//! key wins and a tombstone deletes its key. Offsets committed inside a
//! transaction (`sendOffsetsToTransaction`) wait for their producer's
//! marker: COMMIT applies them (unless a later commit of the same partition
//! is already in place, as Kafka's `GroupMetadata` decides), ABORT drops them.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use super::consumer_group::{
    ConsumerGroupKey, ConsumerGroupValue, CurrentMemberAssignmentValue, MemberMetadataValue,
};
use super::consumer_offsets::{
    decode_offsets_record, GroupMetadataValue, OffsetCommitValue, OffsetsKey, OffsetsRecord,
    OffsetsValue,
};
use crate::{ControlRecordType, Corruption, Error, Partition, PartitionDir, ReadOptions};

/// A group's committed offset for one partition, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The commit's value (`offset` is the next offset the group reads).
    pub value: OffsetCommitValue,
    /// The `__consumer_offsets` offset of the record that wrote it.
    pub record_offset: i64,
}

/// A KIP-848 consumer group as its last records leave it (record types 3,
/// 5 and 8; the partition metadata and target assignment records are not
/// kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerGroupView {
    /// The group epoch (`ConsumerGroupMetadataValue`), once one is recorded.
    pub epoch: Option<i32>,
    /// The members by member id.
    pub members: BTreeMap<String, ConsumerGroupMember>,
}

/// A KIP-848 group member's last records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerGroupMember {
    /// Its subscription and client (`ConsumerGroupMemberMetadataValue`).
    pub metadata: Option<MemberMetadataValue>,
    /// Its epoch and partitions (`ConsumerGroupCurrentMemberAssignmentValue`).
    pub assignment: Option<CurrentMemberAssignmentValue>,
}

/// (group, topic, partition).
pub type GroupTopicPartition = (String, String, i32);

/// What a `__consumer_offsets` partition says once compacted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactedOffsets {
    /// Committed offsets by (group, topic, partition).
    pub offsets: BTreeMap<GroupTopicPartition, CommittedOffset>,
    /// Each classic group's last metadata.
    pub groups: BTreeMap<String, GroupMetadataValue>,
    /// KIP-848 consumer groups (the `consumer` protocol's records).
    pub consumer_groups: BTreeMap<String, ConsumerGroupView>,
    /// Groups whose last metadata record is a tombstone (Kafka's `Dead`).
    pub deleted_groups: BTreeSet<String>,
    /// Transactional commits still waiting for a marker, by producer id.
    pub pending: BTreeMap<i64, Vec<(GroupTopicPartition, Option<CommittedOffset>)>>,
    /// Warnings of the records read (unknown versions kept raw), with their offsets.
    pub warnings: Vec<(i64, String)>,
}

impl CompactedOffsets {
    /// An empty view.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one data record at `record_offset`; `producer_id` is its
    /// batch's producer when the batch is transactional.
    pub fn apply(&mut self, record_offset: i64, record: &OffsetsRecord, producer_id: Option<i64>) {
        self.warnings
            .extend(record.warnings.iter().map(|w| (record_offset, w.clone())));
        match (&record.key, &record.value) {
            (OffsetsKey::OffsetCommit(k), value) => {
                let key = (k.group.clone(), k.topic.clone(), k.partition);
                let committed = match value {
                    Some(OffsetsValue::OffsetCommit(v)) => Some(CommittedOffset {
                        value: v.clone(),
                        record_offset,
                    }),
                    // A value this decoder does not know: leave the key as it was.
                    Some(_) => return,
                    None => None,
                };
                match producer_id {
                    Some(pid) => self.pending.entry(pid).or_default().push((key, committed)),
                    None => self.set(key, committed),
                }
            }
            (OffsetsKey::GroupMetadata(k), Some(OffsetsValue::GroupMetadata(v))) => {
                self.deleted_groups.remove(&k.group);
                self.groups.insert(k.group.clone(), v.clone());
            }
            (OffsetsKey::GroupMetadata(k), None) => {
                self.groups.remove(&k.group);
                self.deleted_groups.insert(k.group.clone());
            }
            (OffsetsKey::ConsumerGroup(k), value) => self.apply_consumer_group(k, value.as_ref()),
            _ => {}
        }
    }

    /// A KIP-848 record: the group's epoch and members as the coordinator
    /// replays them (a tombstone of the group's metadata deletes the group,
    /// of a member's metadata the member, of its assignment the assignment).
    fn apply_consumer_group(&mut self, key: &ConsumerGroupKey, value: Option<&OffsetsValue>) {
        let value = match value {
            Some(OffsetsValue::ConsumerGroup(v)) => Some(v),
            // A value this decoder does not know: leave the key as it was.
            Some(_) => return,
            None => None,
        };
        match (key, value) {
            (
                ConsumerGroupKey::Metadata { group_id },
                Some(ConsumerGroupValue::Metadata { epoch, .. }),
            ) => {
                self.deleted_groups.remove(group_id);
                self.consumer_groups
                    .entry(group_id.clone())
                    .or_default()
                    .epoch = Some(*epoch);
            }
            (ConsumerGroupKey::Metadata { group_id }, None) => {
                self.consumer_groups.remove(group_id);
                self.deleted_groups.insert(group_id.clone());
            }
            (
                ConsumerGroupKey::MemberMetadata {
                    group_id,
                    member_id,
                },
                Some(ConsumerGroupValue::MemberMetadata(v)),
            ) => {
                let group = self.consumer_groups.entry(group_id.clone()).or_default();
                group.members.entry(member_id.clone()).or_default().metadata = Some(v.clone());
            }
            (
                ConsumerGroupKey::MemberMetadata {
                    group_id,
                    member_id,
                },
                None,
            ) => {
                if let Some(group) = self.consumer_groups.get_mut(group_id) {
                    group.members.remove(member_id);
                }
            }
            (
                ConsumerGroupKey::CurrentMemberAssignment {
                    group_id,
                    member_id,
                },
                Some(ConsumerGroupValue::CurrentMemberAssignment(v)),
            ) => {
                let group = self.consumer_groups.entry(group_id.clone()).or_default();
                group
                    .members
                    .entry(member_id.clone())
                    .or_default()
                    .assignment = Some(v.clone());
            }
            (
                ConsumerGroupKey::CurrentMemberAssignment {
                    group_id,
                    member_id,
                },
                None,
            ) => {
                if let Some(member) = self
                    .consumer_groups
                    .get_mut(group_id)
                    .and_then(|g| g.members.get_mut(member_id))
                {
                    member.assignment = None;
                }
            }
            _ => {}
        }
    }

    fn set(&mut self, key: GroupTopicPartition, committed: Option<CommittedOffset>) {
        match committed {
            Some(c) => {
                self.offsets.insert(key, c);
            }
            None => {
                self.offsets.remove(&key);
            }
        }
    }

    /// Applies a transaction marker of `producer_id`.
    pub fn end_transaction(&mut self, producer_id: i64, commit: bool) {
        let Some(pending) = self.pending.remove(&producer_id) else {
            return;
        };
        if !commit {
            return;
        }
        for (key, committed) in pending {
            let newer_in_place = match (&committed, self.offsets.get(&key)) {
                (Some(c), Some(current)) => current.record_offset > c.record_offset,
                _ => false,
            };
            if !newer_in_place {
                self.set(key, committed);
            }
        }
    }

    /// The committed offsets of one group: (topic, partition) → offset.
    pub fn group_offsets(&self, group: &str) -> BTreeMap<(String, i32), &CommittedOffset> {
        self.offsets
            .iter()
            .filter(|((g, _, _), _)| g == group)
            .map(|((_, t, p), c)| ((t.clone(), *p), c))
            .collect()
    }
}

/// Reads a whole `__consumer_offsets` partition into its compacted view. A
/// record that breaks its schema is an error naming the file, the batch's
/// byte position, the record's offset and the field.
pub fn compacted_offsets(
    dir: &PartitionDir,
    options: ReadOptions,
) -> Result<CompactedOffsets, Error> {
    let partition = Partition::open(dir, options)?;
    let mut inflater = options.inflater();
    let mut view = CompactedOffsets::new();
    for n in 0..partition.segments().len() {
        let segment = partition.open_segment(n)?;
        for batch in segment.batches_from(0, options.check_crcs) {
            let batch = batch?;
            let corrupt = |offset: i64, kind| segment.corrupt(batch.position, Some(offset), kind);
            let producer_id = if batch.is_transactional() {
                batch.producer_id()
            } else {
                None
            };
            let records = batch
                .records(&mut inflater)
                .map_err(|kind| corrupt(batch.base_offset(), kind))?;
            for record in records {
                let record = record.map_err(|kind| corrupt(batch.base_offset(), kind))?;
                if let Some(control) = record.control_type() {
                    if let (Some(pid), ControlRecordType::Commit | ControlRecordType::Abort) =
                        (batch.producer_id(), control)
                    {
                        view.end_transaction(pid, control == ControlRecordType::Commit);
                    }
                    continue;
                }
                let decoded = decode_offsets_record(record.key(), record.value()).map_err(|e| {
                    corrupt(
                        record.offset(),
                        Corruption::Malformed {
                            what: "__consumer_offsets record",
                            detail: e.to_string(),
                        },
                    )
                })?;
                view.apply(record.offset(), &decoded, producer_id);
            }
        }
    }
    Ok(view)
}
