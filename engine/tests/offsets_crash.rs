//! Committed offsets survive SIGKILL at any moment, and writers in several
//! processes never tear a group's offsets file or lose each other's
//! partitions.
//!
//! The child processes are this test binary run again with
//! `KREPLAY_OFFSETS_CHILD` set, executing only `offsets_child_entry`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kreplay::{OffsetAndMetadata, OffsetStore, TopicPartition};

const CHILD_ENV: &str = "KREPLAY_OFFSETS_CHILD";
const GROUP: &str = "crash group/../x";
const PARTITIONS: i32 = 20;
const ROUNDS: usize = 50;
const READY: &str = "kreplay-offsets-child-ready";

/// A child process, killed when dropped (so a failing test leaves none
/// behind).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs this binary's `offsets_child_entry` with `spec` (`<mode> <state dir>`).
fn spawn_child(spec: &str) -> ChildGuard {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "offsets_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    ChildGuard(child)
}

/// The child side: a no-op unless run by one of the tests below.
#[test]
fn offsets_child_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, state_dir) = spec.split_once(' ').unwrap();
    let store = OffsetStore::open(Path::new(state_dir), &[]).unwrap();
    if mode == "crash" {
        // Commit every partition at n, n+1, ... until killed (or, should
        // the parent be gone, for 20 s); tell the parent after the first
        // commit.
        let deadline = Instant::now() + Duration::from_secs(20);
        let start = uniform_offset(&store.committed_all(GROUP).unwrap()).map_or(0, |o| o + 1);
        for n in start.. {
            if Instant::now() > deadline {
                break;
            }
            let offsets = (0..PARTITIONS)
                .map(|p| {
                    let metadata = format!("commit {n}\nof partition {p} — ok");
                    (
                        TopicPartition::new("orders", p),
                        OffsetAndMetadata::with_metadata(n, metadata),
                    )
                })
                .collect();
            store.commit(GROUP, &offsets).unwrap();
            if n == start {
                let mut stdout = std::io::stdout();
                // libtest may have printed "test offsets_child_entry ... " on this line.
                writeln!(stdout, "\n{READY}").unwrap();
                stdout.flush().unwrap();
            }
        }
    } else if let Some(partition) = mode.strip_prefix("writer:") {
        let partition: i32 = partition.parse().unwrap();
        for n in 1..=100 {
            let offsets = BTreeMap::from([(
                TopicPartition::new("shared", partition),
                OffsetAndMetadata::with_metadata(n, format!("process {partition}")),
            )]);
            store.commit(GROUP, &offsets).unwrap();
        }
    } else {
        panic!("unknown child mode {mode}");
    }
}

/// The one offset every partition has (each commit writes them all at
/// once), `None` before the first commit; panics on a mix.
fn uniform_offset(offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>) -> Option<i64> {
    let first = offsets.values().next()?.offset;
    assert_eq!(offsets.len(), PARTITIONS as usize, "{offsets:?}");
    for (tp, offset) in offsets {
        assert_eq!(offset.offset, first, "a commit seen in part: {offsets:?}");
        let metadata = format!("commit {first}\nof partition {} — ok", tp.partition);
        assert_eq!(offset.metadata.as_deref(), Some(metadata.as_str()));
    }
    Some(first)
}

#[cfg(unix)]
#[test]
fn offsets_survive_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let store = OffsetStore::open(&state_dir, &[]).unwrap();
    let spec = format!("crash {}", store.state_dir().display());
    let mut last: Option<i64> = None;
    let mut reads = 0usize;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let mut guard = spawn_child(&spec);
        let child = &mut guard.0;
        if fastrand::u8(0..5) == 0 {
            // Kill early: during start-up or the first commit.
            std::thread::sleep(Duration::from_micros(fastrand::u64(0..3000)));
        } else {
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            while line.trim_end() != READY {
                line.clear();
                assert!(stdout.read_line(&mut line).unwrap() > 0, "child quit early");
            }
            // Read while the child commits: every view is a whole commit,
            // and never older than the one before.
            let window = Duration::from_millis(fastrand::u64(1..30));
            let until = Instant::now() + window;
            while Instant::now() < until {
                let seen = uniform_offset(&store.committed_all(GROUP).unwrap());
                assert!(seen >= last, "round {round}: {seen:?} after {last:?}");
                last = seen;
                reads += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let text = std::fs::read(store.group_dir(GROUP).unwrap().join("offsets"));
        if let Ok(text) = text {
            assert!(text.ends_with(b"\n"), "round {round}: a partial line");
        }
        let seen = uniform_offset(&store.committed_all(GROUP).unwrap());
        assert!(seen >= last, "round {round}: {seen:?} after {last:?}");
        last = seen;
    }
    let last = last.expect("no commit in any round");
    assert!(last > 0);
    // A crash may have left a temporary file; the next commit removes it.
    store
        .commit(
            GROUP,
            &BTreeMap::from([(
                TopicPartition::new("orders", 0),
                OffsetAndMetadata::new(last + 1),
            )]),
        )
        .unwrap();
    let group_dir = store.group_dir(GROUP).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&group_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["offsets", "offsets.lock"]);
    assert_eq!(store.groups().unwrap(), [GROUP]);
    eprintln!(
        "{ROUNDS} kills in {:?}: {} commits survived, {reads} concurrent reads",
        started.elapsed(),
        last + 1
    );
}

#[cfg(unix)]
#[test]
fn offsets_writers_in_several_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = OffsetStore::open(&dir.path().join("state"), &[]).unwrap();
    let mut children: Vec<ChildGuard> = (0..3)
        .map(|p| spawn_child(&format!("writer:{p} {}", store.state_dir().display())))
        .collect();
    let mut last = BTreeMap::new();
    while children
        .iter_mut()
        .any(|c| c.0.try_wait().unwrap().is_none())
    {
        for (tp, offset) in store.committed_all(GROUP).unwrap() {
            let previous = last.insert(tp.clone(), offset.offset).unwrap_or(0);
            assert!(
                offset.offset >= previous,
                "{tp}: {} after {previous}",
                offset.offset
            );
            assert_eq!(offset.metadata, Some(format!("process {}", tp.partition)));
        }
    }
    for mut child in children {
        assert!(child.0.wait().unwrap().success());
    }
    let all = store.committed_all(GROUP).unwrap();
    let expected: BTreeMap<_, _> = (0..3)
        .map(|p| {
            (
                TopicPartition::new("shared", p),
                OffsetAndMetadata::with_metadata(100, format!("process {p}")),
            )
        })
        .collect();
    assert_eq!(all, expected);
}
