//! Inflating a fetch's compressed batches on two threads.
//!
//! On compressed partitions the fetcher was the bottleneck: one thread
//! checked every CRC and inflated every batch while the caller, which only
//! decodes records, sat idle three quarters of the time (`poll/lz4`: the
//! fetcher busy 0.99 of the wall time, the caller 0.23). So the fetcher
//! first walks a fetch's batches (CRCs, transaction fates, record counts from
//! the v2 headers) and only then inflates the batches it put aside, the
//! first half of their bytes on a second, scoped thread and the rest on its
//! own. The outcome is the one of inflating them in order: the results come
//! back in batch order and the first failure ends the fetch there.

use std::thread;

use crate::compression::Decompressor;
use crate::error::Corruption;
use crate::record::RecordBatch;

/// Below this many compressed bytes a fetch is inflated on the fetcher's
/// thread alone: starting a thread costs more than half the work.
const PARALLEL_MIN_BYTES: usize = 64 * 1024;

/// A compressed batch whose inflation was put off until its fetch is walked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deferred<'a> {
    /// Index of the batch in its fetch.
    pub(super) index: usize,
    /// Byte position of the batch in the segment.
    pub(super) position: u64,
    pub(super) batch: RecordBatch<'a>,
}

/// The decompression state of the two inflating threads.
#[derive(Debug)]
pub(super) struct Inflaters {
    own: Decompressor,
    helper: Decompressor,
    /// Whether a second thread may be used (the machine has two cores or more).
    parallel: bool,
}

impl Inflaters {
    pub(super) fn new() -> Self {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        Inflaters {
            own: Decompressor::new(),
            helper: Decompressor::new(),
            parallel: cores > 1,
        }
    }

    /// The fetcher thread's own decompressor (for batches inflated while
    /// walking: legacy message sets, a batch the fetch offset points into).
    pub(super) fn own(&mut self) -> &mut Decompressor {
        &mut self.own
    }

    /// Inflates the deferred batches, each into a buffer from `take_buffer`,
    /// and gives the results in the order of `deferred`. After the first
    /// failure the later results are not computed (they are left out).
    pub(super) fn inflate(
        &mut self,
        deferred: &[Deferred<'_>],
        take_buffer: &(dyn Fn() -> Vec<u8> + Sync),
        max_inflated_bytes: usize,
    ) -> Vec<Result<Vec<u8>, Corruption>> {
        let total: usize = deferred.iter().map(|d| d.batch.payload().len()).sum();
        if !self.parallel || deferred.len() < 2 || total < PARALLEL_MIN_BYTES {
            return run(&mut self.own, deferred, take_buffer, max_inflated_bytes);
        }
        // The helper takes the first half of the bytes, so the fetcher's own
        // half (the later batches) is not waited for when the first fails.
        let mut seen = 0;
        let split = deferred
            .iter()
            .position(|d| {
                seen += d.batch.payload().len();
                seen * 2 >= total
            })
            .map_or(deferred.len(), |at| at + 1)
            .min(deferred.len() - 1);
        let (first, second) = deferred.split_at(split);
        let Inflaters { own, helper, .. } = self;
        let (mut head, tail) = thread::scope(|scope| {
            let spawned = thread::Builder::new()
                .name("kreplay-inflate".into())
                .spawn_scoped(scope, || {
                    run(helper, first, take_buffer, max_inflated_bytes)
                });
            match spawned {
                Ok(handle) => {
                    let tail = run(own, second, take_buffer, max_inflated_bytes);
                    match handle.join() {
                        Ok(head) => (head, tail),
                        // Inflating does not panic; if it did, do it again here.
                        Err(_) => (run(own, first, take_buffer, max_inflated_bytes), tail),
                    }
                }
                Err(_) => (
                    run(own, first, take_buffer, max_inflated_bytes),
                    run(own, second, take_buffer, max_inflated_bytes),
                ),
            }
        });
        if head.len() == first.len() && head.last().is_none_or(Result::is_ok) {
            head.extend(tail);
        }
        head
    }
}

/// Inflates `deferred` in order on this thread, stopping after a failure.
fn run(
    decompressor: &mut Decompressor,
    deferred: &[Deferred<'_>],
    take_buffer: &(dyn Fn() -> Vec<u8> + Sync),
    max_inflated_bytes: usize,
) -> Vec<Result<Vec<u8>, Corruption>> {
    let mut results = Vec::with_capacity(deferred.len());
    for d in deferred {
        let mut buffer = take_buffer();
        let result = d
            .batch
            .inflate_into(decompressor, &mut buffer, max_inflated_bytes)
            .map(|()| buffer);
        let failed = result.is_err();
        results.push(result);
        if failed {
            break;
        }
    }
    results
}
