//! A `__cluster_metadata-0` written by the writer (a snapshot and the log
//! after it) replays into the image Kafka's `MetadataDelta` would build:
//! topics added and removed, partitions changed, configs set and deleted,
//! aborted metadata transactions dropped; an insane snapshot is passed
//! over with a problem reported; unknown record types are reported, not
//! skipped silently.

use kreplay::state::cluster_metadata::*;
use kreplay::state::metadata_image::{MetadataImage, SnapshotId};
use kreplay::writer::{
    fill_offset_deltas, metadata_record_spec, write_metadata_snapshot, PartitionWriter, RecordSpec,
    WriterOptions,
};
use kreplay::ReadOptions;

fn id(n: u8) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[15] = n;
    bytes[0] = 0x40;
    Uuid(bytes)
}

fn rec(data: MetadataRecordData, version: i16) -> MetadataRecord {
    MetadataRecord { version, data }
}

fn topic(name: &str, n: u8) -> MetadataRecord {
    rec(
        MetadataRecordData::Topic(TopicRecord {
            name: name.into(),
            topic_id: id(n),
            ..Default::default()
        }),
        0,
    )
}

fn partition(n: u8, partition_id: i32) -> MetadataRecord {
    rec(
        MetadataRecordData::Partition(PartitionRecord {
            partition_id,
            topic_id: id(n),
            replicas: vec![1],
            isr: vec![1],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
            ..Default::default()
        }),
        2,
    )
}

fn config(topic: &str, name: &str, value: Option<&str>) -> MetadataRecord {
    rec(
        MetadataRecordData::Config(ConfigRecord {
            resource_type: 2,
            resource_name: topic.into(),
            name: name.into(),
            value: value.map(str::to_string),
            ..Default::default()
        }),
        0,
    )
}

fn write_log(log_dir: &std::path::Path, start: i64, records: &[MetadataRecord]) {
    let mut writer = PartitionWriter::open(
        log_dir,
        "__cluster_metadata",
        0,
        WriterOptions::default().with_start_offset(start),
    )
    .unwrap();
    let mut specs: Vec<RecordSpec> = records
        .iter()
        .map(|r| metadata_record_spec(1_700_000_000_000, r))
        .collect();
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
}

#[test]
fn replay_from_a_snapshot_then_the_log() {
    let log_dir = tempfile::tempdir().unwrap();
    let dir = log_dir.path().join("__cluster_metadata-0");
    // The log from offset 3: the snapshot holds offsets 0..3.
    write_log(
        log_dir.path(),
        3,
        &[
            topic("b", 2),
            partition(2, 0),
            config("a", "retention.ms", Some("1000")),
            config("a", "cleanup.policy", None),
            rec(
                MetadataRecordData::PartitionChange(PartitionChangeRecord {
                    partition_id: 1,
                    topic_id: id(1),
                    leader: 2,
                    isr: Some(vec![1, 2]),
                    ..Default::default()
                }),
                0,
            ),
            rec(MetadataRecordData::BeginTransaction(Default::default()), 0),
            topic("dropped", 9),
            rec(MetadataRecordData::AbortTransaction(Default::default()), 0),
            topic("gone", 3),
            rec(
                MetadataRecordData::RemoveTopic(RemoveTopicRecord {
                    topic_id: id(3),
                    ..Default::default()
                }),
                0,
            ),
        ],
    );
    let snapshot = [
        topic("a", 1),
        partition(1, 0),
        partition(1, 1),
        config("a", "cleanup.policy", Some("compact")),
    ];
    let good = SnapshotId {
        end_offset: 3,
        epoch: 1,
    };
    write_metadata_snapshot(&dir, good, 1_700_000_000_000, &snapshot, 2).unwrap();
    // A later snapshot that is cut short: not used, reported.
    let bad = SnapshotId {
        end_offset: 10,
        epoch: 1,
    };
    let path = write_metadata_snapshot(&dir, bad, 1_700_000_000_000, &snapshot, 2).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();

    let image = MetadataImage::load(&dir, ReadOptions::default()).unwrap();
    assert_eq!(image.snapshot, Some(good));
    assert_eq!(image.topics.keys().collect::<Vec<_>>(), ["a", "b"]);
    let a = &image.topics["a"];
    assert_eq!(a.topic_id, id(1));
    assert_eq!(a.partitions.len(), 2);
    assert_eq!(a.partitions[&1].leader, 2);
    assert_eq!(a.partitions[&1].isr, [1, 2]);
    assert_eq!(a.partitions[&1].leader_epoch, 1);
    assert_eq!(
        a.configs.iter().collect::<Vec<_>>(),
        [(&"retention.ms".to_string(), &"1000".to_string())]
    );
    assert_eq!(image.topics["b"].partitions.len(), 1);
    assert_eq!(image.last_offset, Some(12));
    assert_eq!(image.problems.len(), 1, "{:#?}", image.problems);
    assert!(image.problems[0].message.contains("snapshot not used"));
    assert!(image.problems[0].path.ends_with(path.file_name().unwrap()));
}

#[test]
fn unknown_record_types_are_problems_not_silence() {
    let log_dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionWriter::open(
        log_dir.path(),
        "__cluster_metadata",
        0,
        WriterOptions::default(),
    )
    .unwrap();
    let mut specs = vec![
        metadata_record_spec(0, &topic("t", 1)),
        RecordSpec::new(0, None, Some(&[1, 99, 0, 0])),
        RecordSpec::new(0, None, Some(&[1, 2, 0, 200])),
    ];
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
    let image = MetadataImage::load(
        &log_dir.path().join("__cluster_metadata-0"),
        ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(image.topics.len(), 1);
    let messages: Vec<String> = image.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].contains("offset 1") && messages[0].contains("unknown metadata record type 99")
    );
    assert!(!image.problems[0].is_error);
    assert!(messages[1].contains("offset 2") && messages[1].contains("TopicRecord.Name"));
    assert!(image.problems[1].is_error);
}
