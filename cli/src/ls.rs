//! `kreplay ls`: a table of partitions (and segments), like a Kafka admin
//! tool's. Only batch headers are read (CRCs are not checked; `verify` does
//! that), except legacy compressed wrappers, whose record count and offsets
//! need their inner messages.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use kreplay::index::{OffsetIndex, TimeIndex};
use kreplay::{
    list_partitions, Inflater, LogPath, Partition, PartitionDir, ReadOptions, SegmentEnd,
    SegmentFile, TopicPartition, TornTail, TornTailKind, MAGIC_V2,
};
use serde::Serialize;

use crate::ls_metadata;
use crate::output::{self, format_timestamp, IndexHealth, Out};
use crate::shared_args::{format, Format, ReadArgs};
use crate::status::{Diagnostics, Status};

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Log dirs or partition dirs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// List every segment of each partition.
    #[arg(long)]
    segments: bool,
    /// One JSON object per line (per partition, and per segment with --segments).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    read: ReadArgs,
}

/// What `ls` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LsDetail {
    Partitions,
    Segments,
}

#[derive(Debug, Clone)]
pub struct LsConfig {
    pub paths: Vec<PathBuf>,
    pub detail: LsDetail,
    pub format: Format,
    pub read: ReadOptions,
}

impl LsArgs {
    /// What `ls` runs with.
    pub fn config(self) -> LsConfig {
        LsConfig {
            detail: if self.segments {
                LsDetail::Segments
            } else {
                LsDetail::Partitions
            },
            format: format(self.json),
            read: self.read.options(true),
            paths: self.paths,
        }
    }
}

/// What a header scan of one segment found.
#[derive(Debug)]
struct SegmentStats {
    path: String,
    base_offset: i64,
    size: u64,
    batches: u64,
    records: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
    offset_index: String,
    time_index: String,
    index: IndexHealth,
    torn_tail: Option<TornTail>,
    /// Where the scan stopped at corruption.
    corrupt_at: Option<u64>,
}

/// One partition's line.
#[derive(Debug)]
struct PartitionStats {
    topic_partition: TopicPartition,
    dir: String,
    log_start_offset: Option<i64>,
    log_end_offset: Option<i64>,
    segments: Vec<SegmentStats>,
}

impl PartitionStats {
    fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    fn first_timestamp(&self) -> Option<i64> {
        self.segments.iter().filter_map(|s| s.first_timestamp).min()
    }

    fn last_timestamp(&self) -> Option<i64> {
        self.segments.iter().filter_map(|s| s.last_timestamp).max()
    }

    /// The worst index health of its segments (`ok` with no segments).
    fn index(&self) -> IndexHealth {
        self.segments
            .iter()
            .map(|s| s.index)
            .max()
            .unwrap_or(IndexHealth::Ok)
    }
}

/// Runs `kreplay ls`.
pub fn run(config: &LsConfig) -> anyhow::Result<Status> {
    let diagnostics = Diagnostics::new(false);
    let mut status = Status::Ok;
    let mut fail = |message: &dyn std::fmt::Display, s: Status| {
        diagnostics.error(message);
        status = status.worst(s);
    };
    let mut dirs: Vec<PartitionDir> = Vec::new();
    let mut log_dirs = Vec::new();
    for path in &config.paths {
        match kreplay::classify(path) {
            Ok(LogPath::LogDir(dir)) => match list_partitions(&dir) {
                Ok(found) => {
                    if found.is_empty() {
                        diagnostics.warning(format_args!(
                            "{}: no partition directories found",
                            dir.display()
                        ));
                    }
                    dirs.extend(found);
                    log_dirs.push(dir);
                }
                Err(e) => fail(&e, Status::of_error(&e)),
            },
            Ok(LogPath::PartitionDir(dir)) => dirs.push(dir),
            Ok(LogPath::Segment(file)) => fail(
                &format_args!(
                    "{}: not a directory (ls takes log dirs and partition dirs; try dump)",
                    file.display()
                ),
                Status::Failure,
            ),
            Err(e) => fail(&e, Status::of_error(&e)),
        }
    }
    let mut partitions = Vec::with_capacity(dirs.len());
    let mut inflater = Inflater::new(config.read.max_inflated_bytes, false);
    for dir in &dirs {
        match Partition::open(dir, config.read) {
            Ok(partition) => {
                let (stats, s) = scan_partition(&partition, &mut inflater, &diagnostics);
                status = status.worst(s);
                partitions.push(stats);
            }
            Err(e) => {
                diagnostics.error(&e);
                status = status.worst(Status::of_error(&e));
            }
        }
    }
    let mut out = output::stdout();
    if partitions.is_empty() {
        return Ok(status);
    }
    // Topics as `__cluster_metadata` knows them, when a log dir holds it.
    let topics = ls_metadata::topics(&log_dirs, &dirs, config.read, &diagnostics, &mut status);
    match config.format {
        Format::Json => {
            print_json(&mut out, &partitions, config.detail)?;
            ls_metadata::print_json(&mut out, &topics)?;
        }
        Format::Text => {
            print_text(&mut out, &partitions, config.detail)?;
            ls_metadata::print_text(&mut out, &topics, table)?;
        }
    }
    out.flush()?;
    Ok(status)
}

fn scan_partition(
    partition: &Partition,
    inflater: &mut Inflater,
    diagnostics: &Diagnostics,
) -> (PartitionStats, Status) {
    let mut status = Status::Ok;
    let mut segments = Vec::new();
    for (n, file) in partition.segments().iter().enumerate() {
        match scan_segment(partition, n, file, inflater) {
            Ok((stats, error)) => {
                if let Some(error) = error {
                    diagnostics.error(&error);
                    status = status.worst(Status::of_error(&error));
                }
                if let Some(tail) = &stats.torn_tail {
                    if n + 1 < partition.segments().len() {
                        diagnostics.error(format_args!(
                            "{}: {tail} (not the last segment)",
                            stats.path
                        ));
                        status = status.worst(Status::DataError);
                    }
                }
                segments.push(stats);
            }
            Err(e) => {
                diagnostics.error(&e);
                status = status.worst(Status::of_error(&e));
            }
        }
    }
    // The offset after the last complete batch; the last segment's base
    // offset when no segment holds a batch after it (as the engine defines it).
    let log_end_offset = segments
        .iter()
        .rev()
        .find_map(|s| s.last_offset.map(|o| o.saturating_add(1)))
        .or_else(|| segments.last().map(|s| s.base_offset));
    let log_start_offset = partition.log_start_offset().ok().or_else(|| {
        segments
            .iter()
            .find_map(|s| s.first_offset)
            .or_else(|| segments.first().map(|s| s.base_offset))
    });
    let stats = PartitionStats {
        topic_partition: partition.topic_partition().clone(),
        dir: partition.dir().display().to_string(),
        log_start_offset,
        log_end_offset,
        segments,
    };
    (stats, status)
}

/// Scans segment `n`'s batch headers and opens its indexes. Corruption ends
/// the scan and comes back beside the stats of what came before it.
fn scan_segment(
    partition: &Partition,
    n: usize,
    file: &SegmentFile,
    inflater: &mut Inflater,
) -> kreplay::Result<(SegmentStats, Option<kreplay::Error>)> {
    let segment = partition.open_segment(n)?;
    let strategy = partition.options().strategy;
    let (offset_index, offset_status) = OffsetIndex::open(
        &file.index_path("index"),
        strategy,
        file.base_offset,
        segment.size(),
    );
    let (time_index, time_status) = TimeIndex::open(
        &file.index_path("timeindex"),
        strategy,
        file.base_offset,
        None,
    );
    let mut stats = SegmentStats {
        path: segment.path().display().to_string(),
        base_offset: segment.base_offset(),
        size: segment.size(),
        batches: 0,
        records: 0,
        first_offset: None,
        last_offset: None,
        first_timestamp: None,
        last_timestamp: None,
        index: IndexHealth::of(&offset_status).max(IndexHealth::of(&time_status)),
        offset_index: offset_status.to_string(),
        time_index: time_status.to_string(),
        torn_tail: None,
        corrupt_at: None,
    };
    let mut error = None;
    // The end of the last complete batch.
    let mut valid_end = 0u64;
    let mut batches = segment.batches_from(0, false);
    let timestamps = |stats: &mut SegmentStats, low: Option<i64>, high: Option<i64>| {
        if let Some(low) = low {
            stats.first_timestamp = Some(stats.first_timestamp.map_or(low, |t| t.min(low)));
        }
        if let Some(high) = high {
            stats.last_timestamp = Some(stats.last_timestamp.map_or(high, |t| t.max(high)));
        }
    };
    for item in batches.by_ref() {
        let batch = match item {
            Ok(batch) => batch,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let (records, first_offset, low, high) = match batch.records_count() {
            Some(count) => {
                // A LogAppendTime batch's records all carry its max timestamp.
                let low = if batch.magic() == MAGIC_V2
                    && batch.timestamp_type() == Some(kreplay::TimestampType::LogAppendTime)
                {
                    batch.max_timestamp()
                } else {
                    batch.base_timestamp()
                };
                (
                    u64::try_from(count).unwrap_or(0),
                    batch.base_offset(),
                    low,
                    batch.max_timestamp(),
                )
            }
            None => {
                // A legacy compressed wrapper: count its inner messages.
                let decoded: Result<Vec<(i64, Option<i64>)>, _> =
                    batch.records(inflater).and_then(|records| {
                        records
                            .map(|r| r.map(|r| (r.offset(), r.timestamp())))
                            .collect()
                    });
                match decoded {
                    Ok(inner) => (
                        inner.len() as u64,
                        inner.first().map_or(batch.base_offset(), |r| r.0),
                        inner.iter().filter_map(|r| r.1).min(),
                        inner.iter().filter_map(|r| r.1).max(),
                    ),
                    Err(kind) => {
                        error =
                            Some(segment.corrupt(batch.position, Some(batch.base_offset()), kind));
                        stats.corrupt_at = Some(batch.position);
                        break;
                    }
                }
            }
        };
        valid_end = batch.position + batch.size_in_bytes() as u64;
        stats.batches += 1;
        stats.records += records;
        stats.first_offset.get_or_insert(first_offset);
        stats.last_offset = Some(batch.last_offset());
        timestamps(&mut stats, low, high);
    }
    match batches.end() {
        Some(SegmentEnd::TornTail(tail)) => stats.torn_tail = Some(*tail),
        Some(SegmentEnd::Corrupt { position }) => stats.corrupt_at = Some(*position),
        _ => {}
    }
    // The cheap checks verify makes too: an entry past the last complete
    // batch or the last offset cannot be used (readers scan there).
    let offset_past_end = offset_index.as_ref().is_some_and(|index| {
        index.entries().any(|e| {
            u64::from(e.position) >= valid_end
                || stats.last_offset.is_none_or(|last| e.offset > last)
        })
    });
    if offset_past_end {
        stats.index = stats.index.max(IndexHealth::RebuiltByScan);
        stats.offset_index = format!(
            "{}; entries past the last complete batch",
            stats.offset_index
        );
    }
    let time_past_end = time_index.as_ref().is_some_and(|index| {
        index
            .entries()
            .any(|e| stats.last_offset.is_none_or(|last| e.offset > last))
    });
    if time_past_end {
        stats.index = stats.index.max(IndexHealth::RebuiltByScan);
        stats.time_index = format!("{}; entries past the last offset", stats.time_index);
    }
    Ok((stats, error))
}

fn tail_kind(kind: TornTailKind) -> &'static str {
    match kind {
        TornTailKind::PartialHeader => "partial-header",
        TornTailKind::PartialBatch { .. } => "partial-batch",
        TornTailKind::ZeroPadding => "zero-padding",
    }
}

/// The TAIL column: `-`, `torn@POSITION+BYTES(kind)` or `corrupt@POSITION`.
fn tail_text(s: &SegmentStats) -> String {
    match (&s.torn_tail, s.corrupt_at) {
        (_, Some(position)) => format!("corrupt@{position}"),
        (Some(t), None) => format!(
            "torn@{}+{}({})",
            t.valid_bytes,
            t.trailing_bytes,
            tail_kind(t.kind)
        ),
        (None, None) => "-".into(),
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn time(value: Option<i64>) -> String {
    value.map_or_else(|| "-".to_string(), format_timestamp)
}

/// Writes rows as a table: columns padded to their widest cell.
fn table(out: &mut Out, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let mut text = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&mut header.iter().copied())?;
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

fn print_text(out: &mut Out, partitions: &[PartitionStats], detail: LsDetail) -> io::Result<()> {
    let rows: Vec<Vec<String>> = partitions
        .iter()
        .map(|p| {
            vec![
                p.topic_partition.topic.clone(),
                p.topic_partition.partition.to_string(),
                p.segments.len().to_string(),
                opt(p.log_start_offset),
                opt(p.log_end_offset),
                p.size().to_string(),
                time(p.first_timestamp()),
                time(p.last_timestamp()),
                p.index().name().to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "TOPIC",
            "PARTITION",
            "SEGMENTS",
            "LOG-START-OFFSET",
            "LOG-END-OFFSET",
            "SIZE",
            "FIRST-TIMESTAMP",
            "LAST-TIMESTAMP",
            "INDEX",
        ],
        &rows,
    )?;
    if detail == LsDetail::Partitions {
        return Ok(());
    }
    writeln!(out)?;
    let rows: Vec<Vec<String>> = partitions
        .iter()
        .flat_map(|p| {
            p.segments.iter().map(move |s| {
                vec![
                    p.topic_partition.topic.clone(),
                    p.topic_partition.partition.to_string(),
                    s.base_offset.to_string(),
                    s.size.to_string(),
                    s.batches.to_string(),
                    s.records.to_string(),
                    opt(s.first_offset),
                    opt(s.last_offset),
                    time(s.first_timestamp),
                    time(s.last_timestamp),
                    s.index.name().to_string(),
                    tail_text(s),
                ]
            })
        })
        .collect();
    table(
        out,
        &[
            "TOPIC",
            "PARTITION",
            "BASE-OFFSET",
            "SIZE",
            "BATCHES",
            "RECORDS",
            "FIRST-OFFSET",
            "LAST-OFFSET",
            "FIRST-TIMESTAMP",
            "LAST-TIMESTAMP",
            "INDEX",
            "TAIL",
        ],
        &rows,
    )
}

#[derive(Serialize)]
struct PartitionLine<'a> {
    r#type: &'static str,
    topic: &'a str,
    partition: i32,
    dir: &'a str,
    segments: usize,
    log_start_offset: Option<i64>,
    log_end_offset: Option<i64>,
    size: u64,
    batches: u64,
    records: u64,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
    index: &'static str,
}

#[derive(Serialize)]
struct TornTailJson {
    position: u64,
    trailing_bytes: u64,
    kind: &'static str,
}

#[derive(Serialize)]
struct SegmentLine<'a> {
    r#type: &'static str,
    topic: &'a str,
    partition: i32,
    segment: &'a str,
    base_offset: i64,
    size: u64,
    batches: u64,
    records: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
    index: &'static str,
    offset_index: &'a str,
    time_index: &'a str,
    torn_tail: Option<TornTailJson>,
    corrupt_at: Option<u64>,
}

fn print_json(out: &mut Out, partitions: &[PartitionStats], detail: LsDetail) -> io::Result<()> {
    for p in partitions {
        let tp = &p.topic_partition;
        output::json_line(
            out,
            &PartitionLine {
                r#type: "partition",
                topic: &tp.topic,
                partition: tp.partition,
                dir: &p.dir,
                segments: p.segments.len(),
                log_start_offset: p.log_start_offset,
                log_end_offset: p.log_end_offset,
                size: p.size(),
                batches: p.segments.iter().map(|s| s.batches).sum(),
                records: p.segments.iter().map(|s| s.records).sum(),
                first_timestamp: p.first_timestamp(),
                last_timestamp: p.last_timestamp(),
                index: p.index().name(),
            },
        )?;
        if detail == LsDetail::Segments {
            for s in &p.segments {
                output::json_line(
                    out,
                    &SegmentLine {
                        r#type: "segment",
                        topic: &tp.topic,
                        partition: tp.partition,
                        segment: &s.path,
                        base_offset: s.base_offset,
                        size: s.size,
                        batches: s.batches,
                        records: s.records,
                        first_offset: s.first_offset,
                        last_offset: s.last_offset,
                        first_timestamp: s.first_timestamp,
                        last_timestamp: s.last_timestamp,
                        index: s.index.name(),
                        offset_index: &s.offset_index,
                        time_index: &s.time_index,
                        torn_tail: s.torn_tail.map(|t| TornTailJson {
                            position: t.valid_bytes,
                            trailing_bytes: t.trailing_bytes,
                            kind: tail_kind(t.kind),
                        }),
                        corrupt_at: s.corrupt_at,
                    },
                )?;
            }
        }
    }
    Ok(())
}
