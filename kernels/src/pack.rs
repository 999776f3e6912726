//! The "k4n16" packed weight layout: blocks of 16 output rows by 4 input columns.

use super::{KR, NR};

/// `n` rounded up to a multiple of [`NR`].
pub fn padded_n(n: usize) -> usize {
    n.div_ceil(NR) * NR
}

/// `k` rounded up to a multiple of [`KR`] (the row stride of quantized activations).
pub fn padded_k(k: usize) -> usize {
    k.div_ceil(KR) * KR
}

/// Length in bytes of an `[n, k]` matrix packed as k4n16, or `None` on overflow.
pub fn checked_packed_len(n: usize, k: usize) -> Option<usize> {
    let np = n.checked_add(NR - 1)? / NR * NR;
    let kp = k.checked_add(KR - 1)? / KR * KR;
    np.checked_mul(kp)
}

/// Length in bytes of an `[n, k]` matrix packed as k4n16. Panics on overflow.
pub fn packed_len(n: usize, k: usize) -> usize {
    checked_packed_len(n, k).expect("packed matrix size overflows usize")
}

/// Offset in the packed buffer of `W[row][col]`, for a matrix whose padded width is `kp`.
#[inline]
pub fn packed_index(row: usize, col: usize, kp: usize) -> usize {
    let (nb, n) = (row / NR, row % NR);
    let (kg, kk) = (col / KR, col % KR);
    nb * NR * kp + kg * NR * KR + n * KR + kk
}

/// Packs a row-major `[n, k]` int8 matrix into the k4n16 layout, zero padded.
///
/// Byte order: `for nb { for kg { for n in 0..16 { for kk in 0..4 { W[nb*16+n][kg*4+kk] }}}}`,
/// so each (nb, kg) block is 64 contiguous bytes.
pub fn pack_k4n16(w: &[i8], n: usize, k: usize) -> Vec<i8> {
    assert_eq!(w.len(), n * k, "pack_k4n16: w must hold n*k values");
    let kp = padded_k(k);
    let mut out = vec![0i8; packed_len(n, k)];
    for (row, src) in w.chunks_exact(k.max(1)).enumerate().take(n) {
        for (col, &v) in src.iter().enumerate() {
            out[packed_index(row, col, kp)] = v;
        }
    }
    out
}

/// Inverse of [`pack_k4n16`]: the row-major `[n, k]` matrix (padding dropped).
pub fn unpack_k4n16(packed: &[i8], n: usize, k: usize) -> Vec<i8> {
    assert_eq!(
        packed.len(),
        packed_len(n, k),
        "unpack_k4n16: wrong packed length"
    );
    let kp = padded_k(k);
    let mut out = Vec::with_capacity(n * k);
    for row in 0..n {
        out.extend((0..k).map(|col| packed[packed_index(row, col, kp)]));
    }
    out
}
