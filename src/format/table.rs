//! The tensor table: name, dtype, layout, shape and place of every tensor.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels;

/// Element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE single precision.
    F32,
    /// IEEE half precision.
    F16,
    /// Signed 8-bit integer (quantized; scales in a companion tensor `<name>.scale`).
    I8,
    /// Signed 4-bit integer, two per byte, every row (last dimension) padded
    /// to whole bytes (quantized like `I8`; see `picotag::kernels::quantize_rows_i4`).
    I4,
}

impl DType {
    /// Bytes of a row of `cols` elements (`None` on overflow).
    pub fn row_bytes(self, cols: usize) -> Option<usize> {
        match self {
            DType::F32 => cols.checked_mul(4),
            DType::F16 => cols.checked_mul(2),
            DType::I8 => Some(cols),
            DType::I4 => Some(cols.div_ceil(2)),
        }
    }

    /// Whether the elements are quantized integers with a `<name>.scale`.
    pub fn is_quantized(self) -> bool {
        matches!(self, DType::I8 | DType::I4)
    }
}

/// How the elements of a tensor are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Plain row-major (C order).
    #[default]
    RowMajor,
    /// An `[n, k]` int8 matrix packed for the GEMM kernels: blocks of 16 rows
    /// by 4 columns, zero-padded (see `picotag::kernels`).
    K4n16,
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Unique name, e.g. `encoder.layer.0.attention.self.query.weight`.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Layout of the elements.
    #[serde(default)]
    pub layout: Layout,
    /// Logical shape.
    pub shape: Vec<usize>,
    /// Offset from the start of the data section (a multiple of 64).
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

impl TensorInfo {
    /// Number of logical elements (`None` on overflow).
    pub fn numel(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// The byte length that dtype, layout and shape imply.
    pub fn expected_len(&self) -> Result<usize> {
        let bad = || {
            Error::format(format!(
                "tensor {}: shape {:?} overflows",
                self.name, self.shape
            ))
        };
        match self.layout {
            Layout::RowMajor => {
                let (&cols, rows) = self.shape.split_last().ok_or_else(bad)?;
                rows.iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .and_then(|r| r.checked_mul(self.dtype.row_bytes(cols)?))
                    .ok_or_else(bad)
            }
            Layout::K4n16 => {
                if self.dtype != DType::I8 || self.shape.len() != 2 {
                    return Err(Error::format(format!(
                        "tensor {}: the k4n16 layout takes a 2-D i8 matrix",
                        self.name
                    )));
                }
                kernels::checked_packed_len(self.shape[0], self.shape[1]).ok_or_else(bad)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(dtype: DType, shape: &[usize]) -> TensorInfo {
        TensorInfo {
            name: "t".into(),
            dtype,
            layout: Layout::RowMajor,
            shape: shape.to_vec(),
            offset: 0,
            length: 0,
        }
    }

    #[test]
    fn int4_rows_are_padded_to_whole_bytes() {
        assert_eq!(info(DType::I4, &[5, 3]).expected_len().unwrap(), 10);
        assert_eq!(info(DType::I4, &[2, 4, 64]).expected_len().unwrap(), 256);
        assert_eq!(info(DType::I4, &[7]).expected_len().unwrap(), 4);
        assert_eq!(info(DType::F32, &[5, 3]).expected_len().unwrap(), 60);
        assert!(info(DType::I4, &[usize::MAX, 4]).expected_len().is_err());
        let mut packed = info(DType::I4, &[16, 4]);
        packed.layout = Layout::K4n16;
        assert!(packed.expected_len().is_err(), "k4n16 takes i8 only");
    }
}
