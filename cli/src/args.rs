//! The command line (clap derive) and, in one place, its conversion into the
//! configuration each command runs with.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use kreplay::{
    Assignor, AutoOffsetReset, Compression, ConsumerConfig, IoMode, IsolationLevel, OnDamage,
    ReadOptions, ReadStrategy, VerifyOptions,
};

use crate::output::BytesEncoding;
use crate::record_format::{RecordFormat, Template, TextBytes};
use crate::sink::{ExecConfig, SinkConfig};

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
    /// Consumer groups' committed offsets: list, describe (lag), delete, reset, import.
    #[command(after_help = GROUP_HELP, subcommand)]
    Group(GroupCmd),
    /// Write records to Parquet, Arrow IPC or JSON-lines files, one partition at a time.
    #[command(after_help = crate::export::EXPORT_HELP)]
    Export(crate::export::ExportArgs),
}

const GROUP_HELP: &str = "\
Groups live in --state-dir (by default $XDG_STATE_HOME/kreplay, else
~/.local/state/kreplay), where `kreplay consume --group G` members join and
commit. A group's state is `empty` (no live member), `stable` (live members,
all following the current generation), `rebalancing` (membership changed and
not every member follows yet) or `dead` (nothing stored). Reading a group
never takes part in it.

Exit status:
  0  success
  1  a data error, the group does not exist (describe, delete), or it has live
     members (delete, reset --execute: stop its consumers first, as Kafka)
  2  usage error or I/O error (bad flag, missing log dir, topic or partition)";

#[derive(Debug, Subcommand)]
enum GroupCmd {
    /// Groups in the state dir: state, live members, partitions with committed offsets.
    #[command(after_help = GROUP_HELP)]
    List(GroupListArgs),
    /// Per partition: CURRENT-OFFSET, LOG-END-OFFSET, LAG and owner, like kafka-consumer-groups --describe.
    #[command(after_help = GROUP_HELP)]
    Describe(GroupDescribeArgs),
    /// Delete a group and its committed offsets.
    #[command(after_help = GROUP_HELP)]
    Delete(GroupDeleteArgs),
    /// Plan (default, --dry-run) or write (--execute) new committed offsets, like
    /// kafka-consumer-groups --reset-offsets.
    #[command(after_help = GROUP_RESET_HELP)]
    Reset(GroupResetArgs),
    /// Plan (default) or write (--execute) kreplay group offsets from the committed
    /// offsets of Kafka's __consumer_offsets in a log dir (a dead broker's disk).
    #[command(after_help = GROUP_IMPORT_HELP)]
    Import(GroupImportArgs),
}

const GROUP_IMPORT_HELP: &str = "\
Every __consumer_offsets-N partition of --from-log-dir is read as its group
coordinator loads it: the last commit of a partition wins, a tombstone deletes
it, a transactional commit counts once its COMMIT marker is written (one still
without a marker is reported and not imported). The offsets are Kafka's
committed offsets (the next offset to read) with their metadata, written to
the groups of the same names in --state-dir; other partitions the group has
committed in kreplay are kept. Partitions of topics that are not in the log dir
are imported too, with a warning. Nothing is ever written into the log dir.

Without --execute the plan is only printed: NEW-OFFSET (Kafka's), CURRENT-OFFSET
(kreplay's now) and LOG-END-OFFSET. --execute is refused while a group has live
members, as `group reset` is.

Exit status:
  0  success
  1  a data error (a --group with no committed offsets, a corrupt
     __consumer_offsets record), or --execute on a group with live members
  2  usage error or I/O error (bad flag, missing log dir)";

const GROUP_RESET_HELP: &str = "\
Partitions (one of):
  --topic T          every partition of T in the log dirs; T:0,2 only those
  --all-topics       every partition the group has a committed offset for (as Kafka)

New offsets are clamped to [log start offset, log end offset], as Kafka does.
--to-datetime and --by-duration take the first record whose timestamp is at or
after the time (the log end offset when there is none). Datetimes are
YYYY-MM-DDTHH:MM[:SS[.fff]] with Z or +HH:MM / -HH:MM (none: UTC); durations
are ISO 8601 PnDTnHnMnS (e.g. P1DT2H, PT30M). --shift-by needs a committed
offset for every partition (an error otherwise).

Without --execute the plan is only printed (as --dry-run). --execute is
refused while the group has live members, as Kafka refuses to reset a group
that is not inactive.

Exit status:
  0  success
  1  a data error (--shift-by on a partition without a committed offset), or
     --execute on a group with live members
  2  usage error or I/O error (bad flag, missing log dir, topic or partition)";

#[derive(Debug, Args)]
struct StateDirArg {
    /// Where groups' committed offsets live [default: $XDG_STATE_HOME/kreplay, else ~/.local/state/kreplay].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct GroupListArgs {
    #[command(flatten)]
    state: StateDirArg,
    /// Kafka's groups instead, from the __consumer_offsets partitions of this log dir; repeat for several.
    #[arg(
        long = "from-log-dir",
        value_name = "DIR",
        conflicts_with = "state_dir"
    )]
    from_log_dirs: Vec<PathBuf>,
    /// One JSON object per group.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GroupDescribeArgs {
    /// The group.
    #[arg(value_name = "GROUP", value_parser = group_parser())]
    group: String,
    /// A log dir holding the partitions; repeat for several (not needed with --members or --state).
    #[arg(long = "log-dir", value_name = "DIR", required_unless_present_any = ["members", "show_state"])]
    log_dirs: Vec<PathBuf>,
    #[command(flatten)]
    state: StateDirArg,
    /// Per member instead: CONSUMER-ID, GROUP-INSTANCE-ID, HOST, CLIENT-ID, #PARTITIONS, ASSIGNMENT.
    #[arg(long, conflicts_with = "show_state")]
    members: bool,
    /// The group's state instead: ASSIGNMENT-STRATEGY, STATE, #MEMBERS, GENERATION.
    #[arg(long = "state")]
    show_state: bool,
    /// One JSON object per partition (member, group).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GroupDeleteArgs {
    /// The group.
    #[arg(value_name = "GROUP", value_parser = group_parser())]
    group: String,
    #[command(flatten)]
    state: StateDirArg,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["topics", "all_topics"])))]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime", "by_duration"])))]
struct GroupResetArgs {
    /// The group.
    #[arg(value_name = "GROUP", value_parser = group_parser())]
    group: String,
    /// A log dir holding the partitions; repeat for several.
    #[arg(long = "log-dir", value_name = "DIR", required = true)]
    log_dirs: Vec<PathBuf>,
    #[command(flatten)]
    state: StateDirArg,
    /// A topic, or T:P,P,... for some of its partitions; repeat for several.
    #[arg(long = "topic", value_name = "T[:P,...]", value_parser = parse_topic_partitions)]
    topics: Vec<TopicSelection>,
    /// Every partition the group has a committed offset for.
    #[arg(long)]
    all_topics: bool,
    /// The log start offset.
    #[arg(long)]
    to_earliest: bool,
    /// The log end offset.
    #[arg(long)]
    to_latest: bool,
    /// Offset N.
    #[arg(long, value_name = "N")]
    to_offset: Option<i64>,
    /// The committed offset plus N (N may be negative).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    shift_by: Option<i64>,
    /// The first record at or after this time (ISO 8601, e.g. 2023-11-14T22:13:30.000Z).
    #[arg(long, value_name = "ISO8601", value_parser = parse_datetime)]
    to_datetime: Option<i64>,
    /// The first record at or after now minus this duration (ISO 8601, e.g. P1DT2H30M).
    #[arg(long, value_name = "PnDTnHnM", value_parser = parse_duration)]
    by_duration: Option<i64>,
    /// Only print the plan (the default).
    #[arg(long, conflicts_with = "execute")]
    dry_run: bool,
    /// Write the new offsets.
    #[arg(long)]
    execute: bool,
    /// One JSON object per partition of the plan.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GroupImportArgs {
    /// A Kafka log dir holding __consumer_offsets-N partitions (and the topics); repeat for several.
    #[arg(long = "from-log-dir", value_name = "DIR", required = true)]
    from_log_dirs: Vec<PathBuf>,
    /// Import this group only; repeat for several [default: every group with committed offsets].
    #[arg(long = "group", value_name = "GROUP", value_parser = group_parser())]
    groups: Vec<String>,
    #[command(flatten)]
    state: StateDirArg,
    /// Only print the plan (the default).
    #[arg(long, conflicts_with = "execute")]
    dry_run: bool,
    /// Write the offsets.
    #[arg(long)]
    execute: bool,
    /// One JSON object per partition of the plan.
    #[arg(long)]
    json: bool,
}

/// `--topic T` or `--topic T:0,2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSelection {
    pub topic: String,
    /// `None`: every partition of the topic.
    pub partitions: Option<Vec<i32>>,
}

fn parse_topic_partitions(s: &str) -> Result<TopicSelection, String> {
    let (topic, partitions) = match s.split_once(':') {
        None => (s, None),
        Some((topic, list)) => {
            let mut partitions = Vec::new();
            for p in list.split(',') {
                match p.parse::<i32>() {
                    Ok(n) if n >= 0 => partitions.push(n),
                    _ => return Err(format!("'{p}' is not a partition number in '{s}'")),
                }
            }
            (topic, Some(partitions))
        }
    };
    Ok(TopicSelection {
        topic: parse_topic(topic)?,
        partitions,
    })
}

/// An ISO 8601 datetime as milliseconds since the epoch:
/// `YYYY-MM-DDTHH:MM[:SS[.fraction]]` then `Z`, `+HH:MM`, `-HH:MM`, `+HHMM`
/// or nothing (UTC).
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    let bad =
        || format!("'{s}' is not an ISO 8601 datetime (YYYY-MM-DDTHH:MM:SS.sss, with Z or +HH:MM)");
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Result<i64, String> {
        let part = b.get(from..from + n).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        part.iter()
            .try_fold(0i64, |acc, d| Ok(acc * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, c: u8| -> Result<(), String> {
        if b.get(at) == Some(&c) {
            Ok(())
        } else {
            Err(bad())
        }
    };
    let year = digits(0, 4)?;
    sep(4, b'-')?;
    let month = digits(5, 2)?;
    sep(7, b'-')?;
    let day = digits(8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return Err(bad());
    }
    let hour = digits(11, 2)?;
    sep(13, b':')?;
    let minute = digits(14, 2)?;
    let mut at = 16;
    let mut second = 0;
    let mut millis = 0;
    if b.get(at) == Some(&b':') {
        second = digits(at + 1, 2)?;
        at += 3;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 3 {
                    millis = millis * 10 + i64::from(b[at] - b'0');
                }
                at += 1;
            }
            if at == start {
                return Err(bad());
            }
            for _ in (at - start)..3 {
                millis *= 10;
            }
        }
    }
    let offset_minutes = match b.get(at) {
        None => 0,
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let hours = digits(at + 1, 2)?;
            let minutes = match b.len() - at {
                3 => 0,
                5 => digits(at + 3, 2)?,
                6 if b.get(at + 3) == Some(&b':') => digits(at + 4, 2)?,
                _ => return Err(bad()),
            };
            if hours > 23 || minutes > 59 {
                return Err(bad());
            }
            let total = hours * 60 + minutes;
            if sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return Err(bad()),
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

/// An ISO 8601 duration `PnDTnHnMnS` (also `nW`; whole numbers, seconds may
/// have a fraction) as milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("'{s}' is not an ISO 8601 duration (PnDTnHnMnS, e.g. P1DT2H30M)");
    let rest = s
        .strip_prefix('P')
        .or_else(|| s.strip_prefix('p'))
        .ok_or_else(bad)?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut any = false;
    let mut add = |part: &str, units: &[(char, i64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut last_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || (c == '.' && units.iter().any(|u| u.0 == 'S')) {
                number.push(c);
                continue;
            }
            let c = c.to_ascii_uppercase();
            let position = units.iter().position(|u| u.0 == c).ok_or_else(bad)?;
            if number.is_empty() || position < last_unit {
                return Err(bad());
            }
            last_unit = position + 1;
            let ms = units.get(position).map_or(0, |u| u.1);
            let value = if number.contains('.') {
                if c != 'S' {
                    return Err(bad());
                }
                let seconds: f64 = number.parse().map_err(|_| bad())?;
                (seconds * 1000.0).round() as i64
            } else {
                let n: i64 = number.parse().map_err(|_| bad())?;
                n.checked_mul(ms).ok_or_else(bad)?
            };
            total = total.checked_add(value).ok_or_else(bad)?;
            any = true;
            number.clear();
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    add(date, &[('W', 604_800_000), ('D', 86_400_000)])?;
    if let Some(time) = time {
        add(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1000)])?;
    }
    if !any {
        return Err(bad());
    }
    Ok(total)
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
    /// Read a file named on the command line even when its name is not a Kafka
    /// segment name (<20-digit base offset>.log); refused otherwise.
    #[arg(long)]
    any_file_name: bool,
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
    /// Decode KRaft `__cluster_metadata` records (segments and .checkpoint
    /// snapshots) as kafka-dump-log does; implies --print-data-log. With
    /// --json, `key` and `value` are the decoded objects, beside `tombstone`,
    /// `raw_key` and `raw_value`.
    #[arg(long, conflicts_with_all = ["offsets_decoder", "transaction_log_decoder"])]
    cluster_metadata_decoder: bool,
    /// Decode keys and values as `__consumer_offsets` records (offset
    /// commits, group metadata with members' subscriptions and assignments,
    /// KIP-848 consumer group records; implies --print-data-log). With
    /// --json, `key` and `value` are the decoded objects, `tombstone` says
    /// whether the value is null, `raw_key` / `raw_value` hold the bytes.
    /// Unknown versions are shown raw with a warning on stderr (exit status
    /// unchanged); a record that breaks its version's schema is shown raw
    /// with an error naming the field and its byte position (exit status 1).
    #[arg(long, conflicts_with = "transaction_log_decoder")]
    offsets_decoder: bool,
    /// Decode keys and values as `__transaction_state` records (implies
    /// --print-data-log; --json as with --offsets-decoder).
    #[arg(long)]
    transaction_log_decoder: bool,
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
  committed after each poll's output has been written and flushed (with --exec:
  accepted by CMD), and only then: after a closed pipe (| head) or -c, a rerun
  with -o stored continues right after the last record written.
  --commit-interval 5s commits at most every 5s instead (a commit is two fsyncs):
  an exit (-e, -c, a closed pipe, a failed --exec, an error) and a rebalance
  still commit exactly what was written; only a crash (kill -9, power loss)
  replays up to the interval's records again.
  Without -p, consume is a member of the group, as in Kafka: members (processes
  sharing the state dir, or --members N threads) split the topics' partitions
  per --partition-assignment-strategy, each partition read by one member at a
  time; members beyond the partition count wait idle. A member that joins,
  leaves or dies (kill -9 included: seen within --heartbeat-interval-ms)
  rebalances the group, and the next owner of a partition starts right after
  its last commit. A member that stops heartbeating (a stopped process) is
  evicted after --session-timeout-ms and its late commits refused. A static
  member (--group-instance-id) that restarts within --session-timeout-ms gets
  its partitions back without a rebalance. -o applies the first time a member
  gets a partition. -v reports each rebalance on stderr.

Sinks (--exec CMD):
  Instead of stdout, each poll's records (the bytes stdout would get, per
  --format) go to the stdin of a new `sh -c CMD`; a poll without records runs
  nothing. CMD's stdout and stderr go to kreplay's stderr: stdout stays empty.
  With --group, the poll is committed once CMD exits 0, and only then. A
  non-zero exit, a signal, or a CMD that cannot be started is a failure: the
  same records go to a new CMD again, up to --retries times, after
  --retry-backoff, doubled each time (at most 1m, or --retry-backoff if
  longer); then consume stops with status 1, naming the command, how it
  failed and the records' partitions and offsets, the group's offsets left
  where the last accepted poll put them. A CMD that exits 0 without reading
  its stdin has accepted the records: only the exit status counts. Without
  --group nothing is committed (a rerun starts over per -o).
  CMD's environment also holds:
    KREPLAY_GROUP       the --group (unset without one)
    KREPLAY_RECORDS     the number of records on its stdin
    KREPLAY_PARTITIONS  first and last offset per partition, e.g.
                        metrics-0:100-199,metrics-1:100-198
    KREPLAY_ATTEMPT     1, then 2, 3, ... when the records are retried
  e.g. --group hadoop --format json --exec 'hdfs dfs -appendToFile - /data/metrics.jsonl'

Exit status:
  0  success; a closed stdout (| head) also ends the command quietly with 0
  1  corruption or a data error (the message names the file, byte position and
     offset), or an --exec command that failed every retry
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
    /// On a segment that ends in a partial batch before the next segment: skip
    /// (report the file, position and missing offsets, read on, exit 1 at the end)
    /// or stop there (exit 1 after the records before it).
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = OnDamageArg::Skip)]
    on_damage: OnDamageArg,
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
    /// Pipe each poll's records to a new `sh -c CMD` instead of stdout; with
    /// --group, commit them once CMD exits 0 (see below).
    #[arg(long, value_name = "CMD", value_parser = parse_exec_command)]
    exec: Option<String>,
    /// Members of the group to run in this process, as threads (each with its own fetcher and sink:
    /// with --exec, up to N commands run at once; see --exec-concurrency).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_at_least_one, requires = "group")]
    members: usize,
    /// Commit at most this often, e.g. 5s (Kafka's auto.commit.interval.ms; default 0: after
    /// every poll). Every exit still commits exactly what was written; a crash (kill -9)
    /// redelivers up to this long's records.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_commit_interval, requires = "group")]
    commit_interval: Duration,
    /// Kafka's partition.assignment.strategy: range, roundrobin, sticky or cooperative-sticky.
    #[arg(long, value_name = "NAME", default_value = "range", value_parser = parse_assignor, requires = "group")]
    partition_assignment_strategy: Assignor,
    /// Kafka's group.instance.id: a static member, whose partitions wait for it
    /// through a restart within --session-timeout-ms.
    #[arg(long, value_name = "ID", value_parser = parse_instance_id, requires = "group")]
    group_instance_id: Option<String>,
    /// Kafka's session.timeout.ms: a member silent this long is evicted; a static member's
    /// partitions wait this long for it (a member whose process dies is seen at once).
    #[arg(long, value_name = "MS", default_value_t = 45_000, value_parser = clap::value_parser!(u64).range(1..), requires = "group")]
    session_timeout_ms: u64,
    /// Kafka's heartbeat.interval.ms: how often a member heartbeats and checks the group for
    /// joins and departures (so about how long a dead member's partitions wait).
    #[arg(long, value_name = "MS", default_value_t = 3_000, value_parser = clap::value_parser!(u64).range(1..), requires = "group")]
    heartbeat_interval_ms: u64,
    /// Kafka's client.id: part of member ids, shown by `group describe`.
    #[arg(long, value_name = "ID", default_value = "kreplay")]
    client_id: String,
    /// Retries of a poll's records after --exec CMD fails, before consume stops (status 1).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = parse_retries, allow_negative_numbers = true, requires = "exec")]
    retries: u32,
    /// The wait before the first retry, doubled before each next one (at most 1m), e.g. 200ms, 2s, 1m.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_backoff, allow_hyphen_values = true, requires = "exec")]
    retry_backoff: Duration,
    /// At most N --exec commands of this process's --members run at once (default: one per
    /// member, all at once); 1 makes the members' sinks take turns, for a CMD that is not
    /// safe to run concurrently (e.g. `cat >> file` interleaves lines).
    #[arg(long, value_name = "N", value_parser = parse_at_least_one, requires = "exec")]
    exec_concurrency: Option<usize>,
    /// Notes on stderr: the prefetch mode, a summary at the end.
    #[arg(short = 'v', long)]
    verbose: bool,
    #[command(flatten)]
    read: ReadArgs,
}

/// An `--exec` command: anything but blank (`sh -c ''` would accept every
/// record and deliver none).
fn parse_exec_command(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("an --exec command cannot be empty".into());
    }
    Ok(s.to_string())
}

/// `--partition-assignment-strategy`: one of Kafka's assignor names.
fn parse_assignor(s: &str) -> Result<Assignor, String> {
    s.parse()
        .map_err(|e: kreplay::UnknownAssignor| e.to_string())
}

/// `--group-instance-id`: any non-empty text.
fn parse_instance_id(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a group instance id cannot be empty".into());
    }
    Ok(s.to_string())
}

/// `--retries`: 0 or more.
fn parse_retries(s: &str) -> Result<u32, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not a number of retries (0 or more)"))
}

/// `--retry-backoff`: a duration with its unit, as humantime reads it
/// (`200ms`, `2s`, `1m`, `1m 30s`).
/// `--commit-interval`: a duration, `0` for every poll.
fn parse_commit_interval(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration such as 0, 500ms, 5s or 1m: {e}"))
}

fn parse_backoff(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("'{s}' is not a duration such as 200ms, 2s or 1m: {e}"))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnDamageArg {
    /// Report the damage, read on with the next segment, exit 1 at the end.
    Skip,
    /// Stop at the damage with an error (exit 1).
    Stop,
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
pub(crate) fn group_parser() -> impl TypedValueParser<Value = String> {
    OsStringValueParser::new().try_map(|group: OsString| match group.into_string() {
        Ok(group) if group.is_empty() => Err("a group id cannot be empty".to_string()),
        Ok(group) => Ok(group),
        Err(group) => Err(format!("group id {group:?} is not valid UTF-8")),
    })
}

/// kcat's `-o`: `beginning`, `end`, `stored`, `N`, `-N` or `s@TS`.
pub(crate) fn parse_start_offset(s: &str) -> Result<StartOffset, String> {
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
pub(crate) fn parse_topic(s: &str) -> Result<String, String> {
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
    pub segment_names: SegmentNames,
    pub level: DumpLevel,
    pub format: Format,
    pub bytes: BytesEncoding,
    /// `check_crcs` says whether CRCs are verified.
    pub read: ReadOptions,
    pub start_offset: Option<i64>,
    pub max_records: Option<u64>,
    pub decoder: Decoder,
}

/// How `dump` shows record keys and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// As bytes (`--bytes`).
    Bytes,
    /// KRaft `__cluster_metadata` records (`--cluster-metadata-decoder`).
    ClusterMetadata,
    /// `__consumer_offsets` (`--offsets-decoder`) or `__transaction_state`
    /// (`--transaction-log-decoder`) records.
    State(crate::dump_state::StateDecoder),
}

#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub paths: Vec<PathBuf>,
    pub segment_names: SegmentNames,
    pub format: Format,
    pub options: VerifyOptions,
}

/// Which file names `dump` and `verify` read when a file is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentNames {
    /// Only `<20-digit base offset>.log` (and `.log.swap`).
    Kafka,
    /// Any name, with a warning (`--any-file-name`).
    Any,
}

impl SegmentNames {
    fn of(any_file_name: bool) -> SegmentNames {
        if any_file_name {
            SegmentNames::Any
        } else {
            SegmentNames::Kafka
        }
    }
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
    /// Stdout, or `--exec`.
    pub sink: SinkConfig,
    pub verbosity: Verbosity,
    /// `--members`: group members run as threads.
    pub members: usize,
    /// `--commit-interval`: zero commits after every poll.
    pub commit_interval: Duration,
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
    Group(GroupConfig),
    Export(crate::export::ExportConfig),
}

/// What `kreplay group` runs with.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub state_dir: PathBuf,
    pub format: Format,
    pub action: GroupAction,
}

#[derive(Debug, Clone)]
pub enum GroupAction {
    /// kreplay's groups, or (`from_log_dirs` not empty) Kafka's groups in
    /// those log dirs' `__consumer_offsets`.
    List {
        from_log_dirs: Vec<PathBuf>,
    },
    Describe {
        group: String,
        log_dirs: Vec<PathBuf>,
        view: DescribeView,
    },
    Delete {
        group: String,
    },
    Reset(ResetConfig),
    Import(ImportConfig),
}

/// What `group import` reads and writes.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    pub from_log_dirs: Vec<PathBuf>,
    /// Empty: every group with committed offsets.
    pub groups: Vec<String>,
    pub mode: ResetMode,
}

/// What `group describe` shows, as `kafka-consumer-groups --describe`
/// (`--offsets`, the default; `--members`; `--state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeView {
    Offsets,
    Members,
    State,
}

/// Which partitions `group reset` moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetScope {
    /// Every partition the group has a committed offset for.
    AllTopics,
    Topics(Vec<TopicSelection>),
}

/// Where `group reset` moves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTarget {
    Earliest,
    Latest,
    Offset(i64),
    ShiftBy(i64),
    /// Milliseconds since the epoch.
    Datetime(i64),
    /// Now minus this many milliseconds.
    Duration(i64),
}

/// Whether `group reset` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetMode {
    DryRun,
    Execute,
}

#[derive(Debug, Clone)]
pub struct ResetConfig {
    pub group: String,
    pub log_dirs: Vec<PathBuf>,
    pub scope: ResetScope,
    pub target: ResetTarget,
    pub mode: ResetMode,
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
pub(crate) fn usage_error(subcommand: &str, message: impl std::fmt::Display) -> clap::Error {
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
pub(crate) fn default_state_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_STATE_HOME")
        .map(|state| state.join("kreplay"))
        .or_else(|| absolute("HOME").map(|home| home.join(".local/state/kreplay")))
}

impl StateDirArg {
    fn resolve(self, subcommand: &str) -> Result<PathBuf, clap::Error> {
        match self.state_dir {
            Some(dir) => Ok(dir),
            None => default_state_dir().ok_or_else(|| {
                usage_error(
                    subcommand,
                    "--state-dir is needed: neither XDG_STATE_HOME nor HOME is set to an absolute path",
                )
            }),
        }
    }
}

impl GroupCmd {
    fn config(self) -> Result<GroupConfig, clap::Error> {
        Ok(match self {
            GroupCmd::List(a) => GroupConfig {
                state_dir: a.state.resolve("group")?,
                format: format(a.json),
                action: GroupAction::List {
                    from_log_dirs: a.from_log_dirs,
                },
            },
            GroupCmd::Describe(a) => GroupConfig {
                state_dir: a.state.resolve("group")?,
                format: format(a.json),
                action: GroupAction::Describe {
                    group: a.group,
                    log_dirs: a.log_dirs,
                    view: if a.members {
                        DescribeView::Members
                    } else if a.show_state {
                        DescribeView::State
                    } else {
                        DescribeView::Offsets
                    },
                },
            },
            GroupCmd::Delete(a) => GroupConfig {
                state_dir: a.state.resolve("group")?,
                format: Format::Text,
                action: GroupAction::Delete { group: a.group },
            },
            GroupCmd::Reset(a) => {
                let target = match (a.to_offset, a.shift_by, a.to_datetime, a.by_duration) {
                    (Some(n), ..) => ResetTarget::Offset(n),
                    (_, Some(n), ..) => ResetTarget::ShiftBy(n),
                    (_, _, Some(ms), _) => ResetTarget::Datetime(ms),
                    (.., Some(ms)) => ResetTarget::Duration(ms),
                    _ if a.to_latest => ResetTarget::Latest,
                    _ => ResetTarget::Earliest,
                };
                GroupConfig {
                    state_dir: a.state.resolve("group")?,
                    format: format(a.json),
                    action: GroupAction::Reset(ResetConfig {
                        group: a.group,
                        log_dirs: a.log_dirs,
                        scope: if a.all_topics {
                            ResetScope::AllTopics
                        } else {
                            ResetScope::Topics(a.topics)
                        },
                        target,
                        mode: if a.execute {
                            ResetMode::Execute
                        } else {
                            ResetMode::DryRun
                        },
                    }),
                }
            }
            GroupCmd::Import(a) => GroupConfig {
                state_dir: a.state.resolve("group")?,
                format: format(a.json),
                action: GroupAction::Import(ImportConfig {
                    from_log_dirs: a.from_log_dirs,
                    groups: a.groups,
                    mode: if a.execute {
                        ResetMode::Execute
                    } else {
                        ResetMode::DryRun
                    },
                }),
            },
        })
    }
}

/// Where a consumer with an optional `--group` starts (`-o`, else `stored`
/// with a group and `beginning` without) and its state dir (the XDG default
/// with a group): what `consume` and `export` share.
pub(crate) fn group_start(
    subcommand: &str,
    offset: Option<StartOffset>,
    group: Option<&str>,
    state_dir: Option<PathBuf>,
) -> Result<(StartOffset, Option<PathBuf>), clap::Error> {
    let start = match (offset, group) {
        (Some(StartOffset::Stored), None) => {
            return Err(usage_error(
                subcommand,
                "-o stored needs --group (the committed offsets are a group's)",
            ))
        }
        (Some(start), _) => start,
        (None, Some(_)) => StartOffset::Stored,
        (None, None) => StartOffset::Beginning,
    };
    let state_dir = match (group, state_dir) {
        (None, _) => None,
        (Some(_), Some(dir)) => Some(dir),
        (Some(_), None) => Some(default_state_dir().ok_or_else(|| {
            usage_error(
                subcommand,
                "--group needs --state-dir: neither XDG_STATE_HOME nor HOME is set to an absolute path",
            )
        })?),
    };
    Ok((start, state_dir))
}

impl ConsumeArgs {
    fn config(self) -> Result<ConsumeConfig, clap::Error> {
        let (start, state_dir) = group_start(
            "consume",
            self.offset,
            self.group.as_deref(),
            self.state_dir,
        )?;
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
        if self.members > 1 && self.partition.is_some() {
            return Err(usage_error(
                "consume",
                "--members runs members of the group that share its partitions: it cannot be used with -p",
            ));
        }
        if self.members > 1 && self.count.is_some() {
            return Err(usage_error(
                "consume",
                "-c counts the records of one consumer: it cannot be used with --members",
            ));
        }
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            return Err(usage_error(
                "consume",
                "--heartbeat-interval-ms must be below --session-timeout-ms",
            ));
        }
        let mut consumer = ConsumerConfig::new(self.log_dirs);
        consumer.partition_assignment_strategy = self.partition_assignment_strategy;
        consumer.group_instance_id = self.group_instance_id;
        consumer.session_timeout = Duration::from_millis(self.session_timeout_ms);
        consumer.heartbeat_interval = Duration::from_millis(self.heartbeat_interval_ms);
        consumer.client_id = self.client_id;
        consumer.group_id = self.group;
        consumer.state_dir = state_dir;
        consumer.max_poll_records = self.max_poll_records;
        consumer.check_crcs = read.check_crcs;
        consumer.read_strategy = read.strategy;
        consumer.max_inflated_bytes = read.max_inflated_bytes;
        consumer.follow = at_end == AtEnd::Follow;
        consumer.on_damage = match self.on_damage {
            OnDamageArg::Skip => OnDamage::Skip,
            OnDamageArg::Stop => OnDamage::Stop,
        };
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
        let sink = match self.exec {
            Some(command) => SinkConfig::Exec(ExecConfig {
                command,
                retries: self.retries,
                retry_backoff: self.retry_backoff,
                concurrency: self.exec_concurrency,
            }),
            None => SinkConfig::Stdout,
        };
        Ok(ConsumeConfig {
            consumer,
            topics,
            partition: self.partition,
            start,
            at_end,
            max_records: self.count,
            format,
            sink,
            verbosity: if self.verbose {
                Verbosity::Verbose
            } else {
                Verbosity::Quiet
            },
            members: self.members,
            commit_interval: self.commit_interval,
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
                decoder: if a.cluster_metadata_decoder {
                    Decoder::ClusterMetadata
                } else if a.offsets_decoder {
                    Decoder::State(crate::dump_state::StateDecoder::Offsets)
                } else if a.transaction_log_decoder {
                    Decoder::State(crate::dump_state::StateDecoder::TransactionLog)
                } else {
                    Decoder::Bytes
                },
                level: if a.print_data_log
                    || a.cluster_metadata_decoder
                    || a.offsets_decoder
                    || a.transaction_log_decoder
                {
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
                segment_names: SegmentNames::of(a.any_file_name),
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
                    segment_names: SegmentNames::of(a.any_file_name),
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
            Cmd::Group(g) => Command::Group(g.config()?),
            Cmd::Export(a) => Command::Export(a.config()?),
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
    fn iso_datetimes_and_durations() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_datetime("2023-11-14T22:13:20.004Z"),
            Ok(1_700_000_000_004)
        );
        assert_eq!(
            parse_datetime("2023-11-14T23:13:20.004+01:00"),
            Ok(1_700_000_000_004)
        );
        assert_eq!(
            parse_datetime("2023-11-14T22:13:20.5"),
            Ok(1_700_000_000_500)
        );
        assert_eq!(parse_datetime("2023-11-14T22:13"), Ok(1_699_999_980_000));
        assert_eq!(
            parse_datetime("2024-02-29T00:00:00-0130"),
            Ok(1_709_170_200_000)
        );
        for bad in [
            "",
            "2023-02-29T00:00:00Z",
            "2023-11-14",
            "2023-11-14T25:00Z",
            "2023-11-14T22:13:20Zx",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("P1DT2H3M"), Ok(93_780_000));
        assert_eq!(parse_duration("PT30M"), Ok(1_800_000));
        assert_eq!(parse_duration("PT1.5S"), Ok(1500));
        assert_eq!(parse_duration("P1W"), Ok(604_800_000));
        for bad in ["", "P", "PT", "1D", "P1H", "PT1D", "PT1M2H", "P1.5D"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
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
