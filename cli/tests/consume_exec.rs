//! `consume --exec CMD`: each poll's records go to the stdin of a new
//! `sh -c CMD`, byte for byte what stdout would get, and nothing goes to
//! stdout; a poll without records runs nothing; with `--group` a poll is
//! committed only once CMD has exited 0; a failing CMD is run again
//! `--retries` times, then consume exits 1 naming it and the failed records,
//! the group's offsets left at the last success; a CMD that exits 0 without
//! reading its stdin has accepted the records.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use kreplay::OffsetStore;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kreplay");

/// Partitions of the generated topic `metrics`.
const PARTITIONS: i32 = 3;
/// Records per partition.
const PER_PARTITION: i64 = 500;

/// A log dir with `metrics`, 3 partitions x 500 records of ~200-byte values
/// in batches of 50, no transactions.
fn gen_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let total = (i64::from(PARTITIONS) * PER_PARTITION).to_string();
    let run = kreplay([
        "gen",
        s(dir.path()),
        "--topics",
        "metrics",
        "--partitions",
        &PARTITIONS.to_string(),
        "--records",
        &total,
        "--batch-records",
        "50",
        "--value-size",
        "200",
        "--transactional-ratio",
        "0",
        "--seed",
        "11",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `kreplay consume --log-dir LOG -t metrics -e ARGS...`.
fn consume_log(log: &Path, args: &[&str]) -> Run {
    let mut all = vec!["consume", "--log-dir", s(log), "-t", "metrics", "-e"];
    all.extend_from_slice(args);
    kreplay(all)
}

/// Every partition's committed offset for `group` (absent: never committed).
fn committed(state: &Path, log: &Path, group: &str) -> BTreeMap<i32, i64> {
    OffsetStore::open(state, &[log.to_path_buf()])
        .unwrap()
        .committed_all(group)
        .unwrap()
        .into_iter()
        .map(|(tp, offset)| (tp.partition, offset.offset))
        .collect()
}

/// The offsets of JSON records as `KREPLAY_PARTITIONS` writes them.
fn ranges(records: &[Value]) -> String {
    let mut ranges: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
    for r in records {
        let key = (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_i64().unwrap(),
        );
        let offset = r["offset"].as_i64().unwrap();
        ranges
            .entry(key)
            .and_modify(|range| range.1 = offset)
            .or_insert((offset, offset));
    }
    ranges
        .iter()
        .map(|((topic, partition), (first, last))| format!("{topic}-{partition}:{first}-{last}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One run of a recording script: what it got on stdin and in its environment.
#[derive(Debug)]
struct Invocation {
    stdin: Vec<u8>,
    group: String,
    records: u64,
    partitions: String,
    attempt: u32,
    /// What `kreplay group describe` said while it ran (with `describe`).
    committed_meanwhile: Option<BTreeMap<i64, i64>>,
}

/// A script that numbers its runs and keeps each one's stdin and
/// environment in a temp dir, then runs `tail` (shell code; `$n` is the run
/// number).
struct Recorder {
    dir: tempfile::TempDir,
}

impl Recorder {
    fn new(tail: &str) -> Recorder {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            r#"dir='{dir}'
n=$(( $(cat "$dir/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$dir/count"
cat > "$dir/stdin-$n"
printf '%s\n%s\n%s\n%s\n' "${{KREPLAY_GROUP-unset}}" "$KREPLAY_RECORDS" "$KREPLAY_PARTITIONS" "$KREPLAY_ATTEMPT" > "$dir/env-$n"
{tail}
"#,
            dir = s(dir.path())
        );
        std::fs::write(dir.path().join("script.sh"), script).unwrap();
        Recorder { dir }
    }

    fn command(&self) -> String {
        format!("sh {}", s(&self.dir.path().join("script.sh")))
    }

    fn runs(&self) -> usize {
        match std::fs::read_to_string(self.dir.path().join("count")) {
            Ok(n) => n.trim().parse().unwrap(),
            Err(_) => 0,
        }
    }

    fn invocations(&self) -> Vec<Invocation> {
        (1..=self.runs())
            .map(|n| {
                let path = |name: &str| self.dir.path().join(format!("{name}-{n}"));
                let env = std::fs::read_to_string(path("env")).unwrap();
                let env: Vec<&str> = env.lines().collect();
                let committed_meanwhile = std::fs::read(path("committed")).ok().map(|bytes| {
                    json_lines(&bytes)
                        .iter()
                        .map(|v| {
                            (
                                v["partition"].as_i64().unwrap(),
                                v["current_offset"].as_i64().unwrap(),
                            )
                        })
                        .collect()
                });
                Invocation {
                    stdin: std::fs::read(path("stdin")).unwrap(),
                    group: env[0].to_string(),
                    records: env[1].parse().unwrap(),
                    partitions: env[2].to_string(),
                    attempt: env[3].parse().unwrap(),
                    committed_meanwhile,
                }
            })
            .collect()
    }
}

/// Lines, sorted: a poll's partitions interleave differently from run to
/// run (the fetcher thread runs on its own), the records do not change.
fn sorted_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    lines.sort();
    lines
}

#[test]
fn records_reach_the_command_as_stdout_would_get_them() {
    let log = gen_log();
    for format in [
        &["--format", "json"][..],
        &["--format", "json", "--bytes", "base64"],
        &[],
        &["-f", "%t [%p] @%o %T %k\\n"],
    ] {
        for (max_poll_records, partition) in [("7", None), ("500", None), ("7", Some("1"))] {
            let mut args = vec!["--max-poll-records", max_poll_records];
            args.extend_from_slice(format);
            if let Some(partition) = partition {
                args.extend(["-p", partition]);
            }
            let stdout = consume_log(log.path(), &args);
            assert_eq!(stdout.code, 0, "{}", stdout.stderr);
            // Without --group: allowed, nothing committed.
            let recorder = Recorder::new("");
            let command = recorder.command();
            args.extend(["--exec", &command]);
            let exec = consume_log(log.path(), &args);
            assert_eq!(exec.code, 0, "{args:?}: {}", exec.stderr);
            assert_eq!(exec.stdout, "", "{args:?}: nothing on stdout with --exec");
            let invocations = recorder.invocations();
            let all: Vec<u8> = invocations.iter().flat_map(|i| i.stdin.clone()).collect();
            if partition.is_some() {
                // One partition: the same bytes in the same order.
                assert!(
                    all == stdout.stdout.as_bytes(),
                    "{args:?}: the commands did not get what stdout got"
                );
            } else {
                assert!(
                    sorted_lines(&all) == sorted_lines(stdout.stdout.as_bytes()),
                    "{args:?}: the commands did not get what stdout got"
                );
                if format.contains(&"json") {
                    assert!(
                        by_partition(&json_lines(&all)) == by_partition(&stdout.json_lines()),
                        "{args:?}: out of order within a partition"
                    );
                }
            }
            let limit: u64 = max_poll_records.parse().unwrap();
            let records = stdout.stdout.lines().count() as u64;
            assert!(
                invocations.len() as u64 >= records / limit,
                "{args:?}: one run per poll"
            );
            for i in &invocations {
                assert_eq!(i.group, "unset", "{args:?}");
                assert_eq!(i.attempt, 1, "{args:?}");
                assert!(
                    (1..=limit).contains(&i.records),
                    "{args:?}: {} records",
                    i.records
                );
                // One line per record in every format here.
                assert_eq!(i.stdin.split(|&b| b == b'\n').count() as u64 - 1, i.records);
                if format.contains(&"json") {
                    assert_eq!(i.partitions, ranges(&json_lines(&i.stdin)), "{args:?}");
                }
            }
        }
    }
}

#[test]
fn the_commands_stdout_goes_to_stderr() {
    let log = gen_log();
    // One partition: the same order every time.
    let args = [
        "-p",
        "2",
        "-c",
        "25",
        "-f",
        "%p %o\\n",
        "--max-poll-records",
        "10",
    ];
    let stdout = consume_log(log.path(), &args);
    assert_eq!(stdout.stdout.lines().count(), 25);
    let mut exec_args = args.to_vec();
    exec_args.extend(["--exec", "cat"]);
    let exec = consume_log(log.path(), &exec_args);
    assert_eq!(exec.code, 0, "{}", exec.stderr);
    assert_eq!(exec.stdout, "");
    assert_eq!(exec.stderr, stdout.stdout);
}

#[test]
fn polls_without_records_run_nothing() {
    let log = gen_log();
    let state = tempfile::tempdir().unwrap();
    let recorder = Recorder::new("");
    let command = recorder.command();
    let group_args = [
        "--group",
        "g",
        "--state-dir",
        s(state.path()),
        "--max-poll-records",
        "100",
        "--exec",
        &command,
    ];
    let run = consume_log(log.path(), &group_args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let runs = recorder.runs();
    // -e ends after an empty poll: it ran nothing.
    assert_eq!(runs, 15, "1500 records, 100 per poll");
    assert!(recorder.invocations().iter().all(|i| i.records > 0));
    // At the end already: every poll is empty.
    let run = consume_log(log.path(), &group_args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(recorder.runs(), runs, "a rerun at the end ran the command");
    // Following the log (no -e): empty polls, every 500 ms, for 1.7 s.
    let mut child = Command::new(BIN)
        .args(["consume", "--log-dir", s(log.path()), "-t", "metrics"])
        .args(group_args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1700));
    assert!(child.try_wait().unwrap().is_none(), "follow mode ended");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(recorder.runs(), runs, "an empty poll ran the command");
}

#[test]
fn offsets_are_committed_only_after_the_command_exits_0() {
    let log = gen_log();
    let state = tempfile::tempdir().unwrap();
    // While it runs, the command asks where the group stands.
    let recorder = Recorder::new(&format!(
        r#""{BIN}" group describe g --log-dir '{}' --state-dir '{}' --json > "$dir/committed-$n""#,
        s(log.path()),
        s(state.path())
    ));
    let command = recorder.command();
    let run = consume_log(
        log.path(),
        &[
            "--group",
            "g",
            "--state-dir",
            s(state.path()),
            "--max-poll-records",
            "70",
            "--format",
            "json",
            "--exec",
            &command,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let invocations = recorder.invocations();
    assert!(invocations.len() >= 1500 / 70);
    // Before the first poll, the starting offsets are committed.
    let mut accepted: BTreeMap<i64, i64> = (0..i64::from(PARTITIONS)).map(|p| (p, 0)).collect();
    for (n, i) in invocations.iter().enumerate() {
        assert_eq!(i.group, "g");
        assert_eq!(
            i.committed_meanwhile.as_ref(),
            Some(&accepted),
            "run {}: committed before it exited 0",
            n + 1
        );
        for r in json_lines(&i.stdin) {
            let partition = r["partition"].as_i64().unwrap();
            let offset = r["offset"].as_i64().unwrap();
            // The batch starts where the group stands, without a gap.
            assert_eq!(accepted[&partition], offset, "run {}", n + 1);
            accepted.insert(partition, offset + 1);
        }
    }
    let want: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, PER_PARTITION)).collect();
    assert_eq!(committed(state.path(), log.path(), "g"), want);
}

#[test]
fn a_failing_command_is_retried_then_consume_exits_1() {
    let log = gen_log();
    let state = tempfile::tempdir().unwrap();
    // Runs 1 to 3 succeed, every later one reads its stdin and exits 3.
    let recorder = Recorder::new(r#"if [ "$n" -gt 3 ]; then exit 3; fi"#);
    let command = recorder.command();
    let run = consume_log(
        log.path(),
        &[
            "--group",
            "g",
            "--state-dir",
            s(state.path()),
            "--max-poll-records",
            "70",
            "--format",
            "json",
            "--exec",
            &command,
            "--retries",
            "2",
            "--retry-backoff",
            "10ms",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let invocations = recorder.invocations();
    assert_eq!(
        invocations.len(),
        3 + 1 + 2,
        "3 successes, a failure, 2 retries"
    );
    let failed = &invocations[3];
    for (retry, i) in invocations[3..].iter().enumerate() {
        assert_eq!(i.stdin, failed.stdin, "a retry gets the same records");
        assert_eq!(i.partitions, failed.partitions);
        assert_eq!(i.attempt as usize, retry + 1);
    }
    assert!(
        run.stderr.contains(&format!(
            "error: --exec command '{command}' exited with status 3 (attempt 3 of 3, giving up): {} record(s) not accepted: {}",
            failed.records, failed.partitions
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("retrying in").count(),
        2,
        "{}",
        run.stderr
    );
    // The group stands after the last success, which is where the failed
    // batch starts.
    let mut want: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    for i in &invocations[..3] {
        for r in json_lines(&i.stdin) {
            want.insert(
                r["partition"].as_i64().unwrap() as i32,
                r["offset"].as_i64().unwrap() + 1,
            );
        }
    }
    assert_eq!(committed(state.path(), log.path(), "g"), want);
    for r in json_lines(&failed.stdin) {
        let partition = r["partition"].as_i64().unwrap() as i32;
        assert!(r["offset"].as_i64().unwrap() >= want[&partition]);
    }
    let first_failed: BTreeMap<i32, i64> = json_lines(&failed.stdin)
        .iter()
        .rev()
        .map(|r| {
            (
                r["partition"].as_i64().unwrap() as i32,
                r["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    for (partition, first) in first_failed {
        assert_eq!(want[&partition], first);
    }
}

#[test]
fn retries_default_to_3_and_every_failure_counts() {
    let log = gen_log();
    let state = tempfile::tempdir().unwrap();
    let base = |command: &str| -> Vec<String> {
        [
            "--group",
            "g",
            "--state-dir",
            s(state.path()),
            "--retry-backoff",
            "1ms",
            "--exec",
            command,
        ]
        .map(String::from)
        .to_vec()
    };
    // Default --retries: 4 runs in all.
    let recorder = Recorder::new("exit 5");
    let args = base(&recorder.command());
    let run = consume_log(
        log.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(recorder.runs(), 4);
    assert!(
        run.stderr.contains("exited with status 5 (attempt 4 of 4"),
        "{}",
        run.stderr
    );
    // --retries 0: one run; a signal is a failure.
    let runs = tempfile::tempdir().unwrap();
    let runs = runs.path().join("runs");
    let mut args = base(&format!("echo run >> '{}'; kill -9 $$", s(&runs)));
    args.extend(["--retries".into(), "0".into()]);
    let run = consume_log(
        log.path(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n");
    assert!(
        run.stderr
            .contains("was killed by signal 9 (attempt 1 of 1"),
        "{}",
        run.stderr
    );
    // A shell that cannot be started (no `sh` on PATH) is a failure too.
    let empty = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["consume", "--log-dir", s(log.path()), "-t", "metrics", "-e"])
        .args(base("true"))
        .args(["--retries", "1"])
        .env("PATH", empty.path());
    let output = output_within(&mut command, RUN_TIMEOUT).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("could not be started").count(),
        2,
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    // Nothing was ever accepted: the group stands at its starting offsets.
    let want: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    assert_eq!(committed(state.path(), log.path(), "g"), want);
}

#[test]
fn a_command_that_exits_0_without_reading_its_stdin_accepts() {
    let log = gen_log();
    // 500 records of ~400 bytes of JSON per poll: more than a pipe holds,
    // so writing them fails with EPIPE once the command is gone.
    for command in ["exit 0", "head -c 10 > /dev/null"] {
        let state = tempfile::tempdir().unwrap();
        let run = consume_log(
            log.path(),
            &[
                "--group",
                "g",
                "--state-dir",
                s(state.path()),
                "--format",
                "json",
                "--exec",
                command,
                "--retries",
                "0",
            ],
        );
        assert_eq!(run.code, 0, "{command}: {}", run.stderr);
        assert_eq!(run.stderr, "", "{command}");
        let want: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, PER_PARTITION)).collect();
        assert_eq!(committed(state.path(), log.path(), "g"), want, "{command}");
    }
    // ... but its exit status still counts.
    let state = tempfile::tempdir().unwrap();
    let run = consume_log(
        log.path(),
        &[
            "--group",
            "g",
            "--state-dir",
            s(state.path()),
            "--format",
            "json",
            "--exec",
            "exit 1",
            "--retries",
            "0",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let want: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    assert_eq!(committed(state.path(), log.path(), "g"), want);
}
