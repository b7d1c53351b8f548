//! Peer decoders run over the same partition bytes as kreplay, touching the
//! same fields: offset, timestamp, key, value and header count.
//!
//! - kreplay: borrowed views over the mapped segment, CRC checked
//!   (`check_crcs`, as Kafka's default).
//! - `kafka-protocol` (tychedelia/kafka-protocol-rs):
//!   `RecordBatchDecoder::decode(&mut Bytes)`, one batch per call, over a
//!   `Bytes` that shares kreplay's mapping (no copy of the file). It always
//!   verifies the CRC-32C. Records are owned structs: key and value are
//!   `Bytes` slices of the input (uncompressed) or of a fresh decompression
//!   buffer, headers an `IndexMap`, one `Vec<Record>` per batch.
//! - `krabka-log` (feature `krabka-log`): `Log::open` on a copy of the
//!   partition directory, then `Log::read(0, whole log)`: `pread` of the
//!   segment into a fresh `Vec`, then `krabka_protocol`'s owned
//!   `RecordBatch::decode` for each batch, which always verifies the CRC-32C
//!   (a batch that fails it ends the read, as a torn tail would). Beside it,
//!   that decoder alone over the same in-memory `Bytes` as `kafka-protocol`.
//!
//! [`RecordDigest`] is the correctness check that keeps a baseline from
//! measuring nothing: each decoder must return the same record count and the
//! same checksum over (offset, key, value), outside the timed loop.

use bytes::Bytes;
use kreplay::{Inflater, Segment};

/// [`touch`] over a kreplay record.
#[inline(always)]
pub fn touch_record(acc: u64, r: &kreplay::Record<'_>) -> u64 {
    touch(
        acc,
        r.offset(),
        r.timestamp().unwrap_or(0),
        r.key(),
        r.value(),
        r.headers().len(),
    )
}

/// Adds what a caller sees of one record to `acc`: every record iteration
/// in the benches goes through this, so every decoder does the same work.
#[inline(always)]
pub fn touch(
    acc: u64,
    offset: i64,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    header_count: usize,
) -> u64 {
    acc.wrapping_add(offset as u64)
        .wrapping_add(timestamp as u64)
        .wrapping_add(key.map_or(0, <[u8]>::len) as u64)
        .wrapping_add(value.map_or(0, <[u8]>::len) as u64)
        .wrapping_add(header_count as u64)
}

/// A record count and an order-sensitive FNV-1a checksum over each record's
/// offset, key and value (a null key or value is told apart from an empty
/// one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordDigest {
    pub records: u64,
    pub checksum: u64,
}

impl Default for RecordDigest {
    fn default() -> Self {
        Self {
            records: 0,
            checksum: FNV_OFFSET,
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl RecordDigest {
    /// Folds one record in.
    pub fn add(&mut self, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        self.records += 1;
        self.bytes(&offset.to_le_bytes());
        for field in [key, value] {
            match field {
                None => self.bytes(&[0]),
                Some(b) => {
                    self.bytes(&[1]);
                    self.bytes(&(b.len() as u64).to_le_bytes());
                    self.bytes(b);
                }
            }
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.checksum = (self.checksum ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
}

/// Every record of `segment` through kreplay's borrowed views, with the CRC
/// check on or off: the sum of [`touch`].
#[inline]
pub fn kreplay_iterate(segment: &Segment, check_crcs: bool, inflater: &mut Inflater) -> u64 {
    let mut acc = 0u64;
    for batch in segment.batches_from(0, check_crcs) {
        let batch = batch.expect("batch");
        for record in batch.records(inflater).expect("records") {
            let r = record.expect("record");
            acc = touch_record(acc, &r);
        }
    }
    acc
}

/// [`kreplay_iterate`] with internal iteration: `for_each` over each
/// batch's records.
#[inline]
pub fn kreplay_for_each(segment: &Segment, check_crcs: bool, inflater: &mut Inflater) -> u64 {
    let mut acc = 0u64;
    for batch in segment.batches_from(0, check_crcs) {
        let batch = batch.expect("batch");
        batch
            .records(inflater)
            .expect("records")
            .for_each(|record| {
                let r = record.expect("record");
                acc = touch_record(acc, &r);
            });
    }
    acc
}

/// Every record of `segment` through [`Segment::reader`], the embedding
/// entry point (errors with their context, no `map_err`): the sum of
/// [`touch`].
#[inline]
pub fn kreplay_reader(segment: &Segment, options: &kreplay::ReadOptions) -> u64 {
    let mut acc = 0u64;
    segment
        .reader(options)
        .for_each(|r| acc = touch_record(acc, &r))
        .expect("reader");
    acc
}

/// kreplay's [`RecordDigest`] of `segment`, CRCs checked.
pub fn kreplay_digest(segment: &Segment) -> RecordDigest {
    let mut inflater = Inflater::default();
    let mut digest = RecordDigest::default();
    for batch in segment.batches() {
        let batch = batch.expect("batch");
        for record in batch.records(&mut inflater).expect("records") {
            let r = record.expect("record");
            digest.add(r.offset(), r.key(), r.value());
        }
    }
    digest
}

/// A mapping as a `Bytes` owner, so `kafka-protocol` decodes the very pages
/// kreplay reads, without a copy.
struct MappedBytes(kreplay::Mapping);

impl AsRef<[u8]> for MappedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The segment's bytes as `Bytes`, sharing its mapping.
pub fn segment_bytes(segment: &Segment) -> Bytes {
    Bytes::from_owner(MappedBytes(segment.mapping().clone()))
}

/// Calls `f` with each record `kafka-protocol`'s `RecordBatchDecoder`
/// decodes from `bytes` (a cheap clone: the `Bytes` is shared), one batch
/// per `decode` call, as a client decodes a fetch response's records.
#[inline]
pub fn kafka_protocol_for_each(
    bytes: &Bytes,
    mut f: impl FnMut(&kafka_protocol::records::Record),
) -> Result<(), String> {
    use kafka_protocol::records::RecordBatchDecoder;
    let mut buf = bytes.clone();
    while !buf.is_empty() {
        let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| format!("{e:#}"))?;
        for r in &set.records {
            f(r);
        }
    }
    Ok(())
}

/// `kafka-protocol`'s decode of `bytes`: the sum of [`touch`].
#[inline]
pub fn kafka_protocol_iterate(bytes: &Bytes) -> u64 {
    let mut acc = 0u64;
    kafka_protocol_for_each(bytes, |r| {
        acc = touch(
            acc,
            r.offset,
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            r.headers.len(),
        );
    })
    .expect("kafka-protocol decode");
    acc
}

/// `kafka-protocol`'s [`RecordDigest`] of `bytes`.
pub fn kafka_protocol_digest(bytes: &Bytes) -> Result<RecordDigest, String> {
    let mut digest = RecordDigest::default();
    kafka_protocol_for_each(bytes, |r| {
        digest.add(r.offset, r.key.as_deref(), r.value.as_deref());
    })?;
    Ok(digest)
}

/// Copies the files of `partition_dir` into `into` (a directory that exists)
/// and opens the copy with `krabka_log::Log::open` (the default config:
/// `validate_on_open` CRCs the active segment and rebuilds its indexes).
/// A copy, because `Log::open` recovers what it opens and may write (indexes,
/// a leader-epoch checkpoint, a truncated tail), and kreplay's mapping of the
/// original must stay as the writer left it.
#[cfg(feature = "krabka-log")]
pub fn krabka_open(partition_dir: &std::path::Path, into: &std::path::Path) -> krabka_log::Log {
    let dir = into.join(partition_dir.file_name().expect("partition dir name"));
    std::fs::create_dir_all(&dir).expect("create krabka dir");
    for entry in std::fs::read_dir(partition_dir).expect("read partition dir") {
        let entry = entry.expect("dir entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    krabka_log::Log::open(&dir, krabka_log::LogConfig::default()).expect("krabka Log::open")
}

/// Calls `f(offset, timestamp, key, value, header_count)` for each record of
/// one `Log::read` from offset 0 with a budget of `max_bytes` (the whole
/// log), as a broker's fetch reads it.
#[cfg(feature = "krabka-log")]
#[inline]
pub fn krabka_for_each(
    log: &krabka_log::Log,
    max_bytes: u64,
    mut f: impl FnMut(i64, i64, Option<&[u8]>, Option<&[u8]>, usize),
) -> Result<(), String> {
    use krabka_units::{convert::ByteSizeExt, ByteSize};
    let out = log
        .read(krabka_log::Offset(0), ByteSize::from_bytes(max_bytes))
        .map_err(|e| e.to_string())?;
    for batch in &out.batches {
        for r in &batch.records {
            f(
                batch.base_offset + i64::from(r.offset_delta),
                batch.base_timestamp + r.timestamp_delta,
                r.key.as_deref(),
                r.value.as_deref(),
                r.headers.len(),
            );
        }
    }
    Ok(())
}

/// `krabka-log`'s read of the whole log: the sum of [`touch`].
#[cfg(feature = "krabka-log")]
#[inline]
pub fn krabka_iterate(log: &krabka_log::Log, max_bytes: u64) -> u64 {
    let mut acc = 0u64;
    krabka_for_each(log, max_bytes, |offset, timestamp, key, value, headers| {
        acc = touch(acc, offset, timestamp, key, value, headers);
    })
    .expect("krabka-log read");
    acc
}

/// `krabka-protocol`'s owned `RecordBatch::decode` (the decoder under
/// `Log::read`) over in-memory `bytes`, without `Log::read`'s `pread` into a
/// fresh buffer: the sum of [`touch`]. CRC-32C always verified.
#[cfg(feature = "krabka-log")]
#[inline]
pub fn krabka_protocol_iterate(bytes: &Bytes) -> u64 {
    let mut acc = 0u64;
    let mut buf = bytes.clone();
    while !buf.is_empty() {
        let batch = krabka_protocol::records::RecordBatch::decode(&mut buf)
            .expect("krabka-protocol decode");
        for r in &batch.records {
            acc = touch(
                acc,
                batch.base_offset + i64::from(r.offset_delta),
                batch.base_timestamp + r.timestamp_delta,
                r.key.as_deref(),
                r.value.as_deref(),
                r.headers.len(),
            );
        }
    }
    acc
}

/// `krabka-log`'s [`RecordDigest`] of the whole log.
#[cfg(feature = "krabka-log")]
pub fn krabka_digest(log: &krabka_log::Log, max_bytes: u64) -> Result<RecordDigest, String> {
    let mut digest = RecordDigest::default();
    krabka_for_each(log, max_bytes, |offset, _, key, value, _| {
        digest.add(offset, key, value);
    })?;
    Ok(digest)
}
