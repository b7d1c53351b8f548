//! Shared code of the kreplay fuzz targets (see `README.md`).
//!
//! - [`checks`]: what each target does with its input. The engine's
//!   `tests/fuzz_regressions.rs` compiles the same file, so every reproducer
//!   kept under `fixtures/fuzz-regressions/` runs in a plain `cargo test`.
//! - [`metadata_checks`]: the `cluster_metadata` target (KRaft metadata
//!   values, control records and metadata segments).
//! - [`arb`]: `arbitrary` input types for `writer_roundtrip`, turned into a
//!   [`checks::Scenario`].

pub mod arb;
pub mod checks;
pub mod metadata_checks;
