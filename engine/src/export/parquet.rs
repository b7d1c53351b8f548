//! Parquet files of records, in the Arrow schema of [`crate::arrow`].
//!
//! Row groups are cut at 1 Mi rows or 128 MiB (what scan engines read
//! well); statistics are kept for every column but keys, values and
//! headers (binary payloads: large, and of no use for pruning), so that
//! engines prune on `offset` and `timestamp`; the file records that its
//! rows are sorted by `offset`.

use std::fs::File;
use std::io;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, GzipLevel, ZstdLevel};
use ::parquet::file::metadata::SortingColumn;
use ::parquet::file::properties::{EnabledStatistics, WriterProperties};
use ::parquet::schema::types::ColumnPath;

use arrow_array::RecordBatch as ArrowBatch;

use std::sync::Arc;

use super::batched::{BatchWriter, Batched};
use super::values::ValueColumns;
use super::{FileFormat, FormatWriter};
use crate::arrow::{schema, BinaryLayout};

/// zstd's level, as parquet-mr (Spark's writer) defaults to.
const ZSTD_LEVEL: i32 = 3;
/// Row groups: at most this many rows ...
const ROW_GROUP_ROWS: usize = 1 << 20;
/// ... and about this many bytes.
const ROW_GROUP_BYTES: usize = 128 << 20;

/// A Parquet file's page compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCompression {
    /// Uncompressed pages.
    None,
    /// Snappy.
    Snappy,
    /// Gzip at its default level (6).
    Gzip,
    /// LZ4 (Parquet's `LZ4_RAW`).
    Lz4,
    /// Zstandard at this level (1 to 22; `zstd` alone: 3, the default).
    Zstd(i32),
}

impl std::str::FromStr for ParquetCompression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "none" | "uncompressed" => ParquetCompression::None,
            "snappy" => ParquetCompression::Snappy,
            "gzip" => ParquetCompression::Gzip,
            "lz4" => ParquetCompression::Lz4,
            "zstd" => ParquetCompression::Zstd(ZSTD_LEVEL),
            other => match other.strip_prefix("zstd:").map(str::parse::<i32>) {
                Some(Ok(level)) if (1..=22).contains(&level) => ParquetCompression::Zstd(level),
                _ => {
                    return Err(format!(
                        "unknown parquet compression '{other}' (none, snappy, gzip, lz4, zstd, \
                         zstd:LEVEL with LEVEL 1 to 22)"
                    ))
                }
            },
        })
    }
}

impl ParquetCompression {
    fn codec(self) -> Compression {
        match self {
            ParquetCompression::None => Compression::UNCOMPRESSED,
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Gzip => Compression::GZIP(GzipLevel::default()),
            ParquetCompression::Lz4 => Compression::LZ4_RAW,
            ParquetCompression::Zstd(level) => {
                Compression::ZSTD(ZstdLevel::try_new(level).unwrap_or_default())
            }
        }
    }
}

/// Parquet files (see the module docs).
#[derive(Debug, Clone)]
pub struct Parquet {
    properties: WriterProperties,
    values: Option<Arc<ValueColumns>>,
}

impl Parquet {
    /// Parquet with `compression` on every page.
    pub fn new(compression: ParquetCompression) -> Self {
        let mut properties = WriterProperties::builder()
            .set_compression(compression.codec())
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: 2,
                descending: false,
                nulls_first: false,
            }]))
            .set_statistics_enabled(EnabledStatistics::Page);
        for payload in [
            vec!["key".to_string()],
            vec!["value".to_string()],
            vec!["headers".into(), "list".into(), "item".into(), "key".into()],
            vec![
                "headers".into(),
                "list".into(),
                "item".into(),
                "value".into(),
            ],
        ] {
            properties = properties
                .set_column_statistics_enabled(
                    ColumnPath::new(payload.clone()),
                    EnabledStatistics::None,
                )
                .set_column_dictionary_enabled(ColumnPath::new(payload), false);
        }
        // Offsets are unique and timestamps nearly so: a dictionary of them
        // is hashed row by row only to be given up (3.8 % of writing
        // uncompressed Parquet, perf); their statistics stay.
        for unique in ["offset", "timestamp"] {
            properties = properties
                .set_column_dictionary_enabled(ColumnPath::new(vec![unique.to_string()]), false);
        }
        Parquet {
            properties: properties.build(),
            values: None,
        }
    }

    /// Values as typed columns (`export --value-format`).
    pub fn with_values(mut self, values: ValueColumns) -> Self {
        self.values = Some(Arc::new(values));
        self
    }
}

impl Default for Parquet {
    /// zstd.
    fn default() -> Self {
        Parquet::new(ParquetCompression::Zstd(ZSTD_LEVEL))
    }
}

impl FileFormat for Parquet {
    fn extension(&self) -> &str {
        "parquet"
    }

    fn create(&self, file: File) -> io::Result<Box<dyn FormatWriter>> {
        let file_schema = self.values.as_ref().map_or_else(schema, |v| v.schema());
        let writer = ArrowWriter::try_new(file, file_schema, Some(self.properties.clone()))
            .map_err(io::Error::other)?;
        // The file's schema says `binary`; the rows reach the writer as
        // views over the records' bytes, which it encodes as it encodes
        // `binary`, one copy fewer. Typed values are built from `binary`.
        let layout = match self.values {
            Some(_) => BinaryLayout::Binary,
            None => BinaryLayout::View,
        };
        Ok(Box::new(
            Batched::new(writer, layout).with_values(self.values.clone()),
        ))
    }
}

impl BatchWriter for ArrowWriter<File> {
    fn write_batch(&mut self, batch: &ArrowBatch) -> io::Result<()> {
        self.write(batch).map_err(io::Error::other)
    }

    fn size(&self) -> u64 {
        (self.bytes_written() + self.in_progress_size()) as u64
    }

    fn into_file(self) -> io::Result<File> {
        self.into_inner().map_err(io::Error::other)
    }
}
