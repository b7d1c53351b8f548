//! `dump --offsets-decoder` / `--transaction-log-decoder`: records of Kafka's
//! own state topics decoded with `kreplay::state`.

use kreplay::state::consumer_offsets::decode_offsets_record;
use kreplay::state::transaction_state::decode_transaction_log_record;
use serde_json::Value;

/// Which state topic's schemas to decode keys and values with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateDecoder {
    /// `__consumer_offsets`.
    Offsets,
    /// `__transaction_state`.
    TransactionLog,
}

/// One record decoded: key and value as JSON (value `None` for a
/// tombstone), and what was kept raw.
#[derive(Debug)]
pub struct Decoded {
    pub key: Value,
    pub value: Option<Value>,
    pub warnings: Vec<String>,
}

impl StateDecoder {
    /// Decodes a record's key and value; the error names the field and its
    /// byte position within the key or value.
    pub fn decode(self, key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Decoded, String> {
        let split = |json: Value, warnings: Vec<String>| {
            let mut json = json;
            Decoded {
                key: json["key"].take(),
                value: Some(json["value"].take()).filter(|v| !v.is_null()),
                warnings,
            }
        };
        match self {
            Self::Offsets => decode_offsets_record(key, value)
                .map(|r| split(r.to_json(), r.warnings))
                .map_err(|e| e.to_string()),
            Self::TransactionLog => decode_transaction_log_record(key, value)
                .map(|r| split(r.to_json(), r.warnings))
                .map_err(|e| e.to_string()),
        }
    }
}

impl From<Decoded> for crate::dump_metadata::Decoded {
    /// As kafka-dump-log's OffsetsMessageParser prints it: ` key: {...}
    /// payload: {...}`, a tombstone's payload `<DELETE>`.
    fn from(decoded: Decoded) -> Self {
        let payload = decoded
            .value
            .as_ref()
            .map_or_else(|| "<DELETE>".to_string(), ToString::to_string);
        crate::dump_metadata::Decoded {
            text: format!(" key: {} payload: {payload}", decoded.key),
            key: decoded.key,
            value: decoded.value.unwrap_or(Value::Null),
            warnings: decoded.warnings,
            error: None,
        }
    }
}
