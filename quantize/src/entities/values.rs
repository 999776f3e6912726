//! The values of the entity-injection evaluation, drawn from the data: the
//! dev spans whose text never occurs as a span of their type in training
//! ("unseen values"), and distractors (span texts of other types and of the
//! same type in training, injected as the type under test).

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::Sentence;
use crate::eval::metric::gold_spans;

/// A span's text: its words joined by single spaces.
pub fn span_text(s: &Sentence, start: usize, end: usize) -> String {
    s.words[start..end].join(" ")
}

/// Case-folded text, the key "occurs in training" is decided on.
fn key(t: &str) -> String {
    t.to_lowercase()
}

/// Span texts per type of some sentences.
pub fn texts_by_type(sentences: &[Sentence]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sentences {
        for (a, b, ty) in gold_spans(&s.labels) {
            m.entry(ty).or_default().insert(span_text(s, a, b));
        }
    }
    m
}

/// A dev span whose text is not a training span of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    /// Index of the dev sentence.
    pub sentence: usize,
    /// Word range.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The type.
    pub ty: String,
    /// Its text.
    pub text: String,
}

/// The unseen dev spans of the types `types`.
pub fn unseen(train: &[Sentence], dev: &[Sentence], types: &[String]) -> Vec<Unseen> {
    let seen: BTreeMap<String, BTreeSet<String>> = texts_by_type(train)
        .into_iter()
        .map(|(t, v)| (t, v.iter().map(|x| key(x)).collect()))
        .collect();
    let mut out = Vec::new();
    for (i, s) in dev.iter().enumerate() {
        for (a, b, ty) in gold_spans(&s.labels) {
            if !types.contains(&ty) {
                continue;
            }
            let text = span_text(s, a, b);
            if seen.get(&ty).is_some_and(|v| v.contains(&key(&text))) {
                continue;
            }
            out.push(Unseen {
                sentence: i,
                start: a,
                end: b,
                ty,
                text,
            });
        }
    }
    out
}

/// Up to `n` distractor values for type `ty`: span texts of the other types
/// (training and dev sentences) and of `ty` itself in training, drawn in a
/// seeded random order, never one of `exclude` (the values injected on purpose).
pub fn distractors(
    ty: &str,
    train: &BTreeMap<String, BTreeSet<String>>,
    dev: &BTreeMap<String, BTreeSet<String>>,
    exclude: &BTreeSet<String>,
    n: usize,
) -> Vec<String> {
    let others = |m: &BTreeMap<String, BTreeSet<String>>| {
        m.iter()
            .filter(|(t, _)| *t != ty)
            .flat_map(|(_, v)| v.iter().cloned())
            .collect::<Vec<_>>()
    };
    let own = train.get(ty).into_iter().flatten().cloned();
    let mut seen = BTreeSet::new();
    let mut all: Vec<String> = others(train)
        .into_iter()
        .chain(others(dev))
        .chain(own)
        .filter(|v| !exclude.contains(&key(v)) && seen.insert(key(v)))
        .collect();
    let seed = ty
        .bytes()
        .fold(42u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    all.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    all.truncate(n);
    all
}
