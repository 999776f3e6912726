//! Sub-token alignment: the runtime's word convention, applied to training data.
//!
//! A data sentence is encoded as ONE string (words joined by single spaces).
//! The tokenizer's pre-tokenizer splits it into *pieces* (whitespace and
//! punctuation); each piece is labelled at its first WordPiece sub-token, as
//! the runtime does. A piece belongs to the data word that contains its first
//! byte; the first piece of a data word carries the word's label, later pieces
//! continue it. Sentences longer than the maximum length become several
//! windows of whole pieces, never dropped.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// The teacher's tokenizer with padding and truncation switched off.
pub struct Tok {
    tk: Tokenizer,
    /// `[CLS]` id.
    pub cls: u32,
    /// `[SEP]` id.
    pub sep: u32,
}

impl Tok {
    /// Loads `tokenizer.json` from a file.
    pub fn from_file(path: &Path) -> Result<Tok> {
        let text = crate::error::read_text(path)?;
        Tok::from_json(&text)
    }

    /// Builds the tokenizer from the text of a `tokenizer.json`.
    pub fn from_json(text: &str) -> Result<Tok> {
        let mut tk: Tokenizer = text.parse().map_err(|e| Error::Tokenizer(format!("{e}")))?;
        tk.with_padding(None);
        tk.with_truncation(None)
            .map_err(|e| Error::Tokenizer(format!("{e}")))?;
        let id = |t: &str| {
            tk.token_to_id(t)
                .ok_or_else(|| Error::Tokenizer(format!("no {t} token in the vocabulary")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        Ok(Tok { tk, cls, sep })
    }

    /// The `tokenizer.json` text as stored in a model's metadata.
    pub fn to_json(&self) -> Result<String> {
        self.tk
            .to_string(false)
            .map_err(|e| Error::Tokenizer(format!("{e}")))
    }

    /// The id of a special token such as `[MASK]`.
    pub fn token_id(&self, token: &str) -> Result<u32> {
        self.tk
            .token_to_id(token)
            .ok_or_else(|| Error::Tokenizer(format!("no {token} token in the vocabulary")))
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        // The largest id + 1, not the number of entries: ids may have gaps
        // (as the runtime's tokenizer counts them too).
        self.tk
            .get_vocab(true)
            .values()
            .max()
            .map_or(0, |&m| m as usize + 1)
    }

    /// Encodes a data sentence into pieces and windows.
    pub fn encode(&self, words: &[String], max_len: usize) -> Result<Encoded> {
        let mut text = String::new();
        let mut starts = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            starts.push(text.len());
            text.push_str(w);
        }
        let enc = self
            .tk
            .encode(text.as_str(), false)
            .map_err(|e| Error::Tokenizer(format!("{e}")))?;
        let (ids, wids, offs) = (enc.get_ids(), enc.get_word_ids(), enc.get_offsets());
        // Group sub-tokens into pieces (pre-tokenizer words).
        let mut pieces: Vec<Piece> = Vec::new();
        let mut last: Option<u32> = None;
        for (t, (&id, &wid)) in ids.iter().zip(wids).enumerate() {
            match (wid, last) {
                (Some(w), Some(l)) if w == l => {
                    if let Some(p) = pieces.last_mut() {
                        p.ids.push(id);
                    }
                }
                _ => {
                    let byte = offs[t].0;
                    let word = starts.partition_point(|&s| s <= byte).saturating_sub(1);
                    pieces.push(Piece {
                        ids: vec![id],
                        word,
                    });
                }
            }
            last = wid;
        }
        let room = max_len.saturating_sub(2).max(1);
        let mut windows = Vec::new();
        let mut cur = Window::new(self.cls, 0);
        for (pi, p) in pieces.iter().enumerate() {
            let n = p.ids.len().min(room);
            if !cur.first_pos.is_empty() && cur.ids.len() - 1 + n > room {
                cur.ids.push(self.sep);
                windows.push(std::mem::replace(&mut cur, Window::new(self.cls, pi)));
            }
            cur.first_pos.push(cur.ids.len());
            cur.ids.extend_from_slice(&p.ids[..n]);
        }
        cur.ids.push(self.sep);
        windows.push(cur);
        Ok(Encoded {
            piece_word: pieces.iter().map(|p| p.word).collect(),
            n_words: words.len(),
            windows,
        })
    }
}

struct Piece {
    ids: Vec<u32>,
    word: usize,
}

/// One model input: `[CLS] sub-tokens [SEP]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Token ids, with `[CLS]` and `[SEP]`.
    pub ids: Vec<u32>,
    /// Position (in `ids`) of the first sub-token of each piece of the window.
    pub first_pos: Vec<usize>,
    /// Index of the window's first piece in the sentence.
    pub first_piece: usize,
}

impl Window {
    fn new(cls: u32, first_piece: usize) -> Window {
        Window {
            ids: vec![cls],
            first_pos: Vec::new(),
            first_piece,
        }
    }
}

/// A sentence as pieces and windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// For each piece, the data word holding it.
    pub piece_word: Vec<usize>,
    /// Number of data words.
    pub n_words: usize,
    /// The model inputs, covering every piece once, in order.
    pub windows: Vec<Window>,
}

impl Encoded {
    /// Piece-level labels derived from word-level labels: the first piece of
    /// a word carries its label, later pieces continue it
    /// (`B-X`/`I-X` → `I-X`, `O` → `O`; BIOES: `S-X` → `B-X … E-X`, `E-X` → `I-X … E-X`).
    pub fn piece_labels(&self, labels: &[String]) -> Vec<String> {
        let n = self.piece_word.len();
        let mut out = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            let w = self.piece_word[i];
            let mut j = i;
            while j < n && self.piece_word[j] == w {
                j += 1;
            }
            let label = labels.get(w).map(String::as_str).unwrap_or("O");
            split_label(label, j - i, &mut out);
            i = j;
        }
        out
    }

    /// Maps a span over pieces `[start, end)` to data words `[start, end)`.
    pub fn piece_span_to_words(&self, start: usize, end: usize) -> (usize, usize) {
        (self.piece_word[start], self.piece_word[end - 1] + 1)
    }
}

fn split_label(label: &str, k: usize, out: &mut Vec<String>) {
    if k == 1 || label == "O" {
        out.extend(std::iter::repeat_n(label.to_string(), k));
        return;
    }
    let (p, kind) = label.split_once('-').unwrap_or(("O", ""));
    let (first, last) = match p {
        "B" => ("B", "I"),
        "I" => ("I", "I"),
        "E" | "L" => ("I", "E"),
        "S" | "U" => ("B", "E"),
        _ => ("O", "O"),
    };
    let mk = |q: &str| {
        if q == "O" {
            "O".to_string()
        } else {
            format!("{q}-{kind}")
        }
    };
    out.push(mk(first));
    for _ in 1..k - 1 {
        out.push(mk("I"));
    }
    out.push(mk(last));
}
