//! The thread-local last error, and the guard every entry point runs in.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::picotag_status;

thread_local! {
    /// `None` after a successful call.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A failed call: its status and message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: picotag_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: picotag_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn null(what: &str) -> Self {
        Failure::new(
            picotag_status::NullArgument,
            format!("{what} must not be NULL"),
        )
    }
}

impl From<picotag::Error> for Failure {
    fn from(e: picotag::Error) -> Self {
        Failure::new((&e).into(), e.to_string())
    }
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with`: nothing to record into while the thread is being torn down.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = Some(c));
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = None);
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Runs the body of a status-returning entry point: clears the last error,
/// catches panics, records the message of a failure.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> picotag_status {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => picotag_status::Ok,
        Ok(Err(f)) => {
            set_last_error(&f.message);
            f.status
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error (panic): {}",
                panic_message(&*payload)
            ));
            picotag_status::Internal
        }
    }
}

/// Runs the body of an entry point that returns no status (getters, free
/// functions): a panic is recorded as the last error and `fallback` returned.
pub(crate) fn guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(&format!(
                "internal error (panic): {}",
                panic_message(&*payload)
            ));
            fallback
        }
    }
}

/// The message of the last failed call on this thread: NUL-terminated UTF-8,
/// `""` when that call succeeded. Borrowed: valid until the next picotag call
/// on this thread; never NULL; do not free.
#[no_mangle]
pub extern "C" fn picotag_last_error() -> *const c_char {
    guard_or(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|e| e.borrow().as_ref().map_or(c"".as_ptr(), |m| m.as_ptr()))
            .unwrap_or(c"".as_ptr())
    })
}
