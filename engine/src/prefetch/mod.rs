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
//! The code: this file holds [`IoMode`], the [`Prefetcher`] and its
//! sequential windows; `uring` the io_uring backend (Linux); `syscalls`
//! the calls made on the calling thread (`mincore`, `madvise`, `pread`).
//!
//! Nothing here writes to a file or opens one.

use std::fmt;
use std::fs::File;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::mmap::Mapping;

mod syscalls;
#[cfg(test)]
mod tests;
#[cfg(target_os = "linux")]
mod uring;

use syscalls::{is_resident, madvise, pread};

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
