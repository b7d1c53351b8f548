//! One `.log` segment file, mapped read-only, iterated batch by batch.
//!
//! Framing follows Kafka's `FileLogInputStream.nextBatch`: every batch starts
//! with `base_offset` (8 bytes) and a length (4 bytes) counting the bytes that
//! follow; the magic byte at position 16 says how to read the rest. How the
//! iteration ends is reported by [`Batches::end`]:
//!
//! - fewer than 17 bytes left, a declared length that runs past the end of
//!   the file (with a known magic byte and, for v2, no impossible field in
//!   what is there of the header), or a tail of zero bytes is a torn tail
//!   ([`SegmentEnd::TornTail`]): end of data, as after a crash mid-append or
//!   on a preallocated file;
//! - a length no valid log can hold (negative, below the minimum overhead,
//!   beyond 2 GiB), an unknown magic byte (in a partial batch too: random
//!   bytes or a text file are not a torn tail), a malformed header or a CRC mismatch
//!   is corruption: the iterator yields an [`Error::Corrupt`] naming the file,
//!   the byte position and the offset, then stops.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use crate::error::{Corruption, Error, Result};
use crate::mmap::{Mapping, ReadStrategy};
use crate::record::{
    read_log_overhead, read_magic, RecordBatch, HEADER_SIZE_UP_TO_MAGIC, LOG_OVERHEAD, MAGIC_V1,
    MAGIC_V2, RECORD_BATCH_OVERHEAD, RECORD_OVERHEAD_V0, RECORD_OVERHEAD_V1,
};
pub use crate::torn_tail::{TornTail, TornTailKind};

/// The largest batch a segment can hold: Kafka positions are `i32`.
const MAX_BATCH_LENGTH: i64 = i32::MAX as i64 - LOG_OVERHEAD as i64;

/// Parses the base offset from a segment file name (`<20 digits>.log`, also
/// accepting the index suffixes and a trailing `.swap`).
pub fn base_offset_from_file_name(path: &Path) -> Option<i64> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split('.').next()?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The name Kafka gives a segment file with this base offset and suffix
/// (`log`, `index`, `timeindex`, `txnindex`).
pub fn segment_file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

/// A `.log` segment: its path, base offset and bytes.
#[derive(Clone)]
pub struct Segment {
    path: PathBuf,
    base_offset: i64,
    bytes: Mapping,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("path", &self.path)
            .field("base_offset", &self.base_offset)
            .field("size", &self.bytes.len())
            .finish()
    }
}

impl Segment {
    /// Opens a segment file read-only. The base offset comes from the file
    /// name; a file not named like a segment gets the first batch's offset.
    pub fn open(path: &Path, strategy: ReadStrategy) -> Result<Segment> {
        let bytes = Mapping::open(path, strategy)?;
        let base_offset = base_offset_from_file_name(path)
            .or_else(|| read_log_overhead(&bytes).map(|(offset, _)| offset))
            .unwrap_or(0);
        Ok(Segment {
            path: path.to_path_buf(),
            base_offset,
            bytes,
        })
    }

    /// A segment over bytes already in memory (tests, benchmarks).
    pub fn from_mapping(path: impl Into<PathBuf>, base_offset: i64, bytes: Mapping) -> Segment {
        Segment {
            path: path.into(),
            base_offset,
            bytes,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The base offset (from the file name).
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The shared bytes of the file.
    pub fn mapping(&self) -> &Mapping {
        &self.bytes
    }

    /// Iterates batches from the start, checking CRCs.
    pub fn batches(&self) -> Batches<'_> {
        self.batches_from(0, true)
    }

    /// Iterates batches from byte `position` (which must be a batch start),
    /// checking CRCs when `check_crcs` is set.
    pub fn batches_from(&self, position: u64, check_crcs: bool) -> Batches<'_> {
        Batches {
            path: &self.path,
            bytes: &self.bytes,
            position: usize::try_from(position).unwrap_or(usize::MAX),
            check_crcs,
            end: None,
        }
    }

    /// An [`Error::Corrupt`] for this segment.
    pub fn corrupt(&self, position: u64, offset: Option<i64>, kind: Corruption) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            position,
            offset,
            kind,
        }
    }
}

/// A batch and the byte position in its file where it starts.
#[derive(Debug, Clone, Copy)]
pub struct FileBatch<'a> {
    /// Byte position of the batch in the segment file.
    pub position: u64,
    /// The batch.
    pub batch: RecordBatch<'a>,
}

impl<'a> Deref for FileBatch<'a> {
    type Target = RecordBatch<'a>;

    fn deref(&self) -> &RecordBatch<'a> {
        &self.batch
    }
}

/// How a batch iteration ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentEnd {
    /// Every byte was part of a complete batch.
    Clean,
    /// The file ends with bytes that are not a complete batch: end of data.
    TornTail(TornTail),
    /// The iteration stopped at corruption (the error was yielded).
    Corrupt {
        /// Position of the bad batch.
        position: u64,
    },
}

/// Iterator over the batches of a segment (see the module docs for how it ends).
#[derive(Debug)]
pub struct Batches<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    position: usize,
    check_crcs: bool,
    end: Option<SegmentEnd>,
}

impl<'a> Batches<'a> {
    /// How the iteration ended; `None` while it has not.
    pub fn end(&self) -> Option<&SegmentEnd> {
        self.end.as_ref()
    }

    /// The byte position of the next batch.
    pub fn position(&self) -> u64 {
        self.position as u64
    }

    fn corrupt(&mut self, offset: Option<i64>, kind: Corruption) -> Error {
        self.end = Some(SegmentEnd::Corrupt {
            position: self.position as u64,
        });
        Error::Corrupt {
            path: self.path.to_path_buf(),
            position: self.position as u64,
            offset,
            kind,
        }
    }

    fn torn(&mut self, kind: TornTailKind) {
        let valid_bytes = self.position as u64;
        let trailing_bytes = (self.bytes.len() as u64).saturating_sub(valid_bytes);
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let kind = if rest.iter().all(|&b| b == 0) {
            TornTailKind::ZeroPadding
        } else {
            kind
        };
        self.end = Some(SegmentEnd::TornTail(TornTail {
            valid_bytes,
            trailing_bytes,
            kind,
        }));
    }

    fn next_batch(&mut self) -> Option<Result<FileBatch<'a>>> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        if rest.is_empty() {
            self.end = Some(SegmentEnd::Clean);
            return None;
        }
        if rest.len() < HEADER_SIZE_UP_TO_MAGIC {
            self.torn(TornTailKind::PartialHeader);
            return None;
        }
        let Some((base_offset, length)) = read_log_overhead(rest) else {
            self.torn(TornTailKind::PartialHeader);
            return None;
        };
        if (length as usize) < RECORD_OVERHEAD_V0 || length < 0 {
            if rest.iter().all(|&b| b == 0) {
                self.torn(TornTailKind::ZeroPadding);
                return None;
            }
            let reason = if length < 0 {
                "negative"
            } else {
                "smaller than the minimum message overhead of 14 bytes"
            };
            return Some(Err(self.corrupt(
                Some(base_offset),
                Corruption::ImpossibleLength {
                    length: i64::from(length),
                    reason,
                },
            )));
        }
        if i64::from(length) > MAX_BATCH_LENGTH {
            return Some(Err(self.corrupt(
                Some(base_offset),
                Corruption::ImpossibleLength {
                    length: i64::from(length),
                    reason: "larger than a segment can hold",
                },
            )));
        }
        let size = length as usize + LOG_OVERHEAD;
        let Some(bytes) = rest.get(..size) else {
            // A torn tail only when what can be read of the partial batch is
            // consistent: random bytes or a text file are not a log.
            if let Err(kind) = check_partial_header(rest, length) {
                return Some(Err(self.corrupt(Some(base_offset), kind)));
            }
            self.torn(TornTailKind::PartialBatch {
                declared_length: length,
            });
            return None;
        };
        let magic = read_magic(bytes).unwrap_or(-1);
        if !(0..=MAGIC_V2).contains(&magic) {
            return Some(Err(
                self.corrupt(Some(base_offset), Corruption::UnsupportedMagic(magic))
            ));
        }
        let batch = match RecordBatch::parse(bytes) {
            Ok(batch) => batch,
            Err(kind) => return Some(Err(self.corrupt(Some(base_offset), kind))),
        };
        if self.check_crcs {
            if let Err(kind) = batch.ensure_valid() {
                return Some(Err(self.corrupt(Some(base_offset), kind)));
            }
        }
        let position = self.position as u64;
        self.position += size;
        Some(Ok(FileBatch { position, batch }))
    }
}

/// Checks the header fields a partial batch (`rest`, shorter than its
/// declared `length`) lets one read: its magic byte, and for a v2 batch
/// whose 61-byte header is all there, the fields no writer can produce. An
/// impossible field is corruption, not a torn tail.
fn check_partial_header(rest: &[u8], length: i32) -> std::result::Result<(), Corruption> {
    let magic = read_magic(rest).unwrap_or(-1);
    if !(0..=MAGIC_V2).contains(&magic) {
        return Err(Corruption::UnsupportedMagic(magic));
    }
    let minimum = match magic {
        MAGIC_V2 => RECORD_BATCH_OVERHEAD,
        MAGIC_V1 => LOG_OVERHEAD + RECORD_OVERHEAD_V1,
        _ => LOG_OVERHEAD + RECORD_OVERHEAD_V0,
    };
    if (length as usize) + LOG_OVERHEAD < minimum {
        return Err(Corruption::ImpossibleLength {
            length: i64::from(length),
            reason: "smaller than the header its magic byte needs",
        });
    }
    if magic != MAGIC_V2 {
        return Ok(());
    }
    let field = |at: usize| -> Option<i32> {
        let bytes = rest.get(at..at + 4)?;
        Some(i32::from_be_bytes(bytes.try_into().ok()?))
    };
    let attributes = rest
        .get(21..23)
        .and_then(|b| Some(u16::from_be_bytes(b.try_into().ok()?)));
    if let Some(attributes) = attributes {
        let codec = attributes & 0x07;
        if codec > 4 {
            return Err(Corruption::UnknownCodec(codec as u8));
        }
    }
    if let Some(last_offset_delta) = field(23) {
        if last_offset_delta < 0 {
            return Err(Corruption::malformed(
                "batch header",
                format!("negative last offset delta {last_offset_delta}"),
            ));
        }
    }
    if let Some(records_count) = field(57) {
        if records_count < 0 {
            return Err(Corruption::malformed(
                "batch header",
                format!("negative records count {records_count}"),
            ));
        }
    }
    Ok(())
}

impl<'a> Iterator for Batches<'a> {
    type Item = Result<FileBatch<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.end.is_some() {
            return None;
        }
        self.next_batch()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            base_offset_from_file_name(Path::new("/x/00000000000000001000.log")),
            Some(1000)
        );
        assert_eq!(
            base_offset_from_file_name(Path::new("00000000000000000000.log.swap")),
            Some(0)
        );
        assert_eq!(base_offset_from_file_name(Path::new("1000.log")), None);
        assert_eq!(segment_file_name(42, "index"), "00000000000000000042.index");
    }

    fn segment(bytes: Vec<u8>) -> Segment {
        Segment::from_mapping("test.log", 0, Mapping::from_vec(bytes))
    }

    #[test]
    fn empty_is_clean() {
        let s = segment(Vec::new());
        let mut b = s.batches();
        assert!(b.next().is_none());
        assert_eq!(b.end(), Some(&SegmentEnd::Clean));
    }

    #[test]
    fn zeros_are_padding() {
        let s = segment(vec![0; 4096]);
        let mut b = s.batches();
        assert!(b.next().is_none());
        match b.end() {
            Some(SegmentEnd::TornTail(t)) => {
                assert_eq!(t.kind, TornTailKind::ZeroPadding);
                assert_eq!(t.valid_bytes, 0);
                assert_eq!(t.trailing_bytes, 4096);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_tail_is_torn() {
        let s = segment(vec![1; 9]);
        let mut b = s.batches();
        assert!(b.next().is_none());
        assert!(matches!(
            b.end(),
            Some(SegmentEnd::TornTail(TornTail {
                kind: TornTailKind::PartialHeader,
                ..
            }))
        ));
    }

    #[test]
    fn negative_length_is_corrupt() {
        let mut bytes = vec![0u8; 40];
        bytes[7] = 5;
        bytes[8..12].copy_from_slice(&(-1i32).to_be_bytes());
        let s = segment(bytes);
        let mut b = s.batches();
        let err = b.next().unwrap().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("test.log"), "{text}");
        assert!(text.contains("position 0"), "{text}");
        assert!(text.contains("offset 5"), "{text}");
        assert!(b.next().is_none());
    }

    #[test]
    fn absurd_length_is_corrupt() {
        let mut bytes = vec![1u8; 100];
        bytes[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        let s = segment(bytes);
        let err = s.batches().next().unwrap().unwrap_err();
        assert!(err.to_string().contains("larger than a segment can hold"));
    }

    /// A partial batch whose readable header is impossible is corruption;
    /// one whose header is consistent is a torn tail.
    #[test]
    fn partial_batch_with_an_impossible_header_is_corrupt() {
        // A v2 header declaring 1000 bytes, then the file ends at 100.
        let mut header = vec![0u8; 100];
        header[8..12].copy_from_slice(&1000i32.to_be_bytes());
        header[16] = 2;
        header[60] = 3; // records count 3
        let torn = segment(header.clone());
        let mut b = torn.batches();
        assert!(b.next().is_none());
        assert!(matches!(b.end(), Some(SegmentEnd::TornTail(_))));
        for (at, value, what) in [
            (16, 7u8, "magic"),
            (22, 6, "codec"),
            (23, 0xff, "last offset delta"),
            (57, 0x80, "records count"),
        ] {
            let mut bytes = header.clone();
            bytes[at] = value;
            let s = segment(bytes);
            let err = s.batches().next().unwrap().unwrap_err();
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
    }
}
