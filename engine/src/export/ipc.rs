//! Arrow IPC files (the Arrow file format, also known as Feather v2) of
//! records, in the schema of [`crate::arrow`]: one IPC record batch per
//! 64 Ki records (or 16 MiB of payload), uncompressed.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use arrow_ipc::writer::FileWriter;

use arrow_array::RecordBatch as ArrowBatch;

use std::sync::Arc;

use super::batched::{BatchWriter, Batched};
use super::values::ValueColumns;
use super::{FileFormat, FormatWriter};
use crate::arrow::{schema, BinaryLayout};

/// Arrow IPC files (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct ArrowIpc {
    values: Option<Arc<ValueColumns>>,
}

impl ArrowIpc {
    /// Values as typed columns (`export --value-format`).
    pub fn with_values(mut self, values: ValueColumns) -> Self {
        self.values = Some(Arc::new(values));
        self
    }
}

impl FileFormat for ArrowIpc {
    fn extension(&self) -> &str {
        "arrow"
    }

    fn create(&self, file: File) -> io::Result<Box<dyn FormatWriter>> {
        let out = Counted {
            inner: BufWriter::with_capacity(1 << 20, file),
            written: 0,
        };
        let file_schema = self.values.as_ref().map_or_else(schema, |v| v.schema());
        let writer = FileWriter::try_new(out, &file_schema).map_err(io::Error::other)?;
        // IPC writes the batches' own types: `binary`, as every reader takes.
        Ok(Box::new(
            Batched::new(writer, BinaryLayout::Binary).with_values(self.values.clone()),
        ))
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

impl BatchWriter for FileWriter<Counted<BufWriter<File>>> {
    fn write_batch(&mut self, batch: &ArrowBatch) -> io::Result<()> {
        self.write(batch).map_err(io::Error::other)
    }

    fn size(&self) -> u64 {
        self.get_ref().written
    }

    fn into_file(self) -> io::Result<File> {
        let out = self.into_inner().map_err(io::Error::other)?;
        out.inner.into_inner().map_err(|e| e.into_error())
    }
}
