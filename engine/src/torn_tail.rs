//! [`TornTail`]: the incomplete end of a segment (a crash mid-append, zero
//! padding). A leaf: `error` and `segment` both name it, and it imports
//! nothing from the crate.

#![deny(clippy::unwrap_used, clippy::indexing_slicing)]

use std::fmt;

/// The incomplete end of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Bytes of complete batches before the tail (where a recovery would truncate).
    pub valid_bytes: u64,
    /// Bytes after them.
    pub trailing_bytes: u64,
    /// What the tail looks like.
    pub kind: TornTailKind,
}

/// What a torn tail looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TornTailKind {
    /// Fewer bytes than a batch header.
    PartialHeader,
    /// A header whose declared length runs past the end of the file.
    PartialBatch {
        /// The length the header declares.
        declared_length: i32,
    },
    /// Only zero bytes (preallocated or padded after a crash).
    ZeroPadding,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TornTailKind::PartialHeader => "a partial batch header".to_string(),
            TornTailKind::PartialBatch { declared_length } => {
                format!("a partial batch (declared length {declared_length})")
            }
            TornTailKind::ZeroPadding => "zero padding".to_string(),
        };
        write!(
            f,
            "torn tail at position {}: {} trailing bytes, {what}",
            self.valid_bytes, self.trailing_bytes
        )
    }
}
