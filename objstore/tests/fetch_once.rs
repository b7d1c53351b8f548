//! A consumer replaying a log dir from a bucket fetches each file once: the
//! engine opens a partition's first and last segments several times (log
//! start and end offsets, seeks, the reads), and the segments fetched ahead
//! are the ones read next. Counted by a proxy that notes every request. In
//! its own test binary: the cache of recent files is per process.
#![allow(clippy::unwrap_used)]

#[path = "../../engine/tests/common/corpus.rs"]
mod corpus;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kreplay::{list_partitions, AutoOffsetReset, Consumer, ConsumerConfig, IsolationLevel};
use kreplay_object_store::mount;
use support::bucket::{create_bucket, endpoint, options, upload};

/// Every record of `log_dir`'s partitions through a consumer, by partition.
fn replay(log_dir: &str) -> BTreeMap<String, Vec<i64>> {
    let mut config = ConsumerConfig::new([log_dir]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.isolation_level = IsolationLevel::ReadCommitted;
    config.follow = false;
    let mut consumer = Consumer::new(config).unwrap();
    let partitions: Vec<_> = list_partitions(std::path::Path::new(log_dir))
        .unwrap()
        .into_iter()
        .map(|d| d.topic_partition)
        .collect();
    assert_eq!(partitions.len(), 6);
    consumer.assign(&partitions).unwrap();
    let mut seen: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut idle = 0;
    while idle < 3 {
        let polled = consumer.poll(Duration::from_millis(200)).unwrap();
        if polled.is_empty() {
            idle += 1;
            continue;
        }
        idle = 0;
        for record in polled.iter() {
            let record = record.unwrap();
            let tp = record.topic_partition.to_string();
            seen.entry(tp).or_default().push(record.offset());
        }
    }
    seen
}

#[test]
fn a_consumer_replay_fetches_every_file_once() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = "kreplay-once";
    create_bucket(&endpoint, bucket);
    let local = corpus::workspace_root().join("fixtures/demo");
    upload(&endpoint, bucket, "demo", &local);
    let counting = support::proxy::Proxy::start(&endpoint, support::proxy::Fault::None);
    mount(&format!("s3://{bucket}"), options(&counting.endpoint())).unwrap();

    let got = replay(&format!("s3://{bucket}/demo"));
    assert_eq!(got, replay(local.to_str().unwrap()));

    let mut gets: BTreeMap<String, usize> = BTreeMap::new();
    for request in counting.requests() {
        if let Some(path) = request.strip_prefix("GET /") {
            *gets.entry(path.to_string()).or_default() += 1;
        }
    }
    let segments: Vec<_> = gets.iter().filter(|(k, _)| k.ends_with(".log")).collect();
    assert_eq!(segments.len(), 24, "{gets:#?}");
    for (key, n) in &gets {
        // One GET per file (each is below one 8 MiB range); the listings
        // (GET /bucket?list-type=2...) are one per directory.
        if key.as_str() != bucket {
            assert_eq!(*n, 1, "{key} fetched {n} times: {gets:#?}");
        }
    }
}
