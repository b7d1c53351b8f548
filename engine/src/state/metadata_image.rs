//! The cluster as `__cluster_metadata` describes it: topics with their ids,
//! partitions and configs, brokers and features, built the way a KRaft
//! broker builds its `MetadataImage`: from the latest sane snapshot
//! (`<20-digit end offset>-<10-digit epoch>.checkpoint` in the partition
//! dir), then every log record at or after the snapshot's end offset, in
//! offset order.
//!
//! Replay follows Kafka's `MetadataDelta`: a `TopicRecord` adds a topic, a
//! `RemoveTopicRecord` removes it with its partitions and configs,
//! `PartitionRecord` sets a partition, `PartitionChangeRecord` changes the
//! fields it carries, a `ConfigRecord` sets a key (a null value deletes it).
//! Records between a `BeginTransactionRecord` and its
//! `EndTransactionRecord` are applied at the end, dropped at an
//! `AbortTransactionRecord` or when the log ends first.
//!
//! Nothing stops the load short of an unreadable directory: a record that
//! does not decode, a type this reader does not know or a corrupt batch is
//! a [`MetadataImage::problems`] entry naming the file, the byte position
//! and the offset, and the replay goes on where it can.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Corruption, Error, Result};
use crate::partition::{Partition, ReadOptions};
use crate::segment::{Segment, SegmentEnd};
use crate::storage::{self, EntryKind};
use crate::{PartitionDir, TopicPartition};

use super::cluster_metadata::{
    decode_control_record, decode_metadata_value, ControlRecord, MetadataRecord,
    MetadataRecordData, MetadataValue, PartitionRecord, Uuid,
};

/// The topic of KRaft's metadata log.
pub const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";

/// Kafka's `ConfigResource.Type.TOPIC` id in a `ConfigRecord`.
pub const TOPIC_RESOURCE_TYPE: i8 = 2;

/// A snapshot's id, from its file name: the offset it ends before and the
/// epoch of the last record it contains (Kafka's `OffsetAndEpoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotId {
    /// The snapshot holds the state of every record below this offset.
    pub end_offset: i64,
    /// The leader epoch.
    pub epoch: i32,
}

/// Parses a KRaft snapshot file name, `<20 digits>-<10 digits>.checkpoint`
/// (Kafka's `Snapshots.parse`). Partial (`.checkpoint.part`) and deleted
/// (`.checkpoint.deleted`) snapshots are not snapshots.
pub fn snapshot_id_from_file_name(path: &Path) -> Option<SnapshotId> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".checkpoint")?;
    let (offset, epoch) = stem.split_once('-')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(offset, 20) || !digits(epoch, 10) {
        return None;
    }
    Some(SnapshotId {
        end_offset: offset.parse().ok()?,
        epoch: epoch.parse().ok()?,
    })
}

/// The snapshot files of a partition dir, oldest first.
pub fn list_snapshots(dir: &Path) -> Result<Vec<(SnapshotId, PathBuf)>> {
    let mut found = Vec::new();
    if let Some(remote) = storage::remote(dir) {
        for entry in remote.list(dir)? {
            let path = storage::join(dir, &entry.name);
            if let Some(id) = snapshot_id_from_file_name(&path) {
                if entry.kind == EntryKind::File {
                    found.push((id, path));
                }
            }
        }
        found.sort();
        return Ok(found);
    }
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if let Some(id) = snapshot_id_from_file_name(&path) {
            if path.is_file() {
                found.push((id, path));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The topic id a partition dir's `partition.metadata` names (Kafka's
/// `PartitionMetadataFile`: `version: 0` then `topic_id: <uuid>`); `None`
/// when the file is absent.
pub fn read_partition_metadata(dir: &Path) -> Result<Option<Uuid>> {
    let path = dir.join("partition.metadata");
    let Some(text) = storage::read_to_string_if_present(&path)? else {
        return Ok(None);
    };
    let invalid = |reason: String| Error::InvalidPath {
        path: path.clone(),
        reason,
    };
    let mut lines = text.lines();
    match lines.next().map(str::trim) {
        Some("version: 0") => {}
        other => {
            return Err(invalid(format!(
                "expected \"version: 0\" on the first line, found {other:?}"
            )))
        }
    }
    let id = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("topic_id:"))
        .ok_or_else(|| invalid("no topic_id line".into()))?;
    Uuid::parse(id)
        .map(Some)
        .ok_or_else(|| invalid(format!("topic id {:?} is not a Kafka uuid", id.trim())))
}

/// One record of the metadata log (or of a snapshot), decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataEntry {
    /// A metadata record (typed or raw).
    Metadata(MetadataValue),
    /// A control record.
    Control(ControlRecord),
}

/// A partition as the metadata describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionImage {
    /// The replicas, preferred first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// The leader, -1 for none.
    pub leader: i32,
    /// The leader epoch.
    pub leader_epoch: i32,
    /// The partition epoch.
    pub partition_epoch: i32,
}

/// A topic as the metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    /// The name.
    pub name: String,
    /// The topic id.
    pub topic_id: Uuid,
    /// Its partitions by number.
    pub partitions: BTreeMap<i32, PartitionImage>,
    /// The configs set on it (Kafka's defaults are not in the log).
    pub configs: BTreeMap<String, String>,
}

/// A problem met while loading, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageProblem {
    /// The file.
    pub path: PathBuf,
    /// Byte position of the batch in it, when about one.
    pub position: Option<u64>,
    /// The record's offset, when about one.
    pub offset: Option<i64>,
    /// What is wrong.
    pub message: String,
    /// Whether the data is damaged (as opposed to merely not understood).
    pub is_error: bool,
}

impl fmt::Display for ImageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(position) = self.position {
            write!(f, ": position {position}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, ", offset {offset}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The cluster's metadata, replayed.
#[derive(Debug, Clone, Default)]
pub struct MetadataImage {
    /// Topics by name.
    pub topics: BTreeMap<String, TopicImage>,
    /// Configs of every resource by (resource type, resource name), topics
    /// included.
    pub configs: BTreeMap<(i8, String), BTreeMap<String, String>>,
    /// Finalized feature levels (`metadata.version`, ...).
    pub features: BTreeMap<String, i16>,
    /// Registered brokers: id → (epoch, fenced).
    pub brokers: BTreeMap<i32, (i64, bool)>,
    /// The snapshot the replay started from.
    pub snapshot: Option<SnapshotId>,
    /// The offset of the last record applied.
    pub last_offset: Option<i64>,
    /// Records read (snapshot and log).
    pub records_read: u64,
    /// What could not be read or understood.
    pub problems: Vec<ImageProblem>,
    /// Records of an open metadata transaction, applied at its end.
    pending: Option<Vec<MetadataRecord>>,
}

impl MetadataImage {
    /// The topic with this id.
    pub fn topic_by_id(&self, topic_id: &Uuid) -> Option<&TopicImage> {
        self.topics.values().find(|t| t.topic_id == *topic_id)
    }

    fn topic_mut_by_id(&mut self, topic_id: &Uuid) -> Option<&mut TopicImage> {
        self.topics.values_mut().find(|t| t.topic_id == *topic_id)
    }

    /// Applies one record in log order (transactions buffered).
    pub fn replay(&mut self, record: &MetadataRecord) {
        match &record.data {
            MetadataRecordData::BeginTransaction(_) => {
                self.pending = Some(Vec::new());
            }
            MetadataRecordData::EndTransaction(_) => {
                for r in self.pending.take().unwrap_or_default() {
                    self.apply(&r);
                }
            }
            MetadataRecordData::AbortTransaction(_) => {
                self.pending = None;
            }
            _ => match &mut self.pending {
                Some(pending) => pending.push(record.clone()),
                None => self.apply(record),
            },
        }
    }

    /// Whether a metadata transaction is open (its records not applied).
    pub fn in_transaction(&self) -> bool {
        self.pending.is_some()
    }

    fn apply(&mut self, record: &MetadataRecord) {
        match &record.data {
            MetadataRecordData::Topic(t) => {
                let configs = self
                    .configs
                    .get(&(TOPIC_RESOURCE_TYPE, t.name.clone()))
                    .cloned()
                    .unwrap_or_default();
                self.topics.insert(
                    t.name.clone(),
                    TopicImage {
                        name: t.name.clone(),
                        topic_id: t.topic_id,
                        partitions: BTreeMap::new(),
                        configs,
                    },
                );
            }
            MetadataRecordData::RemoveTopic(r) => {
                let name = self.topic_by_id(&r.topic_id).map(|t| t.name.clone());
                if let Some(name) = name {
                    self.topics.remove(&name);
                    self.configs.remove(&(TOPIC_RESOURCE_TYPE, name));
                }
            }
            MetadataRecordData::Partition(p) => {
                if let Some(topic) = self.topic_mut_by_id(&p.topic_id) {
                    topic.partitions.insert(p.partition_id, partition_image(p));
                }
            }
            MetadataRecordData::PartitionChange(c) => {
                let partition = self
                    .topic_mut_by_id(&c.topic_id)
                    .and_then(|t| t.partitions.get_mut(&c.partition_id));
                if let Some(p) = partition {
                    if let Some(isr) = &c.isr {
                        p.isr.clone_from(isr);
                    }
                    if let Some(replicas) = &c.replicas {
                        p.replicas.clone_from(replicas);
                    }
                    if c.leader != -2 {
                        p.leader = c.leader;
                        p.leader_epoch = p.leader_epoch.saturating_add(1);
                    }
                    p.partition_epoch = p.partition_epoch.saturating_add(1);
                }
            }
            MetadataRecordData::Config(c) => {
                let key = (c.resource_type, c.resource_name.clone());
                let configs = self.configs.entry(key).or_default();
                match &c.value {
                    Some(value) => {
                        configs.insert(c.name.clone(), value.clone());
                    }
                    None => {
                        configs.remove(&c.name);
                    }
                }
                if c.resource_type == TOPIC_RESOURCE_TYPE {
                    let configs = configs.clone();
                    if let Some(topic) = self.topics.get_mut(&c.resource_name) {
                        topic.configs = configs;
                    }
                }
            }
            MetadataRecordData::FeatureLevel(f) => {
                if f.feature_level == 0 {
                    self.features.remove(&f.name);
                } else {
                    self.features.insert(f.name.clone(), f.feature_level);
                }
            }
            MetadataRecordData::RegisterBroker(b) => {
                self.brokers.insert(b.broker_id, (b.broker_epoch, b.fenced));
            }
            MetadataRecordData::UnregisterBroker(b) => {
                self.brokers.remove(&b.broker_id);
            }
            MetadataRecordData::FenceBroker(b) => {
                if let Some(broker) = self.brokers.get_mut(&b.id) {
                    broker.1 = true;
                }
            }
            MetadataRecordData::UnfenceBroker(b) => {
                if let Some(broker) = self.brokers.get_mut(&b.id) {
                    broker.1 = false;
                }
            }
            MetadataRecordData::BrokerRegistrationChange(b) => {
                if let Some(broker) = self.brokers.get_mut(&b.broker_id) {
                    match b.fenced {
                        1 => broker.1 = true,
                        -1 => broker.1 = false,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// Builds the image of the `__cluster_metadata` partition dir `dir`:
    /// the latest snapshot that reads cleanly, then the log after it.
    pub fn load(dir: &Path, options: ReadOptions) -> Result<MetadataImage> {
        let mut image = MetadataImage::default();
        let mut problems = Vec::new();
        let snapshots = list_snapshots(dir)?;
        for (id, path) in snapshots.iter().rev() {
            match read_snapshot(path, options) {
                Ok(snapshot) => {
                    image = snapshot;
                    image.snapshot = Some(*id);
                    break;
                }
                Err(problem) => problems.push(ImageProblem {
                    message: format!("snapshot not used: {}", problem.message),
                    is_error: true,
                    ..problem
                }),
            }
        }
        let start = image.snapshot.map_or(i64::MIN, |s| s.end_offset);
        let partition_dir = PartitionDir {
            topic_partition: TopicPartition::new(CLUSTER_METADATA_TOPIC, 0),
            path: dir.to_path_buf(),
        };
        let partition = Partition::open(&partition_dir, options)?;
        image.problems = problems;
        let segments = partition.segments();
        if image.snapshot.is_none() {
            if let Some(first) = segments.first().filter(|s| s.base_offset > 0) {
                image.problems.push(ImageProblem {
                    path: first.path.clone(),
                    position: None,
                    offset: Some(first.base_offset),
                    message: format!(
                        "the log starts at offset {} and no snapshot covers what came before: \
                         the image may lack topics",
                        first.base_offset
                    ),
                    is_error: true,
                });
            }
        }
        for n in 0..segments.len() {
            if segments
                .get(n + 1)
                .is_some_and(|next| next.base_offset <= start)
            {
                continue;
            }
            let segment = partition.open_segment(n)?;
            let is_last = n + 1 == segments.len();
            let mut problems = std::mem::take(&mut image.problems);
            read_entries(
                &segment,
                options,
                is_last,
                &mut problems,
                |offset, entry| {
                    if offset < start {
                        return;
                    }
                    image.records_read += 1;
                    image.last_offset = Some(offset);
                    if let MetadataEntry::Metadata(MetadataValue::Record(record)) = entry {
                        image.replay(&record);
                    }
                },
            );
            image.problems = problems;
        }
        if image.in_transaction() {
            image.problems.push(ImageProblem {
                path: dir.to_path_buf(),
                position: None,
                offset: image.last_offset,
                message: "the log ends inside a metadata transaction: its records are not applied"
                    .into(),
                is_error: false,
            });
            image.pending = None;
        }
        Ok(image)
    }
}

fn partition_image(p: &PartitionRecord) -> PartitionImage {
    PartitionImage {
        replicas: p.replicas.clone(),
        isr: p.isr.clone(),
        leader: p.leader,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
    }
}

/// Reads a snapshot file into an image; the first problem makes it unusable.
fn read_snapshot(
    path: &Path,
    options: ReadOptions,
) -> std::result::Result<MetadataImage, ImageProblem> {
    let problem = |message: String| ImageProblem {
        path: path.to_path_buf(),
        position: None,
        offset: None,
        message,
        is_error: true,
    };
    let segment = Segment::open(path, options.strategy).map_err(|e| problem(e.to_string()))?;
    let mut image = MetadataImage::default();
    let mut problems = Vec::new();
    let mut first: Option<bool> = None;
    let mut last_is_footer = false;
    read_entries(&segment, options, true, &mut problems, |offset, entry| {
        let is_header = matches!(
            entry,
            MetadataEntry::Control(ControlRecord::SnapshotHeader(_))
        );
        first.get_or_insert(is_header);
        last_is_footer = matches!(
            entry,
            MetadataEntry::Control(ControlRecord::SnapshotFooter(_))
        );
        image.records_read += 1;
        image.last_offset = Some(offset);
        if let MetadataEntry::Metadata(MetadataValue::Record(record)) = entry {
            image.replay(&record);
        }
    });
    if let Some(p) = problems.into_iter().find(|p| p.is_error) {
        return Err(p);
    }
    if first != Some(true) {
        return Err(problem("does not start with a snapshot header".into()));
    }
    if !last_is_footer {
        return Err(problem("does not end with a snapshot footer".into()));
    }
    image.pending = None;
    Ok(image)
}

/// Decodes every record of a metadata segment or snapshot file in order,
/// calling `each(offset, entry)`. Problems (corrupt batches, undecodable or
/// unknown records, a torn tail before the last segment) go to `problems`
/// with the file, position and offset; records after a corrupt batch in the
/// same file are not reached.
pub fn read_entries(
    segment: &Segment,
    options: ReadOptions,
    is_last: bool,
    problems: &mut Vec<ImageProblem>,
    mut each: impl FnMut(i64, MetadataEntry),
) {
    let mut inflater = options.inflater();
    let mut batches = segment.batches_from(0, options.check_crcs);
    let corrupt = |position: u64, offset: Option<i64>, e: &Error| ImageProblem {
        path: segment.path().to_path_buf(),
        position: Some(position),
        offset,
        message: match e {
            Error::Corrupt { kind, .. } => kind.to_string(),
            other => other.to_string(),
        },
        is_error: true,
    };
    for item in batches.by_ref() {
        let batch = match item {
            Ok(batch) => batch,
            Err(e) => {
                let (position, offset) = match &e {
                    Error::Corrupt {
                        position, offset, ..
                    } => (*position, *offset),
                    _ => (0, None),
                };
                problems.push(corrupt(position, offset, &e));
                return;
            }
        };
        let records = match batch.records(&mut inflater) {
            Ok(records) => records,
            Err(kind) => {
                let e = segment.corrupt(batch.position, Some(batch.base_offset()), kind);
                problems.push(corrupt(batch.position, Some(batch.base_offset()), &e));
                return;
            }
        };
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(kind) => {
                    let e = segment.corrupt(batch.position, Some(batch.base_offset()), kind);
                    problems.push(corrupt(batch.position, Some(batch.base_offset()), &e));
                    return;
                }
            };
            let at = |message: String, is_error: bool| ImageProblem {
                path: segment.path().to_path_buf(),
                position: Some(batch.position),
                offset: Some(record.offset()),
                message,
                is_error,
            };
            let entry = match record.control_type() {
                Some(control_type) => {
                    decode_control_record(control_type, record.value()).map(MetadataEntry::Control)
                }
                None if record.is_control() => {
                    problems.push(at("control record without a type in its key".into(), true));
                    continue;
                }
                None => match record.value() {
                    Some(value) => decode_metadata_value(value).map(MetadataEntry::Metadata),
                    None => {
                        problems.push(at("metadata record with a null value".into(), true));
                        continue;
                    }
                },
            };
            match entry {
                Ok(entry) => {
                    match &entry {
                        MetadataEntry::Metadata(MetadataValue::Unknown(u)) => {
                            problems.push(at(u.warning(), false));
                        }
                        MetadataEntry::Control(ControlRecord::Unknown { type_id, .. }) => {
                            problems
                                .push(at(format!("unknown control record type {type_id}"), false));
                        }
                        _ => {}
                    }
                    each(record.offset(), entry);
                }
                Err(e) => problems.push(at(e.to_string(), true)),
            }
        }
    }
    if let Some(SegmentEnd::TornTail(tail)) = batches.end() {
        if !is_last {
            problems.push(ImageProblem {
                path: segment.path().to_path_buf(),
                position: Some(tail.valid_bytes),
                offset: None,
                message: Corruption::TornTailBeforeNextSegment { tail: *tail }.to_string(),
                is_error: true,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_parse_as_kafka_names_them() {
        let id =
            snapshot_id_from_file_name(Path::new("x/00000000000000002067-0000000001.checkpoint"));
        assert_eq!(
            id,
            Some(SnapshotId {
                end_offset: 2067,
                epoch: 1
            })
        );
        for bad in [
            "00000000000000002067-0000000001.checkpoint.part",
            "00000000000000002067-0000000001.checkpoint.deleted",
            "00000000000000002067.checkpoint",
            "0000000000000000206-0000000001.checkpoint",
            "00000000000000002067-000000001x.checkpoint",
            "00000000000000000000.log",
        ] {
            assert_eq!(snapshot_id_from_file_name(Path::new(bad)), None, "{bad}");
        }
    }
}
