//! Finding the conformance corpus and comparing records with its
//! `expected.jsonl`: shared by the engine's and the CLI's tests (the CLI's
//! include this file by path).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root (the parent of the crate running the tests).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/conformance` beside the checkout, when present.
pub fn shared_conformance() -> Option<PathBuf> {
    let p = workspace_root().parent()?.join("shared/conformance");
    p.is_dir().then_some(p)
}

/// `fixtures/conformance/<kind>` (always there), and
/// `../shared/conformance/<kind>` when present (printing "skipped" when not).
pub fn corpus_roots(kind: &str) -> Vec<PathBuf> {
    let mut roots = vec![workspace_root().join("fixtures/conformance").join(kind)];
    match shared_conformance()
        .map(|s| s.join(kind))
        .filter(|p| p.is_dir())
    {
        Some(p) => roots.push(p),
        None => eprintln!("skipped: ../shared/conformance/{kind} is not present"),
    }
    roots.retain(|r| r.is_dir());
    roots
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

/// The records a case must decode to.
pub fn read_expected(case: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(case.join("expected.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A case's `case.json` (sizes, valid bytes, expected error).
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
            "{}: {} records read, {} expected",
            case.display(),
            got.len(),
            expected.len()
        )
    })
}
