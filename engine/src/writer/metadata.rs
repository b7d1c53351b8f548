//! KRaft `__cluster_metadata` records and snapshots, for tests, fixtures
//! and fuzzing: metadata records as [`RecordSpec`]s (null key, framed
//! value) and `.checkpoint` snapshot files laid out as Kafka's
//! `RecordsSnapshotWriter` writes them (a snapshot header control batch,
//! the records, a snapshot footer control batch, offsets from 0).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::state::cluster_metadata::{
    ControlRecord, MetadataRecord, SnapshotFooterRecord, SnapshotHeaderRecord,
};
use crate::state::metadata_image::SnapshotId;

use super::encode::{BatchEncoder, BatchSpec, RecordSpec};

/// A metadata record as a record of the log: null key, framed value.
pub fn metadata_record_spec(timestamp: i64, record: &MetadataRecord) -> RecordSpec {
    RecordSpec {
        offset_delta: 0,
        timestamp,
        key: None,
        value: Some(record.encode()),
        headers: Vec::new(),
    }
}

/// A control record (key: version 0 and its type; value: its message).
pub fn control_record_spec(timestamp: i64, record: &ControlRecord) -> RecordSpec {
    RecordSpec {
        offset_delta: 0,
        timestamp,
        key: Some(record.encode_key()),
        value: Some(record.encode()),
        headers: Vec::new(),
    }
}

/// The file name Kafka gives a snapshot (`<end offset>-<epoch>.checkpoint`).
pub fn snapshot_file_name(id: SnapshotId) -> String {
    format!("{:020}-{:010}.checkpoint", id.end_offset, id.epoch)
}

/// Writes the snapshot `id` of `records` into the partition dir `dir`
/// (through a temporary `.checkpoint.part` renamed in place, as Kafka does)
/// and returns its path. Offsets start at 0; each batch holds up to
/// `records_per_batch` records.
pub fn write_metadata_snapshot(
    dir: &Path,
    id: SnapshotId,
    timestamp: i64,
    records: &[MetadataRecord],
    records_per_batch: usize,
) -> Result<PathBuf> {
    let mut encoder = BatchEncoder::new();
    let mut bytes = Vec::new();
    let epoch = Some(id.epoch);
    let header = ControlRecord::SnapshotHeader(SnapshotHeaderRecord {
        version: 0,
        last_contained_log_timestamp: timestamp,
        ..Default::default()
    });
    let control = |base_offset: i64| BatchSpec {
        base_offset,
        partition_leader_epoch: epoch,
        ..BatchSpec::default()
    };
    encoder.encode_control_records(
        &control(0),
        &[control_record_spec(timestamp, &header)],
        &mut bytes,
    )?;
    let mut next = 1i64;
    for chunk in records.chunks(records_per_batch.max(1)) {
        let specs: Vec<RecordSpec> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| RecordSpec {
                offset_delta: i32::try_from(i).unwrap_or(i32::MAX),
                ..metadata_record_spec(timestamp, r)
            })
            .collect();
        encoder.encode_batch(&control(next), &specs, &mut bytes)?;
        next += chunk.len() as i64;
    }
    let footer = ControlRecord::SnapshotFooter(SnapshotFooterRecord::default());
    encoder.encode_control_records(
        &control(next),
        &[control_record_spec(timestamp, &footer)],
        &mut bytes,
    )?;
    let path = dir.join(snapshot_file_name(id));
    let part = dir.join(format!("{}.part", snapshot_file_name(id)));
    let mut file = fs::File::create(&part).map_err(|e| Error::io(&part, e))?;
    file.write_all(&bytes).map_err(|e| Error::io(&part, e))?;
    file.sync_all().map_err(|e| Error::io(&part, e))?;
    fs::rename(&part, &path).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}
