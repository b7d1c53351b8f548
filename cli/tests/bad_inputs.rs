//! Every damaged case of `corpus-bad`: `dump` prints exactly the records
//! before the damage, then either fails (exit 1) with an error naming the
//! segment file, the position and the offset, or notes a torn tail (exit 0);
//! `verify` exits 1 for corruption and 0 for torn tails; nothing panics.

mod common;

use std::ffi::OsStr;

use common::*;

/// What cases.md says each case is.
fn is_corrupt(name: &str) -> bool {
    match name {
        "crc-flipped-byte"
        | "crc-flipped-legacy"
        | "negative-length"
        | "bad-magic"
        | "garbage-appended-plausible"
        | "absurd-length"
        | "garbage-appended" => true,
        "truncated-final-batch" | "truncated-mid-header" | "zero-padding-tail" | "empty-log" => {
            false
        }
        other => panic!("unknown bad case {other}: add its expectation"),
    }
}

#[test]
fn bad_cases_dump_and_verify_as_cases_md_says() {
    let mut checked = 0;
    for root in corpus_roots("corpus-bad") {
        for case in cases_under(&root) {
            let name = case.file_name().unwrap().to_str().unwrap().to_string();
            let info = read_case_json(&case);
            let segment = &info["segments"][0];
            let valid_bytes = segment["valid_bytes"].as_u64().unwrap();
            let corrupt = is_corrupt(&name);

            let run = dump_records(&case);
            let diff = records_diff(&case, &run.json_lines(), &read_expected(&case));
            assert!(diff.is_none(), "{}", diff.unwrap_or_default());
            if corrupt {
                assert_eq!(
                    run.code, 1,
                    "{name}: dump exit code; stderr: {}",
                    run.stderr
                );
                assert!(
                    run.stderr.contains("00000000000000000000.log"),
                    "{name}: {}",
                    run.stderr
                );
                assert!(
                    run.stderr.contains(&format!("position {valid_bytes}")),
                    "{name}: {}",
                    run.stderr
                );
                if let Some(offset) = segment["error"]["batch_base_offset"].as_i64() {
                    assert!(
                        run.stderr.contains(&format!("offset {offset}")),
                        "{name}: {}",
                        run.stderr
                    );
                }
            } else {
                assert_eq!(
                    run.code, 0,
                    "{name}: dump exit code; stderr: {}",
                    run.stderr
                );
                let trailing = segment["trailing_bytes"].as_u64().unwrap();
                if trailing > 0 {
                    assert!(run.stderr.contains("torn tail"), "{name}: {}", run.stderr);
                    assert!(
                        run.stderr.contains(&format!("position {valid_bytes}"))
                            && run.stderr.contains(&format!("{trailing} trailing bytes")),
                        "{name}: {}",
                        run.stderr
                    );
                } else {
                    assert!(run.stderr.is_empty(), "{name}: {}", run.stderr);
                }
            }

            // The batch-level text dump fails (or not) the same way.
            let run = kreplay([OsStr::new("dump"), case.as_os_str()]);
            assert_eq!(
                run.code,
                i32::from(corrupt),
                "{name}: text dump; {}",
                run.stderr
            );

            let run = kreplay([OsStr::new("verify"), case.as_os_str()]);
            assert_eq!(
                run.code,
                i32::from(corrupt),
                "{name}: verify; {}",
                run.stdout
            );
            if corrupt {
                assert!(
                    run.stdout.contains(&format!("position {valid_bytes}")),
                    "{name}: {}",
                    run.stdout
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 11, "only {checked} bad cases found");
}
