//! Every SIMD path against the scalar one, the scalar one against a naive GEMM,
//! packing, quantization and ISA selection.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// Row-major naive reference on the unpacked matrix (independent of the kernels).
#[allow(clippy::too_many_arguments)]
fn naive(
    a: &[i8],
    a_s: &[f32],
    m: usize,
    w: &[i8],
    n: usize,
    k: usize,
    w_s: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let kp = padded_k(k);
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let acc: i32 = (0..k)
                .map(|t| i32::from(a[i * kp + t]) * i32::from(w[j * k + t]))
                .sum();
            out[i * n + j] = acc as f32 * (a_s[i] * w_s[j]) + bias.map_or(0.0, |b| b[j]);
        }
    }
    out
}

/// Random activations (`[-127, 127]`, zero padded to `kp`), `-128..=127` weights.
struct Case {
    m: usize,
    n: usize,
    k: usize,
    a: Vec<i8>,
    a_s: Vec<f32>,
    w: Vec<i8>,
    packed: Vec<i8>,
    w_s: Vec<f32>,
    bias: Vec<f32>,
}

impl Case {
    fn random(rng: &mut StdRng, m: usize, n: usize, k: usize, extreme: bool) -> Case {
        let kp = padded_k(k);
        let mut a = vec![0i8; m * kp];
        for row in a.chunks_exact_mut(kp.max(1)).take(m) {
            for v in &mut row[..k] {
                *v = if extreme {
                    if rng.random() {
                        127
                    } else {
                        -127
                    }
                } else {
                    rng.random_range(-127..=127)
                };
            }
        }
        let w: Vec<i8> = (0..n * k)
            .map(|_| {
                if extreme {
                    [127, -127, -128][rng.random_range(0..3)]
                } else {
                    rng.random()
                }
            })
            .collect();
        // Some zero scales (an all-zero token or channel) among random ones.
        let scale = |rng: &mut StdRng| {
            if rng.random_range(0..8) == 0 {
                0.0
            } else {
                rng.random_range(1e-4..0.1)
            }
        };
        let a_s = (0..m).map(|_| scale(rng)).collect();
        let w_s = (0..n).map(|_| scale(rng)).collect();
        let bias = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
        let packed = pack_k4n16(&w, n, k);
        Case {
            m,
            n,
            k,
            a,
            a_s,
            w,
            packed,
            w_s,
            bias,
        }
    }

    fn matrix(&self) -> PackedMatrix<'_> {
        PackedMatrix::new(&self.packed, self.n, self.k).expect("packed length")
    }

    /// `gemm_i8_ex` on `isa` into a buffer of stride `ldc` pre-filled with `fill`.
    fn run(&self, isa: Isa, bias: bool, ldc: usize, epi: Epilogue, fill: &[f32]) -> Vec<f32> {
        let mut out = fill.to_vec();
        let b = bias.then_some(&self.bias[..]);
        gemm_i8_ex(
            isa,
            &self.a,
            &self.a_s,
            self.m,
            &self.matrix(),
            &self.w_s,
            b,
            &mut out,
            ldc,
            epi,
        );
        out
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn scalar_matches_naive() {
    let mut rng = StdRng::seed_from_u64(1);
    for &(m, n, k) in &[
        (1, 1, 1),
        (3, 17, 5),
        (9, 40, 67),
        (4, 16, 384),
        (2, 33, 0),
        (0, 5, 5),
    ] {
        let c = Case::random(&mut rng, m, n, k, false);
        for bias in [false, true] {
            let got = c.run(
                Isa::Scalar,
                bias,
                n,
                Epilogue::Store,
                &vec![f32::NAN; m * n],
            );
            let want = naive(
                &c.a,
                &c.a_s,
                m,
                &c.w,
                n,
                k,
                &c.w_s,
                bias.then_some(&c.bias[..]),
            );
            assert_eq!(bits(&got), bits(&want), "m={m} n={n} k={k} bias={bias}");
        }
    }
}

/// Runs one case on every ISA in `Isa::ALL` (unavailable ones must fall back
/// safely) and checks bit equality with the scalar path, with and without bias,
/// with a row stride wider than `n` and with the accumulate epilogue.
fn check_case(c: &Case, rng: &mut StdRng) {
    let (m, n) = (c.m, c.n);
    let ldc = n + rng.random_range(0..3);
    let fill: Vec<f32> = (0..m * ldc).map(|_| rng.random_range(-1.0..1.0)).collect();
    for (bias, epi) in [
        (true, Epilogue::Store),
        (false, Epilogue::Store),
        (true, Epilogue::Accumulate),
    ] {
        let want = c.run(Isa::Scalar, bias, ldc, epi, &fill);
        for (i, (&o, &f)) in want.iter().zip(&fill).enumerate() {
            if i % ldc >= n {
                assert_eq!(o.to_bits(), f.to_bits(), "scalar wrote past n");
            }
        }
        for isa in Isa::ALL {
            let got = c.run(isa, bias, ldc, epi, &fill);
            assert_eq!(
                bits(&got),
                bits(&want),
                "isa={isa} m={m} n={n} k={} ldc={ldc} bias={bias} {epi:?}",
                c.k
            );
        }
    }
}

#[test]
fn simd_paths_match_scalar_small_shapes() {
    for isa in Isa::ALL {
        let status = if isa.is_available() {
            "tested"
        } else {
            "SKIPPED (not available on this CPU)"
        };
        eprintln!("kernels: isa {isa}: {status}");
    }
    let mut rng = StdRng::seed_from_u64(2);
    let ks = [1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 31, 64, 67, 130];
    let ns = [1, 3, 15, 16, 17, 32, 33, 50, 113, 130, 200];
    for m in 1..=9 {
        for _ in 0..6 {
            let k = ks[rng.random_range(0..ks.len())];
            let n = ns[rng.random_range(0..ns.len())];
            let c = Case::random(&mut rng, m, n, k, false);
            check_case(&c, &mut rng);
        }
    }
}

#[test]
fn simd_paths_match_scalar_model_shapes() {
    let mut rng = StdRng::seed_from_u64(3);
    for &(m, n, k) in &[
        (9, 1536, 384),
        (5, 384, 1536),
        (1, 1152, 384),
        (7, 100, 383),
    ] {
        let c = Case::random(&mut rng, m, n, k, false);
        check_case(&c, &mut rng);
    }
}

/// The row counts of real utterances (8 to 40 tokens): every row tiling of
/// every path, on the model's matrix shapes and odd ones.
#[test]
fn simd_paths_match_scalar_at_sequence_lengths() {
    let mut rng = StdRng::seed_from_u64(5);
    for m in [8, 10, 11, 15, 17, 19, 23, 26, 31, 35, 40, 43] {
        let (n, k) =
            [(384, 384), (1536, 384), (384, 1536), (48, 100), (122, 384)][rng.random_range(0..5)];
        let c = Case::random(&mut rng, m, n, k, false);
        check_case(&c, &mut rng);
    }
}

/// Row counts past one AMX block (32 rows: blocks of near-equal height, one
/// or two A tiles), inner dimensions that are multiples of 64 (the tile
/// path) and not, odd numbers of column blocks and a partial last block.
#[test]
fn simd_paths_match_scalar_across_row_blocks() {
    let mut rng = StdRng::seed_from_u64(6);
    for m in [1, 16, 17, 32, 33, 48, 49, 64, 65, 97] {
        let n = [16, 17, 48, 113, 384][rng.random_range(0..5)];
        let k = [64, 128, 1408, 60, 100][rng.random_range(0..5)];
        let c = Case::random(&mut rng, m, n, k, false);
        check_case(&c, &mut rng);
    }
}

#[test]
fn simd_paths_exact_on_extreme_values() {
    let mut rng = StdRng::seed_from_u64(4);
    for &(m, n, k) in &[(9, 33, 1536), (4, 16, 4), (3, 17, 1537)] {
        let mut c = Case::random(&mut rng, m, n, k, true);
        // Unit scales, no bias: the output is the i32 sum itself (exact below 2^24).
        c.a_s.fill(1.0);
        c.w_s.fill(1.0);
        let want = naive(&c.a, &c.a_s, m, &c.w, n, k, &c.w_s, None);
        for isa in Isa::available() {
            let got = c.run(isa, false, n, Epilogue::Store, &vec![0.0; m * n]);
            assert_eq!(bits(&got), bits(&want), "isa={isa} m={m} n={n} k={k}");
        }
        // All products at the extreme of one sign, in every lane.
        c.a.iter_mut()
            .for_each(|v| *v = if *v != 0 { -127 } else { 0 });
        c.w.fill(-128);
        c.packed = pack_k4n16(&c.w, n, k);
        let want = naive(&c.a, &c.a_s, m, &c.w, n, k, &c.w_s, None);
        assert_eq!(want[0], (k * 127 * 128) as f32);
        for isa in Isa::available() {
            let got = c.run(isa, false, n, Epilogue::Store, &vec![0.0; m * n]);
            assert_eq!(
                bits(&got),
                bits(&want),
                "isa={isa} m={m} n={n} k={k} (all -127 x -128)"
            );
        }
    }
}

#[test]
fn empty_dimensions() {
    let mut rng = StdRng::seed_from_u64(5);
    // k = 0: the output is the bias; m = 0 or n = 0: nothing is written.
    for &(m, n, k) in &[(3, 20, 0), (0, 20, 8), (3, 0, 8)] {
        let c = Case::random(&mut rng, m, n, k, false);
        check_case(&c, &mut rng);
    }
}

#[test]
fn pack_layout_and_round_trip() {
    let mut rng = StdRng::seed_from_u64(6);
    for &(n, k) in &[
        (1, 1),
        (16, 4),
        (17, 5),
        (33, 130),
        (384, 383),
        (0, 7),
        (7, 0),
    ] {
        let w: Vec<i8> = (0..n * k).map(|_| rng.random()).collect();
        let p = pack_k4n16(&w, n, k);
        let (np, kp) = (padded_n(n), padded_k(k));
        assert_eq!(p.len(), np * kp);
        assert_eq!(p.len(), packed_len(n, k));
        // The documented byte order, written out independently.
        let mut i = 0;
        for nb in 0..np / NR {
            for kg in 0..kp / KR {
                for r in 0..NR {
                    for kk in 0..KR {
                        let (row, col) = (nb * NR + r, kg * KR + kk);
                        let want = if row < n && col < k {
                            w[row * k + col]
                        } else {
                            0
                        };
                        assert_eq!(p[i], want, "n={n} k={k} byte {i}");
                        i += 1;
                    }
                }
            }
        }
        assert_eq!(unpack_k4n16(&p, n, k), w);
    }
}

#[test]
fn packed_matrix_checks_length() {
    let data = vec![0i8; packed_len(17, 5)];
    assert_eq!(data.len(), 32 * 8);
    assert!(PackedMatrix::new(&data, 17, 5).is_some());
    assert!(PackedMatrix::new(&data[1..], 17, 5).is_none());
    assert!(PackedMatrix::new(&[0i8; 32 * 8 + 1], 17, 5).is_none());
    assert!(PackedMatrix::new(&data, 17, 9).is_none());
    assert!(PackedMatrix::new(&data, 33, 5).is_none());
    assert!(PackedMatrix::new(&data, usize::MAX, 5).is_none());
    assert!(PackedMatrix::new(&data, 16, usize::MAX / 2).is_none());
    assert_eq!(checked_packed_len(usize::MAX, 1), None);
    let pm = PackedMatrix::new(&data, 17, 5).unwrap();
    assert_eq!((pm.n(), pm.k(), pm.data().len()), (17, 5, 256));
}

/// Random rows with varied magnitudes, a zero row and exact ties.
fn quant_input(rng: &mut StdRng, m: usize, k: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(m * k);
    for r in 0..m {
        let mag = [0.0, 1e-30, 1e-3, 1.0, 5e3][r % 5];
        x.extend((0..k).map(|_| rng.random_range(-1.0f32..=1.0) * mag));
    }
    if m > 1 && k > 2 {
        // x * 127/amax lands on exact halves: 0.5, 1.5, 2.5 (ties to even).
        let row = &mut x[k..2 * k];
        row.fill(0.0);
        row[0] = 127.0;
        row[1] = 0.5;
        row[2] = -2.5;
    }
    x
}

#[test]
fn quantize_rows_error_bound_and_padding() {
    let mut rng = StdRng::seed_from_u64(7);
    for &(m, k) in &[(1, 1), (5, 3), (6, 33), (7, 384), (5, 1537)] {
        let kp = padded_k(k);
        let x = quant_input(&mut rng, m, k);
        let mut q = vec![99i8; m * kp];
        let mut s = vec![-1.0f32; m];
        quantize_rows_isa(Isa::Scalar, &x, m, k, &mut q, &mut s);
        for r in 0..m {
            let (xr, qr) = (&x[r * k..(r + 1) * k], &q[r * kp..(r + 1) * kp]);
            let amax = xr.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            assert_eq!(s[r], amax / 127.0);
            assert!(qr[k..].iter().all(|&v| v == 0), "padding not zeroed");
            assert!(qr.iter().all(|&v| v != i8::MIN));
            if amax == 0.0 {
                assert!(qr.iter().all(|&v| v == 0));
                continue;
            }
            assert!(
                qr.iter().any(|&v| v.unsigned_abs() == 127),
                "max does not map to ±127"
            );
            for (&xv, &qv) in xr.iter().zip(qr) {
                let err = (f32::from(qv) * s[r] - xv).abs();
                assert!(
                    err <= s[r] * 0.5 * (1.0 + 1e-5),
                    "x={xv} q={qv} s={} err={err}",
                    s[r]
                );
            }
        }
        if m > 1 && k > 2 {
            assert_eq!(&q[kp..kp + 3], &[127, 0, -2], "ties must round to even");
        }
        // Every path gives the same bytes and scales.
        for isa in Isa::ALL {
            let mut q2 = vec![55i8; m * kp];
            let mut s2 = vec![-1.0f32; m];
            quantize_rows_isa(isa, &x, m, k, &mut q2, &mut s2);
            assert_eq!(q2, q, "isa={isa} m={m} k={k}");
            assert_eq!(bits(&s2), bits(&s), "isa={isa} m={m} k={k}");
        }
    }
}

#[test]
fn weight_quantization_is_row_quantization() {
    let mut rng = StdRng::seed_from_u64(8);
    let (n, k) = (21, 37);
    let w = quant_input(&mut rng, n, k);
    let (q, s) = quantize_weights_per_channel(&w, n, k);
    let kp = padded_k(k);
    let mut qr = vec![0i8; n * kp];
    let mut sr = vec![0.0f32; n];
    quantize_rows_isa(Isa::Scalar, &w, n, k, &mut qr, &mut sr);
    assert_eq!(bits(&s), bits(&sr));
    for r in 0..n {
        assert_eq!(&q[r * k..(r + 1) * k], &qr[r * kp..r * kp + k]);
    }
}

#[test]
fn isa_selection() {
    assert_eq!(Isa::available()[0], Isa::Scalar);
    assert!(Isa::best().is_available());
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
        assert_eq!(Isa::from_name(&isa.name().to_uppercase()), Some(isa));
        let resolved = resolve(Some(isa.name()));
        assert!(resolved.is_available());
        assert_eq!(resolved, if isa.is_available() { isa } else { Isa::best() });
        assert!(isa.or_detected().is_available());
    }
    assert_eq!(resolve(Some("bogus")), Isa::best());
    assert_eq!(resolve(None), Isa::best());
    assert_eq!(resolve(Some("scalar")), Isa::Scalar);
    #[cfg(target_arch = "x86_64")]
    assert!(
        !Isa::Neon.is_available() && !Isa::NeonDot.is_available() && !Isa::NeonI8mm.is_available()
    );
    #[cfg(target_arch = "aarch64")]
    assert!(Isa::Neon.is_available() && !Isa::Avx2.is_available());
}

/// With `PICOTAG_ISA` set (as the aarch64 CI script does), the forced path must
/// really be the one in use: a silent fallback fails the run.
#[test]
fn forced_isa_is_in_use() {
    let forced = std::env::var("PICOTAG_ISA").ok();
    eprintln!("kernels: PICOTAG_ISA={forced:?}, detect() = {}", detect());
    if let Some(name) = forced {
        let isa =
            Isa::from_name(&name).unwrap_or_else(|| panic!("PICOTAG_ISA={name} is not an ISA"));
        assert_eq!(
            detect(),
            isa,
            "PICOTAG_ISA={name} is not available on this CPU"
        );
    }
}
