//! A `.log` of random bytes or of plain text is not a torn tail: its magic
//! byte (or another readable header field) is impossible, so ls, dump and
//! verify report corruption (exit 1). A real torn tail, a batch cut short,
//! is still end of data (exit 0).

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn partition_with(dir: &Path, bytes: &[u8]) -> PathBuf {
    let log_dir = dir.join("logs");
    let partition = log_dir.join("x-0");
    std::fs::create_dir_all(&partition).unwrap();
    std::fs::write(partition.join("00000000000000000000.log"), bytes).unwrap();
    log_dir
}

/// 100 KB from a fixed-seed generator whose byte 16 (the magic) is not 0..=2
/// and whose declared length runs past the end (as in the report: a
/// "partial batch" of 1.2 GB).
fn random_bytes() -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..100_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    bytes[8..12].copy_from_slice(&1_200_000_000i32.to_be_bytes());
    if bytes[16] <= 2 {
        bytes[16] = 0x5a;
    }
    bytes
}

fn text() -> Vec<u8> {
    "a plain text file, not a Kafka log\n"
        .repeat(200)
        .into_bytes()
}

#[test]
fn random_bytes_and_text_are_corruption_for_ls_dump_and_verify() {
    for (name, bytes) in [("random", random_bytes()), ("text", text())] {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = partition_with(dir.path(), &bytes);
        for command in ["ls", "dump", "verify"] {
            let run = kreplay([command.as_ref(), log_dir.as_os_str()]);
            let all = format!("{}{}", run.stdout, run.stderr);
            assert_eq!(run.code, 1, "{command} of {name}: {all}");
            assert!(!all.contains("torn tail"), "{command} of {name}: {all}");
            assert!(all.contains("magic"), "{command} of {name}: {all}");
        }
    }
}

#[test]
fn a_batch_cut_short_is_still_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let run = kreplay([
        "gen".as_ref(),
        "--partitions".as_ref(),
        "1".as_ref(),
        "--records".as_ref(),
        "1000".as_ref(),
        log_dir.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = log_dir.join("metrics-0/00000000000000000000.log");
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len - 123)
        .unwrap();
    for command in ["ls", "dump", "verify"] {
        let run = kreplay([command.as_ref(), log_dir.as_os_str()]);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{command}: {all}");
        if command != "ls" {
            assert!(all.contains("torn tail"), "{command}: {all}");
        }
    }
}
