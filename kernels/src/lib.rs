//! int8 GEMM kernels: a scalar path that defines the result, plus x86-64
//! (AVX2, AVX-VNNI, AVX-512 VNNI, AMX-INT8 on Linux) and aarch64 (NEON, dot-product) paths
//! chosen at run time.
//!
//! `out[m][n] = (Σ_k a[m][k] · w[n][k]) as f32 * (a_scale[m] * w_scale[n]) + bias[n]`
//!
//! The sum is exact in i32; the epilogue is evaluated in exactly that order (a
//! multiply, then an add, never fused), `bias` absent counting as `0.0`. Every
//! path therefore gives bit-identical results, which the tests check.
//!
//! Operands: `a` is `m` rows of [`padded_k`]`(k)` int8 values in `[-127, 127]`
//! (as [`quantize_rows`] produces them; `-128` is not allowed and would make the
//! AVX2 path wrong), zero padded; `w` is packed by [`pack_k4n16`] (any int8 value,
//! `[-127, 127]` by the model format's contract). Sums stay exact while
//! `k * 127 * 128 < 2^31`, i.e. `k < 132_000`.
//!
//! This crate is the one place of the runtime with SIMD `unsafe` (the C ABI
//! in `picotag-ffi` being the other): every `unsafe` block carries a
//! `// SAFETY:` comment and every `unsafe fn` a `# Safety` section, which the
//! workspace's `tests/unsafe_audit.rs` checks. `picotag` re-exports it as
//! `picotag::kernels`.

mod aarch64;
mod amx;
mod avx512;
mod avxvnni;
mod int4;
mod pack;
mod quantize;
mod scalar;
#[cfg(test)]
mod tests;
mod tiles;
mod vector;
mod x86;

use std::sync::OnceLock;

pub use int4::{dequantize_row_i4, i4_row_bytes, quantize_rows_i4};
pub use pack::{
    checked_packed_len, pack_k4n16, packed_index, packed_len, padded_k, padded_n, unpack_k4n16,
};
pub use quantize::{quantize_rows, quantize_rows_isa, quantize_weights_per_channel};
pub use vector::{with_vector_isa, VectorBody};

/// Output rows per packed block.
pub const NR: usize = 16;
/// Inner-dimension values per packed group (one i32 lane of 4 int8).
pub const KR: usize = 4;

/// An instruction-set path of the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust; defines the result.
    Scalar,
    /// x86-64 AVX2 (`vpmaddubsw` with the sign trick).
    Avx2,
    /// x86-64 AVX-VNNI (256-bit VEX `vpdpbusd`: CPUs without AVX-512).
    AvxVnni,
    /// x86-64 AVX-512 VNNI (`vpdpbusd`).
    Avx512Vnni,
    /// x86-64 AMX-INT8 tiles (`tdpbssd`) on Linux, with the AVX-512 vector
    /// loops and epilogue (and the AVX-512 VNNI GEMM for inner dimensions
    /// that are not a multiple of 64).
    Amx,
    /// aarch64 Advanced SIMD (`smull`/`sadalp`).
    Neon,
    /// aarch64 dot-product extension (`sdot`).
    NeonDot,
    /// aarch64 int8 matrix multiply (`smmla`, FEAT_I8MM), with `sdot` for
    /// single rows and inner dimensions that are not a multiple of 8.
    NeonI8mm,
}

impl Isa {
    /// Every ISA, from the most portable to the most specific.
    pub const ALL: [Isa; 8] = [
        Isa::Scalar,
        Isa::Avx2,
        Isa::AvxVnni,
        Isa::Avx512Vnni,
        Isa::Amx,
        Isa::Neon,
        Isa::NeonDot,
        Isa::NeonI8mm,
    ];

    /// The name used by `PICOTAG_ISA`:
    /// `scalar|avx2|avxvnni|avx512vnni|amx|neon|neondot|neoni8mm`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::AvxVnni => "avxvnni",
            Isa::Avx512Vnni => "avx512vnni",
            Isa::Amx => "amx",
            Isa::Neon => "neon",
            Isa::NeonDot => "neondot",
            Isa::NeonI8mm => "neoni8mm",
        }
    }

    /// Parses a name as given by [`Isa::name`] (ASCII case-insensitive).
    pub fn from_name(s: &str) -> Option<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether this CPU can run the path (checked at run time).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::AvxVnni => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("avxvnni")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            Isa::Amx => Isa::Avx512Vnni.is_available() && amx::available(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[cfg(target_arch = "aarch64")]
            Isa::NeonDot => {
                std::arch::is_aarch64_feature_detected!("neon")
                    && std::arch::is_aarch64_feature_detected!("dotprod")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::NeonI8mm => {
                Isa::NeonDot.is_available() && std::arch::is_aarch64_feature_detected!("i8mm")
            }
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The ISAs this CPU can run, [`Isa::Scalar`] first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The fastest available ISA, ignoring `PICOTAG_ISA`.
    pub fn best() -> Isa {
        const PREFERENCE: [Isa; 8] = [
            Isa::Amx,
            Isa::Avx512Vnni,
            Isa::AvxVnni,
            Isa::Avx2,
            Isa::NeonI8mm,
            Isa::NeonDot,
            Isa::Neon,
            Isa::Scalar,
        ];
        PREFERENCE
            .into_iter()
            .find(|i| i.is_available())
            .unwrap_or(Isa::Scalar)
    }

    /// `self` if available, else [`detect`]: never an ISA this CPU cannot run.
    pub fn or_detected(self) -> Isa {
        if self.is_available() {
            self
        } else {
            detect()
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The ISA named by `forced` if it is valid and available, else [`Isa::best`].
fn resolve(forced: Option<&str>) -> Isa {
    forced
        .and_then(Isa::from_name)
        .filter(|i| i.is_available())
        .unwrap_or_else(Isa::best)
}

/// The ISA the runtime uses, decided once per process: `PICOTAG_ISA` when it
/// names an available ISA, otherwise (unset, unknown or unavailable) the best one.
pub fn detect() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| resolve(std::env::var("PICOTAG_ISA").ok().as_deref()))
}

/// A k4n16-packed `[n, k]` int8 matrix borrowed in place (e.g. from a mapped file).
///
/// No alignment is assumed: the kernels use unaligned loads.
#[derive(Clone, Copy, Debug)]
pub struct PackedMatrix<'a> {
    data: &'a [i8],
    n: usize,
    k: usize,
}

impl<'a> PackedMatrix<'a> {
    /// Wraps `data` if its length is exactly [`packed_len`]`(n, k)`.
    pub fn new(data: &'a [i8], n: usize, k: usize) -> Option<Self> {
        (checked_packed_len(n, k)? == data.len()).then_some(PackedMatrix { data, n, k })
    }

    /// Output channels (rows of W).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features (columns of W).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The packed bytes.
    pub fn data(&self) -> &'a [i8] {
        self.data
    }
}

/// What the GEMM does with its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Epilogue {
    /// `out = acc * scale + bias`.
    #[default]
    Store,
    /// `out = out + (acc * scale + bias)` (a fused residual add).
    Accumulate,
}

/// Validated operands of one GEMM, shared by every path.
pub(crate) struct Gemm<'a> {
    /// `m` rows of `kp` values.
    pub a: &'a [i8],
    pub a_scales: &'a [f32],
    pub m: usize,
    /// Packed `np × kp` weights.
    pub w: &'a [i8],
    pub n: usize,
    pub kp: usize,
    pub w_scales: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub out: &'a mut [f32],
    pub ldc: usize,
    pub epilogue: Epilogue,
}

impl Gemm<'_> {
    /// Number of 16-row blocks of W.
    pub fn n_blocks(&self) -> usize {
        self.n.div_ceil(NR)
    }

    /// Writes columns `n0..n0+acc.len()` of row `row` from i32 sums (the scalar epilogue).
    #[inline]
    pub fn store_scalar(&mut self, row: usize, n0: usize, acc: &[i32]) {
        let a_s = self.a_scales[row];
        let dst = &mut self.out[row * self.ldc + n0..row * self.ldc + n0 + acc.len()];
        for (j, (d, &s)) in dst.iter_mut().zip(acc).enumerate() {
            let b = self.bias.map_or(0.0, |b| b[n0 + j]);
            let v = s as f32 * (a_s * self.w_scales[n0 + j]) + b;
            *d = match self.epilogue {
                Epilogue::Store => v,
                Epilogue::Accumulate => *d + v,
            };
        }
    }
}

/// `out[m][n] = (a · wᵀ)[m][n] * a_scales[m] * w_scales[n] + bias[n]`, rows of stride `n`.
///
/// `a` holds at least `m` rows of [`padded_k`]`(w.k())` values, `a_scales` at least
/// `m`, `w_scales` and `bias` at least `w.n()`, `out` at least `m * w.n()`; panics
/// otherwise. An ISA this CPU cannot run falls back to [`detect`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_i8(
    isa: Isa,
    a: &[i8],
    a_scales: &[f32],
    m: usize,
    w: &PackedMatrix,
    w_scales: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    gemm_i8_ex(
        isa,
        a,
        a_scales,
        m,
        w,
        w_scales,
        bias,
        out,
        w.n(),
        Epilogue::Store,
    )
}

/// [`gemm_i8`] with an output row stride `ldc >= w.n()` and an [`Epilogue`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_i8_ex(
    isa: Isa,
    a: &[i8],
    a_scales: &[f32],
    m: usize,
    w: &PackedMatrix,
    w_scales: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    ldc: usize,
    epilogue: Epilogue,
) {
    let (n, kp) = (w.n(), padded_k(w.k()));
    assert!(ldc >= n, "gemm_i8: ldc < n");
    assert!(
        a.len() >= m * kp,
        "gemm_i8: a holds fewer than m*padded_k(k) values"
    );
    assert!(
        a_scales.len() >= m,
        "gemm_i8: fewer than m activation scales"
    );
    assert!(w_scales.len() >= n, "gemm_i8: fewer than n weight scales");
    assert!(
        bias.is_none_or(|b| b.len() >= n),
        "gemm_i8: fewer than n biases"
    );
    if m == 0 || n == 0 {
        return;
    }
    assert!(out.len() >= (m - 1) * ldc + n, "gemm_i8: out too short");
    debug_assert!(!a[..m * kp].contains(&i8::MIN), "gemm_i8: activation -128");
    let mut g = Gemm {
        a: &a[..m * kp],
        a_scales,
        m,
        w: w.data(),
        n,
        kp,
        w_scales,
        bias,
        out,
        ldc,
        epilogue,
    };
    match isa.or_detected() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `or_detected` returns Avx2 only when the CPU has AVX2.
            unsafe { x86::gemm_avx2(&mut g) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::AvxVnni => {
            // SAFETY: `or_detected` returns AvxVnni only when the CPU has AVX2
            // and AVX-VNNI.
            unsafe { avxvnni::gemm_avxvnni(&mut g) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => {
            // SAFETY: `or_detected` returns Avx512Vnni only when the CPU has
            // AVX-512 F, BW and VNNI.
            unsafe { avx512::gemm_avx512vnni(&mut g) }
        }
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        Isa::Amx => {
            // SAFETY: `or_detected` returns Amx only when the CPU has AVX-512
            // F, BW and VNNI and `amx::available()` said yes.
            unsafe { amx::gemm_amx(&mut g) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => {
            // SAFETY: `or_detected` returns Neon only when the CPU has NEON.
            unsafe { aarch64::gemm_neon(&mut g) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::NeonDot => {
            // SAFETY: `or_detected` returns NeonDot only when the CPU has NEON and dotprod.
            unsafe { aarch64::gemm_neondot(&mut g) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::NeonI8mm => {
            // SAFETY: `or_detected` returns NeonI8mm only when the CPU has
            // NEON, dotprod and i8mm.
            unsafe { aarch64::gemm_neoni8mm(&mut g) }
        }
        _ => scalar::gemm(&mut g),
    }
}
