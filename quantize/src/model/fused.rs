//! Fused CPU kernels WITH backward for the hot element-wise parts of the
//! encoder: LayerNorm's normalisation, softmax and exact (erf) GELU.
//!
//! Each replaces a chain of a dozen small candle ops (and their backward
//! graphs) by one pass forward and one pass backward. They compute the same
//! functions as the composed versions in [`super::ops`], which the tests check,
//! values and gradients. Inputs must be contiguous f32 (the wrappers ensure it).

use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use crate::error::Result;

fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        bail!("fused ops want f32")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => bail!("fused ops want contiguous inputs"),
    }
}

fn row_len(l: &Layout) -> usize {
    l.dims().last().copied().unwrap_or(1).max(1)
}

/// `(x - mean) / sqrt(var + eps)` over the last dimension.
struct Norm {
    eps: f32,
}

struct NormBwd {
    eps: f32,
}

fn stats(r: &[f32], eps: f32) -> (f32, f32) {
    let n = r.len() as f32;
    let mean = r.iter().sum::<f32>() / n;
    let var = r.iter().map(|&x| (x - mean) * (x - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp1 for Norm {
    fn name(&self) -> &'static str {
        "picotag-norm"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l)?;
        let d = row_len(l);
        let mut y = vec![0f32; x.len()];
        for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let (mean, rstd) = stats(xr, self.eps);
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = (v - mean) * rstd;
            }
        }
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(
            &grad.contiguous()?,
            &NormBwd { eps: self.eps },
        )?))
    }
}

impl CustomOp2 for NormBwd {
    fn name(&self) -> &'static str {
        "picotag-norm-bwd"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, g) = (slice(s1, l1)?, slice(s2, l2)?);
        let d = row_len(l1);
        let mut dx = vec![0f32; x.len()];
        for ((xr, gr), dr) in x
            .chunks_exact(d)
            .zip(g.chunks_exact(d))
            .zip(dx.chunks_exact_mut(d))
        {
            let (mean, rstd) = stats(xr, self.eps);
            let n = d as f32;
            let (mut sg, mut sgx) = (0f32, 0f32);
            for (&xv, &gv) in xr.iter().zip(gr) {
                sg += gv;
                sgx += gv * (xv - mean) * rstd;
            }
            let (mg, mgx) = (sg / n, sgx / n);
            for ((o, &xv), &gv) in dr.iter_mut().zip(xr).zip(gr) {
                *o = rstd * (gv - mg - (xv - mean) * rstd * mgx);
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// Softmax over the last dimension.
struct Softmax;
struct SoftmaxBwd;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "picotag-softmax"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l)?;
        let d = row_len(l);
        let mut y = vec![0f32; x.len()];
        for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let m = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = (v - m).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            yr.iter_mut().for_each(|o| *o *= inv);
        }
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
    fn bwd(
        &self,
        _arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxBwd)?,
        ))
    }
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "picotag-softmax-bwd"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (y, g) = (slice(s1, l1)?, slice(s2, l2)?);
        let d = row_len(l1);
        let mut dx = vec![0f32; y.len()];
        for ((yr, gr), dr) in y
            .chunks_exact(d)
            .zip(g.chunks_exact(d))
            .zip(dx.chunks_exact_mut(d))
        {
            let dot: f32 = yr.iter().zip(gr).map(|(&a, &b)| a * b).sum();
            for ((o, &yv), &gv) in dr.iter_mut().zip(yr).zip(gr) {
                *o = yv * (gv - dot);
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// `erf` with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26).
#[inline]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let p = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let r = 1.0 - p * (-a * a).exp();
    r.copysign(x)
}

/// Exact GELU: `x · Φ(x)`.
struct Gelu;
struct GeluBwd;

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const INV_SQRT_2PI: f32 = 0.398_942_3;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "picotag-gelu"
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l)?;
        let y: Vec<f32> = x
            .iter()
            .map(|&v| 0.5 * v * (1.0 + erf(v * FRAC_1_SQRT_2)))
            .collect();
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }
    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(&grad.contiguous()?, &GeluBwd)?))
    }
}

impl CustomOp2 for GeluBwd {
    fn name(&self) -> &'static str {
        "picotag-gelu-bwd"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, g) = (slice(s1, l1)?, slice(s2, l2)?);
        let dx: Vec<f32> = x
            .iter()
            .zip(g)
            .map(|(&v, &gv)| {
                let cdf = 0.5 * (1.0 + erf(v * FRAC_1_SQRT_2));
                gv * (cdf + v * INV_SQRT_2PI * (-0.5 * v * v).exp())
            })
            .collect();
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

fn on_cpu(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32
}

/// LayerNorm over the last dimension (fused on the CPU, composed elsewhere).
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    if !on_cpu(x) {
        return super::ops::layer_norm(x, w, b, eps);
    }
    let xn = x.contiguous()?.apply_op1(Norm { eps: eps as f32 })?;
    Ok(xn.broadcast_mul(w)?.broadcast_add(b)?)
}

/// Softmax over the last dimension (fused on the CPU, composed elsewhere).
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    if !on_cpu(x) {
        return super::ops::softmax(x);
    }
    Ok(x.contiguous()?.apply_op1(Softmax)?)
}

/// Exact GELU (fused on the CPU, candle's `gelu_erf` elsewhere).
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if !on_cpu(x) {
        return Ok(x.gelu_erf()?);
    }
    Ok(x.contiguous()?.apply_op1(Gelu)?)
}
