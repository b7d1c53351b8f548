//! `kreplay bench --quick` checks its harness: every measurement is reported
//! with sane fields, every replay returns the log's records, and a given log
//! dir is only read. Timings are never asserted.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::*;
use serde_json::Value;

const MODES: [&str; 5] = ["auto", "uring", "madvise", "pread", "off"];

/// Checks the JSON lines of a `bench --quick --json` run; returns the summary.
fn check_json(run: &Run) -> Value {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let lines = run.json_lines();
    let (summary, measurements): (Vec<&Value>, Vec<&Value>) =
        lines.iter().partition(|l| l["type"] == "summary");
    assert_eq!(summary.len(), 1, "{}", run.stdout);
    let summary = summary[0].clone();
    assert_eq!(summary["ok"], true);
    let records = summary["records"].as_u64().unwrap();
    let bytes = summary["bytes"].as_u64().unwrap();
    assert!(records > 0 && bytes > 0, "{summary}");
    assert!(summary["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(summary["machine"]["cpu"].is_string());
    assert!(summary["machine"]["kernel"].is_string());
    let cache_drop = summary["cache_drop"].as_str().unwrap();
    assert!(["drop_caches", "fadvise_dontneed"].contains(&cache_drop));

    let mut expected = vec![
        ("memory_ceiling".to_string(), "warm".to_string(), None),
        // The floors of each thread's unavoidable work, in the same run.
        ("page_tables".to_string(), "warm".to_string(), None),
        ("crc_only".to_string(), "warm".to_string(), None),
        ("decode_only".to_string(), "warm".to_string(), None),
        ("decode_crc".to_string(), "warm".to_string(), None),
        // The CLI's targets, each beside its baseline.
        ("cat".to_string(), "warm".to_string(), None),
        ("verify".to_string(), "warm".to_string(), None),
        ("json_floor".to_string(), "warm".to_string(), None),
        ("consume_text".to_string(), "warm".to_string(), None),
        ("consume_json_base64".to_string(), "warm".to_string(), None),
        ("dd".to_string(), "cold".to_string(), None),
    ];
    for cache in ["warm", "cold"] {
        for mode in MODES {
            expected.push(("replay".into(), cache.into(), Some(mode.to_string())));
        }
    }
    assert_eq!(measurements.len(), expected.len(), "{}", run.stdout);
    for (name, cache, mode) in &expected {
        let m = measurements
            .iter()
            .find(|m| {
                m["measurement"] == name.as_str()
                    && m["cache"] == cache.as_str()
                    && m["io_mode"].as_str() == mode.as_deref()
            })
            .unwrap_or_else(|| panic!("no {name} {cache} {mode:?} in {}", run.stdout));
        assert_eq!(m["type"], "measurement");
        assert_eq!(m["records"].as_u64(), Some(records), "{m}");
        assert_eq!(m["bytes"].as_u64(), Some(bytes), "{m}");
        assert_eq!(m["rounds"].as_u64(), Some(1), "{m}");
        assert!(m["seconds"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["records_per_s"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["gb_per_s"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["ratio"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["cpu_seconds"].as_f64().unwrap() >= 0.0, "{m}");
        assert!(m["peak_rss_anon_kib"].as_u64().is_some(), "{m}");
        let ratio_to = match (name.as_str(), cache.as_str()) {
            ("verify", _) => "cat",
            ("consume_json_base64", _) => "json_floor",
            (_, "warm") => "memory_ceiling",
            _ => "dd",
        };
        assert_eq!(m["ratio_to"], ratio_to, "{m}");
        if cache == "cold" {
            assert_eq!(m["cache_drop"], cache_drop, "{m}");
        }
        if mode.is_some() {
            let used = m["io_mode_used"].as_str().unwrap();
            assert!(MODES.contains(&used), "{m}");
        }
    }
    summary
}

#[test]
fn quick_json_generated_log() {
    let run = kreplay(["bench", "--quick", "--json"]);
    let summary = check_json(&run);
    assert_eq!(summary["generated"], true);
    assert_eq!(summary["records"].as_u64(), Some(20_000));
    // The generated log is removed afterwards.
    let dir = PathBuf::from(summary["log_dir"].as_str().unwrap());
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn quick_table() {
    let run = kreplay(["bench", "--quick", "--records", "3000"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    for label in [
        "memory ceiling",
        "page tables",
        "CRC-32C, one thread",
        "records decoded, one thread",
        "CRC on",
        "cat: read()",
        "verify, one thread",
        "JSON floor",
        "consume --format text",
        "consume --format json --bytes base64",
        "dd bs=1M",
        "replay warm",
        "replay cold",
    ] {
        assert!(run.stdout.contains(label), "{}", run.stdout);
    }
    assert!(run.stdout.contains("3000 records"), "{}", run.stdout);
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let meta = std::fs::metadata(&d).unwrap();
        out.insert(d.clone(), (0, meta.modified().unwrap()));
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let meta = e.metadata().unwrap();
                out.insert(p, (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}

#[test]
fn quick_on_demo_log_dir_only_reads() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
    let before = snapshot(&demo);
    let run = kreplay([
        "bench".as_ref(),
        "--quick".as_ref(),
        "--json".as_ref(),
        demo.as_os_str(),
    ]);
    let summary = check_json(&run);
    assert_eq!(summary["generated"], false);
    assert_eq!(snapshot(&demo), before, "bench wrote into fixtures/demo");
    assert!(demo.exists());
    // The same in text form.
    let run = kreplay(["bench".as_ref(), "--quick".as_ref(), demo.as_os_str()]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(snapshot(&demo), before, "bench wrote into fixtures/demo");
}

#[test]
fn generator_flags_conflict_with_log_dir() {
    let run = kreplay(["bench", "--quick", "--records", "10", "some-dir"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
