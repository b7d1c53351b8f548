//! `__cluster_metadata` record values, control record values and metadata
//! segment files.
//!
//! See `metadata_checks::cluster_metadata` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::metadata_checks::cluster_metadata(data);
});
