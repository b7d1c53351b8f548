//! Read-only file mappings: the one place that calls `mmap`.
//!
//! A [`Mapping`] is a cheaply clonable, shared owner of a file's bytes
//! (`Arc` inside), so batches can cross to other threads while the mapping
//! lives. A zero-length file is never mapped (mapping zero bytes fails on
//! Linux); it reads as an empty slice. [`ReadStrategy::Read`] reads the file
//! into memory instead, the plain path that exists beside the mapped one and
//! runs the same tests.

use std::fmt;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// How file bytes are brought into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadStrategy {
    /// Memory-map the file read-only (the default).
    #[default]
    Mmap,
    /// Read the whole file into an owned buffer with `read()`.
    Read,
}

enum Backing {
    Empty,
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

/// The bytes of one file, shared and immutable.
#[derive(Clone)]
pub struct Mapping {
    backing: Arc<Backing>,
    /// The open file (read-only), kept for prefetching through its
    /// descriptor; `None` for bytes that come from no file.
    file: Option<Arc<File>>,
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match *self.backing {
            Backing::Empty => "empty",
            Backing::Mapped(_) => "mmap",
            Backing::Owned(_) => "owned",
        };
        f.debug_struct("Mapping")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

impl Mapping {
    /// Opens `path` read-only and brings its bytes in with `strategy`.
    pub fn open(path: &Path, strategy: ReadStrategy) -> Result<Mapping> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Ok(Mapping::empty());
        }
        let file = Arc::new(file);
        let backing = match strategy {
            ReadStrategy::Mmap => {
                // SAFETY: the map is read-only (PROT_READ, MAP_SHARED). Kafka log
                // files are append-only and never rewritten in place; the
                // remaining hazard, a file truncated by another process while
                // mapped, raises SIGBUS on access, which a reader of a live log
                // dir accepts as documented in ARCHITECTURE.md.
                let map = unsafe { memmap2::MmapOptions::new().map(&*file) }
                    .map_err(|e| Error::io(path, e))?;
                Backing::Mapped(map)
            }
            ReadStrategy::Read => {
                let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
                Backing::Owned(bytes)
            }
        };
        Ok(Mapping {
            backing: Arc::new(backing),
            file: Some(file),
        })
    }

    /// A mapping of no bytes.
    pub fn empty() -> Mapping {
        Mapping {
            backing: Arc::new(Backing::Empty),
            file: None,
        }
    }

    /// Owned bytes behind the same interface (tests, inflated data).
    pub fn from_vec(bytes: Vec<u8>) -> Mapping {
        Mapping {
            backing: Arc::new(Backing::Owned(bytes)),
            file: None,
        }
    }

    /// The file the bytes came from, open read-only (for prefetching).
    pub fn file(&self) -> Option<&Arc<File>> {
        self.file.as_ref()
    }

    /// Whether the bytes are a memory map of the file (not read or empty).
    pub fn is_mapped(&self) -> bool {
        matches!(*self.backing, Backing::Mapped(_))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &*self.backing {
            Backing::Empty => &[],
            Backing::Mapped(map) => map,
            Backing::Owned(bytes) => bytes,
        }
    }

    /// Advises the kernel that the range will be read soon (`MADV_WILLNEED`).
    /// A no-op for owned bytes; failures are ignored (advice only).
    pub fn will_need(&self, position: usize, len: usize) {
        if let Backing::Mapped(map) = &*self.backing {
            let end = position.saturating_add(len).min(map.len());
            if position < end {
                let _ = map.advise_range(memmap2::Advice::WillNeed, position, end - position);
            }
        }
    }
}

impl Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}
