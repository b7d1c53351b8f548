//! `kreplay ls` on a log dir holding KRaft's `__cluster_metadata-0`: the
//! topics the metadata knows (replayed from the latest snapshot and the log
//! after it), with their ids checked against each partition dir's
//! `partition.metadata`, their configs, and the partitions the metadata
//! knows but the dir lacks. A mismatch, a partition dir of a topic the
//! metadata does not know and a metadata record that does not decode are
//! reported on stderr (status 1); a record type the engine does not know is
//! a warning.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use kreplay::state::cluster_metadata::Uuid;
use kreplay::state::metadata_image::{
    read_partition_metadata, MetadataImage, CLUSTER_METADATA_TOPIC,
};
use kreplay::{PartitionDir, ReadOptions};
use serde::Serialize;

use crate::output::{self, Out};
use crate::status::{Diagnostics, Status};

/// One topic of the metadata, beside what the log dir holds of it.
pub struct TopicRow {
    log_dir: String,
    name: String,
    topic_id: String,
    partitions: usize,
    in_dir: Vec<i32>,
    missing: Vec<i32>,
    /// Partitions whose `partition.metadata` names another id (or is unreadable).
    mismatched: Vec<(i32, String)>,
    configs: BTreeMap<String, String>,
}

/// The topics of every log dir in `log_dirs` that holds `__cluster_metadata-0`.
pub fn topics(
    log_dirs: &[PathBuf],
    dirs: &[PartitionDir],
    read: ReadOptions,
    diagnostics: &Diagnostics,
    status: &mut Status,
) -> Vec<TopicRow> {
    let mut rows = Vec::new();
    for log_dir in log_dirs {
        let metadata_dir = log_dir.join(format!("{CLUSTER_METADATA_TOPIC}-0"));
        if !kreplay::storage::is_dir(&metadata_dir) {
            continue;
        }
        let image = match MetadataImage::load(&metadata_dir, read) {
            Ok(image) => image,
            Err(e) => {
                diagnostics.error(&e);
                *status = status.worst(Status::of_error(&e));
                continue;
            }
        };
        for problem in &image.problems {
            if problem.is_error {
                diagnostics.error(problem);
                *status = status.worst(Status::DataError);
            } else {
                diagnostics.warning(problem);
            }
        }
        let here: Vec<&PartitionDir> = dirs
            .iter()
            .filter(|d| d.path.parent() == Some(log_dir.as_path()) || same_dir(d, log_dir))
            .collect();
        for d in &here {
            let topic = &d.topic_partition.topic;
            if topic != CLUSTER_METADATA_TOPIC && !image.topics.contains_key(topic) {
                diagnostics.error(format_args!(
                    "{}: topic {topic} is not in the cluster metadata ({})",
                    d.path.display(),
                    metadata_dir.display()
                ));
                *status = status.worst(Status::DataError);
            }
        }
        for topic in image.topics.values() {
            let mut row = TopicRow {
                log_dir: log_dir.display().to_string(),
                name: topic.name.clone(),
                topic_id: topic.topic_id.to_string(),
                partitions: topic.partitions.len(),
                in_dir: Vec::new(),
                missing: Vec::new(),
                mismatched: Vec::new(),
                configs: topic.configs.clone(),
            };
            for d in here
                .iter()
                .filter(|d| d.topic_partition.topic == topic.name)
            {
                let partition = d.topic_partition.partition;
                row.in_dir.push(partition);
                match read_partition_metadata(&d.path) {
                    Ok(Some(id)) if id == topic.topic_id => {}
                    Ok(found) => {
                        let found =
                            found.map_or_else(|| "none".to_string(), |id: Uuid| id.to_string());
                        diagnostics.error(format_args!(
                            "{}: partition.metadata names topic id {found}, the cluster metadata {}",
                            d.path.display(),
                            topic.topic_id
                        ));
                        *status = status.worst(Status::DataError);
                        row.mismatched.push((partition, found));
                    }
                    Err(e) => {
                        diagnostics.error(&e);
                        *status = status.worst(Status::DataError);
                        row.mismatched.push((partition, "unreadable".into()));
                    }
                }
            }
            row.missing = topic
                .partitions
                .keys()
                .copied()
                .filter(|p| !row.in_dir.contains(p))
                .collect();
            rows.push(row);
        }
    }
    rows
}

fn same_dir(d: &PartitionDir, log_dir: &Path) -> bool {
    if kreplay::storage::is_mounted(log_dir) {
        return d.path.parent() == Some(log_dir);
    }
    match (
        d.path.parent().map(Path::canonicalize),
        log_dir.canonicalize(),
    ) {
        (Some(Ok(a)), Ok(b)) => a == b,
        _ => false,
    }
}

/// `0-14,16,18-49`.
fn ranges(numbers: &[i32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = numbers.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join(",")
    }
}

/// The TOPICS table, after the partitions.
pub fn print_text(
    out: &mut Out,
    rows: &[TopicRow],
    table: impl Fn(&mut Out, &[&str], &[Vec<String>]) -> io::Result<()>,
) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let id_check = if r.in_dir.is_empty() {
                "-".to_string()
            } else if r.mismatched.is_empty() {
                "ok".to_string()
            } else {
                format!(
                    "MISMATCH({})",
                    r.mismatched
                        .iter()
                        .map(|(p, id)| format!("{p}:{id}"))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            let configs = if r.configs.is_empty() {
                "-".to_string()
            } else {
                r.configs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            vec![
                r.name.clone(),
                r.topic_id.clone(),
                r.partitions.to_string(),
                r.in_dir.len().to_string(),
                ranges(&r.missing),
                id_check,
                configs,
            ]
        })
        .collect();
    table(
        out,
        &[
            "TOPIC",
            "TOPIC-ID",
            "PARTITIONS",
            "IN-DIR",
            "MISSING",
            "TOPIC-ID-CHECK",
            "CONFIGS",
        ],
        &cells,
    )
}

#[derive(Serialize)]
struct Mismatch<'a> {
    partition: i32,
    partition_metadata_topic_id: &'a str,
}

#[derive(Serialize)]
struct TopicLine<'a> {
    r#type: &'static str,
    log_dir: &'a str,
    topic: &'a str,
    topic_id: &'a str,
    partitions: usize,
    partitions_in_dir: &'a [i32],
    missing_partitions: &'a [i32],
    topic_id_mismatch: Vec<Mismatch<'a>>,
    configs: &'a BTreeMap<String, String>,
}

/// One `{"type":"topic",...}` line per topic.
pub fn print_json(out: &mut Out, rows: &[TopicRow]) -> io::Result<()> {
    for r in rows {
        output::json_line(
            out,
            &TopicLine {
                r#type: "topic",
                log_dir: &r.log_dir,
                topic: &r.name,
                topic_id: &r.topic_id,
                partitions: r.partitions,
                partitions_in_dir: &r.in_dir,
                missing_partitions: &r.missing,
                topic_id_mismatch: r
                    .mismatched
                    .iter()
                    .map(|(partition, id)| Mismatch {
                        partition: *partition,
                        partition_metadata_topic_id: id,
                    })
                    .collect(),
                configs: &r.configs,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_collapse_runs() {
        assert_eq!(ranges(&[]), "-");
        assert_eq!(ranges(&[0, 1, 2, 4, 6, 7]), "0-2,4,6-7");
    }
}
