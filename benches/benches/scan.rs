//! Batch scan and record iteration over writer-made segments, each beside its
//! baseline in the same group: the memory-read ceiling (sum of the same
//! bytes), a naive `read()` + owned-allocation decoder, and for compressed
//! batches the codec's own decompression of the same payloads.
//!
//! `cargo bench -p kreplay-benches` (figures); `cargo bench -p kreplay-benches -- --test`
//! runs each once (harness check, as CI does).

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kreplay::{Compression, Decompressor, Inflater, ReadStrategy, Segment};
use kreplay_benches::{make_partition, naive_read_and_decode, sum_u64};

const RECORDS: usize = 200_000;
const BATCH_RECORDS: usize = 500;

/// Touches every field a caller can see, so nothing is optimised away.
fn iterate_records(segment: &Segment, check_crcs: bool, inflater: &mut Inflater) -> u64 {
    let mut acc = 0u64;
    for batch in segment.batches_from(0, check_crcs) {
        let batch = batch.expect("batch");
        for record in batch.records(inflater).expect("records") {
            let r = record.expect("record");
            acc = acc
                .wrapping_add(r.offset() as u64)
                .wrapping_add(r.timestamp().unwrap_or(0) as u64)
                .wrapping_add(r.key().map_or(0, <[u8]>::len) as u64)
                .wrapping_add(r.value().map_or(0, <[u8]>::len) as u64)
                .wrapping_add(r.headers().len() as u64);
        }
    }
    acc
}

fn open(path: &Path) -> Segment {
    Segment::open(path, ReadStrategy::Mmap).expect("open segment")
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
            b.iter(|| iterate_records(&segment, true, &mut inflater))
        });
        g.bench_function("kreplay_no_crc", |b| {
            b.iter(|| iterate_records(&segment, false, &mut inflater))
        });
        g.bench_function("naive_read_owned", |b| {
            b.iter(|| naive_read_and_decode(&path).len())
        });
        g.finish();
    }
}

fn compressed(c: &mut Criterion) {
    for codec in [Compression::Lz4, Compression::Zstd] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = make_partition(dir.path(), RECORDS, 100, BATCH_RECORDS, codec);
        let segment = open(&path);
        // The payloads alone, for the codec-only baseline.
        let payloads: Vec<Vec<u8>> = segment
            .batches()
            .map(|b| b.expect("batch").as_bytes()[61..].to_vec())
            .collect();
        let mut g = c.benchmark_group(format!("records/{codec}/100B"));
        g.throughput(Throughput::Elements(RECORDS as u64));
        let mut inflater = Inflater::default();
        g.bench_function("kreplay_crc", |b| {
            b.iter(|| iterate_records(&segment, true, &mut inflater))
        });
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        g.bench_function("codec_only", |b| {
            b.iter(|| {
                let mut n = 0;
                for p in &payloads {
                    decompressor
                        .decompress(codec, p, &mut out, 1 << 30, false)
                        .expect("inflate");
                    n += out.len();
                }
                n
            })
        });
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
