//! The KIP-848 consumer group records of `__consumer_offsets` (record types
//! 3–8: `ConsumerGroup{Metadata, PartitionMetadata, MemberMetadata,
//! TargetAssignmentMetadata, TargetAssignmentMember,
//! CurrentMemberAssignment}{Key,Value}.json`). Keys are not flexible; every
//! value is version 0, flexible (compact strings and arrays, tagged fields).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::{json, Map, Value};

use super::wire::{RawTaggedField, Reader, WireError, Writer};
use super::{read_tags, read_unknown_tags, tagged_json, uuid_json, write_tags};

/// A KIP-848 record's key: the group, and the member for member records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerGroupKey {
    /// 3: `ConsumerGroupMetadataKey`.
    Metadata {
        /// `GroupId`.
        group_id: String,
    },
    /// 4: `ConsumerGroupPartitionMetadataKey`.
    PartitionMetadata {
        /// `GroupId`.
        group_id: String,
    },
    /// 5: `ConsumerGroupMemberMetadataKey`.
    MemberMetadata {
        /// `GroupId`.
        group_id: String,
        /// `MemberId`.
        member_id: String,
    },
    /// 6: `ConsumerGroupTargetAssignmentMetadataKey`.
    TargetAssignmentMetadata {
        /// `GroupId`.
        group_id: String,
    },
    /// 7: `ConsumerGroupTargetAssignmentMemberKey`.
    TargetAssignmentMember {
        /// `GroupId`.
        group_id: String,
        /// `MemberId`.
        member_id: String,
    },
    /// 8: `ConsumerGroupCurrentMemberAssignmentKey`.
    CurrentMemberAssignment {
        /// `GroupId`.
        group_id: String,
        /// `MemberId`.
        member_id: String,
    },
}

impl ConsumerGroupKey {
    /// Reads the key after its version; `None` when the version is not 3–8.
    pub(super) fn read(version: i16, r: &mut Reader<'_>) -> Result<Option<Self>, WireError> {
        if !(3..=8).contains(&version) {
            return Ok(None);
        }
        let group_id = r.string("GroupId")?.to_owned();
        let member = |r: &mut Reader<'_>| r.string("MemberId").map(str::to_owned);
        Ok(Some(match version {
            3 => Self::Metadata { group_id },
            4 => Self::PartitionMetadata { group_id },
            5 => Self::MemberMetadata {
                group_id,
                member_id: member(r)?,
            },
            6 => Self::TargetAssignmentMetadata { group_id },
            7 => Self::TargetAssignmentMember {
                group_id,
                member_id: member(r)?,
            },
            _ => Self::CurrentMemberAssignment {
                group_id,
                member_id: member(r)?,
            },
        }))
    }

    /// The record type.
    pub fn version(&self) -> i16 {
        match self {
            Self::Metadata { .. } => 3,
            Self::PartitionMetadata { .. } => 4,
            Self::MemberMetadata { .. } => 5,
            Self::TargetAssignmentMetadata { .. } => 6,
            Self::TargetAssignmentMember { .. } => 7,
            Self::CurrentMemberAssignment { .. } => 8,
        }
    }

    /// `GroupId`.
    pub fn group_id(&self) -> &str {
        match self {
            Self::Metadata { group_id }
            | Self::PartitionMetadata { group_id }
            | Self::MemberMetadata { group_id, .. }
            | Self::TargetAssignmentMetadata { group_id }
            | Self::TargetAssignmentMember { group_id, .. }
            | Self::CurrentMemberAssignment { group_id, .. } => group_id,
        }
    }

    /// `MemberId`, for member records.
    pub fn member_id(&self) -> Option<&str> {
        match self {
            Self::MemberMetadata { member_id, .. }
            | Self::TargetAssignmentMember { member_id, .. }
            | Self::CurrentMemberAssignment { member_id, .. } => Some(member_id),
            _ => None,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Self::Metadata { .. } => "consumer_group_metadata",
            Self::PartitionMetadata { .. } => "consumer_group_partition_metadata",
            Self::MemberMetadata { .. } => "consumer_group_member_metadata",
            Self::TargetAssignmentMetadata { .. } => "consumer_group_target_assignment_metadata",
            Self::TargetAssignmentMember { .. } => "consumer_group_target_assignment_member",
            Self::CurrentMemberAssignment { .. } => "consumer_group_current_member_assignment",
        }
    }

    pub(super) fn write(&self, w: &mut Writer) {
        w.i16(self.version()).string("GroupId", self.group_id());
        if let Some(member_id) = self.member_id() {
            w.string("MemberId", member_id);
        }
    }

    pub(super) fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), json!(self.type_name()));
        o.insert("version".into(), json!(self.version()));
        o.insert("GroupId".into(), json!(self.group_id()));
        if let Some(member_id) = self.member_id() {
            o.insert("MemberId".into(), json!(member_id));
        }
        Value::Object(o)
    }
}

/// A topic id and partitions (`TopicPartition(s)` in the assignment records).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicIdPartitions {
    /// `TopicId`.
    pub topic_id: [u8; 16],
    /// `Partitions`.
    pub partitions: Vec<i32>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl TopicIdPartitions {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Self {
            topic_id: r.uuid("TopicId")?,
            partitions: r.array_of("Partitions", true, 4, |r| r.i32("Partitions[]"))?,
            unknown_tagged_fields: read_unknown_tags(r, &[])?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.uuid(&self.topic_id);
        w.array_of("Partitions", &self.partitions, true, |w, p| {
            w.i32(*p);
        });
        write_tags(w, Vec::new(), &self.unknown_tagged_fields);
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("TopicId".into(), uuid_json(&self.topic_id));
        o.insert("Partitions".into(), json!(self.partitions));
        tagged_json(&mut o, &self.unknown_tagged_fields);
        Value::Object(o)
    }
}

/// `TopicMetadata` of a `ConsumerGroupPartitionMetadataValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicMetadata {
    /// `TopicId`.
    pub topic_id: [u8; 16],
    /// `TopicName`.
    pub topic_name: String,
    /// `NumPartitions`.
    pub num_partitions: i32,
    /// `PartitionMetadata`: (`Partition`, `Racks`).
    pub partition_metadata: Vec<(i32, Vec<String>)>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `ClassicMemberMetadata` (tag 0 of `ConsumerGroupMemberMetadataValue`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassicMemberMetadata {
    /// `SessionTimeoutMs`.
    pub session_timeout_ms: i32,
    /// `SupportedProtocols`: (`Name`, `Metadata`).
    pub supported_protocols: Vec<(String, Vec<u8>)>,
}

/// `ConsumerGroupMemberMetadataValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMetadataValue {
    /// `InstanceId` (nullable).
    pub instance_id: Option<String>,
    /// `RackId` (nullable).
    pub rack_id: Option<String>,
    /// `ClientId`.
    pub client_id: String,
    /// `ClientHost`.
    pub client_host: String,
    /// `SubscribedTopicNames`.
    pub subscribed_topic_names: Vec<String>,
    /// `SubscribedTopicRegex` (nullable).
    pub subscribed_topic_regex: Option<String>,
    /// `RebalanceTimeoutMs`.
    pub rebalance_timeout_ms: i32,
    /// `ServerAssignor` (nullable).
    pub server_assignor: Option<String>,
    /// `ClassicMemberMetadata` (tagged field 0).
    pub classic_member_metadata: Option<ClassicMemberMetadata>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `ConsumerGroupCurrentMemberAssignmentValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentMemberAssignmentValue {
    /// `MemberEpoch`.
    pub member_epoch: i32,
    /// `PreviousMemberEpoch`.
    pub previous_member_epoch: i32,
    /// `State`.
    pub state: i8,
    /// `AssignedPartitions`.
    pub assigned_partitions: Vec<TopicIdPartitions>,
    /// `PartitionsPendingRevocation`.
    pub partitions_pending_revocation: Vec<TopicIdPartitions>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A KIP-848 record's value (version 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerGroupValue {
    /// `ConsumerGroupMetadataValue`: `Epoch`.
    Metadata {
        /// `Epoch`.
        epoch: i32,
        /// Unknown tagged fields.
        unknown_tagged_fields: Vec<RawTaggedField>,
    },
    /// `ConsumerGroupPartitionMetadataValue`: `Topics`.
    PartitionMetadata {
        /// `Topics`.
        topics: Vec<TopicMetadata>,
        /// Unknown tagged fields.
        unknown_tagged_fields: Vec<RawTaggedField>,
    },
    /// `ConsumerGroupMemberMetadataValue`.
    MemberMetadata(MemberMetadataValue),
    /// `ConsumerGroupTargetAssignmentMetadataValue`: `AssignmentEpoch`.
    TargetAssignmentMetadata {
        /// `AssignmentEpoch`.
        assignment_epoch: i32,
        /// Unknown tagged fields.
        unknown_tagged_fields: Vec<RawTaggedField>,
    },
    /// `ConsumerGroupTargetAssignmentMemberValue`: `TopicPartitions`.
    TargetAssignmentMember {
        /// `TopicPartitions`.
        topic_partitions: Vec<TopicIdPartitions>,
        /// Unknown tagged fields.
        unknown_tagged_fields: Vec<RawTaggedField>,
    },
    /// `ConsumerGroupCurrentMemberAssignmentValue`.
    CurrentMemberAssignment(CurrentMemberAssignmentValue),
}

fn opt_string(r: &mut Reader<'_>, field: &'static str) -> Result<Option<String>, WireError> {
    Ok(r.compact_nullable_string(field)?.map(str::to_owned))
}

fn string(r: &mut Reader<'_>, field: &'static str) -> Result<String, WireError> {
    Ok(r.compact_string(field)?.to_owned())
}

fn strings(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<String>, WireError> {
    r.array_of(field, true, 1, |r| string(r, field))
}

fn write_strings(w: &mut Writer, field: &'static str, items: &[String]) {
    w.array_of(field, items, true, |w, s| {
        w.compact_string(field, s);
    });
}

impl ClassicMemberMetadata {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let session_timeout_ms = r.i32("ClassicMemberMetadata.SessionTimeoutMs")?;
        let supported_protocols = r.array_of("SupportedProtocols", true, 3, |r| {
            let name = string(r, "SupportedProtocols[].Name")?;
            let metadata = r.compact_bytes("SupportedProtocols[].Metadata")?.to_vec();
            read_unknown_tags(r, &[])?;
            Ok((name, metadata))
        })?;
        read_unknown_tags(r, &[])?;
        Ok(Self {
            session_timeout_ms,
            supported_protocols,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.i32(self.session_timeout_ms);
        w.array_of(
            "SupportedProtocols",
            &self.supported_protocols,
            true,
            |w, (n, m)| {
                w.compact_string("Name", n)
                    .bytes_as("Metadata", m, true)
                    .no_tagged_fields();
            },
        );
        w.no_tagged_fields();
        w.finish().unwrap_or_default()
    }
}

impl ConsumerGroupValue {
    pub(super) fn read(key: &ConsumerGroupKey, r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(match key {
            ConsumerGroupKey::Metadata { .. } => Self::Metadata {
                epoch: r.i32("Epoch")?,
                unknown_tagged_fields: read_unknown_tags(r, &[])?,
            },
            ConsumerGroupKey::PartitionMetadata { .. } => Self::PartitionMetadata {
                topics: r.array_of("Topics", true, 23, |r| {
                    Ok(TopicMetadata {
                        topic_id: r.uuid("Topics[].TopicId")?,
                        topic_name: string(r, "Topics[].TopicName")?,
                        num_partitions: r.i32("Topics[].NumPartitions")?,
                        partition_metadata: r.array_of("PartitionMetadata", true, 6, |r| {
                            let partition = r.i32("PartitionMetadata[].Partition")?;
                            let racks = strings(r, "PartitionMetadata[].Racks")?;
                            read_unknown_tags(r, &[])?;
                            Ok((partition, racks))
                        })?,
                        unknown_tagged_fields: read_unknown_tags(r, &[])?,
                    })
                })?,
                unknown_tagged_fields: read_unknown_tags(r, &[])?,
            },
            ConsumerGroupKey::MemberMetadata { .. } => {
                let mut v = MemberMetadataValue {
                    instance_id: opt_string(r, "InstanceId")?,
                    rack_id: opt_string(r, "RackId")?,
                    client_id: string(r, "ClientId")?,
                    client_host: string(r, "ClientHost")?,
                    subscribed_topic_names: strings(r, "SubscribedTopicNames")?,
                    subscribed_topic_regex: opt_string(r, "SubscribedTopicRegex")?,
                    rebalance_timeout_ms: r.i32("RebalanceTimeoutMs")?,
                    server_assignor: opt_string(r, "ServerAssignor")?,
                    ..MemberMetadataValue::default()
                };
                let (known, unknown) = read_tags(r, &[0])?;
                for field in known {
                    v.classic_member_metadata =
                        Some(ClassicMemberMetadata::read(&mut field.reader())?);
                }
                v.unknown_tagged_fields = unknown;
                Self::MemberMetadata(v)
            }
            ConsumerGroupKey::TargetAssignmentMetadata { .. } => Self::TargetAssignmentMetadata {
                assignment_epoch: r.i32("AssignmentEpoch")?,
                unknown_tagged_fields: read_unknown_tags(r, &[])?,
            },
            ConsumerGroupKey::TargetAssignmentMember { .. } => Self::TargetAssignmentMember {
                topic_partitions: r.array_of(
                    "TopicPartitions",
                    true,
                    18,
                    TopicIdPartitions::read,
                )?,
                unknown_tagged_fields: read_unknown_tags(r, &[])?,
            },
            ConsumerGroupKey::CurrentMemberAssignment { .. } => {
                Self::CurrentMemberAssignment(CurrentMemberAssignmentValue {
                    member_epoch: r.i32("MemberEpoch")?,
                    previous_member_epoch: r.i32("PreviousMemberEpoch")?,
                    state: r.i8("State")?,
                    assigned_partitions: r.array_of(
                        "AssignedPartitions",
                        true,
                        18,
                        TopicIdPartitions::read,
                    )?,
                    partitions_pending_revocation: r.array_of(
                        "PartitionsPendingRevocation",
                        true,
                        18,
                        TopicIdPartitions::read,
                    )?,
                    unknown_tagged_fields: read_unknown_tags(r, &[])?,
                })
            }
        })
    }

    /// Writes the value, version (0) first.
    pub fn write(&self, w: &mut Writer) {
        w.i16(0);
        match self {
            Self::Metadata {
                epoch,
                unknown_tagged_fields,
            }
            | Self::TargetAssignmentMetadata {
                assignment_epoch: epoch,
                unknown_tagged_fields,
            } => {
                w.i32(*epoch);
                write_tags(w, Vec::new(), unknown_tagged_fields);
            }
            Self::PartitionMetadata {
                topics,
                unknown_tagged_fields,
            } => {
                w.array_of("Topics", topics, true, |w, t| {
                    w.uuid(&t.topic_id)
                        .compact_string("TopicName", &t.topic_name);
                    w.i32(t.num_partitions);
                    w.array_of(
                        "PartitionMetadata",
                        &t.partition_metadata,
                        true,
                        |w, (p, racks)| {
                            w.i32(*p);
                            write_strings(w, "Racks", racks);
                            w.no_tagged_fields();
                        },
                    );
                    write_tags(w, Vec::new(), &t.unknown_tagged_fields);
                });
                write_tags(w, Vec::new(), unknown_tagged_fields);
            }
            Self::MemberMetadata(v) => {
                w.nullable_string_as("InstanceId", v.instance_id.as_deref(), true);
                w.nullable_string_as("RackId", v.rack_id.as_deref(), true);
                w.compact_string("ClientId", &v.client_id);
                w.compact_string("ClientHost", &v.client_host);
                write_strings(w, "SubscribedTopicNames", &v.subscribed_topic_names);
                w.nullable_string_as(
                    "SubscribedTopicRegex",
                    v.subscribed_topic_regex.as_deref(),
                    true,
                );
                w.i32(v.rebalance_timeout_ms);
                w.nullable_string_as("ServerAssignor", v.server_assignor.as_deref(), true);
                let known = v
                    .classic_member_metadata
                    .iter()
                    .map(|c| (0, c.encode()))
                    .collect();
                write_tags(w, known, &v.unknown_tagged_fields);
            }
            Self::TargetAssignmentMember {
                topic_partitions,
                unknown_tagged_fields,
            } => {
                w.array_of("TopicPartitions", topic_partitions, true, |w, tp| {
                    tp.write(w)
                });
                write_tags(w, Vec::new(), unknown_tagged_fields);
            }
            Self::CurrentMemberAssignment(v) => {
                w.i32(v.member_epoch)
                    .i32(v.previous_member_epoch)
                    .i8(v.state);
                w.array_of(
                    "AssignedPartitions",
                    &v.assigned_partitions,
                    true,
                    |w, tp| tp.write(w),
                );
                let pending = &v.partitions_pending_revocation;
                w.array_of("PartitionsPendingRevocation", pending, true, |w, tp| {
                    tp.write(w)
                });
                write_tags(w, Vec::new(), &v.unknown_tagged_fields);
            }
        }
    }

    pub(super) fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("version".into(), json!(0));
        let tps = |v: &[TopicIdPartitions]| {
            Value::Array(v.iter().map(TopicIdPartitions::to_json).collect())
        };
        let unknown = match self {
            Self::Metadata {
                epoch,
                unknown_tagged_fields,
            } => {
                o.insert("Epoch".into(), json!(epoch));
                unknown_tagged_fields
            }
            Self::TargetAssignmentMetadata {
                assignment_epoch,
                unknown_tagged_fields,
            } => {
                o.insert("AssignmentEpoch".into(), json!(assignment_epoch));
                unknown_tagged_fields
            }
            Self::PartitionMetadata {
                topics,
                unknown_tagged_fields,
            } => {
                let topics = topics.iter().map(|t| {
                    let mut m = Map::new();
                    m.insert("TopicId".into(), uuid_json(&t.topic_id));
                    m.insert("TopicName".into(), json!(t.topic_name));
                    m.insert("NumPartitions".into(), json!(t.num_partitions));
                    let pm = t
                        .partition_metadata
                        .iter()
                        .map(|(p, racks)| json!({"Partition": p, "Racks": racks}));
                    m.insert("PartitionMetadata".into(), Value::Array(pm.collect()));
                    tagged_json(&mut m, &t.unknown_tagged_fields);
                    Value::Object(m)
                });
                o.insert("Topics".into(), Value::Array(topics.collect()));
                unknown_tagged_fields
            }
            Self::MemberMetadata(v) => {
                o.insert("InstanceId".into(), json!(v.instance_id));
                o.insert("RackId".into(), json!(v.rack_id));
                o.insert("ClientId".into(), json!(v.client_id));
                o.insert("ClientHost".into(), json!(v.client_host));
                o.insert(
                    "SubscribedTopicNames".into(),
                    json!(v.subscribed_topic_names),
                );
                o.insert(
                    "SubscribedTopicRegex".into(),
                    json!(v.subscribed_topic_regex),
                );
                o.insert("RebalanceTimeoutMs".into(), json!(v.rebalance_timeout_ms));
                o.insert("ServerAssignor".into(), json!(v.server_assignor));
                let classic = v.classic_member_metadata.as_ref().map(|c| {
                    let protocols = c.supported_protocols.iter().map(|(n, m)| json!({"Name": n, "Metadata": super::base64(m)}));
                    json!({"SessionTimeoutMs": c.session_timeout_ms, "SupportedProtocols": Value::Array(protocols.collect())})
                });
                o.insert("ClassicMemberMetadata".into(), json!(classic));
                &v.unknown_tagged_fields
            }
            Self::TargetAssignmentMember {
                topic_partitions,
                unknown_tagged_fields,
            } => {
                o.insert("TopicPartitions".into(), tps(topic_partitions));
                unknown_tagged_fields
            }
            Self::CurrentMemberAssignment(v) => {
                o.insert("MemberEpoch".into(), json!(v.member_epoch));
                o.insert("PreviousMemberEpoch".into(), json!(v.previous_member_epoch));
                o.insert("State".into(), json!(v.state));
                o.insert("AssignedPartitions".into(), tps(&v.assigned_partitions));
                o.insert(
                    "PartitionsPendingRevocation".into(),
                    tps(&v.partitions_pending_revocation),
                );
                &v.unknown_tagged_fields
            }
        };
        tagged_json(&mut o, unknown);
        Value::Object(o)
    }
}
