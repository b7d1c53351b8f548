//! What the prefetcher asks of the OS on the calling thread: whether pages
//! are resident (`mincore`), `MADV_WILLNEED` advice, and `pread` into a
//! scratch buffer.

use std::fs::File;

use super::{ADVICE_CHUNK, PAGE, PREAD_CHUNK};
use crate::mmap::Mapping;

/// Whether every page of `mapping[start..end]` is in memory (`mincore`).
/// Bytes that are not a file mapping, and any failure, count as resident
/// (nothing to prefetch).
pub(super) fn is_resident(mapping: &Mapping, start: u64, end: u64) -> bool {
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

/// `MADV_WILLNEED` over `start..end` of the mapping, in pieces the kernel
/// reads in full (see [`ADVICE_CHUNK`]).
pub(super) fn madvise(mapping: &Mapping, start: u64, end: u64) {
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
pub(super) fn pread(file: &File, scratch: &mut Vec<u8>, start: u64, end: u64) {
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
