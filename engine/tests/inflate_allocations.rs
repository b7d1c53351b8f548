//! Inflation allocates nothing once warm: the codec contexts and the output
//! buffer are reused batch after batch (compression/mod.rs promises it; this
//! counts the allocations made on this thread to hold it to that).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kreplay::{compress, Compression, Decompressor};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn warm_inflation_allocates_nothing() {
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{{\"host\":\"web-{}\",\"cpu\":{}}}", i % 97, i % 100).into_bytes())
        .take(256 * 1024)
        .collect();
    for codec in Compression::ALL {
        let mut compressed = Vec::new();
        compress(codec, &text, &mut compressed).unwrap();
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        // Warm up: contexts created, buffer grown (the counter sees that).
        let cold = allocations();
        decompressor
            .decompress(codec, &compressed, &mut out, 1 << 30, false)
            .unwrap();
        assert!(allocations() > cold, "{codec}: the counter counts nothing");
        let before = allocations();
        for _ in 0..20 {
            decompressor
                .decompress(codec, &compressed, &mut out, 1 << 30, false)
                .unwrap();
            assert_eq!(out, text, "{codec}");
        }
        let made = allocations() - before;
        assert_eq!(made, 0, "{codec}: {made} allocations in 20 warm inflations");
    }
}
