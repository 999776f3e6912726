//! The f32 element-wise operations of the encoder.

/// In-place LayerNorm of each `n`-wide row of `x`.
pub fn layer_norm(x: &mut [f32], n: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(n) {
        let mean = row.iter().sum::<f32>() / n as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// The exact (erf) GELU, as BERT's `hidden_act = "gelu"` (with [`erf`]).
#[inline]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf(x)` in f32 as a rational function of `x` on `[-4, 4]` (±1 outside,
/// where f32 erf is ±1): the approximation of Eigen's `generic_fast_erf_float`,
/// within 1e-6 of `libm::erff` (tested). No branch and no `exp`, so loops of
/// it vectorize; libm's `erff` took ~10% of an utterance.
#[inline]
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
    let p = A[1..].iter().fold(A[0], |p, &a| p * x2 + a) * x;
    let q = B[1..].iter().fold(B[0], |q, &b| q * x2 + b);
    p / q
}

/// In-place softmax of a slice (numerically stable).
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `a · b` (over the shorter of the two), in 8 independent partial sums so
/// that it vectorizes (a single running sum cannot be reordered).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0.0f32; 8];
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Multi-head self-attention products: `ctx = softmax(q kᵀ / √d + mask) v`
/// per head, for `t` positions of width `h` split into `heads` heads.
/// `mask[j] == false` hides position `j` (padding) from every query;
/// `mask` empty means no padding. `scores` holds at least `t` values.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    ctx: &mut [f32],
    scores: &mut [f32],
    t: usize,
    h: usize,
    heads: usize,
    mask: &[bool],
) {
    let d = h / heads;
    let scale = 1.0 / (d as f32).sqrt();
    let scores = &mut scores[..t];
    ctx[..t * h].fill(0.0);
    for hd in 0..heads {
        let off = hd * d;
        for i in 0..t {
            let qi = &q[i * h + off..i * h + off + d];
            for (j, sc) in scores.iter_mut().enumerate() {
                *sc = if mask.is_empty() || mask[j] {
                    dot(qi, &k[j * h + off..j * h + off + d]) * scale
                } else {
                    f32::NEG_INFINITY
                };
            }
            softmax(scores);
            let ci = &mut ctx[i * h + off..i * h + off + d];
            for (j, &p) in scores.iter().enumerate() {
                if p != 0.0 {
                    let vj = &v[j * h + off..j * h + off + d];
                    ci.iter_mut().zip(vj).for_each(|(c, vv)| *c += p * vv);
                }
            }
        }
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
    fn dot_matches_the_plain_sum() {
        for n in 0..40 {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n + 3).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - plain).abs() < 1e-5, "n = {n}");
        }
    }
}
