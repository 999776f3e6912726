//! x86-64 AVX-512 VNNI kernel (`vpdpbusd`). Never executed on the development
//! machine (no AVX-512 there): its test runs wherever the CPU has it.
//!
//! Same structure as the AVX2 path (16-column blocks, tiles of up to 8 rows,
//! scalar-identical epilogue 16 lanes wide). The AVX-512 intrinsics and target
//! features are stable since Rust 1.89, above the workspace's declared MSRV.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::tiles::{drive, tile_ptrs};
use super::{Epilogue, Gemm, KR, NR};

/// Bytes of one (nb, kg) weight group: one zmm register.
const GROUP: usize = NR * KR;

/// AVX-512 VNNI GEMM. Never executed on the development machine (no AVX-512).
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) unsafe fn gemm_avx512vnni(g: &mut Gemm) {
    drive!(g, tile_vnni, [8, 4, 2, 1])
}

/// One `MR × 16` tile with `vpdpbusd` (u8 × i8 → i32, 4 products per lane).
///
/// The activations are shifted to unsigned, `a + 128 = a ^ 0x80`, and the
/// shift is removed at the end: `Σ (a+128)·w − 128·Σ w`, where `Σ w` (the
/// column sums of the block) is accumulated by the same instruction with
/// all-ones. Every step is exact in wrapping i32, so is the result.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI. The operands are checked by `tile_ptrs`
/// (which panics when the tile does not fit `g`), so no other contract.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_vnni<const MR: usize>(g: &mut Gemm, nb: usize, row0: usize) {
    let (a, w) = tile_ptrs::<MR>(g, nb, row0);
    let kp = g.kp;
    let ones = _mm512_set1_epi8(1);
    let flip = _mm512_set1_epi8(i8::MIN);
    let mut colsum = _mm512_setzero_si512();
    let mut acc = [_mm512_setzero_si512(); MR];
    for kg in 0..kp / KR {
        // SAFETY: tile_ptrs: the block holds kp/KR groups of 64 bytes from w; unaligned load.
        let wv = unsafe { _mm512_loadu_si512(w.add(kg * GROUP).cast()) };
        colsum = _mm512_dpbusd_epi32(colsum, ones, wv);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: tile_ptrs: row r < MR has kp bytes from a + r*kp, and kg*4+4 <= kp.
            let x4 = unsafe { a.add(r * kp + kg * KR).cast::<i32>().read_unaligned() };
            let x = _mm512_xor_si512(_mm512_set1_epi32(x4), flip);
            *acc_r = _mm512_dpbusd_epi32(*acc_r, x, wv);
        }
    }
    let corr = _mm512_slli_epi32::<7>(colsum);
    for acc_r in acc.iter_mut() {
        *acc_r = _mm512_sub_epi32(*acc_r, corr);
    }
    let n0 = nb * NR;
    if n0 + NR > g.n {
        for (r, acc_r) in acc.iter().enumerate() {
            let mut tmp = [0i32; NR];
            // SAFETY: tmp holds 16 i32 = one 64-byte unaligned store.
            unsafe { _mm512_storeu_si512(tmp.as_mut_ptr().cast(), *acc_r) };
            g.store_scalar(row0 + r, n0, &tmp[..g.n - n0]);
        }
        return;
    }
    let ws = &g.w_scales[n0..n0 + NR];
    // SAFETY: ws and bias (when present) hold 16 f32 each.
    let (wsv, bv) = unsafe {
        let bv = match g.bias {
            Some(b) => _mm512_loadu_ps(b[n0..n0 + NR].as_ptr()),
            None => _mm512_setzero_ps(),
        };
        (_mm512_loadu_ps(ws.as_ptr()), bv)
    };
    for (r, acc_r) in acc.iter().enumerate() {
        let row = row0 + r;
        let s = _mm512_mul_ps(_mm512_set1_ps(g.a_scales[row]), wsv);
        let v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(*acc_r), s), bv);
        let dst = &mut g.out[row * g.ldc + n0..row * g.ldc + n0 + NR];
        let p = dst.as_mut_ptr();
        // SAFETY: dst holds 16 f32 (row < m, n0 + 16 <= n, out.len() >= (m-1)*ldc + n).
        unsafe {
            let v = match g.epilogue {
                Epilogue::Store => v,
                Epilogue::Accumulate => _mm512_add_ps(_mm512_loadu_ps(p), v),
            };
            _mm512_storeu_ps(p, v);
        }
    }
}
