//! The `.ptag` model file: reader and writer in one place, so the offline
//! tool and the runtime cannot disagree about it (see `docs/FORMAT.md`).

mod checksum;
mod header;
mod meta;
mod reader;
mod table;
mod writer;

pub use checksum::{checksum, Checksum};
pub use header::{
    ALIGN, CHECKSUM_RANGE, FORMAT_VERSION, HEADER_LEN, HEAD_CHECKSUM_RANGE, MAGIC, OLDEST_VERSION,
    VERSION_WITHOUT_I4,
};
pub use meta::{Architecture, HeadKind, HeadMeta, HeadRole, ModelMeta, Pooling};
pub use reader::{seal, ModelFile, OpenOptions};
pub use table::{DType, Layout, TensorInfo};
pub use writer::ModelWriter;
