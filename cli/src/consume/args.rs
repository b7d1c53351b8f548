//! `kreplay consume`'s flags, their parsers and the configuration they make.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};
use kreplay::{Assignor, AutoOffsetReset, ConsumerConfig, IoMode, IsolationLevel, OnDamage};

use crate::output::BytesEncoding;
use crate::record_format::{RecordFormat, Template, TextBytes};
use crate::shared_args::{
    group_parser, group_start, parse_at_least_one, parse_start_offset, parse_topic, usage_error,
    ReadArgs, StartOffset, UsageError,
};
use crate::sink::{ExecConfig, SinkConfig};

pub const CONSUME_HELP: &str = "\
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
pub struct ConsumeArgs {
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

impl ConsumeArgs {
    /// What `consume` runs with; a usage error for flags that do not go together.
    pub fn config(self) -> Result<ConsumeConfig, UsageError> {
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
