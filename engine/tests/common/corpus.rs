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

/// Every file and directory under `root`, relative, with the SHA-256 of each
/// file (`sha256sum`) and its modification time, and `dir` for directories:
/// compare before and after to prove a log dir was not modified.
pub fn tree_digest(root: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let mut entries = std::collections::BTreeMap::new();
    let mut files = Vec::new();
    if root.is_file() {
        files.push(root.to_path_buf());
    }
    let mut pending = if root.is_dir() {
        vec![root.to_path_buf()]
    } else {
        Vec::new()
    };
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                entries.insert(relative, "dir".to_string());
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty());
    let output = std::process::Command::new("sha256sum")
        .args(&files)
        .output()
        .unwrap();
    assert!(output.status.success(), "sha256sum failed");
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let (digest, path) = line.split_once("  ").unwrap();
        let meta = std::fs::metadata(path).unwrap();
        let relative = Path::new(path)
            .strip_prefix(root)
            .unwrap_or(Path::new(path))
            .to_path_buf();
        entries.insert(
            relative,
            format!("{digest} mtime {}.{:09}", meta.mtime(), meta.mtime_nsec()),
        );
    }
    let digested = entries.values().filter(|v| *v != "dir").count();
    assert_eq!(digested, files.len(), "sha256sum skipped files");
    entries
}
