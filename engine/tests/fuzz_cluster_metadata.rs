//! The `cluster_metadata` fuzz target's check, run on stable over random
//! records, a snapshot file, and every one-byte corruption of them: no
//! panic, and whatever decodes re-encodes to itself.

#[path = "../../fuzz/src/metadata_checks.rs"]
mod metadata_checks;

use kreplay::state::cluster_metadata::{
    known_metadata_type, MetadataRecord, KNOWN_METADATA_API_KEYS,
};
use kreplay::state::metadata_image::SnapshotId;
use kreplay::writer::write_metadata_snapshot;

#[test]
fn metadata_check_survives_corrupted_inputs() {
    let mut rng = fastrand::Rng::with_seed(42);
    let mut records = Vec::new();
    for &api_key in KNOWN_METADATA_API_KEYS {
        let (_, max) = known_metadata_type(api_key).unwrap();
        for version in 0..=max {
            records.push(MetadataRecord::generate(api_key, version, &mut rng).unwrap());
        }
    }
    let mut inputs: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            let mut input = vec![0];
            input.extend(r.encode());
            input
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let id = SnapshotId {
        end_offset: 7,
        epoch: 1,
    };
    let path = write_metadata_snapshot(dir.path(), id, 0, &records[..6], 3).unwrap();
    let mut snapshot = vec![1];
    snapshot.extend(std::fs::read(path).unwrap());
    inputs.push(snapshot);
    for input in &inputs {
        metadata_checks::cluster_metadata(input);
        for at in 1..input.len() {
            let mut bad = input.clone();
            bad[at] ^= 1 << rng.u32(..8);
            metadata_checks::cluster_metadata(&bad);
            metadata_checks::cluster_metadata(&input[..at]);
        }
    }
}

/// Found by the fuzzer in CI: a ClientQuotaRecord whose float value is NaN
/// (NaN is not equal to itself, so the round trip is checked as bytes).
#[test]
fn a_nan_quota_round_trips() {
    let input = [
        0u8, 1, 14, 0, 2, 2, 4, 0, 0, 4, 0, 0, 0, 255, 255, 0, 0, 12, 0, 0, 173, 0, 2, 0, 2, 0, 0,
        1, 0,
    ];
    metadata_checks::cluster_metadata(&input);
}
