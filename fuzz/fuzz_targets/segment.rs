//! A whole `.log` file, legacy message sets and compressed wrappers above all:
//! batches and records iterated to the end, CRC checks off and on, and
//! `verify` over it.
//!
//! See `checks::segment` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::segment(data);
});
