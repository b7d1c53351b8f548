//! Each codec as the engine calls it (`Decompressor::decompress` with a
//! cap): a 4-byte prefix picks the codec, the cap and the lz4 legacy mode.
//! Output never passes the cap; and no single allocation made by a fresh
//! decompression may be larger than the cap plus one byte, or than the
//! fixed codec state (gzip's inflate window), whichever is larger. zstd's
//! own allocations are made by its C library and not seen here.

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;

/// Room for codec state allocated on first use (miniz_oxide's inflate
/// state is about 43 KiB) and for the output buffer's first growth.
const STATE_ALLOWANCE: usize = 64 * 1024;

struct Probe;

static WATCHING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if WATCHING.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

// SAFETY: every call forwards to the system allocator with the same
// arguments; the probe only reads the requested size.
unsafe impl GlobalAlloc for Probe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator (System).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded as is; `ptr` came from this allocator (System).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Probe = Probe;

fuzz_target!(|data: &[u8]| {
    kreplay_fuzz::checks::decompress(data, &mut |cap, call| {
        LARGEST.store(0, Ordering::Relaxed);
        WATCHING.store(true, Ordering::Relaxed);
        call();
        WATCHING.store(false, Ordering::Relaxed);
        let largest = LARGEST.load(Ordering::Relaxed);
        let allowed = cap.saturating_add(1).max(STATE_ALLOWANCE);
        assert!(
            largest <= allowed,
            "one allocation of {largest} bytes inflating at a cap of {cap}"
        );
    });
});
