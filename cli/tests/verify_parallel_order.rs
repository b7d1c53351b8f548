//! `kreplay verify` verifies partitions on several threads; what it prints
//! must not depend on which one finishes first: partitions in order, each
//! with its segments in order, a damaged one reported where it belongs, and
//! the same output run after run.

mod common;

use common::*;

#[test]
fn partitions_are_reported_in_order_whatever_thread_verified_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log_arg = log.to_str().unwrap();
    let run = kreplay([
        "gen",
        "--topics",
        "a,b",
        "--partitions",
        "5",
        "--records",
        "20000",
        "--value-size",
        "64",
        "--batch-records",
        "50",
        "--segment-bytes",
        "100000",
        log_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Damage a record of a batch in the middle of a-3's first segment: a
    // byte the batch's CRC covers (past the 61-byte header).
    let segment = log.join("a-3/00000000000000000000.log");
    let mut bytes = std::fs::read(&segment).unwrap();
    let mut position = 0;
    while position < bytes.len() / 2 {
        let length = i32::from_be_bytes(bytes[position + 8..position + 12].try_into().unwrap());
        position += 12 + length as usize;
    }
    bytes[position + 100] ^= 0x55;
    std::fs::write(&segment, &bytes).unwrap();

    let first = kreplay(["verify", log_arg]);
    assert_eq!(first.code, 1, "{}{}", first.stdout, first.stderr);
    let headers: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("verified"))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let expected: Vec<String> = ["a", "b"]
        .iter()
        .flat_map(|t| (0..5).map(move |p| format!("{t}-{p}")))
        .collect();
    assert_eq!(headers, expected, "{}", first.stdout);
    // Within each partition, segments by base offset.
    let mut last: Option<(String, String)> = None;
    let mut partition = String::new();
    for line in first.stdout.lines() {
        if !line.starts_with(' ') {
            partition = line.to_string();
            continue;
        }
        // Segment lines name a .log file; issue lines under them are deeper.
        let name = line.trim().split(':').next().unwrap().to_string();
        if !name.ends_with(".log") {
            continue;
        }
        if let Some((p, previous)) = &last {
            if *p == partition {
                assert!(name > *previous, "{previous} before {name} in {partition}");
            }
        }
        last = Some((partition.clone(), name));
    }
    let damaged = first
        .stdout
        .split("a-3 ")
        .nth(1)
        .and_then(|rest| rest.split("a-4 ").next())
        .unwrap();
    assert!(
        damaged.contains("CRC") || damaged.contains("crc"),
        "{damaged}"
    );
    for _ in 0..3 {
        let again = kreplay(["verify", log_arg]);
        assert_eq!(again.code, 1);
        assert_eq!(again.stdout, first.stdout);
    }
}
