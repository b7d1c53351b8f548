//! Bad `--exec`, `--retries` and `--retry-backoff` values are usage errors
//! (status 2, a message naming the flag, nothing on stdout, no command run);
//! `consume --help` documents the sink, its environment and its exit status.

mod common;

use common::*;

#[test]
fn bad_exec_flags_exit_2() {
    let case = corpus_case("v2-uncompressed");
    let dir = case.to_str().unwrap();
    let marks = tempfile::tempdir().unwrap();
    let mark = marks.path().join("ran");
    let touch = format!("touch '{}'", mark.to_str().unwrap());
    let base = ["consume", "--log-dir", dir, "-t", "orders", "-e"];
    for (extra, flag) in [
        (vec!["--exec", ""], "--exec"),
        (vec!["--exec", "  \t"], "--exec"),
        (vec!["--exec=", "--group", "g"], "--exec"),
        (vec!["--exec", &touch, "--retries", "-1"], "--retries"),
        (vec!["--exec", &touch, "--retries=-1"], "--retries"),
        (vec!["--exec", &touch, "--retries", "three"], "--retries"),
        (
            vec!["--exec", &touch, "--retries", "4294967296"],
            "--retries",
        ),
        (
            vec!["--exec", &touch, "--retry-backoff", "5"],
            "--retry-backoff",
        ),
        (
            vec!["--exec", &touch, "--retry-backoff", "soon"],
            "--retry-backoff",
        ),
        (
            vec!["--exec", &touch, "--retry-backoff", "-1s"],
            "--retry-backoff",
        ),
        (
            vec!["--exec", &touch, "--retry-backoff", ""],
            "--retry-backoff",
        ),
        (vec!["--retries", "2"], "--exec"),
        (vec!["--retry-backoff", "2s"], "--exec"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let run = kreplay(&args);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{extra:?}");
        assert!(run.stderr.contains(flag), "{extra:?}: {}", run.stderr);
        assert!(!mark.exists(), "{extra:?}: the command ran");
    }
    // The same flags, valid: the command runs.
    let mut args = base.to_vec();
    args.extend([
        "--exec",
        &touch,
        "--retries",
        "0",
        "--retry-backoff",
        "200ms",
    ]);
    let run = kreplay(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(mark.exists());
}

#[test]
fn help_documents_the_sink() {
    let run = kreplay(["consume", "--help"]);
    assert_eq!(run.code, 0);
    for text in [
        "--exec <CMD>",
        "--retries <N>",
        "[default: 3]",
        "--retry-backoff <DURATION>",
        "[default: 1s]",
        "KREPLAY_GROUP",
        "KREPLAY_RECORDS",
        "KREPLAY_PARTITIONS",
        "KREPLAY_ATTEMPT",
        "or an --exec command that failed every retry",
    ] {
        assert!(run.stdout.contains(text), "{text} missing from --help");
    }
}
