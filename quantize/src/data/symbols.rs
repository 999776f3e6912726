//! Symbol noise: emoji and punctuation that users type between the words,
//! inserted into labelled sentences as extra words (gold `O`, never inside a
//! gold span). [`crate::eval::symbols`] scores a model on such sentences;
//! training with the task option `symbols=RATE` learns to ignore them.

use picotag::decode::{Prefix, Tag};
use rand::Rng;

use super::Sentence;

/// What gets inserted: emoji (with and without variation selectors and skin
/// tones) and punctuation or other symbols, each one word.
pub const SYMBOLS: &[&str] = &[
    "🎵", "🎷", "😀", "😂", "🙏", "👍", "👍🏽", "❤️", "🔥", "✨", "🎉", "☀️", "🌧️", "✈️", "🍕", "💊",
    "!", "?", "!!", "?!", "...", "…", ",", ";", ":", "-", "–", "—", "*", "#", "~", "(", ")", "\"",
    "'", "“", "”", "¿", "¡", ":)", ":-(", "&", "@", "/", "+", "%", "$", "€", "°", "©", "™", "•",
];

/// A task's sentences with symbols inserted, and which words are inserted.
#[derive(Debug, Clone, PartialEq)]
pub struct Noisy {
    /// The sentence with the inserted words (labelled `O`).
    pub sentence: Sentence,
    /// Per word: whether it was inserted.
    pub inserted: Vec<bool>,
}

/// Inserts a random symbol of [`SYMBOLS`] at each gap between words (and
/// before the first and after the last) with probability `rate`, never
/// between two words of one gold span.
pub fn insert_symbols(s: &Sentence, rate: f64, rng: &mut impl Rng) -> Noisy {
    let n = s.words.len();
    let mut words = Vec::with_capacity(n + 4);
    let mut labels = Vec::with_capacity(n + 4);
    let mut inserted = Vec::with_capacity(n + 4);
    for gap in 0..=n {
        // A gap before an `I-`/`E-` word is inside a span.
        let inside = gap < n
            && matches!(
                Tag::parse_lenient(&s.labels[gap]).prefix,
                Prefix::I | Prefix::E
            );
        if !inside && rng.random_bool(rate) {
            words.push(SYMBOLS[rng.random_range(0..SYMBOLS.len())].to_string());
            labels.push("O".to_string());
            inserted.push(true);
        }
        if gap < n {
            words.push(s.words[gap].clone());
            labels.push(s.labels[gap].clone());
            inserted.push(false);
        }
    }
    Noisy {
        sentence: Sentence {
            words,
            labels,
            intent: s.intent.clone(),
            line: s.line,
        },
        inserted,
    }
}
