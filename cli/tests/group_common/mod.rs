//! Test support for `kreplay group`: commit offsets with `kreplay consume
//! --group` on `fixtures/demo`, read log offsets with `kreplay ls --json`.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::common::*;

/// `fixtures/demo`: 2 topics (metrics, orders) x 3 partitions.
pub fn demo() -> PathBuf {
    workspace_root().join("fixtures/demo")
}

/// `s` as a `&str`.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Consumes `count` records of `topic`-`partition` as `group` from where
/// the group stands (`-o stored`) and returns their offsets.
pub fn consume_group(
    state: &Path,
    group: &str,
    topic: &str,
    partition: i32,
    count: u64,
) -> Vec<i64> {
    let run = kreplay([
        "consume",
        "--log-dir",
        s(&demo()),
        "-t",
        topic,
        "-p",
        &partition.to_string(),
        "--group",
        group,
        "--state-dir",
        s(state),
        "-e",
        "-c",
        &count.to_string(),
        "-f",
        "%o\n",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.lines().map(|l| l.parse().unwrap()).collect()
}

/// (log start offset, log end offset) of every partition of `fixtures/demo`.
pub fn log_offsets() -> BTreeMap<(String, i64), (i64, i64)> {
    let run = kreplay(["ls", "--json", s(&demo())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json_lines()
        .iter()
        .map(|v| {
            (
                (
                    v["topic"].as_str().unwrap().to_string(),
                    v["partition"].as_i64().unwrap(),
                ),
                (
                    v["log_start_offset"].as_i64().unwrap(),
                    v["log_end_offset"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// `kreplay group describe G --json`: (topic, partition) -> current offset.
pub fn committed(state: &Path, group: &str) -> BTreeMap<(String, i64), i64> {
    let run = kreplay([
        "group",
        "describe",
        group,
        "--log-dir",
        s(&demo()),
        "--state-dir",
        s(state),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json_lines()
        .iter()
        .map(|v| {
            (
                (
                    v["topic"].as_str().unwrap().to_string(),
                    v["partition"].as_i64().unwrap(),
                ),
                v["current_offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// `kreplay group reset G --log-dir demo --state-dir STATE --json ARGS...`:
/// the plan as (topic, partition) -> new offset.
pub fn reset(state: &Path, group: &str, args: &[&str]) -> (Run, BTreeMap<(String, i64), i64>) {
    let demo = demo();
    let mut all = vec![
        "group",
        "reset",
        group,
        "--log-dir",
        s(&demo),
        "--state-dir",
        s(state),
        "--json",
    ];
    all.extend_from_slice(args);
    let run = kreplay(&all);
    let plan = if run.code == 0 {
        run.json_lines()
            .iter()
            .map(|v| {
                (
                    (
                        v["topic"].as_str().unwrap().to_string(),
                        v["partition"].as_i64().unwrap(),
                    ),
                    v["new_offset"].as_i64().unwrap(),
                )
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    (run, plan)
}

/// The key of a partition in the maps above.
pub fn tp(topic: &str, partition: i64) -> (String, i64) {
    (topic.to_string(), partition)
}
