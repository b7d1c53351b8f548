//! A corrupt batch: the records before it are printed, then the error names
//! the file, byte position and offset, and the exit status is 1. A torn tail
//! is end of data (exit 0).

mod common;

use common::*;

fn bad_case(name: &str) -> std::path::PathBuf {
    workspace_root()
        .join("fixtures/conformance/corpus-bad")
        .join(name)
}

#[test]
fn crc_mismatch_exits_1_after_the_valid_records() {
    let case = bad_case("crc-flipped-byte");
    let run = consume(&case, &["-e", "-f", "%o\n"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let got: Vec<i64> = run.stdout.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert!(
        run.stderr.contains("00000000000000000000.log"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("position 3210"), "{}", run.stderr);
    assert!(run.stderr.contains("offset 20"), "{}", run.stderr);
    // With CRC checks off, the flipped byte is not noticed.
    let run = consume(&case, &["-e", "-f", "%o\n", "--check-crcs", "false"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
}

#[test]
fn corrupt_data_with_a_group_commits_what_was_printed() {
    let case = bad_case("crc-flipped-byte");
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    for max_poll_records in ["500", "7"] {
        let run = consume(
            &case,
            &[
                "--group",
                max_poll_records,
                "--state-dir",
                s,
                "-e",
                "-f",
                "%o\n",
                "--max-poll-records",
                max_poll_records,
            ],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(run.stdout.lines().count(), 20);
        // The rerun prints nothing more before the same error.
        let run = consume(
            &case,
            &[
                "--group",
                max_poll_records,
                "--state-dir",
                s,
                "-e",
                "-f",
                "%o\n",
            ],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(run.stdout, "", "{max_poll_records}");
    }
}

#[test]
fn torn_tail_is_end_of_data() {
    let case = bad_case("truncated-final-batch");
    let run = consume(&case, &["-e", "-f", "%o\n"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.is_empty());
}
