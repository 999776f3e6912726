//! Fuzz target bodies. Each `run(data)` must never panic, abort or hang on
//! any input; it panics itself when an invariant of the result is broken.
//!
//! The same files are compiled into the corpus-replay tests of the runtime
//! (`tests/fuzz_corpus.rs`) and of the C ABI (`ffi/tests/fuzz_corpus.rs`)
//! with `#[path]`, so CI replays the committed seeds without libFuzzer.

pub mod c_abi;
pub mod check;
pub mod model_bytes;
pub mod models;
pub mod utterance;
