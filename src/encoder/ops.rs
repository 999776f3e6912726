//! The f32 element-wise operations of the encoder.
//!
//! Every multiply-add is an explicit `mul_add` (one rounding): a fused
//! instruction in the vector bodies of `kernels::with_vector_isa` and on
//! aarch64, the C library's correctly rounded `fmaf` in the x86-64 baseline
//! build, so that every path computes the same bits (tested) at the cost of
//! one instruction where the hardware has it.

/// In-place LayerNorm of each `n`-wide row of `x`.
#[inline(always)]
pub fn layer_norm(x: &mut [f32], n: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(n) {
        // Both sums in 8 independent partial sums (see [`sum`]): a single
        // running sum is a chain of dependent adds that cannot vectorize.
        let mean = sum(row) / n as f32;
        let var = sum_sq_dev(row, mean) / n as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((*v - mean) * inv).mul_add(*g, *b);
        }
    }
}

/// `Σ (x - mean)²` in 8 independent partial sums (see [`sum`]).
#[inline(always)]
fn sum_sq_dev(x: &[f32], mean: f32) -> f32 {
    let c = x.chunks_exact(8);
    let tail = c
        .remainder()
        .iter()
        .fold(0.0f32, |a, v| (v - mean).mul_add(v - mean, a));
    let mut acc = [0.0f32; 8];
    for v in c {
        for i in 0..8 {
            acc[i] = (v[i] - mean).mul_add(v[i] - mean, acc[i]);
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// [`gelu`] of every value, in place. A plain loop, not `for_each`: the
/// closure-taking call was left out of line, compiled for the baseline ISA
/// instead of the vector unit of the caller.
#[inline(always)]
pub fn gelu_in_place(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = gelu(*v);
    }
}

/// The exact (erf) GELU, as BERT's `hidden_act = "gelu"` (with [`erf`]).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf(x)` in f32 as a rational function of `x` on `[-4, 4]` (±1 outside,
/// where f32 erf is ±1): the approximation of Eigen's `generic_fast_erf_float`,
/// within 1e-6 of `libm::erff` (tested). No branch and no `exp`, so loops of
/// it vectorize; libm's `erff` took ~10% of an utterance.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const A: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.954_600_1e-3,
        -1.609_603_3e-2,
    ];
    const B: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = A[1..].iter().fold(A[0], |p, &a| p.mul_add(x2, a)) * x;
    let q = B[1..].iter().fold(B[0], |q, &b| q.mul_add(x2, b));
    p / q
}

/// `e^x` in f32, branch-free so that loops of it vectorize (libm's `expf`
/// is a call per value): Cody–Waite reduction `x = n ln 2 + r` (`n` rounded
/// with the 1.5·2²³ trick, no `roundf` call), Cephes' degree-5 polynomial
/// for `e^r` on `|r| <= ln 2 / 2`, and `2^n` built in the exponent bits.
/// Within 2 ulp of `libm::expf` (tested); 0 below -87.3 (where f32 results
/// turn subnormal) and for `-inf`, +inf above 88.7.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23
    const P: [f32; 6] = [
        1.987_569_1e-4,
        1.398_2e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ];
    let xc = x.clamp(-87.3, 88.7);
    let shifted = xc.mul_add(std::f32::consts::LOG2_E, ROUND);
    let n = shifted - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, xc));
    let poly = P[1..].iter().fold(P[0], |p, &c| p.mul_add(r, c));
    let er = poly.mul_add(r * r, r) + 1.0;
    // n is in [-126, 128]: 2^128 is not an f32, so take 2^127 and double.
    // The integer n from the bits of `shifted` (its low mantissa bits hold
    // it), not `n as i32`: a saturating float-to-int cast kept loops of
    // `exp` from vectorizing (every softmax ran scalar).
    let n = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits(((n.min(127) + 127) as u32) << 23);
    let y = er * scale * if n > 127 { 2.0 } else { 1.0 };
    if x < -87.3 {
        0.0
    } else if x > 88.7 {
        f32::INFINITY
    } else {
        y
    }
}

/// `Σ x` in 8 independent partial sums (vectorizes; see [`dot`]).
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let c = x.chunks_exact(8);
    let tail: f32 = c.remainder().iter().sum();
    let mut acc = [0.0f32; 8];
    for v in c {
        for i in 0..8 {
            acc[i] += v[i];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The largest value of `x` (`-inf` when empty; NaNs are skipped, as
/// `f32::max` does): 16 lanes, then a tree over the lanes, every step a
/// `v > m` select (one `maxps`), so that the whole of it vectorizes (a
/// fold of `f32::max` over the lanes was a scalar chain with NaN checks, the
/// largest cost of a short softmax).
#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let c = x.chunks_exact(16);
    let mut m = [f32::NEG_INFINITY; 16];
    for (m, &v) in m.iter_mut().zip(c.remainder()) {
        *m = if v > *m { v } else { *m };
    }
    for v in c {
        for i in 0..16 {
            m[i] = if v[i] > m[i] { v[i] } else { m[i] };
        }
    }
    for w in [8, 4, 2, 1] {
        for i in 0..w {
            m[i] = if m[i + w] > m[i] { m[i + w] } else { m[i] };
        }
    }
    m[0]
}

/// In-place softmax of a slice (numerically stable).
#[inline(always)]
pub fn softmax(x: &mut [f32]) {
    let max = max(x);
    for v in x.iter_mut() {
        *v = exp(*v - max);
    }
    let inv = 1.0 / sum(x);
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `a · b` (over the shorter of the two), in 8 independent partial sums so
/// that it vectorizes (a single running sum cannot be reordered).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(0.0f32, |a, (x, y)| x.mul_add(*y, a));
    let mut acc = [0.0f32; 8];
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Positions per block of the attention scores (one 512-bit register of f32).
const JB: usize = 16;

/// Queries per tile of the attention products: each key block (and value
/// row) loaded once serves this many queries, in independent accumulators.
const QB: usize = 4;

/// The scratch [`attention`] needs for `t` positions of width `h` in `heads` heads.
pub fn attention_scratch(t: usize, h: usize, heads: usize) -> usize {
    let tp = t.div_ceil(JB) * JB;
    let tq = t.div_ceil(QB) * QB;
    let d = h / heads.max(1);
    tp * d + tq * d + QB * tp
}

/// Multi-head self-attention products: `ctx = softmax(q kᵀ / √d + mask) v`
/// per head, for `t` positions of width `h` split into `heads` heads.
/// `mask[j] == false` hides position `j` (padding) from every query;
/// `mask` empty means no padding. `scratch` holds at least
/// [`attention_scratch`]`(t, h, heads)` values: each head's keys, transposed
/// and zero-padded to blocks of 16 positions (`[d, t16]`), so that a query's
/// scores are `d` multiply-adds on a block kept in registers (`t` dot
/// products of `d` values would each end in a horizontal sum); its scaled
/// queries, zero-padded to tiles of [`QB`]; the score rows of a tile, computed
/// together so that the multiply-add chains of different queries overlap.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    ctx: &mut [f32],
    scratch: &mut [f32],
    t: usize,
    h: usize,
    heads: usize,
    mask: &[bool],
) {
    let d = h / heads;
    let tp = t.div_ceil(JB) * JB;
    let tq = t.div_ceil(QB) * QB;
    let scale = 1.0 / (d as f32).sqrt();
    let (kt, rest) = scratch.split_at_mut(tp * d);
    let (qh, rest) = rest.split_at_mut(tq * d);
    let scores = &mut rest[..QB * tp];
    for hd in 0..heads {
        let off = hd * d;
        // Row by row of `k` (each read once, in order), a column of `kt`.
        for (j, krow) in k.chunks_exact(h).take(t).enumerate() {
            for (col, &x) in kt.chunks_exact_mut(tp).zip(&krow[off..off + d]) {
                col[j] = x;
            }
        }
        for col in kt.chunks_exact_mut(tp) {
            col[t..].fill(0.0);
        }
        // The head's queries, scaled once: `[tq, d]`, the padding rows zero.
        for (j, row) in qh.chunks_exact_mut(d).enumerate() {
            if j < t {
                for (x, &y) in row.iter_mut().zip(&q[j * h + off..j * h + off + d]) {
                    *x = y * scale;
                }
            } else {
                row.fill(0.0);
            }
        }
        let head = Head { h, off, d, t, tp };
        for i0 in (0..t).step_by(QB) {
            head.tile(qh, kt, v, ctx, scores, mask, i0);
        }
    }
}

/// One attention head's geometry: row width `h`, the head's columns
/// `off..off + d`, `t` positions padded to `tp`.
struct Head {
    h: usize,
    off: usize,
    d: usize,
    t: usize,
    tp: usize,
}

impl Head {
    /// Queries `i0..i0 + QB` (rows of `qh`, the head's scaled queries; those
    /// past `t` are padding, computed and dropped): scores against the
    /// transposed keys `kt`, softmax, then their context rows. Every sum
    /// runs in the same order as for one query alone, so the result does not
    /// depend on the tiling.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn tile(
        &self,
        qh: &[f32],
        kt: &[f32],
        v: &[f32],
        ctx: &mut [f32],
        scores: &mut [f32],
        mask: &[bool],
        i0: usize,
    ) {
        let Head { h, off, d, t, tp } = *self;
        let live = QB.min(t - i0);
        let qrows: [&[f32]; QB] = std::array::from_fn(|r| &qh[(i0 + r) * d..(i0 + r + 1) * d]);
        let mut b0 = 0;
        while b0 < t {
            // The last block's keys past `t` are padding: a half block when
            // they are the larger part.
            if t - b0 <= JB / 2 {
                scores_block::<{ JB / 2 }>(&qrows, kt, tp, b0, scores);
                b0 += JB / 2;
            } else {
                scores_block::<JB>(&qrows, kt, tp, b0, scores);
                b0 += JB;
            }
        }
        // Softmax of the live rows; the padding queries' rows zero.
        for r in 0..QB {
            if r < live {
                // The whole padded row, the padding at -inf (probability
                // 0): whole vectors, no scalar tail.
                let row = &mut scores[r * tp..(r + 1) * tp];
                row[t..].fill(f32::NEG_INFINITY);
                if !mask.is_empty() {
                    for (sc, &m) in row.iter_mut().zip(mask) {
                        if !m {
                            *sc = f32::NEG_INFINITY;
                        }
                    }
                }
                softmax(row);
            } else {
                scores[r * tp..r * tp + t].fill(0.0);
            }
        }
        let probs: [&[f32]; QB] = std::array::from_fn(|r| &scores[r * tp..r * tp + t]);
        // ctx_i = Σ_j p_j v_j, 32 or 16 columns of QB queries at a time in
        // registers.
        let mut e0 = 0;
        while e0 + 2 * JB <= d {
            context_block::<{ 2 * JB }>(&probs, v, ctx, h, off + e0, i0, live);
            e0 += 2 * JB;
        }
        while e0 + JB <= d {
            context_block::<JB>(&probs, v, ctx, h, off + e0, i0, live);
            e0 += JB;
        }
        for (r, pr) in probs.iter().enumerate().take(live) {
            let c = (i0 + r) * h + off;
            for e in e0..d {
                ctx[c + e] = pr
                    .iter()
                    .enumerate()
                    .fold(0.0, |a, (j, p)| p.mul_add(v[j * h + off + e], a));
            }
        }
    }
}

/// The scores of the [`QB`] queries `qrows` (scaled, `d` values each)
/// against the keys `b0..b0 + W` of `kt` (`[d, tp]`, transposed keys) into
/// `scores[r * tp + b0..][..W]`: `d` multiply-adds per lane, in order.
#[inline(always)]
fn scores_block<const W: usize>(
    qrows: &[&[f32]; QB],
    kt: &[f32],
    tp: usize,
    b0: usize,
    scores: &mut [f32],
) {
    let d = qrows[0].len();
    let mut acc = [[0.0f32; W]; QB];
    for (e, krow) in kt.chunks_exact(tp).take(d).enumerate() {
        let ke = &krow[b0..b0 + W];
        for (acc, q) in acc.iter_mut().zip(qrows) {
            let qe = q[e];
            for l in 0..W {
                acc[l] = qe.mul_add(ke[l], acc[l]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        scores[r * tp + b0..r * tp + b0 + W].copy_from_slice(acc);
    }
}

/// The context columns `c0..c0 + W` of the live queries `i0..i0 + live`:
/// `ctx[i][c] = Σ_j probs[i - i0][j] · v[j][c]`, over `j` in order (the
/// [`QB`] rows of `probs` of one length).
#[inline(always)]
fn context_block<const W: usize>(
    probs: &[&[f32]; QB],
    v: &[f32],
    ctx: &mut [f32],
    h: usize,
    c0: usize,
    i0: usize,
    live: usize,
) {
    let mut acc = [[0.0f32; W]; QB];
    for j in 0..probs[0].len() {
        let vj = &v[j * h + c0..j * h + c0 + W];
        for (acc, p) in acc.iter_mut().zip(probs) {
            let p = p[j];
            for l in 0..W {
                acc[l] = p.mul_add(vj[l], acc[l]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate().take(live) {
        let c = (i0 + r) * h + c0;
        ctx[c..c + W].copy_from_slice(acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_within_1e_6_of_libm() {
        let mut worst = 0.0f32;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((erf(x) - libm::erff(x)).abs());
        }
        for x in [f32::MIN, -1e9, -9.0, 9.0, 1e9, f32::MAX] {
            assert!((erf(x) - x.signum()).abs() <= 1e-6, "erf({x}) = {}", erf(x));
        }
        println!("max |erf - libm::erff| on [-6, 6] = {worst:e}");
        assert!(worst < 1e-6, "max |erf - libm::erff| = {worst:e}");
    }

    #[test]
    fn exp_is_within_2_ulp_of_libm() {
        let ulp = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).abs();
        let (mut worst, mut at) = (0, 0.0);
        for i in -873_000..=887_000 {
            let x = i as f32 * 1e-4;
            let u = ulp(exp(x), libm::expf(x));
            if u > worst {
                (worst, at) = (u, x);
            }
        }
        println!("max ulp(exp, libm::expf) on [-87.3, 88.7] = {worst} at {at}");
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-1e4), 0.0);
        assert_eq!(exp(1e4), f32::INFINITY);
        assert_eq!(exp(0.0), 1.0);
        let mut s = [1.0, f32::NEG_INFINITY, 2.0];
        softmax(&mut s);
        assert_eq!(s[1], 0.0);
        assert!((s[0] + s[2] - 1.0).abs() < 1e-6 && s[2] > s[0]);
    }

    #[test]
    fn lane_max_is_the_max() {
        for n in [0, 1, 15, 16, 17, 35, 100] {
            let mut x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 101) as f32 - 50.0).collect();
            let want = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&x), want);
            if n > 2 {
                x[n / 2] = f32::NAN;
                x[0] = f32::NEG_INFINITY;
                let want = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(max(&x), want);
            }
        }
    }

    #[test]
    fn attention_matches_the_textbook_formula() {
        // Heads of 4, 32 and 48 values (blocks of 16 and a tail), positions
        // on both sides of a 16-position block, last key blocks of 1–8
        // (half blocks) and 9–16 positions.
        for (t, h, heads) in [
            (7, 12, 3),
            (12, 64, 4),
            (30, 32, 2),
            (21, 64, 2),
            (17, 48, 1),
            (16, 32, 1),
            (1, 16, 1),
            (5, 80, 2),
            (35, 384, 12),
        ] {
            let val = |i: usize, f: f32| ((i as f32) * f).sin();
            let q: Vec<f32> = (0..t * h).map(|i| val(i, 0.37)).collect();
            let k: Vec<f32> = (0..t * h).map(|i| val(i, 0.11)).collect();
            let v: Vec<f32> = (0..t * h).map(|i| val(i, 0.23)).collect();
            let mask: Vec<bool> = (0..t).map(|j| j % 5 != 2).collect();
            let mut ctx = vec![f32::NAN; t * h];
            let mut scratch = vec![f32::NAN; attention_scratch(t, h, heads)];
            attention(&q, &k, &v, &mut ctx, &mut scratch, t, h, heads, &mask);
            let d = h / heads;
            for hd in 0..heads {
                for i in 0..t {
                    let w: Vec<f64> = (0..t)
                        .map(|j| {
                            let s: f64 = (0..d)
                                .map(|e| {
                                    q[i * h + hd * d + e] as f64 * k[j * h + hd * d + e] as f64
                                })
                                .sum();
                            if mask[j] {
                                (s / (d as f64).sqrt()).exp()
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    let z: f64 = w.iter().sum();
                    for e in 0..d {
                        let want: f64 = (0..t)
                            .map(|j| w[j] / z * v[j * h + hd * d + e] as f64)
                            .sum();
                        let got = ctx[i * h + hd * d + e] as f64;
                        assert!(
                            (got - want).abs() < 1e-5,
                            "t {t} h {h} head {hd} query {i}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n + 3).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - plain).abs() < 1e-5, "n = {n}");
        }
    }
}
