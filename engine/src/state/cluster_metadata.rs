//! KRaft's `__cluster_metadata` log, decoded: the metadata records (topics,
//! partitions, configs, brokers, features...) and the KRaft control records
//! (leader changes, snapshot headers and footers, KRaft version, voters).
//!
//! A metadata record has a null key; its value is framed as Kafka's
//! `AbstractApiMessageSerde` writes it: a frame version (1), the record's api
//! key and version as unsigned varints, then the message in that version.
//! Every metadata message is flexible (compact strings and arrays, tagged
//! fields) from version 0. [`decode_metadata_value`] reads one value into a
//! typed [`MetadataRecord`], or, for an api key or version this reader does
//! not know, an [`UnknownMetadataRecord`] holding the bytes (the caller warns:
//! never a crash, never skipped silently). Bytes that do not parse are a
//! [`DecodeError`] naming the field and the byte position in the value.
//!
//! Control records carry their type in the key (`ControlRecordType`) and a
//! message read at version 0 in the value, as Kafka's `ControlRecordUtils`
//! reads it: [`decode_control_record`].
//!
//! The JSON form ([`MetadataRecord::to_json`]) is what kafka-dump-log's
//! `--cluster-metadata-decoder` prints: `{"type":"TOPIC_RECORD","version":0,
//! "data":{...}}` with Kafka's camel-case field names, tagged fields only
//! when they differ from their default.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

pub(crate) mod codec;
mod records;

use std::fmt;

use serde_json::{json, Value};

use crate::record::ControlRecordType;
use codec::{write_uvarint, Field, Reader};
pub use codec::{Bytes, RawTaggedField, Uuid};
pub use records::*;

/// Kafka's `AbstractApiMessageSerde.DEFAULT_FRAME_VERSION`: the only frame
/// version Kafka reads.
pub const METADATA_FRAME_VERSION: u32 = 1;

/// Why bytes did not decode: the field (a path such as
/// `RegisterBrokerRecord.EndPoints[0].Host`), the byte position in the
/// record value and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The field being read, outermost first; empty for the frame.
    pub field: String,
    /// Byte position in the record value.
    pub position: usize,
    /// What was expected and found.
    pub detail: String,
}

impl DecodeError {
    pub(crate) fn new(position: usize, detail: impl Into<String>) -> Self {
        DecodeError {
            field: String::new(),
            position,
            detail: detail.into(),
        }
    }

    /// The same error inside field (or struct) `name`.
    pub(crate) fn within(mut self, name: &str) -> Self {
        self.field = if self.field.is_empty() {
            name.to_string()
        } else if self.field.starts_with('[') {
            format!("{name}{}", self.field)
        } else {
            format!("{name}.{}", self.field)
        };
        self
    }

    /// The same error inside element `index` of an array.
    pub(crate) fn within_index(mut self, index: usize) -> Self {
        self.field = if self.field.is_empty() || self.field.starts_with('[') {
            format!("[{index}]{}", self.field)
        } else {
            format!("[{index}].{}", self.field)
        };
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "byte {} of the value: {}", self.position, self.detail)
        } else {
            write!(
                f,
                "field {} at byte {} of the value: {}",
                self.field, self.position, self.detail
            )
        }
    }
}

impl std::error::Error for DecodeError {}

/// Defines [`MetadataRecordData`] from the table of record types: api key,
/// variant, struct, Kafka's `MetadataRecordType` name, highest version known.
macro_rules! metadata_records {
    ($( $api_key:literal => $variant:ident($ty:ident), $name:literal, $max:literal; )*) => {
        /// The message of one metadata record, by type.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum MetadataRecordData {
            $(
                #[doc = concat!("Api key ", stringify!($api_key), ": `", $name, "`.")]
                $variant($ty),
            )*
        }

        impl MetadataRecordData {
            /// The record type's api key.
            pub fn api_key(&self) -> u16 {
                match self { $( MetadataRecordData::$variant(_) => $api_key, )* }
            }

            /// Kafka's `MetadataRecordType` name (`TOPIC_RECORD`).
            pub fn type_name(&self) -> &'static str {
                match self { $( MetadataRecordData::$variant(_) => $name, )* }
            }

            fn write(&self, out: &mut Vec<u8>, version: i16) {
                match self { $( MetadataRecordData::$variant(m) => m.write(out, version), )* }
            }

            fn to_json(&self, version: i16) -> Value {
                match self { $( MetadataRecordData::$variant(m) => m.to_json(version), )* }
            }
        }

        /// The highest version this reader knows of api key `api_key`, and
        /// its type name; `None` for an unknown api key.
        pub fn known_metadata_type(api_key: u16) -> Option<(&'static str, i16)> {
            match api_key {
                $( $api_key => Some(($name, $max)), )*
                _ => None,
            }
        }

        /// Every api key this reader knows, in order.
        pub const KNOWN_METADATA_API_KEYS: &[u16] = &[$( $api_key, )*];

        fn read_data(api_key: u16, r: &mut Reader<'_>, version: i16) -> Option<Result<MetadataRecordData, DecodeError>> {
            Some(match api_key {
                $(
                    $api_key => <$ty>::read(r, version)
                        .map(MetadataRecordData::$variant)
                        .map_err(|e| e.within(stringify!($ty))),
                )*
                _ => return None,
            })
        }

        fn generate_data(api_key: u16, rng: &mut fastrand::Rng, version: i16) -> Option<MetadataRecordData> {
            Some(match api_key {
                $( $api_key => MetadataRecordData::$variant(<$ty>::generate(rng, version)), )*
                _ => return None,
            })
        }
    };
}

metadata_records! {
    0 => RegisterBroker(RegisterBrokerRecord), "REGISTER_BROKER_RECORD", 3;
    1 => UnregisterBroker(UnregisterBrokerRecord), "UNREGISTER_BROKER_RECORD", 0;
    2 => Topic(TopicRecord), "TOPIC_RECORD", 0;
    3 => Partition(PartitionRecord), "PARTITION_RECORD", 2;
    4 => Config(ConfigRecord), "CONFIG_RECORD", 0;
    5 => PartitionChange(PartitionChangeRecord), "PARTITION_CHANGE_RECORD", 2;
    7 => FenceBroker(FenceBrokerRecord), "FENCE_BROKER_RECORD", 0;
    8 => UnfenceBroker(UnfenceBrokerRecord), "UNFENCE_BROKER_RECORD", 0;
    9 => RemoveTopic(RemoveTopicRecord), "REMOVE_TOPIC_RECORD", 0;
    10 => DelegationToken(DelegationTokenRecord), "DELEGATION_TOKEN_RECORD", 0;
    11 => UserScramCredential(UserScramCredentialRecord), "USER_SCRAM_CREDENTIAL_RECORD", 0;
    12 => FeatureLevel(FeatureLevelRecord), "FEATURE_LEVEL_RECORD", 0;
    14 => ClientQuota(ClientQuotaRecord), "CLIENT_QUOTA_RECORD", 0;
    15 => ProducerIds(ProducerIdsRecord), "PRODUCER_IDS_RECORD", 0;
    17 => BrokerRegistrationChange(BrokerRegistrationChangeRecord), "BROKER_REGISTRATION_CHANGE_RECORD", 2;
    18 => AccessControlEntry(AccessControlEntryRecord), "ACCESS_CONTROL_ENTRY_RECORD", 0;
    19 => RemoveAccessControlEntry(RemoveAccessControlEntryRecord), "REMOVE_ACCESS_CONTROL_ENTRY_RECORD", 0;
    20 => NoOp(NoOpRecord), "NO_OP_RECORD", 0;
    21 => ZkMigrationState(ZkMigrationStateRecord), "ZK_MIGRATION_STATE_RECORD", 0;
    22 => RemoveUserScramCredential(RemoveUserScramCredentialRecord), "REMOVE_USER_SCRAM_CREDENTIAL_RECORD", 0;
    23 => BeginTransaction(BeginTransactionRecord), "BEGIN_TRANSACTION_RECORD", 0;
    24 => EndTransaction(EndTransactionRecord), "END_TRANSACTION_RECORD", 0;
    25 => AbortTransaction(AbortTransactionRecord), "ABORT_TRANSACTION_RECORD", 0;
    26 => RemoveDelegationToken(RemoveDelegationTokenRecord), "REMOVE_DELEGATION_TOKEN_RECORD", 0;
    27 => RegisterController(RegisterControllerRecord), "REGISTER_CONTROLLER_RECORD", 0;
}

/// One decoded metadata record: its version and message.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRecord {
    /// The message version.
    pub version: i16,
    /// The message.
    pub data: MetadataRecordData,
}

impl MetadataRecord {
    /// The record value: frame version, api key, version, message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_uvarint(&mut out, METADATA_FRAME_VERSION);
        write_uvarint(&mut out, u32::from(self.data.api_key()));
        write_uvarint(&mut out, u32::try_from(self.version).unwrap_or(0));
        self.data.write(&mut out, self.version);
        out
    }

    /// As kafka-dump-log's `--cluster-metadata-decoder` prints it.
    pub fn to_json(&self) -> Value {
        json!({
            "type": self.data.type_name(),
            "version": self.version,
            "data": self.data.to_json(self.version),
        })
    }

    /// A random record of type `api_key` in `version` (for round trips and
    /// fuzzing); `None` for an unknown api key or version.
    pub fn generate(api_key: u16, version: i16, rng: &mut fastrand::Rng) -> Option<Self> {
        let (_, max) = known_metadata_type(api_key)?;
        if !(0..=max).contains(&version) {
            return None;
        }
        Some(MetadataRecord {
            version,
            data: generate_data(api_key, rng, version)?,
        })
    }
}

/// Why a value was kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownReason {
    /// A frame version other than 1.
    FrameVersion(u32),
    /// An api key this reader does not know.
    ApiKey,
    /// A version above the highest this reader knows for the type.
    Version {
        /// The highest known version.
        highest_known: i16,
    },
}

/// A metadata record this reader cannot type: the header it read and the
/// whole value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMetadataRecord {
    /// The frame version.
    pub frame_version: u32,
    /// The api key, when the frame was read that far.
    pub api_key: Option<u32>,
    /// The version, when the frame was read that far.
    pub version: Option<u32>,
    /// Why it is not typed.
    pub reason: UnknownReason,
    /// The whole value.
    pub raw: Vec<u8>,
}

impl UnknownMetadataRecord {
    /// The warning to show for it.
    pub fn warning(&self) -> String {
        match self.reason {
            UnknownReason::FrameVersion(v) => {
                format!("unknown metadata frame version {v} (only 1 is known): shown raw")
            }
            UnknownReason::ApiKey => format!(
                "unknown metadata record type {}: shown raw",
                self.api_key.unwrap_or(0)
            ),
            UnknownReason::Version { highest_known } => format!(
                "{} version {} is newer than the highest known ({highest_known}): shown raw",
                self.api_key
                    .and_then(|k| u16::try_from(k).ok())
                    .and_then(known_metadata_type)
                    .map_or("metadata record", |(name, _)| name),
                self.version.unwrap_or(0)
            ),
        }
    }

    /// The raw form in JSON: type (when known), api key, version, bytes.
    pub fn to_json(&self) -> Value {
        use base64::Engine as _;
        let type_name = self
            .api_key
            .and_then(|k| u16::try_from(k).ok())
            .and_then(known_metadata_type)
            .map_or("UNKNOWN", |(name, _)| name);
        json!({
            "type": type_name,
            "frame_version": self.frame_version,
            "api_key": self.api_key,
            "version": self.version,
            "raw": base64::engine::general_purpose::STANDARD.encode(&self.raw),
        })
    }
}

/// A decoded `__cluster_metadata` value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// A typed record.
    Record(MetadataRecord),
    /// A type or version this reader does not know.
    Unknown(UnknownMetadataRecord),
}

impl MetadataValue {
    /// The JSON form of either.
    pub fn to_json(&self) -> Value {
        match self {
            MetadataValue::Record(r) => r.to_json(),
            MetadataValue::Unknown(u) => u.to_json(),
        }
    }
}

/// Decodes one `__cluster_metadata` record value (see the module docs).
pub fn decode_metadata_value(value: &[u8]) -> Result<MetadataValue, DecodeError> {
    let mut r = Reader::new(value);
    let frame_version = r
        .uvarint("frame version")
        .map_err(|e| codec::de(e).within("frame version"))?;
    let unknown = |api_key, version, reason| {
        Ok(MetadataValue::Unknown(UnknownMetadataRecord {
            frame_version,
            api_key,
            version,
            reason,
            raw: value.to_vec(),
        }))
    };
    if frame_version != METADATA_FRAME_VERSION {
        return unknown(None, None, UnknownReason::FrameVersion(frame_version));
    }
    let api_key = r
        .uvarint("api key")
        .map_err(|e| codec::de(e).within("api key"))?;
    let version = r
        .uvarint("version")
        .map_err(|e| codec::de(e).within("version"))?;
    let Some((_, highest_known)) = u16::try_from(api_key).ok().and_then(known_metadata_type) else {
        return unknown(Some(api_key), Some(version), UnknownReason::ApiKey);
    };
    let Some(version_i16) = i16::try_from(version).ok().filter(|v| *v <= highest_known) else {
        return unknown(
            Some(api_key),
            Some(version),
            UnknownReason::Version { highest_known },
        );
    };
    let key = u16::try_from(api_key).unwrap_or(u16::MAX);
    let data = match read_data(key, &mut r, version_i16) {
        Some(data) => data?,
        None => return unknown(Some(api_key), Some(version), UnknownReason::ApiKey),
    };
    if r.remaining() > 0 {
        return Err(DecodeError::new(
            r.position(),
            format!("{} byte(s) of garbage after the record", r.remaining()),
        ));
    }
    Ok(MetadataValue::Record(MetadataRecord {
        version: version_i16,
        data,
    }))
}

/// The value of a control record, by type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ControlRecord {
    /// An end-transaction marker (ABORT or COMMIT): version and coordinator epoch.
    EndTransactionMarker {
        /// Commit or abort.
        commit: bool,
        /// The marker's version field.
        version: i16,
        /// The coordinator epoch.
        coordinator_epoch: i32,
    },
    /// `LEADER_CHANGE`.
    LeaderChange(LeaderChangeMessage),
    /// `SNAPSHOT_HEADER`.
    SnapshotHeader(SnapshotHeaderRecord),
    /// `SNAPSHOT_FOOTER`.
    SnapshotFooter(SnapshotFooterRecord),
    /// `KRAFT_VERSION`.
    KRaftVersion(KRaftVersionRecord),
    /// `KRAFT_VOTERS`.
    Voters(VotersRecord),
    /// A control type this reader does not know (shown raw).
    Unknown {
        /// The type id from the key.
        type_id: i16,
        /// The value.
        raw: Vec<u8>,
    },
}

impl ControlRecord {
    /// Kafka's `ControlRecordType` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ControlRecord::EndTransactionMarker { commit: true, .. } => "COMMIT",
            ControlRecord::EndTransactionMarker { commit: false, .. } => "ABORT",
            ControlRecord::LeaderChange(_) => "LEADER_CHANGE",
            ControlRecord::SnapshotHeader(_) => "SNAPSHOT_HEADER",
            ControlRecord::SnapshotFooter(_) => "SNAPSHOT_FOOTER",
            ControlRecord::KRaftVersion(_) => "KRAFT_VERSION",
            ControlRecord::Voters(_) => "KRAFT_VOTERS",
            ControlRecord::Unknown { .. } => "UNKNOWN",
        }
    }

    /// The message as Kafka's JSON converters write it (`data` of
    /// [`ControlRecord::to_json`]).
    pub fn data_json(&self) -> Value {
        match self {
            ControlRecord::EndTransactionMarker {
                version,
                coordinator_epoch,
                ..
            } => json!({"version": version, "coordinatorEpoch": coordinator_epoch}),
            ControlRecord::LeaderChange(m) => m.to_json(0),
            ControlRecord::SnapshotHeader(m) => m.to_json(0),
            ControlRecord::SnapshotFooter(m) => m.to_json(0),
            ControlRecord::KRaftVersion(m) => m.to_json(0),
            ControlRecord::Voters(m) => m.to_json(0),
            ControlRecord::Unknown { raw, .. } => {
                use base64::Engine as _;
                json!({"raw": base64::engine::general_purpose::STANDARD.encode(raw)})
            }
        }
    }

    /// `{"type": "LEADER_CHANGE", "data": {...}}`.
    pub fn to_json(&self) -> Value {
        json!({"type": self.type_name(), "data": self.data_json()})
    }

    /// The value bytes (for the writer).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            ControlRecord::EndTransactionMarker {
                version,
                coordinator_epoch,
                ..
            } => {
                out.extend_from_slice(&version.to_be_bytes());
                out.extend_from_slice(&coordinator_epoch.to_be_bytes());
            }
            ControlRecord::LeaderChange(m) => m.write(&mut out, 0),
            ControlRecord::SnapshotHeader(m) => m.write(&mut out, 0),
            ControlRecord::SnapshotFooter(m) => m.write(&mut out, 0),
            ControlRecord::KRaftVersion(m) => m.write(&mut out, 0),
            ControlRecord::Voters(m) => m.write(&mut out, 0),
            ControlRecord::Unknown { raw, .. } => out.extend_from_slice(raw),
        }
        out
    }

    /// The key bytes: version 0 and the type id.
    pub fn encode_key(&self) -> Vec<u8> {
        let type_id: i16 = match self {
            ControlRecord::EndTransactionMarker { commit, .. } => i16::from(*commit),
            ControlRecord::LeaderChange(_) => 2,
            ControlRecord::SnapshotHeader(_) => 3,
            ControlRecord::SnapshotFooter(_) => 4,
            ControlRecord::KRaftVersion(_) => 5,
            ControlRecord::Voters(_) => 6,
            ControlRecord::Unknown { type_id, .. } => *type_id,
        };
        let mut key = 0i16.to_be_bytes().to_vec();
        key.extend_from_slice(&type_id.to_be_bytes());
        key
    }
}

fn read_whole<T: Field>(value: &[u8], name: &str) -> Result<T, DecodeError> {
    let mut r = Reader::new(value);
    let message = T::read(&mut r, 0).map_err(|e| e.within(name))?;
    if r.remaining() > 0 {
        return Err(DecodeError::new(
            r.position(),
            format!("{} byte(s) of garbage after {name}", r.remaining()),
        ));
    }
    Ok(message)
}

/// Decodes the value of a control record of type `control_type` (from its
/// key). A type this reader does not know comes back as
/// [`ControlRecord::Unknown`]; a null value is a [`DecodeError`].
pub fn decode_control_record(
    control_type: ControlRecordType,
    value: Option<&[u8]>,
) -> Result<ControlRecord, DecodeError> {
    let value = value.ok_or_else(|| DecodeError::new(0, "null value in a control record"))?;
    Ok(match control_type {
        ControlRecordType::Abort | ControlRecordType::Commit => {
            let mut r = Reader::new(value);
            let version = i16::read(&mut r, 0).map_err(|e| e.within("Version"))?;
            let coordinator_epoch =
                i32::read(&mut r, 0).map_err(|e| e.within("CoordinatorEpoch"))?;
            ControlRecord::EndTransactionMarker {
                commit: control_type == ControlRecordType::Commit,
                version,
                coordinator_epoch,
            }
        }
        ControlRecordType::LeaderChange => {
            ControlRecord::LeaderChange(read_whole(value, "LeaderChangeMessage")?)
        }
        ControlRecordType::SnapshotHeader => {
            ControlRecord::SnapshotHeader(read_whole(value, "SnapshotHeaderRecord")?)
        }
        ControlRecordType::SnapshotFooter => {
            ControlRecord::SnapshotFooter(read_whole(value, "SnapshotFooterRecord")?)
        }
        ControlRecordType::KRaftVersion => {
            ControlRecord::KRaftVersion(read_whole(value, "KRaftVersionRecord")?)
        }
        ControlRecordType::KRaftVoters => ControlRecord::Voters(read_whole(value, "VotersRecord")?),
        ControlRecordType::Unknown(type_id) => ControlRecord::Unknown {
            type_id,
            raw: value.to_vec(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    }

    #[test]
    fn decodes_broker_written_values() {
        // From a Kafka 3.x/4.x broker's __cluster_metadata-0 (offsets 1, 2).
        let begin = decode_metadata_value(&b64("ARcAAQASEkJvb3RzdHJhcCByZWNvcmRz"));
        let Ok(MetadataValue::Record(record)) = begin else {
            panic!("{begin:?}");
        };
        assert_eq!(
            record.to_json(),
            json!({"type": "BEGIN_TRANSACTION_RECORD", "version": 0,
                   "data": {"name": "Bootstrap records"}})
        );
        let feature = decode_metadata_value(&b64("AQwAEW1ldGFkYXRhLnZlcnNpb24AHQA="));
        let Ok(MetadataValue::Record(record)) = feature else {
            panic!("{feature:?}");
        };
        assert_eq!(
            record.to_json(),
            json!({"type": "FEATURE_LEVEL_RECORD", "version": 0,
                   "data": {"name": "metadata.version", "featureLevel": 29}})
        );
        // The leader change control record at offset 0.
        let leader = decode_control_record(
            ControlRecordType::LeaderChange,
            Some(&b64("AAAAAAABAgAAAAEAAgAAAAEAAA==")),
        );
        assert_eq!(
            leader.map(|c| c.to_json()),
            Ok(
                json!({"type": "LEADER_CHANGE", "data": {"version": 0, "leaderId": 1,
                "voters": [{"voterId": 1}], "grantingVoters": [{"voterId": 1}]}})
            )
        );
    }

    #[test]
    fn unknown_types_and_versions_come_back_raw() {
        let unknown_key = decode_metadata_value(&[1, 99, 0]);
        assert!(matches!(
            unknown_key,
            Ok(MetadataValue::Unknown(UnknownMetadataRecord {
                reason: UnknownReason::ApiKey,
                api_key: Some(99),
                ..
            }))
        ));
        let newer = decode_metadata_value(&[1, 2, 7, 0]);
        let Ok(MetadataValue::Unknown(u)) = newer else {
            panic!("{newer:?}");
        };
        assert!(
            u.warning().contains("TOPIC_RECORD version 7"),
            "{}",
            u.warning()
        );
        assert!(matches!(
            decode_metadata_value(&[0, 2, 0]),
            Ok(MetadataValue::Unknown(UnknownMetadataRecord {
                reason: UnknownReason::FrameVersion(0),
                ..
            }))
        ));
    }

    #[test]
    fn errors_name_the_field_and_position() {
        // A TopicRecord whose name claims 9 bytes with 3 present.
        let error = decode_metadata_value(&[1, 2, 0, 10, b'a', b'b', b'c']).err();
        let error = error.unwrap_or_else(|| DecodeError::new(0, "none"));
        assert_eq!(error.field, "TopicRecord.Name");
        assert_eq!(error.position, 3);
        // A RegisterBrokerRecord cut inside its first endpoint's host.
        let mut record = RegisterBrokerRecord {
            end_points: vec![BrokerEndpoint {
                name: "PLAINTEXT".into(),
                host: "localhost".into(),
                port: 9092,
                ..Default::default()
            }],
            ..Default::default()
        };
        record.broker_id = 1;
        let bytes = MetadataRecord {
            version: 3,
            data: MetadataRecordData::RegisterBroker(record),
        }
        .encode();
        let cut = bytes.get(..46).unwrap_or_default();
        let error = decode_metadata_value(cut).err();
        assert_eq!(
            error.map(|e| e.field),
            Some("RegisterBrokerRecord.EndPoints[0].Host".to_string())
        );
    }

    #[test]
    fn garbage_after_a_record_is_an_error() {
        let mut bytes = MetadataRecord {
            version: 0,
            data: MetadataRecordData::NoOp(NoOpRecord::default()),
        }
        .encode();
        bytes.push(0);
        assert!(decode_metadata_value(&bytes).is_err_and(|e| e.detail.contains("garbage")));
    }

    #[test]
    fn tagged_fields_absent_take_their_defaults_and_are_not_shown() {
        let change = PartitionChangeRecord {
            partition_id: 3,
            ..Default::default()
        };
        assert_eq!(change.leader, -2);
        let record = MetadataRecord {
            version: 0,
            data: MetadataRecordData::PartitionChange(change),
        };
        let decoded = decode_metadata_value(&record.encode());
        assert_eq!(decoded, Ok(MetadataValue::Record(record.clone())));
        assert_eq!(
            record.to_json().get("data").cloned().unwrap_or_default(),
            json!({"partitionId": 3, "topicId": "AAAAAAAAAAAAAAAAAAAAAA"})
        );
    }

    #[test]
    fn every_type_round_trips_in_every_version() {
        let mut rng = fastrand::Rng::with_seed(7);
        for &api_key in KNOWN_METADATA_API_KEYS {
            let (_, max) = known_metadata_type(api_key).unwrap_or(("", 0));
            for version in 0..=max {
                for _ in 0..20 {
                    let Some(record) = MetadataRecord::generate(api_key, version, &mut rng) else {
                        panic!("no generator for {api_key} v{version}");
                    };
                    let decoded = decode_metadata_value(&record.encode());
                    assert_eq!(decoded, Ok(MetadataValue::Record(record)));
                }
            }
        }
    }
}
