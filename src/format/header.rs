//! The fixed 128-byte header at the start of a `.ptag` file.

use crate::error::{Error, Result};

/// The first eight bytes of every `.ptag` file.
pub const MAGIC: [u8; 8] = *b"PTAG\x89\r\n\x1a";
/// The newest format version this build reads and writes. Version 3 is
/// version 2 plus int4 tensors; a file without any is written as version 2,
/// so that older builds still read it.
pub const FORMAT_VERSION: u32 = 3;
/// The version of a file whose tensors are all of version 2's types.
pub const VERSION_WITHOUT_I4: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_VERSION: u32 = 1;
/// Size of the header in bytes.
pub const HEADER_LEN: usize = 128;
/// Alignment of every section and tensor, in bytes.
pub const ALIGN: usize = 64;
/// Byte range of the whole-file checksum field (zeroed, with
/// [`HEAD_CHECKSUM_RANGE`], while either checksum is computed).
pub const CHECKSUM_RANGE: std::ops::Range<usize> = 72..80;
/// Byte range of the head checksum field (version 2).
pub const HEAD_CHECKSUM_RANGE: std::ops::Range<usize> = 96..104;

/// A section: `len` bytes at `offset` from the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section {
    /// Offset from the start of the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Total file length the writer produced.
    pub file_len: u64,
    /// The JSON metadata section.
    pub meta: Section,
    /// The JSON tensor table.
    pub table: Section,
    /// The tensor data.
    pub data: Section,
    /// `ptag64` of the whole file with both checksum fields zeroed.
    pub checksum: u64,
    /// The vocabulary table (version 2; empty when the tokenizer JSON
    /// carries its own vocabulary, and in version 1).
    pub vocab: Section,
    /// `ptag64` of the bytes before the tensor data (header, metadata, tensor
    /// table, vocabulary) with both checksum fields zeroed (version 2; 0 in
    /// version 1, which has none).
    pub head_checksum: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl Header {
    /// Encodes the header (the checksum field as given).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        let fields = [
            self.file_len,
            self.meta.offset,
            self.meta.len,
            self.table.offset,
            self.table.len,
            self.data.offset,
            self.data.len,
            self.checksum,
            self.vocab.offset,
            self.vocab.len,
            self.head_checksum,
        ];
        for (i, f) in fields.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&f.to_le_bytes());
        }
        b
    }

    /// Decodes and validates the header against the actual file length.
    pub fn decode(bytes: &[u8]) -> Result<Header> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::format(format!(
                "file is {} bytes, shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            )));
        }
        if bytes[0..8] != MAGIC {
            return Err(Error::format("bad magic: not a .ptag file"));
        }
        let version = u32_at(bytes, 8);
        if !(OLDEST_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::format(format!(
                "unsupported format version {version} (this build reads \
                 {OLDEST_VERSION} to {FORMAT_VERSION}; convert the file with \
                 `picotag-quantize reencode`, or use a newer picotag)"
            )));
        }
        let header_len = u32_at(bytes, 12) as usize;
        if header_len != HEADER_LEN {
            return Err(Error::format(format!("bad header length {header_len}")));
        }
        let reserved = if version == 1 { 80 } else { 104 };
        if bytes[reserved..HEADER_LEN].iter().any(|&b| b != 0) {
            return Err(Error::format("reserved header bytes are not zero"));
        }
        let h = Header {
            version,
            file_len: u64_at(bytes, 16),
            meta: Section {
                offset: u64_at(bytes, 24),
                len: u64_at(bytes, 32),
            },
            table: Section {
                offset: u64_at(bytes, 40),
                len: u64_at(bytes, 48),
            },
            data: Section {
                offset: u64_at(bytes, 56),
                len: u64_at(bytes, 64),
            },
            checksum: u64_at(bytes, 72),
            vocab: Section {
                offset: u64_at(bytes, 80),
                len: u64_at(bytes, 88),
            },
            head_checksum: u64_at(bytes, 96),
        };
        if h.file_len != bytes.len() as u64 {
            return Err(Error::format(format!(
                "file is {} bytes but its header says {} (truncated or padded)",
                bytes.len(),
                h.file_len
            )));
        }
        for (name, s) in [
            ("metadata", h.meta),
            ("tensor table", h.table),
            ("data", h.data),
            ("vocabulary", h.vocab),
        ] {
            if name == "vocabulary" && s == Section::default() {
                continue;
            }
            let end = s.offset.checked_add(s.len);
            match end {
                Some(end) if s.offset >= HEADER_LEN as u64 && end <= h.file_len => {}
                _ => {
                    return Err(Error::format(format!(
                        "{name} section {}+{} lies outside the {}-byte file",
                        s.offset, s.len, h.file_len
                    )))
                }
            }
            if !s.offset.is_multiple_of(ALIGN as u64) {
                return Err(Error::format(format!(
                    "{name} section offset {} is not {ALIGN}-byte aligned",
                    s.offset
                )));
            }
        }
        // Version 2: everything parsed at open lies before the data, which
        // the head checksum covers.
        if version >= 2 {
            for (name, s) in [
                ("metadata", h.meta),
                ("tensor table", h.table),
                ("vocabulary", h.vocab),
            ] {
                if s.offset + s.len > h.data.offset {
                    return Err(Error::format(format!(
                        "{name} section {}+{} does not end before the data at {}",
                        s.offset, s.len, h.data.offset
                    )));
                }
            }
        }
        Ok(h)
    }
}
