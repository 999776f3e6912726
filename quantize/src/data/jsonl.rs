//! JSONL, the shape annotation tools export: one utterance a line,
//! `{"text": …, "spans": [{"start": …, "end": …, "label": …}], "intent": …}`.
//!
//! `start`/`end` count Unicode characters (code points, what Python's `str`
//! indexes), `end` exclusive. The text is cut into words the way the runtime
//! cuts it (whitespace; each punctuation character a word), so a span must
//! start and end on those word boundaries. `spans` and `intent` are optional;
//! other keys (ids, annotator metadata) are ignored. Errors name the file,
//! the line and the span.

use std::path::Path;

use picotag::tokenize::pre_tokenize;
use serde_json::Value;

use super::Sentence;
use crate::error::{read_text, Error, Result};

/// Reads every utterance of a `.jsonl` file (blank lines skipped).
pub fn load(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |msg: String| Error::data(path, i + 1, msg);
        out.push(parse_line(line, i + 1).map_err(bad)?);
    }
    Ok(out)
}

/// One span as the record gives it, in characters.
struct CharSpan {
    start: usize,
    end: usize,
    label: String,
}

/// Parses one record into a sentence with BIO labels.
pub fn parse_line(line: &str, line_no: usize) -> std::result::Result<Sentence, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "not a JSON object".to_string())?;
    let text = match obj.get("text") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("\"text\" must be a string".into()),
        None => return Err("no \"text\"".into()),
    };
    if text.trim().is_empty() {
        return Err("empty \"text\"".into());
    }
    let intent = match obj.get("intent") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(_) => return Err("\"intent\" must be a non-empty string".into()),
    };
    let spans = spans_of(obj.get("spans"), text)?;

    // Words (byte ranges) and the byte offset of every character boundary.
    let mut words: Vec<(usize, usize)> = Vec::new();
    pre_tokenize(text, |s, e| words.push((s, e)));
    let byte_of: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain([text.len()])
        .collect();
    let mut labels = vec!["O".to_string(); words.len()];
    for sp in &spans {
        let (bs, be) = (byte_of[sp.start], byte_of[sp.end]);
        let quoted = format!("[{}, {}) {:?}", sp.start, sp.end, &text[bs..be]);
        // The first word ending after the start, the last starting before the
        // end (spaces at the span's edges are allowed).
        let first = words.iter().position(|&(_, e)| e > bs);
        let last = words.iter().rposition(|&(s, _)| s < be);
        let (first, last) = match (first, last) {
            (Some(f), Some(l)) if f <= l => (f, l),
            _ => return Err(format!("span {quoted} holds no word")),
        };
        let (ws, we) = (words[first].0, words[last].1);
        if ws < bs {
            return Err(format!(
                "span {quoted}: its start is inside the word {:?} (words are cut at spaces and punctuation)",
                &text[words[first].0..words[first].1]
            ));
        }
        if we > be {
            return Err(format!(
                "span {quoted}: its end is inside the word {:?} (words are cut at spaces and punctuation)",
                &text[words[last].0..words[last].1]
            ));
        }
        for (k, l) in labels[first..=last].iter_mut().enumerate() {
            let p = if k == 0 { "B" } else { "I" };
            *l = format!("{p}-{}", sp.label);
        }
    }
    Ok(Sentence {
        words: words.iter().map(|&(s, e)| text[s..e].to_string()).collect(),
        labels,
        intent,
        line: line_no,
    })
}

/// The record's spans, checked (range, label) and sorted; overlaps are errors.
fn spans_of(v: Option<&Value>, text: &str) -> std::result::Result<Vec<CharSpan>, String> {
    let arr = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("\"spans\" must be an array".into()),
    };
    let n_chars = text.chars().count();
    let mut out = Vec::with_capacity(arr.len());
    for (k, s) in arr.iter().enumerate() {
        let field = |name: &str| -> std::result::Result<usize, String> {
            s.get(name)
                .and_then(Value::as_u64)
                .map(|x| x as usize)
                .ok_or_else(|| format!("spans[{k}]: \"{name}\" must be a non-negative integer"))
        };
        let (start, end) = (field("start")?, field("end")?);
        let label = match s.get("label") {
            Some(Value::String(l)) if !l.trim().is_empty() && !l.contains(char::is_whitespace) => {
                l.clone()
            }
            _ => {
                return Err(format!(
                    "spans[{k}]: \"label\" must be a non-empty string without spaces"
                ))
            }
        };
        if start >= end || end > n_chars {
            return Err(format!(
                "spans[{k}] [{start}, {end}) is out of range (the text has {n_chars} characters; start < end needed)"
            ));
        }
        out.push(CharSpan { start, end, label });
    }
    out.sort_by_key(|s| (s.start, s.end));
    for w in out.windows(2) {
        if w[1].start < w[0].end {
            return Err(format!(
                "spans [{}, {}) {} and [{}, {}) {} overlap",
                w[0].start, w[0].end, w[0].label, w[1].start, w[1].end, w[1].label
            ));
        }
    }
    Ok(out)
}
