//! int8 GEMM kernels on the MiniLM shapes, M = 16 tokens, every available ISA,
//! next to a plain f32 GEMM (auto-vectorized loops) in the same run.
//!
//! Throughput is in elements = multiply-accumulates, so criterion's "Gelem/s"
//! reads as GMAC/s.
//!
//!     cargo bench -p picotag-bench --bench gemm [-- FILTER]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use picotag::kernels::{
    gemm_i8, pack_k4n16, padded_k, quantize_rows_isa, quantize_weights_per_channel, Isa,
    PackedMatrix,
};

/// Tokens per GEMM.
const M: usize = 16;

/// `(k, n, what)` of the MiniLM-L6 (hidden 384, FFN 1536) GEMMs.
const SHAPES: [(usize, usize, &str); 4] = [
    (384, 384, "attn-out"),
    (384, 1152, "qkv"),
    (384, 1536, "ffn-up"),
    (1536, 384, "ffn-down"),
];

/// Deterministic pseudo-random values in [-1, 1) (no RNG dependency needed here).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Baseline: `out = a · wᵀ + bias` in f32, `wt` stored `[k][n]` so the inner
/// loop is an axpy the compiler vectorizes.
fn gemm_f32(a: &[f32], m: usize, wt: &[f32], k: usize, n: usize, bias: &[f32], out: &mut [f32]) {
    for i in 0..m {
        let o = &mut out[i * n..(i + 1) * n];
        o.copy_from_slice(bias);
        for (t, &x) in a[i * k..(i + 1) * k].iter().enumerate() {
            for (d, &w) in o.iter_mut().zip(&wt[t * n..(t + 1) * n]) {
                *d += x * w;
            }
        }
    }
}

fn bench_gemm(c: &mut Criterion) {
    for &(k, n, what) in &SHAPES {
        let x = values(M * k, 1);
        let w = values(n * k, 2);
        let bias = values(n, 3);
        let (wq, w_scales) = quantize_weights_per_channel(&w, n, k);
        let packed = pack_k4n16(&wq, n, k);
        let pm = PackedMatrix::new(&packed, n, k).unwrap();
        let mut aq = vec![0i8; M * padded_k(k)];
        let mut a_scales = vec![0.0f32; M];
        quantize_rows_isa(Isa::Scalar, &x, M, k, &mut aq, &mut a_scales);
        let mut out = vec![0.0f32; M * n];

        let mut group = c.benchmark_group(format!("gemm/{what}/m{M}_k{k}_n{n}"));
        group.throughput(Throughput::Elements((M * n * k) as u64));
        for isa in Isa::available() {
            group.bench_function(BenchmarkId::new("i8", isa), |b| {
                b.iter(|| {
                    gemm_i8(
                        isa,
                        black_box(&aq),
                        &a_scales,
                        M,
                        &pm,
                        &w_scales,
                        Some(&bias),
                        &mut out,
                    );
                    black_box(&out);
                })
            });
            group.bench_function(BenchmarkId::new("quantize+i8", isa), |b| {
                b.iter(|| {
                    quantize_rows_isa(isa, black_box(&x), M, k, &mut aq, &mut a_scales);
                    gemm_i8(
                        isa,
                        &aq,
                        &a_scales,
                        M,
                        &pm,
                        &w_scales,
                        Some(&bias),
                        &mut out,
                    );
                    black_box(&out);
                })
            });
        }
        let wt: Vec<f32> = (0..k * n).map(|i| w[(i % n) * k + i / n]).collect();
        group.bench_function("f32", |b| {
            b.iter(|| {
                gemm_f32(black_box(&x), M, &wt, k, n, &bias, &mut out);
                black_box(&out);
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_gemm
}
criterion_main!(benches);
