//! Words as the model's tokenizer sees them, interned: one string arena and
//! an index, so that 100,000 values cost a few bytes per distinct word.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::decode::is_skippable_word;
use crate::tokenize::{pre_tokenize, BertNormalizer};

/// The hasher of words and values (fixed seed: a set's layout does not depend
/// on the process).
pub(crate) fn hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x7069_636f_7461_6721)
}

/// Interned words: `id -> text` and `text -> id`.
#[derive(Debug, Default, Clone)]
pub(crate) struct WordTable {
    arena: String,
    /// Byte range of each word in `arena`.
    spans: Vec<(u32, u32)>,
    index: HashTable<u32>,
}

impl WordTable {
    fn text(&self, id: u32) -> &str {
        let (s, e) = self.spans[id as usize];
        &self.arena[s as usize..e as usize]
    }

    /// The id of `word`, if it was interned.
    pub(crate) fn get(&self, word: &str) -> Option<u32> {
        let h = hasher().hash_one(word);
        self.index.find(h, |&id| self.text(id) == word).copied()
    }

    /// The id of `word`, interning it when new.
    pub(crate) fn intern(&mut self, word: &str) -> u32 {
        if let Some(id) = self.get(word) {
            return id;
        }
        let id = self.spans.len() as u32;
        let start = self.arena.len() as u32;
        self.arena.push_str(word);
        self.spans.push((start, self.arena.len() as u32));
        let h = hasher().hash_one(word);
        let Self {
            spans,
            arena,
            index,
        } = self;
        let rehash = |&i: &u32| {
            let (s, e) = spans[i as usize];
            hasher().hash_one(&arena[s as usize..e as usize])
        };
        index.insert_unique(h, id, rehash);
        id
    }

    /// Distinct words.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.spans.capacity() * std::mem::size_of::<(u32, u32)>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

/// Normalizes text the way the model's tokenizer does before splitting it
/// into words (case, accents, control characters; nothing when the model has
/// no normalizer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Normalize(pub(crate) Option<BertNormalizer>);

/// Reusable buffers of [`Normalize`].
#[derive(Debug, Default, Clone)]
pub(crate) struct NormBuf {
    pub(crate) out: String,
    align: Vec<(u32, u32)>,
}

impl Normalize {
    /// `text` normalized into `buf.out`.
    pub(crate) fn run(&self, text: &str, buf: &mut NormBuf) {
        match &self.0 {
            Some(n) => n.normalize(text, 0, &mut buf.out, &mut buf.align),
            None => {
                buf.out.clear();
                buf.out.push_str(text);
            }
        }
    }

    /// The normalized words of `text` (the tokenizer's pre-tokenizer: split
    /// on whitespace, each punctuation character a word), without the words
    /// made only of emoji and other non-punctuation symbols (the tagger
    /// leaves those out of its input, see [`crate::TagOptions::skip_symbol_words`]).
    pub(crate) fn words(&self, text: &str, buf: &mut NormBuf, mut word: impl FnMut(&str)) {
        self.run(text, buf);
        let t = buf.out.as_str();
        pre_tokenize(t, |s, e| {
            if !is_skippable_word(&t[s..e], false) {
                word(&t[s..e])
            }
        });
    }

    /// One input word (as the tokenizer cut it) in normalized form, trimmed.
    pub(crate) fn word<'b>(&self, text: &str, buf: &'b mut NormBuf) -> &'b str {
        self.run(text, buf);
        buf.out.trim()
    }
}
