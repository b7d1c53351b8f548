//! Test support: run the `kreplay` binary, find the conformance corpus.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The fields of the conformance schema, in order.
pub const CONFORMANCE_FIELDS: [&str; 9] = [
    "topic",
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "value",
    "headers",
    "is_control",
];

/// What a run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout lines parsed as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Runs `kreplay` with `args`; panics on a crash (a signal or Rust's 101).
pub fn kreplay<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_kreplay"))
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("kreplay {args:?} died of a signal: {stderr}"));
    assert!(
        matches!(code, 0..=2),
        "kreplay {args:?} exited {code} (a panic?): {stderr}"
    );
    Run {
        code,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr,
    }
}

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

/// `fixtures/conformance/<kind>`, and `../shared/conformance/<kind>` when
/// present (printing "skipped" when not).
pub fn corpus_roots(kind: &str) -> Vec<PathBuf> {
    let mut roots = vec![workspace_root().join("fixtures/conformance").join(kind)];
    match shared_conformance()
        .map(|s| s.join(kind))
        .filter(|p| p.is_dir())
    {
        Some(p) => roots.push(p),
        None => eprintln!("skipped: ../shared/conformance/{kind} is not present"),
    }
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

pub fn read_expected(case: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(case.join("expected.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn read_case_json(case: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap()
}

/// `value` restricted to the conformance fields.
pub fn conformance_fields(value: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for field in CONFORMANCE_FIELDS {
        if let Some(v) = value.get(field) {
            out.insert(field.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Describes the first difference between dumped and expected records.
pub fn records_diff(case: &Path, got: &[Value], expected: &[Value]) -> Option<String> {
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let g = conformance_fields(g);
        if &g != e {
            return Some(format!(
                "{}: record #{i} differs:\n  got      {g}\n  expected {e}",
                case.display()
            ));
        }
    }
    (got.len() != expected.len()).then(|| {
        format!(
            "{}: {} records dumped, {} expected",
            case.display(),
            got.len(),
            expected.len()
        )
    })
}

/// Runs the conformance dump of a case dir.
pub fn dump_records(case: &Path) -> Run {
    kreplay([
        OsStr::new("dump"),
        OsStr::new("--deep-iteration"),
        OsStr::new("--json"),
        OsStr::new("--bytes"),
        OsStr::new("base64"),
        case.as_os_str(),
    ])
}
