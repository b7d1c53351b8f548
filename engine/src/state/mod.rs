//! Kafka's own state topics, decoded from their records' keys and values.
//!
//! - [`wire`]: the protocol primitives Kafka's JSON message schemas are made
//!   of (ints, varints, strings, bytes, arrays, tagged fields), a
//!   bounds-checked [`wire::Reader`] and a matching [`wire::Writer`].
//! - [`consumer_offsets`]: `__consumer_offsets` (offset commits, classic
//!   group metadata with [`consumer_protocol`] subscriptions and
//!   assignments, the KIP-848 [`consumer_group`] records).
//! - [`compacted`]: a `__consumer_offsets` partition as its group
//!   coordinator loads it (last value per key, tombstones delete,
//!   transactional commits on their markers).
//! - [`kafka_groups`]: every `__consumer_offsets` partition of a log dir,
//!   compacted and merged: the groups, their state and committed offsets.
//! - [`transaction_state`]: the `__transaction_state` records.
//! - [`cluster_metadata`]: KRaft's `__cluster_metadata` records and control
//!   records, typed.
//! - [`metadata_image`]: the cluster's topics, partitions and configs, built
//!   by replaying `__cluster_metadata` from its latest snapshot.
//!
//! Every decoder follows Kafka's schemas field by field, returns typed
//! structs that encode back to the same bytes, and converts to JSON with the
//! schemas' own field names. A version it does not know is kept raw with a
//! warning; bytes that break a known layout are a [`StateError`] naming the
//! field and its byte position within the key or value.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fmt;

use base64::Engine as _;
use serde_json::{json, Map, Value};

pub mod cluster_metadata;
pub mod compacted;
pub mod consumer_group;
pub mod consumer_offsets;
pub mod consumer_protocol;
pub mod kafka_groups;
pub mod metadata_image;
pub mod transaction_state;
pub mod wire;

use wire::{RawTaggedField, Reader, WireError, WireErrorKind, Writer};

/// Which half of a record a [`StateError`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The record's key.
    Key,
    /// The record's value.
    Value,
}

/// A key or value that breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    /// Key or value.
    pub part: Part,
    /// The field, its byte position within the key or value, what is wrong.
    pub error: WireError,
}

impl StateError {
    fn new(part: Part, error: WireError) -> Self {
        Self { part, error }
    }

    fn null_key() -> Self {
        Self::new(
            Part::Key,
            WireError {
                field: "key",
                position: 0,
                kind: WireErrorKind::InvalidLength(-1),
            },
        )
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = match self.part {
            Part::Key => "key",
            Part::Value => "value",
        };
        if self.error.field == "key" && self.error.kind == WireErrorKind::InvalidLength(-1) {
            return write!(f, "null key");
        }
        write!(f, "{part}: {}", self.error)
    }
}

impl std::error::Error for StateError {}

/// Standard base64, as `dump --json --bytes base64` prints bytes.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A uuid as Kafka prints one (`Uuid.toString`: url-safe base64, no padding).
pub(crate) fn uuid_json(uuid: &[u8; 16]) -> Value {
    json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid))
}

fn ints_json(ints: &[i32]) -> Value {
    json!(ints)
}

/// A key or value kept raw: its version when known, its bytes.
fn raw_json(version: Option<i16>, bytes: &[u8]) -> Value {
    json!({ "type": "unknown", "version": version, "raw": base64(bytes) })
}

/// Reads a tagged fields section, keeping the fields not in `known` raw and
/// handing the known ones back (in order) through the returned vec's split.
fn read_tags<'a>(
    r: &mut Reader<'a>,
    known: &[u32],
) -> Result<(Vec<wire::TaggedField<'a>>, Vec<RawTaggedField>), WireError> {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for field in r.tagged_fields("_tagged_fields")? {
        if known.contains(&field.tag) {
            found.push(field);
        } else {
            unknown.push(field.to_raw());
        }
    }
    Ok((found, unknown))
}

/// Reads a tagged fields section where no tag is known.
fn read_unknown_tags(r: &mut Reader<'_>, known: &[u32]) -> Result<Vec<RawTaggedField>, WireError> {
    read_tags(r, known).map(|(_, unknown)| unknown)
}

/// Writes a tagged fields section: `known` (tag, bytes) and the raw ones,
/// sorted by tag as Kafka writes them.
fn write_tags(w: &mut Writer, mut known: Vec<(u32, Vec<u8>)>, unknown: &[RawTaggedField]) {
    known.extend(unknown.iter().map(|f| (f.tag, f.data.clone())));
    known.sort_by_key(|(tag, _)| *tag);
    let fields: Vec<(u32, &[u8])> = known.iter().map(|(t, d)| (*t, d.as_slice())).collect();
    w.tagged_fields("_tagged_fields", &fields);
}

/// Adds `_unknown_tagged_fields` to a JSON object when there are any.
fn tagged_json(o: &mut Map<String, Value>, unknown: &[RawTaggedField]) {
    if !unknown.is_empty() {
        let fields = unknown
            .iter()
            .map(|f| json!({ "tag": f.tag, "raw": base64(&f.data) }));
        o.insert(
            "_unknown_tagged_fields".into(),
            Value::Array(fields.collect()),
        );
    }
}
