//! The one-call path from log dirs to records: [`LogDir`] finds the
//! partitions, [`Partition::reader`] and [`Segment::reader`] read their
//! records from the beginning, an offset or a timestamp, with errors that
//! name the file, the position and the offset (see [`LogDir`]).

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use crate::error::{Corruption, Error, Result};
use crate::log_dir::{classify, list_partitions, LogPath, TopicPartition};
use crate::partition::{LogPosition, Partition, ReadOptions};
use crate::record::{Inflater, Record, RecordBatch, Records, MAGIC_V2};
use crate::segment::{FileBatch, Segment, SegmentEnd};

/// Where a reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartAt {
    /// The log start offset: the first record Kafka still serves.
    Beginning,
    /// The first record whose offset is at least this one (offsets below
    /// the log start offset start at it; offsets inside a compaction gap
    /// start at the next record that exists).
    Offset(i64),
    /// Kafka's `offsetsForTimes`: the first record, in offset order, whose
    /// timestamp is at least this one (milliseconds since the epoch).
    Timestamp(i64),
}

/// The partitions found under one or more paths, each a Kafka log dir (a
/// directory of `<topic>-<partition>` dirs) or one partition dir: the
/// entry point for reading records.
///
/// [`Partition::reader`] and [`Segment::reader`] pass on what Kafka's
/// consumer passes on with `isolation.level=read_uncommitted`: every data
/// record from the log start offset on (aborted ones included), never a
/// control record (a transaction marker). Records are borrowed views, so
/// the readers lend them: `next_batch` returns a batch that borrows the
/// reader until it is dropped, and `for_each` / `try_for_each` run a
/// closure over every record. Every error already names the file, the byte
/// position of the batch and its base offset. For read_committed, groups
/// and committed offsets, use [`Consumer`](crate::Consumer); for every
/// batch as stored, control batches included, [`Segment::batches`].
///
/// ```
/// use kreplay::{LogDir, StartAt};
///
/// # fn main() -> kreplay::Result<()> {
/// let log_dir = LogDir::open(["../fixtures/conformance/corpus/v2-uncompressed"])?;
/// for partition in log_dir.partitions() {
///     let mut count = 0;
///     partition.reader(StartAt::Beginning)?.for_each(|record| {
///         assert_eq!(record.offset(), count);
///         count += 1;
///     })?;
///     assert_eq!(count, partition.log_end_offset()?);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LogDir {
    paths: Vec<PathBuf>,
    partitions: Vec<Partition>,
}

impl LogDir {
    /// Finds the partitions under `paths` with the default [`ReadOptions`]
    /// (maps, CRCs checked, sane indexes used).
    pub fn open<I, P>(paths: I) -> Result<LogDir>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        LogDir::open_with(paths, ReadOptions::default())
    }

    /// Finds the partitions under `paths`, to be read with `options`. A
    /// partition found under two of the paths is refused (Kafka keeps one
    /// replica of a partition per broker), as is a path that is a segment
    /// file rather than a directory.
    pub fn open_with<I, P>(paths: I, options: ReadOptions) -> Result<LogDir>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let mut found: Vec<(PathBuf, crate::log_dir::PartitionDir)> = Vec::new();
        let mut given = Vec::new();
        for path in paths {
            let path = path.as_ref();
            given.push(path.to_path_buf());
            let dirs = match classify(path)? {
                LogPath::LogDir(root) => list_partitions(&root)?,
                LogPath::PartitionDir(dir) => vec![dir],
                LogPath::Segment(file) => {
                    return Err(Error::InvalidPath {
                        path: file,
                        reason: "a segment file, not a log dir or a partition dir \
                                 (open it with Segment::open)"
                            .into(),
                    })
                }
            };
            for dir in dirs {
                if let Some((earlier, _)) = found
                    .iter()
                    .find(|(_, d)| d.topic_partition == dir.topic_partition)
                {
                    return Err(Error::InvalidPath {
                        path: dir.path.clone(),
                        reason: format!(
                            "partition {} is also under {}",
                            dir.topic_partition.dir_name(),
                            earlier.display()
                        ),
                    });
                }
                found.push((path.to_path_buf(), dir));
            }
        }
        found.sort_by(|a, b| a.1.topic_partition.cmp(&b.1.topic_partition));
        let partitions = found
            .iter()
            .map(|(_, dir)| Partition::open(dir, options))
            .collect::<Result<Vec<_>>>()?;
        Ok(LogDir {
            paths: given,
            partitions,
        })
    }

    /// The paths this was opened from.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Every partition, by topic then partition number.
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// The topic names, sorted, each once.
    pub fn topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = self.partitions.iter().map(Partition::topic).collect();
        topics.dedup();
        topics
    }

    /// The partitions of one topic, by partition number.
    pub fn topic<'a>(&'a self, topic: &'a str) -> impl Iterator<Item = &'a Partition> + 'a {
        self.partitions.iter().filter(move |p| p.topic() == topic)
    }

    /// One partition, when it is here.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        self.partitions
            .binary_search_by(|p| (p.topic(), p.partition()).cmp(&(topic, partition)))
            .ok()
            .and_then(|n| self.partitions.get(n))
    }

    /// One partition, or an error naming it and the paths searched.
    pub fn get(&self, topic_partition: &TopicPartition) -> Result<&Partition> {
        self.partition(&topic_partition.topic, topic_partition.partition)
            .ok_or_else(|| Error::InvalidPath {
                path: self.paths.first().cloned().unwrap_or_default(),
                reason: format!(
                    "no partition {} under {}",
                    topic_partition.dir_name(),
                    self.paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }
}

impl Partition {
    /// A reader of this partition's records from `start` (see [`LogDir`] for what it passes on).
    pub fn reader(&self, start: StartAt) -> Result<PartitionReader<'_>> {
        // Records below the log start offset are gone as far as Kafka is
        // concerned; the first segment's name bounds it without a read.
        let first_base = self.segments().first().map(|s| s.base_offset);
        let log_start = first_base
            .unwrap_or(0)
            .max(self.checkpoint_log_start_offset().unwrap_or(i64::MIN));
        let from = match start {
            StartAt::Beginning => Some(log_start),
            StartAt::Offset(offset) => Some(offset.max(log_start)),
            StartAt::Timestamp(timestamp) => self
                .offset_for_timestamp(timestamp)?
                .map(|found| found.offset.max(log_start)),
        };
        let position = match from {
            // Nothing to skip to: the first batch of the first segment (a
            // damaged one is then reported by the reader, not here).
            Some(offset) if first_base.is_some_and(|base| offset <= base) => Some(LogPosition {
                segment: 0,
                position: 0,
            }),
            Some(offset) => self.seek(offset)?,
            None => None,
        };
        // No record at or past the timestamp: the reader is at the end.
        let from = match from {
            Some(offset) => offset,
            None => self.log_end_offset()?,
        };
        Ok(PartitionReader {
            partition: self,
            inflater: self.options().inflater(),
            segment_index: position.map_or(self.segments().len(), |p| p.segment),
            segment: None,
            cursor: Cursor {
                position: position.map_or(0, |p| p.position),
                next_offset: from,
                failed: None,
            },
        })
    }
}

impl Segment {
    /// A reader of this segment's records from its first batch, with CRCs
    /// checked and compressed batches inflated as `options` say.
    pub fn reader(&self, options: &ReadOptions) -> SegmentReader<'_> {
        SegmentReader {
            segment: self,
            inflater: options.inflater(),
            check_crcs: options.check_crcs,
            cursor: Cursor {
                position: 0,
                next_offset: i64::MIN,
                failed: None,
            },
        }
    }
}

/// Where a reader is in a segment, and the error it stopped at.
#[derive(Debug)]
struct Cursor {
    /// Byte position of the next batch.
    position: u64,
    /// Records below this offset are not passed on.
    next_offset: i64,
    /// Once a batch or record failed, every later call reports it again.
    failed: Option<(PathBuf, u64, Option<i64>, Corruption)>,
}

/// What the next batch of a segment is.
enum Step {
    /// A data batch at this position, this many bytes long.
    Batch { position: u64, size: usize },
    /// The segment has no more batches; how it ended.
    End(Option<SegmentEnd>),
}

impl Cursor {
    fn failure(&self) -> Option<Error> {
        self.failed
            .as_ref()
            .map(|(path, position, offset, kind)| Error::Corrupt {
                path: path.clone(),
                position: *position,
                offset: *offset,
                kind: kind.clone(),
            })
    }

    fn fail(&mut self, error: Error) -> Error {
        if let Error::Corrupt {
            path,
            position,
            offset,
            kind,
        } = &error
        {
            self.failed = Some((path.clone(), *position, *offset, kind.clone()));
        }
        error
    }

    /// Finds the next data batch holding a record at or past `next_offset`
    /// (a batch whose CRC or header is bad is an error, and stays one).
    fn step(&mut self, segment: &Segment, check_crcs: bool) -> Result<Step> {
        if let Some(error) = self.failure() {
            return Err(error);
        }
        let mut batches = segment.batches_from(self.position, check_crcs);
        loop {
            match batches.next() {
                None => return Ok(Step::End(batches.end().cloned())),
                Some(Err(error)) => return Err(self.fail(error)),
                Some(Ok(batch)) => {
                    let size = batch.size_in_bytes();
                    self.position = batch.position + size as u64;
                    if batch.last_offset() < self.next_offset {
                        continue;
                    }
                    if batch.is_control_batch() {
                        self.next_offset = batch.next_offset();
                        continue;
                    }
                    return Ok(Step::Batch {
                        position: batch.position,
                        size,
                    });
                }
            }
        }
    }

    /// The batch `step` found, its records ready to be read.
    fn open<'r>(
        &'r mut self,
        segment: &'r Segment,
        inflater: &'r mut Inflater,
        position: u64,
        size: usize,
    ) -> Result<ReaderBatch<'r>> {
        let start = usize::try_from(position).unwrap_or(usize::MAX);
        let bytes = start
            .checked_add(size)
            .and_then(|end| segment.mapping().get(start..end))
            .unwrap_or_default();
        let batch = RecordBatch::parse(bytes)
            .map_err(|kind| self.fail(segment.corrupt(position, None, kind)))?;
        let batch = FileBatch { position, batch };
        let skip_below = self.next_offset;
        self.next_offset = batch.next_offset();
        let records = match batch.records(inflater) {
            Ok(records) => records,
            Err(kind) => {
                let error = segment.corrupt(position, Some(batch.base_offset()), kind);
                return Err(self.fail(error));
            }
        };
        Ok(ReaderBatch {
            segment,
            batch,
            records: Some(records),
            skip_below,
            resume_from: skip_below,
            done: false,
            cursor: self,
        })
    }
}

/// Reads a partition's records, segment after segment (see [`LogDir`]); made by [`Partition::reader`].
#[derive(Debug)]
pub struct PartitionReader<'p> {
    partition: &'p Partition,
    inflater: Inflater,
    segment_index: usize,
    segment: Option<Segment>,
    cursor: Cursor,
}

impl<'p> PartitionReader<'p> {
    /// The partition read.
    pub fn partition(&self) -> &'p Partition {
        self.partition
    }

    /// The offset the reader goes on from: after the last record it passed
    /// on (or where it starts).
    pub fn next_offset(&self) -> i64 {
        self.cursor.next_offset
    }

    /// The next batch holding records at or past [`next_offset`](Self::next_offset),
    /// or `None` at the end of the log. A torn tail (a crash mid-append)
    /// ends the log when it is in the last segment and is an error before
    /// another one, as in the [`Consumer`](crate::Consumer). After an
    /// error, every later call returns it again.
    ///
    /// The batch borrows the reader until it is dropped (dropped early, it
    /// leaves the reader at its first record not passed on), so a loop
    /// whose body asks the reader something is written
    /// `loop { let Some(batch) = reader.next_batch()? else { break }; ... }`.
    pub fn next_batch(&mut self) -> Result<Option<ReaderBatch<'_>>> {
        let check_crcs = self.partition.options().check_crcs;
        let (position, size) = loop {
            let segments = self.partition.segments();
            let Some(file) = segments.get(self.segment_index) else {
                return Ok(None);
            };
            if self.segment.is_none() {
                self.segment = Some(self.partition.open_segment(self.segment_index)?);
            }
            let Some(segment) = &self.segment else {
                return Ok(None);
            };
            match self.cursor.step(segment, check_crcs)? {
                Step::Batch { position, size } => break (position, size),
                Step::End(Some(SegmentEnd::TornTail(tail)))
                    if self.segment_index + 1 < segments.len() =>
                {
                    let kind = Corruption::TornTailBeforeNextSegment { tail };
                    let offset = Some(self.cursor.next_offset.max(file.base_offset));
                    let error = segment.corrupt(tail.valid_bytes, offset, kind);
                    return Err(self.cursor.fail(error));
                }
                Step::End(_) => {
                    self.segment = None;
                    self.segment_index += 1;
                    self.cursor.position = 0;
                }
            }
        };
        match &self.segment {
            Some(segment) => self
                .cursor
                .open(segment, &mut self.inflater, position, size)
                .map(Some),
            None => Ok(None),
        }
    }

    /// Runs `f` over every record left, in offset order.
    pub fn for_each(&mut self, f: impl FnMut(Record<'_>)) -> Result<()> {
        for_each_batch(self, f)
    }

    /// Runs `f` over every record left, in offset order, until it returns
    /// an error; the reader's errors come as `E` too.
    pub fn try_for_each<E: From<Error>>(
        &mut self,
        f: impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        try_for_each_batch(self, f)
    }
}

/// Reads one segment's records (see [`LogDir`]);
/// made by [`Segment::reader`]. The end of the segment ends it, a torn tail
/// included.
#[derive(Debug)]
pub struct SegmentReader<'s> {
    segment: &'s Segment,
    inflater: Inflater,
    check_crcs: bool,
    cursor: Cursor,
}

impl<'s> SegmentReader<'s> {
    /// Starts at the first record whose offset is at least `offset` (it
    /// reads on from its current batch; a batch already returned is not
    /// returned again).
    pub fn from_offset(mut self, offset: i64) -> Self {
        self.cursor.next_offset = self.cursor.next_offset.max(offset);
        self
    }

    /// Starts at the first record, in offset order, whose timestamp is at
    /// least `timestamp` (Kafka's `offsetsForTimes` within this segment;
    /// records without a timestamp, magic 0, never match), or at the end
    /// when there is none. v2 batches whose `max_timestamp` is below it are
    /// passed over without being decoded.
    pub fn from_timestamp(mut self, timestamp: i64) -> Result<Self> {
        let from = self.cursor.next_offset;
        let mut found = None;
        'batches: for batch in self
            .segment
            .batches_from(self.cursor.position, self.check_crcs)
        {
            let batch = batch?;
            if batch.is_control_batch()
                || batch.last_offset() < from
                || (batch.magic() == MAGIC_V2
                    && batch.max_timestamp().is_some_and(|max| max < timestamp))
            {
                continue;
            }
            let corrupt = |kind| {
                self.segment
                    .corrupt(batch.position, Some(batch.base_offset()), kind)
            };
            for record in batch.records(&mut self.inflater).map_err(corrupt)? {
                let record = record.map_err(corrupt)?;
                if record.offset() >= from && record.timestamp().is_some_and(|ts| ts >= timestamp) {
                    found = Some(record.offset());
                    break 'batches;
                }
            }
        }
        match found {
            Some(offset) => self.cursor.next_offset = offset,
            None => self.cursor.position = self.segment.size(),
        }
        Ok(self)
    }

    /// The next batch, or `None` at the end of the segment. After an error,
    /// every later call returns it again.
    pub fn next_batch(&mut self) -> Result<Option<ReaderBatch<'_>>> {
        match self.cursor.step(self.segment, self.check_crcs)? {
            Step::Batch { position, size } => self
                .cursor
                .open(self.segment, &mut self.inflater, position, size)
                .map(Some),
            Step::End(_) => Ok(None),
        }
    }

    /// How the segment ended, once [`next_batch`](Self::next_batch) returned
    /// `None`: cleanly, or at a torn tail.
    pub fn end(&self) -> Option<SegmentEnd> {
        let mut batches = self
            .segment
            .batches_from(self.cursor.position, self.check_crcs);
        batches.by_ref().for_each(drop);
        batches.end().cloned()
    }

    /// Runs `f` over every record left, in offset order.
    pub fn for_each(&mut self, f: impl FnMut(Record<'_>)) -> Result<()> {
        for_each_batch(self, f)
    }

    /// Runs `f` over every record left, in offset order, until it returns
    /// an error; the reader's errors come as `E` too.
    pub fn try_for_each<E: From<Error>>(
        &mut self,
        f: impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        try_for_each_batch(self, f)
    }
}

/// The readers' one batch loop: what [`PartitionReader`] and
/// [`SegmentReader`] share, so that their `for_each` and `try_for_each` are
/// one implementation.
trait LendBatches {
    /// The reader's own `next_batch`.
    fn next_batch(&mut self) -> Result<Option<ReaderBatch<'_>>>;
}

impl LendBatches for PartitionReader<'_> {
    fn next_batch(&mut self) -> Result<Option<ReaderBatch<'_>>> {
        PartitionReader::next_batch(self)
    }
}

impl LendBatches for SegmentReader<'_> {
    fn next_batch(&mut self) -> Result<Option<ReaderBatch<'_>>> {
        SegmentReader::next_batch(self)
    }
}

/// `try_for_each` of either reader: every record left, batch after batch,
/// through each batch's fast `fold`.
fn try_for_each_batch<R: LendBatches, E: From<Error>>(
    reader: &mut R,
    mut f: impl FnMut(Record<'_>) -> Result<(), E>,
) -> Result<(), E> {
    while let Some(batch) = reader.next_batch()? {
        batch.try_for_each_record(&mut f)?;
    }
    Ok(())
}

/// `for_each` of either reader: [`try_for_each_batch`] with a closure that
/// cannot fail.
fn for_each_batch<R: LendBatches>(reader: &mut R, mut f: impl FnMut(Record<'_>)) -> Result<()> {
    try_for_each_batch(reader, |record| {
        f(record);
        Ok::<(), Error>(())
    })
}

/// One batch from a reader, iterating its records (those at or past where
/// the reader started). Its errors name the file, the batch's position and
/// its base offset. Dropped before its last record, it leaves the reader
/// at the first record it did not pass on.
#[derive(Debug)]
pub struct ReaderBatch<'r> {
    segment: &'r Segment,
    batch: FileBatch<'r>,
    records: Option<Records<'r>>,
    skip_below: i64,
    /// The offset after the last record passed on.
    resume_from: i64,
    /// Every record was passed on.
    done: bool,
    cursor: &'r mut Cursor,
}

impl<'r> ReaderBatch<'r> {
    /// The batch, with its header fields (offsets, timestamps, producer,
    /// compression).
    pub fn batch(&self) -> &RecordBatch<'r> {
        &self.batch.batch
    }

    /// The segment file it is in.
    pub fn path(&self) -> &'r Path {
        self.segment.path()
    }

    /// Its byte position in that file.
    pub fn position(&self) -> u64 {
        self.batch.position
    }

    #[cold]
    fn error(&mut self, kind: Corruption) -> Error {
        let error = self
            .segment
            .corrupt(self.batch.position, Some(self.batch.base_offset()), kind);
        self.cursor.fail(error)
    }

    /// `try_for_each` over the records, through the records' fast `fold`
    /// (`Records` overrides `fold`, not `try_fold`: after an error the rest
    /// of this one batch is decoded but not passed to `f`, and the reader
    /// goes on after the last record `f` was given).
    #[allow(clippy::manual_try_fold)]
    fn try_for_each_record<E: From<Error>>(
        mut self,
        f: &mut impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(records) = self.records.take() else {
            return Ok(());
        };
        let skip_below = self.skip_below;
        let mut resume_from = self.resume_from;
        let result = records.fold(Ok(()), |done: Result<(), Result<Corruption, E>>, item| {
            done?;
            match item {
                Ok(record) if record.offset() < skip_below => Ok(()),
                Ok(record) => {
                    resume_from = record.offset() + 1;
                    f(record).map_err(Err)
                }
                Err(kind) => Err(Ok(kind)),
            }
        });
        self.resume_from = resume_from;
        match result {
            Ok(()) => {
                self.done = true;
                Ok(())
            }
            Err(Ok(kind)) => Err(self.error(kind).into()),
            Err(Err(error)) => Err(error),
        }
    }
}

impl Drop for ReaderBatch<'_> {
    fn drop(&mut self) {
        if !self.done && self.cursor.failed.is_none() {
            // Records of this batch not passed on: the next call reads the
            // batch again from the first of them.
            self.cursor.position = self.batch.position;
            self.cursor.next_offset = self.resume_from;
        }
    }
}

impl<'r> Iterator for ReaderBatch<'r> {
    type Item = Result<Record<'r>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(item) = self.records.as_mut()?.next() else {
                self.done = true;
                self.records = None;
                return None;
            };
            match item {
                Ok(record) if record.offset() < self.skip_below => continue,
                Ok(record) => {
                    self.resume_from = record.offset() + 1;
                    return Some(Ok(record));
                }
                Err(kind) => return Some(Err(self.error(kind))),
            }
        }
    }
}
