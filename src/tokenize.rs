//! WordPiece tokenization with byte offsets and word boundaries.
//!
//! picotag's own implementation of BERT's tokenizer, built from the
//! `tokenizer.json` stored in the model: verbatim added tokens (`[CLS]`…)
//! matched in the raw input, `BertNormalizer`, `BertPreTokenizer` and greedy
//! longest-match WordPiece. It gives the same ids and byte offsets as the HF
//! `tokenizers` crate (checked in `bench/tests/tokenizer.rs`), without padding or
//! truncation (the model windows long inputs itself), and
//! [`Tokenizer::tokenize_into`] reuses its buffers, so a warm call allocates
//! nothing. Configurations it does not implement are rejected with
//! [`Error::Tokenizer`]. A *word* is a pre-tokenizer word (split on
//! whitespace and punctuation); each word is labelled by its first sub-token.

mod config;
mod normalize;
pub mod table;
mod vocab;

use std::ops::Range;
use std::sync::Arc;

pub use normalize::{is_bert_punc, pre_tokenize, BertNormalizer};
pub use vocab::Vocab;

use crate::error::{Error, Result};

/// Bytes shared with the tokenizer (a model file's storage).
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Where the tokenizer looks its pieces up.
enum Pieces {
    /// Built from a `tokenizer.json` vocabulary.
    Hashed {
        /// Word-initial pieces.
        start: Vocab,
        /// Word-continuing pieces, keyed without their prefix.
        cont: Vocab,
    },
    /// The prebuilt table of a model file, probed where it lies.
    Table {
        bytes: SharedBytes,
        range: Range<usize>,
        table: table::Table,
        prefix: Box<str>,
    },
}

impl Pieces {
    /// The id of a word-initial (`continuing == false`) or word-continuing piece.
    #[inline]
    fn get(&self, continuing: bool, piece: &str) -> Option<u32> {
        match self {
            Pieces::Hashed { start, cont } => {
                if continuing {
                    cont.get(piece)
                } else {
                    start.get(piece)
                }
            }
            Pieces::Table {
                bytes,
                range,
                table,
                prefix,
            } => {
                let b = (**bytes).as_ref().get(range.clone())?;
                let pre = if continuing { prefix.as_bytes() } else { b"" };
                table.get(b, pre, piece.as_bytes())
            }
        }
    }
}

/// A tokenizer bound to one model's vocabulary.
pub struct Tokenizer {
    normalizer: Option<BertNormalizer>,
    pieces: Pieces,
    unk: u32,
    max_chars: usize,
    /// Verbatim added tokens, longest first.
    added: Vec<(Box<str>, u32)>,
    vocab_size: usize,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("normalizer", &self.normalizer)
            .field("vocab_size", &self.vocab_size)
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .finish()
    }
}

/// One word of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Byte offset of the word's start in the input.
    pub start: usize,
    /// Byte offset one past the word's end.
    pub end: usize,
    /// Index of the word's first sub-token in [`Tokenized::ids`].
    pub first_token: usize,
}

/// The sub-tokens and words of an input (no `[CLS]`/`[SEP]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokenized {
    /// Sub-token ids.
    pub ids: Vec<u32>,
    /// Byte range of each sub-token in the input.
    pub offsets: Vec<(usize, usize)>,
    /// The words, in order.
    pub words: Vec<Word>,
}

impl Tokenized {
    fn clear(&mut self) {
        self.ids.clear();
        self.offsets.clear();
        self.words.clear();
    }

    /// Keeps only the words for which `keep` holds, with their sub-tokens,
    /// in place (no allocation).
    pub fn retain_words(&mut self, mut keep: impl FnMut(&Word) -> bool) {
        let n_tokens = self.ids.len();
        let (mut w_out, mut t_out) = (0, 0);
        for wi in 0..self.words.len() {
            let w = self.words[wi];
            // Words before `wi` were only ever moved down: `wi + 1` is intact.
            let end = self.words.get(wi + 1).map_or(n_tokens, |n| n.first_token);
            if !keep(&w) {
                continue;
            }
            let first = t_out;
            for t in w.first_token..end {
                self.ids[t_out] = self.ids[t];
                self.offsets[t_out] = self.offsets[t];
                t_out += 1;
            }
            self.words[w_out] = Word {
                first_token: first,
                ..w
            };
            w_out += 1;
        }
        self.words.truncate(w_out);
        self.ids.truncate(t_out);
        self.offsets.truncate(t_out);
    }
}

/// Reusable working buffers of [`Tokenizer::tokenize_into`].
#[derive(Debug, Default)]
pub struct Buffers {
    norm: String,
    /// Input byte range of each byte of `norm`.
    align: Vec<(u32, u32)>,
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.json` text. Padding and
    /// truncation are ignored whatever the file says.
    pub fn from_json(json: &str) -> Result<Tokenizer> {
        let mut cfg = config::parse(json)?;
        let vocab = cfg
            .vocab
            .take()
            .ok_or_else(|| Error::Tokenizer("WordPiece model without a vocab map".into()))?;
        let pre = &*cfg.continuing_prefix;
        let (mut n_cont, mut cont_bytes) = (0, 0);
        for (t, _) in vocab.iter().filter(|(t, _)| t.starts_with(pre)) {
            n_cont += 1;
            cont_bytes += t.len() - pre.len();
        }
        let mut cont = Vocab::with_capacity(n_cont, cont_bytes);
        for (t, i) in vocab.iter() {
            if let Some(piece) = t.strip_prefix(pre) {
                cont.insert(piece, i)?;
            }
        }
        let (len, max_id) = (vocab.len(), vocab.iter().map(|(_, i)| i).max());
        let pieces = Pieces::Hashed { start: vocab, cont };
        Self::build(cfg, pieces, len, max_id)
    }

    /// Builds the tokenizer from `tokenizer.json` text without its
    /// `model.vocab` and the vocabulary as a prebuilt [`table`] at `range` of
    /// `bytes` (a format-2 model file): nothing is parsed or built per key.
    pub fn from_table(json: &str, bytes: SharedBytes, range: Range<usize>) -> Result<Tokenizer> {
        let cfg = config::parse(json)?;
        let b = (*bytes)
            .as_ref()
            .get(range.clone())
            .ok_or_else(|| Error::Tokenizer("vocabulary table out of range".into()))?;
        let t = table::Table::parse(b).map_err(|e| match e {
            Error::Format(m) => Error::Tokenizer(m),
            other => other,
        })?;
        let (len, max_id) = (t.len(), t.max_id());
        let pieces = Pieces::Table {
            bytes,
            range,
            table: t,
            prefix: cfg.continuing_prefix.as_str().into(),
        };
        Self::build(cfg, pieces, len, max_id)
    }

    /// The rest of a tokenizer, given its pieces (`len` keys, largest id `max_id`).
    fn build(
        cfg: config::Config,
        pieces: Pieces,
        len: usize,
        max_id: Option<u32>,
    ) -> Result<Tokenizer> {
        // Distinct names: the vocabulary's, and the added tokens it lacks.
        let extra = cfg
            .added
            .iter()
            .filter(|(t, _)| pieces.get(false, t).is_none())
            .map(|(t, _)| t.as_str())
            .collect::<std::collections::HashSet<&str>>()
            .len();
        let names = len + extra;
        let max_id = max_id
            .into_iter()
            .chain(cfg.added.iter().map(|(_, i)| *i))
            .max()
            .map_or(0, |m| m as usize + 1);
        let vocab_size = names.max(max_id);
        let id = |t: &str| {
            cfg.added
                .iter()
                .find(|(a, _)| a == t)
                .map(|&(_, i)| i)
                .or_else(|| pieces.get(false, t))
                .ok_or_else(|| Error::Tokenizer(format!("vocabulary has no {t} token")))
        };
        let unk = pieces.get(false, &cfg.unk_token).ok_or_else(|| {
            Error::Tokenizer(format!(
                "unsupported tokenizer.json: unk_token {:?} is not in the vocabulary",
                cfg.unk_token
            ))
        })?;
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        let mut added: Vec<(Box<str>, u32)> = cfg
            .added
            .iter()
            .map(|(t, i)| (t.as_str().into(), *i))
            .collect();
        added.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(Tokenizer {
            normalizer: cfg.normalizer,
            pieces,
            unk,
            max_chars: cfg.max_input_chars_per_word,
            added,
            vocab_size,
            cls,
            sep,
        })
    }

    /// The normalizer applied before pre-tokenization, if any.
    pub fn normalizer(&self) -> Option<&BertNormalizer> {
        self.normalizer.as_ref()
    }

    /// The `[CLS]` id.
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// The `[SEP]` id.
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    /// Vocabulary size (including added tokens; at least the largest id + 1).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Tokenizes `text` into sub-tokens and words with byte offsets into `text`.
    pub fn tokenize(&self, text: &str) -> Result<Tokenized> {
        let mut out = Tokenized::default();
        self.tokenize_into(text, &mut out, &mut Buffers::default())?;
        Ok(out)
    }

    /// [`Tokenizer::tokenize`] into `out` (cleared first), reusing `out`'s
    /// and `buf`'s capacity: allocates nothing once they are large enough.
    pub fn tokenize_into(&self, text: &str, out: &mut Tokenized, buf: &mut Buffers) -> Result<()> {
        out.clear();
        if u32::try_from(text.len()).is_err() {
            return Err(Error::Tokenizer("input longer than 4 GiB".into()));
        }
        let mut pos = 0;
        while pos < text.len() {
            let (seg_end, found) = self.next_added(text, pos);
            self.segment(&text[pos..seg_end], pos, out, buf);
            match found {
                Some((end, id)) => {
                    out.words.push(Word {
                        start: seg_end,
                        end,
                        first_token: out.ids.len(),
                    });
                    out.ids.push(id);
                    out.offsets.push((seg_end, end));
                    pos = end;
                }
                None => pos = seg_end,
            }
        }
        Ok(())
    }

    /// The leftmost-longest added token at or after `pos`: returns where the
    /// plain text before it ends and the token's end and id.
    fn next_added(&self, text: &str, pos: usize) -> (usize, Option<(usize, u32)>) {
        if self.added.is_empty() {
            return (text.len(), None);
        }
        for (i, _) in text[pos..].char_indices() {
            let rest = &text[pos + i..];
            if let Some((t, id)) = self.added.iter().find(|(t, _)| rest.starts_with(&**t)) {
                return (pos + i, Some((pos + i + t.len(), *id)));
            }
        }
        (text.len(), None)
    }

    /// Normalizes, pre-tokenizes and WordPiece-splits a plain segment that
    /// starts at byte `base` of the input.
    fn segment(&self, text: &str, base: usize, out: &mut Tokenized, buf: &mut Buffers) {
        match &self.normalizer {
            Some(n) => n.normalize(text, base, &mut buf.norm, &mut buf.align),
            None => {
                buf.norm.clear();
                buf.norm.push_str(text);
                buf.align.clear();
                for (i, c) in text.char_indices() {
                    let r = ((base + i) as u32, (base + i + c.len_utf8()) as u32);
                    buf.align.extend(std::iter::repeat_n(r, c.len_utf8()));
                }
            }
        }
        let (norm, align) = (&buf.norm, &buf.align);
        normalize::pre_tokenize(norm, |s, e| self.word_piece(&norm[s..e], s, align, out));
    }

    /// Greedy longest-match WordPiece of one word at byte `at` of the
    /// normalized text; a word with no split (or too long) is one unknown token.
    fn word_piece(&self, word: &str, at: usize, align: &[(u32, u32)], out: &mut Tokenized) {
        let orig = |a: usize, b: usize| (align[at + a].0 as usize, align[at + b - 1].1 as usize);
        let first = out.ids.len();
        let (ws, we) = orig(0, word.len());
        out.words.push(Word {
            start: ws,
            end: we,
            first_token: first,
        });
        if word.chars().count() > self.max_chars {
            out.ids.push(self.unk);
            out.offsets.push((ws, we));
            return;
        }
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                let piece = &word[start..end];
                if let Some(id) = self.pieces.get(start > 0, piece) {
                    found = Some(id);
                    break;
                }
                end -= piece.chars().next_back().map_or(1, char::len_utf8);
            }
            let Some(id) = found else {
                out.ids.truncate(first);
                out.offsets.truncate(first);
                out.ids.push(self.unk);
                out.offsets.push((ws, we));
                return;
            };
            out.ids.push(id);
            out.offsets.push(orig(start, end));
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tiny_tokenizer_json;

    #[test]
    fn splits_words_into_pieces() {
        let t = Tokenizer::from_json(&tiny_tokenizer_json()).unwrap();
        let text = "Flights, BOSTONx [CLS]";
        let r = t.tokenize(text).unwrap();
        let words: Vec<&str> = r.words.iter().map(|w| &text[w.start..w.end]).collect();
        assert_eq!(words, ["Flights", ",", "BOSTONx", "[", "CLS", "]"]);
        let pieces: Vec<&str> = r.offsets.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            pieces,
            ["Flights", ",", "BOSTON", "x", "[", "C", "L", "S", "]"]
        );
        assert_eq!(r.words[2].first_token, 2);
    }

    #[test]
    fn rejects_what_it_does_not_implement() {
        let mut j: serde_json::Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
        j["pre_tokenizer"] = serde_json::json!({"type": "Whitespace"});
        let e = Tokenizer::from_json(&j.to_string()).unwrap_err();
        assert!(matches!(e, Error::Tokenizer(m) if m.contains("BertPreTokenizer")));
        let mut j: serde_json::Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
        j["normalizer"] = serde_json::json!({"type": "NFKC"});
        assert!(matches!(
            Tokenizer::from_json(&j.to_string()),
            Err(Error::Tokenizer(_))
        ));
        let mut j: serde_json::Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
        j["model"]["type"] = serde_json::json!("BPE");
        assert!(matches!(
            Tokenizer::from_json(&j.to_string()),
            Err(Error::Tokenizer(_))
        ));
    }
}
