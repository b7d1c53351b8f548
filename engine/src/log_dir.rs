//! Discovery of topics and partitions under Kafka log dirs.
//!
//! A log dir holds one directory per partition, named `<topic>-<partition>`.
//! Topic names may contain `-` and `.`, so the partition number is what
//! follows the *last* `-`. Directories Kafka is deleting, moving or has
//! orphaned (`…-delete`, `…-future`, `…-stray`) are skipped, as are files and
//! anything else that does not parse.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::{self, EntryKind, Remote};

/// Name of the checkpoint file in a log dir root holding log start offsets.
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";

/// A topic name and a partition number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic-partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Parses a partition directory name (`orders-3`, `my.topic-with-dashes-12`).
    /// Returns `None` for Kafka's `-delete`, `-future` and `-stray` dirs.
    pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
        if ["-delete", "-future", "-stray"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        {
            return None;
        }
        let (topic, partition) = name.rsplit_once('-')?;
        if topic.is_empty()
            || partition.is_empty()
            || !partition.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(TopicPartition {
            topic: topic.to_string(),
            partition: partition.parse().ok()?,
        })
    }

    /// The directory name Kafka uses.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A partition directory found in a log dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDir {
    /// Its topic and partition.
    pub topic_partition: TopicPartition,
    /// The directory.
    pub path: PathBuf,
}

/// Lists the partition directories of one log dir, sorted by topic then
/// partition number.
///
/// Entries a broker would not have written are skipped with a warning: a
/// name that is not UTF-8, a topic name Kafka refuses (empty, `.`, `..`,
/// longer than 249 bytes, a byte other than `[a-zA-Z0-9._-]`), and a
/// symlink that leads out of the log dir.
pub fn list_partitions(log_dir: &Path) -> Result<Vec<PartitionDir>> {
    if let Some(remote) = storage::remote(log_dir) {
        return list_mounted_partitions(log_dir, &remote);
    }
    let entries = fs::read_dir(log_dir).map_err(|e| Error::io(log_dir, e))?;
    let root = log_dir.canonicalize().map_err(|e| Error::io(log_dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(log_dir, e))?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            log::warn!("skipping {}: its name is not UTF-8", path.display());
            continue;
        };
        let Some(topic_partition) = partition_of_dir_name(name, &path) else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            match path.canonicalize() {
                Ok(target) if target.starts_with(&root) => {}
                Ok(target) => {
                    log::warn!(
                        "skipping {}: a symlink out of the log dir (to {})",
                        path.display(),
                        target.display()
                    );
                    continue;
                }
                Err(e) => {
                    log::warn!("skipping {}: {e}", path.display());
                    continue;
                }
            }
        }
        found.push(PartitionDir {
            topic_partition,
            path,
        });
    }
    found.sort_by(|a, b| a.topic_partition.cmp(&b.topic_partition));
    Ok(found)
}

/// [`list_partitions`] under a mounted store: its directories named like
/// partitions (a store has no symlinks).
fn list_mounted_partitions(log_dir: &Path, remote: &Remote) -> Result<Vec<PartitionDir>> {
    let mut found = Vec::new();
    for entry in remote.list(log_dir)? {
        if entry.kind != EntryKind::Dir {
            continue;
        }
        let path = storage::join(log_dir, &entry.name);
        if let Some(topic_partition) = partition_of_dir_name(&entry.name, &path) {
            found.push(PartitionDir {
                topic_partition,
                path,
            });
        }
    }
    found.sort_by(|a, b| a.topic_partition.cmp(&b.topic_partition));
    Ok(found)
}

/// The partition a directory's name says, or `None` (logged) for a name
/// that is not a partition's or whose topic Kafka would refuse.
fn partition_of_dir_name(name: &str, path: &Path) -> Option<TopicPartition> {
    let Some(topic_partition) = TopicPartition::parse_dir_name(name) else {
        log::debug!("skipping {}: not a partition directory", path.display());
        return None;
    };
    if let Err(why) = legal_topic(&topic_partition.topic) {
        log::warn!("skipping {}: {why}", path.display());
        return None;
    }
    Some(topic_partition)
}

/// Kafka's rules for a topic name (`Topic.validate`).
fn legal_topic(topic: &str) -> std::result::Result<(), String> {
    if topic.is_empty() || topic == "." || topic == ".." {
        return Err(format!("{topic:?} is not a legal Kafka topic name"));
    }
    if topic.len() > 249 {
        return Err(format!(
            "a topic name of {} bytes is longer than Kafka allows (249)",
            topic.len()
        ));
    }
    if let Some(c) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic name {topic:?} holds {c:?}, which Kafka does not allow"
        ));
    }
    Ok(())
}

/// What a path given by a user turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPath {
    /// A log dir holding partition directories.
    LogDir(PathBuf),
    /// One partition directory.
    PartitionDir(PartitionDir),
    /// One segment file.
    Segment(PathBuf),
}

/// Classifies `path`: a file is a segment; a directory holding `.log` files
/// is a partition dir (named `<topic>-<partition>`; another name is taken
/// whole as the topic, partition 0); any other directory is a log dir.
pub fn classify(path: &Path) -> Result<LogPath> {
    if let Some(remote) = storage::remote(path) {
        return classify_mounted(path, &remote);
    }
    let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        return Ok(LogPath::Segment(path.to_path_buf()));
    }
    if !meta.is_dir() {
        return Err(Error::InvalidPath {
            path: path.to_path_buf(),
            reason: "neither a file nor a directory".into(),
        });
    }
    let has_segments = fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.ends_with(".log") || n.ends_with(".log.swap"))
        });
    if !has_segments {
        return Ok(LogPath::LogDir(path.to_path_buf()));
    }
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .unwrap_or_default();
    let topic_partition =
        TopicPartition::parse_dir_name(&name).unwrap_or_else(|| TopicPartition::new(name, 0));
    Ok(LogPath::PartitionDir(PartitionDir {
        topic_partition,
        path: path.to_path_buf(),
    }))
}

/// [`classify`] under a mounted store: a key with entries under it is a
/// directory, one that names an object a segment, neither is not found.
fn classify_mounted(path: &Path, remote: &Remote) -> Result<LogPath> {
    let entries = remote.list(path)?;
    if entries.is_empty() {
        return match remote.file_len(path)? {
            Some(_) => Ok(LogPath::Segment(path.to_path_buf())),
            None => Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such object or prefix"),
            )),
        };
    }
    let has_segments = entries.iter().any(|e| {
        e.kind == EntryKind::File && (e.name.ends_with(".log") || e.name.ends_with(".log.swap"))
    });
    if !has_segments {
        return Ok(LogPath::LogDir(path.to_path_buf()));
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let topic_partition =
        TopicPartition::parse_dir_name(&name).unwrap_or_else(|| TopicPartition::new(name, 0));
    Ok(LogPath::PartitionDir(PartitionDir {
        topic_partition,
        path: path.to_path_buf(),
    }))
}

/// Reads Kafka's offset checkpoint text format (`log-start-offset-checkpoint`,
/// `recovery-point-offset-checkpoint`, ...): a version line (0), a count line,
/// then `topic partition offset` lines. Returns `None` when the file does not
/// exist; a malformed file is an error naming the line.
pub fn read_offset_checkpoint(path: &Path) -> Result<Option<Vec<(TopicPartition, i64)>>> {
    let Some(text) = storage::read_to_string_if_present(path)? else {
        return Ok(None);
    };
    let bad = |line: usize, what: &str| Error::InvalidPath {
        path: path.to_path_buf(),
        reason: format!("malformed checkpoint at line {line}: {what}"),
    };
    let mut lines = text.lines();
    match lines.next().map(str::trim) {
        Some("0") => {}
        other => return Err(bad(1, &format!("expected version 0, found {other:?}"))),
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad(2, "expected an entry count"))?;
    let mut entries = Vec::with_capacity(count.min(1 << 16));
    for (i, line) in lines.enumerate().take(count) {
        let mut parts = line.rsplitn(3, ' ');
        let offset = parts.next().and_then(|p| p.parse::<i64>().ok());
        let partition = parts.next().and_then(|p| p.parse::<i32>().ok());
        let topic = parts.next();
        match (topic, partition, offset) {
            (Some(topic), Some(partition), Some(offset)) => {
                entries.push((TopicPartition::new(topic, partition), offset))
            }
            _ => return Err(bad(i + 3, "expected 'topic partition offset'")),
        }
    }
    if entries.len() != count {
        return Err(bad(entries.len() + 3, "fewer entries than the count says"));
    }
    Ok(Some(entries))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dir_names() {
        let tp = TopicPartition::parse_dir_name("my.topic-with-dashes-12").unwrap();
        assert_eq!(tp, TopicPartition::new("my.topic-with-dashes", 12));
        assert_eq!(tp.dir_name(), "my.topic-with-dashes-12");
        assert!(TopicPartition::parse_dir_name("orders-0.abc123-delete").is_none());
        assert!(TopicPartition::parse_dir_name("orders-0.abc123-future").is_none());
        assert!(TopicPartition::parse_dir_name("orders-0.abc123-stray").is_none());
        assert!(TopicPartition::parse_dir_name("orders").is_none());
        assert!(TopicPartition::parse_dir_name("-3").is_none());
        assert!(TopicPartition::parse_dir_name("orders-x").is_none());
        assert_eq!(
            TopicPartition::parse_dir_name("__consumer_offsets-36").unwrap(),
            TopicPartition::new("__consumer_offsets", 36)
        );
    }

    #[test]
    fn checkpoint_round() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_START_OFFSET_CHECKPOINT);
        assert!(read_offset_checkpoint(&path).unwrap().is_none());
        fs::write(&path, "0\n2\norders 0 100\nmy topic 3 7\n").unwrap();
        let entries = read_offset_checkpoint(&path).unwrap().unwrap();
        assert_eq!(entries[0], (TopicPartition::new("orders", 0), 100));
        assert_eq!(entries[1], (TopicPartition::new("my topic", 3), 7));
        fs::write(&path, "0\n2\norders 0 100\n").unwrap();
        let err = read_offset_checkpoint(&path).unwrap_err().to_string();
        assert!(err.contains("fewer entries"), "{err}");
        fs::write(&path, "1\n0\n").unwrap();
        assert!(read_offset_checkpoint(&path).is_err());
    }
}
