//! The one error type of `picotag-onnx`.

use std::path::PathBuf;

/// What can go wrong while exporting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file could not be read as a network.
    #[error(transparent)]
    Runtime(#[from] picotag::Error),
    /// The output could not be written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A dimension does not fit ONNX's int64, or outputs do not match.
    #[error("{0}")]
    Shape(String),
    /// tract failed to load or run a graph.
    #[error("tract: {0}")]
    Tract(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
