//! `-c N` exits after N records: the first N of the replay, across polls and
//! in the middle of one.

mod common;

use common::*;

#[test]
fn count_stops_after_n_records() {
    let case = corpus_case("v2-uncompressed");
    let expected = expected_consumed(&case);
    for (count, max_poll_records) in [(1, "500"), (17, "500"), (17, "5"), (20, "5"), (100, "7")] {
        let run = consume(
            &case,
            &[
                "-e",
                "--format",
                "json",
                "--bytes",
                "base64",
                "-c",
                &count.to_string(),
                "--max-poll-records",
                max_poll_records,
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            run.json_lines(),
            expected[..count],
            "-c {count} ({max_poll_records})"
        );
    }
    // More than there is: the whole log, then -e.
    let run = consume(
        &case,
        &[
            "-e", "--format", "json", "--bytes", "base64", "-c", "100000",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json_lines(), expected);
}

#[test]
fn count_ends_without_e_too() {
    // Without -e consume would follow the log; -c ends it.
    let case = corpus_case("v2-uncompressed");
    let run = consume(&case, &["-f", "%o\n", "-c", "3"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "0\n1\n2\n");
}
