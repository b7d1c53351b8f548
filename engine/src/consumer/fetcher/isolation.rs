//! read_committed in the fetcher: where a reader learns which
//! transactions were aborted, and each batch's fate (delivered, skipped,
//! or blocking at the last stable offset), from the `.txnindex` files or
//! the markers ahead.

use super::*;

/// Where a reader learns which transactions were aborted.
#[derive(Debug)]
pub(super) enum TxnSource {
    /// Not decided yet: the `.txnindex` files are loaded at the first
    /// transactional batch.
    Unloaded,
    /// The `.txnindex` files, checked against the markers.
    Index(Box<IndexedTxns>),
    /// The markers, looked up ahead per transaction.
    Markers,
}

impl TxnSource {
    pub(super) fn initial(source: AbortedTxnSource) -> TxnSource {
        match source {
            AbortedTxnSource::TxnIndex => TxnSource::Unloaded,
            AbortedTxnSource::Markers => TxnSource::Markers,
        }
    }
}

/// What to do with a batch under the isolation level.
pub(super) enum Fate {
    Deliver,
    Skip,
    /// An open transaction: the last stable offset; stop before it.
    Blocked,
}

/// read_committed: whether a batch is delivered, skipped (control, aborted)
/// or blocks (an open transaction: the last stable offset).
pub(super) fn txn_fate(
    reader: &mut Reader,
    segment: &Segment,
    segment_index: usize,
    batch: &RecordBatch<'_>,
    position: u64,
    read: &ReadOptions,
) -> Result<Fate> {
    let Some(producer_id) = batch.producer_id() else {
        return Ok(if batch.is_control_batch() {
            Fate::Skip
        } else {
            Fate::Deliver
        });
    };
    if batch.is_control_batch() {
        reader.txns.remove(&producer_id);
        return Ok(Fate::Skip);
    }
    if !batch.is_transactional() {
        return Ok(Fate::Deliver);
    }
    if let Some(fate) = indexed_fate(reader, segment, segment_index, batch, position, read)? {
        return Ok(fate);
    }
    let decision = match reader.txns.get(&producer_id) {
        Some(&decision) => Some(decision),
        None => {
            let found = find_marker(reader, segment, segment_index, position, producer_id, read)?;
            if let Some(decision) = found {
                reader.txns.insert(producer_id, decision);
            }
            found
        }
    };
    Ok(match decision {
        Some((_, true)) => Fate::Skip,
        Some((_, false)) => Fate::Deliver,
        None => Fate::Blocked,
    })
}

/// read_committed through the `.txnindex` files (`consumer::txn`): the
/// batch's fate, or `None` when the reader uses markers (from now on, if
/// the index turned out not to match them).
pub(super) fn indexed_fate(
    reader: &mut Reader,
    segment: &Segment,
    segment_index: usize,
    batch: &RecordBatch<'_>,
    position: u64,
    read: &ReadOptions,
) -> Result<Option<Fate>> {
    let Some(partition) = reader.partition.as_ref() else {
        return Ok(None);
    };
    if matches!(reader.txn_source, TxnSource::Unloaded) {
        reader.txn_source = match AbortedIndex::load(partition, read, segment_index) {
            Ok(index) => {
                log::debug!(
                    "{}: read_committed uses the .txnindex files ({} aborted transactions)",
                    reader.dir.path.display(),
                    index.len()
                );
                TxnSource::Index(Box::new(IndexedTxns::new(index)))
            }
            Err(reason) => {
                log::warn!(
                    "{}: read_committed falls back to the transaction markers: {reason}",
                    reader.dir.path.display()
                );
                TxnSource::Markers
            }
        };
    }
    let TxnSource::Index(indexed) = &mut reader.txn_source else {
        return Ok(None);
    };
    match indexed.outcome(partition, read, segment_index, segment, position, batch)? {
        Ok(TxnOutcome::Committed) => Ok(Some(Fate::Deliver)),
        Ok(TxnOutcome::Aborted) => Ok(Some(Fate::Skip)),
        Ok(TxnOutcome::Open) => Ok(Some(Fate::Blocked)),
        Err(mismatch) => {
            log::warn!(
                "{}: the .txnindex files do not match the transaction markers, read_committed falls back to the markers: {mismatch}",
                reader.dir.path.display()
            );
            reader.txn_source = TxnSource::Markers;
            Ok(None)
        }
    }
}

/// Looks ahead from `position` for the producer's next transaction marker:
/// (its offset, whether it aborts). `None` when the log has none yet.
pub(super) fn find_marker(
    reader: &Reader,
    segment: &Segment,
    segment_index: usize,
    position: u64,
    producer_id: i64,
    read: &ReadOptions,
) -> Result<Option<(i64, bool)>> {
    let Some(partition) = reader.partition.as_ref() else {
        return Ok(None);
    };
    let mut inflater = read.inflater();
    let mut scan = |segment: &Segment, from: u64| -> Result<Option<(i64, bool)>> {
        for batch in segment.batches_from(from, false) {
            let Ok(batch) = batch else {
                // Damage ahead: the reader reports it when it gets there.
                return Ok(None);
            };
            if batch.is_control_batch() && batch.producer_id() == Some(producer_id) {
                let records = batch.records(&mut inflater).map_err(|kind| {
                    segment.corrupt(batch.position, Some(batch.base_offset()), kind)
                })?;
                for record in records {
                    let record = record.map_err(|kind| {
                        segment.corrupt(batch.position, Some(batch.base_offset()), kind)
                    })?;
                    match record.control_type() {
                        Some(ControlRecordType::Abort) => {
                            return Ok(Some((batch.base_offset(), true)))
                        }
                        Some(ControlRecordType::Commit) => {
                            return Ok(Some((batch.base_offset(), false)))
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(None)
    };
    if let Some(found) = scan(segment, position)? {
        return Ok(Some(found));
    }
    for n in segment_index + 1..partition.segments().len() {
        let next = partition.open_segment(n)?;
        if let Some(found) = scan(&next, 0)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}
