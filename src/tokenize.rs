//! WordPiece tokenization with byte offsets and word boundaries.
//!
//! Wraps the HF `tokenizers` crate, built from the `tokenizer.json` text
//! stored in the model, with padding and truncation switched off (the model
//! windows long inputs itself). A *word* is a pre-tokenizer word (BERT splits
//! on whitespace and punctuation); each word is labelled by its first sub-token.

use crate::error::{Error, Result};

/// A tokenizer bound to one model's vocabulary.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
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
    /// The words, in order.
    pub words: Vec<Word>,
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.json` text. Padding and
    /// truncation are switched off whatever the file says.
    pub fn from_json(json: &str) -> Result<Tokenizer> {
        let mut inner = tokenizers::Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| Error::Tokenizer(format!("cannot load tokenizer.json: {e}")))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| Error::Tokenizer(format!("vocabulary has no {t} token")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        Ok(Tokenizer { inner, cls, sep })
    }

    /// The `[CLS]` id.
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// The `[SEP]` id.
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    /// Vocabulary size (including added tokens).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Tokenizes `text` into sub-tokens and words with byte offsets into `text`.
    pub fn tokenize(&self, text: &str) -> Result<Tokenized> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut out = Tokenized {
            ids: enc.get_ids().to_vec(),
            words: Vec::new(),
        };
        let mut current: Option<u32> = None;
        for (i, (&wid, &(s, e))) in enc.get_word_ids().iter().zip(enc.get_offsets()).enumerate() {
            let Some(wid) = wid else { continue };
            if current == Some(wid) {
                if let Some(w) = out.words.last_mut() {
                    w.start = w.start.min(s);
                    w.end = w.end.max(e);
                }
            } else {
                current = Some(wid);
                out.words.push(Word {
                    start: s,
                    end: e,
                    first_token: i,
                });
            }
        }
        // The tokenizer's offsets are byte offsets into `text`; make sure of it
        // before anyone slices with them.
        for w in &out.words {
            if w.start > w.end
                || w.end > text.len()
                || !text.is_char_boundary(w.start)
                || !text.is_char_boundary(w.end)
            {
                return Err(Error::Tokenizer(format!(
                    "tokenizer gave offsets {}..{} that are not a slice of the input",
                    w.start, w.end
                )));
            }
        }
        Ok(out)
    }
}
