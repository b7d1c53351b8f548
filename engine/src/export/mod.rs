//! Files of records, one partition at a time, rolled at a size and written
//! durably: a file is written under a hidden temporary name, synced, and
//! only then renamed to its final name (and the directory synced), so a
//! crash never leaves part of a file under a final name.
//!
//! A file's final name says what it holds:
//! `<topic>-<partition>-<first offset>-<last offset>.<extension>`, the
//! offsets zero-padded to 20 digits so that names sort in offset order.
//!
//! [`PartitionFiles`] does the rolling, naming and syncing for any
//! [`FileFormat`]; [`Parquet`] and [`ArrowIpc`] are the formats built in
//! (others, JSON lines in the CLI, plug in through the trait).

mod batched;
mod ipc;
mod parquet;
mod values;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

pub use self::ipc::ArrowIpc;
pub use self::parquet::{Parquet, ParquetCompression};
pub use self::values::{infer_json_fields, Mismatch, OnMismatch, ValueColumns, RAW_COLUMN};

use crate::consumer::ConsumerBatch;
use crate::error::{Error, Result};
use crate::log_dir::TopicPartition;
use crate::record::Record;

/// The suffix of files being written (hidden, too: their names start with a
/// dot).
const TEMPORARY_SUFFIX: &str = ".kreplay-tmp";

/// How records are laid out in a file.
pub trait FileFormat: Send + Sync {
    /// The file name extension, without the dot (`parquet`).
    fn extension(&self) -> &str;

    /// Starts a file's content in `file` (empty, opened for writing).
    ///
    /// # Errors
    ///
    /// When the header cannot be written.
    fn create(&self, file: File) -> io::Result<Box<dyn FormatWriter>>;
}

/// One file being written in a [`FileFormat`].
pub trait FormatWriter {
    /// Appends one record of `batch` (which gives its partition, and whose
    /// header gives the epochs and the producer).
    ///
    /// # Errors
    ///
    /// When writing to the file fails.
    fn append(&mut self, batch: &ConsumerBatch<'_>, record: &Record<'_>) -> io::Result<()>;

    /// The bytes the file holds so far, with an estimate of what is
    /// buffered to be written.
    fn size(&self) -> u64;

    /// Writes the records buffered (not the footer): the errors
    /// [`finish`](Self::finish) would meet on them come here, the file
    /// still to be finished with what was written.
    ///
    /// # Errors
    ///
    /// When writing fails, or a value does not fit its columns.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// After an error: the records the file holds and the offset of the
    /// last, when that is not every record appended (a format that buffers
    /// drops what came after a value that does not fit); `None` when it is.
    fn written(&self) -> Option<(u64, i64)> {
        None
    }

    /// Writes what is buffered and the file's footer, and gives the file
    /// back (to be synced).
    ///
    /// # Errors
    ///
    /// When writing to the file fails.
    fn finish(self: Box<Self>) -> io::Result<File>;
}

/// When a partition's file is closed and the next one started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileLimits {
    /// At most this many records a file.
    pub max_records: Option<u64>,
    /// Closed once it holds this many bytes or more (so a file may be a
    /// little larger: the record that reached it, and the format's footer).
    pub max_bytes: Option<u64>,
}

impl FileLimits {
    /// No limit: one file for all the records.
    pub fn none() -> Self {
        FileLimits::default()
    }

    /// At most `max_records` records a file (`None`: any number).
    pub fn max_records(mut self, max_records: Option<u64>) -> Self {
        self.max_records = max_records;
        self
    }

    /// Closed at `max_bytes` bytes (`None`: any size).
    pub fn max_bytes(mut self, max_bytes: Option<u64>) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

/// A file that was written whole and made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Its final path.
    pub path: PathBuf,
    /// The partition its records are from.
    pub topic_partition: TopicPartition,
    /// The offset of its first record.
    pub first_offset: i64,
    /// The offset of its last record.
    pub last_offset: i64,
    /// How many records it holds.
    pub records: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Creates (durably, with its parents) the directory an export writes to,
/// and returns it with symlinks resolved.
///
/// # Errors
///
/// [`Error::InvalidPath`] when `dir` is one of `log_dirs`, is inside one,
/// or is or is inside anything that looks like a Kafka log dir or
/// partition dir: kreplay never writes into a log dir. Nothing is created
/// then.
pub fn create_export_dir(dir: &Path, log_dirs: &[PathBuf]) -> Result<PathBuf> {
    crate::offsets::create_outside_log_dirs(dir, "the export dir", log_dirs)
}

/// The file being written.
struct OpenFile {
    writer: Box<dyn FormatWriter>,
    temporary: PathBuf,
    first: i64,
    last: i64,
    records: u64,
}

impl OpenFile {
    /// After an error: the file holds what its writer wrote, and is named
    /// after that.
    fn keep_written(&mut self) {
        if let Some((records, last)) = self.writer.written() {
            self.records = records;
            self.last = last;
        }
    }
}

/// The files of one partition, written one after the other in `dir`.
pub struct PartitionFiles<'f> {
    dir: PathBuf,
    topic_partition: TopicPartition,
    format: &'f dyn FileFormat,
    limits: FileLimits,
    open: Option<OpenFile>,
}

impl std::fmt::Debug for PartitionFiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionFiles")
            .field("dir", &self.dir)
            .field("topic_partition", &self.topic_partition)
            .field("extension", &self.format.extension())
            .field("limits", &self.limits)
            .field("open", &self.open.as_ref().map(|o| (o.first, o.last)))
            .finish()
    }
}

/// Records appended between two checks of a file's size (the formats
/// estimate it by walking their buffers).
const SIZE_CHECK_EVERY: u64 = 256;

impl<'f> PartitionFiles<'f> {
    /// Files of `tp` in `dir` (made by [`create_export_dir`]). Temporary
    /// files of this partition that an earlier export left behind (it
    /// crashed, or was killed) are removed.
    ///
    /// # Errors
    ///
    /// When `dir` cannot be read, or a leftover cannot be removed.
    pub fn new(
        dir: &Path,
        tp: &TopicPartition,
        format: &'f dyn FileFormat,
        limits: FileLimits,
    ) -> Result<PartitionFiles<'f>> {
        let prefix = format!(".{}-{}-", tp.topic, tp.partition);
        for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(TEMPORARY_SUFFIX))
                .is_some_and(|rest| rest.bytes().take(20).all(|b| b.is_ascii_digit()));
            if ours {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                log::info!(
                    "removed {}, left by an export that did not finish",
                    path.display()
                );
            }
        }
        Ok(PartitionFiles {
            dir: dir.to_path_buf(),
            topic_partition: tp.clone(),
            format,
            limits,
            open: None,
        })
    }

    /// Appends one record of `batch`; when the file then reaches a limit it
    /// is closed (and returned).
    ///
    /// # Errors
    ///
    /// When a file cannot be created, written, synced or renamed (the error
    /// names it).
    pub fn append(
        &mut self,
        batch: &ConsumerBatch<'_>,
        record: &Record<'_>,
    ) -> Result<Option<ExportedFile>> {
        let offset = record.offset();
        let open = match &mut self.open {
            Some(open) => open,
            None => self.open.insert(self.start(offset)?),
        };
        if let Err(error) = open.writer.append(batch, record) {
            open.keep_written();
            return Err(file_error(&open.temporary, error));
        }
        open.last = offset;
        open.records += 1;
        let full = self
            .limits
            .max_records
            .is_some_and(|max| open.records >= max)
            || self.limits.max_bytes.is_some_and(|max| {
                open.records % SIZE_CHECK_EVERY == 0 && open.writer.size() >= max
            });
        if full {
            self.close()
        } else {
            Ok(None)
        }
    }

    /// Writes the records the open file buffers, so that an error they
    /// meet (a value that does not fit its columns) comes before
    /// [`close`](Self::close), which then finishes the file with the
    /// records before it.
    ///
    /// # Errors
    ///
    /// [`Error::ValueMismatch`], or an I/O error naming the file.
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.open {
            Some(open) => open.writer.flush().map_err(|e| {
                open.keep_written();
                file_error(&open.temporary, e)
            }),
            None => Ok(()),
        }
    }

    /// Whether a file is being written.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Closes the file being written, if any: written whole, synced,
    /// renamed to its final name, the directory synced.
    ///
    /// # Errors
    ///
    /// When the file cannot be finished, synced or renamed; the temporary
    /// file is then left (the next export of the partition removes it).
    pub fn close(&mut self) -> Result<Option<ExportedFile>> {
        // An error the buffered records meet leaves the file open, holding
        // the records before it, for the next close to finish.
        self.flush()?;
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        let temporary = &open.temporary;
        if open.records == 0 {
            // Nothing fit: no file.
            drop(open.writer);
            fs::remove_file(temporary).map_err(|e| Error::io(temporary, e))?;
            return Ok(None);
        }
        let file = open.writer.finish().map_err(|e| file_error(temporary, e))?;
        file.sync_all().map_err(|e| Error::io(temporary, e))?;
        let bytes = file.metadata().map_err(|e| Error::io(temporary, e))?.len();
        drop(file);
        let path = self.dir.join(format!(
            "{}-{}-{:020}-{:020}.{}",
            self.topic_partition.topic,
            self.topic_partition.partition,
            open.first,
            open.last,
            self.format.extension()
        ));
        fs::rename(temporary, &path).map_err(|e| Error::io(&path, e))?;
        sync_dir(&self.dir)?;
        Ok(Some(ExportedFile {
            path,
            topic_partition: self.topic_partition.clone(),
            first_offset: open.first,
            last_offset: open.last,
            records: open.records,
            bytes,
        }))
    }

    /// Starts a file whose first record is at `first`.
    fn start(&self, first: i64) -> Result<OpenFile> {
        let temporary = self.dir.join(format!(
            ".{}-{}-{first:020}.{}{TEMPORARY_SUFFIX}",
            self.topic_partition.topic,
            self.topic_partition.partition,
            self.format.extension()
        ));
        let file = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)
            .map_err(|e| Error::io(&temporary, e))?;
        let writer = self
            .format
            .create(file)
            .map_err(|e| Error::io(&temporary, e))?;
        Ok(OpenFile {
            writer,
            temporary,
            first,
            last: first,
            records: 0,
        })
    }
}

/// An error writing `path`: the engine's own error when a format carried
/// one (a value that does not fit), else an I/O error naming the file.
fn file_error(path: &Path, error: io::Error) -> Error {
    if !error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::io(path, error);
    }
    let kind = error.kind();
    match error.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(engine)) => *engine,
        Some(Err(other)) => Error::io(path, io::Error::new(kind, other)),
        None => Error::io(path, io::Error::from(kind)),
    }
}

/// Syncs a directory, so that a rename in it is durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}
