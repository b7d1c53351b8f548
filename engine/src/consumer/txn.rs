//! read_committed from the `.txnindex` files: which transactional batches
//! belong to aborted transactions, known up front as a broker knows them
//! (Kafka's `UnifiedLog.collectAbortedTransactions`), instead of looking
//! ahead for each transaction's marker and decoding it.
//!
//! A broker answers a read_committed fetch with the aborted transactions
//! from its `.txnindex` files and bounds the fetch by the last stable
//! offset. A replay has no broker to tell it the last stable offset, and a
//! log copied without its index files (or with damaged ones) must not lose a
//! committed record or deliver an aborted one, so the index is used under a
//! rule that the markers check:
//!
//! - One cursor per partition reads batch headers ahead of the reader, once.
//!   It records, per producer, the offset of the last transaction marker it
//!   has passed, and checks every marker against the index: an ABORT must
//!   be the next entry by last offset, of the same producer, with a first
//!   offset after the producer's previous marker and at or before the first
//!   transactional batch the cursor saw since; a COMMIT must have no entry;
//!   an entry no marker matches is an error too. (An ABORT that ends no
//!   transactional batch the cursor saw decides nothing and needs no entry.)
//! - A transactional batch of producer `p` at offset `o` is decided once the
//!   cursor has passed a marker of `p` after `o` (none before the end of the
//!   log: an open transaction, the last stable offset). It is aborted when
//!   `p`'s entry with the smallest last offset at or after `o` was checked
//!   (its last offset is at or before that marker) and begins at or before
//!   `o`.
//!
//! Every entry a decision rests on was checked against its marker, so the
//! records are those the markers give; the first mismatch, or an index that
//! is not sane, turns the partition back to markers with a warning (the
//! decisions made so far rested on checked entries only). What the index
//! saves: one forward pass of headers for all producers instead of one
//! look-ahead per transaction, and per-producer state of one offset instead
//! of a decision per open transaction.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::Result;
use crate::index::{AbortedTxn, IndexStatus, TransactionIndex};
use crate::partition::{Partition, ReadOptions};
use crate::record::{ControlRecordType, Inflater, RecordBatch};
use crate::segment::Segment;

/// Where read_committed learns which transactions were aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbortedTxnSource {
    /// The segments' `.txnindex` files when every one is sane (a missing
    /// file: no aborted transaction in that segment), checked against the
    /// markers as the log is read; markers alone otherwise, or from the
    /// first mismatch on (logged as a warning).
    #[default]
    TxnIndex,
    /// The transaction markers only: each transaction's marker is looked up
    /// ahead of its first batch.
    Markers,
}

/// Hashes a producer id with one multiplication: the cursor looks producers
/// up once or twice per batch, where SipHash cost a fifth of the fetcher's
/// instructions (callgrind). Producer ids are not chosen by an adversary
/// here: they are in the files being read, and a skewed table only slows.
#[derive(Debug, Default, Clone, Copy)]
struct ProducerIdHasher(u64);

impl Hasher for ProducerIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_i64(&mut self, id: i64) {
        self.0 = (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type ProducerMap<V> = HashMap<i64, V, BuildHasherDefault<ProducerIdHasher>>;

/// The aborted transactions of a partition, from its `.txnindex` files.
#[derive(Debug)]
pub(crate) struct AbortedIndex {
    /// Every entry, ordered by last offset (the abort marker's offset).
    by_last: Vec<AbortedTxn>,
    /// Per producer, (first offset, last offset) ordered by last offset.
    by_producer: ProducerMap<Vec<(i64, i64)>>,
}

impl AbortedIndex {
    /// Loads and checks the `.txnindex` of every segment from
    /// `first_segment` on (an earlier segment's entries end before anything
    /// the reader will read); the reason (with the file) when one cannot be
    /// trusted.
    pub(crate) fn load(
        partition: &Partition,
        read: &ReadOptions,
        first_segment: usize,
    ) -> std::result::Result<Self, String> {
        let segments = partition.segments();
        let mut by_last: Vec<AbortedTxn> = Vec::new();
        for (n, segment) in segments.iter().enumerate().skip(first_segment) {
            let path = segment.index_path("txnindex");
            let (index, status) = TransactionIndex::open(&path, read.strategy, segment.base_offset);
            match status {
                IndexStatus::Missing | IndexStatus::Empty => continue,
                IndexStatus::Valid {
                    dropped_bytes: 0, ..
                } => {}
                other => return Err(format!("{}: {other}", path.display())),
            }
            let Some(index) = index else { continue };
            let next_base = segments.get(n + 1).map(|next| next.base_offset);
            for txn in index.aborted_txns() {
                if txn.first_offset > txn.last_offset || txn.first_offset < 0 {
                    return Err(format!(
                        "{}: producer {} aborting at offset {} has first offset {}",
                        path.display(),
                        txn.producer_id,
                        txn.last_offset,
                        txn.first_offset
                    ));
                }
                if let Some(next_base) = next_base.filter(|&b| txn.last_offset >= b) {
                    return Err(format!(
                        "{}: abort marker offset {} is past the segment's end (the next segment begins at {next_base})",
                        path.display(),
                        txn.last_offset
                    ));
                }
                if let Some(previous) = by_last.last().filter(|p| p.last_offset >= txn.last_offset)
                {
                    return Err(format!(
                        "{}: abort marker offsets out of order ({} after {})",
                        path.display(),
                        txn.last_offset,
                        previous.last_offset
                    ));
                }
                by_last.push(txn);
            }
        }
        let mut by_producer: ProducerMap<Vec<(i64, i64)>> = ProducerMap::default();
        for txn in &by_last {
            let list = by_producer.entry(txn.producer_id).or_default();
            if let Some(&(_, previous_last)) = list.last() {
                if txn.first_offset <= previous_last {
                    return Err(format!(
                        "{}: producer {}'s aborted transactions overlap ({}..={} begins before {previous_last})",
                        partition.dir().display(),
                        txn.producer_id,
                        txn.first_offset,
                        txn.last_offset
                    ));
                }
            }
            list.push((txn.first_offset, txn.last_offset));
        }
        Ok(AbortedIndex {
            by_last,
            by_producer,
        })
    }
}

impl AbortedIndex {
    /// Number of aborted transactions.
    pub(crate) fn len(&self) -> usize {
        self.by_last.len()
    }
}

/// A partition's read_committed state under the index.
#[derive(Debug)]
pub(crate) struct IndexedTxns {
    index: AbortedIndex,
    cursor: Option<Cursor>,
}

/// How far the markers have been read and checked.
#[derive(Debug)]
struct Cursor {
    segment_index: usize,
    segment: Segment,
    position: u64,
    /// Past the last batch of the log.
    at_end: bool,
    /// What the cursor knows of each producer it has passed.
    producers: ProducerMap<Producer>,
    /// Entries of `by_last` matched by a marker so far.
    matched: usize,
    /// Reads the markers' control records.
    inflater: Inflater,
}

/// A producer as the cursor has passed it.
#[derive(Debug, Default, Clone, Copy)]
struct Producer {
    /// Offset of the last marker passed.
    last_marker: Option<i64>,
    /// Offset of the first transactional batch passed since that marker.
    txn_start: Option<i64>,
}

/// A batch's outcome under read_committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnOutcome {
    Committed,
    Aborted,
    /// No marker yet: an open transaction.
    Open,
}

impl IndexedTxns {
    pub(crate) fn new(index: AbortedIndex) -> Self {
        IndexedTxns {
            index,
            cursor: None,
        }
    }

    /// The outcome of the transaction holding `batch` (transactional, of a
    /// producer), found at `position` of segment `segment_index`. `Err`
    /// names the mismatch between index and markers (the caller turns to
    /// markers).
    pub(crate) fn outcome(
        &mut self,
        partition: &Partition,
        read: &ReadOptions,
        segment_index: usize,
        segment: &Segment,
        position: u64,
        batch: &RecordBatch<'_>,
    ) -> Result<std::result::Result<TxnOutcome, String>> {
        let Some(producer_id) = batch.producer_id() else {
            return Ok(Ok(TxnOutcome::Committed));
        };
        let offset = batch.base_offset();
        let cursor = self.cursor.get_or_insert_with(|| Cursor {
            segment_index,
            segment: segment.clone(),
            position,
            at_end: false,
            producers: ProducerMap::default(),
            inflater: read.inflater(),
            matched: self
                .index
                .by_last
                .partition_point(|txn| txn.last_offset < offset),
        });
        let marker = match cursor.advance(&self.index, partition, producer_id, offset)? {
            Ok(Some(marker)) => marker,
            Ok(None) => return Ok(Ok(TxnOutcome::Open)),
            Err(mismatch) => return Ok(Err(mismatch)),
        };
        let aborted = self
            .index
            .by_producer
            .get(&producer_id)
            .and_then(|list| {
                let n = list.partition_point(|&(_, last)| last < offset);
                list.get(n)
            })
            .is_some_and(|&(first, last)| last <= marker && first <= offset);
        Ok(Ok(if aborted {
            TxnOutcome::Aborted
        } else {
            TxnOutcome::Committed
        }))
    }
}

impl Cursor {
    /// Reads on until a marker of `producer_id` after `offset` has been
    /// passed: the offset of the last one passed, `None` at the end of the
    /// log.
    fn advance(
        &mut self,
        index: &AbortedIndex,
        partition: &Partition,
        producer_id: i64,
        offset: i64,
    ) -> Result<std::result::Result<Option<i64>, String>> {
        loop {
            let known = self
                .producers
                .get(&producer_id)
                .and_then(|p| p.last_marker)
                .filter(|&m| m > offset);
            if let Some(marker) = known {
                return Ok(Ok(Some(marker)));
            }
            if self.at_end {
                return Ok(Ok(None));
            }
            let mut found = false;
            for batch in self.segment.batches_from(self.position, false) {
                let Ok(batch) = batch else {
                    // Damage ahead: the reader reports it when it gets
                    // there; the look-ahead goes on in the next segment (as
                    // the markers' look-ahead does).
                    break;
                };
                self.position = batch.position + batch.size_in_bytes() as u64;
                let Some(pid) = batch.producer_id() else {
                    continue;
                };
                if !batch.is_control_batch() {
                    if batch.is_transactional() {
                        let producer = self.producers.entry(pid).or_default();
                        producer.txn_start.get_or_insert(batch.base_offset());
                    }
                    continue;
                }
                let marker_offset = batch.base_offset();
                let unreadable = || {
                    format!(
                        "{}: the control batch at position {} (offset {marker_offset}) cannot be read",
                        self.segment.path().display(),
                        batch.position
                    )
                };
                let Ok(records) = batch.records(&mut self.inflater) else {
                    return Ok(Err(unreadable()));
                };
                let mut kind = None;
                for record in records {
                    let Ok(record) = record else {
                        return Ok(Err(unreadable()));
                    };
                    match record.control_type() {
                        Some(ControlRecordType::Abort) => {
                            kind = Some(true);
                            break;
                        }
                        Some(ControlRecordType::Commit) => {
                            kind = Some(false);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(aborted) = kind else {
                    continue;
                };
                let producer = self.producers.entry(pid).or_default();
                if let Err(mismatch) = check_marker(
                    index,
                    &mut self.matched,
                    producer,
                    pid,
                    marker_offset,
                    aborted,
                ) {
                    return Ok(Err(format!(
                        "{}: {mismatch}",
                        self.segment.path().display()
                    )));
                }
                producer.last_marker = Some(marker_offset);
                producer.txn_start = None;
                if pid == producer_id && marker_offset > offset {
                    found = true;
                    break;
                }
            }
            if found {
                continue;
            }
            // The segment is read to its end (or to damage): on to the next.
            let next = self.segment_index + 1;
            if next < partition.segments().len() {
                self.segment = partition.open_segment(next)?;
                self.segment_index = next;
                self.position = 0;
            } else {
                self.at_end = true;
            }
        }
    }
}

/// Checks a marker of `producer_id` against the index (see the module
/// docs), `matched` entries of it matched so far; `producer` is what the
/// cursor knew of the producer before the marker.
fn check_marker(
    index: &AbortedIndex,
    matched: &mut usize,
    producer: &Producer,
    producer_id: i64,
    marker_offset: i64,
    aborted: bool,
) -> std::result::Result<(), String> {
    let unmatched = |txn: &AbortedTxn| {
        format!(
            ".txnindex entry of producer {} aborting at offset {} matches no abort marker",
            txn.producer_id, txn.last_offset
        )
    };
    if let Some(txn) = index
        .by_last
        .get(*matched)
        .filter(|txn| txn.last_offset < marker_offset)
    {
        return Err(unmatched(txn));
    }
    let entry = index
        .by_last
        .get(*matched)
        .filter(|txn| txn.last_offset == marker_offset);
    match (aborted, entry) {
            (false, None) => Ok(()),
            (false, Some(_)) => Err(format!(
                "the commit marker of producer {producer_id} at offset {marker_offset} has a .txnindex entry"
            )),
            // An abort with no transactional batch since the cursor began
            // or since the producer's last marker decides no batch: Kafka
            // (`ProducerAppendInfo.appendEndTxnMarker`) and the writer
            // index no empty transaction (an entry for one passes too).
            (true, None) if producer.txn_start.is_none() => Ok(()),
            (true, None) => Err(format!(
                "the abort marker of producer {producer_id} at offset {marker_offset} has no .txnindex entry"
            )),
            (true, Some(txn)) => {
                if txn.producer_id != producer_id {
                    return Err(format!(
                        "the abort marker at offset {marker_offset} is producer {producer_id}'s, its .txnindex entry producer {}'s",
                        txn.producer_id
                    ));
                }
                let after_previous = producer
                    .last_marker
                    .is_none_or(|previous| txn.first_offset > previous);
                let covers_batches = producer
                    .txn_start
                    .is_none_or(|start| txn.first_offset <= start);
                if !after_previous || !covers_batches {
                    return Err(format!(
                        "the .txnindex entry of producer {producer_id} aborting at offset {marker_offset} begins at {}, not where its transaction does",
                        txn.first_offset
                    ));
                }
                *matched += 1;
                Ok(())
            }
        }
}
