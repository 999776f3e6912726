//! The portable kernel: defines the result every SIMD path must reproduce bit for bit.

use super::{Gemm, KR, NR};

/// Exact i32 sums of one packed 16-row block against one activation row.
#[inline]
pub(crate) fn block_dot(a_row: &[i8], wblk: &[i8]) -> [i32; NR] {
    let mut acc = [0i32; NR];
    for (a4, w64) in a_row.chunks_exact(KR).zip(wblk.chunks_exact(NR * KR)) {
        for (s, w4) in acc.iter_mut().zip(w64.chunks_exact(KR)) {
            for (&x, &y) in a4.iter().zip(w4) {
                *s += i32::from(x) * i32::from(y);
            }
        }
    }
    acc
}

/// The reference GEMM on validated operands.
pub(crate) fn gemm(g: &mut Gemm) {
    let blk = NR * g.kp;
    for nb in 0..g.n_blocks() {
        let wblk = &g.w[nb * blk..(nb + 1) * blk];
        let n0 = nb * NR;
        let cols = NR.min(g.n - n0);
        for row in 0..g.m {
            let acc = block_dot(&g.a[row * g.kp..(row + 1) * g.kp], wblk);
            g.store_scalar(row, n0, &acc[..cols]);
        }
    }
}
