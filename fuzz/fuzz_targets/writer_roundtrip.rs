//! Differential: `arbitrary` batches (v2 with every header field, markers,
//! legacy magic 0/1 sets, every codec) through the engine's writer, then the
//! reader must give back exactly what went in.
//!
//! To keep a failing input as a regression file, run it with
//! `KREPLAY_FUZZ_SCENARIO_OUT=<file>`: the scenario is written there in the
//! text form `engine/tests/fuzz_regressions.rs` reads.

#![no_main]

use kreplay_fuzz::arb::ArbScenario;
use kreplay_fuzz::checks::{writer_roundtrip, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|arb: ArbScenario| {
    let scenario = Scenario::from(arb);
    if let Some(path) = std::env::var_os("KREPLAY_FUZZ_SCENARIO_OUT") {
        std::fs::write(&path, scenario.to_text()).expect("write the scenario");
    }
    writer_roundtrip(&scenario);
});
