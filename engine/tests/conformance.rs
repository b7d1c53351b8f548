//! Every case of the conformance corpus decodes to exactly its expected.jsonl,
//! through both read strategies; every bad case gives the behaviour cases.md
//! states. Broker-written files from `../shared/conformance/real` are read
//! when present (they are never copied into the repository).

mod common;

use common::*;
use kreplay::{Error, ReadOptions, ReadStrategy, SegmentEnd};

fn options(strategy: ReadStrategy) -> ReadOptions {
    ReadOptions::default().with_strategy(strategy)
}

#[test]
fn good_cases_match_expected() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for root in corpus_roots("corpus") {
        for case in cases_under(&root) {
            let expected = read_expected(&case);
            for strategy in [ReadStrategy::Mmap, ReadStrategy::Read] {
                let (got, outcomes) = dump_log_dir(&case, options(strategy));
                for o in &outcomes {
                    if let Some(e) = &o.error {
                        failures.push(format!("{} ({strategy:?}): {e}", case.display()));
                    } else if o.end != Some(SegmentEnd::Clean) {
                        failures.push(format!("{}: ended {:?}", o.path.display(), o.end));
                    }
                }
                failures.extend(records_diff(&case, &got, &expected));
            }
            failures.extend(check_log_offsets(&case, &expected));
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 26, "only {checked} good cases found");
}

/// Each partition's log start offset is its first record's offset and its
/// log end offset the last record's offset + 1 (empty partitions: 0 and 0).
fn check_log_offsets(case: &std::path::Path, expected: &[serde_json::Value]) -> Vec<String> {
    let mut failures = Vec::new();
    for dir in kreplay::list_partitions(case).unwrap() {
        let tp = &dir.topic_partition;
        let offsets: Vec<i64> = expected
            .iter()
            .filter(|r| r["topic"] == tp.topic.as_str() && r["partition"] == tp.partition)
            .map(|r| r["offset"].as_i64().unwrap())
            .collect();
        let partition = kreplay::Partition::open(&dir, ReadOptions::default()).unwrap();
        let start = partition.log_start_offset().unwrap();
        let end = partition.log_end_offset().unwrap();
        let (want_start, want_end) = match (offsets.first(), offsets.last()) {
            (Some(first), Some(last)) => (*first, last + 1),
            _ => (
                partition.segments()[0].base_offset,
                partition.segments()[0].base_offset,
            ),
        };
        if (start, end) != (want_start, want_end) {
            failures.push(format!(
                "{} {tp}: log offsets {start}..{end}, expected {want_start}..{want_end}",
                case.display()
            ));
        }
    }
    failures
}

#[test]
fn real_broker_files_match_expected() {
    let Some(shared) = shared_conformance() else {
        eprintln!("skipped: ../shared/conformance/real is not present");
        return;
    };
    let cases = cases_under(&shared.join("real"));
    if cases.is_empty() {
        eprintln!("skipped: no real cases under {}", shared.display());
        return;
    }
    let mut failures = Vec::new();
    for case in &cases {
        let expected = read_expected(case);
        let (got, outcomes) = dump_log_dir(case, ReadOptions::default());
        for o in &outcomes {
            if let Some(e) = &o.error {
                failures.push(format!("{}: {e}", case.display()));
            }
        }
        failures.extend(records_diff(case, &got, &expected));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("checked {} real broker-written log dirs", cases.len());
}

#[test]
fn bad_cases_behave_as_cases_md_says() {
    let mut checked = 0;
    for root in corpus_roots("corpus-bad") {
        for case in cases_under(&root) {
            let name = case.file_name().unwrap().to_str().unwrap().to_string();
            let expected = read_expected(&case);
            let info = read_case_json(&case);
            let seg = &info["segments"][0];
            let valid_bytes = seg["valid_bytes"].as_u64().unwrap();
            for strategy in [ReadStrategy::Mmap, ReadStrategy::Read] {
                let (got, outcomes) = dump_log_dir(&case, options(strategy));
                // The valid records first, never a record of the bad batch.
                assert_records_eq(&case, &got, &expected);
                let outcome = &outcomes[0];
                match (&outcome.error, &outcome.end) {
                    (
                        Some(Error::Corrupt {
                            path,
                            position,
                            offset,
                            ..
                        }),
                        _,
                    ) => {
                        assert_eq!(*position, valid_bytes, "{name}: error position");
                        assert!(path.ends_with("00000000000000000000.log"), "{name}");
                        let msg = outcome.error.as_ref().unwrap().to_string();
                        assert!(msg.contains("00000000000000000000.log"), "{name}: {msg}");
                        assert!(
                            msg.contains(&format!("position {valid_bytes}")),
                            "{name}: {msg}"
                        );
                        if let Some(o) = seg["error"]["batch_base_offset"].as_i64() {
                            assert_eq!(*offset, Some(o), "{name}: offset in error");
                        }
                    }
                    (Some(other), _) => panic!("{name}: unexpected error kind {other}"),
                    (None, Some(SegmentEnd::TornTail(t))) => {
                        assert_eq!(t.valid_bytes, valid_bytes, "{name}: valid bytes");
                        assert_eq!(
                            t.trailing_bytes,
                            seg["trailing_bytes"].as_u64().unwrap(),
                            "{name}"
                        );
                    }
                    (None, Some(SegmentEnd::Clean)) => {
                        assert_eq!(seg["size"].as_u64().unwrap(), valid_bytes, "{name}");
                    }
                    (None, end) => panic!("{name}: unexpected end {end:?}"),
                }
                // What each case must be, per cases.md.
                let is_error = outcome.error.is_some();
                match name.as_str() {
                    "crc-flipped-byte"
                    | "crc-flipped-legacy"
                    | "negative-length"
                    | "bad-magic"
                    | "garbage-appended-plausible"
                    | "absurd-length"
                    | "garbage-appended" => {
                        assert!(is_error, "{name} must be an error")
                    }
                    "truncated-final-batch"
                    | "truncated-mid-header"
                    | "zero-padding-tail"
                    | "empty-log" => assert!(!is_error, "{name} must end as a torn tail"),
                    other => panic!("unknown bad case {other}: add its expectation"),
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 11, "only {checked} bad cases found");
}

/// Reading never writes: every corpus (good, bad, and the broker-written
/// `real/` when present) has the same files, contents and mtimes after
/// being dumped through both read paths, verified and consumed.
#[test]
fn reading_the_corpora_modifies_nothing() {
    let mut roots = corpus_roots("corpus");
    roots.extend(corpus_roots("corpus-bad"));
    roots.extend(corpus_roots("real"));
    let before: Vec<_> = roots.iter().map(|r| tree_digest(r)).collect();
    for root in &roots {
        for case in cases_under(root) {
            for strategy in [ReadStrategy::Mmap, ReadStrategy::Read] {
                let _ = dump_log_dir(&case, options(strategy));
            }
            if let Ok(path) = kreplay::classify(&case) {
                let _ = kreplay::verify_path(&path, &kreplay::VerifyOptions::default());
            }
            let mut config = kreplay::ConsumerConfig::new([&case]);
            config.auto_offset_reset = kreplay::AutoOffsetReset::Earliest;
            if let Ok(mut consumer) = kreplay::Consumer::new(config) {
                let topics: Vec<String> =
                    consumer.partitions().map(|tp| tp.topic.clone()).collect();
                if consumer.subscribe(&topics).is_ok() {
                    for _ in 0..1_000 {
                        match consumer.poll(std::time::Duration::from_millis(100)) {
                            Ok(records) if records.is_empty() => break,
                            Ok(records) => records.iter().for_each(drop),
                            Err(_) => break,
                        }
                    }
                }
            }
        }
    }
    for (root, before) in roots.iter().zip(before) {
        assert_eq!(tree_digest(root), before, "{} was modified", root.display());
    }
}
