//! `kreplay bench`: replay speed through the consumer per IoMode, warm and
//! cold, beside baselines measured in the same run and interleaved with it:
//! the memory ceiling (a sum of u64 over the mapped segment bytes, warm), a
//! `dd bs=1M`-style sequential `read()` of every segment file (cold), and
//! the floors of each thread's unavoidable work (bench/baselines.rs). The
//! CLI's own targets are measured beside theirs (bench/targets.rs):
//! `verify` against `cat`, `consume`'s JSON against a JSON floor, and text.
//!
//! Results go to stdout (a table, or JSON lines with `--json`); progress to
//! stderr. The harness checks that every replay returns the records the log
//! holds (exit status 1 if not); it never judges timings.

mod args;
mod baselines;
mod targets;

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kreplay::{
    list_partitions, list_segments, AutoOffsetReset, Consumer, ConsumerConfig, IoMode, Partition,
    ReadOptions,
};
use serde_json::{json, Value};

pub use self::args::{BenchArgs, BenchConfig};

use self::baselines::{ceiling, crc_only, dd, decode_only, page_tables, touch, warm_up};
use self::targets::Output;
use crate::shared_args::Format;
use crate::status::Status;

/// The log being measured.
#[derive(Debug)]
struct Log {
    dir: PathBuf,
    generated: bool,
    topics: Vec<String>,
    partitions: usize,
    /// Segment files and their sizes.
    files: Vec<(PathBuf, u64)>,
    bytes: u64,
    /// Data records a read_uncommitted consumer returns from the log start.
    records: u64,
}

/// How page-cache pages are evicted before a cold measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheDrop {
    /// `1` written to /proc/sys/vm/drop_caches (root).
    DropCaches,
    /// `posix_fadvise(DONTNEED)` on every segment file.
    Fadvise,
}

impl CacheDrop {
    fn name(self) -> &'static str {
        match self {
            CacheDrop::DropCaches => "drop_caches",
            CacheDrop::Fadvise => "fadvise_dontneed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ceiling,
    /// Mapping every segment and touching each page, then unmapping: the
    /// kernel's page-table work a mapped replay cannot avoid.
    PageTables,
    /// Framing every batch and checking its CRC, one thread: the fetcher's
    /// unavoidable work besides page tables.
    Crc,
    /// Decoding every record (CRC off), one thread: the caller's
    /// unavoidable work.
    Decode,
    /// Decoding every record with every batch's CRC checked, one thread.
    DecodeCrc,
    /// `cat` of the warm segment files (`verify`'s baseline).
    Cat,
    /// `verify`'s work on the log dir, one thread.
    Verify,
    /// The floor of JSON with base64 on the formatting thread.
    JsonFloor,
    /// `consume` to /dev/null in a format.
    Consume(Output),
    Dd,
    Replay(IoMode),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    Warm,
    Cold,
}

/// One round of one measurement.
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    cpu_seconds: f64,
    peak_anon_kib: u64,
    records: u64,
    io_mode_used: Option<IoMode>,
}

/// A measurement and its rounds.
#[derive(Debug)]
struct Measurement {
    kind: Kind,
    cache: Cache,
    samples: Vec<Sample>,
}

impl Measurement {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Ceiling => "memory_ceiling",
            Kind::PageTables => "page_tables",
            Kind::Crc => "crc_only",
            Kind::Decode => "decode_only",
            Kind::DecodeCrc => "decode_crc",
            Kind::Cat => "cat",
            Kind::Verify => "verify",
            Kind::JsonFloor => "json_floor",
            Kind::Consume(Output::Text) => "consume_text",
            Kind::Consume(Output::JsonBase64) => "consume_json_base64",
            Kind::Dd => "dd",
            Kind::Replay(_) => "replay",
        }
    }

    fn cache_name(&self) -> &'static str {
        match self.cache {
            Cache::Warm => "warm",
            Cache::Cold => "cold",
        }
    }

    fn label(&self) -> String {
        match (self.kind, self.cache) {
            (Kind::Ceiling, _) => "memory ceiling (sum u64)".to_string(),
            (Kind::PageTables, _) => "page tables: map, touch each page, unmap".to_string(),
            (Kind::Crc, _) => "batches + CRC-32C, one thread".to_string(),
            (Kind::Decode, _) => "records decoded, one thread, CRC off".to_string(),
            (Kind::DecodeCrc, _) => "records decoded, one thread, CRC on".to_string(),
            (Kind::Cat, _) => "cat: read() of the files".to_string(),
            (Kind::Verify, _) => "verify, one thread".to_string(),
            (Kind::JsonFloor, _) => "JSON floor: decode + base64 + one copy".to_string(),
            (Kind::Consume(Output::Text), _) => "consume --format text".to_string(),
            (Kind::Consume(Output::JsonBase64), _) => {
                "consume --format json --bytes base64".to_string()
            }
            (Kind::Dd, _) => "dd bs=1M read()".to_string(),
            (Kind::Replay(_), Cache::Warm) => "replay warm".to_string(),
            (Kind::Replay(_), Cache::Cold) => "replay cold".to_string(),
        }
    }

    /// The measurement its ratio is to: `verify` to `cat`, JSON to its
    /// floor, every other warm one to the memory ceiling, cold ones to dd.
    fn baseline(&self) -> (Kind, Cache) {
        match (self.kind, self.cache) {
            (Kind::Verify, _) => (Kind::Cat, Cache::Warm),
            (Kind::Consume(Output::JsonBase64), _) => (Kind::JsonFloor, Cache::Warm),
            (_, Cache::Warm) => (Kind::Ceiling, Cache::Warm),
            (_, Cache::Cold) => (Kind::Dd, Cache::Cold),
        }
    }

    fn median_seconds(&self) -> f64 {
        median(self.samples.iter().map(|s| s.seconds).collect())
    }

    fn median_cpu(&self) -> f64 {
        median(self.samples.iter().map(|s| s.cpu_seconds).collect())
    }

    fn peak_anon_kib(&self) -> u64 {
        self.samples
            .iter()
            .map(|s| s.peak_anon_kib)
            .max()
            .unwrap_or(0)
    }

    fn io_mode_used(&self) -> Option<IoMode> {
        self.samples.last().and_then(|s| s.io_mode_used)
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs `kreplay bench`.
pub fn run(config: &BenchConfig) -> anyhow::Result<Status> {
    // Held to the end: the generated log is removed when it drops.
    let temp;
    let log = match &config.log_dir {
        Some(dir) => discover(dir, false)?,
        None => {
            temp = tempfile::Builder::new()
                .prefix("kreplay-bench-")
                .tempdir()
                .context("creating a temporary directory")?;
            let mut gen = config.gen.clone();
            gen.log_dir = temp.path().to_path_buf();
            progress(format_args!(
                "generating {} records of {} B ({}) over {} partitions in {}",
                gen.records_per_topic,
                gen.value_size,
                gen.compression,
                gen.partitions,
                temp.path().display()
            ));
            let summary = kreplay::writer::generate(&gen)?;
            let log = discover(temp.path(), true)?;
            if log.records != summary.records {
                bail!(
                    "the generated log holds {} records but the generator wrote {}",
                    log.records,
                    summary.records
                );
            }
            log
        }
    };
    if log.records == 0 {
        bail!("{}: no records to replay", log.dir.display());
    }
    // Dirty pages cannot be evicted: write them out once.
    for (path, _) in &log.files {
        let _ = File::open(path).and_then(|f| f.sync_all());
    }
    let cache_drop = if !config.quick && drop_caches().is_ok() {
        CacheDrop::DropCaches
    } else {
        CacheDrop::Fadvise
    };
    progress(format_args!(
        "{} records, {} partitions, {} segment files, {} bytes in {}; {} rounds; cold = {}",
        log.records,
        log.partitions,
        log.files.len(),
        log.bytes,
        log.dir.display(),
        config.rounds,
        cache_drop.name()
    ));

    // A log written moments ago sits in the page cache as it was written
    // (small pages, about ten times the page-table work of the large folios
    // a read from disk leaves): evict it and read it back once, so that warm
    // means "as a replay of a log on disk finds it", in every round.
    progress(format_args!(
        "evicting the log and reading it back once (page cache as after a read from disk)"
    ));
    evict(&log, cache_drop)?;
    warm_up(&log)?;

    let mut measurements: Vec<Measurement> = [
        Kind::Ceiling,
        Kind::PageTables,
        Kind::Crc,
        Kind::Decode,
        Kind::DecodeCrc,
        Kind::Cat,
        Kind::Verify,
        Kind::JsonFloor,
        Kind::Consume(Output::Text),
        Kind::Consume(Output::JsonBase64),
    ]
    .into_iter()
    .map(|kind| Measurement {
        kind,
        cache: Cache::Warm,
        samples: Vec::new(),
    })
    .collect();
    let baselines = measurements.len();
    measurements.extend(IoMode::ALL.map(|mode| Measurement {
        kind: Kind::Replay(mode),
        cache: Cache::Warm,
        samples: Vec::new(),
    }));
    measurements.push(Measurement {
        kind: Kind::Dd,
        cache: Cache::Cold,
        samples: Vec::new(),
    });
    measurements.extend(IoMode::ALL.map(|mode| Measurement {
        kind: Kind::Replay(mode),
        cache: Cache::Cold,
        samples: Vec::new(),
    }));

    let modes = IoMode::ALL.len();
    for round in 0..config.rounds {
        // The warm baselines, then the warm replays, then dd, then the cold
        // replays; the replays' order rotates from round to round.
        let mut order: Vec<usize> = (0..baselines).collect();
        order.extend((0..modes).map(|i| baselines + (i + round) % modes));
        order.push(baselines + modes);
        order.extend((0..modes).map(|i| baselines + 1 + modes + (i + round) % modes));
        for index in order {
            let m = &mut measurements[index];
            progress(format_args!(
                "round {}/{}: {} {}{}",
                round + 1,
                config.rounds,
                m.name(),
                m.cache_name(),
                match m.kind {
                    Kind::Replay(mode) => format!(" {mode}"),
                    _ => String::new(),
                }
            ));
            match m.cache {
                Cache::Warm => warm_up(&log)?,
                Cache::Cold => evict(&log, cache_drop)?,
            }
            let sample = match m.kind {
                Kind::Ceiling => ceiling(&log)?,
                Kind::PageTables => page_tables(&log)?,
                Kind::Crc => crc_only(&log)?,
                Kind::Decode => decode_only(&log, false)?,
                Kind::DecodeCrc => decode_only(&log, true)?,
                Kind::Cat => targets::cat(&log)?,
                Kind::Verify => targets::verify(&log)?,
                Kind::JsonFloor => targets::json_floor(&log)?,
                Kind::Consume(output) => targets::consume(&log, output)?,
                Kind::Dd => dd(&log)?,
                Kind::Replay(mode) => replay(&log, mode)?,
            };
            m.samples.push(sample);
        }
    }

    let mut mismatches = Vec::new();
    for m in measurements
        .iter()
        .filter(|m| matches!(m.kind, Kind::Replay(_) | Kind::Consume(_)))
    {
        for s in &m.samples {
            if s.records != log.records {
                mismatches.push(format!(
                    "{} {} {}: {} records, the log holds {}",
                    m.name(),
                    m.cache_name(),
                    replay_mode(m).map_or("-", IoMode::name),
                    s.records,
                    log.records
                ));
            }
        }
    }
    let machine = machine();
    match config.format {
        Format::Json => print_json(
            &log,
            &measurements,
            config.rounds,
            cache_drop,
            &machine,
            &mismatches,
        ),
        Format::Text => print_table(&log, &measurements, config.rounds, cache_drop, &machine),
    }
    if mismatches.is_empty() {
        progress(format_args!(
            "every replay returned the log's {} records",
            log.records
        ));
        Ok(Status::Ok)
    } else {
        for m in &mismatches {
            eprintln!("kreplay: error: {m}");
        }
        Ok(Status::DataError)
    }
}

fn progress(message: std::fmt::Arguments<'_>) {
    eprintln!("kreplay: bench: {message}");
}

fn replay_mode(m: &Measurement) -> Option<IoMode> {
    match m.kind {
        Kind::Replay(mode) => Some(mode),
        _ => None,
    }
}

/// Lists the segment files of `dir` and counts the records a consumer
/// reading from the log start returns (control batches excluded).
fn discover(dir: &Path, generated: bool) -> anyhow::Result<Log> {
    let partitions = list_partitions(dir)?;
    if partitions.is_empty() {
        bail!("{}: no partition directories", dir.display());
    }
    let mut topics: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut records = 0u64;
    let options = ReadOptions::default();
    for pd in &partitions {
        if !topics.contains(&pd.topic_partition.topic) {
            topics.push(pd.topic_partition.topic.clone());
        }
        for segment in list_segments(&pd.path)? {
            files.push((segment.path, segment.size));
        }
        let partition = Partition::open(pd, options)?;
        let start = partition.log_start_offset()?;
        let mut inflater = options.inflater();
        for n in 0..partition.segments().len() {
            let segment = partition.open_segment(n)?;
            for batch in segment.batches() {
                let batch = batch?;
                if batch.is_control_batch() || batch.last_offset() < start {
                    continue;
                }
                let batch_records = batch
                    .records(&mut inflater)
                    .map_err(|kind| segment.corrupt(batch.position, None, kind))?;
                for record in batch_records {
                    let record =
                        record.map_err(|kind| segment.corrupt(batch.position, None, kind))?;
                    if record.offset() >= start {
                        records += 1;
                    }
                }
            }
        }
    }
    let bytes = files.iter().map(|(_, size)| size).sum();
    Ok(Log {
        dir: dir.to_path_buf(),
        generated,
        topics,
        partitions: partitions.len(),
        files,
        bytes,
        records,
    })
}

/// Writes `1` to /proc/sys/vm/drop_caches (works as root only).
fn drop_caches() -> std::io::Result<()> {
    std::fs::write("/proc/sys/vm/drop_caches", "1")
}

fn evict(log: &Log, how: CacheDrop) -> anyhow::Result<()> {
    match how {
        CacheDrop::DropCaches => drop_caches().context("writing /proc/sys/vm/drop_caches"),
        CacheDrop::Fadvise => {
            for (path, _) in &log.files {
                let file = File::open(path).with_context(|| format!("{}", path.display()))?;
                rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)
                    .with_context(|| format!("posix_fadvise(DONTNEED) on {}", path.display()))?;
            }
            Ok(())
        }
    }
}

/// Replays the whole log through a [`Consumer`], touching every record's
/// offset, timestamp, key and value lengths.
fn replay(log: &Log, mode: IoMode) -> anyhow::Result<Sample> {
    let mut config = ConsumerConfig::new([log.dir.clone()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.io_mode = mode;
    let mut peak = rss_anon_kib();
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut consumer = Consumer::new(config)?;
    consumer.subscribe(&log.topics)?;
    let (mut records, mut touched, mut polls) = (0u64, 0u64, 0u64);
    loop {
        let batch = consumer.poll(Duration::from_secs(5))?;
        let empty = batch.is_empty();
        // Internal iteration over the poll (`for_each`): the batch
        // iteration's state stays in locals, with no per-record `?` in the
        // loop; the first error, if any, is kept and raised after it.
        let mut failed = None;
        batch.iter().for_each(|record| match record {
            Ok(record) => {
                records += 1;
                touched = touch(touched, &record);
            }
            Err(e) => failed = failed.take().or(Some(e)),
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        polls += 1;
        if polls % 64 == 0 {
            peak = peak.max(rss_anon_kib());
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    black_box(touched);
    let io_mode_used = consumer.io_mode();
    drop(consumer);
    Ok(consumer_sample(
        seconds,
        cpu0,
        peak,
        records,
        Some(io_mode_used),
    ))
}

/// A sample of a measurement through a consumer: `seconds` of wall time
/// since CPU time was `cpu0`, RssAnon at most `peak` while it ran (or now).
fn consumer_sample(
    seconds: f64,
    cpu0: f64,
    peak: u64,
    records: u64,
    io_mode_used: Option<IoMode>,
) -> Sample {
    Sample {
        seconds,
        cpu_seconds: cpu_seconds() - cpu0,
        peak_anon_kib: peak.max(rss_anon_kib()),
        records,
        io_mode_used,
    }
}

/// RssAnon of this process, in KiB (0 when unknown).
fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of this process (every thread), in seconds (10 ms ticks).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

#[derive(Debug)]
struct Machine {
    cores: usize,
    cpu: String,
    kernel: String,
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    Machine {
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        cpu,
        kernel,
    }
}

/// Seconds, records/s, GB/s, the ratio to the baseline of `m` and that
/// baseline's name.
fn figures(log: &Log, m: &Measurement, all: &[Measurement]) -> (f64, f64, f64, f64, &'static str) {
    let seconds = m.median_seconds();
    let per_s = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let (kind, cache) = m.baseline();
    let baseline = all.iter().find(|b| b.kind == kind && b.cache == cache);
    let baseline_s = baseline.map_or(0.0, Measurement::median_seconds);
    let ratio = if seconds > 0.0 {
        baseline_s / seconds
    } else {
        0.0
    };
    let name = baseline.map_or("", Measurement::name);
    (
        seconds,
        per_s(log.records),
        per_s(log.bytes) / 1e9,
        ratio,
        name,
    )
}

#[allow(clippy::too_many_arguments)]
fn print_json(
    log: &Log,
    measurements: &[Measurement],
    rounds: usize,
    cache_drop: CacheDrop,
    machine: &Machine,
    mismatches: &[String],
) {
    for m in measurements {
        let (seconds, records_per_s, gb_per_s, ratio, ratio_to) = figures(log, m, measurements);
        let records = m.samples.last().map_or(0, |s| s.records);
        let line: Value = json!({
            "type": "measurement",
            "measurement": m.name(),
            "cache": m.cache_name(),
            "io_mode": replay_mode(m).map(IoMode::name),
            "io_mode_used": m.io_mode_used().map(IoMode::name),
            "records": records,
            "bytes": log.bytes,
            "rounds": m.samples.len(),
            "seconds": seconds,
            "seconds_per_round": m.samples.iter().map(|s| s.seconds).collect::<Vec<_>>(),
            "records_per_s": records_per_s,
            "gb_per_s": gb_per_s,
            "ratio": ratio,
            "ratio_to": ratio_to,
            "cpu_seconds": m.median_cpu(),
            "peak_rss_anon_kib": m.peak_anon_kib(),
            "cache_drop": (m.cache == Cache::Cold).then(|| cache_drop.name()),
        });
        println!("{line}");
    }
    let summary = json!({
        "type": "summary",
        "machine": {
            "cores": machine.cores,
            "cpu": machine.cpu,
            "kernel": machine.kernel,
        },
        "log_dir": log.dir.display().to_string(),
        "generated": log.generated,
        "topics": log.topics,
        "partitions": log.partitions,
        "segments": log.files.len(),
        "bytes": log.bytes,
        "records": log.records,
        "rounds": rounds,
        "cache_drop": cache_drop.name(),
        "ok": mismatches.is_empty(),
        "mismatches": mismatches,
    });
    println!("{summary}");
}

fn print_table(
    log: &Log,
    measurements: &[Measurement],
    rounds: usize,
    cache_drop: CacheDrop,
    machine: &Machine,
) {
    println!(
        "kreplay bench: {} records, {} partitions, {} segment files, {:.1} MB ({}); medians of {} round(s)",
        log.records,
        log.partitions,
        log.files.len(),
        log.bytes as f64 / 1e6,
        if log.generated { "generated" } else { "given log dir" },
        rounds
    );
    println!(
        "machine: {} cores, {}, Linux {}; cold = caches dropped with {}",
        machine.cores,
        machine.cpu,
        machine.kernel,
        cache_drop.name()
    );
    println!();
    println!(
        "| measurement | io mode (used) | seconds | records/s | GB/s | ratio | CPU s | peak RssAnon |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for m in measurements {
        let (seconds, records_per_s, gb_per_s, ratio, ratio_to) = figures(log, m, measurements);
        let mode = match (replay_mode(m), m.io_mode_used()) {
            (Some(asked), Some(used)) if asked == used => asked.name().to_string(),
            (Some(asked), Some(used)) => format!("{asked} ({used})"),
            _ => "–".to_string(),
        };
        let ratio_text = match m.kind {
            Kind::Ceiling | Kind::Dd => "1.00".to_string(),
            Kind::Verify | Kind::Consume(Output::JsonBase64) => format!("{ratio:.2} ({ratio_to})"),
            _ => format!("{ratio:.2}"),
        };
        println!(
            "| {} | {} | {:.3} | {:.1} M | {:.2} | {} | {:.2} | {:.1} MiB |",
            m.label(),
            mode,
            seconds,
            records_per_s / 1e6,
            gb_per_s,
            ratio_text,
            m.median_cpu(),
            m.peak_anon_kib() as f64 / 1024.0
        );
    }
    println!();
    println!(
        "ratio: warm to the memory ceiling, cold to dd, verify to cat, JSON to its floor (same run); CPU s: user + system, all threads"
    );
}
