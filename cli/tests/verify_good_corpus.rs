//! `kreplay verify` passes every good conformance case and the
//! broker-written files (with their indexes) when present, in text and JSON.

mod common;

use std::ffi::OsStr;

use common::*;

#[test]
fn verify_passes_good_cases() {
    let mut roots = corpus_roots("corpus");
    match shared_conformance()
        .map(|s| s.join("real"))
        .filter(|p| p.is_dir())
    {
        Some(real) => roots.push(real),
        None => eprintln!("skipped: ../shared/conformance/real is not present"),
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for root in &roots {
        for case in cases_under(root) {
            let run = kreplay([OsStr::new("verify"), case.as_os_str()]);
            if run.code != 0 || !run.stdout.contains("0 problems, 0 warnings: OK") {
                failures.push(format!(
                    "{}: exit {}\n{}{}",
                    case.display(),
                    run.code,
                    run.stdout,
                    run.stderr
                ));
            }
            let run = kreplay([OsStr::new("verify"), OsStr::new("--json"), case.as_os_str()]);
            let lines = run.json_lines();
            let summary = lines.last().unwrap();
            let records: u64 = read_expected(&case).len() as u64;
            if run.code != 0
                || summary["type"] != "summary"
                || summary["status"] != "ok"
                || summary["records"] != records
                || lines[..lines.len() - 1].iter().any(|l| l["status"] != "ok")
            {
                failures.push(format!(
                    "{}: --json exit {}\n{}",
                    case.display(),
                    run.code,
                    run.stdout
                ));
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
