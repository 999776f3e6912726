//! The reference encoder: a plain, readable f32 BERT forward pass.
//!
//! This path defines what is correct. Quantized weights are dequantized row
//! by row as they are used; nothing is cached or fused.

use super::ops::{attention, dot, gelu, layer_norm};
use super::weights::{EncoderRef, LinearRef, Mat};
use crate::error::{Error, Result};
use crate::format::ModelFile;

/// `y[m] = x[m] W^T + b` for the `m` rows of `x` (width `k`), `W: [n, k]`.
pub fn linear_ref(file: &ModelFile, lin: &LinearRef, x: &[f32], m: usize) -> Result<Vec<f32>> {
    let w: Mat = lin.weight.view(file)?;
    let b = lin.bias.view(file)?;
    let (n, k) = (w.n, w.k);
    let mut y = vec![0.0f32; m * n];
    let mut row = vec![0.0f32; k];
    for j in 0..n {
        w.row_into(j, &mut row);
        for i in 0..m {
            y[i * n + j] = dot(&x[i * k..(i + 1) * k], &row) + b[j];
        }
    }
    Ok(y)
}

/// Runs the encoder over `ids` (with `[CLS]`/`[SEP]` already in place).
/// `mask[t]` is false for padding, which no real position attends to.
/// Returns the last hidden states, `[ids.len(), hidden]` row-major.
pub fn forward(file: &ModelFile, enc: &EncoderRef, ids: &[u32], mask: &[bool]) -> Result<Vec<f32>> {
    let a = &enc.arch;
    let (t, h) = (ids.len(), a.hidden);
    if t == 0 || t > a.max_positions || mask.len() != t {
        return Err(Error::InvalidArgument(format!(
            "sequence of {t} tokens (mask {}) for a model of {} positions",
            mask.len(),
            a.max_positions
        )));
    }
    let mut x = vec![0.0f32; t * h];
    enc.embed(file, ids, &mut x, &mut vec![0.0f32; h])?;
    let eps = a.layer_norm_eps;
    for layer in &enc.layers {
        let q = linear_ref(file, &layer.query, &x, t)?;
        let k = linear_ref(file, &layer.key, &x, t)?;
        let v = linear_ref(file, &layer.value, &x, t)?;
        let mut ctx = vec![0.0f32; t * h];
        attention(
            &q,
            &k,
            &v,
            &mut ctx,
            &mut vec![0.0f32; t],
            t,
            h,
            a.heads,
            mask,
        );
        let mut attn = linear_ref(file, &layer.attn_out, &ctx, t)?;
        attn.iter_mut().zip(&x).for_each(|(o, r)| *o += r);
        let n1 = &layer.attn_norm;
        layer_norm(
            &mut attn,
            h,
            &n1.gamma.view(file)?,
            &n1.beta.view(file)?,
            eps,
        );
        let mut inner = linear_ref(file, &layer.ffn_in, &attn, t)?;
        inner.iter_mut().for_each(|v| *v = gelu(*v));
        let mut out = linear_ref(file, &layer.ffn_out, &inner, t)?;
        out.iter_mut().zip(&attn).for_each(|(o, r)| *o += r);
        let n2 = &layer.ffn_norm;
        layer_norm(
            &mut out,
            h,
            &n2.gamma.view(file)?,
            &n2.beta.view(file)?,
            eps,
        );
        x = out;
    }
    Ok(x)
}
