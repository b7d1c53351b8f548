//! The engine's one error type, and [`Corruption`], the description of what is
//! wrong with bytes read from disk (without where; [`Error::Corrupt`] adds the
//! file, the byte position and the offset).

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::codec::Compression;

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the engine can fail with. Each variant carries its context.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Bytes on disk that are not a valid Kafka log.
    #[error("{}: position {position}{}: {kind}", path.display(), OffsetSuffix(*offset))]
    Corrupt {
        /// The segment (or index) file.
        path: PathBuf,
        /// Byte position in that file where the bad batch or entry starts.
        position: u64,
        /// The base offset of the batch (or the offset of the message) when known.
        offset: Option<i64>,
        /// What is wrong.
        kind: Corruption,
    },
    /// A path that is not what the caller said it is (not a log dir, a
    /// partition dir or a segment file).
    #[error("{}: {reason}", path.display())]
    InvalidPath {
        /// The path.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A configuration value or argument the engine cannot use.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A consumer-group operation the group's state refuses: a commit for a
    /// partition this member does not own (Kafka's fencing), a join Kafka
    /// would refuse, a reset or delete while members are live.
    #[error("group {group:?}: {reason}")]
    Group {
        /// The group id.
        group: String,
        /// What was refused and why.
        reason: String,
    },
    /// A record's value does not fit the typed columns it is exported as.
    #[error("{topic_partition} offset {offset}: the value does not fit its columns: {reason}")]
    ValueMismatch {
        /// `<topic>-<partition>`.
        topic_partition: String,
        /// The record's offset.
        offset: i64,
        /// What does not fit.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error is about corrupt data (as opposed to I/O or usage).
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corrupt { .. })
    }
}

struct OffsetSuffix(Option<i64>);

impl fmt::Display for OffsetSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(offset) => write!(f, ", offset {offset}"),
            None => Ok(()),
        }
    }
}

/// What is wrong with a batch, a message or an index entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The stored checksum does not match the bytes.
    #[error("crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// The CRC stored in the batch or message.
        stored: u32,
        /// The CRC computed over the bytes.
        computed: u32,
    },
    /// A magic byte other than 0, 1 or 2.
    #[error("unsupported magic byte {0}")]
    UnsupportedMagic(i8),
    /// A length field no valid log can hold (negative, below the minimum
    /// overhead, or beyond what a segment can hold).
    #[error("impossible batch length {length} ({reason})")]
    ImpossibleLength {
        /// The declared length.
        length: i64,
        /// Why it is impossible.
        reason: &'static str,
    },
    /// A batch or record whose fields contradict each other or its length.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read ("batch header", "record", "header", ...).
        what: &'static str,
        /// What was expected and what was found.
        detail: String,
    },
    /// A compression codec id that Kafka does not define (or not for this magic).
    #[error("unknown compression codec id {0}")]
    UnknownCodec(u8),
    /// The compressed data could not be inflated.
    #[error("{codec} decompression failed: {reason}")]
    Decompress {
        /// The codec.
        codec: Compression,
        /// The decoder's message.
        reason: String,
    },
    /// A segment that ends in a partial batch although a later segment
    /// follows: a torn tail is end of data only at the end of a log.
    #[error("{tail}, but a later segment follows")]
    TornTailBeforeNextSegment {
        /// The tail.
        tail: crate::torn_tail::TornTail,
    },
    /// The inflated size (declared or actual) is past the configured cap.
    #[error("{codec} batch inflates past the cap of {cap} bytes")]
    InflatedTooLarge {
        /// The codec.
        codec: Compression,
        /// The cap (`max_inflated_bytes`).
        cap: usize,
    },
}

impl Corruption {
    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Corruption::Malformed {
            what,
            detail: detail.into(),
        }
    }
}
