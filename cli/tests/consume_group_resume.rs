//! With `--group`, a run cut short by `-c` commits exactly what it printed:
//! a rerun with `-o stored` continues right after it, and the two outputs
//! together are one full replay, with no gap and no duplicate.

mod common;

use common::*;

fn group_run(
    case: &std::path::Path,
    state: &std::path::Path,
    extra: &[&str],
) -> Vec<serde_json::Value> {
    let mut args = vec![
        "--group",
        "g",
        "--state-dir",
        state.to_str().unwrap(),
        "-e",
        "--format",
        "json",
        "--bytes",
        "base64",
    ];
    args.extend_from_slice(extra);
    let run = consume(case, &args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    run.json_lines()
}

#[test]
fn resume_continues_after_the_last_record_printed() {
    for name in [
        "v2-uncompressed",
        "v2-four-partitions",
        "v2-transactional",
        "v2-three-segments",
    ] {
        let case = corpus_case(name);
        let expected = expected_consumed(&case);
        // With --commit-interval the polls before the cut one are not
        // committed yet: the cut commits them too.
        let runs = [("500", "0"), ("7", "0"), ("7", "1h"), ("3", "1h")];
        for (max_poll_records, interval) in runs {
            let state = tempfile::tempdir().unwrap();
            let first = group_run(
                &case,
                state.path(),
                &[
                    "-c",
                    "30",
                    "--max-poll-records",
                    max_poll_records,
                    "--commit-interval",
                    interval,
                ],
            );
            assert_eq!(first.len(), expected.len().min(30), "{name}");
            let second = group_run(
                &case,
                state.path(),
                &[
                    "-o",
                    "stored",
                    "--max-poll-records",
                    max_poll_records,
                    "--commit-interval",
                    interval,
                ],
            );
            let mut all = first.clone();
            all.extend(second);
            // Order holds per partition; no gap, no duplicate.
            assert_eq!(
                by_partition(&all),
                by_partition(&expected),
                "{name} ({max_poll_records}, {interval})"
            );
            assert_eq!(
                all.len(),
                expected.len(),
                "{name} ({max_poll_records}, {interval})"
            );
            // Everything is committed now: a third run (stored is the
            // default with a group) prints nothing.
            assert!(group_run(&case, state.path(), &[]).is_empty(), "{name}");
        }
    }
}

#[test]
fn groups_are_independent() {
    let case = corpus_case("v2-uncompressed");
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    let run = consume(
        &case,
        &[
            "--group",
            "a",
            "--state-dir",
            s,
            "-e",
            "-c",
            "10",
            "-f",
            "%o\n",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = consume(
        &case,
        &[
            "--group",
            "b",
            "--state-dir",
            s,
            "-e",
            "-c",
            "1",
            "-f",
            "%o\n",
        ],
    );
    assert_eq!(run.stdout, "0\n", "{}", run.stderr);
    let run = consume(
        &case,
        &[
            "--group",
            "a",
            "--state-dir",
            s,
            "-e",
            "-c",
            "1",
            "-f",
            "%o\n",
        ],
    );
    assert_eq!(run.stdout, "10\n", "{}", run.stderr);
    // An explicit -o overrides the committed offset, and is committed.
    let run = consume(
        &case,
        &[
            "--group",
            "a",
            "--state-dir",
            s,
            "-e",
            "-c",
            "1",
            "-o",
            "50",
            "-f",
            "%o\n",
        ],
    );
    assert_eq!(run.stdout, "50\n", "{}", run.stderr);
    let run = consume(
        &case,
        &[
            "--group",
            "a",
            "--state-dir",
            s,
            "-e",
            "-c",
            "1",
            "-f",
            "%o\n",
        ],
    );
    assert_eq!(run.stdout, "51\n", "{}", run.stderr);
}
