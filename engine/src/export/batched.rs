//! What the Arrow-based formats share: rows go into an
//! [`ArrowRecordBuilder`] and reach the file's writer as record batches of
//! [`BATCH_ROWS`] rows (or fewer, once they hold [`BATCH_BYTES`] of payload).

use std::fs::File;
use std::io;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::RecordBatch as ArrowBatch;

use super::values::ValueColumns;
use super::FormatWriter;
use crate::arrow::{ArrowRecordBuilder, BinaryLayout};
use crate::consumer::ConsumerBatch;
use crate::record::Record;

/// Rows in one record batch handed to the writer ...
const BATCH_ROWS: usize = 64 * 1024;
/// ... or fewer, once they hold this many payload bytes.
const BATCH_BYTES: usize = 16 << 20;

/// A writer of Arrow record batches into a file (Parquet's, IPC's).
pub(super) trait BatchWriter {
    /// Writes one record batch.
    fn write_batch(&mut self, batch: &ArrowBatch) -> io::Result<()>;
    /// Bytes written so far, with what the writer buffers.
    fn size(&self) -> u64;
    /// Writes the footer and gives the file back.
    fn into_file(self) -> io::Result<File>;
}

/// A file of an Arrow-based format: rows buffered, written in batches.
pub(super) struct Batched<W> {
    writer: W,
    rows: ArrowRecordBuilder,
    /// Values as typed columns, when not as they are.
    values: Option<Arc<ValueColumns>>,
    /// Rows handed to the writer, and the offset of the last.
    written: (u64, i64),
}

impl<W: BatchWriter> Batched<W> {
    /// Rows built with `key` and `value` in `layout` for `writer`.
    pub(super) fn new(writer: W, layout: BinaryLayout) -> Self {
        Batched {
            writer,
            rows: ArrowRecordBuilder::with_layout(layout),
            values: None,
            written: (0, -1),
        }
    }

    /// Converts each batch's values before it is written (the writer's
    /// schema is `values`' then).
    pub(super) fn with_values(mut self, values: Option<Arc<ValueColumns>>) -> Self {
        self.values = values;
        self
    }

    /// Writes the rows built. A value that does not fit its columns is an
    /// error (an [`io::Error`] around the engine's
    /// [`Error::ValueMismatch`](crate::Error::ValueMismatch)), the rows
    /// before it written.
    fn write_rows(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = self.rows.finish();
        let Some(values) = &self.values else {
            return self.write(&batch);
        };
        match values.apply(&batch) {
            Ok(typed) => self.write(&typed),
            Err(mismatch) => {
                if let Some(before) = mismatch.before {
                    self.write(&before)?;
                }
                Err(io::Error::other(mismatch.error))
            }
        }
    }

    fn write(&mut self, batch: &ArrowBatch) -> io::Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.writer.write_batch(batch)?;
        let last = batch
            .column_by_name("offset")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .map_or(-1, |o| o.value(o.len() - 1));
        self.written = (self.written.0 + batch.num_rows() as u64, last);
        Ok(())
    }
}

impl<W: BatchWriter> FormatWriter for Batched<W> {
    fn append(&mut self, batch: &ConsumerBatch<'_>, record: &Record<'_>) -> io::Result<()> {
        self.rows.append(batch, record);
        if self.rows.len() >= BATCH_ROWS || self.rows.payload_bytes() >= BATCH_BYTES {
            self.write_rows()?;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.writer.size() + self.rows.payload_bytes() as u64
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_rows()
    }

    fn written(&self) -> Option<(u64, i64)> {
        Some(self.written)
    }

    fn finish(mut self: Box<Self>) -> io::Result<File> {
        self.write_rows()?;
        self.writer.into_file()
    }
}
