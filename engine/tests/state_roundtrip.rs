//! Random `__consumer_offsets` and `__transaction_state` records: encode →
//! decode gives the record back with no warning, and the engine's JSON of
//! it equals the schema interpreter's (`support/kafka_schema.rs`).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;
#[path = "support/kafka_schema.rs"]
mod kafka_schema;

use kreplay::state::consumer_group::{
    ClassicMemberMetadata, ConsumerGroupKey, ConsumerGroupValue, CurrentMemberAssignmentValue,
    MemberMetadataValue, TopicIdPartitions,
};
use kreplay::state::consumer_offsets::{
    decode_offsets_record, GroupMetadataKey, GroupMetadataValue, MemberMetadata, OffsetCommitKey,
    OffsetCommitValue, OffsetsKey, OffsetsValue,
};
use kreplay::state::transaction_state::{
    decode_transaction_log_record, TransactionLogKey, TransactionLogRecordValue,
    TransactionLogValue, TransactionPartitions,
};
use kreplay::state::wire::RawTaggedField;
use proptest::prelude::*;
use serde_json::Value;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._é-]{0,12}"
}

fn unknown_tags(flexible: bool) -> impl Strategy<Value = Vec<RawTaggedField>> {
    prop::collection::btree_map(10u32..40, prop::collection::vec(any::<u8>(), 0..4), 0..3).prop_map(
        move |m| {
            if !flexible {
                return Vec::new();
            }
            m.into_iter()
                .map(|(tag, data)| RawTaggedField { tag, data })
                .collect()
        },
    )
}

fn offset_commit() -> impl Strategy<Value = (OffsetsKey, OffsetsValue)> {
    (
        0i16..=1,
        text(),
        text(),
        any::<i32>(),
        0i16..=4,
        any::<i64>(),
        any::<i32>(),
        text(),
    )
        .prop_flat_map(
            |(kv, group, topic, partition, version, offset, epoch, metadata)| {
                (any::<i64>(), any::<i64>(), unknown_tags(version >= 4)).prop_map(
                    move |(commit_timestamp, expire, tags)| {
                        let key = OffsetsKey::OffsetCommit(OffsetCommitKey {
                            version: kv,
                            group: group.clone(),
                            topic: topic.clone(),
                            partition,
                        });
                        let value = OffsetsValue::OffsetCommit(OffsetCommitValue {
                            version,
                            offset,
                            leader_epoch: if version >= 3 { epoch } else { -1 },
                            metadata: metadata.clone(),
                            commit_timestamp,
                            expire_timestamp: if version == 1 { expire } else { -1 },
                            unknown_tagged_fields: tags,
                        });
                        (key, value)
                    },
                )
            },
        )
}

fn member(version: i16) -> impl Strategy<Value = MemberMetadata> {
    (
        text(),
        prop::option::of(text()),
        text(),
        text(),
        any::<i32>(),
        any::<i32>(),
    )
        .prop_flat_map(
            move |(member_id, instance, client_id, client_host, rebalance, session)| {
                (
                    prop::collection::vec(any::<u8>(), 0..8),
                    prop::collection::vec(any::<u8>(), 0..8),
                    unknown_tags(version >= 4),
                )
                    .prop_map(move |(subscription, assignment, tags)| {
                        MemberMetadata {
                            member_id: member_id.clone(),
                            group_instance_id: if version >= 3 { instance.clone() } else { None },
                            client_id: client_id.clone(),
                            client_host: client_host.clone(),
                            rebalance_timeout: if version >= 1 { rebalance } else { -1 },
                            session_timeout: session,
                            subscription,
                            assignment,
                            unknown_tagged_fields: tags,
                        }
                    })
            },
        )
}

fn group_metadata() -> impl Strategy<Value = (OffsetsKey, OffsetsValue)> {
    (0i16..=4).prop_flat_map(|version| {
        (
            text(),
            "(consumer|connect|)",
            any::<i32>(),
            prop::option::of(text()),
            prop::option::of(text()),
            any::<i64>(),
            prop::collection::vec(member(version), 0..3),
            unknown_tags(version >= 4),
        )
            .prop_map(
                move |(group, protocol_type, generation, protocol, leader, ts, members, tags)| {
                    (
                        OffsetsKey::GroupMetadata(GroupMetadataKey { group }),
                        OffsetsValue::GroupMetadata(GroupMetadataValue {
                            version,
                            protocol_type,
                            generation,
                            protocol,
                            leader,
                            current_state_timestamp: if version >= 2 { ts } else { -1 },
                            members,
                            unknown_tagged_fields: tags,
                        }),
                    )
                },
            )
    })
}

fn topic_id_partitions() -> impl Strategy<Value = Vec<TopicIdPartitions>> {
    prop::collection::vec(
        (
            any::<[u8; 16]>(),
            prop::collection::vec(any::<i32>(), 0..4),
            unknown_tags(true),
        )
            .prop_map(
                |(topic_id, partitions, unknown_tagged_fields)| TopicIdPartitions {
                    topic_id,
                    partitions,
                    unknown_tagged_fields,
                },
            ),
        0..3,
    )
}

fn consumer_group() -> impl Strategy<Value = (OffsetsKey, OffsetsValue)> {
    let assignment = (
        text(),
        text(),
        any::<i32>(),
        any::<i32>(),
        any::<i8>(),
        topic_id_partitions(),
        topic_id_partitions(),
        unknown_tags(true),
    )
        .prop_map(
            |(group_id, member_id, epoch, previous, state, assigned, pending, tags)| {
                (
                    OffsetsKey::ConsumerGroup(ConsumerGroupKey::CurrentMemberAssignment {
                        group_id,
                        member_id,
                    }),
                    OffsetsValue::ConsumerGroup(ConsumerGroupValue::CurrentMemberAssignment(
                        CurrentMemberAssignmentValue {
                            member_epoch: epoch,
                            previous_member_epoch: previous,
                            state,
                            assigned_partitions: assigned,
                            partitions_pending_revocation: pending,
                            unknown_tagged_fields: tags,
                        },
                    )),
                )
            },
        );
    let member = (
        (
            text(),
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
        ),
        (
            text(),
            text(),
            prop::collection::vec(text(), 0..3),
            prop::option::of(text()),
        ),
        (any::<i32>(), prop::option::of(text())),
        prop::option::of((
            any::<i32>(),
            prop::collection::vec((text(), prop::collection::vec(any::<u8>(), 0..4)), 0..2),
        )),
    )
        .prop_map(
            |(
                (group_id, member_id, instance_id, rack_id),
                (client_id, client_host, topics, regex),
                (rebalance, assignor),
                classic,
            )| {
                (
                    OffsetsKey::ConsumerGroup(ConsumerGroupKey::MemberMetadata {
                        group_id,
                        member_id,
                    }),
                    OffsetsValue::ConsumerGroup(ConsumerGroupValue::MemberMetadata(
                        MemberMetadataValue {
                            instance_id,
                            rack_id,
                            client_id,
                            client_host,
                            subscribed_topic_names: topics,
                            subscribed_topic_regex: regex,
                            rebalance_timeout_ms: rebalance,
                            server_assignor: assignor,
                            classic_member_metadata: classic.map(
                                |(session_timeout_ms, supported_protocols)| ClassicMemberMetadata {
                                    session_timeout_ms,
                                    supported_protocols,
                                },
                            ),
                            unknown_tagged_fields: Vec::new(),
                        },
                    )),
                )
            },
        );
    let epoch = (text(), any::<i32>(), any::<bool>()).prop_map(|(group_id, epoch, target)| {
        if target {
            (
                OffsetsKey::ConsumerGroup(ConsumerGroupKey::TargetAssignmentMetadata { group_id }),
                OffsetsValue::ConsumerGroup(ConsumerGroupValue::TargetAssignmentMetadata {
                    assignment_epoch: epoch,
                    unknown_tagged_fields: Vec::new(),
                }),
            )
        } else {
            (
                OffsetsKey::ConsumerGroup(ConsumerGroupKey::Metadata { group_id }),
                OffsetsValue::ConsumerGroup(ConsumerGroupValue::Metadata {
                    epoch,
                    unknown_tagged_fields: Vec::new(),
                }),
            )
        }
    });
    prop_oneof![assignment, member, epoch]
}

fn schemas() -> kafka_schema::Schemas {
    kafka_schema::Schemas::load(
        &common::workspace_root().join("fixtures/kafka-schemas"),
        kafka_schema::Style::STATE,
    )
}

/// The engine's JSON with its own additions removed, beside the oracle's.
fn compare(
    schemas: &kafka_schema::Schemas,
    prefixes: &[&str],
    json: Value,
    key: &[u8],
    value: &[u8],
) {
    let mut json = json;
    json["key"].as_object_mut().unwrap().remove("type");
    if let Some(v) = json["value"].as_object_mut() {
        v.remove("TransactionStatusName");
        // Subscriptions that happen to parse are shown decoded; the oracle
        // leaves them as bytes: compare those members' other fields only.
        if let Some(members) = v.get_mut("members").and_then(Value::as_array_mut) {
            for m in members {
                m.as_object_mut().unwrap().remove("subscription");
                m.as_object_mut().unwrap().remove("assignment");
            }
        }
        // Unknown tags: the oracle skips them.
        strip_unknown(json.get_mut("value").unwrap());
    }
    let version = i16::from_be_bytes([key[0], key[1]]);
    let key_schema = schemas.key_schema(version, prefixes).unwrap();
    let want_key = schemas.decode_message(key_schema, key).unwrap();
    let mut want_value = schemas
        .decode_message(&key_schema.replace("Key", "Value"), value)
        .unwrap();
    if let Some(members) = want_value.get_mut("members").and_then(Value::as_array_mut) {
        for m in members {
            m.as_object_mut().unwrap().remove("subscription");
            m.as_object_mut().unwrap().remove("assignment");
        }
    }
    assert_eq!(json["key"], want_key);
    assert_eq!(json["value"], want_value);
}

fn strip_unknown(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("_unknown_tagged_fields");
            o.values_mut().for_each(strip_unknown);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_unknown),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn offsets_records_round_trip(
        (key, value) in prop_oneof![offset_commit(), group_metadata(), consumer_group()],
        tombstone in any::<bool>(),
    ) {
        let key_bytes = key.encode().unwrap();
        let value_bytes = value.encode().unwrap();
        let got = decode_offsets_record(Some(&key_bytes), (!tombstone).then_some(&value_bytes[..])).unwrap();
        prop_assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        prop_assert_eq!(&got.key, &key);
        prop_assert_eq!(got.key.encode().unwrap(), key_bytes.clone());
        if tombstone {
            prop_assert!(got.is_tombstone());
        } else {
            let v = got.value.clone().unwrap();
            prop_assert_eq!(&v, &value);
            prop_assert_eq!(v.encode().unwrap(), value_bytes.clone());
            let prefixes = ["OffsetCommit", "GroupMetadata", "ConsumerGroup"];
            compare(&schemas(), &prefixes, got.to_json(), &key_bytes, &value_bytes);
        }
    }

    #[test]
    fn transaction_log_records_round_trip(
        id in text(),
        version in 0i16..=1,
        ids in (any::<i64>(), any::<i64>(), any::<i64>(), any::<i16>(), any::<i16>()),
        rest in (any::<i32>(), 0i8..8, any::<i64>(), any::<i64>()),
        partitions in prop::option::of(prop::collection::vec((text(), prop::collection::vec(any::<i32>(), 0..3)), 0..3)),
        tags in unknown_tags(true),
    ) {
        let flexible = version >= 1;
        let value = TransactionLogValue {
            version,
            producer_id: ids.0,
            previous_producer_id: if flexible { ids.1 } else { -1 },
            next_producer_id: if flexible { ids.2 } else { -1 },
            producer_epoch: ids.3,
            transaction_timeout_ms: rest.0,
            transaction_status: rest.1,
            transaction_partitions: partitions.map(|ps| ps.into_iter().map(|(topic, partition_ids)| TransactionPartitions {
                topic, partition_ids, unknown_tagged_fields: Vec::new(),
            }).collect()),
            transaction_last_update_timestamp_ms: rest.2,
            transaction_start_timestamp_ms: rest.3,
            client_transaction_version: if flexible { ids.4 } else { 0 },
            unknown_tagged_fields: if flexible { tags } else { Vec::new() },
        };
        let key = TransactionLogKey::V0 { transactional_id: id };
        let key_bytes = key.encode().unwrap();
        let value_bytes = TransactionLogRecordValue::Known(value.clone()).encode().unwrap();
        let got = decode_transaction_log_record(Some(&key_bytes), Some(&value_bytes)).unwrap();
        prop_assert!(got.warnings.is_empty());
        prop_assert_eq!(&got.key, &key);
        prop_assert_eq!(got.value.clone(), Some(TransactionLogRecordValue::Known(value)));
        compare(&schemas(), &["TransactionLog"], got.to_json(), &key_bytes, &value_bytes);
    }
}

#[test]
fn unknown_versions_are_kept_raw_with_a_warning() {
    let key = [0u8, 99, 1, 2];
    let got = decode_offsets_record(Some(&key), Some(&[0, 1])).unwrap();
    assert!(matches!(got.key, OffsetsKey::Unknown { version: 99, .. }));
    assert!(matches!(
        got.value,
        Some(OffsetsValue::Unknown {
            version: Some(1),
            ..
        })
    ));
    assert_eq!(got.warnings.len(), 2, "{:?}", got.warnings);
    let key = OffsetsKey::GroupMetadata(GroupMetadataKey { group: "g".into() })
        .encode()
        .unwrap();
    let got = decode_offsets_record(Some(&key), Some(&[0, 7, 1])).unwrap();
    assert!(matches!(
        got.value,
        Some(OffsetsValue::Unknown {
            version: Some(7),
            ..
        })
    ));
    assert_eq!(
        got.warnings,
        ["unknown value version 7 for record type 2: kept raw"]
    );
    let got = decode_transaction_log_record(Some(&[0, 5]), None).unwrap();
    assert!(matches!(
        got.key,
        TransactionLogKey::Unknown { version: 5, .. }
    ));
    assert_eq!(got.warnings.len(), 1);
}

#[test]
fn malformed_known_versions_name_the_field_and_position() {
    // An offset commit key whose topic claims 100 bytes.
    let key = [0u8, 1, 0, 1, b'g', 0, 100, b't'];
    let e = decode_offsets_record(Some(&key), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "key: field topic at byte 5: truncated: needs 100 bytes, 1 left"
    );
    assert_eq!(
        decode_offsets_record(None, None).unwrap_err().to_string(),
        "null key"
    );
    // Every truncation of a real-looking value is an error, never a panic.
    let value = OffsetsValue::OffsetCommit(OffsetCommitValue {
        version: 4,
        offset: 7,
        metadata: "m".into(),
        ..OffsetCommitValue::default()
    })
    .encode()
    .unwrap();
    let key = OffsetsKey::OffsetCommit(OffsetCommitKey::default())
        .encode()
        .unwrap();
    for n in 0..value.len() {
        assert!(
            decode_offsets_record(Some(&key), Some(&value[..n])).is_err(),
            "{n}"
        );
    }
}

#[test]
fn transaction_partitions_of_empty_topics_are_not_refused() {
    use kreplay::state::transaction_state::{
        TransactionLogRecordValue, TransactionLogValue, TransactionPartitions,
    };
    // Ten entries of 3 bytes each (flexible): under the non-flexible 6-byte minimum.
    let value = TransactionLogValue {
        version: 1,
        previous_producer_id: -1,
        next_producer_id: -1,
        transaction_partitions: Some(vec![TransactionPartitions::default(); 10]),
        ..TransactionLogValue::default()
    };
    let bytes = TransactionLogRecordValue::Known(value.clone())
        .encode()
        .unwrap();
    let got = TransactionLogRecordValue::decode(&bytes, &mut Vec::new()).unwrap();
    assert_eq!(got, TransactionLogRecordValue::Known(value));
}
