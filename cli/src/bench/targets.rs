//! The measurements `kreplay bench` takes for the targets that are not a
//! replay's speed, each beside the baseline it is held to in the same run:
//! `consume`'s formatting (text, and JSON with base64 against a floor doing
//! only the work every JSON line needs) and `verify` against `cat`.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use kreplay::{
    verify_path, AutoOffsetReset, Consumer, ConsumerConfig, LogPath, Severity, VerifyOptions,
};

use super::baselines::{each_record, open_touched, read_all, single_thread_sample};
use super::{consumer_sample, cpu_seconds, rss_anon_kib, Log, Sample};
use crate::consume::format_poll;
use crate::output::BytesEncoding;
use crate::record_format::{push_base64, RecordFormat, RecordWriter, TextBytes};

/// What `consume` writes, for the formatting measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Output {
    /// `--format text`.
    Text,
    /// `--format json --bytes base64`.
    JsonBase64,
}

impl Output {
    fn format(self) -> RecordFormat {
        match self {
            Output::Text => RecordFormat::Text(TextBytes::Raw),
            Output::JsonBase64 => RecordFormat::Json(BytesEncoding::Base64),
        }
    }
}

/// `cat` of the same warm files: a sequential `read()` of each.
pub(super) fn cat(log: &Log) -> anyhow::Result<Sample> {
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    black_box(read_all(log)?);
    let seconds = start.elapsed().as_secs_f64();
    Ok(single_thread_sample(seconds, cpu0, log.records))
}

/// What `kreplay verify` does to the log dir (every CRC, every record, the
/// indexes), on one thread.
pub(super) fn verify(log: &Log) -> anyhow::Result<Sample> {
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let reports = verify_path(&LogPath::LogDir(log.dir.clone()), &VerifyOptions::default())?;
    let seconds = start.elapsed().as_secs_f64();
    let problem = reports
        .iter()
        .flat_map(|r| r.issues())
        .find(|issue| issue.severity == Severity::Problem);
    if let Some(issue) = problem {
        anyhow::bail!("verify found a problem in the log being measured: {issue}");
    }
    Ok(single_thread_sample(seconds, cpu0, log.records))
}

/// The records per poll, as `consume`'s default (Kafka's
/// `max.poll.records`).
const POLL_RECORDS: usize = 500;

/// `kreplay consume -e -o beginning` to /dev/null: the consumer, the
/// records of each poll formatted by `consume`'s own code into one buffer,
/// and that buffer written to /dev/null.
pub(super) fn consume(log: &Log, output: Output) -> anyhow::Result<Sample> {
    let mut sink = File::create("/dev/null").context("opening /dev/null")?;
    let mut config = ConsumerConfig::new([log.dir.clone()]);
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.max_poll_records = POLL_RECORDS;
    let mut writer = RecordWriter::new(output.format());
    let mut buffer = Vec::with_capacity(256 * 1024);
    let peak = rss_anon_kib();
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut consumer = Consumer::new(config)?;
    consumer.subscribe(&log.topics)?;
    let mut records = 0u64;
    loop {
        let batch = consumer.poll(Duration::from_secs(5))?;
        let empty = batch.is_empty();
        buffer.clear();
        let formatted = format_poll(&batch, &mut writer, &mut buffer, None);
        if let Some(e) = formatted.error {
            return Err(e.into());
        }
        records += formatted.records;
        sink.write_all(&buffer).context("writing to /dev/null")?;
        if empty && consumer.at_end() {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(consumer);
    Ok(consumer_sample(seconds, cpu0, peak, records, None))
}

/// The bytes of a JSON line besides the topic, the digits, and the key and
/// value between their quotes: `{"topic":"","partition":,"offset":,
/// "timestamp":,"timestamp_type":0,"key":"","value":"","headers":[]}` and a
/// newline.
const JSON_LINE_FRAME: usize = 101;

/// Digits of `n` in decimal (with its sign).
fn digits(n: i64) -> usize {
    n.unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1)
        + usize::from(n < 0)
}

/// The floor of `consume --format json --bytes base64` on the thread that
/// formats: every record decoded (CRC off: the fetcher's work), its key and
/// value through `consume`'s base64 encoder, and the line's other bytes
/// (the frame, the topic, the digits; a null as `null`) written as one
/// copy of their exact length, polls of 500 lines written to /dev/null. No
/// formatter can do less for the same output.
pub(super) fn json_floor(log: &Log) -> anyhow::Result<Sample> {
    let mut sink = File::create("/dev/null").context("opening /dev/null")?;
    let segments = open_touched(log)?;
    let topic = log.topics.first().map_or(0, String::len);
    let partition = digits(log.partitions.saturating_sub(1) as i64);
    let frame = JSON_LINE_FRAME + topic + partition;
    let rest = vec![b'x'; frame + 2 * 20 + 2 * 2];
    let mut buffer: Vec<u8> = Vec::with_capacity(256 * 1024);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let mut lines = 0usize;
    let mut written: std::io::Result<()> = Ok(());
    let records = each_record(&segments, false, |record| {
        let nulls = usize::from(record.key().is_none()) + usize::from(record.value().is_none());
        let len =
            frame + digits(record.offset()) + record.timestamp().map_or(4, digits) + 2 * nulls;
        buffer.extend_from_slice(&rest[..len]);
        for bytes in [record.key(), record.value()].into_iter().flatten() {
            push_base64(&mut buffer, bytes);
        }
        lines += 1;
        if lines == POLL_RECORDS {
            if written.is_ok() {
                written = sink.write_all(&buffer);
            }
            buffer.clear();
            lines = 0;
        }
    })?;
    written
        .and_then(|()| sink.write_all(&buffer))
        .context("writing to /dev/null")?;
    let seconds = start.elapsed().as_secs_f64();
    // Every record of the segments, below the log start too (as the decode
    // floor counts them).
    Ok(single_thread_sample(seconds, cpu0, records))
}
