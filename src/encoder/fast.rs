//! The fast encoder: int8 GEMMs (per-token dynamic activation quantization,
//! per-channel weights read in place from the file) with LayerNorm, softmax,
//! GELU and the attention products in f32. Buffers live in per-thread
//! scratch and are reused from call to call.

use std::cell::RefCell;

use super::ops::{attention, attention_scratch, gelu_in_place, layer_norm};
use super::weights::{EncoderRef, LinearRef, Mat, MatData, Scales};
use crate::error::{Error, Result};
use crate::format::ModelFile;
use crate::kernels::{self, Epilogue, Isa, PackedMatrix};

/// Per-thread buffers of the fast path (grown, never shrunk).
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    ctx: Vec<f32>,
    attn: Vec<f32>,
    inner: Vec<f32>,
    scores: Vec<f32>,
    row: Vec<f32>,
    aq: Vec<i8>,
    ascale: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn grow<T: Default + Clone>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    if v.len() < n {
        v.resize(n, T::default());
    }
    &mut v[..n]
}

/// True when every Linear weight of the encoder is int8 in the kernels'
/// packed layout with f32 scales, so the fast path can run on this file.
pub fn supports(file: &ModelFile, enc: &EncoderRef) -> bool {
    enc.layers.iter().all(|l| {
        [
            &l.query,
            &l.key,
            &l.value,
            &l.attn_out,
            &l.ffn_in,
            &l.ffn_out,
        ]
        .iter()
        .all(|lin| {
            matches!(
                lin.weight.view(file).map(|m| m.data),
                Ok(MatData::I8Packed(_, Scales::F32(_)))
            )
        })
    })
}

/// Quantized activations: `m` rows of `padded_k(k)` int8 values and their scales.
struct QuantRows<'s> {
    q: &'s [i8],
    scales: &'s [f32],
    m: usize,
    k: usize,
}

/// Quantizes the `m` rows of `x` (width `k`) once, for every Linear that
/// reads them.
fn quantize<'s>(
    isa: Isa,
    x: &[f32],
    m: usize,
    k: usize,
    aq: &'s mut Vec<i8>,
    ascale: &'s mut Vec<f32>,
) -> QuantRows<'s> {
    let kp = kernels::padded_k(k);
    let q = grow(aq, m * kp);
    let scales = grow(ascale, m);
    kernels::quantize_rows_isa(isa, &x[..m * k], m, k, q, scales);
    QuantRows { q, scales, m, k }
}

/// One int8 Linear on quantized rows: writes `out = x W^T + b` (or adds it
/// to `out` with [`Epilogue::Accumulate`]).
fn gemm(
    isa: Isa,
    file: &ModelFile,
    lin: &LinearRef,
    x: &QuantRows,
    out: &mut [f32],
    epilogue: Epilogue,
) -> Result<()> {
    let w: Mat = lin.weight.view(file)?;
    let MatData::I8Packed(data, Scales::F32(scales)) = w.data else {
        return Err(Error::format(
            "fast path on a weight that is not packed int8",
        ));
    };
    if w.k != x.k {
        return Err(Error::format("Linear input width disagrees"));
    }
    let packed = PackedMatrix::new(data, w.n, w.k)
        .ok_or_else(|| Error::format("packed weight of the wrong length"))?;
    let bias = lin.bias.view(file)?;
    kernels::gemm_i8_ex(
        isa,
        x.q,
        x.scales,
        x.m,
        &packed,
        scales,
        Some(&bias),
        out,
        w.n,
        epilogue,
    );
    Ok(())
}

/// One int8 Linear: quantizes the `m` rows of `x` and runs [`gemm`].
#[allow(clippy::too_many_arguments)]
fn linear(
    isa: Isa,
    file: &ModelFile,
    lin: &LinearRef,
    x: &[f32],
    m: usize,
    aq: &mut Vec<i8>,
    ascale: &mut Vec<f32>,
    out: &mut [f32],
    epilogue: Epilogue,
) -> Result<()> {
    let k = lin.weight.view(file)?.k;
    let xq = quantize(isa, x, m, k, aq, ascale);
    gemm(isa, file, lin, &xq, out, epilogue)
}

/// Runs the encoder over `ids` (with `[CLS]`/`[SEP]`, no padding) on `isa`
/// and leaves the last hidden states (`[ids.len(), hidden]`) in `hidden`.
pub fn forward(
    file: &ModelFile,
    enc: &EncoderRef,
    isa: Isa,
    ids: &[u32],
    hidden: &mut Vec<f32>,
) -> Result<()> {
    let a = &enc.arch;
    let (t, h) = (ids.len(), a.hidden);
    if t == 0 || t > a.max_positions {
        return Err(Error::InvalidArgument(format!(
            "sequence of {t} tokens for a model of {} positions",
            a.max_positions
        )));
    }
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let s = &mut *guard;
        let x = grow(hidden, t * h);
        let body = Layers {
            file,
            enc,
            isa,
            s,
            x,
            ids,
        };
        kernels::with_vector_isa(isa, body)?;
        hidden.truncate(t * h);
        Ok(())
    })
}

/// The embedding of `ids` into `x` (`[t, hidden]`) and the encoder layers
/// over it, in place, as work for [`kernels::with_vector_isa`]: its f32
/// loops are compiled for the ISA's vector unit.
struct Layers<'a> {
    file: &'a ModelFile,
    enc: &'a EncoderRef,
    isa: Isa,
    s: &'a mut Scratch,
    x: &'a mut [f32],
    ids: &'a [u32],
}

impl kernels::VectorBody for Layers<'_> {
    type Out = Result<()>;
    #[inline(always)]
    fn run(self) -> Result<()> {
        let Layers {
            file,
            enc,
            isa,
            s,
            x,
            ids,
        } = self;
        enc.embed(file, ids, x, &mut s.row)?;
        layers(file, enc, isa, s, x, ids.len())
    }
}

#[inline(always)]
fn layers(
    file: &ModelFile,
    enc: &EncoderRef,
    isa: Isa,
    s: &mut Scratch,
    x: &mut [f32],
    t: usize,
) -> Result<()> {
    let a = &enc.arch;
    let (h, inter) = (a.hidden, a.intermediate);
    let eps = a.layer_norm_eps;
    for layer in &enc.layers {
        let st = Epilogue::Store;
        // Q, K and V read the same rows: quantized once.
        let xq = quantize(isa, x, t, h, &mut s.aq, &mut s.ascale);
        let q = grow(&mut s.q, t * h);
        gemm(isa, file, &layer.query, &xq, q, st)?;
        let k = grow(&mut s.k, t * h);
        gemm(isa, file, &layer.key, &xq, k, st)?;
        let v = grow(&mut s.v, t * h);
        gemm(isa, file, &layer.value, &xq, v, st)?;
        let (aq, asc) = (&mut s.aq, &mut s.ascale);
        let ctx = grow(&mut s.ctx, t * h);
        let scores = grow(&mut s.scores, attention_scratch(t, h, a.heads));
        attention(q, k, v, ctx, scores, t, h, a.heads, &[]);
        // attn = x + dense(ctx), then LayerNorm.
        let attn = grow(&mut s.attn, t * h);
        attn.copy_from_slice(x);
        linear(
            isa,
            file,
            &layer.attn_out,
            ctx,
            t,
            aq,
            asc,
            attn,
            Epilogue::Accumulate,
        )?;
        let n1 = &layer.attn_norm;
        layer_norm(attn, h, &n1.gamma.view(file)?, &n1.beta.view(file)?, eps);
        // x = attn + ffn_out(gelu(ffn_in(attn))), then LayerNorm.
        let inner = grow(&mut s.inner, t * inter);
        linear(isa, file, &layer.ffn_in, attn, t, aq, asc, inner, st)?;
        gelu_in_place(inner);
        x.copy_from_slice(attn);
        linear(
            isa,
            file,
            &layer.ffn_out,
            inner,
            t,
            aq,
            asc,
            x,
            Epilogue::Accumulate,
        )?;
        let n2 = &layer.ffn_norm;
        layer_norm(x, h, &n2.gamma.view(file)?, &n2.beta.view(file)?, eps);
    }
    Ok(())
}
