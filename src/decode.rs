//! Span decoding of BIO / BIOES tag sequences, with conlleval semantics.
//!
//! The same decoder serves the runtime (turning per-word labels into slots)
//! and the evaluation of `picotag-quantize` (gold and predicted chunks), so
//! the two can never disagree on what a span is. Ill-formed sequences are read
//! the way `conlleval` reads them: an `I-X` after `O` (or after a chunk of
//! another type) opens a new span, an `E-X` closes one, an `S-X` is a span of
//! its own. `L-`/`U-` (BILOU) are read as `E-`/`S-`.

use serde::{Deserialize, Serialize};

/// The tagging scheme a token head was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `B-`, `I-`, `O`.
    #[default]
    Bio,
    /// `B-`, `I-`, `E-`, `S-`, `O`.
    Bioes,
}

/// The prefix of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// Outside any span.
    O,
    /// Begin.
    B,
    /// Inside.
    I,
    /// End (BIOES), also `L-` (BILOU).
    E,
    /// Single-word span (BIOES), also `U-` (BILOU).
    S,
}

/// A tag split into its prefix and its entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// `O`, `B`, `I`, `E` or `S`.
    pub prefix: Prefix,
    /// The entity type (`""` for `O`).
    pub kind: &'a str,
}

impl<'a> Tag<'a> {
    /// Parses `O`, `B-X`, `I-X`, `E-X`, `S-X`, `L-X`, `U-X`.
    /// Returns `None` for anything else (e.g. `X` or `B-`).
    pub fn parse(label: &'a str) -> Option<Tag<'a>> {
        if label == "O" {
            return Some(Tag {
                prefix: Prefix::O,
                kind: "",
            });
        }
        let (p, kind) = label.split_once('-')?;
        if kind.is_empty() {
            return None;
        }
        let prefix = match p {
            "B" => Prefix::B,
            "I" => Prefix::I,
            "E" | "L" => Prefix::E,
            "S" | "U" => Prefix::S,
            _ => return None,
        };
        Some(Tag { prefix, kind })
    }

    /// Like [`Tag::parse`], but reads anything unparseable as `O`.
    pub fn parse_lenient(label: &'a str) -> Tag<'a> {
        Tag::parse(label).unwrap_or(Tag {
            prefix: Prefix::O,
            kind: "",
        })
    }
}

/// A decoded span over words: `start..end` (end exclusive) of type `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WordSpan<'a> {
    /// Index of the first word.
    pub start: usize,
    /// Index one past the last word.
    pub end: usize,
    /// The entity type.
    pub kind: &'a str,
}

fn end_of_chunk<K: PartialEq>(prev: (Prefix, K), cur: (Prefix, K)) -> bool {
    use Prefix::*;
    match (prev.0, cur.0) {
        (E, _) | (S, _) => true,
        (B, B | S | O) | (I, B | S | O) => true,
        (O, _) => false,
        _ => prev.1 != cur.1,
    }
}

fn start_of_chunk<K: PartialEq>(prev: (Prefix, K), cur: (Prefix, K)) -> bool {
    use Prefix::*;
    match (prev.0, cur.0) {
        (_, B | S) => true,
        (E | S | O, E | I) => true,
        (_, O) => false,
        _ => prev.1 != cur.1,
    }
}

/// Decodes a sequence of tags into spans, conlleval style.
pub fn decode<'a>(tags: &[Tag<'a>]) -> Vec<WordSpan<'a>> {
    let mut spans = Vec::new();
    decode_into(tags, &mut spans);
    spans
}

/// [`decode`] into a caller-owned vector (cleared first), so a hot loop reuses its buffer.
pub fn decode_into<'a>(tags: &[Tag<'a>], spans: &mut Vec<WordSpan<'a>>) {
    spans.clear();
    decode_with(
        tags.len(),
        |i| (tags[i].prefix, tags[i].kind),
        |start, end, kind| spans.push(WordSpan { start, end, kind }),
    );
}

/// The decoder itself, allocation-free: `tag(i)` gives word `i`'s prefix and
/// entity type (any comparable key, e.g. an index), `span(start, end, kind)`
/// receives each span in order. An `O` tag's kind is never looked at.
pub fn decode_with<K: Copy + PartialEq>(
    n: usize,
    tag: impl Fn(usize) -> (Prefix, K),
    mut span: impl FnMut(usize, usize, K),
) {
    let mut prev: Option<(Prefix, K)> = None;
    let mut open: Option<(usize, K)> = None;
    for i in 0..n {
        let cur = tag(i);
        // Before the first word the previous tag is `O` (its kind unused).
        let p = prev.unwrap_or((Prefix::O, cur.1));
        if let Some((start, kind)) = open {
            if end_of_chunk(p, cur) {
                span(start, i, kind);
                open = None;
            }
        }
        if start_of_chunk(p, cur) {
            open = Some((i, cur.1));
        }
        prev = Some(cur);
    }
    if let Some((start, kind)) = open {
        span(start, n, kind);
    }
}

/// Whether a word holds no letter and no digit: only punctuation, emoji,
/// other symbols, marks (`"!"`, `"?!"`, `"🎵"`, `"…"`, `"-"`).
///
/// The runtime drops a slot whose words are all such words (see
/// [`TagOptions::keep_symbol_slots`](crate::TagOptions::keep_symbol_slots)):
/// no dataset here annotates a span without a letter or digit, so one is
/// always an error (a model labels `"🎵"` or the `"!"` of `"Paris?!"`). Slots
/// with a symbol among other words (`"PGE ( 2 )"`, `"76 %"`) are kept whole.
pub fn is_symbol_word(word: &str) -> bool {
    !word.chars().any(char::is_alphanumeric)
}

/// Whether a word (as the tokenizer cuts it) is noise the tagger may leave
/// out of the network's input: made only of symbols and, unless
/// `punctuation` is true, without a punctuation character (emoji, ©, €, °;
/// the tokenizer cuts every punctuation character into a word of its own).
pub fn is_skippable_word(word: &str, punctuation: bool) -> bool {
    is_symbol_word(word) && (punctuation || !word.chars().any(crate::tokenize::is_bert_punc))
}

/// Decodes label strings (lenient: unparseable labels read as `O`).
pub fn decode_labels<'a, S: AsRef<str>>(labels: &'a [S]) -> Vec<WordSpan<'a>> {
    let tags: Vec<Tag<'a>> = labels
        .iter()
        .map(|l| Tag::parse_lenient(l.as_ref()))
        .collect();
    decode(&tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(labels: &[&str]) -> Vec<(usize, usize, String)> {
        decode_labels(labels)
            .into_iter()
            .map(|s| (s.start, s.end, s.kind.to_string()))
            .collect()
    }

    fn s(start: usize, end: usize, k: &str) -> (usize, usize, String) {
        (start, end, k.to_string())
    }

    #[test]
    fn well_formed_bio() {
        assert_eq!(
            spans(&["O", "B-city", "I-city", "O", "B-date", "B-date", "I-date"]),
            vec![s(1, 3, "city"), s(4, 5, "date"), s(5, 7, "date")]
        );
    }

    #[test]
    fn ill_formed_bio_is_repaired_like_conlleval() {
        // I- after O opens a span.
        assert_eq!(spans(&["O", "I-x", "I-x"]), vec![s(1, 3, "x")]);
        // I- of another type closes the old span and opens a new one.
        assert_eq!(
            spans(&["B-a", "I-b", "I-b"]),
            vec![s(0, 1, "a"), s(1, 3, "b")]
        );
        // leading I-.
        assert_eq!(spans(&["I-a"]), vec![s(0, 1, "a")]);
        // span running to the end.
        assert_eq!(spans(&["O", "B-a", "I-a"]), vec![s(1, 3, "a")]);
        assert_eq!(spans(&[] as &[&str]), vec![]);
        assert_eq!(spans(&["O", "O"]), vec![]);
    }

    #[test]
    fn bioes_and_bilou() {
        assert_eq!(
            spans(&["S-a", "B-b", "I-b", "E-b", "O", "U-c", "B-d", "L-d"]),
            vec![s(0, 1, "a"), s(1, 4, "b"), s(5, 6, "c"), s(6, 8, "d")]
        );
        // E- after E- starts a new span; I- after S- too.
        assert_eq!(spans(&["E-a", "E-a"]), vec![s(0, 1, "a"), s(1, 2, "a")]);
        assert_eq!(spans(&["S-a", "I-a"]), vec![s(0, 1, "a"), s(1, 2, "a")]);
        // B- then E- of another type.
        assert_eq!(spans(&["B-a", "E-b"]), vec![s(0, 1, "a"), s(1, 2, "b")]);
    }

    #[test]
    fn symbol_words_have_no_letter_or_digit() {
        for w in [
            "!", "?!", "🎵", "🎷", "…", "-", "(", "%", "❤️", "👍🏽", "¿", "「",
        ] {
            assert!(is_symbol_word(w), "{w:?}");
        }
        for w in [
            "a", "7", "jazz", "76%", "café", "東京", "٣", "Ⅻ", "a🎵", "p!nk",
        ] {
            assert!(!is_symbol_word(w), "{w:?}");
        }
    }

    #[test]
    fn parse_rejects_malformed() {
        assert!(Tag::parse("X").is_none());
        assert!(Tag::parse("B-").is_none());
        assert!(Tag::parse("Q-x").is_none());
        assert_eq!(Tag::parse("B-a-b").unwrap().kind, "a-b");
        assert_eq!(Tag::parse("I-fromloc.city_name").unwrap().prefix, Prefix::I);
    }
}
