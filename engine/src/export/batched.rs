//! What the Arrow-based formats share: rows go into an
//! [`ArrowRecordBuilder`] and reach the file's writer as record batches of
//! [`BATCH_ROWS`] rows (or fewer, once they hold [`BATCH_BYTES`] of payload).

use std::fs::File;
use std::io;

use arrow_array::RecordBatch as ArrowBatch;

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
}

impl<W: BatchWriter> Batched<W> {
    /// Rows built with `key` and `value` in `layout` for `writer`.
    pub(super) fn new(writer: W, layout: BinaryLayout) -> Self {
        Batched {
            writer,
            rows: ArrowRecordBuilder::with_layout(layout),
        }
    }

    fn write_rows(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = self.rows.finish();
        self.writer.write_batch(&batch)
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

    fn finish(mut self: Box<Self>) -> io::Result<File> {
        self.write_rows()?;
        self.writer.into_file()
    }
}
