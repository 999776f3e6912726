//! x86-64 AVX-512 VNNI kernel (`vpdpbusd`).
//!
//! Tiles of up to 8 activation rows by 32 columns (two packed 16-column
//! blocks; shorter tiles take up to 8 blocks): 12–16 independent
//! accumulators, enough to keep both 512-bit `vpdpbusd` ports of a server
//! core busy (latency 5, two a cycle) where one block at a time left half of
//! them idle. `vpdpbusd` multiplies unsigned by
//! signed bytes: the *weights* are made unsigned, `w + 128 = w ^ 0x80`, once
//! per loaded group (shared by all the tile's rows), and the activations are
//! the signed operand, broadcast straight from memory. The shift is removed
//! at the end, `Σ (w+128)·a − 128·Σ a`, with each row's `Σ a` summed once per
//! row tile. Every step is exact in wrapping i32, so is the result; the
//! epilogue is the scalar one, 16 lanes wide (bit-identical). The AVX-512
//! intrinsics and target features are stable since Rust 1.89, the MSRV.
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::{Epilogue, Gemm, KR, NR};

/// Bytes of one (nb, kg) weight group: one zmm register.
const GROUP: usize = NR * KR;

/// AVX-512 VNNI GEMM.
///
/// The rows go in `⌈m/8⌉` tiles of near-equal height (35 rows: five of 7,
/// not four of 8 and one of 3), so every tile but none of the weights'
/// passes is short: each tile streams the whole weight matrix once (from L2
/// at these sizes), and a tile of 1–3 rows alone would cost a full pass for
/// little work. Short tiles take more column blocks at once (see
/// [`rows_of`]) to keep 12–16 sums in flight.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) unsafe fn gemm_avx512vnni(g: &mut Gemm) {
    let tiles = g.m.div_ceil(8);
    let mut row = 0;
    for t in 0..tiles {
        // Rows of tile t: the first m % tiles tiles get one more.
        let h = g.m / tiles + usize::from(t < g.m % tiles);
        // SAFETY: the CPU has the features of this function (our contract).
        unsafe { rows_of(g, row, h) };
        row += h;
    }
}

/// Rows `row0..row0+h` (`1 <= h <= 8`) against every column, with the
/// column blocks per step chosen so that a tile keeps 12–16 independent
/// sums: 2 blocks for 5–8 rows, 4 for 3–4, 8 for 1–2.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn rows_of(g: &mut Gemm, row0: usize, h: usize) {
    // SAFETY: the CPU has the features (our contract); `rows` checks the operands.
    unsafe {
        match h {
            8 => rows::<8, 2>(g, row0),
            7 => rows::<7, 2>(g, row0),
            6 => rows::<6, 2>(g, row0),
            5 => rows::<5, 2>(g, row0),
            4 => rows::<4, 4>(g, row0),
            3 => rows::<3, 4>(g, row0),
            2 => rows::<2, 8>(g, row0),
            1 => rows::<1, 8>(g, row0),
            _ => unreachable!("row tiles are 1 to 8 rows high"),
        }
    }
}

/// `Σ a` of the `kp` signed bytes at `p`.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI; `p` is readable for `kp` bytes.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn row_sum(p: *const i8, kp: usize) -> i32 {
    let ones = _mm512_set1_epi8(1);
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i + 64 <= kp {
        // SAFETY: i + 64 <= kp bytes are readable from p; unaligned load.
        let v = unsafe { _mm512_loadu_si512(p.add(i).cast()) };
        acc = _mm512_dpbusd_epi32(acc, ones, v);
        i += 64;
    }
    if i < kp {
        let mask = (1u64 << (kp - i)) - 1;
        // SAFETY: the mask reads only the kp - i < 64 readable bytes left.
        let v = unsafe { _mm512_maskz_loadu_epi8(mask, p.add(i)) };
        acc = _mm512_dpbusd_epi32(acc, ones, v);
    }
    _mm512_reduce_add_epi32(acc)
}

/// Rows `row0..row0+MR` against every column: the row sums once, then
/// `NB` column blocks at a time, then the blocks left over in steps of 4, 2
/// and 1.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI. The operands are checked
/// here (a panic when the rows do not fit `g`), so no other contract.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn rows<const MR: usize, const NB: usize>(g: &mut Gemm, row0: usize) {
    let kp = g.kp;
    assert!(row0 + MR <= g.m && (row0 + MR) * kp <= g.a.len());
    assert!(g.n_blocks() * NR * kp <= g.w.len());
    let a = g.a[row0 * kp..].as_ptr();
    let mut corr = [_mm512_setzero_si512(); MR];
    for (r, c) in corr.iter_mut().enumerate() {
        // SAFETY: row r < MR has kp bytes from a + r*kp (asserted above).
        let s = unsafe { row_sum(a.add(r * kp), kp) };
        *c = _mm512_set1_epi32(s.wrapping_mul(128));
    }
    let blocks = g.n_blocks();
    let mut nb = 0;
    // Each step: the CPU has the features (our contract), a holds MR rows of
    // kp bytes and blocks nb..nb+B < n_blocks lie in w (asserted above).
    while nb + NB <= blocks {
        // SAFETY: as above, nb + NB <= blocks.
        unsafe { step::<MR, NB>(g, a, row0, nb, &corr) };
        nb += NB;
    }
    if NB > 4 && nb + 4 <= blocks {
        // SAFETY: as above, nb + 4 <= blocks.
        unsafe { step::<MR, 4>(g, a, row0, nb, &corr) };
        nb += 4;
    }
    if NB > 2 && nb + 2 <= blocks {
        // SAFETY: as above, nb + 2 <= blocks.
        unsafe { step::<MR, 2>(g, a, row0, nb, &corr) };
        nb += 2;
    }
    if NB > 1 && nb < blocks {
        // SAFETY: as above, nb + 1 <= blocks.
        unsafe { step::<MR, 1>(g, a, row0, nb, &corr) };
    }
}

/// One tile, `MR` rows by column blocks `nb..nb+B`: the sums, less each
/// row's shift correction `corr`, through the epilogue.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI; `a` is readable for
/// `MR * g.kp` bytes, blocks `nb..nb+B` lie in `g.w`, rows
/// `row0..row0+MR` in `g`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn step<const MR: usize, const B: usize>(
    g: &mut Gemm,
    a: *const i8,
    row0: usize,
    nb: usize,
    corr: &[__m512i; MR],
) {
    // SAFETY: forwarded from this function's contract.
    let acc = unsafe { tile::<MR, B>(g.w.as_ptr(), a, g.kp, nb) };
    for (r, acc_r) in acc.iter().enumerate() {
        for (j, acc_rj) in acc_r.iter().enumerate() {
            // SAFETY: the CPU has the features (our contract); store16
            // checks its row and column.
            unsafe {
                store16(
                    g,
                    row0 + r,
                    (nb + j) * NR,
                    _mm512_sub_epi32(*acc_rj, corr[r]),
                )
            };
        }
    }
}

/// `Σ (w+128)·a` of `MR` rows at `a` (stride `kp`) against the `B` blocks
/// `nb..nb+B` of the packed weights at `w`.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI; `a` is readable for
/// `MR * kp` bytes and `w` for `(nb + B) * 16 * kp`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile<const MR: usize, const B: usize>(
    w: *const i8,
    a: *const i8,
    kp: usize,
    nb: usize,
) -> [[__m512i; B]; MR] {
    let flip = _mm512_set1_epi8(i8::MIN);
    // SAFETY: block nb starts inside w (contract).
    let w0 = unsafe { w.add(nb * NR * kp) };
    let mut acc = [[_mm512_setzero_si512(); B]; MR];
    for kg in 0..kp / KR {
        let mut wv = [_mm512_setzero_si512(); B];
        for (j, v) in wv.iter_mut().enumerate() {
            // SAFETY: block nb + j < nb + B holds kp/KR groups of 64 bytes
            // (contract); unaligned load.
            let x = unsafe { _mm512_loadu_si512(w0.add(j * NR * kp + kg * GROUP).cast()) };
            *v = _mm512_xor_si512(x, flip);
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: row r < MR has kp bytes from a + r*kp, and kg*4+4 <= kp.
            let x4 = unsafe { a.add(r * kp + kg * KR).cast::<i32>().read_unaligned() };
            let x = _mm512_set1_epi32(x4);
            for (acc_rj, wj) in acc_r.iter_mut().zip(&wv) {
                *acc_rj = _mm512_dpbusd_epi32(*acc_rj, *wj, x);
            }
        }
    }
    acc
}

/// The last, partial block of columns of `row` (`n0 + 16 > g.n`), through
/// the scalar epilogue; out of line so that [`store16`] stays small enough
/// to be inlined into the tile loops.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cold]
#[inline(never)]
#[target_feature(enable = "avx512f")]
unsafe fn store_partial(g: &mut Gemm, row: usize, n0: usize, acc: __m512i) {
    let mut tmp = [0i32; NR];
    // SAFETY: tmp holds 16 i32 = one 64-byte unaligned store.
    unsafe { _mm512_storeu_si512(tmp.as_mut_ptr().cast(), acc) };
    g.store_scalar(row, n0, &tmp[..g.n - n0]);
}

/// The scalar epilogue 16 lanes wide: columns `n0..n0+16` of `row` from the
/// exact sums `acc` (a partial last block goes through the scalar one).
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VNNI. `row < g.m` and `n0 < g.n` (checked).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) unsafe fn store16(g: &mut Gemm, row: usize, n0: usize, acc: __m512i) {
    assert!(row < g.m && n0 < g.n);
    if n0 + NR > g.n {
        // SAFETY: the CPU has AVX-512 F (this function's contract).
        unsafe { store_partial(g, row, n0, acc) };
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
    let s = _mm512_mul_ps(_mm512_set1_ps(g.a_scales[row]), wsv);
    let v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), s), bv);
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

/// AVX-512 version of the scalar row quantizer (identical output): 16 values
/// a step, the clamp at 127 done by the saturating down-convert.
///
/// # Safety
/// The CPU must support AVX-512 F. `q.len() >= x.len()`.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn quantize_row_avx512(x: &[f32], q: &mut [i8]) -> f32 {
    assert!(q.len() >= x.len());
    let abs_mask = _mm512_set1_epi32(i32::MAX);
    let mut vmax = _mm512_setzero_ps();
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        // SAFETY: c holds 16 f32; unaligned load.
        let v = _mm512_castps_si512(unsafe { _mm512_loadu_ps(c.as_ptr()) });
        vmax = _mm512_max_ps(vmax, _mm512_castsi512_ps(_mm512_and_si512(v, abs_mask)));
    }
    // max is exact: the order of the lanes does not matter.
    let amax = chunks
        .remainder()
        .iter()
        .fold(_mm512_reduce_max_ps(vmax), |m, &v| m.max(v.abs()));
    let (scale, inv) = super::quantize::row_params(amax);
    let vinv = _mm512_set1_ps(inv);
    let lo = _mm512_set1_epi32(-127);
    let n16 = x.len() / 16 * 16;
    for i in (0..n16).step_by(16) {
        // SAFETY: x[i..i + 16] and q[i..i + 16] are in bounds (i + 16 <= n16
        // <= x.len() <= q.len()); unaligned load and store.
        unsafe {
            let v = _mm512_mul_ps(_mm512_loadu_ps(x.as_ptr().add(i)), vinv);
            // cvtps rounds to nearest even (the default MXCSR mode), like
            // round_ties_even; |v| <= 127 by construction, the saturating
            // down-convert clamps at 127 and the max at -127.
            let r = _mm512_max_epi32(_mm512_cvtps_epi32(v), lo);
            _mm_storeu_si128(q.as_mut_ptr().add(i).cast(), _mm512_cvtsepi32_epi8(r));
        }
    }
    for (d, &v) in q[n16..x.len()].iter_mut().zip(&x[n16..]) {
        *d = super::quantize::quantize_one(v, inv);
    }
    q[x.len()..].fill(0);
    scale
}
