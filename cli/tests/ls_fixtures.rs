//! `kreplay ls` lists every partition of every good fixture with its log
//! end offset, in the table and in JSON.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use common::*;

/// (topic, partition) → log end offset, from expected.jsonl and case.json:
/// the last record's offset + 1, or the segment's base offset when empty.
fn expected_log_end_offsets(case: &Path) -> BTreeMap<(String, i64), i64> {
    let mut ends = BTreeMap::new();
    for segment in read_case_json(case)["segments"].as_array().unwrap() {
        let key = (
            segment["topic"].as_str().unwrap().to_string(),
            segment["partition"].as_i64().unwrap(),
        );
        let name = segment["segment"].as_str().unwrap();
        let base: i64 = name.trim_end_matches(".log").parse().unwrap();
        let end = ends.entry(key).or_insert(base);
        *end = (*end).max(base);
    }
    for r in read_expected(case) {
        let key = (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_i64().unwrap(),
        );
        let next = r["offset"].as_i64().unwrap() + 1;
        let end = ends.entry(key).or_insert(next);
        *end = (*end).max(next);
    }
    ends
}

#[test]
fn ls_lists_every_partition_with_its_log_end_offset() {
    let root = workspace_root().join("fixtures/conformance/corpus");
    let cases = cases_under(&root);
    assert!(cases.len() >= 26);
    for case in &cases {
        let expected = expected_log_end_offsets(case);

        let run = kreplay([OsStr::new("ls"), OsStr::new("--json"), case.as_os_str()]);
        assert_eq!(run.code, 0, "{}: {}", case.display(), run.stderr);
        let got: BTreeMap<(String, i64), i64> = run
            .json_lines()
            .iter()
            .map(|p| {
                assert_eq!(p["type"], "partition");
                (
                    (
                        p["topic"].as_str().unwrap().to_string(),
                        p["partition"].as_i64().unwrap(),
                    ),
                    p["log_end_offset"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{}", case.display());

        let run = kreplay([OsStr::new("ls"), case.as_os_str()]);
        assert_eq!(run.code, 0, "{}: {}", case.display(), run.stderr);
        let mut lines = run.stdout.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "TOPIC",
                "PARTITION",
                "SEGMENTS",
                "LOG-START-OFFSET",
                "LOG-END-OFFSET",
                "SIZE",
                "FIRST-TIMESTAMP",
                "LAST-TIMESTAMP",
                "INDEX"
            ]
        );
        let rows: BTreeMap<(String, i64), i64> = lines
            .map(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                (
                    (cells[0].to_string(), cells[1].parse().unwrap()),
                    cells[4].parse().unwrap(),
                )
            })
            .collect();
        assert_eq!(rows, expected, "{}", case.display());
    }
}

#[test]
fn ls_segments_lists_each_segment() {
    let case = workspace_root().join("fixtures/conformance/corpus/v2-three-segments");
    let run = kreplay([
        OsStr::new("ls"),
        OsStr::new("--segments"),
        OsStr::new("--json"),
        case.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    let bases: Vec<i64> = lines
        .iter()
        .filter(|l| l["type"] == "segment")
        .map(|l| l["base_offset"].as_i64().unwrap())
        .collect();
    assert_eq!(bases, [0, 100, 250]);
    let records: Vec<i64> = lines
        .iter()
        .filter(|l| l["type"] == "segment")
        .map(|l| l["records"].as_i64().unwrap())
        .collect();
    assert_eq!(records, [100, 150, 50]);
}
