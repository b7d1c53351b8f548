//! Every input under `fixtures/fuzz-regressions/<target>/` (reproducers of
//! crashes the fuzz targets found) and every committed seed under
//! `fuzz/corpus/<target>/`, run through the very function the fuzz target
//! runs: `fuzz/src/checks.rs`, compiled here by path. So a fixed crash stays
//! fixed in a plain `cargo test` on stable, without cargo-fuzz.

#[allow(dead_code, clippy::unwrap_used)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The regression files and committed seeds of `target`, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        root().join("fixtures/fuzz-regressions").join(target),
        root().join("fuzz/corpus").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        files.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md")),
        );
    }
    files.sort();
    files
}

/// Runs `check` on each input of `target`, naming the file on stderr first
/// (shown when the check panics).
fn run(target: &str, check: impl Fn(&[u8])) -> usize {
    let files = inputs(target);
    for path in &files {
        eprintln!("{target}: {}", path.display());
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check(&data);
    }
    files.len()
}

#[test]
fn record_batch() {
    assert!(run("record_batch", checks::record_batch) > 0);
}

#[test]
fn segment() {
    assert!(run("segment", checks::segment) > 0);
}

#[test]
fn decompress() {
    assert!(
        run("decompress", |data| checks::decompress(
            data,
            &mut |_cap, call| call()
        )) > 0
    );
}

#[test]
fn index() {
    assert!(run("index", checks::index) > 0);
}

#[test]
fn checkpoint() {
    assert!(run("checkpoint", checks::checkpoint) > 0);
}

#[test]
fn writer_roundtrip() {
    let count = run("writer_roundtrip", |data| {
        let text = std::str::from_utf8(data).expect("a scenario is text");
        let scenario = checks::Scenario::from_text(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            checks::Scenario::from_text(&scenario.to_text()).as_ref(),
            Ok(&scenario),
            "the text form round-trips"
        );
        checks::writer_roundtrip(&scenario);
    });
    assert!(count > 0);
}

#[test]
fn group_state() {
    assert!(run("group_state", checks::group_state) > 0);
}

#[test]
fn state_offsets() {
    assert!(run("state_offsets", checks::state_offsets) > 0);
}

#[test]
fn state_transaction() {
    assert!(run("state_transaction", checks::state_transaction) > 0);
}
