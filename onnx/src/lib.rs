//! picotag-onnx: exports a `.ptag` model as an ONNX graph.
//!
//! The graph is the same network as the runtime's reference path, in f32
//! (int8 weights are dequantized, factorized word embeddings become a
//! `Gather` followed by a `MatMul`). Inputs: `input_ids`, `attention_mask`,
//! `token_type_ids` (int64, `[batch, seq]`, `[CLS]`/`[SEP]` already in place).
//! Outputs: one `logits.<head>` per head, `[batch, seq, labels]` for token
//! heads and `[batch, labels]` for sentence heads (pooled as the head says,
//! over the positions the mask marks real). Opset 13.

mod bert;
pub mod check;
mod error;
mod graph;

use std::path::Path;

use picotag::format::ModelFile;
use prost::Message;
pub use tract_onnx;
pub use tract_onnx::pb;

pub use error::{Error, Result};

/// The ONNX opset the graph uses.
pub const OPSET: i64 = 13;

/// The name of the logits output of head `head`.
pub fn output_name(head: &str) -> String {
    format!("logits.{head}")
}

/// Builds the ONNX model of `model`.
pub fn export(model: &ModelFile) -> Result<pb::ModelProto> {
    let graph = bert::build(model)?;
    Ok(pb::ModelProto {
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "picotag-onnx".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!("picotag model {:?}", model.meta().name),
        graph: Some(graph),
        ..Default::default()
    })
}

/// The ONNX model of `model`, as protobuf bytes.
pub fn export_bytes(model: &ModelFile) -> Result<Vec<u8>> {
    Ok(export(model)?.encode_to_vec())
}

/// Writes the ONNX model of `model` to `path`.
pub fn write(model: &ModelFile, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = export_bytes(model)?;
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
