//! Out-of-domain false slots: how many slots the given tasks of a `.ptag`
//! model invent on sentences of another domain (e.g. SNIPS utterances through
//! the health heads), with the runtime's has-slot gate off and on. For a
//! unified slot head (one task over every dataset's types) the count is
//! narrowed to the types of the other domain.

use std::path::Path;

use picotag::TagOptions;
use serde::Serialize;

use super::ptag::open_with_tasks;
use crate::data::Sentence;
use crate::error::Result;

/// Slots produced under one setting of the gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FalseSlots {
    /// Slots in all (every one is false: the sentences are out of domain).
    pub slots: usize,
    /// Sentences with at least one slot.
    pub sentences_with_slots: usize,
    /// Slots per 1,000 sentences.
    pub per_1000: f64,
}

/// The report of [`false_slots`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OodReport {
    /// The tasks whose slots were counted.
    pub tasks: Vec<String>,
    /// The slot types counted (empty: every type).
    pub types: Vec<String>,
    /// Sentences tagged.
    pub sentences: usize,
    /// Has-slot gate off (every slot head speaks).
    pub gate_off: FalseSlots,
    /// The runtime's default options (gate at `threshold`).
    pub gate_on: FalseSlots,
    /// The gate's threshold of `gate_on`.
    pub threshold: f32,
    /// Slots per type with the gate on, `task/label` → count.
    pub per_label: std::collections::BTreeMap<String, usize>,
}

/// Tags every sentence (words joined by spaces) with `tasks` of the model at
/// `path` and counts the slots of `types` (all types when empty), once
/// without and once with the has-slot gate.
pub fn false_slots(
    path: &Path,
    tasks: &[String],
    types: &[String],
    sentences: &[Sentence],
) -> Result<OodReport> {
    let tagger = open_with_tasks(path, tasks.iter().map(String::as_str))?;
    let on = TagOptions {
        tasks: Some(tasks.to_vec()),
        ..TagOptions::default()
    };
    let off = TagOptions {
        has_slot_threshold: None,
        ..on.clone()
    };
    let (mut gate_off, mut gate_on) = (FalseSlots::default(), FalseSlots::default());
    let mut per_label = std::collections::BTreeMap::new();
    for s in sentences {
        let text = s.words.join(" ");
        for (opts, acc, gated) in [(&off, &mut gate_off, false), (&on, &mut gate_on, true)] {
            let mut t = tagger.tag_utterance_with(&text, opts)?;
            t.slots
                .retain(|x| types.is_empty() || types.iter().any(|k| **k == *x.label));
            acc.slots += t.slots.len();
            acc.sentences_with_slots += usize::from(!t.slots.is_empty());
            if gated {
                for x in &t.slots {
                    *per_label
                        .entry(format!("{}/{}", x.task, x.label))
                        .or_insert(0) += 1;
                }
            }
        }
    }
    let n = sentences.len();
    for acc in [&mut gate_off, &mut gate_on] {
        acc.per_1000 = if n == 0 {
            0.0
        } else {
            1000.0 * acc.slots as f64 / n as f64
        };
    }
    Ok(OodReport {
        tasks: tasks.to_vec(),
        types: types.to_vec(),
        sentences: n,
        gate_off,
        gate_on,
        threshold: on.has_slot_threshold.unwrap_or(0.0),
        per_label,
    })
}
