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
//! `CG_RECORDS` sets the record count of `setup` (default 200 000), `CG_CODEC`
//! its codec (default none).
//!
//! read_committed: `setup-txn` writes the partition as interleaved
//! transactions instead: `CG_TXN_PRODUCERS` producers (default 8) taking
//! turns batch by batch, each transaction `CG_TXN_BATCHES` batches (default
//! 4) of `CG_BATCH_RECORDS` records (default 50), one in ten aborted; the
//! poll modes then read it with `CG_ISOLATION=read_committed` and
//! `CG_ABORTED_TXN_SOURCE=txnindex` or `markers`. `time-poll-txn-sources`
//! times both sources in alternating rounds (7 each) and prints both
//! medians. Under callgrind, collect everything (`--collect-atstart=yes`)
//! and read the `kreplay-fetcher` thread's Ir: read_committed works there.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kreplay::writer::{fill_offset_deltas, PartitionWriter, RecordSpec, WriterOptions};
use kreplay::{
    AbortedTxnSource, AutoOffsetReset, Compression, Consumer, ConsumerConfig, Inflater, IoMode,
    IsolationLevel, ReadStrategy, Segment,
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

fn io_mode_from_env() -> IoMode {
    std::env::var("CG_IO_MODE")
        .ok()
        .map(|m| m.parse().expect("io mode"))
        .unwrap_or_default()
}

/// Consumer settings from the environment, for experiments: `CG_IO_MODE`,
/// `CG_FETCH_MAX_BYTES`, `CG_PARTITION_FETCH_BYTES`, `CG_CHECK_CRCS` (0 or
/// 1), `CG_MAX_POLL_RECORDS`.
fn apply_env(config: &mut ConsumerConfig) {
    config.io_mode = io_mode_from_env();
    if let Some(v) = env_u64("CG_FETCH_MAX_BYTES") {
        config.fetch_max_bytes = v;
    }
    if let Some(v) = env_u64("CG_PARTITION_FETCH_BYTES") {
        config.max_partition_fetch_bytes = v;
    }
    if let Some(v) = env_u64("CG_CHECK_CRCS") {
        config.check_crcs = v != 0;
    }
    if let Some(v) = env_u64("CG_MAX_POLL_RECORDS") {
        config.max_poll_records = v as usize;
    }
    if let Ok(v) = std::env::var("CG_ISOLATION") {
        config.isolation_level = v.parse().expect("isolation level");
    }
    match std::env::var("CG_ABORTED_TXN_SOURCE").as_deref() {
        Ok("markers") => config.aborted_txn_source = AbortedTxnSource::Markers,
        Ok("txnindex") | Err(_) => config.aborted_txn_source = AbortedTxnSource::TxnIndex,
        Ok(other) => panic!("unknown CG_ABORTED_TXN_SOURCE {other}"),
    }
}

/// `setup-txn`: partition `bench-0` as interleaved transactions (see the
/// module docs). Returns the records written.
fn make_transactional_partition(dir: &Path) -> u64 {
    let producers = env_u64("CG_TXN_PRODUCERS").unwrap_or(8) as i64;
    let txn_batches = env_u64("CG_TXN_BATCHES").unwrap_or(4);
    let batch_records = env_u64("CG_BATCH_RECORDS").unwrap_or(50) as usize;
    let mut writer =
        PartitionWriter::open(dir, "bench", 0, WriterOptions::default()).expect("open writer");
    let mut rng = fastrand::Rng::with_seed(11);
    let mut written = 0u64;
    let mut in_txn = vec![0u64; producers as usize];
    let mut step = 0usize;
    while written < records() as u64 {
        let producer = (step % producers as usize) as i64;
        step += 1;
        let mut batch: Vec<RecordSpec> = (0..batch_records)
            .map(|i| {
                let id = written as usize + i;
                let value = format!("{{\"id\":{id},\"v\":\"{:060}\"}}", rng.u64(..));
                RecordSpec::new(
                    1_700_000_000_000 + id as i64,
                    Some(format!("host-{:05}", id % 1000).as_bytes()),
                    Some(value.as_bytes()),
                )
            })
            .collect();
        fill_offset_deltas(&mut batch);
        writer
            .append_transactional(1000 + producer, 0, &batch)
            .expect("append");
        written += batch_records as u64;
        let count = &mut in_txn[producer as usize];
        *count += 1;
        if *count == txn_batches {
            *count = 0;
            if rng.u32(0..10) == 0 {
                writer.abort(1000 + producer).expect("abort");
            } else {
                writer.commit(1000 + producer).expect("commit");
            }
        }
    }
    for producer in 0..producers {
        if in_txn[producer as usize] > 0 {
            writer.commit(1000 + producer).expect("commit");
        }
    }
    writer.close().expect("close");
    written
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn poll_all(dir: &Path) -> (u64, u64) {
    let mut config = ConsumerConfig::new([dir.to_path_buf()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    apply_env(&mut config);
    let mut consumer = Consumer::new(config).expect("consumer");
    consumer.subscribe(&["bench"]).expect("subscribe");
    measure_poll(&mut consumer)
}

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// On-CPU nanoseconds of each thread of this process named `name`.
fn threads_cpu_ns(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| {
            std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Median records/s of 7 timed rounds of `round`, which returns its record
/// count. Also prints the median share of the wall time the calling thread
/// spent on a CPU (near 1.0: the calling thread is the bottleneck).
fn time_rounds(mut round: impl FnMut() -> u64) -> (f64, u64) {
    let mut rates = Vec::new();
    let mut busy = Vec::new();
    let mut fetcher = Vec::new();
    let mut records = 0;
    for _ in 0..7 {
        let cpu0 = thread_cpu_ns();
        let fetcher0 = threads_cpu_ns("kreplay-fetcher");
        let start = std::time::Instant::now();
        records = round();
        let wall = start.elapsed().as_secs_f64();
        rates.push(records as f64 / wall);
        busy.push((thread_cpu_ns() - cpu0) as f64 / 1e9 / wall);
        fetcher
            .push(threads_cpu_ns("kreplay-fetcher").saturating_sub(fetcher0) as f64 / 1e9 / wall);
    }
    rates.sort_by(f64::total_cmp);
    busy.sort_by(f64::total_cmp);
    fetcher.sort_by(f64::total_cmp);
    eprintln!(
        "on a CPU, share of the wall time (medians): calling thread {:.2}, fetcher {:.2} (a fetcher that lives through the round only)",
        busy[busy.len() / 2],
        fetcher[fetcher.len() / 2]
    );
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

/// `CG_CODEC` (none, gzip, snappy, lz4, zstd): the codec of `setup`.
fn codec() -> Compression {
    std::env::var("CG_CODEC")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(Compression::None)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: callgrind_records <dir> <mode>"));
    let mode = args.next().unwrap_or_else(|| "iter-crc".into());
    if mode == "setup-txn" {
        std::fs::create_dir_all(&dir).expect("create dir");
        let written = make_transactional_partition(&dir);
        println!("{mode}: {written} records");
        return;
    }
    if mode == "setup" || (mode != "time-poll-fresh" && !segment_path(&dir).exists()) {
        std::fs::create_dir_all(&dir).expect("create dir");
        make_partition(&dir, records(), 100, BATCH_RECORDS, codec());
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
            apply_env(&mut config);
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
            apply_env(&mut config);
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
        "time-poll-fresh" => {
            // As `kreplay bench` replays: a new consumer (new mappings) for
            // each round, over every topic of the dir, in the io mode of
            // `CG_IO_MODE` (default auto).
            let io_mode = io_mode_from_env();
            let topics: Vec<String> = kreplay::list_partitions(&dir)
                .expect("list partitions")
                .into_iter()
                .map(|p| p.topic_partition.topic)
                .collect();
            let (rate, records) = time_rounds(|| {
                let mut config = ConsumerConfig::new([dir.clone()]);
                config.auto_offset_reset = AutoOffsetReset::Earliest;
                apply_env(&mut config);
                let mut consumer = Consumer::new(config).expect("consumer");
                consumer.subscribe(&topics).expect("subscribe");
                if env_u64("CG_FOLD") == Some(1) {
                    measure_poll_fold(&mut consumer).0
                } else {
                    measure_poll(&mut consumer).0
                }
            });
            println!(
                "{mode} {io_mode}: {records} records, median {:.1} M records/s",
                rate / 1e6
            );
        }
        "time-poll-txn-sources" => {
            // read_committed through the txnindex and through the markers,
            // rounds alternating so that both see the same machine load.
            let mut rates = [Vec::new(), Vec::new()];
            let mut counts = [0u64; 2];
            let sources = [AbortedTxnSource::TxnIndex, AbortedTxnSource::Markers];
            for _ in 0..7 {
                for (n, source) in sources.iter().enumerate() {
                    let mut config = ConsumerConfig::new([dir.clone()]);
                    config.auto_offset_reset = AutoOffsetReset::Earliest;
                    apply_env(&mut config);
                    config.isolation_level = IsolationLevel::ReadCommitted;
                    config.aborted_txn_source = *source;
                    let mut consumer = Consumer::new(config).expect("consumer");
                    consumer.subscribe(&["bench"]).expect("subscribe");
                    let start = std::time::Instant::now();
                    counts[n] = measure_poll(&mut consumer).0;
                    rates[n].push(counts[n] as f64 / start.elapsed().as_secs_f64());
                }
            }
            assert_eq!(counts[0], counts[1], "the sources gave different counts");
            for (n, source) in sources.iter().enumerate() {
                rates[n].sort_by(f64::total_cmp);
                println!(
                    "{mode} {source:?}: {} records, median {:.2} M records/s (min {:.2}, max {:.2})",
                    counts[n],
                    rates[n][3] / 1e6,
                    rates[n][0] / 1e6,
                    rates[n][6] / 1e6
                );
            }
        }
        other => panic!("unknown mode {other}"),
    }
}
