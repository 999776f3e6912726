//! The masked-language-model head (BERT's `cls.predictions`, decoder tied to
//! the word embeddings) and its loss on a batch of masked windows.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor, D};
use picotag::format::Architecture;
use rand_chacha::ChaCha8Rng;

use super::mask::Masked;
use crate::error::{Error, Result};
use crate::model::bert::Bert;
use crate::model::fused::{gelu, layer_norm};
use crate::model::ops::{cross_entropy, linear, Dropout};
use crate::model::params::{init_tensor, Init, Params, WORD_EMBEDDINGS};

const DENSE: &str = "cls.predictions.transform.dense";
const NORM: &str = "cls.predictions.transform.LayerNorm";
const BIAS: &str = "cls.predictions.bias";

/// Names, shapes and initialisers of the head's tensors (HF BERT names).
fn head_shapes(a: &Architecture) -> Vec<(String, Vec<usize>, Init)> {
    let h = a.hidden;
    vec![
        (format!("{DENSE}.weight"), vec![h, h], Init::Normal),
        (format!("{DENSE}.bias"), vec![h], Init::Zeros),
        (format!("{NORM}.weight"), vec![h], Init::Ones),
        (format!("{NORM}.bias"), vec![h], Init::Zeros),
        (BIAS.to_string(), vec![a.vocab_size], Init::Zeros),
    ]
}

/// Adds freshly initialised head tensors to `tensors` where they are
/// missing (a sentence-embedding checkpoint has none); keeps the ones there.
pub fn add_head(
    a: &Architecture,
    tensors: &mut BTreeMap<String, Tensor>,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> Result<()> {
    for (name, shape, init) in head_shapes(a) {
        match tensors.get(&name) {
            Some(t) if t.dims() != shape.as_slice() => {
                return Err(Error::Model(format!(
                    "{name}: shape {:?}, expected {shape:?}",
                    t.dims()
                )))
            }
            Some(_) => {}
            None => {
                tensors.insert(name, init_tensor(&shape, init, rng, dev)?);
            }
        }
    }
    Ok(())
}

/// Is `name` one of the head's tensors.
pub fn is_head_tensor(name: &str) -> bool {
    name.starts_with("cls.predictions.")
}

/// The head, bound to a parameter store.
pub struct MlmHead {
    dense_w: Tensor,
    dense_b: Tensor,
    norm_w: Tensor,
    norm_b: Tensor,
    bias: Tensor,
    word: Tensor,
    eps: f64,
}

impl MlmHead {
    /// Binds the head (and the word embeddings it is tied to) to `p`.
    pub fn new(p: &Params, a: &Architecture) -> Result<MlmHead> {
        if a.embedding_rank.is_some() {
            return Err(Error::Spec(
                "adapt needs full-rank word embeddings (no embedding_rank)".into(),
            ));
        }
        Ok(MlmHead {
            dense_w: p.get(&format!("{DENSE}.weight"))?,
            dense_b: p.get(&format!("{DENSE}.bias"))?,
            norm_w: p.get(&format!("{NORM}.weight"))?,
            norm_b: p.get(&format!("{NORM}.bias"))?,
            bias: p.get(BIAS)?,
            word: p.get(WORD_EMBEDDINGS)?,
            eps: a.layer_norm_eps as f64,
        })
    }

    /// Vocabulary logits `[n, vocab]` of hidden rows `[n, hidden]`.
    pub fn logits(&self, rows: &Tensor) -> Result<Tensor> {
        let x = gelu(&linear(rows, &self.dense_w, &self.dense_b)?)?;
        let x = layer_norm(&x, &self.norm_w, &self.norm_b, self.eps)?;
        Ok(x.matmul(&self.word.t()?)?.broadcast_add(&self.bias)?)
    }
}

/// A padded batch of masked windows.
pub struct MlmBatch {
    ids: Tensor,
    mask: Tensor,
    /// Flat positions (`row * t + col`) of the targets.
    positions: Tensor,
    targets: Tensor,
    /// Targets in the batch.
    pub n_targets: usize,
    /// Real (unpadded) tokens in the batch.
    pub tokens: usize,
}

impl MlmBatch {
    /// Pads `items` to their longest (pad id 0).
    pub fn new(items: &[Masked], dev: &Device) -> Result<MlmBatch> {
        let b = items.len();
        let t = items.iter().map(|m| m.ids.len()).max().unwrap_or(0);
        let mut ids = vec![0u32; b * t];
        let mut mask = vec![0f32; b * t];
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        for (r, m) in items.iter().enumerate() {
            ids[r * t..r * t + m.ids.len()].copy_from_slice(&m.ids);
            mask[r * t..r * t + m.ids.len()].fill(1.0);
            positions.extend(m.positions.iter().map(|&p| (r * t + p) as u32));
            targets.extend_from_slice(&m.targets);
        }
        let n = positions.len();
        Ok(MlmBatch {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            mask: Tensor::from_vec(mask, (b, t), dev)?,
            positions: Tensor::from_vec(positions, n, dev)?,
            targets: Tensor::from_vec(targets, n, dev)?,
            n_targets: n,
            tokens: items.iter().map(|m| m.ids.len()).sum(),
        })
    }
}

/// The mean cross-entropy over the batch's targets, and how many of them the
/// model's top guess restores.
pub fn mlm_loss(
    bert: &Bert,
    head: &MlmHead,
    batch: &MlmBatch,
    drop: &mut Option<Dropout>,
) -> Result<(Tensor, usize)> {
    if batch.n_targets == 0 {
        return Err(Error::Model("a masked batch without targets".into()));
    }
    let hidden = bert.forward(&batch.ids, &batch.mask, drop)?;
    let rows = hidden.index_select(&batch.positions, 0)?;
    let logits = head.logits(&rows)?;
    let guess = logits.detach().argmax(D::Minus1)?;
    let right = guess
        .eq(&batch.targets)?
        .to_dtype(DType::F32)?
        .sum_all()?
        .to_scalar::<f32>()? as usize;
    Ok((cross_entropy(&logits, &batch.targets)?, right))
}
