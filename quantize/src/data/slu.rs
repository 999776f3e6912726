//! The slot-filling layout: a folder with `seq.in` (words), `seq.out` (one
//! BIO label per word) and, optionally, `label` (the intent), aligned by line.

use std::path::Path;

use super::{check_label, Sentence};
use crate::error::{read_text, Error, Result};

/// Reads every utterance of a `seq.in`/`seq.out`/`label` folder.
pub fn load(dir: &Path) -> Result<Vec<Sentence>> {
    let seq_in = dir.join("seq.in");
    let seq_out = dir.join("seq.out");
    let label = dir.join("label");
    let words_text = read_text(&seq_in)?;
    let labels_text = read_text(&seq_out)?;
    let intents_text = if label.is_file() {
        Some(read_text(&label)?)
    } else {
        None
    };
    let words: Vec<&str> = words_text.lines().collect();
    let labels: Vec<&str> = labels_text.lines().collect();
    let intents: Option<Vec<&str>> = intents_text.as_deref().map(|t| t.lines().collect());
    if labels.len() != words.len() {
        let line = words.len().min(labels.len()) + 1;
        return Err(Error::data(
            &seq_out,
            line,
            format!(
                "{} lines in seq.out but {} in seq.in",
                labels.len(),
                words.len()
            ),
        ));
    }
    if let Some(intents) = &intents {
        if intents.len() != words.len() {
            let line = words.len().min(intents.len()) + 1;
            return Err(Error::data(
                &label,
                line,
                format!(
                    "{} lines in label but {} in seq.in",
                    intents.len(),
                    words.len()
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, (w, l)) in words.iter().zip(&labels).enumerate() {
        let line = i + 1;
        let ws: Vec<String> = w.split_whitespace().map(str::to_string).collect();
        let ls: Vec<String> = l.split_whitespace().map(str::to_string).collect();
        if ws.is_empty() && ls.is_empty() {
            continue;
        }
        if ws.len() != ls.len() {
            return Err(Error::data(
                &seq_out,
                line,
                format!("{} labels for {} words", ls.len(), ws.len()),
            ));
        }
        for lab in &ls {
            check_label(lab).map_err(|m| Error::data(&seq_out, line, m))?;
        }
        let intent = match &intents {
            Some(v) => {
                let t = v[i].trim();
                if t.is_empty() {
                    return Err(Error::data(&label, line, "empty intent"));
                }
                Some(t.to_string())
            }
            None => None,
        };
        out.push(Sentence {
            words: ws,
            labels: ls,
            intent,
            line,
        });
    }
    Ok(out)
}
