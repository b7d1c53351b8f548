//! `kreplay export --group`: a resumable, at-least-once sink. Each durable
//! file commits the offset after its last record; a rerun continues after
//! the last file committed; an export killed with SIGKILL at any point loses
//! nothing, and its rerun rewrites the uncommitted file under the same name,
//! so the files end up holding every record exactly once.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_kreplay");

fn gen(log: &Path, partitions: u32, records: u32) {
    let run = kreplay([
        "gen".as_ref(),
        log.as_os_str(),
        "--partitions".as_ref(),
        partitions.to_string().as_ref(),
        "--records".as_ref(),
        records.to_string().as_ref(),
        "--value-size".as_ref(),
        "60".as_ref(),
        "--batch-records".as_ref(),
        "50".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn export_args(
    log: &Path,
    out: &Path,
    state: &Path,
    file_records: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "export",
        "--log-dir",
        log.to_str().unwrap(),
        "-t",
        "metrics",
        "--out-dir",
        out.to_str().unwrap(),
        "--format",
        "jsonl",
        "--group",
        "lake",
        "--state-dir",
        state.to_str().unwrap(),
        "--max-file-records",
        file_records,
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Per partition, the offsets held by the final (non-hidden) files, in file
/// name order.
fn exported(out: &Path) -> BTreeMap<i64, Vec<i64>> {
    let mut names: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .collect();
    names.sort();
    let mut offsets: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for path in names {
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            offsets
                .entry(record["partition"].as_i64().unwrap())
                .or_default()
                .push(record["offset"].as_i64().unwrap());
        }
    }
    offsets
}

fn complete(partitions: i64, per_partition: i64) -> BTreeMap<i64, Vec<i64>> {
    (0..partitions)
        .map(|p| (p, (0..per_partition).collect()))
        .collect()
}

#[test]
fn a_rerun_continues_after_the_last_committed_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, out, state) = (
        tmp.path().join("log"),
        tmp.path().join("out"),
        tmp.path().join("state"),
    );
    gen(&log, 2, 6_000);
    let first = kreplay(export_args(&log, &out, &state, "1000", &["-c", "2500"]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Files of 1000, 1000 and 500 records per partition: committed at 2500.
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", first.stdout);
    let describe = kreplay([
        "group",
        "describe",
        "lake",
        "--state-dir",
        state.to_str().unwrap(),
        "--log-dir",
        log.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(describe.code, 0, "{}", describe.stderr);
    let lags: Vec<(i64, i64)> = describe
        .stdout
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                row["current_offset"].as_i64().unwrap(),
                row["lag"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lags, [(2500, 500), (2500, 500)], "{}", describe.stdout);
    let second = kreplay(export_args(&log, &out, &state, "1000", &[]));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second
            .stdout
            .contains("-00000000000000002500-00000000000000002999."),
        "{}",
        second.stdout
    );
    assert_eq!(exported(&out), complete(2, 3_000));
    // Everything committed: a third run writes nothing.
    let third = kreplay(export_args(&log, &out, &state, "1000", &[]));
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(third.stdout.is_empty(), "{}", third.stdout);
}

#[test]
fn sigkill_at_any_point_loses_nothing_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, out, state) = (
        tmp.path().join("log"),
        tmp.path().join("out"),
        tmp.path().join("state"),
    );
    gen(&log, 3, 60_000);
    // Small files: many durable-file-then-commit steps to be killed between.
    let args = export_args(&log, &out, &state, "100", &["--jobs", "2"]);
    // Killed after 30, 45, 60, ... ms (an uninterrupted run takes about
    // 300 ms in a debug build), again and again, until a run gets to the
    // end on its own: each run goes on from the last one's commits.
    let delays = [30, 45, 60, 80, 100, 40, 70, 120];
    let mut killed = 0;
    for delay_ms in delays.iter().cycle().take(300) {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        let status = child.wait().unwrap();
        if finished {
            assert!(status.success(), "{status:?}");
            break;
        }
    }
    let last = kreplay(&args);
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert!(killed >= 3, "only {killed} export(s) killed mid-way");
    let got = exported(&out);
    assert_eq!(got, complete(3, 20_000), "after {killed} kills");
    // The last run had nothing left: the killed runs' commits covered it
    // all (without them every run would start over and be killed again).
    assert!(last.stdout.is_empty(), "{}", last.stdout);
    let hidden: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_str().unwrap().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "temporary files left: {hidden:?}");
}

#[test]
fn stored_needs_a_group() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    gen(&log, 1, 10);
    let run = kreplay([
        "export",
        "--log-dir",
        log.to_str().unwrap(),
        "-t",
        "metrics",
        "--out-dir",
        tmp.path().join("out").to_str().unwrap(),
        "-o",
        "stored",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("needs --group"), "{}", run.stderr);
}
