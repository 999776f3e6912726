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
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
            DType::I8 => 1,
        }
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
            Layout::RowMajor => self
                .numel()
                .and_then(|n| n.checked_mul(self.dtype.size()))
                .ok_or_else(bad),
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
