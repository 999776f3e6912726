//! Shared driver of the SIMD kernels: blocks of 16 columns, tiles of `MR` rows.

use super::{Gemm, NR};

/// Runs `$tile::<MR>(g, nb, row0)` over every 16-column block `nb` and every row,
/// in tiles of the largest listed `MR` that fits (the list must end with 1).
/// Expands to calls of `$tile`, so it is used inside an `unsafe fn` with the
/// same target features as `$tile`.
macro_rules! drive {
    ($g:expr, $tile:ident, [$($mr:literal),+]) => {{
        let g: &mut Gemm = $g;
        for nb in 0..g.n_blocks() {
            let mut row = 0;
            while row < g.m {
                let left = g.m - row;
                $(
                    if left >= $mr {
                        $tile::<$mr>(g, nb, row);
                        row += $mr;
                        continue;
                    }
                )+
            }
        }
    }};
}
pub(crate) use drive;

/// Checks the operands of a tile (`MR` rows from `row0`, block `nb`) and returns
/// pointers to its first activation row and its first weight group: the tile may
/// then read `MR * kp` bytes from the first and `16 * kp` from the second.
#[inline(always)]
pub(crate) fn tile_ptrs<const MR: usize>(
    g: &Gemm,
    nb: usize,
    row0: usize,
) -> (*const i8, *const i8) {
    let (a0, w0) = (row0 * g.kp, nb * NR * g.kp);
    assert!(row0 + MR <= g.m && a0 + MR * g.kp <= g.a.len());
    assert!(w0 + NR * g.kp <= g.w.len());
    (g.a[a0..].as_ptr(), g.w[w0..].as_ptr())
}
