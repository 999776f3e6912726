//! The one error type of `picotag-quantize`.

use std::path::PathBuf;

/// Everything that can go wrong in the tool.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Bad training or evaluation data, with its place.
    #[error("{path}:{line}: {msg}")]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A dataset path or task spec that cannot be resolved.
    #[error("{0}")]
    Spec(String),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// The tokenizer could not be loaded or failed on an input.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// A JSON file could not be parsed or written.
    #[error("JSON error in {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A checkpoint or model that does not fit what was asked.
    #[error("{0}")]
    Model(String),
    /// An error from the runtime library.
    #[error(transparent)]
    Runtime(#[from] picotag::Error),
    /// The ONNX export failed.
    #[cfg(feature = "onnx")]
    #[error("ONNX export: {0}")]
    Onnx(#[from] picotag_onnx::Error),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// A data error at `path:line`.
    pub fn data(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }
    /// A JSON error on `path`.
    pub fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Error::Json {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a whole file as UTF-8, naming the line of the first invalid byte.
pub fn read_text(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        Error::data(path, line, "invalid UTF-8")
    })
}
