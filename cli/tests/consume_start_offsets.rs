//! `-o N`, `-o -N`, `-o s@TS`, `-o beginning` and `-o end`, checked against
//! the expected records (a naive scan).

mod common;

use common::*;
use serde_json::Value;

fn consumed(case: &std::path::Path, offset: &str) -> Vec<Value> {
    let run = consume(
        case,
        &["-e", "--format", "json", "--bytes", "base64", "-o", offset],
    );
    assert_eq!(run.code, 0, "-o {offset}: {}", run.stderr);
    run.json_lines()
}

#[test]
fn absolute_offsets() {
    let case = corpus_case("v2-three-segments");
    let expected = expected_consumed(&case);
    let last = *offsets(&expected).last().unwrap();
    for start in [0, 1, 17, last / 2, last] {
        let want: Vec<Value> = expected
            .iter()
            .filter(|r| r["offset"].as_i64().unwrap() >= start)
            .cloned()
            .collect();
        assert_eq!(consumed(&case, &start.to_string()), want, "-o {start}");
    }
    assert_eq!(consumed(&case, "beginning"), expected);
    assert!(consumed(&case, "end").is_empty());
}

#[test]
fn offsets_from_the_end() {
    // Four partitions, one of them empty: -N counts back from each log end,
    // never before the log start.
    let case = corpus_case("v2-four-partitions");
    let expected = by_partition(&expected_consumed(&case));
    for n in [0, 1, 5, 30, 1000] {
        let got = by_partition(&consumed(&case, &format!("-{n}")));
        for ((topic, partition), records) in &expected {
            let end = records.last().unwrap()["offset"].as_i64().unwrap() + 1;
            let want: Vec<Value> = records
                .iter()
                .filter(|r| r["offset"].as_i64().unwrap() >= end - n)
                .cloned()
                .collect();
            let got = got
                .get(&(topic.clone(), *partition))
                .cloned()
                .unwrap_or_default();
            assert_eq!(got, want, "-o -{n}, {topic}-{partition}");
        }
    }
}

#[test]
fn timestamps() {
    // Per partition: from the first record (in offset order) whose timestamp
    // is at or after TS; none: nothing.
    for name in [
        "v2-four-partitions",
        "v2-log-append-time",
        "v2-three-segments",
    ] {
        let case = corpus_case(name);
        let expected = by_partition(&expected_consumed(&case));
        let mut timestamps: Vec<i64> = expected
            .values()
            .flatten()
            .filter_map(|r| r["timestamp"].as_i64())
            .collect();
        timestamps.sort();
        let probes = [
            0,
            timestamps[0],
            timestamps[0] + 1,
            timestamps[timestamps.len() / 2],
            timestamps[timestamps.len() - 1],
            timestamps[timestamps.len() - 1] + 1,
        ];
        for ts in probes {
            let got = by_partition(&consumed(&case, &format!("s@{ts}")));
            for (key, records) in &expected {
                let first = records
                    .iter()
                    .position(|r| r["timestamp"].as_i64().is_some_and(|t| t >= ts))
                    .unwrap_or(records.len());
                let want = records[first..].to_vec();
                let got = got.get(key).cloned().unwrap_or_default();
                assert_eq!(offsets(&got), offsets(&want), "{name}: s@{ts}, {key:?}");
            }
        }
    }
}
