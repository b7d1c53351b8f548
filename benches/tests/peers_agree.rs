//! Every peer decoder the benches time returns kreplay's records on the
//! benches' data: the same record count, the same (offset, key, value)
//! checksum and the same sum of the fields the benches touch. A baseline
//! that decoded nothing, or something else, fails here before it is timed.

use kreplay::writer::{fill_offset_deltas, BatchSpec, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{Compression, Inflater, ReadStrategy, Segment};
use kreplay_benches::{
    kafka_protocol_digest, kafka_protocol_iterate, kreplay_digest, kreplay_iterate, make_partition,
    segment_bytes,
};

/// Checks every peer against kreplay on the segment at `path`, which holds
/// `records` records.
fn check_peers(path: &std::path::Path, records: u64) {
    let segment = Segment::open(path, ReadStrategy::Mmap).expect("open segment");
    let expected = kreplay_digest(&segment);
    assert_eq!(expected.records, records, "kreplay on {}", path.display());
    let expected_sum = kreplay_iterate(&segment, true, &mut Inflater::default());

    let bytes = segment_bytes(&segment);
    assert_eq!(
        kafka_protocol_digest(&bytes).expect("kafka-protocol decode"),
        expected,
        "kafka-protocol on {}",
        path.display()
    );
    assert_eq!(kafka_protocol_iterate(&bytes), expected_sum);

    #[cfg(feature = "krabka-log")]
    {
        let copy = tempfile::tempdir().expect("tempdir");
        let log = kreplay_benches::krabka_open(path.parent().expect("partition dir"), copy.path());
        let max_bytes = segment.mapping().len() as u64;
        assert_eq!(
            kreplay_benches::krabka_digest(&log, max_bytes).expect("krabka-log read"),
            expected,
            "krabka-log on {}",
            path.display()
        );
        assert_eq!(
            kreplay_benches::krabka_iterate(&log, max_bytes),
            expected_sum
        );
        assert_eq!(
            kreplay_benches::krabka_protocol_iterate(&bytes),
            expected_sum
        );
    }
}

#[test]
fn peers_agree_with_kreplay_on_bench_data() {
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        for (records, record_bytes) in [(3_000usize, 100usize), (700, 1024)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = make_partition(dir.path(), records, record_bytes, 500, compression);
            check_peers(&path, records as u64);
        }
    }
}

/// Null and empty keys and values, and headers (the bench data has none).
#[test]
fn peers_agree_with_kreplay_on_nulls_empties_and_headers() {
    for compression in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = PartitionWriter::open(dir.path(), "bench", 0, WriterOptions::default())
            .expect("open writer");
        let mut batch = vec![
            RecordSpec::new(1_700_000_000_000, None, None),
            RecordSpec::new(1_700_000_000_001, Some(b""), Some(b"")),
            RecordSpec::new(1_700_000_000_002, Some(b"k"), None),
            RecordSpec::new(1_700_000_000_003, None, Some(b"v")),
            RecordSpec::new(1_700_000_000_004, Some(b"key"), Some(b"value")),
        ];
        batch[4].headers = vec![
            ("trace".to_string(), Some(b"abc".to_vec())),
            ("null".to_string(), None),
            ("empty".to_string(), Some(Vec::new())),
        ];
        fill_offset_deltas(&mut batch);
        let spec = BatchSpec {
            base_offset: 0,
            compression,
            ..BatchSpec::default()
        };
        writer.append_batch(&spec, &batch).expect("append");
        writer.close().expect("close");
        check_peers(
            &dir.path().join("bench-0").join("00000000000000000000.log"),
            5,
        );
    }
}
