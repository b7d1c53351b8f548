//! The peer baselines run with CRC verification on, as kreplay's `_crc`
//! benches do: one flipped value byte in the last batch is refused by
//! kreplay and by `kafka-protocol` (an error), and `krabka-log` never
//! returns that batch.

use kreplay::{Compression, ReadStrategy, Segment};
use kreplay_benches::{kafka_protocol_digest, make_partition, segment_bytes};

#[test]
fn peers_check_crcs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = make_partition(dir.path(), 1_000, 100, 500, Compression::None);
    let mut bytes = std::fs::read(&path).expect("read");
    // A value byte of the last record: covered by the last batch's CRC only.
    let at = bytes.len() - 2;
    bytes[at] ^= 0x20;
    std::fs::write(&path, &bytes).expect("write");

    let segment = Segment::open(&path, ReadStrategy::Mmap).expect("open segment");
    assert!(
        segment.batches().any(|b| b.is_err()),
        "kreplay accepted a flipped byte"
    );
    let err = kafka_protocol_digest(&segment_bytes(&segment))
        .expect_err("kafka-protocol accepted a flipped byte");
    assert!(err.contains("Cyclic redundancy check failed"), "{err}");

    #[cfg(feature = "krabka-log")]
    {
        // Log::open validates the active segment's CRCs and truncates the
        // copy from the first bad batch (recovery), so its read ends before
        // the corrupt batch either way.
        let copy = tempfile::tempdir().expect("tempdir");
        let partition = path.parent().expect("partition dir");
        let log = kreplay_benches::krabka_open(partition, copy.path());
        let digest = kreplay_benches::krabka_digest(&log, bytes.len() as u64);
        assert!(
            digest.map_or(true, |d| d.records == 500),
            "krabka-log returned the corrupt batch"
        );
    }
}
