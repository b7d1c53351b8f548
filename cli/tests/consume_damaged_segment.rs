//! A segment truncated mid-batch with later segments after it: consume
//! delivers every valid record of every segment, reports the gap once (file,
//! byte position, the offsets missing) and exits 1 at the end, as dump and
//! verify do. `--on-damage stop` stops at the gap.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A partition of 2000 records, 100 per batch, 5 batches per segment, whose
/// first segment lost its last 123 bytes (part of its last batch).
fn truncated_first_segment(dir: &Path) -> PathBuf {
    let log_dir = dir.join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--topics".as_ref(),
        "t".as_ref(),
        "--partitions".as_ref(),
        "1".as_ref(),
        "--records".as_ref(),
        "2000".as_ref(),
        "--batch-records".as_ref(),
        "100".as_ref(),
        "--segment-bytes".as_ref(),
        "150000".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = log_dir.join("t-0/00000000000000000000.log");
    assert!(log_dir.join("t-0/00000000000000000500.log").exists());
    let len = std::fs::metadata(&first).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap();
    file.set_len(len - 123).unwrap();
    log_dir
}

fn offsets_printed(run: &Run) -> Vec<i64> {
    run.stdout.lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn every_valid_record_is_delivered_and_the_gap_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = truncated_first_segment(dir.path());
    let expected: Vec<i64> = (0..400).chain(500..2000).collect();
    // The same every run: no race between the report and the end.
    for _ in 0..3 {
        let run = consume(&log_dir, &["-e", "-f", "%o\n"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(offsets_printed(&run), expected);
        let reports: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("00000000000000000000.log"))
            .collect();
        assert_eq!(reports.len(), 1, "{}", run.stderr);
        assert!(reports[0].contains("offsets 400..=499"), "{}", run.stderr);
        assert!(reports[0].contains("position "), "{}", run.stderr);
    }
}

#[test]
fn on_damage_stop_stops_at_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = truncated_first_segment(dir.path());
    let run = consume(&log_dir, &["-e", "-f", "%o\n", "--on-damage", "stop"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(offsets_printed(&run), (0..400).collect::<Vec<_>>());
    assert!(
        run.stderr.contains("00000000000000000000.log") && run.stderr.contains("offset 400"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_group_commits_past_the_gap_and_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = truncated_first_segment(dir.path());
    let state = dir.path().join("state");
    let s = state.to_str().unwrap();
    let args = ["--group", "g", "--state-dir", s, "-e", "-f", "%o\n"];
    let run = consume(&log_dir, &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(offsets_printed(&run).len(), 1900);
    // Everything was delivered and committed: a second run has nothing left.
    let run = consume(&log_dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
}
