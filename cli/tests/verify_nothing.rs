//! Verifying or dumping nothing is not a success: a missing path, or a
//! directory with no partition directories, exits 2 with a message, and
//! verify prints no "OK" summary for it.

mod common;

use common::*;

#[test]
fn verify_of_a_missing_path_prints_no_ok_summary() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let run = kreplay([std::ffi::OsStr::new("verify"), missing.as_os_str()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!run.stdout.contains("OK"), "{}", run.stdout);
    assert!(!run.stdout.contains("verified"), "{}", run.stdout);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
}

#[test]
fn verify_and_dump_of_an_empty_directory_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_log_dir = dir.path().join("notes");
    std::fs::create_dir(&not_a_log_dir).unwrap();
    std::fs::write(not_a_log_dir.join("readme.txt"), "hello\n").unwrap();
    for path in [dir.path().join("empty"), not_a_log_dir] {
        std::fs::create_dir_all(&path).unwrap();
        for command in ["verify", "dump"] {
            let run = kreplay([std::ffi::OsStr::new(command), path.as_os_str()]);
            assert_eq!(run.code, 2, "{command}: {}{}", run.stdout, run.stderr);
            assert!(!run.stdout.contains("OK"), "{command}: {}", run.stdout);
            assert!(
                run.stderr.contains("no partition directories found"),
                "{command}: {}",
                run.stderr
            );
        }
    }
}
