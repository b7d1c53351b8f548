//! `s3://bucket/prefix` in place of a local path, against a real
//! S3-compatible server on loopback (`.ci/run` starts moto's and sets
//! `KREPLAY_TEST_S3_ENDPOINT`): `ls`, `dump`, `verify`, `consume` (with a
//! group that resumes) and `export` print from the bucket what they print
//! from the same files on disk.
#![cfg(feature = "s3")]

mod common;
// The object-storage crate's test helpers: the bucket and client settings.
#[path = "../../objstore/tests/support/bucket.rs"]
mod bucket;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use bucket::{create_bucket, options};
use common::*;
use kreplay_object_store::put_dir;

const BUCKET: &str = "kreplay-cli";

/// The server's endpoint once the fixtures are in the bucket, or `None`
/// (the test prints "skipped").
fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let endpoint = std::env::var("KREPLAY_TEST_S3_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty())?;
            create_bucket(&endpoint, BUCKET);
            let options = options(&endpoint);
            for (prefix, local) in [
                ("demo", workspace_root().join("fixtures/demo")),
                ("txn", corpus_case("v2-transactional")),
            ] {
                put_dir(&format!("s3://{BUCKET}/{prefix}"), &local, &options)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            Some(endpoint)
        })
        .as_deref()
        .or_else(|| {
            eprintln!("skipped: KREPLAY_TEST_S3_ENDPOINT is not set (.ci/run starts a server)");
            None
        })
}

/// Runs `kreplay` with the client's settings in its environment.
fn kreplay_s3(endpoint: &str, args: &[&str]) -> Run {
    let output = output_within(
        Command::new(env!("CARGO_BIN_EXE_kreplay"))
            .args(args)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "kreplay-test")
            .env("AWS_SECRET_ACCESS_KEY", "kreplay-test")
            .env("AWS_REGION", "us-east-1")
            .env("KREPLAY_S3_MAX_RETRIES", "3"),
        RUN_TIMEOUT,
    )
    .unwrap_or_else(|| panic!("kreplay {args:?} did not end within {RUN_TIMEOUT:?}"));
    let run = Run {
        code: output.status.code().expect("killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        matches!(run.code, 0..=2),
        "{args:?} exited {}: {}",
        run.code,
        run.stderr
    );
    run
}

/// Runs the same command on the local `local` and on its copy `remote`,
/// returning both runs with every mention of either path replaced by `DIR`.
fn both(endpoint: &str, local: &Path, remote: &str, args: &[&str]) -> (Run, Run) {
    let local_text = local.to_str().unwrap();
    let with = |dir: &str| -> Vec<String> { args.iter().map(|a| a.replace("{}", dir)).collect() };
    let clean = |mut run: Run, dir: &str| {
        run.stdout = run.stdout.replace(dir, "DIR");
        run.stderr = run.stderr.replace(dir, "DIR");
        run
    };
    let local_args = with(local_text);
    let remote_args = with(remote);
    let l = kreplay(&local_args);
    let r = kreplay_s3(
        endpoint,
        &remote_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    (clean(l, local_text), clean(r, remote))
}

fn demo() -> PathBuf {
    workspace_root().join("fixtures/demo")
}

#[test]
fn ls_dump_and_verify_print_from_the_bucket_what_they_print_from_disk() {
    let Some(endpoint) = server() else { return };
    let remote = format!("s3://{BUCKET}/demo");
    for args in [
        &["ls", "{}"][..],
        &["ls", "--json", "--segments", "{}"],
        &["dump", "{}/orders-1"],
        &["dump", "--deep-iteration", "--json", "{}"],
        &["verify", "{}"],
        &["verify", "{}/metrics-0/00000000000000000000.log"],
    ] {
        let (local, from_bucket) = both(endpoint, &demo(), &remote, args);
        assert_eq!(local.code, 0, "{args:?}: {}", local.stderr);
        assert!(!local.stdout.is_empty(), "{args:?}");
        assert_eq!(
            from_bucket.code, local.code,
            "{args:?}: {}",
            from_bucket.stderr
        );
        assert_eq!(from_bucket.stdout, local.stdout, "{args:?}");
    }
}

#[test]
fn consume_from_the_bucket_gives_every_partition_as_from_disk() {
    let Some(endpoint) = server() else { return };
    let remote = format!("s3://{BUCKET}/txn");
    let case = corpus_case("v2-transactional");
    for isolation in ["read_uncommitted", "read_committed"] {
        let args = [
            "consume",
            "--log-dir",
            "{}",
            "-t",
            "txn",
            "-e",
            "--isolation-level",
            isolation,
            "--format",
            "json",
            "--bytes",
            "base64",
        ];
        let (local, from_bucket) = both(endpoint, &case, &remote, &args);
        assert_eq!(
            (local.code, from_bucket.code),
            (0, 0),
            "{}",
            from_bucket.stderr
        );
        let got = by_partition(&from_bucket.json_lines());
        assert!(!got.is_empty());
        assert_eq!(got, by_partition(&local.json_lines()), "{isolation}");
    }
    // The whole demo log dir, the README's first command, by partition.
    let args = [
        "consume",
        "--log-dir=s3://kreplay-cli/demo",
        "-t",
        "metrics",
        "-t",
        "orders",
        "-e",
        "--isolation-level",
        "read_committed",
        "--format",
        "json",
    ];
    let from_bucket = kreplay_s3(endpoint, &args);
    let local_dir = format!("--log-dir={}", demo().display());
    let mut local_args = args.to_vec();
    local_args[1] = &local_dir;
    let local = kreplay(&local_args);
    assert_eq!(from_bucket.code, 0, "{}", from_bucket.stderr);
    assert_eq!(
        by_partition(&from_bucket.json_lines()),
        by_partition(&local.json_lines())
    );
}

#[test]
fn a_group_consuming_from_the_bucket_resumes_where_it_committed() {
    let Some(endpoint) = server() else { return };
    let state = tempfile::tempdir().unwrap();
    let state = state.path().to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "consume",
            "--log-dir",
            "s3://kreplay-cli/demo",
            "-t",
            "orders",
            "--group",
            "g",
            "--state-dir",
            state,
            "-e",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let run = kreplay_s3(endpoint, &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.json_lines()
    };
    let first = run(&["-c", "2500"]);
    let rest = run(&["-o", "stored"]);
    assert_eq!(first.len(), 2500);
    let mut both = first;
    both.extend(rest);
    let local = kreplay([
        "consume",
        "--log-dir",
        demo().to_str().unwrap(),
        "-t",
        "orders",
        "-e",
        "--format",
        "json",
    ]);
    assert_eq!(by_partition(&both), by_partition(&local.json_lines()));
}

#[test]
fn export_from_the_bucket_writes_the_same_files() {
    let Some(endpoint) = server() else { return };
    let out = tempfile::tempdir().unwrap();
    let (from_disk, from_bucket) = (out.path().join("disk"), out.path().join("bucket"));
    for (dir, log_dir) in [
        (&from_disk, demo().display().to_string()),
        (&from_bucket, format!("s3://{BUCKET}/demo")),
    ] {
        let args = [
            "export",
            "--log-dir",
            &log_dir,
            "-t",
            "orders",
            "-t",
            "metrics",
            "--out-dir",
            dir.to_str().unwrap(),
            "--format",
            "parquet",
        ];
        let run = kreplay_s3(endpoint, &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    let names = |dir: &Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&from_bucket), names(&from_disk));
    assert_eq!(names(&from_disk).len(), 6);
    for name in names(&from_disk) {
        let a = std::fs::read(from_disk.join(&name)).unwrap();
        let b = std::fs::read(from_bucket.join(&name)).unwrap();
        assert!(a == b, "{name:?} differs");
    }
}

#[test]
fn a_missing_prefix_or_bucket_is_an_error_naming_it() {
    let Some(endpoint) = server() else { return };
    for path in [
        format!("s3://{BUCKET}/no-such-dir"),
        "s3://kreplay-no-such-bucket/x".to_string(),
    ] {
        for command in ["ls", "dump", "verify"] {
            let run = kreplay_s3(endpoint, &[command, &path]);
            assert_ne!(run.code, 0, "{command} {path}");
            assert!(
                run.stderr.contains(&path),
                "{command} {path}: {}",
                run.stderr
            );
        }
    }
    let run = kreplay_s3(endpoint, &["ls", "s3://"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("no bucket name"), "{}", run.stderr);
}
