//! `kreplay dump --deep-iteration --json --bytes base64 CASE` prints exactly
//! each conformance case's expected.jsonl (fixtures, and the shared corpus
//! and broker-written files when present), with the fields in schema order.

mod common;

use common::*;

#[test]
fn dump_matches_expected_jsonl() {
    let mut roots = corpus_roots("corpus");
    match shared_conformance()
        .map(|s| s.join("real"))
        .filter(|p| p.is_dir())
    {
        Some(real) => roots.push(real),
        None => eprintln!("skipped: ../shared/conformance/real is not present"),
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for root in &roots {
        for case in cases_under(root) {
            let run = dump_records(&case);
            if run.code != 0 {
                failures.push(format!(
                    "{}: exit {}: {}",
                    case.display(),
                    run.code,
                    run.stderr
                ));
            }
            let got = run.json_lines();
            failures.extend(records_diff(&case, &got, &read_expected(&case)));
            // Fields in schema order, first in each line.
            for line in run.stdout.lines() {
                let positions: Vec<Option<usize>> = CONFORMANCE_FIELDS
                    .iter()
                    .map(|f| line.find(&format!("\"{f}\":")))
                    .collect();
                if !positions
                    .windows(2)
                    .all(|w| matches!((w[0], w[1]), (Some(a), Some(b)) if a < b))
                    || !line.starts_with("{\"topic\":")
                {
                    failures.push(format!("{}: fields out of order: {line}", case.display()));
                    break;
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
