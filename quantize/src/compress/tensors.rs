//! Writing the checkpoint's tensors at the precision each one gets.

use std::collections::BTreeMap;

use candle_core::Tensor;
use picotag::format::{Layout, ModelMeta, ModelWriter};
use picotag::kernels;

use super::{CompressOptions, EmbeddingPrecision};
use crate::error::{Error, Result};

/// The name of the factorized word-embedding projection `[hidden, r]`.
pub const WORD_PROJECTION: &str = "embeddings.word_embeddings.projection";

/// A checkpoint tensor as f32 values, checked against `shape`.
fn values(t: &BTreeMap<String, Tensor>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let x = t
        .get(name)
        .ok_or_else(|| Error::Model(format!("checkpoint lacks {name}")))?;
    if x.dims() != shape {
        return Err(Error::Model(format!(
            "{name}: shape {:?}, the architecture needs {shape:?}",
            x.dims()
        )));
    }
    Ok(x.flatten_all()?.to_vec1::<f32>()?)
}

/// Adds an `[n, k]` matrix as symmetric int8 per row, row-major, with an
/// f32 scale per row (`name.scale`).
fn add_i8_rows(w: &mut ModelWriter, name: &str, n: usize, k: usize, v: &[f32]) -> Result<()> {
    let (q, scales) = kernels::quantize_weights_per_channel(v, n, k);
    w.add_i8(name, Layout::RowMajor, &[n, k], &q)?;
    Ok(w.add_f32(&format!("{name}.scale"), &[n], &scales)?)
}

/// Adds an `[n, k]` matrix as int4 per row (two values a byte), row-major,
/// with an f16 scale per row (`name.scale`).
fn add_i4_rows(w: &mut ModelWriter, name: &str, n: usize, k: usize, v: &[f32]) -> Result<()> {
    let f16_round = |s: f32| half::f16::from_f32(s).to_f32();
    let (q, scales) = kernels::quantize_rows_i4(v, n, k, f16_round);
    w.add_i4(name, &[n, k], &q)?;
    Ok(w.add_f16(&format!("{name}.scale"), &[n], &scales)?)
}

/// Adds an `[n, k]` Linear weight as int8 per output channel, packed `k4n16`,
/// with f32 scales (`name.scale`): the layout the runtime's kernels read.
fn add_i8_packed(w: &mut ModelWriter, name: &str, n: usize, k: usize, v: &[f32]) -> Result<()> {
    let (q, scales) = kernels::quantize_weights_per_channel(v, n, k);
    let packed = kernels::pack_k4n16(&q, n, k);
    w.add_i8(name, Layout::K4n16, &[n, k], &packed)?;
    Ok(w.add_f32(&format!("{name}.scale"), &[n], &scales)?)
}

/// Writes the encoder and head tensors of `meta` from `t` into `w`.
pub fn write_all(
    w: &mut ModelWriter,
    meta: &ModelMeta,
    t: &BTreeMap<String, Tensor>,
    opts: &CompressOptions,
) -> Result<()> {
    let a = &meta.architecture;
    let (h, f) = (a.hidden, a.intermediate);
    let f32v = |w: &mut ModelWriter, name: &str, shape: &[usize]| -> Result<()> {
        Ok(w.add_f32(name, shape, &values(t, name, shape)?)?)
    };
    // `words`: the word table (int4 under `I4`), else the position table,
    // of which the first `keep` rows are written.
    let table = |w: &mut ModelWriter, name: &str, n: usize, k: usize, keep: usize, words: bool| {
        let mut v = values(t, name, &[n, k])?;
        v.truncate(keep * k);
        let n = keep;
        match (opts.fp32, opts.embeddings) {
            (true, _) => w.add_f32(name, &[n, k], &v)?,
            (false, EmbeddingPrecision::F16) => w.add_f16(name, &[n, k], &v)?,
            (false, EmbeddingPrecision::I4) if words => add_i4_rows(w, name, n, k, &v)?,
            (false, EmbeddingPrecision::I8 | EmbeddingPrecision::I4) => {
                add_i8_rows(w, name, n, k, &v)?
            }
        }
        Ok::<(), Error>(())
    };
    let word_cols = a.embedding_rank.unwrap_or(h);
    table(
        w,
        "embeddings.word_embeddings.weight",
        a.vocab_size,
        word_cols,
        a.vocab_size,
        true,
    )?;
    if let Some(r) = a.embedding_rank {
        f32v(w, WORD_PROJECTION, &[h, r])?;
    } else if t.contains_key(WORD_PROJECTION) {
        return Err(Error::Model(format!(
            "the checkpoint has {WORD_PROJECTION} but its architecture no embedding_rank"
        )));
    }
    table(
        w,
        "embeddings.position_embeddings.weight",
        a.max_positions,
        h,
        opts.max_positions.unwrap_or(a.max_positions),
        false,
    )?;
    f32v(
        w,
        "embeddings.token_type_embeddings.weight",
        &[a.type_vocab_size, h],
    )?;
    f32v(w, "embeddings.LayerNorm.weight", &[h])?;
    f32v(w, "embeddings.LayerNorm.bias", &[h])?;
    for i in 0..a.layers {
        let p = format!("encoder.layer.{i}");
        for (m, n, k) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", f, h),
            ("output.dense", h, f),
        ] {
            let name = format!("{p}.{m}.weight");
            if opts.fp32 {
                f32v(w, &name, &[n, k])?;
            } else {
                add_i8_packed(w, &name, n, k, &values(t, &name, &[n, k])?)?;
            }
            f32v(w, &format!("{p}.{m}.bias"), &[n])?;
        }
        for m in ["attention.output.LayerNorm", "output.LayerNorm"] {
            f32v(w, &format!("{p}.{m}.weight"), &[h])?;
            f32v(w, &format!("{p}.{m}.bias"), &[h])?;
        }
    }
    for head in &meta.heads {
        let n = head.labels.len();
        let name = format!("heads.{}.weight", head.name);
        if opts.int8_heads && !opts.fp32 {
            add_i8_rows(w, &name, n, h, &values(t, &name, &[n, h])?)?;
        } else {
            f32v(w, &name, &[n, h])?;
        }
        f32v(w, &format!("heads.{}.bias", head.name), &[n])?;
    }
    Ok(())
}
