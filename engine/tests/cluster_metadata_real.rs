//! The broker-written `__cluster_metadata-0` in `../shared/conformance/real`
//! (read in place, never copied): every record decodes without a problem,
//! and the metadata image's topics are the partition dirs beside it (names,
//! the topic ids in their `partition.metadata`, partition numbers within the
//! metadata's partition count).

mod common;

use std::path::PathBuf;

use kreplay::state::metadata_image::MetadataImage;
use kreplay::{list_partitions, ReadOptions};

use common::shared_conformance;

/// Log dirs under `../shared/conformance/real` holding `__cluster_metadata-0`.
fn real_metadata_log_dirs() -> Vec<PathBuf> {
    let Some(real) = shared_conformance()
        .map(|s| s.join("real"))
        .filter(|p| p.is_dir())
    else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stack = vec![real];
    while let Some(dir) = stack.pop() {
        if dir.join("__cluster_metadata-0").is_dir() {
            found.push(dir.clone());
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

fn partition_metadata_topic_id(dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("partition.metadata")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("topic_id:"))
        .map(|id| id.trim().to_string())
}

#[test]
fn real_metadata_logs_decode_and_match_their_log_dirs() {
    let dirs = real_metadata_log_dirs();
    for log_dir in &dirs {
        let image = MetadataImage::load(
            &log_dir.join("__cluster_metadata-0"),
            ReadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", log_dir.display()));
        let problems: Vec<String> = image.problems.iter().map(|p| p.to_string()).collect();
        assert!(problems.is_empty(), "{}: {problems:#?}", log_dir.display());
        assert!(image.records_read > 0);
        eprintln!(
            "{}: {} records, topics {:?}, features {:?}",
            log_dir.display(),
            image.records_read,
            image.topics.keys().collect::<Vec<_>>(),
            image.features
        );
        // Every partition dir (the metadata log's own aside) is a partition
        // the metadata knows, under the topic id its partition.metadata names.
        for dir in list_partitions(log_dir).unwrap() {
            let tp = &dir.topic_partition;
            if tp.topic == "__cluster_metadata" {
                continue;
            }
            let topic = image.topics.get(&tp.topic).unwrap_or_else(|| {
                panic!(
                    "{}: topic {} not in the metadata",
                    log_dir.display(),
                    tp.topic
                )
            });
            assert!(
                topic.partitions.contains_key(&tp.partition),
                "{tp}: partition not in the metadata ({} partitions)",
                topic.partitions.len()
            );
            assert_eq!(
                partition_metadata_topic_id(&dir.path).as_deref(),
                Some(topic.topic_id.to_string().as_str()),
                "{tp}: partition.metadata topic id"
            );
        }
    }
}
