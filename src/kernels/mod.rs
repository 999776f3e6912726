//! int8 GEMM kernels (scalar reference + SIMD paths).
