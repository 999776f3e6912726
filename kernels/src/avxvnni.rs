//! x86-64 AVX-VNNI kernel: the 256-bit VEX `vpdpbusd` of CPUs that have VNNI
//! without AVX-512 (Alder Lake and later client cores).
//!
//! Same scheme as the AVX-512 path: the weights are made unsigned
//! (`w ^ 0x80 = w + 128`) once per loaded group, the activations are the
//! signed operand, and `128·Σ a` of each row (summed once per row tile) is
//! subtracted at the end; exact in wrapping i32. Tiles of up to 4 rows by one
//! 16-column block (two ymm per row): 8 accumulators, within the 16 ymm
//! registers. The epilogue is the scalar one, 8 lanes wide (bit-identical).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{Epilogue, Gemm, KR, NR};

/// Bytes of one (nb, kg) weight group: two ymm registers.
const GROUP: usize = NR * KR;

/// AVX-VNNI GEMM.
///
/// # Safety
/// The CPU must support AVX2 and AVX-VNNI.
#[target_feature(enable = "avx2,avxvnni")]
pub(crate) unsafe fn gemm_avxvnni(g: &mut Gemm) {
    let mut row = 0;
    while row < g.m {
        let left = g.m - row;
        // SAFETY: the CPU has the features of this function (our contract).
        unsafe {
            if left >= 4 {
                rows::<4>(g, row);
                row += 4;
            } else if left >= 2 {
                rows::<2>(g, row);
                row += 2;
            } else {
                rows::<1>(g, row);
                row += 1;
            }
        }
    }
}

/// `Σ a` of the `kp` signed bytes of `a`.
///
/// # Safety
/// The CPU must support AVX2 and AVX-VNNI.
#[inline]
#[target_feature(enable = "avx2,avxvnni")]
unsafe fn row_sum(a: &[i8]) -> i32 {
    let ones = _mm256_set1_epi8(1);
    let mut acc = _mm256_setzero_si256();
    let mut chunks = a.chunks_exact(32);
    for c in &mut chunks {
        // SAFETY: c holds 32 bytes; unaligned load.
        let v = unsafe { _mm256_loadu_si256(c.as_ptr().cast()) };
        acc = _mm256_dpbusd_avx_epi32(acc, ones, v);
    }
    let mut lanes = [0i32; 8];
    // SAFETY: lanes holds 8 i32; unaligned store.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    let tail: i32 = chunks.remainder().iter().map(|&v| i32::from(v)).sum();
    lanes.iter().fold(tail, |s, &v| s.wrapping_add(v))
}

/// Rows `row0..row0+MR` against every 16-column block.
///
/// # Safety
/// The CPU must support AVX2 and AVX-VNNI. The operands are checked here (a
/// panic when the rows do not fit `g`), so no other contract.
#[target_feature(enable = "avx2,avxvnni")]
unsafe fn rows<const MR: usize>(g: &mut Gemm, row0: usize) {
    let kp = g.kp;
    assert!(row0 + MR <= g.m && (row0 + MR) * kp <= g.a.len());
    assert!(g.n_blocks() * NR * kp <= g.w.len());
    let mut corr = [_mm256_setzero_si256(); MR];
    for (r, c) in corr.iter_mut().enumerate() {
        let row = &g.a[(row0 + r) * kp..(row0 + r + 1) * kp];
        // SAFETY: the CPU has the features (our contract).
        let s = unsafe { row_sum(row) };
        *c = _mm256_set1_epi32(s.wrapping_mul(128));
    }
    let a = g.a[row0 * kp..].as_ptr();
    let flip = _mm256_set1_epi8(i8::MIN);
    for nb in 0..g.n_blocks() {
        // SAFETY: block nb < n_blocks lies in w (asserted above).
        let w = unsafe { g.w.as_ptr().add(nb * NR * kp) };
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for kg in 0..kp / KR {
            // SAFETY: the block holds kp/KR groups of 64 bytes; unaligned loads.
            let (lo, hi) = unsafe {
                let p = w.add(kg * GROUP);
                (
                    _mm256_loadu_si256(p.cast()),
                    _mm256_loadu_si256(p.add(32).cast()),
                )
            };
            let (lo, hi) = (_mm256_xor_si256(lo, flip), _mm256_xor_si256(hi, flip));
            for (r, acc_r) in acc.iter_mut().enumerate() {
                // SAFETY: row r < MR has kp bytes from a + r*kp, and kg*4+4 <= kp.
                let x4 = unsafe { a.add(r * kp + kg * KR).cast::<i32>().read_unaligned() };
                let x = _mm256_set1_epi32(x4);
                acc_r[0] = _mm256_dpbusd_avx_epi32(acc_r[0], lo, x);
                acc_r[1] = _mm256_dpbusd_avx_epi32(acc_r[1], hi, x);
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            let v = [
                _mm256_sub_epi32(acc_r[0], corr[r]),
                _mm256_sub_epi32(acc_r[1], corr[r]),
            ];
            // SAFETY: the CPU has AVX2 (our contract).
            unsafe { store16(g, row0 + r, nb * NR, v) };
        }
    }
}

/// The scalar epilogue 8 lanes wide: columns `n0..n0+16` of `row` from the
/// exact sums `acc` (a partial last block goes through the scalar one).
///
/// # Safety
/// The CPU must support AVX2. `row < g.m` and `n0 < g.n` (checked).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store16(g: &mut Gemm, row: usize, n0: usize, acc: [__m256i; 2]) {
    assert!(row < g.m && n0 < g.n);
    if n0 + NR > g.n {
        let mut tmp = [0i32; NR];
        // SAFETY: tmp holds 16 i32 = two 32-byte unaligned stores.
        unsafe {
            _mm256_storeu_si256(tmp.as_mut_ptr().cast(), acc[0]);
            _mm256_storeu_si256(tmp.as_mut_ptr().add(8).cast(), acc[1]);
        }
        g.store_scalar(row, n0, &tmp[..g.n - n0]);
        return;
    }
    let a_s = _mm256_set1_ps(g.a_scales[row]);
    let ws = &g.w_scales[n0..n0 + NR];
    let bias = g.bias.map(|b| &b[n0..n0 + NR]);
    let dst = &mut g.out[row * g.ldc + n0..row * g.ldc + n0 + NR];
    for (h, acc_h) in acc.iter().enumerate() {
        // SAFETY: ws, bias (when present) and dst hold 16 f32: lanes 8h..8h+8.
        unsafe {
            let b = match bias {
                Some(b) => _mm256_loadu_ps(b.as_ptr().add(8 * h)),
                None => _mm256_setzero_ps(),
            };
            let s = _mm256_mul_ps(a_s, _mm256_loadu_ps(ws.as_ptr().add(8 * h)));
            let v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(*acc_h), s), b);
            let p = dst.as_mut_ptr().add(8 * h);
            let v = match g.epilogue {
                Epilogue::Store => v,
                Epilogue::Accumulate => _mm256_add_ps(_mm256_loadu_ps(p), v),
            };
            _mm256_storeu_ps(p, v);
        }
    }
}
