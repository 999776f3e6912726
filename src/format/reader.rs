//! Opening and validating a `.ptag` file, and typed views of its tensors.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use half::f16;

use super::checksum::Checksum;
use super::header::{Header, ALIGN, CHECKSUM_RANGE};
use super::meta::ModelMeta;
use super::table::{DType, Layout, TensorInfo};
use crate::error::{Error, Result};

/// Options for opening a model file.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Verify the whole-file checksum (reads every page once). Default `true`;
    /// switch it off only for a file verified at install time.
    pub verify_checksum: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            verify_checksum: true,
        }
    }
}

/// The bytes of a model: memory-mapped, or owned in an 8-byte-aligned buffer.
enum Storage {
    Mapped(memmap2::Mmap),
    Owned { words: Vec<u64>, len: usize },
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned { words, len } => &bytemuck::cast_slice(words)[..*len],
        }
    }
}

/// A validated `.ptag` model: metadata plus in-place tensor views.
pub struct ModelFile {
    storage: Storage,
    meta: ModelMeta,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, usize>,
    data_offset: usize,
}

impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("bytes", &self.storage.bytes().len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl ModelFile {
    /// Memory-maps and validates the file at `path`.
    pub fn open(path: impl AsRef<Path>, opts: OpenOptions) -> Result<ModelFile> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len == 0 {
            return Err(Error::format("file is empty"));
        }
        // SAFETY: the map is read-only and never outlives `storage`. Like every
        // mmap user we rely on the file not being truncated while it is open
        // (a truncation by another process would fault, not read out of bounds).
        // The crate's one exception to `#![deny(unsafe_code)]` (see lib.rs).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::from_storage(Storage::Mapped(map), opts)
    }

    /// Validates a model held in memory. The bytes are copied once into an
    /// aligned buffer that the returned value owns.
    pub fn from_bytes(bytes: &[u8], opts: OpenOptions) -> Result<ModelFile> {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Self::from_storage(
            Storage::Owned {
                words,
                len: bytes.len(),
            },
            opts,
        )
    }

    fn from_storage(storage: Storage, opts: OpenOptions) -> Result<ModelFile> {
        let bytes = storage.bytes();
        let header = Header::decode(bytes)?;
        if opts.verify_checksum {
            let mut c = Checksum::new();
            c.update(&bytes[..CHECKSUM_RANGE.start]);
            c.update(&[0u8; 8]);
            c.update(&bytes[CHECKSUM_RANGE.end..]);
            if c.finish() != header.checksum {
                return Err(Error::format(
                    "checksum mismatch: the file is corrupted or was modified",
                ));
            }
        }
        let section =
            |s: super::header::Section| &bytes[s.offset as usize..(s.offset + s.len) as usize];
        let meta: ModelMeta = serde_json::from_slice(section(header.meta))
            .map_err(|e| Error::format(format!("metadata section: {e}")))?;
        let tensors: Vec<TensorInfo> = serde_json::from_slice(section(header.table))
            .map_err(|e| Error::format(format!("tensor table: {e}")))?;
        let data_len = header.data.len;
        let mut by_name = HashMap::with_capacity(tensors.len());
        for (i, t) in tensors.iter().enumerate() {
            validate_tensor(t, data_len)?;
            if by_name.insert(t.name.clone(), i).is_some() {
                return Err(Error::format(format!("tensor {} appears twice", t.name)));
            }
        }
        Ok(ModelFile {
            data_offset: header.data.offset as usize,
            storage,
            meta,
            tensors,
            by_name,
        })
    }

    /// The metadata.
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The tensor table.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Size of the whole file in bytes.
    pub fn file_len(&self) -> usize {
        self.storage.bytes().len()
    }

    /// The table entry of tensor `name`.
    pub fn tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.by_name
            .get(name)
            .map(|&i| &self.tensors[i])
            .ok_or_else(|| Error::format(format!("missing tensor {name}")))
    }

    /// The raw bytes of a tensor (validated at open).
    pub fn bytes_of(&self, t: &TensorInfo) -> &[u8] {
        let start = self.data_offset + t.offset as usize;
        &self.storage.bytes()[start..start + t.length as usize]
    }

    fn expect(&self, t: &TensorInfo, dtype: DType) -> Result<()> {
        if t.dtype != dtype {
            return Err(Error::format(format!(
                "tensor {} is {:?}, expected {:?}",
                t.name, t.dtype, dtype
            )));
        }
        Ok(())
    }

    /// An f32 tensor's elements, in place.
    pub fn f32s(&self, t: &TensorInfo) -> Result<&[f32]> {
        self.expect(t, DType::F32)?;
        bytemuck::try_cast_slice(self.bytes_of(t))
            .map_err(|e| Error::format(format!("tensor {}: {e:?}", t.name)))
    }

    /// An f16 tensor's elements, in place.
    pub fn f16s(&self, t: &TensorInfo) -> Result<&[f16]> {
        self.expect(t, DType::F16)?;
        bytemuck::try_cast_slice(self.bytes_of(t))
            .map_err(|e| Error::format(format!("tensor {}: {e:?}", t.name)))
    }

    /// An i8 tensor's elements, in place (in the tensor's layout).
    pub fn i8s(&self, t: &TensorInfo) -> Result<&[i8]> {
        self.expect(t, DType::I8)?;
        Ok(bytemuck::cast_slice(self.bytes_of(t)))
    }
}

fn validate_tensor(t: &TensorInfo, data_len: u64) -> Result<()> {
    if t.name.is_empty() {
        return Err(Error::format("a tensor has an empty name"));
    }
    if t.shape.is_empty() || t.shape.contains(&0) {
        return Err(Error::format(format!(
            "tensor {}: invalid shape {:?}",
            t.name, t.shape
        )));
    }
    if t.layout == Layout::K4n16 && (t.dtype != DType::I8 || t.shape.len() != 2) {
        return Err(Error::format(format!(
            "tensor {}: the k4n16 layout takes a 2-D i8 matrix",
            t.name
        )));
    }
    let expected = t.expected_len()? as u64;
    if t.length != expected {
        return Err(Error::format(format!(
            "tensor {}: {} bytes, but {:?} {:?} {:?} needs {expected}",
            t.name, t.length, t.dtype, t.layout, t.shape
        )));
    }
    if !t.offset.is_multiple_of(ALIGN as u64) {
        return Err(Error::format(format!(
            "tensor {}: offset {} is not {ALIGN}-byte aligned",
            t.name, t.offset
        )));
    }
    match t.offset.checked_add(t.length) {
        Some(end) if end <= data_len => Ok(()),
        _ => Err(Error::format(format!(
            "tensor {}: bytes {}+{} lie outside the {data_len}-byte data section",
            t.name, t.offset, t.length
        ))),
    }
}
