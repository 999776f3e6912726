//! C ABI of picotag: `libpicotag_ffi.{so,a}` and `include/picotag.h`
//! (generated from this crate by cbindgen).
//!
//! Conventions, for every function: an opaque `picotag_tagger` handle; a
//! `picotag_status` return value (0 = OK) with the message in the thread-local
//! `picotag_last_error()`; UTF-8 in with explicit lengths, NUL-terminated
//! UTF-8 out; what the library allocates is released by the library's own
//! free functions; NULL pointers and invalid UTF-8 give a status, and no
//! panic crosses the boundary (`catch_unwind` on every entry point). The
//! runtime's `unsafe` lives here (the C ABI) and in `picotag-kernels` (the SIMD
//! kernels), plus the memory map of the model file in `picotag::format`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod args;
mod entities;
mod error;
mod options;
mod result;
mod status;
mod tag;
mod tagger;
#[cfg(test)]
mod tests;

use std::ffi::c_char;

pub use entities::{
    picotag_entities, picotag_entities_add, picotag_entities_free, picotag_entities_len,
    picotag_entities_new,
};
pub use error::picotag_last_error;
pub use options::{picotag_options, picotag_options_init, picotag_punctuation};
pub use result::{picotag_intent, picotag_result, picotag_slot};
pub use status::{picotag_status, picotag_status_name};
pub use tag::{
    picotag_result_free, picotag_string_free, picotag_tag_utterance, picotag_tag_utterance_json,
    picotag_tag_utterance_json_with, picotag_tag_utterance_with,
};
pub use tagger::{
    picotag_close, picotag_open, picotag_open_from_memory, picotag_tagger, picotag_task,
    picotag_tasks,
};

/// The version of the ABI this header describes. It changes whenever a
/// function, struct layout or status code changes incompatibly; compare it
/// with `picotag_abi_version()` at startup.
pub const PICOTAG_ABI_VERSION: u32 = 4;

/// The ABI version of the loaded library (`PICOTAG_ABI_VERSION` of the
/// header it was built with).
#[no_mangle]
pub extern "C" fn picotag_abi_version() -> u32 {
    error::guard_or(PICOTAG_ABI_VERSION, || PICOTAG_ABI_VERSION)
}

/// The library's version, e.g. `"0.1.0"` (static; do not free).
#[no_mangle]
pub extern "C" fn picotag_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => panic!("version contains a NUL byte"),
    };
    error::guard_or(VERSION.as_ptr(), || VERSION.as_ptr())
}
