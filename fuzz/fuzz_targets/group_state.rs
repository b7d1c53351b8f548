//! A consumer group's files in a state dir (`state`, a member file, an
//! owner file), read, joined, reset and deleted through the engine's API.
//!
//! See `checks::group_state` for the input layout and what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::group_state(data);
});
