//! `kreplay export`: records to files (Parquet, Arrow IPC, JSON lines), one
//! partition at a time, through the engine's consumer and its durable,
//! rolling [`PartitionFiles`].
//!
//! Each partition is read by its own consumer, on `--jobs` threads (one
//! open file per thread, whatever the partition count). A record that does
//! not decode ends its partition: the records before it are in closed,
//! durable files, the error is reported, the other partitions go on, and
//! the command exits 1.
//!
//! With `--group`, export is a resumable, at-least-once sink: a partition's
//! offset is committed once the file holding the records before it is
//! durable (synced, renamed, its directory synced), at the end of the poll
//! in which the file closed (polls of at most 4096 records, or of
//! `--max-file-records` when fewer), so a rerun continues after the
//! last file committed. A killed export leaves at most one
//! uncommitted file per partition; the rerun writes it again under the same
//! name (same start, same limits: the same records), replacing it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use clap::{ArgAction, Args, ValueEnum};
use kreplay::export::{
    create_export_dir, ArrowIpc, ExportedFile, FileFormat, FileLimits, FormatWriter, Parquet,
    ParquetCompression, PartitionFiles,
};
use kreplay::{
    AutoOffsetReset, Consumer, ConsumerBatch, ConsumerConfig, IsolationLevel, OffsetAndMetadata,
    Record, TopicPartition,
};

use crate::export_values::{describe, value_columns, ValueArgs, ValueFormat};
use crate::output::BytesEncoding;
use crate::record_format::{RecordFormat, RecordWriter};
use crate::shared_args::{
    group_parser, group_start, parse_start_offset, parse_topic, usage_error, StartOffset,
    UsageError,
};
use crate::status::{self, Diagnostics, Status};

/// How long one poll waits for the fetcher.
const POLL_TIMEOUT: Duration = Duration::from_millis(500);

pub const EXPORT_HELP: &str = "\
Files:
  One file per partition, rolled at --max-file-records / --max-file-bytes,
  named <topic>-<partition>-<first offset>-<last offset>.<parquet|arrow|jsonl>
  (offsets zero-padded to 20 digits: names sort in offset order). Each file is
  written under a hidden temporary name, synced, then renamed: a crash never
  leaves part of a file under a final name (the next export of the partition
  removes the leftover). A file of the same name is replaced. stdout lists
  the files written, one per line: partition, first and last offset, records,
  bytes, path.

Columns (parquet, arrow): topic (dictionary utf8), partition int32, offset
  int64, timestamp timestamp(ms, UTC), timestamp_type int8 (0 CreateTime,
  1 LogAppendTime), key binary, value binary (null and empty stay apart),
  headers list<struct<key utf8, value binary>>, leader_epoch int32,
  producer_id int64, producer_epoch int16; null where Kafka has none.
  jsonl: consume --format json's objects, one per line (--bytes).

Where reading starts (-o): beginning (default), end, N, -N, s@TS as in
consume. Export stops at each partition's end (under read_committed, its last
stable offset); -c N takes at most N records from each partition.

Resuming (--group G):
  The group's committed offsets (in --state-dir, as consume's) say where each
  partition continues (-o stored is the default with a group). The starting
  positions are committed first; then each file, once durable, commits the
  offset after its last record, and a partition read to its end commits its
  end. A killed export (kill -9 included) loses nothing: the rerun writes the
  uncommitted file again, under the same name with the same flags. Refused
  while the group has live consume members.

Exit status:
  0  success
  1  corruption: a record that does not decode (the message names file,
     position and offset; the records before it were exported)
  2  usage error or I/O error (bad flag, missing log dir or topic, the output
     dir inside a log dir, a file that cannot be written)";

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A log dir (or partition dir) holding the topic's partitions; repeat for several.
    #[arg(long = "log-dir", value_name = "DIR", required = true)]
    log_dirs: Vec<PathBuf>,
    /// Topic to export; repeat for several.
    #[arg(short = 't', long = "topic", value_name = "TOPIC", required = true, value_parser = parse_topic)]
    topics: Vec<String>,
    /// Only this partition of each topic.
    #[arg(short = 'p', long, value_name = "PARTITION", value_parser = clap::value_parser!(i32).range(0..))]
    partition: Option<i32>,
    /// The directory the files go to (created if missing; never inside a log dir).
    #[arg(long = "out-dir", value_name = "OUT_DIR", required = true)]
    out_dir: PathBuf,
    /// File format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ExportFormat::Parquet)]
    format: ExportFormat,
    /// Parquet page compression: zstd (level 3), zstd:LEVEL (1 to 22), snappy, gzip, lz4 or none.
    #[arg(long, value_name = "CODEC", default_value = "zstd")]
    compression: ParquetCompression,
    /// jsonl: how keys, values and header values are written (utf8, base64 or hex).
    #[arg(long, value_enum, value_name = "ENCODING", default_value_t = JsonBytes::Utf8)]
    bytes: JsonBytes,
    /// Where to start: beginning, end, stored, N, -N or s@TS (as consume)
    /// [default: beginning; stored with --group].
    #[arg(short = 'o', long = "offset", value_name = "OFFSET", value_parser = parse_start_offset, allow_hyphen_values = true)]
    offset: Option<StartOffset>,
    /// Consumer group: resume from its committed offsets, commit each file once durable.
    #[arg(long, value_name = "GROUP", value_parser = group_parser())]
    group: Option<String>,
    /// Where the group's committed offsets live [default: $XDG_STATE_HOME/kreplay, else ~/.local/state/kreplay].
    #[arg(long, value_name = "DIR", requires = "group")]
    state_dir: Option<PathBuf>,
    /// At most COUNT records from each partition.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    count: Option<u64>,
    /// Close a file once it holds N records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_file_records: Option<u64>,
    /// Close a file once it holds about this many bytes (e.g. 134217728, 128MiB, 1GiB).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    max_file_bytes: Option<u64>,
    /// Kafka's isolation.level: read_committed hides aborted transactions and stops at the first open one.
    #[arg(long, value_name = "LEVEL", default_value = "read_uncommitted")]
    isolation_level: IsolationLevel,
    /// Partitions exported at once, each on its own thread [default: the cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// Verify batch CRCs (Kafka's check.crcs).
    #[arg(long, value_name = "true|false", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    check_crcs: bool,
    /// Notes on stderr: a summary at the end.
    #[arg(short = 'v', long)]
    verbose: bool,
    #[command(flatten)]
    values: ValueArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet.
    Parquet,
    /// The Arrow IPC file format (Feather v2).
    Arrow,
    /// One JSON object per line, as consume --format json.
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum JsonBytes {
    /// Text when valid UTF-8, else {"base64": "..."}.
    Utf8,
    /// Standard base64.
    Base64,
    /// Lowercase hex.
    Hex,
}

/// `--max-file-bytes`: a number of bytes, with an optional binary unit.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (B, KiB, MiB, GiB)")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{s}' is not a size in bytes above 0 (e.g. 134217728, 128MiB)"))
}

/// What `kreplay export` runs with.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    consumer: ConsumerConfig,
    topics: Vec<String>,
    partition: Option<i32>,
    out_dir: PathBuf,
    format: ExportFormat,
    compression: ParquetCompression,
    bytes: BytesEncoding,
    start: StartOffset,
    max_records: Option<u64>,
    limits: FileLimits,
    jobs: usize,
    verbose: bool,
    /// `--group`: commit each durable file.
    grouped: bool,
    /// `--value-format` and its flags.
    values: std::sync::Arc<ValueArgs>,
}

impl ExportArgs {
    pub fn config(self) -> Result<ExportConfig, UsageError> {
        if self.values.value_format != ValueFormat::Raw && self.format == ExportFormat::Jsonl {
            return Err(usage_error(
                "export",
                "--value-format types the columns of parquet and arrow files; jsonl writes consume's JSON (see --bytes)",
            ));
        }
        if self.values.schema.is_some() && self.values.value_format != ValueFormat::Json {
            return Err(usage_error("export", "--schema is for --value-format json"));
        }
        let (start, state_dir) =
            group_start("export", self.offset, self.group.as_deref(), self.state_dir)?;
        let grouped = self.group.is_some();
        let mut consumer = ConsumerConfig::new(self.log_dirs);
        consumer.group_id = self.group;
        consumer.state_dir = state_dir;
        if grouped {
            // A partition the group never committed starts at its beginning
            // (as consume's --auto-offset-reset default).
            consumer.auto_offset_reset = AutoOffsetReset::Earliest;
        }
        consumer.isolation_level = self.isolation_level;
        consumer.check_crcs = self.check_crcs;
        consumer.follow = false;
        // With a group, a file that closes mid-poll is committed at the end
        // of that poll (the records borrow the consumer until then): smaller
        // polls keep the commits close behind the files.
        consumer.max_poll_records = match (grouped, self.max_file_records) {
            (false, _) => 64 * 1024,
            (true, Some(n)) => n.clamp(1, 4096) as usize,
            (true, None) => 4096,
        };
        let mut topics: Vec<String> = Vec::new();
        for topic in self.topics {
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(ExportConfig {
            consumer,
            topics,
            partition: self.partition,
            out_dir: self.out_dir,
            format: self.format,
            compression: self.compression,
            bytes: match self.bytes {
                JsonBytes::Utf8 => BytesEncoding::Utf8,
                JsonBytes::Base64 => BytesEncoding::Base64,
                JsonBytes::Hex => BytesEncoding::Hex,
            },
            start,
            max_records: self.count,
            limits: FileLimits::none()
                .max_records(self.max_file_records)
                .max_bytes(self.max_file_bytes),
            jobs: self.jobs.map_or(cores, |j| j as usize),
            verbose: self.verbose,
            grouped,
            values: std::sync::Arc::new(self.values),
        })
    }
}

/// Runs `kreplay export`.
pub fn run(config: &ExportConfig) -> anyhow::Result<Status> {
    status::init_logging(config.verbose);
    let diagnostics = Diagnostics::new(false);
    let listing = Consumer::new(config.consumer.clone())?;
    let partitions = crate::consume::select_partitions(
        &listing,
        &config.topics,
        config.partition,
        &config.consumer.log_dirs,
    )?;
    drop(listing);
    let out_dir = create_export_dir(&config.out_dir, &config.consumer.log_dirs)?;
    let values = value_columns(&config.values, &config.consumer, &partitions, config.start)?;
    if let Some(values) = &values {
        for (name, column) in values.renamed() {
            diagnostics.warning(format_args!(
                "the JSON field '{name}' is the column '{column}' (the export has a column '{name}')"
            ));
        }
        if config.verbose {
            diagnostics.note(format_args!("columns: {}", describe(values)));
        }
    }
    let format: Box<dyn FileFormat> = match (config.format, values) {
        (ExportFormat::Parquet, None) => Box::new(Parquet::new(config.compression)),
        (ExportFormat::Parquet, Some(values)) => {
            Box::new(Parquet::new(config.compression).with_values(values))
        }
        (ExportFormat::Arrow, None) => Box::new(ArrowIpc::default()),
        (ExportFormat::Arrow, Some(values)) => Box::new(ArrowIpc::default().with_values(values)),
        (ExportFormat::Jsonl, _) => Box::new(JsonLines(config.bytes)),
    };
    let next = AtomicUsize::new(0);
    let outcome = Mutex::new(Outcome::default());
    let jobs = config.jobs.clamp(1, partitions.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let Some(tp) = partitions.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return;
                };
                let mut files = Vec::new();
                let result = export_partition(config, &out_dir, format.as_ref(), tp, &mut files);
                let mut outcome = outcome.lock().unwrap_or_else(|p| p.into_inner());
                outcome.files.extend(files);
                if let Err(error) = result {
                    let status = error
                        .downcast_ref::<kreplay::Error>()
                        .map_or(Status::Failure, Status::of_error);
                    match error.downcast_ref::<kreplay::Error>() {
                        // Names its partition already.
                        Some(named @ kreplay::Error::ValueMismatch { .. }) => {
                            diagnostics.error(named)
                        }
                        _ => diagnostics.error(format_args!("{tp}: {}", status::chain(&error))),
                    }
                    outcome.status = outcome.status.worst(status);
                }
            });
        }
    });
    let outcome = outcome.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut files = outcome.files;
    files.sort_by(|a, b| {
        (&a.topic_partition, a.first_offset).cmp(&(&b.topic_partition, b.first_offset))
    });
    let mut out = io::stdout().lock();
    for file in &files {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            file.topic_partition,
            file.first_offset,
            file.last_offset,
            file.records,
            file.bytes,
            file.path.display()
        )?;
    }
    out.flush()?;
    if config.verbose {
        let records: u64 = files.iter().map(|f| f.records).sum();
        diagnostics.note(format_args!(
            "{records} record(s) from {} partition(s) in {} file(s) in {}",
            partitions.len(),
            files.len(),
            out_dir.display()
        ));
    }
    Ok(outcome.status)
}

#[derive(Debug, Default)]
struct Outcome {
    files: Vec<ExportedFile>,
    status: Status,
}

/// Exports one partition: files written whole go to `files` (also when a
/// later record fails).
fn export_partition(
    config: &ExportConfig,
    out_dir: &std::path::Path,
    format: &dyn FileFormat,
    tp: &TopicPartition,
    files: &mut Vec<ExportedFile>,
) -> anyhow::Result<()> {
    let mut consumer = Consumer::new(config.consumer.clone())?;
    let partitions = std::slice::from_ref(tp);
    consumer.assign(partitions)?;
    crate::consume::position(&mut consumer, partitions, config.start)?;
    let commit = |consumer: &mut Consumer, offset: i64| -> anyhow::Result<()> {
        if config.grouped {
            let offsets = [(tp.clone(), OffsetAndMetadata::new(offset))].into();
            consumer
                .commit_offsets(&offsets)
                .with_context(|| format!("committing offset {offset}"))?;
        }
        Ok(())
    };
    // Where this export starts, so a rerun after a crash before the first
    // file starts there too (not at the group's reset position).
    let start = consumer.position(tp)?;
    commit(&mut consumer, start)?;
    let mut writer = PartitionFiles::new(out_dir, tp, format, config.limits)?;
    let mut left = config.max_records.unwrap_or(u64::MAX);
    let mut at_end = false;
    // The offset after the last record in a durable file.
    let mut durable: Option<i64> = None;
    let result = (|| -> anyhow::Result<()> {
        while left > 0 {
            let polled = consumer.poll(POLL_TIMEOUT)?;
            if polled.is_empty() {
                if consumer.at_end() {
                    at_end = true;
                    break;
                }
                continue;
            }
            let mut closed = false;
            'poll: for batch in polled.batches() {
                let batch = batch?;
                for record in batch.records() {
                    let record = record?;
                    if let Some(file) = writer.append(&batch, &record)? {
                        durable = Some(file.last_offset + 1);
                        closed = true;
                        files.push(file);
                    }
                    left -= 1;
                    if left == 0 {
                        break 'poll;
                    }
                }
            }
            if let (true, Some(offset)) = (closed, durable) {
                commit(&mut consumer, offset)?;
            }
        }
        // What the file buffers meets its errors (a value that does not
        // fit) here; the close below keeps the records before it.
        writer.flush()?;
        Ok(())
    })();
    // The records before a failure are exported (and committed) too.
    let closed = writer.close();
    if let Ok(Some(file)) = &closed {
        durable = Some(file.last_offset + 1);
        files.push(file.clone());
    }
    let end = if result.is_ok() && closed.is_ok() && at_end {
        // Read to its end and every record durable: the end (past any
        // control batches after the last record).
        Some(consumer.position(tp)?)
    } else {
        durable
    };
    let committed = match end {
        Some(offset) => commit(&mut consumer, offset),
        None => Ok(()),
    };
    result?;
    closed?;
    committed
}

/// JSON lines: `consume --format json`'s objects.
struct JsonLines(BytesEncoding);

impl FileFormat for JsonLines {
    fn extension(&self) -> &str {
        "jsonl"
    }

    fn create(&self, file: File) -> io::Result<Box<dyn FormatWriter>> {
        Ok(Box::new(JsonLinesFile {
            out: BufWriter::with_capacity(1 << 20, file),
            writer: RecordWriter::new(RecordFormat::Json(self.0)),
            line: Vec::with_capacity(64 * 1024),
            written: 0,
        }))
    }
}

struct JsonLinesFile {
    out: BufWriter<File>,
    writer: RecordWriter,
    /// Lines formatted and not yet written.
    line: Vec<u8>,
    written: u64,
}

impl FormatWriter for JsonLinesFile {
    fn append(&mut self, batch: &ConsumerBatch<'_>, record: &Record<'_>) -> io::Result<()> {
        self.writer
            .write(&mut self.line, batch.topic_partition(), record);
        if self.line.len() >= 64 * 1024 {
            self.out.write_all(&self.line)?;
            self.written += self.line.len() as u64;
            self.line.clear();
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.written + self.line.len() as u64
    }

    fn finish(mut self: Box<Self>) -> io::Result<File> {
        self.out.write_all(&self.line)?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}
