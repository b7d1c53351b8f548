//! A reader that closes stdout early (`kreplay dump … | head`) ends the
//! dump quietly with exit 0.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn closed_stdout_ends_quietly() {
    let case = workspace_root().join("fixtures/conformance/corpus/v2-large-batches");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kreplay"))
        .args(["dump", "--print-data-log"])
        .arg(&case)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}
