//! x86-64 AVX2 kernel (`vpmaddubsw` + sign trick) and row quantizer.
//!
//! Like the other SIMD paths it walks one 16-column block of W at a time and,
//! inside it, tiles of up to 4 activation rows, so each 64-byte weight group is
//! loaded once per tile. The i32 sums are exact; the epilogue is the scalar one
//! done 8 lanes wide with the same operations in the same order (bit-identical).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::quantize::{quantize_one, row_params};
use super::tiles::{drive, tile_ptrs};
use super::{Epilogue, Gemm, KR, NR};

/// Bytes of one (nb, kg) weight group.
const GROUP: usize = NR * KR;

/// AVX2 GEMM.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn gemm_avx2(g: &mut Gemm) {
    drive!(g, tile_avx2, [4, 3, 2, 1])
}

/// One `MR × 16` tile: `a` rows `row0..row0+MR` against W block `nb`.
///
/// `a·w` per 4-group: `vpmaddubsw(|w|, sign(a, w))` gives `|w|·a·sgn(w) = a·w` in
/// pairs of at most `2·128·127 < 2^15` (no saturation for `a ∈ [-127, 127]`), then
/// `vpmaddwd` with ones adds the pairs into i32.
///
/// # Safety
/// The CPU must support AVX2. The operands are checked by `tile_ptrs`
/// (which panics when the tile does not fit `g`), so no other contract.
#[target_feature(enable = "avx2")]
unsafe fn tile_avx2<const MR: usize>(g: &mut Gemm, nb: usize, row0: usize) {
    let (a, w) = tile_ptrs::<MR>(g, nb, row0);
    let kp = g.kp;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; MR];
    for kg in 0..kp / KR {
        // SAFETY: tile_ptrs: the block holds kp/KR groups of 64 bytes from w; loads are unaligned.
        let (w_lo, w_hi) = unsafe {
            let p = w.add(kg * GROUP);
            (
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(32).cast()),
            )
        };
        let (abs_lo, abs_hi) = (_mm256_abs_epi8(w_lo), _mm256_abs_epi8(w_hi));
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: tile_ptrs: row r < MR has kp bytes from a + r*kp, and kg*4+4 <= kp.
            let x4 = unsafe { a.add(r * kp + kg * KR).cast::<i32>().read_unaligned() };
            let x = _mm256_set1_epi32(x4);
            let p_lo = _mm256_maddubs_epi16(abs_lo, _mm256_sign_epi8(x, w_lo));
            let p_hi = _mm256_maddubs_epi16(abs_hi, _mm256_sign_epi8(x, w_hi));
            acc_r[0] = _mm256_add_epi32(acc_r[0], _mm256_madd_epi16(p_lo, ones));
            acc_r[1] = _mm256_add_epi32(acc_r[1], _mm256_madd_epi16(p_hi, ones));
        }
    }
    let n0 = nb * NR;
    if n0 + NR > g.n {
        for (r, acc_r) in acc.iter().enumerate() {
            let mut tmp = [0i32; NR];
            // SAFETY: tmp holds 16 i32 = two 32-byte unaligned stores.
            unsafe {
                _mm256_storeu_si256(tmp.as_mut_ptr().cast(), acc_r[0]);
                _mm256_storeu_si256(tmp.as_mut_ptr().add(8).cast(), acc_r[1]);
            }
            g.store_scalar(row0 + r, n0, &tmp[..g.n - n0]);
        }
        return;
    }
    let ws = &g.w_scales[n0..n0 + NR];
    let bias = g.bias.map(|b| &b[n0..n0 + NR]);
    // SAFETY: ws and bias (when present) hold 16 f32 each.
    let (ws_lo, ws_hi, b_lo, b_hi) = unsafe {
        let (b_lo, b_hi) = match bias {
            Some(b) => (
                _mm256_loadu_ps(b.as_ptr()),
                _mm256_loadu_ps(b.as_ptr().add(8)),
            ),
            None => (_mm256_setzero_ps(), _mm256_setzero_ps()),
        };
        let ws_lo = _mm256_loadu_ps(ws.as_ptr());
        (ws_lo, _mm256_loadu_ps(ws.as_ptr().add(8)), b_lo, b_hi)
    };
    for (r, acc_r) in acc.iter().enumerate() {
        let row = row0 + r;
        let a_s = _mm256_set1_ps(g.a_scales[row]);
        let v_lo = _mm256_add_ps(
            _mm256_mul_ps(_mm256_cvtepi32_ps(acc_r[0]), _mm256_mul_ps(a_s, ws_lo)),
            b_lo,
        );
        let v_hi = _mm256_add_ps(
            _mm256_mul_ps(_mm256_cvtepi32_ps(acc_r[1]), _mm256_mul_ps(a_s, ws_hi)),
            b_hi,
        );
        let dst = &mut g.out[row * g.ldc + n0..row * g.ldc + n0 + NR];
        let p = dst.as_mut_ptr();
        // SAFETY: dst holds 16 f32 (row < m, n0 + 16 <= n, out.len() >= (m-1)*ldc + n).
        unsafe {
            let (v_lo, v_hi) = match g.epilogue {
                Epilogue::Store => (v_lo, v_hi),
                Epilogue::Accumulate => (
                    _mm256_add_ps(_mm256_loadu_ps(p), v_lo),
                    _mm256_add_ps(_mm256_loadu_ps(p.add(8)), v_hi),
                ),
            };
            _mm256_storeu_ps(p, v_lo);
            _mm256_storeu_ps(p.add(8), v_hi);
        }
    }
}

/// AVX2 version of the scalar row quantizer (identical output).
///
/// # Safety
/// The CPU must support AVX2. `q.len() >= x.len()`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn quantize_row_avx2(x: &[f32], q: &mut [i8]) -> f32 {
    assert!(q.len() >= x.len());
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
    let mut vmax = _mm256_setzero_ps();
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        // SAFETY: c holds 8 f32; unaligned load.
        let v = unsafe { _mm256_loadu_ps(c.as_ptr()) };
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(v, abs_mask));
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: lanes holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), vmax) };
    let amax = chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .fold(0.0f32, |m, &v| m.max(v.abs()));
    let (scale, inv) = row_params(amax);

    let vinv = _mm256_set1_ps(inv);
    let (lo, hi) = (_mm256_set1_epi32(-127), _mm256_set1_epi32(127));
    // packs works within 128-bit lanes; this puts the 8 dwords back in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let n32 = x.len() / 32 * 32;
    for i in (0..n32).step_by(32) {
        let c = &x[i..i + 32];
        let v0 = quant8(&c[..8], vinv, lo, hi);
        let v1 = quant8(&c[8..16], vinv, lo, hi);
        let v2 = quant8(&c[16..24], vinv, lo, hi);
        let v3 = quant8(&c[24..], vinv, lo, hi);
        let w01 = _mm256_packs_epi32(v0, v1);
        let w23 = _mm256_packs_epi32(v2, v3);
        let b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), order);
        let dst = &mut q[i..i + 32];
        // SAFETY: dst holds 32 bytes; unaligned store.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), b) };
    }
    for (d, &v) in q[n32..x.len()].iter_mut().zip(&x[n32..]) {
        *d = quantize_one(v, inv);
    }
    q[x.len()..].fill(0);
    scale
}

/// `clamp(round_ties_even(x * inv), lo, hi)` on 8 lanes.
///
/// # Safety
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn quant8(x: &[f32], inv: __m256, lo: __m256i, hi: __m256i) -> __m256i {
    assert!(x.len() >= 8);
    // SAFETY: x holds 8 f32; unaligned load.
    let v = _mm256_mul_ps(unsafe { _mm256_loadu_ps(x.as_ptr()) }, inv);
    // cvtps rounds to nearest even (the default MXCSR mode), like round_ties_even.
    _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v), lo), hi)
}
