//! What each fuzz target does with its input, as plain functions over bytes
//! (and, for `writer_roundtrip`, over a [`Scenario`]).
//!
//! This file is the fuzz crate's `checks` module and is also compiled into
//! the engine's `tests/fuzz_regressions.rs` (by `#[path]`), which runs every
//! reproducer under `fixtures/fuzz-regressions/<target>/` through the same
//! function on stable Rust. So it uses nothing but `kreplay`, `std` and
//! `rustix` (for a `flock`, a dependency of both).
//!
//! Every function panics (through `assert!`) only when the engine breaks one
//! of its own promises: a panic while parsing, a result that contradicts
//! another way of reading the same bytes, output past a cap, or a writer /
//! reader round trip that does not give back what went in. Errors from
//! damaged input are expected and ignored.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use kreplay::index::{
    AbortedTxn, IndexStatus, OffsetIndex, OffsetPosition, TimeIndex, TransactionIndex,
};
use kreplay::writer::{
    BatchEncoder, BatchSpec, EndTransactionMarker, LegacySpec, RecordSpec, TransactionResult,
};
use kreplay::{
    base_offset_from_file_name, compress, read_offset_checkpoint, AutoOffsetReset, Compression,
    Consumer, ConsumerConfig, ControlRecordType, Corruption, Decompressor, Inflater, Mapping,
    OffsetAndMetadata, OffsetStore, PartitionVerifier, RecordBatch, Records, Segment, SegmentEnd,
    TimestampType, TopicPartition, VerifyOptions, LOG_OVERHEAD, MAGIC_V0, MAGIC_V2,
};

/// The inflation cap the parsing targets read with: large enough for every
/// seed, small enough that a decompression bomb costs milliseconds.
pub const FUZZ_MAX_INFLATED_BYTES: usize = 1 << 20;

/// The largest cap the `decompress` target asks for.
pub const DECOMPRESS_MAX_CAP: usize = 4 << 20;

// ---------------------------------------------------------------------------
// Owned copies of what a reader hands out, for comparisons.

/// A record, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    /// Offset.
    pub offset: i64,
    /// Timestamp.
    pub timestamp: Option<i64>,
    /// Timestamp type.
    pub timestamp_type: Option<TimestampType>,
    /// Key (`None`: null).
    pub key: Option<Vec<u8>>,
    /// Value (`None`: null).
    pub value: Option<Vec<u8>>,
    /// Headers, in order.
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Control record?
    pub is_control: bool,
    /// Its control type.
    pub control_type: Option<ControlRecordType>,
}

impl OwnedRecord {
    fn of(record: &kreplay::Record<'_>) -> OwnedRecord {
        let headers = record.headers();
        let listed: Vec<_> = headers
            .iter()
            .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(listed.len(), headers.len(), "header count");
        assert_eq!(headers.is_empty(), listed.is_empty());
        assert_eq!(
            headers.iter().size_hint(),
            (listed.len(), Some(listed.len()))
        );
        let again: Vec<_> = headers
            .into_iter()
            .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(listed, again, "headers iterate the same twice");
        if !record.is_control() {
            assert_eq!(record.control_type(), None);
        }
        OwnedRecord {
            offset: record.offset(),
            timestamp: record.timestamp(),
            timestamp_type: record.timestamp_type(),
            key: record.key().map(<[u8]>::to_vec),
            value: record.value().map(<[u8]>::to_vec),
            headers: listed,
            is_control: record.is_control(),
            control_type: record.control_type(),
        }
    }
}

/// Drains a record iterator: the records, then the error that ended it (if
/// any). Checks that an iterator stops for good after its error.
fn drain(records: &mut Records<'_>) -> (Vec<OwnedRecord>, Option<Corruption>) {
    let mut out = Vec::new();
    while let Some(next) = records.next() {
        match next {
            Ok(record) => out.push(OwnedRecord::of(&record)),
            Err(error) => {
                let _ = error.to_string();
                assert!(records.next().is_none(), "records after an error");
                assert!(records.next().is_none(), "records after an error");
                return (out, Some(error));
            }
        }
    }
    assert!(records.next().is_none(), "records after the end");
    (out, None)
}

// ---------------------------------------------------------------------------
// record_batch

/// `record_batch`: `data` is one batch (v2, or one legacy message) as it
/// sits in a segment. It is parsed as given, then again with its length
/// field set to match (so mutations get past the framing), and every
/// accessor and both record paths are exercised.
pub fn record_batch(data: &[u8]) {
    if let Ok(batch) = RecordBatch::parse(data) {
        exercise_batch(&batch);
    }
    if let (Some(head), Some(length)) = (
        data.get(..8),
        data.len()
            .checked_sub(LOG_OVERHEAD)
            .and_then(|n| i32::try_from(n).ok()),
    ) {
        let mut fixed = Vec::with_capacity(data.len());
        fixed.extend_from_slice(head);
        fixed.extend_from_slice(&length.to_be_bytes());
        fixed.extend_from_slice(data.get(LOG_OVERHEAD..).unwrap_or_default());
        if fixed != data {
            if let Ok(batch) = RecordBatch::parse(&fixed) {
                exercise_batch(&batch);
            }
        }
    }
}

/// Every accessor of a parsed batch, the invariants between them, and its
/// records read both ways the engine reads them.
pub fn exercise_batch(batch: &RecordBatch<'_>) {
    let magic = batch.magic();
    assert!((0..=2).contains(&magic), "magic {magic}");
    assert_eq!(batch.size_in_bytes(), batch.as_bytes().len());
    let _ = format!("{batch:?}");
    assert_eq!(batch.next_offset(), batch.last_offset().wrapping_add(1));
    let _ = batch.attributes();
    let _ = batch.compression().to_string();
    assert_eq!(batch.timestamp_type().is_none(), magic == MAGIC_V0);
    if magic != MAGIC_V2 {
        assert_eq!(batch.base_offset(), batch.last_offset());
        assert!(!batch.is_transactional() && !batch.is_control_batch());
        assert!(!batch.has_delete_horizon_ms());
        assert_eq!(batch.partition_leader_epoch(), None);
        assert_eq!(batch.producer_id(), None);
        assert_eq!(batch.producer_epoch(), None);
        assert_eq!(batch.base_sequence(), None);
        assert_eq!(batch.last_offset_delta(), 0);
        assert_eq!(batch.base_timestamp(), batch.max_timestamp());
    } else {
        assert_eq!(
            batch.last_offset(),
            batch
                .base_offset()
                .wrapping_add(i64::from(batch.last_offset_delta()))
        );
        assert!(batch.records_count().is_some_and(|n| n >= 0));
        assert!(batch.base_timestamp().is_some() && batch.max_timestamp().is_some());
    }
    let _ = (batch.is_transactional(), batch.is_control_batch());
    let _ = (batch.partition_leader_epoch(), batch.producer_id());
    let _ = (batch.producer_epoch(), batch.base_sequence());
    let valid = batch.ensure_valid();
    assert_eq!(valid.is_ok(), batch.checksum() == batch.compute_checksum());
    if let Err(error) = valid {
        let _ = error.to_string();
    }
    match batch.records_count() {
        None => assert!(magic != MAGIC_V2 && batch.compression() != Compression::None),
        Some(1) if magic != MAGIC_V2 => assert_eq!(batch.compression(), Compression::None),
        Some(_) => assert_eq!(magic, MAGIC_V2),
    }

    for check_crcs in [false, true] {
        exercise_records(batch, check_crcs);
    }
}

fn exercise_records(batch: &RecordBatch<'_>, check_crcs: bool) {
    // The reader's path: records() with an Inflater.
    let mut inflater = Inflater::new(FUZZ_MAX_INFLATED_BYTES, check_crcs);
    let via_inflater = batch.records(&mut inflater).map(|mut r| drain(&mut r));

    // The fetcher's path: inflate_into() a buffer, then records_with().
    let mut decompressor = Decompressor::new();
    let mut inflated = vec![0xA5; 7];
    let inflate = batch.inflate_into(&mut decompressor, &mut inflated, FUZZ_MAX_INFLATED_BYTES);
    assert!(
        inflated.len() <= FUZZ_MAX_INFLATED_BYTES,
        "inflated past the cap"
    );
    if !batch.needs_inflation() {
        assert!(inflate.is_ok() && inflated.is_empty());
    }
    let via_buffer = match inflate {
        Ok(()) => batch
            .records_with(&inflated, check_crcs)
            .map(|mut r| drain(&mut r)),
        Err(error) => Err(error),
    };
    // The same verdict and records both ways. An inflation error's message
    // may differ with the buffer's capacity (zstd words a lying frame one
    // way on its one-pass path, another way when streaming).
    match (&via_inflater, &via_buffer) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "records() and records_with() differ"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("records() gives {a:?}, records_with() {b:?}"),
    }

    let Ok((records, error)) = via_inflater else {
        return;
    };
    for record in &records {
        assert_eq!(record.is_control, batch.is_control_batch());
        assert_eq!(record.timestamp.is_none(), batch.magic() == MAGIC_V0);
        if batch.magic() == MAGIC_V2 {
            assert_eq!(record.timestamp_type, batch.timestamp_type());
            if batch.timestamp_type() == Some(TimestampType::LogAppendTime) {
                assert_eq!(record.timestamp, batch.max_timestamp());
            }
        } else {
            assert!(record.headers.is_empty());
        }
    }
    if batch.magic() == MAGIC_V2 && error.is_none() {
        let declared = batch.records_count().unwrap_or(0);
        assert_eq!(records.len(), usize::try_from(declared).unwrap_or(0));
    }

    // Resuming part way gives the same records as reading straight through.
    for split in [1, records.len() / 2, records.len()] {
        if split == 0 || split > records.len() {
            continue;
        }
        let Ok(mut first) = batch.records_with(&inflated, check_crcs) else {
            panic!("records_with failed on a second call");
        };
        for _ in 0..split {
            assert!(matches!(first.next(), Some(Ok(_))));
        }
        let point = first.resume_point();
        assert_eq!(point.consumed() as usize, split);
        let Ok(again) = batch.records_with(&inflated, check_crcs) else {
            panic!("records_with failed on a third call");
        };
        let (rest, rest_error) = drain(&mut again.resume(point));
        assert_eq!(rest.as_slice(), &records[split..], "resumed records differ");
        assert_eq!(rest_error, error, "resumed iteration ends differently");
    }
}

// ---------------------------------------------------------------------------
// segment

/// `segment`: `data` is a whole `.log` file (legacy message sets, compressed
/// wrappers, v2 batches, torn tails). Its batches and their records are
/// iterated to the end with CRC checks off and on, and `verify` runs over it.
pub fn segment(data: &[u8]) {
    let segment = Segment::from_mapping(
        "00000000000000000000.log",
        0,
        Mapping::from_vec(data.to_vec()),
    );
    let mut unchecked = Vec::new();
    for check_crcs in [false, true] {
        let mut batches = segment.batches_from(0, check_crcs);
        let mut positions = Vec::new();
        let mut expected_position = 0u64;
        let mut failed = false;
        for batch in batches.by_ref() {
            assert!(!failed, "a batch after an error");
            match batch {
                Ok(batch) => {
                    assert_eq!(batch.position, expected_position, "batches are contiguous");
                    expected_position += batch.size_in_bytes() as u64;
                    positions.push(batch.position);
                    exercise_batch(&batch);
                }
                Err(error) => {
                    let _ = error.to_string();
                    failed = true;
                }
            }
        }
        assert!(batches.next().is_none(), "batches after the end");
        match batches.end() {
            Some(SegmentEnd::Clean) => {
                assert!(!failed);
                assert_eq!(expected_position, segment.size());
            }
            Some(SegmentEnd::TornTail(tail)) => {
                assert!(!failed);
                assert_eq!(tail.valid_bytes, expected_position);
                assert_eq!(tail.valid_bytes + tail.trailing_bytes, segment.size());
                assert!(tail.trailing_bytes > 0);
                let _ = tail.to_string();
            }
            Some(SegmentEnd::Corrupt { position }) => {
                assert!(failed);
                assert_eq!(*position, expected_position);
            }
            None => panic!("iteration ended without an end"),
        }
        if check_crcs {
            // With CRC checks on, the batches are a prefix of those without.
            assert!(positions.len() <= unchecked.len());
            assert_eq!(positions.as_slice(), &unchecked[..positions.len()]);
            // Starting at any batch gives the batches from there on.
            if let Some(&middle) = positions.get(positions.len() / 2) {
                let from: Vec<u64> = segment
                    .batches_from(middle, true)
                    .filter_map(|b| b.ok().map(|b| b.position))
                    .collect();
                assert_eq!(from.as_slice(), &positions[positions.len() / 2..]);
            }
        } else {
            unchecked = positions;
        }
    }
    // Past the end and at a position inside the file that is no batch start.
    assert!(segment.batches_from(u64::MAX, true).next().is_none());
    for batch in segment
        .batches_from(segment.size() / 3, false)
        .take(64)
        .flatten()
    {
        exercise_batch(&batch);
    }

    let options = VerifyOptions::default().with_max_inflated_bytes(FUZZ_MAX_INFLATED_BYTES);
    let report = PartitionVerifier::new(options).verify_segment(&segment, true);
    let _ = format!("{report:?}");
}

// ---------------------------------------------------------------------------
// decompress

/// How the `decompress` target reads its input: codec, cap and KAFKA-3160
/// mode from the first four bytes, the compressed bytes after them.
#[derive(Debug, Clone, Copy)]
pub struct DecompressCase<'a> {
    /// The codec.
    pub codec: Compression,
    /// `max_inflated_bytes`.
    pub cap: usize,
    /// lz4 of magic 0 (header checksum not checked).
    pub legacy_lz4: bool,
    /// The compressed bytes.
    pub input: &'a [u8],
}

impl<'a> DecompressCase<'a> {
    /// Byte 0: codec id in the low 3 bits (mod 5), bit 3 the lz4 legacy
    /// flag; bytes 1..4: the cap (24 bits, big-endian, at most
    /// [`DECOMPRESS_MAX_CAP`]); the rest is the input.
    pub fn parse(data: &'a [u8]) -> Option<DecompressCase<'a>> {
        let (&[flags, c0, c1, c2], input) = data.split_first_chunk::<4>()?;
        let codec = Compression::from_id((flags & 0x07) % 5).ok()?;
        let cap = (u32::from_be_bytes([0, c0, c1, c2]) as usize) % (DECOMPRESS_MAX_CAP + 1);
        Some(DecompressCase {
            codec,
            cap,
            legacy_lz4: flags & 0x08 != 0,
            input,
        })
    }

    /// The bytes [`parse`](Self::parse) reads this case from.
    pub fn to_bytes(codec: Compression, cap: usize, legacy_lz4: bool, input: &[u8]) -> Vec<u8> {
        let cap = u32::try_from(cap.min(DECOMPRESS_MAX_CAP))
            .unwrap_or(0)
            .to_be_bytes();
        let mut out = vec![codec.id() | if legacy_lz4 { 0x08 } else { 0 }];
        out.extend_from_slice(&cap[1..]);
        out.extend_from_slice(input);
        out
    }
}

/// `decompress`: each codec as the engine calls it. `observe(cap, call)`
/// runs `call` (one fresh decompression) and may check what it allocates;
/// the fuzz target passes an allocation probe, the regression test a plain
/// call.
pub fn decompress(data: &[u8], observe: &mut dyn FnMut(usize, &mut dyn FnMut())) {
    let Some(case) = DecompressCase::parse(data) else {
        return;
    };
    let DecompressCase {
        codec,
        cap,
        legacy_lz4,
        input,
    } = case;

    // A fresh decompressor and buffer, as on a reader's first batch.
    let mut decompressor = Decompressor::new();
    let mut out = Vec::new();
    let mut first = None;
    observe(cap, &mut || {
        first = Some(decompressor.decompress(codec, input, &mut out, cap, legacy_lz4));
    });
    let Some(first) = first else {
        panic!("observe did not run the call");
    };
    check_bounded(&first, &out, cap, 0);
    if let Err(error) = &first {
        let _ = error.to_string();
    }
    let output = out.clone();

    // Reused state and a buffer holding the last output: the same verdict
    // and output (an error's message may differ with the buffer's capacity).
    let capacity = out.capacity();
    let again = decompressor.decompress(codec, input, &mut out, cap, legacy_lz4);
    check_bounded(&again, &out, cap, capacity);
    assert_eq!(
        first.is_ok(),
        again.is_ok(),
        "reused decompressor: {first:?}, then {again:?}"
    );
    assert_eq!(out, output, "reused decompressor inflates differently");

    let Ok(()) = first else {
        return;
    };
    // The cap is exact: the output fits a cap of its own size, not one less.
    let mut exact = Vec::new();
    let fits = decompressor.decompress(codec, input, &mut exact, output.len(), legacy_lz4);
    assert_eq!(
        fits,
        Ok(()),
        "output of {} bytes refused at that cap",
        output.len()
    );
    assert_eq!(exact, output);
    if let Some(below) = output.len().checked_sub(1) {
        let refused = decompressor.decompress(codec, input, &mut exact, below, legacy_lz4);
        assert!(
            matches!(refused, Err(Corruption::InflatedTooLarge { .. })),
            "output of {} bytes at a cap of {below}: {refused:?}",
            output.len()
        );
        assert!(exact.is_empty(), "output left behind after an error");
    }
    // What the writer compresses, the reader inflates back.
    if codec != Compression::None {
        let mut packed = Vec::new();
        if compress(codec, &output, &mut packed).is_ok() {
            let mut back = Vec::new();
            let result = decompressor.decompress(codec, &packed, &mut back, output.len(), false);
            assert_eq!(result, Ok(()), "writer's {codec} does not inflate back");
            assert_eq!(back, output, "writer's {codec} inflates to something else");
        }
    }
}

/// Output never passes the cap, an error leaves no output, and the buffer
/// never grows past the cap plus one byte (unless it already was larger).
fn check_bounded(result: &Result<(), Corruption>, out: &Vec<u8>, cap: usize, before: usize) {
    assert!(
        out.len() <= cap,
        "{} bytes out at a cap of {cap}",
        out.len()
    );
    if result.is_err() {
        assert!(out.is_empty(), "output left behind after an error");
    }
    assert!(
        out.capacity() <= before.max(cap.saturating_add(1)),
        "buffer grew to {} at a cap of {cap} (was {before})",
        out.capacity()
    );
}

// ---------------------------------------------------------------------------
// index

/// `index`: byte 0 picks the index kind (mod 3: offset, time, transaction)
/// and bit 7 whether a time index gets a next offset; bytes 1..9 are the
/// base offset, 9..17 a parameter (the `.log` size or the next offset), both
/// big-endian; the rest is the index file. The index is opened from bytes
/// and every lookup is checked against a naive scan of its entries.
pub fn index(data: &[u8]) {
    let Some((&[kind, b0, b1, b2, b3, b4, b5, b6, b7], rest)) = data.split_first_chunk::<9>()
    else {
        return;
    };
    let base_offset = i64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
    let Some((param, bytes)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let param = i64::from_be_bytes(*param);
    let mapping = Mapping::from_vec(bytes.to_vec());
    let mut probes = vec![i64::MIN, i64::MAX, base_offset, param, 0, -1];
    match kind % 3 {
        0 => {
            let log_size = param.unsigned_abs();
            let (index, status) = OffsetIndex::from_bytes(mapping, base_offset, log_size);
            check_status(
                &status,
                bytes.len(),
                OffsetIndex::ENTRY_SIZE,
                index.is_some(),
            );
            let Some(index) = index else { return };
            let entries: Vec<_> = index.entries().collect();
            check_entries(&status, entries.len(), index.len(), index.is_empty());
            for (n, entry) in entries.iter().enumerate() {
                assert_eq!(index.entry(n), Some(*entry));
                assert!(entry.offset >= base_offset && u64::from(entry.position) < log_size);
                if let Some(next) = entries.get(n + 1) {
                    assert!(next.offset > entry.offset && next.position > entry.position);
                }
                if n < 32 {
                    probes.extend([
                        entry.offset.saturating_sub(1),
                        entry.offset,
                        entry.offset.saturating_add(1),
                    ]);
                }
            }
            assert_eq!(index.entry(entries.len()), None);
            assert_eq!(index.last_entry(), entries.last().copied());
            for target in probes {
                let naive = entries
                    .iter()
                    .rev()
                    .find(|e| e.offset <= target)
                    .copied()
                    .unwrap_or(OffsetPosition {
                        offset: base_offset,
                        position: 0,
                    });
                assert_eq!(index.lookup(target), naive, "offset lookup of {target}");
            }
        }
        1 => {
            let next_offset = (kind & 0x80 != 0).then_some(param);
            let (index, status) = TimeIndex::from_bytes(mapping, base_offset, next_offset);
            check_status(&status, bytes.len(), TimeIndex::ENTRY_SIZE, index.is_some());
            let Some(index) = index else { return };
            let entries: Vec<_> = index.entries().collect();
            check_entries(&status, entries.len(), index.len(), index.is_empty());
            for (n, entry) in entries.iter().enumerate() {
                assert_eq!(index.entry(n), Some(*entry));
                assert!(entry.offset >= base_offset && entry.timestamp >= 0);
                if let Some(next_offset) = next_offset {
                    assert!(entry.offset < next_offset);
                }
                if let Some(next) = entries.get(n + 1) {
                    assert!(next.timestamp > entry.timestamp && next.offset >= entry.offset);
                }
                if n < 32 {
                    probes.extend([
                        entry.timestamp.saturating_sub(1),
                        entry.timestamp,
                        entry.timestamp.saturating_add(1),
                    ]);
                }
            }
            assert_eq!(index.entry(entries.len()), None);
            assert_eq!(index.last_entry(), entries.last().copied());
            for target in probes {
                let naive = entries
                    .iter()
                    .rev()
                    .find(|e| e.timestamp <= target)
                    .copied();
                assert_eq!(index.lookup(target), naive, "time lookup of {target}");
            }
        }
        _ => {
            let (index, status) = TransactionIndex::from_bytes(mapping, base_offset);
            check_status(
                &status,
                bytes.len(),
                AbortedTxn::TOTAL_SIZE,
                index.is_some(),
            );
            let Some(index) = index else { return };
            let entries: Vec<_> = index.aborted_txns().collect();
            assert_eq!(entries.len(), index.len());
            assert!(!index.is_empty());
            for (n, txn) in entries.iter().enumerate() {
                assert_eq!(txn.version, 0);
                assert!(txn.last_offset >= base_offset && txn.first_offset <= txn.last_offset);
                if let Some(next) = entries.get(n + 1) {
                    assert!(next.last_offset > txn.last_offset);
                }
                if n < 16 {
                    probes.extend([txn.first_offset, txn.last_offset, txn.last_stable_offset]);
                }
            }
            probes.sort_unstable();
            probes.dedup();
            for (i, &fetch) in probes.iter().enumerate() {
                for &upper in probes.iter().skip(i).take(4) {
                    let overlaps =
                        |t: &&AbortedTxn| t.last_offset >= fetch && t.first_offset < upper;
                    let naive: Vec<_> = entries.iter().filter(overlaps).copied().collect();
                    let found: Vec<_> = index.overlapping(fetch, upper).collect();
                    assert_eq!(found, naive, "overlapping({fetch}, {upper})");
                    let result = index.collect_aborted_txns(fetch, upper);
                    let stop = entries.iter().position(|t| t.last_stable_offset >= upper);
                    let scanned = stop.map_or(entries.as_slice(), |s| &entries[..=s]);
                    let naive: Vec<_> = scanned.iter().filter(overlaps).copied().collect();
                    assert_eq!(result.aborted_transactions, naive);
                    assert_eq!(result.is_complete, stop.is_some());
                }
            }
        }
    }
}

fn check_status(status: &IndexStatus, length: usize, entry_size: usize, has_index: bool) {
    let _ = status.to_string();
    assert_eq!(status.is_valid(), has_index);
    if let IndexStatus::Valid {
        entries,
        zero_tail_bytes,
        dropped_bytes,
    } = *status
    {
        assert!(entries > 0);
        let accounted = (entries * entry_size) as u64 + zero_tail_bytes + dropped_bytes;
        assert_eq!(accounted, length as u64, "{status:?} of {length} bytes");
    }
}

fn check_entries(status: &IndexStatus, listed: usize, len: usize, is_empty: bool) {
    assert_eq!(listed, len);
    assert!(!is_empty);
    if let IndexStatus::Valid { entries, .. } = *status {
        assert_eq!(entries, len);
    }
}

// ---------------------------------------------------------------------------
// checkpoint

/// A scratch directory for this process (tmpfs when there is one, so the
/// store's fsyncs cost nothing), reused across inputs.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let root = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        // Remove what processes gone by left behind (fuzzers end with exit()).
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix("kreplay-fuzz-"));
            if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = root.join(format!("kreplay-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        dir
    })
}

/// `checkpoint`: byte 0 picks the file (even: a group's `offsets` file in an
/// [`OffsetStore`] state dir; odd: a Kafka log dir checkpoint file read by
/// [`read_offset_checkpoint`]), the rest is the file. A file that reads is
/// written back through the engine and must read back the same; one that
/// does not read is never overwritten.
pub fn checkpoint(data: &[u8]) {
    let Some((&selector, contents)) = data.split_first() else {
        return;
    };
    // Names from the same bytes: partition dirs and segment files.
    if let Ok(text) = std::str::from_utf8(contents) {
        for line in text.lines().take(8) {
            let _ = TopicPartition::parse_dir_name(line);
            let _ = base_offset_from_file_name(Path::new(line));
        }
    }
    if selector % 2 == 0 {
        offsets_file(contents);
    } else {
        log_dir_checkpoint(contents);
    }
}

fn offsets_file(contents: &[u8]) {
    static STORE: OnceLock<OffsetStore> = OnceLock::new();
    let store = STORE.get_or_init(|| {
        let state = scratch_dir().join("state");
        OffsetStore::open(&state, &[]).unwrap_or_else(|e| panic!("{e}"))
    });
    let group = "fuzz";
    let dir = store
        .group_dir(group)
        .unwrap_or_else(|e| panic!("group dir: {e}"));
    let path = dir.join("offsets");
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    let read = store.committed_all(group);
    let extra = TopicPartition::new("fuzz.extra", 7);
    let commit = BTreeMap::from([(
        extra.clone(),
        OffsetAndMetadata::with_metadata(42, "meta data%\n"),
    )]);
    let committed = store.commit(group, &commit);
    match read {
        Ok(mut stored) => {
            for (topic_partition, offset) in &stored {
                assert!(!topic_partition.topic.is_empty() && topic_partition.partition >= 0);
                assert!(offset.offset >= 0);
            }
            let wanted: Vec<_> = stored.keys().take(3).cloned().collect();
            let some = store
                .committed(group, &wanted)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(some.len(), wanted.len());
            // Rewritten in the current format with one more entry, it reads
            // back exactly.
            committed.unwrap_or_else(|e| panic!("commit after a good read: {e}"));
            stored.extend(commit);
            let back = store
                .committed_all(group)
                .unwrap_or_else(|e| panic!("re-read after commit: {e}"));
            assert_eq!(back, stored, "offsets changed through a rewrite");
        }
        Err(error) => {
            let _ = error.to_string();
            assert!(
                committed.is_err(),
                "a commit replaced an unreadable offsets file"
            );
            let after = std::fs::read(&path).unwrap_or_default();
            assert_eq!(after, contents, "an unreadable offsets file was changed");
        }
    }
}

fn log_dir_checkpoint(contents: &[u8]) {
    let dir = scratch_dir().join("log-dir");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(kreplay::LOG_START_OFFSET_CHECKPOINT);
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let entries = match read_offset_checkpoint(&path) {
        Ok(Some(entries)) => entries,
        Ok(None) => panic!("an existing checkpoint file read as missing"),
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    // What the writer writes from these entries reads back the same.
    let rows: Vec<(&str, i32, i64)> = entries
        .iter()
        .map(|(tp, offset)| (tp.topic.as_str(), tp.partition, *offset))
        .collect();
    let copy = dir.join("copy-checkpoint");
    if kreplay::writer::write_offset_checkpoint(&copy, &rows).is_ok() {
        let back = read_offset_checkpoint(&copy)
            .unwrap_or_else(|e| panic!("re-read of a written checkpoint: {e}"));
        assert_eq!(
            back.as_ref(),
            Some(&entries),
            "checkpoint changed through a rewrite"
        );
    }
}

// ---------------------------------------------------------------------------
// group_state

/// The topics of the log dir `group_state` consumes, and their partitions.
const GROUP_TOPICS: [&str; 2] = ["orders", "metrics"];
const GROUP_PARTITIONS: i32 = 3;
/// Records per partition in that log dir.
const GROUP_RECORDS: usize = 6;

/// A log dir with [`GROUP_TOPICS`], made once per process with the writer.
fn group_log_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_dir().join("group-log");
        let _ = std::fs::remove_dir_all(&dir);
        for topic in GROUP_TOPICS {
            for partition in 0..GROUP_PARTITIONS {
                let mut writer = kreplay::writer::PartitionWriter::open(
                    &dir,
                    topic,
                    partition,
                    kreplay::writer::WriterOptions::default(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
                for n in 0..GROUP_RECORDS {
                    let value = format!("{topic}-{partition}-{n}");
                    let record = RecordSpec::new(n as i64, None, Some(value.as_bytes()));
                    writer.append(&[record]).unwrap_or_else(|e| panic!("{e}"));
                }
                writer.close().unwrap_or_else(|e| panic!("{e}"));
            }
        }
        dir
    })
}

/// `%XX` decoding of one field of a group file, as the engine writes them
/// (`None` for a bad escape or bytes that are not utf-8).
fn percent_decoded(token: &str) -> Option<String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = token.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file name a member file goes under: the member id of its `member`
/// line (so the engine takes it for a member), else `m`.
fn member_file_name(member: &[u8]) -> String {
    let id = std::str::from_utf8(member).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("member "))
            .and_then(percent_decoded)
    });
    match id {
        Some(id)
            if !id.is_empty()
                && id.len() <= 200
                && id != "."
                && id != ".."
                && !id.contains(['/', '\0']) =>
        {
            id
        }
        _ => "m".to_string(),
    }
}

/// Opens `path` and takes its `flock`, as a live member holds its file.
fn locked(path: &Path) -> Option<std::fs::File> {
    let file = std::fs::File::open(path).ok()?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).ok()?;
    Some(file)
}

/// `group_state`: a consumer group's files in a state dir
/// (`groups/g/{state, members/<id>, owners/orders-0}`), then the engine's
/// public API over them: `describe_group`, `groups`, a `Consumer` joining
/// the group (subscribe, two short polls, a commit, close),
/// `alter_offsets` and `delete_group`.
///
/// Input: byte 0 holds flags (bits 0–1: the consumer's assignor; bit 2: a
/// live member holds the member file's lock; bit 3: write an owner file;
/// bit 4: lock it; bit 5: subscribe to `orders` only; bit 6: the consumer is
/// static); bytes 1–2 the `state` file's length (big-endian, clamped); then
/// the `state` file, then the member file, then, after a `0xff` byte, the
/// owner file.
///
/// What must hold: no panic, no hang; errors are fine. A state file that
/// does not read is never rewritten; one the engine wrote reads again
/// (`describe_group` succeeds on it, twice the same). Records polled belong
/// to the consumer's assignment. An accepted `alter_offsets` is what the
/// group then has committed; a deleted group is gone.
pub fn group_state(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (state_len, rest) = match rest.split_first_chunk::<2>() {
        Some((len, rest)) => (usize::from(u16::from_be_bytes(*len)), rest),
        None => (rest.len(), &[][..]),
    };
    let (state_bytes, rest) = rest.split_at(state_len.min(rest.len()));
    let (member_bytes, owner_bytes) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let assignor = [
        kreplay::Assignor::Range,
        kreplay::Assignor::RoundRobin,
        kreplay::Assignor::Sticky,
        kreplay::Assignor::CooperativeSticky,
    ][usize::from(flags & 3)];
    let hold_member = flags & 4 != 0;
    let topics: &[&str] = if flags & 32 != 0 {
        &GROUP_TOPICS[..1]
    } else {
        &GROUP_TOPICS
    };

    let log_dir = group_log_dir();
    let state_dir = scratch_dir().join("group-state");
    let store = OffsetStore::open(&state_dir, &[log_dir.to_path_buf()])
        .unwrap_or_else(|e| panic!("{}: {e}", state_dir.display()));
    let group = "g";
    let dir = store
        .group_dir(group)
        .unwrap_or_else(|e| panic!("group dir: {e}"));
    // What an earlier input left.
    for name in ["members", "owners"] {
        let _ = std::fs::remove_dir_all(dir.join(name));
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    let write = |path: &Path, bytes: &[u8]| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
        }
        std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    let state_path = dir.join("state");
    write(&state_path, state_bytes);
    let member_path = dir.join("members").join(member_file_name(member_bytes));
    write(&member_path, member_bytes);
    let _member_lock = hold_member.then(|| locked(&member_path));
    let owner_path = dir.join("owners").join("orders-0");
    let _owner_lock = owner_bytes.and_then(|bytes| {
        if flags & 8 == 0 {
            return None;
        }
        write(&owner_path, bytes);
        (flags & 16 != 0).then(|| locked(&owner_path))
    });

    // Reading never changes anything.
    let described = store.describe_group(group);
    if let Ok(Some(description)) = &described {
        assert_eq!(description.group_id, group);
        let mut ids: Vec<&str> = description
            .members
            .iter()
            .map(|m| m.member_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            description.members.len(),
            "a member listed twice"
        );
        assert!(description.live_members() <= description.members.len());
        let _ = description.owner_of(&TopicPartition::new("orders", 0));
        let _ = description.state.to_string();
    }
    let _ = described.as_ref().map_err(ToString::to_string);
    let groups = store.groups().unwrap_or_else(|e| panic!("groups: {e}"));
    assert!(groups.iter().any(|g| g == group), "{groups:?}");
    assert_eq!(
        std::fs::read(&state_path).ok().as_deref(),
        Some(state_bytes),
        "describe_group changed the state file"
    );

    // A member joins, syncs at once (1 ms heartbeats), polls, commits, leaves.
    let mut config = ConsumerConfig::new([log_dir]);
    config.group_id = Some(group.to_string());
    config.state_dir = Some(state_dir.clone());
    config.auto_offset_reset = AutoOffsetReset::Earliest;
    config.io_mode = kreplay::IoMode::Off;
    config.max_poll_records = 4;
    config.partition_assignment_strategy = assignor;
    config.heartbeat_interval = Duration::from_millis(1);
    config.session_timeout = Duration::from_millis(10);
    if flags & 64 != 0 {
        config.group_instance_id = Some("box-1".into());
    }
    match Consumer::new(config) {
        Ok(mut consumer) => {
            if consumer.subscribe(topics).is_ok() {
                for _ in 0..2 {
                    match consumer.poll(Duration::from_millis(3)) {
                        Ok(records) => {
                            for record in &records {
                                let Ok(record) = record else { continue };
                                assert!(
                                    topics.contains(&record.topic_partition.topic.as_str()),
                                    "{}",
                                    record.topic_partition
                                );
                            }
                            let polled: Vec<TopicPartition> =
                                records.partitions().into_iter().cloned().collect();
                            let owned = consumer.assignment();
                            for tp in &polled {
                                assert!(owned.contains(tp), "a record of {tp}, not assigned");
                            }
                        }
                        Err(error) => {
                            let _ = error.to_string();
                        }
                    }
                }
                let _ = consumer.commit_sync().map_err(|e| e.to_string());
            }
            let _ = consumer.close().map_err(|e| e.to_string());
        }
        Err(error) => panic!("a consumer over a good log dir: {error}"),
    }
    let after = std::fs::read(&state_path).ok();
    match &described {
        Err(_) => assert_eq!(
            after.as_deref(),
            Some(state_bytes),
            "a state file that does not read was rewritten"
        ),
        Ok(_) if after.as_deref() != Some(state_bytes) => {
            // The engine wrote the state: it reads again, the same twice.
            let once = store
                .describe_group(group)
                .unwrap_or_else(|e| panic!("a state file the engine wrote: {e}"));
            let twice = store
                .describe_group(group)
                .unwrap_or_else(|e| panic!("a state file the engine wrote: {e}"));
            assert_eq!(once.is_some(), twice.is_some());
        }
        Ok(_) => {}
    }

    // An administrator resets offsets: refused while a member lives.
    let orders = |n| TopicPartition::new("orders", n);
    let reset = BTreeMap::from([(orders(0), OffsetAndMetadata::new(1))]);
    if store.alter_offsets(group, &reset, &[orders(1)]).is_ok() {
        let committed = store
            .committed_all(group)
            .unwrap_or_else(|e| panic!("offsets after alter_offsets: {e}"));
        assert_eq!(committed.get(&orders(0)).map(|o| o.offset), Some(1));
        assert!(!committed.contains_key(&orders(1)));
    }
    // And deletes the group: gone, unless a member lives.
    match store.delete_group(group) {
        Ok(existed) => {
            assert!(existed, "the group existed");
            assert!(store
                .describe_group(group)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none());
            assert!(!store
                .groups()
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .any(|g| g == group));
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

// ---------------------------------------------------------------------------
// writer_roundtrip

/// One thing the writer is asked to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchCase {
    /// A v2 record batch ([`BatchEncoder::encode_batch`]).
    V2 {
        /// Header fields.
        spec: BatchSpec,
        /// Records.
        records: Vec<RecordSpec>,
    },
    /// A transaction marker ([`BatchEncoder::encode_control_batch`]).
    Control {
        /// Header fields.
        spec: BatchSpec,
        /// Commit or abort, coordinator epoch.
        marker: EndTransactionMarker,
        /// The marker's timestamp.
        timestamp: i64,
    },
    /// A magic 0/1 message set ([`BatchEncoder::encode_legacy_message_set`]).
    Legacy {
        /// Magic, codec, offsets, timestamps.
        spec: LegacySpec,
        /// Records.
        records: Vec<RecordSpec>,
    },
}

/// A `writer_roundtrip` input: batches written one after the other into one
/// segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// In order.
    pub batches: Vec<BatchCase>,
}

/// A batch as a reader must see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExpectedBatch {
    magic: i8,
    base_offset: i64,
    last_offset: i64,
    compression: Compression,
    timestamp_type: Option<TimestampType>,
    is_transactional: bool,
    is_control_batch: bool,
    has_delete_horizon_ms: bool,
    partition_leader_epoch: Option<i32>,
    producer_id: Option<i64>,
    producer_epoch: Option<i16>,
    base_sequence: Option<i32>,
    base_timestamp: Option<i64>,
    max_timestamp: Option<i64>,
    records_count: Option<i32>,
    records: Vec<OwnedRecord>,
}

impl ExpectedBatch {
    fn read(batch: &RecordBatch<'_>, inflater: &mut Inflater) -> ExpectedBatch {
        let records = match batch.records(inflater).map(|mut r| drain(&mut r)) {
            Ok((records, None)) => records,
            Ok((_, Some(error))) | Err(error) => {
                panic!("a batch the writer wrote does not read: {error} ({batch:?})")
            }
        };
        ExpectedBatch {
            magic: batch.magic(),
            base_offset: batch.base_offset(),
            last_offset: batch.last_offset(),
            compression: batch.compression(),
            timestamp_type: batch.timestamp_type(),
            is_transactional: batch.is_transactional(),
            is_control_batch: batch.is_control_batch(),
            has_delete_horizon_ms: batch.has_delete_horizon_ms(),
            partition_leader_epoch: batch.partition_leader_epoch(),
            producer_id: batch.producer_id(),
            producer_epoch: batch.producer_epoch(),
            base_sequence: batch.base_sequence(),
            base_timestamp: batch.base_timestamp(),
            max_timestamp: batch.max_timestamp(),
            records_count: batch.records_count(),
            records,
        }
    }
}

fn non_negative<T: PartialOrd + Default>(value: Option<T>) -> Option<T> {
    value.filter(|v| *v >= T::default())
}

fn largest_timestamp(records: &[RecordSpec]) -> i64 {
    records.iter().fold(-1, |max, r| max.max(r.timestamp))
}

/// What reading back `case` must give, batch by batch (the writer accepted it).
fn expected_batches(case: &BatchCase) -> Vec<ExpectedBatch> {
    match case {
        BatchCase::V2 { spec, records } => {
            let max_timestamp = spec
                .max_timestamp
                .unwrap_or_else(|| largest_timestamp(records));
            let base_timestamp = spec
                .delete_horizon_ms
                .or(records.first().map(|r| r.timestamp))
                .unwrap_or(max_timestamp);
            let last_offset_delta = spec
                .last_offset_delta
                .or(records.last().map(|r| r.offset_delta))
                .unwrap_or(0);
            let records = records
                .iter()
                .map(|r| OwnedRecord {
                    offset: spec.base_offset.wrapping_add(i64::from(r.offset_delta)),
                    timestamp: Some(match spec.timestamp_type {
                        TimestampType::CreateTime => r.timestamp,
                        TimestampType::LogAppendTime => max_timestamp,
                    }),
                    timestamp_type: Some(spec.timestamp_type),
                    key: r.key.clone(),
                    value: r.value.clone(),
                    headers: r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
                        .collect(),
                    is_control: false,
                    control_type: None,
                })
                .collect::<Vec<_>>();
            vec![ExpectedBatch {
                magic: MAGIC_V2,
                base_offset: spec.base_offset,
                last_offset: spec.base_offset.wrapping_add(i64::from(last_offset_delta)),
                compression: spec.compression,
                timestamp_type: Some(spec.timestamp_type),
                is_transactional: spec.is_transactional,
                is_control_batch: false,
                has_delete_horizon_ms: spec.delete_horizon_ms.is_some(),
                partition_leader_epoch: non_negative(spec.partition_leader_epoch),
                producer_id: non_negative(spec.producer_id),
                producer_epoch: non_negative(spec.producer_epoch),
                base_sequence: non_negative(spec.base_sequence),
                base_timestamp: Some(base_timestamp),
                max_timestamp: Some(max_timestamp),
                records_count: Some(records.len() as i32),
                records,
            }]
        }
        BatchCase::Control {
            spec,
            marker,
            timestamp,
        } => {
            let type_id = marker.result.control_type_id();
            let mut key = 0i16.to_be_bytes().to_vec();
            key.extend_from_slice(&type_id.to_be_bytes());
            let mut value = 0i16.to_be_bytes().to_vec();
            value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
            vec![ExpectedBatch {
                magic: MAGIC_V2,
                base_offset: spec.base_offset,
                last_offset: spec.base_offset,
                compression: Compression::None,
                timestamp_type: Some(spec.timestamp_type),
                is_transactional: true,
                is_control_batch: true,
                has_delete_horizon_ms: false,
                partition_leader_epoch: non_negative(spec.partition_leader_epoch),
                producer_id: non_negative(spec.producer_id),
                producer_epoch: non_negative(spec.producer_epoch),
                base_sequence: None,
                base_timestamp: Some(*timestamp),
                max_timestamp: Some(*timestamp),
                records_count: Some(1),
                records: vec![OwnedRecord {
                    offset: spec.base_offset,
                    timestamp: Some(*timestamp),
                    timestamp_type: Some(spec.timestamp_type),
                    key: Some(key),
                    value: Some(value),
                    headers: Vec::new(),
                    is_control: true,
                    control_type: Some(match marker.result {
                        TransactionResult::Abort => ControlRecordType::Abort,
                        TransactionResult::Commit => ControlRecordType::Commit,
                    }),
                }],
            }]
        }
        BatchCase::Legacy { spec, records } => {
            let Some(last) = records.last() else {
                return Vec::new();
            };
            let v1 = spec.magic != MAGIC_V0;
            let log_append_time = spec.timestamp_type == TimestampType::LogAppendTime;
            let append_time = spec
                .log_append_time
                .unwrap_or_else(|| largest_timestamp(records));
            let timestamp_type = v1.then_some(spec.timestamp_type);
            let record = |r: &RecordSpec| OwnedRecord {
                offset: spec.base_offset.wrapping_add(i64::from(r.offset_delta)),
                timestamp: v1.then_some(if log_append_time {
                    append_time
                } else {
                    r.timestamp
                }),
                timestamp_type,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: Vec::new(),
                is_control: false,
                control_type: None,
            };
            let batch = |offset: i64,
                         timestamp: Option<i64>,
                         codec: Compression,
                         count: Option<i32>,
                         records: Vec<OwnedRecord>| ExpectedBatch {
                magic: spec.magic,
                base_offset: offset,
                last_offset: offset,
                compression: codec,
                timestamp_type,
                is_transactional: false,
                is_control_batch: false,
                has_delete_horizon_ms: false,
                partition_leader_epoch: None,
                producer_id: None,
                producer_epoch: None,
                base_sequence: None,
                base_timestamp: timestamp,
                max_timestamp: timestamp,
                records_count: count,
                records,
            };
            if spec.compression == Compression::None {
                records
                    .iter()
                    .map(|r| {
                        let r = record(r);
                        batch(r.offset, r.timestamp, Compression::None, Some(1), vec![r])
                    })
                    .collect()
            } else {
                let wrapper_timestamp = if log_append_time {
                    append_time
                } else {
                    largest_timestamp(records)
                };
                vec![batch(
                    spec.base_offset.wrapping_add(i64::from(last.offset_delta)),
                    v1.then_some(wrapper_timestamp),
                    spec.compression,
                    None,
                    records.iter().map(record).collect(),
                )]
            }
        }
    }
}

/// `writer_roundtrip`: every batch the writer accepts is read back exactly
/// (offsets, timestamps and their types, keys and values with null apart
/// from empty, headers, codec and every header field); a refused batch
/// leaves the output as it was.
pub fn writer_roundtrip(scenario: &Scenario) {
    let mut encoder = BatchEncoder::new();
    let mut out = Vec::new();
    let mut expected = Vec::new();
    for case in &scenario.batches {
        let before = out.len();
        let written = match case {
            BatchCase::V2 { spec, records } => encoder.encode_batch(spec, records, &mut out),
            BatchCase::Control {
                spec,
                marker,
                timestamp,
            } => encoder.encode_control_batch(spec, marker, *timestamp, &mut out),
            BatchCase::Legacy { spec, records } => {
                encoder.encode_legacy_message_set(spec, records, &mut out)
            }
        };
        match written {
            Ok(()) => expected.extend(expected_batches(case)),
            Err(error) => {
                let _ = error.to_string();
                assert_eq!(out.len(), before, "a refused batch left bytes behind");
            }
        }
    }

    let size = out.len() as u64;
    let segment = Segment::from_mapping("00000000000000000000.log", 0, Mapping::from_vec(out));
    let mut inflater = Inflater::new(kreplay::DEFAULT_MAX_INFLATED_BYTES, true);
    let mut batches = segment.batches();
    let mut read = Vec::new();
    for batch in batches.by_ref() {
        let batch = batch.unwrap_or_else(|e| panic!("a batch the writer wrote: {e}"));
        read.push(ExpectedBatch::read(&batch, &mut inflater));
    }
    assert_eq!(batches.end(), Some(&SegmentEnd::Clean), "{size} bytes");
    assert_eq!(read.len(), expected.len(), "batch count");
    for (n, (read, expected)) in read.iter().zip(&expected).enumerate() {
        assert_eq!(read, expected, "batch {n}");
    }
}

// ---------------------------------------------------------------------------
// A text form of a Scenario, for regression files.

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err(format!("odd hex length in {text:?}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("bad hex {text:?}"))
        })
        .collect()
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn opt_hex(value: Option<&[u8]>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("x{}", hex(v)))
}

fn timestamp_type_name(t: TimestampType) -> &'static str {
    match t {
        TimestampType::CreateTime => "create",
        TimestampType::LogAppendTime => "append",
    }
}

impl Scenario {
    /// One line per batch and per record and header:
    ///
    /// ```text
    /// v2 base_offset=0 leader_epoch=0 codec=lz4 ts_type=create max_ts=- txn=0 pid=- pepoch=- seq=- horizon=- last_delta=-
    /// record delta=0 ts=1700000000000 key=x6b value=-
    /// header key=x68 value=x
    /// control base_offset=5 leader_epoch=- ts_type=create pid=7 pepoch=0 result=abort coordinator_epoch=3 ts=17
    /// legacy magic=1 codec=gzip base_offset=9 ts_type=append append_time=-
    /// ```
    ///
    /// `-` is null (`None`); bytes are `x` and hex (`x` alone is empty).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for case in &self.batches {
            let records = match case {
                BatchCase::V2 { spec, records } => {
                    let _ = writeln!(
                        out,
                        "v2 base_offset={} leader_epoch={} codec={} ts_type={} max_ts={} txn={} \
                         pid={} pepoch={} seq={} horizon={} last_delta={}",
                        spec.base_offset,
                        opt(spec.partition_leader_epoch),
                        spec.compression,
                        timestamp_type_name(spec.timestamp_type),
                        opt(spec.max_timestamp),
                        u8::from(spec.is_transactional),
                        opt(spec.producer_id),
                        opt(spec.producer_epoch),
                        opt(spec.base_sequence),
                        opt(spec.delete_horizon_ms),
                        opt(spec.last_offset_delta),
                    );
                    records.as_slice()
                }
                BatchCase::Control {
                    spec,
                    marker,
                    timestamp,
                } => {
                    let _ = writeln!(
                        out,
                        "control base_offset={} leader_epoch={} ts_type={} pid={} pepoch={} \
                         result={} coordinator_epoch={} ts={timestamp}",
                        spec.base_offset,
                        opt(spec.partition_leader_epoch),
                        timestamp_type_name(spec.timestamp_type),
                        opt(spec.producer_id),
                        opt(spec.producer_epoch),
                        match marker.result {
                            TransactionResult::Abort => "abort",
                            TransactionResult::Commit => "commit",
                        },
                        marker.coordinator_epoch,
                    );
                    &[]
                }
                BatchCase::Legacy { spec, records } => {
                    let _ = writeln!(
                        out,
                        "legacy magic={} codec={} base_offset={} ts_type={} append_time={}",
                        spec.magic,
                        spec.compression,
                        spec.base_offset,
                        timestamp_type_name(spec.timestamp_type),
                        opt(spec.log_append_time),
                    );
                    records.as_slice()
                }
            };
            for record in records {
                let _ = writeln!(
                    out,
                    "record delta={} ts={} key={} value={}",
                    record.offset_delta,
                    record.timestamp,
                    opt_hex(record.key.as_deref()),
                    opt_hex(record.value.as_deref()),
                );
                for (key, value) in &record.headers {
                    let _ = writeln!(
                        out,
                        "header key={} value={}",
                        opt_hex(Some(key.as_bytes())),
                        opt_hex(value.as_deref()),
                    );
                }
            }
        }
        out
    }

    /// Reads what [`to_text`](Self::to_text) writes. Blank lines and lines
    /// starting with `#` are ignored.
    pub fn from_text(text: &str) -> Result<Scenario, String> {
        let mut scenario = Scenario::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            parse_line(&mut scenario, line).map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(scenario)
    }
}

#[derive(Debug)]
struct Fields<'a>(BTreeMap<&'a str, &'a str>);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Result<&'a str, String> {
        self.0
            .get(name)
            .copied()
            .ok_or_else(|| format!("no {name}="))
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Result<T, String> {
        let text = self.get(name)?;
        text.parse().map_err(|_| format!("bad {name}={text}"))
    }

    fn opt_num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.get(name)? {
            "-" => Ok(None),
            _ => self.num(name).map(Some),
        }
    }

    fn bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self.get(name)? {
            "-" => Ok(None),
            text => text
                .strip_prefix('x')
                .ok_or_else(|| format!("bad {name}={text}"))
                .and_then(unhex)
                .map(Some),
        }
    }

    fn codec(&self) -> Result<Compression, String> {
        self.get("codec")?.parse()
    }

    fn timestamp_type(&self) -> Result<TimestampType, String> {
        match self.get("ts_type")? {
            "create" => Ok(TimestampType::CreateTime),
            "append" => Ok(TimestampType::LogAppendTime),
            other => Err(format!("bad ts_type={other}")),
        }
    }
}

fn parse_line(scenario: &mut Scenario, line: &str) -> Result<(), String> {
    let mut words = line.split_whitespace();
    let kind = words.next().unwrap_or_default();
    let mut fields = BTreeMap::new();
    for word in words {
        let (name, value) = word
            .split_once('=')
            .ok_or_else(|| format!("expected name=value, found {word:?}"))?;
        fields.insert(name, value);
    }
    let f = Fields(fields);
    match kind {
        "v2" => scenario.batches.push(BatchCase::V2 {
            spec: BatchSpec {
                base_offset: f.num("base_offset")?,
                partition_leader_epoch: f.opt_num("leader_epoch")?,
                compression: f.codec()?,
                timestamp_type: f.timestamp_type()?,
                max_timestamp: f.opt_num("max_ts")?,
                is_transactional: f.num::<u8>("txn")? != 0,
                producer_id: f.opt_num("pid")?,
                producer_epoch: f.opt_num("pepoch")?,
                base_sequence: f.opt_num("seq")?,
                delete_horizon_ms: f.opt_num("horizon")?,
                last_offset_delta: f.opt_num("last_delta")?,
            },
            records: Vec::new(),
        }),
        "control" => scenario.batches.push(BatchCase::Control {
            spec: BatchSpec {
                base_offset: f.num("base_offset")?,
                partition_leader_epoch: f.opt_num("leader_epoch")?,
                timestamp_type: f.timestamp_type()?,
                producer_id: f.opt_num("pid")?,
                producer_epoch: f.opt_num("pepoch")?,
                ..BatchSpec::default()
            },
            marker: EndTransactionMarker {
                result: match f.get("result")? {
                    "abort" => TransactionResult::Abort,
                    "commit" => TransactionResult::Commit,
                    other => return Err(format!("bad result={other}")),
                },
                coordinator_epoch: f.num("coordinator_epoch")?,
            },
            timestamp: f.num("ts")?,
        }),
        "legacy" => scenario.batches.push(BatchCase::Legacy {
            spec: LegacySpec {
                magic: f.num("magic")?,
                compression: f.codec()?,
                base_offset: f.num("base_offset")?,
                timestamp_type: f.timestamp_type()?,
                log_append_time: f.opt_num("append_time")?,
            },
            records: Vec::new(),
        }),
        "record" => {
            let record = RecordSpec {
                offset_delta: f.num("delta")?,
                timestamp: f.num("ts")?,
                key: f.bytes("key")?,
                value: f.bytes("value")?,
                headers: Vec::new(),
            };
            match scenario.batches.last_mut() {
                Some(BatchCase::V2 { records, .. } | BatchCase::Legacy { records, .. }) => {
                    records.push(record)
                }
                _ => return Err("a record outside a v2 or legacy batch".into()),
            }
        }
        "header" => {
            let key = f.bytes("key")?.ok_or("a null header key")?;
            let key = String::from_utf8(key).map_err(|_| "a header key that is not utf-8")?;
            let value = f.bytes("value")?;
            let record = match scenario.batches.last_mut() {
                Some(BatchCase::V2 { records, .. } | BatchCase::Legacy { records, .. }) => {
                    records.last_mut()
                }
                _ => None,
            };
            record
                .ok_or("a header outside a record")?
                .headers
                .push((key, value));
        }
        other => return Err(format!("unknown line kind {other:?}")),
    }
    Ok(())
}

/// Splits fuzz input into a state record's key and value: the first byte's
/// low 7 bits are the key's length, its high bit a null (tombstone) value.
fn state_record(data: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (&selector, rest) = data.split_first()?;
    let key_len = usize::from(selector & 0x7f).min(rest.len());
    let (key, value) = rest.split_at(key_len);
    Some((key, (selector & 0x80 == 0).then_some(value)))
}

/// `__consumer_offsets` keys and values: decoding never panics, and a
/// record that decodes encodes to bytes that decode and encode the same.
pub fn state_offsets(data: &[u8]) {
    use kreplay::state::consumer_offsets::decode_offsets_record;
    let Some((key, value)) = state_record(data) else {
        return;
    };
    let Ok(record) = decode_offsets_record(Some(key), value) else {
        return;
    };
    let _ = record.to_json();
    let encode = |r: &kreplay::state::consumer_offsets::OffsetsRecord| {
        let key = r.key.encode().unwrap_or_else(|e| panic!("key: {e}"));
        let value = r
            .value
            .as_ref()
            .map(|v| v.encode().unwrap_or_else(|e| panic!("value: {e}")));
        (key, value)
    };
    let (k1, v1) = encode(&record);
    let again = decode_offsets_record(Some(&k1), v1.as_deref())
        .unwrap_or_else(|e| panic!("re-encoded record does not decode: {e}"));
    assert_eq!(encode(&again), (k1, v1), "encoding is not stable");
}

/// `__transaction_state` keys and values, as [`state_offsets`].
pub fn state_transaction(data: &[u8]) {
    use kreplay::state::transaction_state::decode_transaction_log_record;
    let Some((key, value)) = state_record(data) else {
        return;
    };
    let Ok(record) = decode_transaction_log_record(Some(key), value) else {
        return;
    };
    let _ = record.to_json();
    let encode = |r: &kreplay::state::transaction_state::TransactionLogRecord| {
        let key = r.key.encode().unwrap_or_else(|e| panic!("key: {e}"));
        let value = r
            .value
            .as_ref()
            .map(|v| v.encode().unwrap_or_else(|e| panic!("value: {e}")));
        (key, value)
    };
    let (k1, v1) = encode(&record);
    let again = decode_transaction_log_record(Some(&k1), v1.as_deref())
        .unwrap_or_else(|e| panic!("re-encoded record does not decode: {e}"));
    assert_eq!(encode(&again), (k1, v1), "encoding is not stable");
}
