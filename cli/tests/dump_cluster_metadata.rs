//! `kreplay dump --cluster-metadata-decoder`: the broker-written
//! `__cluster_metadata-0` (read in place) decodes without a warning; a
//! `.checkpoint` snapshot dumps under its own name, headed as kafka-dump-log
//! heads one; unknown types are shown raw with a warning naming the file,
//! position and offset, never skipped.

mod common;

use common::*;
use kreplay::state::cluster_metadata::*;
use kreplay::state::metadata_image::SnapshotId;
use kreplay::writer::{
    fill_offset_deltas, metadata_record_spec, write_metadata_snapshot, PartitionWriter, RecordSpec,
    WriterOptions,
};

#[test]
fn real_metadata_log_decodes_without_warnings() {
    let Some(real) = shared_conformance()
        .map(|s| s.join("real/nomanazeem__Kafka-java/kafka-logs/__cluster_metadata-0"))
        .filter(|p| p.is_dir())
    else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let run = kreplay([
        "dump".as_ref(),
        "--cluster-metadata-decoder".as_ref(),
        "--json".as_ref(),
        real.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2067);
    for line in &lines {
        let value = &line["value"];
        assert!(
            value["type"]
                .as_str()
                .is_some_and(|t| t != "UNKNOWN" && t != "UNDECODABLE"),
            "{line}"
        );
        assert_eq!(line["tombstone"], false);
        if line["is_control"] == false {
            assert!(line["key"].is_null());
            assert!(value["version"].is_i64());
            assert!(value["data"].is_object());
        }
    }
    let topics: Vec<&str> = lines
        .iter()
        .filter(|l| l["value"]["type"] == "TOPIC_RECORD")
        .map(|l| l["value"]["data"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["demo-topic", "__consumer_offsets"]);
    // Text: kafka-dump-log's payload lines.
    let run = kreplay([
        "dump".as_ref(),
        "--cluster-metadata-decoder".as_ref(),
        real.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(r#"payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"demo-topic","topicId":"S2kwl2mvSCasFtxUPkayPw"}}"#));
    assert!(run.stdout.contains(r#"LeaderChange {"#));
}

fn topic(name: &str) -> MetadataRecord {
    MetadataRecord {
        version: 0,
        data: MetadataRecordData::Topic(TopicRecord {
            name: name.into(),
            topic_id: Uuid([7; 16]),
            ..Default::default()
        }),
    }
}

#[test]
fn snapshots_dump_under_their_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId {
        end_offset: 42,
        epoch: 3,
    };
    let path =
        write_metadata_snapshot(dir.path(), id, 1_700_000_000_000, &[topic("t")], 10).unwrap();
    assert!(path.ends_with("00000000000000000042-0000000003.checkpoint"));
    let run = kreplay([
        "dump".as_ref(),
        "--cluster-metadata-decoder".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Snapshot end offset: 42, epoch: 3\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(r#" SnapshotHeader {"lastContainedLogTimestamp":1700000000000,"version":0}"#),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(r#""type":"TOPIC_RECORD""#));
    assert!(run.stdout.contains(r#" SnapshotFooter {"version":0}"#));
    let run = kreplay([
        "dump".as_ref(),
        "--cluster-metadata-decoder".as_ref(),
        "--json".as_ref(),
        path.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["key"]["type"], "SNAPSHOT_HEADER");
    assert_eq!(lines[1]["offset"], 1);
    assert_eq!(lines[1]["value"]["data"]["name"], "t");
    // verify reads it under its name too.
    let run = kreplay(["verify".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Other names stay refused.
    let other = dir.path().join("snapshot-42.checkpoint");
    std::fs::copy(&path, &other).unwrap();
    let run = kreplay(["dump".as_ref(), other.as_os_str()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("not a Kafka segment name"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_and_bad_records_are_shown_raw_and_reported() {
    let log_dir = tempfile::tempdir().unwrap();
    let mut writer = PartitionWriter::open(
        log_dir.path(),
        "__cluster_metadata",
        0,
        WriterOptions::default(),
    )
    .unwrap();
    let mut specs = vec![
        metadata_record_spec(0, &topic("t")),
        RecordSpec::new(0, None, Some(&[1, 99, 0, 0])),
        RecordSpec::new(0, None, Some(&[1, 2, 0, 200])),
    ];
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
    let dir = log_dir.path().join("__cluster_metadata-0");
    let run = kreplay([
        "dump".as_ref(),
        "--cluster-metadata-decoder".as_ref(),
        "--json".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["value"]["type"], "UNKNOWN");
    assert_eq!(lines[1]["value"]["api_key"], 99);
    assert_eq!(lines[1]["value"]["raw"], "AWMAAA==");
    assert_eq!(lines[2]["value"]["type"], "UNDECODABLE");
    assert!(
        run.stderr
            .contains("position 0, offset 1: unknown metadata record type 99"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("offset 2: field TopicRecord.Name at byte 3"),
        "{}",
        run.stderr
    );
}
