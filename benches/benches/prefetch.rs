//! Cold replay: prefetch ahead and touch every page of a mapped file whose
//! pages were evicted from the page cache, per `IoMode`, beside a
//! `dd bs=1M`-style sequential `read()` of the same file.
//!
//! Cold runs cannot be repeated inside one timing loop and the disk is
//! shared and noisy, so this is not a criterion loop: each round evicts the
//! file before every case and runs the cases in a rotating order
//! (interleaved), and the report gives each case's median throughput and its
//! ratio to the `read()` baseline (the median of the per-round ratios).
//!
//! The file is evicted with `posix_fadvise(DONTNEED)` (after `fsync`, its
//! pages are clean, and it is unmapped between cases); with
//! `KREPLAY_BENCH_DROP_CACHES=1` and root it also writes 1 to
//! `/proc/sys/vm/drop_caches`.
//!
//! ```text
//! cargo bench -p kreplay-benches --bench prefetch            # 256 MiB, 9 rounds
//! cargo bench -p kreplay-benches --bench prefetch -- --test  # harness check: 8 MiB, 1 round
//! ```
//!
//! Knobs (environment): `KREPLAY_BENCH_MIB` (file size, 256),
//! `KREPLAY_BENCH_ROUNDS` (9), `KREPLAY_BENCH_WINDOW_MIB` (how far ahead of
//! the reader each prefetch reaches, 16), `KREPLAY_BENCH_IN_FLIGHT_MIB` (the
//! io_uring budget, 8), `KREPLAY_BENCH_DIR` (where the file goes, a temp
//! dir by default: it must be on a real disk, not tmpfs),
//! `KREPLAY_BENCH_NO_READAHEAD=1` (`posix_fadvise(RANDOM)` on each file).
//!
//! The reader and the prefetcher share one thread, as in the consumer's
//! fetcher (which prefetches, then verifies CRCs over the same pages); the
//! reader touches the first byte of each page, 1 MiB per step, asking for
//! the window ahead before each step. CPU time is the whole process's
//! (io_uring's worker threads included).

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use kreplay::{IoMode, Mapping, Prefetcher, ReadStrategy, IO_URING_READ_ENV};

const PAGE: usize = 4096;
/// How much the reader consumes between two prefetch calls (a fetch).
const STEP: usize = 1 << 20;

#[derive(Clone, Copy)]
enum Case {
    /// `read()` of 1 MiB at a time into one buffer, like `dd bs=1M`.
    ReadBaseline,
    /// Touch every page through the mapping, prefetching with a mode.
    Touch(IoMode),
    /// `Touch(IoMode::Uring)` with `IORING_OP_READ` requests.
    TouchUringRead,
}

impl Case {
    fn name(self) -> String {
        match self {
            Case::ReadBaseline => "read_1MiB (dd)".to_string(),
            Case::Touch(mode) => format!("mmap_touch/{mode}"),
            Case::TouchUringRead => "mmap_touch/uring_read".to_string(),
        }
    }
}

struct Knobs {
    window: u64,
    in_flight: u64,
    drop_caches: bool,
    /// `posix_fadvise(RANDOM)` on every file read: the kernel's own
    /// readahead off, so only the prefetcher reads ahead.
    no_readahead: bool,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let test_mode = std::env::args().any(|a| a == "--test");
    let mib = if test_mode {
        8
    } else {
        env_u64("KREPLAY_BENCH_MIB", 256)
    };
    let rounds = if test_mode {
        1
    } else {
        env_u64("KREPLAY_BENCH_ROUNDS", 9) as usize
    };
    let knobs = Knobs {
        window: env_u64("KREPLAY_BENCH_WINDOW_MIB", 16) << 20,
        in_flight: env_u64("KREPLAY_BENCH_IN_FLIGHT_MIB", 8) << 20,
        drop_caches: std::env::var_os("KREPLAY_BENCH_DROP_CACHES").is_some_and(|v| v == "1"),
        no_readahead: std::env::var_os("KREPLAY_BENCH_NO_READAHEAD").is_some_and(|v| v == "1"),
    };

    let dir = match std::env::var_os("KREPLAY_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let path = dir.path().join("00000000000000000000.log");
    let len = (mib as usize) << 20;
    write_file(&path, len);

    let uring = Prefetcher::new(IoMode::Uring, knobs.in_flight);
    let mut cases = vec![Case::ReadBaseline, Case::Touch(IoMode::Off)];
    if uring.mode() == IoMode::Uring {
        cases.extend([Case::Touch(IoMode::Uring), Case::TouchUringRead]);
    } else {
        eprintln!(
            "io_uring unavailable ({}): skipping mmap_touch/uring",
            uring.fallback_reason().unwrap_or("?")
        );
    }
    drop(uring);
    cases.extend([Case::Touch(IoMode::Madvise), Case::Touch(IoMode::Pread)]);

    let expected = checksum_by_read(&path, false);
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let mut cpu: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        for i in 0..cases.len() {
            let n = (i + round) % cases.len();
            let case = cases[n];
            evict(&path, knobs.drop_caches);
            let cpu_before = process_cpu_time();
            let (elapsed, sum) = run(case, &path, &knobs);
            cpu[n].push(process_cpu_time().saturating_sub(cpu_before));
            assert_eq!(sum, expected, "{} saw other bytes", case.name());
            times[n].push(elapsed);
        }
    }

    println!(
        "prefetch/cold/{mib}MiB: {rounds} interleaved rounds, window {} MiB, io_uring budget {} MiB{}",
        knobs.window >> 20,
        knobs.in_flight >> 20,
        if knobs.no_readahead {
            ", kernel readahead off (FADV_RANDOM)"
        } else {
            ""
        }
    );
    let baseline = &times[0];
    for ((case, t), cpu) in cases.iter().zip(&times).zip(&mut cpu) {
        let gbps = |d: &Duration| len as f64 / d.as_secs_f64() / 1e9;
        let mut per_round_ratio: Vec<f64> = t
            .iter()
            .zip(baseline)
            .map(|(d, b)| b.as_secs_f64() / d.as_secs_f64())
            .collect();
        let mut speeds: Vec<f64> = t.iter().map(gbps).collect();
        let mut cpu_ms: Vec<f64> = cpu.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        println!(
            "  prefetch/cold/{mib}MiB/{:<20} median {:>6.2} GB/s  (min {:>5.2}, max {:>5.2})  vs read(): {:>5.2}x  cpu {:>6.1} ms",
            case.name(),
            median(&mut speeds),
            speeds.first().copied().unwrap_or(0.0),
            speeds.last().copied().unwrap_or(0.0),
            median(&mut per_round_ratio),
            median(&mut cpu_ms),
        );
    }
}

/// Writes `len` pseudo-random bytes and syncs them, so they can be evicted.
fn write_file(path: &Path, len: usize) {
    let mut rng = fastrand::Rng::with_seed(3);
    let mut file = File::create(path).expect("create");
    let mut chunk = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < len {
        rng.fill(&mut chunk);
        let n = chunk.len().min(len - written);
        file.write_all(&chunk[..n]).expect("write");
        written += n;
    }
    file.sync_all().expect("sync");
}

/// Drops the file's pages from the page cache.
fn evict(path: &Path, drop_caches: bool) {
    let file = File::open(path).expect("open");
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).expect("fadvise");
    if drop_caches {
        std::fs::write("/proc/sys/vm/drop_caches", "1").expect("drop_caches (root only)");
    }
}

/// One cold pass; returns its time and a checksum of one byte per page.
fn run(case: Case, path: &Path, knobs: &Knobs) -> (Duration, u64) {
    match case {
        Case::ReadBaseline => {
            let start = Instant::now();
            let sum = checksum_by_read(path, knobs.no_readahead);
            (start.elapsed(), sum)
        }
        Case::Touch(_) | Case::TouchUringRead => {
            let (mode, read) = match case {
                Case::Touch(mode) => (mode, false),
                _ => (IoMode::Uring, true),
            };
            let mapping = Mapping::open(path, ReadStrategy::Mmap).expect("map");
            if knobs.no_readahead {
                let file = mapping.file().expect("a file");
                rustix::fs::fadvise(&**file, 0, None, rustix::fs::Advice::Random).expect("fadvise");
            }
            // The bench is single-threaded: nothing reads the environment
            // concurrently.
            std::env::set_var(IO_URING_READ_ENV, if read { "1" } else { "0" });
            let mut prefetcher = Prefetcher::new(mode, knobs.in_flight);
            let start = Instant::now();
            let bytes = mapping.as_slice();
            let mut sum = 0u64;
            let mut position = 0;
            while position < bytes.len() {
                prefetcher.prefetch(&mapping, position as u64, knobs.window);
                prefetcher.reap();
                let end = (position + STEP).min(bytes.len());
                sum = sum.wrapping_add(touch(&bytes[position..end]));
                position = end;
            }
            let elapsed = start.elapsed();
            drop(prefetcher);
            (elapsed, sum)
        }
    }
}

/// The first byte of every page, summed (the reader's page faults).
fn touch(bytes: &[u8]) -> u64 {
    bytes.iter().step_by(PAGE).map(|&b| u64::from(b)).sum()
}

/// `read()` 1 MiB at a time, summing the first byte of every page.
fn checksum_by_read(path: &Path, no_readahead: bool) -> u64 {
    let mut file = File::open(path).expect("open");
    if no_readahead {
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Random).expect("fadvise");
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut sum = 0u64;
    let mut offset = 0usize;
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        // Pages start at multiples of PAGE in the file.
        let first = (PAGE - offset % PAGE) % PAGE;
        sum = sum.wrapping_add(touch(black_box(&buf[first.min(n)..n])));
        offset += n;
    }
    sum
}

/// CPU time of every thread of the process so far (io_uring's workers
/// included), from `/proc/self/task/*/schedstat`; zero where unavailable.
fn process_cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
