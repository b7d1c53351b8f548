//! A file not named like a Kafka segment (`<20-digit base offset>.log`):
//! dump and verify say so and refuse it (exit 2) rather than print a base
//! offset and a partition made up from its bytes and its directory;
//! `--any-file-name` reads it anyway, with a warning.

mod common;

use std::ffi::OsStr;

use common::*;

#[test]
fn dump_and_verify_name_a_file_that_is_not_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--partitions".as_ref(),
        "1".as_ref(),
        "--records".as_ref(),
        "50".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inputs = dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    let file = inputs.join("data.bin");
    std::fs::copy(log_dir.join("metrics-0/00000000000000000000.log"), &file).unwrap();

    for command in ["dump", "verify"] {
        let run = kreplay([OsStr::new(command), file.as_os_str()]);
        assert_eq!(run.code, 2, "{command}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("not a Kafka segment name"),
            "{command}: {}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("Log starting offset"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("inputs-0"), "{}", run.stdout);

        let run = kreplay([
            OsStr::new(command),
            OsStr::new("--any-file-name"),
            file.as_os_str(),
        ]);
        assert_eq!(run.code, 0, "{command}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("warning") && run.stderr.contains("not a Kafka segment name"),
            "{command}: {}",
            run.stderr
        );
        assert!(run.stdout.contains("data.bin"), "{}", run.stdout);
    }
    // A segment name needs no flag and gets no warning.
    let segment = log_dir.join("metrics-0/00000000000000000000.log");
    let run = kreplay([OsStr::new("dump"), segment.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("segment name"), "{}", run.stderr);
}
