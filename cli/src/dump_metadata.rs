//! `dump --cluster-metadata-decoder`: the records of KRaft's
//! `__cluster_metadata` log (segments and `.checkpoint` snapshots) decoded,
//! as kafka-dump-log's decoder shows them: in text a
//! `payload: {"type":"TOPIC_RECORD","version":0,"data":{...}}` after the
//! record's fields; the KRaft control records as ` SnapshotHeader {...}`,
//! ` LeaderChange {...}` and so on. With `--json` the line's `key` and
//! `value` are the decoded objects (a metadata record's key is null), with
//! `tombstone` and the raw bytes beside them.
//!
//! A type or version the engine does not know is shown raw with a warning;
//! bytes that do not decode are shown raw with an error (file, position,
//! offset, field): a record is never skipped.

use kreplay::state::cluster_metadata::{
    decode_control_record, decode_metadata_value, ControlRecord, MetadataValue,
};
use kreplay::Record;
use serde_json::{json, Value};

/// A record decoded for printing.
pub struct Decoded {
    /// The key as JSON (null for metadata records).
    pub key: Value,
    /// The value as JSON.
    pub value: Value,
    /// What to print after the record's fields in text.
    pub text: String,
    /// Warnings (unknown types or versions) to report.
    pub warnings: Vec<String>,
    /// An error (bytes that do not decode) to report.
    pub error: Option<String>,
}

/// Decodes one record of the metadata log.
pub fn decode(record: &Record<'_>) -> Decoded {
    if let Some(control_type) = record.control_type() {
        let version = record
            .key()
            .and_then(|k| k.get(..2))
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map_or(-1, i16::from_be_bytes);
        return match decode_control_record(control_type, record.value()) {
            Ok(control) => {
                let key = json!({"type": control.type_name(), "version": version});
                let warning = match &control {
                    ControlRecord::Unknown { type_id, .. } => {
                        Some(format!("unknown control record type {type_id}: shown raw"))
                    }
                    _ => None,
                };
                Decoded {
                    text: control_text(&control),
                    key,
                    value: control.to_json(),
                    warnings: warning.into_iter().collect(),
                    error: None,
                }
            }
            Err(e) => raw(record, format!("control record: {e}")),
        };
    }
    let Some(value) = record.value() else {
        return Decoded {
            key: Value::Null,
            value: Value::Null,
            text: " payload: null".into(),
            warnings: Vec::new(),
            error: Some("a metadata record with a null value".into()),
        };
    };
    match decode_metadata_value(value) {
        Ok(decoded) => {
            let warning = match &decoded {
                MetadataValue::Unknown(u) => Some(u.warning()),
                MetadataValue::Record(_) => None,
            };
            let json = decoded.to_json();
            // kafka-dump-log's order at the top: type, version, data.
            let text = match (json.get("type"), json.get("version"), json.get("data")) {
                (Some(t), Some(v), Some(d)) => {
                    format!(r#" payload: {{"type":{t},"version":{v},"data":{d}}}"#)
                }
                _ => format!(" payload: {json}"),
            };
            Decoded {
                text,
                key: Value::Null,
                value: json,
                warnings: warning.into_iter().collect(),
                error: None,
            }
        }
        Err(e) => raw(record, e.to_string()),
    }
}

/// The undecodable record, shown raw, with the error.
fn raw(record: &Record<'_>, error: String) -> Decoded {
    use base64::Engine as _;
    let b64 = |b: Option<&[u8]>| {
        b.map_or(Value::Null, |b| {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        })
    };
    let value = json!({"type": "UNDECODABLE", "raw": b64(record.value()), "error": error});
    Decoded {
        key: if record.is_control() {
            b64(record.key())
        } else {
            Value::Null
        },
        text: format!(" payload: {value}"),
        value,
        warnings: Vec::new(),
        error: Some(error),
    }
}

/// kafka-dump-log's text for a KRaft control record (it prints the
/// snapshot and KRaft records' JSON; the leader change, which it leaves
/// undecoded, the same way).
fn control_text(control: &ControlRecord) -> String {
    let name = match control {
        ControlRecord::EndTransactionMarker {
            coordinator_epoch, ..
        } => {
            return format!(
                " endTxnMarker: {} coordinatorEpoch: {coordinator_epoch}",
                control.type_name()
            )
        }
        ControlRecord::LeaderChange(_) => "LeaderChange",
        ControlRecord::SnapshotHeader(_) => "SnapshotHeader",
        ControlRecord::SnapshotFooter(_) => "SnapshotFooter",
        ControlRecord::KRaftVersion(_) => "KRaftVersion",
        ControlRecord::Voters(_) => "KRaftVoters",
        ControlRecord::Unknown { type_id, .. } => {
            return format!(" controlType: UNKNOWN({type_id})")
        }
        _ => "Control",
    };
    format!(" {name} {}", control.data_json())
}
