//! Symmetric eigen-decomposition (cyclic Jacobi) and the low-rank (PCA/SVD)
//! factorization of an embedding matrix built on it. candle has no SVD: the
//! right singular vectors of `E` are the eigenvectors of `EᵀE`.

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};

/// Eigenvalues (descending) and unit eigenvectors of a symmetric matrix.
#[derive(Debug, Clone)]
pub struct Eigen {
    /// Order of the matrix.
    pub n: usize,
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// `n × n` row-major; column `k` is the eigenvector of `values[k]`.
    pub vectors: Vec<f64>,
}

/// Eigen-decomposes the symmetric `n × n` row-major matrix `a` by cyclic Jacobi
/// rotations, until the off-diagonal mass is below `1e-24` of the total (or 100 sweeps).
pub fn jacobi_eigen(a: &[f64], n: usize) -> Result<Eigen> {
    if a.len() != n * n {
        return Err(Error::Model(format!(
            "jacobi: {} values for a {n}x{n} matrix",
            a.len()
        )));
    }
    let mut a = a.to_vec();
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let mut off = 0.0;
        for p in 0..n {
            for q in p + 1..n {
                off += a[p * n + q] * a[p * n + q];
            }
        }
        if off <= 1e-24 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← A·J (columns p, q), then A ← Jᵀ·A (rows p, q); V ← V·J.
                for k in 0..n {
                    let (kp, kq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * kp - s * kq;
                    a[k * n + q] = s * kp + c * kq;
                    let (vp, vq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vp - s * vq;
                    v[k * n + q] = s * vp + c * vq;
                }
                for k in 0..n {
                    let (pk, qk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * pk - s * qk;
                    a[q * n + k] = s * pk + c * qk;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (k, &i) in order.iter().enumerate() {
        for r in 0..n {
            vectors[r * n + k] = v[r * n + i];
        }
    }
    Ok(Eigen { n, values, vectors })
}

/// The top-`r` principal directions of the rows of `e` `[rows, h]` (uncentered,
/// i.e. the top right singular vectors), as `[h, r]`, and the share of the
/// energy `‖E‖²` they keep.
pub fn principal_directions(e: &Tensor, r: usize) -> Result<(Tensor, f64)> {
    let (_, h) = e.dims2()?;
    if r == 0 || r > h {
        return Err(Error::Spec(format!("rank {r} must be between 1 and {h}")));
    }
    let e64 = e.to_dtype(DType::F64)?;
    let gram = e64.t()?.matmul(&e64)?;
    let g: Vec<f64> = gram.flatten_all()?.to_vec1()?;
    let eig = jacobi_eigen(&g, h)?;
    let mut p = Vec::with_capacity(h * r);
    for row in 0..h {
        p.extend_from_slice(&eig.vectors[row * h..row * h + r]);
    }
    let total: f64 = eig.values.iter().map(|x| x.max(0.0)).sum();
    let kept: f64 = eig.values[..r].iter().map(|x| x.max(0.0)).sum();
    let energy = if total > 0.0 { kept / total } else { 1.0 };
    let p = Tensor::from_vec(p, (h, r), e.device())?.to_dtype(DType::F32)?;
    Ok((p, energy))
}

/// A rank-`r` factorization `E ≈ A · Pᵀ` of `e` `[rows, h]`: `A = E·P` `[rows, r]`
/// and `P` `[h, r]` (orthonormal columns), plus the share of energy kept.
pub struct LowRank {
    /// `[rows, r]` coefficients.
    pub coeffs: Tensor,
    /// `[h, r]` projection.
    pub projection: Tensor,
    /// `‖A·Pᵀ‖² / ‖E‖²`.
    pub energy: f64,
}

/// Factorizes `e` at rank `r` by PCA/SVD (see [`principal_directions`]).
pub fn low_rank(e: &Tensor, r: usize) -> Result<LowRank> {
    let (projection, energy) = principal_directions(e, r)?;
    let coeffs = e.matmul(&projection)?;
    Ok(LowRank {
        coeffs,
        projection,
        energy,
    })
}
