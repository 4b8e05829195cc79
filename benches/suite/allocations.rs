//! Counts the process's heap allocations while a phase is measured: a `#[global_allocator]`
//! wrapper around `System`.
//!
//! Counting is off unless a phase turns it on, so the other rows pay one relaxed load per
//! allocation. While on, each thread adds to its own cache line: one shared counter would
//! bounce between the two cores and slow down the very rows it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Counters, one per thread (threads beyond this share them).
const SHARDS: usize = 32;

#[repr(align(128))]
struct Shard(AtomicU64);

static SHARD_COUNTS: [Shard; SHARDS] = [const { Shard(AtomicU64::new(0)) }; SHARDS];
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread's shard; `usize::MAX` until its first counted allocation. No destructor,
    /// so it is readable for as long as the thread allocates.
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The allocator of the suite's binary.
pub struct Counting;

#[allow(unsafe_code)] // a global allocator is an unsafe trait; this one only forwards
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; counting touches no memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn count() {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    let _ = SHARD.try_with(|shard| {
        let mut index = shard.get();
        if index == usize::MAX {
            index = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            shard.set(index);
        }
        SHARD_COUNTS[index].0.fetch_add(1, Ordering::Relaxed);
    });
}

/// Allocations (and reallocations) counted so far, on every thread.
pub fn total() -> u64 {
    SHARD_COUNTS
        .iter()
        .map(|shard| shard.0.load(Ordering::Relaxed))
        .sum()
}

/// Turns counting on or off for the whole process.
pub fn set_counting(on: bool) {
    COUNTING.store(on, Ordering::SeqCst);
}
