//! Kafka's consumer protocol: the subscription and assignment bytes a classic
//! group's members carry (`ConsumerProtocolSubscription.json`,
//! `ConsumerProtocolAssignment.json`, versions 0–3, not flexible). As Kafka
//! does, a newer version is read with the newest known layout and bytes after
//! the last known field are ignored.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::{json, Value};

use super::wire::{Reader, WireError, Writer};
use super::{base64, ints_json};

/// A topic and partitions (`TopicPartition` in both schemas).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPartitions {
    /// `Topic`.
    pub topic: String,
    /// `Partitions`.
    pub partitions: Vec<i32>,
}

impl TopicPartitions {
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Self {
            topic: r.string("Topic")?.to_owned(),
            partitions: r.array_of("Partitions", false, 4, |r| r.i32("Partitions[]"))?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.string("Topic", &self.topic);
        w.array_of("Partitions", &self.partitions, false, |w, p| {
            w.i32(*p);
        });
    }

    fn to_json(&self) -> Value {
        json!({ "Topic": self.topic, "Partitions": ints_json(&self.partitions) })
    }
}

/// `ConsumerProtocolSubscription`: what a member subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerProtocolSubscription {
    /// The version the bytes declare.
    pub version: i16,
    /// `Topics`.
    pub topics: Vec<String>,
    /// `UserData` (nullable).
    pub user_data: Option<Vec<u8>>,
    /// `OwnedPartitions` (version 1+).
    pub owned_partitions: Vec<TopicPartitions>,
    /// `GenerationId` (version 2+, else −1).
    pub generation_id: i32,
    /// `RackId` (version 3+, nullable).
    pub rack_id: Option<String>,
}

impl ConsumerProtocolSubscription {
    /// Decodes a member's subscription bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("version")?;
        let mut s = Self {
            version,
            generation_id: -1,
            ..Self::default()
        };
        s.topics = r.array_of("Topics", false, 2, |r| {
            r.string("Topics[]").map(str::to_owned)
        })?;
        s.user_data = r.nullable_bytes("UserData")?.map(<[u8]>::to_vec);
        if version >= 1 {
            s.owned_partitions = r.array_of("OwnedPartitions", false, 6, TopicPartitions::read)?;
        }
        if version >= 2 {
            s.generation_id = r.i32("GenerationId")?;
        }
        if version >= 3 {
            s.rack_id = r.nullable_string("RackId")?.map(str::to_owned);
        }
        Ok(s)
    }

    /// Encodes it as its version's layout.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut w = Writer::new();
        w.i16(self.version);
        w.array_of("Topics", &self.topics, false, |w, t| {
            w.string("Topics[]", t);
        });
        w.nullable_bytes_as("UserData", self.user_data.as_deref(), false);
        if self.version >= 1 {
            w.array_of("OwnedPartitions", &self.owned_partitions, false, |w, tp| {
                tp.write(w)
            });
        }
        if self.version >= 2 {
            w.i32(self.generation_id);
        }
        if self.version >= 3 {
            w.nullable_string_as("RackId", self.rack_id.as_deref(), false);
        }
        w.finish()
    }

    /// The schema's fields by their names, plus `version`.
    pub fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("version".into(), json!(self.version));
        o.insert("Topics".into(), json!(self.topics));
        o.insert(
            "UserData".into(),
            json!(self.user_data.as_deref().map(base64)),
        );
        if self.version >= 1 {
            let owned = self.owned_partitions.iter().map(TopicPartitions::to_json);
            o.insert("OwnedPartitions".into(), Value::Array(owned.collect()));
        }
        if self.version >= 2 {
            o.insert("GenerationId".into(), json!(self.generation_id));
        }
        if self.version >= 3 {
            o.insert("RackId".into(), json!(self.rack_id));
        }
        Value::Object(o)
    }
}

/// `ConsumerProtocolAssignment`: the partitions the leader gave a member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerProtocolAssignment {
    /// The version the bytes declare.
    pub version: i16,
    /// `AssignedPartitions`.
    pub assigned_partitions: Vec<TopicPartitions>,
    /// `UserData` (nullable).
    pub user_data: Option<Vec<u8>>,
}

impl ConsumerProtocolAssignment {
    /// Decodes a member's assignment bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("version")?;
        let assigned_partitions =
            r.array_of("AssignedPartitions", false, 6, TopicPartitions::read)?;
        let user_data = r.nullable_bytes("UserData")?.map(<[u8]>::to_vec);
        Ok(Self {
            version,
            assigned_partitions,
            user_data,
        })
    }

    /// Encodes it.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut w = Writer::new();
        w.i16(self.version);
        w.array_of(
            "AssignedPartitions",
            &self.assigned_partitions,
            false,
            |w, tp| tp.write(w),
        );
        w.nullable_bytes_as("UserData", self.user_data.as_deref(), false);
        w.finish()
    }

    /// The schema's fields by their names, plus `version`.
    pub fn to_json(&self) -> Value {
        let assigned = self
            .assigned_partitions
            .iter()
            .map(TopicPartitions::to_json);
        json!({
            "version": self.version,
            "AssignedPartitions": Value::Array(assigned.collect()),
            "UserData": self.user_data.as_deref().map(base64),
        })
    }
}
