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
    pub(super) fn prefetch(&mut self, file: &Arc<File>, mapping: &Mapping, start: u64, end: u64) {
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
