//! The vocabulary as a prebuilt binary table: the vocabulary section of a
//! format-2 `.ptag` file, probed where it lies (nothing is built at open).
//!
//! The keys are sorted bytewise and front-coded in blocks of [`BLOCK`]; a
//! lookup binary-searches the blocks' first keys, then decodes one block.
//! Layout (little-endian; see docs/FORMAT.md):
//!
//! ```text
//! 0   u32 n            keys
//! 4   u32 block        keys per block
//! 8   u32 id_bytes     2 or 4: width of an id
//! 12  u32 keys_len     bytes of the key stream
//! 16  u32 × ceil(n / block)   offset of each block in the key stream
//!     id_bytes × n            the id of each key, in key order
//!     keys_len bytes          the key stream: a block's first key is
//!                             [len u8][bytes], each next one
//!                             [shared u8][suffix_len u8][suffix bytes]
//! ```

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// Keys per block of the written tables.
pub const BLOCK: usize = 32;
/// Longest key a table holds, in bytes.
pub const MAX_KEY: usize = 255;

const FIXED: usize = 16;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(w))
}

/// Encodes `(key, id)` pairs (keys unique) as a table.
pub fn encode(entries: &[(&str, u32)]) -> Result<Vec<u8>> {
    let bad = |m: String| Error::InvalidArgument(format!("vocabulary table: {m}"));
    let mut sorted: Vec<(&[u8], u32)> = entries.iter().map(|(k, i)| (k.as_bytes(), *i)).collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(bad(format!(
            "key {:?} twice",
            String::from_utf8_lossy(w[0].0)
        )));
    }
    if let Some((k, _)) = sorted.iter().find(|(k, _)| k.len() > MAX_KEY) {
        return Err(bad(format!(
            "key {:?} longer than {MAX_KEY} bytes",
            String::from_utf8_lossy(k)
        )));
    }
    let n = u32::try_from(sorted.len()).map_err(|_| bad("too many keys".into()))?;
    let id_bytes = if sorted.iter().all(|&(_, i)| i <= u32::from(u16::MAX)) {
        2
    } else {
        4
    };
    let mut offsets = Vec::new();
    let mut stream = Vec::new();
    for (i, (k, _)) in sorted.iter().enumerate() {
        if i % BLOCK == 0 {
            offsets.push(u32::try_from(stream.len()).map_err(|_| bad("too large".into()))?);
            stream.push(k.len() as u8);
            stream.extend_from_slice(k);
        } else {
            let prev = sorted[i - 1].0;
            let shared = prev
                .iter()
                .zip(k.iter())
                .take_while(|(a, b)| a == b)
                .count();
            stream.push(shared as u8);
            stream.push((k.len() - shared) as u8);
            stream.extend_from_slice(&k[shared..]);
        }
    }
    let keys_len = u32::try_from(stream.len()).map_err(|_| bad("too large".into()))?;
    let mut out = Vec::with_capacity(FIXED + 4 * offsets.len() + id_bytes * sorted.len());
    for v in [n, BLOCK as u32, id_bytes as u32, keys_len] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for o in offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    for &(_, id) in &sorted {
        out.extend_from_slice(&id.to_le_bytes()[..id_bytes]);
    }
    out.extend_from_slice(&stream);
    Ok(out)
}

/// Where the parts of a validated table lie in its bytes.
#[derive(Debug, Clone)]
pub struct Table {
    n: usize,
    block: usize,
    n_blocks: usize,
    id_bytes: usize,
    ids_at: usize,
    keys_at: usize,
    max_id: Option<u32>,
}

impl Table {
    /// Checks the table's sizes and block offsets (a cheap pass: one read of
    /// the block offsets and of the ids, no key decoded).
    pub fn parse(b: &[u8]) -> Result<Table> {
        let bad = |m: &str| Error::format(format!("vocabulary section: {m}"));
        let field = |i: usize| {
            u32_at(b, 4 * i)
                .map(|v| v as usize)
                .ok_or_else(|| bad("truncated"))
        };
        let (n, block, id_bytes, keys_len) = (field(0)?, field(1)?, field(2)?, field(3)?);
        if block == 0 || block > 1 << 16 {
            return Err(bad("invalid block size"));
        }
        if id_bytes != 2 && id_bytes != 4 {
            return Err(bad("invalid id width"));
        }
        let n_blocks = n.div_ceil(block);
        let ids_at = FIXED + 4 * n_blocks;
        let keys_at = n
            .checked_mul(id_bytes)
            .and_then(|l| l.checked_add(ids_at))
            .ok_or_else(|| bad("sizes overflow"))?;
        if keys_at.checked_add(keys_len) != Some(b.len()) {
            return Err(bad("sizes disagree with the section length"));
        }
        let mut prev = None;
        for j in 0..n_blocks {
            let o = u32_at(b, FIXED + 4 * j).ok_or_else(|| bad("truncated"))? as usize;
            if o >= keys_len || prev.is_some_and(|p| o <= p) {
                return Err(bad("block offsets out of order or range"));
            }
            prev = Some(o);
        }
        let ids = &b[ids_at..keys_at];
        let max_id = if id_bytes == 2 {
            ids.chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .max()
        } else {
            ids.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .max()
        };
        Ok(Table {
            n,
            block,
            n_blocks,
            id_bytes,
            ids_at,
            keys_at,
            max_id,
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the table has no keys.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The largest id, if any key.
    pub fn max_id(&self) -> Option<u32> {
        self.max_id
    }

    fn id(&self, b: &[u8], i: usize) -> Option<u32> {
        let at = self.ids_at + i * self.id_bytes;
        let s = b.get(at..at + self.id_bytes)?;
        Some(if self.id_bytes == 2 {
            u32::from(u16::from_le_bytes([s[0], s[1]]))
        } else {
            u32::from_le_bytes([s[0], s[1], s[2], s[3]])
        })
    }

    /// The first key of block `j`.
    fn first_key<'b>(&self, b: &'b [u8], j: usize) -> Option<&'b [u8]> {
        let at = self.keys_at + u32_at(b, FIXED + 4 * j)? as usize;
        let len = *b.get(at)? as usize;
        b.get(at + 1..at + 1 + len)
    }

    /// Decodes block `j`, calling `f(index, key)` for each key until it
    /// returns `false`. A malformed block ends the walk early.
    fn walk_block(&self, b: &[u8], j: usize, mut f: impl FnMut(usize, &[u8]) -> bool) {
        let mut buf = [0u8; MAX_KEY];
        let Some(mut at) = u32_at(b, FIXED + 4 * j).map(|o| self.keys_at + o as usize) else {
            return;
        };
        let mut len = 0;
        let end = ((j + 1) * self.block).min(self.n);
        for i in j * self.block..end {
            let (shared, suffix) = if i == j * self.block {
                (0, b.get(at).map(|&l| l as usize))
            } else {
                let s = b.get(at).map(|&s| s as usize);
                at += 1;
                (s.unwrap_or(usize::MAX), b.get(at).map(|&l| l as usize))
            };
            let Some(suffix) = suffix else { return };
            at += 1;
            if shared > len || shared + suffix > MAX_KEY {
                return;
            }
            let Some(bytes) = b.get(at..at + suffix) else {
                return;
            };
            buf[shared..shared + suffix].copy_from_slice(bytes);
            len = shared + suffix;
            at += suffix;
            if !f(i, &buf[..len]) {
                return;
            }
        }
    }

    /// The id of the key `prefix ++ key`, in the table's bytes `b`.
    pub fn get(&self, b: &[u8], prefix: &[u8], key: &[u8]) -> Option<u32> {
        let total = prefix.len() + key.len();
        if total > MAX_KEY || self.n_blocks == 0 {
            return None;
        }
        let mut probe = [0u8; MAX_KEY];
        probe[..prefix.len()].copy_from_slice(prefix);
        probe[prefix.len()..total].copy_from_slice(key);
        let probe = &probe[..total];
        // The last block whose first key is <= probe.
        let (mut lo, mut hi) = (0, self.n_blocks);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            match self.first_key(b, mid)?.cmp(probe) {
                Ordering::Greater => hi = mid,
                _ => lo = mid,
            }
        }
        let mut found = None;
        self.walk_block(b, lo, |i, k| match k.cmp(probe) {
            Ordering::Less => true,
            Ordering::Equal => {
                found = Some(i);
                false
            }
            Ordering::Greater => false,
        });
        self.id(b, found?)
    }

    /// Every `(key, id)`, in key order (a malformed block is skipped).
    pub fn entries(&self, b: &[u8]) -> Vec<(Vec<u8>, u32)> {
        let mut out = Vec::with_capacity(self.n);
        for j in 0..self.n_blocks {
            self.walk_block(b, j, |i, k| {
                if let Some(id) = self.id(b, i) {
                    out.push((k.to_vec(), id));
                }
                true
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = (0..1000u32)
            .map(|i| (format!("k{}", (i * 7919) % 1000), i))
            .collect();
        v.extend([
            (String::new(), 5000),
            ("##ing".into(), 70_000),
            ("é".into(), 7),
        ]);
        v
    }

    #[test]
    fn finds_every_key_and_nothing_else() {
        let ks = keys();
        let pairs: Vec<(&str, u32)> = ks.iter().map(|(k, i)| (k.as_str(), *i)).collect();
        let b = encode(&pairs).unwrap();
        let t = Table::parse(&b).unwrap();
        assert_eq!(t.len(), ks.len());
        assert_eq!(t.max_id(), Some(70_000));
        for (k, i) in &ks {
            assert_eq!(t.get(&b, b"", k.as_bytes()), Some(*i), "{k:?}");
        }
        assert_eq!(t.get(&b, b"##", b"ing"), Some(70_000));
        for k in ["k1000", "x", "k", "##in", "ing", "k99x", "\u{ff}"] {
            assert_eq!(t.get(&b, b"", k.as_bytes()), None, "{k:?}");
        }
        let mut all = t.entries(&b);
        all.sort();
        let mut want: Vec<(Vec<u8>, u32)> = ks
            .iter()
            .map(|(k, i)| (k.as_bytes().to_vec(), *i))
            .collect();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn small_ids_take_two_bytes() {
        let b = encode(&[("a", 1), ("b", 65535)]).unwrap();
        assert_eq!(u32_at(&b, 8), Some(2));
        let t = Table::parse(&b).unwrap();
        assert_eq!(t.get(&b, b"", b"b"), Some(65535));
    }

    #[test]
    fn rejects_what_it_cannot_hold() {
        assert!(encode(&[("a", 1), ("a", 2)]).is_err());
        let long = "x".repeat(MAX_KEY + 1);
        assert!(encode(&[(long.as_str(), 1)]).is_err());
    }

    #[test]
    fn damaged_tables_give_errors_or_misses_never_panics() {
        let ks = keys();
        let pairs: Vec<(&str, u32)> = ks.iter().map(|(k, i)| (k.as_str(), *i)).collect();
        let b = encode(&pairs).unwrap();
        for cut in [0, 3, 15, 16, 40, b.len() - 1] {
            assert!(Table::parse(&b[..cut]).is_err(), "cut {cut}");
        }
        let mut rng = 0x1234_5678_u64;
        for _ in 0..2000 {
            let mut d = b.clone();
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (rng >> 33) as usize % d.len();
            d[at] ^= 1 << ((rng >> 20) % 8);
            if let Ok(t) = Table::parse(&d) {
                for (k, _) in ks.iter().step_by(97) {
                    let _ = t.get(&d, b"", k.as_bytes());
                }
                let _ = t.entries(&d);
            }
        }
    }
}
