//! The BERT encoder: tensor binding and the reference f32 forward pass.

pub mod fast;
pub mod ops;
pub mod packed;
pub mod reference;
pub mod weights;

pub use weights::EncoderRef;
