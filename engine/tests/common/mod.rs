//! Test support: dump a log dir through the engine into the conformance
//! corpus's `expected.jsonl` schema, and find the corpus.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use kreplay::{list_partitions, Partition, ReadOptions, Record, SegmentEnd};
use serde_json::{json, Value};

mod corpus;
#[allow(unused_imports)] // each test binary uses some of them
pub use corpus::*;

/// How one segment's read ended.
#[derive(Debug)]
pub struct SegmentOutcome {
    pub path: PathBuf,
    pub records: usize,
    pub end: Option<SegmentEnd>,
    pub error: Option<kreplay::Error>,
}

pub fn b64(bytes: Option<&[u8]>) -> Value {
    match bytes {
        Some(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        None => Value::Null,
    }
}

pub fn record_json(topic: &str, partition: i32, r: &Record<'_>) -> Value {
    let headers: Vec<Value> = r
        .headers()
        .iter()
        .map(|h| json!([String::from_utf8_lossy(h.key), b64(h.value)]))
        .collect();
    json!({
        "topic": topic,
        "partition": partition,
        "offset": r.offset(),
        "timestamp": r.timestamp(),
        "timestamp_type": r.timestamp_type().map(|t| t.id()),
        "key": b64(r.key()),
        "value": b64(r.value()),
        "headers": headers,
        "is_control": r.is_control(),
    })
}

/// Reads every partition of `root` like the oracle does: partitions sorted,
/// segments by base offset, records in file order, stopping a partition at
/// its first error.
pub fn dump_log_dir(root: &Path, options: ReadOptions) -> (Vec<Value>, Vec<SegmentOutcome>) {
    let mut out = Vec::new();
    let mut outcomes = Vec::new();
    let mut inflater = options.inflater();
    for dir in list_partitions(root).unwrap() {
        let partition = Partition::open(&dir, options).unwrap();
        'segments: for n in 0..partition.segments().len() {
            let segment = partition.open_segment(n).unwrap();
            let mut outcome = SegmentOutcome {
                path: segment.path().to_path_buf(),
                records: 0,
                end: None,
                error: None,
            };
            let mut batches = segment.batches_from(0, options.check_crcs);
            for batch in batches.by_ref() {
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        outcome.error = Some(e);
                        break;
                    }
                };
                // Decode the whole batch before emitting any of it: a batch
                // that fails halfway hands out nothing.
                let mut pending = Vec::new();
                let result = batch.records(&mut inflater).and_then(|records| {
                    for r in records {
                        pending.push(record_json(partition.topic(), partition.partition(), &r?));
                    }
                    Ok(())
                });
                if let Err(kind) = result {
                    outcome.error =
                        Some(segment.corrupt(batch.position, Some(batch.base_offset()), kind));
                    break;
                }
                outcome.records += pending.len();
                out.extend(pending);
            }
            outcome.end = batches.end().cloned();
            let failed = outcome.error.is_some();
            outcomes.push(outcome);
            if failed {
                break 'segments;
            }
        }
    }
    (out, outcomes)
}

/// Compares record lists, naming the first difference.
pub fn assert_records_eq(case: &Path, got: &[Value], expected: &[Value]) {
    if let Some(diff) = records_diff(case, got, expected) {
        panic!("{diff}");
    }
}
