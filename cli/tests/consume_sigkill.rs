//! A `kreplay consume --group` process killed with SIGKILL at varying
//! moments, over many rounds: the committed offsets are always readable and
//! never go backwards, each rerun starts exactly at the last commit, and the
//! union of everything printed is every record (duplicates only from the
//! uncommitted window of a killed run).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kreplay::{OffsetStore, TopicPartition};

const BIN: &str = env!("CARGO_BIN_EXE_kreplay");

fn consume(log_dir: &Path, state: &Path, out: &Path) -> std::process::Child {
    Command::new(BIN)
        .args(["consume", "--log-dir"])
        .arg(log_dir)
        .args(["-t", "metrics", "--group", "g", "--state-dir"])
        .arg(state)
        .args(["-e", "--max-poll-records", "37", "-f", "%p %o\n"])
        .stdout(Stdio::from(File::create(out).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn lines(path: &Path) -> Vec<(i32, i64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (p, o) = l.split_once(' ')?;
            Some((p.parse().ok()?, o.parse().ok()?))
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_loses_nothing() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let outs = tempfile::tempdir().unwrap();
    let status = Command::new(BIN)
        .args(["gen"])
        .arg(logs.path())
        .args([
            "--topics",
            "metrics",
            "--partitions",
            "3",
            "--records",
            "60000",
        ])
        .args(["--batch-records", "50", "--value-size", "40", "--seed", "3"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let partitions: Vec<TopicPartition> =
        (0..3).map(|p| TopicPartition::new("metrics", p)).collect();
    let store = OffsetStore::open(state.path(), &[logs.path().to_path_buf()]).unwrap();

    let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
    let mut printed: Vec<(i32, i64)> = Vec::new();
    let mut rounds = 0;
    let mut finished = false;
    for round in 0..40u64 {
        let out = outs.path().join(format!("round-{round}.txt"));
        let mut child = consume(logs.path(), state.path(), &out);
        // Kill after 5..80 ms (varying with the round), unless it ends first.
        let delay = Duration::from_millis(5 + (round * 37) % 75);
        let started = Instant::now();
        let mut exited = None;
        while started.elapsed() < delay {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if exited.is_none() {
            child.kill().unwrap(); // SIGKILL
        }
        let status = child.wait().unwrap();
        rounds += 1;
        let this_round = lines(&out);
        // The rerun starts exactly at each partition's last commit.
        let mut first_seen: BTreeMap<i32, i64> = BTreeMap::new();
        for &(p, o) in &this_round {
            first_seen.entry(p).or_insert(o);
        }
        for (p, first) in &first_seen {
            let from = committed.get(p).copied().unwrap_or(0);
            assert_eq!(
                *first, from,
                "round {round}: partition {p} restarted at {first}, committed {from}"
            );
        }
        printed.extend(this_round);
        // The checkpoint is readable and never goes backwards.
        let now = store
            .committed("g", &partitions)
            .expect("readable checkpoint");
        for (tp, offset) in now {
            let before = committed.insert(tp.partition, offset.offset).unwrap_or(0);
            assert!(
                offset.offset >= before,
                "round {round}: {tp} went back from {before} to {}",
                offset.offset
            );
        }
        if exited.is_some() && status.success() {
            finished = true;
            break;
        }
    }
    if !finished {
        // Let a last run finish.
        let out = outs.path().join("final.txt");
        let status = consume(logs.path(), state.path(), &out).wait().unwrap();
        assert!(status.success());
        printed.extend(lines(&out));
    }
    assert!(rounds >= 3, "too few kills to mean anything: {rounds}");
    let unique: BTreeSet<(i32, i64)> = printed.iter().copied().collect();
    let ends: BTreeMap<i32, i64> = (0..3).map(|p| (p, 20_000)).collect();
    let want: BTreeSet<(i32, i64)> = ends
        .iter()
        .flat_map(|(&p, &end)| (0..end).map(move |o| (p, o)))
        .collect();
    assert_eq!(unique, want, "every record printed at least once");
    for (tp, offset) in store.committed("g", &partitions).unwrap() {
        assert_eq!(offset.offset, 20_000, "{tp} fully committed");
    }
    eprintln!(
        "{rounds} rounds, {} lines printed for {} records ({} duplicates from uncommitted windows)",
        printed.len(),
        want.len(),
        printed.len() - want.len()
    );
}
