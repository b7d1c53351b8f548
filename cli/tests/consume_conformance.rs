//! `kreplay consume -e --format json --bytes base64 -o beginning` over every
//! conformance case prints its expected.jsonl without the control records
//! and without `is_control`: per partition in order, fields in schema order.

mod common;

use common::*;

#[test]
fn consume_matches_expected_jsonl() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for root in corpus_roots("corpus") {
        for case in cases_under(&root) {
            // A small poll size too, so records of partly returned batches
            // and many polls are covered.
            for max_poll_records in ["500", "7"] {
                let run = consume(
                    &case,
                    &[
                        "-e",
                        "--format",
                        "json",
                        "--bytes",
                        "base64",
                        "-o",
                        "beginning",
                        "--max-poll-records",
                        max_poll_records,
                    ],
                );
                if run.code != 0 || !run.stderr.is_empty() {
                    failures.push(format!(
                        "{}: exit {}: {}",
                        case.display(),
                        run.code,
                        run.stderr
                    ));
                    continue;
                }
                let got = run.json_lines();
                let expected = expected_consumed(&case);
                if by_partition(&got) != by_partition(&expected) {
                    failures.push(format!(
                        "{} (max-poll-records {max_poll_records}): {}",
                        case.display(),
                        records_diff(&case, &got, &expected)
                            .unwrap_or_else(|| "partitions interleave differently".into())
                    ));
                }
                for line in run.stdout.lines() {
                    let keys: Vec<String> =
                        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
                            .unwrap()
                            .keys()
                            .cloned()
                            .collect();
                    let positions: Vec<usize> = CONSUMER_FIELDS
                        .iter()
                        .map(|f| line.find(&format!("\"{f}\":")).unwrap_or(usize::MAX))
                        .collect();
                    if keys.len() != CONSUMER_FIELDS.len()
                        || !positions.windows(2).all(|w| w[0] < w[1])
                    {
                        failures.push(format!("{}: fields: {line}", case.display()));
                        break;
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 26, "only {checked} cases found");
}
