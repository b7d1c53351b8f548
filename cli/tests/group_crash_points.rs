//! `kill -9` at random instants (seeded: `KREPLAY_CRASH_SEED` replays a run)
//! during the three things that write a group's files:
//!
//! - commits: a `consume --group` member with a small `--max-poll-records`
//!   (a commit, with its fsyncs, after every few records);
//! - rebalances: members joining and leaving while another one is killed;
//! - `group reset --execute` and `group delete`.
//!
//! After every kill: the state dir reads (`group list` and `group describe`
//! exit 0, the engine's `OffsetStore` reads the offsets and the group), the
//! group is not stuck (a new member joins and reads), committed offsets never
//! go backwards except by a reset, a reset is all or nothing, a delete is all
//! or nothing, and in the end the union of everything delivered is every
//! record (duplicates only from uncommitted windows). The log dir is never
//! modified (`tree_digest`, and `common::kreplay` checks each run).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kreplay::{OffsetAndMetadata, OffsetStore, TopicPartition};

const BIN: &str = env!("CARGO_BIN_EXE_kreplay");
const PARTITIONS: i32 = 4;
const RECORDS: i64 = 4_000;
const PER_PARTITION: i64 = RECORDS / PARTITIONS as i64;

/// A small seeded generator (xorshift64*): the same seed, the same kills.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

/// The seed of this run: `KREPLAY_CRASH_SEED`, else fixed per scenario.
fn seed(scenario: u64) -> u64 {
    let seed = std::env::var("KREPLAY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0000 + scenario);
    eprintln!("scenario {scenario}: seed {seed} (KREPLAY_CRASH_SEED={seed} replays it)");
    seed
}

/// A log dir (`metrics`, [`PARTITIONS`] partitions, [`RECORDS`] records).
fn gen(dir: &Path) -> PathBuf {
    let log = dir.join("logs");
    let status = Command::new(BIN)
        .arg("gen")
        .arg(&log)
        .args(["--topics", "metrics", "--partitions"])
        .arg(PARTITIONS.to_string())
        .args(["--records", &RECORDS.to_string(), "--batch-records", "20"])
        .args(["--value-size", "20", "--seed", "5"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    log
}

fn all_records() -> BTreeSet<(i32, i64)> {
    (0..PARTITIONS)
        .flat_map(|p| (0..PER_PARTITION).map(move |o| (p, o)))
        .collect()
}

/// A group member in the background printing `partition offset` lines to
/// `out`; `extra` adds flags.
fn member(log: &Path, state: &Path, group: &str, out: &Path, extra: &[&str]) -> Child {
    Command::new(BIN)
        .args(["consume", "--log-dir"])
        .arg(log)
        .args(["-t", "metrics", "--group", group, "--state-dir"])
        .arg(state)
        .args(["-f", "%p %o\n"])
        .args(extra)
        .stdout(Stdio::from(File::create(out).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The records of the complete lines of `out` (a killed process may have
/// left half a line).
fn printed(out: &Path) -> Vec<(i32, i64)> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete
        .lines()
        .map(|l| {
            let (p, o) = l.split_once(' ').unwrap();
            (p.parse().unwrap(), o.parse().unwrap())
        })
        .collect()
}

/// Waits up to `delay` for `child` to end, else kills it with SIGKILL.
/// Returns whether it ended by itself (and with which status).
fn kill_after(child: &mut Child, delay: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < delay {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

/// Waits for `child` to end by itself (a deadline catches a hang).
fn wait_within(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("{what} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn s(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// The checks after every kill: the state dir reads through the CLI and
/// the engine. Returns the group's committed offsets (by partition), or
/// `None` when the group does not exist. `quiet`: no member runs, so the
/// CLI and the engine must agree on whether the group exists.
fn check_readable(
    log: &Path,
    state: &Path,
    group: &str,
    quiet: bool,
) -> Option<BTreeMap<i32, i64>> {
    let list = kreplay(["group", "list", "--json", "--state-dir", &s(state)]);
    assert_eq!(list.code, 0, "group list: {}", list.stderr);
    let listed = list.json_lines().iter().any(|line| line["group"] == group);
    let describe = kreplay([
        "group",
        "describe",
        group,
        "--json",
        "--log-dir",
        &s(log),
        "--state-dir",
        &s(state),
    ]);
    let store = OffsetStore::open(state, &[log.to_path_buf()]).unwrap();
    let description = store
        .describe_group(group)
        .unwrap_or_else(|e| panic!("the engine cannot read group {group}: {e}"));
    let committed = store
        .committed_all(group)
        .unwrap_or_else(|e| panic!("the engine cannot read {group}'s offsets: {e}"));
    match describe.code {
        0 => {
            for line in describe.json_lines() {
                assert_eq!(line["group"], group, "{line}");
            }
        }
        // A group not there (yet, or any more).
        1 if !quiet || !listed => {
            assert!(describe.stderr.contains("not found"), "{}", describe.stderr)
        }
        code => panic!("group describe exited {code}: {}", describe.stderr),
    }
    if quiet {
        assert_eq!(listed, description.is_some(), "{description:?}");
        assert_eq!(describe.code == 0, listed, "{}", describe.stderr);
    }
    if description.is_none() {
        // Gone (deleted): entirely.
        assert!(committed.is_empty(), "{committed:?}");
        return None;
    }
    Some(
        committed
            .into_iter()
            .map(|(tp, o)| (tp.partition, o.offset))
            .collect(),
    )
}

/// `now` never below `before` for any partition.
fn assert_monotonic(before: &BTreeMap<i32, i64>, now: &BTreeMap<i32, i64>, when: &str) {
    for (p, offset) in before {
        let current = now.get(p).copied();
        assert!(
            current.is_some_and(|c| c >= *offset),
            "{when}: partition {p}'s commit went from {offset} to {current:?}"
        );
    }
}

/// A member joins and reads a few records with `-e -c`: the group is not
/// stuck. Returns what it printed.
fn joiner(log: &Path, state: &Path, group: &str, out: &Path) -> Vec<(i32, i64)> {
    let mut child = member(
        log,
        state,
        group,
        out,
        &["-e", "-c", "5", "--heartbeat-interval-ms", "20"],
    );
    let status = wait_within(&mut child, "a member joining after a kill");
    assert!(status.success(), "a member joining after a kill: {status}");
    printed(out)
}

/// The first offset printed per partition.
fn firsts(records: &[(i32, i64)]) -> BTreeMap<i32, i64> {
    let mut first = BTreeMap::new();
    for &(p, o) in records {
        first.entry(p).or_insert(o);
    }
    first
}

/// A rerun starts each partition right at its last commit (0: none).
fn assert_resumes(committed: &BTreeMap<i32, i64>, records: &[(i32, i64)], when: &str) {
    for (p, first) in firsts(records) {
        let from = committed.get(&p).copied().unwrap_or(0);
        assert_eq!(
            first, from,
            "{when}: partition {p} resumed at {first}, committed {from}"
        );
    }
}

/// The last member: reads to the end with `-e`; every partition committed
/// at its end afterwards.
fn finish(log: &Path, state: &Path, group: &str, out: &Path) -> Vec<(i32, i64)> {
    let mut child = member(
        log,
        state,
        group,
        out,
        &["-e", "--heartbeat-interval-ms", "20"],
    );
    let status = wait_within(&mut child, "the last member");
    assert!(status.success(), "the last member: {status}");
    let committed = check_readable(log, state, group, true).expect("the group exists");
    for p in 0..PARTITIONS {
        assert_eq!(
            committed.get(&p),
            Some(&PER_PARTITION),
            "partition {p}: {committed:?}"
        );
    }
    printed(out)
}

#[test]
fn kill_9_during_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let log = gen(tmp.path());
    let state = tmp.path().join("state");
    let digest = tree_digest(&log);
    let mut rng = Rng::new(seed(1));
    let group = "commits";
    let budget = Instant::now() + Duration::from_secs(15);
    let mut committed = BTreeMap::new();
    let mut delivered = Vec::new();
    let (mut kills, mut restarts) = (0, 0);
    for round in 0..30 {
        if Instant::now() >= budget {
            break;
        }
        let out = tmp.path().join(format!("commits-{round}.txt"));
        let poll = (1 + rng.below(8)).to_string();
        let mut child = member(
            &log,
            &state,
            group,
            &out,
            &[
                "-e",
                "--max-poll-records",
                &poll,
                "--heartbeat-interval-ms",
                "20",
            ],
        );
        let ended = kill_after(&mut child, rng.millis(2, 200));
        kills += usize::from(ended.is_none());
        let records = printed(&out);
        assert_resumes(&committed, &records, &format!("round {round}"));
        delivered.extend(records);
        let now = check_readable(&log, &state, group, true).unwrap_or_default();
        assert_monotonic(&committed, &now, &format!("round {round}, after the kill"));
        committed = now;
        if let Some(status) = ended {
            assert!(status.success(), "round {round}: {status}");
            if kills >= 8 {
                break;
            }
            // Read to the end before enough kills (a fast disk): from the
            // start again, the one way commits may go back.
            let store = OffsetStore::open(&state, std::slice::from_ref(&log)).unwrap();
            let zeros: BTreeMap<TopicPartition, OffsetAndMetadata> = (0..PARTITIONS)
                .map(|p| (TopicPartition::new("metrics", p), OffsetAndMetadata::new(0)))
                .collect();
            store.alter_offsets(group, &zeros, &[]).unwrap();
            committed = check_readable(&log, &state, group, true).unwrap_or_default();
            restarts += 1;
            continue;
        }
        // Not stuck: a new member joins and reads on from the commits.
        let out = tmp.path().join(format!("commits-{round}-joiner.txt"));
        let records = joiner(&log, &state, group, &out);
        assert_resumes(&committed, &records, &format!("round {round}, joiner"));
        delivered.extend(records);
        let now = check_readable(&log, &state, group, true).unwrap_or_default();
        assert_monotonic(&committed, &now, &format!("round {round}, joiner"));
        committed = now;
    }
    assert!(kills >= 3, "too few kills to mean anything: {kills}");
    let records = finish(&log, &state, group, &tmp.path().join("commits-final.txt"));
    assert_resumes(&committed, &records, "the last member");
    delivered.extend(records);
    let unique: BTreeSet<(i32, i64)> = delivered.iter().copied().collect();
    assert_eq!(unique, all_records(), "every record delivered");
    eprintln!(
        "commits: {kills} kills, {restarts} restarts from 0, {} deliveries of {RECORDS} records",
        delivered.len()
    );
    assert_eq!(tree_digest(&log), digest, "the log dir was modified");
}

#[test]
fn kill_9_during_rebalances() {
    let mut rng = Rng::new(seed(2));
    // An eager and the cooperative protocol: they hand partitions over
    // differently.
    for assignor in ["range", "cooperative-sticky"] {
        rebalances(assignor, &mut rng);
    }
}

fn rebalances(assignor: &str, rng: &mut Rng) {
    let tmp = tempfile::tempdir().unwrap();
    let log = gen(tmp.path());
    let state = tmp.path().join("state");
    let digest = tree_digest(&log);
    let group = format!("rebalances-{assignor}");
    let group = group.as_str();
    let budget = Instant::now() + Duration::from_secs(8);
    let mut outs: Vec<PathBuf> = Vec::new();
    let mut running: Vec<Child> = Vec::new();
    let mut committed = BTreeMap::new();
    let mut kills = 0;
    let mut step = 0;
    while Instant::now() < budget && step < 25 {
        step += 1;
        // Join one or two members (a rebalance each) ...
        for _ in 0..1 + rng.below(2) {
            if running.len() < 3 {
                let out = tmp.path().join(format!("rebalance-{}.txt", outs.len()));
                let poll = (1 + rng.below(10)).to_string();
                let mut flags = vec![
                    "--max-poll-records",
                    &poll,
                    "--heartbeat-interval-ms",
                    "10",
                    "--partition-assignment-strategy",
                    assignor,
                ];
                // A third of them leave by themselves after a few records.
                let count = (10 + rng.below(40)).to_string();
                if rng.below(3) == 0 {
                    flags.extend(["-c", &count]);
                }
                running.push(member(&log, &state, group, &out, &flags));
                outs.push(out);
            }
        }
        // ... and kill one at a random instant of the rebalance that follows.
        std::thread::sleep(rng.millis(0, 120));
        let victim = rng.below(running.len() as u64) as usize;
        let mut child = running.swap_remove(victim);
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        let now = check_readable(&log, &state, group, false).unwrap_or_default();
        assert_monotonic(&committed, &now, &format!("step {step}"));
        committed = now;
    }
    for mut child in running.drain(..) {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let now = check_readable(&log, &state, group, true).unwrap_or_default();
    assert_monotonic(&committed, &now, "after the last kills");
    // Not stuck: a new member joins at once (the dead members' locks are
    // gone) and finishes the stream.
    let mut delivered: Vec<(i32, i64)> = outs.iter().flat_map(|o| printed(o)).collect();
    let before_last = delivered.len();
    delivered.extend(finish(
        &log,
        &state,
        group,
        &tmp.path().join("rebalance-final.txt"),
    ));
    let unique: BTreeSet<(i32, i64)> = delivered.iter().copied().collect();
    assert_eq!(unique, all_records(), "every record delivered");
    eprintln!(
        "rebalances ({assignor}): {kills} kills over {step} steps, {} deliveries of {RECORDS} \
         records ({before_last} before the last member)",
        delivered.len()
    );
    assert_eq!(tree_digest(&log), digest, "the log dir was modified");
}

#[test]
fn kill_9_during_reset_and_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let log = gen(tmp.path());
    let state = tmp.path().join("state");
    let digest = tree_digest(&log);
    let mut rng = Rng::new(seed(3));
    let group = "admin";
    let store = OffsetStore::open(&state, std::slice::from_ref(&log)).unwrap();
    let commit_all = |offsets: &BTreeMap<i32, i64>| {
        let map: BTreeMap<TopicPartition, OffsetAndMetadata> = offsets
            .iter()
            .map(|(&p, &o)| (TopicPartition::new("metrics", p), OffsetAndMetadata::new(o)))
            .collect();
        store.commit(group, &map).unwrap();
    };
    let budget = Instant::now() + Duration::from_secs(12);
    let (mut resets, mut deletes, mut kills) = (0, 0, 0);
    let mut delivered = Vec::new();
    for round in 0..40 {
        if Instant::now() >= budget {
            break;
        }
        // Some offsets to reset (from a member, or set directly).
        let before = match check_readable(&log, &state, group, true) {
            Some(c) if c.len() == PARTITIONS as usize => c,
            _ => {
                let offsets: BTreeMap<i32, i64> = (0..PARTITIONS)
                    .map(|p| (p, rng.below(PER_PARTITION as u64) as i64))
                    .collect();
                commit_all(&offsets);
                offsets
            }
        };
        let target = rng.below(PER_PARTITION as u64) as i64;
        let mut child = Command::new(BIN)
            .args(["group", "reset", group, "--all-topics", "--to-offset"])
            .arg(target.to_string())
            .args(["--execute", "--log-dir"])
            .arg(&log)
            .arg("--state-dir")
            .arg(&state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ended = kill_after(&mut child, rng.millis(0, 40));
        resets += 1;
        kills += usize::from(ended.is_none());
        if let Some(status) = ended {
            assert!(status.success(), "round {round}: reset: {status}");
        }
        // All or nothing: every partition at the old offsets, or at the new.
        let after = check_readable(&log, &state, group, true).expect("a reset never deletes");
        let reset: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, target)).collect();
        assert!(
            after == before || after == reset,
            "round {round}: a half reset: {before:?} -> {after:?} (target {target})"
        );
        if ended.is_some() {
            assert_eq!(after, reset, "round {round}: a finished reset");
        }
        // Not stuck: a member reads on from the reset offsets.
        let out = tmp.path().join(format!("admin-{round}.txt"));
        let records = joiner(&log, &state, group, &out);
        assert_resumes(&after, &records, &format!("round {round}, after the reset"));
        delivered.extend(records);
        let now = check_readable(&log, &state, group, true).expect("the group exists");
        assert_monotonic(&after, &now, &format!("round {round}, joiner"));

        // Every other round, a delete killed at a random instant.
        if round % 2 == 1 {
            let mut child = Command::new(BIN)
                .args(["group", "delete", group, "--state-dir"])
                .arg(&state)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let ended = kill_after(&mut child, rng.millis(0, 25));
            deletes += 1;
            kills += usize::from(ended.is_none());
            if let Some(status) = ended {
                assert!(status.success(), "round {round}: delete: {status}");
            }
            // All or nothing: the group as it was, or gone.
            match check_readable(&log, &state, group, true) {
                Some(still) => {
                    assert!(
                        ended.is_none(),
                        "round {round}: a finished delete left the group"
                    );
                    assert_eq!(still, now, "round {round}: a half delete");
                }
                None => {
                    let listed = store.groups().unwrap();
                    assert!(!listed.iter().any(|g| g == group), "{listed:?}");
                }
            }
        }
    }
    assert!(
        resets >= 5 && deletes >= 2,
        "{resets} resets, {deletes} deletes"
    );
    // Nothing left behind that shows as a group, and the group is usable.
    let groups = store.groups().unwrap();
    assert!(groups.iter().all(|g| g == group), "{groups:?}");
    let records = finish(&log, &state, group, &tmp.path().join("admin-final.txt"));
    delivered.extend(records);
    let all = all_records();
    assert!(delivered.iter().all(|r| all.contains(r)));
    eprintln!("reset/delete: {resets} resets, {deletes} deletes, {kills} of them killed");
    assert_eq!(tree_digest(&log), digest, "the log dir was modified");
}
