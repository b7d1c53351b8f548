//! `kreplay group`'s subcommands, their flags and parsers (ISO 8601
//! datetimes and durations, `--topic T:P,...`) and the configuration they make.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::shared_args::{
    default_state_dir, format, group_parser, parse_topic, usage_error, Format, UsageError,
};

pub const GROUP_HELP: &str = "\
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
pub enum GroupCmd {
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
pub struct GroupListArgs {
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
pub struct GroupDescribeArgs {
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
pub struct GroupDeleteArgs {
    /// The group.
    #[arg(value_name = "GROUP", value_parser = group_parser())]
    group: String,
    #[command(flatten)]
    state: StateDirArg,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["topics", "all_topics"])))]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime", "by_duration"])))]
pub struct GroupResetArgs {
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
pub struct GroupImportArgs {
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

impl StateDirArg {
    fn resolve(self, subcommand: &str) -> Result<PathBuf, UsageError> {
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
    /// What `group …` runs with.
    pub fn config(self) -> Result<GroupConfig, UsageError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
