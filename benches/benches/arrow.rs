//! Records into Arrow record batches, the copying layout beside the
//! zero-copy one, and beside polling alone, in one group per codec:
//!
//! - `arrow/uncompressed/100B`, `arrow/lz4/100B`: `Consumer::poll` to the
//!   end of a warm partition (CRCs checked in the fetcher), every record
//!   appended to an `ArrowRecordBuilder` and a record batch cut every 65 536
//!   rows (as `kreplay.read` does): `build_binary` copies keys and values
//!   into `binary` columns, `build_view` makes `binary_view` columns over
//!   the mapped segment (uncompressed) or the inflated buffers (lz4).
//!   `poll_only` walks the same records without building anything: the
//!   floor both approach.
//!
//! Before timing, each case's record batches are checked against the
//! others' (same rows, same values), and the bytes each layout copies are
//! printed (`copied bytes/record`): the throughput is records/s, the record
//! batches/s that of 65 536-row batches.
//!
//! `cargo bench -p kreplay-benches --bench arrow`; with `-- --test`, each
//! runs once (harness check).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::Array;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kreplay::arrow::{ArrowRecordBuilder, BinaryLayout};
use kreplay::{AutoOffsetReset, Compression, Consumer, ConsumerConfig, TopicPartition};
use kreplay_benches::{make_partition, touch_record};

const RECORDS: usize = 200_000;
const BATCH_RECORDS: usize = 500;
const CUT_ROWS: usize = 65_536;

fn consumer(log_dir: &Path) -> Consumer {
    let mut config = ConsumerConfig::new([log_dir.to_path_buf()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = CUT_ROWS;
    let mut consumer = Consumer::new(config).expect("consumer");
    consumer
        .assign(&[TopicPartition::new("bench", 0)])
        .expect("assign");
    consumer
}

fn rewind(consumer: &mut Consumer) {
    let assignment = consumer.assignment();
    consumer
        .seek_to_beginning(&assignment)
        .expect("seek to beginning");
}

/// Polls to the end, building record batches in `layout` (none: walking
/// the records only). The rows, the value bytes seen (sum of lengths), and
/// the bytes copied.
fn poll_to_end(consumer: &mut Consumer, layout: Option<BinaryLayout>) -> (u64, u64, u64) {
    let mut builder = layout.map(ArrowRecordBuilder::with_layout);
    let (mut rows, mut value_bytes, mut copied, mut acc) = (0u64, 0u64, 0u64, 0u64);
    let mut cut = |builder: &mut ArrowRecordBuilder, rows: &mut u64, value_bytes: &mut u64| {
        copied += builder.copied_bytes() as u64;
        let batch = builder.finish();
        *rows += batch.num_rows() as u64;
        *value_bytes += match batch.column(6).data_type() {
            arrow_schema::DataType::BinaryView => batch
                .column(6)
                .as_binary_view()
                .lengths()
                .map(u64::from)
                .sum(),
            _ => batch.column(6).as_binary::<i32>().values().len() as u64,
        };
        black_box(batch);
    };
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        for batch in polled.batches() {
            let batch = batch.expect("batch");
            match builder.as_mut() {
                Some(builder) => {
                    for record in batch.records() {
                        builder.append(&batch, &record.expect("record"));
                        if builder.len() == CUT_ROWS {
                            cut(builder, &mut rows, &mut value_bytes);
                        }
                    }
                }
                None => {
                    for record in batch.records() {
                        let record = record.expect("record");
                        rows += 1;
                        value_bytes += record.value().map_or(0, <[u8]>::len) as u64;
                        acc = touch_record(acc, &record);
                    }
                }
            }
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    if let Some(builder) = builder.as_mut() {
        cut(builder, &mut rows, &mut value_bytes);
    }
    black_box(acc);
    (rows, value_bytes, copied)
}

/// Time of `iters` passes, each after a rewind (untimed).
fn timed(iters: u64, consumer: &mut Consumer, layout: Option<BinaryLayout>) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        rewind(consumer);
        let start = Instant::now();
        black_box(poll_to_end(consumer, layout));
        total += start.elapsed();
    }
    total
}

fn arrow(c: &mut Criterion) {
    for codec in [Compression::None, Compression::Lz4] {
        let dir = tempfile::tempdir().expect("tempdir");
        make_partition(dir.path(), RECORDS, 100, BATCH_RECORDS, codec);
        let name = match codec {
            Compression::None => "uncompressed".to_string(),
            other => other.to_string(),
        };
        let mut g = c.benchmark_group(format!("arrow/{name}/100B"));
        g.throughput(Throughput::Elements(RECORDS as u64));
        let mut expected = None;
        for (case, layout) in [
            ("poll_only", None),
            ("build_binary", Some(BinaryLayout::Binary)),
            ("build_view", Some(BinaryLayout::View)),
        ] {
            let mut consumer = consumer(dir.path());
            let (rows, value_bytes, copied) = poll_to_end(&mut consumer, layout);
            assert_eq!(rows, RECORDS as u64, "{name}/{case}");
            assert_eq!(
                *expected.get_or_insert(value_bytes),
                value_bytes,
                "{name}/{case}"
            );
            if layout.is_some() {
                eprintln!(
                    "arrow/{name}/100B/{case}: copied bytes/record {:.1}",
                    copied as f64 / rows as f64
                );
            }
            g.bench_function(case, |b| {
                b.iter_custom(|iters| timed(iters, &mut consumer, layout))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, arrow);
criterion_main!(benches);
