//! The symbol words each task's training data has inside its slots
//! ([`HeadMeta::span_symbols`](picotag::format::HeadMeta::span_symbols)): the
//! runtime ends a slot at any other symbol word ("jazz ! please" is not one
//! SNIPS `playlist`; "PGE ( 2 )" stays one BC5CDR `Chemical`), and the share
//! of punctuation in each task's training text
//! ([`HeadMeta::punctuation_share`](picotag::format::HeadMeta::punctuation_share)):
//! the runtime leaves punctuation out of the input of a task trained without.

use std::collections::{BTreeMap, BTreeSet};

use picotag::decode::{decode_labels, is_symbol_word};
use picotag::format::{HeadKind, HeadMeta, HeadRole, ModelWriter};

use crate::data::{load_split, Sentence};
use crate::error::Result;
use crate::recipe::training_recipe;

/// The symbols inside the gold slots of `sentences`: every word without a
/// letter or digit, and every character that is neither in a word that has
/// them (the runtime cuts "r&b" into "r", "&", "b").
pub fn inside_slots(sentences: &[Sentence]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in sentences {
        for span in decode_labels(&s.labels) {
            for w in &s.words[span.start..span.end] {
                if is_symbol_word(w) {
                    out.insert(w.clone());
                }
                for c in w
                    .chars()
                    .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
                {
                    out.insert(c.to_string());
                }
            }
        }
    }
    out
}

/// The share of the words of `sentences`, cut as the tokenizer cuts them
/// (each punctuation character a word), that are punctuation.
pub fn punctuation_share(sentences: &[Sentence]) -> f32 {
    let (mut words, mut punct) = (0usize, 0usize);
    for w in sentences.iter().flat_map(|s| &s.words) {
        let mut letters = false;
        for c in w.chars() {
            if picotag::tokenize::is_bert_punc(c) {
                punct += 1;
                words += 1;
                letters = false;
            } else if !c.is_whitespace() && !letters {
                words += 1;
                letters = true;
            }
        }
    }
    if words == 0 {
        0.0
    } else {
        punct as f32 / words as f32
    }
}

/// Stores, on each slot head of a task of the model's training recipe, the
/// symbols inside that task's training slots. A task whose training split is
/// not found is left without (the runtime then never ends its slots at a
/// symbol). Every head of such a task gets the share of punctuation in that
/// split. Returns task → (symbols, punctuation share).
pub fn record(w: &mut ModelWriter) -> Result<BTreeMap<String, (Vec<String>, f32)>> {
    let mut out = BTreeMap::new();
    let Some(recipe) = training_recipe(w.meta_mut()) else {
        return Ok(out);
    };
    let slot_head_of = |h: &HeadMeta, task: &str| {
        h.task == task && h.role == HeadRole::Slots && h.kind == HeadKind::Token
    };
    for t in &recipe.tasks {
        if !w.meta_mut().heads.iter().any(|h| slot_head_of(h, &t.name)) {
            continue;
        }
        if !t.train.exists() {
            eprintln!(
                "{}: training split {} not found: its slots are not ended at symbols",
                t.name,
                t.train.display()
            );
            continue;
        }
        let train = load_split(&t.train)?;
        let inside: Vec<String> = inside_slots(&train).into_iter().collect();
        let share = punctuation_share(&train);
        for h in w.meta_mut().heads.iter_mut().filter(|h| h.task == t.name) {
            if slot_head_of(h, &t.name) {
                h.span_symbols = Some(inside.clone());
            }
            h.punctuation_share = Some(share);
        }
        out.insert(t.name.clone(), (inside, share));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_inside_slots_only() {
        let s = [
            Sentence::spaced("play cookie & cream !", "O B-track I-track I-track O"),
            Sentence::spaced("add r&b to ( my ) list", "O B-genre O O B-playlist O O"),
        ];
        let got: Vec<String> = inside_slots(&s).into_iter().collect();
        assert_eq!(got, ["&"]);
        let none = [Sentence::spaced("hi , there", "O O O")];
        assert!(inside_slots(&none).is_empty());
    }

    #[test]
    fn punctuation_share_counts_words_as_the_tokenizer_cuts_them() {
        // "r&b" is three words, "(2)" three, "!" one: 4 of 10 are punctuation.
        let s = [Sentence::spaced("add r&b to (2) list !", "O O O O O O")];
        assert!((punctuation_share(&s) - 0.4).abs() < 1e-6);
        assert_eq!(punctuation_share(&[]), 0.0);
    }
}
