//! `dump --offsets-decoder` / `--transaction-log-decoder`: a
//! `__consumer_offsets` partition written by the writer (two groups,
//! superseded commits, tombstones, a group metadata record) dumps decoded;
//! unknown versions show raw with a warning (exit 0); malformed records show
//! raw with an error naming the field (exit 1); the real partitions in
//! `../shared/conformance/real` dump with no warning.

mod common;

use std::path::Path;

use common::*;
use kreplay::state::consumer_offsets::{GroupMetadataValue, MemberMetadata};
use kreplay::state::consumer_protocol::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicPartitions,
};
use kreplay::writer::{
    fill_offset_deltas, group_metadata_record, offset_commit_record, offset_commit_tombstone,
    PartitionWriter, RecordSpec, StateRecord, WriterOptions,
};
use serde_json::{json, Value};

fn write(root: &Path, records: &[StateRecord]) {
    let mut writer =
        PartitionWriter::open(root, "__consumer_offsets", 0, WriterOptions::default()).unwrap();
    let mut specs: Vec<RecordSpec> = records
        .iter()
        .enumerate()
        .map(|(i, r)| RecordSpec::new(1_700_000_000_000 + i as i64, r.key(), r.value()))
        .collect();
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
}

fn group_value() -> GroupMetadataValue {
    let subscription = ConsumerProtocolSubscription {
        version: 1,
        topics: vec!["orders".into()],
        ..ConsumerProtocolSubscription::default()
    };
    let assignment = ConsumerProtocolAssignment {
        version: 0,
        assigned_partitions: vec![TopicPartitions {
            topic: "orders".into(),
            partitions: vec![0, 1],
        }],
        user_data: None,
    };
    GroupMetadataValue {
        version: 3,
        protocol_type: "consumer".into(),
        generation: 4,
        protocol: Some("range".into()),
        leader: Some("m-1".into()),
        current_state_timestamp: 1_700_000_000_000,
        members: vec![MemberMetadata {
            member_id: "m-1".into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/10.0.0.1".into(),
            rebalance_timeout: 300_000,
            session_timeout: 45_000,
            subscription: subscription.encode().unwrap(),
            assignment: assignment.encode().unwrap(),
            unknown_tagged_fields: Vec::new(),
        }],
        unknown_tagged_fields: Vec::new(),
    }
}

#[test]
fn written_offsets_partition_dumps_decoded() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        &[
            offset_commit_record("billing", "orders", 0, 10, "", 1).unwrap(),
            offset_commit_record("billing", "orders", 1, 5, "m", 2).unwrap(),
            offset_commit_record("audit", "orders", 0, 3, "", 3).unwrap(),
            offset_commit_record("billing", "orders", 0, 20, "", 4).unwrap(), // supersedes 10
            offset_commit_tombstone("billing", "orders", 1).unwrap(),
            group_metadata_record("billing", Some(&group_value())).unwrap(),
            group_metadata_record("audit", None).unwrap(),
        ],
    );
    let run = kreplay([
        "dump".as_ref(),
        "--offsets-decoder".as_ref(),
        "--json".as_ref(),
        root.path().as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let lines = run.json_lines();
    assert_eq!(lines.len(), 7);
    let offsets: Vec<i64> = lines
        .iter()
        .map(|l| l["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(
        lines[3]["key"],
        json!({"type": "offset_commit", "version": 1, "group": "billing", "topic": "orders", "partition": 0})
    );
    assert_eq!(
        lines[3]["value"],
        json!({"version": 3, "offset": 20, "leaderEpoch": -1, "metadata": "", "commitTimestamp": 4})
    );
    assert_eq!(lines[3]["tombstone"], false);
    assert_eq!(lines[4]["tombstone"], true);
    assert_eq!(lines[4]["value"], Value::Null);
    assert_eq!(lines[4]["raw_value"], Value::Null);
    assert_eq!(lines[4]["key"]["partition"], 1);
    // The raw fields dump --json prints stay beside the decoded ones.
    for field in [
        "topic",
        "partition",
        "timestamp",
        "timestamp_type",
        "raw_key",
        "headers",
        "is_control",
    ] {
        assert!(lines[0].get(field).is_some(), "{field}: {}", lines[0]);
    }
    assert_eq!(lines[0]["topic"], "__consumer_offsets");
    let group = &lines[5]["value"];
    assert_eq!(group["protocolType"], "consumer");
    assert_eq!(group["generation"], 4);
    let member = &group["members"][0];
    assert_eq!(member["subscription"]["Topics"], json!(["orders"]));
    assert_eq!(
        member["assignment"]["AssignedPartitions"],
        json!([{"Topic": "orders", "Partitions": [0, 1]}])
    );
    assert_eq!(lines[6]["key"]["type"], "group_metadata");
    assert_eq!(lines[6]["tombstone"], true);

    // Text: kafka-dump-log's layout, tombstones as <DELETE>.
    let text = kreplay([
        "dump".as_ref(),
        "--offsets-decoder".as_ref(),
        root.path().as_os_str(),
    ]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let records: Vec<&str> = text
        .stdout
        .lines()
        .filter(|l| l.starts_with("| offset:"))
        .collect();
    assert_eq!(records.len(), 7);
    assert!(records[3].contains(r#" key: {"group":"billing","partition":0,"topic":"orders","type":"offset_commit","version":1} payload: {"#), "{}", records[3]);
    assert!(records[3].contains(r#""offset":20"#), "{}", records[3]);
    assert!(records[4].ends_with(" payload: <DELETE>"), "{}", records[4]);
}

#[test]
fn unknown_versions_warn_and_malformed_records_are_data_errors() {
    let root = tempfile::tempdir().unwrap();
    let good = offset_commit_record("g", "t", 0, 1, "", 1).unwrap();
    let unknown = StateRecord {
        key: vec![0, 42, 1, 2, 3],
        value: Some(vec![0, 0]),
    };
    let mut malformed = good.clone();
    malformed.value.as_mut().unwrap().truncate(6);
    write(root.path(), &[good.clone(), unknown, malformed, good]);
    let run = kreplay([
        "dump".as_ref(),
        "--offsets-decoder".as_ref(),
        "--json".as_ref(),
        root.path().as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 4, "every record shown, none skipped");
    assert_eq!(lines[1]["key"]["type"], "unknown");
    assert_eq!(lines[1]["key"]["raw"], "ACoBAgM=");
    assert_eq!(lines[1]["warnings"].as_array().unwrap().len(), 2);
    // The malformed one as plain dump --json prints it.
    assert!(lines[2].get("tombstone").is_none(), "{}", lines[2]);
    assert_eq!(lines[3]["value"]["offset"], 1);
    assert!(
        run.stderr
            .contains("offset 1: unknown key version (record type) 42: kept raw"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("offset 2: value: field offset at byte 2: truncated: needs 8 bytes, 4 left"),
        "{}",
        run.stderr
    );
}

#[test]
fn transaction_log_decoder_reads_transaction_records() {
    use kreplay::state::transaction_state::{
        TransactionLogKey, TransactionLogRecordValue, TransactionLogValue,
    };
    let root = tempfile::tempdir().unwrap();
    let key = TransactionLogKey::V0 {
        transactional_id: "txn-1".into(),
    }
    .encode()
    .unwrap();
    let value = TransactionLogRecordValue::Known(TransactionLogValue {
        version: 0,
        producer_id: 1000,
        previous_producer_id: -1,
        next_producer_id: -1,
        transaction_status: 1,
        transaction_partitions: Some(Vec::new()),
        ..TransactionLogValue::default()
    })
    .encode()
    .unwrap();
    write(
        root.path(),
        &[StateRecord {
            key,
            value: Some(value),
        }],
    );
    let run = kreplay([
        "dump".as_ref(),
        "--transaction-log-decoder".as_ref(),
        "--json".as_ref(),
        root.path().as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines[0]["key"]["TransactionalId"], "txn-1");
    assert_eq!(lines[0]["value"]["ProducerId"], 1000);
    assert_eq!(lines[0]["value"]["TransactionStatusName"], "Ongoing");
}

#[test]
fn real_offsets_partitions_dump_without_warnings() {
    let Some(shared) = shared_conformance() else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let dirs = [
        "real/rjmfernandes__flink-on-prem/data/__consumer_offsets-36",
        "real/nomanazeem__Kafka-java/kafka-logs/__consumer_offsets-15",
    ];
    for dir in dirs.map(|d| shared.join(d)).iter().filter(|d| d.is_dir()) {
        let run = kreplay([
            "dump".as_ref(),
            "--offsets-decoder".as_ref(),
            "--json".as_ref(),
            dir.as_os_str(),
        ]);
        assert_eq!(run.code, 0, "{}: {}", dir.display(), run.stderr);
        assert_eq!(run.stderr, "", "{}", dir.display());
        let lines = run.json_lines();
        assert!(!lines.is_empty());
        assert!(lines
            .iter()
            .all(|l| l["key"]["type"] != "unknown" && l.get("warnings").is_none()));
    }
}

#[test]
fn the_two_decoders_exclude_each_other() {
    let run = kreplay([
        "dump",
        "--offsets-decoder",
        "--transaction-log-decoder",
        "x",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}
