//! picotag: an on-device multi-task slot tagger.
//!
//! ```no_run
//! let tagger = picotag::Tagger::open("models/default.ptag")?;
//! let t = tagger.tag_utterance("i take 200 mg of ibuprofen for my migraine")?;
//! for s in &t.slots {
//!     println!("{} {} {:?} {}", s.task, s.label, s.text, s.score);
//! }
//! # Ok::<(), picotag::Error>(())
//! ```

pub mod decode;
mod error;
pub mod format;
pub mod kernels;

pub use error::{Error, Result};
