//! Differentiable building blocks. candle-nn's fused layer-norm and
//! `softmax_last_dim` have no backward, so these are composed from ops that do.

use candle_core::{DType, Tensor, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;

/// LayerNorm over the last dimension, from mean/variance ops.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
    Ok(xn.broadcast_mul(w)?.broadcast_add(b)?)
}

/// Softmax over the last dimension, from exp/sum ops (max subtracted for stability).
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&m)?.exp()?;
    let s = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&s)?)
}

/// `x · wᵀ + b` for `x` of shape `[n, in]`, `w` of shape `[out, in]`.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?.broadcast_add(b)?)
}

/// Mean cross-entropy of `logits` `[n, classes]` against `labels` `[n]` (u32).
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let m = logits.max_keepdim(D::Minus1)?.detach();
    let z = logits.broadcast_sub(&m)?;
    let lse = z.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let logp = z.broadcast_sub(&lse)?;
    let picked = logp.gather(&labels.unsqueeze(1)?, 1)?;
    Ok(picked.mean_all()?.neg()?)
}

/// Partial-label (marginal likelihood) loss: the mean over rows of
/// `-log Σ_{l ∈ S} softmax(logits)_l`, where `allowed` `[n, classes]` (f32,
/// 1 or 0) marks each row's target set `S`. A one-hot row is the plain
/// cross-entropy; a row that allows several labels does not care how the
/// model splits probability among them.
pub fn partial_label_nll(logits: &Tensor, allowed: &Tensor) -> Result<Tensor> {
    let all = log_sum_exp(logits)?;
    // Labels outside the set drop to -1e9: exp gives exactly 0, so they take
    // no part in (and get no gradient from) the set's log-sum-exp.
    let set = log_sum_exp(&(logits + ((allowed - 1.0)? * 1e9)?)?)?;
    Ok((all - set)?.mean_all()?)
}

/// `log Σ exp` over the last dimension (max subtracted for stability), keeping it.
fn log_sum_exp(x: &Tensor) -> Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?.detach();
    let s = x.broadcast_sub(&m)?.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok((s + m)?)
}

/// Seeded inverted dropout; `None` (evaluation) or `p == 0` is the identity.
pub struct Dropout {
    /// Drop probability.
    pub p: f32,
    rng: ChaCha8Rng,
}

impl Dropout {
    /// Dropout with probability `p` drawing from `rng`.
    pub fn new(p: f32, rng: ChaCha8Rng) -> Dropout {
        Dropout { p, rng }
    }

    /// Applies dropout to `x`.
    pub fn apply(&mut self, x: &Tensor) -> Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 / (1.0 - self.p);
        let n = x.elem_count();
        let mut mask = Vec::with_capacity(n);
        for _ in 0..n {
            let r: f32 = self.rng.random();
            mask.push(if r < self.p { 0.0 } else { keep });
        }
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(DType::F32)?;
        Ok(x.mul(&mask)?)
    }
}

/// Applies optional dropout.
pub fn dropout(x: &Tensor, d: &mut Option<Dropout>) -> Result<Tensor> {
    match d {
        Some(d) => d.apply(x),
        None => Ok(x.clone()),
    }
}
