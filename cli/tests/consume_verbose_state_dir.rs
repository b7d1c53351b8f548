//! `--group` without `--state-dir` keeps its offsets under
//! `$XDG_STATE_HOME/kreplay`: `-v` names that state dir, and the rebalance
//! notes carry RFC 3339 times, not raw microseconds.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn verbose_names_the_default_state_dir_and_times_rebalances_in_rfc_3339() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--partitions".as_ref(),
        "2".as_ref(),
        "--records".as_ref(),
        "20".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let state_home = dir.path().join("xdg-state");
    let mut command = Command::new(env!("CARGO_BIN_EXE_kreplay"));
    command
        .env("XDG_STATE_HOME", &state_home)
        .arg("consume")
        .arg("--log-dir")
        .arg(&log_dir)
        .args(["-t", "metrics", "--group", "g", "-e", "-v"]);
    let output = output_within(&mut command, Duration::from_secs(120)).expect("kreplay hung");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let state_dir = state_home.join("kreplay");
    assert!(
        stderr.contains(&format!("state dir {}", state_dir.display())),
        "{stderr}"
    );
    let times: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("group member "))
        .filter_map(|l| l.rsplit_once(" (at ")?.1.strip_suffix(')'))
        .collect();
    assert!(!times.is_empty(), "no rebalance note: {stderr}");
    for at in times {
        assert!(humantime::parse_rfc3339(at).is_ok(), "not RFC 3339: {at}");
    }
}
