//! Read-only file mappings: the one place that calls `mmap`.
//!
//! A [`Mapping`] is a cheaply clonable, shared owner of a file's bytes
//! (`Arc` inside), so batches can cross to other threads while the mapping
//! lives. A zero-length file is never mapped (mapping zero bytes fails on
//! Linux); it reads as an empty slice. [`ReadStrategy::Read`] reads the file
//! into memory instead, the plain path that exists beside the mapped one and
//! runs the same tests.
//!
//! A mapped file that another process truncates (a broker truncating its log
//! after a leader change, a careless `truncate -s`) would raise SIGBUS when a
//! reader touches a page past the new end, and kill the process. On Linux a
//! SIGBUS handler catches those faults for the mappings made here (and only
//! those: their ranges are registered in a fixed table the handler can read
//! without locks): it maps a page of zeros over the faulting page and lets
//! the read go on. The reader then sees zeros where the data was — a torn
//! tail, or a corrupt batch — and reports it like any other; the mapping is
//! dropped with its segment. [`shrunk_mapping_faults`] counts these events.

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
    Mapped(Guarded),
    Owned(Vec<u8>),
}

/// A map whose range is registered with the SIGBUS guard while it lives.
struct Guarded {
    map: memmap2::Mmap,
    slot: Option<usize>,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            guard::unregister(slot);
        }
    }
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
    /// A path under a mounted store ([`crate::storage`]) is fetched into
    /// owned bytes whatever the strategy.
    pub fn open(path: &Path, strategy: ReadStrategy) -> Result<Mapping> {
        if crate::storage::is_mounted(path) {
            return open_mounted(path);
        }
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
                // mapped, raises SIGBUS on access, which the guard below turns
                // into pages of zeros (see the module docs).
                let map = unsafe { memmap2::MmapOptions::new().map(&*file) }
                    .map_err(|e| Error::io(path, e))?;
                let slot = guard::register(map.as_ptr() as usize, map.len());
                Backing::Mapped(Guarded { map, slot })
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
            Backing::Mapped(guarded) => &guarded.map,
            Backing::Owned(bytes) => bytes,
        }
    }

    /// Advises the kernel that the range will be read soon (`MADV_WILLNEED`).
    /// A no-op for owned bytes; failures are ignored (advice only).
    pub fn will_need(&self, position: usize, len: usize) {
        if let Backing::Mapped(Guarded { map, .. }) = &*self.backing {
            let end = position.saturating_add(len).min(map.len());
            if position < end {
                let _ = map.advise_range(memmap2::Advice::WillNeed, position, end - position);
            }
        }
    }
}

/// Files of a mounted store fetched last, kept while the newest ones fit
/// in [`MOUNTED_CACHE_BYTES`] (the newest always stays), at most
/// [`MOUNTED_CACHE_FILES`]: the engine opens a partition's first and last
/// segments and their indexes several times (log start and end, seeks,
/// then the reads), which from a map costs nothing and over the network a
/// fetch each.
static MOUNTED_CACHE: std::sync::Mutex<Vec<(std::path::PathBuf, Mapping)>> =
    std::sync::Mutex::new(Vec::new());
const MOUNTED_CACHE_FILES: usize = 64;
const MOUNTED_CACHE_BYTES: usize = 128 << 20;

/// [`Mapping::open`] of a path under a mounted store: from the cache, or
/// fetched (and cached).
fn open_mounted(path: &Path) -> Result<Mapping> {
    let lock = || MOUNTED_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut cache = lock();
        if let Some(at) = cache.iter().position(|(p, _)| p == path) {
            let entry = cache.remove(at);
            let mapping = entry.1.clone();
            cache.push(entry);
            return Ok(mapping);
        }
    }
    let bytes = crate::storage::read_mounted(path)?.unwrap_or_default();
    let mapping = if bytes.is_empty() {
        Mapping::empty()
    } else {
        Mapping::from_vec(bytes)
    };
    let mut cache = lock();
    cache.push((path.to_path_buf(), mapping.clone()));
    while cache.len() > MOUNTED_CACHE_FILES
        || (cache.len() > 1
            && cache.iter().map(|(_, m)| m.len()).sum::<usize>() > MOUNTED_CACHE_BYTES)
    {
        cache.remove(0);
    }
    Ok(mapping)
}

/// Tells the store serving `path` that it will be opened soon, unless it is
/// in the cache already (a no-op for local paths).
pub(crate) fn will_open(path: &Path) {
    if !crate::storage::is_mounted(path) {
        return;
    }
    let cached = MOUNTED_CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|(p, _)| p == path);
    if !cached {
        crate::storage::will_read(path);
    }
}

impl Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Mapping {
    /// Whether `self` and `other` share the same bytes (clones of one
    /// mapping).
    pub fn same_bytes(&self, other: &Mapping) -> bool {
        Arc::ptr_eq(&self.backing, &other.backing)
    }

    /// The owned bytes back, when this is the last handle to bytes made by
    /// [`Mapping::from_vec`] (for reusing a buffer); the mapping otherwise.
    pub(crate) fn try_into_vec(self) -> std::result::Result<Vec<u8>, Mapping> {
        let Mapping { backing, file } = self;
        match Arc::try_unwrap(backing) {
            Ok(Backing::Owned(bytes)) => Ok(bytes),
            Ok(other) => Err(Mapping {
                backing: Arc::new(other),
                file,
            }),
            Err(backing) => Err(Mapping { backing, file }),
        }
    }
}

/// A range of a [`Mapping`]'s bytes that keeps the mapping alive: the
/// bytes a batch's records borrow from, handed on by callers that keep
/// views of them past a poll (zero-copy Arrow columns). Cheap to clone.
#[derive(Clone, Debug)]
pub struct SharedBytes {
    mapping: Mapping,
    start: usize,
    end: usize,
}

impl SharedBytes {
    /// The bytes of `mapping` in `start..end`, clamped to its length.
    pub fn new(mapping: Mapping, start: usize, end: usize) -> SharedBytes {
        let end = end.min(mapping.len());
        let start = start.min(end);
        SharedBytes {
            mapping,
            start,
            end,
        }
    }

    /// All of `mapping`'s bytes.
    pub fn whole(mapping: Mapping) -> SharedBytes {
        let end = mapping.len();
        SharedBytes::new(mapping, 0, end)
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.mapping
            .as_slice()
            .get(self.start..self.end)
            .unwrap_or_default()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Where `bytes` starts within these bytes, when it lies wholly inside
    /// them (an address comparison: `bytes` borrowed from the same memory).
    #[inline]
    pub fn position_of(&self, bytes: &[u8]) -> Option<usize> {
        let base = self.as_slice().as_ptr() as usize;
        let start = (bytes.as_ptr() as usize).checked_sub(base)?;
        (start + bytes.len() <= self.len()).then_some(start)
    }

    /// Grows these bytes to the end of `next` when both are of the same
    /// mapping and `next` starts at most `max_gap` bytes after this range
    /// ends (and not before it starts); whether it did.
    pub fn try_extend(&mut self, next: &SharedBytes, max_gap: usize) -> bool {
        let joins = self.mapping.same_bytes(&next.mapping)
            && next.start >= self.start
            && next.start <= self.end.saturating_add(max_gap);
        if joins {
            self.end = self.end.max(next.end);
        }
        joins
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// How many times a read of a mapped file found its page gone (the file had
/// shrunk) and was given zeros instead of a SIGBUS (Linux; always 0 elsewhere).
pub fn shrunk_mapping_faults() -> u64 {
    guard::faults()
}

/// The SIGBUS guard (see the module docs).
#[cfg(target_os = "linux")]
mod guard {
    use std::mem::MaybeUninit;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Once;

    /// Mapped ranges the handler may repair: (start, len), start 0 = free.
    const SLOTS: usize = 8192;
    static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    static LENS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
    static FAULTS: AtomicU64 = AtomicU64::new(0);
    static INSTALL: Once = Once::new();
    /// The handler in place before ours, called for faults that are not ours.
    static mut PREVIOUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();

    pub(super) fn faults() -> u64 {
        FAULTS.load(Ordering::Relaxed)
    }

    /// Registers a mapped range; `None` when the table is full (the range is
    /// then unguarded: a fault there kills the process, as without a guard).
    pub(super) fn register(start: usize, len: usize) -> Option<usize> {
        INSTALL.call_once(install);
        for (slot, cell) in STARTS.iter().enumerate() {
            if cell.load(Ordering::Relaxed) == 0 {
                LENS[slot].store(len, Ordering::Release);
                if cell
                    .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return Some(slot);
                }
            }
        }
        log::debug!("SIGBUS guard table full: a mapping is unguarded");
        None
    }

    pub(super) fn unregister(slot: usize) {
        if let Some(cell) = STARTS.get(slot) {
            cell.store(0, Ordering::Release);
        }
    }

    fn ours(address: usize) -> bool {
        STARTS.iter().zip(LENS.iter()).any(|(start, len)| {
            let start = start.load(Ordering::Acquire);
            start != 0 && address >= start && address - start < len.load(Ordering::Acquire)
        })
    }

    fn install() {
        // SAFETY: a zeroed sigaction is a valid value to fill in; PREVIOUS
        // is written here, once, before our handler is installed, and only
        // read by the handler afterwards.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = &raw mut PREVIOUS;
            if libc::sigaction(libc::SIGBUS, &action, (*previous).as_mut_ptr()) != 0 {
                log::warn!(
                    "cannot install the SIGBUS guard: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }

    /// Maps zeros over a faulting page of one of our mappings; anything else
    /// goes to the previous handler (or the default action).
    extern "C" fn handler(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo_t for an SA_SIGINFO
        // handler; mmap with MAP_FIXED over one page of our own read-only
        // mapping replaces it with zeros (async-signal-safe: a system call);
        // PREVIOUS was written before this handler was installed.
        unsafe {
            let address = (*info).si_addr() as usize;
            if (*info).si_code == libc::BUS_ADRERR && ours(address) {
                let page = usize::try_from(libc::sysconf(libc::_SC_PAGESIZE)).unwrap_or(4096);
                let base = address & !(page - 1);
                let mapped = libc::mmap(
                    base as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                );
                if mapped != libc::MAP_FAILED {
                    FAULTS.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            let previous: &libc::sigaction = &*(&raw const PREVIOUS).cast::<libc::sigaction>();
            let handler = previous.sa_sigaction;
            if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
                // Back to the default action: the faulting access runs again
                // and the process gets the SIGBUS it would have got.
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
                let chained: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(handler);
                chained(signal, info, context);
            } else {
                let chained: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                chained(signal);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod guard {
    pub(super) fn faults() -> u64 {
        0
    }

    pub(super) fn register(_start: usize, _len: usize) -> Option<usize> {
        None
    }

    pub(super) fn unregister(_slot: usize) {}
}

/// Asks the CPU to bring the cache line holding `bytes[at]` closer, when
/// `at` is inside `bytes`; nothing otherwise (so nothing is prefetched past
/// the end of a batch's records). The record decoder calls it 2 KiB ahead
/// of the record it decodes: without it the record loop stalled on loads of
/// the records' bytes (see README, Performance, issue 10, fifth pass).
#[inline(always)]
pub(crate) fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(at) {
        // SAFETY: a prefetch is a hint that never faults nor changes memory,
        // and the address is inside a live borrowed slice anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (byte as *const u8).cast::<i8>(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}
