//! `kreplay dump`: batches and records, in the format of Kafka's
//! `kafka-dump-log` (`DumpLogSegments`), or as JSON lines.
//!
//! A batch is decoded completely before any of it is printed, so a batch
//! that fails prints nothing; the error (file, position, offset) goes to
//! stderr after everything before it, and the dump goes on with the next
//! segment and the next path.

mod args;

use std::io::{self, Write};
use std::path::Path;

use kreplay::state::metadata_image::snapshot_id_from_file_name;
use kreplay::{
    list_partitions, ControlRecordType, FileBatch, Inflater, LogPath, Partition, PartitionDir,
    Record, Segment, SegmentEnd, TopicPartition, MAGIC_V2,
};
use serde::Serialize;

pub use self::args::{Decoder, DumpArgs, DumpConfig, DumpLevel};

use crate::dump_metadata::{self, Decoded};
use crate::output::{self, BytesEncoding, EncodedBytes, EncodedHeaders, Out};
use crate::shared_args::Format;
use crate::status::{Diagnostics, Status};

/// Runs `kreplay dump`.
pub fn run(config: &DumpConfig) -> anyhow::Result<Status> {
    let mut dumper = Dumper {
        config,
        printer: Printer {
            out: output::stdout(),
            format: config.format,
            level: config.level,
            bytes: config.bytes,
            check_crcs: config.read.check_crcs,
        },
        diagnostics: Diagnostics::new(false),
        inflater: config.read.inflater(),
        records_left: config.max_records,
        status: Status::Ok,
    };
    for path in &config.paths {
        if dumper.dump_path(path)? == Flow::Stop {
            break;
        }
    }
    dumper.printer.out.flush()?;
    Ok(dumper.status)
}

/// Whether to go on after a batch, a segment or a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// `--max-records` reached.
    Stop,
}

struct Dumper<'c> {
    config: &'c DumpConfig,
    printer: Printer,
    diagnostics: Diagnostics,
    inflater: Inflater,
    records_left: Option<u64>,
    status: Status,
}

impl Dumper<'_> {
    /// Reports an engine error on stderr (after flushing what came before it
    /// on stdout) and records its status. Only writing stdout can fail here.
    fn fail(&mut self, error: &kreplay::Error) -> io::Result<()> {
        self.printer.out.flush()?;
        self.diagnostics.error(error);
        self.status = self.status.worst(Status::of_error(error));
        Ok(())
    }

    fn dump_path(&mut self, path: &Path) -> io::Result<Flow> {
        let what = match kreplay::classify(path) {
            Ok(what) => what,
            Err(error) => {
                self.fail(&error)?;
                return Ok(Flow::Continue);
            }
        };
        match what {
            LogPath::LogDir(dir) => {
                let partitions = match list_partitions(&dir) {
                    Ok(partitions) => partitions,
                    Err(error) => {
                        self.fail(&error)?;
                        return Ok(Flow::Continue);
                    }
                };
                if partitions.is_empty() {
                    // Dumping nothing is not a success.
                    self.diagnostics.error(format_args!(
                        "{}: no partition directories found: nothing to dump",
                        dir.display()
                    ));
                    self.status = self.status.worst(Status::Failure);
                }
                for partition in &partitions {
                    if self.dump_partition(partition)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Ok(Flow::Continue)
            }
            LogPath::PartitionDir(partition) => self.dump_partition(&partition),
            LogPath::Segment(file) => {
                if !crate::segment_name::accept(&file, self.config.segment_names, &self.diagnostics)
                {
                    self.status = self.status.worst(Status::Failure);
                    return Ok(Flow::Continue);
                }
                let segment = match Segment::open(&file, self.config.read.strategy) {
                    Ok(segment) => segment,
                    Err(error) => {
                        self.fail(&error)?;
                        return Ok(Flow::Continue);
                    }
                };
                let topic_partition = output::segment_topic_partition(&file);
                self.dump_segment(&topic_partition, &segment, true)
            }
        }
    }

    fn dump_partition(&mut self, dir: &PartitionDir) -> io::Result<Flow> {
        let partition = match Partition::open(dir, self.config.read) {
            Ok(partition) => partition,
            Err(error) => {
                self.fail(&error)?;
                return Ok(Flow::Continue);
            }
        };
        let segments = partition.segments();
        for n in 0..segments.len() {
            // A segment holds offsets below the next one's base offset.
            if let (Some(start), Some(next)) = (self.config.start_offset, segments.get(n + 1)) {
                if next.base_offset <= start {
                    continue;
                }
            }
            let segment = match partition.open_segment(n) {
                Ok(segment) => segment,
                Err(error) => {
                    self.fail(&error)?;
                    continue;
                }
            };
            let is_last = n + 1 == segments.len();
            if self.dump_segment(partition.topic_partition(), &segment, is_last)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    /// Takes `n` records off `--max-records`; `Stop` when none are left.
    fn count(&mut self, n: u64) -> Flow {
        match &mut self.records_left {
            Some(left) => {
                *left = left.saturating_sub(n);
                if *left == 0 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
            None => Flow::Continue,
        }
    }

    fn dump_segment(
        &mut self,
        tp: &TopicPartition,
        segment: &Segment,
        is_last: bool,
    ) -> io::Result<Flow> {
        if self.records_left == Some(0) {
            return Ok(Flow::Stop);
        }
        self.printer.segment_header(segment)?;
        let start = self.config.start_offset.unwrap_or(i64::MIN);
        let mut batches = segment.batches_from(0, self.config.read.check_crcs);
        for item in batches.by_ref() {
            let batch = match item {
                Ok(batch) => batch,
                Err(error) => {
                    self.fail(&error)?;
                    break;
                }
            };
            if batch.last_offset() < start {
                continue;
            }
            if self.config.level == DumpLevel::Batches {
                self.printer.batch(tp, segment, &batch)?;
                let n = if self.records_left.is_some() {
                    record_count(&batch, &mut self.inflater)
                } else {
                    0
                };
                if self.count(n) == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                continue;
            }
            // Decode the whole batch before printing any of it.
            let decoded: Result<Vec<Record<'_>>, _> = batch
                .records(&mut self.inflater)
                .and_then(|records| records.collect());
            let records = match decoded {
                Ok(records) => records,
                Err(kind) => {
                    let error = segment.corrupt(batch.position, Some(batch.base_offset()), kind);
                    self.fail(&error)?;
                    break;
                }
            };
            if self.printer.format == Format::Text {
                self.printer.batch(tp, segment, &batch)?;
            }
            for record in records.iter().filter(|r| r.offset() >= start) {
                let decoded = decode(
                    self.config.decoder,
                    &mut self.printer.out,
                    &self.diagnostics,
                    &mut self.status,
                    (segment, &batch, record),
                )?;
                self.printer.record(tp, &batch, record, decoded.as_ref())?;
                if let Some(left) = &mut self.records_left {
                    *left -= 1;
                    if *left == 0 {
                        return Ok(Flow::Stop);
                    }
                }
            }
        }
        if let Some(SegmentEnd::TornTail(tail)) = batches.end() {
            self.printer.out.flush()?;
            let message = format_args!("{}: {tail}", segment.path().display());
            if is_last {
                self.diagnostics.note(message);
            } else {
                self.diagnostics
                    .error(format_args!("{message} (not the last segment)"));
                self.status = self.status.worst(Status::DataError);
            }
        }
        Ok(Flow::Continue)
    }
}

/// Decodes a record with `--cluster-metadata-decoder` (nothing without a
/// decoder), reporting on stderr (after flushing stdout) what it could not
/// decode.
fn decode(
    decoder: Decoder,
    out: &mut Out,
    diagnostics: &Diagnostics,
    status: &mut Status,
    (segment, batch, record): (&Segment, &FileBatch<'_>, &Record<'_>),
) -> io::Result<Option<Decoded>> {
    {
        let decoded = match decoder {
            Decoder::Bytes => return Ok(None),
            Decoder::ClusterMetadata => dump_metadata::decode(record),
            Decoder::State(_) if record.is_control() => return Ok(None),
            Decoder::State(state) => match state.decode(record.key(), record.value()) {
                Ok(decoded) => decoded.into(),
                Err(error) => {
                    // Shown raw; the error (data) on stderr.
                    out.flush()?;
                    diagnostics.error(format_args!(
                        "{}: position {} offset {}: {error}",
                        segment.path().display(),
                        batch.position,
                        record.offset()
                    ));
                    *status = status.worst(Status::DataError);
                    return Ok(None);
                }
            },
        };
        let at = || {
            format!(
                "{}: position {}, offset {}",
                segment.path().display(),
                batch.position,
                record.offset()
            )
        };
        for warning in &decoded.warnings {
            out.flush()?;
            diagnostics.warning(format_args!("{}: {warning}", at()));
        }
        if let Some(error) = &decoded.error {
            out.flush()?;
            diagnostics.error(format_args!("{}: {error}", at()));
            *status = status.worst(Status::DataError);
        }
        Ok(Some(decoded))
    }
}

/// The records a batch holds (decoding only legacy compressed wrappers,
/// whose header does not say).
fn record_count(batch: &FileBatch<'_>, inflater: &mut Inflater) -> u64 {
    match batch.records_count() {
        Some(n) => u64::try_from(n).unwrap_or(0),
        None => batch
            .records(inflater)
            .map(|records| records.count() as u64)
            .unwrap_or(1),
    }
}

/// Writes dump lines to stdout.
struct Printer {
    out: Out,
    format: Format,
    level: DumpLevel,
    bytes: BytesEncoding,
    check_crcs: bool,
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap at `i32::MAX`.
fn increment_sequence(sequence: i32, increment: i64) -> i32 {
    let increment = i32::try_from(increment).unwrap_or(0);
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

fn timestamp_type_name(t: Option<kreplay::TimestampType>) -> &'static str {
    t.map_or("NoTimestampType", |t| t.name())
}

/// Kafka's `ControlRecordType` name.
fn control_type_name(t: ControlRecordType) -> &'static str {
    match t {
        ControlRecordType::Abort => "ABORT",
        ControlRecordType::Commit => "COMMIT",
        ControlRecordType::LeaderChange => "LEADER_CHANGE",
        ControlRecordType::SnapshotHeader => "SNAPSHOT_HEADER",
        ControlRecordType::SnapshotFooter => "SNAPSHOT_FOOTER",
        ControlRecordType::KRaftVersion => "KRAFT_VERSION",
        ControlRecordType::KRaftVoters => "KRAFT_VOTERS",
        _ => "UNKNOWN",
    }
}

/// One batch as a JSON line (`dump --json` without deep iteration).
#[derive(Serialize)]
struct BatchLine<'a> {
    topic: &'a str,
    partition: i32,
    segment: &'a str,
    position: u64,
    base_offset: i64,
    last_offset: i64,
    count: Option<i32>,
    base_sequence: Option<i32>,
    last_sequence: Option<i32>,
    producer_id: Option<i64>,
    producer_epoch: Option<i16>,
    partition_leader_epoch: Option<i32>,
    is_transactional: bool,
    is_control: bool,
    delete_horizon_ms: Option<i64>,
    timestamp_type: Option<&'static str>,
    max_timestamp: Option<i64>,
    size: usize,
    magic: i8,
    compresscodec: &'static str,
    crc: u32,
    is_valid: bool,
}

/// One record as a JSON line: exactly the conformance fields, in order.
#[derive(Serialize)]
struct RecordLine<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    timestamp_type: Option<u8>,
    key: EncodedBytes<'a>,
    value: EncodedBytes<'a>,
    headers: EncodedHeaders<'a>,
    is_control: bool,
}

impl Printer {
    fn segment_header(&mut self, segment: &Segment) -> io::Result<()> {
        if self.format == Format::Text {
            writeln!(self.out, "Dumping {}", segment.path().display())?;
            // As kafka-dump-log heads a KRaft snapshot.
            match snapshot_id_from_file_name(segment.path()) {
                Some(id) => writeln!(
                    self.out,
                    "Snapshot end offset: {}, epoch: {}",
                    id.end_offset, id.epoch
                )?,
                None => writeln!(self.out, "Log starting offset: {}", segment.base_offset())?,
            }
        }
        Ok(())
    }

    fn is_valid(&self, batch: &FileBatch<'_>) -> bool {
        // With CRC checks on, an invalid batch never gets this far.
        self.check_crcs || batch.ensure_valid().is_ok()
    }

    fn last_sequence(batch: &FileBatch<'_>) -> Option<i32> {
        batch
            .base_sequence()
            .map(|s| increment_sequence(s, i64::from(batch.last_offset_delta())))
    }

    fn delete_horizon_ms(batch: &FileBatch<'_>) -> Option<i64> {
        if batch.has_delete_horizon_ms() {
            batch.base_timestamp()
        } else {
            None
        }
    }

    fn batch(
        &mut self,
        tp: &TopicPartition,
        segment: &Segment,
        batch: &FileBatch<'_>,
    ) -> io::Result<()> {
        let is_valid = self.is_valid(batch);
        if self.format == Format::Json {
            let path = segment.path().to_string_lossy();
            let line = BatchLine {
                topic: &tp.topic,
                partition: tp.partition,
                segment: &path,
                position: batch.position,
                base_offset: batch.base_offset(),
                last_offset: batch.last_offset(),
                count: batch.records_count(),
                base_sequence: batch.base_sequence(),
                last_sequence: Self::last_sequence(batch),
                producer_id: batch.producer_id(),
                producer_epoch: batch.producer_epoch(),
                partition_leader_epoch: batch.partition_leader_epoch(),
                is_transactional: batch.is_transactional(),
                is_control: batch.is_control_batch(),
                delete_horizon_ms: Self::delete_horizon_ms(batch),
                timestamp_type: batch.timestamp_type().map(|t| t.name()),
                max_timestamp: batch.max_timestamp(),
                size: batch.size_in_bytes(),
                magic: batch.magic(),
                compresscodec: batch.compression().name(),
                crc: batch.checksum(),
                is_valid,
            };
            return output::json_line(&mut self.out, &line);
        }
        let out = &mut self.out;
        if batch.magic() >= MAGIC_V2 {
            write!(
                out,
                "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} \
                 producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} \
                 isControl: {} deleteHorizonMs: ",
                batch.base_offset(),
                batch.last_offset(),
                batch.records_count().unwrap_or(0),
                batch.base_sequence().unwrap_or(-1),
                Self::last_sequence(batch).unwrap_or(-1),
                batch.producer_id().unwrap_or(-1),
                batch.producer_epoch().unwrap_or(-1),
                batch.partition_leader_epoch().unwrap_or(-1),
                batch.is_transactional(),
                batch.is_control_batch(),
            )?;
            // As Java prints an OptionalLong.
            match Self::delete_horizon_ms(batch) {
                Some(ms) => write!(out, "OptionalLong[{ms}]")?,
                None => write!(out, "OptionalLong.empty")?,
            }
        } else {
            write!(out, "offset: {}", batch.last_offset())?;
        }
        writeln!(
            out,
            " position: {} {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: {}",
            batch.position,
            timestamp_type_name(batch.timestamp_type()),
            batch.max_timestamp().unwrap_or(-1),
            batch.size_in_bytes(),
            batch.magic(),
            batch.compression().name(),
            batch.checksum(),
            is_valid,
        )
    }

    fn record(
        &mut self,
        tp: &TopicPartition,
        batch: &FileBatch<'_>,
        record: &Record<'_>,
        decoded: Option<&Decoded>,
    ) -> io::Result<()> {
        if let (Format::Json, Some(decoded)) = (self.format, decoded) {
            let line = DecodedRecordLine {
                topic: &tp.topic,
                partition: tp.partition,
                offset: record.offset(),
                timestamp: record.timestamp(),
                timestamp_type: record.timestamp_type().map(|t| t.id()),
                key: &decoded.key,
                value: &decoded.value,
                tombstone: record.value().is_none(),
                warnings: &decoded.warnings,
                headers: EncodedHeaders {
                    headers: record.headers(),
                    encoding: self.bytes,
                },
                is_control: record.is_control(),
                raw_key: EncodedBytes {
                    bytes: record.key(),
                    encoding: self.bytes,
                },
                raw_value: EncodedBytes {
                    bytes: record.value(),
                    encoding: self.bytes,
                },
            };
            return output::json_line(&mut self.out, &line);
        }
        if self.format == Format::Json {
            let line = RecordLine {
                topic: &tp.topic,
                partition: tp.partition,
                offset: record.offset(),
                timestamp: record.timestamp(),
                timestamp_type: record.timestamp_type().map(|t| t.id()),
                key: EncodedBytes {
                    bytes: record.key(),
                    encoding: self.bytes,
                },
                value: EncodedBytes {
                    bytes: record.value(),
                    encoding: self.bytes,
                },
                headers: EncodedHeaders {
                    headers: record.headers(),
                    encoding: self.bytes,
                },
                is_control: record.is_control(),
            };
            return output::json_line(&mut self.out, &line);
        }
        let out = &mut self.out;
        let size = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i64);
        write!(
            out,
            "| offset: {} {}: {} keySize: {} valueSize: {}",
            record.offset(),
            timestamp_type_name(record.timestamp_type()),
            record.timestamp().unwrap_or(-1),
            size(record.key()),
            size(record.value()),
        )?;
        if batch.magic() >= MAGIC_V2 {
            let sequence = batch.base_sequence().map_or(-1, |s| {
                increment_sequence(s, record.offset().wrapping_sub(batch.base_offset()))
            });
            write!(out, " sequence: {sequence} headerKeys: [")?;
            for (i, header) in record.headers().iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(String::from_utf8_lossy(header.key).as_bytes())?;
            }
            out.write_all(b"]")?;
        }
        if let (Some(decoded), true) = (decoded, record.is_control()) {
            out.write_all(decoded.text.as_bytes())?;
        } else if let Some(control) = record.control_type() {
            let epoch = record
                .value()
                .and_then(|v| v.get(2..6))
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(i32::from_be_bytes);
            match (control, epoch) {
                (ControlRecordType::Abort | ControlRecordType::Commit, Some(epoch)) => write!(
                    out,
                    " endTxnMarker: {} coordinatorEpoch: {epoch}",
                    control_type_name(control)
                )?,
                _ => {
                    let id = record
                        .key()
                        .and_then(|k| k.get(2..4))
                        .and_then(|b| <[u8; 2]>::try_from(b).ok())
                        .map_or(-1, i16::from_be_bytes);
                    write!(out, " controlType: {}({id})", control_type_name(control))?
                }
            }
        } else if record.is_control() {
            write!(out, " controlType: UNKNOWN(-1)")?;
        }
        if let (Some(decoded), false) = (decoded, record.is_control()) {
            out.write_all(decoded.text.as_bytes())?;
        } else if self.level == DumpLevel::RecordsWithData && !record.is_control() {
            if let Some(key) = record.key() {
                write!(out, " key: {}", self.bytes.text(key))?;
            }
            if let Some(value) = record.value() {
                write!(out, " payload: {}", self.bytes.text(value))?;
            }
        }
        out.write_all(b"\n")
    }
}

/// One decoded record as a JSON line (`dump --json` with a decoder): the
/// conformance fields with `key` and `value` decoded, then `tombstone` and
/// the raw bytes.
#[derive(Serialize)]
struct DecodedRecordLine<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    timestamp_type: Option<u8>,
    key: &'a serde_json::Value,
    value: &'a serde_json::Value,
    headers: EncodedHeaders<'a>,
    is_control: bool,
    tombstone: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    raw_key: EncodedBytes<'a>,
    raw_value: EncodedBytes<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }
}
