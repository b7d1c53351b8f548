//! `__consumer_offsets` records, decoded from their key and value bytes as
//! Kafka's group coordinator writes them (`group-coordinator/src/main/
//! resources/common/message/*.json`).
//!
//! The key's leading int16 is the record type: 0 and 1 an offset commit
//! (`OffsetCommitKey`), 2 a classic group's metadata (`GroupMetadataKey`),
//! 3–8 the KIP-848 consumer group records ([`super::consumer_group`]). The
//! value's leading int16 is its own version. A null value is a tombstone.
//! A key or value version this decoder does not know is kept raw with a
//! warning; bytes that break a known version's layout are an error.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::{json, Map, Value};

use super::consumer_group::{ConsumerGroupKey, ConsumerGroupValue};
use super::consumer_protocol::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use super::wire::{RawTaggedField, Reader, WireError, Writer};
use super::{base64, raw_json, read_unknown_tags, tagged_json, write_tags, Part, StateError};

/// `OffsetCommitKey` (record types 0 and 1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetCommitKey {
    /// The record type: 0 or 1 (same layout).
    pub version: i16,
    /// `group`.
    pub group: String,
    /// `topic`.
    pub topic: String,
    /// `partition`.
    pub partition: i32,
}

/// `OffsetCommitValue`, versions 0–4 (4 is flexible).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetCommitValue {
    /// The value's version.
    pub version: i16,
    /// `offset`: the next offset the group reads.
    pub offset: i64,
    /// `leaderEpoch` (version 3+, else −1).
    pub leader_epoch: i32,
    /// `metadata`.
    pub metadata: String,
    /// `commitTimestamp`.
    pub commit_timestamp: i64,
    /// `expireTimestamp` (version 1 only, else −1).
    pub expire_timestamp: i64,
    /// Tagged fields (version 4+), none of them known.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `GroupMetadataKey` (record type 2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataKey {
    /// `group`.
    pub group: String,
}

/// `GroupMetadataValue`, versions 0–4 (4 is flexible): a classic group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataValue {
    /// The value's version.
    pub version: i16,
    /// `protocolType` (`consumer` for Kafka consumers, empty when the group is empty).
    pub protocol_type: String,
    /// `generation`.
    pub generation: i32,
    /// `protocol` (nullable): the assignor chosen.
    pub protocol: Option<String>,
    /// `leader` (nullable).
    pub leader: Option<String>,
    /// `currentStateTimestamp` (version 2+, else −1).
    pub current_state_timestamp: i64,
    /// `members`.
    pub members: Vec<MemberMetadata>,
    /// Tagged fields (version 4+), none of them known.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// `MemberMetadata` of a `GroupMetadataValue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMetadata {
    /// `memberId`.
    pub member_id: String,
    /// `groupInstanceId` (version 3+, nullable).
    pub group_instance_id: Option<String>,
    /// `clientId`.
    pub client_id: String,
    /// `clientHost`.
    pub client_host: String,
    /// `rebalanceTimeout` (version 1+, else −1).
    pub rebalance_timeout: i32,
    /// `sessionTimeout`.
    pub session_timeout: i32,
    /// `subscription`: for `protocolType` `consumer`, a [`ConsumerProtocolSubscription`].
    pub subscription: Vec<u8>,
    /// `assignment`: for `protocolType` `consumer`, a [`ConsumerProtocolAssignment`].
    pub assignment: Vec<u8>,
    /// Tagged fields (version 4+), none of them known.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The key of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetsKey {
    /// Record types 0 and 1.
    OffsetCommit(OffsetCommitKey),
    /// Record type 2.
    GroupMetadata(GroupMetadataKey),
    /// Record types 3–8 (KIP-848).
    ConsumerGroup(ConsumerGroupKey),
    /// A record type this decoder does not know: the key's bytes.
    Unknown {
        /// The record type (the key's leading int16).
        version: i16,
        /// The whole key.
        bytes: Vec<u8>,
    },
}

/// The value of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetsValue {
    /// An offset commit's value.
    OffsetCommit(OffsetCommitValue),
    /// A classic group's metadata.
    GroupMetadata(GroupMetadataValue),
    /// A KIP-848 consumer group record's value.
    ConsumerGroup(ConsumerGroupValue),
    /// A value version (or a record type) this decoder does not know.
    Unknown {
        /// The value's leading int16, when it has two bytes.
        version: Option<i16>,
        /// The whole value.
        bytes: Vec<u8>,
    },
}

/// One `__consumer_offsets` record, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetsRecord {
    /// The key.
    pub key: OffsetsKey,
    /// The value; `None` is a tombstone (the key's entry is deleted).
    pub value: Option<OffsetsValue>,
    /// What was kept raw or ignored (unknown versions, trailing bytes).
    pub warnings: Vec<String>,
}

impl OffsetsRecord {
    /// Whether the value is null.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    /// `{"key": …, "value": … or null, "tombstone": bool}`, the schemas'
    /// field names in each object.
    pub fn to_json(&self) -> Value {
        json!({
            "key": self.key.to_json(),
            "value": self.value.as_ref().map(OffsetsValue::to_json),
            "tombstone": self.is_tombstone(),
        })
    }
}

/// Decodes one `__consumer_offsets` record. A null key is an error (Kafka
/// never writes one); so are bytes that break a known version's layout.
pub fn decode_offsets_record(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<OffsetsRecord, StateError> {
    let mut warnings = Vec::new();
    let key = OffsetsKey::decode(key.ok_or_else(StateError::null_key)?, &mut warnings)
        .map_err(|e| StateError::new(Part::Key, e))?;
    let value = match value {
        None => None,
        Some(bytes) => Some(
            OffsetsValue::decode(&key, bytes, &mut warnings)
                .map_err(|e| StateError::new(Part::Value, e))?,
        ),
    };
    Ok(OffsetsRecord {
        key,
        value,
        warnings,
    })
}

/// A warning for bytes left after a value's last field (Kafka ignores them).
pub(super) fn trailing_warning(r: &Reader<'_>, what: &str, warnings: &mut Vec<String>) {
    if !r.is_empty() {
        warnings.push(format!(
            "{what}: {} bytes after the last field at byte {} ignored",
            r.remaining(),
            r.position()
        ));
    }
}

impl OffsetsKey {
    /// Decodes a key; an unknown record type is kept raw with a warning.
    pub fn decode(bytes: &[u8], warnings: &mut Vec<String>) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("version")?;
        let key = match version {
            0 | 1 => Self::OffsetCommit(OffsetCommitKey {
                version,
                group: r.string("group")?.to_owned(),
                topic: r.string("topic")?.to_owned(),
                partition: r.i32("partition")?,
            }),
            2 => Self::GroupMetadata(GroupMetadataKey {
                group: r.string("group")?.to_owned(),
            }),
            _ => match ConsumerGroupKey::read(version, &mut r)? {
                Some(key) => Self::ConsumerGroup(key),
                None => {
                    warnings.push(format!(
                        "unknown key version (record type) {version}: kept raw"
                    ));
                    return Ok(Self::Unknown {
                        version,
                        bytes: bytes.to_vec(),
                    });
                }
            },
        };
        trailing_warning(&r, "key", warnings);
        Ok(key)
    }

    /// The record type (the key's leading int16).
    pub fn version(&self) -> i16 {
        match self {
            Self::OffsetCommit(k) => k.version,
            Self::GroupMetadata(_) => 2,
            Self::ConsumerGroup(k) => k.version(),
            Self::Unknown { version, .. } => *version,
        }
    }

    /// The group the record belongs to (`None` for an unknown record type).
    pub fn group(&self) -> Option<&str> {
        match self {
            Self::OffsetCommit(k) => Some(&k.group),
            Self::GroupMetadata(k) => Some(&k.group),
            Self::ConsumerGroup(k) => Some(k.group_id()),
            Self::Unknown { .. } => None,
        }
    }

    /// Encodes the key (an unknown one as its bytes).
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut w = Writer::new();
        match self {
            Self::OffsetCommit(k) => {
                w.i16(k.version)
                    .string("group", &k.group)
                    .string("topic", &k.topic)
                    .i32(k.partition);
            }
            Self::GroupMetadata(k) => {
                w.i16(2).string("group", &k.group);
            }
            Self::ConsumerGroup(k) => k.write(&mut w),
            Self::Unknown { bytes, .. } => {
                w.raw(bytes);
            }
        }
        w.finish()
    }

    /// `{"type": …, "version": …}` and the schema's fields.
    pub fn to_json(&self) -> Value {
        match self {
            Self::OffsetCommit(k) => json!({
                "type": "offset_commit", "version": k.version,
                "group": k.group, "topic": k.topic, "partition": k.partition,
            }),
            Self::GroupMetadata(k) => json!({
                "type": "group_metadata", "version": 2, "group": k.group,
            }),
            Self::ConsumerGroup(k) => k.to_json(),
            Self::Unknown { version, bytes } => raw_json(Some(*version), bytes),
        }
    }
}

impl OffsetsValue {
    /// Decodes the value of a record with this key; an unknown version is
    /// kept raw with a warning.
    pub fn decode(
        key: &OffsetsKey,
        bytes: &[u8],
        warnings: &mut Vec<String>,
    ) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let unknown = |warnings: &mut Vec<String>, version: Option<i16>, what: &str| {
            warnings.push(format!("{what}: kept raw"));
            Self::Unknown {
                version,
                bytes: bytes.to_vec(),
            }
        };
        if let OffsetsKey::Unknown { version, .. } = key {
            let v = Reader::new(bytes).i16("version").ok();
            return Ok(unknown(
                warnings,
                v,
                &format!("value of record type {version}"),
            ));
        }
        let version = r.i16("version")?;
        let value = match key {
            OffsetsKey::OffsetCommit(_) if (0..=4).contains(&version) => {
                Self::OffsetCommit(OffsetCommitValue::read(version, &mut r)?)
            }
            OffsetsKey::GroupMetadata(_) if (0..=4).contains(&version) => {
                Self::GroupMetadata(GroupMetadataValue::read(version, &mut r)?)
            }
            OffsetsKey::ConsumerGroup(k) if version == 0 => {
                Self::ConsumerGroup(ConsumerGroupValue::read(k, &mut r)?)
            }
            _ => {
                let what = format!(
                    "unknown value version {version} for record type {}",
                    key.version()
                );
                return Ok(unknown(warnings, Some(version), &what));
            }
        };
        trailing_warning(&r, "value", warnings);
        Ok(value)
    }

    /// Encodes the value.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut w = Writer::new();
        match self {
            Self::OffsetCommit(v) => v.write(&mut w),
            Self::GroupMetadata(v) => v.write(&mut w),
            Self::ConsumerGroup(v) => v.write(&mut w),
            Self::Unknown { bytes, .. } => {
                w.raw(bytes);
            }
        }
        w.finish()
    }

    /// `{"version": …}` and the schema's fields.
    pub fn to_json(&self) -> Value {
        match self {
            Self::OffsetCommit(v) => v.to_json(),
            Self::GroupMetadata(v) => v.to_json(),
            Self::ConsumerGroup(v) => v.to_json(),
            Self::Unknown { version, bytes } => raw_json(*version, bytes),
        }
    }
}

impl OffsetCommitValue {
    fn read(version: i16, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let flexible = version >= 4;
        let mut v = Self {
            version,
            leader_epoch: -1,
            expire_timestamp: -1,
            ..Self::default()
        };
        v.offset = r.i64("offset")?;
        if version >= 3 {
            v.leader_epoch = r.i32("leaderEpoch")?;
        }
        v.metadata = r.string_as("metadata", flexible)?.to_owned();
        v.commit_timestamp = r.i64("commitTimestamp")?;
        if version == 1 {
            v.expire_timestamp = r.i64("expireTimestamp")?;
        }
        if flexible {
            v.unknown_tagged_fields = read_unknown_tags(r, &[])?;
        }
        Ok(v)
    }

    /// Writes the value, version first.
    pub fn write(&self, w: &mut Writer) {
        let flexible = self.version >= 4;
        w.i16(self.version).i64(self.offset);
        if self.version >= 3 {
            w.i32(self.leader_epoch);
        }
        w.string_as("metadata", &self.metadata, flexible);
        w.i64(self.commit_timestamp);
        if self.version == 1 {
            w.i64(self.expire_timestamp);
        }
        if flexible {
            write_tags(w, Vec::new(), &self.unknown_tagged_fields);
        }
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("version".into(), json!(self.version));
        o.insert("offset".into(), json!(self.offset));
        if self.version >= 3 {
            o.insert("leaderEpoch".into(), json!(self.leader_epoch));
        }
        o.insert("metadata".into(), json!(self.metadata));
        o.insert("commitTimestamp".into(), json!(self.commit_timestamp));
        if self.version == 1 {
            o.insert("expireTimestamp".into(), json!(self.expire_timestamp));
        }
        tagged_json(&mut o, &self.unknown_tagged_fields);
        Value::Object(o)
    }
}

impl GroupMetadataValue {
    fn read(version: i16, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let flexible = version >= 4;
        let mut v = Self {
            version,
            current_state_timestamp: -1,
            ..Self::default()
        };
        v.protocol_type = r.string_as("protocolType", flexible)?.to_owned();
        v.generation = r.i32("generation")?;
        v.protocol = r
            .nullable_string_as("protocol", flexible)?
            .map(str::to_owned);
        v.leader = r.nullable_string_as("leader", flexible)?.map(str::to_owned);
        if version >= 2 {
            v.current_state_timestamp = r.i64("currentStateTimestamp")?;
        }
        // A member is at least 4 strings, a timeout and 2 bytes fields.
        v.members = r.array_of("members", flexible, 8, |r| MemberMetadata::read(version, r))?;
        if flexible {
            v.unknown_tagged_fields = read_unknown_tags(r, &[])?;
        }
        Ok(v)
    }

    /// Writes the value, version first.
    pub fn write(&self, w: &mut Writer) {
        let flexible = self.version >= 4;
        w.i16(self.version);
        w.string_as("protocolType", &self.protocol_type, flexible);
        w.i32(self.generation);
        w.nullable_string_as("protocol", self.protocol.as_deref(), flexible);
        w.nullable_string_as("leader", self.leader.as_deref(), flexible);
        if self.version >= 2 {
            w.i64(self.current_state_timestamp);
        }
        w.array_of("members", &self.members, flexible, |w, m| {
            m.write(self.version, w)
        });
        if flexible {
            write_tags(w, Vec::new(), &self.unknown_tagged_fields);
        }
    }

    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("version".into(), json!(self.version));
        o.insert("protocolType".into(), json!(self.protocol_type));
        o.insert("generation".into(), json!(self.generation));
        o.insert("protocol".into(), json!(self.protocol));
        o.insert("leader".into(), json!(self.leader));
        if self.version >= 2 {
            o.insert(
                "currentStateTimestamp".into(),
                json!(self.current_state_timestamp),
            );
        }
        let consumer = self.protocol_type == "consumer";
        let members = self
            .members
            .iter()
            .map(|m| m.to_json(self.version, consumer));
        o.insert("members".into(), Value::Array(members.collect()));
        tagged_json(&mut o, &self.unknown_tagged_fields);
        Value::Object(o)
    }
}

impl MemberMetadata {
    fn read(version: i16, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let flexible = version >= 4;
        let mut m = Self {
            rebalance_timeout: -1,
            ..Self::default()
        };
        m.member_id = r.string_as("members[].memberId", flexible)?.to_owned();
        if version >= 3 {
            m.group_instance_id = r
                .nullable_string_as("members[].groupInstanceId", flexible)?
                .map(str::to_owned);
        }
        m.client_id = r.string_as("members[].clientId", flexible)?.to_owned();
        m.client_host = r.string_as("members[].clientHost", flexible)?.to_owned();
        if version >= 1 {
            m.rebalance_timeout = r.i32("members[].rebalanceTimeout")?;
        }
        m.session_timeout = r.i32("members[].sessionTimeout")?;
        m.subscription = r.bytes_as("members[].subscription", flexible)?.to_vec();
        m.assignment = r.bytes_as("members[].assignment", flexible)?.to_vec();
        if flexible {
            m.unknown_tagged_fields = read_unknown_tags(r, &[])?;
        }
        Ok(m)
    }

    fn write(&self, version: i16, w: &mut Writer) {
        let flexible = version >= 4;
        w.string_as("members[].memberId", &self.member_id, flexible);
        if version >= 3 {
            let id = self.group_instance_id.as_deref();
            w.nullable_string_as("members[].groupInstanceId", id, flexible);
        }
        w.string_as("members[].clientId", &self.client_id, flexible);
        w.string_as("members[].clientHost", &self.client_host, flexible);
        if version >= 1 {
            w.i32(self.rebalance_timeout);
        }
        w.i32(self.session_timeout);
        w.bytes_as("members[].subscription", &self.subscription, flexible);
        w.bytes_as("members[].assignment", &self.assignment, flexible);
        if flexible {
            write_tags(w, Vec::new(), &self.unknown_tagged_fields);
        }
    }

    /// The subscription as Kafka's consumer protocol.
    pub fn consumer_subscription(&self) -> Result<ConsumerProtocolSubscription, WireError> {
        ConsumerProtocolSubscription::decode(&self.subscription)
    }

    /// The assignment as Kafka's consumer protocol.
    pub fn consumer_assignment(&self) -> Result<ConsumerProtocolAssignment, WireError> {
        ConsumerProtocolAssignment::decode(&self.assignment)
    }

    /// With `consumer`, the subscription and assignment decoded as Kafka's
    /// consumer protocol (base64 when they do not decode, or are empty).
    fn to_json(&self, version: i16, consumer: bool) -> Value {
        let mut o = Map::new();
        o.insert("memberId".into(), json!(self.member_id));
        if version >= 3 {
            o.insert("groupInstanceId".into(), json!(self.group_instance_id));
        }
        o.insert("clientId".into(), json!(self.client_id));
        o.insert("clientHost".into(), json!(self.client_host));
        if version >= 1 {
            o.insert("rebalanceTimeout".into(), json!(self.rebalance_timeout));
        }
        o.insert("sessionTimeout".into(), json!(self.session_timeout));
        let subscription = match self.consumer_subscription() {
            Ok(s) if consumer && !self.subscription.is_empty() => s.to_json(),
            _ => json!(base64(&self.subscription)),
        };
        let assignment = match self.consumer_assignment() {
            Ok(a) if consumer && !self.assignment.is_empty() => a.to_json(),
            _ => json!(base64(&self.assignment)),
        };
        o.insert("subscription".into(), subscription);
        o.insert("assignment".into(), assignment);
        tagged_json(&mut o, &self.unknown_tagged_fields);
        Value::Object(o)
    }
}
