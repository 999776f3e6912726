//! Writing a `.ptag` file.

use std::path::Path;

use half::f16;

use super::checksum::checksum;
use super::header::{Header, Section, ALIGN, CHECKSUM_RANGE, FORMAT_VERSION, HEADER_LEN};
use super::meta::ModelMeta;
use super::table::{DType, Layout, TensorInfo};
use crate::error::{Error, Result};

/// Builds a `.ptag` file from metadata and tensors.
#[derive(Debug, Clone)]
pub struct ModelWriter {
    meta: ModelMeta,
    tensors: Vec<TensorInfo>,
    data: Vec<u8>,
}

fn pad_to_align(buf: &mut Vec<u8>) {
    let rem = buf.len() % ALIGN;
    if rem != 0 {
        buf.resize(buf.len() + ALIGN - rem, 0);
    }
}

impl ModelWriter {
    /// A writer for a model described by `meta`.
    pub fn new(meta: ModelMeta) -> Self {
        ModelWriter {
            meta,
            tensors: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The metadata, for edits before writing (e.g. scores).
    pub fn meta_mut(&mut self) -> &mut ModelMeta {
        &mut self.meta
    }

    /// Adds a tensor from raw little-endian bytes; checks that the length
    /// fits dtype, layout and shape, and that the name is new.
    pub fn add_raw(
        &mut self,
        name: &str,
        dtype: DType,
        layout: Layout,
        shape: &[usize],
        bytes: &[u8],
    ) -> Result<()> {
        if self.tensors.iter().any(|t| t.name == name) {
            return Err(Error::InvalidArgument(format!("tensor {name} added twice")));
        }
        pad_to_align(&mut self.data);
        let info = TensorInfo {
            name: name.to_string(),
            dtype,
            layout,
            shape: shape.to_vec(),
            offset: self.data.len() as u64,
            length: bytes.len() as u64,
        };
        let expected = info
            .expected_len()
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        if expected != bytes.len() || shape.is_empty() || shape.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "tensor {name}: {} bytes for {dtype:?} {layout:?} {shape:?} (expected {expected})",
                bytes.len()
            )));
        }
        self.data.extend_from_slice(bytes);
        self.tensors.push(info);
        Ok(())
    }

    /// Adds a row-major f32 tensor.
    pub fn add_f32(&mut self, name: &str, shape: &[usize], values: &[f32]) -> Result<()> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_raw(name, DType::F32, Layout::RowMajor, shape, &bytes)
    }

    /// Adds a row-major tensor stored as f16 (rounded from f32).
    pub fn add_f16(&mut self, name: &str, shape: &[usize], values: &[f32]) -> Result<()> {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect();
        self.add_raw(name, DType::F16, Layout::RowMajor, shape, &bytes)
    }

    /// Adds an int8 tensor in the given layout.
    pub fn add_i8(
        &mut self,
        name: &str,
        layout: Layout,
        shape: &[usize],
        values: &[i8],
    ) -> Result<()> {
        self.add_raw(name, DType::I8, layout, shape, bytemuck::cast_slice(values))
    }

    /// The complete file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let meta = serde_json::to_vec(&self.meta)
            .map_err(|e| Error::InvalidArgument(format!("metadata: {e}")))?;
        let table = serde_json::to_vec(&self.tensors)
            .map_err(|e| Error::InvalidArgument(format!("tensor table: {e}")))?;
        let mut out = vec![0u8; HEADER_LEN];
        pad_to_align(&mut out);
        let meta_s = Section {
            offset: out.len() as u64,
            len: meta.len() as u64,
        };
        out.extend_from_slice(&meta);
        pad_to_align(&mut out);
        let table_s = Section {
            offset: out.len() as u64,
            len: table.len() as u64,
        };
        out.extend_from_slice(&table);
        pad_to_align(&mut out);
        let data_s = Section {
            offset: out.len() as u64,
            len: self.data.len() as u64,
        };
        out.extend_from_slice(&self.data);
        let mut header = Header {
            version: FORMAT_VERSION,
            file_len: out.len() as u64,
            meta: meta_s,
            table: table_s,
            data: data_s,
            checksum: 0,
        };
        out[..HEADER_LEN].copy_from_slice(&header.encode());
        header.checksum = checksum(&out);
        out[CHECKSUM_RANGE].copy_from_slice(&header.checksum.to_le_bytes());
        Ok(out)
    }

    /// Writes the file to `path` (through a temporary file and a rename, so a
    /// reader never sees a half-written model).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension("ptag.tmp");
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::write(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}
