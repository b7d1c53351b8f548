//! Usage errors of `consume` exit 2 with a message on stderr and nothing on
//! stdout; `--help` documents -o, the formats and the exit codes.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use common::*;

#[test]
fn usage_errors_exit_2() {
    let case = corpus_case("v2-uncompressed");
    let dir = case.to_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let state = state.path().to_str().unwrap();
    for args in [
        vec!["consume", "-t", "orders"],
        vec!["consume", "--log-dir", dir],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "-o",
            "yesterday",
        ],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-o", "e@5"],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-o", "s@"],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-o", "stored"],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--format",
            "json",
            "--bytes",
            "raw",
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--format",
            "xml",
        ],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-f", "%z"],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-f", "%s %"],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "-f",
            "%s",
            "--format",
            "json",
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "-e",
            "--follow",
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--isolation-level",
            "read-committed",
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--io-mode",
            "telepathy",
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--auto-offset-reset",
            "smallest",
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--max-poll-records",
            "0",
        ],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-p", "-1"],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--state-dir",
            state,
        ],
        vec![
            "consume",
            "--log-dir",
            dir,
            "-t",
            "orders",
            "--group",
            "",
            "--state-dir",
            state,
        ],
        vec!["consume", "--log-dir", dir, "-t", "../orders"],
        // Well-formed, but not there: exit 2 too.
        vec![
            "consume",
            "--log-dir",
            "/nonexistent/kreplay-test",
            "-t",
            "orders",
            "-e",
        ],
        vec!["consume", "--log-dir", dir, "-t", "no-such-topic", "-e"],
        vec!["consume", "--log-dir", dir, "-t", "orders", "-p", "7", "-e"],
    ] {
        let run = kreplay(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn a_group_id_that_is_not_utf8_is_a_usage_error() {
    let case = corpus_case("v2-uncompressed");
    let state = tempfile::tempdir().unwrap();
    let args: Vec<OsString> = vec![
        "consume".into(),
        "--log-dir".into(),
        case.into(),
        "-t".into(),
        "orders".into(),
        "-e".into(),
        "--state-dir".into(),
        state.path().into(),
        "--group".into(),
        OsString::from_vec(b"bad\xffgroup".to_vec()),
    ];
    let run = kreplay(&args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("UTF-8"), "{}", run.stderr);
    assert!(
        std::fs::read_dir(state.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn help_documents_offsets_formats_and_exit_codes() {
    let run = kreplay(["consume", "--help"]);
    assert_eq!(run.code, 0);
    for needle in [
        "beginning",
        "stored",
        "s@",
        "%t",
        "%h",
        "Exit status",
        "corruption",
        "XDG_STATE_HOME",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}
