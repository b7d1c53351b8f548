//! The engine's `__cluster_metadata` decoder against an independent one: a
//! generic interpreter of Kafka's JSON schemas (`tests/support/
//! kafka_schema.rs` in its metadata style, schemas in
//! `fixtures/kafka-schemas/metadata/`).
//! Both must agree on every record of the broker-written log in
//! `../shared/conformance/real` (read in place) and on random records of
//! every type and version, which also round-trip through the writer's
//! encoder (proptest).

mod common;
#[path = "support/kafka_schema.rs"]
mod kafka_schema;

use kafka_schema::{Schemas, Style};
use kreplay::state::cluster_metadata::*;
use kreplay::{ControlRecordType, Partition, ReadOptions};
use proptest::prelude::*;
use serde_json::Value;

fn schemas() -> Schemas {
    Schemas::load(
        &common::workspace_root().join("fixtures/kafka-schemas/metadata"),
        Style::METADATA,
    )
}

/// `TopicRecord` → `TOPIC_RECORD` (Kafka's `MetadataRecordType` names).
fn upper_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The engine's JSON for a value, in the oracle's shape.
fn engine_json(value: &[u8]) -> Result<Value, String> {
    match decode_metadata_value(value) {
        Ok(MetadataValue::Record(r)) => Ok(r.to_json()),
        Ok(MetadataValue::Unknown(u)) => Err(u.warning()),
        Err(e) => Err(e.to_string()),
    }
}

fn agree(schemas: &Schemas, value: &[u8], what: &str) {
    let oracle = schemas
        .decode_metadata_value(value)
        .unwrap_or_else(|e| panic!("{what}: oracle: {e}"));
    let engine = engine_json(value).unwrap_or_else(|e| panic!("{what}: engine: {e}"));
    assert_eq!(
        engine["type"].as_str().unwrap(),
        upper_snake(oracle["type"].as_str().unwrap()),
        "{what}"
    );
    assert_eq!(engine["version"], oracle["version"], "{what}");
    assert_eq!(engine["data"], oracle["data"], "{what}");
}

#[test]
fn real_metadata_log_agrees_with_the_schema_interpreter() {
    let Some(dir) = common::shared_conformance()
        .map(|s| s.join("real/nomanazeem__Kafka-java/kafka-logs/__cluster_metadata-0"))
        .filter(|p| p.is_dir())
    else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let schemas = schemas();
    let options = ReadOptions::default();
    let partition = Partition::open(
        &kreplay::PartitionDir {
            topic_partition: kreplay::TopicPartition::new("__cluster_metadata", 0),
            path: dir,
        },
        options,
    )
    .unwrap();
    let mut inflater = options.inflater();
    let (mut metadata, mut control) = (0, 0);
    for n in 0..partition.segments().len() {
        let segment = partition.open_segment(n).unwrap();
        for batch in segment.batches() {
            let batch = batch.unwrap();
            for record in batch.records(&mut inflater).unwrap() {
                let record = record.unwrap();
                let what = format!("offset {}", record.offset());
                match record.control_type() {
                    Some(t) => {
                        let name = match t {
                            ControlRecordType::LeaderChange => "LeaderChangeMessage",
                            ControlRecordType::SnapshotHeader => "SnapshotHeaderRecord",
                            ControlRecordType::SnapshotFooter => "SnapshotFooterRecord",
                            ControlRecordType::KRaftVersion => "KRaftVersionRecord",
                            ControlRecordType::KRaftVoters => "VotersRecord",
                            other => panic!("{what}: control type {other:?}"),
                        };
                        let oracle = schemas.decode(name, record.value().unwrap(), 0).unwrap();
                        let engine = decode_control_record(t, record.value()).unwrap();
                        assert_eq!(engine.data_json(), oracle, "{what}");
                        control += 1;
                    }
                    None => {
                        agree(&schemas, record.value().unwrap(), &what);
                        metadata += 1;
                    }
                }
            }
        }
    }
    assert_eq!((metadata, control), (2066, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random records of every type and version: encode → decode is the
    /// identity, and the interpreter reads the encoding as the engine does.
    #[test]
    fn random_records_round_trip_and_agree(seed: u64) {
        let schemas = schemas();
        let mut rng = fastrand::Rng::with_seed(seed);
        for &api_key in KNOWN_METADATA_API_KEYS {
            let (_, max) = known_metadata_type(api_key).unwrap();
            for version in 0..=max {
                let record = MetadataRecord::generate(api_key, version, &mut rng).unwrap();
                let bytes = record.encode();
                prop_assert_eq!(
                    decode_metadata_value(&bytes),
                    Ok(MetadataValue::Record(record.clone()))
                );
                agree(&schemas, &bytes, &format!("{record:?}"));
            }
        }
    }

    /// Any bytes: the engine never panics, it types what the interpreter
    /// types and the same way, and refuses what the interpreter refuses.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), api_key in 0u8..30) {
        let mut value = vec![1, api_key, 0];
        value.extend_from_slice(&bytes);
        let schemas = schemas();
        let oracle = schemas.decode_metadata_value(&value);
        match decode_metadata_value(&value) {
            Ok(MetadataValue::Record(record)) => {
                prop_assert!(oracle.is_ok(), "{:?} {:?}", record, oracle);
                prop_assert_eq!(&record.to_json()["data"], &oracle.unwrap()["data"]);
            }
            // What the engine refuses (or keeps raw), the interpreter
            // refuses too: a bool byte above 1, bytes left over, a
            // truncated field.
            _ => prop_assert!(oracle.is_err(), "{:?}", oracle),
        }
    }
}

#[test]
fn every_known_type_has_a_schema() {
    let schemas = schemas();
    for &api_key in KNOWN_METADATA_API_KEYS {
        let (name, max) = known_metadata_type(api_key).unwrap();
        let schema = schemas
            .iter()
            .find(|s| s.api_key == Some(u64::from(api_key)))
            .unwrap_or_else(|| panic!("no schema for {name}"));
        assert_eq!(upper_snake(&schema.name), name);
        assert_eq!(schema.valid_versions.1, i64::from(max), "{name}");
    }
}

/// A record with a byte after its tagged fields: the engine refuses it (or
/// keeps it raw) and so does the interpreter, whose strict style uses every
/// byte.
#[test]
fn a_byte_past_the_record_is_refused_by_both() {
    let schemas = schemas();
    let mut rng = fastrand::Rng::with_seed(5);
    for &api_key in KNOWN_METADATA_API_KEYS {
        let (_, max) = known_metadata_type(api_key).unwrap();
        for version in 0..=max {
            let record = MetadataRecord::generate(api_key, version, &mut rng).unwrap();
            let mut bytes = record.encode();
            bytes.push(0);
            let what = format!("{record:?}");
            assert!(
                !matches!(decode_metadata_value(&bytes), Ok(MetadataValue::Record(_))),
                "{what}: engine"
            );
            assert!(
                schemas.decode_metadata_value(&bytes).is_err(),
                "{what}: interpreter"
            );
        }
    }
}
