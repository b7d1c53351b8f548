//! Reading log dirs from a real S3-compatible server on loopback (`.ci/run`
//! starts moto's and sets `KREPLAY_TEST_S3_ENDPOINT`): every conformance case
//! read from the bucket equals its `expected.jsonl`, every damaged case fails
//! exactly as it does from disk (naming the object), files come back byte
//! for byte whatever the chunking, and a server that answers 500 or drops
//! connections is retried, with a clear error once the retries are spent.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "../../engine/tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};

use common::*;
use kreplay::{Error, Mapping, ReadOptions, ReadStrategy};
use kreplay_object_store::mount;
use support::bucket::{create_bucket, endpoint, options, upload};

/// Every case dir under the corpus roots of `kind`, with where it is in the
/// bucket: `kind/<root number>/<path under the root>`.
fn cases_in_bucket(url: &str, kind: &str) -> Vec<(PathBuf, PathBuf)> {
    let mut found = Vec::new();
    for (n, root) in corpus_roots(kind).iter().enumerate() {
        for case in cases_under(root) {
            let relative = case
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            found.push((case, PathBuf::from(format!("{url}/{kind}/{n}/{relative}"))));
        }
    }
    found
}

/// Uploads every corpus root of `kind` under `url/kind/<n>`.
fn upload_corpus(endpoint: &str, bucket: &str, kind: &str) {
    for (n, root) in corpus_roots(kind).iter().enumerate() {
        upload(endpoint, bucket, &format!("corpus/{kind}/{n}"), root);
    }
}

#[test]
fn every_good_case_from_the_bucket_equals_expected_jsonl() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = "kreplay-good";
    create_bucket(&endpoint, bucket);
    upload_corpus(&endpoint, bucket, "corpus");
    let real = shared_conformance()
        .map(|s| s.join("real"))
        .filter(|p| p.is_dir());
    if let Some(real) = &real {
        upload(&endpoint, bucket, "corpus/real", real);
    } else {
        eprintln!("skipped: ../shared/conformance/real is not present");
    }
    // Small chunks: most segments take several ranged GETs.
    mount(
        &format!("s3://{bucket}"),
        options(&endpoint)
            .with_chunk_size(1000)
            .with_requests_in_flight(3),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("s3://{bucket}/corpus");
    let mut cases = cases_in_bucket(&url, "corpus");
    if let Some(real) = &real {
        for case in cases_under(real) {
            let relative = case
                .strip_prefix(real)
                .unwrap()
                .to_string_lossy()
                .to_string();
            cases.push((case, PathBuf::from(format!("{url}/real/{relative}"))));
        }
    }
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    for (local, remote) in &cases {
        let expected = read_expected(local);
        let (got, outcomes) = dump_log_dir(remote, ReadOptions::default());
        for o in &outcomes {
            assert!(o.error.is_none(), "{}: {:?}", remote.display(), o.error);
        }
        assert_records_eq(remote, &got, &expected);
    }
    eprintln!("read {} conformance cases from {url}", cases.len());
}

#[test]
fn every_bad_case_fails_from_the_bucket_as_it_does_from_disk() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = "kreplay-bad";
    create_bucket(&endpoint, bucket);
    upload_corpus(&endpoint, bucket, "corpus-bad");
    mount(&format!("s3://{bucket}"), options(&endpoint)).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("s3://{bucket}/corpus");
    let cases = cases_in_bucket(&url, "corpus-bad");
    assert!(cases.len() >= 5, "only {} bad cases", cases.len());
    let mut errors = 0;
    for (local, remote) in &cases {
        let (want, want_outcomes) = dump_log_dir(local, ReadOptions::default());
        let (got, got_outcomes) = dump_log_dir(remote, ReadOptions::default());
        // The same valid records, never one from a bad batch.
        assert_records_eq(remote, &got, &want);
        assert_records_eq(remote, &got, &read_expected(local));
        assert_eq!(
            got_outcomes.len(),
            want_outcomes.len(),
            "{}",
            remote.display()
        );
        for (g, w) in got_outcomes.iter().zip(&want_outcomes) {
            assert_eq!(g.records, w.records, "{}", g.path.display());
            assert_eq!(format!("{:?}", g.end), format!("{:?}", w.end));
            match (&g.error, &w.error) {
                (None, None) => {}
                (
                    Some(Error::Corrupt {
                        path,
                        position,
                        offset,
                        kind,
                    }),
                    Some(Error::Corrupt {
                        position: p,
                        offset: o,
                        kind: k,
                        ..
                    }),
                ) => {
                    assert!(
                        path.starts_with(&url),
                        "{} names {}",
                        remote.display(),
                        path.display()
                    );
                    assert_eq!((position, offset), (p, o), "{}", path.display());
                    assert_eq!(format!("{kind:?}"), format!("{k:?}"));
                    let message = g.error.as_ref().unwrap().to_string();
                    assert!(message.contains(&*path.to_string_lossy()), "{message}");
                    errors += 1;
                }
                (g, w) => panic!(
                    "{}: {g:?} from the bucket, {w:?} from disk",
                    remote.display()
                ),
            }
        }
    }
    assert!(errors > 0, "no bad case raised an error");
}

#[test]
fn files_come_back_byte_for_byte_whatever_the_chunking() {
    let Some(endpoint) = endpoint() else { return };
    // A 1 MiB segment: 65 536-byte and odd 77 777-byte ranges, one or
    // several in flight.
    let local = workspace_root().join("fixtures/conformance/corpus/v2-large-value");
    for (bucket, chunk, in_flight) in [
        ("kreplay-chunk-64k", 65536, 1),
        ("kreplay-chunk-odd", 77_777, 4),
    ] {
        create_bucket(&endpoint, bucket);
        let url = upload(&endpoint, bucket, "v2-large-value", &local);
        let options = options(&endpoint)
            .with_chunk_size(chunk)
            .with_requests_in_flight(in_flight)
            .with_files_ahead(0);
        mount(&format!("s3://{bucket}"), options).unwrap();
        let partition = std::fs::read_dir(&local)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap();
        let partition = partition.file_name().unwrap().to_str().unwrap();
        let file = format!("{partition}/00000000000000000000.log");
        let want = std::fs::read(local.join(&file)).unwrap();
        let got = Mapping::open(Path::new(&format!("{url}/{file}")), ReadStrategy::Mmap).unwrap();
        assert_eq!(got.len(), want.len());
        assert!(*got == *want, "{url}/{file} differs from the local copy");
    }
}

#[test]
fn answers_500_and_dropped_connections_are_retried() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = "kreplay-flaky";
    create_bucket(&endpoint, bucket);
    let local = workspace_root().join("fixtures/conformance/corpus/v2-three-segments");
    upload(&endpoint, bucket, "three", &local);
    // The first connections are answered 500 or closed unanswered, then
    // everything passes through.
    let flaky = support::proxy::Proxy::start(&endpoint, support::proxy::Fault::First(6));
    mount(
        &format!("s3://{bucket}"),
        options(&flaky.endpoint()).with_max_retries(10),
    )
    .unwrap();
    let remote = PathBuf::from(format!("s3://{bucket}/three"));
    let (got, outcomes) = dump_log_dir(&remote, ReadOptions::default());
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    assert_records_eq(&remote, &got, &read_expected(&local));
    assert!(
        flaky.faults() >= 6,
        "only {} faults injected",
        flaky.faults()
    );
}

#[test]
fn a_server_that_keeps_failing_gives_a_clear_error_after_the_retries() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = "kreplay-down";
    create_bucket(&endpoint, bucket);
    let broken = support::proxy::Proxy::start(&endpoint, support::proxy::Fault::Always);
    mount(
        &format!("s3://{bucket}"),
        options(&broken.endpoint()).with_max_retries(2),
    )
    .unwrap();
    let path = PathBuf::from(format!("s3://{bucket}/orders-0/00000000000000000000.log"));
    let started = std::time::Instant::now();
    let error = Mapping::open(&path, ReadStrategy::Mmap)
        .unwrap_err()
        .to_string();
    assert!(error.contains(&*path.to_string_lossy()), "{error}");
    assert!(error.contains("500"), "{error}");
    assert!(error.contains("retries"), "{error}");
    // Three tries: the first and two retries, no more.
    assert_eq!(broken.faults(), 3, "{error}");
    eprintln!("after {:?}: {error}", started.elapsed());
    let listing = kreplay::list_partitions(Path::new(&format!("s3://{bucket}/x")));
    let error = listing.unwrap_err().to_string();
    assert!(
        error.contains(&format!("s3://{bucket}/x")) && error.contains("500"),
        "{error}"
    );
}
