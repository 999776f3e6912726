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

/// The exact (erf) GELU, as BERT's `hidden_act = "gelu"`.
#[inline]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
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

/// `a · b`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
