//! `-p P` consumes only partition P of each topic.

mod common;

use common::*;

#[test]
fn one_partition() {
    let case = corpus_case("v2-four-partitions");
    let expected = by_partition(&expected_consumed(&case));
    for partition in 0..4 {
        let run = consume(
            &case,
            &[
                "-e",
                "--format",
                "json",
                "--bytes",
                "base64",
                "-p",
                &partition.to_string(),
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let want = expected
            .get(&("events".to_string(), partition))
            .cloned()
            .unwrap_or_default();
        assert_eq!(run.json_lines(), want, "-p {partition}");
    }
}
