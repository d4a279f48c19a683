//! What a `no_std` contract needs from the SDK on wasm32: an allocator and a panic handler.
//!
//! The allocator is a bump allocator: an instance lives for one call, so freeing is not worth its
//! code; memory grows a page at a time (paid per page) up to the VM's memory limit.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

const PAGE: usize = 64 * 1024;

struct Bump {
    next: AtomicUsize,
    end: AtomicUsize,
}

unsafe extern "C" {
    static __heap_base: u8;
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut next = self.next.load(Ordering::Relaxed);
        if next == 0 {
            // The linker defines `__heap_base` (the end of data and stack); only its address is taken.
            next = core::ptr::addr_of!(__heap_base) as usize;
            self.end.store(core::arch::wasm32::memory_size(0) * PAGE, Ordering::Relaxed);
        }
        let start = (next + layout.align() - 1) & !(layout.align() - 1);
        let Some(stop) = start.checked_add(layout.size()) else { return core::ptr::null_mut() };
        let end = self.end.load(Ordering::Relaxed);
        if stop > end {
            let pages = (stop - end).div_ceil(PAGE);
            if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                return core::ptr::null_mut();
            }
            self.end.store(end + pages * PAGE, Ordering::Relaxed);
        }
        self.next.store(stop, Ordering::Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump { next: AtomicUsize::new(0), end: AtomicUsize::new(0) };

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    crate::env::revert("contract panicked")
}
