//! Symbol noise: what a `.ptag` model does with emoji and punctuation that
//! users type between the words. Random symbols from [`SYMBOLS`] are inserted
//! as extra words (gold `O`, never inside a gold span, seeded), and the
//! task is scored on the clean and the noisy sentences with each way the
//! runtime can treat words made only of symbols ([`SymbolHandling`]: kept,
//! dropped as slots, left out of the input). A slot that covers an inserted
//! word is a false slot on a symbol.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::metric::Metric;
use super::ptag::{Predictor, SymbolHandling};
pub use crate::data::symbols::{insert_symbols, Noisy, SYMBOLS};
use crate::data::unified::TaskView;
use crate::data::Sentence;
use crate::error::Result;

/// Scores of one setting (rule on or off) on one form (clean or noisy).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Slot F1 (micro, conlleval).
    pub f1: f64,
    /// Intent accuracy, for tasks with intents.
    pub intent_accuracy: Option<f64>,
    /// Predicted slots covering at least one inserted word (0 on clean data).
    pub false_slots_on_symbols: usize,
    /// Of those, the slots made only of inserted words.
    pub symbol_only_slots: usize,
}

/// One way of handling symbol words: clean and noisy scores and the F1 change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// What the runtime did with symbol words.
    pub handling: SymbolHandling,
    /// On the data as given.
    pub clean: Scores,
    /// With the symbols inserted.
    pub noisy: Scores,
    /// `noisy.f1 - clean.f1`, in F1 points (×100).
    pub f1_change_points: f64,
}

/// The report of [`symbol_noise`] for one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymbolReport {
    /// The task.
    pub task: String,
    /// Sentences scored.
    pub sentences: usize,
    /// Words of the clean sentences.
    pub words: usize,
    /// Symbols inserted.
    pub inserted: usize,
    /// Insertion probability per gap.
    pub rate: f64,
    /// The RNG seed.
    pub seed: u64,
    /// Symbol words kept, dropped as slots, emoji left out of the input (the
    /// runtime's default), all left out, in that order.
    pub settings: Vec<Setting>,
}

/// Scores `sentences` and their noisy forms with `p`.
fn score(p: &Predictor, sentences: &[Sentence], inserted: Option<&[Vec<bool>]>) -> Result<Scores> {
    let mut m = Metric::default();
    let mut out = Scores::default();
    let mut intents = (0usize, 0usize);
    for (i, s) in sentences.iter().enumerate() {
        let (pred, intent) = p.predict(s)?;
        if let Some(ins) = inserted.map(|v| &v[i]) {
            for (a, b, _) in &pred {
                let covered = &ins[*a..*b];
                if covered.iter().any(|&x| x) {
                    out.false_slots_on_symbols += 1;
                }
                if covered.iter().all(|&x| x) {
                    out.symbol_only_slots += 1;
                }
            }
        }
        m.add(&p.gold(s), &pred);
        if let Some(g) = &s.intent {
            intents.1 += 1;
            intents.0 += usize::from(intent.as_deref() == Some(g.as_str()));
        }
    }
    let r = m.report("");
    out.f1 = r.f1;
    out.intent_accuracy = (intents.1 > 0).then(|| intents.0 as f64 / intents.1 as f64);
    Ok(out)
}

/// Scores task `task` of the model at `path` on `sentences` and on a copy
/// with symbols inserted (probability `rate` per gap, RNG `seed`), with and
/// without the runtime's symbol rule. `view`: the task's unified slot head.
pub fn symbol_noise(
    path: &Path,
    task: &str,
    view: Option<&TaskView>,
    sentences: &[Sentence],
    rate: f64,
    seed: u64,
) -> Result<SymbolReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noisy: Vec<Noisy> = sentences
        .iter()
        .map(|s| insert_symbols(s, rate, &mut rng))
        .collect();
    let inserted: Vec<Vec<bool>> = noisy.iter().map(|n| n.inserted.clone()).collect();
    let noisy: Vec<Sentence> = noisy.into_iter().map(|n| n.sentence).collect();
    let mut settings = Vec::new();
    for handling in [
        SymbolHandling::Keep,
        SymbolHandling::DropSlots,
        SymbolHandling::SkipSymbols,
        SymbolHandling::ByTask,
        SymbolHandling::SkipAll,
    ] {
        let p = Predictor::open(path, task, view, handling)?;
        let clean = score(&p, sentences, None)?;
        let noisy = score(&p, &noisy, Some(&inserted))?;
        let f1_change_points = 100.0 * (noisy.f1 - clean.f1);
        settings.push(Setting {
            handling,
            clean,
            noisy,
            f1_change_points,
        });
    }
    Ok(SymbolReport {
        task: task.to_string(),
        sentences: sentences.len(),
        words: sentences.iter().map(|s| s.words.len()).sum(),
        inserted: inserted.iter().flatten().filter(|&&x| x).count(),
        rate,
        seed,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &str, labels: &str) -> Sentence {
        Sentence {
            intent: Some("PlayMusic".into()),
            ..Sentence::spaced(words, labels)
        }
    }

    #[test]
    fn insertions_are_o_outside_spans_and_seeded() {
        let s = sentence(
            "play new york new york by frank sinatra",
            "O B-track I-track I-track I-track O B-artist I-artist",
        );
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = insert_symbols(&s, 1.0, &mut rng);
        // Every gap outside a span got one: before "play", "new", "by",
        // "frank", and at the end.
        assert_eq!(n.inserted.iter().filter(|&&x| x).count(), 5);
        assert_eq!(n.sentence.words.len(), 13);
        assert_eq!(n.sentence.intent, s.intent);
        let original: Vec<&String> = n
            .sentence
            .words
            .iter()
            .zip(&n.inserted)
            .filter(|(_, &i)| !i)
            .map(|(w, _)| w)
            .collect();
        assert_eq!(original, s.words.iter().collect::<Vec<_>>());
        for (i, &ins) in n.inserted.iter().enumerate() {
            if ins {
                assert_eq!(n.sentence.labels[i], "O");
                assert!(SYMBOLS.contains(&n.sentence.words[i].as_str()));
                assert!(picotag::decode::is_symbol_word(&n.sentence.words[i]));
            }
        }
        // The gold spans are the same, shifted.
        let gold = |x: &Sentence| -> Vec<String> {
            super::super::metric::gold_spans(&x.labels)
                .into_iter()
                .map(|(a, b, k)| format!("{k}={}", x.words[a..b].join(" ")))
                .collect()
        };
        assert_eq!(gold(&n.sentence), gold(&s));
        // Same seed, same noise; rate 0, no noise.
        let again = insert_symbols(&s, 1.0, &mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(again, n);
        let none = insert_symbols(&s, 0.0, &mut rng);
        assert_eq!(none.sentence, s);
    }

    #[test]
    fn every_symbol_is_a_symbol_word() {
        for s in SYMBOLS {
            assert!(picotag::decode::is_symbol_word(s), "{s:?}");
            assert!(!s.contains(' '));
        }
    }
}
