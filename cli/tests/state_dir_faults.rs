//! A state dir on a read-only file system, and one that fills up: the
//! commit fails with a clear error naming the path, consume stops (status 2),
//! and the group's committed offsets stay at the last commit that succeeded,
//! so a rerun resumes there. Needs to mount a small tmpfs (root); says it was
//! skipped otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `consume -c count` as group `g`: a member of it (subscribed), or with
/// `-p 0` a consumer of partition 0 alone (manual assignment).
fn consume_as(log: &Path, state: &Path, count: u64, member: bool) -> Run {
    let partition: &[&str] = if member { &[] } else { &["-p", "0"] };
    let mut args: Vec<String> = ["consume", "--log-dir", s(log), "-t", "metrics"]
        .iter()
        .chain(partition)
        .map(|a| a.to_string())
        .collect();
    args.extend(
        [
            "--group",
            "g",
            "--state-dir",
            s(state),
            "-e",
            "-c",
            &count.to_string(),
            "--max-poll-records",
            "10",
            "-f",
            "%o\n",
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    kreplay(args)
}

fn consume(log: &Path, state: &Path, count: u64) -> Run {
    consume_as(log, state, count, false)
}

fn gen(log: &Path) {
    let run = kreplay([
        "gen",
        s(log),
        "--partitions",
        "1",
        "--records",
        "1000",
        "--seed",
        "5",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_read_only_state_dir_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    gen(&log);
    let Some(ro) = Mount::tmpfs(&tmp.path().join("ro"), "ro,size=1m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let run = consume(&log, &ro.0.join("state"), 5);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Read-only file system"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(s(&ro.0)), "{}", run.stderr);
    assert_eq!(run.stdout, "", "nothing read without a place to commit");
}

#[test]
fn a_full_state_dir_stops_consume_at_the_last_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    gen(&log);
    let Some(small) = Mount::tmpfs(&tmp.path().join("small"), "size=64k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let state = small.0.join("state");
    let first = consume(&log, &state, 30);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout.lines().count(), 30);
    // Fill the file system.
    let filler = small.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 64 << 10]);
    let full = consume(&log, &state, 30);
    assert_eq!(full.code, 2, "{}", full.stderr);
    assert!(
        full.stderr.contains("No space left on device"),
        "{}",
        full.stderr
    );
    assert!(full.stderr.contains("committing"), "{}", full.stderr);
    assert!(full.stderr.contains(s(&state)), "{}", full.stderr);
    // At most the poll whose commit failed was written (at least once);
    // here the starting positions' commit fails first, before any read.
    let written: Vec<i64> = full.stdout.lines().map(|l| l.parse().unwrap()).collect();
    assert!(written.len() <= 10, "{written:?}");
    assert!(written.iter().all(|&o| o >= 30));
    // As a member of the group: it reads, its first commit fails, it stops.
    let member = consume_as(&log, &state, 30, true);
    assert_eq!(member.code, 2, "{}", member.stderr);
    assert!(
        member.stderr.contains("No space left on device"),
        "{}",
        member.stderr
    );
    let written: Vec<i64> = member.stdout.lines().map(|l| l.parse().unwrap()).collect();
    assert!(written.len() <= 10, "{written:?}");
    assert!(written.iter().all(|&o| o >= 30), "{written:?}");
    // Space again: the group resumes at its last successful commit.
    std::fs::remove_file(&filler).unwrap();
    let again = consume(&log, &state, 5);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, "30\n31\n32\n33\n34\n");
}
