//! The baselines `kreplay bench` measures beside the replays, each a floor
//! of one thread's unavoidable work or a ceiling the replays are held to:
//! the memory ceiling, page tables, batches with CRC, records decoded, and
//! `dd`'s sequential `read()`.

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

use anyhow::{bail, Context};
use kreplay::{Mapping, ReadOptions, ReadStrategy, Segment};

use super::{cpu_seconds, rss_anon_kib, Log, Sample};

/// Reads every segment file once, untimed, so that warm means warm.
pub(super) fn warm_up(log: &Log) -> anyhow::Result<()> {
    read_all(log).map(|_| ())
}

/// Sequential `read()` of every segment file into one 1 MiB buffer.
pub(super) fn read_all(log: &Log) -> anyhow::Result<u64> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    for (path, _) in &log.files {
        let mut file = File::open(path).with_context(|| format!("{}", path.display()))?;
        loop {
            let n = file
                .read(&mut buffer)
                .with_context(|| format!("{}", path.display()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    black_box(&buffer);
    Ok(total)
}

pub(super) fn dd(log: &Log) -> anyhow::Result<Sample> {
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let bytes = read_all(log)?;
    let seconds = start.elapsed().as_secs_f64();
    if bytes != log.bytes {
        bail!(
            "read {bytes} bytes of segment files, expected {}",
            log.bytes
        );
    }
    Ok(single_thread_sample(seconds, cpu0, log.records))
}

/// A sample of a measurement without a consumer: `seconds` of wall time
/// since CPU time was `cpu0`.
pub(super) fn single_thread_sample(seconds: f64, cpu0: f64, records: u64) -> Sample {
    Sample {
        seconds,
        cpu_seconds: cpu_seconds() - cpu0,
        peak_anon_kib: rss_anon_kib(),
        records,
        io_mode_used: None,
    }
}

/// What every replay and the decode floor read of a record, folded into `acc`.
#[inline(always)]
pub(super) fn touch(acc: u64, record: &kreplay::Record<'_>) -> u64 {
    acc.wrapping_add(record.offset() as u64)
        .wrapping_add(record.timestamp().unwrap_or(-1) as u64)
        .wrapping_add(record.key().map_or(0, <[u8]>::len) as u64)
        .wrapping_add(record.value().map_or(0, <[u8]>::len) as u64)
}

pub(super) fn sum_u64(bytes: &[u8]) -> u64 {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .fold(0u64, |sum, &b| sum.wrapping_add(u64::from(b)));
    chunks
        .map(|c| c.try_into().map_or(0, u64::from_le_bytes))
        .fold(tail, u64::wrapping_add)
}

/// Sums the mapped segment bytes as u64 (the mappings touched once before,
/// untimed, so that page faults are not counted).
pub(super) fn ceiling(log: &Log) -> anyhow::Result<Sample> {
    let mut maps = Vec::with_capacity(log.files.len());
    for (path, _) in &log.files {
        let map = Mapping::open(path, ReadStrategy::Mmap)?;
        black_box(sum_u64(map.as_slice()));
        maps.push(map);
    }
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut sum = 0u64;
    for map in &maps {
        sum = sum.wrapping_add(sum_u64(black_box(map.as_slice())));
    }
    black_box(sum);
    let seconds = start.elapsed().as_secs_f64();
    Ok(single_thread_sample(seconds, cpu0, log.records))
}

/// Maps every segment, touches one byte per page and unmaps it again, as a
/// replay in a new process must (the pages are in the page cache).
pub(super) fn page_tables(log: &Log) -> anyhow::Result<Sample> {
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut sum = 0u64;
    for (path, _) in &log.files {
        let map = Mapping::open(path, ReadStrategy::Mmap)?;
        sum = map
            .as_slice()
            .iter()
            .step_by(4096)
            .fold(sum, |sum, &b| sum.wrapping_add(u64::from(b)));
    }
    black_box(sum);
    let seconds = start.elapsed().as_secs_f64();
    Ok(single_thread_sample(seconds, cpu0, log.records))
}

/// The segments, opened and their pages touched once untimed (so that page
/// faults are not counted).
pub(super) fn open_touched(log: &Log) -> anyhow::Result<Vec<Segment>> {
    let mut segments = Vec::with_capacity(log.files.len());
    for (path, _) in &log.files {
        let segment = Segment::open(path, ReadStrategy::Mmap)?;
        black_box(sum_u64(segment.mapping().as_slice()));
        segments.push(segment);
    }
    Ok(segments)
}

/// Frames every batch and checks its CRC on one thread.
pub(super) fn crc_only(log: &Log) -> anyhow::Result<Sample> {
    let segments = open_touched(log)?;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut batches = 0u64;
    for segment in &segments {
        for batch in segment.batches_from(0, true) {
            black_box(batch?);
            batches += 1;
        }
    }
    black_box(batches);
    let seconds = start.elapsed().as_secs_f64();
    Ok(single_thread_sample(seconds, cpu0, log.records))
}

/// Every data record of `segments`, decoded on one thread with or without
/// CRCs and passed to `f` (compressed batches are inflated: that is the
/// caller's work too); the records passed.
pub(super) fn each_record(
    segments: &[Segment],
    crc: bool,
    mut f: impl FnMut(&kreplay::Record<'_>),
) -> anyhow::Result<u64> {
    let mut inflater = ReadOptions::default().inflater();
    let mut records = 0u64;
    for segment in segments {
        for batch in segment.batches_from(0, crc) {
            let batch = batch?;
            if batch.is_control_batch() {
                continue;
            }
            let mut failed = None;
            batch
                .records(&mut inflater)
                .map_err(|kind| segment.corrupt(batch.position, None, kind))?
                .for_each(|record| match record {
                    Ok(record) => {
                        records += 1;
                        f(&record);
                    }
                    Err(kind) => failed = failed.take().or(Some(kind)),
                });
            if let Some(kind) = failed {
                return Err(segment.corrupt(batch.position, None, kind).into());
            }
        }
    }
    Ok(records)
}

/// Decodes every record on one thread, with or without CRCs, touching what
/// a replay touches.
pub(super) fn decode_only(log: &Log, crc: bool) -> anyhow::Result<Sample> {
    let segments = open_touched(log)?;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut touched = 0u64;
    let records = each_record(&segments, crc, |record| touched = touch(touched, record))?;
    black_box(touched);
    let seconds = start.elapsed().as_secs_f64();
    // Every record of the segments, below the log start too: only the
    // replays are checked against the log's count.
    Ok(single_thread_sample(seconds, cpu0, records))
}
