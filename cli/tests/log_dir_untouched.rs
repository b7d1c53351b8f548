//! Every `kreplay` run of the test suite (through `common::kreplay`) checks
//! that the log dirs and segments on its command line are unchanged: the
//! SHA-256 and mtime of every file, and the set of files. This checks that
//! check: a run that does modify its log dir (here through an `--exec`
//! command) fails the test.

mod common;

use common::*;

#[test]
fn a_run_that_modifies_its_log_dir_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("logs");
    let made = kreplay([
        "gen",
        log.to_str().unwrap(),
        "--partitions",
        "1",
        "--records",
        "10",
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let untouched = kreplay(["verify", log.to_str().unwrap()]);
    assert_eq!(untouched.code, 0, "{}", untouched.stderr);
    let touch = format!(
        "cat > /dev/null; touch -d 2001-01-01 '{}'/metrics-0/*.log",
        log.display()
    );
    let caught = std::panic::catch_unwind(|| {
        kreplay([
            "consume",
            "--log-dir",
            log.to_str().unwrap(),
            "-t",
            "metrics",
            "-e",
            "--exec",
            &touch,
        ])
    });
    let message = match caught {
        Ok(run) => panic!("not caught: {}", run.stderr),
        Err(panic) => panic.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(message.contains("modified"), "{message}");
}
