//! Reading the parts of a HF `tokenizer.json` that picotag implements, and
//! rejecting the rest with [`Error::Tokenizer`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::normalize::BertNormalizer;
pub use super::vocab::Vocab;
use crate::error::{Error, Result};

/// What the tokenizer needs from `tokenizer.json`.
#[derive(Debug)]
pub struct Config {
    /// `None`: no normalizer.
    pub normalizer: Option<BertNormalizer>,
    /// WordPiece vocabulary (token → id); `None` when `model.vocab` is
    /// absent (a format-2 model file keeps it in its vocabulary section).
    pub vocab: Option<Vocab>,
    /// The unknown token.
    pub unk_token: String,
    /// Prefix of word-continuing pieces (`##`).
    pub continuing_prefix: String,
    /// Longer words (in characters) become the unknown token.
    pub max_input_chars_per_word: usize,
    /// Added tokens matched verbatim in the raw input (content, id).
    pub added: Vec<(String, u32)>,
}

/// The parts of `tokenizer.json` read, typed where it pays: the vocabulary
/// (tens of thousands of entries) goes straight into its map instead of
/// through a `serde_json::Value` tree (which halves the time to open a model).
#[derive(Deserialize)]
struct Root {
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(default)]
    added_tokens: Value,
    model: Option<ModelPart>,
}

#[derive(Deserialize)]
struct ModelPart {
    #[serde(rename = "type", default)]
    kind: Value,
    #[serde(default, deserialize_with = "vocab_map")]
    vocab: Option<Vocab>,
    #[serde(default)]
    unk_token: Value,
    #[serde(default)]
    continuing_subword_prefix: Value,
    #[serde(default)]
    max_input_chars_per_word: Value,
}

/// Reads the vocabulary object straight into a [`Vocab`], borrowing each
/// key from the JSON text unless it has escapes.
fn vocab_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vocab>, D::Error> {
    struct Key<'a>(Cow<'a, str>);
    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a token")
                }
                fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(s)))
                }
                fn visit_str<E>(self, s: &str) -> std::result::Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(s.to_string())))
                }
            }
            d.deserialize_str(V)
        }
    }
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vocab;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of token to id")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> std::result::Result<Vocab, A::Error> {
            // BERT-sized: 30k keys of 230 kB; the table grows past that.
            let mut v = Vocab::with_capacity(32_768, 256 << 10);
            while let Some((k, id)) = a.next_entry::<Key, u32>()? {
                v.insert(&k.0, id).map_err(serde::de::Error::custom)?;
            }
            Ok(v)
        }
    }
    d.deserialize_map(Entries).map(Some)
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
    let root: Root = serde_json::from_str(json)
        .map_err(|e| Error::Tokenizer(format!("cannot read tokenizer.json: {e}")))?;
    let normalizer = normalizer(&root.normalizer)?;
    match root.pre_tokenizer.get("type").and_then(Value::as_str) {
        Some("BertPreTokenizer") => {}
        other => {
            return Err(bad(format!(
                "pre_tokenizer {} (only BertPreTokenizer is implemented)",
                other.unwrap_or("null")
            )))
        }
    }
    let model = root.model.ok_or_else(|| bad("no model"))?;
    match model.kind.as_str() {
        Some("WordPiece") => {}
        // HF writes no type for some single-model files; WordPiece is told by its keys.
        None if model.kind.is_null() && !model.continuing_subword_prefix.is_null() => {}
        other => {
            return Err(bad(format!(
                "model {} (only WordPiece is implemented)",
                other.unwrap_or("?")
            )))
        }
    }
    let vocab = model.vocab;
    let str_of = |v: &Value, key: &str, default: &str| -> Result<String> {
        match v {
            Value::Null => Ok(default.to_string()),
            Value::String(s) => Ok(s.clone()),
            o => Err(bad(format!("{key} = {o}"))),
        }
    };
    let unk_token = str_of(&model.unk_token, "unk_token", "[UNK]")?;
    let max_input_chars_per_word = match &model.max_input_chars_per_word {
        Value::Null => 100,
        v => v
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| bad(format!("max_input_chars_per_word = {v}")))?,
    };
    Ok(Config {
        normalizer,
        continuing_prefix: str_of(
            &model.continuing_subword_prefix,
            "continuing_subword_prefix",
            "##",
        )?,
        unk_token,
        max_input_chars_per_word,
        added: added_tokens(Some(&root.added_tokens))?,
        vocab,
    })
}
