//! The records of one poll ([`ConsumerRecords`]): views into the consumer's
//! fetches, iterated record by record ([`ConsumerRecordIter`], with a fast
//! internal iteration) or batch by batch ([`ConsumerBatch`], for callers
//! that want the batch's producer and leader epoch, or to build columns).

use std::collections::VecDeque;
use std::fmt;

use super::fetcher::{self, CompletedFetch};
use super::{Assigned, Buffered, Span};
use crate::error::Result;
use crate::log_dir::TopicPartition;
use crate::mmap::SharedBytes;
use crate::record::{Record, RecordBatch, Records, ResumePoint};

/// Opens a batch's records at `from`.
fn open_records<'f>(
    fetch: &'f CompletedFetch,
    batch: &fetcher::FetchBatch,
    from: ResumePoint,
    check_crcs: bool,
) -> std::result::Result<Records<'f>, crate::error::Corruption> {
    let parsed = RecordBatch::parse(fetch.batch_bytes(batch))?;
    Ok(parsed
        .records_with(fetch.inflated_of(batch), check_crcs)?
        .resume(from))
}

/// Passes `n` records from `from`: where the iteration then stands, and the
/// offset of the record there (if any and decodable). A record that does
/// not decode is left for the caller's iteration to report.
pub(super) fn advance(
    fetch: &CompletedFetch,
    batch: &fetcher::FetchBatch,
    from: ResumePoint,
    n: u32,
    check_crcs: bool,
) -> (ResumePoint, Option<i64>) {
    let Ok(mut records) = open_records(fetch, batch, from, check_crcs) else {
        return (from, None);
    };
    for _ in 0..n {
        if !matches!(records.next(), Some(Ok(_))) {
            return (records.resume_point(), None);
        }
    }
    let point = records.resume_point();
    let next = records.next().and_then(|r| r.ok()).map(|r| r.offset());
    (point, next)
}

/// The records of one poll: views into the consumer's fetches, valid until
/// the next poll.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerRecords<'a> {
    pub(super) spans: &'a [Span],
    pub(super) buffered: &'a VecDeque<Buffered>,
    pub(super) assigned: &'a [Assigned],
    pub(super) check_crcs: bool,
}

impl<'a> ConsumerRecords<'a> {
    /// The number of records.
    pub fn count(&self) -> usize {
        self.spans.iter().map(|s| s.count as usize).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The partitions that have records in this poll.
    pub fn partitions(&self) -> Vec<&'a TopicPartition> {
        let mut out: Vec<&TopicPartition> = Vec::new();
        for span in self.spans {
            if let Some(tp) = self.topic_partition_of(span) {
                if !out.contains(&tp) {
                    out.push(tp);
                }
            }
        }
        out
    }

    fn topic_partition_of(&self, span: &Span) -> Option<&'a TopicPartition> {
        let fetch = &self.buffered.get(span.fetch)?.fetch;
        self.assigned
            .get(fetch.partition)
            .map(|a| &a.topic_partition)
    }

    /// Iterates the records in order. A record that cannot be decoded (a
    /// batch whose CRC matched but whose records are malformed) is an error
    /// item, after which the iteration ends.
    pub fn iter(&self) -> ConsumerRecordIter<'a> {
        ConsumerRecordIter {
            spans: self.spans,
            buffered: self.buffered,
            assigned: self.assigned,
            check_crcs: self.check_crcs,
            topic_partition: None,
            records: Records::EMPTY,
            left: 0,
            span: None,
            slow: None,
        }
    }
}

impl<'a> ConsumerRecords<'a> {
    /// Iterates the poll batch by batch: each item is the run of records
    /// one batch gave this poll, with the batch's header (producer id,
    /// leader epoch, ...). The records are the same, in the same order, as
    /// [`ConsumerRecords::iter`] gives. A batch whose header does not parse
    /// is an error item, after which the iteration ends.
    pub fn batches(&self) -> ConsumerBatches<'a> {
        ConsumerBatches {
            spans: self.spans.iter(),
            records: ConsumerRecords { ..*self },
        }
    }
}

/// Iterator over the batches of a poll ([`ConsumerRecords::batches`]).
#[derive(Debug)]
pub struct ConsumerBatches<'a> {
    spans: std::slice::Iter<'a, Span>,
    records: ConsumerRecords<'a>,
}

impl<'a> Iterator for ConsumerBatches<'a> {
    type Item = Result<ConsumerBatch<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let span = self.spans.next()?;
        let parts = self.records.buffered.get(span.fetch).and_then(|buffered| {
            let fetch = &buffered.fetch;
            let assigned = self.records.assigned.get(fetch.partition)?;
            Some((fetch, assigned, fetch.batches.get(span.batch)?))
        });
        let Some((fetch, assigned, batch)) = parts else {
            self.spans = [].iter();
            return None;
        };
        match RecordBatch::parse(fetch.batch_bytes(batch)) {
            Ok(header) => Some(Ok(ConsumerBatch {
                topic_partition: &assigned.topic_partition,
                header,
                fetch,
                batch,
                span,
                records: ConsumerRecords { ..self.records },
            })),
            Err(kind) => {
                self.spans = [].iter();
                Some(Err(fetch.segment.corrupt(
                    batch.position as u64,
                    None,
                    kind,
                )))
            }
        }
    }
}

/// The records one batch gave a poll, with the batch's header.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerBatch<'a> {
    topic_partition: &'a TopicPartition,
    header: RecordBatch<'a>,
    fetch: &'a CompletedFetch,
    batch: &'a fetcher::FetchBatch,
    span: &'a Span,
    records: ConsumerRecords<'a>,
}

impl<'a> ConsumerBatch<'a> {
    /// The batch's topic and partition.
    pub fn topic_partition(&self) -> &'a TopicPartition {
        self.topic_partition
    }

    /// The batch's header: producer id and epoch, partition leader epoch,
    /// compression, timestamps. For a legacy (magic 0/1) message set this is
    /// its wrapper message, or the one message.
    pub fn header(&self) -> &RecordBatch<'a> {
        &self.header
    }

    /// The bytes this batch's keys, values and headers borrow from: the
    /// batch's bytes in the segment's mapping when it is stored
    /// uncompressed, its inflated records when compressed. The handle keeps
    /// them alive after the poll (reference counted, cheap to clone): for
    /// callers that hand views of them on instead of copying, as the
    /// zero-copy Arrow columns do (`arrow::BinaryLayout::View`).
    pub fn shared_bytes(&self) -> SharedBytes {
        match self.batch.inflated.and_then(|i| self.fetch.inflated.get(i)) {
            Some(inflated) => SharedBytes::whole(inflated.clone()),
            None => SharedBytes::new(
                self.fetch.segment.mapping().clone(),
                self.batch.position,
                self.batch.position + self.batch.size,
            ),
        }
    }

    /// The number of records of this batch in the poll.
    pub fn len(&self) -> usize {
        self.span.count as usize
    }

    /// Whether the poll has none of its records (never, for a batch a poll
    /// returned).
    pub fn is_empty(&self) -> bool {
        self.span.count == 0
    }

    /// Iterates this batch's records of the poll (with the same fast
    /// internal iteration as [`ConsumerRecords::iter`]).
    pub fn records(&self) -> ConsumerRecordIter<'a> {
        ConsumerRecords {
            spans: std::slice::from_ref(self.span),
            ..self.records
        }
        .iter()
    }
}

impl<'a> IntoIterator for &ConsumerRecords<'a> {
    type Item = Result<ConsumerRecord<'a>>;
    type IntoIter = ConsumerRecordIter<'a>;

    fn into_iter(self) -> ConsumerRecordIter<'a> {
        self.iter()
    }
}

/// One record of a poll, with its topic and partition.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerRecord<'a> {
    /// The record's topic and partition.
    pub topic_partition: &'a TopicPartition,
    /// The record.
    pub record: Record<'a>,
}

impl<'a> std::ops::Deref for ConsumerRecord<'a> {
    type Target = Record<'a>;

    fn deref(&self) -> &Record<'a> {
        &self.record
    }
}

/// Iterator over [`ConsumerRecords`].
pub struct ConsumerRecordIter<'a> {
    spans: &'a [Span],
    buffered: &'a VecDeque<Buffered>,
    assigned: &'a [Assigned],
    check_crcs: bool,
    /// The partition of the current span.
    topic_partition: Option<&'a TopicPartition>,
    /// The current span's batch, at its next record.
    records: Records<'a>,
    /// Records of the current span still to return.
    left: u32,
    /// The current span's fetch and batch, to name a corrupt batch.
    span: Option<(&'a CompletedFetch, &'a fetcher::FetchBatch)>,
    /// An item that does not come from the fast path (an error), put here
    /// by out-of-line code; once taken, the iteration is over.
    slow: Option<Result<ConsumerRecord<'a>>>,
}

impl fmt::Debug for ConsumerRecordIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerRecordIter")
            .field("spans_left", &self.spans.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Iterator for ConsumerRecordIter<'a> {
    type Item = Result<ConsumerRecord<'a>>;

    // Always: inlined, the record stays in registers on its way to the
    // caller; the slow paths are out of line.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.left > 0 {
                self.left -= 1;
                match (self.records.next(), self.topic_partition) {
                    (Some(Ok(record)), Some(topic_partition)) => {
                        return Some(Ok(ConsumerRecord {
                            topic_partition,
                            record,
                        }))
                    }
                    (other, _) => {
                        self.record_failed(other.and_then(Result::err));
                        return self.slow.take();
                    }
                }
            }
            if !self.open_next_span() {
                return self.slow.take();
            }
        }
    }

    /// Internal iteration (`for_each`, `count`, ...): the records of each
    /// span are passed with the batch iteration's state in locals; errors
    /// and legacy batches go through `next`.
    fn fold<B, F>(mut self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let mut acc = init;
        loop {
            if self.left > 0 {
                if let Some(topic_partition) = self.topic_partition {
                    let (folded, passed) = self.records.fold_v2(self.left, acc, |acc, record| {
                        f(
                            acc,
                            Ok(ConsumerRecord {
                                topic_partition,
                                record,
                            }),
                        )
                    });
                    acc = folded;
                    self.left -= passed;
                }
            }
            match self.next() {
                Some(item) => acc = f(acc, item),
                None => return acc,
            }
        }
    }
}

impl<'a> ConsumerRecordIter<'a> {
    /// Moves to the next span; false at the end of the spans, or when its
    /// batch does not open (the error is then in `slow`).
    #[inline(never)]
    fn open_next_span(&mut self) -> bool {
        let Some((span, rest)) = self.spans.split_first() else {
            return false;
        };
        self.spans = rest;
        let Some(fetch) = self.buffered.get(span.fetch).map(|b| &b.fetch) else {
            return self.stop();
        };
        let Some(assigned) = self.assigned.get(fetch.partition) else {
            return self.stop();
        };
        let Some(batch) = fetch.batches.get(span.batch) else {
            return self.stop();
        };
        match open_records(fetch, batch, span.resume, self.check_crcs) {
            Ok(records) => {
                self.records = records;
                self.topic_partition = Some(&assigned.topic_partition);
                self.span = Some((fetch, batch));
                self.left = span.count;
                true
            }
            Err(kind) => {
                self.slow = Some(Err(fetch.segment.corrupt(
                    batch.position as u64,
                    None,
                    kind,
                )));
                self.stop()
            }
        }
    }

    /// Ends the iteration (after what is in `slow`).
    fn stop(&mut self) -> bool {
        self.spans = &[];
        self.left = 0;
        false
    }

    /// A record of the current span did not decode (`kind`), or the batch
    /// ended before the span did (`None`): the error goes to `slow` and the
    /// iteration ends.
    #[cold]
    #[inline(never)]
    fn record_failed(&mut self, kind: Option<crate::error::Corruption>) {
        self.stop();
        let Some((fetch, batch)) = self.span else {
            return;
        };
        let kind = kind.unwrap_or_else(|| {
            crate::error::Corruption::malformed("batch", "fewer records than its header declares")
        });
        let offset = RecordBatch::parse(fetch.batch_bytes(batch))
            .ok()
            .map(|b| b.base_offset());
        self.slow = Some(Err(fetch.segment.corrupt(
            batch.position as u64,
            offset,
            kind,
        )));
    }
}
