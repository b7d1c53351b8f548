//! Several `kreplay consume --group` processes on one log dir, one killed
//! with SIGKILL mid-stream: from the rebalance events each member reports
//! (`-v`), no partition is ever read by two live members at once; the
//! survivors take the dead member's partitions over (the time it took is
//! printed); nothing is lost, and the only duplicates are records the dead
//! member delivered after its last commit.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kreplay");
const PARTITIONS: i32 = 6;
const RECORDS: usize = 6_000;

fn gen(log: &Path) {
    let status = Command::new(BIN)
        .arg("gen")
        .arg(log)
        .args([
            "--topics",
            "metrics",
            "--partitions",
            &PARTITIONS.to_string(),
        ])
        .args(["--records", &RECORDS.to_string(), "--batch-records", "20"])
        .args(["--value-size", "40", "--seed", "11"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// A member in the background: its sink appends each poll to `out` and
/// takes a little while, so the stream lasts long enough to kill it mid-way.
fn member(log: &Path, state: &Path, out: &Path, err: &Path) -> Child {
    Command::new(BIN)
        .args(["consume", "--log-dir"])
        .arg(log)
        .args(["-t", "metrics", "--group", "g", "--state-dir"])
        .arg(state)
        .args(["--format", "json", "--max-poll-records", "40", "-v"])
        .args([
            "--heartbeat-interval-ms",
            "100",
            "--session-timeout-ms",
            "10000",
        ])
        .args([
            "--exec",
            &format!("cat >> '{}'; sleep 0.02", out.display()),
            "--retries",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::from(File::create(err).unwrap()))
        .spawn()
        .unwrap()
}

/// The records of the complete lines of `out` (a sink may be appending).
fn records(out: &Path) -> Vec<(i64, i64)> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["partition"].as_i64().unwrap(),
                v["offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// A rebalance event from a member's `-v` output.
#[derive(Debug, Clone)]
struct Event {
    what: String,
    partitions: Vec<i64>,
    micros: u128,
}

fn events(err: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(err).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let rest = line.split_once("group member ")?.1;
            let (_, rest) = rest.split_once(": ")?;
            let (what, rest) = rest.split_once(' ')?;
            let (list, at) = rest.split_once(" (at ")?;
            let at = humantime::parse_rfc3339(at.strip_suffix(')')?).ok()?;
            let micros = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros();
            let partitions = list
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|tp| tp.rsplit_once('-').unwrap().1.parse().unwrap())
                .collect();
            Some(Event {
                what: what.to_string(),
                partitions,
                micros,
            })
        })
        .collect()
}

/// Per partition, the intervals [assigned, revoked) in which the member may
/// read it; an interval still open ends at `end`.
fn ownership(events: &[Event], end: u128) -> BTreeMap<i64, Vec<(u128, u128)>> {
    let mut open: BTreeMap<i64, u128> = BTreeMap::new();
    let mut closed: BTreeMap<i64, Vec<(u128, u128)>> = BTreeMap::new();
    for e in events {
        for &p in &e.partitions {
            match e.what.as_str() {
                "assigned" => {
                    assert!(open.insert(p, e.micros).is_none(), "assigned twice: {e:?}");
                }
                "revoked" | "lost" => {
                    let from = open
                        .remove(&p)
                        .unwrap_or_else(|| panic!("not owned: {e:?}"));
                    closed.entry(p).or_default().push((from, e.micros));
                }
                other => panic!("unknown event {other}"),
            }
        }
    }
    for (p, from) in open {
        closed.entry(p).or_default().push((from, end));
    }
    closed
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

#[test]
fn kill_9_of_a_member_hands_its_partitions_over_without_loss_or_overlap() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    let state = tmp.path().join("state");
    gen(&log);
    let before = tree_digest(&log);
    let files = |i: usize| -> (PathBuf, PathBuf) {
        (
            tmp.path().join(format!("out-{i}.jsonl")),
            tmp.path().join(format!("err-{i}.txt")),
        )
    };
    let mut children: Vec<Child> = (0..3)
        .map(|i| {
            let (out, err) = files(i);
            member(&log, &state, &out, &err)
        })
        .collect();
    // Kill member 0 once it delivered a few polls and the group settled.
    let deadline = Instant::now() + Duration::from_secs(60);
    while records(&files(0).0).len() < 200 {
        assert!(Instant::now() < deadline, "member 0 never got going");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    children[0].kill().unwrap();
    children[0].wait().unwrap();
    let killed_at = now_micros();
    // The survivors finish the stream.
    let all: BTreeSet<(i64, i64)> = (0..PARTITIONS as i64)
        .flat_map(|p| (0..(RECORDS as i64 / PARTITIONS as i64)).map(move |o| (p, o)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let seen: BTreeSet<(i64, i64)> = (0..3).flat_map(|i| records(&files(i).0)).collect();
        if seen == all {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "records missing after 90 s: {}",
            all.difference(&seen).count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let end = now_micros();
    for child in &mut children[1..] {
        child.kill().unwrap();
        child.wait().unwrap();
    }

    // Ownership: no partition held by two members at once.
    let owned: Vec<BTreeMap<i64, Vec<(u128, u128)>>> = (0..3)
        .map(|i| ownership(&events(&files(i).1), if i == 0 { killed_at } else { end }))
        .collect();
    for p in 0..PARTITIONS as i64 {
        let mut intervals: Vec<(u128, u128, usize)> = Vec::new();
        for (i, member) in owned.iter().enumerate() {
            for &(from, to) in member.get(&p).map(Vec::as_slice).unwrap_or_default() {
                intervals.push((from, to, i));
            }
        }
        intervals.sort();
        for pair in intervals.windows(2) {
            let ((_, to, a), (from, _, b)) = (
                (pair[0].0, pair[0].1, pair[0].2),
                (pair[1].0, pair[1].1, pair[1].2),
            );
            assert!(
                to <= from,
                "partition {p}: member {a} held it until {to} but member {b} took it at {from}"
            );
        }
    }
    // Takeover: the dead member's partitions went to the survivors.
    let dead: Vec<i64> = owned[0]
        .iter()
        .filter(|(_, spans)| spans.iter().any(|&(_, to)| to == killed_at))
        .map(|(&p, _)| p)
        .collect();
    assert!(!dead.is_empty(), "member 0 owned nothing when killed");
    let mut takeover = Duration::ZERO;
    for p in &dead {
        let taken = owned[1..]
            .iter()
            .flat_map(|m| m.get(p).cloned().unwrap_or_default())
            .map(|(from, _)| from)
            .filter(|&from| from >= killed_at)
            .min()
            .unwrap_or_else(|| panic!("partition {p} of the killed member was never taken over"));
        takeover = takeover.max(Duration::from_micros((taken - killed_at) as u64));
    }
    eprintln!(
        "takeover after SIGKILL: {} ms for partitions {dead:?} (heartbeat interval 100 ms)",
        takeover.as_millis()
    );

    // Nothing lost (checked above); duplicates only between the dead member
    // and a survivor, on the dead member's partitions.
    let mut count: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for i in 0..3 {
        for r in records(&files(i).0) {
            count.entry(r).or_default().push(i);
        }
    }
    for (record, members) in &count {
        if members.len() > 1 {
            assert_eq!(members.len(), 2, "{record:?} delivered by {members:?}");
            assert!(
                members.contains(&0),
                "{record:?} delivered twice by survivors"
            );
            assert!(
                dead.contains(&record.0),
                "{record:?}: not a partition of the dead member"
            );
        }
    }
    let duplicates = count.values().filter(|m| m.len() > 1).count();
    eprintln!("duplicates (delivered by the dead member after its last commit): {duplicates}");
    assert_eq!(tree_digest(&log), before, "the log dir was modified");
}

/// `kreplay group list --json`'s line for `g`.
fn group_line(state: &Path) -> Option<Value> {
    let run = kreplay([
        "group",
        "list",
        "--json",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json_lines().into_iter().find(|v| v["group"] == "g")
}

#[test]
fn a_live_group_is_stable_shows_its_owners_and_refuses_delete_and_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    let state = tmp.path().join("state");
    gen(&log);
    let (out, err) = (tmp.path().join("out"), tmp.path().join("err"));
    let mut child = member(&log, &state, &out, &err);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(line) = group_line(&state) {
            if line["state"] == "stable" && line["members"] == 1 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "never stable");
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let run = kreplay([
        "group",
        "describe",
        "g",
        "--json",
        "--log-dir",
        &s(&log),
        "--state-dir",
        &s(&state),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = run.json_lines();
    assert_eq!(lines.len(), PARTITIONS as usize);
    let owners: BTreeSet<&str> = lines
        .iter()
        .map(|l| l["consumer_id"].as_str().unwrap())
        .collect();
    assert_eq!(owners.len(), 1, "{lines:?}");
    assert!(lines.iter().all(|l| l["client_id"] == "kreplay"));

    let run = kreplay(["group", "delete", "g", "--state-dir", &s(&state)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("1 live member"), "{}", run.stderr);
    let reset = [
        "group",
        "reset",
        "g",
        "--all-topics",
        "--to-earliest",
        "--execute",
        "--log-dir",
    ];
    let run = kreplay(reset.iter().map(|a| a.to_string()).chain([
        s(&log),
        "--state-dir".into(),
        s(&state),
    ]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("live member"), "{}", run.stderr);

    // SIGKILL: the lock dies with the process; the group is empty at once.
    child.kill().unwrap();
    child.wait().unwrap();
    let line = group_line(&state).unwrap();
    assert_eq!(line["state"], "empty", "{line}");
    assert_eq!(line["members"], 0);
    let run = kreplay(["group", "delete", "g", "--state-dir", &s(&state)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn members_as_threads_deliver_every_record_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    let state = tmp.path().join("state");
    gen(&log);
    // Commits after every poll, and at most hourly: then the revoked
    // partitions' positions are committed on revocation, or the next owner
    // would replay them from the starting commit.
    let runs = ["range", "roundrobin", "sticky", "cooperative-sticky"]
        .map(|assignor| (assignor, "0"))
        .into_iter()
        .chain([("range", "1h"), ("cooperative-sticky", "1h")]);
    for (assignor, interval) in runs {
        let group = format!("threads-{assignor}-{interval}");
        let run = kreplay([
            "consume",
            "--log-dir",
            log.to_str().unwrap(),
            "-t",
            "metrics",
            "--group",
            &group,
            "--state-dir",
            state.to_str().unwrap(),
            "--members",
            "4",
            "--partition-assignment-strategy",
            assignor,
            "--commit-interval",
            interval,
            "--heartbeat-interval-ms",
            "20",
            "-e",
            "-v",
            "--max-poll-records",
            "30",
            "-f",
            "%p %o\n",
        ]);
        let assignor = format!("{assignor}, --commit-interval {interval}");
        assert_eq!(run.code, 0, "{assignor}: {}", run.stderr);
        let mut seen: Vec<(i64, i64)> = run
            .stdout
            .lines()
            .map(|l| {
                let (p, o) = l.split_once(' ').unwrap();
                (p.parse().unwrap(), o.parse().unwrap())
            })
            .collect();
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n, "{assignor}: duplicates");
        let all: BTreeSet<(i64, i64)> = (0..PARTITIONS as i64)
            .flat_map(|p| (0..(RECORDS as i64 / PARTITIONS as i64)).map(move |o| (p, o)))
            .collect();
        assert_eq!(
            n,
            RECORDS,
            "{assignor}: records missing\n{}--- stderr:\n{}",
            missing(&all, &seen.iter().copied().collect()),
            run.stderr
        );
    }
}

#[test]
fn bad_group_flags_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    gen(&log);
    let base = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "consume",
            "--log-dir",
            log.to_str().unwrap(),
            "-t",
            "metrics",
            "-e",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        kreplay(args)
    };
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    for (extra, says) in [
        (
            vec![
                "--group",
                "g",
                "--state-dir",
                state,
                "--partition-assignment-strategy",
                "fair",
            ],
            "unknown partition assignment strategy",
        ),
        (vec!["--group", "", "--state-dir", state], "cannot be empty"),
        (
            vec!["--group", "g", "--state-dir", state, "--members", "0"],
            "--members",
        ),
        (
            vec![
                "--group",
                "g",
                "--state-dir",
                state,
                "--members",
                "2",
                "-p",
                "0",
            ],
            "cannot be used with -p",
        ),
        (
            vec![
                "--group",
                "g",
                "--state-dir",
                state,
                "--heartbeat-interval-ms",
                "5000",
                "--session-timeout-ms",
                "1000",
            ],
            "below --session-timeout-ms",
        ),
        (
            vec![
                "--group",
                "g",
                "--state-dir",
                state,
                "--group-instance-id",
                "",
            ],
            "cannot be empty",
        ),
        (vec!["--members", "2"], "--group"),
    ] {
        let run = base(&extra);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{extra:?}: {}", run.stderr);
    }
    // Group names that could escape the state dir stay inside it.
    for group in ["../../escape", "/etc/passwd", ".", ".."] {
        let run = base(&[
            "--group",
            group,
            "--state-dir",
            state,
            "-c",
            "1",
            "-f",
            "%o\n",
        ]);
        assert_eq!(run.code, 0, "{group}: {}", run.stderr);
    }
    assert!(!tmp.path().join("escape").exists());
    let names: Vec<String> = std::fs::read_dir(tmp.path().join("state/groups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names
        .iter()
        .all(|n| !n.contains('/') && n != "." && n != ".."));
    // A state dir that cannot be written: a clear error naming it.
    let run = base(&["--group", "g", "--state-dir", "/proc/kreplay-state"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("/proc/kreplay-state"), "{}", run.stderr);
}

/// Whether process `pid` holds a `flock` on `path` (from /proc/locks:
/// `1: FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF`).
fn holds_flock(pid: u32, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let locks = std::fs::read_to_string("/proc/locks").unwrap();
    locks.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() >= 6
            && fields[1] == "FLOCK"
            && fields[4] == pid.to_string()
            && fields[5].rsplit(':').next() == Some(&meta.ino().to_string())
    })
}

/// Per partition, how many of `all` are not in `seen` and the first of them.
fn missing(all: &BTreeSet<(i64, i64)>, seen: &BTreeSet<(i64, i64)>) -> String {
    let mut first: BTreeMap<i64, (i64, usize)> = BTreeMap::new();
    for &(p, o) in all.difference(seen) {
        first.entry(p).or_insert((o, 0)).1 += 1;
    }
    first
        .iter()
        .map(|(p, (o, n))| format!("partition {p}: {n} missing from offset {o}\n"))
        .collect()
}

/// Every file under a group's dir with its inode, mtime and (short) content,
/// for a failure message.
fn group_dir_dump(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let content = std::fs::read(&path).unwrap_or_default();
            let text =
                String::from_utf8_lossy(&content[..content.len().min(300)]).replace('\n', " ");
            out.push_str(&format!(
                "{} ino {} mtime {}.{:09}: {text}\n",
                path.strip_prefix(dir).unwrap_or(&path).display(),
                meta.ino(),
                meta.mtime(),
                meta.mtime_nsec()
            ));
        }
    }
    out
}

/// Sends `signal` to `child`.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_stopped_member_is_evicted_after_its_session_timeout_and_its_late_commit_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    let state = tmp.path().join("state");
    gen(&log);
    let files = |i: usize| -> (PathBuf, PathBuf) {
        (
            tmp.path().join(format!("out-{i}.jsonl")),
            tmp.path().join(format!("err-{i}.txt")),
        )
    };
    let spawn = |i: usize| {
        let (out, err) = files(i);
        Command::new(BIN)
            .args(["consume", "--log-dir"])
            .arg(&log)
            .args(["-t", "metrics", "--group", "g", "--state-dir"])
            .arg(&state)
            .args(["--format", "json", "--max-poll-records", "40", "-v"])
            .args([
                "--heartbeat-interval-ms",
                "100",
                "--session-timeout-ms",
                "1000",
            ])
            .args(["--exec", &format!("cat >> '{}'; sleep 0.05", out.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::from(File::create(err).unwrap()))
            .spawn()
            .unwrap()
    };
    let mut a = spawn(0);
    let mut b = spawn(1);
    // Both members own partitions and read.
    let deadline = Instant::now() + Duration::from_secs(60);
    while records(&files(0).0).len() < 80 || records(&files(1).0).len() < 80 {
        assert!(Instant::now() < deadline, "members never got going");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGSTOP: a hung process. Its locks stay held, its heartbeat stops.
    // SIGSTOP where it does not hold the group's lock: a member stopped in
    // the middle of a commit or a sync (a few ms under the lock) blocks the
    // others until it continues or dies (a documented limit), which is not
    // what this test is about.
    let group_lock = state.join("groups/g/offsets.lock");
    let mut stopped_at = now_micros();
    for attempt in 0.. {
        stopped_at = now_micros();
        signal(&a, "STOP");
        std::thread::sleep(Duration::from_millis(20));
        if !holds_flock(a.id(), &group_lock) {
            break;
        }
        assert!(attempt < 100, "a always held the group lock");
        signal(&a, "CONT");
        std::thread::sleep(Duration::from_millis(7));
    }
    let all: BTreeSet<(i64, i64)> = (0..PARTITIONS as i64)
        .flat_map(|p| (0..(RECORDS as i64 / PARTITIONS as i64)).map(move |o| (p, o)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let seen: BTreeSet<(i64, i64)> = (0..2).flat_map(|i| records(&files(i).0)).collect();
        if seen == all {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "b never finished a's partitions\n--- missing:\n{}\n--- a:\n{}\n--- b:\n{}\n--- locks:\n{}\n--- group dir:\n{}",
            missing(&all, &seen),
            std::fs::read_to_string(files(0).1).unwrap(),
            std::fs::read_to_string(files(1).1).unwrap(),
            std::fs::read_to_string("/proc/locks").unwrap(),
            group_dir_dump(&state.join("groups/g"))
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // What a held when stopped (its lock prevents anyone else from taking
    // it until it is evicted), and when b got the first of those.
    let held: Vec<i64> = ownership(&events(&files(0).1), u128::MAX)
        .into_iter()
        .filter(|(_, spans)| spans.iter().any(|&(_, to)| to == u128::MAX))
        .map(|(p, _)| p)
        .collect();
    assert!(!held.is_empty(), "a held nothing when stopped");
    let taken = events(&files(1).1)
        .iter()
        .filter(|e| e.what == "assigned" && e.partitions.iter().any(|p| held.contains(p)))
        .map(|e| e.micros)
        .filter(|&t| t > stopped_at)
        .min()
        .expect("b took nothing of a's over");
    eprintln!(
        "takeover from a stopped member: {} ms (session timeout 1000 ms)",
        (taken - stopped_at) / 1000
    );
    assert!(
        // Its last heartbeat may precede the stop by one interval (100 ms).
        taken - stopped_at >= 900_000,
        "evicted {} ms after it stopped, before its session timeout; stopped at {stopped_at}\n--- a:\n{}\n--- b:\n{}\n--- group dir:\n{}",
        (taken - stopped_at) / 1000,
        std::fs::read_to_string(files(0).1).unwrap(),
        std::fs::read_to_string(files(1).1).unwrap(),
        group_dir_dump(&state.join("groups/g"))
    );
    // SIGCONT: a learns it was evicted, loses its partitions, rejoins.
    signal(&a, "CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(files(0).1).unwrap();
        if events(&files(0).1).iter().any(|e| e.what == "lost") {
            assert!(text.contains("was removed from the group") || text.contains("rejoining"));
            break;
        }
        assert!(Instant::now() < deadline, "a never noticed: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
    for child in [&mut a, &mut b] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // Nothing lost; a's late deliveries (the poll in flight when it was
    // stopped) are the only duplicates.
    let late: usize = records(&files(0).0)
        .iter()
        .filter(|r| records(&files(1).0).contains(r))
        .count();
    assert!(
        late <= 40,
        "{late} duplicates: more than the one poll in flight"
    );
}

#[test]
fn a_static_member_restarted_within_its_session_timeout_gets_its_partitions_back() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    let state = tmp.path().join("state");
    gen(&log);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let spawn = |instance: &str, err: &Path| {
        Command::new(BIN)
            .args([
                "consume",
                "--log-dir",
                &s(&log),
                "-t",
                "metrics",
                "--group",
                "g",
            ])
            .args(["--state-dir", &s(&state), "-f", "", "-v"])
            .args([
                "--heartbeat-interval-ms",
                "50",
                "--session-timeout-ms",
                "60000",
            ])
            .args(["--group-instance-id", instance])
            .stdout(Stdio::null())
            .stderr(Stdio::from(File::create(err).unwrap()))
            .spawn()
            .unwrap()
    };
    let describe = |what: &str| -> Vec<Value> {
        let run = kreplay([
            "group",
            "describe",
            "g",
            what,
            "--json",
            "--state-dir",
            &s(&state),
        ]);
        if run.code == 1 && run.stderr.contains("does not exist") {
            return Vec::new(); // nobody joined yet
        }
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.json_lines()
    };
    let mut a = spawn("box-a", &tmp.path().join("a1.err"));
    let mut b = spawn("box-b", &tmp.path().join("b.err"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = loop {
        let state = describe("--state");
        let members = describe("--members");
        // Both members in one generation: stable with 2 live members, and
        // (read a moment later) both holding partitions.
        let both = members.len() == 2
            && members
                .iter()
                .all(|m| m["partitions"].as_u64() > Some(0) && m["departed"] == false);
        if state
            .first()
            .is_some_and(|s| s["state"] == "stable" && s["members"] == 2)
            && both
        {
            break (state[0]["generation"].clone(), members);
        }
        assert!(Instant::now() < deadline, "never stable: {state:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let assignment_of = |members: &[Value], instance: &str| -> Value {
        members
            .iter()
            .find(|m| m["group_instance_id"] == instance)
            .unwrap()["assignment"]
            .clone()
    };
    let held = assignment_of(&settled.1, "box-a");
    assert!(!held.as_array().unwrap().is_empty());
    // b has finished adopting that generation (a sync acks it before the
    // eager revoke and re-assign it then logs).
    let generation = settled.0.as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(tmp.path().join("b.err")).unwrap();
        let last = text.lines().rfind(|l| l.contains("group member"));
        if last.is_some_and(|l| l.contains(&format!("generation {generation}: assigned"))) {
            break;
        }
        assert!(Instant::now() < deadline, "b never settled: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // box-a's process dies and comes back under the same instance id.
    let b_before = std::fs::read_to_string(tmp.path().join("b.err"))
        .unwrap()
        .len();
    a.kill().unwrap();
    a.wait().unwrap();
    let mut a = spawn("box-a", &tmp.path().join("a2.err"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let members = describe("--members");
        let back = members.iter().any(|m| {
            m["group_instance_id"] == "box-a" && m["departed"] == false && m["pid"] == a.id()
        });
        if back && describe("--state")[0]["state"] == "stable" {
            assert_eq!(assignment_of(&members, "box-a"), held, "{members:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "box-a never came back: {members:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        describe("--state")[0]["generation"],
        settled.0,
        "no rebalance\n--- a (first):\n{}\n--- a (again):\n{}\n--- b:\n{}",
        std::fs::read_to_string(tmp.path().join("a1.err")).unwrap(),
        std::fs::read_to_string(tmp.path().join("a2.err")).unwrap(),
        std::fs::read_to_string(tmp.path().join("b.err")).unwrap()
    );
    let b_after = std::fs::read_to_string(tmp.path().join("b.err")).unwrap();
    let since = &b_after[b_before..];
    assert!(!since.contains("revoked"), "b was rebalanced: {since}");
    for child in [&mut a, &mut b] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
