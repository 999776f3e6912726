//! The symbol words each task's training data has inside its slots
//! ([`HeadMeta::span_symbols`](picotag::format::HeadMeta::span_symbols)): the
//! runtime ends a slot at any other symbol word ("jazz ! please" is not one
//! SNIPS `playlist`; "PGE ( 2 )" stays one BC5CDR `Chemical`).

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

/// Stores, on each slot head of a task of the model's training recipe, the
/// symbols inside that task's training slots. A task whose training split is
/// not found is left without (the runtime then never ends its slots at a
/// symbol). Returns task → symbols.
pub fn record(w: &mut ModelWriter) -> Result<BTreeMap<String, Vec<String>>> {
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
        let inside: Vec<String> = inside_slots(&load_split(&t.train)?).into_iter().collect();
        for h in w
            .meta_mut()
            .heads
            .iter_mut()
            .filter(|h| slot_head_of(h, &t.name))
        {
            h.span_symbols = Some(inside.clone());
        }
        out.insert(t.name.clone(), inside);
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
}
