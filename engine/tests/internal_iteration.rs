//! Internal iteration (`for_each`, `fold`, `count`) of a poll's records and
//! of a batch's records yields exactly what `next` does, errors included,
//! over every conformance case (valid and corrupt) and poll size.

mod common;

use std::time::Duration;

use common::*;
use kreplay::{AutoOffsetReset, Consumer, ConsumerConfig, Inflater, ReadStrategy, Segment};

fn by_next<I: Iterator>(iter: I) -> Vec<String>
where
    I::Item: std::fmt::Debug,
{
    let mut out = Vec::new();
    for item in iter {
        out.push(format!("{item:?}"));
    }
    out
}

fn by_for_each<I: Iterator>(iter: I) -> Vec<String>
where
    I::Item: std::fmt::Debug,
{
    let mut out = Vec::new();
    iter.for_each(|item| out.push(format!("{item:?}")));
    out
}

#[test]
fn poll_for_each_equals_next() {
    let mut checked = 0;
    for kind in ["corpus", "corpus-bad"] {
        for root in corpus_roots(kind) {
            for case in cases_under(&root) {
                for max_poll_records in [1, 7, 500] {
                    let mut config = ConsumerConfig::new([&case]);
                    config.auto_offset_reset = AutoOffsetReset::Earliest;
                    config.max_poll_records = max_poll_records;
                    config.max_partition_fetch_bytes = 4096;
                    let Ok(mut consumer) = Consumer::new(config) else {
                        continue;
                    };
                    let topics: Vec<String> =
                        consumer.partitions().map(|tp| tp.topic.clone()).collect();
                    if consumer.subscribe(&topics).is_err() {
                        continue;
                    }
                    for _ in 0..100_000 {
                        let Ok(records) = consumer.poll(Duration::from_secs(5)) else {
                            break;
                        };
                        let expected = by_next(records.iter());
                        assert_eq!(
                            by_for_each(records.iter()),
                            expected,
                            "{} ({max_poll_records})",
                            case.display()
                        );
                        assert_eq!(records.iter().count(), expected.len());
                        // Partly consumed, then the rest internally.
                        let mut iter = records.iter();
                        let mut mixed: Vec<String> =
                            iter.by_ref().take(3).map(|r| format!("{r:?}")).collect();
                        mixed.extend(by_for_each(iter));
                        assert_eq!(mixed, expected, "{} (mixed)", case.display());
                        if records.is_empty() && consumer.at_end() {
                            break;
                        }
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 26);
}

#[test]
fn batch_for_each_equals_next() {
    let mut checked = 0;
    for kind in ["corpus", "corpus-bad"] {
        for root in corpus_roots(kind) {
            for case in cases_under(&root) {
                for entry in walk(&case) {
                    if entry.extension().is_none_or(|e| e != "log") {
                        continue;
                    }
                    let Ok(segment) = Segment::open(&entry, ReadStrategy::Mmap) else {
                        continue;
                    };
                    let mut inflater = Inflater::default();
                    for batch in segment.batches_from(0, false).flatten() {
                        let expected = match batch.records(&mut inflater) {
                            Ok(records) => by_next(records),
                            Err(_) => continue,
                        };
                        let got = by_for_each(batch.records(&mut inflater).unwrap());
                        assert_eq!(got, expected, "{}", entry.display());
                        let mut records = batch.records(&mut inflater).unwrap();
                        let mut mixed: Vec<String> =
                            records.by_ref().take(2).map(|r| format!("{r:?}")).collect();
                        mixed.extend(by_for_each(records));
                        assert_eq!(mixed, expected, "{} (mixed)", entry.display());
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
