//! Writing a `.ptag` file.

use std::path::Path;

use half::f16;

use super::header::{
    Header, Section, ALIGN, CHECKSUM_RANGE, FORMAT_VERSION, HEADER_LEN, HEAD_CHECKSUM_RANGE,
    VERSION_WITHOUT_I4,
};
use super::meta::HeadMeta;
use super::meta::ModelMeta;
use super::reader::{seal, ModelFile};
use super::table::{DType, Layout, TensorInfo};
use crate::error::{Error, Result};
use crate::tokenize::table;

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
    /// A writer for a model described by `meta`, whose `tokenizer` is the
    /// whole `tokenizer.json` (for the metadata of a version-2 file read back,
    /// take [`ModelFile::tokenizer_json`], or use [`ModelWriter::from_file`]).
    pub fn new(meta: ModelMeta) -> Self {
        ModelWriter {
            meta,
            tensors: Vec::new(),
            data: Vec::new(),
        }
    }

    /// A writer holding all of `file`: its metadata (with the whole
    /// `tokenizer.json`) and every tensor's bytes. Writing it re-encodes the
    /// file in the current format version with the same tensors.
    pub fn from_file(file: &ModelFile) -> Result<ModelWriter> {
        let mut meta = file.meta().clone();
        meta.tokenizer = file.tokenizer_json()?;
        let mut w = ModelWriter::new(meta);
        for t in file.tensors() {
            w.add_raw(&t.name, t.dtype, t.layout, &t.shape, file.bytes_of(t))?;
        }
        Ok(w)
    }

    /// Keeps the heads for which `keep` is true, and drops the others and
    /// their tensors (`heads.NAME.weight`, `.bias`, `.weight.scale`).
    pub fn retain_heads(&mut self, mut keep: impl FnMut(&HeadMeta) -> bool) {
        let mut dropped = Vec::new();
        self.meta.heads.retain(|h| {
            let k = keep(h);
            if !k {
                dropped.push(h.name.clone());
            }
            k
        });
        let gone = |t: &TensorInfo| {
            dropped.iter().any(|n| {
                t.name
                    .strip_prefix("heads.")
                    .and_then(|r| r.strip_prefix(n.as_str()))
                    .is_some_and(|r| matches!(r, ".weight" | ".bias" | ".weight.scale"))
            })
        };
        if dropped.is_empty() {
            return;
        }
        // Rebuild the data without the dropped tensors.
        let old = std::mem::take(&mut self.tensors);
        let data = std::mem::take(&mut self.data);
        for t in old.into_iter().filter(|t| !gone(t)) {
            let bytes = &data[t.offset as usize..(t.offset + t.length) as usize];
            pad_to_align(&mut self.data);
            let offset = self.data.len() as u64;
            self.data.extend_from_slice(bytes);
            self.tensors.push(TensorInfo { offset, ..t });
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

    /// Adds a row-major int4 tensor: `bytes` as
    /// [`crate::kernels::quantize_rows_i4`] writes them.
    pub fn add_i4(&mut self, name: &str, shape: &[usize], bytes: &[u8]) -> Result<()> {
        self.add_raw(name, DType::I4, Layout::RowMajor, shape, bytes)
    }

    /// The format version the file is written in: the oldest that holds
    /// its tensors.
    pub fn version(&self) -> u32 {
        if self.tensors.iter().any(|t| t.dtype == DType::I4) {
            FORMAT_VERSION
        } else {
            VERSION_WITHOUT_I4
        }
    }

    /// The complete file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let (tokenizer, vocab) = split_vocab(&self.meta.tokenizer)?;
        let mut meta = self.meta.clone();
        meta.tokenizer = tokenizer;
        let meta = serde_json::to_vec(&meta)
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
        let vocab_s = match &vocab {
            Some(v) => {
                let s = Section {
                    offset: out.len() as u64,
                    len: v.len() as u64,
                };
                out.extend_from_slice(v);
                pad_to_align(&mut out);
                s
            }
            None => Section::default(),
        };
        let data_s = Section {
            offset: out.len() as u64,
            len: self.data.len() as u64,
        };
        out.extend_from_slice(&self.data);
        let header = Header {
            version: self.version(),
            file_len: out.len() as u64,
            meta: meta_s,
            table: table_s,
            data: data_s,
            checksum: 0,
            vocab: vocab_s,
            head_checksum: 0,
        };
        out[..HEADER_LEN].copy_from_slice(&header.encode());
        let (head, whole) = seal(&out, data_s.offset as usize);
        out[HEAD_CHECKSUM_RANGE].copy_from_slice(&head.to_le_bytes());
        out[CHECKSUM_RANGE].copy_from_slice(&whole.to_le_bytes());
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

/// Splits `tokenizer.json` text into the text without `model.vocab` and the
/// vocabulary as a prebuilt table; text that is not a tokenizer with a
/// vocabulary map is kept whole, with no table.
fn split_vocab(json: &str) -> Result<(String, Option<Vec<u8>>)> {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(json) else {
        return Ok((json.to_string(), None));
    };
    let Some(model) = v.get_mut("model").and_then(|m| m.as_object_mut()) else {
        return Ok((json.to_string(), None));
    };
    let Some(map) = model.get("vocab").and_then(|m| m.as_object()) else {
        return Ok((json.to_string(), None));
    };
    let mut entries = Vec::with_capacity(map.len());
    for (k, id) in map {
        let id = id
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| Error::InvalidArgument(format!("tokenizer: id of {k:?} is {id}")))?;
        entries.push((k.as_str(), id));
    }
    let table = table::encode(&entries)?;
    model.remove("vocab");
    let text =
        serde_json::to_string(&v).map_err(|e| Error::InvalidArgument(format!("tokenizer: {e}")))?;
    Ok((text, Some(table)))
}
