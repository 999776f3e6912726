//! The one error type of the runtime.

use std::path::PathBuf;

/// Everything that can go wrong in `picotag`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the model file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The model file is malformed, truncated, corrupted or of an unknown version.
    #[error("invalid model file: {0}")]
    Format(String),
    /// The tokenizer inside the model could not be built or failed on an input.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// The caller asked for something the model does not have (e.g. an unknown task).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    pub(crate) fn format(msg: impl Into<String>) -> Self {
        Error::Format(msg.into())
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
