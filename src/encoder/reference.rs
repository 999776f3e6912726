//! The reference encoder: a plain, readable f32 BERT forward pass.
//!
//! This path defines what is correct. Quantized weights are dequantized row
//! by row as they are used; nothing is cached or fused. The pass runs as a
//! [`kernels::VectorBody`], so its explicit multiply-adds are one `vfmadd`
//! where the CPU has FMA rather than a call to the C library's `fmaf` (the
//! same bits either way: both round once).

use std::cell::RefCell;

use super::ops::{attention, attention_scratch, dot, gelu_in_place, layer_norm};
use super::weights::{EncoderRef, LinearRef, Mat};
use crate::error::{Error, Result};
use crate::format::ModelFile;
use crate::kernels;

/// `y[m] = x[m] W^T + b` for the `m` rows of `x` (width `k`), `W: [n, k]`.
pub fn linear_ref(file: &ModelFile, lin: &LinearRef, x: &[f32], m: usize) -> Result<Vec<f32>> {
    let mut y = Vec::new();
    let body = Linear {
        file,
        lin,
        x,
        m,
        y: &mut y,
    };
    kernels::with_vector_isa(kernels::detect(), body)?;
    Ok(y)
}

/// [`linear_ref`] into `y` (resized to `m * n`), `row` as scratch.
#[inline(always)]
fn linear_ref_into(
    file: &ModelFile,
    lin: &LinearRef,
    x: &[f32],
    m: usize,
    y: &mut Vec<f32>,
    row: &mut Vec<f32>,
) -> Result<()> {
    let w: Mat = lin.weight.view(file)?;
    let b = lin.bias.view(file)?;
    let (n, k) = (w.n, w.k);
    y.resize(m * n, 0.0);
    row.resize(k, 0.0);
    for j in 0..n {
        w.row_into(j, row);
        for i in 0..m {
            y[i * n + j] = dot(&x[i * k..(i + 1) * k], row) + b[j];
        }
    }
    Ok(())
}

/// Per-thread buffers of the reference pass (grown, never shrunk).
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    ctx: Vec<f32>,
    scores: Vec<f32>,
    attn: Vec<f32>,
    inner: Vec<f32>,
    row: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs the encoder over `ids` (with `[CLS]`/`[SEP]` already in place).
/// `mask[t]` is false for padding, which no real position attends to.
/// Returns the last hidden states, `[ids.len(), hidden]` row-major.
pub fn forward(file: &ModelFile, enc: &EncoderRef, ids: &[u32], mask: &[bool]) -> Result<Vec<f32>> {
    if mask.len() != ids.len() {
        return Err(Error::InvalidArgument(format!(
            "mask of {} for {} tokens",
            mask.len(),
            ids.len()
        )));
    }
    let mut x = Vec::new();
    forward_into(file, enc, ids, mask, &mut x)?;
    Ok(x)
}

/// [`forward`] into `x` (resized to `[ids.len(), hidden]`), with per-thread
/// scratch: allocates nothing once the buffers have grown. An empty `mask`
/// means no padding.
pub fn forward_into(
    file: &ModelFile,
    enc: &EncoderRef,
    ids: &[u32],
    mask: &[bool],
    x: &mut Vec<f32>,
) -> Result<()> {
    let (a, t) = (&enc.arch, ids.len());
    if t == 0 || t > a.max_positions || !(mask.is_empty() || mask.len() == t) {
        return Err(Error::InvalidArgument(format!(
            "sequence of {t} tokens (mask {}) for a model of {} positions",
            mask.len(),
            a.max_positions
        )));
    }
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let body = Layers {
            file,
            enc,
            ids,
            mask,
            x,
            s: &mut guard,
        };
        kernels::with_vector_isa(kernels::detect(), body)
    })
}

/// The work of [`linear_ref`], compiled for the vector unit.
struct Linear<'a> {
    file: &'a ModelFile,
    lin: &'a LinearRef,
    x: &'a [f32],
    m: usize,
    y: &'a mut Vec<f32>,
}

impl kernels::VectorBody for Linear<'_> {
    type Out = Result<()>;
    #[inline(always)]
    fn run(self) -> Result<()> {
        linear_ref_into(self.file, self.lin, self.x, self.m, self.y, &mut Vec::new())
    }
}

/// The work of [`forward_into`] after its checks, compiled for the vector unit.
struct Layers<'a> {
    file: &'a ModelFile,
    enc: &'a EncoderRef,
    ids: &'a [u32],
    mask: &'a [bool],
    x: &'a mut Vec<f32>,
    s: &'a mut Scratch,
}

impl kernels::VectorBody for Layers<'_> {
    type Out = Result<()>;
    #[inline(always)]
    fn run(self) -> Result<()> {
        layers(self.file, self.enc, self.ids, self.mask, self.x, self.s)
    }
}

/// The embedding and every layer of [`forward_into`].
#[inline(always)]
fn layers(
    file: &ModelFile,
    enc: &EncoderRef,
    ids: &[u32],
    mask: &[bool],
    x: &mut Vec<f32>,
    s: &mut Scratch,
) -> Result<()> {
    let a = &enc.arch;
    let (t, h) = (ids.len(), a.hidden);
    x.resize(t * h, 0.0);
    s.row.resize(h.max(s.row.len()), 0.0);
    enc.embed(file, ids, x, &mut s.row)?;
    let eps = a.layer_norm_eps;
    for layer in &enc.layers {
        linear_ref_into(file, &layer.query, x, t, &mut s.q, &mut s.row)?;
        linear_ref_into(file, &layer.key, x, t, &mut s.k, &mut s.row)?;
        linear_ref_into(file, &layer.value, x, t, &mut s.v, &mut s.row)?;
        s.ctx.resize(t * h, 0.0);
        s.scores.resize(attention_scratch(t, h, a.heads), 0.0);
        attention(
            &s.q,
            &s.k,
            &s.v,
            &mut s.ctx,
            &mut s.scores,
            t,
            h,
            a.heads,
            mask,
        );
        linear_ref_into(file, &layer.attn_out, &s.ctx, t, &mut s.attn, &mut s.row)?;
        s.attn.iter_mut().zip(x.iter()).for_each(|(o, r)| *o += r);
        let n1 = &layer.attn_norm;
        layer_norm(
            &mut s.attn,
            h,
            &n1.gamma.view(file)?,
            &n1.beta.view(file)?,
            eps,
        );
        linear_ref_into(file, &layer.ffn_in, &s.attn, t, &mut s.inner, &mut s.row)?;
        gelu_in_place(&mut s.inner);
        linear_ref_into(file, &layer.ffn_out, &s.inner, t, x, &mut s.row)?;
        x.iter_mut().zip(&s.attn).for_each(|(o, r)| *o += r);
        let n2 = &layer.ffn_norm;
        layer_norm(x, h, &n2.gamma.view(file)?, &n2.beta.view(file)?, eps);
    }
    Ok(())
}
