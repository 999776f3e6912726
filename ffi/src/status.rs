//! Status codes returned by every fallible function.

/// What a call did. `PICOTAG_STATUS_OK` (0) is success; on any other value
/// `picotag_last_error()` holds a message and every out-pointer was set to
/// NULL.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum picotag_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// The input text, a task name or a path is not valid UTF-8.
    InvalidUtf8 = 2,
    /// The model file could not be read (missing, unreadable).
    Io = 3,
    /// The model is malformed, truncated, corrupted or of an unsupported
    /// version.
    Format = 4,
    /// An argument has an invalid value, e.g. an unknown task name or a NaN
    /// threshold.
    InvalidArgument = 5,
    /// The model's tokenizer failed on the input.
    Tokenizer = 6,
    /// A bug in picotag (a panic caught at the boundary). Please report it
    /// with the message of `picotag_last_error()`.
    Internal = 7,
}

impl From<&picotag::Error> for picotag_status {
    fn from(e: &picotag::Error) -> Self {
        match e {
            picotag::Error::Io { .. } => picotag_status::Io,
            picotag::Error::Format(_) => picotag_status::Format,
            picotag::Error::Tokenizer(_) => picotag_status::Tokenizer,
            picotag::Error::InvalidArgument(_) => picotag_status::InvalidArgument,
        }
    }
}

/// The name of a status code, e.g. `"PICOTAG_STATUS_IO"` (a static string;
/// `"PICOTAG_STATUS_UNKNOWN"` for a value that is not a status).
#[no_mangle]
pub extern "C" fn picotag_status_name(status: i32) -> *const std::ffi::c_char {
    crate::error::guard_or(c"PICOTAG_STATUS_UNKNOWN".as_ptr(), || name(status).as_ptr())
}

fn name(status: i32) -> &'static std::ffi::CStr {
    match status {
        0 => c"PICOTAG_STATUS_OK",
        1 => c"PICOTAG_STATUS_NULL_ARGUMENT",
        2 => c"PICOTAG_STATUS_INVALID_UTF8",
        3 => c"PICOTAG_STATUS_IO",
        4 => c"PICOTAG_STATUS_FORMAT",
        5 => c"PICOTAG_STATUS_INVALID_ARGUMENT",
        6 => c"PICOTAG_STATUS_TOKENIZER",
        7 => c"PICOTAG_STATUS_INTERNAL",
        _ => c"PICOTAG_STATUS_UNKNOWN",
    }
}
