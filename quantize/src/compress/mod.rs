//! `compress`: a training checkpoint → a `.ptag` model file for the runtime.
//!
//! Encoder Linear weights become symmetric int8 per output channel, stored
//! packed (`k4n16`) with f32 scales; the word and position embedding tables
//! become int8 per row (with a scale) or f16, or the word table int4 per
//! row (`I4`), and the position table may be cut (`max_positions`);
//! the heads may become int8 per row (`int8_heads`); everything else
//! (LayerNorm, biases, token-type embeddings, the factorized-embedding
//! projection) stays f32. `fp32` writes the same network unquantized.

pub mod args;
pub mod reject;
mod scores;
pub mod span_symbols;
mod tensors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::Device;
use picotag::format::{ModelMeta, ModelWriter};
use serde_json::{json, Value};

use crate::error::Result;
use crate::model::params::load_safetensors;
use crate::model::read_meta;
use crate::recipe::{recipe_views, training_recipe};

pub use scores::{dev_scores, dev_sets};

/// How the word and position embedding tables are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmbeddingPrecision {
    /// int8 per row with an f32 scale per row.
    I8,
    /// IEEE half precision.
    F16,
    /// The word table int4 per row with an f16 scale per row (half the bytes
    /// of `I8`); the position table int8 as under `I8`.
    I4,
}

/// What `compress` writes.
#[derive(Debug, Clone)]
pub struct CompressOptions {
    /// Write every tensor as f32 (no quantization).
    pub fp32: bool,
    /// Precision of the embedding tables (ignored with `fp32`).
    pub embeddings: EmbeddingPrecision,
    /// Keep only the first rows of the position table (the runtime then
    /// encodes windows of at most this many tokens); `None`: all of them.
    pub max_positions: Option<usize>,
    /// Store the heads' weights int8 per row with an f32 scale per row
    /// (ignored with `fp32`).
    pub int8_heads: bool,
    /// Measure dev scores on the written file and store them in it.
    pub eval: bool,
    /// Extra or overriding dev sets, `(task, path)`; the rest come from the
    /// checkpoint's recipe.
    pub dev: Vec<(String, PathBuf)>,
    /// With `eval`: calibrate each intent head's out-of-scope threshold to
    /// keep this share of its in-scope dev utterances (`None`: store none).
    pub reject_tpr: Option<f64>,
}

/// The result of a compression.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// Size of the written file in bytes.
    pub bytes: usize,
    /// The dev scores stored in the file (empty without `eval`).
    pub scores: BTreeMap<String, Value>,
}

/// Compresses the checkpoint folder `checkpoint` (`model.safetensors` +
/// `meta.json`) into the model file `out`.
pub fn compress(checkpoint: &Path, out: &Path, opts: &CompressOptions) -> Result<Compressed> {
    let meta = read_meta(checkpoint)?;
    if let Some(p) = opts.max_positions {
        if !(3..=meta.architecture.max_positions).contains(&p) {
            return Err(crate::Error::Spec(format!(
                "max_positions {p}: must be 3 to the checkpoint's {}",
                meta.architecture.max_positions
            )));
        }
    }
    let tensors = load_safetensors(&checkpoint.join("model.safetensors"), &Device::Cpu)?;
    let mut w = ModelWriter::new(file_meta(&meta, checkpoint, opts));
    tensors::write_all(&mut w, &meta, &tensors, opts)?;
    span_symbols::record(&mut w)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    }
    w.write(out)?;
    if opts.eval {
        let sets = dev_sets(&meta, &opts.dev)?;
        let recipe = training_recipe(&meta);
        let views = match &recipe {
            Some(r) => recipe_views(r)?,
            None => None,
        };
        w.meta_mut().scores = dev_scores(out, &sets, views.as_ref())?;
        if let Some(tpr) = opts.reject_tpr {
            let th = reject::calibrate(&mut w, out, &sets, tpr)?;
            if !th.is_empty() {
                w.meta_mut().scores.insert(
                    "out_of_scope".into(),
                    serde_json::json!({"in_scope_dev_kept": tpr, "intent_threshold": th}),
                );
            }
        }
        w.write(out)?;
    }
    let bytes = std::fs::metadata(out)
        .map_err(|e| crate::Error::io(out, e))?
        .len() as usize;
    Ok(Compressed {
        bytes,
        scores: w.meta_mut().scores.clone(),
    })
}

/// The file's metadata: the checkpoint's, with the compression recorded in
/// the provenance and the checkpoint's own dev scores kept there in short.
fn file_meta(meta: &ModelMeta, checkpoint: &Path, opts: &CompressOptions) -> ModelMeta {
    let mut m = meta.clone();
    if let Some(p) = opts.max_positions {
        m.architecture.max_positions = p;
    }
    let embeddings = match (opts.fp32, opts.embeddings) {
        (true, _) => "f32",
        (false, EmbeddingPrecision::I8) => "int8 per row, f32 scale per row",
        (false, EmbeddingPrecision::F16) => "f16",
        (false, EmbeddingPrecision::I4) => {
            "words int4 per row with an f16 scale per row, positions int8 per row with an f32 scale per row"
        }
    };
    let heads = if opts.int8_heads && !opts.fp32 {
        "int8 per row, f32 scale per row"
    } else {
        "f32"
    };
    let linear = if opts.fp32 {
        "f32"
    } else {
        "int8 symmetric per output channel, f32 scales, packed k4n16"
    };
    m.provenance.insert(
        "compression".into(),
        json!({
            "encoder_linear_weights": linear,
            "word_and_position_embeddings": embeddings,
            "head_weights": heads,
            "everything_else": "f32 (LayerNorm, biases, token-type embeddings, embedding projection, head biases)",
            "checkpoint": checkpoint.display().to_string(),
            "tool": concat!("picotag-quantize ", env!("CARGO_PKG_VERSION")),
        }),
    );
    if !meta.scores.is_empty() {
        m.provenance
            .insert("checkpoint_scores".into(), short_scores(&meta.scores));
    }
    // A student's record of its teacher's scores, in short too.
    if let Some(Value::Object(t)) = m.provenance.get_mut("teacher") {
        if let Some(Value::Object(s)) = t.get("scores") {
            let s: BTreeMap<String, Value> = s.clone().into_iter().collect();
            t.insert("scores".into(), short_scores(&s));
        }
    }
    m.scores = BTreeMap::new();
    m
}

/// Split, epoch, mean F1 and per-task F1 / intent accuracy of a scores map.
fn short_scores(s: &BTreeMap<String, Value>) -> Value {
    let mut out = serde_json::Map::new();
    for k in ["split", "epoch", "mean_f1"] {
        if let Some(v) = s.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(Value::Object(tasks)) = s.get("tasks") {
        let short: serde_json::Map<String, Value> = tasks
            .iter()
            .map(|(t, r)| {
                (
                    t.clone(),
                    json!({"f1": r.get("f1"), "intent_accuracy": r.get("intent_accuracy")}),
                )
            })
            .collect();
        out.insert("tasks".into(), Value::Object(short));
    }
    Value::Object(out)
}
