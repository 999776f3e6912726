//! The values of a set: word-id sequences per task, each with its types.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::words::hasher;

/// One value: its words (a range of `ValueTable::words`) and the head of its
/// list of types (in `ValueTable::links`).
#[derive(Debug, Clone, Copy)]
struct Value {
    task: u16,
    len: u16,
    words_at: u32,
    types_at: u32,
}

/// No further link.
const END: u32 = u32::MAX;

/// Values keyed by (task, word ids).
#[derive(Debug, Default, Clone)]
pub(crate) struct ValueTable {
    values: Vec<Value>,
    words: Vec<u32>,
    /// (type, next link) lists.
    links: Vec<(u16, u32)>,
    index: HashTable<u32>,
}

fn key_hash(task: u16, ids: &[u32]) -> u64 {
    hasher().hash_one((task, ids))
}

impl ValueTable {
    fn ids(&self, v: &Value) -> &[u32] {
        &self.words[v.words_at as usize..v.words_at as usize + v.len as usize]
    }

    /// The value `ids` of `task`, if present.
    pub(crate) fn get(&self, task: u16, ids: &[u32]) -> Option<u32> {
        let h = key_hash(task, ids);
        self.index
            .find(h, |&i| {
                let v = &self.values[i as usize];
                v.task == task && self.ids(v) == ids
            })
            .copied()
    }

    /// Adds type `ty` to the value `ids` of `task` (no-op when present).
    pub(crate) fn insert(&mut self, task: u16, ids: &[u32], ty: u16) {
        let v = match self.get(task, ids) {
            Some(v) => v,
            None => {
                let i = self.values.len() as u32;
                self.values.push(Value {
                    task,
                    len: ids.len() as u16,
                    words_at: self.words.len() as u32,
                    types_at: END,
                });
                self.words.extend_from_slice(ids);
                let Self {
                    values,
                    words,
                    index,
                    ..
                } = self;
                let rehash = |&j: &u32| {
                    let v = &values[j as usize];
                    let at = v.words_at as usize;
                    key_hash(v.task, &words[at..at + v.len as usize])
                };
                index.insert_unique(key_hash(task, ids), i, rehash);
                i
            }
        };
        if self.types(v).any(|t| t == ty) {
            return;
        }
        let value = &mut self.values[v as usize];
        self.links.push((ty, value.types_at));
        value.types_at = (self.links.len() - 1) as u32;
    }

    /// The types of value `v`.
    pub(crate) fn types(&self, v: u32) -> impl Iterator<Item = u16> + '_ {
        let mut at = self.values[v as usize].types_at;
        std::iter::from_fn(move || {
            let &(ty, next) = self.links.get(at as usize)?;
            at = next;
            Some(ty)
        })
    }

    /// Distinct (value, type) pairs.
    pub(crate) fn pairs(&self) -> usize {
        self.links.len()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Value>()
            + self.words.capacity() * 4
            + self.links.capacity() * std::mem::size_of::<(u16, u32)>()
            + self.index.capacity() * (4 + 1)
    }
}
