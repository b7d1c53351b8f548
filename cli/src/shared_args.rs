//! Argument types, parsers and helpers that several commands share: the
//! output format, `--read-strategy`, `-o`, topic and group names, file-name
//! policy, the state dir default and usage errors. Below every command: it
//! imports none of them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::{Args, ValueEnum};
use kreplay::{ReadOptions, ReadStrategy};

/// Text for people or JSON lines for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub(crate) fn format(json: bool) -> Format {
    if json {
        Format::Json
    } else {
        Format::Text
    }
}

#[derive(Debug, Args)]
pub struct ReadArgs {
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

impl ReadArgs {
    pub(crate) fn options(&self, check_crcs: bool) -> ReadOptions {
        ReadOptions::default()
            .with_strategy(match self.read_strategy {
                ReadStrategyArg::Mmap => ReadStrategy::Mmap,
                ReadStrategyArg::Read => ReadStrategy::Read,
            })
            .with_check_crcs(check_crcs)
    }
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
    pub(crate) fn of(any_file_name: bool) -> SegmentNames {
        if any_file_name {
            SegmentNames::Any
        } else {
            SegmentNames::Kafka
        }
    }
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

/// A group id: any non-empty UTF-8 text (the offsets store encodes it into a
/// safe directory name); bytes that are not UTF-8 are a usage error.
pub(crate) fn group_parser() -> impl TypedValueParser<Value = String> {
    OsStringValueParser::new().try_map(|group: OsString| match group.into_string() {
        Ok(group) if group.is_empty() => Err("a group id cannot be empty".to_string()),
        Ok(group) => Ok(group),
        Err(group) => Err(format!("group id {group:?} is not valid UTF-8")),
    })
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

pub(crate) fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A usage error found once the command line has parsed (flags that do not
/// go together, no state dir to default to). `args::parse` reports it as clap
/// reports its own, with the usage of `subcommand` (exit status 2); it is
/// built here, below the commands, which cannot reach the top-level `Cli`.
#[derive(Debug)]
pub struct UsageError {
    /// The subcommand whose usage is shown, e.g. `consume`.
    pub subcommand: String,
    /// What is wrong.
    pub message: String,
}

/// A usage error reported like clap's own (exit status 2).
pub(crate) fn usage_error(subcommand: &str, message: impl std::fmt::Display) -> UsageError {
    UsageError {
        subcommand: subcommand.to_string(),
        message: message.to_string(),
    }
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

/// Where a consumer with an optional `--group` starts (`-o`, else `stored`
/// with a group and `beginning` without) and its state dir (the XDG default
/// with a group): what `consume` and `export` share.
pub(crate) fn group_start(
    subcommand: &str,
    offset: Option<StartOffset>,
    group: Option<&str>,
    state_dir: Option<PathBuf>,
) -> Result<(StartOffset, Option<PathBuf>), UsageError> {
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
