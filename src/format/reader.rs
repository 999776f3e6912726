//! Opening and validating a `.ptag` file, and typed views of its tensors.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use half::f16;

use super::checksum::Checksum;
use super::header::{Header, Section, ALIGN, CHECKSUM_RANGE, HEAD_CHECKSUM_RANGE};
use super::meta::ModelMeta;
use super::table::{DType, Layout, TensorInfo};
use crate::error::{Error, Result};
use crate::tokenize::{table, Tokenizer};

/// Options for opening a model file.
///
/// By default `open` checks the head checksum (header, metadata, tensor
/// table and vocabulary: everything it parses), which costs a few hundred
/// kilobytes of reading, and not the weights: [`ModelFile::verify`] (or
/// `verify_checksum`) checks every byte when the application asks for it.
/// A version-1 file has only the whole-file checksum, which `verify_head`
/// then checks.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Verify the head checksum at open. Default `true`.
    pub verify_head: bool,
    /// Also verify the whole-file checksum at open (reads every page once).
    /// Default `false`.
    pub verify_checksum: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            verify_head: true,
            verify_checksum: false,
        }
    }
}

impl OpenOptions {
    /// Both checks: the head checksum and every byte of the file.
    pub const FULL: OpenOptions = OpenOptions {
        verify_head: true,
        verify_checksum: true,
    };
    /// No checksum checked (for a file verified at install time; every
    /// structure is still validated).
    pub const UNCHECKED: OpenOptions = OpenOptions {
        verify_head: false,
        verify_checksum: false,
    };
}

/// `ptag64` of `bytes[range]` with both checksum fields zeroed.
fn sealed_checksum(bytes: &[u8], end: usize) -> u64 {
    let mut c = Checksum::new();
    c.update(&bytes[..CHECKSUM_RANGE.start]);
    c.update(&[0u8; 8]);
    c.update(&bytes[CHECKSUM_RANGE.end..HEAD_CHECKSUM_RANGE.start]);
    c.update(&[0u8; 8]);
    c.update(&bytes[HEAD_CHECKSUM_RANGE.end..end]);
    c.finish()
}

/// The checksums of a file's bytes as the writer stores them: the head
/// checksum (bytes before the data at `data_offset`) and the whole-file one,
/// both with the checksum fields zeroed.
pub fn seal(bytes: &[u8], data_offset: usize) -> (u64, u64) {
    (
        sealed_checksum(bytes, data_offset),
        sealed_checksum(bytes, bytes.len()),
    )
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

impl AsRef<[u8]> for Storage {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

/// A validated `.ptag` model: metadata plus in-place tensor views.
pub struct ModelFile {
    /// Shared with the tokenizer, which probes the vocabulary in place.
    storage: Arc<Storage>,
    header: Header,
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
        let full = opts.verify_checksum || (header.version == 1 && opts.verify_head);
        if full && sealed_checksum(bytes, bytes.len()) != header.checksum {
            return Err(Error::format(
                "checksum mismatch: the file is corrupted or was modified",
            ));
        }
        if header.version >= 2
            && opts.verify_head
            && sealed_checksum(bytes, header.data.offset as usize) != header.head_checksum
        {
            return Err(Error::format(
                "head checksum mismatch: the file is corrupted or was modified",
            ));
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
            storage: Arc::new(storage),
            header,
            meta,
            tensors,
            by_name,
        })
    }

    /// The metadata. In a version-2 file with a vocabulary section,
    /// `tokenizer` is the `tokenizer.json` text without `model.vocab` (see
    /// [`ModelFile::tokenizer_json`] for the whole of it).
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The format version of the file.
    pub fn version(&self) -> u32 {
        self.header.version
    }

    /// Checks the whole-file checksum (reads every byte): what `open` skips
    /// by default, for the application to run when it chooses.
    pub fn verify(&self) -> Result<()> {
        let bytes = self.storage.bytes();
        if sealed_checksum(bytes, bytes.len()) != self.header.checksum {
            return Err(Error::format(
                "checksum mismatch: the file is corrupted or was modified",
            ));
        }
        Ok(())
    }

    fn vocab_range(&self) -> Option<std::ops::Range<usize>> {
        let s = self.header.vocab;
        (s != Section::default()).then(|| s.offset as usize..(s.offset + s.len) as usize)
    }

    /// The model's tokenizer: probes the vocabulary table in place (version
    /// 2), or parses the `tokenizer.json` text (version 1).
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let json = &self.meta.tokenizer;
        match self.vocab_range() {
            Some(r) => Tokenizer::from_table(json, self.storage.clone(), r),
            None => Tokenizer::from_json(json),
        }
    }

    /// The whole `tokenizer.json` text of the model (for tools that need
    /// it, such as the Hugging Face tokenizer of the trainer); in version 2
    /// the vocabulary is put back from its table (keys in byte order).
    pub fn tokenizer_json(&self) -> Result<String> {
        let Some(r) = self.vocab_range() else {
            return Ok(self.meta.tokenizer.clone());
        };
        let bad = |m: String| Error::format(format!("tokenizer: {m}"));
        let mut v: serde_json::Value =
            serde_json::from_str(&self.meta.tokenizer).map_err(|e| bad(e.to_string()))?;
        let b = &self.storage.bytes()[r];
        let t = table::Table::parse(b)?;
        let mut map = serde_json::Map::new();
        for (k, id) in t.entries(b) {
            let k = String::from_utf8(k).map_err(|_| bad("a key is not UTF-8".into()))?;
            map.insert(k, id.into());
        }
        let model = v
            .get_mut("model")
            .and_then(|m| m.as_object_mut())
            .ok_or_else(|| bad("no model object".into()))?;
        model.insert("vocab".into(), map.into());
        serde_json::to_string(&v).map_err(|e| bad(e.to_string()))
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

    /// An i4 tensor's bytes, in place (two values a byte, rows padded to
    /// whole bytes).
    pub fn i4s(&self, t: &TensorInfo) -> Result<&[u8]> {
        self.expect(t, DType::I4)?;
        Ok(self.bytes_of(t))
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
