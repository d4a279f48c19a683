//! The browser's entry points (wasm32 only): C-ABI functions over the module's memory, so the
//! page needs no generated glue. The module still declares wasm-bindgen's placeholder imports
//! (its dependencies are built for that glue); the one verification calls is getrandom's
//! `crypto.getRandomValues(pointer, length)`, seeding `ahash` in ed25519 batch verification, and
//! the page provides it (docs/light-client.md).
//!
//! The page writes a JSON request into memory it got from [`formica_alloc`], calls a
//! `formica_verify_*` function, and reads the JSON answer at the returned `(pointer << 32) |
//! length`, then frees both with [`formica_free`]. A request carries the anchor (the checkpoint
//! digest from the link), 32 random bytes for batch verification, and the server's bundle; the
//! answer is `{"ok": true, "report": ...}` or `{"ok": false, "error": "..."}`.

use serde::Serialize;

/// Memory for `len` bytes, for the page to write a request into.
#[unsafe(no_mangle)]
pub extern "C" fn formica_alloc(len: usize) -> *mut u8 {
    let mut buffer = std::mem::ManuallyDrop::new(Vec::<u8>::with_capacity(len));
    buffer.as_mut_ptr()
}

/// Returns memory from [`formica_alloc`] (or an answer) of `len` bytes.
///
/// # Safety
/// `pointer` and `len` must be exactly what [`formica_alloc`] got or an answer returned, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn formica_free(pointer: *mut u8, len: usize) {
    // SAFETY: the caller hands back a buffer this module leaked with capacity `len`.
    drop(unsafe { Vec::from_raw_parts(pointer, 0, len) });
}

/// Reads a request the page wrote.
///
/// # Safety
/// `pointer..pointer + len` must be initialised memory the page wrote.
unsafe fn request<'a>(pointer: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(pointer, len) }
}

/// Leaks `answer` as JSON and returns where it is.
pub(crate) fn answer<T: Serialize>(answer: Result<T, String>) -> u64 {
    let value = match answer {
        Ok(report) => serde_json::json!({ "ok": true, "report": report }),
        Err(error) => serde_json::json!({ "ok": false, "error": error }),
    };
    let bytes = serde_json::to_vec(&value).expect("a JSON value serialises").into_boxed_slice();
    let len = bytes.len() as u64;
    let pointer = Box::into_raw(bytes) as *mut u8 as usize as u64;
    (pointer << 32) | len
}

/// Verifies a product's history: see [`crate::trace::verify_request`].
///
/// # Safety
/// `pointer..pointer + len` must be initialised memory the page wrote.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn formica_verify_trace(pointer: *const u8, len: usize) -> u64 {
    // SAFETY: guaranteed by the caller.
    let input = unsafe { request(pointer, len) };
    answer(crate::trace::verify_request(input))
}
