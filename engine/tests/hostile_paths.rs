//! Log dirs holding what no broker writes: a partition dir that is a symlink
//! out of the log dir, a symlinked segment, a name that is not UTF-8, topic
//! names Kafka refuses. Each is skipped (with a warning), never followed;
//! the real partitions are still read.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{list_partitions, Partition, ReadOptions, TopicPartition};

fn partition(dir: &std::path::Path, topic: &str, p: i32) {
    let mut writer = PartitionWriter::open(dir, topic, p, WriterOptions::default()).unwrap();
    let mut specs: Vec<RecordSpec> = (0..5)
        .map(|i| RecordSpec::new(i, None, Some(b"v")))
        .collect();
    fill_offset_deltas(&mut specs);
    writer.append(&specs).unwrap();
    writer.close().unwrap();
}

#[test]
fn what_no_broker_writes_is_skipped_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let outside = tmp.path().join("outside");
    partition(&logs, "metrics", 0);
    partition(&outside, "secret", 0);
    // A partition dir that is a symlink out of the log dir.
    symlink(outside.join("secret-0"), logs.join("secret-0")).unwrap();
    // One that is a symlink inside it is fine.
    partition(&logs, "real", 1);
    std::fs::rename(logs.join("real-1"), logs.join(".real-1-moved")).unwrap();
    symlink(logs.join(".real-1-moved"), logs.join("real-1")).unwrap();
    // Names a broker cannot produce.
    std::fs::create_dir(logs.join(OsStr::from_bytes(b"bad\xff-0"))).unwrap();
    std::fs::create_dir(logs.join("..-0")).unwrap();
    std::fs::create_dir(logs.join("a b-0")).unwrap();
    std::fs::create_dir(logs.join(format!("{}-0", "x".repeat(250)))).unwrap();
    // A segment that is a symlink to a file elsewhere.
    std::fs::write(tmp.path().join("passwd"), b"root:x:0:0\n").unwrap();
    symlink(
        tmp.path().join("passwd"),
        logs.join("metrics-0").join("00000000000000000100.log"),
    )
    .unwrap();

    let found: Vec<TopicPartition> = list_partitions(&logs)
        .unwrap()
        .into_iter()
        .map(|d| d.topic_partition)
        .collect();
    assert_eq!(
        found,
        [
            TopicPartition::new("metrics", 0),
            TopicPartition::new("real", 1)
        ]
    );
    let dirs = list_partitions(&logs).unwrap();
    let metrics = Partition::open(&dirs[0], ReadOptions::default()).unwrap();
    assert_eq!(
        metrics.segments().len(),
        1,
        "the symlinked segment is not read"
    );
    assert_eq!(metrics.log_end_offset().unwrap(), 5);
}
