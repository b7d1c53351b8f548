//! `kreplay::state` decoders on arbitrary keys and values.
//!
//! See `checks::state_transaction` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::state_transaction(data);
});
