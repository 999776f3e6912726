//! picotag-quantize: trains, evaluates and (later) compresses picotag models.

pub mod adapt;
pub mod bench;
pub mod build;
pub mod calibrate;
pub mod cli;
pub mod compress;
pub mod data;
pub mod distill;
pub mod entities;
pub mod error;
pub mod eval;
pub mod export_onnx;
pub mod inspect;
pub mod model;
pub mod recipe;
pub mod reencode;
pub mod train;

pub use error::{Error, Result};
