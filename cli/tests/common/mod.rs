//! Test support: run the `kreplay` binary, find the conformance corpus.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../../../engine/tests/common/corpus.rs"]
mod corpus;
#[allow(unused_imports)] // each test binary uses some of them
pub use corpus::{
    cases_under, corpus_roots, read_case_json, read_expected, shared_conformance, tree_digest,
    workspace_root,
};

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
    // Whatever kreplay reads, it must not modify: every log dir (or
    // segment) named on the command line is digested before and after
    // (`gen` writes log dirs: not checked).
    let read_only: Vec<PathBuf> = if args.first().is_some_and(|a| a == "gen") {
        Vec::new()
    } else {
        args.iter()
            .map(PathBuf::from)
            .filter(|p| holds_segments(p))
            .collect()
    };
    let before: Vec<_> = read_only.iter().map(|p| tree_digest(p)).collect();
    let Output {
        status,
        stdout,
        stderr,
    } = output_within(
        Command::new(env!("CARGO_BIN_EXE_kreplay")).args(&args),
        RUN_TIMEOUT,
    )
    .unwrap_or_else(|| panic!("kreplay {args:?} did not end within {RUN_TIMEOUT:?}"));
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("kreplay {args:?} died of a signal: {stderr}"));
    assert!(
        matches!(code, 0..=2),
        "kreplay {args:?} exited {code} (a panic?): {stderr}"
    );
    for (path, before) in read_only.iter().zip(before) {
        assert_eq!(
            tree_digest(path),
            before,
            "kreplay {args:?} modified {}",
            path.display()
        );
    }
    Run {
        code,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr,
    }
}

/// How long one run of the binary may take before a test calls it hung.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `command` to its end like `Command::output`, or kills it after
/// `timeout` and returns `None` (a hang fails the test instead of blocking
/// the suite).
pub fn output_within(command: &mut Command, timeout: Duration) -> Option<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stdout.read_to_end(&mut buffer).map(|_| buffer)
    });
    let err = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stderr.read_to_end(&mut buffer).map(|_| buffer)
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Some(Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    })
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

/// Describes the first difference between dumped and expected records
/// (compared on the conformance fields only).
pub fn records_diff(case: &Path, got: &[Value], expected: &[Value]) -> Option<String> {
    let got: Vec<Value> = got.iter().map(conformance_fields).collect();
    corpus::records_diff(case, &got, expected)
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

/// The topics of a case dir (its `<topic>-<n>` partition dirs), sorted.
pub fn topics_of(case: &Path) -> Vec<String> {
    let mut topics: Vec<String> = std::fs::read_dir(case)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (topic, n) = name.rsplit_once('-')?;
            n.parse::<u32>().ok()?;
            Some(topic.to_string())
        })
        .collect();
    topics.sort();
    topics.dedup();
    topics
}

/// Runs `kreplay consume --log-dir CASE -t TOPIC... ARGS...`.
pub fn consume<S: AsRef<OsStr>>(case: &Path, args: &[S]) -> Run {
    let mut all: Vec<std::ffi::OsString> = vec!["consume".into(), "--log-dir".into(), case.into()];
    for topic in topics_of(case) {
        all.push("-t".into());
        all.push(topic.into());
    }
    all.extend(args.iter().map(|a| a.as_ref().to_os_string()));
    kreplay(all)
}

/// The conformance fields a consumer hands out: all but `is_control`.
pub const CONSUMER_FIELDS: [&str; 8] = [
    "topic",
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "value",
    "headers",
];

/// The records of `expected.jsonl` a consumer returns (read_uncommitted):
/// control records dropped, `is_control` removed.
pub fn expected_consumed(case: &Path) -> Vec<Value> {
    read_expected(case)
        .into_iter()
        .filter(|r| r["is_control"] == false)
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("is_control");
            r
        })
        .collect()
}

/// Records grouped by (topic, partition), order kept within each.
pub fn by_partition(records: &[Value]) -> std::collections::BTreeMap<(String, i64), Vec<Value>> {
    let mut map: std::collections::BTreeMap<(String, i64), Vec<Value>> = Default::default();
    for r in records {
        let key = (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_i64().unwrap(),
        );
        map.entry(key).or_default().push(r.clone());
    }
    map
}

/// The `offset` fields.
pub fn offsets(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect()
}

/// A case of the checked-in corpus.
pub fn corpus_case(name: &str) -> PathBuf {
    workspace_root()
        .join("fixtures/conformance/corpus")
        .join(name)
}

/// Whether `path` is a segment file or a directory with segments within two
/// levels (a log dir or a partition dir).
fn holds_segments(path: &Path) -> bool {
    fn walk(path: &Path, depth: usize) -> bool {
        if path.extension().is_some_and(|e| e == "log") && path.is_file() {
            return true;
        }
        depth > 0
            && path.is_dir()
            && std::fs::read_dir(path)
                .is_ok_and(|entries| entries.flatten().any(|e| walk(&e.path(), depth - 1)))
    }
    walk(path, 2)
}
