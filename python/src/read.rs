//! The stream behind `kreplay.read`: partitions read by worker threads,
//! each partition by one worker with its own consumer, in offset order, into
//! Arrow record batches handed to the stream through a bounded channel.
//!
//! With one thread the partitions come one after the other; with more, the
//! batches of different partitions interleave as they are made (each
//! partition's batches still in offset order). The channel holds at most
//! as many batches as there are threads, so memory stays bounded whatever
//! the caller's pace.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arrow_array::{RecordBatch as ArrowBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use kreplay::arrow::{schema_with, ArrowRecordBuilder, BinaryLayout};
use kreplay::{Consumer, ConsumerConfig, TopicPartition};

/// How long one poll waits for the fetcher before asking again.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Where each partition's reading starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    Earliest,
    Latest,
    Offset(i64),
    Timestamp(i64),
}

/// What to read, and how.
#[derive(Debug, Clone)]
pub(crate) struct ReadPlan {
    pub(crate) config: ConsumerConfig,
    pub(crate) partitions: Vec<TopicPartition>,
    pub(crate) start: Start,
    /// Offset, per partition, at which reading stops (exclusive).
    pub(crate) end: Option<i64>,
    /// Rows per record batch (a partition's last may have fewer).
    pub(crate) batch_records: usize,
    pub(crate) layout: BinaryLayout,
    /// Partitions read at once (at least 1).
    pub(crate) threads: usize,
}

type Item = Result<ArrowBatch, kreplay::Error>;

/// The stream of record batches of a [`ReadPlan`].
pub(crate) struct PartitionBatches {
    schema: SchemaRef,
    /// `None` once the stream has ended (after an error, nothing more).
    batches: Option<Receiver<Item>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl PartitionBatches {
    /// Starts the workers.
    pub(crate) fn start(plan: ReadPlan) -> std::io::Result<Self> {
        let threads = plan.threads.clamp(1, plan.partitions.len().max(1));
        let (send, batches) = mpsc::sync_channel(threads);
        let stop = Arc::new(AtomicBool::new(false));
        let schema = schema_with(plan.layout);
        let queue = Arc::new(Mutex::new(VecDeque::from(plan.partitions.clone())));
        let plan = Arc::new(plan);
        let mut workers = Vec::with_capacity(threads);
        for n in 0..threads {
            let (plan, queue, stopped, send) =
                (plan.clone(), queue.clone(), stop.clone(), send.clone());
            let worker = std::thread::Builder::new()
                .name(format!("kreplay-read-{n}"))
                .spawn(move || work(&plan, &queue, &stopped, &send));
            match worker {
                Ok(worker) => workers.push(worker),
                Err(error) => {
                    stop.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(PartitionBatches {
            schema,
            batches: Some(batches),
            stop,
            workers,
        })
    }
}

/// A worker: takes partitions from `queue` until it is empty, the stream
/// stops, or reading fails (the error is the last thing it sends).
fn work(
    plan: &ReadPlan,
    queue: &Mutex<VecDeque<TopicPartition>>,
    stop: &AtomicBool,
    send: &SyncSender<Item>,
) {
    while !stop.load(Ordering::Relaxed) {
        let next = queue.lock().ok().and_then(|mut queue| queue.pop_front());
        let Some(tp) = next else {
            return;
        };
        let sent = |batch| send.send(Ok(batch)).is_ok() && !stop.load(Ordering::Relaxed);
        if let Err(error) = read_partition(plan, &tp, sent) {
            stop.store(true, Ordering::Relaxed);
            let _ = send.send(Err(error));
            return;
        }
    }
}

/// Reads partition `tp` from the plan's start to its end (or to the plan's
/// `end`), handing each record batch to `sent`, which says whether to go
/// on. On an error, the rows read before it are handed over first.
fn read_partition(
    plan: &ReadPlan,
    tp: &TopicPartition,
    mut sent: impl FnMut(ArrowBatch) -> bool,
) -> kreplay::Result<()> {
    let mut builder = ArrowRecordBuilder::with_layout(plan.layout);
    let result = (|| {
        let mut consumer = open(plan, tp)?;
        loop {
            let polled = consumer.poll(POLL_TIMEOUT)?;
            let empty = polled.is_empty();
            for batch in polled.batches() {
                let batch = batch?;
                for record in batch.records() {
                    let record = record?;
                    if plan.end.is_some_and(|end| record.offset() >= end) {
                        return Ok(true);
                    }
                    builder.append(&batch, &record);
                    if builder.len() == plan.batch_records && !sent(builder.finish()) {
                        return Ok(false);
                    }
                }
            }
            if empty && consumer.at_end() {
                return Ok(true);
            }
        }
    })();
    if !builder.is_empty() && matches!(result, Ok(true) | Err(_)) {
        sent(builder.finish());
    }
    result.map(|_| ())
}

/// A consumer of `tp` alone, positioned at the plan's start.
fn open(plan: &ReadPlan, tp: &TopicPartition) -> kreplay::Result<Consumer> {
    let mut consumer = Consumer::new(plan.config.clone())?;
    let assigned = std::slice::from_ref(tp);
    consumer.assign(assigned)?;
    match plan.start {
        Start::Earliest => consumer.seek_to_beginning(assigned)?,
        Start::Latest => consumer.seek_to_end(assigned)?,
        Start::Offset(offset) => consumer.seek(tp, offset)?,
        Start::Timestamp(timestamp) => {
            let query = [(tp.clone(), timestamp)].into_iter().collect();
            match consumer.offsets_for_times(&query)?.get(tp) {
                Some(Some(found)) => consumer.seek(tp, found.offset)?,
                // No record at or after the timestamp: nothing to read.
                _ => consumer.seek_to_end(assigned)?,
            }
        }
    }
    Ok(consumer)
}

impl Iterator for PartitionBatches {
    type Item = Result<ArrowBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.batches.as_ref()?.recv().ok();
        match item {
            Some(Ok(batch)) => Some(Ok(batch)),
            Some(Err(error)) => {
                self.batches = None;
                Some(Err(ArrowError::ExternalError(Box::new(error))))
            }
            None => {
                self.batches = None;
                None
            }
        }
    }
}

impl RecordBatchReader for PartitionBatches {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Drop for PartitionBatches {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A worker blocked on a full channel wakes with an error when the
        // receiver is gone.
        self.batches = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
