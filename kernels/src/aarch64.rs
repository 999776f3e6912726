//! aarch64 kernels: NEON (`smull`/`smlal` + `sadalp`), dot-product (`sdot`)
//! and int8 matrix multiply (`smmla`).
//!
//! Same structure as the x86 ones: 16-column blocks of W, tiles of `MR` rows,
//! exact i32 sums, then the scalar epilogue done 4 lanes wide with the same
//! operations in the same order (bit-identical results).
#![cfg(target_arch = "aarch64")]

use std::arch::aarch64::*;
use std::arch::asm;

use super::quantize::{quantize_one, row_params};
use super::tiles::{drive, tile_ptrs};
use super::{Epilogue, Gemm, KR, NR};

/// Bytes of one (nb, kg) weight group: four q registers of 4 columns × 4 k.
const GROUP: usize = NR * KR;

/// The 4 bytes at `p` repeated over a q register.
///
/// # Safety
/// `p` must point to 4 readable bytes.
#[inline(always)]
unsafe fn bcast4(p: *const i8) -> int8x16_t {
    // SAFETY: the caller guarantees 4 readable bytes; the read is unaligned.
    let v = unsafe { p.cast::<i32>().read_unaligned() };
    vreinterpretq_s8_s32(vdupq_n_s32(v))
}

/// The 64-byte weight group at `p` as four q registers (columns 0-3, 4-7, 8-11, 12-15).
///
/// # Safety
/// `p` must point to 64 readable bytes.
#[inline(always)]
unsafe fn load_group(p: *const i8) -> [int8x16_t; 4] {
    // SAFETY: the caller guarantees 64 readable bytes; ld1 has no alignment requirement.
    unsafe {
        [
            vld1q_s8(p),
            vld1q_s8(p.add(16)),
            vld1q_s8(p.add(32)),
            vld1q_s8(p.add(48)),
        ]
    }
}

/// NEON GEMM (no dot product).
///
/// # Safety
/// The CPU must support NEON (always true on aarch64 Linux).
#[target_feature(enable = "neon")]
pub(crate) unsafe fn gemm_neon(g: &mut Gemm) {
    drive!(g, tile_neon, [2, 1])
}

/// One `MR × 16` tile with widening multiplies.
///
/// Two k-groups at a time: `smull` + `smlal` give i16 lanes `w·x + w'·x'`, at
/// most `2·128·127 < 2^15` for `x ∈ [-127, 127]`, then `sadalp` adds pairs into
/// i32. Accumulator `2j` holds columns `4j, 4j+1` (k-pairs 01 and 23 apart),
/// `2j+1` columns `4j+2, 4j+3`; one `addp` per `j` folds them at the end.
///
/// # Safety
/// The CPU must support NEON. The operands are checked by `tile_ptrs`
/// (which panics when the tile does not fit `g`), so no other contract.
#[target_feature(enable = "neon")]
unsafe fn tile_neon<const MR: usize>(g: &mut Gemm, nb: usize, row0: usize) {
    let (a, w) = tile_ptrs::<MR>(g, nb, row0);
    let kp = g.kp;
    let kg_n = kp / KR;
    let mut acc = [[vdupq_n_s32(0); 8]; MR];
    let mut kg = 0;
    while kg + 2 <= kg_n {
        // SAFETY: tile_ptrs: groups kg and kg+1 < kp/4 lie in the 16*kp-byte block.
        let (w0, w1) = unsafe {
            (
                load_group(w.add(kg * GROUP)),
                load_group(w.add((kg + 1) * GROUP)),
            )
        };
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: tile_ptrs: row r < MR has kp bytes from a + r*kp, and kg*4+8 <= kp.
            let (x0, x1) = unsafe {
                (
                    bcast4(a.add(r * kp + kg * KR)),
                    bcast4(a.add(r * kp + kg * KR + KR)),
                )
            };
            let (x0l, x1l) = (vget_low_s8(x0), vget_low_s8(x1));
            for j in 0..4 {
                let lo = vmlal_s8(vmull_s8(vget_low_s8(w0[j]), x0l), vget_low_s8(w1[j]), x1l);
                let hi = vmlal_high_s8(vmull_high_s8(w0[j], x0), w1[j], x1);
                acc_r[2 * j] = vpadalq_s16(acc_r[2 * j], lo);
                acc_r[2 * j + 1] = vpadalq_s16(acc_r[2 * j + 1], hi);
            }
        }
        kg += 2;
    }
    if kg < kg_n {
        // SAFETY: tile_ptrs: group kg < kp/4 lies in the block.
        let w0 = unsafe { load_group(w.add(kg * GROUP)) };
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: tile_ptrs: row r < MR has kp bytes from a + r*kp, and kg*4+4 <= kp.
            let x0 = unsafe { bcast4(a.add(r * kp + kg * KR)) };
            for j in 0..4 {
                let lo = vmull_s8(vget_low_s8(w0[j]), vget_low_s8(x0));
                acc_r[2 * j] = vpadalq_s16(acc_r[2 * j], lo);
                acc_r[2 * j + 1] = vpadalq_s16(acc_r[2 * j + 1], vmull_high_s8(w0[j], x0));
            }
        }
    }
    let mut sums = [[vdupq_n_s32(0); 4]; MR];
    for (s, acc_r) in sums.iter_mut().zip(&acc) {
        for j in 0..4 {
            s[j] = vpaddq_s32(acc_r[2 * j], acc_r[2 * j + 1]);
        }
    }
    // SAFETY: NEON is enabled here, as store_tile requires.
    unsafe { store_tile(g, nb, row0, &sums) }
}

/// Dot-product GEMM.
///
/// # Safety
/// The CPU must support NEON and the dot-product extension.
#[target_feature(enable = "neon,dotprod")]
pub(crate) unsafe fn gemm_neondot(g: &mut Gemm) {
    drive!(g, tile_dot, [4, 3, 2, 1])
}

/// `acc.s[i] += Σ_b w.b[4i+b] · x.b[4L+b]`: `sdot` by element (inline assembly,
/// as the `vdotq_laneq_s32` intrinsic is not stable yet).
///
/// # Safety
/// The CPU must support the dot-product extension.
#[inline(always)]
unsafe fn sdot_lane<const L: i32>(acc: int32x4_t, w: int8x16_t, x: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: the caller guarantees FEAT_DotProd; the instruction only reads and
    // writes the three vector registers given.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {w:v}.16b, {x:v}.4b[{lane}]",
            acc = inout(vreg) acc,
            w = in(vreg) w,
            x = in(vreg) x,
            lane = const L,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// Adds the group at `wp` times k-group `L` of each row's `x` into `acc`.
///
/// # Safety
/// FEAT_DotProd, and `wp` points to 64 readable bytes.
#[inline(always)]
unsafe fn dot_group<const L: i32, const MR: usize>(
    acc: &mut [[int32x4_t; 4]; MR],
    wp: *const i8,
    x: &[int8x16_t; MR],
) {
    // SAFETY: the caller guarantees 64 readable bytes at wp and FEAT_DotProd.
    unsafe {
        let wv = load_group(wp);
        for (acc_r, &x_r) in acc.iter_mut().zip(x) {
            for (a, &wj) in acc_r.iter_mut().zip(&wv) {
                *a = sdot_lane::<L>(*a, wj, x_r);
            }
        }
    }
}

/// One `MR × 16` tile with `sdot`: accumulator `j` holds columns `4j..4j+4`.
/// Four k-groups at a time share one 16-byte load of each activation row.
///
/// # Safety
/// The CPU must support NEON and the dot-product extension. The operands are checked by `tile_ptrs`
/// (which panics when the tile does not fit `g`), so no other contract.
#[target_feature(enable = "neon,dotprod")]
unsafe fn tile_dot<const MR: usize>(g: &mut Gemm, nb: usize, row0: usize) {
    let (a, w) = tile_ptrs::<MR>(g, nb, row0);
    let kp = g.kp;
    let kg_n = kp / KR;
    let mut acc = [[vdupq_n_s32(0); 4]; MR];
    let mut x = [vdupq_n_s8(0); MR];
    let mut kg = 0;
    while kg + 4 <= kg_n {
        // SAFETY: tile_ptrs: row r < MR has kp bytes from a + r*kp, and kg*4+16 <= kp;
        // groups kg..kg+4 < kp/4 lie in the block; dotprod is enabled here.
        unsafe {
            for (r, x_r) in x.iter_mut().enumerate() {
                *x_r = vld1q_s8(a.add(r * kp + kg * KR));
            }
            let p = w.add(kg * GROUP);
            dot_group::<0, MR>(&mut acc, p, &x);
            dot_group::<1, MR>(&mut acc, p.add(GROUP), &x);
            dot_group::<2, MR>(&mut acc, p.add(2 * GROUP), &x);
            dot_group::<3, MR>(&mut acc, p.add(3 * GROUP), &x);
        }
        kg += 4;
    }
    while kg < kg_n {
        // SAFETY: as above for the single group kg < kp/4 and its 4 bytes per row.
        unsafe {
            for (r, x_r) in x.iter_mut().enumerate() {
                *x_r = bcast4(a.add(r * kp + kg * KR));
            }
            dot_group::<0, MR>(&mut acc, w.add(kg * GROUP), &x);
        }
        kg += 1;
    }
    // SAFETY: NEON is enabled here, as store_tile requires.
    unsafe { store_tile(g, nb, row0, &acc) }
}

/// int8 matrix-multiply GEMM: tiles of 4 and 2 rows with `smmla`, single
/// rows and inner dimensions that are not a multiple of 8 with `sdot`.
///
/// # Safety
/// The CPU must support NEON, the dot-product extension and FEAT_I8MM.
#[target_feature(enable = "neon,dotprod,i8mm")]
pub(crate) unsafe fn gemm_neoni8mm(g: &mut Gemm) {
    if !g.kp.is_multiple_of(2 * KR) {
        // SAFETY: the CPU has NEON and dotprod (our contract).
        return unsafe { gemm_neondot(g) };
    }
    drive!(g, tile_mmla_or_dot, [4, 2, 1])
}

/// [`tile_mmla`] for tiles of 2 or more rows, [`tile_dot`] for one row.
///
/// # Safety
/// As [`gemm_neoni8mm`], and `g.kp % 8 == 0`.
#[inline(always)]
unsafe fn tile_mmla_or_dot<const MR: usize>(g: &mut Gemm, nb: usize, row0: usize) {
    // SAFETY: forwarded (NEON, dotprod, i8mm; kp a multiple of 8).
    unsafe {
        if MR >= 2 {
            tile_mmla::<MR>(g, nb, row0)
        } else {
            tile_dot::<MR>(g, nb, row0)
        }
    }
}

/// `acc += x · wᵀ` on 2 × 8 by 8 × 2 int8 blocks: `smmla` (inline assembly, as
/// the `vmmlaq_s32` intrinsic is not stable yet). `x` holds two rows of 8
/// values, `w` two columns of 8; `acc` is `[r0·c0, r0·c1, r1·c0, r1·c1]`.
///
/// # Safety
/// The CPU must support FEAT_I8MM.
#[inline(always)]
unsafe fn smmla(acc: int32x4_t, x: int8x16_t, w: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: the caller guarantees FEAT_I8MM; the instruction only reads and
    // writes the three vector registers given.
    unsafe {
        asm!(
            "smmla {acc:v}.4s, {x:v}.16b, {w:v}.16b",
            acc = inout(vreg) acc,
            x = in(vreg) x,
            w = in(vreg) w,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// One `MR × 16` tile (`MR` 2 or 4) with `smmla`, eight inner values (two
/// k-groups) a step. The two groups' columns are interleaved 32 bits at a
/// time (`zip1`/`zip2`) into the 8-value columns `smmla` takes; accumulator
/// `[p][2q + h]` holds rows `2p, 2p + 1` by columns `4q + 2h, 4q + 2h + 1`,
/// taken apart 64 bits at a time for the epilogue.
///
/// # Safety
/// The CPU must support NEON and FEAT_I8MM; `g.kp % 8 == 0`; `MR` is 2 or 4.
/// The operands are checked by `tile_ptrs` (which panics when the tile does
/// not fit `g`).
#[target_feature(enable = "neon,i8mm")]
unsafe fn tile_mmla<const MR: usize>(g: &mut Gemm, nb: usize, row0: usize) {
    let (a, w) = tile_ptrs::<MR>(g, nb, row0);
    let kp = g.kp;
    let pairs = MR / 2;
    let mut acc = [[vdupq_n_s32(0); 8]; 2];
    let mut x = [vdupq_n_s8(0); 2];
    for kg in (0..kp / KR).step_by(2) {
        // SAFETY: tile_ptrs: row r < MR has kp bytes from a + r*kp, and
        // kg*4 + 8 <= kp (kp a multiple of 8); groups kg, kg+1 < kp/4 lie in
        // the block; i8mm is enabled here.
        unsafe {
            for (p, x_p) in x.iter_mut().enumerate().take(pairs) {
                let r0 = a.add(2 * p * kp + kg * KR);
                *x_p = vcombine_s8(vld1_s8(r0), vld1_s8(r0.add(kp)));
            }
            let lo = load_group(w.add(kg * GROUP));
            let hi = load_group(w.add((kg + 1) * GROUP));
            for q in 0..4 {
                let (l, h) = (vreinterpretq_s32_s8(lo[q]), vreinterpretq_s32_s8(hi[q]));
                let cols = [
                    vreinterpretq_s8_s32(vzip1q_s32(l, h)),
                    vreinterpretq_s8_s32(vzip2q_s32(l, h)),
                ];
                for (acc_p, &x_p) in acc.iter_mut().zip(&x).take(pairs) {
                    acc_p[2 * q] = smmla(acc_p[2 * q], x_p, cols[0]);
                    acc_p[2 * q + 1] = smmla(acc_p[2 * q + 1], x_p, cols[1]);
                }
            }
        }
    }
    let mut sums = [[vdupq_n_s32(0); 4]; MR];
    for p in 0..pairs {
        for q in 0..4 {
            let (l, h) = (
                vreinterpretq_s64_s32(acc[p][2 * q]),
                vreinterpretq_s64_s32(acc[p][2 * q + 1]),
            );
            sums[2 * p][q] = vreinterpretq_s32_s64(vzip1q_s64(l, h));
            sums[2 * p + 1][q] = vreinterpretq_s32_s64(vzip2q_s64(l, h));
        }
    }
    // SAFETY: NEON is enabled here, as store_tile requires.
    unsafe { store_tile(g, nb, row0, &sums) }
}

/// The epilogue of a tile: `sums[r][j]` holds columns `4j..4j+4` of row `row0 + r`.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn store_tile<const MR: usize>(
    g: &mut Gemm,
    nb: usize,
    row0: usize,
    sums: &[[int32x4_t; 4]; MR],
) {
    let n0 = nb * NR;
    if n0 + NR > g.n {
        for (r, s) in sums.iter().enumerate() {
            let mut tmp = [0i32; NR];
            for (j, &v) in s.iter().enumerate() {
                // SAFETY: tmp holds 16 i32, j < 4.
                unsafe { vst1q_s32(tmp.as_mut_ptr().add(4 * j), v) };
            }
            g.store_scalar(row0 + r, n0, &tmp[..g.n - n0]);
        }
        return;
    }
    let ws = &g.w_scales[n0..n0 + NR];
    let bias = g.bias.map(|b| &b[n0..n0 + NR]);
    let mut wsv = [vdupq_n_f32(0.0); 4];
    let mut bv = [vdupq_n_f32(0.0); 4];
    for j in 0..4 {
        // SAFETY: ws and bias (when present) hold 16 f32, j < 4.
        unsafe {
            wsv[j] = vld1q_f32(ws.as_ptr().add(4 * j));
            if let Some(b) = bias {
                bv[j] = vld1q_f32(b.as_ptr().add(4 * j));
            }
        }
    }
    for (r, s) in sums.iter().enumerate() {
        let row = row0 + r;
        let a_s = vdupq_n_f32(g.a_scales[row]);
        let dst = &mut g.out[row * g.ldc + n0..row * g.ldc + n0 + NR];
        for j in 0..4 {
            let v = vaddq_f32(
                vmulq_f32(vcvtq_f32_s32(s[j]), vmulq_f32(a_s, wsv[j])),
                bv[j],
            );
            let p = dst[4 * j..].as_mut_ptr();
            // SAFETY: dst holds 16 f32, so p has 4 f32 for j < 4.
            unsafe {
                let v = match g.epilogue {
                    Epilogue::Store => v,
                    Epilogue::Accumulate => vaddq_f32(vld1q_f32(p), v),
                };
                vst1q_f32(p, v);
            }
        }
    }
}

/// NEON version of the scalar row quantizer (identical output).
///
/// # Safety
/// The CPU must support NEON. `q.len() >= x.len()`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn quantize_row_neon(x: &[f32], q: &mut [i8]) -> f32 {
    assert!(q.len() >= x.len());
    let mut vmax = vdupq_n_f32(0.0);
    let mut chunks = x.chunks_exact(4);
    for c in &mut chunks {
        // SAFETY: c holds 4 f32.
        vmax = vmaxq_f32(vmax, vabsq_f32(unsafe { vld1q_f32(c.as_ptr()) }));
    }
    let amax = chunks
        .remainder()
        .iter()
        .fold(vmaxvq_f32(vmax), |m, &v| m.max(v.abs()));
    let (scale, inv) = row_params(amax);

    let vinv = vdupq_n_f32(inv);
    let (lo, hi) = (vdupq_n_s32(-127), vdupq_n_s32(127));
    let quant4 = |c: &[f32]| -> int16x4_t {
        // SAFETY: callers pass 4 f32; fcvtns rounds to nearest even, like round_ties_even.
        let v = vcvtnq_s32_f32(vmulq_f32(unsafe { vld1q_f32(c.as_ptr()) }, vinv));
        vmovn_s32(vminq_s32(vmaxq_s32(v, lo), hi))
    };
    let n16 = x.len() / 16 * 16;
    for i in (0..n16).step_by(16) {
        let c = &x[i..i + 16];
        let h0 = vcombine_s16(quant4(&c[..4]), quant4(&c[4..8]));
        let h1 = vcombine_s16(quant4(&c[8..12]), quant4(&c[12..]));
        let b = vcombine_s8(vmovn_s16(h0), vmovn_s16(h1));
        let dst = &mut q[i..i + 16];
        // SAFETY: dst holds 16 bytes.
        unsafe { vst1q_s8(dst.as_mut_ptr(), b) };
    }
    for (d, &v) in q[n16..x.len()].iter_mut().zip(&x[n16..]) {
        *d = quantize_one(v, inv);
    }
    q[x.len()..].fill(0);
    scale
}
