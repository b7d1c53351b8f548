//! A small, repeatable driver for instruction counts of the record hot paths
//! under callgrind (hardware counters are not available on the bench
//! machines, and wall clock is noisy there).
//!
//! ```text
//! cargo build --release -p kreplay-benches --example callgrind_records
//! B=target/release/examples/callgrind_records
//! $B /tmp/cg-log setup            # writes 200 k records of ~100 B, batches of 500
//! valgrind --tool=callgrind --separate-threads=yes --collect-atstart=no \
//!     --toggle-collect='*measure_*' $B /tmp/cg-log iter-crc
//! ```
//!
//! Modes: `iter-crc`, `iter-no-crc` (every record of the segment through
//! `Segment::batches_from` + `RecordBatch::records`, touching offset,
//! timestamp, key, value and header count), `poll` (a `Consumer` reading the
//! partition from the beginning, CRCs checked in the fetcher thread, the same
//! fields touched per record). Divide the main thread's Ir by the record
//! count printed.
//!
//! Outside callgrind, `time-iter-crc`, `time-iter-no-crc` and `time-poll`
//! time 7 rounds of the same loops and print the median records/s (wall
//! clock: noisy on a shared machine; compare builds in interleaved runs).
//! `time-poll` rewinds one consumer for each round.
//! `CG_RECORDS` sets the record count of `setup` (default 200 000).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kreplay::{
    AutoOffsetReset, Compression, Consumer, ConsumerConfig, Inflater, ReadStrategy, Segment,
};
use kreplay_benches::{kreplay_for_each, kreplay_iterate, make_partition, touch_record};

const RECORDS: usize = 200_000;
const BATCH_RECORDS: usize = 500;

fn records() -> usize {
    std::env::var("CG_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RECORDS)
}

fn poll_all(dir: &Path) -> (u64, u64) {
    let mut config = ConsumerConfig::new([dir.to_path_buf()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    let mut consumer = Consumer::new(config).expect("consumer");
    consumer.subscribe(&["bench"]).expect("subscribe");
    measure_poll(&mut consumer)
}

/// Median records/s of 7 timed rounds of `round`, which returns its record count.
fn time_rounds(mut round: impl FnMut() -> u64) -> (f64, u64) {
    let mut rates = Vec::new();
    let mut records = 0;
    for _ in 0..7 {
        let start = std::time::Instant::now();
        records = round();
        rates.push(records as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], records)
}

fn segment_path(dir: &Path) -> PathBuf {
    dir.join("bench-0").join("00000000000000000000.log")
}

#[inline(never)]
fn measure_iter(segment: &Segment, check_crcs: bool) -> u64 {
    let mut inflater = Inflater::default();
    kreplay_iterate(segment, check_crcs, &mut inflater)
}

/// `kreplay_iterate` with internal iteration (`for_each`) over each batch.
#[inline(never)]
fn measure_fold(segment: &Segment, check_crcs: bool) -> u64 {
    let mut inflater = Inflater::default();
    kreplay_for_each(segment, check_crcs, &mut inflater)
}

#[inline(never)]
fn measure_poll(consumer: &mut Consumer) -> (u64, u64) {
    let (mut records, mut acc) = (0u64, 0u64);
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        for record in &polled {
            let r = record.expect("record");
            records += 1;
            acc = touch_record(acc, &r);
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    (records, acc)
}

/// `measure_poll` with internal iteration (`for_each`) over each poll.
#[inline(never)]
fn measure_poll_fold(consumer: &mut Consumer) -> (u64, u64) {
    let (mut records, mut acc) = (0u64, 0u64);
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).expect("poll");
        let empty = polled.is_empty();
        polled.iter().for_each(|record| {
            let r = record.expect("record");
            records += 1;
            acc = touch_record(acc, &r);
        });
        if empty && consumer.at_end() {
            break;
        }
    }
    (records, acc)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: callgrind_records <dir> <mode>"));
    let mode = args.next().unwrap_or_else(|| "iter-crc".into());
    if mode == "setup" || !segment_path(&dir).exists() {
        std::fs::create_dir_all(&dir).expect("create dir");
        make_partition(&dir, records(), 100, BATCH_RECORDS, Compression::None);
        if mode == "setup" {
            return;
        }
    }
    match mode.as_str() {
        "iter-crc" | "iter-no-crc" => {
            let segment =
                Segment::open(&segment_path(&dir), ReadStrategy::Mmap).expect("open segment");
            // Warm the pages outside the measured function.
            black_box(kreplay_iterate(&segment, false, &mut Inflater::default()));
            let acc = measure_iter(&segment, mode == "iter-crc");
            println!("{mode}: {} records, acc {acc}", records());
        }
        "fold-crc" | "fold-no-crc" => {
            let segment =
                Segment::open(&segment_path(&dir), ReadStrategy::Mmap).expect("open segment");
            black_box(kreplay_iterate(&segment, false, &mut Inflater::default()));
            let acc = measure_fold(&segment, mode == "fold-crc");
            println!("{mode}: {} records, acc {acc}", records());
        }
        "time-fold-crc" | "time-fold-no-crc" => {
            let segment =
                Segment::open(&segment_path(&dir), ReadStrategy::Mmap).expect("open segment");
            let check_crcs = mode == "time-fold-crc";
            let count = segment
                .batches()
                .map(|b| b.expect("batch").records_count().unwrap_or(0) as u64)
                .sum::<u64>();
            let (rate, _) = time_rounds(|| {
                black_box(measure_fold(&segment, check_crcs));
                count
            });
            println!(
                "{mode}: {count} records, median {:.1} M records/s",
                rate / 1e6
            );
        }
        "poll" => {
            let (records, acc) = poll_all(&dir);
            println!("{mode}: {records} records, acc {acc}");
        }
        "time-iter-crc" | "time-iter-no-crc" => {
            let segment =
                Segment::open(&segment_path(&dir), ReadStrategy::Mmap).expect("open segment");
            let check_crcs = mode == "time-iter-crc";
            let mut inflater = Inflater::default();
            let count = segment
                .batches()
                .map(|b| b.expect("batch").records_count().unwrap_or(0) as u64)
                .sum::<u64>();
            let (rate, _) = time_rounds(|| {
                black_box(kreplay_iterate(&segment, check_crcs, &mut inflater));
                count
            });
            println!(
                "{mode}: {count} records, median {:.1} M records/s",
                rate / 1e6
            );
        }
        "poll-fold" => {
            let mut config = ConsumerConfig::new([dir.clone()]);
            config.auto_offset_reset = AutoOffsetReset::Earliest;
            let mut consumer = Consumer::new(config).expect("consumer");
            consumer.subscribe(&["bench"]).expect("subscribe");
            let (records, acc) = measure_poll_fold(&mut consumer);
            println!("{mode}: {records} records, acc {acc}");
        }
        "time-poll" | "time-poll-fold" => {
            // One consumer, rewound for each round, so that rounds after
            // the first find its mappings' page tables populated.
            let mut config = ConsumerConfig::new([dir.clone()]);
            config.auto_offset_reset = AutoOffsetReset::Earliest;
            let mut consumer = Consumer::new(config).expect("consumer");
            consumer.subscribe(&["bench"]).expect("subscribe");
            let (rate, records) = time_rounds(|| {
                let partitions = consumer.assignment();
                consumer
                    .seek_to_beginning(&partitions)
                    .expect("seek to beginning");
                if mode == "time-poll" {
                    measure_poll(&mut consumer).0
                } else {
                    measure_poll_fold(&mut consumer).0
                }
            });
            println!(
                "{mode}: {records} records, median {:.1} M records/s",
                rate / 1e6
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
