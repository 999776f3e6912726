//! The `.ptag` model file: reader and writer in one place, so the offline
//! tool and the runtime cannot disagree about it (see `docs/FORMAT.md`).

mod checksum;
mod header;
mod meta;
mod reader;
mod table;
mod writer;

pub use checksum::{checksum, Checksum};
pub use header::{ALIGN, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use meta::{Architecture, HeadKind, HeadMeta, HeadRole, ModelMeta, Pooling};
pub use reader::{ModelFile, OpenOptions};
pub use table::{DType, Layout, TensorInfo};
pub use writer::ModelWriter;
