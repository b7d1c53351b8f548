//! `kreplay ls` on a log dir holding `__cluster_metadata-0` lists the
//! metadata's topics: ids beside names checked against each partition's
//! `partition.metadata` (a mismatch flagged, status 1), configs, and the
//! partitions the metadata knows but the dir lacks. The broker-written log
//! dir in `../shared/conformance/real` is read in place.

mod common;

use std::path::Path;

use common::*;
use kreplay::state::cluster_metadata::*;
use kreplay::writer::{
    fill_offset_deltas, metadata_record_spec, PartitionWriter, RecordSpec, WriterOptions,
};

fn uuid(n: u8) -> Uuid {
    Uuid([n; 16])
}

fn records() -> Vec<MetadataRecord> {
    let topic = |name: &str, n| MetadataRecord {
        version: 0,
        data: MetadataRecordData::Topic(TopicRecord {
            name: name.into(),
            topic_id: uuid(n),
            ..Default::default()
        }),
    };
    let partition = |n, partition_id| MetadataRecord {
        version: 0,
        data: MetadataRecordData::Partition(PartitionRecord {
            partition_id,
            topic_id: uuid(n),
            replicas: vec![1],
            isr: vec![1],
            leader: 1,
            ..Default::default()
        }),
    };
    let config = |topic: &str, name: &str, value: Option<&str>| MetadataRecord {
        version: 0,
        data: MetadataRecordData::Config(ConfigRecord {
            resource_type: 2,
            resource_name: topic.into(),
            name: name.into(),
            value: value.map(str::to_string),
            ..Default::default()
        }),
    };
    vec![
        topic("orders", 1),
        partition(1, 0),
        partition(1, 1),
        partition(1, 2),
        config("orders", "cleanup.policy", Some("compact")),
        config("orders", "retention.ms", Some("604800000")),
        config("orders", "message.timestamp.type", Some("LogAppendTime")),
        config("orders", "retention.ms", None),
        topic("clicks", 2),
        partition(2, 0),
    ]
}

fn data_partition(log_dir: &Path, topic: &str, partition: i32, topic_id: Option<Uuid>) {
    let mut writer =
        PartitionWriter::open(log_dir, topic, partition, WriterOptions::default()).unwrap();
    writer
        .append(&[RecordSpec::new(0, Some(b"k"), Some(b"v"))])
        .unwrap();
    writer.close().unwrap();
    if let Some(id) = topic_id {
        std::fs::write(
            log_dir.join(format!("{topic}-{partition}/partition.metadata")),
            format!("version: 0\ntopic_id: {id}"),
        )
        .unwrap();
    }
}

#[test]
fn topics_configs_ids_and_missing_partitions() {
    let log_dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionWriter::open(
        log_dir.path(),
        "__cluster_metadata",
        0,
        WriterOptions::default(),
    )
    .unwrap();
    let mut specs: Vec<RecordSpec> = records()
        .iter()
        .map(|r| metadata_record_spec(0, r))
        .collect();
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
    data_partition(log_dir.path(), "orders", 0, Some(uuid(1)));
    data_partition(log_dir.path(), "orders", 2, Some(uuid(1)));
    data_partition(log_dir.path(), "clicks", 0, Some(uuid(9)));

    let run = kreplay(["ls".as_ref(), log_dir.path().as_os_str()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let orders = run
        .stdout
        .lines()
        .find(|l| l.starts_with("orders ") && l.contains(&uuid(1).to_string()))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let cells: Vec<&str> = orders.split_whitespace().collect();
    assert_eq!(
        cells[1..],
        [
            uuid(1).to_string().as_str(),
            "3",
            "2",
            "1",
            "ok",
            "cleanup.policy=compact,message.timestamp.type=LogAppendTime"
        ]
    );
    assert!(
        run.stdout.contains(&format!("MISMATCH(0:{})", uuid(9))),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("clicks-0: partition.metadata names topic id"),
        "{}",
        run.stderr
    );

    let run = kreplay(["ls".as_ref(), "--json".as_ref(), log_dir.path().as_os_str()]);
    let topics: Vec<_> = run
        .json_lines()
        .into_iter()
        .filter(|l| l["type"] == "topic")
        .collect();
    assert_eq!(topics.len(), 2);
    assert_eq!(topics[0]["topic"], "clicks");
    assert_eq!(topics[0]["topic_id_mismatch"][0]["partition"], 0);
    assert_eq!(topics[1]["topic"], "orders");
    assert_eq!(topics[1]["topic_id"], uuid(1).to_string());
    assert_eq!(topics[1]["partitions"], 3);
    assert_eq!(topics[1]["partitions_in_dir"], serde_json::json!([0, 2]));
    assert_eq!(topics[1]["missing_partitions"], serde_json::json!([1]));
    assert_eq!(
        topics[1]["configs"],
        serde_json::json!({"cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime"})
    );
}

#[test]
fn real_log_dir_topics_match_the_metadata() {
    let Some(real) = shared_conformance()
        .map(|s| s.join("real/nomanazeem__Kafka-java/kafka-logs"))
        .filter(|p| p.is_dir())
    else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let run = kreplay(["ls".as_ref(), "--json".as_ref(), real.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let topics: Vec<_> = run
        .json_lines()
        .into_iter()
        .filter(|l| l["type"] == "topic")
        .collect();
    let offsets = topics
        .iter()
        .find(|t| t["topic"] == "__consumer_offsets")
        .unwrap();
    assert_eq!(offsets["topic_id"], "FPCMpfzhTqatNggLgXnlSg");
    assert_eq!(offsets["partitions"], 50);
    assert_eq!(offsets["partitions_in_dir"], serde_json::json!([15]));
    assert_eq!(offsets["configs"]["cleanup.policy"], "compact");
    let demo = topics.iter().find(|t| t["topic"] == "demo-topic").unwrap();
    assert_eq!(demo["missing_partitions"], serde_json::json!([0, 1, 2]));
}
