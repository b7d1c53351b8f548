//! `kreplay group`: list, describe, delete and reset consumer groups, like
//! `kafka-consumer-groups`: states and members come from the group's
//! membership files (read without taking part), offsets from its commits.
//! Delete and reset refuse a group with live members, as Kafka does.
//! `group import` and `group list --from-log-dir` (Kafka's own groups, from
//! a log dir's `__consumer_offsets`) are in `group/import.rs`.

pub(crate) mod args;
pub(crate) mod common;
mod import;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use kreplay::{
    ConsumerGroupState, GroupDescription, OffsetAndMetadata, OffsetStore, TopicPartition,
};
use serde::Serialize;

pub use self::args::{
    DescribeView, GroupAction, GroupCmd, GroupConfig, ResetConfig, ResetMode, ResetScope,
    ResetTarget, GROUP_HELP,
};

use self::common::{emit, open_logs, open_store, table, Failure};
use crate::output::{self, Out};
use crate::shared_args::Format;
use crate::status::{Diagnostics, Status};

/// Runs `kreplay group …`.
pub fn run(config: &GroupConfig) -> anyhow::Result<Status> {
    let diagnostics = Diagnostics::new(false);
    let mut out = output::stdout();
    let result = match &config.action {
        GroupAction::List { from_log_dirs } if from_log_dirs.is_empty() => list(config, &mut out),
        GroupAction::List { from_log_dirs } => {
            import::list(config, from_log_dirs, &mut out, &diagnostics)
        }
        GroupAction::Import(import) => import::import(config, import, &mut out, &diagnostics),
        GroupAction::Describe {
            group,
            log_dirs,
            view: DescribeView::Offsets,
        } => describe(config, group, log_dirs, &mut out, &diagnostics),
        GroupAction::Describe { group, view, .. } => {
            describe_membership(config, group, *view, &mut out)
        }
        GroupAction::Delete { group } => delete(config, group, &diagnostics),
        GroupAction::Reset(reset_config) => reset(config, reset_config, &mut out, &diagnostics),
    };
    match result {
        Ok(status) => {
            out.flush()?;
            Ok(status)
        }
        Err(Failure::Io(error)) => Err(error.into()),
        Err(Failure::Engine(error)) => {
            out.flush()?;
            diagnostics.error(&error);
            Ok(Status::of_error(&error))
        }
        Err(Failure::Data(message)) => {
            out.flush()?;
            diagnostics.error(message);
            Ok(Status::DataError)
        }
    }
}

fn not_found(group: &str) -> Failure {
    Failure::Data(format!(
        "group not found: consumer group '{group}' does not exist"
    ))
}

#[derive(Serialize)]
struct GroupLine {
    group: String,
    state: &'static str,
    members: usize,
    generation: i32,
    protocol: Option<&'static str>,
    partitions: usize,
}

fn list(config: &GroupConfig, out: &mut Out) -> Result<Status, Failure> {
    let mut lines = Vec::new();
    if let Some(store) = open_store(config, &[])? {
        for group in store.groups()? {
            let partitions = store.committed_all(&group)?.len();
            let Some(description) = store.describe_group(&group)? else {
                continue; // deleted meanwhile
            };
            lines.push(GroupLine {
                state: description.state.name(),
                members: description.live_members(),
                generation: description.generation,
                protocol: description.protocol.map(|p| p.name()),
                partitions,
                group,
            });
        }
    }
    emit(
        out,
        config.format,
        &lines,
        &["GROUP", "STATE", "MEMBERS", "PARTITIONS"],
        |l| {
            vec![
                l.group.clone(),
                l.state.into(),
                l.members.to_string(),
                l.partitions.to_string(),
            ]
        },
    )?;
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct DescribeLine<'a> {
    group: &'a str,
    topic: &'a str,
    partition: i32,
    /// `None`: assigned, nothing committed yet.
    current_offset: Option<i64>,
    /// `None`: the partition is not in the log dirs.
    log_end_offset: Option<i64>,
    lag: Option<i64>,
    consumer_id: Option<&'a str>,
    host: Option<&'a str>,
    client_id: Option<&'a str>,
    metadata: Option<&'a str>,
}

fn describe(
    config: &GroupConfig,
    group: &str,
    log_dirs: &[PathBuf],
    out: &mut Out,
    diagnostics: &Diagnostics,
) -> Result<Status, Failure> {
    let store = open_store(config, log_dirs)?.ok_or_else(|| not_found(group))?;
    if !store.groups()?.iter().any(|g| g == group) {
        return Err(not_found(group));
    }
    let committed = store.committed_all(group)?;
    let description = store
        .describe_group(group)?
        .ok_or_else(|| not_found(group))?;
    if description.live_members() == 0 {
        diagnostics.note(format_args!(
            "consumer group '{group}' has no active members"
        ));
    } else if description.state == ConsumerGroupState::Rebalancing {
        diagnostics.note(format_args!(
            "consumer group '{group}' is rebalancing (generation {})",
            description.generation
        ));
    }
    // Committed partitions, and partitions assigned but not committed yet.
    let mut partitions: Vec<TopicPartition> = committed.keys().cloned().collect();
    for member in description.members.iter().filter(|m| !m.departed) {
        partitions.extend(member.assignment.iter().cloned());
    }
    partitions.sort();
    partitions.dedup();
    let logs = open_logs(log_dirs)?;
    let known: Vec<TopicPartition> = partitions
        .iter()
        .filter(|tp| logs.partitions().any(|p| p == *tp))
        .cloned()
        .collect();
    let ends = logs.end_offsets(&known)?;
    let mut lines = Vec::new();
    for tp in &partitions {
        let offset = committed.get(tp);
        let log_end_offset = ends.get(tp).copied();
        match (log_end_offset, offset) {
            (None, _) => diagnostics.warning(format_args!(
                "{tp}: not in the log dirs (LOG-END-OFFSET and LAG unknown)"
            )),
            (Some(end), Some(offset)) if offset.offset > end => diagnostics.note(format_args!(
                "{tp}: committed offset {} is past the log end offset {end}: lag shown as 0",
                offset.offset
            )),
            _ => {}
        }
        let owner = owner(&description, tp);
        lines.push(DescribeLine {
            group,
            topic: &tp.topic,
            partition: tp.partition,
            current_offset: offset.map(|o| o.offset),
            log_end_offset,
            lag: log_end_offset
                .zip(offset)
                .map(|(end, offset)| (end - offset.offset).max(0)),
            consumer_id: owner.map(|m| m.member_id.as_str()),
            host: owner.map(|m| m.host.as_str()),
            client_id: owner.map(|m| m.client_id.as_str()),
            metadata: offset.and_then(|o| o.metadata.as_deref()),
        });
    }
    let dash = |n: Option<i64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    let text = |t: Option<&str>| t.unwrap_or("-").to_string();
    emit(
        out,
        config.format,
        &lines,
        &[
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ],
        |l| {
            vec![
                l.group.to_string(),
                l.topic.to_string(),
                l.partition.to_string(),
                dash(l.current_offset),
                dash(l.log_end_offset),
                dash(l.lag),
                text(l.consumer_id),
                text(l.host),
                text(l.client_id),
            ]
        },
    )?;
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct MemberLine<'a> {
    group: &'a str,
    consumer_id: &'a str,
    group_instance_id: Option<&'a str>,
    host: &'a str,
    client_id: &'a str,
    pid: u32,
    partitions: usize,
    assignment: Vec<String>,
    /// A static member that left; its partitions wait for it.
    departed: bool,
}

#[derive(Serialize)]
struct StateLine<'a> {
    group: &'a str,
    assignment_strategy: Option<&'static str>,
    state: &'static str,
    members: usize,
    generation: i32,
}

/// `describe --members` and `describe --state`, as kafka-consumer-groups.
fn describe_membership(
    config: &GroupConfig,
    group: &str,
    view: DescribeView,
    out: &mut Out,
) -> Result<Status, Failure> {
    let store = open_store(config, &[])?.ok_or_else(|| not_found(group))?;
    let description = store
        .describe_group(group)?
        .ok_or_else(|| not_found(group))?;
    if view == DescribeView::State {
        let line = StateLine {
            group,
            assignment_strategy: description.protocol.map(|p| p.name()),
            state: description.state.name(),
            members: description.live_members(),
            generation: description.generation,
        };
        match config.format {
            Format::Json => output::json_line(out, &line)?,
            Format::Text => table(
                out,
                &[
                    "GROUP",
                    "ASSIGNMENT-STRATEGY",
                    "STATE",
                    "#MEMBERS",
                    "GENERATION",
                ],
                &[vec![
                    group.to_string(),
                    line.assignment_strategy.unwrap_or("-").to_string(),
                    line.state.to_string(),
                    line.members.to_string(),
                    line.generation.to_string(),
                ]],
            )?,
        }
        return Ok(Status::Ok);
    }
    let lines: Vec<MemberLine<'_>> = description
        .members
        .iter()
        .map(|m| MemberLine {
            group,
            consumer_id: &m.member_id,
            group_instance_id: m.group_instance_id.as_deref(),
            host: &m.host,
            client_id: &m.client_id,
            pid: m.pid,
            partitions: m.assignment.len(),
            assignment: m.assignment.iter().map(ToString::to_string).collect(),
            departed: m.departed,
        })
        .collect();
    emit(
        out,
        config.format,
        &lines,
        &[
            "GROUP",
            "CONSUMER-ID",
            "GROUP-INSTANCE-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT",
        ],
        |l| {
            vec![
                l.group.to_string(),
                l.consumer_id.to_string(),
                match (l.group_instance_id, l.departed) {
                    (Some(id), true) => format!("{id} (departed)"),
                    (Some(id), false) => id.to_string(),
                    (None, _) => "-".to_string(),
                },
                l.host.to_string(),
                l.client_id.to_string(),
                l.partitions.to_string(),
                if l.assignment.is_empty() {
                    "-".to_string()
                } else {
                    l.assignment.join(",")
                },
            ]
        },
    )?;
    Ok(Status::Ok)
}

/// The live member a partition is assigned to.
fn owner<'a>(
    description: &'a GroupDescription,
    tp: &TopicPartition,
) -> Option<&'a kreplay::MemberDescription> {
    description.owner_of(tp).filter(|m| !m.departed)
}

fn delete(config: &GroupConfig, group: &str, diagnostics: &Diagnostics) -> Result<Status, Failure> {
    let store = open_store(config, &[])?.ok_or_else(|| not_found(group))?;
    if !store.delete_group(group)? {
        return Err(not_found(group));
    }
    diagnostics.note(format_args!("deleted group '{group}'"));
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct PlanLine<'a> {
    group: &'a str,
    topic: &'a str,
    partition: i32,
    new_offset: i64,
}

fn reset(
    config: &GroupConfig,
    reset: &ResetConfig,
    out: &mut Out,
    diagnostics: &Diagnostics,
) -> Result<Status, Failure> {
    let group = reset.group.as_str();
    let store = open_store(config, &reset.log_dirs)?;
    let committed = match &store {
        Some(store) => store.committed_all(group)?,
        None => BTreeMap::new(),
    };
    let logs = open_logs(&reset.log_dirs)?;
    let partitions: Vec<TopicPartition> = match &reset.scope {
        ResetScope::AllTopics => committed.keys().cloned().collect(),
        ResetScope::Topics(selections) => {
            let mut partitions = Vec::new();
            for selection in selections {
                let of_topic = logs.partitions_for(&selection.topic);
                if of_topic.is_empty() {
                    return Err(kreplay::Error::Config(format!(
                        "topic '{}' is not in the log dirs",
                        selection.topic
                    ))
                    .into());
                }
                match &selection.partitions {
                    None => partitions.extend(of_topic),
                    Some(numbers) => {
                        for &n in numbers {
                            let tp = TopicPartition::new(selection.topic.clone(), n);
                            if !of_topic.contains(&tp) {
                                return Err(kreplay::Error::Config(format!(
                                    "partition {tp} is not in the log dirs"
                                ))
                                .into());
                            }
                            partitions.push(tp);
                        }
                    }
                }
            }
            partitions.sort();
            partitions.dedup();
            partitions
        }
    };
    let missing: Vec<&TopicPartition> = partitions
        .iter()
        .filter(|tp| !logs.partitions().any(|p| p == *tp))
        .collect();
    if let Some(tp) = missing.first() {
        return Err(kreplay::Error::Config(format!(
            "partition {tp} (committed by group '{group}') is not in the log dirs"
        ))
        .into());
    }
    let starts = logs.beginning_offsets(&partitions)?;
    let ends = logs.end_offsets(&partitions)?;
    let time = match reset.target {
        ResetTarget::Datetime(ms) => Some(ms),
        ResetTarget::Duration(ms) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            Some(now.saturating_sub(ms))
        }
        _ => None,
    };
    let for_times = match time {
        Some(ms) => {
            logs.offsets_for_times(&partitions.iter().map(|tp| (tp.clone(), ms)).collect())?
        }
        None => BTreeMap::new(),
    };
    let mut plan = BTreeMap::new();
    for tp in &partitions {
        let (Some(&start), Some(&end)) = (starts.get(tp), ends.get(tp)) else {
            continue;
        };
        let wanted = match reset.target {
            ResetTarget::Earliest => start,
            ResetTarget::Latest => end,
            ResetTarget::Offset(n) => n,
            ResetTarget::ShiftBy(n) => match committed.get(tp) {
                Some(current) => current.offset.saturating_add(n),
                None => {
                    return Err(Failure::Data(format!(
                        "cannot shift the offset of {tp}: group '{group}' has no committed offset for it"
                    )))
                }
            },
            ResetTarget::Datetime(_) | ResetTarget::Duration(_) => for_times
                .get(tp)
                .and_then(|found| found.as_ref().map(|t| t.offset))
                .unwrap_or(end),
        };
        plan.insert(tp.clone(), wanted.clamp(start, end.max(start)));
    }
    match config.format {
        Format::Json => {
            for (tp, offset) in &plan {
                output::json_line(
                    out,
                    &PlanLine {
                        group,
                        topic: &tp.topic,
                        partition: tp.partition,
                        new_offset: *offset,
                    },
                )?;
            }
        }
        Format::Text => {
            let rows: Vec<Vec<String>> = plan
                .iter()
                .map(|(tp, offset)| {
                    vec![
                        group.to_string(),
                        tp.topic.clone(),
                        tp.partition.to_string(),
                        offset.to_string(),
                    ]
                })
                .collect();
            table(out, &["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], &rows)?;
        }
    }
    out.flush()?;
    let live = match &store {
        Some(store) => store.describe_group(group)?.map_or(0, |d| d.live_members()),
        None => 0,
    };
    match reset.mode {
        ResetMode::DryRun if live > 0 => diagnostics.warning(format_args!(
            "dry run: nothing written; group '{group}' has {live} live member(s), \
             so --execute would be refused until they stop"
        )),
        ResetMode::DryRun => diagnostics
            .note("dry run: nothing written (rerun with --execute to write these offsets)"),
        ResetMode::Execute => {
            let store = match store {
                Some(store) => store,
                None => OffsetStore::open(&config.state_dir, &reset.log_dirs)?,
            };
            let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = plan
                .into_iter()
                .map(|(tp, offset)| (tp, OffsetAndMetadata::new(offset)))
                .collect();
            store.alter_offsets(group, &offsets, &[])?;
            diagnostics.note(format_args!(
                "wrote {} offset(s) for group '{group}'",
                offsets.len()
            ));
        }
    }
    Ok(Status::Ok)
}
