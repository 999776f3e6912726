//! f32 matrices repacked at open for small products: `out = rows · Wᵀ + b`
//! over a few rows (the heads over a sentence's words, the projection of
//! factorized word embeddings).

use std::sync::{Arc, OnceLock};

use super::weights::{Mat, MatRef};
use crate::error::Result;
use crate::format::ModelFile;

/// Output columns per block (one 512-bit register of f32).
pub const LB: usize = 16;
/// Rows per tile of [`PackedRows::product`].
pub const RB: usize = 4;

/// A matrix `W` `[n, k]` stored as blocks of [`LB`] rows, each block `[k][LB]`
/// (row-minor, zero padded): a tile of input rows × [`LB`] outputs is then `k`
/// broadcast multiply-adds into registers, with no horizontal sum.
#[derive(Clone)]
pub struct PackedRows {
    w: Arc<[f32]>,
    n: usize,
    k: usize,
}

impl std::fmt::Debug for PackedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedRows([{}, {}])", self.n, self.k)
    }
}

impl PackedRows {
    /// Repacks `w` (dequantized to f32 if it is stored otherwise).
    pub fn new(w: &Mat) -> PackedRows {
        let (n, k) = (w.n, w.k);
        let mut p = vec![0.0f32; n.div_ceil(LB) * k * LB];
        let mut row = vec![0.0f32; k];
        for j in 0..n {
            w.row_into(j, &mut row);
            let (b, l) = (j / LB, j % LB);
            for (kk, &v) in row.iter().enumerate() {
                p[(b * k + kk) * LB + l] = v;
            }
        }
        PackedRows { w: p.into(), n, k }
    }

    /// Rows of `W` (outputs).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Columns of `W` (inputs).
    pub fn k(&self) -> usize {
        self.k
    }

    /// `out[i·n + j] = rows(i) · W_j (+ b[j])` for `i < m`: tiles of [`RB`]
    /// rows. Each sum runs over `k` in order, one fused multiply-add per
    /// step (`mul_add`), so the value is the same on every ISA; `#[inline(always)]` so
    /// that it is compiled for the caller's vector unit (call it inside
    /// [`crate::kernels::with_vector_isa`]). Each row holds at least `k`
    /// values, `out` at least `m·n`, `b` (when given) at least `n`.
    #[inline(always)]
    pub fn product<'r>(
        &self,
        m: usize,
        row: impl Fn(usize) -> &'r [f32],
        b: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let (n, k) = (self.n, self.k);
        let mut i0 = 0;
        while i0 + RB <= m {
            let rows: [&[f32]; RB] = std::array::from_fn(|r| &row(i0 + r)[..k]);
            // 4 rows × 2 blocks: 8 independent sums in flight.
            self.tile::<RB, 2>(&rows, b, &mut out[i0 * n..(i0 + RB) * n]);
            i0 += RB;
        }
        for i in i0..m {
            // 1 row × 8 blocks.
            self.tile::<1, 8>(&[&row(i)[..k]], b, &mut out[i * n..(i + 1) * n]);
        }
    }

    /// [`PackedRows::product`] of `R` rows, `B` blocks of outputs at a time
    /// (`R·B` independent sums, enough to hide the latency of the adds),
    /// then the blocks left one at a time.
    #[inline(always)]
    fn tile<const R: usize, const B: usize>(
        &self,
        rows: &[&[f32]; R],
        b: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let (n, k) = (self.n, self.k);
        let rows: [&[f32]; R] = rows.map(|r| &r[..k]);
        let blocks = n.div_ceil(LB);
        let mut blk = 0;
        while blk + B <= blocks {
            let acc = self.sums::<R, B>(&rows, blk);
            self.store(&acc, blk, b, out);
            blk += B;
        }
        // The blocks left, in groups of 4, 2, 1 (more sums in flight than
        // one block at a time).
        if B > 4 && blk + 4 <= blocks {
            let acc = self.sums::<R, 4>(&rows, blk);
            self.store(&acc, blk, b, out);
            blk += 4;
        }
        if B > 2 && blk + 2 <= blocks {
            let acc = self.sums::<R, 2>(&rows, blk);
            self.store(&acc, blk, b, out);
            blk += 2;
        }
        while blk < blocks {
            let acc = self.sums::<R, 1>(&rows, blk);
            self.store(&acc, blk, b, out);
            blk += 1;
        }
    }

    /// The sums of `R` rows against blocks `blk..blk + B`.
    #[inline(always)]
    fn sums<const R: usize, const B: usize>(
        &self,
        rows: &[&[f32]; R],
        blk: usize,
    ) -> [[[f32; LB]; B]; R] {
        let k = self.k;
        let w = &self.w[blk * k * LB..(blk + B) * k * LB];
        let mut acc = [[[0.0f32; LB]; B]; R];
        for kk in 0..k {
            for r in 0..R {
                let x = rows[r][kk];
                for (bb, acc) in acc[r].iter_mut().enumerate() {
                    let wk = &w[(bb * k + kk) * LB..(bb * k + kk + 1) * LB];
                    for l in 0..LB {
                        acc[l] = x.mul_add(wk[l], acc[l]);
                    }
                }
            }
        }
        acc
    }

    /// Writes the sums of blocks `blk..blk + B` (plus the bias) into `out`.
    #[inline(always)]
    fn store<const R: usize, const B: usize>(
        &self,
        acc: &[[[f32; LB]; B]; R],
        blk: usize,
        b: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let n = self.n;
        for (r, acc) in acc.iter().enumerate() {
            for (bb, acc) in acc.iter().enumerate() {
                let j0 = (blk + bb) * LB;
                let width = LB.min(n - j0);
                let o = &mut out[r * n + j0..r * n + j0 + width];
                match b {
                    Some(b) => {
                        for (l, o) in o.iter_mut().enumerate() {
                            *o = acc[l] + b[j0 + l];
                        }
                    }
                    None => o.copy_from_slice(&acc[..width]),
                }
            }
        }
    }
}

/// A matrix of the file, repacked as [`PackedRows`] on first use (not at
/// open, which stays a few checks over the mapped bytes); shared by threads.
#[derive(Debug, Clone)]
pub struct LazyPacked {
    src: MatRef,
    packed: OnceLock<PackedRows>,
}

impl LazyPacked {
    /// Wraps a bound matrix.
    pub fn new(src: MatRef) -> LazyPacked {
        LazyPacked {
            src,
            packed: OnceLock::new(),
        }
    }

    /// The packed matrix, packing it from `file` (the file it was bound to)
    /// the first time.
    pub fn get(&self, file: &ModelFile) -> Result<&PackedRows> {
        if let Some(p) = self.packed.get() {
            return Ok(p);
        }
        let p = PackedRows::new(&self.src.view(file)?);
        Ok(self.packed.get_or_init(|| p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::weights::MatData;

    #[test]
    fn product_is_the_in_order_sum() {
        // xorshift: no rand dependency in the runtime crate.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        for (m, n, k) in [
            (1, 1, 1),
            (3, 5, 7),
            (4, 16, 64),
            (9, 17, 33),
            (13, 122, 384),
        ] {
            let w: Vec<f32> = (0..n * k).map(|_| next()).collect();
            let x: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..n).map(|_| next()).collect();
            let mat = Mat {
                n,
                k,
                data: MatData::F32(&w),
            };
            let p = PackedRows::new(&mat);
            for bias in [None, Some(b.as_slice())] {
                let mut out = vec![f32::NAN; m * n];
                p.product(m, |i| &x[i * k..(i + 1) * k], bias, &mut out);
                for i in 0..m {
                    for j in 0..n {
                        let mut s = 0.0f32;
                        for kk in 0..k {
                            s = x[i * k + kk].mul_add(w[j * k + kk], s);
                        }
                        let want = bias.map_or(s, |b| s + b[j]);
                        let got = out[i * n + j];
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "m {m} n {n} k {k}: [{i}][{j}]"
                        );
                    }
                }
            }
        }
    }
}
