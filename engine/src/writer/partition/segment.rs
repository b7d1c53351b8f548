//! The segment being appended to and its in-memory index entries; the
//! byte-level helpers the writer shares (index files, segment scans,
//! validation).

use super::*;

/// The one segment being appended to.
#[derive(Debug)]
pub(super) struct ActiveSegment {
    pub(super) log_path: PathBuf,
    pub(super) log: BufWriter<File>,
    pub(super) state: SegmentState,
}

/// A segment's size and index entries, kept in memory until written.
#[derive(Debug)]
pub(super) struct SegmentState {
    pub(super) base_offset: i64,
    pub(super) size: u64,
    pub(super) offset_index: Vec<u8>,
    pub(super) time_index: Vec<u8>,
    pub(super) txn_index: Vec<u8>,
    /// Last time index entry (timestamp, offset); (-1, base) when none.
    pub(super) last_time_entry: (i64, i64),
    pub(super) bytes_since_last_index_entry: u64,
    /// Largest batch max timestamp in the segment and the last offset of its
    /// batch; (-1, base) at first.
    pub(super) max_timestamp_so_far: (i64, i64),
}

/// What a walk over batches needs of each one.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchMeta {
    pub(super) size: u64,
    pub(super) last_offset: i64,
    pub(super) max_timestamp: i64,
}

impl SegmentState {
    pub(super) fn new(base_offset: i64) -> Self {
        SegmentState {
            base_offset,
            size: 0,
            offset_index: Vec::new(),
            time_index: Vec::new(),
            txn_index: Vec::new(),
            last_time_entry: (-1, base_offset),
            bytes_since_last_index_entry: 0,
            max_timestamp_so_far: (-1, base_offset),
        }
    }

    /// One batch of Kafka's `LogSegment.append` loop.
    pub(super) fn index_batch(
        &mut self,
        meta: &BatchMeta,
        position: u64,
        index_interval_bytes: u64,
    ) {
        if meta.max_timestamp > self.max_timestamp_so_far.0 {
            self.max_timestamp_so_far = (meta.max_timestamp, meta.last_offset);
        }
        if self.bytes_since_last_index_entry > index_interval_bytes {
            let relative = (meta.last_offset - self.base_offset) as i32;
            self.offset_index.extend_from_slice(&relative.to_be_bytes());
            self.offset_index
                .extend_from_slice(&(position as i32).to_be_bytes());
            self.maybe_append_time_entry();
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += meta.size;
    }

    /// Kafka's `TimeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar)`:
    /// only a timestamp larger than the last entry's is added.
    pub(super) fn maybe_append_time_entry(&mut self) {
        let (timestamp, offset) = self.max_timestamp_so_far;
        if timestamp > self.last_time_entry.0 {
            let relative = (offset - self.base_offset) as i32;
            self.time_index.extend_from_slice(&timestamp.to_be_bytes());
            self.time_index.extend_from_slice(&relative.to_be_bytes());
            self.last_time_entry = (timestamp, offset);
        }
    }

    /// Kafka's `onBecomeInactiveSegment` / `close`: the final time index
    /// entry for the largest timestamp.
    pub(super) fn become_inactive(&mut self) {
        self.maybe_append_time_entry();
    }

    /// Writes `.index`, `.timeindex` (zero-filled to their capacity when
    /// `preallocate` gives one) and, when it has entries, `.txnindex`.
    pub(super) fn write_indexes(&self, dir: &Path, preallocate: Option<u32>) -> Result<()> {
        let max = preallocate.map(|bytes| bytes as usize);
        write_index(
            &segment_path(dir, self.base_offset, "index"),
            &self.offset_index,
            max.map(|m| m / OFFSET_INDEX_ENTRY * OFFSET_INDEX_ENTRY),
        )?;
        write_index(
            &segment_path(dir, self.base_offset, "timeindex"),
            &self.time_index,
            max.map(|m| m / TIME_INDEX_ENTRY * TIME_INDEX_ENTRY),
        )?;
        if !self.txn_index.is_empty() {
            write_index(
                &segment_path(dir, self.base_offset, "txnindex"),
                &self.txn_index,
                None,
            )?;
        }
        Ok(())
    }
}

impl ActiveSegment {
    pub(super) fn flush_log(&mut self) -> Result<()> {
        self.log.flush().map_err(|e| Error::io(&self.log_path, e))
    }
}

pub(super) fn write_index(
    path: &Path,
    entries: &[u8],
    preallocated_len: Option<usize>,
) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::io(path, e))?;
    file.write_all(entries).map_err(|e| Error::io(path, e))?;
    if let Some(len) = preallocated_len {
        if len > entries.len() {
            file.set_len(len as u64).map_err(|e| Error::io(path, e))?;
        }
    }
    Ok(())
}

/// `<dir>/<20-digit base offset>.<ext>`.
pub(crate) fn segment_path(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// Base offsets of the `.log` files in a partition dir, sorted.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".log") else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(base) = stem.parse::<i64>() {
                bases.push(base);
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

pub(super) fn validate_topic(topic: &str) -> Result<()> {
    let legal = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if legal {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "illegal topic name '{topic}' (1 to 249 of [a-zA-Z0-9._-], not '.' or '..')"
        )))
    }
}

pub(super) fn validate_options(options: &WriterOptions) -> Result<()> {
    if options.segment_bytes < MIN_SEGMENT_BYTES || options.segment_bytes > i32::MAX as u32 {
        return Err(Error::Config(format!(
            "segment_bytes {} is outside {MIN_SEGMENT_BYTES}..={}",
            options.segment_bytes,
            i32::MAX
        )));
    }
    if options.index_interval_bytes > i32::MAX as u32 {
        return Err(Error::Config(format!(
            "index_interval_bytes {} is above {}",
            options.index_interval_bytes,
            i32::MAX
        )));
    }
    if (options.max_index_bytes as usize) < TIME_INDEX_ENTRY
        || options.max_index_bytes > i32::MAX as u32
    {
        return Err(Error::Config(format!(
            "max_index_bytes {} is outside {TIME_INDEX_ENTRY}..={}",
            options.max_index_bytes,
            i32::MAX
        )));
    }
    if options.start_offset < 0 {
        return Err(Error::Config(format!(
            "negative start offset {}",
            options.start_offset
        )));
    }
    Ok(())
}

#[inline]
pub(super) fn be_i32(bytes: &[u8], at: usize) -> i32 {
    let mut b = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        b.copy_from_slice(src);
    }
    i32::from_be_bytes(b)
}

#[inline]
pub(super) fn be_i64(bytes: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        b.copy_from_slice(src);
    }
    i64::from_be_bytes(b)
}

/// Size, last offset and max timestamp of the batch (or legacy message) at
/// the start of `bytes`, from its header; `None` if the header is cut short
/// or the length is impossible.
pub(super) fn batch_meta(bytes: &[u8]) -> Option<BatchMeta> {
    let (_, length) = read_log_overhead(bytes)?;
    let size = usize::try_from(length).ok()?.checked_add(LOG_OVERHEAD)?;
    let batch = RecordBatch::parse(bytes.get(..size)?).ok()?;
    Some(meta_of(&batch))
}

pub(super) fn meta_of(batch: &RecordBatch<'_>) -> BatchMeta {
    BatchMeta {
        size: batch.size_in_bytes() as u64,
        last_offset: batch.last_offset(),
        max_timestamp: batch.max_timestamp().unwrap_or(-1),
    }
}

/// One batch of an existing segment, as far as reopening needs it.
#[derive(Debug)]
pub(super) struct ScannedBatch {
    pub(super) meta: BatchMeta,
    pub(super) base_offset: i64,
    pub(super) producer_id: Option<i64>,
    pub(super) producer_epoch: i16,
    pub(super) base_sequence: Option<i32>,
    pub(super) is_transactional: bool,
    pub(super) is_control: bool,
    /// Control record type of an (uncompressed) control batch.
    pub(super) control_type: Option<i16>,
}

/// Walks the batches of a `.log` file (the engine's own framing, no CRC
/// check), calling `f(position, batch)`. Corruption or a torn tail is an
/// error: the writer does not append after damage.
pub(super) fn scan_segment(path: &Path, mut f: impl FnMut(u64, &ScannedBatch)) -> Result<()> {
    let segment = Segment::open(path, ReadStrategy::Read)?;
    let mut batches = segment.batches_from(0, false);
    let mut inflater = crate::record::Inflater::default();
    for batch in batches.by_ref() {
        let batch = batch?;
        let control_type = if batch.is_control_batch() {
            let records = batch
                .records(&mut inflater)
                .map_err(|kind| segment.corrupt(batch.position, Some(batch.base_offset()), kind))?;
            records
                .flatten()
                .next()
                .and_then(|r| r.control_type())
                .map(control_type_id)
        } else {
            None
        };
        let scanned = ScannedBatch {
            meta: meta_of(&batch),
            base_offset: batch.base_offset(),
            producer_id: batch.producer_id(),
            producer_epoch: batch.producer_epoch().unwrap_or(-1),
            base_sequence: batch.base_sequence(),
            is_transactional: batch.is_transactional(),
            is_control: batch.is_control_batch(),
            control_type,
        };
        f(batch.position, &scanned);
    }
    match batches.end() {
        Some(SegmentEnd::TornTail(tail)) => Err(Error::Corrupt {
            path: path.to_path_buf(),
            position: tail.valid_bytes,
            offset: None,
            kind: Corruption::malformed("batch", format!("{tail}; refusing to append after it")),
        }),
        _ => Ok(()),
    }
}

/// Kafka's control record type id.
pub(super) fn control_type_id(kind: ControlRecordType) -> i16 {
    match kind {
        ControlRecordType::Abort => 0,
        ControlRecordType::Commit => 1,
        ControlRecordType::LeaderChange => 2,
        ControlRecordType::SnapshotHeader => 3,
        ControlRecordType::SnapshotFooter => 4,
        ControlRecordType::KRaftVersion => 5,
        ControlRecordType::KRaftVoters => 6,
        ControlRecordType::Unknown(id) => id,
    }
}
