//! Checkpoint files: a group's `offsets` file in an `OffsetStore` state dir
//! (even first byte) or a Kafka log dir checkpoint (odd).
//!
//! See `checks::checkpoint` for what is checked.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::checkpoint(data);
});
