//! The f32 loops of the encoder and heads (embedding, LayerNorm, softmax,
//! GELU, the attention products, the head dot products), compiled for the
//! vector unit of an ISA.
//!
//! The crate is built for the baseline of its target (SSE2 on x86-64), so
//! those loops vectorize 4 wide. [`with_vector_isa`] runs a [`VectorBody`]
//! inside a function compiled with AVX2 (and AVX-512 F for
//! [`Isa::Avx512Vnni`] and [`Isa::Amx`]), and the `#[inline(always)]` loops of
//! `encoder::ops` are compiled into it 8 or 16 wide. FMA is not enabled: every product and sum rounds as in the
//! baseline build and the loops keep their order, so the results are the
//! same bit for bit on every path (tested).
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
        Isa::Avx512Vnni | Isa::Amx => {
            // SAFETY: `or_detected` returns Avx512Vnni or Amx only when the
            // CPU has AVX2 and AVX-512 F (and BW, VNNI).
            unsafe { avx512(f) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::AvxVnni => {
            // SAFETY: `or_detected` returns Avx2 or AvxVnni only when the CPU has AVX2.
            unsafe { avx2(f) }
        }
        // aarch64: NEON is the baseline, the loops already use it.
        _ => f.run(),
    }
}

/// Runs `f` compiled with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<B: VectorBody>(f: B) -> B::Out {
    f.run()
}

/// Runs `f` compiled with AVX2 and AVX-512 F.
///
/// # Safety
/// The CPU must support AVX2 and AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f")]
unsafe fn avx512<B: VectorBody>(f: B) -> B::Out {
    f.run()
}
