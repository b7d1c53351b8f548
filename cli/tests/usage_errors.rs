//! Usage and I/O errors exit 2 with a message on stderr; --help documents the
//! exit codes and exits 0.

mod common;

use common::*;

#[test]
fn missing_paths_exit_2() {
    for command in ["ls", "dump", "verify"] {
        let run = kreplay([command, "/nonexistent/kreplay-test-path"]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains("/nonexistent/kreplay-test-path"),
            "{command}: {}",
            run.stderr
        );
        assert!(
            run.stdout.is_empty() || command == "verify",
            "{command}: {}",
            run.stdout
        );
    }
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        vec!["dump", "--no-such-flag", "x"],
        vec!["dump", "--bytes", "rot13", "x"],
        vec!["dump", "--check-crcs", "maybe", "x"],
        vec!["dump"],
        vec!["frobnicate"],
        vec![],
        vec!["gen", "out", "--codec", "brotli"],
        vec!["gen", "out", "--partitions", "0"],
    ] {
        let run = kreplay(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn ls_refuses_a_segment_file() {
    let file = workspace_root()
        .join("fixtures/conformance/corpus/v2-uncompressed/orders-0/00000000000000000000.log");
    let run = kreplay([std::ffi::OsStr::new("ls"), file.as_os_str()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn help_documents_exit_codes() {
    for args in [
        vec!["--help"],
        vec!["dump", "--help"],
        vec!["verify", "--help"],
    ] {
        let run = kreplay(&args);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.contains("Exit status"),
            "{args:?}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("corruption"), "{args:?}");
    }
}
