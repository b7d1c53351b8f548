//! `kreplay gen` writes a log dir that `verify` passes and `dump` reads back
//! record for record; the same seed writes the same bytes.

mod common;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use common::*;

fn gen(dir: &Path, seed: &str) -> Run {
    let mut args: Vec<OsString> = [
        "gen",
        "--topics",
        "alpha,beta",
        "--partitions",
        "3",
        "--records",
        "3000",
        "--codec",
        "zstd",
        "--batch-records",
        "40",
        "--segment-bytes",
        "20000",
        "--transactional-ratio",
        "0.3",
        "--key-size",
        "12",
        "--value-size",
        "120",
        "--seed",
        seed,
    ]
    .map(OsString::from)
    .to_vec();
    args.push(dir.as_os_str().to_owned());
    kreplay(args)
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn gen_verify_dump_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("logs");
    let run = gen(&out, "42");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("6000 records"), "{}", run.stderr);

    let run = kreplay([OsStr::new("verify"), out.as_os_str()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("6 partitions"), "{}", run.stdout);

    let run = dump_records(&out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.json_lines();
    let data = records.iter().filter(|r| r["is_control"] == false).count();
    assert_eq!(data, 6000);
    for r in &records {
        if r["is_control"] == false {
            assert_eq!(
                r["key"].as_str().unwrap().len(),
                16,
                "12 bytes in base64: {r}"
            );
        }
    }

    // ls agrees with dump on each partition's end.
    let mut ends: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for r in &records {
        let key = (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_i64().unwrap(),
        );
        let next = r["offset"].as_i64().unwrap() + 1;
        let end = ends.entry(key).or_insert(next);
        *end = (*end).max(next);
    }
    let run = kreplay([OsStr::new("ls"), OsStr::new("--json"), out.as_os_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: BTreeMap<(String, i64), i64> = run
        .json_lines()
        .iter()
        .map(|p| {
            (
                (
                    p["topic"].as_str().unwrap().to_string(),
                    p["partition"].as_i64().unwrap(),
                ),
                p["log_end_offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, ends);
}

#[test]
fn gen_is_deterministic_for_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    assert_eq!(gen(&a, "7").code, 0);
    assert_eq!(gen(&b, "7").code, 0);
    assert_eq!(gen(&c, "8").code, 0);
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert!(fa.keys().any(|p| p.extension() == Some(OsStr::new("log"))));
    assert!(fa == fb, "same seed, different bytes");
    assert!(fa != fc, "different seeds, same bytes");
}

#[test]
fn gen_refuses_a_non_empty_dir_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("something"), b"x").unwrap();
    let run = gen(tmp.path(), "1");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    let mut args: Vec<OsString> = ["gen", "--force", "--records", "10", "--partitions", "1"]
        .map(OsString::from)
        .to_vec();
    args.push(tmp.path().as_os_str().to_owned());
    let run = kreplay(args);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
