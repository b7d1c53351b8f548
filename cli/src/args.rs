//! The command line (clap derive) and, in one place, its conversion into the
//! configuration each command runs with.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use kreplay::{
    AutoOffsetReset, Compression, ConsumerConfig, IoMode, IsolationLevel, ReadOptions,
    ReadStrategy, VerifyOptions,
};

use crate::output::BytesEncoding;
use crate::record_format::{RecordFormat, Template, TextBytes};

const EXIT_STATUS: &str = "\
Exit status:
  0  success (a torn tail at the end of a log is reported as a note, not an error)
  1  corruption or a data error was found
  2  usage error or I/O error (bad flag, missing path, unreadable file)

A closed stdout (`kreplay dump ... | head`) ends the command quietly with status 0.";

/// Read Apache Kafka partition logs straight from disk.
#[derive(Debug, Parser)]
#[command(name = "kreplay", version, after_help = EXIT_STATUS, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List partitions: segments, log start and end offsets, size, time range, index health.
    #[command(after_help = EXIT_STATUS)]
    Ls(LsArgs),
    /// Print batches (and with --deep-iteration, records) like Kafka's kafka-dump-log.
    #[command(after_help = EXIT_STATUS)]
    Dump(DumpArgs),
    /// Check CRCs, offsets, batch fields and indexes of every segment.
    #[command(after_help = EXIT_STATUS)]
    Verify(VerifyArgs),
    /// Generate a Kafka-compatible log dir with synthetic records.
    #[command(after_help = EXIT_STATUS)]
    Gen(GenArgs),
    /// Replay records with Kafka consumer semantics, printed like kcat -C / -G.
    #[command(after_help = CONSUME_HELP)]
    Consume(ConsumeArgs),
    /// Measure replay speed per IoMode, warm and cold, beside the memory ceiling and dd.
    #[command(after_help = EXIT_STATUS)]
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// A log dir to measure, only read [default: a log generated in a temporary
    /// directory, removed afterwards].
    #[arg(value_name = "LOG_DIR")]
    log_dir: Option<PathBuf>,
    /// Records of the generated log, over all partitions [default: 4000000; --quick: 20000].
    #[arg(long, value_name = "N", conflicts_with = "log_dir")]
    records: Option<u64>,
    /// Value size of the generated records, in bytes.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 100,
        conflicts_with = "log_dir"
    )]
    value_size: usize,
    /// Codec of the generated log: none, gzip, snappy, lz4 or zstd.
    #[arg(long, value_name = "CODEC", default_value_t = Compression::None, conflicts_with = "log_dir")]
    codec: Compression,
    /// Partitions of the generated log.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(i32).range(1..), conflicts_with = "log_dir")]
    partitions: i32,
    /// Rounds; every measurement runs once per round, interleaved [default: 3; --quick: 1].
    #[arg(long, value_name = "N", value_parser = parse_at_least_one)]
    rounds: Option<usize>,
    /// One JSON object per measurement, then a summary.
    #[arg(long)]
    json: bool,
    /// A quick check of the harness (CI): a tiny log, one round, caches
    /// evicted with posix_fadvise only.
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Args)]
struct ReadArgs {
    /// How segment files are brought into memory.
    #[arg(long, value_enum, value_name = "STRATEGY", default_value_t = ReadStrategyArg::Mmap)]
    read_strategy: ReadStrategyArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReadStrategyArg {
    /// Memory-map segment files read-only.
    Mmap,
    /// Read segment files into memory with read().
    Read,
}

#[derive(Debug, Args)]
struct LsArgs {
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

#[derive(Debug, Args)]
struct DumpArgs {
    /// Log dirs, partition dirs or segment (.log) files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print every record of every batch, not only batch headers.
    #[arg(long)]
    deep_iteration: bool,
    /// Print record keys and payloads (implies --deep-iteration).
    #[arg(long)]
    print_data_log: bool,
    /// One JSON object per line: per batch; with --deep-iteration per record
    /// only, with the conformance fields topic, partition, offset, timestamp,
    /// timestamp_type, key, value, headers, is_control.
    #[arg(long)]
    json: bool,
    /// How keys, values and header values are shown: utf8 shows the text
    /// when the bytes are valid UTF-8, else base64 marked as such (a
    /// `base64:` prefix in text, an object {"base64": "..."} in JSON). Null
    /// stays null, empty stays empty.
    #[arg(long, value_enum, value_name = "ENCODING", default_value_t = BytesArg::Utf8)]
    bytes: BytesArg,
    /// Verify batch CRCs (Kafka's check.crcs).
    #[arg(long, value_name = "true|false", default_value_t = true, action = ArgAction::Set)]
    check_crcs: bool,
    /// Start at the first record whose offset is >= OFFSET.
    #[arg(short = 'o', long, value_name = "OFFSET")]
    offset: Option<i64>,
    /// Stop after N records (at batch level, after the batch that reaches N).
    #[arg(short = 'c', long, value_name = "N")]
    max_records: Option<u64>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BytesArg {
    /// Text when valid UTF-8, else marked base64.
    Utf8,
    /// Standard base64 (as expected.jsonl).
    Base64,
    /// Lowercase hex.
    Hex,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Log dirs, partition dirs or segment (.log) files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// One JSON object per line: per segment, then a summary.
    #[arg(long)]
    json: bool,
    /// Do not check .index and .timeindex files against the log.
    #[arg(long)]
    skip_indexes: bool,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Debug, Args)]
struct GenArgs {
    /// The log dir to create (must be absent or empty unless --force).
    #[arg(value_name = "OUT_DIR")]
    out_dir: PathBuf,
    /// Topic names, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "TOPICS", default_values_t = DEFAULT_GEN.with(|d| d.topics.clone()), value_parser = parse_topic)]
    topics: Vec<String>,
    /// Partitions per topic.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.partitions), value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Records per topic (spread round-robin over its partitions).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.records_per_topic))]
    records: u64,
    /// Key size in bytes [default: the host name the metric comes from, e.g. web-017].
    #[arg(long, value_name = "BYTES")]
    key_size: Option<usize>,
    /// Value size in bytes (JSON metrics padded or cut to it).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_GEN.with(|d| d.value_size))]
    value_size: usize,
    /// Compression codec: none, gzip, snappy, lz4 or zstd.
    #[arg(long, value_name = "CODEC", default_value_t = DEFAULT_GEN.with(|d| d.compression))]
    codec: Compression,
    /// Records per batch.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.records_per_batch), value_parser = parse_at_least_one)]
    batch_records: usize,
    /// Roll to a new segment past this many bytes (Kafka's segment.bytes).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_GEN.with(|d| d.segment_bytes), value_parser = clap::value_parser!(u32).range(14..))]
    segment_bytes: u32,
    /// Share of batches written in transactions, each followed by its marker (0.0 to 1.0).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_GEN.with(|d| d.transactional_ratio), value_parser = parse_ratio)]
    transactional_ratio: f64,
    /// Share of those transactions that are aborted (0.0 to 1.0).
    #[arg(long, value_name = "F", default_value_t = DEFAULT_GEN.with(|d| d.abort_ratio), value_parser = parse_ratio)]
    abort_ratio: f64,
    /// Seed of the generator: the same flags and seed give the same bytes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GEN.with(|d| d.seed))]
    seed: u64,
    /// Write into OUT_DIR even when it is not empty (partitions that already
    /// hold segments are still refused).
    #[arg(long)]
    force: bool,
}

const CONSUME_HELP: &str = "\
Where reading starts (-o), as kcat:
  beginning    the log start offset (the default without --group, as kcat -C)
  end          the log end offset: only records appended from now on (with --follow)
  stored       the group's committed offset, else --auto-offset-reset
               (the default with --group, as kcat -G)
  N            offset N (outside the log: --auto-offset-reset)
  -N           N offsets before the log end (not before the log start)
  s@TS         the first record with a timestamp >= TS (ms since the epoch);
               none: the log end

When reading stops:
  Without -e, consume keeps waiting for records appended to the log, as kcat
  does (--follow says so explicitly); -e exits once every partition has been
  read to its end (under read_committed, to its last stable offset); -c N exits
  after N records. Both: whichever comes first.

Output (stdout):
  --format text  the value and a newline per record (kcat's default output); a
                 null value is an empty line; the bytes are written as they are
                 unless --bytes says otherwise
  --format json  one object per line: topic, partition, offset, timestamp,
                 timestamp_type, key, value, headers ([[name, value], ...]);
                 keys and values per --bytes (utf8 by default: text when valid
                 UTF-8, else {\"base64\": \"...\"}; base64; hex); null stays null
  -f FMT         kcat's format string:
                   %t topic  %p partition  %o offset  %T timestamp (ms, -1 if none)
                   %k key  %s value (null: nothing)  %K %S key / value length (-1 if null)
                   %R value length as a big-endian 32-bit integer  %h headers (n=v,n=v; null: NULL)
                   %% a percent sign  \\n \\r \\t \\\\ \\xHH escapes
                 e.g. -f '%t [%p] @%o: %k: %s\\n'

Consumer groups (--group):
  Committed offsets (the next offset to read, per partition) live in --state-dir,
  by default $XDG_STATE_HOME/kreplay, else ~/.local/state/kreplay. They are
  committed after each poll's output has been written and flushed, and only
  then: after a closed pipe (| head) or -c, a rerun with -o stored continues
  right after the last record written.

Exit status:
  0  success; a closed stdout (| head) also ends the command quietly with 0
  1  corruption or a data error (the message names the file, byte position and offset)
  2  usage error or I/O error (bad flag, missing log dir or topic, unwritable state dir)";

#[derive(Debug, Args)]
struct ConsumeArgs {
    /// A log dir (or partition dir) holding the topic's partitions; repeat for several.
    #[arg(long = "log-dir", value_name = "DIR", required = true)]
    log_dirs: Vec<PathBuf>,
    /// Topic to consume; repeat for several.
    #[arg(short = 't', long = "topic", value_name = "TOPIC", required = true, value_parser = parse_topic)]
    topics: Vec<String>,
    /// Only this partition of each topic.
    #[arg(short = 'p', long, value_name = "PARTITION", value_parser = clap::value_parser!(i32).range(0..))]
    partition: Option<i32>,
    /// Consumer group (Kafka's group.id): start from its committed offsets and commit as records are written.
    #[arg(long, value_name = "GROUP", value_parser = group_parser())]
    group: Option<String>,
    /// Where the group's committed offsets live [default: $XDG_STATE_HOME/kreplay, else ~/.local/state/kreplay].
    #[arg(long, value_name = "DIR", requires = "group")]
    state_dir: Option<PathBuf>,
    /// Where to start: beginning, end, stored, N, -N or s@TS (see below)
    /// [default: beginning; stored with --group].
    #[arg(short = 'o', long = "offset", value_name = "OFFSET", value_parser = parse_start_offset, allow_hyphen_values = true)]
    offset: Option<StartOffset>,
    /// Exit once every partition has been read to its end.
    #[arg(short = 'e', long = "exit")]
    exit: bool,
    /// Exit after COUNT records.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    count: Option<u64>,
    /// Keep waiting for records appended to the log (the default without -e).
    #[arg(long, conflicts_with = "exit")]
    follow: bool,
    /// Kafka's isolation.level: read_committed hides aborted transactions and stops at the first open one.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = IsolationArg::ReadUncommitted)]
    isolation_level: IsolationArg,
    /// Kafka's max.poll.records: records per poll (and per commit with --group).
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = parse_at_least_one)]
    max_poll_records: usize,
    /// How the fetcher brings segment pages into memory ahead of the reader.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = IoModeArg::Auto)]
    io_mode: IoModeArg,
    /// Verify batch CRCs (Kafka's check.crcs).
    #[arg(long, value_name = "true|false", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    check_crcs: bool,
    /// Where to start when -o stored finds no committed offset, or an offset is outside the log
    /// (Kafka's auto.offset.reset; kreplay defaults to earliest, Kafka to latest).
    #[arg(long, value_enum, value_name = "RESET", default_value_t = ResetArg::Earliest)]
    auto_offset_reset: ResetArg,
    /// Output: text (the value per line) or json (one object per record).
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    format: Option<FormatArg>,
    /// A kcat-style format string, e.g. '%t [%p] @%o: %k: %s\n' (see below).
    #[arg(short = 'f', value_name = "FMT", conflicts_with = "format", value_parser = Template::parse)]
    format_string: Option<Template>,
    /// How keys, values and header values are written: raw (as they are; text and -f only,
    /// their default), utf8 (json's default), base64 or hex.
    #[arg(long, value_enum, value_name = "ENCODING")]
    bytes: Option<ConsumeBytesArg>,
    /// Notes on stderr: the prefetch mode, a summary at the end.
    #[arg(short = 'v', long)]
    verbose: bool,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum IsolationArg {
    /// Every data record, aborted transactions included (Kafka's default).
    #[value(name = "read_uncommitted")]
    ReadUncommitted,
    /// Hide aborted transactions; stop at the first open one.
    #[value(name = "read_committed")]
    ReadCommitted,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ResetArg {
    /// The log start offset.
    Earliest,
    /// The log end offset.
    Latest,
    /// No reset: an error.
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum IoModeArg {
    /// uring when io_uring works here, else pread.
    Auto,
    /// io_uring requests, never blocking.
    Uring,
    /// madvise(MADV_WILLNEED) on the mapped range.
    Madvise,
    /// pread into a scratch buffer.
    Pread,
    /// No prefetch: the kernel's readahead only.
    Off,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// The value and a newline per record.
    Text,
    /// One JSON object per record.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ConsumeBytesArg {
    /// The bytes as they are (text and -f only).
    Raw,
    /// Text when valid UTF-8, else marked base64.
    Utf8,
    /// Standard base64.
    Base64,
    /// Lowercase hex.
    Hex,
}

/// A group id: any non-empty UTF-8 text (the offsets store encodes it into a
/// safe directory name); bytes that are not UTF-8 are a usage error.
fn group_parser() -> impl TypedValueParser<Value = String> {
    OsStringValueParser::new().try_map(|group: OsString| match group.into_string() {
        Ok(group) if group.is_empty() => Err("a group id cannot be empty".to_string()),
        Ok(group) => Ok(group),
        Err(group) => Err(format!("group id {group:?} is not valid UTF-8")),
    })
}

/// kcat's `-o`: `beginning`, `end`, `stored`, `N`, `-N` or `s@TS`.
fn parse_start_offset(s: &str) -> Result<StartOffset, String> {
    let number = |digits: &str| -> Result<i64, String> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "'{s}' is not an offset (beginning, end, stored, N, -N or s@TIMESTAMP_MS)"
            ));
        }
        digits.parse().map_err(|e| format!("'{s}': {e}"))
    };
    match s {
        "beginning" => Ok(StartOffset::Beginning),
        "end" => Ok(StartOffset::End),
        "stored" => Ok(StartOffset::Stored),
        _ => {
            if let Some(ts) = s.strip_prefix("s@") {
                Ok(StartOffset::Timestamp(number(ts)?))
            } else if s.starts_with("e@") {
                Err(format!(
                    "'{s}': stopping at a timestamp (e@) is not supported"
                ))
            } else if let Some(n) = s.strip_prefix('-') {
                Ok(StartOffset::FromEnd(number(n)?))
            } else {
                Ok(StartOffset::Offset(number(s)?))
            }
        }
    }
}

thread_local! {
    /// The engine's defaults, shown in --help and used when a flag is absent.
    static DEFAULT_GEN: kreplay::writer::GenConfig = kreplay::writer::GenConfig::default();
}

/// A Kafka topic name: 1 to 249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn parse_topic(s: &str) -> Result<String, String> {
    let legal = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if s.is_empty() || s.len() > 249 || !legal || s == "." || s == ".." {
        return Err(format!(
            "'{s}' is not a legal topic name (1 to 249 of a-z A-Z 0-9 . _ -, not . or ..)"
        ));
    }
    Ok(s.to_string())
}

fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    let value: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0.0 and 1.0"))
    }
}

// ---------------------------------------------------------------------------
// Configurations: what the commands run with.

/// Text for people or JSON lines for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
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

/// How deep `dump` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DumpLevel {
    /// Batch headers.
    Batches,
    /// Batch headers and record metadata.
    Records,
    /// Records with keys and payloads.
    RecordsWithData,
}

#[derive(Debug, Clone)]
pub struct DumpConfig {
    pub paths: Vec<PathBuf>,
    pub level: DumpLevel,
    pub format: Format,
    pub bytes: BytesEncoding,
    /// `check_crcs` says whether CRCs are verified.
    pub read: ReadOptions,
    pub start_offset: Option<i64>,
    pub max_records: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub options: VerifyOptions,
}

/// Whether `gen` may write into a non-empty directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    Refuse,
    Force,
}

#[derive(Debug, Clone)]
pub struct GenConfig {
    pub overwrite: Overwrite,
    /// What the engine writes (`log_dir` is OUT_DIR).
    pub gen: kreplay::writer::GenConfig,
}

/// Where `consume` starts reading each partition (kcat's `-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// The log start offset.
    Beginning,
    /// The log end offset.
    End,
    /// The group's committed offset, else `auto_offset_reset`.
    Stored,
    /// This offset (outside the log: `auto_offset_reset`).
    Offset(i64),
    /// This many offsets before the log end, not before the log start.
    FromEnd(i64),
    /// The first record with a timestamp at or after this one (ms), else the log end.
    Timestamp(i64),
}

/// When `consume` stops (besides `-c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtEnd {
    /// Exit once every partition is at its end (`-e`).
    Exit,
    /// Keep waiting for appended records (kcat's default).
    Follow,
}

/// How much `consume` says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Warnings and errors.
    Quiet,
    /// Notes too (`-v`).
    Verbose,
}

#[derive(Debug, Clone)]
pub struct ConsumeConfig {
    /// Log dirs, group, state dir, isolation level, … (`follow` set from `at_end`).
    pub consumer: ConsumerConfig,
    pub topics: Vec<String>,
    /// Only this partition of each topic.
    pub partition: Option<i32>,
    pub start: StartOffset,
    pub at_end: AtEnd,
    /// `-c`: stop after this many records.
    pub max_records: Option<u64>,
    pub format: RecordFormat,
    pub verbosity: Verbosity,
}

/// A parsed command line.
#[derive(Debug, Clone)]
pub enum Command {
    Ls(LsConfig),
    Dump(DumpConfig),
    Verify(VerifyConfig),
    Gen(GenConfig),
    Consume(ConsumeConfig),
    Bench(BenchConfig),
}

#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The log dir to measure; `None`: generate `gen` into a temporary dir.
    pub log_dir: Option<PathBuf>,
    /// What to generate (`log_dir` is set when run).
    pub gen: kreplay::writer::GenConfig,
    pub rounds: usize,
    pub format: Format,
    /// CI mode: tiny log, one round, no global drop_caches.
    pub quick: bool,
}

/// Parses the command line into a [`Command`]; `Err` is clap's (usage error,
/// or `--help` / `--version`, which clap prints).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, clap::Error> {
    Cli::try_parse_from(args)?.command.try_into()
}

/// A usage error reported like clap's own (exit status 2).
fn usage_error(subcommand: &str, message: impl std::fmt::Display) -> clap::Error {
    let mut command = Cli::command();
    let command = command
        .find_subcommand_mut(subcommand)
        .cloned()
        .unwrap_or(command);
    command
        .bin_name(format!("kreplay {subcommand}"))
        .error(ErrorKind::ArgumentConflict, message)
}

/// `$XDG_STATE_HOME/kreplay` (an absolute path, as the XDG spec requires),
/// else `$HOME/.local/state/kreplay`.
fn default_state_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_STATE_HOME")
        .map(|state| state.join("kreplay"))
        .or_else(|| absolute("HOME").map(|home| home.join(".local/state/kreplay")))
}

impl ConsumeArgs {
    fn config(self) -> Result<ConsumeConfig, clap::Error> {
        let start = match (self.offset, &self.group) {
            (Some(StartOffset::Stored), None) => {
                return Err(usage_error(
                    "consume",
                    "-o stored needs --group (the committed offsets are a group's)",
                ))
            }
            (Some(start), _) => start,
            (None, Some(_)) => StartOffset::Stored,
            (None, None) => StartOffset::Beginning,
        };
        let state_dir = match (&self.group, self.state_dir) {
            (None, _) => None,
            (Some(_), Some(dir)) => Some(dir),
            (Some(_), None) => Some(default_state_dir().ok_or_else(|| {
                usage_error(
                    "consume",
                    "--group needs --state-dir: neither XDG_STATE_HOME nor HOME is set to an absolute path",
                )
            })?),
        };
        let text_bytes = |bytes: Option<ConsumeBytesArg>| match bytes {
            None | Some(ConsumeBytesArg::Raw) => TextBytes::Raw,
            Some(ConsumeBytesArg::Utf8) => TextBytes::Encoded(BytesEncoding::Utf8),
            Some(ConsumeBytesArg::Base64) => TextBytes::Encoded(BytesEncoding::Base64),
            Some(ConsumeBytesArg::Hex) => TextBytes::Encoded(BytesEncoding::Hex),
        };
        let format = match (self.format_string, self.format) {
            (Some(template), _) => RecordFormat::Template(template, text_bytes(self.bytes)),
            (None, None | Some(FormatArg::Text)) => RecordFormat::Text(text_bytes(self.bytes)),
            (None, Some(FormatArg::Json)) => RecordFormat::Json(match self.bytes {
                None | Some(ConsumeBytesArg::Utf8) => BytesEncoding::Utf8,
                Some(ConsumeBytesArg::Base64) => BytesEncoding::Base64,
                Some(ConsumeBytesArg::Hex) => BytesEncoding::Hex,
                Some(ConsumeBytesArg::Raw) => {
                    return Err(usage_error(
                        "consume",
                        "--bytes raw cannot be written in JSON (use utf8, base64 or hex)",
                    ))
                }
            }),
        };
        let at_end = if self.exit {
            AtEnd::Exit
        } else {
            AtEnd::Follow
        };
        let read = self.read.options(self.check_crcs);
        let mut topics: Vec<String> = Vec::with_capacity(self.topics.len());
        for topic in self.topics {
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
        let mut consumer = ConsumerConfig::new(self.log_dirs);
        consumer.group_id = self.group;
        consumer.state_dir = state_dir;
        consumer.max_poll_records = self.max_poll_records;
        consumer.check_crcs = read.check_crcs;
        consumer.read_strategy = read.strategy;
        consumer.max_inflated_bytes = read.max_inflated_bytes;
        consumer.follow = at_end == AtEnd::Follow;
        consumer.isolation_level = match self.isolation_level {
            IsolationArg::ReadUncommitted => IsolationLevel::ReadUncommitted,
            IsolationArg::ReadCommitted => IsolationLevel::ReadCommitted,
        };
        consumer.auto_offset_reset = match self.auto_offset_reset {
            ResetArg::Earliest => AutoOffsetReset::Earliest,
            ResetArg::Latest => AutoOffsetReset::Latest,
            ResetArg::None => AutoOffsetReset::None,
        };
        consumer.io_mode = match self.io_mode {
            IoModeArg::Auto => IoMode::Auto,
            IoModeArg::Uring => IoMode::Uring,
            IoModeArg::Madvise => IoMode::Madvise,
            IoModeArg::Pread => IoMode::Pread,
            IoModeArg::Off => IoMode::Off,
        };
        Ok(ConsumeConfig {
            consumer,
            topics,
            partition: self.partition,
            start,
            at_end,
            max_records: self.count,
            format,
            verbosity: if self.verbose {
                Verbosity::Verbose
            } else {
                Verbosity::Quiet
            },
        })
    }
}

fn format(json: bool) -> Format {
    if json {
        Format::Json
    } else {
        Format::Text
    }
}

impl ReadArgs {
    fn options(&self, check_crcs: bool) -> ReadOptions {
        ReadOptions {
            strategy: match self.read_strategy {
                ReadStrategyArg::Mmap => ReadStrategy::Mmap,
                ReadStrategyArg::Read => ReadStrategy::Read,
            },
            check_crcs,
            ..ReadOptions::default()
        }
    }
}

impl TryFrom<Cmd> for Command {
    type Error = clap::Error;

    fn try_from(cmd: Cmd) -> Result<Command, clap::Error> {
        Ok(match cmd {
            Cmd::Ls(a) => Command::Ls(LsConfig {
                detail: if a.segments {
                    LsDetail::Segments
                } else {
                    LsDetail::Partitions
                },
                format: format(a.json),
                read: a.read.options(true),
                paths: a.paths,
            }),
            Cmd::Dump(a) => Command::Dump(DumpConfig {
                level: if a.print_data_log {
                    DumpLevel::RecordsWithData
                } else if a.deep_iteration {
                    DumpLevel::Records
                } else {
                    DumpLevel::Batches
                },
                format: format(a.json),
                bytes: match a.bytes {
                    BytesArg::Utf8 => BytesEncoding::Utf8,
                    BytesArg::Base64 => BytesEncoding::Base64,
                    BytesArg::Hex => BytesEncoding::Hex,
                },
                read: a.read.options(a.check_crcs),
                start_offset: a.offset,
                max_records: a.max_records,
                paths: a.paths,
            }),
            Cmd::Verify(a) => {
                let read = a.read.options(true);
                Command::Verify(VerifyConfig {
                    format: format(a.json),
                    options: VerifyOptions {
                        strategy: read.strategy,
                        max_inflated_bytes: read.max_inflated_bytes,
                        check_indexes: !a.skip_indexes,
                    },
                    paths: a.paths,
                })
            }
            Cmd::Gen(a) => Command::Gen(GenConfig {
                overwrite: if a.force {
                    Overwrite::Force
                } else {
                    Overwrite::Refuse
                },
                gen: kreplay::writer::GenConfig {
                    log_dir: a.out_dir,
                    topics: a.topics,
                    partitions: a.partitions,
                    records_per_topic: a.records,
                    key_size: a.key_size,
                    value_size: a.value_size,
                    compression: a.codec,
                    records_per_batch: a.batch_records,
                    segment_bytes: a.segment_bytes,
                    transactional_ratio: a.transactional_ratio,
                    abort_ratio: a.abort_ratio,
                    seed: a.seed,
                    ..kreplay::writer::GenConfig::default()
                },
            }),
            Cmd::Consume(a) => Command::Consume(a.config()?),
            Cmd::Bench(a) => Command::Bench(BenchConfig {
                gen: kreplay::writer::GenConfig {
                    partitions: a.partitions,
                    records_per_topic: a.records.unwrap_or(if a.quick {
                        20_000
                    } else {
                        4_000_000
                    }),
                    value_size: a.value_size,
                    compression: a.codec,
                    ..kreplay::writer::GenConfig::default()
                },
                log_dir: a.log_dir,
                rounds: a.rounds.unwrap_or(if a.quick { 1 } else { 3 }),
                format: format(a.json),
                quick: a.quick,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Command {
        parse(args.iter().map(OsString::from)).unwrap()
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn print_data_log_implies_deep_iteration() {
        let Command::Dump(c) = parse_ok(&["kreplay", "dump", "--print-data-log", "x"]) else {
            panic!()
        };
        assert_eq!(c.level, DumpLevel::RecordsWithData);
        assert!(c.read.check_crcs);
        let Command::Dump(c) = parse_ok(&["kreplay", "dump", "--check-crcs", "false", "x"]) else {
            panic!()
        };
        assert_eq!(c.level, DumpLevel::Batches);
        assert!(!c.read.check_crcs);
    }

    #[test]
    fn gen_flags() {
        let Command::Gen(c) = parse_ok(&[
            "kreplay",
            "gen",
            "out",
            "--topics",
            "a,b",
            "--codec",
            "zstd",
            "--transactional-ratio",
            "0.25",
        ]) else {
            panic!()
        };
        assert_eq!(c.gen.topics, ["a", "b"]);
        assert_eq!(c.gen.compression, Compression::Zstd);
        assert_eq!(c.gen.transactional_ratio, 0.25);
        assert_eq!(c.gen.log_dir, PathBuf::from("out"));
        assert_eq!(c.overwrite, Overwrite::Refuse);
        let defaults = kreplay::writer::GenConfig::default();
        assert_eq!(c.gen.partitions, defaults.partitions);
        assert_eq!(c.gen.records_per_batch, defaults.records_per_batch);
        assert!(
            parse(["kreplay", "gen", "out", "--transactional-ratio", "2"].map(OsString::from))
                .is_err()
        );
        assert!(
            parse(["kreplay", "gen", "out", "--topics", "a,../b"].map(OsString::from)).is_err()
        );
    }
}
