//! `kreplay._kreplay.RawConsumer`: the engine's [`Consumer`] (assign or
//! subscribe, groups, poll, seek, commit) for `kreplay.Consumer`
//! (python/kreplay/_consumer.py), which wraps it.
//!
//! Each poll's records are built into one Arrow record batch with
//! [`ArrowRecordBuilder`] (the schema of `kreplay.read`) and handed to
//! pyarrow over the Arrow C data interface. The GIL is released while the
//! engine polls and the batch is built.
//!
//! The engine's `Consumer` is `Send` but not `Sync` (its rebalance listener
//! is a `Box<dyn ConsumerRebalanceListener + Send>`), so it sits behind a
//! `Mutex`: the class is shareable between Python threads, one call at a
//! time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use arrow_array::ffi::FFI_ArrowArray;
use arrow_array::{Array, RecordBatch as ArrowBatch, StructArray};
use arrow_schema::ffi::FFI_ArrowSchema;
use kreplay::arrow::ArrowRecordBuilder;
use kreplay::{
    Assignor, AutoOffsetReset, Consumer, ConsumerConfig, IsolationLevel, OffsetAndMetadata,
    TopicPartition,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::KreplayError;

/// A `(topic, partition)` pair as Python passes and gets it.
type PyTopicPartition = (String, i32);

fn engine_error(error: impl std::fmt::Display) -> PyErr {
    KreplayError::new_err(error.to_string())
}

fn to_tp((topic, partition): PyTopicPartition) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn to_tps(partitions: Vec<PyTopicPartition>) -> Vec<TopicPartition> {
    partitions.into_iter().map(to_tp).collect()
}

fn from_tp(tp: &TopicPartition) -> PyTopicPartition {
    (tp.topic.clone(), tp.partition)
}

/// What the mutex guards: the consumer (`None` once closed), the builder of
/// each poll's batch, and an error met after some records of a poll, raised
/// by the next poll.
struct State {
    consumer: Option<Consumer>,
    builder: ArrowRecordBuilder,
    failed: Option<kreplay::Error>,
}

impl State {
    fn consumer(&mut self) -> PyResult<&mut Consumer> {
        self.consumer
            .as_mut()
            .ok_or_else(|| KreplayError::new_err("the consumer is closed"))
    }
}

/// The engine's consumer. Python's `kreplay.Consumer` is the public API.
#[pyclass(module = "kreplay._kreplay")]
pub struct RawConsumer {
    state: Mutex<State>,
}

/// The entry of `tp` in a list of per-partition offsets.
fn offset_of(list: &[(TopicPartition, i64)], tp: &TopicPartition) -> Option<i64> {
    list.iter()
        .find(|(t, _)| t == tp)
        .map(|(_, offset)| *offset)
}

/// One poll: at most `max_records` records of the engine's poll go into
/// the batch. The partitions whose records were left out are sought back
/// to the first one left out, so that the next poll returns it: the
/// position, and what `commit()` stores, is always just past what was
/// returned.
///
/// A record that fails to decode stops the batch there: the records before
/// it are returned, its partition is sought back to it (so the next poll
/// meets the error again, as a Kafka consumer does until it seeks past),
/// and the error is raised now when nothing came before it. An error the
/// partition of which cannot be sought back (a batch header the poll could
/// not parse) is returned to be raised by the next poll.
fn poll_batch(
    consumer: &mut Consumer,
    builder: &mut ArrowRecordBuilder,
    max_records: usize,
    timeout: Duration,
) -> kreplay::Result<(ArrowBatch, Option<kreplay::Error>)> {
    // Where each partition stood before the poll: where a partition that
    // fails before any of its records was returned goes back to.
    let before: Vec<(TopicPartition, i64)> = consumer
        .assignment()
        .into_iter()
        .filter_map(|tp| {
            let position = consumer.position(&tp).ok()?;
            Some((tp, position))
        })
        .collect();
    let mut left_out: Vec<(TopicPartition, i64)> = Vec::new();
    // Per partition, the offset after the last record returned.
    let mut returned: Vec<(TopicPartition, i64)> = Vec::new();
    let mut failed = None;
    let mut raise_later = false;
    let mut stopped = false;
    let mut taken = 0usize;
    {
        let polled = consumer.poll(timeout)?;
        for batch in polled.batches() {
            let batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    // The engine ends the poll's batches here.
                    if failed.is_none() {
                        failed = Some(error);
                        raise_later = true;
                    }
                    break;
                }
            };
            let tp = batch.topic_partition();
            let mut next = None;
            for record in batch.records() {
                let record = match record {
                    Ok(record) => record,
                    Err(error) => {
                        if offset_of(&left_out, tp).is_none() {
                            let resume = next
                                .or_else(|| offset_of(&returned, tp))
                                .or_else(|| offset_of(&before, tp));
                            match resume {
                                Some(offset) => left_out.push((tp.clone(), offset)),
                                None => raise_later = true,
                            }
                        }
                        if failed.is_none() {
                            failed = Some(error);
                        }
                        stopped = true;
                        break;
                    }
                };
                if stopped || taken == max_records {
                    stopped = true;
                    if offset_of(&left_out, tp).is_none() {
                        left_out.push((tp.clone(), record.offset()));
                    }
                    break;
                }
                builder.append(&batch, &record);
                taken += 1;
                next = Some(record.offset().saturating_add(1));
            }
            if let Some(next) = next {
                match returned.iter_mut().find(|(t, _)| t == tp) {
                    Some(entry) => entry.1 = next,
                    None => returned.push((tp.clone(), next)),
                }
            }
        }
    }
    for (tp, offset) in &left_out {
        consumer.seek(tp, *offset)?;
    }
    match failed {
        // Nothing came before the error: raise it now.
        Some(error) if builder.is_empty() => Err(error),
        Some(error) => Ok((builder.finish(), raise_later.then_some(error))),
        None => Ok((builder.finish(), None)),
    }
}

/// `(schema capsule, array capsule)` of one batch, for pyarrow's
/// `__arrow_c_array__` protocol.
fn export<'py>(
    py: Python<'py>,
    batch: ArrowBatch,
) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
    let data = StructArray::from(batch).into_data();
    let array = FFI_ArrowArray::new(&data);
    let schema = FFI_ArrowSchema::try_from(data.data_type()).map_err(engine_error)?;
    Ok((
        PyCapsule::new(py, schema, Some(c"arrow_schema".to_owned()))?,
        PyCapsule::new(py, array, Some(c"arrow_array".to_owned()))?,
    ))
}

fn parse<T: std::str::FromStr>(name: &str, value: &str, expected: &str) -> PyResult<T> {
    value
        .parse()
        .map_err(|_| PyValueError::new_err(format!("{name} {value:?}: expected {expected}")))
}

fn millis(name: &str, ms: f64) -> PyResult<Duration> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(PyValueError::new_err(format!(
            "{name} {ms}: expected a duration >= 0"
        )));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

impl std::fmt::Debug for RawConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConsumer").finish_non_exhaustive()
    }
}

impl RawConsumer {
    fn lock(&self) -> PyResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| KreplayError::new_err("the consumer failed in another thread"))
    }

    /// Runs `f` on the consumer with the GIL released.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Consumer) -> kreplay::Result<T> + Send,
    ) -> PyResult<T> {
        let mut state = self.lock()?;
        let consumer = state.consumer()?;
        py.detach(|| f(consumer)).map_err(engine_error)
    }
}

#[pymethods]
impl RawConsumer {
    #[new]
    #[pyo3(signature = (
        log_dirs, *, group_id, state_dir, isolation_level, auto_offset_reset, check_crcs,
        max_poll_records, fetch_max_bytes, max_partition_fetch_bytes, client_id,
        group_instance_id, partition_assignment_strategy, session_timeout_ms,
        heartbeat_interval_ms, follow, enable_auto_commit, auto_commit_interval_ms
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        log_dirs: Vec<PathBuf>,
        group_id: Option<String>,
        state_dir: Option<PathBuf>,
        isolation_level: &str,
        auto_offset_reset: &str,
        check_crcs: bool,
        max_poll_records: usize,
        fetch_max_bytes: u64,
        max_partition_fetch_bytes: u64,
        client_id: String,
        group_instance_id: Option<String>,
        partition_assignment_strategy: &str,
        session_timeout_ms: f64,
        heartbeat_interval_ms: f64,
        follow: bool,
        enable_auto_commit: bool,
        auto_commit_interval_ms: f64,
    ) -> PyResult<Self> {
        if log_dirs.is_empty() {
            return Err(PyValueError::new_err("log_dirs is empty"));
        }
        crate::mount_object_stores(&log_dirs)?;
        if max_poll_records == 0 {
            return Err(PyValueError::new_err("max_poll_records must be at least 1"));
        }
        let mut config = ConsumerConfig::new(log_dirs);
        config.group_id = group_id;
        config.state_dir = state_dir;
        config.isolation_level = parse::<IsolationLevel>(
            "isolation_level",
            isolation_level,
            "'read_uncommitted' or 'read_committed'",
        )?;
        config.auto_offset_reset = parse::<AutoOffsetReset>(
            "auto_offset_reset",
            auto_offset_reset,
            "'earliest', 'latest' or 'none'",
        )?;
        config.check_crcs = check_crcs;
        config.max_poll_records = max_poll_records;
        config.fetch_max_bytes = fetch_max_bytes;
        config.max_partition_fetch_bytes = max_partition_fetch_bytes;
        config.client_id = client_id;
        config.group_instance_id = group_instance_id;
        config.partition_assignment_strategy = parse::<Assignor>(
            "partition_assignment_strategy",
            partition_assignment_strategy,
            "'range', 'roundrobin', 'sticky' or 'cooperative-sticky'",
        )?;
        config.session_timeout = millis("session_timeout_ms", session_timeout_ms)?;
        config.heartbeat_interval = millis("heartbeat_interval_ms", heartbeat_interval_ms)?;
        config.follow = follow;
        config.enable_auto_commit = enable_auto_commit;
        config.auto_commit_interval = millis("auto_commit_interval_ms", auto_commit_interval_ms)?;
        let consumer = py.detach(|| Consumer::new(config)).map_err(engine_error)?;
        Ok(RawConsumer {
            state: Mutex::new(State {
                consumer: Some(consumer),
                builder: ArrowRecordBuilder::new(),
                failed: None,
            }),
        })
    }

    fn subscribe(&self, py: Python<'_>, topics: Vec<String>) -> PyResult<()> {
        self.with(py, |c| c.subscribe(&topics))
    }

    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |c| c.unsubscribe())
    }

    fn subscription(&self) -> PyResult<Vec<String>> {
        Ok(self.lock()?.consumer()?.subscription().to_vec())
    }

    fn assign(&self, py: Python<'_>, partitions: Vec<PyTopicPartition>) -> PyResult<()> {
        let partitions = to_tps(partitions);
        self.with(py, |c| c.assign(&partitions))
    }

    fn assignment(&self) -> PyResult<Vec<PyTopicPartition>> {
        let mut state = self.lock()?;
        Ok(state.consumer()?.assignment().iter().map(from_tp).collect())
    }

    fn member_id(&self) -> PyResult<Option<String>> {
        Ok(self.lock()?.consumer()?.member_id().map(str::to_owned))
    }

    fn generation(&self) -> PyResult<Option<i32>> {
        Ok(self.lock()?.consumer()?.generation())
    }

    /// All partitions of `topic` in the log dirs.
    fn partitions_for(&self, topic: &str) -> PyResult<Vec<PyTopicPartition>> {
        let mut state = self.lock()?;
        let found = state.consumer()?.partitions_for(topic);
        Ok(found.iter().map(from_tp).collect())
    }

    /// The next poll's records as `(schema capsule, array capsule)`.
    fn poll<'py>(
        &self,
        py: Python<'py>,
        max_records: usize,
        timeout_ms: f64,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let timeout = millis("timeout", timeout_ms)?;
        let mut state = self.lock()?;
        if let Some(error) = state.failed.take() {
            return Err(engine_error(error));
        }
        let State {
            consumer,
            builder,
            failed,
        } = &mut *state;
        let consumer = consumer
            .as_mut()
            .ok_or_else(|| KreplayError::new_err("the consumer is closed"))?;
        let max_records = max_records.max(1);
        let (batch, error) = py
            .detach(|| poll_batch(consumer, builder, max_records, timeout))
            .map_err(engine_error)?;
        *failed = error;
        drop(state);
        export(py, batch)
    }

    fn at_end(&self) -> PyResult<bool> {
        Ok(self.lock()?.consumer()?.at_end())
    }

    fn position(&self, partition: PyTopicPartition) -> PyResult<i64> {
        let tp = to_tp(partition);
        self.lock()?.consumer()?.position(&tp).map_err(engine_error)
    }

    fn seek(&self, py: Python<'_>, partition: PyTopicPartition, offset: i64) -> PyResult<()> {
        if offset < 0 {
            return Err(PyValueError::new_err(format!(
                "offset {offset} is negative"
            )));
        }
        let tp = to_tp(partition);
        self.with(py, |c| c.seek(&tp, offset))
    }

    fn seek_to_beginning(&self, py: Python<'_>, partitions: Vec<PyTopicPartition>) -> PyResult<()> {
        let partitions = to_tps(partitions);
        self.with(py, |c| c.seek_to_beginning(&partitions))
    }

    fn seek_to_end(&self, py: Python<'_>, partitions: Vec<PyTopicPartition>) -> PyResult<()> {
        let partitions = to_tps(partitions);
        self.with(py, |c| c.seek_to_end(&partitions))
    }

    fn beginning_offsets(
        &self,
        py: Python<'_>,
        partitions: Vec<PyTopicPartition>,
    ) -> PyResult<Vec<(PyTopicPartition, i64)>> {
        let partitions = to_tps(partitions);
        let found = self.with(py, |c| c.beginning_offsets(&partitions))?;
        Ok(found.iter().map(|(tp, o)| (from_tp(tp), *o)).collect())
    }

    fn end_offsets(
        &self,
        py: Python<'_>,
        partitions: Vec<PyTopicPartition>,
    ) -> PyResult<Vec<(PyTopicPartition, i64)>> {
        let partitions = to_tps(partitions);
        let found = self.with(py, |c| c.end_offsets(&partitions))?;
        Ok(found.iter().map(|(tp, o)| (from_tp(tp), *o)).collect())
    }

    fn pause(&self, py: Python<'_>, partitions: Vec<PyTopicPartition>) -> PyResult<()> {
        let partitions = to_tps(partitions);
        self.with(py, |c| c.pause(&partitions))
    }

    fn resume(&self, py: Python<'_>, partitions: Vec<PyTopicPartition>) -> PyResult<()> {
        let partitions = to_tps(partitions);
        self.with(py, |c| c.resume(&partitions))
    }

    fn paused(&self) -> PyResult<Vec<PyTopicPartition>> {
        let mut state = self.lock()?;
        Ok(state.consumer()?.paused().iter().map(from_tp).collect())
    }

    /// Commits the positions of every assigned partition.
    fn commit_sync(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |c| c.commit_sync())
    }

    /// Commits `(partition, offset, metadata)` triples.
    fn commit_offsets(
        &self,
        py: Python<'_>,
        offsets: Vec<(PyTopicPartition, i64, Option<String>)>,
    ) -> PyResult<()> {
        let mut map = BTreeMap::new();
        for (tp, offset, metadata) in offsets {
            if offset < 0 {
                return Err(PyValueError::new_err(format!(
                    "offset {offset} for {}-{} is negative",
                    tp.0, tp.1
                )));
            }
            let value = match metadata {
                Some(metadata) => OffsetAndMetadata::with_metadata(offset, metadata),
                None => OffsetAndMetadata::new(offset),
            };
            map.insert(to_tp(tp), value);
        }
        self.with(py, |c| c.commit_offsets(&map))
    }

    /// `(partition, offset, metadata)` of the committed offsets among `partitions`.
    fn committed(
        &self,
        py: Python<'_>,
        partitions: Vec<PyTopicPartition>,
    ) -> PyResult<Vec<(PyTopicPartition, i64, Option<String>)>> {
        let partitions = to_tps(partitions);
        let found = self.with(py, |c| c.committed(&partitions))?;
        Ok(found
            .into_iter()
            .map(|(tp, om)| (from_tp(&tp), om.offset, om.metadata))
            .collect())
    }

    /// Leaves the group and stops the fetcher; later calls raise.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let consumer = self.lock()?.consumer.take();
        match consumer {
            Some(consumer) => py.detach(|| consumer.close()).map_err(engine_error),
            None => Ok(()),
        }
    }

    fn closed(&self) -> PyResult<bool> {
        Ok(self.lock()?.consumer.is_none())
    }
}

/// Adds the class to the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RawConsumer>()
}
