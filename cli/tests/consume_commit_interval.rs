//! `consume --group --commit-interval`: a replay commits at most once per
//! interval instead of after every poll (each commit is two fsyncs), and the
//! end of the run still commits every position: a rerun has nothing left.

mod common;

use common::*;

/// The commits a `-v` run reports in its summary.
fn commits(stderr: &str) -> u64 {
    let summary = stderr
        .lines()
        .find(|l| l.contains("record(s) written"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    let (_, tail) = summary.split_once("written, ").expect(summary);
    tail.trim_end_matches(" commit(s)").parse().expect(summary)
}

#[test]
fn an_interval_commits_once_at_the_end_instead_of_after_every_poll() {
    let case = corpus_case("v2-four-partitions");
    let expected = expected_consumed(&case);
    for (interval, polls_committed) in [("0", true), ("1h", false)] {
        let state = tempfile::tempdir().unwrap();
        let s = state.path().to_str().unwrap();
        let args = [
            "--group",
            "g",
            "--state-dir",
            s,
            "-e",
            "-v",
            "--format",
            "json",
            "--max-poll-records",
            "5",
            "--commit-interval",
            interval,
        ];
        let run = consume(&case, &args);
        assert_eq!(run.code, 0, "{interval}: {}", run.stderr);
        assert_eq!(run.json_lines().len(), expected.len(), "{interval}");
        let polls = expected.len() as u64 / 5;
        let made = commits(&run.stderr);
        if polls_committed {
            assert!(
                made >= polls,
                "{interval}: {made} commits for {polls} polls"
            );
        } else {
            assert!(made <= 2, "{interval}: {made} commits");
        }
        // Everything is committed: the rerun prints nothing.
        let rerun = consume(&case, &args);
        assert_eq!(rerun.code, 0, "{interval}: {}", rerun.stderr);
        assert!(rerun.stdout.is_empty(), "{interval}: {}", rerun.stdout);
    }
}

#[test]
fn a_commit_interval_needs_a_group_and_a_duration() {
    let case = corpus_case("v2-uncompressed");
    let run = consume(&case, &["-e", "--commit-interval", "5s"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--group"), "{}", run.stderr);
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    let run = consume(
        &case,
        &[
            "-e",
            "--group",
            "g",
            "--state-dir",
            s,
            "--commit-interval",
            "often",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a duration"), "{}", run.stderr);
}
