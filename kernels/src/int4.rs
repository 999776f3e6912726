//! Signed 4-bit rows: the storage of embedding tables that are looked up a
//! row at a time (never multiplied as a matrix), at half the bytes of int8.
//!
//! A row of `k` values takes [`i4_row_bytes`]`(k)` bytes: value `2j` in the
//! low nibble of byte `j`, value `2j + 1` in its high nibble, each a two's
//! complement integer in `[-7, 7]` (`-8` is never written; an odd row's last
//! high nibble is zero). With the row's scale `s`, value `j` is `q[j] · s`.

/// Largest magnitude of a stored value.
const QMAX: f32 = 7.0;

/// Bytes of one row of `k` int4 values.
pub fn i4_row_bytes(k: usize) -> usize {
    k.div_ceil(2)
}

/// The `[n, k]` row-major f32 matrix `w` as int4 rows, one scale per row.
///
/// Each row's scale is the one of a small grid of clipping points (a share
/// of the row's largest magnitude) with the least squared error: at 4 bits
/// clipping the few large values pays for a finer step for all others.
/// `round` maps a scale to the one the file can store (e.g. through f16):
/// the codes are computed with the stored scale. Returns
/// `n · i4_row_bytes(k)` bytes and the `n` (rounded) scales.
pub fn quantize_rows_i4(
    w: &[f32],
    n: usize,
    k: usize,
    round: impl Fn(f32) -> f32,
) -> (Vec<u8>, Vec<f32>) {
    assert_eq!(w.len(), n * k, "quantize_rows_i4: w must hold n*k values");
    let rb = i4_row_bytes(k);
    let mut q = vec![0u8; n * rb];
    let mut scales = vec![0.0f32; n];
    if k == 0 {
        return (q, scales);
    }
    let mut codes = vec![0i8; k];
    for ((row, dst), s) in w
        .chunks_exact(k)
        .zip(q.chunks_exact_mut(rb))
        .zip(&mut scales)
    {
        *s = best_scale(row, &round);
        let inv = if *s > 0.0 { 1.0 / *s } else { 0.0 };
        for (c, &v) in codes.iter_mut().zip(row) {
            *c = (v * inv).round_ties_even().clamp(-QMAX, QMAX) as i8;
        }
        for (b, pair) in dst.iter_mut().zip(codes.chunks(2)) {
            let lo = pair[0] as u8 & 0x0f;
            let hi = pair.get(1).map_or(0, |&c| c as u8 & 0x0f);
            *b = lo | (hi << 4);
        }
    }
    (q, scales)
}

/// The row's (rounded) scale of least squared error over clipping at
/// 50 … 100% of its largest magnitude (`0.0` for a row of zeros).
fn best_scale(row: &[f32], round: impl Fn(f32) -> f32) -> f32 {
    let amax = row.iter().fold(0f32, |a, v| a.max(v.abs()));
    if amax == 0.0 || !amax.is_finite() {
        return 0.0;
    }
    let mut best = (f32::INFINITY, round(amax / QMAX));
    for step in 0..=25 {
        let s = round(amax * (0.5 + 0.02 * step as f32) / QMAX);
        if !(s > 0.0 && s.is_finite()) {
            continue;
        }
        let err: f32 = row
            .iter()
            .map(|&v| {
                let d = v - (v / s).round_ties_even().clamp(-QMAX, QMAX) * s;
                d * d
            })
            .sum();
        if err < best.0 {
            best = (err, s);
        }
    }
    best.1
}

/// The value stored in the low (`high == false`) or high nibble of `b`.
#[inline(always)]
fn nibble(b: u8, high: bool) -> i8 {
    if high {
        (b as i8) >> 4
    } else {
        ((b << 4) as i8) >> 4
    }
}

/// Writes the `out.len()` values of one int4 row (`row`: its
/// [`i4_row_bytes`]`(out.len())` bytes) times `scale` into `out`.
///
/// # Panics
/// When `row` is shorter than `i4_row_bytes(out.len())`.
#[inline]
pub fn dequantize_row_i4(row: &[u8], scale: f32, out: &mut [f32]) {
    let row = &row[..i4_row_bytes(out.len())];
    let mut pairs = out.chunks_exact_mut(2);
    for (o, &b) in (&mut pairs).zip(row) {
        o[0] = nibble(b, false) as f32 * scale;
        o[1] = nibble(b, true) as f32 * scale;
    }
    if let [last] = pairs.into_remainder() {
        *last = nibble(row[row.len() - 1], false) as f32 * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[test]
    fn every_nibble_round_trips() {
        for lo in -8i8..=7 {
            for hi in -8i8..=7 {
                let b = (lo as u8 & 0x0f) | ((hi as u8 & 0x0f) << 4);
                assert_eq!((nibble(b, false), nibble(b, true)), (lo, hi));
            }
        }
    }

    #[test]
    fn rows_round_trip_within_half_a_step_or_the_clip() {
        let mut seed = 7;
        for (n, k) in [(1, 1), (3, 2), (5, 7), (17, 64), (4, 65), (2, 384)] {
            let w: Vec<f32> = (0..n * k).map(|_| lcg(&mut seed) * 3.0).collect();
            let (q, s) = quantize_rows_i4(&w, n, k, |s| s);
            assert_eq!(q.len(), n * i4_row_bytes(k));
            let mut out = vec![0f32; k];
            for r in 0..n {
                let rb = i4_row_bytes(k);
                dequantize_row_i4(&q[r * rb..(r + 1) * rb], s[r], &mut out);
                let amax = w[r * k..(r + 1) * k]
                    .iter()
                    .fold(0f32, |a, v| a.max(v.abs()));
                assert!(s[r] >= amax * 0.5 / QMAX * 0.999 && s[r] <= amax / QMAX * 1.001);
                for (j, (&o, &v)) in out.iter().zip(&w[r * k..(r + 1) * k]).enumerate() {
                    let clipped = v.clamp(-QMAX * s[r], QMAX * s[r]);
                    assert!(
                        (o - clipped).abs() <= s[r] * 0.5 + 1e-6,
                        "row {r} col {j}: {o} vs {v} (scale {})",
                        s[r]
                    );
                }
                if k % 2 == 1 {
                    assert_eq!(q[(r + 1) * i4_row_bytes(k) - 1] >> 4, 0, "odd row padding");
                }
            }
        }
    }

    #[test]
    fn the_chosen_scale_is_never_worse_than_no_clipping() {
        let mut seed = 11;
        // Heavy-tailed rows: a few large values among small ones.
        let k = 64;
        let w: Vec<f32> = (0..8 * k)
            .map(|i| {
                let v = lcg(&mut seed);
                if i % 29 == 0 {
                    v * 8.0
                } else {
                    v * 0.5
                }
            })
            .collect();
        let (q, s) = quantize_rows_i4(&w, 8, k, |s| s);
        let mut out = vec![0f32; k];
        for r in 0..8 {
            let row = &w[r * k..(r + 1) * k];
            dequantize_row_i4(&q[r * 32..(r + 1) * 32], s[r], &mut out);
            let err: f32 = out.iter().zip(row).map(|(o, v)| (o - v) * (o - v)).sum();
            let amax = row.iter().fold(0f32, |a, v| a.max(v.abs()));
            let s0 = amax / QMAX;
            let err0: f32 = row
                .iter()
                .map(|&v| (v - (v / s0).round_ties_even() * s0).powi(2))
                .sum();
            assert!(err <= err0 * 1.0001, "row {r}: {err} > {err0}");
        }
    }

    #[test]
    fn codes_are_computed_with_the_rounded_scale() {
        let mut seed = 5;
        let k = 64;
        let w: Vec<f32> = (0..4 * k).map(|_| lcg(&mut seed)).collect();
        // A coarse rounding (to a multiple of 1/64) stands in for f16.
        let round = |s: f32| (s * 64.0).round().max(1.0) / 64.0;
        let (q, s) = quantize_rows_i4(&w, 4, k, round);
        let mut out = vec![0f32; k];
        for r in 0..4 {
            assert_eq!(s[r], round(s[r]));
            dequantize_row_i4(&q[r * 32..(r + 1) * 32], s[r], &mut out);
            for (&o, &v) in out.iter().zip(&w[r * k..(r + 1) * k]) {
                let clipped = v.clamp(-QMAX * s[r], QMAX * s[r]);
                assert!((o - clipped).abs() <= s[r] * 0.5 + 1e-6);
            }
        }
    }

    #[test]
    fn zero_rows_and_zero_width() {
        let (q, s) = quantize_rows_i4(&[0.0; 6], 2, 3, |s| s);
        assert_eq!((q, s), (vec![0u8; 4], vec![0.0; 2]));
        let (q, s) = quantize_rows_i4(&[], 3, 0, |s| s);
        assert_eq!((q.len(), s.len()), (0, 3));
    }
}
