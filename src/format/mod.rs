//! The `.ptag` model file: reader and writer (see `docs/FORMAT.md`).

mod meta;

pub use meta::{Architecture, HeadKind, HeadMeta, HeadRole, ModelMeta, Pooling};
