//! `.index`, `.timeindex` and `.txnindex` bytes behind a 17-byte prefix
//! (kind, base offset, parameter): opened from bytes, lookups checked against
//! a naive scan.
//!
//! See `checks::index` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::index(data);
});
