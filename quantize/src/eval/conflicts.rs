//! How often a model's slot heads disagree about the same words: the
//! reconciliation an app must do when each dataset has its own head.

use std::path::Path;

use candle_core::Device;
use serde::Serialize;

use super::{predict_many, predicted_spans, prepare};
use crate::data::encode::Tok;
use crate::data::unified::TypeMap;
use crate::data::Sentence;
use crate::error::Result;
use crate::model::Model;

/// Overlaps between the spans of different slot heads on some sentences.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conflicts {
    /// Sentences tagged.
    pub sentences: usize,
    /// The slot heads run (one per task, or the unified head alone).
    pub heads: Vec<String>,
    /// Spans predicted, all heads together.
    pub spans: usize,
    /// Pairs of spans of two heads that overlap and differ in boundaries or
    /// (unified) type.
    pub conflicting_pairs: usize,
    /// Sentences with at least one conflicting pair.
    pub sentences_with_conflict: usize,
    /// Pairs of spans of two heads with the same boundaries and the same
    /// (unified) type: no disagreement, but still a duplicate to merge.
    pub agreeing_duplicates: usize,
}

/// Runs every slot head of the checkpoint in `dir` over `sentences` (one
/// encoder pass) and counts where they disagree. `map` says which types of
/// different tasks are the same (`TASK:TYPE` → type); without it, or for a
/// type it does not list, a type is its own name. `tasks` (non-empty) runs
/// only those tasks' slot heads.
pub fn count(
    dir: &Path,
    map: Option<&TypeMap>,
    tasks: &[String],
    sentences: Vec<Sentence>,
) -> Result<Conflicts> {
    let dev = Device::Cpu;
    let model = Model::load(dir, false, &dev)?;
    let tok = Tok::from_json(&model.meta.tokenizer)?;
    let max_len = model.meta.architecture.max_positions.min(128);
    let items = prepare(&tok, sentences, max_len)?;
    let ths: Vec<_> = model
        .tasks
        .iter()
        .filter(|t| tasks.is_empty() || tasks.contains(&t.task))
        .collect();
    if let Some(t) = tasks
        .iter()
        .find(|t| !model.tasks.iter().any(|m| &m.task == *t))
    {
        return Err(crate::error::Error::Model(format!(
            "no slot head of task {t:?} in {}",
            dir.display()
        )));
    }
    let preds = predict_many(&model, &ths, &items, &dev)?;
    let unified_type = |task: &str, ty: &str| -> String {
        map.and_then(|m| m.types.get(&format!("{task}:{ty}")))
            .cloned()
            .unwrap_or_else(|| ty.to_string())
    };
    let mut c = Conflicts {
        sentences: items.len(),
        heads: ths.iter().map(|t| t.task.clone()).collect(),
        ..Conflicts::default()
    };
    for (i, s) in items.iter().enumerate() {
        // (head, start, end, unified type) of every span of the sentence.
        let spans: Vec<HeadSpan> = ths
            .iter()
            .enumerate()
            .flat_map(|(h, th)| {
                predicted_spans(&s.enc, &preds[h][i].pieces)
                    .into_iter()
                    .map(move |(a, b, ty)| (h, a, b, unified_type(&th.task, &ty)))
            })
            .collect();
        c.spans += spans.len();
        let (conflicting, agreeing) = pairs(&spans);
        c.conflicting_pairs += conflicting;
        c.agreeing_duplicates += agreeing;
        let conflict = conflicting > 0;
        c.sentences_with_conflict += usize::from(conflict);
    }
    Ok(c)
}

/// A span of one head: `(head, start, end, type)`, end exclusive.
pub type HeadSpan = (usize, usize, usize, String);

/// Among the spans of one sentence, the pairs of different heads that
/// overlap: (conflicting pairs, agreeing duplicates).
pub fn pairs(spans: &[HeadSpan]) -> (usize, usize) {
    let (mut conflicting, mut agreeing) = (0, 0);
    for (k, x) in spans.iter().enumerate() {
        for y in &spans[k + 1..] {
            if x.0 == y.0 || !(x.1 < y.2 && y.1 < x.2) {
                continue;
            }
            if (x.1, x.2, &x.3) == (y.1, y.2, &y.3) {
                agreeing += 1;
            } else {
                conflicting += 1;
            }
        }
    }
    (conflicting, agreeing)
}
