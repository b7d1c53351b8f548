//! `--members N --exec CMD` runs up to N commands at once (one per member);
//! `--exec-concurrency 1` makes the members' commands take turns, for a CMD
//! that is not safe to run concurrently (`cat >> file`). `--help` says so.

mod common;

use std::ffi::OsStr;

use common::*;

#[test]
fn exec_concurrency_1_runs_one_command_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--partitions".as_ref(),
        "3".as_ref(),
        "--records".as_ref(),
        "3000".as_ref(),
        "--batch-records".as_ref(),
        "50".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = dir.path().join("out.jsonl");
    let overlap = dir.path().join("overlap");
    let busy = dir.path().join("busy");
    // A command that notices another one running beside it (mkdir is atomic).
    let command = format!(
        "if mkdir '{b}' 2>/dev/null; then cat >> '{o}'; sleep 0.01; rmdir '{b}'; \
         else echo overlap >> '{x}'; cat >> '{o}'; fi",
        b = busy.display(),
        o = out.display(),
        x = overlap.display()
    );
    let state = dir.path().join("state");
    let run = kreplay([
        OsStr::new("consume"),
        OsStr::new("--log-dir"),
        log_dir.as_os_str(),
        OsStr::new("-t"),
        OsStr::new("metrics"),
        OsStr::new("--group"),
        OsStr::new("g"),
        OsStr::new("--state-dir"),
        state.as_os_str(),
        OsStr::new("--members"),
        OsStr::new("3"),
        OsStr::new("--max-poll-records"),
        OsStr::new("50"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("-e"),
        OsStr::new("--exec"),
        OsStr::new(&command),
        OsStr::new("--exec-concurrency"),
        OsStr::new("1"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !overlap.exists(),
        "two commands ran at once: {}",
        std::fs::read_to_string(&overlap).unwrap_or_default()
    );
    // Every line whole and every record there once.
    let text = std::fs::read_to_string(&out).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(seen.insert((
            v["partition"].as_i64().unwrap(),
            v["offset"].as_i64().unwrap()
        )));
    }
    assert_eq!(seen.len(), 3000);
}

#[test]
fn help_says_members_run_commands_at_once() {
    let run = kreplay(["consume", "--help"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("--exec-concurrency"), "{}", run.stdout);
    assert!(run.stdout.contains("at once"), "{}", run.stdout);
}
