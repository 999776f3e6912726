//! Symmetric int8 quantization: per output channel (weights) and per token (activations).
//!
//! One rule everywhere: `amax = max|x|`, `scale = amax / 127`, and
//! `q = clamp(round_half_to_even(x * (127 / amax)), -127, 127)`; a row with
//! `amax == 0` gets `scale = 0` and all-zero `q`. The SIMD paths compute exactly
//! this (same operations, same rounding), so every path gives identical bytes.
//! Inputs must be finite; non-finite values give unspecified (but memory-safe) output.

use super::{padded_k, Isa};

/// Quantization constants of one row: `(scale, 127 / amax)`, both 0 for an all-zero row.
#[inline]
pub(crate) fn row_params(amax: f32) -> (f32, f32) {
    if amax > 0.0 {
        (amax / 127.0, 127.0 / amax)
    } else {
        (0.0, 0.0)
    }
}

/// `max |x|` of a row (exact, so the evaluation order does not matter).
fn amax_scalar(x: &[f32]) -> f32 {
    let mut m = [0.0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (mi, &v) in m.iter_mut().zip(c) {
            *mi = mi.max(v.abs());
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(0.0f32, |a, &v| a.max(v.abs()));
    m.iter().fold(tail, |a, &v| a.max(v))
}

/// Quantizes one value with the inverse scale `inv` (the scalar definition).
#[inline]
pub(crate) fn quantize_one(x: f32, inv: f32) -> i8 {
    (x * inv).round_ties_even().clamp(-127.0, 127.0) as i8
}

/// Scalar row quantization into `q` (`q.len() >= x.len()`; the rest of `q` is zeroed).
pub(crate) fn quantize_row_scalar(x: &[f32], q: &mut [i8]) -> f32 {
    let (scale, inv) = row_params(amax_scalar(x));
    let (head, pad) = q.split_at_mut(x.len());
    for (d, &v) in head.iter_mut().zip(x) {
        *d = quantize_one(v, inv);
    }
    pad.fill(0);
    scale
}

/// Per-output-channel symmetric quantization of a row-major `[n, k]` f32 matrix.
///
/// Returns the row-major int8 matrix (values in `[-127, 127]`, not packed; see
/// [`super::pack_k4n16`]) and the `n` scales, so that `w[i][j] ≈ q[i][j] * scale[i]`.
pub fn quantize_weights_per_channel(w: &[f32], n: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(
        w.len(),
        n * k,
        "quantize_weights_per_channel: w must hold n*k values"
    );
    let mut q = vec![0i8; n * k];
    let mut scales = vec![0.0f32; n];
    if k > 0 {
        for ((src, dst), s) in w
            .chunks_exact(k)
            .zip(q.chunks_exact_mut(k))
            .zip(&mut scales)
        {
            *s = quantize_row_scalar(src, dst);
        }
    }
    (q, scales)
}

/// Per-token dynamic quantization of a row-major `[m, k]` f32 matrix, on the best ISA.
///
/// Writes `m` rows of `padded_k(k)` bytes into `q` (zero padded) and the `m` row
/// scales into `scales`. Same result as [`quantize_rows_isa`] with any ISA.
pub fn quantize_rows(x: &[f32], m: usize, k: usize, q: &mut [i8], scales: &mut [f32]) {
    quantize_rows_isa(super::detect(), x, m, k, q, scales)
}

/// [`quantize_rows`] on a given ISA (an unavailable one falls back to [`super::detect`]).
pub fn quantize_rows_isa(
    isa: Isa,
    x: &[f32],
    m: usize,
    k: usize,
    q: &mut [i8],
    scales: &mut [f32],
) {
    let kp = padded_k(k);
    assert!(
        x.len() >= m * k,
        "quantize_rows: x holds fewer than m*k values"
    );
    assert!(
        q.len() >= m * kp,
        "quantize_rows: q holds fewer than m*padded_k(k) bytes"
    );
    assert!(scales.len() >= m, "quantize_rows: fewer than m scales");
    let isa = isa.or_detected();
    for r in 0..m {
        let src = &x[r * k..(r + 1) * k];
        let dst = &mut q[r * kp..(r + 1) * kp];
        scales[r] = match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni | Isa::Amx => {
                // SAFETY: `or_detected` returned Avx512Vnni or Amx only if
                // AVX-512 F is available.
                unsafe { super::avx512::quantize_row_avx512(src, dst) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 | Isa::AvxVnni => {
                // SAFETY: `or_detected` returned an x86 ISA only if AVX2 is available.
                unsafe { super::x86::quantize_row_avx2(src, dst) }
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon | Isa::NeonDot | Isa::NeonI8mm => {
                // SAFETY: `or_detected` returned an aarch64 ISA only if NEON is available.
                unsafe { super::aarch64::quantize_row_neon(src, dst) }
            }
            _ => quantize_row_scalar(src, dst),
        };
    }
}
