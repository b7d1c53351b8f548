//! Records into export files, one core, beside the codec alone:
//!
//! - `export/parquet/100B`: a warm partition of ~100 B uncompressed records
//!   polled and written through `kreplay::export`'s formats to `/dev/null`
//!   (no disk in the timing): `parquet_zstd` (the default, zstd level 3),
//!   `parquet_none`, `arrow_ipc`; beside `zstd_only`, zstd level 3
//!   compressing the same records' values alone, in 1 MiB chunks (Parquet's
//!   page size), on the same thread: the part of `parquet_zstd` no format
//!   writer can avoid, its floor; and `parquet_writer_only`, arrow-rs's
//!   Parquet writer (uncompressed, no dictionaries) writing the same
//!   records as Arrow batches built before the timing: the floor of
//!   `parquet_none`, what no reader in front of that writer can go below.
//!
//! Each writer's output is checked before timing (a Parquet file is read
//! back for its row count). Throughput in records/s.
//!
//! `cargo bench -p kreplay-benches --bench export`; with `-- --test`, each
//! runs once (harness check).

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kreplay::export::{ArrowIpc, FileFormat, Parquet, ParquetCompression};
use kreplay::{AutoOffsetReset, Compression, Consumer, ConsumerConfig, TopicPartition};
use kreplay_benches::make_partition;

const RECORDS: usize = 500_000;
const BATCH_RECORDS: usize = 500;

fn consumer(log_dir: &Path) -> Consumer {
    let mut config = ConsumerConfig::new([log_dir.to_path_buf()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).expect("consumer");
    consumer
        .assign(&[TopicPartition::new("bench", 0)])
        .expect("assign");
    consumer
}

/// Polls the whole partition into one file of `format` in `out`; the
/// records written.
fn export(consumer: &mut Consumer, format: &dyn FileFormat, out: File) -> (u64, File) {
    let assignment = consumer.assignment();
    consumer.seek_to_beginning(&assignment).expect("rewind");
    let mut writer = format.create(out).expect("create");
    let mut records = 0u64;
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        for batch in polled.batches() {
            let batch = batch.expect("batch");
            for record in batch.records() {
                writer
                    .append(&batch, &record.expect("record"))
                    .expect("append");
                records += 1;
            }
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    (records, writer.finish().expect("finish"))
}

/// Every record as Arrow batches of 64 Ki rows (the export's size).
fn arrow_batches(consumer: &mut Consumer) -> Vec<arrow_array::RecordBatch> {
    let assignment = consumer.assignment();
    consumer.seek_to_beginning(&assignment).expect("rewind");
    let mut builder = kreplay::arrow::ArrowRecordBuilder::new();
    let mut batches = Vec::new();
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        for batch in polled.batches() {
            let batch = batch.expect("batch");
            for record in batch.records() {
                builder.append(&batch, &record.expect("record"));
                if builder.len() == 64 * 1024 {
                    batches.push(builder.finish());
                }
            }
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    if !builder.is_empty() {
        batches.push(builder.finish());
    }
    batches
}

/// The values of every record, in 1 MiB chunks.
fn value_chunks(consumer: &mut Consumer) -> Vec<Vec<u8>> {
    let assignment = consumer.assignment();
    consumer.seek_to_beginning(&assignment).expect("rewind");
    let mut chunks = vec![Vec::new()];
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        for record in &polled {
            let record = record.expect("record");
            let value = record.value().unwrap_or_default();
            if chunks
                .last()
                .is_some_and(|c| c.len() + value.len() > 1 << 20)
            {
                chunks.push(Vec::new());
            }
            if let Some(chunk) = chunks.last_mut() {
                chunk.extend_from_slice(value);
            }
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    chunks
}

fn dev_null() -> File {
    File::options()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null")
}

fn bench_export(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    make_partition(dir.path(), RECORDS, 100, BATCH_RECORDS, Compression::None);
    let mut consumer = consumer(dir.path());

    // Checked once: a Parquet file of every record.
    let check = dir.path().join("check.parquet");
    let (rows, _) = export(
        &mut consumer,
        &Parquet::default(),
        File::create(&check).expect("create"),
    );
    assert_eq!(rows, RECORDS as u64);
    let reader =
        parquet::file::reader::SerializedFileReader::new(File::open(&check).expect("open"))
            .expect("parquet");
    let written: i64 = parquet::file::reader::FileReader::metadata(&reader)
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .sum();
    assert_eq!(written, RECORDS as i64);

    let mut g = c.benchmark_group("export/parquet/100B");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(10);
    let formats: [(&str, Box<dyn FileFormat>); 3] = [
        ("parquet_zstd", Box::new(Parquet::default())),
        (
            "parquet_none",
            Box::new(Parquet::new(ParquetCompression::None)),
        ),
        ("arrow_ipc", Box::new(ArrowIpc::default())),
    ];
    for (name, format) in formats {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    black_box(export(&mut consumer, format.as_ref(), dev_null()));
                    total += start.elapsed();
                }
                total
            })
        });
    }
    let chunks = value_chunks(&mut consumer);
    let mut compressor = zstd::bulk::Compressor::new(3).expect("zstd");
    g.bench_function("zstd_only", |b| {
        b.iter(|| {
            let mut out = 0usize;
            for chunk in &chunks {
                out += compressor.compress(chunk).expect("compress").len();
            }
            black_box(out)
        })
    });
    let batches = arrow_batches(&mut consumer);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), RECORDS);
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .build();
    g.bench_function("parquet_writer_only", |b| {
        b.iter(|| {
            let mut writer = parquet::arrow::ArrowWriter::try_new(
                dev_null(),
                batches[0].schema(),
                Some(properties.clone()),
            )
            .expect("writer");
            for batch in &batches {
                writer.write(batch).expect("write");
            }
            black_box(writer.close().expect("close"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_export);
criterion_main!(benches);
