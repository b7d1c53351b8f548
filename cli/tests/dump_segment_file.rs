//! A segment file given alone dumps its own records, with the topic and
//! partition its directory names.

mod common;

use std::ffi::OsString;

use common::*;

#[test]
fn one_segment_file_dumps_alone() {
    let case = workspace_root().join("fixtures/conformance/corpus/v2-three-segments");
    let expected = read_expected(&case);
    let dir = std::fs::read_dir(&case)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let file = dir.join("00000000000000000100.log");
    let mut args: Vec<OsString> = ["dump", "--deep-iteration", "--json", "--bytes", "base64"]
        .map(OsString::from)
        .to_vec();
    args.push(file.into_os_string());
    let run = kreplay(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = run.json_lines();
    let want: Vec<_> = expected
        .into_iter()
        .filter(|r| (100..250).contains(&r["offset"].as_i64().unwrap()))
        .collect();
    assert!(
        records_diff(&case, &got, &want).is_none(),
        "{:?}",
        records_diff(&case, &got, &want)
    );
}
