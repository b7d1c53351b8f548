//! One batch (v2 or a legacy message) as it sits in a segment: parsed, every
//! accessor called, records read through both reading paths.
//!
//! See `checks::record_batch` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::record_batch(data);
});
