//! The `kreplay._kreplay` extension module: the engine's consumer, read
//! into Arrow record batches ([`read`]) and handed to Python over the Arrow
//! C stream interface (no copy on the way: pyarrow takes the batches'
//! buffers as they are).
//!
//! The Python package (`python/kreplay`) wraps this in its public API.

mod consumer;
mod read;

use std::path::PathBuf;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_schema::ffi::FFI_ArrowSchema;
use kreplay::arrow::{schema_with, BinaryLayout};
use kreplay::{Consumer, ConsumerConfig, IsolationLevel, TopicPartition};

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use read::{PartitionBatches, ReadPlan, Start};

pyo3::create_exception!(
    _kreplay,
    KreplayError,
    PyException,
    "An error of the engine: a log dir that cannot be read, a corrupt batch \
     (the message names the file, byte position and offset), an unknown topic."
);

/// `"view"` or `"binary"`: how the `key` and `value` columns hold bytes.
fn parse_layout(layout: &str) -> PyResult<BinaryLayout> {
    match layout {
        "view" => Ok(BinaryLayout::View),
        "binary" => Ok(BinaryLayout::Binary),
        other => Err(PyValueError::new_err(format!(
            "layout {other:?}: expected 'view' or 'binary'"
        ))),
    }
}

fn parse_start(start: &Bound<'_, PyAny>) -> PyResult<Start> {
    if let Ok(name) = start.extract::<String>() {
        return match name.as_str() {
            "earliest" | "beginning" => Ok(Start::Earliest),
            "latest" | "end" => Ok(Start::Latest),
            other => Err(PyValueError::new_err(format!(
                "start {other:?}: expected 'earliest', 'latest' or an offset"
            ))),
        };
    }
    let offset: i64 = start.extract().map_err(|_| {
        PyValueError::new_err("start: expected 'earliest', 'latest' or an offset (int)")
    })?;
    if offset < 0 {
        return Err(PyValueError::new_err(format!(
            "start offset {offset} is negative"
        )));
    }
    Ok(Start::Offset(offset))
}

fn engine_error(error: impl std::fmt::Display) -> PyErr {
    KreplayError::new_err(error.to_string())
}

/// Mounts the bucket of every `s3://` path (environment: `AWS_*`), so the
/// engine reads those paths from object storage.
#[cfg(feature = "s3")]
pub(crate) fn mount_object_stores(paths: &[PathBuf]) -> PyResult<()> {
    kreplay_object_store::mount_args(paths.iter().filter_map(|p| p.to_str())).map_err(engine_error)
}

/// Without the `s3` feature an `s3://` path is refused by name.
#[cfg(not(feature = "s3"))]
pub(crate) fn mount_object_stores(paths: &[PathBuf]) -> PyResult<()> {
    match paths
        .iter()
        .find(|p| p.to_string_lossy().starts_with("s3://"))
    {
        Some(path) => Err(KreplayError::new_err(format!(
            "{}: this kreplay was built without object storage (cargo feature `s3`)",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// Opens a stream of record batches over `topics` in `log_dirs`; returns
/// an Arrow C stream capsule (`arrow_array_stream`).
#[pyfunction]
#[pyo3(signature = (log_dirs, topics, *, isolation_level, start, start_timestamp, end, partitions, batch_records, check_crcs, layout, threads))]
#[allow(clippy::too_many_arguments)]
fn read_stream<'py>(
    py: Python<'py>,
    log_dirs: Vec<PathBuf>,
    topics: Vec<String>,
    isolation_level: &str,
    start: &Bound<'py, PyAny>,
    start_timestamp: Option<i64>,
    end: Option<i64>,
    partitions: Option<Vec<i32>>,
    batch_records: usize,
    check_crcs: bool,
    layout: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let layout = parse_layout(layout)?;
    let threads = match threads {
        Some(0) => return Err(PyValueError::new_err("threads must be at least 1")),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let isolation_level: IsolationLevel = isolation_level.parse().map_err(|_| {
        PyValueError::new_err(format!(
            "isolation_level {isolation_level:?}: expected 'read_uncommitted' or 'read_committed'"
        ))
    })?;
    let start = match start_timestamp {
        Some(timestamp) => Start::Timestamp(timestamp),
        None => parse_start(start)?,
    };
    if log_dirs.is_empty() {
        return Err(PyValueError::new_err("log_dirs is empty"));
    }
    mount_object_stores(&log_dirs)?;
    let batch_records = batch_records.max(1);
    let mut config = ConsumerConfig::new(log_dirs);
    config.isolation_level = isolation_level;
    config.check_crcs = check_crcs;
    config.follow = false;
    config.max_poll_records = batch_records;
    let selected = py.detach(|| select(&config, &topics, partitions.as_deref()))?;
    let reader = PartitionBatches::start(ReadPlan {
        config,
        partitions: selected,
        start,
        end,
        batch_records,
        layout,
        threads,
    })
    .map_err(engine_error)?;
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    let name = c"arrow_array_stream";
    PyCapsule::new(py, stream, Some(name.to_owned()))
}

/// The partitions of `topics` (all, or those numbered in `partitions`).
fn select(
    config: &ConsumerConfig,
    topics: &[String],
    partitions: Option<&[i32]>,
) -> PyResult<Vec<TopicPartition>> {
    let listing = Consumer::new(config.clone()).map_err(engine_error)?;
    let dirs: Vec<String> = config
        .log_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let mut selected = Vec::new();
    for topic in topics {
        let found = listing.partitions_for(topic);
        if found.is_empty() {
            let mut known: Vec<&str> = listing.partitions().map(|tp| tp.topic.as_str()).collect();
            known.dedup();
            return Err(KreplayError::new_err(format!(
                "topic '{topic}' has no partitions in {} (topics found: {})",
                dirs.join(", "),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
        match partitions {
            None => selected.extend(found),
            Some(numbers) => {
                for &number in numbers {
                    if !found.iter().any(|tp| tp.partition == number) {
                        return Err(KreplayError::new_err(format!(
                            "topic '{topic}' has no partition {number} in {}",
                            dirs.join(", ")
                        )));
                    }
                    selected.push(TopicPartition::new(topic.clone(), number));
                }
            }
        }
    }
    Ok(selected)
}

/// `(topic, partition, log_start_offset, log_end_offset)` of every
/// partition in `log_dirs`.
#[pyfunction]
fn list_partitions(
    py: Python<'_>,
    log_dirs: Vec<PathBuf>,
) -> PyResult<Vec<(String, i32, i64, i64)>> {
    mount_object_stores(&log_dirs)?;
    py.detach(|| {
        let consumer = Consumer::new(ConsumerConfig::new(log_dirs)).map_err(engine_error)?;
        let partitions: Vec<TopicPartition> = consumer.partitions().cloned().collect();
        let starts = consumer
            .beginning_offsets(&partitions)
            .map_err(engine_error)?;
        let ends = consumer.end_offsets(&partitions).map_err(engine_error)?;
        Ok(partitions
            .into_iter()
            .map(|tp| {
                let start = starts.get(&tp).copied().unwrap_or(0);
                let end = ends.get(&tp).copied().unwrap_or(start);
                (tp.topic, tp.partition, start, end)
            })
            .collect())
    })
}

/// The record batches' schema with `key` and `value` in `layout`, as an
/// Arrow C schema capsule (`arrow_schema`).
#[pyfunction]
fn schema_capsule<'py>(py: Python<'py>, layout: &str) -> PyResult<Bound<'py, PyCapsule>> {
    let schema = schema_with(parse_layout(layout)?);
    let schema = FFI_ArrowSchema::try_from(schema.as_ref()).map_err(engine_error)?;
    PyCapsule::new(py, schema, Some(c"arrow_schema".to_owned()))
}

#[pymodule]
fn _kreplay(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_stream, m)?)?;
    m.add_function(wrap_pyfunction!(list_partitions, m)?)?;
    m.add_function(wrap_pyfunction!(schema_capsule, m)?)?;
    consumer::register(m)?;
    m.add("KreplayError", m.py().get_type::<KreplayError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
