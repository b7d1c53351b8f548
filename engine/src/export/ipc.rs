//! Arrow IPC files (the Arrow file format, also known as Feather v2) of
//! records, in the schema of [`crate::arrow`]: one IPC record batch per
//! 64 Ki records (or 16 MiB of payload), uncompressed.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use arrow_ipc::writer::FileWriter;

use super::{FileFormat, FormatWriter};
use crate::arrow::{schema, ArrowRecordBuilder};
use crate::log_dir::TopicPartition;
use crate::record::{Record, RecordBatch};

/// Rows in one IPC record batch ...
const BATCH_ROWS: usize = 64 * 1024;
/// ... or fewer, once they hold this many payload bytes.
const BATCH_BYTES: usize = 16 << 20;

/// Arrow IPC files (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct ArrowIpc;

impl FileFormat for ArrowIpc {
    fn extension(&self) -> &str {
        "arrow"
    }

    fn create(&self, file: File) -> io::Result<Box<dyn FormatWriter>> {
        let out = Counted {
            inner: BufWriter::with_capacity(1 << 20, file),
            written: 0,
        };
        let writer = FileWriter::try_new(out, &schema()).map_err(io::Error::other)?;
        Ok(Box::new(IpcFile {
            writer,
            rows: ArrowRecordBuilder::new(),
        }))
    }
}

/// A writer that counts the bytes through it.
struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct IpcFile {
    writer: FileWriter<Counted<BufWriter<File>>>,
    rows: ArrowRecordBuilder,
}

impl IpcFile {
    fn write_rows(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = self.rows.finish();
        self.writer.write(&batch).map_err(io::Error::other)
    }
}

impl FormatWriter for IpcFile {
    fn append(
        &mut self,
        tp: &TopicPartition,
        batch: &RecordBatch<'_>,
        record: &Record<'_>,
    ) -> io::Result<()> {
        self.rows.append(tp, batch, record);
        if self.rows.len() >= BATCH_ROWS || self.rows.payload_bytes() >= BATCH_BYTES {
            self.write_rows()?;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.writer.get_ref().written + self.rows.payload_bytes() as u64
    }

    fn finish(mut self: Box<Self>) -> io::Result<File> {
        self.write_rows()?;
        let out = self.writer.into_inner().map_err(io::Error::other)?;
        out.inner.into_inner().map_err(|e| e.into_error())
    }
}
