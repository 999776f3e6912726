//! Checked reading of the raw arguments of entry points.

use std::ffi::{c_char, CStr};

use crate::error::Failure;
use crate::status::picotag_status;

/// Validates an out-pointer and sets `*out = NULL`, so that it is NULL on
/// every failure that follows.
///
/// # Safety
/// `out` is NULL or valid for writes of a pointer.
pub(crate) unsafe fn out_ptr<'a, T>(
    out: *mut *mut T,
    what: &str,
) -> Result<&'a mut *mut T, Failure> {
    if out.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL, and valid for writes by the caller's contract.
    let out = unsafe { &mut *out };
    *out = std::ptr::null_mut();
    Ok(out)
}

/// [`out_ptr`] for `const T **` out-pointers.
///
/// # Safety
/// `out` is NULL or valid for writes of a pointer.
pub(crate) unsafe fn out_const_ptr<'a, T>(
    out: *mut *const T,
    what: &str,
) -> Result<&'a mut *const T, Failure> {
    if out.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL, and valid for writes by the caller's contract.
    let out = unsafe { &mut *out };
    *out = std::ptr::null();
    Ok(out)
}

/// A NUL-terminated string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn cstr_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a CStr, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// As [`cstr_arg`].
pub(crate) unsafe fn cstr_utf8_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let c = unsafe { cstr_arg(ptr, what)? };
    c.to_str().map_err(|e| {
        Failure::new(
            picotag_status::InvalidUtf8,
            format!("{what} is not valid UTF-8 ({e})"),
        )
    })
}

/// `len` bytes at `ptr` (NULL is allowed when `len` is 0).
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes that outlive `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(what))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::new(
            picotag_status::InvalidArgument,
            format!("{what}: length {len} is too large"),
        ));
    }
    // SAFETY: non-NULL, `len` readable bytes by the caller's contract, and
    // `len <= isize::MAX`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// `len` bytes at `ptr` as UTF-8 text (NULL is allowed when `len` is 0).
///
/// # Safety
/// As [`bytes_arg`].
pub(crate) unsafe fn utf8_arg<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_arg(ptr.cast(), len, what)? };
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            picotag_status::InvalidUtf8,
            format!("{what} is not valid UTF-8 ({e})"),
        )
    })
}
