//! The reference encoder: a plain, readable f32 BERT forward pass.
//!
//! This path defines what is correct. Quantized weights are dequantized row
//! by row as they are used; nothing is cached or fused.

use super::ops::{dot, gelu, layer_norm, softmax};
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
    let word = enc.word.view(file)?;
    let pos = enc.position.view(file)?;
    let typ = enc.token_type.view(file)?;
    let mut x = vec![0.0f32; t * h];
    let mut tmp = vec![0.0f32; h];
    for (i, &id) in ids.iter().enumerate() {
        let id = id as usize;
        if id >= a.vocab_size {
            return Err(Error::InvalidArgument(format!(
                "token id {id} outside the vocabulary of {}",
                a.vocab_size
            )));
        }
        let xi = &mut x[i * h..(i + 1) * h];
        word.row_into(id, xi);
        pos.row_into(i, &mut tmp);
        xi.iter_mut().zip(&tmp).for_each(|(v, p)| *v += p);
        typ.row_into(0, &mut tmp);
        xi.iter_mut().zip(&tmp).for_each(|(v, p)| *v += p);
    }
    let eps = a.layer_norm_eps;
    layer_norm(
        &mut x,
        h,
        &enc.emb_norm.gamma.view(file)?,
        &enc.emb_norm.beta.view(file)?,
        eps,
    );

    let heads = a.heads;
    let d = h / heads;
    let scale = 1.0 / (d as f32).sqrt();
    for layer in &enc.layers {
        let q = linear_ref(file, &layer.query, &x, t)?;
        let k = linear_ref(file, &layer.key, &x, t)?;
        let v = linear_ref(file, &layer.value, &x, t)?;
        let mut ctx = vec![0.0f32; t * h];
        let mut scores = vec![0.0f32; t];
        for hd in 0..heads {
            let off = hd * d;
            for i in 0..t {
                let qi = &q[i * h + off..i * h + off + d];
                for j in 0..t {
                    scores[j] = if mask[j] {
                        dot(qi, &k[j * h + off..j * h + off + d]) * scale
                    } else {
                        f32::NEG_INFINITY
                    };
                }
                softmax(&mut scores);
                let ci = &mut ctx[i * h + off..i * h + off + d];
                for (j, &p) in scores.iter().enumerate() {
                    if p != 0.0 {
                        let vj = &v[j * h + off..j * h + off + d];
                        ci.iter_mut().zip(vj).for_each(|(c, vv)| *c += p * vv);
                    }
                }
            }
        }
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
