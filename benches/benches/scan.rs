//! Batch scan and record iteration over writer-made segments, each beside its
//! baseline in the same group: the memory-read ceiling (sum of the same
//! bytes), a naive `read()` + owned-allocation decoder, for compressed
//! batches the codec's own decompression of the same payloads, and peers'
//! decoders over the same partition: `kafka-protocol`'s `RecordBatchDecoder`
//! and, with `--features krabka-log`, `krabka-log` reading the partition
//! (see `benches/src/peers.rs` for what each one does; both are built with
//! lz4 and zstd only, so gzip and snappy have the codec baseline alone).
//! Every record iteration touches offset, timestamp, key, value and header
//! count (`kreplay_benches::touch`); before a peer is timed, its record count
//! and (offset, key, value) checksum must equal kreplay's.
//!
//! `cargo bench -p kreplay-benches` (figures); `cargo bench -p kreplay-benches -- --test`
//! runs each once (harness check, as CI does). krabka-log needs rustc
//! 1.98.1; with an older nightly:
//! `RUSTFLAGS='-Zcrate-attr=feature(proc_macro_hygiene,result_option_map_or_default)'
//! cargo +nightly bench -p kreplay-benches --features krabka-log --ignore-rust-version --bench scan`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kreplay::{Compression, Decompressor, Inflater, ReadOptions, ReadStrategy, Segment};
use kreplay_benches::{
    compressed_payloads, inflate_all, kafka_protocol_digest, kafka_protocol_iterate,
    kreplay_digest, kreplay_for_each, kreplay_iterate, kreplay_reader, make_partition,
    naive_read_and_decode, segment_bytes, sum_u64,
};

const RECORDS: usize = 200_000;
const BATCH_RECORDS: usize = 500;

fn open(path: &Path) -> Segment {
    Segment::open(path, ReadStrategy::Mmap).expect("open segment")
}

/// Adds the peers' record-iteration baselines to `g`, after checking that
/// each one returns kreplay's records (count and checksum) and the same
/// [`kreplay_benches::touch`] sum, so no baseline can measure nothing.
fn peers(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    segment: &Segment,
    path: &Path,
) {
    let expected = kreplay_digest(segment);
    let expected_sum = kreplay_iterate(segment, true, &mut Inflater::default());
    assert!(expected.records > 0, "no records in {}", path.display());

    let bytes = segment_bytes(segment);
    assert_eq!(
        kafka_protocol_digest(&bytes).expect("kafka-protocol decode"),
        expected,
        "kafka-protocol disagrees with kreplay on {}",
        path.display()
    );
    assert_eq!(kafka_protocol_iterate(&bytes), expected_sum);
    g.bench_function("kafka_protocol_crc", |b| {
        b.iter(|| kafka_protocol_iterate(black_box(&bytes)))
    });

    #[cfg(feature = "krabka-log")]
    {
        let copy = tempfile::tempdir().expect("tempdir");
        let log = kreplay_benches::krabka_open(path.parent().expect("partition dir"), copy.path());
        let max_bytes = segment.mapping().len() as u64;
        assert_eq!(
            kreplay_benches::krabka_digest(&log, max_bytes).expect("krabka-log read"),
            expected,
            "krabka-log disagrees with kreplay on {}",
            path.display()
        );
        assert_eq!(
            kreplay_benches::krabka_iterate(&log, max_bytes),
            expected_sum
        );
        g.bench_function("krabka_log_crc", |b| {
            b.iter(|| kreplay_benches::krabka_iterate(black_box(&log), max_bytes))
        });
        assert_eq!(
            kreplay_benches::krabka_protocol_iterate(&bytes),
            expected_sum
        );
        g.bench_function("krabka_protocol_decode_crc", |b| {
            b.iter(|| kreplay_benches::krabka_protocol_iterate(black_box(&bytes)))
        });
    }
}

/// `Segment::reader` (the embedding API) beside the batch loop it wraps,
/// `for_each` over each batch's records, CRCs checked in both; each must
/// touch the same records as `kreplay_iterate`.
fn reader_cases(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    segment: &Segment,
    inflater: &mut Inflater,
) {
    let options = ReadOptions::default();
    let expected = kreplay_iterate(segment, true, inflater);
    assert_eq!(kreplay_for_each(segment, true, inflater), expected);
    assert_eq!(kreplay_reader(segment, &options), expected);
    g.bench_function("kreplay_for_each_crc", |b| {
        b.iter(|| kreplay_for_each(segment, true, inflater))
    });
    g.bench_function("reader_for_each_crc", |b| {
        b.iter(|| kreplay_reader(segment, &options))
    });
}

fn uncompressed(c: &mut Criterion) {
    for record_bytes in [100usize, 1024] {
        let records = if record_bytes == 100 {
            RECORDS
        } else {
            RECORDS / 8
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = make_partition(
            dir.path(),
            records,
            record_bytes,
            BATCH_RECORDS,
            Compression::None,
        );
        let segment = open(&path);
        let bytes = segment.mapping().clone();
        let label = if record_bytes == 100 { "100B" } else { "1KiB" };

        let mut g = c.benchmark_group(format!("scan/uncompressed/{label}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("memory_ceiling_sum_u64", |b| {
            b.iter(|| sum_u64(black_box(&bytes)))
        });
        g.bench_function("batches_crc", |b| {
            b.iter(|| {
                segment
                    .batches()
                    .map(|r| r.expect("batch").size_in_bytes())
                    .sum::<usize>()
            })
        });
        g.bench_function("batches_no_crc", |b| {
            b.iter(|| {
                segment
                    .batches_from(0, false)
                    .map(|r| r.expect("batch").size_in_bytes())
                    .sum::<usize>()
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("records/uncompressed/{label}"));
        g.throughput(Throughput::Elements(records as u64));
        let mut inflater = Inflater::default();
        g.bench_function("kreplay_crc", |b| {
            b.iter(|| kreplay_iterate(&segment, true, &mut inflater))
        });
        g.bench_function("kreplay_no_crc", |b| {
            b.iter(|| kreplay_iterate(&segment, false, &mut inflater))
        });
        reader_cases(&mut g, &segment, &mut inflater);
        g.bench_function("naive_read_owned", |b| {
            b.iter(|| naive_read_and_decode(&path).len())
        });
        peers(&mut g, &segment, &path);
        g.finish();
    }
}

fn compressed(c: &mut Criterion) {
    for codec in [
        Compression::Lz4,
        Compression::Zstd,
        Compression::Gzip,
        Compression::Snappy,
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = make_partition(dir.path(), RECORDS, 100, BATCH_RECORDS, codec);
        let segment = open(&path);
        // The payloads alone, for the codec-only baseline.
        let payloads = compressed_payloads(&segment);
        let mut g = c.benchmark_group(format!("records/{codec}/100B"));
        g.throughput(Throughput::Elements(RECORDS as u64));
        let mut inflater = Inflater::default();
        g.bench_function("kreplay_crc", |b| {
            b.iter(|| kreplay_iterate(&segment, true, &mut inflater))
        });
        reader_cases(&mut g, &segment, &mut inflater);
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        g.bench_function("codec_only", |b| {
            b.iter(|| inflate_all(&mut decompressor, codec, &payloads, &mut out))
        });
        // The peers decode what their enabled features cover: lz4 and zstd
        // (kafka-protocol and krabka-protocol are built without gzip and
        // snappy; see the workspace's Cargo.toml).
        if matches!(codec, Compression::Lz4 | Compression::Zstd) {
            peers(&mut g, &segment, &path);
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = uncompressed, compressed
}
criterion_main!(benches);
