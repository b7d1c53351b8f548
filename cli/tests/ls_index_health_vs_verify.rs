//! ls's INDEX column agrees with the cheap index checks verify makes: a
//! segment truncated mid-batch keeps index and time-index entries past its
//! last complete batch, which verify reports and ls must not call "ok".

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn generated(dir: &Path) -> PathBuf {
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
    log_dir
}

/// The INDEX column of ls's one partition row.
fn ls_index(log_dir: &Path) -> String {
    let run = kreplay([std::ffi::OsStr::new("ls"), log_dir.as_os_str()]);
    let row = run.stdout.lines().nth(1).unwrap_or_default().to_string();
    row.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn ls_does_not_call_an_index_ok_that_verify_reports() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = generated(dir.path());
    assert_eq!(ls_index(&log_dir), "ok");

    let first = log_dir.join("t-0/00000000000000000000.log");
    let len = std::fs::metadata(&first).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(len - 123)
        .unwrap();
    let verify = kreplay([std::ffi::OsStr::new("verify"), log_dir.as_os_str()]);
    assert!(
        verify.stdout.contains(".index:") && verify.stdout.contains(".timeindex:"),
        "{}",
        verify.stdout
    );
    let health = ls_index(&log_dir);
    assert_ne!(health, "ok");
    assert_ne!(health, "");
}
