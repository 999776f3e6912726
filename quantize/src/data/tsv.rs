//! Token-per-line IOB/IOBES files: `token<TAB>label`, a blank line between sentences.
//!
//! Columns may also be separated by spaces (CoNLL style); the first column is
//! the token, the last the label. `-DOCSTART-` lines are skipped.

use std::path::Path;

use super::{check_label, Sentence};
use crate::error::{read_text, Error, Result};

/// Reads every sentence of a token-per-line file.
pub fn load(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    let mut cur = Sentence::default();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !cur.words.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with("-DOCSTART-") {
            continue;
        }
        let cols: Vec<&str> = if line.contains('\t') {
            line.split('\t').collect()
        } else {
            line.split_whitespace().collect()
        };
        if cols.len() < 2 || cols[0].trim().is_empty() {
            return Err(Error::data(
                path,
                line_no,
                format!("expected `token<TAB>label`, got {line:?}"),
            ));
        }
        let label = cols[cols.len() - 1].trim();
        check_label(label).map_err(|m| Error::data(path, line_no, m))?;
        if cur.words.is_empty() {
            cur.line = line_no;
        }
        cur.words.push(cols[0].trim().to_string());
        cur.labels.push(label.to_string());
    }
    if !cur.words.is_empty() {
        out.push(cur);
    }
    Ok(out)
}
