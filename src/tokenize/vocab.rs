//! The WordPiece vocabulary as a compact string → id table.
//!
//! Every key lives in one string arena and the index is one open-addressing
//! array, so a 30k-entry vocabulary is built (and dropped) with a handful
//! of allocations. A `HashMap<String, u32>` makes one allocation per key,
//! which was most of the time it took to open a model.

use std::hash::{BuildHasher, Hasher};

use crate::error::{Error, Result};

/// One key: its byte range in the arena and its id.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u32,
    id: u32,
}

/// A string → id table (see the module docs). Duplicate keys keep the last
/// id, like a map filled in order.
#[derive(Clone)]
pub struct Vocab {
    arena: String,
    entries: Vec<Entry>,
    /// `(hash >> 32) << 32 | (entry index + 1)`; 0 is an empty slot. The
    /// length is a power of two at least twice the number of keys.
    slots: Vec<u64>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for Vocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocab")
            .field("len", &self.entries.len())
            .finish()
    }
}

impl Default for Vocab {
    fn default() -> Self {
        Vocab::with_capacity(0, 0)
    }
}

impl Vocab {
    /// An empty table sized for `keys` keys of `bytes` bytes in total (it
    /// grows past either if needed).
    pub fn with_capacity(keys: usize, bytes: usize) -> Vocab {
        Vocab {
            arena: String::with_capacity(bytes),
            entries: Vec::with_capacity(keys),
            slots: vec![0; slot_count(keys)],
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn hash(&self, key: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key.as_bytes());
        h.finish()
    }

    fn key(&self, e: Entry) -> &str {
        &self.arena[e.start as usize..(e.start + e.len) as usize]
    }

    /// The slot holding `key`, or the empty slot where it would go.
    fn find(&self, key: &str, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let tag = hash & !0xFFFF_FFFF;
        let mut i = hash as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return i;
            }
            if s & !0xFFFF_FFFF == tag {
                let e = self.entries[(s as u32 - 1) as usize];
                if self.key(e) == key {
                    return i;
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<u32> {
        let s = self.slots[self.find(key, self.hash(key))];
        (s != 0).then(|| self.entries[(s as u32 - 1) as usize].id)
    }

    /// Whether `key` is in the table.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Adds `key` with `id`, replacing the id of an existing equal key.
    /// Fails only past 4 GiB of keys.
    pub fn insert(&mut self, key: &str, id: u32) -> Result<()> {
        if slot_count(self.entries.len() + 1) > self.slots.len() {
            self.grow();
        }
        let hash = self.hash(key);
        let i = self.find(key, hash);
        if self.slots[i] != 0 {
            let e = (self.slots[i] as u32 - 1) as usize;
            self.entries[e].id = id;
            return Ok(());
        }
        let too_big = || Error::Tokenizer("vocabulary over 4 GiB".into());
        let start = u32::try_from(self.arena.len()).map_err(|_| too_big())?;
        let len = u32::try_from(key.len()).map_err(|_| too_big())?;
        start.checked_add(len).ok_or_else(too_big)?;
        // Entries are fewer than arena bytes + 1 (at most one empty key).
        let n = u32::try_from(self.entries.len() + 1).map_err(|_| too_big())?;
        self.arena.push_str(key);
        self.entries.push(Entry { start, len, id });
        self.slots[i] = (hash & !0xFFFF_FFFF) | u64::from(n);
        Ok(())
    }

    fn grow(&mut self) {
        let mut slots = vec![0u64; slot_count(self.entries.len() + 1).max(self.slots.len() * 2)];
        let mask = slots.len() - 1;
        for (n, e) in self.entries.iter().enumerate() {
            let hash = self.hash(self.key(*e));
            let mut i = hash as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (hash & !0xFFFF_FFFF) | (n as u64 + 1);
        }
        self.slots = slots;
    }

    /// The keys and their ids, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        self.entries.iter().map(|&e| (self.key(e), e.id))
    }
}

/// Slots for `keys` keys: a power of two, at most half full.
fn slot_count(keys: usize) -> usize {
    (keys * 2).next_power_of_two().max(8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn agrees_with_a_hash_map() {
        let mut v = Vocab::with_capacity(4, 8);
        let mut m = HashMap::new();
        // Grows past its capacity, repeats keys, holds the empty key.
        for i in 0..5000u32 {
            let k = format!("k{}", (i * 7919) % 3001);
            v.insert(&k, i).unwrap();
            m.insert(k, i);
        }
        v.insert("", 9).unwrap();
        m.insert(String::new(), 9);
        assert_eq!(v.len(), m.len());
        for (k, &id) in &m {
            assert_eq!(v.get(k), Some(id), "{k}");
        }
        for k in ["k3001", "x", "k", "k12345"] {
            assert_eq!(v.get(k), None, "{k}");
        }
        let listed: HashMap<String, u32> = v.iter().map(|(k, i)| (k.to_string(), i)).collect();
        assert_eq!(listed, m);
    }

    #[test]
    fn empty_table_finds_nothing() {
        let v = Vocab::default();
        assert!(v.is_empty());
        assert_eq!(v.get("a"), None);
    }
}
