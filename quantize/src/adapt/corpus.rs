//! The text of task-adaptive pre-training: the words of labelled splits,
//! tokenized into model windows (labels and intents are not used).

use std::path::{Path, PathBuf};

use crate::data::encode::Tok;
use crate::data::{load_split, resolve_dataset};
use crate::error::{Error, Result};

/// One model input: `[CLS] sub-tokens [SEP]` and where its pieces start.
#[derive(Debug, Clone, PartialEq)]
pub struct TextWindow {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Position of the first sub-token of each piece.
    pub first_pos: Vec<usize>,
}

/// Windows of some text, and how many sentences they came from.
#[derive(Debug, Default)]
pub struct Corpus {
    /// The windows.
    pub windows: Vec<TextWindow>,
    /// Sentences read.
    pub sentences: usize,
}

impl Corpus {
    /// Sub-tokens in all windows (with `[CLS]`/`[SEP]`).
    pub fn tokens(&self) -> usize {
        self.windows.iter().map(|w| w.ids.len()).sum()
    }

    /// Every sub-token but `[CLS]` and `[SEP]`: the pool random
    /// replacements are drawn from.
    pub fn pool(&self) -> Vec<u32> {
        self.windows
            .iter()
            .flat_map(|w| w.ids[1..w.ids.len().saturating_sub(1)].iter().copied())
            .collect()
    }
}

/// The train split of `path` and, for a dataset folder, its dev split: a
/// dataset folder gives both (see [`resolve_dataset`]); a split file or
/// `seq.in` folder is train text with nothing held out.
pub fn splits(path: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    if !path.exists() {
        return Err(Error::Spec(format!(
            "{}: no such file or folder",
            path.display()
        )));
    }
    if path.is_dir() && !path.join("seq.in").is_file() {
        let (train, dev) = resolve_dataset(path)?;
        return Ok((train, Some(dev)));
    }
    Ok((path.to_path_buf(), None))
}

/// Reads the sentences of `paths` (at most `limit` from each, 0 = all) and
/// tokenizes them into windows of at most `max_len` sub-tokens.
pub fn load(paths: &[PathBuf], tok: &Tok, max_len: usize, limit: usize) -> Result<Corpus> {
    let mut c = Corpus::default();
    for p in paths {
        let sentences = load_split(p)?;
        let n = if limit == 0 {
            sentences.len()
        } else {
            sentences.len().min(limit)
        };
        for s in &sentences[..n] {
            if s.words.is_empty() {
                continue;
            }
            let enc = tok.encode(&s.words, max_len)?;
            c.windows
                .extend(enc.windows.into_iter().map(|w| TextWindow {
                    ids: w.ids,
                    first_pos: w.first_pos,
                }));
            c.sentences += 1;
        }
    }
    Ok(c)
}
