//! `kreplay consume --group … | head`: a closed stdout ends the command
//! quietly with exit 0, and the committed offset covers exactly the polls
//! whose output was written: at least what the reader read, at most what the
//! pipe accepted. A rerun with `-o stored` continues right there. The same
//! with `--commit-interval`, whose polls before the closed pipe were not
//! committed yet.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn closed_pipe_commits_what_was_written() {
    closed_pipe_case(&[]);
}

#[test]
fn closed_pipe_commits_what_was_written_with_a_commit_interval() {
    closed_pipe_case(&["--commit-interval", "1h"]);
}

fn closed_pipe_case(interval: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let state = dir.path().join("state");
    let run = kreplay([
        "gen".as_ref(),
        log_dir.as_os_str(),
        "--topics".as_ref(),
        "t".as_ref(),
        "--partitions".as_ref(),
        "1".as_ref(),
        "--records".as_ref(),
        "20000".as_ref(),
        "--value-size".as_ref(),
        "100".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let args = |extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "consume".into(),
            "--log-dir".into(),
            log_dir.clone().into(),
            "-t".into(),
            "t".into(),
            "--group".into(),
            "g".into(),
            "--state-dir".into(),
            state.clone().into(),
            "-e".into(),
            "-f".into(),
            "%o %s\\n".into(),
            "--max-poll-records".into(),
            "50".into(),
        ];
        args.extend(interval.iter().map(Into::into));
        args.extend(extra.iter().map(Into::into));
        args
    };

    let mut child = Command::new(env!("CARGO_BIN_EXE_kreplay"))
        .args(args(&[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut read_lines = Vec::new();
    for _ in 0..5 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        read_lines.push(line);
    }
    // Asked once kreplay has written: it widens a pipe on stdout before its
    // first write.
    // SAFETY: fcntl(F_GETPIPE_SZ) on a pipe fd we own; no memory is passed.
    let pipe_capacity = unsafe { libc::fcntl(reader.get_ref().as_raw_fd(), libc::F_GETPIPE_SZ) };
    assert!(pipe_capacity > 0);
    // Widened to 1 MiB where the system allows it.
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(0);
    if max >= 1 << 20 {
        assert_eq!(
            pipe_capacity,
            1 << 20,
            "kreplay left its stdout pipe as it was"
        );
    }
    // The reader's buffer may hold more than the lines it handed out.
    let bytes_read = reader.buffer().len() + read_lines.iter().map(String::len).sum::<usize>();
    drop(reader);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");

    // The full replay, line by line (offset = line number).
    let full = kreplay([
        "consume".as_ref(),
        "--log-dir".as_ref(),
        log_dir.as_os_str(),
        "-t".as_ref(),
        "t".as_ref(),
        "-e".as_ref(),
        "-f".as_ref(),
        "%o %s\\n".as_ref(),
    ]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let full: Vec<&str> = full.stdout.split_inclusive('\n').collect();
    assert_eq!(full.len(), 20000);
    for (i, line) in read_lines.iter().enumerate() {
        assert_eq!(line, full[i]);
    }

    // The rerun starts at the committed offset.
    let rerun = kreplay(args(&["-o", "stored"]));
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    let committed = full.len() - rerun.stdout.split_inclusive('\n').count();
    assert_eq!(
        rerun.stdout,
        full[committed..].concat(),
        "no gap, no duplicate"
    );
    assert!(
        committed >= read_lines.len(),
        "committed {committed} < read {}",
        read_lines.len()
    );
    let committed_bytes: usize = full[..committed].iter().map(|l| l.len()).sum();
    assert!(
        committed_bytes <= bytes_read + pipe_capacity as usize,
        "committed {committed} records ({committed_bytes} bytes), but only {bytes_read} bytes were \
         read and the pipe holds {pipe_capacity}"
    );
}
