//! picotag: an on-device multi-task slot tagger.
//!
//! One small BERT encoder, stored int8 in one memory-mapped `.ptag` file,
//! reads an utterance once and fills the slots of several tasks (datasets)
//! at once, plus each task's intent.
//!
//! ```no_run
//! let tagger = picotag::Tagger::open("models/default.ptag")?;
//! let t = tagger.tag_utterance("i take 200 mg of ibuprofen for my migraine")?;
//! for s in &t.slots {
//!     println!("{} {} {:?} {:.2}", s.task, s.label, s.text, s.score);
//! }
//! for i in &t.intents {
//!     println!("{} intent {} {:.2}", i.task, i.label, i.score);
//! }
//! # Ok::<(), picotag::Error>(())
//! ```
//!
//! Layout: [`format`] (the model file), [`tokenize`], [`kernels`], [`encoder`],
//! [`heads`], [`decode`], [`entities`] (values injected at run time), and
//! [`Tagger`] tying them together.
//!
//! No `unsafe` here: the SIMD kernels live in the `picotag-kernels` crate
//! (re-exported as [`kernels`]), the C ABI in `picotag-ffi`. The one exception
//! is the memory map of the model file in `format::reader` (`Mmap::map` is
//! `unsafe` because another process could truncate the file under it).

#![deny(unsafe_code)]

pub mod decode;
pub mod encoder;
pub mod entities;
mod error;
pub mod format;
pub mod heads;
pub use picotag_kernels as kernels;
mod tagger;
mod tagging;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tokenize;
pub mod window;

pub use entities::EntitySet;
pub use error::{Error, Result};
pub use format::OpenOptions;
pub use tagger::{
    Backend, IntentThreshold, PunctuationWords, TagOptions, Tagger, TaskInfo, DEFAULT_ENTITY_BONUS,
    PUNCTUATION_SHARE_TO_KEEP,
};
pub use tagging::{Intent, Slot, Tagging};
