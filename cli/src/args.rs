//! The command line (clap derive) and, in one place, its conversion into the
//! configuration each command runs with.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use kreplay::{Compression, ReadOptions, ReadStrategy, VerifyOptions};

use crate::output::BytesEncoding;

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

/// A parsed command line.
#[derive(Debug, Clone)]
pub enum Command {
    Ls(LsConfig),
    Dump(DumpConfig),
    Verify(VerifyConfig),
    Gen(GenConfig),
}

/// Parses the command line into a [`Command`]; `Err` is clap's (usage error,
/// or `--help` / `--version`, which clap prints).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, clap::Error> {
    Ok(Cli::try_parse_from(args)?.command.into())
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

impl From<Cmd> for Command {
    fn from(cmd: Cmd) -> Command {
        match cmd {
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
        }
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
