//! Reading the parts of a HF `tokenizer.json` that picotag implements, and
//! rejecting the rest with [`Error::Tokenizer`].

use std::collections::HashMap;

use serde_json::Value;

use super::normalize::BertNormalizer;
use crate::error::{Error, Result};

/// What the tokenizer needs from `tokenizer.json`.
#[derive(Debug)]
pub struct Config {
    /// `None`: no normalizer.
    pub normalizer: Option<BertNormalizer>,
    /// WordPiece vocabulary (token → id).
    pub vocab: HashMap<String, u32>,
    /// The unknown token.
    pub unk_token: String,
    /// Prefix of word-continuing pieces (`##`).
    pub continuing_prefix: String,
    /// Longer words (in characters) become the unknown token.
    pub max_input_chars_per_word: usize,
    /// Added tokens matched verbatim in the raw input (content, id).
    pub added: Vec<(String, u32)>,
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Tokenizer(format!("unsupported tokenizer.json: {what}"))
}

fn flag(v: &Value, key: &str, default: bool) -> Result<bool> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(o) => Err(bad(format!("{key} = {o}"))),
    }
}

fn normalizer(v: &Value) -> Result<Option<BertNormalizer>> {
    match v.get("type").and_then(Value::as_str) {
        _ if v.is_null() => Ok(None),
        Some("BertNormalizer") => {
            let lowercase = flag(v, "lowercase", true)?;
            Ok(Some(BertNormalizer {
                clean_text: flag(v, "clean_text", true)?,
                handle_chinese_chars: flag(v, "handle_chinese_chars", true)?,
                strip_accents: flag(v, "strip_accents", lowercase)?,
                lowercase,
            }))
        }
        other => Err(bad(format!(
            "normalizer {} (only BertNormalizer is implemented)",
            other.unwrap_or("?")
        ))),
    }
}

fn added_tokens(v: Option<&Value>) -> Result<Vec<(String, u32)>> {
    let Some(list) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad("added_tokens is not a list"))?;
    let mut out = Vec::with_capacity(list.len());
    for t in list {
        let content = t.get("content").and_then(Value::as_str);
        let id = t
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|i| u32::try_from(i).ok());
        let (Some(content), Some(id)) = (content, id) else {
            return Err(bad(format!("added token {t}")));
        };
        let plain = !flag(t, "normalized", false)?
            && !flag(t, "lstrip", false)?
            && !flag(t, "rstrip", false)?
            && !flag(t, "single_word", false)?;
        if !plain || content.is_empty() {
            return Err(bad(format!(
                "added token {content:?} (only verbatim tokens: normalized, lstrip, rstrip, single_word all false)"
            )));
        }
        out.push((content.to_string(), id));
    }
    Ok(out)
}

/// Parses and checks `tokenizer.json` text.
pub fn parse(json: &str) -> Result<Config> {
    let root: Value = serde_json::from_str(json)
        .map_err(|e| Error::Tokenizer(format!("cannot read tokenizer.json: {e}")))?;
    let normalizer = normalizer(root.get("normalizer").unwrap_or(&Value::Null))?;
    match root
        .get("pre_tokenizer")
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str)
    {
        Some("BertPreTokenizer") => {}
        other => {
            return Err(bad(format!(
                "pre_tokenizer {} (only BertPreTokenizer is implemented)",
                other.unwrap_or("null")
            )))
        }
    }
    let model = root.get("model").ok_or_else(|| bad("no model"))?;
    match model.get("type").and_then(Value::as_str) {
        Some("WordPiece") => {}
        // HF writes no type for some single-model files; WordPiece is told by its keys.
        None if model.get("continuing_subword_prefix").is_some() => {}
        other => {
            return Err(bad(format!(
                "model {} (only WordPiece is implemented)",
                other.unwrap_or("?")
            )))
        }
    }
    let vocab_v = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("WordPiece model without a vocab map"))?;
    let mut vocab = HashMap::with_capacity(vocab_v.len());
    for (tok, id) in vocab_v {
        let id = id
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| bad(format!("vocab id of {tok:?}")))?;
        vocab.insert(tok.clone(), id);
    }
    let str_of = |key: &str, default: &str| -> Result<String> {
        match model.get(key) {
            None | Some(Value::Null) => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(o) => Err(bad(format!("{key} = {o}"))),
        }
    };
    let unk_token = str_of("unk_token", "[UNK]")?;
    if !vocab.contains_key(&unk_token) {
        return Err(bad(format!(
            "unk_token {unk_token:?} is not in the vocabulary"
        )));
    }
    let max_input_chars_per_word = match model.get("max_input_chars_per_word") {
        None | Some(Value::Null) => 100,
        Some(v) => v
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| bad(format!("max_input_chars_per_word = {v}")))?,
    };
    Ok(Config {
        normalizer,
        continuing_prefix: str_of("continuing_subword_prefix", "##")?,
        unk_token,
        max_input_chars_per_word,
        added: added_tokens(root.get("added_tokens"))?,
        vocab,
    })
}
