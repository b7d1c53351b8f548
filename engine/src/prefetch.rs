//! Prefetch: bringing the byte ranges a reader is about to touch into the
//! page cache before it touches them.
//!
//! The fetcher walks segments ahead of the caller. Records are borrowed views
//! into mapped segments, so a page that is not in memory stalls the reader on
//! a page fault and a disk read. A [`Prefetcher`] starts those reads early,
//! from the fetcher's thread, with one of these strategies ([`IoMode`]):
//!
//! | mode | how | blocks the calling thread | bounded by `max_in_flight_bytes` |
//! |---|---|---|---|
//! | [`IoMode::Uring`] | io_uring requests over the range in 512 KiB chunks: `MADV_POPULATE_READ` on the mapping (Linux 5.14+), else `IORING_OP_READ` into scratch buffers | never | yes: what exceeds the budget is queued and submitted as earlier requests complete |
//! | [`IoMode::Madvise`] | `madvise(MADV_WILLNEED)` on the mapped range, in 128 KiB pieces | while the kernel starts the reads, not until they finish | no (the kernel reports no completion) |
//! | [`IoMode::Pread`] | `pread` of the range, 1 MiB at a time, into a reused scratch buffer (data discarded) | until the range is read | – |
//! | [`IoMode::Off`] | nothing: pages come in on the reader's faults and the kernel's readahead | – | – |
//!
//! [`IoMode::Auto`] resolves at start-up to `Uring` when io_uring works here
//! and to `Pread` otherwise, and requests nothing for pages already in
//! memory (`mincore`): on io_uring, a window (a file read on from one
//! position) is left alone while every range of it is found resident, and
//! requested throughout from the first range that is not; on its `Pread`
//! fallback, each resident range is left alone.
//!
//! # What measures best
//!
//! `benches/benches/prefetch.rs` replays a 256 MiB file with its pages
//! evicted: prefetch ahead, touch every page through the mapping, beside a
//! `dd bs=1M`-style `read()` of the same file, interleaved. On the machine
//! the figures were taken on (Linux 6.18, ext4 on a virtual disk with
//! `read_ahead_kb` 8192), `Uring` and `Off` run at the disk's speed, like
//! `read()`, and `Uring` maps the pages into the reader's page tables on
//! other threads, so the reader takes no fault; `Pread` is within a few per
//! cent; `Madvise` is the slowest, behind `Off`: `MADV_WILLNEED` (like
//! `posix_fadvise` and `IORING_OP_FADVISE`, the same advice) reads into
//! single-page folios where the kernel's own readahead uses large ones, which
//! costs four to ten times the CPU and makes smaller I/Os. With a small
//! `read_ahead_kb` (128, a common default), every mapped-read mode fell to
//! about 0.6× `read()` and only `Pread` kept up, which is why `Pread`, not
//! `Madvise`, is the fallback.
//!
//! # Which io_uring request
//!
//! `IORING_OP_MADVISE` with `MADV_POPULATE_READ` runs in the ring's kernel
//! worker threads: it faults the chunk in through the kernel's normal mmap
//! readahead and maps the pages, copying nothing. `IORING_OP_READ` into
//! scratch buffers (the data is discarded) works from Linux 5.6 but copies
//! every byte into the buffers on the submitting thread: about 2.5 times the
//! CPU of `MADV_POPULATE_READ` and a little slower in the figures above.
//!
//! # Probe and fallback
//!
//! [`Prefetcher::new`] probes io_uring when `Uring` or `Auto` is requested:
//! it creates the prefetcher's own ring (which fails with `ENOSYS` on kernels
//! without io_uring, and with `EPERM` under a seccomp filter such as
//! Docker's default one, with `kernel.io_uring_disabled` set, or in other
//! sandboxes), asks the kernel which opcodes it supports
//! (`IORING_REGISTER_PROBE`), and submits one `MADV_POPULATE_READ` over a
//! page of its own memory to see whether the kernel knows the advice (5.14+).
//! It uses that request when it works, else `IORING_OP_READ`, else falls back
//! to `Pread`. The choice is logged at info level (`log` crate) with its
//! reason, once per process for each (requested, chosen) pair;
//! [`Prefetcher::mode`] says what is used and [`Prefetcher::fallback_reason`]
//! why it differs from what was requested.
//!
//! # Forcing a mode
//!
//! - `Uring`, `Madvise`, `Pread`, `Off`: request it ([`IoMode`] parses from
//!   `uring`, `madvise`, `pread`, `off` and `auto`). `Madvise`, `Pread` and
//!   `Off` always work; `Uring` works when the probe succeeds.
//! - io_uring unavailable: set `KREPLAY_DISABLE_IO_URING=1`
//!   ([`DISABLE_IO_URING_ENV`]); the probe then fails as if the kernel had
//!   refused, and `Uring` and `Auto` fall back to `Pread`. The kernel's own
//!   switch, `sysctl kernel.io_uring_disabled=2` (root, system-wide), gives
//!   the same result through a real `EPERM`.
//! - `IORING_OP_READ` even where `MADV_POPULATE_READ` works: set
//!   `KREPLAY_IO_URING_READ=1` ([`IO_URING_READ_ENV`]).
//!
//! # Sequential prefetch
//!
//! A fetcher typically asks for "the next N bytes from here" after each fetch,
//! so consecutive requests overlap. The prefetcher remembers how far it has
//! already prefetched in the last file it was asked about and only requests
//! what is new: asking again for a range it already covers costs nothing.
//!
//! # Memory safety
//!
//! The io_uring mode is the only `unsafe` here: a request carries a raw
//! pointer, into the mapping (`MADV_POPULATE_READ`, which only reads) or into
//! one of the prefetcher's scratch buffers (`IORING_OP_READ`, which the
//! kernel writes). A request owns what it points into from the moment it is
//! pushed until its completion is reaped: its slot holds a clone of the
//! [`Mapping`] and of the file (so neither is unmapped nor closed under it),
//! and a scratch buffer comes from a free list and goes back to it only when
//! the kernel has posted the completion. [`Drop`] waits for every request in
//! flight before anything is freed (and leaks rather than frees if it cannot
//! wait). Miri cannot run io_uring (it does not emulate the syscalls), so the
//! tests exercise these paths natively: reads through the ring compared with
//! the file's bytes, residency checked with `mincore`, drops with requests in
//! flight.
//!
//! Nothing here writes to a file or opens one.

use std::fmt;
use std::fs::File;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::mmap::Mapping;

/// Set this environment variable (to anything but `0` or the empty string)
/// to make the io_uring probe fail, as on a kernel that refuses io_uring:
/// `Uring` and `Auto` then fall back to `Pread`.
pub const DISABLE_IO_URING_ENV: &str = "KREPLAY_DISABLE_IO_URING";

/// Set this environment variable (to anything but `0` or the empty string)
/// to make `Uring` prefetch with `IORING_OP_READ` into scratch buffers even
/// where `MADV_POPULATE_READ` works (for comparisons).
pub const IO_URING_READ_ENV: &str = "KREPLAY_IO_URING_READ";

/// Page size assumed by `pread` for aligning reads (a larger real page size
/// only means a few redundant bytes per request).
const PAGE: u64 = 4096;

/// Size of one io_uring request, and so of one scratch buffer.
const URING_CHUNK: u64 = 512 * 1024;

/// Most requests in flight on one ring.
const URING_MAX_SLOTS: u64 = 256;

/// Most ranges waiting for room in the in-flight budget; a request beyond
/// this is dropped (prefetch is advice).
const URING_MAX_QUEUED: usize = 64;

/// Files whose prefetched window a prefetcher remembers (one per partition
/// a fetcher takes turns between; more partitions than this start their
/// window over, which costs one redundant request per fetch).
const AHEAD_FILES: usize = 64;

/// Size of one `MADV_WILLNEED` call. The kernel reads ahead at most
/// `max(read_ahead_kb, max_sectors_kb)` per call and silently ignores the
/// rest of a larger range, so a large range is advised in pieces no larger
/// than the smallest common setting (128 KiB).
const ADVICE_CHUNK: u64 = 128 * 1024;

/// Size of one `pread` in `Pread` mode (like `dd bs=1M`).
const PREAD_CHUNK: u64 = 1024 * 1024;

/// How the prefetcher brings pages in. See the module docs of `prefetch` (ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IoMode {
    /// `Uring` when io_uring works here, `Pread` otherwise (resolved by
    /// [`Prefetcher::new`]).
    #[default]
    Auto,
    /// io_uring requests (`MADV_POPULATE_READ`, or `IORING_OP_READ` into
    /// scratch buffers), never blocking.
    Uring,
    /// `madvise(MADV_WILLNEED)` on the mapped range.
    Madvise,
    /// Synchronous `pread` into a scratch buffer: the portable baseline.
    Pread,
    /// No prefetch.
    Off,
}

impl IoMode {
    /// Every mode, `Auto` first.
    pub const ALL: [IoMode; 5] = [
        IoMode::Auto,
        IoMode::Uring,
        IoMode::Madvise,
        IoMode::Pread,
        IoMode::Off,
    ];

    /// The mode's name, as parsed and displayed.
    pub fn name(self) -> &'static str {
        match self {
            IoMode::Auto => "auto",
            IoMode::Uring => "uring",
            IoMode::Madvise => "madvise",
            IoMode::Pread => "pread",
            IoMode::Off => "off",
        }
    }

    fn index(self) -> u32 {
        match self {
            IoMode::Auto => 0,
            IoMode::Uring => 1,
            IoMode::Madvise => 2,
            IoMode::Pread => 3,
            IoMode::Off => 4,
        }
    }
}

impl fmt::Display for IoMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for IoMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IoMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown io mode '{s}' (expected auto, uring, madvise, pread or off)")
            })
    }
}

/// Brings upcoming byte ranges of mapped files into the page cache.
///
/// One per fetcher thread (it is `Send`, not shared). In `Uring` mode it owns
/// its ring and scratch buffers; dropping it waits for the requests in
/// flight.
///
/// ```
/// use kreplay::{IoMode, Mapping, Prefetcher, ReadStrategy};
///
/// # fn main() -> kreplay::Result<()> {
/// let path = std::path::Path::new(
///     "../fixtures/conformance/corpus/v2-uncompressed/orders-0/00000000000000000000.log",
/// );
/// let mapping = Mapping::open(path, ReadStrategy::Mmap)?;
/// let mut prefetcher = Prefetcher::new(IoMode::Auto, 8 << 20);
/// assert_ne!(prefetcher.mode(), IoMode::Auto);
/// prefetcher.prefetch(&mapping, 0, 1 << 20);
/// while prefetcher.in_flight_bytes() > 0 {
///     prefetcher.reap();
///     std::thread::yield_now();
/// }
/// # Ok(())
/// # }
/// ```
pub struct Prefetcher {
    mode: IoMode,
    backend: Backend,
    fallback_reason: Option<String>,
    /// How far each recently asked-about file is already prefetched, oldest
    /// first (at most [`AHEAD_FILES`]).
    ahead: Vec<Ahead>,
    /// What `Auto` leaves alone because it is in memory already.
    skip_resident: SkipResident,
}

/// Which resident pages `Auto` does not request (`mincore`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SkipResident {
    /// Every range is requested (an explicit mode).
    Never,
    /// Auto fallen back to `Pread`: a range whose pages are all in memory is
    /// not read (reading resident pages only burns CPU; measured in the
    /// consumer replay).
    Range,
    /// Auto on io_uring: while every range of a window (a file read from
    /// one position on) has been found in memory, its ranges are not
    /// requested; from the first range that is not, the rest of the window
    /// is requested throughout, as in `Uring`. Populating resident pages
    /// only builds page tables, on a kernel worker that competes with the
    /// reader and the fetcher for the cores (warm replay: 5–10 % slower
    /// than no prefetch). A cold window stays cold: skipping each range
    /// found resident there skipped the ranges the kernel's readahead had
    /// just brought in, whose page tables the fetcher then built on its own
    /// thread (cold replay fell from 1.04–1.10 to 0.98–0.99 of `dd`); and
    /// checking a whole file at once stalls the fetcher (`mincore` costs
    /// about 35 ns a page: 10 ms for 1.2 GB). See README, "Performance".
    Window,
}

impl Ahead {
    /// A window starting at `position`, with nothing prefetched yet.
    fn new(file: &Arc<File>, position: u64) -> Ahead {
        Ahead {
            file: Arc::clone(file),
            start: position,
            end: position,
            resident: true,
        }
    }
}

struct Ahead {
    file: Arc<File>,
    start: u64,
    end: u64,
    /// [`SkipResident::Window`]: every range of this window so far was in
    /// memory.
    resident: bool,
}

enum Backend {
    #[cfg(target_os = "linux")]
    Uring(Box<uring::Uring>),
    Madvise,
    Pread {
        scratch: Vec<u8>,
    },
    Off,
}

/// What the io_uring probe is allowed to use.
#[derive(Debug, Default)]
struct ProbeOptions {
    /// Fail the probe with this reason.
    disabled: Option<String>,
    /// Use `IORING_OP_READ` even where `MADV_POPULATE_READ` works.
    read_only: bool,
}

impl fmt::Debug for Prefetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Prefetcher");
        d.field("mode", &self.mode);
        #[cfg(target_os = "linux")]
        if let Backend::Uring(ring) = &self.backend {
            d.field("request", &ring.op().name());
        }
        d.field("in_flight_bytes", &self.in_flight_bytes())
            .field("fallback_reason", &self.fallback_reason)
            .finish()
    }
}

/// Whether every page of `mapping[start..end]` is in memory (`mincore`).
/// Bytes that are not a file mapping, and any failure, count as resident
/// (nothing to prefetch).
fn is_resident(mapping: &Mapping, start: u64, end: u64) -> bool {
    #[cfg(target_os = "linux")]
    {
        if !mapping.is_mapped() {
            return true;
        }
        let page = 4096usize;
        let bytes = mapping.as_slice();
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return true;
        };
        let end = end.min(bytes.len());
        if start >= end {
            return true;
        }
        // mincore wants a page-aligned address; the mapping itself is.
        let aligned = start - start % page;
        let Some(range) = bytes.get(aligned..end) else {
            return true;
        };
        let mut vec = vec![0u8; range.len().div_ceil(page)];
        // SAFETY: `range` lies inside a live read-only mapping (borrowed for
        // the call) and starts on a page boundary; `vec` holds one byte per
        // page of it, as mincore(2) writes.
        let rc = unsafe {
            libc::mincore(
                range.as_ptr() as *mut libc::c_void,
                range.len(),
                vec.as_mut_ptr(),
            )
        };
        rc != 0 || vec.iter().all(|v| v & 1 == 1)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (mapping, start, end);
        false
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

impl Prefetcher {
    /// A prefetcher using `requested`, or its fallback when that is not
    /// available (see the `prefetch` module docs). `max_in_flight_bytes` bounds
    /// the requests in flight in `Uring` mode (at least one page is allowed).
    pub fn new(requested: IoMode, max_in_flight_bytes: u64) -> Prefetcher {
        let options = ProbeOptions {
            disabled: env_flag(DISABLE_IO_URING_ENV)
                .then(|| format!("{DISABLE_IO_URING_ENV} is set")),
            read_only: env_flag(IO_URING_READ_ENV),
        };
        Prefetcher::with_probe(requested, max_in_flight_bytes, options)
    }

    fn with_probe(requested: IoMode, max_in_flight_bytes: u64, probe: ProbeOptions) -> Prefetcher {
        let (backend, fallback_reason) = match requested {
            IoMode::Auto | IoMode::Uring => match probe_uring(max_in_flight_bytes, probe) {
                Ok(backend) => (backend, None),
                Err(reason) => (
                    Backend::Pread {
                        scratch: Vec::new(),
                    },
                    Some(reason),
                ),
            },
            IoMode::Madvise => (Backend::Madvise, None),
            IoMode::Pread => (
                Backend::Pread {
                    scratch: Vec::new(),
                },
                None,
            ),
            IoMode::Off => (Backend::Off, None),
        };
        let (mode, how) = match &backend {
            #[cfg(target_os = "linux")]
            Backend::Uring(ring) => (IoMode::Uring, ring.op().name()),
            Backend::Madvise => (IoMode::Madvise, "MADV_WILLNEED"),
            Backend::Pread { .. } => (IoMode::Pread, "pread"),
            Backend::Off => (IoMode::Off, "no prefetch"),
        };
        log_choice(requested, mode, how, fallback_reason.as_deref());
        Prefetcher {
            mode,
            backend,
            fallback_reason,
            ahead: Vec::new(),
            skip_resident: match (requested, mode) {
                (IoMode::Auto, IoMode::Pread) => SkipResident::Range,
                (IoMode::Auto, IoMode::Uring) => SkipResident::Window,
                _ => SkipResident::Never,
            },
        }
    }

    /// The mode actually used (never `Auto`).
    pub fn mode(&self) -> IoMode {
        self.mode
    }

    /// Why the requested mode could not be used (io_uring unavailable), when
    /// the prefetcher fell back to another one.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// Starts bringing `len` bytes of `mapping`'s file from byte `position`
    /// into the page cache. The range is clipped to the mapping; an empty
    /// range, bytes that come from no file, and bytes already prefetched by
    /// an earlier call (see the `prefetch` module docs) cost nothing. Never
    /// blocks for long, except in `Pread` mode, which reads the range before
    /// returning. Failures are ignored: prefetch is advice.
    pub fn prefetch(&mut self, mapping: &Mapping, position: u64, len: u64) {
        let Some(file) = mapping.file() else {
            return;
        };
        let end = position.saturating_add(len).min(mapping.len() as u64);
        let Some(start) = self.not_yet_prefetched(mapping, file, position, end) else {
            return;
        };
        match &mut self.backend {
            #[cfg(target_os = "linux")]
            Backend::Uring(ring) => ring.prefetch(file, mapping, start, end),
            Backend::Madvise => madvise(mapping, start, end),
            Backend::Pread { scratch } => pread(file, scratch, start, end),
            Backend::Off => {}
        }
    }

    /// Collects completed requests without blocking, and submits ranges that
    /// were waiting for room in the in-flight budget. Call it regularly.
    pub fn reap(&mut self) {
        #[cfg(target_os = "linux")]
        if let Backend::Uring(ring) = &mut self.backend {
            ring.pump();
        }
    }

    /// Bytes requested from the kernel and not yet completed (`Uring` mode;
    /// always 0 in the other modes). Ranges waiting for room are submitted by
    /// [`reap`](Self::reap) as soon as requests complete, so after `reap`
    /// this is 0 only when every requested range has been brought in.
    pub fn in_flight_bytes(&self) -> u64 {
        match &self.backend {
            #[cfg(target_os = "linux")]
            Backend::Uring(ring) => ring.in_flight_bytes(),
            _ => 0,
        }
    }

    /// The part of `position..end` not covered by earlier calls and not
    /// left alone as resident ([`SkipResident`]): its new start, or `None`
    /// when there is nothing left to do. Records the range.
    ///
    /// Each file keeps its own prefetched window (the last
    /// [`AHEAD_FILES`] files asked about), so a fetcher that takes turns
    /// between partitions does not request the same pages again at every
    /// turn.
    fn not_yet_prefetched(
        &mut self,
        mapping: &Mapping,
        file: &Arc<File>,
        position: u64,
        end: u64,
    ) -> Option<u64> {
        if position >= end {
            return None;
        }
        let skip = self.skip_resident;
        let found = self
            .ahead
            .iter()
            .position(|ahead| Arc::ptr_eq(&ahead.file, file));
        let ahead = match found.and_then(|i| self.ahead.get_mut(i)) {
            Some(ahead) if ahead.start <= position && position <= ahead.end => ahead,
            Some(ahead) => {
                // A jump (a seek): the window starts over here.
                *ahead = Ahead::new(file, position);
                ahead
            }
            None => {
                if self.ahead.len() >= AHEAD_FILES {
                    self.ahead.remove(0);
                }
                self.ahead.push(Ahead::new(file, position));
                self.ahead.last_mut()?
            }
        };
        let start = ahead.end.max(position);
        ahead.end = ahead.end.max(end);
        if start >= end {
            return None;
        }
        let leave = match skip {
            SkipResident::Never => false,
            SkipResident::Range => is_resident(mapping, start, end),
            SkipResident::Window => {
                ahead.resident = ahead.resident && is_resident(mapping, start, end);
                ahead.resident
            }
        };
        (!leave).then_some(start)
    }
}

/// Logs the mode chosen for a request, once per process for each pair.
fn log_choice(requested: IoMode, chosen: IoMode, how: &str, fallback_reason: Option<&str>) {
    static LOGGED: AtomicU32 = AtomicU32::new(0);
    let bit = 1u32 << (requested.index() * 5 + chosen.index());
    if LOGGED.fetch_or(bit, Ordering::Relaxed) & bit != 0 {
        return;
    }
    match fallback_reason {
        Some(reason) => log::info!(
            "prefetch: io mode {chosen} ({how}; requested {requested}, io_uring unavailable: {reason})"
        ),
        None if requested == IoMode::Auto => {
            log::info!("prefetch: io mode {chosen} ({how}; auto: io_uring is available)")
        }
        None => log::info!("prefetch: io mode {chosen} ({how}; requested)"),
    }
}

#[cfg(target_os = "linux")]
fn probe_uring(max_in_flight_bytes: u64, options: ProbeOptions) -> Result<Backend, String> {
    if let Some(reason) = options.disabled {
        return Err(reason);
    }
    uring::Uring::new(max_in_flight_bytes, options.read_only)
        .map(|ring| Backend::Uring(Box::new(ring)))
}

#[cfg(not(target_os = "linux"))]
fn probe_uring(_max_in_flight_bytes: u64, options: ProbeOptions) -> Result<Backend, String> {
    let _ = options.read_only;
    Err(options
        .disabled
        .unwrap_or_else(|| "io_uring is Linux-only".to_string()))
}

/// `MADV_WILLNEED` over `start..end` of the mapping, in pieces the kernel
/// reads in full (see [`ADVICE_CHUNK`]).
fn madvise(mapping: &Mapping, start: u64, end: u64) {
    let mut position = start & !(PAGE - 1);
    while position < end {
        let len = ADVICE_CHUNK.min(end - position);
        if let (Ok(p), Ok(n)) = (usize::try_from(position), usize::try_from(len)) {
            mapping.will_need(p, n);
        }
        position += len;
    }
}

/// Reads `start..end` of `file` into `scratch`, discarding the bytes.
fn pread(file: &File, scratch: &mut Vec<u8>, start: u64, end: u64) {
    if scratch.is_empty() {
        scratch.resize(PREAD_CHUNK as usize, 0);
    }
    let mut position = start & !(PAGE - 1);
    while position < end {
        let want = PREAD_CHUNK.min(end - position) as usize;
        let Some(buf) = scratch.get_mut(..want) else {
            return;
        };
        match read_at(file, buf, position) {
            Ok(0) => return,
            Ok(n) => position += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::debug!("prefetch: pread at position {position} failed: {e}");
                return;
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], position: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, position)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], position: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, position)
}

#[cfg(target_os = "linux")]
mod uring {
    //! The io_uring backend: one ring, a slot per request that can be in
    //! flight (with a scratch buffer when requests are reads), and a queue of
    //! ranges waiting for a free slot.

    use std::collections::VecDeque;
    use std::fs::File;
    use std::io;
    use std::os::unix::io::AsRawFd;
    use std::sync::Arc;

    use io_uring::{opcode, types, IoUring};

    use super::{URING_CHUNK, URING_MAX_QUEUED, URING_MAX_SLOTS};
    use crate::mmap::Mapping;

    /// The request a ring prefetches with.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Op {
        /// `IORING_OP_MADVISE` with `MADV_POPULATE_READ` on the mapping.
        PopulateRead,
        /// `IORING_OP_READ` into a scratch buffer.
        Read,
    }

    impl Op {
        pub(super) fn name(self) -> &'static str {
            match self {
                Op::PopulateRead => "io_uring MADV_POPULATE_READ",
                Op::Read => "io_uring IORING_OP_READ",
            }
        }
    }

    pub(super) struct Uring {
        ring: IoUring,
        op: Op,
        /// One per request that can be in flight; the index is the request's
        /// `user_data`.
        slots: Vec<Slot>,
        /// Slots with no request in flight.
        free: Vec<usize>,
        /// Bytes per request (a power of two times the page size).
        slot_len: u64,
        page: u64,
        queue: VecDeque<Range>,
        in_flight_bytes: u64,
    }

    struct Slot {
        /// `Op::Read` only (empty otherwise). Written by the kernel while
        /// `in_flight` is `Some`; never touched by this code then.
        buffer: Box<[u8]>,
        in_flight: Option<InFlight>,
    }

    /// What a request points into, kept alive until it completes.
    struct InFlight {
        _file: Arc<File>,
        _mapping: Mapping,
        len: u64,
    }

    struct Range {
        file: Arc<File>,
        mapping: Mapping,
        position: u64,
        end: u64,
    }

    impl Uring {
        /// Creates the ring and probes what it can use (`MADV_POPULATE_READ`
        /// unless `read_only`, else `IORING_OP_READ`); the error says why
        /// io_uring cannot be used.
        pub(super) fn new(max_in_flight_bytes: u64, read_only: bool) -> Result<Uring, String> {
            let page = page_size();
            let budget = max_in_flight_bytes.max(page).next_multiple_of(page);
            let slot_len = URING_CHUNK.max(page).min(budget);
            let count = (budget / slot_len).clamp(1, URING_MAX_SLOTS);
            // count ≤ 256, so this neither truncates nor overflows.
            let entries = (count as u32).next_power_of_two();
            let mut ring = IoUring::new(entries).map_err(|e| describe("io_uring_setup", &e))?;
            let mut probe = io_uring::Probe::new();
            ring.submitter()
                .register_probe(&mut probe)
                .map_err(|e| describe("IORING_REGISTER_PROBE", &e))?;
            let op = if !read_only
                && probe.is_supported(opcode::Madvise::CODE)
                && populate_read_works(&mut ring, page)?
            {
                Op::PopulateRead
            } else if probe.is_supported(opcode::Read::CODE) {
                Op::Read
            } else {
                return Err("the kernel supports neither MADV_POPULATE_READ nor \
                            IORING_OP_READ through io_uring"
                    .to_string());
            };
            let buffer_len = if op == Op::Read { slot_len as usize } else { 0 };
            let slots = (0..count)
                .map(|_| Slot {
                    buffer: vec![0; buffer_len].into_boxed_slice(),
                    in_flight: None,
                })
                .collect::<Vec<_>>();
            let free = (0..slots.len()).rev().collect();
            Ok(Uring {
                ring,
                op,
                slots,
                free,
                slot_len,
                page,
                queue: VecDeque::new(),
                in_flight_bytes: 0,
            })
        }

        pub(super) fn op(&self) -> Op {
            self.op
        }

        pub(super) fn in_flight_bytes(&self) -> u64 {
            self.in_flight_bytes
        }

        /// Queues `start..end` of the file and submits what the budget
        /// allows.
        pub(super) fn prefetch(
            &mut self,
            file: &Arc<File>,
            mapping: &Mapping,
            start: u64,
            end: u64,
        ) {
            let start = start & !(self.page - 1);
            let queued = self.queue.len();
            match self.queue.back_mut() {
                Some(last) if Arc::ptr_eq(&last.file, file) && last.end == start => {
                    last.end = end;
                }
                _ if queued >= URING_MAX_QUEUED => {
                    log::debug!("prefetch: queue full, dropping {start}..{end}");
                }
                _ => self.queue.push_back(Range {
                    file: Arc::clone(file),
                    mapping: mapping.clone(),
                    position: start,
                    end,
                }),
            }
            self.pump();
        }

        /// Reaps completions, then submits queued ranges into free slots.
        pub(super) fn pump(&mut self) {
            self.reap();
            let mut pushed = false;
            while let (Some(&index), Some(range)) = (self.free.last(), self.queue.front_mut()) {
                // Requests end on multiples of the request size, so they stay
                // page-aligned whatever the range's start.
                let boundary = (range.position / self.slot_len + 1) * self.slot_len;
                let len = boundary.min(range.end) - range.position;
                let position = range.position;
                let file = Arc::clone(&range.file);
                let mapping = range.mapping.clone();
                range.position += len;
                if range.position >= range.end {
                    self.queue.pop_front();
                }
                let Some(slot) = self.slots.get_mut(index) else {
                    break;
                };
                let entry = match self.op {
                    Op::PopulateRead => {
                        // Only whole pages of a real mapping: owned bytes
                        // (`ReadStrategy::Read`) are in memory already.
                        let Some(addr) = usize::try_from(position)
                            .ok()
                            .and_then(|p| mapping.as_slice().get(p..))
                            .map(<[u8]>::as_ptr)
                            .filter(|a| (*a as u64) % self.page == 0)
                        else {
                            continue;
                        };
                        opcode::Madvise::new(
                            addr.cast(),
                            // len ≤ slot_len ≤ URING_CHUNK: no truncation.
                            len as libc::off_t,
                            libc::MADV_POPULATE_READ,
                        )
                        .build()
                    }
                    Op::Read => opcode::Read::new(
                        types::Fd(file.as_raw_fd()),
                        slot.buffer.as_mut_ptr(),
                        // len ≤ slot_len ≤ URING_CHUNK, which fits in u32.
                        len as u32,
                    )
                    .offset(position)
                    .build(),
                }
                .user_data(index as u64);
                // SAFETY: the request reads `len` bytes of the mapping from
                // `position` (`PopulateRead`: inside the mapping, since ranges
                // end at its length) or writes at most `len` bytes into this
                // slot's buffer (`Read`: len ≤ slot_len, the buffer's length).
                // Both stay valid until the kernel is done with them: the slot
                // (taken from the free list, so no other request uses its
                // buffer) holds clones of the mapping and of the file from
                // here until its completion is reaped (`complete`), nothing
                // touches its buffer meanwhile, and `Drop` waits for every
                // completion before slots are freed (or leaks them).
                if unsafe { self.ring.submission().push(&entry) }.is_err() {
                    // The submission queue is full, which cannot happen (it
                    // has a place per slot): drop the chunk, it is advice.
                    log::debug!("prefetch: io_uring submission queue full");
                    break;
                }
                self.free.pop();
                slot.in_flight = Some(InFlight {
                    _file: file,
                    _mapping: mapping,
                    len,
                });
                self.in_flight_bytes += len;
                pushed = true;
            }
            if pushed {
                self.submit();
            }
        }

        /// Hands pushed entries to the kernel without waiting. Entries the
        /// kernel does not take now stay queued and go with the next call.
        fn submit(&mut self) {
            match self.ring.submit() {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::ResourceBusy
                    ) => {}
                Err(e) => log::debug!("prefetch: io_uring submit failed: {e}"),
            }
        }

        /// Collects every posted completion without blocking.
        fn reap(&mut self) {
            loop {
                let Some(cqe) = self.ring.completion().next() else {
                    break;
                };
                self.complete(cqe.user_data(), cqe.result());
            }
        }

        /// Frees a completed request's slot; returns its index.
        fn complete(&mut self, user_data: u64, result: i32) -> Option<usize> {
            let index = usize::try_from(user_data).ok()?;
            let in_flight = self.slots.get_mut(index)?.in_flight.take()?;
            self.in_flight_bytes -= in_flight.len;
            self.free.push(index);
            if result < 0 {
                log::debug!(
                    "prefetch: {} failed: {}",
                    self.op.name(),
                    io::Error::from_raw_os_error(-result)
                );
            }
            Some(index)
        }

        /// Blocks until every request in flight has completed. False when
        /// the ring cannot be waited on (its slots must then be leaked).
        fn wait_all(&mut self) -> bool {
            while self.in_flight_bytes > 0 {
                match self.ring.submit_and_wait(1) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::warn!("prefetch: cannot wait for io_uring requests in flight: {e}");
                        return false;
                    }
                }
                self.reap();
            }
            true
        }

        /// Reads `position..position + len` of `file` through the ring into
        /// a new buffer, with as many requests at once as the range needs
        /// (`Op::Read` rings only): the test of how requests and buffers are
        /// wired.
        #[cfg(test)]
        pub(super) fn read_through_ring(
            &mut self,
            file: &Arc<File>,
            position: u64,
            len: u64,
        ) -> io::Result<Vec<u8>> {
            assert_eq!(self.op, Op::Read);
            assert!(self.wait_all(), "ring idle");
            let mut out = vec![0u8; len as usize];
            let mut next = position;
            let end = position + len;
            let mut pending = Vec::new(); // (slot, position)
            while next < end || !pending.is_empty() {
                while next < end {
                    let Some(index) = self.free.pop() else { break };
                    let n = self.slot_len.min(end - next);
                    let slot = &mut self.slots[index];
                    slot.buffer.fill(0xAA);
                    let entry = opcode::Read::new(
                        types::Fd(file.as_raw_fd()),
                        slot.buffer.as_mut_ptr(),
                        n as u32,
                    )
                    .offset(next)
                    .build()
                    .user_data(index as u64);
                    // SAFETY: as in `pump`: a free slot's buffer of at least
                    // `n` bytes, marked in flight right after, untouched until
                    // its completion is reaped below.
                    unsafe { self.ring.submission().push(&entry) }.expect("room in the queue");
                    slot.in_flight = Some(InFlight {
                        _file: Arc::clone(file),
                        _mapping: Mapping::empty(),
                        len: n,
                    });
                    self.in_flight_bytes += n;
                    pending.push((index, next));
                    next += n;
                }
                self.ring.submit_and_wait(1)?;
                loop {
                    let Some(cqe) = self.ring.completion().next() else {
                        break;
                    };
                    let result = cqe.result();
                    let index = self.complete(cqe.user_data(), result).expect("in flight");
                    let at = pending
                        .iter()
                        .position(|&(s, _)| s == index)
                        .expect("pending");
                    let (_, from) = pending.swap_remove(at);
                    if result < 0 {
                        return Err(io::Error::from_raw_os_error(-result));
                    }
                    let n = result as usize;
                    let dst = (from - position) as usize;
                    out[dst..dst + n].copy_from_slice(&self.slots[index].buffer[..n]);
                }
            }
            Ok(out)
        }

        #[cfg(test)]
        pub(super) fn slot_count(&self) -> usize {
            self.slots.len()
        }
    }

    impl Drop for Uring {
        fn drop(&mut self) {
            self.queue.clear();
            if !self.wait_all() {
                // The kernel may still use what the slots point into.
                std::mem::forget(std::mem::take(&mut self.slots));
            }
        }
    }

    /// Whether the kernel knows `MADV_POPULATE_READ` (Linux 5.14+) through
    /// io_uring: one request over a page of our own memory.
    fn populate_read_works(ring: &mut IoUring, page: u64) -> Result<bool, String> {
        let page = page as usize;
        let memory = vec![0u8; 2 * page];
        let start = memory.as_ptr().align_offset(page);
        let Some(aligned) = memory.get(start..start + page) else {
            return Ok(false);
        };
        let entry = opcode::Madvise::new(
            aligned.as_ptr().cast(),
            page as libc::off_t,
            libc::MADV_POPULATE_READ,
        )
        .build()
        .user_data(u64::MAX);
        // SAFETY: the advice only reads the page, which lies inside `memory`;
        // `memory` lives until the request's completion has been seen below,
        // and is leaked if waiting for it fails.
        if unsafe { ring.submission().push(&entry) }.is_err() {
            return Ok(false);
        }
        loop {
            match ring.submit_and_wait(1) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    std::mem::forget(memory);
                    return Err(describe("io_uring_enter", &e));
                }
            }
        }
        let result = ring.completion().next().map(|cqe| cqe.result());
        drop(memory);
        Ok(result == Some(0))
    }

    fn page_size() -> u64 {
        // SAFETY: sysconf takes no pointers and has no preconditions.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        u64::try_from(size)
            .ok()
            .filter(|s| s.is_power_of_two())
            .unwrap_or(4096)
    }

    /// Why a ring call failed, in words a log reader can act on.
    fn describe(call: &str, e: &io::Error) -> String {
        let hint = match e.kind() {
            io::ErrorKind::Unsupported => " (the kernel has no io_uring)",
            io::ErrorKind::PermissionDenied => {
                " (forbidden: seccomp filter, container policy or kernel.io_uring_disabled)"
            }
            io::ErrorKind::OutOfMemory => " (RLIMIT_MEMLOCK too low for the ring?)",
            _ => "",
        };
        format!("{call} failed: {e}{hint}")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::mmap::ReadStrategy;

    /// A temp file of `len` pseudo-random bytes, synced (so that it can be
    /// evicted), and its bytes.
    fn temp_file(len: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("00000000000000000000.log");
        let mut rng = fastrand::Rng::with_seed(5);
        let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let mut file = File::create(&path).expect("create");
        file.write_all(&bytes).expect("write");
        file.sync_all().expect("sync");
        (dir, path, bytes)
    }

    fn map(path: &std::path::Path) -> Mapping {
        Mapping::open(path, ReadStrategy::Mmap).expect("map")
    }

    /// Touches every page of the mapping: all resident afterwards.
    fn touch(mapping: &Mapping) {
        let sum: u64 = mapping.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        std::hint::black_box(sum);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_leaves_resident_pages_alone() {
        let (_dir, path, _) = temp_file(4 << 20);
        {
            let mapping = map(&path);
            touch(&mapping);
            assert!(is_resident(&mapping, 0, 4 << 20));
            // Fallen back to pread, auto leaves each resident range alone (a
            // read of it would be a copy for nothing)...
            let fallback = Prefetcher::with_probe(
                IoMode::Auto,
                8 << 20,
                ProbeOptions {
                    disabled: Some("test".into()),
                    read_only: false,
                },
            );
            assert_eq!(fallback.mode(), IoMode::Pread);
            assert_eq!(fallback.skip_resident, SkipResident::Range);
            // ... which the modes asked for explicitly do not.
            for mode in [IoMode::Pread, IoMode::Uring, IoMode::Madvise, IoMode::Off] {
                assert_eq!(
                    Prefetcher::new(mode, 8 << 20).skip_resident,
                    SkipResident::Never
                );
            }
            // On io_uring, auto leaves resident windows alone.
            let mut auto = Prefetcher::new(IoMode::Auto, 8 << 20);
            if auto.mode() == IoMode::Uring {
                assert_eq!(auto.skip_resident, SkipResident::Window);
                auto.prefetch(&mapping, 0, 4 << 20);
                assert_eq!(auto.in_flight_bytes(), 0, "nothing requested");
            }
        }
        // Evicted pages (no mapping holds them now) are not resident.
        evict(&path);
        let cold = map(&path);
        assert!(!is_resident(&cold, 0, 4 << 20));
        // Owned bytes count as resident (nothing to prefetch).
        let owned = Mapping::open(&path, ReadStrategy::Read).expect("read");
        assert!(is_resident(&owned, 0, 4 << 20));
    }

    /// A prefetcher that requests nothing, deciding as `skip` does.
    fn deciding(skip: SkipResident) -> Prefetcher {
        Prefetcher {
            mode: IoMode::Off,
            backend: Backend::Off,
            fallback_reason: None,
            ahead: Vec::new(),
            skip_resident: skip,
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_window_found_cold_stays_cold_and_a_seek_looks_again() {
        const MIB: u64 = 1 << 20;
        let (_dir, path, _) = temp_file(4 << 20);
        evict(&path);
        let mapping = map(&path);
        let file = Arc::clone(mapping.file().expect("a file mapping"));
        let mut window = deciding(SkipResident::Window);
        let mut range = deciding(SkipResident::Range);
        assert_eq!(window.not_yet_prefetched(&mapping, &file, 0, MIB), Some(0));
        assert_eq!(range.not_yet_prefetched(&mapping, &file, 0, MIB), Some(0));
        // The rest comes into memory (as the kernel's readahead brings it):
        // the cold window still requests it, a per-range check does not.
        touch(&mapping);
        assert!(is_resident(&mapping, MIB, 2 * MIB));
        assert_eq!(
            window.not_yet_prefetched(&mapping, &file, MIB / 2, 2 * MIB),
            Some(MIB)
        );
        assert_eq!(
            range.not_yet_prefetched(&mapping, &file, MIB / 2, 2 * MIB),
            None
        );
        // What was decided is not asked again.
        assert_eq!(
            window.not_yet_prefetched(&mapping, &file, MIB, 2 * MIB),
            None
        );
        // A seek starts a new window, which finds everything resident.
        assert_eq!(
            window.not_yet_prefetched(&mapping, &file, 3 * MIB, 4 * MIB),
            None
        );
        // Where it meets pages that are not, it turns cold for good.
        evict(&path);
        let cold = map(&path);
        let cold_file = Arc::clone(cold.file().expect("a file mapping"));
        if !is_resident(&cold, 0, MIB) {
            assert_eq!(
                window.not_yet_prefetched(&cold, &cold_file, 0, MIB),
                Some(0)
            );
            touch(&cold);
            assert_eq!(
                window.not_yet_prefetched(&cold, &cold_file, MIB, 2 * MIB),
                Some(MIB)
            );
        }
    }

    /// `Uring` with the given request kind, or `None` when io_uring is not
    /// available here (the test then says so and checks less).
    fn uring(max_in_flight_bytes: u64, read_only: bool) -> Option<Prefetcher> {
        let options = ProbeOptions {
            disabled: None,
            read_only,
        };
        let p = Prefetcher::with_probe(IoMode::Uring, max_in_flight_bytes, options);
        if p.mode() != IoMode::Uring {
            eprintln!("io_uring is not available here: {:?}", p.fallback_reason());
            return None;
        }
        Some(p)
    }

    /// Every mode, and io_uring with each request kind, with a one-page
    /// budget too (everything queued).
    fn every_prefetcher() -> Vec<Prefetcher> {
        let mut all: Vec<Prefetcher> = IoMode::ALL
            .into_iter()
            .map(|mode| Prefetcher::new(mode, 1 << 20))
            .collect();
        for read_only in [false, true] {
            all.extend(uring(1 << 20, read_only));
            all.extend(uring(1, read_only));
        }
        all
    }

    fn drain(prefetcher: &mut Prefetcher) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while prefetcher.in_flight_bytes() > 0 {
            assert!(Instant::now() < deadline, "{prefetcher:?} never drained");
            prefetcher.reap();
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Drops the file's pages from the page cache (where the file system
    /// allows it; nothing may have it mapped).
    #[cfg(target_os = "linux")]
    fn evict(path: &std::path::Path) {
        let file = File::open(path).expect("open");
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
    }

    /// How many of the mapping's pages are in memory (`mincore`).
    #[cfg(target_os = "linux")]
    fn resident_pages(mapping: &Mapping) -> usize {
        let page = 4096;
        let bytes = mapping.as_slice();
        let mut vec = vec![0u8; bytes.len().div_ceil(page)];
        // SAFETY: `bytes` is a live mapping (page-aligned, as mmap returns
        // it) of `bytes.len()` bytes, and `vec` has one byte per page of it.
        let rc = unsafe { libc::mincore(bytes.as_ptr() as *mut _, bytes.len(), vec.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }

    #[test]
    fn a_prefetcher_can_move_to_its_thread() {
        fn send<T: Send>() {}
        send::<Prefetcher>();
    }

    #[test]
    fn io_mode_parse_display_round_trip() {
        for mode in IoMode::ALL {
            assert_eq!(mode.to_string().parse::<IoMode>(), Ok(mode));
            assert_eq!(mode.name().to_uppercase().parse::<IoMode>(), Ok(mode));
        }
        assert_eq!(IoMode::default(), IoMode::Auto);
        let err = "io_uring".parse::<IoMode>().unwrap_err();
        assert!(err.contains("unknown io mode 'io_uring'"), "{err}");
    }

    #[test]
    fn every_mode_takes_any_range_and_leaves_the_file_alone() {
        let len = (3 << 20) + 123;
        let (_dir, path, bytes) = temp_file(len);
        let mapping = map(&path);
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let len = len as u64;
        let mut ranges = vec![
            (0, 0),
            (0, 1),
            (4095, 2),
            ((1 << 20) + 17, 700_000),
            (0, len),
            (len - 10, 100),
            (len, 10),
            (len + 4096, 1 << 20),
            (u64::MAX - 5, 10),
            (7, u64::MAX),
            (0, u64::MAX),
        ];
        let mut rng = fastrand::Rng::with_seed(11);
        ranges.extend((0..200).map(|_| (rng.u64(..len + 8192), rng.u64(..(2 << 20)))));
        for mut prefetcher in every_prefetcher() {
            for &(position, n) in &ranges {
                prefetcher.prefetch(&mapping, position, n);
                prefetcher.reap();
            }
            drain(&mut prefetcher);
            // Nothing left queued either: another reap starts nothing.
            prefetcher.reap();
            assert_eq!(prefetcher.in_flight_bytes(), 0, "{prefetcher:?}");
        }
        let empty = Mapping::empty();
        let owned = Mapping::from_vec(vec![1; 10]);
        let read = Mapping::open(&path, ReadStrategy::Read).expect("read");
        for mut prefetcher in every_prefetcher() {
            prefetcher.prefetch(&empty, 0, 100);
            prefetcher.prefetch(&owned, 0, 100);
            prefetcher.prefetch(&read, 0, u64::MAX);
            drain(&mut prefetcher);
        }
        assert_eq!(std::fs::read(&path).expect("read"), bytes);
        assert_eq!(
            std::fs::metadata(&path).and_then(|m| m.modified()).ok(),
            modified
        );
        let file = mapping.file().expect("a file");
        assert_eq!(
            Arc::strong_count(file),
            1,
            "every request let go of the file"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn prefetched_pages_are_in_memory() {
        let (_dir, path, _) = temp_file((4 << 20) + 100);
        let mut prefetchers: Vec<Prefetcher> = [false, true]
            .into_iter()
            .filter_map(|read_only| uring(1 << 20, read_only))
            .collect();
        prefetchers.push(Prefetcher::new(IoMode::Pread, 1 << 20));
        for mut prefetcher in prefetchers {
            evict(&path);
            let mapping = map(&path);
            let pages = mapping.len().div_ceil(4096);
            let before = resident_pages(&mapping);
            prefetcher.prefetch(&mapping, 0, u64::MAX);
            drain(&mut prefetcher);
            let after = resident_pages(&mapping);
            eprintln!("{prefetcher:?}: {before} -> {after} of {pages} pages in memory");
            assert_eq!(after, pages, "{prefetcher:?} (before: {before} of {pages})");
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn uring_in_flight_stays_within_budget() {
        let (_dir, path, _) = temp_file(2 << 20);
        let mapping = map(&path);
        for read_only in [false, true] {
            for budget in [1, 4096, 100_000, 1 << 20] {
                let Some(mut prefetcher) = uring(budget, read_only) else {
                    return;
                };
                let bound = budget.max(PAGE).next_multiple_of(PAGE);
                prefetcher.prefetch(&mapping, 3, 2 << 20);
                while prefetcher.in_flight_bytes() > 0 {
                    assert!(prefetcher.in_flight_bytes() <= bound);
                    prefetcher.reap();
                }
            }
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn uring_reads_land_in_the_right_buffers() {
        let (_dir, path, bytes) = temp_file((3 << 20) + 777);
        let file = Arc::new(File::open(&path).expect("open"));
        let mut ring = match uring::Uring::new(4 << 20, true) {
            Ok(ring) => ring,
            Err(reason) => {
                eprintln!("io_uring is not available here: {reason}");
                return;
            }
        };
        assert_eq!(ring.op(), uring::Op::Read);
        assert_eq!(ring.slot_count(), 8);
        let len = bytes.len() as u64;
        for (position, n) in [
            (0, len),
            (12_345, 1_500_001),
            (URING_CHUNK - 1, 2),
            (len - 777, 777),
            (4096, 4096),
        ] {
            let read = ring.read_through_ring(&file, position, n).expect("read");
            let expected = &bytes[position as usize..(position + n) as usize];
            assert!(
                read == expected,
                "bytes {position}..{} differ",
                position + n
            );
        }
        // Past the end: a short read, the rest untouched.
        let read = ring
            .read_through_ring(&file, len - 100, 1000)
            .expect("read");
        assert_eq!(&read[..100], &bytes[bytes.len() - 100..]);
        assert!(read[100..].iter().all(|&b| b == 0));
        assert_eq!(ring.in_flight_bytes(), 0);
    }

    #[test]
    fn falls_back_to_pread_when_io_uring_is_unavailable() {
        let disabled = || ProbeOptions {
            disabled: Some("disabled by the test".into()),
            read_only: false,
        };
        for requested in [IoMode::Uring, IoMode::Auto] {
            let prefetcher = Prefetcher::with_probe(requested, 1 << 20, disabled());
            assert_eq!(prefetcher.mode(), IoMode::Pread);
            assert_eq!(prefetcher.fallback_reason(), Some("disabled by the test"));
        }
        for requested in [IoMode::Madvise, IoMode::Pread, IoMode::Off] {
            let prefetcher = Prefetcher::with_probe(requested, 1 << 20, disabled());
            assert_eq!(prefetcher.mode(), requested);
            assert_eq!(prefetcher.fallback_reason(), None);
        }
        let auto = Prefetcher::new(IoMode::Auto, 1 << 20);
        assert!(matches!(auto.mode(), IoMode::Uring | IoMode::Pread));
        assert_eq!(
            auto.mode() == IoMode::Pread,
            auto.fallback_reason().is_some()
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn drop_with_requests_in_flight_waits_for_them() {
        let (_dir, path, _) = temp_file(8 << 20);
        for read_only in [false, true] {
            let mut caught_in_flight = 0;
            for round in 0..10 {
                evict(&path);
                let mapping = map(&path);
                let Some(mut prefetcher) = uring(4 << 20, read_only) else {
                    return;
                };
                prefetcher.prefetch(&mapping, round * 4096, 8 << 20);
                if prefetcher.in_flight_bytes() > 0 {
                    caught_in_flight += 1;
                }
                drop(prefetcher);
                let file = mapping.file().expect("a file");
                assert_eq!(Arc::strong_count(file), 1, "requests let go of the file");
            }
            eprintln!("read_only {read_only}: dropped with requests in flight {caught_in_flight} times of 10");
        }
    }

    #[test]
    fn a_range_already_prefetched_is_not_read_again() {
        let (_dir, path, _) = temp_file(1 << 20);
        let (_other_dir, other_path, _) = temp_file(1 << 20);
        let mapping = map(&path);
        let other = map(&other_path);
        let file = mapping.file().expect("a file");
        let mut p = Prefetcher::new(IoMode::Off, 1 << 20);
        assert_eq!(p.not_yet_prefetched(&mapping, file, 0, 0), None);
        assert_eq!(p.not_yet_prefetched(&mapping, file, 100, 1000), Some(100));
        assert_eq!(p.not_yet_prefetched(&mapping, file, 200, 900), None);
        assert_eq!(p.not_yet_prefetched(&mapping, file, 500, 3000), Some(1000));
        assert_eq!(p.not_yet_prefetched(&mapping, file, 3000, 4000), Some(3000));
        // Another file, then back: each file keeps its own window (a
        // fetcher taking turns between partitions asks for nothing twice).
        let other_file = other.file().expect("a file");
        assert_eq!(p.not_yet_prefetched(&other, other_file, 0, 10), Some(0));
        assert_eq!(p.not_yet_prefetched(&mapping, file, 200, 900), None);
        assert_eq!(p.not_yet_prefetched(&mapping, file, 3500, 5000), Some(4000));
        assert_eq!(p.not_yet_prefetched(&other, other_file, 5, 20), Some(10));
        // A jump backwards starts over.
        assert_eq!(p.not_yet_prefetched(&mapping, file, 50, 900), Some(50));
        assert_eq!(p.not_yet_prefetched(&mapping, file, 60, 800), None);
    }
}
