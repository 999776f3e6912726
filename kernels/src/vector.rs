//! The f32 loops of the encoder and heads (embedding, LayerNorm, softmax,
//! GELU, the attention products, the head dot products), compiled for the
//! vector unit of an ISA.
//!
//! The crate is built for the baseline of its target (SSE2 on x86-64), so
//! those loops vectorize 4 wide. [`with_vector_isa`] runs a [`VectorBody`]
//! inside a function compiled with AVX2 and FMA (and AVX-512 F for
//! [`Isa::Avx512Vnni`] and [`Isa::Amx`]), and the `#[inline(always)]` loops of
//! `encoder::ops` are compiled into it 8 or 16 wide. Their multiply-adds are
//! explicit `mul_add`s: one `vfmadd` here, the C library's correctly rounded
//! `fmaf` in the baseline build (a CPU with AVX2 but no FMA runs that), and
//! the loops keep their order, so the results are the same bit for bit on
//! every path (tested). The compiler never fuses a product and a sum on its
//! own, so enabling FMA changes nothing else.
//!
//! The body is a [`VectorBody`] rather than a closure: a closure is a
//! function of its own that the compiler need not inline (and then compiles
//! for the baseline), while an `#[inline(always)]` trait method is inlined.

use super::Isa;

/// Work to compile for a vector unit: implement [`VectorBody::run`] with
/// `#[inline(always)]` (and make what it calls `#[inline(always)]` too).
pub trait VectorBody {
    /// What the work returns.
    type Out;
    /// Does the work.
    fn run(self) -> Self::Out;
}

/// Runs `f` compiled for the vector instructions of `isa` (see the module doc).
#[inline(always)]
pub fn with_vector_isa<B: VectorBody>(isa: Isa, f: B) -> B::Out {
    match isa.or_detected() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni | Isa::Amx if std::arch::is_x86_feature_detected!("fma") => {
            // SAFETY: `or_detected` returns Avx512Vnni or Amx only when the
            // CPU has AVX2 and AVX-512 F (and BW, VNNI); FMA is checked.
            unsafe { avx512(f) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::AvxVnni if std::arch::is_x86_feature_detected!("fma") => {
            // SAFETY: `or_detected` returns Avx2 or AvxVnni only when the CPU
            // has AVX2; FMA is checked.
            unsafe { avx2(f) }
        }
        // aarch64: NEON is the baseline, the loops already use it.
        _ => f.run(),
    }
}

/// Runs `f` compiled with AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<B: VectorBody>(f: B) -> B::Out {
    f.run()
}

/// Runs `f` compiled with AVX2, FMA and AVX-512 F.
///
/// # Safety
/// The CPU must support AVX2, FMA and AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f")]
unsafe fn avx512<B: VectorBody>(f: B) -> B::Out {
    f.run()
}
