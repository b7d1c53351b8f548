//! Test support: dump a log dir through the engine into the conformance
//! corpus's `expected.jsonl` schema, and find the corpus.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use kreplay::{list_partitions, Partition, ReadOptions, Record, SegmentEnd};
use serde_json::{json, Value};

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

pub fn read_expected(case: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(case.join("expected.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn read_case_json(case: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap()
}

/// Compares record lists; describes the first difference.
pub fn records_diff(case: &Path, got: &[Value], expected: &[Value]) -> Option<String> {
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        if g != e {
            return Some(format!(
                "{}: record #{i} differs:\n  got      {g}\n  expected {e}",
                case.display()
            ));
        }
    }
    (got.len() != expected.len()).then(|| {
        format!(
            "{}: {} records decoded, {} expected",
            case.display(),
            got.len(),
            expected.len()
        )
    })
}

/// Compares record lists, naming the first difference.
pub fn assert_records_eq(case: &Path, got: &[Value], expected: &[Value]) {
    if let Some(diff) = records_diff(case, got, expected) {
        panic!("{diff}");
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `fixtures/conformance/<kind>` (always there) and
/// `../shared/conformance/<kind>` when a shared dir sits beside the checkout.
pub fn corpus_roots(kind: &str) -> Vec<PathBuf> {
    let mut roots = vec![workspace_root().join("fixtures/conformance").join(kind)];
    if let Some(shared) = shared_conformance() {
        roots.push(shared.join(kind));
    }
    roots.retain(|r| r.is_dir());
    roots
}

pub fn shared_conformance() -> Option<PathBuf> {
    let p = workspace_root().parent()?.join("shared/conformance");
    p.is_dir().then_some(p)
}

/// Case directories (holding `expected.jsonl`) under `root`, at any depth.
pub fn cases_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if dir.join("expected.jsonl").is_file() {
            found.push(dir);
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                }
            }
        }
    }
    found.sort();
    found
}
