//! Bad `kreplay group` input: usage errors exit 2, a group that does not
//! exist (or a shift without a committed offset) exits 1; each with a clear
//! message and nothing written.

mod common;
mod group_common;

use group_common::*;

#[test]
fn usage_errors_exit_2_and_missing_groups_exit_1() {
    let state = tempfile::tempdir().unwrap();
    let st = s(state.path());
    let demo = demo();
    let log = s(&demo);
    consume_group(state.path(), "g", "orders", 0, 3);

    for (args, code, message) in [
        (
            vec!["describe", "nope", "--log-dir", log, "--state-dir", st],
            1,
            "group not found",
        ),
        (
            vec!["delete", "nope", "--state-dir", st],
            1,
            "group not found",
        ),
        (
            vec!["describe", "", "--log-dir", log, "--state-dir", st],
            2,
            "cannot be empty",
        ),
        (vec!["delete", "", "--state-dir", st], 2, "cannot be empty"),
        (vec!["describe", "g", "--state-dir", st], 2, "--log-dir"),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--all-topics",
                "--to-earliest",
                "--to-latest",
            ],
            2,
            "cannot be used with",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--to-earliest",
            ],
            2,
            "--topic",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--all-topics",
            ],
            2,
            "--to-earliest",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--topic",
                "nope",
                "--to-earliest",
            ],
            2,
            "not in the log dirs",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--topic",
                "orders:9",
                "--to-earliest",
            ],
            2,
            "not in the log dirs",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--topic",
                "orders:x",
                "--to-earliest",
            ],
            2,
            "not a partition number",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--all-topics",
                "--to-datetime",
                "yesterday",
            ],
            2,
            "ISO 8601",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--all-topics",
                "--by-duration",
                "1 day",
            ],
            2,
            "ISO 8601",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--all-topics",
                "--to-earliest",
                "--dry-run",
                "--execute",
            ],
            2,
            "cannot be used with",
        ),
        (
            vec![
                "reset",
                "g",
                "--log-dir",
                log,
                "--state-dir",
                st,
                "--topic",
                "orders",
                "--shift-by",
                "1",
                "--execute",
            ],
            1,
            "no committed offset",
        ),
    ] {
        let mut all = vec!["group"];
        all.extend_from_slice(&args);
        let run = kreplay(&all);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    // Nothing changed.
    assert_eq!(committed(state.path(), "g"), [(tp("orders", 0), 3)].into());
}
