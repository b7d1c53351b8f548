//! `kreplay verify`: prints what the engine's verification reports, one
//! block per segment and a summary line.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use clap::Args;
use kreplay::index::IndexStatus;
use kreplay::{
    list_partitions, verify_segment_file, LogPath, Partition, PartitionVerifier, SegmentReport,
    Severity, TopicPartition, VerifyOptions, VerifySummary,
};
use serde::Serialize;

use crate::output::{self, IndexHealth, Out};
use crate::shared_args::{format, Format, ReadArgs, SegmentNames};
use crate::status::{Diagnostics, Status};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Log dirs, partition dirs or segment (.log) files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read a file named on the command line even when its name is not a Kafka
    /// segment name (<20-digit base offset>.log); refused otherwise.
    #[arg(long)]
    any_file_name: bool,
    /// One JSON object per line: per segment, then a summary.
    #[arg(long)]
    json: bool,
    /// Do not check .index and .timeindex files against the log.
    #[arg(long)]
    skip_indexes: bool,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub paths: Vec<PathBuf>,
    pub segment_names: SegmentNames,
    pub format: Format,
    pub options: VerifyOptions,
}

impl VerifyArgs {
    /// What `verify` runs with.
    pub fn config(self) -> VerifyConfig {
        let read = self.read.options(true);
        VerifyConfig {
            format: format(self.json),
            options: VerifyOptions::default()
                .with_strategy(read.strategy)
                .with_max_inflated_bytes(read.max_inflated_bytes)
                .with_check_indexes(!self.skip_indexes),
            segment_names: SegmentNames::of(self.any_file_name),
            paths: self.paths,
        }
    }
}

/// What one PATH asks to verify.
enum Target {
    Partition(Partition),
    Segment(PathBuf),
}

impl Target {
    fn bytes(&self) -> u64 {
        match self {
            Target::Partition(p) => p.segments().iter().map(|s| s.size).sum(),
            Target::Segment(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
        }
    }
}

/// Runs `kreplay verify`.
pub fn run(config: &VerifyConfig) -> anyhow::Result<Status> {
    let diagnostics = Diagnostics::new(true);
    let mut status = Status::Ok;
    let fail = |error: &kreplay::Error, status: &mut Status| {
        diagnostics.error(error);
        *status = status.worst(Status::of_error(error));
    };
    let read = config.options.read_options();
    let mut targets = Vec::new();
    for path in &config.paths {
        match kreplay::classify(path) {
            Ok(LogPath::LogDir(dir)) => match list_partitions(&dir) {
                Ok(dirs) => {
                    if dirs.is_empty() {
                        // Verifying nothing is not a success.
                        diagnostics.error(format_args!(
                            "{}: no partition directories found: nothing to verify",
                            dir.display()
                        ));
                        status = status.worst(Status::Failure);
                    }
                    for dir in dirs {
                        match Partition::open(&dir, read) {
                            Ok(p) => targets.push(Target::Partition(p)),
                            Err(e) => fail(&e, &mut status),
                        }
                    }
                }
                Err(e) => fail(&e, &mut status),
            },
            Ok(LogPath::PartitionDir(dir)) => match Partition::open(&dir, read) {
                Ok(p) => targets.push(Target::Partition(p)),
                Err(e) => fail(&e, &mut status),
            },
            Ok(LogPath::Segment(file)) => {
                if crate::segment_name::accept(&file, config.segment_names, &diagnostics) {
                    targets.push(Target::Segment(file));
                } else {
                    status = status.worst(Status::Failure);
                }
            }
            Err(e) => fail(&e, &mut status),
        }
    }
    if targets.is_empty() {
        // No summary: "verified 0 partitions … OK" would read as a pass.
        if status == Status::Ok {
            diagnostics.error("nothing to verify");
            status = Status::Failure;
        }
        return Ok(status);
    }
    diagnostics.add_work(targets.iter().map(Target::bytes).sum());

    let mut printer = Printer {
        out: output::stdout(),
        format: config.format,
    };
    let mut summary = VerifySummary::default();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(targets.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, Verified)>();
    // Targets are verified on one thread per core, and printed in order as
    // they come in: what each one reports does not depend on the others.
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..workers {
            let sender = sender.clone();
            let (targets, next) = (&targets, &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(target) = targets.get(index) else {
                    return;
                };
                if !verify_target(target, &config.options, |item| {
                    sender.send((index, item)).is_ok()
                }) {
                    return;
                }
            });
        }
        drop(sender);
        // Dropped when this returns, early too: the workers then stop.
        let receiver = receiver;
        let mut waiting: Vec<VecDeque<Verified>> =
            targets.iter().map(|_| VecDeque::new()).collect();
        for (index, target) in targets.iter().enumerate() {
            if let Target::Partition(partition) = target {
                summary.partitions += 1;
                printer.partition(partition.topic_partition(), partition.dir())?;
            }
            loop {
                let item = match waiting[index].pop_front() {
                    Some(item) => item,
                    None => match receiver.recv() {
                        Ok((i, item)) if i == index => item,
                        Ok((i, item)) => {
                            waiting[i].push_back(item);
                            continue;
                        }
                        // Every worker is gone: nothing more comes.
                        Err(_) => break,
                    },
                };
                match item {
                    Verified::Segment(Ok(report)) => {
                        if let Target::Partition(partition) = target {
                            diagnostics.done(report.size);
                            summary.add_segment(&report);
                            printer.segment(partition.topic_partition(), &report)?;
                        }
                    }
                    Verified::File(Ok(report)) => {
                        summary.add(&report);
                        printer.partition(&report.topic_partition, &report.dir)?;
                        for segment in &report.segments {
                            diagnostics.done(segment.size);
                            printer.segment(&report.topic_partition, segment)?;
                        }
                    }
                    Verified::Segment(Err(e)) | Verified::File(Err(e)) => fail(&e, &mut status),
                    Verified::Done => break,
                }
            }
        }
        Ok(())
    })?;
    diagnostics.finish();
    printer.summary(&summary)?;
    printer.out.flush()?;
    if summary.problems > 0 {
        status = status.worst(Status::DataError);
    }
    Ok(status)
}

/// What a worker reports of a target, in order; `Done` ends each target.
enum Verified {
    /// One segment of a partition target.
    Segment(kreplay::Result<SegmentReport>),
    File(kreplay::Result<kreplay::PartitionReport>),
    Done,
}

/// Verifies `target`, passing each result to `report` (false: stop, the
/// printer is gone), then `Done`. False when `report` said stop.
fn verify_target(
    target: &Target,
    options: &kreplay::VerifyOptions,
    mut report: impl FnMut(Verified) -> bool,
) -> bool {
    match target {
        Target::Partition(partition) => {
            let mut verifier = PartitionVerifier::new(*options);
            for n in 0..partition.segments().len() {
                let result = verifier.verify_partition_segment(partition, n);
                if !report(Verified::Segment(result)) {
                    return false;
                }
            }
        }
        Target::Segment(file) => {
            if !report(Verified::File(verify_segment_file(file, options))) {
                return false;
            }
        }
    }
    report(Verified::Done)
}

struct Printer {
    out: Out,
    format: Format,
}

fn severity_name(severity: Option<Severity>) -> &'static str {
    match severity {
        None => "ok",
        Some(s) => s.name(),
    }
}

fn plural(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[derive(Serialize)]
struct IssueLine<'a> {
    severity: &'static str,
    kind: &'static str,
    path: std::borrow::Cow<'a, str>,
    position: Option<u64>,
    offset: Option<i64>,
    message: String,
}

#[derive(Serialize)]
struct SegmentLine<'a> {
    r#type: &'static str,
    topic: &'a str,
    partition: i32,
    segment: std::borrow::Cow<'a, str>,
    base_offset: i64,
    size: u64,
    batches: u64,
    records: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
    valid_bytes: u64,
    offset_index: Option<String>,
    time_index: Option<String>,
    txn_index: Option<String>,
    status: &'static str,
    issues: Vec<IssueLine<'a>>,
}

#[derive(Serialize)]
struct SummaryLine {
    r#type: &'static str,
    partitions: u64,
    segments: u64,
    bytes: u64,
    batches: u64,
    records: u64,
    problems: u64,
    warnings: u64,
    status: &'static str,
}

impl Printer {
    fn partition(&mut self, tp: &TopicPartition, dir: &Path) -> io::Result<()> {
        if self.format == Format::Text {
            writeln!(self.out, "{tp} ({})", dir.display())?;
        }
        Ok(())
    }

    fn segment(&mut self, tp: &TopicPartition, report: &SegmentReport) -> io::Result<()> {
        if self.format == Format::Json {
            let line = SegmentLine {
                r#type: "segment",
                topic: &tp.topic,
                partition: tp.partition,
                segment: report.path.to_string_lossy(),
                base_offset: report.base_offset,
                size: report.size,
                batches: report.batches,
                records: report.records,
                first_offset: report.first_offset,
                last_offset: report.last_offset,
                valid_bytes: report.valid_bytes,
                offset_index: report.offset_index.as_ref().map(|s| s.to_string()),
                time_index: report.time_index.as_ref().map(|s| s.to_string()),
                txn_index: report.txn_index.as_ref().map(|s| s.to_string()),
                status: severity_name(report.worst()),
                issues: report
                    .issues
                    .iter()
                    .map(|i| IssueLine {
                        severity: i.severity.name(),
                        kind: i.kind.code(),
                        path: i.path.to_string_lossy(),
                        position: i.position,
                        offset: i.offset,
                        message: i.kind.to_string(),
                    })
                    .collect(),
            };
            return output::json_line(&mut self.out, &line);
        }
        let name = report.path.file_name().map_or_else(
            || report.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let offsets = match (report.first_offset, report.last_offset) {
            (Some(first), Some(last)) => format!(", offsets {first}..={last}"),
            _ => String::new(),
        };
        let mut indexes = String::new();
        for (name, status) in [
            ("index", &report.offset_index),
            ("timeindex", &report.time_index),
            ("txnindex", &report.txn_index),
        ] {
            match status {
                // A missing .txnindex is the normal case (no aborted transactions).
                Some(IndexStatus::Missing) if name == "txnindex" => {}
                Some(status) => {
                    indexes.push_str(&format!(", {name} {}", IndexHealth::of(status).name()))
                }
                None => {}
            }
        }
        let verdict = match report.worst() {
            None => "OK".to_string(),
            Some(_) => {
                let problems = report.count(Severity::Problem) as u64;
                let warnings = report.count(Severity::Warning) as u64;
                match (problems, warnings) {
                    (0, w) => plural(w, "warning"),
                    (p, 0) => plural(p, "problem"),
                    (p, w) => format!("{}, {}", plural(p, "problem"), plural(w, "warning")),
                }
            }
        };
        writeln!(
            self.out,
            "  {name}: {verdict} ({}, {}{offsets}, {} bytes{indexes})",
            plural(report.batches, "batch").replace("batchs", "batches"),
            plural(report.records, "record"),
            report.size,
        )?;
        for issue in &report.issues {
            writeln!(self.out, "    {issue}")?;
        }
        Ok(())
    }

    fn summary(&mut self, s: &VerifySummary) -> io::Result<()> {
        let status = match s.worst() {
            Some(Severity::Problem) => "corrupt",
            Some(Severity::Warning) => "ok with warnings",
            None => "ok",
        };
        if self.format == Format::Json {
            let line = SummaryLine {
                r#type: "summary",
                partitions: s.partitions,
                segments: s.segments,
                bytes: s.bytes,
                batches: s.batches,
                records: s.records,
                problems: s.problems,
                warnings: s.warnings,
                status: match s.worst() {
                    Some(Severity::Problem) => "corrupt",
                    _ => "ok",
                },
            };
            return output::json_line(&mut self.out, &line);
        }
        writeln!(
            self.out,
            "verified {}, {}, {}, {}, {} bytes: {}, {}: {}",
            plural(s.partitions, "partition"),
            plural(s.segments, "segment"),
            plural(s.batches, "batch").replace("batchs", "batches"),
            plural(s.records, "record"),
            s.bytes,
            plural(s.problems, "problem"),
            plural(s.warnings, "warning"),
            status.to_uppercase(),
        )
    }
}
