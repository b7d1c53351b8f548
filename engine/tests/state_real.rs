//! The broker-written `__consumer_offsets` partitions in
//! `../shared/conformance/real` (read in place) decode without a warning,
//! and every record's decoded key and value equal what an independent
//! interpreter of Kafka's JSON schemas (`support/kafka_schema.rs` over
//! `fixtures/kafka-schemas`) makes of the same bytes. Committed offsets are
//! checked against the committed topics' logs where those are in the dir.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
#[path = "support/kafka_schema.rs"]
mod kafka_schema;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use kafka_schema::{Schemas, Style};
use kreplay::state::consumer_offsets::{decode_offsets_record, OffsetsKey, OffsetsValue};
use kreplay::{list_partitions, Partition, ReadOptions};
use serde_json::Value;

fn offsets_partitions(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_dir() {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("__consumer_offsets-") {
                found.push(path);
            } else {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What the interpreter makes of a record, in the engine's JSON shape.
fn oracle(schemas: &Schemas, key: &[u8], value: Option<&[u8]>) -> (Value, Value) {
    let version = i16::from_be_bytes([key[0], key[1]]);
    let prefixes = ["OffsetCommit", "GroupMetadata", "ConsumerGroup"];
    let key_schema = schemas.key_schema(version, &prefixes).unwrap();
    let key_json = schemas.decode_message(key_schema, key).unwrap();
    let value_json = match value {
        None => Value::Null,
        Some(v) => {
            let name = key_schema.replace("Key", "Value");
            let mut json = schemas.decode_message(&name, v).unwrap();
            if json["protocolType"] == "consumer" {
                for m in json["members"].as_array_mut().unwrap() {
                    for (field, schema) in [
                        ("subscription", "ConsumerProtocolSubscription"),
                        ("assignment", "ConsumerProtocolAssignment"),
                    ] {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(m[field].as_str().unwrap())
                            .unwrap();
                        if !bytes.is_empty() {
                            m[field] = schemas.decode_embedded(schema, &bytes).unwrap();
                        }
                    }
                }
            }
            json
        }
    };
    (key_json, value_json)
}

/// The engine's JSON without its own additions (`type`).
fn engine_json(mut json: Value) -> (Value, Value) {
    json["key"].as_object_mut().unwrap().remove("type");
    (json["key"].take(), json["value"].take())
}

fn log_end_offset(log_dir: &Path, topic: &str, partition: i32) -> Option<i64> {
    let dir = list_partitions(log_dir)
        .unwrap()
        .into_iter()
        .find(|d| d.topic_partition.topic == topic && d.topic_partition.partition == partition)?;
    Partition::open(&dir, ReadOptions::default())
        .ok()
        .and_then(|p| p.log_end_offset().ok())
}

#[test]
fn real_consumer_offsets_decode_like_kafkas_schemas() {
    let Some(shared) = common::shared_conformance() else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let dirs = offsets_partitions(&shared.join("real"));
    if dirs.is_empty() {
        eprintln!(
            "skipped: no __consumer_offsets partitions under {}",
            shared.display()
        );
        return;
    }
    let schemas = Schemas::load(
        &common::workspace_root().join("fixtures/kafka-schemas"),
        Style::STATE,
    );
    let options = ReadOptions::default();
    let mut inflater = options.inflater();
    let mut total = 0;
    for dir in &dirs {
        let log_dir = dir.parent().unwrap();
        let pdir = list_partitions(log_dir)
            .unwrap()
            .into_iter()
            .find(|d| d.path == *dir)
            .unwrap();
        let partition = Partition::open(&pdir, options).unwrap();
        let mut groups = BTreeSet::new();
        let mut records = 0;
        for n in 0..partition.segments().len() {
            let segment = partition.open_segment(n).unwrap();
            for batch in segment.batches_from(0, true) {
                let batch = batch.unwrap();
                for record in batch.records(&mut inflater).unwrap() {
                    let record = record.unwrap();
                    if record.is_control() {
                        continue;
                    }
                    let at = format!("{} offset {}", dir.display(), record.offset());
                    let decoded = decode_offsets_record(record.key(), record.value())
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    assert!(decoded.warnings.is_empty(), "{at}: {:?}", decoded.warnings);
                    let (key, value) = engine_json(decoded.to_json());
                    let (want_key, want_value) =
                        oracle(&schemas, record.key().unwrap(), record.value());
                    assert_eq!(key, want_key, "{at}: key");
                    assert_eq!(value, want_value, "{at}: value");
                    groups.extend(decoded.key.group().map(str::to_owned));
                    if let (OffsetsKey::OffsetCommit(k), Some(OffsetsValue::OffsetCommit(v))) =
                        (&decoded.key, &decoded.value)
                    {
                        assert!(v.offset >= 0, "{at}: offset {}", v.offset);
                        if let Some(end) = log_end_offset(log_dir, &k.topic, k.partition) {
                            assert!(
                                v.offset <= end,
                                "{at}: offset {} past log end {end}",
                                v.offset
                            );
                        }
                    }
                    records += 1;
                }
            }
        }
        eprintln!("{}: {records} records, groups {groups:?}", dir.display());
        assert!(records > 0, "{}", dir.display());
        assert!(!groups.is_empty(), "{}", dir.display());
        if dir.to_string_lossy().contains("nomanazeem__Kafka-java") {
            // Its demo consumer's group (its client id, consumer-demo-group-1, says so too).
            assert!(groups.contains("demo-group"), "{groups:?}");
        }
        total += records;
    }
    assert!(total > 0);
}
