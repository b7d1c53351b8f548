//! `kreplay group import` and `kreplay group list --from-log-dir`: Kafka's
//! consumer groups read offline from a log dir's `__consumer_offsets`
//! partitions (`kreplay::state::kafka_groups`), listed, or turned into
//! kreplay group offsets so that `kreplay consume --group G` resumes where
//! the Kafka group stood — a dead broker's disk replayed from its groups'
//! committed positions. Import plans by default and writes with
//! `--execute`, refusing a group with live members as `group reset` does.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use kreplay::state::kafka_groups::KafkaGroups;
use kreplay::{OffsetAndMetadata, OffsetStore, ReadOptions, TopicPartition, MAX_METADATA_BYTES};
use serde::Serialize;

use crate::group::args::{GroupConfig, ImportConfig, ResetMode};
use crate::group::common::{emit, open_logs, open_store, table, Failure};
use crate::output::{self, Out};
use crate::shared_args::Format;
use crate::status::{Diagnostics, Status};

/// Reads the `__consumer_offsets` partitions of `log_dirs` and reports the
/// decoders' warnings, each with its partition and record offset.
fn load(log_dirs: &[PathBuf], diagnostics: &Diagnostics) -> Result<KafkaGroups, Failure> {
    let groups = KafkaGroups::load(log_dirs, ReadOptions::default())?;
    for p in &groups.partitions {
        for (offset, warning) in &p.view.warnings {
            diagnostics.warning(format_args!(
                "{} offset {offset}: {warning}",
                p.dir.path.display()
            ));
        }
    }
    if groups.partitions.is_empty() {
        diagnostics.warning(format_args!(
            "no __consumer_offsets-N partition in {}",
            log_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(groups)
}

/// Warns about `group`'s transactional commits that have no marker yet.
fn warn_pending(groups: &KafkaGroups, group: &str, diagnostics: &Diagnostics) {
    for pending in groups.pending(group) {
        let what = match pending.committed {
            Some(c) => format!(
                "offset {} (record at __consumer_offsets-{} offset {})",
                c.value.offset, pending.offsets_partition, c.record_offset
            ),
            None => format!(
                "a deletion (in __consumer_offsets-{})",
                pending.offsets_partition
            ),
        };
        diagnostics.warning(format_args!(
            "group '{group}': {}-{}: a transactional commit of {what} by producer id {} \
             has no COMMIT or ABORT marker: not imported (a coordinator holds it back too)",
            pending.topic, pending.partition, pending.producer_id
        ));
    }
}

/// Warns when `group` is found in more than one `__consumer_offsets` partition.
fn warn_split(groups: &KafkaGroups, group: &str, diagnostics: &Diagnostics) {
    let partitions = groups.partitions_of(group);
    if partitions.len() > 1 {
        diagnostics.warning(format_args!(
            "group '{group}' is in __consumer_offsets partitions {partitions:?} \
             (the topic's partition count changed?): the latest commit of each partition wins"
        ));
    }
}

#[derive(Serialize)]
struct KafkaGroupLine<'a> {
    group: &'a str,
    state: &'static str,
    members: usize,
    partitions: usize,
    protocol_type: Option<&'a str>,
    protocol: Option<&'a str>,
    generation: Option<i32>,
    leader: Option<&'a str>,
    /// The `__consumer_offsets` partitions the group was found in.
    offsets_partitions: Vec<i32>,
}

/// `group list --from-log-dir`: Kafka's groups of the log dirs.
pub fn list(
    config: &GroupConfig,
    from_log_dirs: &[PathBuf],
    out: &mut Out,
    diagnostics: &Diagnostics,
) -> Result<Status, Failure> {
    let groups = load(from_log_dirs, diagnostics)?;
    let ids = groups.group_ids();
    let mut lines = Vec::new();
    for group in &ids {
        let Some(state) = groups.state(group) else {
            continue; // only pending transactional commits
        };
        let metadata = groups.metadata(group);
        // A KIP-848 group: the `consumer` protocol, its epoch, the
        // server-side assignor its members asked for, no leader.
        let consumer = groups.consumer_group(group).filter(|_| metadata.is_none());
        let assignor = consumer.and_then(|c| {
            c.members
                .values()
                .find_map(|m| m.metadata.as_ref()?.server_assignor.as_deref())
        });
        lines.push(KafkaGroupLine {
            group,
            state: state.name(),
            members: metadata.map_or(consumer.map_or(0, |c| c.members.len()), |m| m.members.len()),
            partitions: groups.group_offsets(group).len(),
            protocol_type: metadata
                .map(|m| m.protocol_type.as_str())
                .or(consumer.map(|_| "consumer")),
            protocol: metadata.and_then(|m| m.protocol.as_deref()).or(assignor),
            generation: metadata
                .map(|m| m.generation)
                .or(consumer.and_then(|c| c.epoch)),
            leader: metadata.and_then(|m| m.leader.as_deref()),
            offsets_partitions: groups.partitions_of(group),
        });
        warn_split(&groups, group, diagnostics);
    }
    let text = |t: Option<&str>| match t {
        Some("") | None => "-".to_string(),
        Some(t) => t.to_string(),
    };
    emit(
        out,
        config.format,
        &lines,
        &[
            "GROUP",
            "STATE",
            "MEMBERS",
            "PARTITIONS",
            "PROTOCOL-TYPE",
            "PROTOCOL",
            "GENERATION",
            "LEADER",
        ],
        |l| {
            vec![
                l.group.to_string(),
                l.state.to_string(),
                l.members.to_string(),
                l.partitions.to_string(),
                text(l.protocol_type),
                text(l.protocol),
                l.generation.map_or_else(|| "-".into(), |g| g.to_string()),
                text(l.leader),
            ]
        },
    )?;
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct ImportLine<'a> {
    group: &'a str,
    topic: String,
    partition: i32,
    /// Kafka's committed offset: what is written.
    new_offset: i64,
    metadata: &'a str,
    commit_timestamp: i64,
    /// kreplay's committed offset now (`None`: none).
    current_offset: Option<i64>,
    /// `None`: the topic is not in the log dirs.
    log_end_offset: Option<i64>,
    /// Where the commit was read: `__consumer_offsets-<n>` and the record's offset.
    offsets_partition: i32,
    record_offset: i64,
}

/// `group import`: Kafka's committed offsets as kreplay group offsets.
pub fn import(
    config: &GroupConfig,
    import: &ImportConfig,
    out: &mut Out,
    diagnostics: &Diagnostics,
) -> Result<Status, Failure> {
    let log_dirs = &import.from_log_dirs;
    let groups = load(log_dirs, diagnostics)?;
    // Opened (when it exists) before anything else: a state dir inside the
    // log dir is refused even in a dry run.
    let store = open_store(config, log_dirs)?;
    let selected: Vec<String> = if import.groups.is_empty() {
        let (with_offsets, without): (Vec<String>, Vec<String>) = groups
            .group_ids()
            .into_iter()
            .partition(|g| !groups.group_offsets(g).is_empty());
        // Groups whose only commits wait for a marker: nothing to import, said.
        for group in &without {
            warn_pending(&groups, group, diagnostics);
        }
        with_offsets
    } else {
        let mut selected = import.groups.clone();
        selected.sort();
        selected.dedup();
        for group in &selected {
            if groups.group_offsets(group).is_empty() {
                warn_pending(&groups, group, diagnostics);
                return Err(Failure::Data(format!(
                    "group '{group}' has no committed offsets in the __consumer_offsets of {}",
                    log_dirs
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        selected
    };
    let logs = open_logs(log_dirs)?;
    let mut plans: BTreeMap<&str, Vec<ImportLine<'_>>> = BTreeMap::new();
    for group in &selected {
        if group.is_empty() {
            diagnostics.warning("skipping the group with the empty id: kreplay refuses it");
            continue;
        }
        warn_split(&groups, group, diagnostics);
        warn_pending(&groups, group, diagnostics);
        let current = match &store {
            Some(store) => store.committed_all(group)?,
            None => BTreeMap::new(),
        };
        let offsets = groups.group_offsets(group);
        let known: Vec<TopicPartition> = offsets
            .keys()
            .map(|(t, p)| TopicPartition::new(t.clone(), *p))
            .filter(|tp| logs.partitions().any(|p| p == tp))
            .collect();
        let starts = logs.beginning_offsets(&known)?;
        let ends = logs.end_offsets(&known)?;
        let mut lines = Vec::new();
        let mut missing: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for ((topic, partition), (offsets_partition, committed)) in offsets {
            let tp = TopicPartition::new(topic.clone(), partition);
            let offset = committed.value.offset;
            let at = format!(
                "__consumer_offsets-{offsets_partition} offset {}",
                committed.record_offset
            );
            if offset < 0 || partition < 0 || topic.is_empty() {
                diagnostics.warning(format_args!(
                    "group '{group}': {tp}: committed offset {offset} ({at}) is not a valid \
                     position: skipped"
                ));
                continue;
            }
            let log_end_offset = ends.get(&tp).copied();
            match (starts.get(&tp), log_end_offset) {
                (_, None) => missing.entry(topic.clone()).or_default().push(partition),
                (_, Some(end)) if offset > end => diagnostics.warning(format_args!(
                    "group '{group}': {tp}: committed offset {offset} ({at}) is past the log \
                     end offset {end}: a consumer resets it (--auto-offset-reset)"
                )),
                (Some(&start), _) if offset < start => diagnostics.warning(format_args!(
                    "group '{group}': {tp}: committed offset {offset} ({at}) is before the log \
                     start offset {start}: a consumer resets it (--auto-offset-reset)"
                )),
                _ => {}
            }
            lines.push(ImportLine {
                group,
                topic: topic.clone(),
                partition,
                new_offset: offset,
                metadata: &committed.value.metadata,
                commit_timestamp: committed.value.commit_timestamp,
                current_offset: current.get(&tp).map(|o| o.offset),
                log_end_offset,
                offsets_partition,
                record_offset: committed.record_offset,
            });
        }
        for (topic, partitions) in missing {
            let partitions: Vec<String> = partitions.iter().map(i32::to_string).collect();
            diagnostics.warning(format_args!(
                "group '{group}': topic {topic} is not in the log dir (partitions {}): \
                 imported anyway, LOG-END-OFFSET unknown (it may be on another broker's disk)",
                partitions.join(",")
            ));
        }
        plans.insert(group, lines);
    }
    print_plan(config.format, &plans, out)?;
    out.flush()?;
    if plans.values().all(Vec::is_empty) {
        diagnostics.note("no committed offsets to import");
        return Ok(Status::Ok);
    }
    let live: Vec<(&str, usize)> = match &store {
        Some(store) => {
            let mut live = Vec::new();
            for &group in plans.keys() {
                let n = store.describe_group(group)?.map_or(0, |d| d.live_members());
                if n > 0 {
                    live.push((group, n));
                }
            }
            live
        }
        None => Vec::new(),
    };
    match import.mode {
        ResetMode::DryRun => {
            for (group, n) in &live {
                diagnostics.warning(format_args!(
                    "group '{group}' has {n} live member(s), so --execute would be refused \
                     until they stop"
                ));
            }
            diagnostics
                .note("dry run: nothing written (rerun with --execute to write these offsets)");
        }
        ResetMode::Execute => {
            // Every group is checked before any is written: all or nothing
            // (alter_offsets checks again under each group's lock).
            if let Some((group, n)) = live.first() {
                return Err(kreplay::Error::Group {
                    group: group.to_string(),
                    reason: format!(
                        "offsets cannot be imported while the group has {n} live member{}: \
                         stop its consumers first (nothing was written)",
                        if *n == 1 { "" } else { "s" }
                    ),
                }
                .into());
            }
            let store = match store {
                Some(store) => store,
                None => OffsetStore::open(&config.state_dir, log_dirs)?,
            };
            for (group, lines) in &plans {
                let offsets = to_store(group, lines, diagnostics);
                if offsets.is_empty() {
                    continue;
                }
                store.alter_offsets(group, &offsets, &[])?;
                diagnostics.note(format_args!(
                    "wrote {} offset(s) for group '{group}'",
                    offsets.len()
                ));
            }
        }
    }
    Ok(Status::Ok)
}

/// The plan's lines as the store takes them; a metadata longer than the
/// store allows is dropped with a warning (the offset is kept).
fn to_store(
    group: &str,
    lines: &[ImportLine<'_>],
    diagnostics: &Diagnostics,
) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
    lines
        .iter()
        .map(|l| {
            let tp = TopicPartition::new(l.topic.clone(), l.partition);
            let offset = if l.metadata.len() > MAX_METADATA_BYTES {
                diagnostics.warning(format_args!(
                    "group '{group}': {tp}: the commit's metadata is {} bytes, more than \
                     kreplay keeps ({MAX_METADATA_BYTES}): imported without it",
                    l.metadata.len()
                ));
                OffsetAndMetadata::new(l.new_offset)
            } else {
                OffsetAndMetadata::with_metadata(l.new_offset, l.metadata)
            };
            (tp, offset)
        })
        .collect()
}

fn print_plan(
    format: Format,
    plans: &BTreeMap<&str, Vec<ImportLine<'_>>>,
    out: &mut Out,
) -> Result<(), Failure> {
    match format {
        Format::Json => {
            for line in plans.values().flatten() {
                output::json_line(out, line)?;
            }
        }
        Format::Text => {
            let dash = |n: Option<i64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
            let rows: Vec<Vec<String>> = plans
                .values()
                .flatten()
                .map(|l| {
                    vec![
                        l.group.to_string(),
                        l.topic.clone(),
                        l.partition.to_string(),
                        l.new_offset.to_string(),
                        dash(l.current_offset),
                        dash(l.log_end_offset),
                        dash(l.log_end_offset.map(|end| (end - l.new_offset).max(0))),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    "GROUP",
                    "TOPIC",
                    "PARTITION",
                    "NEW-OFFSET",
                    "CURRENT-OFFSET",
                    "LOG-END-OFFSET",
                    "LAG",
                ],
                &rows,
            )?;
        }
    }
    Ok(())
}
